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
use std::io::{self, BufWriter, Seek, SeekFrom, Write};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::error::{Error, IoContext, Result};
use crate::format::writer::Mtime;
use crate::progress::{Progress, Silent};
use crate::sources::sqlite;
use crate::sources::table::{Counts, HashSink, Origin, TableSpec, Window};
use crate::util::testpoint::pause_point;
use crate::vault::{Vault, media, readback};

mod journal;

use crate::sources::db::purge::PlannedDb;
use journal::Logged;
pub use journal::{FOLDER, FileLog, Journal, Plan, PlannedTable};

/// The row journal's file name in a purge journal.
pub fn journal_rows_file() -> &'static str {
    journal::ROWS
}

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
    /// Live databases: the purge's transactions (chunks) and the longest.
    #[serde(skip_serializing_if = "is_zero")]
    pub chunks: u64,
    #[serde(skip_serializing_if = "is_zero_f")]
    pub longest_chunk_ms: f64,
    #[serde(skip_serializing_if = "is_zero_f")]
    pub chunk_p99_ms: f64,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

fn is_zero_f(n: &f64) -> bool {
    *n == 0.0
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
    /// Kept because it could not be removed (not because it changed): a
    /// later `kluis purge` may succeed.
    #[serde(skip)]
    pub retry: bool,
}

/// Removes from the sources what the verified archive holds: the journal's
/// records of source folders, and the archived rows of its tables. Never
/// fails: what could not be removed is in the report's `kept`. The journal
/// goes once nothing is left to do; it stays when the purge was interrupted
/// or something could not be removed for a reason a later run may not
/// meet (`kluis purge FILE` finishes then).
pub fn run(journal: Journal, progress: &dyn Progress) -> PurgeReport {
    let mut report = PurgeReport::default();
    purge_files(&journal, &mut report, progress);
    let window = journal.plan.window();
    for table in &journal.plan.tables {
        if progress.interrupted() {
            report.interrupted = true;
        }
        if report.interrupted {
            break;
        }
        purge_table(table, &window, &mut report);
    }
    for db in &journal.plan.databases {
        if progress.interrupted() {
            report.interrupted = true;
        }
        if report.interrupted {
            break;
        }
        purge_database(db, &journal.dir, &mut report, progress);
    }
    if !report.interrupted && report.kept.iter().all(|k| !k.retry) {
        let dir = journal.dir.clone();
        if let Err(e) = journal.remove() {
            report.kept.push(Kept {
                path: dir,
                reason: format!("the purge is done, but its journal could not be removed ({e})"),
                retry: true,
            });
        }
    }
    report
}

/// `kluis purge FILE`: finishes the purge of archive `file` from its
/// journal, once the catalog confirms the archive is recorded and no copy
/// of it has failed a check since.
pub fn finish(vault: &Vault, file: &str, progress: &dyn Progress) -> Result<PurgeReport> {
    let _lock = vault.lock()?;
    let Some(journal) = Journal::open(&vault.dir, file)? else {
        let pending: Vec<String> = Journal::pending(&vault.dir)?
            .into_iter()
            .map(|j| j.plan.file)
            .collect();
        return Err(Error::Usage(match pending.is_empty() {
            true => format!(
                "no purge of {file} is unfinished: nothing to do (no purge of any archive is)"
            ),
            false => format!(
                "no purge of {file} is unfinished: nothing to do (unfinished: {})",
                pending.join(", ")
            ),
        }));
    };
    let catalog = vault.catalog()?;
    let Some(archive) = catalog
        .archives
        .iter()
        .find(|a| a.archive_id == journal.plan.archive_id)
    else {
        // The run that wrote it was cut off before it recorded the archive:
        // nothing was removed, and nothing may be.
        let _ = journal.remove();
        return Err(Error::Usage(format!(
            "{file} is not recorded in this vault's catalog (the archive run was cut off before it recorded it), so nothing was removed from its sources; archive the year again"
        )));
    };
    let live: Vec<_> = archive
        .copies
        .iter()
        .filter(|c| c.destroyed.is_none())
        .collect();
    if live.is_empty() {
        return Err(Error::Usage(format!(
            "every copy of {file} has been destroyed: its records must not leave the sources now; nothing was removed"
        )));
    }
    if let Some(bad) = live.iter().find(|c| {
        c.last_result
            .as_deref()
            .is_some_and(|r| !r.starts_with("ok"))
    }) {
        return Err(Error::Usage(format!(
            "the copy of {file} on {} failed its last check ({}): nothing was removed; repair or verify it (`kluis verify`), then run the purge again",
            bad.medium,
            bad.last_result.as_deref().unwrap_or("")
        )));
    }
    Ok(run(journal, progress))
}

fn purge_files(journal: &Journal, report: &mut PurgeReport, progress: &dyn Progress) {
    let mut input = match journal.entries() {
        Ok(v) => v,
        Err(e) => {
            report.kept.push(Kept {
                path: journal.dir.clone(),
                reason: format!(
                    "the list of archived files could not be read back ({e}); nothing was deleted"
                ),
                retry: true,
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
        let entry = match input.next_entry() {
            Ok(Some(e)) => e,
            Ok(None) => break,
            Err(e) => {
                report.kept.push(Kept {
                    path: journal.dir.clone(),
                    reason: format!("the list of archived files could not be read back ({e}); the rest was not deleted"),
                    retry: true,
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
                    Ok(None) => fs::remove_file(&path).map_err(Failed::Error).map(|()| {
                        report.files += 1;
                        report.bytes += size;
                    }),
                    Ok(Some(reason)) => Err(Failed::Changed(reason)),
                    // Already gone (an earlier run's purge, say): nothing
                    // left to remove.
                    Err(Error::Io { source, .. }) if source.kind() == io::ErrorKind::NotFound => {
                        continue;
                    }
                    Err(e) => Err(Failed::Other(e.to_string())),
                };
                (path, outcome)
            }
            Logged::Symlink { path, target } => {
                let outcome = match fs::read_link(&path) {
                    Ok(t) if t.as_os_str().as_bytes() == target => {
                        fs::remove_file(&path).map_err(Failed::Error).map(|()| {
                            report.symlinks += 1;
                        })
                    }
                    Ok(_) => Err(Failed::Changed(
                        "its target changed since it was archived".into(),
                    )),
                    Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
                    Err(e) => Err(Failed::Error(e)),
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
            Err(Failed::Changed(reason)) => report.kept.push(Kept {
                path,
                reason,
                retry: false,
            }),
            Err(Failed::Error(e)) => report.kept.push(Kept {
                path,
                reason: e.to_string(),
                retry: true,
            }),
            Err(Failed::Other(reason)) => report.kept.push(Kept {
                path,
                reason,
                retry: true,
            }),
        }
    }
    // Contents before their folders: the reverse of the walk's order.
    for dir in journal.plan.dirs.iter().rev() {
        match fs::remove_dir(dir) {
            Ok(()) => report.dirs += 1,
            // Something not archived (or kept) is still in it.
            Err(e) if e.kind() == io::ErrorKind::DirectoryNotEmpty => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => report.kept.push(Kept {
                path: dir.clone(),
                reason: e.to_string(),
                retry: true,
            }),
        }
    }
}

/// The archived rows of a live database (`crate::sources::db::purge`).
fn purge_database(db: &PlannedDb, dir: &Path, report: &mut PurgeReport, progress: &dyn Progress) {
    progress.phase(&format!("removing archived rows from {}", db.name), 0);
    let done = crate::sources::db::purge::run(db, dir, progress);
    for (table, removed, left) in &done.tables {
        report.tables.push(TablePurge {
            table: format!("{}.{table}", db.name),
            source: db.target.url.clone(),
            rows_removed: *removed,
            rows_left: *left,
        });
    }
    for (table, keys) in &done.changed {
        let shown: Vec<&str> = keys.iter().take(10).map(String::as_str).collect();
        let more = match keys.len() > shown.len() {
            true => format!(" and {} more", keys.len() - shown.len()),
            false => String::new(),
        };
        report.kept.push(Kept {
            path: PathBuf::from(format!("{}#{table}", db.target.url)),
            reason: format!(
                "{} rows of table {table} (or rows related to them) changed since they were archived (keys {}{more}); they stay in the database, and the archive holds them as they were",
                keys.len(),
                shown.join(", ")
            ),
            retry: false,
        });
    }
    if let Some(why) = done.stopped {
        report.kept.push(Kept {
            path: PathBuf::from(&db.target.url),
            reason: format!(
                "the purge stopped: {why}; the rows not yet deleted are still in the database"
            ),
            retry: true,
        });
    }
    report.interrupted |= done.interrupted;
    report.chunks += done.chunks;
    let mut ms: Vec<f64> = done
        .chunk_times
        .iter()
        .map(|d| d.as_secs_f64() * 1000.0)
        .collect();
    ms.sort_by(f64::total_cmp);
    if let Some(longest) = ms.last() {
        report.longest_chunk_ms = report.longest_chunk_ms.max(*longest);
        // The 99th percentile of this database's chunk transactions.
        let p99 = ms[((ms.len() as f64 * 0.99).ceil() as usize).clamp(1, ms.len()) - 1];
        report.chunk_p99_ms = report.chunk_p99_ms.max(p99);
    }
}

/// Why a record stayed in its source.
enum Failed {
    /// It is no longer what was archived: kept for good.
    Changed(String),
    /// It could not be removed: a later run may.
    Error(io::Error),
    Other(String),
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
    let (_, hash) = readback::hash_file(path)?;
    if &hash != sha256 {
        return Ok(Some("its content changed since it was archived".into()));
    }
    Ok(None)
}

fn purge_table(table: &PlannedTable, window: &Window, report: &mut PurgeReport) {
    let (spec, counts) = (&table.spec, &table.counts);
    let outcome = if counts.archived == 0 {
        Ok(Ok((0, counts.rows)))
    } else {
        match &spec.origin {
            Origin::Csv(path) | Origin::Jsonl(path) => rewrite(spec, counts, path, window),
            Origin::Sqlite { db, table } => sqlite::purge(spec, db, table, window, counts),
        }
    };
    match outcome {
        Ok(Ok((removed, left))) => report.tables.push(TablePurge {
            table: spec.name.clone(),
            source: table.source.clone(),
            rows_removed: removed,
            rows_left: left,
        }),
        Ok(Err(reason)) => report.kept.push(Kept {
            path: spec.path().into(),
            reason: format!("table {}: {reason}", spec.name),
            retry: false,
        }),
        Err(e) => report.kept.push(Kept {
            path: spec.path().into(),
            reason: format!("table {}: {e}; nothing was changed", spec.name),
            retry: true,
        }),
    }
}

/// Rewrites a CSV or JSON Lines file without the archived rows.
/// `Ok(Ok((removed, left)))`: done; `Ok(Err(reason))`: the file was left
/// as it was.
fn rewrite(
    spec: &TableSpec,
    archived: &Counts,
    path: &Path,
    window: &Window,
) -> Result<std::result::Result<(u64, u64), String>> {
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
    remove_stale_copies(&dir, &name);
    let temp = dir.join(media::temp_name(&name));
    let mut created = false;
    let result = (|| -> Result<std::result::Result<(u64, u64), String>> {
        let file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&temp)
            .at(&temp)?;
        created = true;
        file.set_permissions(before.permissions()).at(&temp)?;
        // Best effort: keeps the owner when we may (as root).
        let _ = std::os::unix::fs::fchown(&file, Some(before.uid()), Some(before.gid()));
        let mut out = BufWriter::with_capacity(256 << 10, file);
        let mut member = HashSink::default();
        let now = spec.filter(window, &mut member, Some(&mut out), &Silent)?;
        if now.counts.archived == 0 {
            // An earlier purge removed them (or they went otherwise): nothing
            // of the year is left to remove.
            return Ok(Ok((0, now.counts.rows)));
        }
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
        if !spec.check_rewritten(&temp, window, left)? {
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
            Carried::Appended => Ok(Ok((now.counts.archived, left))),
            Carried::Changed(kept) => Ok(Err(format!(
                "it changed while the purge replaced it: the archived rows are gone from it, and the file as it was when it changed is kept as {}; compare the two",
                kept.display()
            ))),
        }
    })();
    // Renamed into place when the purge went through; else (or when nothing
    // was left to remove) it goes.
    if created {
        let _ = fs::remove_file(&temp);
    }
    result
}

/// Removes the temporary copies of table `name` that a purge killed while
/// it rewrote the table left beside it (`.NAME.tmp-XXXXXXXX`, kluis's own
/// naming and no other; the vault's lock, which the purge holds, proves no
/// other purge is writing one).
fn remove_stale_copies(dir: &Path, name: &str) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    let prefix = format!(".{name}.tmp-");
    for entry in entries.flatten() {
        let file = entry.file_name().to_string_lossy().into_owned();
        if file.starts_with(&prefix)
            && media::is_own_temp_name(&file)
            && entry.file_type().is_ok_and(|t| t.is_file())
        {
            let _ = fs::remove_file(entry.path());
        }
    }
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
        let vault = dir.path().join("vault");
        fs::create_dir(&vault).unwrap();
        let mut log =
            FileLog::create(&vault, "2019-financial.kluis", std::slice::from_ref(&root)).unwrap();
        log.dir(&root);
        log.dir(&root.join("sub"));
        for p in [&a, &b] {
            let m = fs::metadata(p).unwrap();
            let (size, hash) = readback::hash_file(p).unwrap();
            let mtime = Mtime {
                secs: m.mtime(),
                nsec: m.mtime_nsec() as u32,
            };
            log.file(p, size, mtime, &hash).unwrap();
        }
        log.symlink(&link, b"b").unwrap();
        // b changes (same size) after it was archived.
        fs::write(&b, "BBB").unwrap();
        let window = Window::new(2019, crate::retention::FiscalYearStart::JANUARY_1);
        let journal = log
            .seal(
                "id",
                "2019-financial.kluis",
                &window,
                Vec::new(),
                Vec::new(),
            )
            .unwrap();
        assert_eq!(Journal::pending(&vault).unwrap().len(), 1);
        let report = run(journal, &Silent);
        assert_eq!((report.files, report.symlinks, report.dirs), (1, 1, 1));
        assert!(!a.exists() && !root.join("sub").exists() && !link.exists());
        assert!(b.exists() && root.exists());
        assert_eq!(report.kept.len(), 1);
        assert_eq!(report.kept[0].path, b);
        // Only a changed file was kept: nothing is left to finish.
        assert!(Journal::pending(&vault).unwrap().is_empty());
    }

    #[test]
    fn a_journal_dropped_unsealed_removes_itself_and_a_rerun_passes_over_what_is_gone() {
        let dir = tempfile::tempdir().unwrap();
        let vault = dir.path().join("vault");
        fs::create_dir(&vault).unwrap();
        let root = dir.path().join("src");
        fs::create_dir(&root).unwrap();
        drop(FileLog::create(&vault, "x.kluis", std::slice::from_ref(&root)).unwrap());
        assert_eq!(fs::read_dir(vault.join(FOLDER)).unwrap().count(), 0);

        let a = root.join("a");
        fs::write(&a, "aaa").unwrap();
        let mut log = FileLog::create(&vault, "x.kluis", std::slice::from_ref(&root)).unwrap();
        let m = fs::metadata(&a).unwrap();
        let (size, hash) = readback::hash_file(&a).unwrap();
        log.file(&a, size, Mtime::from_system(m.modified().unwrap()), &hash)
            .unwrap();
        let window = Window::new(2019, crate::retention::FiscalYearStart::JANUARY_1);
        let journal = log
            .seal("id", "x.kluis", &window, Vec::new(), Vec::new())
            .unwrap();
        // A purge that stopped after removing the file (killed, say).
        fs::remove_file(&a).unwrap();
        let report = run(journal, &Silent);
        assert!(report.complete() && report.files == 0, "{report:?}");
        assert!(Journal::pending(&vault).unwrap().is_empty());
    }
}
