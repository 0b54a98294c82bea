//! CSV: delimiter detection and parsing, and the CSV side of the table pass,
//! which keeps every record's exact bytes (the archive holds kept fields'
//! raw bytes, the purge copies other rows' raw bytes).
//!
//! The scanner is our own rather than `csv-core`. The pass writes a kept
//! field's *raw* bytes (quotes and `""` as in the source, so that an
//! archived row is the source's row minus dropped fields); csv-core reports
//! field boundaries in its unescaped output, not in the input, so a
//! csv-core pass would need a second scan of every record for those spans.
//! It also skips empty lines (the purge must copy them), does not say which
//! terminator ended a record, and silently accepts text after a closing
//! quote and a quote never closed. Measured (`cargo bench -- csv`, 32 MB
//! of orders, callgrind instruction counts, 2026-12-02): csv-core splits
//! with 0.66 x this scanner's instructions (473 M against 712 M), but the
//! whole pass (scan, date, hash, write) costs 2.75 G against 2.58 G for
//! csv-core doing the same work without the raw spans (+7 %), and finding
//! those spans afterwards is a state machine like this one again. The
//! scanner is tested against the `csv` crate (`csv_agrees_with_the_csv_crate`).

use std::borrow::Cow;
use std::io::{self, BufRead, Write};
use std::path::Path;

use super::MAX_ROW;
use super::dates::Window;
use super::spec::{Filtered, TableSpec};
use super::stream::{BOM, open, skip_bom};
use crate::error::{Error, IoContext, Result};
use crate::progress::Progress;

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
    // A `"` opens a quoted field only where a field starts (the line's start
    // or after a candidate delimiter); elsewhere it is an ordinary character.
    let mut field_start = true;
    let mut i = 0;
    while i < head.len() {
        let b = head[i];
        i += 1;
        if quoted {
            if b == b'"' {
                if head.get(i) == Some(&b'"') {
                    i += 1;
                } else {
                    quoted = false;
                }
            }
            continue;
        }
        match b {
            b'"' if field_start => quoted = true,
            b'\r' | b'\n' => break,
            _ => {
                if let Some(k) = DELIMITERS.iter().position(|&d| d == b) {
                    counts[k] += 1;
                    field_start = true;
                    continue;
                }
            }
        }
        field_start = false;
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

/// A `--delimiter` value: one ASCII character that is not a letter, a
/// digit, `"` or a line break; or `tab`, `comma`, `semicolon`, `pipe`, `\t`.
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
    if matches!(d, b'"' | b'\r' | b'\n') {
        return Err(format!("{:?} cannot be a delimiter", d as char));
    }
    if d.is_ascii_alphanumeric() {
        return Err(format!(
            "{:?} cannot be a delimiter: letters and digits are data (for tabs give `tab`)",
            d as char
        ));
    }
    Ok(d)
}

impl TableSpec {
    pub(super) fn filter_csv(
        &self,
        path: &Path,
        window: &Window,
        member: &mut dyn Write,
        mut rest: Option<&mut dyn Write>,
        progress: &dyn Progress,
    ) -> Result<Filtered> {
        let mut input = open(path, progress)?;
        if skip_bom(&mut input).at(path)? {
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
}

/// CSV records of an archived table member, read with the table pass's
/// own scanner (the share's row filter): header first, each record with
/// its exact bytes. `member` names it in errors.
pub(crate) struct CsvRecords<R> {
    scanner: CsvScanner<R>,
    member: String,
}

impl<R: BufRead> CsvRecords<R> {
    /// Reads the delimiter from the first line (as the table pass does).
    pub(crate) fn new(mut input: R, member: &str) -> Result<CsvRecords<R>> {
        let bad = |detail| Error::BadTable {
            path: member.into(),
            detail,
        };
        let head = input
            .fill_buf()
            .map_err(|e| bad(format!("reading it failed: {e}")))?;
        let delimiter = detect_delimiter(head).map_err(bad)?;
        Ok(CsvRecords {
            scanner: CsvScanner {
                input,
                delimiter,
                line: 1,
            },
            member: member.into(),
        })
    }

    /// The next record into `rec`; `false` at the end.
    pub(crate) fn next(&mut self, rec: &mut RawRecord) -> Result<bool> {
        self.scanner.next(rec).map_err(|e| Error::BadTable {
            path: self.member.as_str().into(),
            detail: match e {
                ScanError::Io(e) => format!("reading it failed: {e}"),
                ScanError::Malformed { line, detail } => format!("line {line}: {detail}"),
            },
        })
    }
}

/// One CSV record as it is in the file.
#[derive(Default)]
pub(crate) struct RawRecord {
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
    /// Its bytes, terminator included.
    pub(crate) fn raw(&self) -> &[u8] {
        &self.raw
    }

    /// The line it starts on (1-based).
    pub(crate) fn line(&self) -> u64 {
        self.line
    }

    pub(crate) fn field_count(&self) -> usize {
        self.fields.len()
    }

    /// A line with nothing on it but its terminator.
    pub(crate) fn is_blank(&self) -> bool {
        self.content_end == 0
    }

    fn field_raw(&self, i: usize) -> &[u8] {
        let (s, e) = self.fields[i];
        &self.raw[s..e]
    }

    /// A field's value: without its quotes, `""` read as `"`.
    pub(crate) fn value(&self, i: usize) -> Cow<'_, [u8]> {
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
            // Checked on every read, whether or not the row ended in it, so
            // that the limit does not depend on where the buffer's edges fall.
            if rec.raw.len() > MAX_ROW {
                return Err(too_long(rec.line));
            }
            if done {
                self.line = rec.line + newlines;
                return Ok(true);
            }
        }
    }
}

/// The error for a record longer than [`MAX_ROW`] that starts on `line`.
fn too_long(line: u64) -> ScanError {
    ScanError::Malformed {
        line,
        detail: format!(
            "a row longer than {} MiB; is the delimiter right, or a quote left open?",
            MAX_ROW >> 20
        ),
    }
}

#[cfg(test)]
mod tests {
    use std::io::BufReader;

    use super::*;

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
        assert!(
            parse_delimiter("x")
                .unwrap_err()
                .contains("letters and digits")
        );
        assert!(parse_delimiter("7").is_err());
        assert_eq!(parse_delimiter(" "), Ok(b' '));
        assert_eq!(parse_delimiter("\u{1f}"), Ok(0x1f));
        // D1: a quote inside an unquoted field is an ordinary character.
        assert_eq!(detect_delimiter(b"size 5\";d\n1;2019-01-01\n"), Ok(b';'));
        assert_eq!(
            detect_delimiter(b"d,a\"b;c;e\n2019-01-01,x;y;z\n"),
            Ok(b';')
        );
        assert_eq!(detect_delimiter(b"q\"t;d\nx\";2019-01-01\n"), Ok(b';'));
        assert_eq!(detect_delimiter(b"\"a\"\"b;c\",d,e\n"), Ok(b','));
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
        let mut r = ::csv::ReaderBuilder::new()
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
}
