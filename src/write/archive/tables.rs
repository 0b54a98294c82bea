//! The members made from tables and live databases, as `kluis archive`
//! writes them: file tables checked in full (pass 1) and streamed through
//! the same filter into the archive (pass 2); a database's `schema.sql`,
//! `columns.json` and its tables' CSV from the spools its export filled.

use std::fs;
use std::path::PathBuf;

use super::{Counted, checkpoint};
use crate::error::{Error, IoContext, Result};
use crate::format::writer::{ArchiveWriter, Mtime};
use crate::progress::{Progress, Silent};
use crate::sources::db::DbPlan;
use crate::sources::table::{Origin, TablePlan, TableReport, TableSpec, Window};
use crate::write::subjects;

/// A table inside a source folder would also be archived whole, every year
/// and every column: refused.
pub(super) fn tables_outside_folders(specs: &[TableSpec], folders: &[PathBuf]) -> Result<()> {
    for spec in specs {
        let Ok(path) = spec.path().canonicalize() else {
            continue; // reported when it is read
        };
        for folder in folders {
            if folder.canonicalize().is_ok_and(|f| path.starts_with(&f)) {
                return Err(Error::Usage(format!(
                    "{} is inside the source folder {}, which would archive it whole as well (every year, every column); move it out of that folder",
                    spec.path().display(),
                    folder.display()
                )));
            }
        }
    }
    Ok(())
}

/// Pass 1 over every table.
pub(super) fn check_tables(
    specs: &[TableSpec],
    window: &Window,
    progress: &dyn Progress,
) -> Result<Vec<TablePlan>> {
    if specs.is_empty() {
        return Ok(Vec::new());
    }
    let total = specs
        .iter()
        .filter(|s| !matches!(s.origin, Origin::Sqlite { .. }))
        .filter_map(|s| fs::metadata(s.path()).ok())
        .map(|m| m.len())
        .sum();
    progress.phase("checking tables", total);
    specs.iter().map(|s| s.check(window, progress)).collect()
}

/// Pass 2: streams a table's member into the archive from a thread running
/// the same filter as pass 1, and checks that it produced the same bytes.
pub(super) fn add_table<O: std::io::Write + Send + 'static>(
    writer: &mut ArchiveWriter<O>,
    plan: &TablePlan,
    window: &Window,
    collector: &mut subjects::Collector,
    progress: &dyn Progress,
) -> Result<()> {
    let member = plan.spec.member();
    let mode = subjects::table_mode(plan);
    let source = plan.spec.path();
    // An OS pipe bounds what is in flight (its buffer); the buffered writer
    // keeps the filter's small writes from each becoming a system call.
    let (rx, tx) = std::io::pipe().at(source)?;
    std::thread::scope(|s| {
        let producer = s.spawn(move || {
            let mut tx = std::io::BufWriter::with_capacity(256 << 10, tx);
            plan.spec.filter(window, &mut tx, None, &Silent)
        });
        let counted = Counted {
            inner: rx,
            progress,
        };
        let mut reader = collector.reader(member.as_bytes(), Some(mode), counted);
        let added = writer.add_file(
            member.as_bytes(),
            plan.filtered.counts.size,
            0o644,
            plan.mtime,
            &mut reader,
            source,
        );
        drop(reader);
        let produced = producer
            .join()
            .unwrap_or_else(|_| Err(Error::Usage("the table export thread panicked".into())));
        match (added, produced) {
            (Ok(hash), Ok(again)) => {
                if hash != plan.filtered.counts.sha256 || again != plan.filtered {
                    return Err(Error::SourceChanged {
                        path: source.into(),
                        detail: format!(
                            "the rows of table {} changed between the check and the archive write",
                            plan.spec.name
                        ),
                    });
                }
                Ok(())
            }
            (Err(e), Err(p)) if is_pipe_closed(&p) => Err(e),
            (_, Err(p)) => Err(p),
            (Err(e), Ok(_)) => Err(e),
        }
    })
}

/// The row journal's file (one for every database of the run; tables are
/// numbered by database, 1000 apart).
pub(super) fn rows_file(_n: usize) -> String {
    crate::write::purge::journal_rows_file().to_owned()
}

/// A live database's tables, each as it would be reported for a file table.
pub(super) fn db_report(d: &DbPlan) -> Vec<TableReport> {
    d.tables
        .iter()
        .map(|t| TableReport {
            table: format!("{}.{}", d.name, t.name),
            source: d.target.url.clone(),
            member: d.member(t),
            rows_archived: t.rows,
            rows_other_years: Default::default(),
            columns_kept: t
                .columns
                .iter()
                .zip(&t.kept)
                .filter(|(_, k)| **k)
                .map(|(c, _)| c.name.clone())
                .collect(),
            columns_dropped: t.dropped.clone(),
            sensitive_kept: t.kept_sensitive.clone(),
            bytes: t.size,
        })
        .collect()
}

/// A live database into the archive: `schema.sql`, `columns.json`, then
/// each table's CSV from its spool (the export read it once, in the run's
/// snapshot, its rows into the purge journal and the subject scan, which
/// has seen the other two members too).
pub(super) fn add_database<O: std::io::Write + Send + 'static>(
    writer: &mut ArchiveWriter<O>,
    plan: &mut DbPlan,
    progress: &dyn Progress,
) -> Result<()> {
    let mtime = Mtime::from_system(std::time::SystemTime::now());
    let source = PathBuf::from(&plan.target.url);
    for (member, bytes) in [
        (plan.schema_member(), plan.schema_sql()),
        (plan.columns_member(), plan.columns_json()),
    ] {
        writer.add_file(
            member.as_bytes(),
            bytes.len() as u64,
            0o644,
            mtime,
            &mut bytes.as_slice(),
            &source,
        )?;
    }
    for i in 0..plan.tables.len() {
        checkpoint(progress)?;
        let member = plan.member(&plan.tables[i]);
        // Scanned for the subject index while it was exported.
        let mut reader = Counted {
            inner: plan.exported(i)?,
            progress,
        };
        let t = &plan.tables[i];
        let hash = writer.add_file(
            member.as_bytes(),
            t.size,
            0o644,
            mtime,
            &mut reader,
            &source,
        )?;
        if hash != t.sha256 {
            return Err(Error::SourceChanged {
                path: source,
                detail: format!(
                    "table {} read back from its temporary file differs from what was read from the database; nothing was archived",
                    t.name
                ),
            });
        }
    }
    Ok(())
}

/// Whether an error is only the pipe's reader having gone away (the real
/// error is then the reader's).
fn is_pipe_closed(e: &Error) -> bool {
    matches!(e, Error::Io { source, .. } if source.kind() == std::io::ErrorKind::BrokenPipe)
}
