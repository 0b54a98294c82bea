//! The path index `kluis/paths.jsonl` (docs/FORMAT.md §4.5): every record's
//! manifest line again, sorted by path, in line-framed frames. The writer
//! builds it in bounded memory (sorted runs spooled encrypted, then merged);
//! readers find a name or a prefix by binary search over the frames,
//! decompressing only the frames they probe.

use std::cmp::Reverse;
use std::collections::btree_map;
use std::collections::{BTreeMap, BinaryHeap};
use std::io::{self, BufReader, Read};

use super::manifest::Entry;
use super::reader::ArchiveReader;
use super::spool::Spool;
use super::{MAX_JSON, RECORDS_PREFIX, TABLES_PREFIX};
use crate::error::{Error, IoContext, Result};
use crate::util::lines::read_line;

/// The footer key that locates the index.
pub const PATHS_KEY: &str = "paths";
/// The index member.
pub const PATHS_MEMBER: &str = "kluis/paths.jsonl";
/// The index starts a new frame at the first line start after this many
/// bytes of it: a probe decompresses about this much.
pub const INDEX_FRAME: usize = 64 << 10;
/// The writer sorts this many bytes of index lines in memory at a time.
const RUN_BYTES: usize = 8 << 20;

/// Collects the index lines as records are written and gives them back in
/// path order. Beyond [`RUN_BYTES`] the lines are sorted and spooled
/// (encrypted, as the manifest is) in runs, merged at the end.
pub(crate) struct IndexBuilder {
    buffer: Vec<(Vec<u8>, Vec<u8>)>,
    buffered: usize,
    run_bytes: usize,
    runs: Vec<Spool>,
    size: u64,
}

impl IndexBuilder {
    pub(crate) fn new() -> Self {
        Self::with_run_bytes(RUN_BYTES)
    }

    fn with_run_bytes(run_bytes: usize) -> Self {
        IndexBuilder {
            buffer: Vec::new(),
            buffered: 0,
            run_bytes,
            runs: Vec::new(),
            size: 0,
        }
    }

    /// Adds a record's path and its manifest line (with the `\n`).
    pub(crate) fn push(&mut self, path: &[u8], line: &[u8]) -> io::Result<()> {
        self.size += line.len() as u64;
        self.buffered += path.len() + line.len() + 64;
        self.buffer.push((path.to_vec(), line.to_vec()));
        if self.buffered >= self.run_bytes {
            self.spill().map_err(io::Error::other)?;
        }
        Ok(())
    }

    fn spill(&mut self) -> Result<()> {
        let tmp = std::env::temp_dir();
        // Stable: records of one path keep their tar order.
        self.buffer.sort_by(|a, b| a.0.cmp(&b.0));
        let mut spool = Spool::new()?;
        for (path, line) in self.buffer.drain(..) {
            spool
                .write_all(&(path.len() as u32).to_le_bytes())
                .and_then(|()| spool.write_all(&path))
                .and_then(|()| spool.write_all(&line))
                .at(&tmp)?;
        }
        spool.finish()?;
        self.runs.push(spool);
        self.buffered = 0;
        Ok(())
    }

    /// The index's size in bytes and its lines in path order.
    pub(crate) fn finish(mut self) -> Result<(u64, Merged)> {
        self.buffer.sort_by(|a, b| a.0.cmp(&b.0));
        let mut sources = Vec::with_capacity(self.runs.len() + 1);
        for spool in &mut self.runs {
            let reader: Box<dyn Read> = Box::new(spool.reader()?);
            sources.push(Source::Spooled(BufReader::with_capacity(64 << 10, reader)));
        }
        sources.push(Source::Memory(std::mem::take(&mut self.buffer).into_iter()));
        let mut merged = Merged {
            heads: BinaryHeap::with_capacity(sources.len()),
            sources,
            line: Vec::new(),
            pos: 0,
        };
        for i in 0..merged.sources.len() {
            merged.refill(i).at(std::env::temp_dir())?;
        }
        Ok((self.size, merged))
    }
}

enum Source {
    Spooled(BufReader<Box<dyn Read>>),
    Memory(std::vec::IntoIter<(Vec<u8>, Vec<u8>)>),
}

impl Source {
    fn next(&mut self) -> io::Result<Option<(Vec<u8>, Vec<u8>)>> {
        match self {
            Source::Memory(items) => Ok(items.next()),
            Source::Spooled(input) => {
                let mut len = [0u8; 4];
                match input.read_exact(&mut len) {
                    Ok(()) => {}
                    Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(None),
                    Err(e) => return Err(e),
                }
                let mut path = vec![0u8; u32::from_le_bytes(len) as usize];
                input.read_exact(&mut path)?;
                let mut line = Vec::new();
                io::BufRead::read_until(input, b'\n', &mut line)?;
                Ok(Some((path, line)))
            }
        }
    }
}

/// A source's next line in the merge: its path, the source, the line.
type Head = (Vec<u8>, usize, Vec<u8>);

/// The merged runs: the index's bytes, in path order.
pub(crate) struct Merged {
    sources: Vec<Source>,
    /// The next line of every source not at its end: (path, source, line).
    heads: BinaryHeap<Reverse<Head>>,
    line: Vec<u8>,
    pos: usize,
}

impl Merged {
    fn refill(&mut self, source: usize) -> io::Result<()> {
        if let Some((path, line)) = self.sources[source].next()? {
            self.heads.push(Reverse((path, source, line)));
        }
        Ok(())
    }
}

impl Read for Merged {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        if self.pos == self.line.len() {
            let Some(Reverse((_, source, line))) = self.heads.pop() else {
                return Ok(0);
            };
            self.line = line;
            self.pos = 0;
            self.refill(source)?;
        }
        let n = out.len().min(self.line.len() - self.pos);
        out[..n].copy_from_slice(&self.line[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

/// A range of member paths, `from` included, `to` excluded (`None`: no
/// end), in byte order.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct PathRange {
    pub from: Vec<u8>,
    pub to: Option<Vec<u8>>,
}

impl PathRange {
    /// Every path that starts with `prefix`.
    pub fn prefix(prefix: &[u8]) -> PathRange {
        let mut to = prefix.to_vec();
        while to.last() == Some(&0xff) {
            to.pop();
        }
        let to = to.last_mut().map(|b| *b += 1).map(|()| to);
        PathRange {
            from: prefix.to_vec(),
            to,
        }
    }

    /// Exactly `path`.
    pub fn exact(path: &[u8]) -> PathRange {
        let mut to = path.to_vec();
        to.push(0);
        PathRange {
            from: path.to_vec(),
            to: Some(to),
        }
    }

    fn below_end(&self, path: &[u8]) -> bool {
        self.to.as_deref().is_none_or(|to| path < to)
    }
}

/// Sorts ranges and joins those that overlap or touch, so that scanning
/// them in order gives every path once, in order.
pub fn normalise(mut ranges: Vec<PathRange>) -> Vec<PathRange> {
    ranges.sort();
    let mut out: Vec<PathRange> = Vec::with_capacity(ranges.len());
    for r in ranges {
        match out.last_mut() {
            Some(last) if last.to.as_ref().is_none_or(|to| r.from <= *to) => {
                let further = match (&last.to, &r.to) {
                    (None, _) => false,
                    (Some(_), None) => true,
                    (Some(a), Some(b)) => b > a,
                };
                if further {
                    last.to = r.to;
                }
            }
            _ => out.push(r),
        }
    }
    out
}

/// An archive's path index, located and laid out in blocks (the part of
/// each frame that holds index lines; every block starts at a line).
pub struct PathIndex {
    data: u64,
    size: u64,
    starts: Vec<u64>,
    /// Records end where the manifest starts: an entry pointing past it is
    /// not a record.
    records_end: u64,
}

impl PathIndex {
    /// The archive's index; `None` when it has none (archives written
    /// before it existed).
    ///
    /// # Errors
    /// When the footer points at something else; callers fall back to the
    /// manifest and say why.
    pub fn open(reader: &mut ArchiveReader) -> Result<Option<PathIndex>> {
        let Some(at) = reader.located(PATHS_KEY)? else {
            return Ok(None);
        };
        if at.name != PATHS_MEMBER.as_bytes() {
            return Err(bad(
                reader,
                "the footer's \"paths\" member has another name",
            ));
        }
        let end = at.data_offset + at.size;
        let mut starts = vec![at.data_offset];
        starts.extend(
            reader
                .frames()
                .iter()
                .map(|f| f.d_offset)
                .filter(|&o| o > at.data_offset && o < end),
        );
        Ok(Some(PathIndex {
            data: at.data_offset,
            size: at.size,
            starts,
            records_end: reader.footer().manifest.offset,
        }))
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
        if self.size == 0 {
            return Ok(());
        }
        // The first path of each block probed, kept for the next range (a
        // name and its folder, `N` and `N/`, probe the same blocks).
        let mut probed = BTreeMap::new();
        for range in ranges {
            if !self.scan_range(reader, range, &mut probed, each)? {
                break;
            }
        }
        Ok(())
    }

    fn scan_range(
        &self,
        reader: &mut ArchiveReader,
        range: &PathRange,
        probed: &mut BTreeMap<usize, Vec<u8>>,
        each: &mut dyn FnMut(Entry) -> bool,
    ) -> Result<bool> {
        // The first block whose first path is not below `from`; the range
        // starts in the block before it.
        let (mut lo, mut hi) = (0, self.starts.len());
        while lo < hi {
            let mid = (lo + hi) / 2;
            let first = match probed.entry(mid) {
                btree_map::Entry::Occupied(known) => known.into_mut(),
                btree_map::Entry::Vacant(new) => new.insert(self.first_path(reader, mid)?),
            };
            if *first < range.from {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        if probed
            .values()
            .zip(probed.values().skip(1))
            .any(|(a, b)| a > b)
        {
            return Err(bad(reader, "its lines are not sorted by path"));
        }
        let block = lo.saturating_sub(1);
        let path = reader.path().to_path_buf();
        let mut lines = self.lines_from(reader, self.starts[block]);
        let mut previous: Option<Vec<u8>> = None;
        while let Some(entry) = lines.next(self, &path)? {
            if previous.as_ref().is_some_and(|p| entry.path < *p) {
                return Err(bad_at(&path, "its lines are not sorted by path"));
            }
            if entry.path >= range.from {
                if !range.below_end(&entry.path) {
                    break;
                }
                let path = entry.path.clone();
                if !each(entry) {
                    return Ok(false);
                }
                previous = Some(path);
                continue;
            }
            previous = Some(entry.path);
        }
        Ok(true)
    }

    fn first_path(&self, reader: &mut ArchiveReader, block: usize) -> Result<Vec<u8>> {
        let path = reader.path().to_path_buf();
        let mut lines = self.lines_from(reader, self.starts[block]);
        match lines.next(self, &path)? {
            Some(entry) => Ok(entry.path),
            None => Err(bad_at(&path, "a frame of it holds no line")),
        }
    }

    fn lines_from<'a>(&self, reader: &'a mut ArchiveReader, pos: u64) -> Lines<'a> {
        let end = self.data + self.size;
        Lines {
            input: BufReader::with_capacity(16 << 10, reader.tar_from(pos).take(end - pos)),
            line: Vec::new(),
        }
    }

    /// Checks what an entry says against what a record can be.
    fn check(&self, entry: &Entry) -> std::result::Result<(), String> {
        if !(entry.path.starts_with(RECORDS_PREFIX.as_bytes())
            || entry.path.starts_with(TABLES_PREFIX.as_bytes()))
        {
            return Err("it names a member that is not a record".into());
        }
        let end = entry.data_offset.checked_add(entry.size);
        if entry.data_offset <= entry.offset || end.is_none_or(|e| e > self.records_end) {
            return Err(format!(
                "it places {} outside the records",
                entry.display_path()
            ));
        }
        Ok(())
    }
}

struct Lines<'a> {
    input: BufReader<io::Take<super::reader::TarCursor<'a>>>,
    line: Vec<u8>,
}

impl Lines<'_> {
    fn next(&mut self, index: &PathIndex, archive: &std::path::Path) -> Result<Option<Entry>> {
        match read_line(&mut self.input, &mut self.line, MAX_JSON as usize) {
            Ok(false) => return Ok(None),
            Ok(true) => {}
            Err(e) if e.kind() == io::ErrorKind::InvalidData => {
                return Err(bad_at(archive, &e.to_string()));
            }
            Err(e) => return Err(self.input.get_mut().get_mut().take_error(e)),
        }
        let entry = std::str::from_utf8(&self.line)
            .ok()
            .and_then(|t| t.strip_suffix('\n'))
            .ok_or_else(|| "not a complete UTF-8 line".to_string())
            .and_then(Entry::from_json_line)
            .and_then(|e| index.check(&e).map(|()| e))
            .map_err(|why| bad_at(archive, &why))?;
        Ok(Some(entry))
    }
}

fn bad(reader: &ArchiveReader, why: &str) -> Error {
    bad_at(reader.path(), why)
}

fn bad_at(archive: &std::path::Path, why: &str) -> Error {
    Error::Damaged {
        path: archive.into(),
        detail: format!("{PATHS_MEMBER}: {why}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_merge_into_path_order() {
        let mut builder = IndexBuilder::with_run_bytes(2_000);
        let mut paths: Vec<Vec<u8>> = (0..500u32)
            .map(|i| format!("records/{}/{i}", (i * 7919) % 97).into_bytes())
            .collect();
        paths.push(b"records/a\tb".to_vec());
        paths.push(b"records/a\nb".to_vec());
        paths.push(b"records/\xff".to_vec());
        for p in &paths {
            let mut line = p.clone();
            line.extend_from_slice(b" line\n");
            builder.push(p, &line).unwrap();
        }
        assert!(builder.runs.len() > 10, "{} runs", builder.runs.len());
        let (size, mut merged) = builder.finish().unwrap();
        let mut out = Vec::new();
        merged.read_to_end(&mut out).unwrap();
        assert_eq!(out.len() as u64, size);
        paths.sort();
        let mut want = Vec::new();
        for p in &paths {
            want.extend_from_slice(p);
            want.extend_from_slice(b" line\n");
        }
        assert_eq!(out, want);
    }

    #[test]
    fn ranges_of_prefixes_and_names() {
        assert_eq!(PathRange::prefix(b"ab").to.unwrap(), b"ac");
        assert_eq!(PathRange::prefix(b"a\xff\xff").to.unwrap(), b"b");
        assert_eq!(PathRange::prefix(b"\xff").to, None);
        assert_eq!(PathRange::exact(b"a").to.unwrap(), b"a\0");
        let joined = normalise(vec![
            PathRange::prefix(b"records/a/"),
            PathRange::exact(b"records/a"),
            PathRange::prefix(b"records/a/b"),
            PathRange::prefix(b"records/b"),
            PathRange::prefix(b"\xff"),
            PathRange::prefix(b"\xff\x01"),
        ]);
        assert_eq!(
            joined,
            vec![
                PathRange::exact(b"records/a"),
                PathRange::prefix(b"records/a/"),
                PathRange::prefix(b"records/b"),
                PathRange::prefix(b"\xff"),
            ]
        );
    }
}
