//! What the servers' catalogs say about the tables of a database source:
//! columns, keys and foreign keys, the sanity of root tables' dates, and
//! each table's DDL as the server reports it (PostgreSQL from `pg_catalog`,
//! MariaDB/MySQL from `information_schema` and `SHOW CREATE TABLE`).

use super::conn::{self, Conn, Kind};
use super::{Column, DbTable};
use crate::error::{Error, Result};

pub(super) fn names(columns: &[Column]) -> String {
    columns
        .iter()
        .map(|c| c.name.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

pub(super) fn is_date_type(kind: Kind, t: &str) -> bool {
    let t = t.to_ascii_lowercase();
    match kind {
        Kind::Postgres => t == "date" || t.starts_with("timestamp"),
        Kind::Mysql => t == "date" || t.starts_with("datetime") || t.starts_with("timestamp"),
    }
}

/// The table's columns and key, from the server's catalog.
pub(super) fn describe(conn: &mut Conn, table: &str) -> Result<DbTable> {
    let url = conn.url().to_owned();
    if table.is_empty() || table.contains('\0') {
        return Err(Error::Usage(format!("{table:?} is not a table name")));
    }
    let lit = conn::literal(table);
    let (cols, keys) = match conn.kind {
        Kind::Postgres => {
            let rel = format!("to_regclass({})", conn::literal(&conn.ident(table)));
            let cols = conn.rows(&format!(
                "SELECT a.attname, format_type(a.atttypid, a.atttypmod), CASE WHEN a.attnotnull THEN 'f' ELSE 't' END, CASE WHEN t.typname = 'bytea' THEN 't' ELSE 'f' END \
                 FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid \
                 WHERE a.attrelid = {rel} AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum"
            ))?;
            // Unique indexes: primary first; (index, columns in it, column, not null).
            let keys = conn.rows(&format!(
                "SELECT i.indexrelid::text, i.indnatts::text, a.attname, CASE WHEN a.attnotnull THEN 't' ELSE 'f' END \
                 FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey) \
                 WHERE i.indrelid = {rel} AND i.indisunique AND i.indpred IS NULL \
                 ORDER BY i.indisprimary DESC, i.indexrelid"
            ))?;
            (cols, keys)
        }
        Kind::Mysql => {
            let cols = conn.rows(&format!(
                "SELECT COLUMN_NAME, COLUMN_TYPE, CASE WHEN IS_NULLABLE = 'YES' THEN 't' ELSE 'f' END, \
                 CASE WHEN DATA_TYPE IN ('binary','varbinary','tinyblob','blob','mediumblob','longblob','bit','geometry','point','linestring','polygon','multipoint','multilinestring','multipolygon','geometrycollection') THEN 't' ELSE 'f' END \
                 FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = {lit} ORDER BY ORDINAL_POSITION"
            ))?;
            let keys = conn.rows(&format!(
                "SELECT s.INDEX_NAME, CAST((SELECT COUNT(*) FROM information_schema.STATISTICS s2 WHERE s2.TABLE_SCHEMA = s.TABLE_SCHEMA AND s2.TABLE_NAME = s.TABLE_NAME AND s2.INDEX_NAME = s.INDEX_NAME) AS CHAR), s.COLUMN_NAME, CASE WHEN s.NULLABLE = 'YES' THEN 'f' ELSE 't' END \
                 FROM information_schema.STATISTICS s WHERE s.TABLE_SCHEMA = DATABASE() AND s.TABLE_NAME = {lit} AND s.NON_UNIQUE = 0 \
                 ORDER BY s.INDEX_NAME = 'PRIMARY' DESC, s.INDEX_NAME, s.SEQ_IN_INDEX"
            ))?;
            (cols, keys)
        }
    };
    if cols.is_empty() {
        return Err(Error::DatabaseRefused {
            source_url: url,
            detail: format!("there is no table {table} (or it has no columns kluis may read)"),
        });
    }
    let text = |v: &Option<String>| v.clone().unwrap_or_default();
    let columns: Vec<Column> = cols
        .iter()
        .map(|r| Column {
            name: text(&r[0]),
            sql_type: text(&r[1]),
            nullable: text(&r[2]) == "t",
            binary: text(&r[3]) == "t",
        })
        .collect();
    let key = keys
        .iter()
        .find(|r| text(&r[1]) == "1" && text(&r[3]) == "t")
        .map(|r| text(&r[2]));
    let Some(key) = key else {
        let nullable = keys
            .iter()
            .find(|r| text(&r[1]) == "1")
            .map(|r| text(&r[2]));
        return Err(Error::DatabaseRefused {
            source_url: url,
            detail: match (nullable, keys.is_empty()) {
                (Some(column), _) => format!(
                    "table {table} has no primary key, and its unique key on {column} allows NULL, which does not tell rows apart: make {column} NOT NULL, or add a primary key"
                ),
                (None, false) => format!(
                    "table {table} has only keys of several columns; kluis needs a primary key (or a unique key) of one NOT NULL column to delete exactly the archived rows"
                ),
                (None, true) => format!(
                    "table {table} has no primary key (or unique key on a NOT NULL column): kluis could not tell its rows apart to delete exactly the archived ones; add one"
                ),
            },
        });
    };
    let key = columns
        .iter()
        .position(|c| c.name == key)
        .expect("the key is a column");
    Ok(DbTable {
        name: table.to_owned(),
        kept: vec![true; columns.len()],
        columns,
        key,
        date_column: None,
        relation: None,
        dropped: Vec::new(),
        kept_sensitive: Vec::new(),
        ddl: String::new(),
        rows: 0,
        size: 0,
        sha256: [0; 32],
    })
}

pub(super) struct ForeignKey {
    pub(super) from: String,
    pub(super) from_column: String,
    pub(super) to: String,
    pub(super) to_column: String,
}

/// Every single-column foreign key of the database (schema).
pub(super) fn foreign_keys(conn: &mut Conn) -> Result<Vec<ForeignKey>> {
    let rows = match conn.kind {
        Kind::Postgres => conn.rows(
            "SELECT cf.relname, af.attname, ct.relname, at.attname \
             FROM pg_constraint c \
             JOIN pg_class cf ON cf.oid = c.conrelid JOIN pg_class ct ON ct.oid = c.confrelid \
             JOIN pg_attribute af ON af.attrelid = c.conrelid AND af.attnum = c.conkey[1] \
             JOIN pg_attribute at ON at.attrelid = c.confrelid AND at.attnum = c.confkey[1] \
             WHERE c.contype = 'f' AND ct.relnamespace IN (SELECT oid FROM pg_namespace WHERE nspname = ANY (current_schemas(false)))",
        )?,
        Kind::Mysql => conn.rows(
            "SELECT TABLE_NAME, COLUMN_NAME, REFERENCED_TABLE_NAME, REFERENCED_COLUMN_NAME \
             FROM information_schema.KEY_COLUMN_USAGE \
             WHERE REFERENCED_TABLE_SCHEMA = DATABASE() AND REFERENCED_TABLE_NAME IS NOT NULL AND ORDINAL_POSITION = 1",
        )?,
    };
    Ok(rows
        .into_iter()
        .map(|r| {
            let t = |i: usize| r[i].clone().unwrap_or_default();
            ForeignKey {
                from: t(0),
                from_column: t(1),
                to: t(2),
                to_column: t(3),
            }
        })
        .collect())
}

/// A root table's date column must hold a date in every row: NULLs and
/// dates outside any sane range are refused, with a count.
pub(super) fn check_dates(conn: &mut Conn, t: &DbTable) -> Result<()> {
    let d = conn.ident(t.date_column.as_deref().expect("a root table"));
    let table = conn.ident(&t.name);
    // Two counts, each of which an index on the column answers without
    // reading the table (a webshop's order date has one).
    let rows = conn.rows(&format!(
        "SELECT (SELECT COUNT(*) FROM {table} WHERE {d} IS NULL), \
         (SELECT COUNT(*) FROM {table} WHERE {d} < '1900-01-01' OR {d} >= '2200-01-01')"
    ))?;
    let n = |i: usize| {
        rows.first()
            .and_then(|r| r[i].as_deref())
            .and_then(|s| s.trim().parse::<u64>().ok())
            .unwrap_or(0)
    };
    let (nulls, insane) = (n(0), n(1));
    let url = conn.url().to_owned();
    let column = t.date_column.as_deref().unwrap_or_default();
    if nulls > 0 {
        return Err(Error::DatabaseRefused {
            source_url: url,
            detail: format!(
                "{nulls} rows of table {} have no date in {column} (NULL): kluis cannot tell which fiscal year they belong to; fill them in first",
                t.name
            ),
        });
    }
    if insane > 0 {
        return Err(Error::DatabaseRefused {
            source_url: url,
            detail: format!(
                "{insane} rows of table {} have a date in {column} before 1900 or after 2199: correct them first",
                t.name
            ),
        });
    }
    Ok(())
}

/// The table's DDL as the server reports it.
pub(super) fn ddl(conn: &mut Conn, table: &str) -> Result<String> {
    match conn.kind {
        Kind::Mysql => {
            let rows = conn.rows(&format!("SHOW CREATE TABLE {}", conn.ident(table)))?;
            Ok(rows
                .first()
                .and_then(|r| r.get(1).cloned().flatten())
                .unwrap_or_default())
        }
        Kind::Postgres => {
            let rel = format!("to_regclass({})", conn::literal(&conn.ident(table)));
            let cols = conn.rows(&format!(
                "SELECT quote_ident(a.attname) || ' ' || format_type(a.atttypid, a.atttypmod) \
                 || CASE WHEN a.attnotnull THEN ' NOT NULL' ELSE '' END \
                 || COALESCE(' DEFAULT ' || pg_get_expr(d.adbin, d.adrelid), '') \
                 FROM pg_attribute a LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum \
                 WHERE a.attrelid = {rel} AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum"
            ))?;
            // Sequences the columns' defaults use (serial columns).
            let seqs = conn.rows(&format!(
                "SELECT 'CREATE SEQUENCE IF NOT EXISTS ' || s.oid::regclass::text || ';' \
                 FROM pg_class s JOIN pg_depend d ON d.objid = s.oid \
                 WHERE s.relkind = 'S' AND d.refobjid = {rel} AND d.deptype = 'a' ORDER BY 1"
            ))?;
            let cons = conn.rows(&format!(
                "SELECT 'CONSTRAINT ' || quote_ident(conname) || ' ' || pg_get_constraintdef(oid) \
                 FROM pg_constraint WHERE conrelid = {rel} ORDER BY contype, conname"
            ))?;
            let idx = conn.rows(&format!(
                "SELECT pg_get_indexdef(indexrelid) FROM pg_index WHERE indrelid = {rel} AND NOT indisprimary ORDER BY indexrelid"
            ))?;
            let lines: Vec<String> = cols
                .iter()
                .chain(&cons)
                .filter_map(|r| r[0].clone())
                .map(|l| format!("    {l}"))
                .collect();
            let mut out: String = seqs
                .iter()
                .filter_map(|r| r[0].as_ref().map(|l| format!("{l}\n")))
                .collect();
            out.push_str(&format!(
                "CREATE TABLE {} (\n{}\n);\n",
                conn.ident(table),
                lines.join(",\n")
            ));
            for r in idx {
                if let Some(i) = &r[0] {
                    out.push_str(&format!("{i};\n"));
                }
            }
            Ok(out)
        }
    }
}
