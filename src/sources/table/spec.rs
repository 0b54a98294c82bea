//! One table with every decision made ([`TableSpec`]): its member name, the
//! column decisions checked against the columns it has, the date column's
//! position; and what a pass found ([`Filtered`], [`TablePlan`], [`TableReport`]).

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::fmt;
use std::path::{Path, PathBuf};

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use super::columns::looks_sensitive;
use super::dates::DateFormat;
use crate::error::{Error, Result};
use crate::format::TABLES_PREFIX;
use crate::format::meta::Minimisation;
use crate::format::writer::Mtime;

/// Where a table's rows come from.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Origin {
    Csv(PathBuf),
    Jsonl(PathBuf),
    Sqlite { db: PathBuf, table: String },
}

impl Origin {
    /// The file the rows are in (the database, for SQLite).
    pub fn path(&self) -> &Path {
        match self {
            Origin::Csv(p) | Origin::Jsonl(p) => p,
            Origin::Sqlite { db, .. } => db,
        }
    }
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Origin::Csv(p) | Origin::Jsonl(p) => write!(f, "{}", p.display()),
            Origin::Sqlite { db, table } => write!(f, "{} (table {table})", db.display()),
        }
    }
}

/// One table, with every decision about it made (kept in the purge journal
/// as JSON).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct TableSpec {
    pub name: String,
    pub origin: Origin,
    pub date_column: String,
    pub dates: DateFormat,
    /// CSV only; `None` detects it from the header line.
    pub delimiter: Option<u8>,
    /// Columns left out.
    pub drop: BTreeSet<String>,
    /// Columns kept on purpose.
    pub keep: BTreeSet<String>,
    /// Columns a rule for this table alone names: they must exist.
    pub required: BTreeSet<String>,
}

/// What one pass over a table found. Equal between passes over an
/// unchanged source.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counts {
    /// Data rows (not the header; blank lines are not rows).
    pub rows: u64,
    /// Rows of the archived fiscal year.
    pub archived: u64,
    /// Rows of other fiscal years, by year.
    pub other_years: BTreeMap<i32, u64>,
    /// Size and SHA-256 of the archived member.
    pub size: u64,
    pub sha256: [u8; 32],
}

/// A pass's result: the counts, and the columns with the decisions taken.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Filtered {
    pub counts: Counts,
    /// Every column, in order (JSON Lines: in order of first appearance).
    pub columns: Vec<String>,
    pub dropped: Vec<String>,
    /// Sensitive-looking columns kept on purpose.
    pub kept_sensitive: Vec<String>,
}

/// The decisions for a table's columns, checked against what it has.
pub(super) struct Decision {
    pub(super) dropped: Vec<String>,
    pub(super) kept_sensitive: Vec<String>,
}

impl TableSpec {
    /// The member the table becomes: `tables/NAME.csv` (`.tsv` for a `.tsv`
    /// file) or `tables/NAME.jsonl`.
    pub fn member(&self) -> String {
        let ext = match &self.origin {
            Origin::Jsonl(_) => "jsonl",
            Origin::Csv(p) if p.extension().is_some_and(|e| e.eq_ignore_ascii_case("tsv")) => "tsv",
            _ => "csv",
        };
        format!("{TABLES_PREFIX}{}.{ext}", self.name)
    }

    pub fn path(&self) -> &Path {
        self.origin.path()
    }

    /// The same table read from another file (the purge's check of its
    /// rewritten copy).
    pub(super) fn at(&self, path: &Path) -> TableSpec {
        let mut spec = self.clone();
        spec.origin = match &self.origin {
            Origin::Csv(_) => Origin::Csv(path.into()),
            Origin::Jsonl(_) => Origin::Jsonl(path.into()),
            o @ Origin::Sqlite { .. } => o.clone(),
        };
        spec
    }

    /// Checks the decisions against the columns: every column a rule for
    /// this table names exists, and every sensitive-looking one is decided.
    pub(super) fn decide(&self, columns: &[String]) -> Result<Decision> {
        if let Some(missing) = self.required.iter().find(|c| !columns.contains(c)) {
            return Err(Error::BadTable {
                path: self.path().into(),
                detail: format!(
                    "table {} has no column {missing:?}; its columns are: {}",
                    self.name,
                    columns.join(", ")
                ),
            });
        }
        let undecided: Vec<String> = unique(columns)
            .filter(|c| looks_sensitive(c) && !self.drop.contains(*c) && !self.keep.contains(*c))
            .cloned()
            .collect();
        if !undecided.is_empty() {
            return Err(Error::UndecidedColumns {
                path: self.path().into(),
                table: self.name.clone(),
                columns: undecided,
            });
        }
        if !columns.is_empty() && columns.iter().all(|c| self.drop.contains(c)) {
            return Err(Error::Usage(format!(
                "every column of table {} would be dropped; keep at least one",
                self.name
            )));
        }
        Ok(Decision {
            dropped: unique(columns)
                .filter(|c| self.drop.contains(*c))
                .cloned()
                .collect(),
            kept_sensitive: unique(columns)
                .filter(|c| looks_sensitive(c) && self.keep.contains(*c))
                .cloned()
                .collect(),
        })
    }

    fn bad_date(&self, place: String, value: &[u8]) -> Error {
        Error::BadDate {
            path: self.path().into(),
            place,
            column: self.date_column.clone(),
            value: String::from_utf8_lossy(value).into_owned(),
            expected: self.dates.describe(),
        }
    }

    /// The date of a row, or the error naming where and what.
    pub(crate) fn row_date(
        &self,
        place: impl FnOnce() -> String,
        value: &[u8],
    ) -> Result<NaiveDate> {
        std::str::from_utf8(value)
            .ok()
            .and_then(|v| self.dates.date(v))
            .ok_or_else(|| self.bad_date(place(), value))
    }

    /// The position of the date column among `columns`, once.
    pub(crate) fn date_index(&self, columns: &[String], what: &str) -> Result<usize> {
        let found: Vec<usize> = columns
            .iter()
            .enumerate()
            .filter(|(_, c)| **c == self.date_column)
            .map(|(i, _)| i)
            .collect();
        match found[..] {
            [i] => Ok(i),
            [] => Err(Error::BadTable {
                path: self.path().into(),
                detail: format!(
                    "{what} has no date column {:?}; its columns are: {}",
                    self.date_column,
                    columns.join(", ")
                ),
            }),
            _ => Err(Error::BadTable {
                path: self.path().into(),
                detail: format!(
                    "{what} has {} columns named {:?}, so the date is ambiguous",
                    found.len(),
                    self.date_column
                ),
            }),
        }
    }

    /// Decisions for the columns of a table whose header is known up front
    /// (CSV, SQLite): the indexes of the kept columns.
    pub(crate) fn decide_header(&self, columns: &[String]) -> Result<(Vec<usize>, Filtered)> {
        let decision = self.decide(columns)?;
        let keep = (0..columns.len())
            .filter(|&i| !self.drop.contains(&columns[i]))
            .collect();
        Ok((
            keep,
            Filtered {
                columns: columns.to_vec(),
                dropped: decision.dropped,
                kept_sensitive: decision.kept_sensitive,
                ..Filtered::default()
            },
        ))
    }
}

fn unique(columns: &[String]) -> impl Iterator<Item = &String> {
    let mut seen = HashSet::new();
    columns.iter().filter(move |c| seen.insert(c.as_str()))
}

/// A table checked by pass 1, ready to be written.
#[derive(Clone, Debug)]
pub struct TablePlan {
    pub spec: TableSpec,
    pub filtered: Filtered,
    /// The source's modification time, given to the member.
    pub mtime: Mtime,
}

impl TablePlan {
    /// What the archive's metadata records about this table.
    pub fn minimisation(&self) -> Minimisation {
        Minimisation {
            table: self.spec.name.clone(),
            dropped: self.filtered.dropped.clone(),
            kept: self.filtered.kept_sensitive.clone(),
        }
    }

    pub fn report(&self) -> TableReport {
        let f = &self.filtered;
        TableReport {
            table: self.spec.name.clone(),
            source: self.spec.origin.to_string(),
            member: self.spec.member(),
            rows_archived: f.counts.archived,
            rows_other_years: f.counts.other_years.clone(),
            columns_kept: unique(&f.columns)
                .filter(|c| !self.spec.drop.contains(*c))
                .cloned()
                .collect(),
            columns_dropped: f.dropped.clone(),
            sensitive_kept: f.kept_sensitive.clone(),
            bytes: f.counts.size,
        }
    }
}

/// What an archive run did with one table.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct TableReport {
    pub table: String,
    pub source: String,
    pub member: String,
    pub rows_archived: u64,
    /// Rows of other fiscal years, by year: left in the source.
    pub rows_other_years: BTreeMap<i32, u64>,
    pub columns_kept: Vec<String>,
    pub columns_dropped: Vec<String>,
    /// Sensitive-looking columns kept on purpose.
    pub sensitive_kept: Vec<String>,
    /// Size of the member in the archive.
    pub bytes: u64,
}
