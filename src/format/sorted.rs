//! Sorted, line-framed members (docs/FORMAT.md §4.5): the path index and
//! the subject index. A writer collects lines under sort keys in bounded
//! memory (sorted runs spooled encrypted, then merged); a reader finds a
//! key or a range of keys by binary search over the member's frames,
//! decompressing only the frames it probes.

use std::cmp::Reverse;
use std::collections::btree_map;
use std::collections::{BTreeMap, BinaryHeap};
use std::io::{self, BufReader, Read};

use super::MAX_JSON;
use super::reader::{ArchiveReader, TarCursor};
use super::spool::Spool;
use crate::error::{Error, IoContext, Result};
use crate::util::lines::read_line;

/// A sorted member starts a new frame at the first line start after this
/// many bytes of it: a probe decompresses about this much.
pub const INDEX_FRAME: usize = 64 << 10;
/// The writer sorts this many bytes of lines in memory at a time.
const RUN_BYTES: usize = 8 << 20;
/// At most this many spooled runs are read at once: each open run costs
/// its decryption buffers (about 150 KiB), so this many runs of one size
/// are merged into one run of the next (as a log-structured merge does).
const FAN_IN: usize = 16;

/// Collects lines under sort keys and gives them back in key order (lines
/// of equal keys in the order they came). Beyond [`RUN_BYTES`] the lines
/// are sorted and spooled (encrypted, as the manifest is) in runs, merged
/// at the end.
pub(crate) struct IndexBuilder {
    buffer: Vec<(Vec<u8>, Vec<u8>)>,
    buffered: usize,
    run_bytes: usize,
    /// Spooled runs, oldest first, each with its level: a run of level
    /// N+1 is [`FAN_IN`] runs of level N merged.
    runs: Vec<(u32, Spool)>,
    size: u64,
}

impl IndexBuilder {
    pub(crate) fn new() -> Self {
        Self::with_run_bytes(RUN_BYTES)
    }

    pub(crate) fn with_run_bytes(run_bytes: usize) -> Self {
        IndexBuilder {
            buffer: Vec::new(),
            buffered: 0,
            run_bytes,
            runs: Vec::new(),
            size: 0,
        }
    }

    /// Adds a line (with its `\n`) under a sort key.
    pub(crate) fn push(&mut self, path: &[u8], line: &[u8]) -> io::Result<()> {
        self.push_owned(path.to_vec(), line.to_vec())
    }

    /// [`IndexBuilder::push`] of a key and line the caller made.
    pub(crate) fn push_owned(&mut self, path: Vec<u8>, line: Vec<u8>) -> io::Result<()> {
        self.size += line.len() as u64;
        self.buffered += path.len() + line.len() + 64;
        self.buffer.push((path, line));
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
            write_entry(&mut spool, &path, &line).at(&tmp)?;
        }
        spool.finish()?;
        self.runs.push((0, spool));
        self.buffered = 0;
        self.compact()
    }

    /// Merges the last [`FAN_IN`] runs into one while they are of one
    /// level, so that no more than `FAN_IN` runs of a level are kept and a
    /// merge reads at most `FAN_IN × levels` runs at once.
    fn compact(&mut self) -> Result<()> {
        let tmp = std::env::temp_dir();
        loop {
            let n = self.runs.len();
            if n < FAN_IN {
                return Ok(());
            }
            let level = self.runs[n - 1].0;
            if self.runs[n - FAN_IN..].iter().any(|(l, _)| *l != level) {
                return Ok(());
            }
            let mut group: Vec<Spool> = self.runs.drain(n - FAN_IN..).map(|(_, s)| s).collect();
            let mut merged = Merged::of(&mut group, Vec::new())?;
            let mut spool = Spool::new()?;
            while let Some((key, line)) = merged.next_entry().at(&tmp)? {
                write_entry(&mut spool, &key, &line).at(&tmp)?;
            }
            spool.finish()?;
            self.runs.push((level + 1, spool));
        }
    }

    /// The lines' size in bytes and the lines in key order.
    pub(crate) fn finish(mut self) -> Result<(u64, Merged)> {
        self.buffer.sort_by(|a, b| a.0.cmp(&b.0));
        let mut runs: Vec<Spool> = std::mem::take(&mut self.runs)
            .into_iter()
            .map(|(_, s)| s)
            .collect();
        let merged = Merged::of(&mut runs, std::mem::take(&mut self.buffer))?;
        Ok((self.size, merged))
    }
}

/// One entry of a spooled run, framed by its lengths: keys are any bytes,
/// and a line need not end in `\n` (the subject index's are empty).
fn write_entry(spool: &mut Spool, key: &[u8], line: &[u8]) -> io::Result<()> {
    spool.write_all(&(key.len() as u32).to_le_bytes())?;
    spool.write_all(key)?;
    spool.write_all(&(line.len() as u32).to_le_bytes())?;
    spool.write_all(line)
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
                let path = read_exactly(input, u32::from_le_bytes(len))?;
                input.read_exact(&mut len)?;
                let line = read_exactly(input, u32::from_le_bytes(len))?;
                Ok(Some((path, line)))
            }
        }
    }
}

/// `len` bytes of `input` (without zeroing a buffer first).
fn read_exactly(input: &mut impl Read, len: u32) -> io::Result<Vec<u8>> {
    let mut out = Vec::with_capacity(len as usize);
    input.take(u64::from(len)).read_to_end(&mut out)?;
    if out.len() != len as usize {
        return Err(io::ErrorKind::UnexpectedEof.into());
    }
    Ok(out)
}

/// A source's next line in the merge: its path, the source, the line.
type Head = (Vec<u8>, usize, Vec<u8>);

/// The merged runs: the lines in key order, as bytes ([`Read`]) or one
/// by one with their keys ([`Merged::next_entry`]).
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

impl Merged {
    /// The runs (oldest first) and the sorted lines still in memory
    /// (newest), merged: of equal keys, the older line comes first.
    fn of(runs: &mut [Spool], memory: Vec<(Vec<u8>, Vec<u8>)>) -> Result<Merged> {
        let mut sources = Vec::with_capacity(runs.len() + 1);
        for spool in runs {
            let reader: Box<dyn Read> = Box::new(spool.reader()?);
            sources.push(Source::Spooled(BufReader::with_capacity(16 << 10, reader)));
        }
        sources.push(Source::Memory(memory.into_iter()));
        let mut merged = Merged {
            heads: BinaryHeap::with_capacity(sources.len()),
            sources,
            line: Vec::new(),
            pos: 0,
        };
        for i in 0..merged.sources.len() {
            merged.refill(i).at(std::env::temp_dir())?;
        }
        Ok(merged)
    }

    /// The next line and its key, for a caller that combines lines.
    pub(crate) fn next_entry(&mut self) -> io::Result<Option<(Vec<u8>, Vec<u8>)>> {
        assert_eq!(self.pos, self.line.len(), "next_entry after a partial read");
        let Some(Reverse((key, source, line))) = self.heads.pop() else {
            return Ok(None);
        };
        self.refill(source)?;
        Ok(Some((key, line)))
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

/// A range of keys (member paths in the path index), `from` included,
/// `to` excluded (`None`: no end), in byte order.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct PathRange {
    pub from: Vec<u8>,
    pub to: Option<Vec<u8>>,
}

impl PathRange {
    /// Every key that starts with `prefix`.
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

    pub(crate) fn below_end(&self, path: &[u8]) -> bool {
        self.to.as_deref().is_none_or(|to| path < to)
    }
}

/// Sorts ranges and joins those that overlap or touch, so that scanning
/// them in order gives every key once, in order.
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

/// A line of a sorted member, parsed: its sort key, and the checks that
/// what it says can be true of the archive.
pub(crate) trait SortedLine: Sized {
    fn parse(line: &str) -> std::result::Result<Self, String>;
    fn key(&self) -> &[u8];
}

/// A sorted member of an archive, located and laid out in blocks (the part
/// of each frame that holds its lines; every block starts at a line).
pub(crate) struct SortedMember {
    name: &'static str,
    data: u64,
    size: u64,
    starts: Vec<u64>,
}

impl SortedMember {
    /// The member the footer locates under `key`; `None` when the archive
    /// has none.
    ///
    /// # Errors
    /// When the footer points at a member of another name.
    pub(crate) fn open(
        reader: &mut ArchiveReader,
        key: &str,
        name: &'static str,
    ) -> Result<Option<SortedMember>> {
        let Some(at) = reader.located(key)? else {
            return Ok(None);
        };
        if at.name != name.as_bytes() {
            return Err(damaged(
                reader.path(),
                name,
                &format!("the footer's \"{key}\" member has another name"),
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
        Ok(Some(SortedMember {
            name,
            data: at.data_offset,
            size: at.size,
            starts,
        }))
    }

    /// The member's size in bytes.
    pub(crate) fn size(&self) -> u64 {
        self.size
    }

    /// Calls `each` with every line whose key is in one of `ranges`
    /// (normalised: see [`normalise`]), in key order, until it returns
    /// `false`. `check` judges each line read.
    ///
    /// # Errors
    /// Damage in a frame read, a line that does not parse or fails
    /// `check`, or lines out of order.
    pub(crate) fn scan<T: SortedLine>(
        &self,
        reader: &mut ArchiveReader,
        ranges: &[PathRange],
        check: &dyn Fn(&T) -> std::result::Result<(), String>,
        each: &mut dyn FnMut(T) -> bool,
    ) -> Result<()> {
        if self.size == 0 {
            return Ok(());
        }
        // The first key of each block probed, kept for the next range (a
        // name and its folder, `N` and `N/`, probe the same blocks).
        let mut probed = BTreeMap::new();
        for range in ranges {
            if !self.scan_range(reader, range, &mut probed, check, each)? {
                break;
            }
        }
        Ok(())
    }

    fn scan_range<T: SortedLine>(
        &self,
        reader: &mut ArchiveReader,
        range: &PathRange,
        probed: &mut BTreeMap<usize, Vec<u8>>,
        check: &dyn Fn(&T) -> std::result::Result<(), String>,
        each: &mut dyn FnMut(T) -> bool,
    ) -> Result<bool> {
        // A range that ends before the member's first key holds nothing:
        // two probes (shared by every range: the first block's, and the
        // last block's, which shows an index sorted backwards) instead of
        // a search down to the first block. A name is looked up as a
        // member path and below `records/`, and the first of those is
        // usually such a range.
        let first = self.probe(reader, probed, 0, check)?;
        if !range.below_end(first) {
            self.probe(reader, probed, self.starts.len() - 1, check)?;
            self.probes_sorted(reader, probed)?;
            return Ok(true);
        }
        // The first block whose first key is not below `from`; the range
        // starts in the block before it.
        let (mut lo, mut hi) = (0, self.starts.len());
        while lo < hi {
            let mid = (lo + hi) / 2;
            if *self.probe(reader, probed, mid, check)? < range.from {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        self.probes_sorted(reader, probed)?;
        let block = lo.saturating_sub(1);
        let path = reader.path().to_path_buf();
        let mut lines = self.lines_from(reader, self.starts[block]);
        let mut previous: Option<Vec<u8>> = None;
        while let Some(line) = lines.next::<T>(self, &path, check)? {
            let key = line.key().to_vec();
            if previous.as_ref().is_some_and(|p| key < *p) {
                return Err(self.bad(&path, "its lines are not sorted"));
            }
            if key >= range.from {
                if !range.below_end(&key) {
                    break;
                }
                if !each(line) {
                    return Ok(false);
                }
            }
            previous = Some(key);
        }
        Ok(true)
    }

    /// The first key of `block`, probed once.
    fn probe<'p, T: SortedLine>(
        &self,
        reader: &mut ArchiveReader,
        probed: &'p mut BTreeMap<usize, Vec<u8>>,
        block: usize,
        check: &dyn Fn(&T) -> std::result::Result<(), String>,
    ) -> Result<&'p Vec<u8>> {
        Ok(match probed.entry(block) {
            btree_map::Entry::Occupied(known) => known.into_mut(),
            btree_map::Entry::Vacant(new) => new.insert(self.first_key::<T>(reader, block, check)?),
        })
    }

    /// Whether the first keys probed so far are in order.
    fn probes_sorted(
        &self,
        reader: &ArchiveReader,
        probed: &BTreeMap<usize, Vec<u8>>,
    ) -> Result<()> {
        match probed
            .values()
            .zip(probed.values().skip(1))
            .any(|(a, b)| a > b)
        {
            true => Err(self.bad(reader.path(), "its lines are not sorted")),
            false => Ok(()),
        }
    }

    fn first_key<T: SortedLine>(
        &self,
        reader: &mut ArchiveReader,
        block: usize,
        check: &dyn Fn(&T) -> std::result::Result<(), String>,
    ) -> Result<Vec<u8>> {
        let path = reader.path().to_path_buf();
        let mut lines = self.lines_from(reader, self.starts[block]);
        match lines.next::<T>(self, &path, check)? {
            Some(line) => Ok(line.key().to_vec()),
            None => Err(self.bad(&path, "a frame of it holds no line")),
        }
    }

    fn lines_from<'a>(&self, reader: &'a mut ArchiveReader, pos: u64) -> Lines<'a> {
        let end = self.data + self.size;
        Lines {
            input: BufReader::with_capacity(16 << 10, reader.tar_from(pos).take(end - pos)),
            line: Vec::new(),
        }
    }

    fn bad(&self, archive: &std::path::Path, why: &str) -> Error {
        damaged(archive, self.name, why)
    }
}

struct Lines<'a> {
    input: BufReader<io::Take<TarCursor<'a>>>,
    line: Vec<u8>,
}

impl Lines<'_> {
    fn next<T: SortedLine>(
        &mut self,
        member: &SortedMember,
        archive: &std::path::Path,
        check: &dyn Fn(&T) -> std::result::Result<(), String>,
    ) -> Result<Option<T>> {
        match read_line(&mut self.input, &mut self.line, MAX_JSON as usize) {
            Ok(false) => return Ok(None),
            Ok(true) => {}
            Err(e) if e.kind() == io::ErrorKind::InvalidData => {
                return Err(member.bad(archive, &e.to_string()));
            }
            Err(e) => return Err(self.input.get_mut().get_mut().take_error(e)),
        }
        let line = std::str::from_utf8(&self.line)
            .ok()
            .and_then(|t| t.strip_suffix('\n'))
            .ok_or_else(|| "not a complete UTF-8 line".to_string())
            .and_then(T::parse)
            .and_then(|l| check(&l).map(|()| l))
            .map_err(|why| member.bad(archive, &why))?;
        Ok(Some(line))
    }
}

/// The error for a sorted member that cannot be used: the caller says so
/// and falls back (to the manifest, or to a scan).
pub(crate) fn damaged(archive: &std::path::Path, member: &str, why: &str) -> Error {
    Error::Damaged {
        path: archive.into(),
        detail: format!("{member}: {why}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_entry_cut_short_is_an_error_not_a_shorter_key() {
        let mut input: &[u8] = b"abc";
        assert_eq!(read_exactly(&mut input, 2).unwrap(), b"ab");
        assert_eq!(read_exactly(&mut input, 0).unwrap(), b"");
        let e = read_exactly(&mut input, 5).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::UnexpectedEof);
    }

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
        // 25 runs of 20 lines: 16 of them merged into one of level 1.
        let levels: Vec<u32> = builder.runs.iter().map(|(l, _)| *l).collect();
        assert_eq!(levels.iter().filter(|l| **l == 1).count(), 1, "{levels:?}");
        assert!(levels.len() < FAN_IN, "{levels:?}");
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
    fn equal_keys_keep_their_order_through_every_merge() {
        let mut builder = IndexBuilder::with_run_bytes(700);
        let n = FAN_IN * FAN_IN * 11 + 7;
        for i in 0..n {
            let key = format!("k{}", i % 3);
            builder
                .push(key.as_bytes(), format!("{i:06}\n").as_bytes())
                .unwrap();
        }
        assert!(builder.runs.iter().any(|(l, _)| *l >= 2));
        let (_, mut merged) = builder.finish().unwrap();
        let mut got = Vec::new();
        while let Some((key, line)) = merged.next_entry().unwrap() {
            got.push((key, line));
        }
        let mut want: Vec<(Vec<u8>, Vec<u8>)> = (0..n)
            .map(|i| {
                (
                    format!("k{}", i % 3).into_bytes(),
                    format!("{i:06}\n").into_bytes(),
                )
            })
            .collect();
        want.sort_by(|a, b| a.0.cmp(&b.0));
        assert_eq!(got, want);
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
