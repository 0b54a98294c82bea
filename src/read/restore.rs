//! `kluis restore`: records back onto disk, all of them or those matching
//! patterns, each checked against its SHA-256 as it is written, and never
//! anything outside the target folder.
//!
//! Over 800 lines only with its tests (the code is about 700): path safety,
//! writing a checked file and the selection are one concept, restoring.

use std::fs::{self, OpenOptions};
use std::io::{self, Read, Write};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::PermissionsExt;
use std::path::{Component, Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::error::{Error, IoContext, Result};
use crate::format::manifest::{Entry, Kind};
use crate::format::reader::{ArchiveReader, ManifestLines};
use crate::format::writer::Mtime;
use crate::format::{RECORDS_PREFIX, TABLES_PREFIX};
use crate::keys::Identities;
use crate::progress::Progress;

/// Which records a command is about: all, or those matching glob patterns.
pub struct Selection {
    patterns: Vec<Pattern>,
}

enum Pattern {
    /// No glob characters: compared as text, and looked for in manifest
    /// lines before they are parsed.
    Literal(String),
    Glob(glob::Pattern),
}

impl Pattern {
    fn matches(&self, candidate: &str) -> bool {
        match self {
            // A folder selects what is in it.
            Pattern::Literal(p) => candidate
                .strip_prefix(p.as_str())
                .is_some_and(|rest| rest.is_empty() || rest.starts_with('/')),
            Pattern::Glob(p) => {
                let options = glob::MatchOptions {
                    require_literal_separator: false,
                    ..Default::default()
                };
                p.matches_with(candidate, options)
                    || candidate
                        .char_indices()
                        .filter(|(_, c)| *c == '/')
                        .any(|(i, _)| p.matches_with(&candidate[..i], options))
            }
        }
    }
}

impl Selection {
    /// Patterns match the whole member path (`records/invoices/*.pdf`) or
    /// the path below `records/` (`invoices/*.pdf`); a folder selects what
    /// is in it.
    pub fn new(patterns: &[String]) -> Result<Self> {
        let patterns = patterns
            .iter()
            .map(|p| {
                let p = p.trim_end_matches('/');
                if p.contains(['*', '?', '[']) {
                    glob::Pattern::new(p)
                        .map(Pattern::Glob)
                        .map_err(|e| Error::Usage(format!("bad pattern {p:?}: {e}")))
                } else {
                    Ok(Pattern::Literal(p.to_owned()))
                }
            })
            .collect::<Result<_>>()?;
        Ok(Selection { patterns })
    }

    pub fn is_all(&self) -> bool {
        self.patterns.is_empty()
    }

    pub fn matches(&self, path: &[u8]) -> bool {
        if self.patterns.is_empty() {
            return true;
        }
        let text = String::from_utf8_lossy(path);
        let short = text.strip_prefix(RECORDS_PREFIX).unwrap_or(&text);
        self.patterns
            .iter()
            .any(|p| p.matches(&text) || p.matches(short))
    }

    /// Skips the manifest lines that cannot match (none when the selection
    /// is all); check each record left with [`Selection::matches`].
    pub fn prefilter<'a, T>(&self, lines: ManifestLines<'a, T>) -> ManifestLines<'a, T> {
        match self.line_filter() {
            Some(keep) => lines.prefilter(keep),
            None => lines,
        }
    }

    /// A cheap test of a manifest line before it is parsed: `false` only
    /// for lines whose record cannot match. When every pattern is literal,
    /// a matching record's JSON line holds the pattern verbatim (JSON
    /// escapes only `"`, `\` and control characters), unless its name is
    /// stored as `path_hex`.
    pub fn line_filter(&self) -> Option<impl Fn(&[u8]) -> bool + use<>> {
        let mut finders = Vec::new();
        for p in &self.patterns {
            match p {
                Pattern::Literal(text)
                    if !text.bytes().any(|b| b == b'"' || b == b'\\' || b < 0x20) =>
                {
                    finders.push(memchr::memmem::Finder::new(text.as_bytes()).into_owned());
                }
                _ => return None,
            }
        }
        if finders.is_empty() {
            return None;
        }
        let hexed = memchr::memmem::Finder::new(b"\"path_hex\"").into_owned();
        Some(move |line: &[u8]| {
            finders.iter().any(|f| f.find(line).is_some()) || hexed.find(line).is_some()
        })
    }
}

/// The outcome of a restore.
#[derive(Debug, Default)]
pub struct Report {
    pub files: u64,
    pub dirs: u64,
    pub symlinks: u64,
    pub bytes: u64,
    /// Records that could not be restored, with why.
    pub failed: Vec<(String, String)>,
    /// Ciphertext bytes read, and the archive's size.
    pub bytes_read: u64,
    pub archive_size: u64,
}

/// Maps a member path to a path under `target`, refusing anything that is
/// not a plain relative path below `records/` or `tables/`.
pub fn safe_target(target: &Path, member: &[u8]) -> std::result::Result<PathBuf, String> {
    if !(member.starts_with(RECORDS_PREFIX.as_bytes())
        || member.starts_with(TABLES_PREFIX.as_bytes()))
    {
        return Err("not below records/ or tables/".into());
    }
    if member.contains(&0) {
        return Err("contains a NUL byte".into());
    }
    let mut out = target.to_path_buf();
    for part in member.split(|&b| b == b'/') {
        match part {
            b"" => return Err("empty path component or absolute path".into()),
            b"." | b".." => return Err("contains . or ..".into()),
            _ => out.push(std::ffi::OsStr::from_bytes(part)),
        }
    }
    Ok(out)
}

/// Whether a symlink at `member` pointing to `link` stays inside the
/// restore folder.
pub fn safe_link(member: &[u8], link: &[u8]) -> std::result::Result<(), String> {
    if link.is_empty() || link.starts_with(b"/") {
        return Err("link target is absolute or empty".into());
    }
    let mut depth: i64 = member.split(|&b| b == b'/').count() as i64 - 1;
    let mut descended = false;
    for part in Path::new(std::ffi::OsStr::from_bytes(link)).components() {
        match part {
            // `a/..` is only `.` if `a` is not itself a link (`s -> .`,
            // `s2 -> s/../..` escapes): refuse `..` after a name.
            Component::ParentDir if descended => {
                return Err("link target goes up after going down (`x/../`)".into());
            }
            Component::ParentDir => depth -= 1,
            Component::Normal(_) => {
                depth += 1;
                descended = true;
            }
            Component::CurDir => {}
            _ => return Err("link target is absolute".into()),
        }
        if depth < 0 {
            return Err("link target points outside the restore folder".into());
        }
    }
    Ok(())
}

/// Creates the folders a record goes in below `root`, refusing to go
/// through a symlink or a file. It remembers the last folder it checked:
/// records come folder by folder, and a restore never turns a folder it
/// checked into anything else (files and links replace only files), so
/// its ancestors need no second look.
#[derive(Default)]
pub(crate) struct Parents {
    last: PathBuf,
}

impl Parents {
    pub(crate) fn make(&mut self, root: &Path, path: &Path) -> std::result::Result<(), String> {
        let parent = path.parent().ok_or("no parent")?;
        if parent == self.last {
            return Ok(());
        }
        let rel = parent
            .strip_prefix(root)
            .map_err(|_| "outside the restore folder")?;
        let mut at = root.to_path_buf();
        for c in rel.components() {
            at.push(c);
            if self.last.starts_with(&at) {
                continue;
            }
            match fs::symlink_metadata(&at) {
                Ok(m) if m.is_dir() => {}
                Ok(m) if m.file_type().is_symlink() => {
                    return Err(format!(
                        "{} is a symlink; refusing to write through it",
                        at.display()
                    ));
                }
                Ok(_) => return Err(format!("{} is not a folder", at.display())),
                Err(_) => fs::create_dir(&at).map_err(|e| format!("{}: {e}", at.display()))?,
            }
        }
        self.last = at;
        Ok(())
    }
}

/// Selected entries are kept in memory for the write pass up to this
/// many; beyond it the manifest is streamed a second time instead.
const COLLECT_LIMIT: usize = 100_000;

/// Archives larger than this are decoded ahead in a second thread when
/// read whole (a second opening costs little next to reading them).
pub(crate) const PREFETCH_FROM: u64 = 16 << 20;

/// Restores the selected records of `archive` into `target`.
///
/// Checks first, before writing anything, that no selected record would
/// replace an existing file (unless `force`) or escape `target`.
pub fn run(
    archive: &Path,
    identities: &Identities,
    target: &Path,
    selection: &Selection,
    force: bool,
    progress: &dyn Progress,
) -> Result<Report> {
    let mut index = ArchiveReader::open(archive, identities)?;
    fs::create_dir_all(target).at(target)?;
    let target = target.canonicalize().at(target)?;
    // Nothing can be in the way in an empty folder.
    let empty = fs::read_dir(&target).at(&target)?.next().is_none();

    // Pass 1: what will be written, and is it safe?
    let mut total = 0u64;
    let mut selected = 0u64;
    let mut collected: Option<Vec<Entry>> = (!selection.is_all()).then(Vec::new);
    for entry in selection.prefilter(index.manifest()?) {
        let entry = entry?;
        if !selection.matches(&entry.path) {
            continue;
        }
        selected += 1;
        total = total.saturating_add(entry.size);
        let unsafe_entry = |reason| Error::UnsafeEntry {
            path: archive.into(),
            entry: entry.display_path(),
            reason,
        };
        let dest = safe_target(&target, &entry.path).map_err(unsafe_entry)?;
        if let Some(link) = &entry.target {
            safe_link(&entry.path, link).map_err(unsafe_entry)?;
        }
        if !force && !empty && entry.kind != Kind::Dir && fs::symlink_metadata(&dest).is_ok() {
            return Err(Error::WouldOverwrite { path: dest });
        }
        if let Some(list) = &mut collected {
            if list.len() < COLLECT_LIMIT {
                list.push(entry);
            } else {
                collected = None;
            }
        }
    }
    if selected == 0 && !selection.is_all() {
        return Err(Error::Usage(
            "no record matches the given patterns; `kluis list` shows the names".into(),
        ));
    }

    // Pass 2: write.
    progress.phase("restoring", total);
    let mut out = Restorer {
        target,
        force,
        progress,
        report: Report {
            archive_size: fs::metadata(archive).at(archive)?.len(),
            ..Report::default()
        },
        dirs: Vec::new(),
        parents: Parents::default(),
        checker: Checker::start(),
    };
    match collected {
        // A few records: one reader seeks to each.
        Some(list) => {
            for entry in &list {
                out.restore(&mut index, entry);
            }
        }
        // Everything (or very many): stream the manifest again while a
        // second reader follows it through the frames in order.
        None => {
            let mut data = ArchiveReader::open(archive, identities)?;
            if out.report.archive_size > PREFETCH_FROM {
                data.prefetch()?;
            }
            for entry in selection.prefilter(index.manifest()?) {
                let entry = entry?;
                if selection.matches(&entry.path) {
                    out.restore(&mut data, &entry);
                }
            }
            out.report.bytes_read += data.bytes_read();
        }
    }
    // Files whose content did not match are removed by now.
    for (name, size) in out.checker.finish() {
        out.report.files -= 1;
        out.report.bytes -= size;
        out.report.failed.push((
            name,
            "its content does not match the SHA-256 in the manifest (damaged)".into(),
        ));
    }
    // Folder times last: writing into a folder changes its mtime.
    for (dir, mode, mtime) in out.dirs.iter().rev() {
        let _ = fs::set_permissions(dir, fs::Permissions::from_mode(mode & 0o1777 | 0o700));
        if let Ok(d) = fs::File::open(dir) {
            let _ = d.set_modified(mtime.to_system());
        }
    }
    out.report.bytes_read += index.bytes_read();
    Ok(out.report)
}

/// The write side of a restore.
struct Restorer<'a> {
    target: PathBuf,
    force: bool,
    progress: &'a dyn Progress,
    report: Report,
    dirs: Vec<(PathBuf, u32, Mtime)>,
    parents: Parents,
    checker: Checker,
}

impl Restorer<'_> {
    /// Restores one record; a failure is recorded in the report.
    fn restore(&mut self, data: &mut ArchiveReader, entry: &Entry) {
        let dest = safe_target(&self.target, &entry.path).expect("checked in pass 1");
        if let Err(reason) = self.parents.make(&self.target, &dest) {
            self.report.failed.push((entry.display_path(), reason));
            return;
        }
        let mtime = Mtime {
            secs: entry.mtime,
            nsec: entry.mtime_nsec,
        };
        let report = &mut self.report;
        let outcome = match entry.kind {
            Kind::Dir => make_dir(&dest).map(|()| {
                self.dirs.push((dest.clone(), entry.mode, mtime));
                report.dirs += 1;
            }),
            Kind::Symlink => make_link(
                &dest,
                entry.target.as_deref().unwrap_or_default(),
                mtime,
                self.force,
            )
            .map(|()| report.symlinks += 1),
            Kind::File => {
                restore_file(data, &dest, entry, self.force, &self.checker, self.progress).map(
                    |()| {
                        report.files += 1;
                        report.bytes += entry.size;
                    },
                )
            }
        };
        if let Err(reason) = outcome {
            report.failed.push((entry.display_path(), reason));
        }
    }
}

/// Creates a folder, or accepts the one already there.
pub(crate) fn make_dir(dest: &Path) -> std::result::Result<(), String> {
    match fs::symlink_metadata(dest) {
        Ok(m) if m.is_dir() => Ok(()),
        Ok(_) => Err("a file of that name is in the way".into()),
        Err(_) => fs::create_dir(dest).map_err(|e| e.to_string()),
    }
}

pub(crate) fn remove_existing(dest: &Path, force: bool) -> std::result::Result<(), String> {
    match fs::symlink_metadata(dest) {
        Ok(m) if m.is_dir() => Err("a folder of that name is in the way".into()),
        Ok(_) if force => fs::remove_file(dest).map_err(|e| e.to_string()),
        Ok(_) => Err("already exists (use --force to replace it)".into()),
        Err(_) => Ok(()),
    }
}

/// Creates a symlink (its target checked by [`safe_link`] beforehand) and
/// gives the link itself its modification time, as GNU tar does.
pub(crate) fn make_link(
    dest: &Path,
    target: &[u8],
    mtime: Mtime,
    force: bool,
) -> std::result::Result<(), String> {
    remove_existing(dest, force)?;
    std::os::unix::fs::symlink(std::ffi::OsStr::from_bytes(target), dest)
        .map_err(|e| e.to_string())?;
    let times = rustix::fs::Timestamps {
        last_access: rustix::fs::Timespec {
            tv_sec: 0,
            tv_nsec: rustix::fs::UTIME_OMIT,
        },
        last_modification: rustix::fs::Timespec {
            tv_sec: mtime.secs,
            tv_nsec: i64::from(mtime.nsec),
        },
    };
    rustix::fs::utimensat(
        rustix::fs::CWD,
        dest,
        &times,
        rustix::fs::AtFlags::SYMLINK_NOFOLLOW,
    )
    .map_err(|e| format!("{}: cannot set the link's time: {e}", dest.display()))
}

/// Writes exactly `size` bytes from `data` to a new file at `dest` (never
/// through an existing one), sets its mode and time, and returns the
/// SHA-256 of what was written. On any failure the file is removed.
///
/// No fsync per file (tar does none either): after a crash the restore is
/// simply repeated from the archive.
/// Creates `dest`, which must not exist yet; says what is in the way.
fn create_new(dest: &Path) -> std::result::Result<fs::File, String> {
    match OpenOptions::new().write(true).create_new(true).open(dest) {
        Ok(f) => Ok(f),
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
            remove_existing(dest, false)?;
            Err(e.to_string())
        }
        Err(e) => Err(e.to_string()),
    }
}

/// Writes `size` bytes of `data` to `dest` (a new file) with `mode` and
/// `mtime`; returns their SHA-256. A partial file is removed.
pub(crate) fn write_file(
    dest: &Path,
    data: &mut dyn Read,
    size: u64,
    mode: u32,
    mtime: Mtime,
    buf: &mut [u8],
    progress: &dyn Progress,
) -> std::result::Result<[u8; 32], String> {
    let mut file = create_new(dest)?;
    let mut hasher = Sha256::new();
    let mut left = size;
    let result = (|| {
        while left > 0 {
            let want = left.min(buf.len() as u64) as usize;
            let n = data.read(&mut buf[..want]).map_err(|e| e.to_string())?;
            if n == 0 {
                return Err("the archive ends inside this record".to_string());
            }
            hasher.update(&buf[..n]);
            file.write_all(&buf[..n])
                .map_err(|e| format!("{}: {e}", dest.display()))?;
            progress.advance(n as u64);
            left -= n as u64;
        }
        set_mode_and_time(&file, mode, mtime)?;
        Ok(hasher.finalize().into())
    })();
    if result.is_err() {
        let _ = fs::remove_file(dest);
    }
    result
}

fn set_mode_and_time(file: &fs::File, mode: u32, mtime: Mtime) -> std::result::Result<(), String> {
    file.set_permissions(fs::Permissions::from_mode(mode & 0o1777))
        .map_err(|e| e.to_string())?;
    file.set_modified(mtime.to_system())
        .map_err(|e| e.to_string())
}

/// Restores one file: the restoring thread reads and writes, the checker
/// hashes (see [`Checker`]).
fn restore_file(
    data: &mut ArchiveReader,
    dest: &Path,
    entry: &Entry,
    force: bool,
    checker: &Checker,
    progress: &dyn Progress,
) -> std::result::Result<(), String> {
    if force {
        remove_existing(dest, true)?;
    }
    let mut file = create_new(dest)?;
    let mut cursor = data.tar_from(entry.data_offset);
    let mut left = entry.size;
    let result = (|| {
        while left > 0 {
            let mut buf = checker.buffer();
            let want = left.min(buf.len() as u64) as usize;
            let copied = match cursor.read(&mut buf[..want]) {
                Ok(0) => Err("the archive ends inside this record".to_string()),
                Ok(n) => file
                    .write_all(&buf[..n])
                    .map(|()| n)
                    .map_err(|e| format!("{}: {e}", dest.display())),
                Err(e) => Err(e.to_string()),
            };
            match copied {
                Ok(n) => {
                    checker.hash(buf, n);
                    progress.advance(n as u64);
                    left -= n as u64;
                }
                Err(e) => {
                    checker.give_back(buf);
                    return Err(e);
                }
            }
        }
        set_mode_and_time(
            &file,
            entry.mode,
            Mtime {
                secs: entry.mtime,
                nsec: entry.mtime_nsec,
            },
        )
    })();
    match result {
        Ok(()) => {
            checker.check(dest, entry);
            Ok(())
        }
        Err(e) => {
            checker.discard();
            let _ = fs::remove_file(dest);
            Err(e)
        }
    }
}

/// Hashes restored files in a thread of its own, so that the restoring
/// thread only reads and writes (hashing is a third of a restore's CPU
/// time). Chunks travel in a small pool of recycled buffers; a file whose
/// SHA-256 does not match the manifest is removed by the checker and
/// reported by [`Checker::finish`].
struct Checker {
    work: Option<crossbeam_channel::Sender<Check>>,
    free: crossbeam_channel::Receiver<Vec<u8>>,
    recycle: crossbeam_channel::Sender<Vec<u8>>,
    /// Buffers are made as needed (a one-record restore needs one).
    made: std::cell::Cell<usize>,
    thread: Option<std::thread::JoinHandle<Vec<(String, u64)>>>,
}

enum Check {
    Chunk(Vec<u8>, usize),
    File {
        dest: PathBuf,
        name: String,
        size: u64,
        sha256: Option<[u8; 32]>,
    },
    Discard,
}

const CHECK_BUFFERS: usize = 8;
const CHECK_CHUNK: usize = 256 << 10;

impl Checker {
    fn start() -> Self {
        let (work, todo) = crossbeam_channel::unbounded::<Check>();
        let (recycle, free) = crossbeam_channel::bounded(CHECK_BUFFERS);
        let give_back = recycle.clone();
        let thread = std::thread::spawn(move || {
            let mut hasher = Sha256::new();
            let mut mismatched = Vec::new();
            for check in todo {
                match check {
                    Check::Chunk(buf, n) => {
                        hasher.update(&buf[..n]);
                        let _ = recycle.send(buf);
                    }
                    Check::File {
                        dest,
                        name,
                        size,
                        sha256,
                    } => {
                        let hash: [u8; 32] = std::mem::take(&mut hasher).finalize().into();
                        if Some(hash) != sha256 {
                            let _ = fs::remove_file(dest);
                            mismatched.push((name, size));
                        }
                    }
                    Check::Discard => hasher = Sha256::new(),
                }
            }
            mismatched
        });
        Checker {
            work: Some(work),
            free,
            recycle: give_back,
            made: std::cell::Cell::new(0),
            thread: Some(thread),
        }
    }

    /// A buffer to read into (waits while all are being hashed).
    fn buffer(&self) -> Vec<u8> {
        if let Ok(buf) = self.free.try_recv() {
            return buf;
        }
        if self.made.get() < CHECK_BUFFERS {
            self.made.set(self.made.get() + 1);
            return vec![0u8; CHECK_CHUNK];
        }
        self.free
            .recv()
            .expect("the checker thread keeps its buffers")
    }

    fn send(&self, check: Check) {
        if let Some(work) = &self.work {
            work.send(check)
                .expect("the checker thread runs until finish");
        }
    }

    /// Returns a buffer that carried nothing to hash.
    fn give_back(&self, buf: Vec<u8>) {
        let _ = self.recycle.send(buf);
    }

    /// Hashes `buf[..n]`, the next bytes of the file being written.
    fn hash(&self, buf: Vec<u8>, n: usize) {
        self.send(Check::Chunk(buf, n));
    }

    /// The file being written is complete: compare it with the manifest.
    fn check(&self, dest: &Path, entry: &Entry) {
        self.send(Check::File {
            dest: dest.into(),
            name: entry.display_path(),
            size: entry.size,
            sha256: entry.sha256,
        });
    }

    /// The file being written was abandoned.
    fn discard(&self) {
        self.send(Check::Discard);
    }

    /// Waits for the last check; returns the files removed (name, size).
    fn finish(&mut self) -> Vec<(String, u64)> {
        self.work = None;
        self.thread
            .take()
            .map(|t| t.join().expect("the checker thread does not panic"))
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn safe_targets() {
        let t = Path::new("/restore");
        assert_eq!(
            safe_target(t, b"records/a/b.pdf").unwrap(),
            Path::new("/restore/records/a/b.pdf")
        );
        for bad in [
            &b"records/../x"[..],
            b"/etc/passwd",
            b"records//x",
            b"kluis/manifest.jsonl",
            b"records/./x",
            b"../x",
            b"records/a\0b",
        ] {
            assert!(
                safe_target(t, bad).is_err(),
                "{}",
                String::from_utf8_lossy(bad)
            );
        }
    }

    #[test]
    fn safe_links() {
        assert!(safe_link(b"records/a/l", b"../b").is_ok());
        assert!(safe_link(b"records/l", b"x/../y").is_err());
        assert!(safe_link(b"records/s2", b"s/../..").is_err());
        assert!(safe_link(b"records/l", b"../../x").is_err());
        assert!(safe_link(b"records/l", b"/etc/passwd").is_err());
        assert!(safe_link(b"records/a/l", b"../../../etc").is_err());
    }

    #[test]
    fn selection() {
        let s = Selection::new(&["invoices/*.pdf".into(), "records/ledger".into()]).unwrap();
        assert!(s.matches(b"records/invoices/INV-1.pdf"));
        assert!(s.matches(b"records/ledger/2019.csv"));
        assert!(!s.matches(b"records/receipts/a.jpg"));
        assert!(Selection::new(&[]).unwrap().matches(b"anything"));
        assert!(
            Selection::new(&["*INV-2019-000123*".into()])
                .unwrap()
                .matches(b"records/invoices/INV-2019-000123.pdf")
        );
    }

    #[test]
    fn literal_patterns_match_like_globs() {
        let paths: [&[u8]; 7] = [
            b"records/invoices",
            b"records/invoices/INV-1.pdf",
            b"records/invoices-old/INV-1.pdf",
            b"records/invoice",
            b"tables/orders/2019.csv",
            b"records/Caf\xc3\xa9/bon.pdf",
            b"records/\xff.bin",
        ];
        for pattern in [
            "invoices",
            "invoices/",
            "records/invoices/INV-1.pdf",
            "invoice",
            "tables/orders",
            "orders",
            "Café",
            "records",
        ] {
            let literal = Selection::new(&[pattern.into()]).unwrap();
            assert!(matches!(literal.patterns[0], Pattern::Literal(_)));
            let glob = Selection {
                patterns: vec![Pattern::Glob(
                    glob::Pattern::new(pattern.trim_end_matches('/')).unwrap(),
                )],
            };
            for path in paths {
                assert_eq!(
                    literal.matches(path),
                    glob.matches(path),
                    "{pattern} on {}",
                    String::from_utf8_lossy(path)
                );
            }
        }
    }

    #[test]
    fn line_filter_keeps_every_line_that_may_match() {
        let entry = |path: &[u8]| Entry {
            path: path.to_vec(),
            kind: Kind::File,
            size: 1,
            mode: 0o644,
            mtime: 0,
            mtime_nsec: 0,
            sha256: Some([0; 32]),
            target: None,
            offset: 0,
            data_offset: 512,
        };
        let s = Selection::new(&["invoices/INV-1.pdf".into(), "Café".into()]).unwrap();
        let keep = s.line_filter().expect("literal patterns filter");
        for (path, kept) in [
            (&b"records/invoices/INV-1.pdf"[..], true),
            (b"records/Caf\xc3\xa9/bon.pdf", true),
            (b"records/invoices/INV-2.pdf", false),
            // A name that is not UTF-8 is stored as hex: always parsed.
            (b"records/\xff.bin", true),
        ] {
            let line = entry(path).to_json_line();
            assert_eq!(keep(line.as_bytes()), kept, "{line}");
            if !kept {
                assert!(!s.matches(path));
            }
        }
        // Globs, and characters JSON escapes, are not pre-filtered.
        assert!(
            Selection::new(&["*.pdf".into()])
                .unwrap()
                .line_filter()
                .is_none()
        );
        assert!(
            Selection::new(&["a\"b".into()])
                .unwrap()
                .line_filter()
                .is_none()
        );
        assert!(Selection::new(&[]).unwrap().line_filter().is_none());
    }
}
