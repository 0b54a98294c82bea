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

mod catalog;
mod conn;
pub mod purge;
mod rows;

use std::collections::BTreeMap;
use std::io::Write;

use serde::{Deserialize, Serialize};

use catalog::{ForeignKey, check_dates, ddl, describe, foreign_keys, is_date_type, names};
pub use conn::{Conn, Kind, Target};
use purge::RowJournal;
use rows::{Columns, encode_row, select_rows, write_header};
pub(crate) use rows::{row_hash, select_list};

use crate::error::{Error, Result};
use crate::format::TABLES_PREFIX;
use crate::format::meta::Minimisation;
use crate::format::spool::Spool;
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

/// Sees each table's CSV while it is exported, before it is spooled: the
/// archive's subject scan reads the rows then, on its own thread, beside
/// the database's reading, rather than after the snapshot, when the
/// archive is written.
pub trait ExportTap {
    /// Table member `member` starts.
    fn begin(&mut self, member: &str) -> std::io::Result<()>;
    /// Its next bytes.
    fn bytes(&mut self, bytes: &[u8]) -> std::io::Result<()>;
    /// It is complete.
    fn end(&mut self) -> std::io::Result<()>;
}

/// The spool's writer, each chunk also shown to the tap.
struct Tapped<'a, W> {
    inner: W,
    tap: &'a mut dyn ExportTap,
}

impl<W: Write> Write for Tapped<'_, W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.tap.bytes(&buf[..n])?;
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// A table's CSV could not be written (to its spool, or to the subject
/// scan beside it).
fn writing_failed(url: &str, table: &str, e: std::io::Error) -> Error {
    Error::LiveDatabase {
        source_url: url.to_owned(),
        detail: format!("writing table {table}: {e}"),
    }
}

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
    /// Rows archived, the member's size and SHA-256 (from the export).
    pub rows: u64,
    pub size: u64,
    #[serde(with = "hex_bytes")]
    pub sha256: [u8; 32],
}

/// A database source, checked by [`check`] with its snapshot open, then
/// read once by [`DbPlan::export`] into spools (encrypted temporary files),
/// from which the archive takes each table's member.
pub struct DbPlan {
    pub target: Target,
    /// `tables/NAME/…`.
    pub name: String,
    pub tables: Vec<DbTable>,
    pub conn: Conn,
    window: Window,
    /// Table `i`'s CSV, once exported.
    spools: Vec<Spool>,
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

    /// The `SELECT` of table `i`'s archived rows, in key order: every
    /// column when the purge journal hashes whole rows, else the kept ones.
    pub(crate) fn select(&self, i: usize, columns: Columns) -> String {
        select_rows(&self.conn, &self.tables, i, &self.window, columns)
    }

    /// Reads every table once, in the snapshot, into a spool of its own
    /// (the archive's tar header needs each member's size before its
    /// content), with each row's key, parent key and keyed hash into
    /// `journal` as table `first + i`, and its CSV shown to `tap`; then
    /// ends the snapshot, so that it is held only while the rows are read.
    pub fn export(
        &mut self,
        first: usize,
        mut journal: Option<&mut RowJournal>,
        hmac_key: &[u8; 32],
        tap: &mut dyn ExportTap,
    ) -> Result<()> {
        for i in 0..self.tables.len() {
            let mut spool = Spool::new()?;
            let (url, name) = (self.target.url.clone(), self.tables[i].name.clone());
            let io = |e| writing_failed(&url, &name, e);
            tap.begin(&self.member(&self.tables[i])).map_err(io)?;
            let (rows, size, sha) = {
                let tapped = Tapped {
                    inner: &mut spool,
                    tap: &mut *tap,
                };
                let mut out = std::io::BufWriter::with_capacity(256 << 10, tapped);
                match journal.as_deref_mut() {
                    Some(j) => {
                        let mut sink = |key: &[u8], parent: Option<&[u8]>, hash: &[u8; 32]| {
                            j.add(first + i, key, parent, hash)
                        };
                        self.write_table(i, &mut out, Some(&mut sink), hmac_key)?
                    }
                    // No purge: no keyed hashes.
                    None => self.write_table(i, &mut out, None, hmac_key)?,
                }
            };
            tap.end().map_err(io)?;
            spool.finish()?;
            let t = &mut self.tables[i];
            (t.rows, t.size, t.sha256) = (rows, size, sha);
            self.spools.push(spool);
        }
        self.conn.commit()
    }

    /// Table `i`'s CSV as [`DbPlan::export`] spooled it.
    pub fn exported(&mut self, i: usize) -> Result<impl std::io::Read + use<>> {
        self.spools[i].reader()
    }

    /// Table `i`'s CSV to `out` and, with `journal`, each row's key (and
    /// parent key) and keyed hash. Returns the rows, the member's size and
    /// SHA-256.
    fn write_table(
        &mut self,
        i: usize,
        out: &mut dyn Write,
        mut journal: Option<&mut RowSink<'_>>,
        hmac_key: &[u8; 32],
    ) -> Result<(u64, u64, [u8; 32])> {
        // Without a journal, the dropped columns are not even read.
        let columns = match journal {
            Some(_) => Columns::All,
            None => Columns::Kept,
        };
        let sql = self.select(i, columns);
        let table = self.tables[i].clone();
        let parent_col = table
            .relation
            .as_ref()
            .and_then(|r| table.columns.iter().position(|c| c.name == r.column));
        let mut hashed = crate::util::hashing::Hashed::new(out);
        let url = self.target.url.clone();
        let io = |e| writing_failed(&url, &table.name, e);
        write_header(&mut hashed, &table).map_err(io)?;
        let mut rows = 0u64;
        let mut line = Vec::new();
        self.conn.each_exported_row(&sql, &mut |values| {
            rows += 1;
            line.clear();
            encode_row(&mut line, &table, values, columns);
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

/// Opens the database and checks every table and decision before any row
/// is read. The snapshot stays open in the returned plan, for
/// [`DbPlan::export`].
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
        check_dates(&mut conn, t)?;
    }
    for t in &mut tables {
        t.ddl = ddl(&mut conn, &t.name)?;
    }
    Ok(DbPlan {
        target,
        name,
        tables,
        conn,
        window: *window,
        spools: Vec::new(),
    })
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
