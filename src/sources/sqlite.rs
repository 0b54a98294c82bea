//! SQLite tables as a tabular source (`--sqlite DB --table NAME:DATECOLUMN`):
//! read through a read-only connection and archived as CSV
//! (`tables/NAME.csv`) by the rules of the `table` module; and the purge,
//! which deletes exactly the archived rows in one transaction.
//!
//! Values become text as SQLite holds them: TEXT as is, INTEGER in decimal,
//! REAL in the shortest form that reads back to the same number (`19.95`,
//! `1.0`, `1e300`), BLOB as lowercase hexadecimal, NULL as an empty field.
//! Fields are quoted only when they must be (a comma, a quote or a line
//! break in them); rows end in CRLF, as RFC 4180 has it.

use std::borrow::Cow;
use std::io::Write;
use std::path::Path;
use std::time::Duration;

use rusqlite::functions::FunctionFlags;
use rusqlite::types::ValueRef;
use rusqlite::{Connection, ErrorCode, OpenFlags, TransactionBehavior};

use super::table::dates::Window;
use super::table::spec::{Counts, Filtered, TableSpec};
use crate::error::{Error, IoContext, Result};
use crate::util::hashing::HashSink;
use crate::util::testpoint::pause_point;

/// How long to wait for another program's lock before giving up.
const BUSY_WAIT: Duration = Duration::from_millis(1500);

/// Opens a database: read-only for the export, read-write for the purge.
/// Reads the schema at once, so that a file that is not a database or a
/// locked one is reported here.
pub(crate) fn open(db: &Path, write: bool) -> Result<Connection> {
    let meta = std::fs::metadata(db).at(db)?;
    if !meta.is_file() {
        return Err(Error::Database {
            path: db.into(),
            detail: "is not a file".into(),
        });
    }
    let flags = if write {
        OpenFlags::SQLITE_OPEN_READ_WRITE
    } else {
        OpenFlags::SQLITE_OPEN_READ_ONLY
    } | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = Connection::open_with_flags(db, flags).map_err(|e| db_error(db, e))?;
    conn.busy_timeout(BUSY_WAIT).map_err(|e| db_error(db, e))?;
    conn.query_row("SELECT count(*) FROM sqlite_master", [], |r| {
        r.get::<_, i64>(0)
    })
    .map_err(|e| db_error(db, e))?;
    Ok(conn)
}

/// One sentence for what SQLite said.
fn db_error(db: &Path, e: rusqlite::Error) -> Error {
    let detail = match e.sqlite_error_code() {
        Some(ErrorCode::NotADatabase) => "is not an SQLite database".into(),
        Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked) => {
            "the database is locked: another program is writing to it; close that program or wait for it, then try again".into()
        }
        Some(ErrorCode::CannotOpen) => "cannot be opened as an SQLite database".into(),
        Some(ErrorCode::ReadOnly) => "is read-only here, so its rows cannot be deleted".into(),
        _ => format!("SQLite: {e}"),
    };
    Error::Database {
        path: db.into(),
        detail,
    }
}

fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// The text of a value, as the date column is read.
fn text_of(v: ValueRef<'_>) -> Cow<'_, [u8]> {
    match v {
        ValueRef::Null => Cow::Borrowed(b"NULL"),
        ValueRef::Integer(i) => Cow::Owned(i.to_string().into_bytes()),
        ValueRef::Real(f) => Cow::Owned(format!("{f:?}").into_bytes()),
        ValueRef::Text(t) => Cow::Borrowed(t),
        ValueRef::Blob(_) => Cow::Borrowed(b"(a BLOB)"),
    }
}

/// A value as it goes into the CSV member.
fn render(v: ValueRef<'_>, buf: &mut Vec<u8>) {
    buf.clear();
    match v {
        ValueRef::Null => {}
        ValueRef::Integer(i) => buf.extend_from_slice(i.to_string().as_bytes()),
        ValueRef::Real(f) => buf.extend_from_slice(format!("{f:?}").as_bytes()),
        ValueRef::Text(t) => buf.extend_from_slice(t),
        ValueRef::Blob(b) => buf.extend_from_slice(crate::format::manifest::hex(b).as_bytes()),
    }
}

/// A CSV field, quoted only when it must be. `lone` is a record of one
/// field, which must not come out as a blank line.
fn write_field(out: &mut dyn Write, value: &[u8], lone: bool) -> std::io::Result<()> {
    let quote = value
        .iter()
        .any(|&b| matches!(b, b',' | b'"' | b'\r' | b'\n'))
        || (lone && value.is_empty());
    if !quote {
        return out.write_all(value);
    }
    out.write_all(b"\"")?;
    for part in value.split_inclusive(|&b| b == b'"') {
        out.write_all(part)?;
        if part.ends_with(b"\"") {
            out.write_all(b"\"")?;
        }
    }
    out.write_all(b"\"")
}

fn write_row<'v>(
    out: &mut dyn Write,
    values: impl Iterator<Item = &'v [u8]>,
    lone: bool,
) -> std::io::Result<()> {
    for (n, v) in values.enumerate() {
        if n > 0 {
            out.write_all(b",")?;
        }
        write_field(out, v, lone)?;
    }
    out.write_all(b"\r\n")
}

/// The table's rows in their stored order, with the rowid first when the
/// table has one (for error messages).
fn select<'c>(
    conn: &'c Connection,
    db: &Path,
    table: &str,
) -> Result<(rusqlite::Statement<'c>, bool)> {
    let exists: i64 = conn
        .query_row(
            "SELECT count(*) FROM sqlite_master WHERE type IN ('table', 'view') AND name = ?1",
            [table],
            |r| r.get(0),
        )
        .map_err(|e| db_error(db, e))?;
    if exists == 0 {
        let mut stmt = conn
            .prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name")
            .map_err(|e| db_error(db, e))?;
        let names: Vec<String> = stmt
            .query_map([], |r| r.get(0))
            .and_then(|rows| rows.collect())
            .map_err(|e| db_error(db, e))?;
        return Err(Error::BadTable {
            path: db.into(),
            detail: format!(
                "has no table {table:?}; its tables are: {}",
                if names.is_empty() {
                    "(none)".into()
                } else {
                    names.join(", ")
                }
            ),
        });
    }
    let t = quote_ident(table);
    match conn.prepare(&format!("SELECT rowid, * FROM {t}")) {
        Ok(stmt) => Ok((stmt, true)),
        Err(_) => conn
            .prepare(&format!("SELECT * FROM {t}"))
            .map(|stmt| (stmt, false))
            .map_err(|e| db_error(db, e)),
    }
}

/// The table pass of [`TableSpec::filter`] for SQLite: header and archived
/// rows as CSV into `member`.
pub(crate) fn filter(
    conn: &Connection,
    spec: &TableSpec,
    db: &Path,
    table: &str,
    window: &Window,
    member: &mut dyn Write,
) -> Result<Filtered> {
    let (mut stmt, with_rowid) = select(conn, db, table)?;
    let skip = usize::from(with_rowid);
    let columns: Vec<String> = stmt.column_names()[skip..]
        .iter()
        .map(|s| s.to_string())
        .collect();
    let date_at = spec.date_index(&columns, &format!("table {table}"))?;
    let (keep, mut filtered) = spec.decide_header(&columns)?;
    let lone = keep.len() == 1;
    write_row(member, keep.iter().map(|&i| columns[i].as_bytes()), lone).at(db)?;
    let mut rows = stmt.query([]).map_err(|e| db_error(db, e))?;
    let mut values: Vec<Vec<u8>> = vec![Vec::new(); keep.len()];
    let counts = &mut filtered.counts;
    while let Some(row) = rows.next().map_err(|e| db_error(db, e))? {
        counts.rows += 1;
        let n = counts.rows;
        let place = || match row.get_ref(0) {
            Ok(ValueRef::Integer(id)) if with_rowid => format!("table {table}, rowid {id}"),
            _ => format!("table {table}, row {n}"),
        };
        let date_value = row.get_ref(skip + date_at).map_err(|e| db_error(db, e))?;
        let date = spec.row_date(place, &text_of(date_value))?;
        match window.other_year(date) {
            None => {
                counts.archived += 1;
                for (slot, &i) in values.iter_mut().zip(&keep) {
                    render(row.get_ref(skip + i).map_err(|e| db_error(db, e))?, slot);
                }
                write_row(member, values.iter().map(Vec::as_slice), lone).at(db)?;
            }
            Some(year) => *counts.other_years.entry(year).or_default() += 1,
        }
    }
    Ok(filtered)
}

/// Deletes the archived rows, in one transaction that first checks that
/// they are still exactly what was archived (`archived`: their count and
/// the member's SHA-256) and that the delete removes exactly that many
/// rows; otherwise nothing is deleted. `Ok(Ok(n))`: done, `n` rows left;
/// `Ok(Err(reason))`: why the rows were kept.
///
/// Deleted rows are overwritten in the database file (`secure_delete`);
/// the database's own triggers and foreign-key actions run as for any
/// delete.
pub(crate) fn purge(
    spec: &TableSpec,
    db: &Path,
    table: &str,
    window: &Window,
    archived: &Counts,
) -> Result<std::result::Result<(u64, u64), String>> {
    let mut conn = open(db, true)?;
    conn.pragma_update(None, "secure_delete", "ON")
        .map_err(|e| db_error(db, e))?;
    let (dates, w) = (spec.dates.clone(), *window);
    conn.create_scalar_function(
        "kluis_in_year",
        1,
        FunctionFlags::SQLITE_UTF8 | FunctionFlags::SQLITE_DETERMINISTIC,
        move |ctx| {
            let raw = ctx.get_raw(0);
            let text = String::from_utf8_lossy(&text_of(raw)).into_owned();
            match dates.date(&text) {
                Some(d) => Ok(w.contains(d)),
                None => Err(rusqlite::Error::UserFunctionError(
                    format!("cannot read {text:?} as a date").into(),
                )),
            }
        },
    )
    .map_err(|e| db_error(db, e))?;
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(|e| db_error(db, e))?;
    let mut member = HashSink::default();
    let now = filter(&tx, spec, db, table, window, &mut member)?;
    let (size, sha256) = member.finish();
    if now.counts.archived == 0 {
        // An earlier purge removed them: nothing of the year is left.
        return Ok(Ok((0, now.counts.rows)));
    }
    if now.counts.archived != archived.archived
        || size != archived.size
        || sha256 != archived.sha256
    {
        return Ok(Err(format!(
            "its rows of fiscal year {} changed since they were archived; nothing was deleted",
            window.year
        )));
    }
    let deleted = tx
        .execute(
            &format!(
                "DELETE FROM {} WHERE kluis_in_year({})",
                quote_ident(table),
                quote_ident(&spec.date_column)
            ),
            [],
        )
        .map_err(|e| db_error(db, e))? as u64;
    if deleted != archived.archived {
        return Ok(Err(format!(
            "the delete would remove {deleted} rows, not the {} archived; rolled back",
            archived.archived
        )));
    }
    pause_point("purge-sqlite-deleted");
    tx.commit().map_err(|e| db_error(db, e))?;
    Ok(Ok((deleted, now.counts.rows - deleted)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_are_quoted_only_when_needed() {
        let mut out = Vec::new();
        write_row(
            &mut out,
            [&b"a"[..], b"b,c", b"say \"hi\"", b"two\nlines", b""].into_iter(),
            false,
        )
        .unwrap();
        assert_eq!(
            out,
            b"a,\"b,c\",\"say \"\"hi\"\"\",\"two\nlines\",\r\n".to_vec()
        );
        out.clear();
        write_row(&mut out, [&b""[..]].into_iter(), true).unwrap();
        assert_eq!(out, b"\"\"\r\n");
    }

    #[test]
    fn values_as_text() {
        let mut buf = Vec::new();
        for (v, want) in [
            (ValueRef::Null, ""),
            (ValueRef::Integer(-42), "-42"),
            (ValueRef::Real(19.95), "19.95"),
            (ValueRef::Real(1.0), "1.0"),
            (ValueRef::Text(b"caf\xc3\xa9"), "café"),
            (ValueRef::Blob(&[0, 255]), "00ff"),
        ] {
            render(v, &mut buf);
            assert_eq!(buf, want.as_bytes());
        }
    }
}
