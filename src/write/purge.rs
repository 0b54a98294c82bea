//! `--purge-source`: moving records offline. Runs only once every copy of
//! the new archive has been written, read back from its medium and
//! verified, and the archive is recorded in the catalog; then removes from
//! the sources what the archive holds, and only that, checked first:
//!
//! - files from source folders are deleted when their size, modification
//!   time and SHA-256 are still those archived; symlinks when their target
//!   is; folders when they are empty afterwards (the source folders
//!   themselves stay);
//! - CSV and JSON Lines tables are rewritten without the archived rows
//!   (temporary file in the same folder, fsync, rename, fsync of the
//!   folder; rows appended during the rename are carried over), after checking that the rows of the year are still exactly
//!   those archived (count and SHA-256 of the member they make) and that
//!   the rewritten file holds every other row and none of the year;
//! - SQLite tables lose exactly the archived rows in one transaction
//!   ([`crate::sources::sqlite`]).
//!
//! Anything that changed since it was archived is kept and reported. A
//! crash at any point leaves each source either complete or without only
//! records that a verified archive holds.

use std::fs::{self, File, OpenOptions};
use std::io::{self, BufReader, BufWriter, Read, Seek, SeekFrom, Write};
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::error::{Error, IoContext, Result};
use crate::format::writer::Mtime;
use crate::progress::{Progress, Silent};
use crate::sources::sqlite;
use crate::sources::table::{HashSink, Origin, TablePlan, Window};
use crate::util::testpoint::pause_point;
use crate::vault::media;

/// What the purge did.
#[derive(Clone, Debug, Default, Serialize)]
pub struct PurgeReport {
    /// Files deleted, and their bytes.
    pub files: u64,
    pub bytes: u64,
    pub symlinks: u64,
    /// Folders removed because they were empty afterwards.
    pub dirs: u64,
    pub tables: Vec<TablePurge>,
    /// What was kept, and why: changed since it was archived, or could not
    /// be removed.
    pub kept: Vec<Kept>,
    /// The user asked to stop (SIGINT, SIGTERM): what was not removed yet
    /// is still in the sources (and safe in the archive).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub interrupted: bool,
}

impl PurgeReport {
    /// Whether everything archived was removed from the sources.
    pub fn complete(&self) -> bool {
        self.kept.is_empty() && !self.interrupted
    }
}

#[derive(Clone, Debug, Serialize)]
pub struct TablePurge {
    pub table: String,
    pub source: String,
    pub rows_removed: u64,
    pub rows_left: u64,
}

#[derive(Clone, Debug, Serialize)]
pub struct Kept {
    pub path: PathBuf,
    pub reason: String,
}

/// The records of source folders as they were archived, kept until the
/// purge: files with their size, mtime and SHA-256, and symlinks with their
/// target, in an anonymous temporary file (memory stays flat however many
/// files there are; it holds no content, only what the source folder shows
/// anyway); folders in memory.
pub struct FileLog {
    out: BufWriter<File>,
    dirs: Vec<PathBuf>,
    roots: Vec<PathBuf>,
}

enum Logged {
    File {
        path: PathBuf,
        size: u64,
        mtime: Mtime,
        sha256: [u8; 32],
    },
    Symlink {
        path: PathBuf,
        target: Vec<u8>,
    },
}

impl FileLog {
    /// A log for the records of `roots`, which themselves are never removed.
    pub fn new(roots: &[PathBuf]) -> Result<FileLog> {
        let file = tempfile::tempfile().at(std::env::temp_dir())?;
        Ok(FileLog {
            out: BufWriter::new(file),
            dirs: Vec::new(),
            roots: roots.to_vec(),
        })
    }

    fn put(&mut self, tag: u8, path: &Path, rest: &[u8]) -> Result<()> {
        let p = path.as_os_str().as_bytes();
        let mut entry = Vec::with_capacity(9 + p.len() + rest.len());
        entry.push(tag);
        entry.extend_from_slice(&(p.len() as u32).to_le_bytes());
        entry.extend_from_slice(p);
        entry.extend_from_slice(&(rest.len() as u32).to_le_bytes());
        entry.extend_from_slice(rest);
        self.out.write_all(&entry).at(std::env::temp_dir())
    }

    pub fn file(&mut self, path: &Path, size: u64, mtime: Mtime, sha256: &[u8; 32]) -> Result<()> {
        let mut rest = Vec::with_capacity(52);
        rest.extend_from_slice(&size.to_le_bytes());
        rest.extend_from_slice(&mtime.secs.to_le_bytes());
        rest.extend_from_slice(&mtime.nsec.to_le_bytes());
        rest.extend_from_slice(sha256);
        self.put(b'f', path, &rest)
    }

    pub fn symlink(&mut self, path: &Path, target: &[u8]) -> Result<()> {
        self.put(b'l', path, target)
    }

    pub fn dir(&mut self, path: &Path) {
        if !self.roots.iter().any(|r| r == path) {
            self.dirs.push(path.to_path_buf());
        }
    }

    fn into_reader(self) -> io::Result<(BufReader<File>, Vec<PathBuf>)> {
        let mut file = self.out.into_inner().map_err(|e| e.into_error())?;
        file.seek(SeekFrom::Start(0))?;
        Ok((BufReader::new(file), self.dirs))
    }
}

fn read_entry(r: &mut impl Read) -> io::Result<Option<Logged>> {
    let mut tag = [0u8; 1];
    match r.read_exact(&mut tag) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(None),
        Err(e) => return Err(e),
    }
    let mut field = || -> io::Result<Vec<u8>> {
        let mut len = [0u8; 4];
        r.read_exact(&mut len)?;
        let mut v = vec![0u8; u32::from_le_bytes(len) as usize];
        r.read_exact(&mut v)?;
        Ok(v)
    };
    let path = PathBuf::from(std::ffi::OsString::from_vec(field()?));
    let rest = field()?;
    Ok(Some(match tag[0] {
        b'f' if rest.len() == 52 => Logged::File {
            path,
            size: u64::from_le_bytes(rest[0..8].try_into().expect("8 bytes")),
            mtime: Mtime {
                secs: i64::from_le_bytes(rest[8..16].try_into().expect("8 bytes")),
                nsec: u32::from_le_bytes(rest[16..20].try_into().expect("4 bytes")),
            },
            sha256: rest[20..52].try_into().expect("32 bytes"),
        },
        b'l' => Logged::Symlink { path, target: rest },
        _ => {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "the purge log is damaged",
            ));
        }
    }))
}

/// Removes from the sources what the verified archive holds: the logged
/// records of source folders, and the archived rows of `tables`. Never
/// fails: what could not be removed is in the report's `kept`.
pub fn run(
    log: Option<FileLog>,
    tables: &[TablePlan],
    window: &Window,
    progress: &dyn Progress,
) -> PurgeReport {
    let mut report = PurgeReport::default();
    if let Some(log) = log {
        purge_files(log, &mut report, progress);
    }
    for plan in tables {
        if progress.interrupted() {
            report.interrupted = true;
        }
        if report.interrupted {
            break;
        }
        purge_table(plan, window, &mut report);
    }
    report
}

fn purge_files(log: FileLog, report: &mut PurgeReport, progress: &dyn Progress) {
    let (mut input, dirs) = match log.into_reader() {
        Ok(v) => v,
        Err(e) => {
            report.kept.push(Kept {
                path: std::env::temp_dir(),
                reason: format!(
                    "the list of archived files could not be read back ({e}); nothing was deleted"
                ),
            });
            return;
        }
    };
    progress.phase("removing archived files", 0);
    let mut first = true;
    loop {
        // A safe point between two files.
        if progress.interrupted() {
            report.interrupted = true;
            return;
        }
        let entry = match read_entry(&mut input) {
            Ok(Some(e)) => e,
            Ok(None) => break,
            Err(e) => {
                report.kept.push(Kept {
                    path: std::env::temp_dir(),
                    reason: format!("the list of archived files could not be read back ({e}); the rest was not deleted"),
                });
                return;
            }
        };
        let (path, outcome) = match entry {
            Logged::File {
                path,
                size,
                mtime,
                sha256,
            } => {
                let outcome = match file_changed(&path, size, mtime, &sha256) {
                    Ok(None) => fs::remove_file(&path).map_err(|e| e.to_string()).map(|()| {
                        report.files += 1;
                        report.bytes += size;
                    }),
                    Ok(Some(reason)) => Err(reason),
                    // Already gone: nothing left to remove.
                    Err(Error::Io { source, .. }) if source.kind() == io::ErrorKind::NotFound => {
                        continue;
                    }
                    Err(e) => Err(e.to_string()),
                };
                (path, outcome)
            }
            Logged::Symlink { path, target } => {
                let outcome = match fs::read_link(&path) {
                    Ok(t) if t.as_os_str().as_bytes() == target => {
                        fs::remove_file(&path).map_err(|e| e.to_string()).map(|()| {
                            report.symlinks += 1;
                        })
                    }
                    Ok(_) => Err("its target changed since it was archived".into()),
                    Err(e) => Err(e.to_string()),
                };
                (path, outcome)
            }
        };
        match outcome {
            Ok(()) if first => {
                first = false;
                pause_point("purge-files");
            }
            Ok(()) => {}
            Err(reason) => report.kept.push(Kept { path, reason }),
        }
    }
    // Contents before their folders: the reverse of the walk's order.
    for dir in dirs.iter().rev() {
        match fs::remove_dir(dir) {
            Ok(()) => report.dirs += 1,
            // Something not archived (or kept) is still in it.
            Err(e) if e.kind() == io::ErrorKind::DirectoryNotEmpty => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => report.kept.push(Kept {
                path: dir.clone(),
                reason: e.to_string(),
            }),
        }
    }
}

/// `None` when the file is still exactly what was archived, else why not.
fn file_changed(path: &Path, size: u64, mtime: Mtime, sha256: &[u8; 32]) -> Result<Option<String>> {
    let meta = fs::symlink_metadata(path).at(path)?;
    if !meta.is_file() {
        return Ok(Some("it is no longer a regular file".into()));
    }
    if meta.len() != size {
        return Ok(Some(format!(
            "its size changed since it was archived ({size} → {} bytes)",
            meta.len()
        )));
    }
    let now = Mtime {
        secs: meta.mtime(),
        nsec: meta.mtime_nsec() as u32,
    };
    if now != mtime {
        return Ok(Some("it was modified since it was archived".into()));
    }
    let (_, hash) = media::hash_file(path)?;
    if &hash != sha256 {
        return Ok(Some("its content changed since it was archived".into()));
    }
    Ok(None)
}

fn purge_table(plan: &TablePlan, window: &Window, report: &mut PurgeReport) {
    let spec = &plan.spec;
    let counts = &plan.filtered.counts;
    let outcome = if counts.archived == 0 {
        Ok(Ok(counts.rows))
    } else {
        match &spec.origin {
            Origin::Csv(path) | Origin::Jsonl(path) => rewrite(plan, path, window),
            Origin::Sqlite { db, table } => sqlite::purge(spec, db, table, window, counts),
        }
    };
    match outcome {
        Ok(Ok(left)) => report.tables.push(TablePurge {
            table: spec.name.clone(),
            source: spec.origin.to_string(),
            rows_removed: counts.archived,
            rows_left: left,
        }),
        Ok(Err(reason)) => report.kept.push(Kept {
            path: spec.path().into(),
            reason: format!("table {}: {reason}", spec.name),
        }),
        Err(e) => report.kept.push(Kept {
            path: spec.path().into(),
            reason: format!("table {}: {e}; nothing was changed", spec.name),
        }),
    }
}

/// Rewrites a CSV or JSON Lines file without the archived rows. `Ok(Ok(n))`:
/// done, `n` rows left; `Ok(Err(reason))`: the file was left as it was.
fn rewrite(
    plan: &TablePlan,
    path: &Path,
    window: &Window,
) -> Result<std::result::Result<u64, String>> {
    let real = path.canonicalize().at(path)?;
    // Held open across the rename: rows appended to it after the last check
    // are found there and carried over (see `carry_over`).
    let original = File::open(&real).at(&real)?;
    let before = original.metadata().at(&real)?;
    if before.nlink() > 1 {
        return Ok(Err(
            "it has other hard links, which would keep the archived rows; nothing was changed"
                .into(),
        ));
    }
    let dir = real.parent().unwrap_or(Path::new("/")).to_path_buf();
    let name = real
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let temp = dir.join(media::temp_name(&name));
    let result = (|| -> Result<std::result::Result<u64, String>> {
        let file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&temp)
            .at(&temp)?;
        file.set_permissions(before.permissions()).at(&temp)?;
        // Best effort: keeps the owner when we may (as root).
        let _ = std::os::unix::fs::fchown(&file, Some(before.uid()), Some(before.gid()));
        let mut out = BufWriter::with_capacity(256 << 10, file);
        let mut member = HashSink::default();
        let now = plan
            .spec
            .filter(window, &mut member, Some(&mut out), &Silent)?;
        let archived = &plan.filtered.counts;
        if now.counts.archived != archived.archived
            || now.counts.size != archived.size
            || now.counts.sha256 != archived.sha256
        {
            return Ok(Err(format!(
                "its rows of fiscal year {} changed since they were archived; nothing was changed",
                window.year
            )));
        }
        let file = out
            .into_inner()
            .map_err(|e| Error::io(&temp, e.into_error()))?;
        file.sync_all().at(&temp)?;
        drop(file);
        let left = now.counts.rows - now.counts.archived;
        if !plan.spec.check_rewritten(&temp, window, left)? {
            return Ok(Err(
                "the rewritten file did not hold exactly the other rows; nothing was changed"
                    .into(),
            ));
        }
        let after = fs::metadata(&real).at(&real)?;
        if after.len() != before.len()
            || after.modified().ok() != before.modified().ok()
            || (after.dev(), after.ino()) != (before.dev(), before.ino())
        {
            return Ok(Err(
                "it changed while it was being rewritten; nothing was changed".into(),
            ));
        }
        pause_point("purge-table-rewritten");
        fs::rename(&temp, &real).at(&real)?;
        media::sync_dir(&dir)?;
        match carry_over(&original, &before, &real)? {
            Carried::Appended => Ok(Ok(left)),
            Carried::Changed(kept) => Ok(Err(format!(
                "it changed while the purge replaced it: the archived rows are gone from it, and the file as it was when it changed is kept as {}; compare the two",
                kept.display()
            ))),
        }
    })();
    if !matches!(result, Ok(Ok(_))) {
        let _ = fs::remove_file(&temp);
    }
    result
}

enum Carried {
    /// Nothing, or only appended bytes, which are now in the source too.
    Appended,
    /// Changed otherwise; kept whole at this path.
    Changed(PathBuf),
}

/// After the rename: bytes appended to the replaced file between the purge's
/// last check and the rename went to that file, not to the new one. They are
/// copied onto the end of the new file (with `O_APPEND`, so writers already
/// appending to it lose nothing), until the replaced file stops growing. A
/// replaced file that changed other than by growing is copied whole to a
/// visible file beside the source.
///
/// The limit: a writer that opened the source before the rename and writes
/// to it only after this last look writes into the replaced file, which is
/// then gone (docs/TABLES.md, "Purging a table that is being written").
fn carry_over(original: &File, before: &fs::Metadata, real: &Path) -> Result<Carried> {
    use std::os::unix::fs::FileExt;
    let same_time =
        |m: &fs::Metadata| (m.mtime(), m.mtime_nsec()) == (before.mtime(), before.mtime_nsec());
    let mut copied = before.len();
    let mut out: Option<File> = None;
    let mut buf = vec![0u8; 256 << 10];
    loop {
        let now = original.metadata().at(real)?;
        let in_place = now.len() < copied || (now.len() == before.len() && !same_time(&now));
        if in_place {
            let name = real
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            let kept = real.with_file_name(format!("{name}.before-purge-{}", std::process::id()));
            let mut file = OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&kept)
                .at(&kept)?;
            let mut from = original;
            from.seek(SeekFrom::Start(0)).at(real)?;
            io::copy(&mut from, &mut file).at(&kept)?;
            file.sync_all().at(&kept)?;
            return Ok(Carried::Changed(kept));
        }
        if now.len() == copied {
            break;
        }
        let out = match &mut out {
            Some(f) => f,
            None => out.insert(OpenOptions::new().append(true).open(real).at(real)?),
        };
        let want = buf.len().min((now.len() - copied) as usize);
        let n = original.read_at(&mut buf[..want], copied).at(real)?;
        if n == 0 {
            break;
        }
        out.write_all(&buf[..n]).at(real)?;
        copied += n as u64;
    }
    if let Some(f) = out {
        f.sync_all().at(real)?;
    }
    Ok(Carried::Appended)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_round_trips_and_purges_only_unchanged_files() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("src");
        fs::create_dir_all(root.join("sub")).unwrap();
        let (a, b, link) = (root.join("sub/a"), root.join("b"), root.join("l"));
        fs::write(&a, "aaa").unwrap();
        fs::write(&b, "bbb").unwrap();
        std::os::unix::fs::symlink("b", &link).unwrap();
        let mut log = FileLog::new(std::slice::from_ref(&root)).unwrap();
        log.dir(&root);
        log.dir(&root.join("sub"));
        for p in [&a, &b] {
            let m = fs::metadata(p).unwrap();
            let (size, hash) = media::hash_file(p).unwrap();
            let mtime = Mtime {
                secs: m.mtime(),
                nsec: m.mtime_nsec() as u32,
            };
            log.file(p, size, mtime, &hash).unwrap();
        }
        log.symlink(&link, b"b").unwrap();
        // b changes (same size) after it was archived.
        fs::write(&b, "BBB").unwrap();
        let report = run(
            Some(log),
            &[],
            &Window::new(2019, crate::retention::FiscalYearStart::JANUARY_1),
            &Silent,
        );
        assert_eq!((report.files, report.symlinks, report.dirs), (1, 1, 1));
        assert!(!a.exists() && !root.join("sub").exists() && !link.exists());
        assert!(b.exists() && root.exists());
        assert_eq!(report.kept.len(), 1);
        assert_eq!(report.kept[0].path, b);
    }
}
