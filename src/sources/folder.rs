//! Walks source folders in a fixed order (bytewise by name, directories
//! before their contents) and names each record `records/…`. Symlinks are
//! recorded as links and never followed.
//!
//! The walk works relative to each folder's open descriptor (`fstatat`,
//! `openat`): a year of a million records in nested folders would
//! otherwise have the kernel resolve every component of every path again,
//! two or three times per record.

use std::ffi::{CStr, CString, OsStr};
use std::fs::{self, File, Metadata};
use std::io;
use std::os::fd::{BorrowedFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use std::num::NonZeroU64;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use rustix::fs::{Advice, AtFlags, Dir, FileType, Mode, OFlags};

use crate::error::{Error, IoContext, Result};
use crate::format::RECORDS_PREFIX;

/// One thing found in a source folder.
#[derive(Debug)]
pub struct Item<'a> {
    /// Member path inside the archive, e.g. `records/invoices/INV-1.pdf`.
    pub member: Vec<u8>,
    /// Where it is on disk.
    pub source: PathBuf,
    pub kind: ItemKind,
    pub stat: Stat,
    /// The open folder it is in and its name there (`None` for a source
    /// folder itself).
    at: Option<(BorrowedFd<'a>, &'a CStr)>,
}

impl Item<'_> {
    /// Opens the file for reading (never following a symlink put in its
    /// place since the walk saw it).
    pub fn open(&self) -> io::Result<File> {
        match self.at {
            Some((dir, name)) => {
                let flags = OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::CLOEXEC;
                let fd: OwnedFd = rustix::fs::openat(dir, name, flags, Mode::empty())?;
                Ok(File::from(fd))
            }
            None => File::open(&self.source),
        }
    }
}

/// What the walk keeps of an item's status: its kind and permissions,
/// size, times and identity.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Stat {
    pub mode: u32,
    pub size: u64,
    pub mtime: i64,
    pub mtime_nsec: u32,
    pub ctime: i64,
    pub ctime_nsec: u32,
    pub dev: u64,
    pub ino: u64,
}

impl Stat {
    fn file_type(&self) -> FileType {
        FileType::from_raw_mode(self.mode)
    }

    /// Whether `later` is the same file, unchanged: same identity,
    /// modification and change times (a write, a rename or a deletion
    /// moves the change time).
    pub fn unchanged(&self, later: &Stat) -> bool {
        (
            self.dev,
            self.ino,
            self.mtime,
            self.mtime_nsec,
            self.ctime,
            self.ctime_nsec,
        ) == (
            later.dev,
            later.ino,
            later.mtime,
            later.mtime_nsec,
            later.ctime,
            later.ctime_nsec,
        )
    }
}

impl From<&Metadata> for Stat {
    fn from(m: &Metadata) -> Stat {
        Stat {
            mode: m.mode(),
            size: m.size(),
            mtime: m.mtime(),
            mtime_nsec: m.mtime_nsec() as u32,
            ctime: m.ctime(),
            ctime_nsec: m.ctime_nsec() as u32,
            dev: m.dev(),
            ino: m.ino(),
        }
    }
}

impl From<rustix::fs::Stat> for Stat {
    #[allow(clippy::unnecessary_cast)] // the field types differ by platform
    fn from(s: rustix::fs::Stat) -> Stat {
        Stat {
            mode: s.st_mode as u32,
            size: s.st_size as u64,
            mtime: s.st_mtime as i64,
            mtime_nsec: s.st_mtime_nsec as u32,
            ctime: s.st_ctime as i64,
            ctime_nsec: s.st_ctime_nsec as u32,
            dev: s.st_dev as u64,
            ino: s.st_ino as u64,
        }
    }
}

#[derive(Debug, PartialEq, Eq)]
pub enum ItemKind {
    File,
    Dir,
    Symlink(Vec<u8>),
    /// A device, FIFO or socket: not a record; reported and skipped.
    Special,
}

/// The source folders of one archive, with the prefix each gets.
#[derive(Debug)]
pub struct Sources {
    roots: Vec<(PathBuf, Vec<u8>)>,
}

impl Sources {
    /// Checks that every folder exists and gives each its member prefix:
    /// `records/` alone, or `records/<folder name>/` with several.
    pub fn new(folders: &[PathBuf]) -> Result<Self> {
        let mut roots = Vec::with_capacity(folders.len());
        let mut names = std::collections::BTreeSet::new();
        for folder in folders {
            let meta = fs::metadata(folder).at(folder)?;
            if !meta.is_dir() {
                return Err(Error::BadSource {
                    path: folder.clone(),
                    detail: "is not a folder; give the folder that holds the records".into(),
                });
            }
            let mut prefix = RECORDS_PREFIX.as_bytes().to_vec();
            if folders.len() > 1 {
                let canonical = folder.canonicalize().at(folder)?;
                let name = canonical
                    .file_name()
                    .map(OsStr::as_bytes)
                    .unwrap_or(b"root")
                    .to_vec();
                if !names.insert(name.clone()) {
                    return Err(Error::BadSource {
                        path: folder.clone(),
                        detail: "two source folders have the same name; their records would collide in the archive".into(),
                    });
                }
                prefix.extend_from_slice(&name);
                prefix.push(b'/');
            }
            roots.push((folder.clone(), prefix));
        }
        Ok(Sources { roots })
    }

    /// Calls `visit` for every item, in archive order.
    pub fn walk(&self, visit: &mut dyn FnMut(Item<'_>) -> Result<()>) -> Result<()> {
        for (root, prefix) in &self.roots {
            if self.roots.len() > 1 {
                let meta = fs::metadata(root).at(root)?;
                let member = prefix[..prefix.len() - 1].to_vec();
                visit(Item {
                    member,
                    source: root.clone(),
                    kind: ItemKind::Dir,
                    stat: Stat::from(&meta),
                    at: None,
                })?;
            }
            let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC;
            let fd = rustix::fs::open(root, flags, Mode::empty())
                .map_err(io::Error::from)
                .at(root)?;
            walk_dir(fd, root, prefix, visit)?;
        }
        Ok(())
    }
}

/// A folder's entries (not `.` and `..`) with the type `getdents` gives,
/// bytewise by name: the walk's order; and the open folder.
fn sorted_entries(fd: OwnedFd) -> io::Result<(Dir, Vec<(CString, FileType)>)> {
    let mut entries = Dir::new(fd)?;
    let mut names = Vec::new();
    for entry in &mut entries {
        let entry = entry?;
        let name = entry.file_name();
        if name != c"." && name != c".." {
            names.push((name.to_owned(), entry.file_type()));
        }
    }
    names.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
    Ok((entries, names))
}

fn walk_dir(
    fd: OwnedFd,
    dir: &Path,
    prefix: &[u8],
    visit: &mut dyn FnMut(Item<'_>) -> Result<()>,
) -> Result<()> {
    let (entries, names) = sorted_entries(fd).at(dir)?;
    let fd = entries.fd().map_err(io::Error::from).at(dir)?;
    for (name, _) in &names {
        let source = dir.join(OsStr::from_bytes(name.to_bytes()));
        let stat: Stat = rustix::fs::statat(fd, name, AtFlags::SYMLINK_NOFOLLOW)
            .map_err(io::Error::from)
            .at(&source)?
            .into();
        let mut member = prefix.to_vec();
        member.extend_from_slice(name.to_bytes());
        let kind = match stat.file_type() {
            FileType::Directory => ItemKind::Dir,
            FileType::RegularFile => ItemKind::File,
            FileType::Symlink => ItemKind::Symlink(
                rustix::fs::readlinkat(fd, name, Vec::new())
                    .map_err(io::Error::from)
                    .at(&source)?
                    .into_bytes(),
            ),
            // Devices, FIFOs and sockets are not records.
            _ => ItemKind::Special,
        };
        let is_dir = kind == ItemKind::Dir;
        visit(Item {
            member: member.clone(),
            source: source.clone(),
            kind,
            stat,
            at: Some((fd, name)),
        })?;
        if is_dir {
            member.push(b'/');
            let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC;
            let sub = rustix::fs::openat(fd, name.as_c_str(), flags, Mode::empty())
                .map_err(io::Error::from)
                .at(&source)?;
            walk_dir(sub, &source, &member, visit)?;
        }
    }
    Ok(())
}

/// Reads ahead of a walk. A year's records at year-end are seldom in the
/// page cache, and a walk that reads one file after the other waits for the
/// disk at every file. A thread walks the same folders in the same order
/// (names and their types only) and asks the kernel to read each regular
/// file's start into the page cache (`posix_fadvise(WILLNEED)`, which
/// returns at once), keeping at most [`AHEAD`] files ahead of the walk,
/// which reports each file it takes with [`ReadAhead::taken`]. Nothing it
/// does can change what is archived: it only warms the cache, and stops at
/// the first thing it cannot read.
pub struct ReadAhead {
    taken: Arc<AtomicU64>,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

/// Files the read-ahead may be ahead of the walk.
const AHEAD: u64 = 512;
/// Of each file, at most this much is asked for (a large file's rest comes
/// by the kernel's own read-ahead as it is read).
const AHEAD_BYTES: u64 = 4 << 20;

impl ReadAhead {
    pub fn start(sources: &Sources) -> ReadAhead {
        let taken = Arc::new(AtomicU64::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let roots: Vec<PathBuf> = sources.roots.iter().map(|(r, _)| r.clone()).collect();
        let (t, s) = (taken.clone(), stop.clone());
        let thread = std::thread::Builder::new()
            .name("kluis-readahead".into())
            .spawn(move || {
                let mut ahead = Ahead {
                    given: 0,
                    taken: &t,
                    stop: &s,
                };
                for root in roots {
                    let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC;
                    let Ok(fd) = rustix::fs::open(&root, flags, Mode::empty()) else {
                        return;
                    };
                    if ahead.dir(fd).is_none() {
                        return;
                    }
                }
            })
            .ok();
        ReadAhead {
            taken,
            stop,
            thread,
        }
    }

    /// The walk took one more file.
    pub fn taken(&self) {
        self.taken.fetch_add(1, Ordering::Relaxed);
    }
}

impl Drop for ReadAhead {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

struct Ahead<'a> {
    given: u64,
    taken: &'a AtomicU64,
    stop: &'a AtomicBool,
}

impl Ahead<'_> {
    /// One folder, in the walk's order; `None` once it should stop.
    fn dir(&mut self, fd: OwnedFd) -> Option<()> {
        let (entries, names) = sorted_entries(fd).ok()?;
        let fd = entries.fd().ok()?;
        for (name, mut kind) in names {
            if kind == FileType::Unknown {
                let stat = rustix::fs::statat(fd, &name, AtFlags::SYMLINK_NOFOLLOW).ok()?;
                kind = FileType::from_raw_mode(stat.st_mode);
            }
            match kind {
                FileType::Directory => {
                    let flags =
                        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC;
                    let sub = rustix::fs::openat(fd, &name, flags, Mode::empty()).ok()?;
                    self.dir(sub)?;
                }
                FileType::RegularFile => {
                    while self.given >= self.taken.load(Ordering::Relaxed) + AHEAD {
                        if self.stop.load(Ordering::Relaxed) {
                            return None;
                        }
                        std::thread::sleep(std::time::Duration::from_micros(500));
                    }
                    if self.stop.load(Ordering::Relaxed) {
                        return None;
                    }
                    // Never a FIFO or device put in its place (O_NONBLOCK,
                    // and the advice only applies to files).
                    let flags =
                        OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::NONBLOCK | OFlags::CLOEXEC;
                    if let Ok(file) = rustix::fs::openat(fd, &name, flags, Mode::empty()) {
                        let _ = rustix::fs::fadvise(
                            &file,
                            0,
                            NonZeroU64::new(AHEAD_BYTES),
                            Advice::WillNeed,
                        );
                    }
                    self.given += 1;
                }
                _ => {}
            }
        }
        Some(())
    }
}

/// Totals of a pre-scan.
#[derive(Clone, Debug, Default)]
pub struct Scan {
    pub files: u64,
    pub dirs: u64,
    pub symlinks: u64,
    pub special: u64,
    pub bytes: u64,
    /// Files named `*.xaf` or `*.xml` (source, member): possibly tax audit
    /// files, which are checked before anything is written.
    pub xml_files: Vec<(PathBuf, Vec<u8>)>,
}

impl Sources {
    /// Counts what a walk would archive (for progress and space checks).
    pub fn scan(&self) -> Result<Scan> {
        let mut scan = Scan::default();
        self.walk(&mut |item| {
            match item.kind {
                ItemKind::File => {
                    scan.files += 1;
                    scan.bytes += item.stat.size;
                    let name = item.member.to_ascii_lowercase();
                    if name.ends_with(b".xaf") || name.ends_with(b".xml") {
                        scan.xml_files.push((item.source, item.member));
                    }
                }
                ItemKind::Dir => scan.dirs += 1,
                ItemKind::Symlink(_) => scan.symlinks += 1,
                ItemKind::Special => scan.special += 1,
            }
            Ok(())
        })?;
        Ok(scan)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn members(sources: &Sources) -> Vec<String> {
        let mut out = Vec::new();
        sources
            .walk(&mut |i| {
                out.push(String::from_utf8(i.member).unwrap());
                Ok(())
            })
            .unwrap();
        out
    }

    #[test]
    fn order_prefixes_and_links() {
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("a");
        fs::create_dir_all(a.join("sub/empty")).unwrap();
        fs::write(a.join("z.txt"), "z").unwrap();
        fs::write(a.join("sub/b.txt"), "b").unwrap();
        std::os::unix::fs::symlink("/etc/passwd", a.join("link")).unwrap();
        let one = Sources::new(std::slice::from_ref(&a)).unwrap();
        assert_eq!(
            members(&one),
            [
                "records/link",
                "records/sub",
                "records/sub/b.txt",
                "records/sub/empty",
                "records/z.txt"
            ]
        );
        let b = dir.path().join("b");
        fs::create_dir(&b).unwrap();
        let two = Sources::new(&[a.clone(), b.clone()]).unwrap();
        assert_eq!(members(&two)[0], "records/a");
        assert_eq!(members(&two).last().unwrap(), "records/b");
        let scan = one.scan().unwrap();
        assert_eq!(
            (scan.files, scan.dirs, scan.symlinks, scan.bytes),
            (2, 2, 1, 2)
        );
    }

    /// The walk's item opens the file it saw, relative to its folder:
    /// a symlink put in its place is refused (never followed), another
    /// file renamed over it is seen as changed.
    #[test]
    fn an_item_replaced_after_the_walk_saw_it() {
        let dir = tempfile::tempdir().unwrap();
        let src = dir.path().join("src");
        fs::create_dir(&src).unwrap();
        fs::write(src.join("a.txt"), "aaaa").unwrap();
        fs::write(src.join("b.txt"), "bbbb").unwrap();
        fs::write(dir.path().join("other"), "cccc").unwrap();
        let sources = Sources::new(std::slice::from_ref(&src)).unwrap();
        let mut seen = Vec::new();
        sources
            .walk(&mut |item| {
                let name = String::from_utf8(item.member.clone()).unwrap();
                let before = rustix::fs::fstat(item.open().unwrap()).unwrap().into();
                assert!(item.stat.unchanged(&before), "{name}: opened as seen");
                if name.ends_with("a.txt") {
                    fs::remove_file(&item.source).unwrap();
                    std::os::unix::fs::symlink("/etc/passwd", &item.source).unwrap();
                    let e = item.open().unwrap_err();
                    assert_eq!(
                        e.raw_os_error(),
                        Some(rustix::io::Errno::LOOP.raw_os_error())
                    );
                } else {
                    fs::rename(dir.path().join("other"), &item.source).unwrap();
                    let now: Stat = rustix::fs::fstat(item.open().unwrap()).unwrap().into();
                    assert_eq!(now.size, item.stat.size, "same size");
                    assert!(!item.stat.unchanged(&now), "{name}: another file");
                }
                seen.push(name);
                Ok(())
            })
            .unwrap();
        assert_eq!(seen, ["records/a.txt", "records/b.txt"]);
    }

    /// The read-ahead walks the folders to their end, stops when dropped
    /// (even while it waits for the walk), and never opens what is not a
    /// file: a FIFO opened for reading would block it for good.
    #[test]
    fn the_read_ahead_ends_and_skips_what_is_not_a_file() {
        let dir = tempfile::tempdir().unwrap();
        let src = dir.path().join("src");
        fs::create_dir_all(src.join("a/b")).unwrap();
        for i in 0..(AHEAD + 10) {
            fs::write(src.join(format!("a/b/{i:04}.txt")), "x").unwrap();
        }
        rustix::fs::mknodat(
            rustix::fs::CWD,
            src.join("a/fifo"),
            FileType::Fifo,
            Mode::from_raw_mode(0o600),
            0,
        )
        .unwrap();
        let sources = Sources::new(std::slice::from_ref(&src)).unwrap();
        // Dropped while it waits for the walk to take files.
        let ahead = ReadAhead::start(&sources);
        std::thread::sleep(std::time::Duration::from_millis(50));
        drop(ahead);
        // Taken as the walk takes them: it reaches the end.
        let ahead = ReadAhead::start(&sources);
        sources
            .walk(&mut |item| {
                if item.kind == ItemKind::File {
                    ahead.taken();
                }
                Ok(())
            })
            .unwrap();
        let thread = ahead.thread.as_ref().unwrap();
        for _ in 0..200 {
            if thread.is_finished() {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        assert!(thread.is_finished(), "the read-ahead did not end");
    }

    #[test]
    fn missing_and_non_folder_sources() {
        let dir = tempfile::tempdir().unwrap();
        assert!(Sources::new(&[dir.path().join("nope")]).is_err());
        let f = dir.path().join("f");
        fs::write(&f, "").unwrap();
        assert!(
            Sources::new(&[f])
                .unwrap_err()
                .to_string()
                .contains("not a folder")
        );
    }
}
