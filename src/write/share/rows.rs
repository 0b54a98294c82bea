//! The rows of an archived table member (`tables/…`, CSV or JSON Lines)
//! that a share keeps: those dated inside the share's window, header first,
//! each row's bytes as archived.

use std::io::{self, BufRead, BufReader, Read, Write};

use chrono::NaiveDate;

use super::Request;
use crate::error::{Error, Result};
use crate::format::TABLES_PREFIX;
use crate::sources::table::{BOM, CsvRecords, DateFormat, RawRecord};
use crate::vault::Vault;

pub(super) fn is_table(path: &[u8]) -> bool {
    path.starts_with(TABLES_PREFIX.as_bytes())
}

pub(super) fn is_jsonl(path: &[u8]) -> bool {
    path.ends_with(b".jsonl") || path.ends_with(b".ndjson")
}

/// The column that dates a table's rows: the vault's `[tables.NAME]`,
/// else `--date-column`; `None` when no dates were given (rows are not
/// filtered).
pub(super) fn date_column_for(
    vault: &Vault,
    member: &[u8],
    req: &Request,
) -> Result<Option<String>> {
    if req.from.is_none() && req.until.is_none() {
        return Ok(None);
    }
    let text = String::from_utf8_lossy(member);
    let file = text.rsplit('/').next().unwrap_or(&text);
    let name = file.rsplit_once('.').map_or(file, |(n, _)| n);
    if let Some(c) = vault.tables.get(name).and_then(|t| t.date_column.clone()) {
        return Ok(Some(c));
    }
    match &req.date_column {
        Some(c) => Ok(Some(c.clone())),
        None => Err(Error::Usage(format!(
            "which column dates the rows of {text}? Give --date-column COLUMN (or set date_column under [tables.{name}] in the vault's config.toml)"
        ))),
    }
}

/// Streams a table member's rows dated inside `window` (the header first)
/// to `out`; returns (rows kept, rows left out).
pub(super) fn filter_rows(
    input: &mut dyn Read,
    out: &mut dyn Write,
    jsonl: bool,
    column: &str,
    window: (Option<NaiveDate>, Option<NaiveDate>),
    member: &str,
) -> Result<(u64, u64)> {
    let bad = |detail: String| Error::BadTable {
        path: member.into(),
        detail,
    };
    let inside = |d: NaiveDate| window.0.is_none_or(|f| d >= f) && window.1.is_none_or(|u| d <= u);
    let dates = DateFormat::Auto;
    let mut lines = BufReader::with_capacity(256 << 10, input);
    let mut record = Vec::new();
    let (mut kept, mut left) = (0u64, 0u64);
    let io_err = |e: io::Error| bad(format!("reading it failed: {e}"));
    if jsonl {
        let mut n = 0u64;
        loop {
            record.clear();
            if lines.read_until(b'\n', &mut record).map_err(io_err)? == 0 {
                break;
            }
            n += 1;
            if record.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            let value: serde_json::Value = serde_json::from_slice(&record)
                .map_err(|e| bad(format!("line {n} is not JSON: {e}")))?;
            let date = match value.get(column) {
                Some(serde_json::Value::String(s)) => dates.date(s),
                Some(serde_json::Value::Number(x)) => DateFormat::Unix.date(&x.to_string()),
                _ => None,
            }
            .ok_or_else(|| bad(format!("line {n}: no readable date in {column:?}")))?;
            if inside(date) {
                out.write_all(&record).map_err(io_err)?;
                kept += 1;
            } else {
                left += 1;
            }
        }
        return Ok((kept, left));
    }
    // CSV: the table pass's own scanner (quoted fields, line ends, limits).
    // A byte-order mark the archived member kept stays in front.
    if lines.fill_buf().map_err(io_err)?.starts_with(BOM) {
        lines.consume(BOM.len());
        out.write_all(BOM).map_err(io_err)?;
    }
    let mut records = CsvRecords::new(lines, member)?;
    let mut rec = RawRecord::default();
    let mut index = None;
    while records.next(&mut rec)? {
        let Some(index) = index else {
            if rec.is_blank() {
                continue;
            }
            index = Some(
                (0..rec.field_count())
                    .position(|i| *rec.value(i) == *column.as_bytes())
                    .ok_or_else(|| bad(format!("has no column {column:?}")))?,
            );
            out.write_all(rec.raw()).map_err(io_err)?;
            continue;
        };
        if rec.is_blank() {
            continue;
        }
        let line = rec.line();
        if index >= rec.field_count() {
            return Err(bad(format!("line {line} has no field {}", index + 1)));
        }
        let value = String::from_utf8_lossy(&rec.value(index)).into_owned();
        let date = dates.date(&value).ok_or_else(|| {
            bad(format!(
                "line {line}: {value:?} in {column:?} is not a date"
            ))
        })?;
        if inside(date) {
            out.write_all(rec.raw()).map_err(io_err)?;
            kept += 1;
        } else {
            left += 1;
        }
    }
    Ok((kept, left))
}

/// Size of the filtered table (a first pass), so that its tar header can
/// be written before its content.
pub(super) struct Counter {
    pub(super) len: u64,
}

impl Write for Counter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.len += buf.len() as u64;
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_rows_are_filtered_by_date_with_quotes_and_crlf() {
        let csv = "id;\"order date\";note\r\n1;2019-07-01;\"a\nb\"\r\n2;2019-10-05;x\r\n3;15-08-2019;\"y;\"\"z\"\"\"\r\n";
        let mut out = Vec::new();
        let d = |s: &str| s.parse::<NaiveDate>().unwrap();
        let (kept, left) = filter_rows(
            &mut csv.as_bytes(),
            &mut out,
            false,
            "order date",
            (Some(d("2019-07-01")), Some(d("2019-09-30"))),
            "tables/orders.csv",
        )
        .unwrap();
        assert_eq!((kept, left), (2, 1));
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "id;\"order date\";note\r\n1;2019-07-01;\"a\nb\"\r\n3;15-08-2019;\"y;\"\"z\"\"\"\r\n"
        );
    }

    #[test]
    fn csv_rows_keep_a_bom_and_read_quotes_as_the_table_pass_does() {
        // A quote inside an unquoted field is an ordinary character
        // (docs/TABLES.md), so `q"t` is one column name and `x"` one value.
        let csv = "\u{feff}q\"t;d\nx\";2019-01-01\n1;2018-01-01\n";
        let mut out = Vec::new();
        let (kept, left) = filter_rows(
            &mut csv.as_bytes(),
            &mut out,
            false,
            "d",
            (Some("2019-01-01".parse().unwrap()), None),
            "tables/t.csv",
        )
        .unwrap();
        assert_eq!((kept, left), (1, 1));
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "\u{feff}q\"t;d\nx\";2019-01-01\n"
        );
    }

    #[test]
    fn a_quoted_field_never_closed_is_named_with_its_line() {
        let err = filter_rows(
            &mut &b"id,d\n1,\"2019-01-01\n"[..],
            &mut Vec::new(),
            false,
            "d",
            (None, None),
            "tables/t.csv",
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("tables/t.csv") && err.contains("line 2"),
            "{err}"
        );
    }

    #[test]
    fn jsonl_rows_are_filtered_by_date() {
        let jsonl = "{\"at\":\"2019-07-01T10:00:00Z\",\"x\":1}\n{\"at\":\"2020-01-01\",\"x\":2}\n";
        let mut out = Vec::new();
        let d = |s: &str| s.parse::<NaiveDate>().unwrap();
        let (kept, left) = filter_rows(
            &mut jsonl.as_bytes(),
            &mut out,
            true,
            "at",
            (None, Some(d("2019-12-31"))),
            "tables/p.jsonl",
        )
        .unwrap();
        assert_eq!((kept, left), (1, 1));
        assert!(
            String::from_utf8(out)
                .unwrap()
                .starts_with("{\"at\":\"2019-07-01")
        );
    }
}
