//! CSV tables: an RFC 4180 record reader fed in chunks of any size. The
//! header record names the columns; every field of a data row is scanned as
//! text and, in a typed column, parsed whole.

use memchr::{memchr, memchr3};

use super::columns::{ColumnKind, MAX_VALUE, column_kind, typed};
use super::text::TextWindow;
use super::{BOM, Ctx, Sink};

/// The most columns told apart; later ones are plain.
const MAX_COLUMNS: usize = 10_000;

#[derive(Clone, Copy, PartialEq, Eq)]
enum CsvSt {
    FieldStart,
    Unquoted,
    Quoted,
    /// A quote in a quoted field: the closing one, or the first of `""`.
    QuoteInQuoted,
    /// After a `\r` that ended the record: a `\n` belongs to it too.
    AfterCr,
}

pub(super) struct Csv {
    delimiter: u8,
    st: CsvSt,
    /// Bytes of a byte order mark matched at the start; `None` once past.
    bom: Option<usize>,
    /// Reading the header record.
    header: bool,
    columns: Vec<ColumnKind>,
    /// The field being read.
    col: usize,
    /// The record being read has a byte (it is not an empty line).
    any: bool,
    /// The value of a column name or a typed field.
    field: Vec<u8>,
    field_long: bool,
    /// Data rows done.
    rows: u64,
    /// The current record's fields, one a line.
    text: TextWindow,
}

impl Csv {
    pub(super) fn new(delimiter: u8) -> Csv {
        Csv {
            delimiter,
            st: CsvSt::FieldStart,
            bom: Some(0),
            header: true,
            columns: Vec::new(),
            col: 0,
            any: false,
            field: Vec::new(),
            field_long: false,
            rows: 0,
            text: TextWindow::default(),
        }
    }

    pub(super) fn feed(&mut self, bytes: &[u8], ctx: &Ctx, sink: &mut Sink) {
        let mut i = 0;
        while let Some(matched) = self.bom
            && i < bytes.len()
        {
            if bytes[i] == BOM[matched] {
                i += 1;
                self.bom = (matched + 1 < BOM.len()).then_some(matched + 1);
            } else {
                self.bom = None;
            }
        }
        let delim = self.delimiter;
        while i < bytes.len() {
            match self.st {
                CsvSt::AfterCr => {
                    self.st = CsvSt::FieldStart;
                    if bytes[i] == b'\n' {
                        i += 1;
                    }
                }
                CsvSt::FieldStart => {
                    let b = bytes[i];
                    if b == b'"' {
                        self.any = true;
                        self.st = CsvSt::Quoted;
                        i += 1;
                    } else if b == delim {
                        self.any = true;
                        self.end_field(ctx, sink);
                        i += 1;
                    } else if b == b'\n' || b == b'\r' {
                        self.end_record(ctx, sink);
                        if b == b'\r' {
                            self.st = CsvSt::AfterCr;
                        }
                        i += 1;
                    } else {
                        self.st = CsvSt::Unquoted;
                    }
                }
                CsvSt::Unquoted => {
                    let rest = &bytes[i..];
                    let k = memchr3(delim, b'\n', b'\r', rest).unwrap_or(rest.len());
                    self.content(&rest[..k], ctx, sink);
                    i += k;
                    if k < rest.len() {
                        self.st = CsvSt::FieldStart;
                    }
                }
                CsvSt::Quoted => {
                    let rest = &bytes[i..];
                    let k = memchr(b'"', rest).unwrap_or(rest.len());
                    self.content(&rest[..k], ctx, sink);
                    i += k;
                    if k < rest.len() {
                        self.st = CsvSt::QuoteInQuoted;
                        i += 1;
                    }
                }
                CsvSt::QuoteInQuoted => {
                    let b = bytes[i];
                    if b == b'"' {
                        self.content(b"\"", ctx, sink);
                        self.st = CsvSt::Quoted;
                        i += 1;
                    } else if b == delim || b == b'\n' || b == b'\r' {
                        self.st = CsvSt::FieldStart;
                    } else {
                        // Text after a closing quote: taken literally.
                        self.st = CsvSt::Unquoted;
                    }
                }
            }
        }
    }

    pub(super) fn finish(&mut self, ctx: &Ctx, sink: &mut Sink) {
        if self.any || self.col > 0 {
            self.end_record(ctx, sink);
        }
    }

    fn row(&self) -> Option<u64> {
        Some(self.rows + 1)
    }

    fn content(&mut self, bytes: &[u8], ctx: &Ctx, sink: &mut Sink) {
        if bytes.is_empty() {
            return;
        }
        self.any = true;
        if !self.header {
            self.text.push(bytes, &ctx.country, self.row(), sink);
            if self
                .columns
                .get(self.col)
                .is_none_or(|k| *k == ColumnKind::Plain)
            {
                return;
            }
        }
        if self.field.len() + bytes.len() > MAX_VALUE {
            self.field_long = true;
        } else {
            self.field.extend_from_slice(bytes);
        }
    }

    fn end_field(&mut self, ctx: &Ctx, sink: &mut Sink) {
        if self.header {
            if self.columns.len() < MAX_COLUMNS {
                let kind = if self.field_long {
                    ColumnKind::Plain
                } else {
                    column_kind(&String::from_utf8_lossy(&self.field), ctx)
                };
                self.columns.push(kind);
            }
        } else {
            let row = self.row();
            self.text.push(b"\n", &ctx.country, row, sink);
            if let Some(&kind) = self.columns.get(self.col)
                && kind != ColumnKind::Plain
                && !self.field_long
                && let Ok(text) = std::str::from_utf8(&self.field)
                && let Some(id) = typed(kind, text, ctx)
            {
                sink.put(id, row);
            }
        }
        self.field.clear();
        self.field_long = false;
        self.col += 1;
    }

    fn end_record(&mut self, ctx: &Ctx, sink: &mut Sink) {
        if !self.any && self.col == 0 {
            return; // an empty line
        }
        self.end_field(ctx, sink);
        if self.header {
            self.header = false;
        } else {
            self.text.flush(&ctx.country, self.row(), sink);
            self.rows += 1;
        }
        self.col = 0;
        self.any = false;
    }
}

#[cfg(test)]
mod tests {
    use crate::subjects::scan::Mode;
    use crate::subjects::scan::testing::{CSV, rows, scan, scan_with, settings};

    #[test]
    fn csv_rows_quotes_and_columns() {
        let found = scan_with(
            Mode::Csv { delimiter: b';' },
            &settings("NL", &["KlantNr"]),
            CSV,
        );
        assert_eq!(
            rows(&found),
            [
                "1 email:jan@example.nl",
                "1 email:jan@work.example",
                "1 iban:NL91ABNA0417164300",
                "1 id:klantnr=K001",
                "1 phone:+31301234567",
                "1 phone:+31612345678",
                "2 id:klantnr=K002",
                "3 email:jan@example.nl",
                "3 id:klantnr=K001",
            ]
        );
    }

    #[test]
    fn csv_typed_columns_take_national_numbers_of_any_country() {
        let csv = "name,mobilePhone,tel_nr,bank_account\nx,030 1234567,+49 (0)89 123456,DE89 3704 0044 0532 0130 00\n";
        let found = scan_with(Mode::Csv { delimiter: b',' }, &settings("DE", &[]), csv);
        assert_eq!(
            rows(&found),
            [
                "1 iban:DE89370400440532013000",
                "1 phone:+49301234567",
                "1 phone:+4989123456",
            ]
        );
    }

    #[test]
    fn csv_header_only_and_unterminated() {
        assert!(scan(Mode::Csv { delimiter: b',' }, "email,phone\n").is_empty());
        let found = scan(Mode::Csv { delimiter: b',' }, "email\n\"jan@example.nl");
        assert_eq!(rows(&found), ["1 email:jan@example.nl"]);
    }
}
