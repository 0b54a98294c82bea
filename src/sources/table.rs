//! Tabular sources: CSV and JSON Lines exports, and SQLite tables (through
//! [`super::sqlite`]), split into fiscal years by a date column, with the
//! columns no retention duty covers dropped or deliberately kept. The rules
//! are documented for users in docs/TABLES.md.
//!
//! This module owns how a table is read — date formats, delimiter
//! detection, the list of sensitive-looking column names, how `--drop`,
//! `--keep` and the vault's `[tables.NAME]` sections combine — and
//! [`TableSpec::filter`], the one streaming pass that every use of a table
//! runs: the check before anything is written (counting and hashing the
//! member the archive will hold), the write into the archive, and the purge
//! that rewrites the source without the archived rows. The same pass over
//! the same input gives the same bytes, so comparing hashes between the
//! passes detects a source that changed in between. Memory stays flat: one
//! row at a time, a row at most [`MAX_ROW`] bytes.
//!
//! CSV is read by a small RFC 4180 scanner of our own rather than the `csv`
//! crate: the archive keeps every kept field's raw bytes (its quoting
//! included) and the purge copies the other rows' raw bytes, so both need
//! each record's exact byte span, and error messages need the exact line.

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::fmt;
use std::fs::File;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};

use chrono::{DateTime, Datelike, NaiveDate, NaiveDateTime};
use crossbeam_channel::{Receiver, Sender, bounded};
use serde::de::{Deserializer, MapAccess, Visitor};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use sha2::{Digest, Sha256};

use crate::error::{Error, IoContext, Result};
use crate::format::TABLES_PREFIX;
use crate::format::meta::Minimisation;
use crate::format::writer::Mtime;
use crate::progress::Progress;
use crate::retention::{FiscalYearStart, fiscal_year_range};
use crate::util::lines::read_line;

/// The longest row accepted: a longer one is almost always a wrong delimiter
/// or an unclosed quote, and refusing it keeps memory flat.
pub const MAX_ROW: usize = 16 << 20;

/// The most distinct keys a JSON Lines table may have.
pub const MAX_COLUMNS: usize = 10_000;

const BOM: &[u8] = b"\xEF\xBB\xBF";

// ---------------------------------------------------------------------------
// What the user asked for
// ---------------------------------------------------------------------------

/// A `[tables.NAME]` section of the vault config: this table's decisions,
/// so that next year is one command.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TableConfig {
    /// The date column, when `--table` gives none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub date_column: Option<String>,
    /// A chrono strftime format, or `unix`; `--date-format` overrides it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub date_format: Option<String>,
    /// CSV delimiter (`,` `;` `tab` `|` …); `--delimiter` overrides it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delimiter: Option<String>,
    /// Columns left out of the archive.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub drop: Vec<String>,
    /// Sensitive-looking columns kept on purpose.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub keep: Vec<String>,
}

/// Where a table's rows come from.
#[derive(Clone, Debug, PartialEq, Eq)]
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

/// One `--table` as given on the command line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TableArg {
    pub origin: Origin,
    pub date_column: Option<String>,
}

impl TableArg {
    /// Parses `FILE[:DATECOLUMN]`, split at the last `:` (a value that names
    /// an existing file as a whole has no date column). With `sqlite`, a
    /// `NAME[:DATECOLUMN]` whose NAME is not an existing file is a table of
    /// that database. `.jsonl` and `.ndjson` files are JSON Lines; every
    /// other file is CSV.
    pub fn parse(spec: &str, sqlite: Option<&Path>) -> TableArg {
        let (target, date_column) = if Path::new(spec).is_file() {
            (spec, None)
        } else {
            match spec.rsplit_once(':') {
                Some((t, c)) if !t.is_empty() && !c.is_empty() => (t, Some(c.to_owned())),
                _ => (spec, None),
            }
        };
        let path = PathBuf::from(target);
        let origin = match sqlite {
            Some(db) if !path.exists() => Origin::Sqlite {
                db: db.to_path_buf(),
                table: target.to_owned(),
            },
            _ => {
                let ext = path
                    .extension()
                    .map(|e| e.to_string_lossy().to_ascii_lowercase())
                    .unwrap_or_default();
                if ext == "jsonl" || ext == "ndjson" {
                    Origin::Jsonl(path)
                } else {
                    Origin::Csv(path)
                }
            }
        };
        TableArg {
            origin,
            date_column,
        }
    }
}

/// A `--drop` or `--keep`: a column of every table, or (`TABLE:COLUMN`,
/// split at the last `:`) of one table, named by its name or its file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ColumnRule {
    pub table: Option<String>,
    pub column: String,
}

impl ColumnRule {
    pub fn parse(text: &str) -> ColumnRule {
        match text.rsplit_once(':') {
            Some((t, c)) if !t.is_empty() && !c.is_empty() => ColumnRule {
                table: Some(t.to_owned()),
                column: c.to_owned(),
            },
            _ => ColumnRule {
                table: None,
                column: text.to_owned(),
            },
        }
    }

    fn flag(&self, kind: &str) -> String {
        match &self.table {
            Some(t) => format!("--{kind} {t}:{}", self.column),
            None => format!("--{kind} {}", self.column),
        }
    }
}

/// The tables of one archive and the decisions that apply to them.
#[derive(Clone, Debug, Default)]
pub struct TableOptions {
    pub tables: Vec<TableArg>,
    pub drop: Vec<ColumnRule>,
    pub keep: Vec<ColumnRule>,
    /// `--delimiter`: for every CSV table (else each table's config, else
    /// detected from its header line).
    pub delimiter: Option<u8>,
    /// `--date-format`: for every table (else each table's config, else the
    /// automatic formats).
    pub date_format: Option<String>,
}

impl TableOptions {
    pub fn is_empty(&self) -> bool {
        self.tables.is_empty()
    }

    /// Combines the command line with the vault's `[tables.NAME]` sections
    /// into one [`TableSpec`] per table. The command line wins over the
    /// config; a column both dropped and kept at the same level is refused.
    pub fn resolve(&self, config: &BTreeMap<String, TableConfig>) -> Result<Vec<TableSpec>> {
        let mut specs: Vec<TableSpec> = Vec::new();
        for arg in &self.tables {
            let name = table_name(&arg.origin)?;
            if let Some(other) = specs.iter().find(|s| s.name == name) {
                return Err(Error::Usage(format!(
                    "{} and {} would both be archived as table {name}; rename one of the files",
                    other.origin, arg.origin
                )));
            }
            let cfg = config.get(&name).cloned().unwrap_or_default();
            let date_column = arg
                .date_column
                .clone()
                .or_else(|| cfg.date_column.clone())
                .ok_or_else(|| {
                    Error::Usage(format!(
                        "no date column for {}: give --table {}:COLUMN, or set date_column under [tables.{name}] in the vault config",
                        arg.origin,
                        arg.origin.path().display()
                    ))
                })?;
            let dates = match (&self.date_format, &cfg.date_format) {
                (Some(f), _) | (None, Some(f)) => DateFormat::parse(f)?,
                (None, None) => DateFormat::Auto,
            };
            let delimiter = match (self.delimiter, &cfg.delimiter) {
                (Some(d), _) => Some(d),
                (None, Some(text)) => Some(parse_delimiter(text).map_err(|e| {
                    Error::Usage(format!(
                        "[tables.{name}] delimiter in the vault config: {e}"
                    ))
                })?),
                (None, None) => None,
            };
            let conflict =
                |drop: &BTreeSet<String>, keep: &BTreeSet<String>, where_: &str| match drop
                    .intersection(keep)
                    .next()
                {
                    Some(c) => Err(Error::Usage(format!(
                        "column {c:?} of table {name} is both dropped and kept {where_}; decide one"
                    ))),
                    None => Ok(()),
                };
            let mut drop: BTreeSet<String> = cfg.drop.iter().cloned().collect();
            let mut keep: BTreeSet<String> = cfg.keep.iter().cloned().collect();
            conflict(&drop, &keep, "in the vault config")?;
            let applies = |r: &ColumnRule| match &r.table {
                None => true,
                Some(t) => names_table(t, &name, &arg.origin),
            };
            let cli_drop: BTreeSet<String> = self
                .drop
                .iter()
                .filter(|r| applies(r))
                .map(|r| r.column.clone())
                .collect();
            let cli_keep: BTreeSet<String> = self
                .keep
                .iter()
                .filter(|r| applies(r))
                .map(|r| r.column.clone())
                .collect();
            conflict(&cli_drop, &cli_keep, "on the command line")?;
            for c in &cli_drop {
                keep.remove(c);
                drop.insert(c.clone());
            }
            for c in &cli_keep {
                drop.remove(c);
                keep.insert(c.clone());
            }
            let required = self
                .drop
                .iter()
                .chain(&self.keep)
                .filter(|r| r.table.is_some() && applies(r))
                .map(|r| r.column.clone())
                .collect();
            specs.push(TableSpec {
                name,
                origin: arg.origin.clone(),
                date_column,
                dates,
                delimiter,
                drop,
                keep,
                required,
            });
        }
        for rule in self.drop.iter().chain(&self.keep) {
            if let Some(t) = &rule.table
                && !specs.iter().any(|s| names_table(t, &s.name, &s.origin))
            {
                let kind = if self.drop.contains(rule) {
                    "drop"
                } else {
                    "keep"
                };
                return Err(Error::Usage(format!(
                    "{}: no table {t:?} is being archived (tables: {})",
                    rule.flag(kind),
                    specs
                        .iter()
                        .map(|s| s.name.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                )));
            }
        }
        Ok(specs)
    }

    /// After the check: a rule for every table that names a column no table
    /// has is almost certainly a typo.
    pub fn check_unused(&self, plans: &[TablePlan]) -> Result<()> {
        for (rules, kind) in [(&self.drop, "drop"), (&self.keep, "keep")] {
            for rule in rules.iter().filter(|r| r.table.is_none()) {
                if !plans
                    .iter()
                    .any(|p| p.filtered.columns.contains(&rule.column))
                {
                    return Err(Error::Usage(format!(
                        "{}: no table has a column {:?} ({})",
                        rule.flag(kind),
                        rule.column,
                        plans
                            .iter()
                            .map(|p| format!("{}: {}", p.spec.name, p.filtered.columns.join(", ")))
                            .collect::<Vec<_>>()
                            .join("; ")
                    )));
                }
            }
        }
        Ok(())
    }
}

/// Whether a rule's `TABLE` part names this table: its name, or its file.
fn names_table(rule_table: &str, name: &str, origin: &Origin) -> bool {
    if rule_table == name {
        return true;
    }
    match origin {
        Origin::Csv(p) | Origin::Jsonl(p) => {
            let given = Path::new(rule_table);
            given == p
                || matches!((given.canonicalize(), p.canonicalize()), (Ok(a), Ok(b)) if a == b)
        }
        Origin::Sqlite { .. } => false,
    }
}

/// A table's name: the file name without its extension, or the SQLite
/// table's name. It names the member (`tables/NAME.csv`) and the config
/// section (`[tables.NAME]`).
fn table_name(origin: &Origin) -> Result<String> {
    let name = match origin {
        Origin::Csv(p) | Origin::Jsonl(p) => p
            .file_stem()
            .and_then(|s| s.to_str())
            .map(str::to_owned)
            .ok_or_else(|| Error::BadSource {
                path: p.clone(),
                detail:
                    "a table's file name must be valid UTF-8 (it names the table in the archive)"
                        .into(),
            })?,
        Origin::Sqlite { table, .. } => table.clone(),
    };
    let ok = !name.is_empty()
        && name.len() <= 200
        && !name.starts_with('.')
        && !name.contains(['/', '\\', '\0'])
        && !name.chars().any(char::is_control);
    if !ok {
        return Err(Error::BadSource {
            path: origin.path().to_path_buf(),
            detail: format!(
                "{name:?} cannot name a table in the archive: use a name without /, control characters or a leading dot"
            ),
        });
    }
    Ok(name)
}

// ---------------------------------------------------------------------------
// Dates and fiscal years
// ---------------------------------------------------------------------------

/// How the values of a date column are read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DateFormat {
    /// `YYYY-MM-DD`; ISO 8601 date-times (`T` or a space, optional seconds,
    /// fraction, `Z` or offset); `DD-MM-YYYY` and `DD/MM/YYYY` (day first,
    /// never month first), optionally followed by ` HH:MM[:SS]`.
    Auto,
    /// Whole seconds since 1970-01-01 UTC; the date is the UTC date.
    Unix,
    /// A chrono strftime format.
    Strftime(String),
}

impl DateFormat {
    /// `auto`, `unix`, or a chrono strftime format such as `%m/%d/%Y`.
    pub fn parse(text: &str) -> Result<DateFormat> {
        match text {
            "auto" => Ok(DateFormat::Auto),
            "unix" => Ok(DateFormat::Unix),
            f => {
                let bad = |why: &str| {
                    Error::Usage(format!(
                        "date format {f:?} {why}: give a chrono strftime format such as %d.%m.%Y, or `unix`"
                    ))
                };
                chrono::format::StrftimeItems::new(f)
                    .parse()
                    .map_err(|_| bad("is not valid"))?;
                if !["%Y", "%y", "%G", "%F", "%D", "%x", "%C", "%c", "%+", "%s"]
                    .iter()
                    .any(|s| f.contains(s))
                {
                    return Err(bad("has no year"));
                }
                Ok(DateFormat::Strftime(f.to_owned()))
            }
        }
    }

    /// The calendar date a value stands for, or `None`. A date-time with an
    /// offset gives the date as written in its own offset, never converted
    /// to UTC: `2019-12-31T23:30:00-05:00` is 31 December 2019.
    pub fn date(&self, value: &str) -> Option<NaiveDate> {
        let t = value.trim();
        match self {
            DateFormat::Auto => auto_date(t),
            DateFormat::Unix => t
                .parse::<i64>()
                .ok()
                .and_then(|s| DateTime::from_timestamp(s, 0))
                .map(|d| d.date_naive()),
            DateFormat::Strftime(f) => NaiveDate::parse_from_str(t, f)
                .ok()
                .or_else(|| NaiveDateTime::parse_from_str(t, f).ok().map(|d| d.date()))
                .or_else(|| DateTime::parse_from_str(t, f).ok().map(|d| d.date_naive())),
        }
    }

    fn describe(&self) -> String {
        match self {
            DateFormat::Auto => "dates are read as YYYY-MM-DD, ISO 8601 date-times, DD-MM-YYYY or DD/MM/YYYY (day first); give --date-format for another form".into(),
            DateFormat::Unix => "dates are read as Unix seconds (--date-format unix)".into(),
            DateFormat::Strftime(f) => format!("dates are read with --date-format {f}"),
        }
    }
}

fn number(b: &[u8]) -> Option<u32> {
    if b.is_empty() || b.len() > 4 || !b.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(b.iter().fold(0, |n, d| n * 10 + u32::from(d - b'0')))
}

fn auto_date(t: &str) -> Option<NaiveDate> {
    let b = t.as_bytes();
    if b.len() >= 10 && b[4] == b'-' && b[7] == b'-' {
        let date = NaiveDate::from_ymd_opt(
            number(&b[..4])? as i32,
            number(&b[5..7])?,
            number(&b[8..10])?,
        )?;
        return (b.len() == 10 || iso_time(&b[10..])).then_some(date);
    }
    let (date_part, time_part) = match t.split_once(' ') {
        Some((d, rest)) => (d, Some(rest.trim_start())),
        None => (t, None),
    };
    let sep = if date_part.contains('-') {
        '-'
    } else if date_part.contains('/') {
        '/'
    } else {
        return None;
    };
    let mut parts = date_part.split(sep);
    let (d, m, y) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() || d.len() > 2 || m.len() > 2 || y.len() != 4 {
        return None;
    }
    let date = NaiveDate::from_ymd_opt(
        number(y.as_bytes())? as i32,
        number(m.as_bytes())?,
        number(d.as_bytes())?,
    )?;
    match time_part {
        None => Some(date),
        Some(tp) => {
            let b = tp.as_bytes();
            let n = clock(b)?;
            (n == b.len()).then_some(date)
        }
    }
}

/// `HH:MM[:SS]` at the start of `b`: how many bytes it takes.
fn clock(b: &[u8]) -> Option<usize> {
    let two = |i: usize, max: u32| {
        b.get(i..i + 2)
            .and_then(number)
            .filter(|&n| n <= max)
            .is_some()
    };
    if !(two(0, 23) && b.get(2) == Some(&b':') && two(3, 59)) {
        return None;
    }
    if b.get(5) == Some(&b':') {
        two(6, 60).then_some(8)
    } else {
        Some(5)
    }
}

/// The rest of an ISO 8601 date-time after the date: `T` (or a space),
/// `HH:MM[:SS[.fraction]]`, then nothing, `Z`, or `±HH[[:]MM]`.
fn iso_time(b: &[u8]) -> bool {
    if !matches!(b.first(), Some(b'T' | b't' | b' ')) {
        return false;
    }
    let b = &b[1..];
    let Some(mut i) = clock(b) else { return false };
    if i == 8 && matches!(b.get(8), Some(b'.' | b',')) {
        let digits = b[9..].iter().take_while(|c| c.is_ascii_digit()).count();
        if digits == 0 {
            return false;
        }
        i = 9 + digits;
    }
    let rest = &b[i..];
    match rest {
        [] | [b'Z' | b'z'] => true,
        [b'+' | b'-', tz @ ..] => {
            let hh = |x: &[u8]| number(x).is_some_and(|n| n <= 23);
            let mm = |x: &[u8]| number(x).is_some_and(|n| n <= 59);
            match tz.len() {
                2 => hh(tz),
                4 => hh(&tz[..2]) && mm(&tz[2..]),
                5 => hh(&tz[..2]) && tz[2] == b':' && mm(&tz[3..]),
                _ => false,
            }
        }
        _ => false,
    }
}

/// The fiscal year a date falls in: fiscal year `Y` starts on `start` in
/// calendar year `Y` (see [`fiscal_year_range`]).
pub fn fiscal_year_of(date: NaiveDate, start: FiscalYearStart) -> i32 {
    if (date.month(), date.day()) >= (start.month, start.day) {
        date.year()
    } else {
        date.year() - 1
    }
}

/// The fiscal year being archived.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Window {
    pub year: i32,
    pub first: NaiveDate,
    pub last: NaiveDate,
    start: FiscalYearStart,
}

impl Window {
    /// # Panics
    /// As [`fiscal_year_range`]: for a year the policy would refuse.
    pub fn new(year: i32, start: FiscalYearStart) -> Window {
        let (first, last) = fiscal_year_range(year, start);
        Window {
            year,
            first,
            last,
            start,
        }
    }

    pub fn contains(&self, date: NaiveDate) -> bool {
        self.first <= date && date <= self.last
    }

    /// `None` for a date in the archived year; else its fiscal year.
    pub fn other_year(&self, date: NaiveDate) -> Option<i32> {
        (!self.contains(date)).then(|| fiscal_year_of(date, self.start))
    }
}

// ---------------------------------------------------------------------------
// Sensitive-looking column names
// ---------------------------------------------------------------------------

/// Found anywhere in a column name once it is lowercased and its separators
/// (`_`, `-`, spaces, camelCase humps) are removed. docs/TABLES.md lists the
/// same; keep them in step.
pub const SENSITIVE_PHRASES: &[&str] = &[
    // credentials
    "password",
    "passwd",
    "passphrase",
    "wachtwoord",
    "passwort",
    "hash",
    "token",
    "secret",
    "apikey",
    "privatekey",
    // birth dates
    "birthdate",
    "dateofbirth",
    "birthday",
    "geboortedatum",
    "geboortedag",
    "geburtsdatum",
    // national identification numbers
    "socialsecurity",
    "burgerservicenummer",
    "sofinummer",
    "nationalinsurance",
    "nationalid",
    "identitycard",
    "identiteitskaart",
    "passport",
    "paspoort",
    "documentnumber",
    "documentnummer",
    "driverslicense",
    "driverlicense",
    "rijbewijs",
    // payment cards (IBAN is not here: bookkeeping needs it)
    "creditcard",
    "cardnumber",
    "kaartnummer",
    "securitycode",
];

/// Found where a word of a column name starts (`id_number`, `IdCard`, but
/// not `paid_number`).
pub const SENSITIVE_WORD_STARTS: &[&str] = &["idnumber", "idnummer", "idnr", "idcard", "pincode"];

/// Matched as a whole word of a column name.
pub const SENSITIVE_WORDS: &[&str] = &[
    "bsn", "ssn", "dob", "pin", "pwd", "pw", "otp", "salt", "cvv", "cvc", "cvv2", "nin", "sofi",
];

/// The words of a column name, lowercased: split at anything that is not a
/// letter or digit and between a lowercase letter or digit and an
/// uppercase letter (`birthDate` → `birth`, `date`).
fn words(name: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut word = String::new();
    let mut prev_lower = false;
    for c in name.chars() {
        if !c.is_alphanumeric() {
            if !word.is_empty() {
                out.push(std::mem::take(&mut word));
            }
            prev_lower = false;
            continue;
        }
        if c.is_uppercase() && prev_lower && !word.is_empty() {
            out.push(std::mem::take(&mut word));
        }
        prev_lower = c.is_lowercase() || c.is_ascii_digit();
        word.extend(c.to_lowercase());
    }
    if !word.is_empty() {
        out.push(word);
    }
    out
}

/// Whether a column name looks like data no retention duty covers
/// (passwords, birth dates, national id numbers, card data, …), which
/// must then be dropped or kept on purpose.
pub fn looks_sensitive(column: &str) -> bool {
    let words = words(column);
    let joined = words.concat();
    let mut starts = Vec::with_capacity(words.len());
    let mut at = 0;
    for w in &words {
        starts.push(at);
        at += w.len();
    }
    words.iter().any(|w| SENSITIVE_WORDS.contains(&w.as_str()))
        || SENSITIVE_PHRASES.iter().any(|p| joined.contains(p))
        || starts.iter().any(|&s| {
            SENSITIVE_WORD_STARTS
                .iter()
                .any(|p| joined[s..].starts_with(p))
        })
}

// ---------------------------------------------------------------------------
// Delimiters
// ---------------------------------------------------------------------------

/// The delimiters detected from a header line.
pub const DELIMITERS: [u8; 4] = [b',', b';', b'\t', b'|'];

fn delimiter_name(d: u8) -> String {
    match d {
        b'\t' => "tabs".into(),
        b',' => "commas".into(),
        b';' => "semicolons".into(),
        b'|' => "pipes".into(),
        other => format!("{:?}", other as char),
    }
}

/// The delimiter a header line uses: the one of `,` `;` tab `|` it holds
/// most often outside quotes. A line with none is one column (`,`); a tie
/// is refused rather than guessed.
pub fn detect_delimiter(head: &[u8]) -> std::result::Result<u8, String> {
    let mut counts = [0usize; DELIMITERS.len()];
    let mut quoted = false;
    for &b in head {
        match b {
            b'"' => quoted = !quoted,
            b'\r' | b'\n' if !quoted => break,
            _ if !quoted => {
                if let Some(i) = DELIMITERS.iter().position(|&d| d == b) {
                    counts[i] += 1;
                }
            }
            _ => {}
        }
    }
    let max = counts.iter().copied().max().unwrap_or(0);
    if max == 0 {
        return Ok(b',');
    }
    let best: Vec<u8> = DELIMITERS
        .iter()
        .zip(counts)
        .filter(|&(_, n)| n == max)
        .map(|(&d, _)| d)
        .collect();
    if best.len() > 1 {
        return Err(format!(
            "the header line has as many {} as {}, so the delimiter is unclear: give --delimiter",
            delimiter_name(best[0]),
            delimiter_name(best[1])
        ));
    }
    Ok(best[0])
}

/// A `--delimiter` value: one ASCII character, or `tab`, `comma`,
/// `semicolon`, `pipe`, `\t`.
pub fn parse_delimiter(text: &str) -> std::result::Result<u8, String> {
    let d = match text {
        "tab" | "\\t" | "\t" => b'\t',
        "comma" => b',',
        "semicolon" => b';',
        "pipe" => b'|',
        t if t.len() == 1 && t.is_ascii() => t.as_bytes()[0],
        t => {
            return Err(format!(
                "delimiter {t:?} is not one ASCII character or `tab`"
            ));
        }
    };
    if matches!(d, b'"' | b'\r' | b'\n') || d.is_ascii_alphanumeric() {
        return Err(format!("{:?} cannot be a delimiter", d as char));
    }
    Ok(d)
}

// ---------------------------------------------------------------------------
// A table to archive, and the pass that reads it
// ---------------------------------------------------------------------------

/// One table, with every decision about it made.
#[derive(Clone, Debug)]
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
#[derive(Clone, Debug, Default, PartialEq, Eq)]
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
struct Decision {
    dropped: Vec<String>,
    kept_sensitive: Vec<String>,
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
    fn at(&self, path: &Path) -> TableSpec {
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
    fn decide(&self, columns: &[String]) -> Result<Decision> {
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

    /// One pass over the table: every row is read and its date parsed;
    /// the rows of `window`'s fiscal year, without the dropped columns, go
    /// to `member` (the bytes the archive holds); with `rest`, every other
    /// byte of the source (header, other years' rows, blank lines) goes
    /// there unchanged, which is the source without the archived rows.
    ///
    /// # Errors
    /// [`Error::BadTable`] for a missing date column or a malformed row,
    /// [`Error::BadDate`] for a date that cannot be read,
    /// [`Error::UndecidedColumns`], [`Error::Database`] for SQLite.
    pub fn filter(
        &self,
        window: &Window,
        member: &mut dyn Write,
        rest: Option<&mut dyn Write>,
        progress: &dyn Progress,
    ) -> Result<Filtered> {
        let mut hashed = Hashed::new(member);
        let mut filtered = match &self.origin {
            Origin::Csv(path) => self.filter_csv(path, window, &mut hashed, rest, progress)?,
            Origin::Jsonl(path) => self.filter_jsonl(path, window, &mut hashed, rest, progress)?,
            Origin::Sqlite { db, table } => {
                let conn = super::sqlite::open(db, false)?;
                super::sqlite::filter(&conn, self, db, table, window, &mut hashed)?
            }
        };
        hashed.flush().at(self.path())?;
        filtered.counts.size = hashed.len;
        filtered.counts.sha256 = hashed.hasher.finalize().into();
        Ok(filtered)
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

    fn filter_csv(
        &self,
        path: &Path,
        window: &Window,
        member: &mut dyn Write,
        mut rest: Option<&mut dyn Write>,
        progress: &dyn Progress,
    ) -> Result<Filtered> {
        let file = File::open(path).at(path)?;
        let mut input = BufReader::with_capacity(
            256 << 10,
            ProgressRead {
                inner: file,
                progress,
            },
        );
        let bom = peek(&mut input, BOM.len()).at(path)? == BOM;
        if bom {
            input.consume(BOM.len());
            member.write_all(BOM).at(path)?;
            if let Some(r) = rest.as_mut() {
                r.write_all(BOM).at(path)?;
            }
        }
        let delimiter = match self.delimiter {
            Some(d) => d,
            None => {
                let head = input.fill_buf().at(path)?;
                detect_delimiter(head).map_err(|detail| Error::BadTable {
                    path: path.into(),
                    detail,
                })?
            }
        };
        let mut scanner = CsvScanner {
            input,
            delimiter,
            line: 1,
        };
        let scan_error = |e: ScanError| match e {
            ScanError::Io(e) => Error::io(path, e),
            ScanError::Malformed { line, detail } => Error::BadTable {
                path: path.into(),
                detail: format!("line {line}: {detail}"),
            },
        };
        let mut rec = RawRecord::default();
        loop {
            if !scanner.next(&mut rec).map_err(scan_error)? {
                return Err(Error::BadTable {
                    path: path.into(),
                    detail: "is empty: a CSV table needs a header line naming its columns".into(),
                });
            }
            if !rec.is_blank() {
                break;
            }
            // Blank lines before the header stay in the source.
            if let Some(r) = rest.as_mut() {
                r.write_all(&rec.raw).at(path)?;
            }
        }
        let columns = (0..rec.fields.len())
            .map(|i| {
                String::from_utf8(rec.value(i).into_owned()).map_err(|_| Error::BadTable {
                    path: path.into(),
                    detail: format!(
                        "line {}: column {} has a name that is not UTF-8",
                        rec.line,
                        i + 1
                    ),
                })
            })
            .collect::<Result<Vec<_>>>()?;
        let date_at = self.date_index(&columns, "the header line")?;
        let (keep, mut filtered) = self.decide_header(&columns)?;
        let all = keep.len() == columns.len();
        rec.write_fields(member, &keep, delimiter, all).at(path)?;
        if let Some(r) = rest.as_mut() {
            r.write_all(&rec.raw).at(path)?;
        }
        let counts = &mut filtered.counts;
        while scanner.next(&mut rec).map_err(scan_error)? {
            if rec.is_blank() {
                if let Some(r) = rest.as_mut() {
                    r.write_all(&rec.raw).at(path)?;
                }
                continue;
            }
            counts.rows += 1;
            if rec.fields.len() != columns.len() {
                return Err(Error::BadTable {
                    path: path.into(),
                    detail: format!(
                        "line {}: the row has {} fields, the header {}{}",
                        rec.line,
                        rec.fields.len(),
                        columns.len(),
                        if rec.fields.len() == 1 {
                            " (is the delimiter right? give --delimiter)"
                        } else {
                            ""
                        }
                    ),
                });
            }
            let line = rec.line;
            let date = self.row_date(|| format!("line {line}"), &rec.value(date_at))?;
            match window.other_year(date) {
                None => {
                    counts.archived += 1;
                    rec.write_fields(member, &keep, delimiter, all).at(path)?;
                }
                Some(year) => {
                    *counts.other_years.entry(year).or_default() += 1;
                    if let Some(r) = rest.as_mut() {
                        r.write_all(&rec.raw).at(path)?;
                    }
                }
            }
        }
        Ok(filtered)
    }

    fn filter_jsonl(
        &self,
        path: &Path,
        window: &Window,
        member: &mut dyn Write,
        mut rest: Option<&mut dyn Write>,
        progress: &dyn Progress,
    ) -> Result<Filtered> {
        let file = File::open(path).at(path)?;
        let mut input = BufReader::with_capacity(
            256 << 10,
            ProgressRead {
                inner: file,
                progress,
            },
        );
        // JSON Lines has no BOM; one is accepted, kept in the source and
        // left out of the archived member.
        if peek(&mut input, BOM.len()).at(path)? == BOM {
            input.consume(BOM.len());
            if let Some(r) = rest.as_mut() {
                r.write_all(BOM).at(path)?;
            }
        }
        let mut columns: Vec<String> = Vec::new();
        let mut seen: HashSet<String> = HashSet::new();
        let mut counts = Counts::default();
        let mut raw = Vec::new();
        let mut line = 0u64;
        while read_line(&mut input, &mut raw, MAX_ROW).map_err(|e| {
            if e.kind() == io::ErrorKind::InvalidData {
                Error::BadTable {
                    path: path.into(),
                    detail: format!("line {}: {e}", line + 1),
                }
            } else {
                Error::io(path, e)
            }
        })? {
            line += 1;
            let content_len = raw.len()
                - raw
                    .iter()
                    .rev()
                    .take_while(|&&b| b == b'\n' || b == b'\r')
                    .count();
            let (content, terminator) = raw.split_at(content_len);
            if content.iter().all(u8::is_ascii_whitespace) {
                if let Some(r) = rest.as_mut() {
                    r.write_all(&raw).at(path)?;
                }
                continue;
            }
            counts.rows += 1;
            let members: Members<'_> =
                serde_json::from_slice(content).map_err(|e| Error::BadTable {
                    path: path.into(),
                    detail: format!("line {line} is not a JSON object ({e})"),
                })?;
            let mut date_value: Option<&RawValue> = None;
            let mut has_dropped = false;
            for (key, value) in &members.0 {
                if !seen.contains(key.as_ref()) {
                    if seen.len() >= MAX_COLUMNS {
                        return Err(Error::BadTable {
                            path: path.into(),
                            detail: format!("line {line}: more than {MAX_COLUMNS} distinct keys"),
                        });
                    }
                    seen.insert(key.to_string());
                    columns.push(key.to_string());
                }
                has_dropped |= self.drop.contains(key.as_ref());
                if *key == self.date_column {
                    if date_value.is_some() {
                        return Err(Error::BadTable {
                            path: path.into(),
                            detail: format!(
                                "line {line} has {:?} twice, so its date is ambiguous",
                                self.date_column
                            ),
                        });
                    }
                    date_value = Some(value);
                }
            }
            let Some(value) = date_value else {
                return Err(Error::BadTable {
                    path: path.into(),
                    detail: format!("line {line} has no date column {:?}", self.date_column),
                });
            };
            let text: Cow<'_, str> = match value.get().as_bytes().first() {
                Some(b'"') => {
                    Cow::Owned(serde_json::from_str::<String>(value.get()).unwrap_or_default())
                }
                _ => Cow::Borrowed(value.get()),
            };
            let date = self.row_date(|| format!("line {line}"), text.as_bytes())?;
            match window.other_year(date) {
                None => {
                    counts.archived += 1;
                    if has_dropped {
                        write_object(member, &members, &self.drop).at(path)?;
                        member.write_all(terminator).at(path)?;
                    } else {
                        member.write_all(&raw).at(path)?;
                    }
                }
                Some(year) => {
                    *counts.other_years.entry(year).or_default() += 1;
                    if let Some(r) = rest.as_mut() {
                        r.write_all(&raw).at(path)?;
                    }
                }
            }
        }
        let decision = self.decide(&columns)?;
        Ok(Filtered {
            counts,
            columns,
            dropped: decision.dropped,
            kept_sensitive: decision.kept_sensitive,
        })
    }

    /// Pass 1: reads the whole table before anything is written; refuses
    /// bad input; says what the archive will hold.
    pub fn check(&self, window: &Window, progress: &dyn Progress) -> Result<TablePlan> {
        let mtime = std::fs::metadata(self.path())
            .and_then(|m| m.modified())
            .map(Mtime::from_system)
            .at(self.path())?;
        let filtered = self.filter(window, &mut io::sink(), None, progress)?;
        Ok(TablePlan {
            spec: self.clone(),
            filtered,
            mtime,
        })
    }

    /// The purge's check of a rewritten source: it must hold no row of the
    /// archived year and exactly `rows` rows.
    pub(crate) fn check_rewritten(&self, path: &Path, window: &Window, rows: u64) -> Result<bool> {
        let again =
            self.at(path)
                .filter(window, &mut io::sink(), None, &crate::progress::Silent)?;
        Ok(again.counts.archived == 0 && again.counts.rows == rows)
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

// ---------------------------------------------------------------------------
// CSV scanning
// ---------------------------------------------------------------------------

/// One CSV record as it is in the file.
#[derive(Default)]
struct RawRecord {
    /// Its bytes, terminator included.
    raw: Vec<u8>,
    /// Each field's span in `raw`, quotes included, delimiters excluded.
    fields: Vec<(usize, usize)>,
    /// Where the terminator starts.
    content_end: usize,
    /// The line it starts on (1-based).
    line: u64,
}

impl RawRecord {
    fn is_blank(&self) -> bool {
        self.content_end == 0
    }

    fn field_raw(&self, i: usize) -> &[u8] {
        let (s, e) = self.fields[i];
        &self.raw[s..e]
    }

    /// A field's value: without its quotes, `""` read as `"`.
    fn value(&self, i: usize) -> Cow<'_, [u8]> {
        let f = self.field_raw(i);
        if f.len() >= 2 && f[0] == b'"' {
            let inner = &f[1..f.len() - 1];
            if inner.contains(&b'"') {
                let mut v = Vec::with_capacity(inner.len());
                let mut i = 0;
                while i < inner.len() {
                    v.push(inner[i]);
                    i += if inner[i] == b'"' { 2 } else { 1 };
                }
                return Cow::Owned(v);
            }
            return Cow::Borrowed(inner);
        }
        Cow::Borrowed(f)
    }

    /// The kept fields, each with its raw bytes, joined by the delimiter,
    /// and the record's own terminator. A record that would be a lone
    /// empty field is written `""`, which CSV readers do not skip as a
    /// blank line.
    fn write_fields(
        &self,
        out: &mut dyn Write,
        keep: &[usize],
        delimiter: u8,
        all: bool,
    ) -> io::Result<()> {
        if all && !(keep.len() == 1 && self.field_raw(keep[0]).is_empty()) {
            return out.write_all(&self.raw);
        }
        if keep.len() == 1 && self.field_raw(keep[0]).is_empty() {
            out.write_all(b"\"\"")?;
        } else {
            for (n, &i) in keep.iter().enumerate() {
                if n > 0 {
                    out.write_all(&[delimiter])?;
                }
                out.write_all(self.field_raw(i))?;
            }
        }
        out.write_all(&self.raw[self.content_end..])
    }
}

enum ScanError {
    Io(io::Error),
    Malformed { line: u64, detail: String },
}

impl From<io::Error> for ScanError {
    fn from(e: io::Error) -> Self {
        ScanError::Io(e)
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum St {
    FieldStart,
    Unquoted,
    Quoted,
    /// A quote in a quoted field: the closing one, or the first of `""`.
    QuoteInQuoted,
    /// After a `\r` that ended the record: a `\n` belongs to it too.
    AfterCr,
}

/// RFC 4180: fields separated by the delimiter, records by `\r\n`, `\n` or
/// `\r`; a field that starts with `"` is quoted and may hold delimiters,
/// line breaks and `""`. Stricter than the RFC asks in one way (text after
/// a closing quote is an error) and looser in another (a `"` inside an
/// unquoted field is taken literally).
struct CsvScanner<R> {
    input: R,
    delimiter: u8,
    /// The line the next record starts on.
    line: u64,
}

impl<R: BufRead> CsvScanner<R> {
    fn next(&mut self, rec: &mut RawRecord) -> std::result::Result<bool, ScanError> {
        rec.raw.clear();
        rec.fields.clear();
        rec.content_end = 0;
        rec.line = self.line;
        let delim = self.delimiter;
        let mut st = St::FieldStart;
        let mut field_start = 0usize;
        let mut newlines = 0u64;
        let mut quote_line = self.line;
        loop {
            let buf = match self.input.fill_buf() {
                Ok(b) => b,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e.into()),
            };
            if buf.is_empty() {
                self.line = rec.line + newlines;
                return match st {
                    St::FieldStart if rec.raw.is_empty() => Ok(false),
                    St::Quoted => Err(ScanError::Malformed {
                        line: quote_line,
                        detail: "a quoted field starts here and is never closed".into(),
                    }),
                    St::AfterCr => Ok(true),
                    _ => {
                        rec.fields.push((field_start, rec.raw.len()));
                        rec.content_end = rec.raw.len();
                        Ok(true)
                    }
                };
            }
            let base = rec.raw.len();
            let mut i = 0;
            let mut done = false;
            while i < buf.len() {
                let b = buf[i];
                let pos = base + i;
                match st {
                    St::AfterCr => {
                        if b == b'\n' {
                            i += 1;
                            newlines += 1;
                        }
                        done = true;
                        break;
                    }
                    St::Quoted => {
                        if b == b'"' {
                            st = St::QuoteInQuoted;
                        } else if b == b'\n' {
                            newlines += 1;
                        }
                    }
                    St::FieldStart | St::Unquoted | St::QuoteInQuoted => {
                        if b == delim {
                            rec.fields.push((field_start, pos));
                            field_start = pos + 1;
                            st = St::FieldStart;
                        } else if b == b'\n' {
                            rec.fields.push((field_start, pos));
                            rec.content_end = pos;
                            i += 1;
                            newlines += 1;
                            done = true;
                            break;
                        } else if b == b'\r' {
                            rec.fields.push((field_start, pos));
                            rec.content_end = pos;
                            st = St::AfterCr;
                        } else if st == St::QuoteInQuoted {
                            if b == b'"' {
                                st = St::Quoted;
                            } else {
                                return Err(ScanError::Malformed {
                                    line: rec.line + newlines,
                                    detail: format!(
                                        "field {} has text after its closing quote (a quote inside a quoted field is written twice: \"\")",
                                        rec.fields.len() + 1
                                    ),
                                });
                            }
                        } else if st == St::FieldStart {
                            if b == b'"' {
                                st = St::Quoted;
                                quote_line = rec.line + newlines;
                            } else {
                                st = St::Unquoted;
                            }
                        }
                    }
                }
                i += 1;
            }
            rec.raw.extend_from_slice(&buf[..i]);
            self.input.consume(i);
            if done {
                self.line = rec.line + newlines;
                return Ok(true);
            }
            if rec.raw.len() > MAX_ROW {
                return Err(ScanError::Malformed {
                    line: rec.line,
                    detail: format!(
                        "a row longer than {} MiB; is the delimiter right, or a quote left open?",
                        MAX_ROW >> 20
                    ),
                });
            }
        }
    }
}

/// The first `n` bytes (fewer at the end of the input), not consumed.
fn peek<R: Read>(input: &mut BufReader<R>, n: usize) -> io::Result<Vec<u8>> {
    let buf = input.fill_buf()?;
    Ok(buf[..buf.len().min(n)].to_vec())
}

// ---------------------------------------------------------------------------
// JSON Lines objects
// ---------------------------------------------------------------------------

/// A JSON object's members in their order, each value as its raw text.
struct Members<'a>(Vec<(Cow<'a, str>, &'a RawValue)>);

struct Key<'a>(Cow<'a, str>);

impl<'de> Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Key<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a key")
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> std::result::Result<Key<'de>, E> {
                Ok(Key(Cow::Borrowed(v)))
            }
            fn visit_str<E>(self, v: &str) -> std::result::Result<Key<'de>, E> {
                Ok(Key(Cow::Owned(v.to_owned())))
            }
        }
        d.deserialize_str(V)
    }
}

impl<'de> Deserialize<'de> for Members<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Members<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(
                self,
                mut map: A,
            ) -> std::result::Result<Members<'de>, A::Error> {
                let mut members = Vec::new();
                while let Some(Key(k)) = map.next_key()? {
                    let v: &'de RawValue = map.next_value()?;
                    members.push((k, v));
                }
                Ok(Members(members))
            }
        }
        d.deserialize_map(V)
    }
}

/// `{"key":value,…}` without the dropped keys; values as they were.
fn write_object(
    out: &mut dyn Write,
    members: &Members<'_>,
    drop: &BTreeSet<String>,
) -> io::Result<()> {
    out.write_all(b"{")?;
    let mut first = true;
    for (k, v) in &members.0 {
        if drop.contains(k.as_ref()) {
            continue;
        }
        if !first {
            out.write_all(b",")?;
        }
        first = false;
        serde_json::to_writer(&mut *out, k.as_ref()).map_err(io::Error::other)?;
        out.write_all(b":")?;
        out.write_all(v.get().as_bytes())?;
    }
    out.write_all(b"}")
}

// ---------------------------------------------------------------------------
// Plumbing
// ---------------------------------------------------------------------------

/// Counts and hashes what passes through.
struct Hashed<'a> {
    inner: &'a mut dyn Write,
    hasher: Sha256,
    len: u64,
}

impl<'a> Hashed<'a> {
    fn new(inner: &'a mut dyn Write) -> Self {
        Hashed {
            inner,
            hasher: Sha256::new(),
            len: 0,
        }
    }
}

impl Write for Hashed<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.len += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// A sink that only counts and hashes.
#[derive(Default)]
pub(crate) struct HashSink {
    hasher: Sha256,
    len: u64,
}

impl HashSink {
    pub(crate) fn finish(self) -> (u64, [u8; 32]) {
        (self.len, self.hasher.finalize().into())
    }
}

impl Write for HashSink {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.hasher.update(buf);
        self.len += buf.len() as u64;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

struct ProgressRead<'a, R> {
    inner: R,
    progress: &'a dyn Progress,
}

impl<R: Read> Read for ProgressRead<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.progress.advance(n as u64);
        Ok(n)
    }
}

const PIPE_CHUNK: usize = 256 << 10;

/// A bounded pipe from a thread running [`TableSpec::filter`] to the
/// archive writer, which reads the member through [`PipeReader`]: at most a
/// few chunks are in flight, so memory stays flat.
pub fn pipe() -> (PipeWriter, PipeReader) {
    let (tx, rx) = bounded(4);
    (
        PipeWriter {
            tx,
            buf: Vec::with_capacity(PIPE_CHUNK),
        },
        PipeReader {
            rx,
            chunk: Vec::new(),
            pos: 0,
        },
    )
}

/// The writing end of [`pipe`]. Writes fail with `BrokenPipe` once the
/// reader is gone; [`Write::flush`] sends what is buffered.
pub struct PipeWriter {
    tx: Sender<Vec<u8>>,
    buf: Vec<u8>,
}

impl PipeWriter {
    fn send(&mut self) -> io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let chunk = std::mem::replace(&mut self.buf, Vec::with_capacity(PIPE_CHUNK));
        self.tx
            .send(chunk)
            .map_err(|_| io::Error::new(io::ErrorKind::BrokenPipe, "the archive stopped reading"))
    }
}

impl Write for PipeWriter {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        self.buf.extend_from_slice(data);
        if self.buf.len() >= PIPE_CHUNK {
            self.send()?;
        }
        Ok(data.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.send()
    }
}

/// The reading end of [`pipe`]: end of input once the writer is gone.
pub struct PipeReader {
    rx: Receiver<Vec<u8>>,
    chunk: Vec<u8>,
    pos: usize,
}

impl Read for PipeReader {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        while self.pos == self.chunk.len() {
            match self.rx.recv() {
                Ok(c) => {
                    self.chunk = c;
                    self.pos = 0;
                }
                Err(_) => return Ok(0),
            }
        }
        let n = out.len().min(self.chunk.len() - self.pos);
        out[..n].copy_from_slice(&self.chunk[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

/// Whether an error is only the pipe's reader having gone away (the real
/// error is then the reader's).
pub fn is_pipe_closed(e: &Error) -> bool {
    matches!(e, Error::Io { source, .. } if source.kind() == io::ErrorKind::BrokenPipe)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::progress::Silent;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    #[test]
    fn automatic_dates() {
        let a = DateFormat::Auto;
        for (text, want) in [
            ("2019-03-01", Some(d(2019, 3, 1))),
            (" 2019-03-01 ", Some(d(2019, 3, 1))),
            ("2019-03-01T10:00", Some(d(2019, 3, 1))),
            ("2019-03-01T10:00:59", Some(d(2019, 3, 1))),
            ("2019-03-01 10:00:59", Some(d(2019, 3, 1))),
            ("2019-03-01T10:00:59.123456Z", Some(d(2019, 3, 1))),
            ("2019-03-01T10:00:59,5+01:00", Some(d(2019, 3, 1))),
            ("2019-12-31T23:30:00-05:00", Some(d(2019, 12, 31))),
            ("2020-01-01T00:30:00+0100", Some(d(2020, 1, 1))),
            ("2020-01-01T00:30:00+01", Some(d(2020, 1, 1))),
            ("2020-01-01t00:30:00z", Some(d(2020, 1, 1))),
            ("31-12-2019", Some(d(2019, 12, 31))),
            ("1-2-2019", Some(d(2019, 2, 1))),
            ("03/04/2019", Some(d(2019, 4, 3))),
            ("31/12/2019 23:59", Some(d(2019, 12, 31))),
            ("31-12-2019 23:59:01", Some(d(2019, 12, 31))),
            ("2020-02-29", Some(d(2020, 2, 29))),
            // Never guessed, never month first.
            ("12/31/2019", None),
            ("2019-02-29", None),
            ("31-02-2019", None),
            ("2019/03/01", None),
            ("2019-3-1", None),
            ("01-03-19", None),
            ("31-12/2019", None),
            ("2019-03-01T25:00", None),
            ("2019-03-01T10:00+25:00", None),
            ("2019-03-01T10", None),
            ("2019-03-01X", None),
            ("2019-03-01T10:00:00.", None),
            ("31/12/2019 noon", None),
            ("", None),
            ("gisteren", None),
            ("1546300800", None),
        ] {
            assert_eq!(a.date(text), want, "{text:?}");
        }
    }

    #[test]
    fn explicit_date_formats() {
        let us = DateFormat::parse("%m/%d/%Y").unwrap();
        assert_eq!(us.date("12/31/2019"), Some(d(2019, 12, 31)));
        assert_eq!(us.date("31/12/2019"), None);
        let dt = DateFormat::parse("%d.%m.%Y %H:%M").unwrap();
        assert_eq!(dt.date("31.12.2019 23:59"), Some(d(2019, 12, 31)));
        let tz = DateFormat::parse("%Y%m%d %H%M %z").unwrap();
        assert_eq!(tz.date("20191231 2330 -0500"), Some(d(2019, 12, 31)));
        let unix = DateFormat::parse("unix").unwrap();
        assert_eq!(unix.date("1546300800"), Some(d(2019, 1, 1)));
        assert_eq!(unix.date("1546300799"), Some(d(2018, 12, 31)));
        assert_eq!(unix.date("2019-01-01"), None);
        assert_eq!(DateFormat::parse("auto").unwrap(), DateFormat::Auto);
        assert!(DateFormat::parse("%d-%m").is_err(), "no year");
        assert!(DateFormat::parse("%Q").is_err(), "not a format");
    }

    #[test]
    fn fiscal_years_not_starting_in_january() {
        let july = FiscalYearStart::new(7, 1).unwrap();
        assert_eq!(fiscal_year_of(d(2019, 6, 30), july), 2018);
        assert_eq!(fiscal_year_of(d(2019, 7, 1), july), 2019);
        assert_eq!(fiscal_year_of(d(2020, 6, 30), july), 2019);
        let w = Window::new(2019, july);
        assert!(w.contains(d(2019, 7, 1)) && w.contains(d(2020, 6, 30)));
        assert_eq!(w.other_year(d(2019, 6, 30)), Some(2018));
        assert_eq!(w.other_year(d(2020, 7, 1)), Some(2020));
        assert_eq!(w.other_year(d(2020, 1, 1)), None);
        let jan = Window::new(2019, FiscalYearStart::JANUARY_1);
        assert_eq!(jan.other_year(d(2018, 12, 31)), Some(2018));
        assert_eq!(jan.other_year(d(2019, 12, 31)), None);
    }

    #[test]
    fn sensitive_names() {
        for name in [
            "password",
            "password_hash",
            "PasswordHash",
            "pwd",
            "Wachtwoord",
            "api-key",
            "apiKey",
            "API_KEY",
            "auth token",
            "client_secret",
            "salt",
            "birth_date",
            "birthDate",
            "Date of Birth",
            "dob",
            "DOB",
            "geboortedatum",
            "Geboorte datum",
            "bsn",
            "klant_bsn",
            "BSN-nummer",
            "ssn",
            "social_security_number",
            "passport_no",
            "id_number",
            "IdCard",
            "klant_idnr",
            "credit_card",
            "card_number",
            "cvv",
            "pin",
        ] {
            assert!(looks_sensitive(name), "{name} should look sensitive");
        }
        for name in [
            "iban",
            "IBAN",
            "order_id",
            "order_date",
            "email",
            "customer_name",
            "street",
            "total_eur",
            "vat_eur",
            "payment_method",
            "marketing_opt_in",
            "shipping",
            "opinion",
            "description",
            "card_last4",
            "bank_account",
            "paid_number",
            "pinned",
        ] {
            assert!(!looks_sensitive(name), "{name} should not look sensitive");
        }
        assert_eq!(
            words("birthDate of-X2Y"),
            ["birth", "date", "of", "x2", "y"]
        );
    }

    #[test]
    fn delimiters() {
        assert_eq!(detect_delimiter(b"a,b,c\n1;2;3;4;5\n"), Ok(b','));
        assert_eq!(detect_delimiter(b"a;b;c\r\n"), Ok(b';'));
        assert_eq!(detect_delimiter(b"a\tb\tc"), Ok(b'\t'));
        assert_eq!(detect_delimiter(b"a|b|\"c,d,e,f\""), Ok(b'|'));
        assert_eq!(detect_delimiter(b"\"x;y\",b,c\n"), Ok(b','));
        assert_eq!(detect_delimiter(b"only\n"), Ok(b','));
        assert!(
            detect_delimiter(b"a;b,c\n")
                .unwrap_err()
                .contains("--delimiter")
        );
        assert_eq!(parse_delimiter("tab"), Ok(b'\t'));
        assert_eq!(parse_delimiter(";"), Ok(b';'));
        assert!(parse_delimiter("\"").is_err());
        assert!(parse_delimiter("ab").is_err());
        assert!(parse_delimiter("a").is_err());
    }

    fn scan(input: &[u8], delimiter: u8) -> Vec<(u64, Vec<Vec<u8>>, Vec<u8>)> {
        let mut s = CsvScanner {
            input: BufReader::with_capacity(7, input),
            delimiter,
            line: 1,
        };
        let mut rec = RawRecord::default();
        let mut out = Vec::new();
        let mut whole = Vec::new();
        while s.next(&mut rec).ok().unwrap() {
            whole.extend_from_slice(&rec.raw);
            let values = (0..rec.fields.len())
                .map(|i| rec.value(i).into_owned())
                .collect();
            out.push((rec.line, values, rec.raw.clone()));
        }
        assert_eq!(whole, input, "records cover the input exactly");
        out
    }

    #[test]
    fn csv_records_lines_and_spans() {
        let input = b"a,b\r\n1,\"x\r\ny\"\r\n\r\n\"q\"\"\",\n3,4";
        let recs = scan(input, b',');
        let lines: Vec<u64> = recs.iter().map(|r| r.0).collect();
        assert_eq!(lines, [1, 2, 4, 5, 6]);
        assert_eq!(recs[1].1, [b"1".to_vec(), b"x\r\ny".to_vec()]);
        assert_eq!(recs[2].2, b"\r\n");
        assert_eq!(recs[3].1, [b"q\"".to_vec(), b"".to_vec()]);
        assert_eq!(recs[4].1, [b"3".to_vec(), b"4".to_vec()]);
        // Old Mac line ends, and a bare quote in an unquoted field.
        let recs = scan(b"a;b\r5\" screen;2\r", b';');
        assert_eq!(recs.len(), 2);
        assert_eq!(recs[1].1[0], b"5\" screen");
    }

    #[test]
    fn csv_agrees_with_the_csv_crate() {
        let input: &[u8] = b"id,name,note\r\n1,\"Jansen, Piet\",\"zei \"\"hoi\"\"\"\r\n2,,\"twee\nregels\"\r\n3,x,\r\n";
        let mine: Vec<Vec<Vec<u8>>> = scan(input, b',').into_iter().map(|r| r.1).collect();
        let mut theirs = Vec::new();
        let mut r = csv::ReaderBuilder::new()
            .has_headers(false)
            .from_reader(input);
        for rec in r.byte_records() {
            theirs.push(rec.unwrap().iter().map(<[u8]>::to_vec).collect::<Vec<_>>());
        }
        assert_eq!(mine, theirs);
    }

    #[test]
    fn malformed_csv() {
        for (input, line, needle) in [
            (&b"a,b\n1,\"open\n2,3\n"[..], 2, "never closed"),
            (b"a,b\n1,2\n3,\"x\"y\n", 3, "after its closing quote"),
        ] {
            let mut s = CsvScanner {
                input: BufReader::new(input),
                delimiter: b',',
                line: 1,
            };
            let mut rec = RawRecord::default();
            let err = loop {
                match s.next(&mut rec) {
                    Ok(true) => continue,
                    Ok(false) => panic!("no error for {input:?}"),
                    Err(e) => break e,
                }
            };
            match err {
                ScanError::Malformed { line: l, detail } => {
                    assert_eq!(l, line);
                    assert!(detail.contains(needle), "{detail}");
                }
                ScanError::Io(e) => panic!("{e}"),
            }
        }
    }

    fn spec(origin: Origin, drop: &[&str], keep: &[&str]) -> TableSpec {
        TableSpec {
            name: "orders".into(),
            origin,
            date_column: "date".into(),
            dates: DateFormat::Auto,
            delimiter: None,
            drop: drop.iter().map(|s| s.to_string()).collect(),
            keep: keep.iter().map(|s| s.to_string()).collect(),
            required: BTreeSet::new(),
        }
    }

    fn run(spec: &TableSpec, year: i32) -> (Filtered, Vec<u8>, Vec<u8>) {
        let (mut member, mut rest) = (Vec::new(), Vec::new());
        let f = spec
            .filter(
                &Window::new(year, FiscalYearStart::JANUARY_1),
                &mut member,
                Some(&mut rest),
                &Silent,
            )
            .unwrap();
        (f, member, rest)
    }

    #[test]
    fn csv_split_keeps_raw_fields_and_the_rest() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("orders.csv");
        let input = "\u{feff}id;date;password;\"note\"\r\n1;2018-12-31;x;a\r\n2;31-12-2019;y;\"b;\"\"c\"\"\"\r\n\r\n3;01/01/2019;z;\r\n4;2020-01-01;w;d";
        std::fs::write(&p, input).unwrap();
        let s = spec(Origin::Csv(p.clone()), &["password"], &[]);
        let (f, member, rest) = run(&s, 2019);
        assert_eq!(
            String::from_utf8(member.clone()).unwrap(),
            "\u{feff}id;date;\"note\"\r\n2;31-12-2019;\"b;\"\"c\"\"\"\r\n3;01/01/2019;\r\n"
        );
        assert_eq!(
            String::from_utf8(rest).unwrap(),
            "\u{feff}id;date;password;\"note\"\r\n1;2018-12-31;x;a\r\n\r\n4;2020-01-01;w;d"
        );
        assert_eq!((f.counts.rows, f.counts.archived), (4, 2));
        assert_eq!(f.counts.other_years, BTreeMap::from([(2018, 1), (2020, 1)]));
        assert_eq!(f.counts.size, member.len() as u64);
        assert_eq!(f.counts.sha256, <[u8; 32]>::from(Sha256::digest(&member)));
        assert_eq!(f.dropped, ["password"]);
        assert_eq!(f.columns, ["id", "date", "password", "note"]);

        // Undecided, then kept on purpose.
        let err = spec(Origin::Csv(p.clone()), &[], &[])
            .filter(
                &Window::new(2019, FiscalYearStart::JANUARY_1),
                &mut io::sink(),
                None,
                &Silent,
            )
            .unwrap_err();
        assert!(
            matches!(&err, Error::UndecidedColumns { columns, .. } if columns == &["password"]),
            "{err}"
        );
        let (f, member, _) = run(&spec(Origin::Csv(p), &[], &["password"]), 2019);
        assert_eq!(f.kept_sensitive, ["password"]);
        assert!(
            String::from_utf8(member)
                .unwrap()
                .starts_with("\u{feff}id;date;password;\"note\"\r\n2;")
        );
    }

    #[test]
    fn csv_single_kept_empty_field_is_quoted() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("t.csv");
        std::fs::write(&p, "note,date\n,2019-05-05\nx,2019-05-06\n").unwrap();
        let (_, member, _) = run(&spec(Origin::Csv(p), &["date"], &[]), 2019);
        assert_eq!(member, b"note\n\"\"\nx\n");
    }

    #[test]
    fn csv_bad_input() {
        let dir = tempfile::tempdir().unwrap();
        let w = Window::new(2019, FiscalYearStart::JANUARY_1);
        let check = |content: &str, needle: &str| {
            let p = dir.path().join("bad.csv");
            std::fs::write(&p, content).unwrap();
            let err = spec(Origin::Csv(p), &[], &[])
                .filter(&w, &mut io::sink(), None, &Silent)
                .unwrap_err()
                .to_string();
            assert!(err.contains(needle), "{err} should contain {needle}");
        };
        check("id,when\n1,2019-01-01\n", "no date column \"date\"");
        check("id,date\n1,2019-01-01\n2,12/31/2019\n", "line 3");
        check("id,date\n1,2019-01-01\n2,12/31/2019\n", "\"12/31/2019\"");
        check("id,date\n1,2019-01-01,3\n", "line 2: the row has 3 fields");
        check("", "is empty");
        check("id,date,date\n", "ambiguous");
    }

    #[test]
    fn jsonl_split_keeps_lines_and_drops_keys() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("orders.jsonl");
        let input = concat!(
            "{\"id\": 1, \"date\": \"2019-02-01\", \"dob\": \"1970-01-01\"}\n",
            "{\"id\":2,\"date\":\"2018-02-01\"}\r\n",
            "\n",
            "{\"id\":3,\"date\":\"2019-03-01\",\"n\\u00e9\":{\"a\": [1, 2]}}\n",
            "{\"dob\":null,\"id\":4,\"date\":\"01-04-2019\"}",
        );
        std::fs::write(&p, input).unwrap();
        let s = spec(Origin::Jsonl(p.clone()), &["dob"], &[]);
        let (f, member, rest) = run(&s, 2019);
        assert_eq!(
            String::from_utf8(member).unwrap(),
            concat!(
                "{\"id\":1,\"date\":\"2019-02-01\"}\n",
                "{\"id\":3,\"date\":\"2019-03-01\",\"n\\u00e9\":{\"a\": [1, 2]}}\n",
                "{\"id\":4,\"date\":\"01-04-2019\"}",
            )
        );
        assert_eq!(
            String::from_utf8(rest).unwrap(),
            "{\"id\":2,\"date\":\"2018-02-01\"}\r\n\n"
        );
        assert_eq!(f.columns, ["id", "date", "dob", "né"]);
        assert_eq!(f.dropped, ["dob"]);
        assert_eq!((f.counts.rows, f.counts.archived), (4, 3));

        std::fs::write(&p, "{\"id\":1,\"date\":\"2019-02-01\"}\n[1]\n").unwrap();
        let err = spec(Origin::Jsonl(p.clone()), &[], &[])
            .filter(
                &Window::new(2019, FiscalYearStart::JANUARY_1),
                &mut io::sink(),
                None,
                &Silent,
            )
            .unwrap_err()
            .to_string();
        assert!(err.contains("line 2 is not a JSON object"), "{err}");
        std::fs::write(&p, "{\"id\":1}\n").unwrap();
        let err = spec(Origin::Jsonl(p), &[], &[])
            .filter(
                &Window::new(2019, FiscalYearStart::JANUARY_1),
                &mut io::sink(),
                None,
                &Silent,
            )
            .unwrap_err()
            .to_string();
        assert!(err.contains("line 1 has no date column"), "{err}");
    }

    #[test]
    fn rules_resolve_with_the_command_line_winning() {
        let config = BTreeMap::from([(
            "orders".to_string(),
            TableConfig {
                date_column: Some("order_date".into()),
                drop: vec!["birth_date".into(), "notes".into()],
                keep: vec!["password_hash".into()],
                ..TableConfig::default()
            },
        )]);
        let opts = TableOptions {
            tables: vec![TableArg::parse("export/orders.csv", None)],
            drop: vec![ColumnRule::parse("password_hash")],
            keep: vec![ColumnRule::parse("orders:notes")],
            ..TableOptions::default()
        };
        let specs = opts.resolve(&config).unwrap();
        let s = &specs[0];
        assert_eq!(s.date_column, "order_date");
        assert_eq!(s.member(), "tables/orders.csv");
        assert_eq!(
            s.drop,
            BTreeSet::from(["birth_date".into(), "password_hash".into()])
        );
        assert_eq!(s.keep, BTreeSet::from(["notes".to_string()]));
        assert_eq!(s.required, BTreeSet::from(["notes".to_string()]));

        let both = TableOptions {
            drop: vec![ColumnRule::parse("x")],
            keep: vec![ColumnRule::parse("x")],
            ..opts.clone()
        };
        assert!(
            both.resolve(&config)
                .unwrap_err()
                .to_string()
                .contains("both dropped and kept")
        );
        let unknown = TableOptions {
            drop: vec![ColumnRule::parse("customers:x")],
            ..opts.clone()
        };
        assert!(
            unknown
                .resolve(&config)
                .unwrap_err()
                .to_string()
                .contains("no table \"customers\"")
        );
        let no_column = TableOptions {
            tables: vec![TableArg::parse("other.csv", None)],
            ..TableOptions::default()
        };
        assert!(
            no_column
                .resolve(&config)
                .unwrap_err()
                .to_string()
                .contains("no date column")
        );
    }

    #[test]
    fn table_args() {
        assert_eq!(
            TableArg::parse("a/orders.csv:order_date", None),
            TableArg {
                origin: Origin::Csv("a/orders.csv".into()),
                date_column: Some("order_date".into())
            }
        );
        assert_eq!(
            TableArg::parse("x.JSONL:d", None).origin,
            Origin::Jsonl("x.JSONL".into())
        );
        assert_eq!(
            TableArg::parse("orders:created_at", Some(Path::new("shop.db"))),
            TableArg {
                origin: Origin::Sqlite {
                    db: "shop.db".into(),
                    table: "orders".into()
                },
                date_column: Some("created_at".into())
            }
        );
        assert_eq!(ColumnRule::parse("a:b:c").table.as_deref(), Some("a:b"));
        assert_eq!(ColumnRule::parse("c").table, None);
    }

    #[test]
    fn pipe_moves_bytes_and_ends() {
        let (mut w, mut r) = pipe();
        let t = std::thread::spawn(move || {
            for i in 0..2000u32 {
                w.write_all(&i.to_le_bytes().repeat(100)).unwrap();
            }
            w.flush().unwrap();
        });
        let mut got = Vec::new();
        r.read_to_end(&mut got).unwrap();
        t.join().unwrap();
        assert_eq!(got.len(), 2000 * 400);
        let (mut w, r) = pipe();
        drop(r);
        assert!(w.write_all(&vec![0; PIPE_CHUNK]).is_err());
    }
}
