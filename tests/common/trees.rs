//! Record trees on disk: written with exact modes and sub-second mtimes,
//! read back as a snapshot and compared byte for byte, and the cheaper
//! fingerprints (stat, SHA-256, file contents) that show a source or a test
//! folder untouched.

use std::collections::BTreeMap;
use std::ffi::OsStr;
use std::fmt;
use std::fs::{self, File};
use std::io::Read;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, UNIX_EPOCH};

use sha2::Digest;

// ---------------------------------------------------------------------------
// Writing

/// Builds a path from raw bytes (names need not be UTF-8).
pub fn bpath(root: &Path, rel: &[u8]) -> PathBuf {
    root.join(OsStr::from_bytes(rel))
}

/// Writes a file with a mode, making its parents.
pub fn write_file(path: &Path, data: &[u8], mode: u32) {
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(path, data).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    fs::set_permissions(path, fs::Permissions::from_mode(mode)).unwrap();
}

/// Sets a file's or folder's mtime to the nanosecond.
pub fn set_mtime(path: &Path, secs: i64, nsec: u32) {
    let t = if secs >= 0 {
        UNIX_EPOCH + Duration::new(secs as u64, nsec)
    } else {
        UNIX_EPOCH - Duration::from_secs(secs.unsigned_abs()) + Duration::from_nanos(nsec.into())
    };
    let f = File::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    f.set_modified(t)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
}

/// A recognisable mtime for item `i`: 2019, with a sub-second part (and a
/// whole second now and then, where pax omits the fraction).
pub fn mtime_for(i: u64) -> (i64, u32) {
    let secs = 1_546_300_800 + (i as i64) * 86_413;
    let nsec = if i.is_multiple_of(5) {
        0
    } else {
        ((i * 123_456_789 + 987) % 1_000_000_000) as u32
    };
    (secs, nsec)
}

/// Gives every file and folder below `root` (not symlinks: they cannot be
/// given a time without following them) a distinct sub-second mtime,
/// deepest first so that folders keep theirs.
pub fn stamp_tree(root: &Path) {
    let mut all = Vec::new();
    collect(root, &mut all);
    all.sort_by_key(|p| std::cmp::Reverse(p.components().count()));
    for (i, p) in all.iter().enumerate() {
        if !fs::symlink_metadata(p).unwrap().file_type().is_symlink() {
            let (s, n) = mtime_for(i as u64 + 1);
            set_mtime(p, s, n);
        }
    }
}

fn collect(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        out.push(p.clone());
        if fs::symlink_metadata(&p).unwrap().is_dir() {
            collect(&p, out);
        }
    }
}

// ---------------------------------------------------------------------------
// Comparing

/// What a record is: a file and its bytes, a folder, or a symlink and its
/// target.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum What {
    File(Vec<u8>),
    Dir,
    Link(Vec<u8>),
}

/// What a tree holds at one relative path: the record, its mode and its
/// mtime (seconds, nanoseconds), a symlink's own included.
#[derive(Clone, Eq)]
pub struct Node {
    pub what: What,
    pub mode: u32,
    pub mtime: (i64, u32),
}

/// The same record: the same kind and content and, for files and folders,
/// the same mode and mtime. A symlink's own mode and mtime are not compared
/// (tests that hold a reader to them read `mode` and `mtime`).
impl PartialEq for Node {
    fn eq(&self, other: &Node) -> bool {
        self.what == other.what
            && (matches!(self.what, What::Link(_))
                || (self.mode, self.mtime) == (other.mode, other.mtime))
    }
}

impl fmt::Debug for Node {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.what {
            What::File(data) => write!(
                f,
                "file of {} bytes sha256 {}",
                data.len(),
                sha256_hex(data)
            )?,
            What::Dir => write!(f, "folder")?,
            What::Link(target) => write!(f, "link -> {:?}", String::from_utf8_lossy(target))?,
        }
        write!(
            f,
            ", mode {:o}, mtime {}.{:09}",
            self.mode, self.mtime.0, self.mtime.1
        )
    }
}

/// Everything below `root`, by relative path (raw bytes).
pub fn snapshot(root: &Path) -> BTreeMap<Vec<u8>, Node> {
    let mut out = BTreeMap::new();
    snap(root, root, &mut out);
    out
}

fn snap(root: &Path, dir: &Path, out: &mut BTreeMap<Vec<u8>, Node>) {
    for e in fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let p = e.unwrap().path();
        let m = fs::symlink_metadata(&p).unwrap();
        let rel = p
            .strip_prefix(root)
            .unwrap()
            .as_os_str()
            .as_bytes()
            .to_vec();
        let what = if m.file_type().is_symlink() {
            What::Link(fs::read_link(&p).unwrap().as_os_str().as_bytes().to_vec())
        } else if m.is_dir() {
            snap(root, &p, out);
            What::Dir
        } else {
            let mut data = Vec::new();
            File::open(&p).unwrap().read_to_end(&mut data).unwrap();
            What::File(data)
        };
        out.insert(
            rel,
            Node {
                what,
                mode: m.mode() & 0o7777,
                mtime: (m.mtime(), m.mtime_nsec() as u32),
            },
        );
    }
}

/// Asserts two trees are equal, listing every difference by name.
#[track_caller]
pub fn assert_same_tree(expected: &Path, actual: &Path) {
    let (a, b) = (snapshot(expected), snapshot(actual));
    let mut diffs = Vec::new();
    for (path, node) in &a {
        let name = String::from_utf8_lossy(path);
        match b.get(path) {
            None => diffs.push(format!("missing: {name:?} ({node:?})")),
            Some(other) if other != node => diffs.push(format!(
                "differs: {name:?}\n  expected {node:?}\n  actual   {other:?}"
            )),
            Some(_) => {}
        }
    }
    for path in b.keys().filter(|p| !a.contains_key(*p)) {
        diffs.push(format!("extra: {:?}", String::from_utf8_lossy(path)));
    }
    assert!(
        diffs.is_empty(),
        "{} differs from {} in {} place(s):\n{}",
        actual.display(),
        expected.display(),
        diffs.len(),
        diffs.join("\n")
    );
}

/// Every file below `root` (following links to folders), with its
/// content: to show that a refused command changed nothing, whatever it may
/// have opened or locked.
pub fn contents(root: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut out = BTreeMap::new();
    walk(root, &mut out);
    out
}

fn walk(dir: &Path, out: &mut BTreeMap<PathBuf, Vec<u8>>) {
    for entry in fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            walk(&path, out);
        } else {
            let bytes = fs::read(&path).unwrap_or_default();
            out.insert(path, bytes);
        }
    }
}

/// What `stat` says about every entry below `root`: size, mtime, ctime and
/// inode. Any write, truncation, chmod or replacement changes it.
pub fn stat_tree(root: &Path) -> BTreeMap<PathBuf, (u64, i64, i64, i64, i64, u64)> {
    let mut out = BTreeMap::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for e in fs::read_dir(&dir).unwrap() {
            let p = e.unwrap().path();
            let m = fs::symlink_metadata(&p).unwrap();
            if m.is_dir() {
                stack.push(p.clone());
            }
            out.insert(
                p.strip_prefix(root).unwrap().to_path_buf(),
                (
                    m.len(),
                    m.mtime(),
                    m.mtime_nsec(),
                    m.ctime(),
                    m.ctime_nsec(),
                    m.ino(),
                ),
            );
        }
    }
    out
}

/// SHA-256 of every file below `root`, by relative path.
pub fn hash_tree(root: &Path) -> BTreeMap<PathBuf, String> {
    stat_tree(root)
        .into_keys()
        .filter(|rel| root.join(rel).is_file())
        .map(|rel| {
            let h = file_sha256(&root.join(&rel));
            (rel, h)
        })
        .collect()
}

pub fn sha256_hex(data: &[u8]) -> String {
    kluis::format::manifest::hex(&sha2::Sha256::digest(data))
}

/// SHA-256 of a file, hex.
pub fn file_sha256(path: &Path) -> String {
    let mut f = File::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut h = sha2::Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = f.read(&mut buf).unwrap();
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    kluis::format::manifest::hex(&h.finalize())
}

/// Whether anything at all exists at `path`, even a dangling symlink.
pub fn exists(path: &Path) -> bool {
    fs::symlink_metadata(path).is_ok()
}

/// Parses a JSON file, naming it when it does not parse.
#[track_caller]
pub fn parse_json(path: &Path) -> serde_json::Value {
    let bytes = fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_slice(&bytes).unwrap_or_else(|e| {
        panic!(
            "{} does not parse ({e}): {:?}",
            path.display(),
            String::from_utf8_lossy(&bytes)
        )
    })
}
