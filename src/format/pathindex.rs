//! The path index `kluis/paths.jsonl` (docs/FORMAT.md §4.5.1): every
//! record's manifest line again, sorted by path, in line-framed frames
//! (a sorted member, `super::sorted`). Readers find a name or a prefix by
//! binary search over the frames, decompressing only the frames they probe.

use super::manifest::{Entry, Name};
use super::reader::ArchiveReader;
use super::sorted::{SortedLine, SortedMember};
use super::{RECORDS_PREFIX, TABLES_PREFIX};
use crate::error::Result;

pub use super::sorted::{INDEX_FRAME, PathRange, normalise};

/// The footer key that locates the index.
pub const PATHS_KEY: &str = "paths";
/// The index member.
pub const PATHS_MEMBER: &str = "kluis/paths.jsonl";

/// An archive's path index.
pub struct PathIndex {
    member: SortedMember,
    /// Records end where the manifest starts: an entry pointing past it is
    /// not a record.
    records_end: u64,
}

impl SortedLine for Entry {
    fn parse(line: &str) -> std::result::Result<Self, String> {
        Entry::from_json_line(line)
    }
    fn key(&self) -> &[u8] {
        &self.path
    }
}

/// A line read for its name and type only (`list` without `--json`): the
/// rest of it is not parsed.
impl SortedLine for Name {
    fn parse(line: &str) -> std::result::Result<Self, String> {
        Name::from_json_line(line)
    }
    fn key(&self) -> &[u8] {
        &self.path
    }
}

impl PathIndex {
    /// The archive's index; `None` when it has none (archives written
    /// before it existed).
    ///
    /// # Errors
    /// When the footer points at something else; callers fall back to the
    /// manifest and say why.
    pub fn open(reader: &mut ArchiveReader) -> Result<Option<PathIndex>> {
        Ok(
            SortedMember::open(reader, PATHS_KEY, PATHS_MEMBER)?.map(|member| PathIndex {
                member,
                records_end: reader.footer().manifest.offset,
            }),
        )
    }

    /// [`PathIndex::scan`] for names and types only: the rest of each line
    /// is not parsed (nor checked: what is not read cannot mislead).
    ///
    /// # Errors
    /// As [`PathIndex::scan`], but for what only an entry's offsets show.
    pub fn scan_names(
        &self,
        reader: &mut ArchiveReader,
        ranges: &[PathRange],
        each: &mut dyn FnMut(Name) -> bool,
    ) -> Result<()> {
        self.member
            .scan(reader, ranges, &|n: &Name| check_name(&n.path), each)
    }

    /// Calls `each` with every entry whose path is in one of `ranges`
    /// (normalised: see [`normalise`]), in path order, until it returns
    /// `false`.
    ///
    /// # Errors
    /// Damage in a frame read, a line that is not a manifest line, lines
    /// out of order, or an entry pointing outside the records.
    pub fn scan(
        &self,
        reader: &mut ArchiveReader,
        ranges: &[PathRange],
        each: &mut dyn FnMut(Entry) -> bool,
    ) -> Result<()> {
        let records_end = self.records_end;
        self.member
            .scan(reader, ranges, &|e: &Entry| check(e, records_end), each)
    }
}

/// A record's name is under `records/` or `tables/`.
fn check_name(path: &[u8]) -> std::result::Result<(), String> {
    if path.starts_with(RECORDS_PREFIX.as_bytes()) || path.starts_with(TABLES_PREFIX.as_bytes()) {
        Ok(())
    } else {
        Err("it names a member that is not a record".into())
    }
}

/// Checks what an entry says against what a record can be.
fn check(entry: &Entry, records_end: u64) -> std::result::Result<(), String> {
    check_name(&entry.path)?;
    let end = entry.data_offset.checked_add(entry.size);
    if entry.data_offset <= entry.offset || end.is_none_or(|e| e > records_end) {
        return Err(format!(
            "it places {} outside the records",
            entry.display_path()
        ));
    }
    Ok(())
}
