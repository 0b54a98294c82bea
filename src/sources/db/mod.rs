//! Live database sources (docs/DATABASES.md): a fiscal year of rows of
//! PostgreSQL and MariaDB/MySQL tables, read in one consistent read-only
//! snapshot, written into the archive as RFC 4180 CSV with the table's DDL
//! and a column dictionary; with `--purge-source`, each archived row's key
//! and a keyed hash of the whole row go to the purge journal, from which
//! [`purge`] later deletes exactly those rows, unchanged, and nothing else.
//!
//! A **root table** is selected by the half-open fiscal-year range of its
//! date column; a **child table** (order lines, addresses, meta) by its
//! parent key: the rows whose relation column holds the key of a selected
//! root row. Relations come from the database's foreign keys, or are
//! declared (`--db-child lines.order_id=orders.id`) where the schema has
//! none. Every table needs a single-column primary key (or a unique key on
//! one NOT NULL column): the purge deletes by it.

mod conn;
pub mod purge;

use std::collections::BTreeMap;
use std::io::Write;

use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

pub use conn::{Conn, Kind, Target};

use crate::error::{Error, Result};
use crate::format::TABLES_PREFIX;
use crate::format::meta::Minimisation;
use crate::sources::table::{ColumnRule, Window, looks_personal};

/// `[db.NAME]` in `config.toml`: a live database source, so that year-end
/// is `kluis archive --year 2019 --db NAME` (docs/DATABASES.md).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DbConfig {
    /// `postgres://USER@HOST[:PORT]/DATABASE` or `mysql://…` (no password).
    pub url: String,
    /// The root tables, `TABLE:DATECOLUMN`.
    #[serde(default)]
    pub tables: Vec<String>,
    /// Related tables: `TABLE` or `TABLE.COLUMN=PARENT.KEY`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub children: Vec<String>,
    /// Columns left out: `[TABLE:]COLUMN`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub drop: Vec<String>,
    /// Sensitive-looking columns kept on purpose: `[TABLE:]COLUMN`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub keep: Vec<String>,
    /// A file whose first line is the password (else PGPASSWORD/MYSQL_PWD).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password_file: Option<std::path::PathBuf>,
    /// TLS (PostgreSQL): disable, prefer, require, verify-ca, verify-full.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls: Option<String>,
}

/// Where the export puts each archived row's key, parent key and keyed hash.
pub type RowSink<'a> = dyn FnMut(&[u8], Option<&[u8]>, &[u8; 32]) -> Result<()> + 'a;

/// What the user asked for one database.
#[derive(Clone, Debug, Default)]
pub struct DbRequest {
    pub url: String,
    /// `TABLE:DATECOLUMN`, the root tables.
    pub tables: Vec<String>,
    /// `TABLE` (related through a foreign key to a root table) or
    /// `TABLE.COLUMN=ROOT.KEY` (declared).
    pub children: Vec<String>,
    pub password_file: Option<std::path::PathBuf>,
    /// The name under which its tables are archived
    /// (`tables/NAME/TABLE.csv`); default: the database's name.
    pub name: Option<String>,
    /// Decisions for this database's columns (from its `[db.NAME]`
    /// section), besides the archive's `--drop`/`--keep`.
    pub drop: Vec<ColumnRule>,
    pub keep: Vec<ColumnRule>,
    /// `--db-tls MODE` (or the config's `tls`), over the URL's `sslmode`.
    pub tls: Option<String>,
}

impl DbRequest {
    /// `--db VALUE`: a URL, or the name of a `[db.NAME]` section of the
    /// vault's config, whose tables, relations and decisions the command
    /// line's add to.
    pub fn resolve(
        value: &str,
        config: &BTreeMap<String, DbConfig>,
        tables: &[String],
        children: &[String],
        password_file: Option<&std::path::Path>,
        name: Option<&str>,
    ) -> Result<DbRequest> {
        if value.contains("://") {
            return Ok(DbRequest {
                url: value.to_owned(),
                tables: tables.to_vec(),
                children: children.to_vec(),
                password_file: password_file.map(Into::into),
                name: name.map(Into::into),
                drop: Vec::new(),
                keep: Vec::new(),
                tls: None,
            });
        }
        let Some(c) = config.get(value) else {
            return Err(Error::Usage(format!(
                "--db {value}: not a URL, and the vault's config has no [db.{value}] section{}",
                match config.is_empty() {
                    true => String::new(),
                    false => format!(
                        " (it has: {})",
                        config.keys().cloned().collect::<Vec<_>>().join(", ")
                    ),
                }
            )));
        };
        Ok(DbRequest {
            url: c.url.clone(),
            tables: c.tables.iter().chain(tables).cloned().collect(),
            children: c.children.iter().chain(children).cloned().collect(),
            password_file: password_file
                .map(Into::into)
                .or_else(|| c.password_file.clone()),
            name: Some(name.unwrap_or(value).to_owned()),
            drop: c.drop.iter().map(|r| ColumnRule::parse(r)).collect(),
            keep: c.keep.iter().map(|r| ColumnRule::parse(r)).collect(),
            tls: c.tls.clone(),
        })
    }

    /// The names of the tables it names, which `--drop TABLE:COLUMN` may use.
    pub fn table_names(&self) -> Vec<String> {
        self.tables
            .iter()
            .map(|t| t.rsplit_once(':').map_or(t.as_str(), |(t, _)| t))
            .chain(self.children.iter().map(|c| {
                c.split_once('=')
                    .and_then(|(l, _)| l.rsplit_once('.'))
                    .map_or(c.as_str(), |(t, _)| t)
            }))
            .map(str::to_owned)
            .collect()
    }
}

/// A column as the server describes it.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Column {
    pub name: String,
    /// The type as the server prints it (`numeric(10,2)`, `varchar(255)`).
    #[serde(rename = "type")]
    pub sql_type: String,
    pub nullable: bool,
    /// Written as `\x` and lowercase hex.
    pub binary: bool,
}

/// How a child table hangs from its root.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Relation {
    /// The child's column holding the parent's key.
    pub column: String,
    /// Index of the root table in [`DbPlan::tables`].
    pub parent: usize,
    /// Declared by `--db-child` rather than a foreign key.
    pub declared: bool,
}

/// One table, checked: columns, key, decisions, what its archived rows are.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct DbTable {
    pub name: String,
    pub columns: Vec<Column>,
    /// Index of the key column.
    pub key: usize,
    /// Root tables: the date column.
    pub date_column: Option<String>,
    pub relation: Option<Relation>,
    /// Which columns go into the archive.
    pub kept: Vec<bool>,
    pub dropped: Vec<String>,
    pub kept_sensitive: Vec<String>,
    /// The DDL as the server reports it.
    pub ddl: String,
    /// Rows archived, the member's size and SHA-256 (pass 1).
    pub rows: u64,
    pub size: u64,
    #[serde(with = "hex_bytes")]
    pub sha256: [u8; 32],
}

/// A database source, checked (pass 1) and holding its snapshot open
/// until the archive is written (pass 2 reads the same rows).
pub struct DbPlan {
    pub target: Target,
    /// `tables/NAME/…`.
    pub name: String,
    pub tables: Vec<DbTable>,
    pub conn: Conn,
    window: Window,
}

impl DbPlan {
    /// The member a table becomes.
    pub fn member(&self, table: &DbTable) -> String {
        format!("{TABLES_PREFIX}{}/{}.csv", self.name, table.name)
    }

    pub fn schema_member(&self) -> String {
        format!("{TABLES_PREFIX}{}/schema.sql", self.name)
    }

    pub fn columns_member(&self) -> String {
        format!("{TABLES_PREFIX}{}/columns.json", self.name)
    }

    /// The minimisation decisions, recorded in the archive's metadata.
    pub fn minimisation(&self) -> Vec<Minimisation> {
        self.tables
            .iter()
            .map(|t| Minimisation {
                table: format!("{}.{}", self.name, t.name),
                dropped: t.dropped.clone(),
                kept: t.kept_sensitive.clone(),
            })
            .collect()
    }

    /// `schema.sql`: every table's DDL as the server reports it.
    pub fn schema_sql(&self) -> Vec<u8> {
        let mut out = format!(
            "-- The tables of database {} as the server reported them when kluis archived fiscal year {}.\n",
            self.target.database, self.window.year
        );
        if self.target.kind == Kind::Mysql {
            // Reported in ANSI_QUOTES mode ("name", not `name`).
            out.push_str(
                "SET SESSION sql_mode = CONCAT_WS(',', NULLIF(@@sql_mode, ''), 'ANSI_QUOTES');\n",
            );
        }
        for t in &self.tables {
            out.push_str(&format!("\n-- {}\n{}\n", t.name, t.ddl.trim_end()));
            if !t.ddl.trim_end().ends_with(';') {
                out.push_str(";\n");
            }
        }
        out.into_bytes()
    }

    /// `columns.json`: the column dictionary, what was selected and how,
    /// and each table's row count and SHA-256.
    pub fn columns_json(&self) -> Vec<u8> {
        let tables: Vec<_> = self
            .tables
            .iter()
            .map(|t| {
                let selected = match (&t.date_column, &t.relation) {
                    (Some(d), _) => format!(
                        "{d} >= {} and {d} < {} (the fiscal year, half-open, in UTC)",
                        self.window.first,
                        self.window.last.succ_opt().unwrap_or(self.window.last)
                    ),
                    (None, Some(r)) => format!(
                        "{} is the key of an archived row of {}{}",
                        r.column,
                        self.tables[r.parent].name,
                        if r.declared { " (declared with --db-child)" } else { " (foreign key)" }
                    ),
                    (None, None) => String::new(),
                };
                serde_json::json!({
                    "table": t.name,
                    "member": self.member(t),
                    "selected": selected,
                    "rows": t.rows,
                    "sha256": crate::format::manifest::hex(&t.sha256),
                    "key": t.columns[t.key].name,
                    "columns": t.columns.iter().zip(&t.kept).map(|(c, kept)| {
                        let why = if !kept {
                            "dropped (--drop)"
                        } else if looks_personal(&c.name) {
                            "kept on purpose (--keep)"
                        } else {
                            "kept"
                        };
                        serde_json::json!({
                            "name": c.name,
                            "type": c.sql_type,
                            "nullable": c.nullable,
                            "key": t.columns[t.key].name == c.name,
                            "archived": kept,
                            "why": why,
                            "encoding": if c.binary { "\\x then lowercase hex" } else { "text as the server prints it" },
                        })
                    }).collect::<Vec<_>>(),
                })
            })
            .collect();
        let doc = serde_json::json!({
            "database": self.target.database,
            "server": match self.target.kind { Kind::Postgres => "PostgreSQL", Kind::Mysql => "MariaDB/MySQL" },
            "fiscal_year": self.window.year,
            "csv": "RFC 4180: comma, CRLF, a header row, UTF-8; NULL is an empty unquoted field, an empty string is \"\"; timestamps in UTC, ISO 8601 as the server prints them; numbers as the server prints them; binary values as \\x and lowercase hex",
            "tables": tables,
        });
        let mut out = serde_json::to_vec_pretty(&doc).expect("JSON");
        out.push(b'\n');
        out
    }

    /// The `SELECT` of table `i`'s archived rows: every column (the purge
    /// hashes whole rows), in key order.
    pub(crate) fn select(&self, i: usize) -> String {
        select_rows(&self.conn, &self.tables, i, &self.window)
    }

    /// Table `i`'s CSV to `out` and, with `journal`, each row's key (and
    /// parent key) and keyed hash. Returns the rows, the member's size and
    /// SHA-256 (pass 2's must equal pass 1's).
    pub fn write_table(
        &mut self,
        i: usize,
        out: &mut dyn Write,
        mut journal: Option<&mut RowSink<'_>>,
        hmac_key: &[u8; 32],
    ) -> Result<(u64, u64, [u8; 32])> {
        let sql = self.select(i);
        let table = self.tables[i].clone();
        let parent_col = table
            .relation
            .as_ref()
            .and_then(|r| table.columns.iter().position(|c| c.name == r.column));
        let mut hashed = crate::util::hashing::Hashed::new(out);
        let url = self.target.url.clone();
        let io = |e: std::io::Error| Error::LiveDatabase {
            source_url: url.clone(),
            detail: format!("writing table {}: {e}", table.name),
        };
        write_header(&mut hashed, &table).map_err(io)?;
        let mut rows = 0u64;
        let mut line = Vec::new();
        self.conn.each_row(&sql, &mut |values| {
            rows += 1;
            line.clear();
            encode_row(&mut line, &table, values);
            hashed.write_all(&line).map_err(io)?;
            if let Some(j) = journal.as_mut() {
                crate::util::testpoint::pause_point_n("db-row", rows);
                let key = values[table.key].unwrap_or_default();
                let parent = parent_col.map(|p| values[p].unwrap_or_default());
                j(key, parent, &row_hash(hmac_key, values))?;
            }
            Ok(())
        })?;
        hashed.flush().map_err(io)?;
        let (size, sha) = hashed.finish();
        Ok((rows, size, sha))
    }
}

/// Opens the database, checks every table and decision before any row is
/// read, then reads each table once (pass 1) for its row count, size and
/// SHA-256. The snapshot stays open in the returned plan.
///
/// `drop`/`keep` rules are the archive's (`--drop [TABLE:]COLUMN`).
pub fn check(
    req: &DbRequest,
    window: &Window,
    drop: &[ColumnRule],
    keep: &[ColumnRule],
    purge: bool,
) -> Result<DbPlan> {
    let target = Target::parse_with(&req.url, req.password_file.as_deref(), req.tls.as_deref())?;
    let refused = |detail: String| Error::DatabaseRefused {
        source_url: target.url.clone(),
        detail,
    };
    if req.tables.is_empty() {
        return Err(refused(
            "no table given: add --db-table TABLE:DATECOLUMN".into(),
        ));
    }
    let name = req.name.clone().unwrap_or_else(|| target.database.clone());
    if name.is_empty() || name.contains('/') || name.starts_with('.') {
        return Err(refused(format!(
            "{name:?} cannot name a folder in the archive"
        )));
    }
    let mut conn = target.connect()?;
    conn.begin_snapshot()?;

    // Roots, then children.
    let mut tables: Vec<DbTable> = Vec::new();
    for spec in &req.tables {
        let Some((table, date)) = spec
            .rsplit_once(':')
            .filter(|(t, d)| !t.is_empty() && !d.is_empty())
        else {
            return Err(Error::Usage(format!(
                "--db-table {spec}: give TABLE:DATECOLUMN, e.g. orders:created_at"
            )));
        };
        let mut t = describe(&mut conn, table)?;
        let Some(d) = t.columns.iter().find(|c| c.name == date) else {
            return Err(refused(format!(
                "table {table} has no column {date:?}; its columns are: {}",
                names(&t.columns)
            )));
        };
        if !is_date_type(conn.kind, &d.sql_type) {
            return Err(refused(format!(
                "column {table}.{date} is of type {}, not a date or timestamp: give the table's date column",
                d.sql_type
            )));
        }
        t.date_column = Some(date.to_owned());
        tables.push(t);
    }
    let roots = tables.len();
    let fks = foreign_keys(&mut conn)?;
    for spec in &req.children {
        let (child, relation) = match spec.split_once('=') {
            Some((left, right)) => {
                let (Some((child, column)), Some((parent, key))) =
                    (left.rsplit_once('.'), right.rsplit_once('.'))
                else {
                    return Err(Error::Usage(format!(
                        "--db-child {spec}: give TABLE, or TABLE.COLUMN=PARENT.KEY"
                    )));
                };
                let Some(p) = tables[..roots].iter().position(|t| t.name == parent) else {
                    return Err(Error::Usage(format!(
                        "--db-child {spec}: {parent} is not one of the --db-table tables (a child hangs from a table selected by its date)"
                    )));
                };
                if tables[p].columns[tables[p].key].name != key {
                    return Err(refused(format!(
                        "--db-child {spec}: {parent}.{key} is not the key of {parent} (its key is {})",
                        tables[p].columns[tables[p].key].name
                    )));
                }
                (
                    child.to_owned(),
                    Relation {
                        column: column.to_owned(),
                        parent: p,
                        declared: true,
                    },
                )
            }
            None => {
                let child = spec.as_str();
                let found: Vec<&ForeignKey> = fks
                    .iter()
                    .filter(|fk| {
                        fk.from == child && tables[..roots].iter().any(|t| t.name == fk.to)
                    })
                    .collect();
                let fk = match found.as_slice() {
                    [fk] => *fk,
                    [] => {
                        return Err(refused(format!(
                            "table {child} has no foreign key to a --db-table table: declare the relation with --db-child {child}.COLUMN=TABLE.KEY"
                        )));
                    }
                    _ => {
                        return Err(refused(format!(
                            "table {child} has several foreign keys to the --db-table tables: declare which one with --db-child {child}.COLUMN=TABLE.KEY"
                        )));
                    }
                };
                let p = tables[..roots]
                    .iter()
                    .position(|t| t.name == fk.to)
                    .expect("found above");
                if tables[p].columns[tables[p].key].name != fk.to_column {
                    return Err(refused(format!(
                        "the foreign key {child}.{} points at {}.{}, not at the table's key {}: declare the relation with --db-child",
                        fk.from_column, fk.to, fk.to_column, tables[p].columns[tables[p].key].name
                    )));
                }
                (
                    child.to_owned(),
                    Relation {
                        column: fk.from_column.clone(),
                        parent: p,
                        declared: false,
                    },
                )
            }
        };
        if tables.iter().any(|t| t.name == child) {
            return Err(Error::Usage(format!("table {child} is given twice")));
        }
        let mut t = describe(&mut conn, &child)?;
        if !t.columns.iter().any(|c| c.name == relation.column) {
            return Err(refused(format!(
                "table {child} has no column {:?}; its columns are: {}",
                relation.column,
                names(&t.columns)
            )));
        }
        t.relation = Some(relation);
        tables.push(t);
    }

    // With --purge-source: a foreign key from a table outside the set into
    // it would make the purge delete (ON DELETE CASCADE) or fail on
    // (RESTRICT) rows that are not archived.
    if purge {
        for fk in &fks {
            let into = tables.iter().any(|t| t.name == fk.to);
            let from_outside = !tables.iter().any(|t| t.name == fk.from);
            if into && from_outside {
                return Err(refused(format!(
                    "table {} has a foreign key ({}) to {}, whose archived rows --purge-source would delete: its rows would be deleted with them (ON DELETE CASCADE) or stop the purge half-way; add it with --db-child {}, or archive without --purge-source",
                    fk.from, fk.from_column, fk.to, fk.from
                )));
            }
            let child_of_child = tables
                .iter()
                .any(|t| t.name == fk.to && t.relation.is_some())
                && tables.iter().any(|t| t.name == fk.from);
            if child_of_child && fk.from != fk.to {
                return Err(refused(format!(
                    "table {} refers to {}, itself a child table: only one level of related tables is supported yet",
                    fk.from, fk.to
                )));
            }
        }
    }

    // Decisions, before any row is read.
    let drop: Vec<ColumnRule> = drop.iter().chain(&req.drop).cloned().collect();
    let keep: Vec<ColumnRule> = keep.iter().chain(&req.keep).cloned().collect();
    for t in &mut tables {
        decide(t, &drop, &keep, &target.url)?;
    }
    for t in tables.iter().filter(|t| t.date_column.is_some()) {
        check_dates(&mut conn, t, window)?;
    }
    for t in &mut tables {
        t.ddl = ddl(&mut conn, &t.name)?;
    }
    let mut plan = DbPlan {
        target,
        name,
        tables,
        conn,
        window: *window,
    };
    // Pass 1.
    for i in 0..plan.tables.len() {
        let (rows, size, sha) = plan.write_table(i, &mut std::io::sink(), None, &[0; 32])?;
        let t = &mut plan.tables[i];
        t.size = size;
        t.sha256 = sha;
        t.rows = rows;
    }
    Ok(plan)
}

fn names(columns: &[Column]) -> String {
    columns
        .iter()
        .map(|c| c.name.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

fn is_date_type(kind: Kind, t: &str) -> bool {
    let t = t.to_ascii_lowercase();
    match kind {
        Kind::Postgres => t == "date" || t.starts_with("timestamp"),
        Kind::Mysql => t == "date" || t.starts_with("datetime") || t.starts_with("timestamp"),
    }
}

/// The table's columns and key, from the server's catalog.
fn describe(conn: &mut Conn, table: &str) -> Result<DbTable> {
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

struct ForeignKey {
    from: String,
    from_column: String,
    to: String,
    to_column: String,
}

/// Every single-column foreign key of the database (schema).
fn foreign_keys(conn: &mut Conn) -> Result<Vec<ForeignKey>> {
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

/// `--drop`/`--keep` for one table: sensitive-looking columns must be
/// decided; a rule for this table alone must name a column it has.
fn decide(t: &mut DbTable, drop: &[ColumnRule], keep: &[ColumnRule], url: &str) -> Result<()> {
    let applies = |r: &&ColumnRule| r.table.as_deref().is_none_or(|n| n == t.name);
    for (rules, kind) in [(drop, "drop"), (keep, "keep")] {
        for r in rules
            .iter()
            .filter(|r| r.table.as_deref() == Some(t.name.as_str()))
        {
            if !t.columns.iter().any(|c| c.name == r.column) {
                return Err(Error::DatabaseRefused {
                    source_url: url.to_owned(),
                    detail: format!(
                        "--{kind} {}:{}: table {} has no column {:?}; its columns are: {}",
                        t.name,
                        r.column,
                        t.name,
                        r.column,
                        names(&t.columns)
                    ),
                });
            }
        }
    }
    let dropped = |c: &str| drop.iter().filter(applies).any(|r| r.column == c);
    let kept = |c: &str| keep.iter().filter(applies).any(|r| r.column == c);
    let undecided: Vec<String> = t
        .columns
        .iter()
        .filter(|c| looks_personal(&c.name) && !dropped(&c.name) && !kept(&c.name))
        .map(|c| c.name.clone())
        .collect();
    if !undecided.is_empty() {
        return Err(Error::UndecidedColumns {
            path: url.into(),
            table: t.name.clone(),
            columns: undecided,
        });
    }
    let key = t.columns[t.key].name.clone();
    if dropped(&key) {
        return Err(Error::DatabaseRefused {
            source_url: url.to_owned(),
            detail: format!(
                "--drop {key}: {key} is the key of table {}, which the archived rows need to be found again",
                t.name
            ),
        });
    }
    t.kept = t.columns.iter().map(|c| !dropped(&c.name)).collect();
    t.dropped = t
        .columns
        .iter()
        .filter(|c| dropped(&c.name))
        .map(|c| c.name.clone())
        .collect();
    t.kept_sensitive = t
        .columns
        .iter()
        .filter(|c| looks_personal(&c.name) && kept(&c.name) && !dropped(&c.name))
        .map(|c| c.name.clone())
        .collect();
    Ok(())
}

/// A root table's date column must hold a date in every row: NULLs and
/// dates outside any sane range are refused, with a count.
fn check_dates(conn: &mut Conn, t: &DbTable, _window: &Window) -> Result<()> {
    let d = conn.ident(t.date_column.as_deref().expect("a root table"));
    let table = conn.ident(&t.name);
    let rows = conn.rows(&format!(
        "SELECT SUM(CASE WHEN {d} IS NULL THEN 1 ELSE 0 END), \
         SUM(CASE WHEN {d} < '1900-01-01' OR {d} >= '2200-01-01' THEN 1 ELSE 0 END) FROM {table}"
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
fn ddl(conn: &mut Conn, table: &str) -> Result<String> {
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

/// The `SELECT` of table `i`'s rows of the year, every column, key order.
fn select_rows(conn: &Conn, tables: &[DbTable], i: usize, window: &Window) -> String {
    let t = &tables[i];
    let exprs = select_list(conn, t);
    let table = conn.ident(&t.name);
    let key = conn.ident(&t.columns[t.key].name);
    let filter = match (&t.date_column, &t.relation) {
        (Some(_), _) => in_year(conn, t, window),
        (None, Some(r)) => {
            let p = &tables[r.parent];
            format!(
                "{} IN (SELECT {} FROM {} WHERE {})",
                conn.ident(&r.column),
                conn.ident(&p.columns[p.key].name),
                conn.ident(&p.name),
                in_year(conn, p, window)
            )
        }
        (None, None) => "FALSE".into(),
    };
    format!("SELECT {exprs} FROM {table} WHERE {filter} ORDER BY {key}")
}

/// The half-open fiscal-year range on a root table's date column.
pub(crate) fn in_year(conn: &Conn, t: &DbTable, window: &Window) -> String {
    let d = conn.ident(t.date_column.as_deref().expect("a root table"));
    let next = window.last.succ_opt().unwrap_or(window.last);
    format!(
        "{d} >= '{}' AND {d} < '{}'",
        window.first.format("%Y-%m-%d"),
        next.format("%Y-%m-%d")
    )
}

/// Every column, binary ones as hex.
pub(crate) fn select_list(conn: &Conn, t: &DbTable) -> String {
    t.columns
        .iter()
        .map(|c| {
            let id = conn.ident(&c.name);
            match (conn.kind, c.binary) {
                // BIT(n) is a number to HEX(): padded to whole bytes.
                (Kind::Mysql, true) => match bit_width(&c.sql_type) {
                    Some(bits) => format!("LOWER(LPAD(HEX({id}), {}, '0'))", bits.div_ceil(8) * 2),
                    None => format!("LOWER(HEX({id}))"),
                },
                _ => id,
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// `bit(n)`'s width.
fn bit_width(sql_type: &str) -> Option<u32> {
    let t = sql_type.to_ascii_lowercase();
    let inner = t.strip_prefix("bit")?;
    match inner.strip_prefix('(').and_then(|r| r.strip_suffix(')')) {
        Some(n) => n.trim().parse().ok(),
        None if inner.is_empty() => Some(1),
        None => None,
    }
}

fn write_header(out: &mut dyn Write, t: &DbTable) -> std::io::Result<()> {
    let mut line = Vec::new();
    let mut first = true;
    for (c, kept) in t.columns.iter().zip(&t.kept) {
        if !kept {
            continue;
        }
        if !first {
            line.push(b',');
        }
        first = false;
        field(&mut line, Some(c.name.as_bytes()), false);
    }
    line.extend_from_slice(b"\r\n");
    out.write_all(&line)
}

/// One row as a CSV record: the kept columns, CRLF.
fn encode_row(line: &mut Vec<u8>, t: &DbTable, values: conn::Values<'_>) {
    let mut first = true;
    for ((c, kept), v) in t.columns.iter().zip(&t.kept).zip(values) {
        if !kept {
            continue;
        }
        if !first {
            line.push(b',');
        }
        first = false;
        // MySQL's binary columns come as hex (selected so); PostgreSQL's
        // bytea prints as \x… already.
        let hex = c.binary && !v.is_some_and(|b| b.starts_with(b"\\x"));
        field(line, *v, hex);
    }
    line.extend_from_slice(b"\r\n");
}

/// One field: NULL empty, the empty string `""`, quoted when it holds a
/// comma, a quote, CR or LF (RFC 4180).
fn field(line: &mut Vec<u8>, v: Option<&[u8]>, hex: bool) {
    let Some(v) = v else {
        return;
    };
    if hex {
        line.extend_from_slice(b"\\x");
        line.extend_from_slice(v);
        return;
    }
    if v.is_empty() {
        line.extend_from_slice(b"\"\"");
        return;
    }
    if v.iter().any(|&b| matches!(b, b',' | b'"' | b'\r' | b'\n')) {
        line.push(b'"');
        for &b in v {
            if b == b'"' {
                line.push(b'"');
            }
            line.push(b);
        }
        line.push(b'"');
    } else {
        line.extend_from_slice(v);
    }
}

/// The keyed hash of a whole row (every column, dropped ones too): NULL
/// and each value's length are part of it, so no two rows share one.
pub(crate) fn row_hash(key: &[u8; 32], values: conn::Values<'_>) -> [u8; 32] {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key).expect("any key length");
    for v in values {
        match v {
            None => mac.update(&[0]),
            Some(b) => {
                mac.update(&[1]);
                mac.update(&(b.len() as u64).to_le_bytes());
                mac.update(b);
            }
        }
    }
    mac.finalize().into_bytes().into()
}

mod hex_bytes {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(v: &[u8; 32], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&crate::format::manifest::hex(v))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<[u8; 32], D::Error> {
        let text = String::deserialize(d)?;
        let mut out = [0u8; 32];
        if text.len() != 64 {
            return Err(serde::de::Error::custom("not 32 bytes of hex"));
        }
        for (i, o) in out.iter_mut().enumerate() {
            *o = u8::from_str_radix(&text[2 * i..2 * i + 2], 16)
                .map_err(serde::de::Error::custom)?;
        }
        Ok(out)
    }
}

/// Rows by table for reports.
pub type RowCounts = BTreeMap<String, u64>;

#[cfg(test)]
mod tests {
    use super::*;

    fn table(binary: bool) -> DbTable {
        DbTable {
            name: "t".into(),
            columns: vec![
                Column {
                    name: "id".into(),
                    sql_type: "int".into(),
                    nullable: false,
                    binary: false,
                },
                Column {
                    name: "note".into(),
                    sql_type: "text".into(),
                    nullable: true,
                    binary,
                },
            ],
            key: 0,
            date_column: None,
            relation: None,
            kept: vec![true, true],
            dropped: vec![],
            kept_sensitive: vec![],
            ddl: String::new(),
            rows: 0,
            size: 0,
            sha256: [0; 32],
        }
    }

    #[test]
    fn rows_are_rfc_4180_with_null_apart_from_the_empty_string() {
        let t = table(false);
        let mut line = Vec::new();
        for values in [
            [Some(&b"1"[..]), None],
            [Some(b"2"), Some(b"")],
            [Some(b"3"), Some(b"a,\"b\"\r\nc")],
        ] {
            encode_row(&mut line, &t, &values);
        }
        assert_eq!(
            String::from_utf8(line).unwrap(),
            "1,\r\n2,\"\"\r\n3,\"a,\"\"b\"\"\r\nc\"\r\n"
        );
        let mut line = Vec::new();
        encode_row(&mut line, &table(true), &[Some(b"4"), Some(b"00ff")]);
        encode_row(&mut line, &table(true), &[Some(b"5"), Some(b"\\x00ff")]);
        assert_eq!(line, b"4,\\x00ff\r\n5,\\x00ff\r\n");
    }

    #[test]
    fn row_hashes_tell_null_empty_and_shifted_values_apart() {
        let k = [7u8; 32];
        let h = |v: &[Option<&[u8]>]| row_hash(&k, v);
        assert_ne!(h(&[None]), h(&[Some(b"")]));
        assert_ne!(h(&[Some(b"ab"), Some(b"c")]), h(&[Some(b"a"), Some(b"bc")]));
        assert_ne!(
            row_hash(&[1; 32], &[Some(b"x")]),
            row_hash(&[2; 32], &[Some(b"x")])
        );
        assert_eq!(h(&[Some(b"x"), None]), h(&[Some(b"x"), None]));
    }
}
