//! Tabular sources: CSV and JSON Lines exports, and SQLite tables (through
//! [`super::sqlite`]), split into fiscal years by a date column, with the
//! columns no retention duty covers dropped or kept on purpose (rules for
//! users: docs/TABLES.md). This file owns [`TableSpec::filter`], the one
//! streaming pass every use of a table runs; its parts live beside it:
//! `options` (what the user asked), `spec` (column decisions), `columns`
//! (sensitive names), `dates`, `csv`, `jsonl` and `stream` (hashing sinks).
//!
//! The pass runs for the check before anything is written (counting and
//! hashing the member the archive will hold), the write into the archive,
//! and the purge that rewrites the source without the archived rows. The
//! same pass over the same input gives the same bytes, so comparing hashes
//! between passes detects a source that changed in between. Memory stays
//! flat: one row at a time, a row at most [`MAX_ROW`] bytes.

mod columns;
mod csv;
pub(super) mod dates;
mod jsonl;
mod options;
pub(super) mod spec;
pub(super) mod stream;

use std::io::{self, Write};
use std::path::Path;

use crate::error::{IoContext, Result};
use crate::format::writer::Mtime;
use crate::progress::Progress;

pub(crate) use crate::util::hashing::{HashSink, Hashed};
pub use columns::{
    CONTACT_PHRASES, CONTACT_WORDS, SENSITIVE_PHRASES, SENSITIVE_WORD_STARTS, SENSITIVE_WORDS,
    looks_personal, looks_sensitive,
};
pub(crate) use csv::{CsvRecords, RawRecord};
pub use csv::{DELIMITERS, detect_delimiter, parse_delimiter};
pub use dates::{DateFormat, Window, fiscal_year_of};
pub use options::{ColumnRule, TableArg, TableConfig, TableOptions};
pub use spec::{Counts, Filtered, Origin, TablePlan, TableReport, TableSpec};
pub(crate) use stream::BOM;

/// The longest row accepted: a longer one is almost always a wrong delimiter
/// or an unclosed quote, and refusing it keeps memory flat.
pub const MAX_ROW: usize = 16 << 20;

/// The most distinct keys a JSON Lines table may have.
pub const MAX_COLUMNS: usize = 10_000;

impl TableSpec {
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
        (filtered.counts.size, filtered.counts.sha256) = hashed.finish();
        Ok(filtered)
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

#[cfg(test)]
mod tests {
    use std::collections::{BTreeMap, BTreeSet};

    use sha2::{Digest, Sha256};

    use super::*;
    use crate::error::Error;
    use crate::progress::Silent;
    use crate::retention::FiscalYearStart;

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

    /// The error a pass over the table for 2019 ends with.
    fn fails(spec: &TableSpec) -> Error {
        spec.filter(
            &Window::new(2019, FiscalYearStart::JANUARY_1),
            &mut io::sink(),
            None,
            &Silent,
        )
        .unwrap_err()
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
        let err = fails(&spec(Origin::Csv(p.clone()), &[], &[]));
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
        let check = |content: &str, needle: &str| {
            let p = dir.path().join("bad.csv");
            std::fs::write(&p, content).unwrap();
            let err = fails(&spec(Origin::Csv(p), &[], &[])).to_string();
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
        let err = fails(&spec(Origin::Jsonl(p.clone()), &[], &[])).to_string();
        assert!(err.contains("line 2 is not a JSON object"), "{err}");
        std::fs::write(&p, "{\"id\":1}\n").unwrap();
        let err = fails(&spec(Origin::Jsonl(p), &[], &[])).to_string();
        assert!(err.contains("line 1 has no date column"), "{err}");
    }

    /// The spec questions of issue 17 part 5, as decided in docs/TABLES.md.
    #[test]
    fn line_ends_blank_lines_and_repeated_column_names() {
        let dir = tempfile::tempdir().unwrap();
        let file = |name: &str, content: &str| {
            let p = dir.path().join(name);
            std::fs::write(&p, content).unwrap();
            p
        };
        // CR-only line ends: records in CSV (old spreadsheet exports) ...
        let p = file("cr.csv", "id,date\r1,2019-01-01\r2,2018-01-01\r");
        let (f, member, rest) = run(&spec(Origin::Csv(p), &[], &[]), 2019);
        assert_eq!((f.counts.rows, f.counts.archived), (2, 1));
        assert_eq!(member, b"id,date\r1,2019-01-01\r");
        assert_eq!(rest, b"id,date\r2,2018-01-01\r");
        // ... but not in JSON Lines, whose lines end in LF (or CRLF).
        let p = file(
            "cr.jsonl",
            "{\"date\":\"2019-01-01\"}\r{\"date\":\"2018-01-01\"}\r",
        );
        let err = fails(&spec(Origin::Jsonl(p), &[], &[])).to_string();
        assert!(err.contains("line 1 is not a JSON object"), "{err}");

        // A line of spaces: blank in JSON Lines (stays in the source) ...
        let p = file("ws.jsonl", "{\"date\":\"2019-01-01\"}\n  \t\n");
        let (f, member, rest) = run(&spec(Origin::Jsonl(p), &[], &[]), 2019);
        assert_eq!(f.counts.rows, 1);
        assert_eq!(member, b"{\"date\":\"2019-01-01\"}\n");
        assert_eq!(rest, b"  \t\n");
        // ... a record of one field in CSV, where only an empty line is blank.
        let p = file("ws.csv", "id,date\n1,2019-01-01\n  \n");
        let err = fails(&spec(Origin::Csv(p), &[], &[])).to_string();
        assert!(err.contains("line 3: the row has 1 fields"), "{err}");

        // A dropped name drops every column of that name; a kept one keeps
        // them all.
        let p = file("dup.csv", "id,x,date,x\n1,a,2019-01-01,b\n");
        let (f, member, _) = run(&spec(Origin::Csv(p.clone()), &["x"], &[]), 2019);
        assert_eq!(member, b"id,date\n1,2019-01-01\n");
        assert_eq!(f.dropped, ["x"]);
        let (_, member, _) = run(&spec(Origin::Csv(p), &[], &[]), 2019);
        assert_eq!(member, b"id,x,date,x\n1,a,2019-01-01,b\n");
        let p = file("dup.jsonl", "{\"x\":1,\"date\":\"2019-01-01\",\"x\":2}\n");
        let (_, member, _) = run(&spec(Origin::Jsonl(p), &["x"], &[]), 2019);
        assert_eq!(member, b"{\"date\":\"2019-01-01\"}\n");
    }
}
