//! Deleting exactly the archived rows of a live database, and nothing
//! else. The export wrote each archived row's key (and a child's parent
//! key) and a keyed hash of the whole row into a journal (an SQLite file in
//! the vault's purge journal: flat memory, lookups by key). The purge walks
//! the root rows of the journal in chunks; per chunk, in one transaction:
//!
//! 1. `SELECT … FOR UPDATE` the chunk's root rows by key and their child
//!    rows by parent key, so nothing changes under the purge;
//! 2. re-hash every row: a root row that changed, or any of whose child
//!    rows changed, is new since the export, or moved to it, is kept with
//!    its whole family and reported (the archive holds its old form);
//!    rows already gone (an earlier purge, the application) are passed over;
//! 3. delete the children, then the roots, by key list, and check that each
//!    delete removed exactly that many rows; else roll back and stop;
//! 4. commit.
//!
//! Locks are held for one chunk only. A purge cut short is finished by
//! running it again: what was deleted is gone from the database and is
//! passed over.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use rusqlite::{OptionalExtension, params};
use serde::{Deserialize, Serialize};

use super::conn::{self, Conn, Target};
use super::{DbTable, row_hash, select_list};
use crate::error::{Error, Result};
use crate::progress::Progress;
use crate::util::testpoint::pause_point;

/// Root rows per chunk at most; the chunk size adapts below it so that a
/// chunk's transaction (and the locks it holds) takes about
/// [`CHUNK_TARGET`].
pub const CHUNK: usize = 1000;
/// The first chunk's root rows: small, since nothing is known yet about
/// how fast the server deletes.
const CHUNK_FIRST: usize = 50;
const CHUNK_MIN: usize = 1;
/// What a chunk's transaction should take: half the 100 ms a live shop
/// can wait on a locked row.
pub const CHUNK_TARGET: Duration = Duration::from_millis(50);

/// Sizes chunks from how long the last ones took: a chunk that took
/// longer than the target makes the next one smaller in proportion, one
/// that took under half of it makes the next one larger (by half, at most
/// up to [`CHUNK`]). A server slowed down by other work gets smaller
/// chunks at once; a fast one reaches the full size in a few chunks.
#[derive(Debug)]
struct ChunkSize {
    rows: usize,
}

impl ChunkSize {
    fn new() -> Self {
        ChunkSize { rows: CHUNK_FIRST }
    }

    fn took(&mut self, rows: usize, elapsed: Duration) {
        let target = CHUNK_TARGET.as_secs_f64();
        let took = elapsed.as_secs_f64().max(1e-6);
        if took > target {
            // Per row, as measured; aim a little under the target.
            let fits = (rows as f64 * target / took * 0.8).floor() as usize;
            self.rows = fits.clamp(CHUNK_MIN, CHUNK);
        } else if took < target / 2.0 && rows >= self.rows {
            self.rows = (self.rows + self.rows.div_ceil(2)).min(CHUNK);
        }
    }
}

/// A database whose archived rows are to be purged, as the purge journal
/// keeps it.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct PlannedDb {
    pub target: Target,
    pub name: String,
    pub tables: Vec<DbTable>,
    /// The run's random key for the rows' keyed hashes.
    pub hmac_key: String,
    /// The row journal's file name in the purge journal's folder.
    pub rows_file: String,
    /// This database's first table number in the row journal (several
    /// databases share one).
    #[serde(default)]
    pub first_table: usize,
}

impl PlannedDb {
    fn key(&self) -> [u8; 32] {
        let mut k = [0u8; 32];
        for (i, o) in k.iter_mut().enumerate() {
            *o = u8::from_str_radix(self.hmac_key.get(2 * i..2 * i + 2).unwrap_or("00"), 16)
                .unwrap_or(0);
        }
        k
    }
}

/// The next chunk of a root table's rows, in journal order. A table's rows
/// are one run of row numbers (the export writes them table by table), so
/// the chunk is read from the row-number order itself: `+tbl` keeps SQLite
/// from taking an index on `tbl` instead, which would visit and sort every
/// row of the table for each chunk (a purge of 333,029 orders in 2,006
/// chunks spent most of its 43 s of CPU time there).
const CHUNK_SQL: &str =
    "SELECT rowid, key, hash FROM rows WHERE +tbl = ?1 AND rowid > ?2 ORDER BY rowid LIMIT ?3";

/// A root row as archived: its journal row number, key and keyed hash.
type Archived = (i64, Vec<u8>, [u8; 32]);

/// The export's record of the archived rows.
pub struct RowJournal {
    db: rusqlite::Connection,
    path: PathBuf,
}

fn journal_error(path: &Path, e: rusqlite::Error) -> Error {
    Error::Database {
        path: path.to_path_buf(),
        detail: format!("the purge journal: {e}"),
    }
}

impl RowJournal {
    /// A new journal at `path`, filled in one transaction.
    pub fn create(path: &Path) -> Result<RowJournal> {
        let db = rusqlite::Connection::open(path).map_err(|e| journal_error(path, e))?;
        db.execute_batch(
            "CREATE TABLE rows (tbl INTEGER NOT NULL, key BLOB NOT NULL, parent BLOB, hash BLOB NOT NULL); BEGIN;",
        )
        .map_err(|e| journal_error(path, e))?;
        Ok(RowJournal {
            db,
            path: path.to_path_buf(),
        })
    }

    pub fn add(
        &mut self,
        table: usize,
        key: &[u8],
        parent: Option<&[u8]>,
        hash: &[u8; 32],
    ) -> Result<()> {
        self.db
            .prepare_cached("INSERT INTO rows (tbl, key, parent, hash) VALUES (?1, ?2, ?3, ?4)")
            .and_then(|mut s| s.execute(params![table as i64, key, parent, &hash[..]]))
            .map(|_| ())
            .map_err(|e| journal_error(&self.path, e))
    }

    /// Indexes it, commits and syncs it.
    pub fn finish(self) -> Result<()> {
        self.db
            .execute_batch(
                "CREATE INDEX by_key ON rows (tbl, key); CREATE INDEX by_parent ON rows (tbl, parent); COMMIT;",
            )
            .map_err(|e| journal_error(&self.path, e))
    }

    fn open(path: &Path) -> Result<RowJournal> {
        let db =
            rusqlite::Connection::open_with_flags(path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
                .map_err(|e| journal_error(path, e))?;
        Ok(RowJournal {
            db,
            path: path.to_path_buf(),
        })
    }

    /// Root rows of `table` after journal row `after`, `limit` at most.
    fn chunk(&self, table: usize, after: i64, limit: usize) -> Result<Vec<Archived>> {
        let mut s = self
            .db
            .prepare_cached(CHUNK_SQL)
            .map_err(|e| journal_error(&self.path, e))?;
        let rows = s
            .query_map(params![table as i64, after, limit as i64], |r| {
                let hash: Vec<u8> = r.get(2)?;
                Ok((r.get(0)?, r.get(1)?, hash.try_into().unwrap_or([0; 32])))
            })
            .and_then(|rows| rows.collect::<rusqlite::Result<Vec<_>>>())
            .map_err(|e| journal_error(&self.path, e))?;
        Ok(rows)
    }

    /// A child row's parent key and hash, as archived.
    fn child(&self, table: usize, key: &[u8]) -> Result<Option<(Vec<u8>, [u8; 32])>> {
        self.db
            .prepare_cached("SELECT parent, hash FROM rows WHERE tbl = ?1 AND key = ?2")
            .and_then(|mut s| {
                s.query_row(params![table as i64, key], |r| {
                    let parent: Option<Vec<u8>> = r.get(0)?;
                    let hash: Vec<u8> = r.get(1)?;
                    Ok((
                        parent.unwrap_or_default(),
                        hash.try_into().unwrap_or([0; 32]),
                    ))
                })
                .optional()
            })
            .map_err(|e| journal_error(&self.path, e))
    }
}

/// What the purge of one database did.
#[derive(Debug, Default)]
pub struct DbPurge {
    /// Per table: rows deleted, rows left in the table.
    pub tables: Vec<(String, u64, u64)>,
    /// Root rows kept because they (or their children) changed since the
    /// export, by table: their keys.
    pub changed: Vec<(String, Vec<String>)>,
    /// Why the purge stopped before its end (a server error, a delete
    /// that did not remove what it should): the rest is still in the
    /// database, and running the purge again goes on.
    pub stopped: Option<String>,
    pub interrupted: bool,
    pub chunks: u64,
    /// Each chunk's transaction time.
    pub chunk_times: Vec<Duration>,
}

/// What one chunk did, counted once it is committed.
#[derive(Default)]
struct ChunkDone {
    /// Rows deleted, per table of the database.
    deleted: Vec<(usize, u64)>,
    /// Root rows kept: changed since the export.
    changed: Vec<String>,
}

/// Purges the archived rows of `db` (root tables in the order given, each
/// chunk with its children).
pub fn run(db: &PlannedDb, dir: &Path, progress: &dyn Progress) -> DbPurge {
    let mut out = DbPurge::default();
    let mut deleted = vec![0u64; db.tables.len()];
    let result = (|| -> Result<()> {
        let journal = RowJournal::open(&dir.join(&db.rows_file))?;
        let mut conn = db.target.connect()?;
        let key = db.key();
        for (ri, root) in db.tables.iter().enumerate() {
            if root.relation.is_some() {
                continue;
            }
            let children: Vec<usize> = (0..db.tables.len())
                .filter(|&i| {
                    db.tables[i]
                        .relation
                        .as_ref()
                        .is_some_and(|r| r.parent == ri)
                })
                .collect();
            let mut after = 0i64;
            let mut changed_keys = Vec::new();
            let mut size = ChunkSize::new();
            loop {
                if progress.interrupted() {
                    out.interrupted = true;
                    return Ok(());
                }
                let chunk = journal.chunk(db.first_table + ri, after, size.rows)?;
                let Some(last) = chunk.last() else {
                    break;
                };
                after = last.0;
                let started = Instant::now();
                conn.begin()?;
                let outcome = purge_chunk(&mut conn, db, &journal, &key, ri, &children, &chunk);
                match outcome {
                    Ok(done) => {
                        pause_point("purge-db-deleted");
                        conn.commit()?;
                        for (t, n) in done.deleted {
                            deleted[t] += n;
                        }
                        changed_keys.extend(done.changed);
                    }
                    Err(e) => {
                        let _ = conn.rollback();
                        return Err(e);
                    }
                }
                let took = started.elapsed();
                size.took(chunk.len(), took);
                out.chunk_times.push(took);
                out.chunks += 1;
            }
            changed_keys.sort_by(|a, b| (a.len(), a).cmp(&(b.len(), b)));
            if !changed_keys.is_empty() {
                out.changed.push((root.name.clone(), changed_keys));
            }
        }
        // What is left in each table.
        for (i, t) in db.tables.iter().enumerate() {
            let left = conn
                .rows(&format!("SELECT COUNT(*) FROM {}", conn.ident(&t.name)))?
                .first()
                .and_then(|r| r[0].as_deref().and_then(|n| n.parse().ok()))
                .unwrap_or(0);
            out.tables.push((t.name.clone(), deleted[i], left));
        }
        Ok(())
    })();
    if let Err(e) = result {
        out.stopped = Some(e.to_string());
        if out.tables.is_empty() {
            out.tables = db
                .tables
                .iter()
                .zip(&deleted)
                .map(|(t, d)| (t.name.clone(), *d, 0))
                .collect();
        }
    }
    out
}

/// One chunk, inside the caller's transaction.
fn purge_chunk(
    conn: &mut Conn,
    db: &PlannedDb,
    journal: &RowJournal,
    key: &[u8; 32],
    ri: usize,
    children: &[usize],
    chunk: &[Archived],
) -> Result<ChunkDone> {
    let mut done = ChunkDone::default();
    let root = &db.tables[ri];
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    // Keys as literals; MySQL's binary columns were read as hex.
    let kind = conn.kind;
    let list_for = |binary: bool, keys: &mut dyn Iterator<Item = &[u8]>| {
        keys.map(|k| match (kind, binary) {
            (conn::Kind::Mysql, true) => format!("UNHEX({})", conn::literal(&text(k))),
            _ => conn::literal(&text(k)),
        })
        .collect::<Vec<_>>()
        .join(", ")
    };
    let root_binary = root.columns[root.key].binary;
    let list = |keys: &mut dyn Iterator<Item = &[u8]>| list_for(root_binary, keys);
    let archived: HashMap<&[u8], &[u8; 32]> =
        chunk.iter().map(|(_, k, h)| (k.as_slice(), h)).collect();
    // 1. The roots, locked; and still of the year (a row moved to another
    // year since the export is changed too, and its hash says so).
    let sql = format!(
        "SELECT {} FROM {} WHERE {} IN ({}) FOR UPDATE",
        select_list(conn, root),
        conn.ident(&root.name),
        conn.ident(&root.columns[root.key].name),
        list(&mut chunk.iter().map(|(_, k, _)| k.as_slice()))
    );
    let mut present: Vec<Vec<u8>> = Vec::new();
    let mut changed: HashSet<Vec<u8>> = HashSet::new();
    conn.each_row(&sql, &mut |values| {
        let k = values[root.key].unwrap_or_default().to_vec();
        if archived
            .get(k.as_slice())
            .is_none_or(|h| **h != row_hash(key, values))
        {
            changed.insert(k.clone());
        }
        present.push(k);
        Ok(())
    })?;
    // 2. Their children, locked.
    let mut child_rows: Vec<Vec<(Vec<u8>, Vec<u8>)>> = Vec::new();
    for &ci in children {
        let c = &db.tables[ci];
        let rel = c.relation.as_ref().expect("a child");
        let pcol = c
            .columns
            .iter()
            .position(|col| col.name == rel.column)
            .expect("checked at export");
        let mut rows = Vec::new();
        if !present.is_empty() {
            let sql = format!(
                "SELECT {} FROM {} WHERE {} IN ({}) FOR UPDATE",
                select_list(conn, c),
                conn.ident(&c.name),
                conn.ident(&rel.column),
                list(&mut present.iter().map(Vec::as_slice))
            );
            let mut seen = Vec::new();
            conn.each_row(&sql, &mut |values| {
                let k = values[c.key].unwrap_or_default().to_vec();
                let p = values[pcol].unwrap_or_default().to_vec();
                seen.push((k, p, row_hash(key, values)));
                Ok(())
            })?;
            for (k, p, h) in seen {
                match journal.child(db.first_table + ci, &k)? {
                    Some((jp, jh)) if jp == p && jh == h => {}
                    Some((jp, _)) => {
                        changed.insert(p.clone());
                        changed.insert(jp);
                    }
                    // New since the export: its parent stays with it.
                    None => {
                        changed.insert(p.clone());
                    }
                }
                rows.push((k, p));
            }
        }
        child_rows.push(rows);
    }
    // 3. Delete children, then roots, by key.
    let doomed: Vec<&[u8]> = present
        .iter()
        .filter(|k| !changed.contains(*k))
        .map(Vec::as_slice)
        .collect();
    let doomed_set: HashSet<&[u8]> = doomed.iter().copied().collect();
    for (n, &ci) in children.iter().enumerate() {
        let c = &db.tables[ci];
        let keys: Vec<&[u8]> = child_rows[n]
            .iter()
            .filter(|(_, p)| doomed_set.contains(p.as_slice()))
            .map(|(k, _)| k.as_slice())
            .collect();
        if keys.is_empty() {
            continue;
        }
        let sql = format!(
            "DELETE FROM {} WHERE {} IN ({})",
            conn.ident(&c.name),
            conn.ident(&c.columns[c.key].name),
            list_for(c.columns[c.key].binary, &mut keys.iter().copied())
        );
        let n = conn.execute(&sql)?;
        if n != keys.len() as u64 {
            return Err(Error::LiveDatabase {
                source_url: conn.url().to_owned(),
                detail: format!(
                    "deleting {} archived rows of table {} removed {n}: rolled back and stopped",
                    keys.len(),
                    c.name
                ),
            });
        }
        done.deleted.push((ci, n));
    }
    if !doomed.is_empty() {
        let sql = format!(
            "DELETE FROM {} WHERE {} IN ({})",
            conn.ident(&root.name),
            conn.ident(&root.columns[root.key].name),
            list(&mut doomed.iter().copied())
        );
        let n = conn.execute(&sql)?;
        if n != doomed.len() as u64 {
            return Err(Error::LiveDatabase {
                source_url: conn.url().to_owned(),
                detail: format!(
                    "deleting {} archived rows of table {} removed {n}: rolled back and stopped",
                    doomed.len(),
                    root.name
                ),
            });
        }
        done.deleted.push((ri, n));
    }
    done.changed = present
        .iter()
        .filter(|k| changed.contains(*k))
        .map(|k| text(k))
        .collect();
    Ok(done)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_chunk_is_read_in_row_order_not_by_sorting_the_table() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("rows.db");
        let mut journal = RowJournal::create(&path).unwrap();
        for k in 0..2000u32 {
            let parent = (k >= 1000).then(|| (k % 1000).to_string());
            let table = usize::from(k >= 1000);
            journal
                .add(
                    table,
                    k.to_string().as_bytes(),
                    parent.as_deref().map(str::as_bytes),
                    &[7; 32],
                )
                .unwrap();
        }
        journal.finish().unwrap();
        let journal = RowJournal::open(&path).unwrap();
        let plan: Vec<String> = journal
            .db
            .prepare(&format!("EXPLAIN QUERY PLAN {CHUNK_SQL}"))
            .unwrap()
            .query_map(params![0i64, 0i64, 10i64], |r| r.get::<_, String>(3))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap();
        assert!(
            plan.iter().any(|p| p.contains("PRIMARY KEY"))
                && !plan.iter().any(|p| p.contains("TEMP B-TREE")),
            "{plan:?}"
        );
        // And it gives the rows in order, chunk after chunk, the table's only.
        let first = journal.chunk(0, 0, 400).unwrap();
        assert_eq!(first.len(), 400);
        let rest = journal.chunk(0, first.last().unwrap().0, 1000).unwrap();
        assert_eq!(rest.len(), 600);
        assert_eq!(rest.last().unwrap().1, b"999");
        assert!(
            journal
                .chunk(0, rest.last().unwrap().0, 10)
                .unwrap()
                .is_empty()
        );
    }

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn chunks_grow_on_a_fast_server_up_to_the_cap() {
        let mut size = ChunkSize::new();
        assert_eq!(size.rows, CHUNK_FIRST);
        for _ in 0..20 {
            let rows = size.rows;
            size.took(rows, ms(2));
        }
        assert_eq!(size.rows, CHUNK);
        // A short last chunk (the table's end) says nothing about speed.
        let mut size = ChunkSize::new();
        size.took(3, ms(1));
        assert_eq!(size.rows, CHUNK_FIRST);
    }

    #[test]
    fn a_slow_chunk_shrinks_the_next_to_fit_the_target() {
        let mut size = ChunkSize { rows: 1000 };
        // 1,000 rows in 600 ms: 50 ms holds about 83; aim a little under.
        size.took(1000, ms(600));
        assert_eq!(size.rows, 66);
        // Within the target and over half of it: unchanged.
        size.took(66, ms(40));
        assert_eq!(size.rows, 66);
        // A stall: never below one row.
        size.took(66, Duration::from_secs(60));
        assert_eq!(size.rows, CHUNK_MIN);
    }
}
