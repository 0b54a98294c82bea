//! The purge journal, `VAULT/purges/FILE/`: what an archive run with
//! `--purge-source` took from its sources, kept from the moment its copies
//! are verified until every archived record has left the sources. A purge
//! cut short (Ctrl-C, a crash, a file that could not be removed) is
//! finished by `kluis purge FILE`, from the journal alone: no key, no
//! medium. Every record is checked against its entry again before it is
//! removed, and records already gone are passed over, so running the purge
//! twice, or after a crash at any point, removes nothing the archive does
//! not hold.
//!
//! The folder holds `plan.json` ([`Plan`]: the archive, the fiscal year,
//! the source folders and the tables with the counts and SHA-256 of their
//! archived rows) and `files` (one entry per archived file or symlink; the
//! format is private to this module). It is written as
//! `.FILE.tmp-XXXXXXXX` while the archive is written, and renamed into
//! place, after fsync, once every copy is verified and before the archive
//! is recorded. It holds names, sizes, times and SHA-256s of the sources'
//! records (what the source folders show anyway), never their content.

use std::fs::{self, File, OpenOptions};
use std::io::{self, BufReader, BufWriter, Read, Write};
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{Error, IoContext, Result};
use crate::format::writer::Mtime;
use crate::retention::FiscalYearStart;
use crate::sources::db::purge::{PlannedDb, RowJournal};
use crate::sources::table::{Counts, Origin, TableSpec, Window};
use crate::vault::media;

/// The vault's folder of journals.
pub const FOLDER: &str = "purges";

const PLAN: &str = "plan.json";
const FILES: &str = "files";
/// The row journal of live databases (SQLite).
pub const ROWS: &str = "rows.sqlite";

/// What one archive run is to remove from its sources.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Plan {
    pub archive_id: String,
    /// The archive's file name, which also names the journal.
    pub file: String,
    pub fiscal_year: i32,
    pub fiscal_year_start: FiscalYearStart,
    /// The source folders given: never removed themselves.
    pub roots: Vec<PathBuf>,
    /// The folders below them, in the walk's order: removed when they are
    /// empty afterwards.
    pub dirs: Vec<PathBuf>,
    /// The tables, each with what its archived rows were.
    pub tables: Vec<PlannedTable>,
    /// Live databases: their archived rows are in the row journal.
    #[serde(default)]
    pub databases: Vec<PlannedDb>,
}

impl Plan {
    pub fn window(&self) -> Window {
        Window::new(self.fiscal_year, self.fiscal_year_start)
    }
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct PlannedTable {
    /// The table, its file made absolute: the purge may be finished from
    /// another working directory.
    pub spec: TableSpec,
    /// The source as the user named it, for the report.
    pub source: String,
    /// What its archived rows were.
    pub counts: Counts,
}

impl PlannedTable {
    pub fn new(spec: &TableSpec, counts: &Counts) -> PlannedTable {
        let mut spec = spec.clone();
        let source = spec.origin.to_string();
        match &mut spec.origin {
            Origin::Csv(p) | Origin::Jsonl(p) | Origin::Sqlite { db: p, .. } => *p = absolute(p),
        }
        PlannedTable {
            spec,
            source,
            counts: counts.clone(),
        }
    }
}

/// One archived record of a source folder.
pub(super) enum Logged {
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

fn folder(vault: &Path) -> PathBuf {
    vault.join(FOLDER)
}

/// The journal being written by an archive run: the records of source
/// folders as they were archived, appended as they are read (memory stays
/// flat however many files there are), folders in memory. Dropped without
/// [`FileLog::seal`], it removes itself.
pub struct FileLog {
    temp: PathBuf,
    out: Option<BufWriter<File>>,
    rows: Option<RowJournal>,
    dirs: Vec<PathBuf>,
    roots: Vec<PathBuf>,
}

impl FileLog {
    /// Starts the journal of `file` in `vault`, for the records of `roots`.
    /// The caller holds the vault's lock: journals of runs that ended
    /// without sealing theirs (killed) are removed first.
    pub fn create(vault: &Path, file: &str, roots: &[PathBuf]) -> Result<FileLog> {
        let dir = folder(vault);
        match fs::DirBuilder::new().mode(0o700).create(&dir) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(Error::io(&dir, e)),
        }
        for entry in fs::read_dir(&dir).at(&dir)? {
            let entry = entry.at(&dir)?;
            let name = entry.file_name().to_string_lossy().into_owned();
            if media::is_own_temp_name(&name) {
                let _ = fs::remove_dir_all(entry.path());
            }
        }
        let temp = dir.join(media::temp_name(file));
        fs::DirBuilder::new().mode(0o700).create(&temp).at(&temp)?;
        let out = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(temp.join(FILES))
            .at(&temp)?;
        Ok(FileLog {
            out: Some(BufWriter::with_capacity(64 << 10, out)),
            rows: None,
            dirs: Vec::new(),
            roots: roots.iter().map(|r| absolute(r)).collect(),
            temp,
        })
    }

    fn put(&mut self, tag: u8, path: &Path, rest: &[u8]) -> Result<()> {
        let path = absolute(path);
        let p = path.as_os_str().as_bytes();
        let mut entry = Vec::with_capacity(9 + p.len() + rest.len());
        entry.push(tag);
        entry.extend_from_slice(&(p.len() as u32).to_le_bytes());
        entry.extend_from_slice(p);
        entry.extend_from_slice(&(rest.len() as u32).to_le_bytes());
        entry.extend_from_slice(rest);
        let out = self.out.as_mut().expect("an unsealed journal");
        out.write_all(&entry).at(&self.temp)
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

    /// The journal of archived database rows ([`ROWS`]), made on first use.
    pub fn rows(&mut self) -> Result<&mut RowJournal> {
        if self.rows.is_none() {
            self.rows = Some(RowJournal::create(&self.temp.join(ROWS))?);
        }
        Ok(self.rows.as_mut().expect("made above"))
    }

    pub fn dir(&mut self, path: &Path) {
        let path = absolute(path);
        if !self.roots.contains(&path) {
            self.dirs.push(path);
        }
    }

    /// Completes the journal (fsync) and puts it in place under the
    /// archive's file name, replacing one left by a run whose archive was
    /// never recorded (the catalog holds no archive of that name, or this
    /// run would have chosen another).
    pub fn seal(
        mut self,
        archive_id: &str,
        file: &str,
        window: &Window,
        tables: Vec<PlannedTable>,
        databases: Vec<PlannedDb>,
    ) -> Result<Journal> {
        if let Some(rows) = self.rows.take() {
            rows.finish()?;
        }
        let out = self.out.take().expect("an unsealed journal");
        let files = out
            .into_inner()
            .map_err(|e| Error::io(&self.temp, e.into_error()))?;
        files.sync_all().at(&self.temp)?;
        let plan = Plan {
            archive_id: archive_id.to_owned(),
            file: file.to_owned(),
            fiscal_year: window.year,
            fiscal_year_start: window.start(),
            roots: std::mem::take(&mut self.roots),
            dirs: std::mem::take(&mut self.dirs),
            tables,
            databases,
        };
        let path = self.temp.join(PLAN);
        let mut f = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&path)
            .at(&path)?;
        serde_json::to_writer(&mut f, &plan).map_err(|e| Error::io(&path, e.into()))?;
        f.sync_all().at(&path)?;
        media::sync_dir(&self.temp)?;
        let dir = self
            .temp
            .parent()
            .expect("in the journals' folder")
            .to_path_buf();
        let done = dir.join(file);
        if done.exists() {
            fs::remove_dir_all(&done).at(&done)?;
        }
        fs::rename(&self.temp, &done).at(&done)?;
        media::sync_dir(&dir)?;
        Ok(Journal { dir: done, plan })
    }
}

impl Drop for FileLog {
    fn drop(&mut self) {
        if self.out.is_some() {
            drop(self.rows.take());
            let _ = fs::remove_dir_all(&self.temp);
        }
    }
}

/// A sealed journal: an archive's purge not finished yet.
#[derive(Debug)]
pub struct Journal {
    pub dir: PathBuf,
    pub plan: Plan,
}

impl Journal {
    /// The journal of archive `file`, if its purge is unfinished.
    pub fn open(vault: &Path, file: &str) -> Result<Option<Journal>> {
        if file.is_empty() || file.starts_with('.') || file.contains('/') {
            return Ok(None);
        }
        let dir = folder(vault).join(file);
        let path = dir.join(PLAN);
        let text = match fs::read(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(Error::io(&path, e)),
        };
        let plan: Plan = serde_json::from_slice(&text).map_err(|e| {
            Error::io(
                &path,
                io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!("the purge journal is damaged ({e})"),
                ),
            )
        })?;
        Ok(Some(Journal { dir, plan }))
    }

    /// Every unfinished purge of the vault, by file name.
    pub fn pending(vault: &Path) -> Result<Vec<Journal>> {
        let dir = folder(vault);
        let entries = match fs::read_dir(&dir) {
            Ok(e) => e,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(Error::io(&dir, e)),
        };
        let mut names = Vec::new();
        for entry in entries {
            let name = entry.at(&dir)?.file_name().to_string_lossy().into_owned();
            if !name.starts_with('.') {
                names.push(name);
            }
        }
        names.sort();
        let mut out = Vec::new();
        for name in names {
            out.extend(Journal::open(vault, &name)?);
        }
        Ok(out)
    }

    /// The archived records of source folders, in the order they were read.
    pub(super) fn entries(&self) -> Result<Entries> {
        let path = self.dir.join(FILES);
        let file = File::open(&path).at(&path)?;
        Ok(Entries {
            input: BufReader::new(file),
        })
    }

    /// The purge is finished: the journal goes.
    pub fn remove(self) -> Result<()> {
        fs::remove_dir_all(&self.dir).at(&self.dir)?;
        if let Some(parent) = self.dir.parent() {
            media::sync_dir(parent)?;
        }
        Ok(())
    }
}

pub(super) struct Entries {
    input: BufReader<File>,
}

impl Entries {
    pub(super) fn next_entry(&mut self) -> io::Result<Option<Logged>> {
        let r = &mut self.input;
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
                    "the purge journal is damaged",
                ));
            }
        }))
    }
}

/// `path` made absolute against the working directory (without resolving
/// symlinks): the journal is read by a later run, from anywhere.
fn absolute(path: &Path) -> PathBuf {
    std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf())
}
