//! Finding the identifiers of [`super::identify`] in record bytes as the
//! archive writer streams them past: push-based (any chunk boundaries give
//! the same result), one pass, bounded memory however large the record.
//!
//! # What is found
//!
//! - **Text** (any searched file, every CSV field, every JSON line):
//!   - e-mail addresses: from each `@`, the run of letters, digits and
//!     `. _ % + - '` before it and of letters, digits, `-` and `.` after
//!     it, leading dots and quotes and trailing dots and hyphens left off,
//!     checked by the rules of [`Identifier::parse_email`] (so rarer
//!     characters such as `/` or `=` before the `@` end the address
//!     there);
//!   - IBANs: two letters (in either case) and two digits at the start of
//!     a word, then the account number, either in one piece or in groups of four
//!     with single spaces, exactly as long as the country's IBANs and
//!     passing the mod-97 check (so IBANs of countries outside the IBAN
//!     registry's list are found only in IBAN columns);
//!   - phone numbers, only where written unambiguously: after `+` or `00`
//!     with an assigned country code, 8 to 15 digits; or, for a default
//!     country whose national numbers have a fixed length (NL 10 digits
//!     with the 0, BE 9 or 10, FR 10, GB 11, CH 10), a national number of
//!     that length starting with its trunk 0. Between digits single
//!     groups of up to three spaces, dashes, dots, slashes or parentheses
//!     are allowed (and `(0)` after a country code). The number must not
//!     touch letters, digits, `_` or `@`, nor follow `- / . _ + @ # & % *
//!     $ \` (the parts of order numbers, paths, amounts); a national
//!     number starting like a date (`01-02-2019 12`, `01.02.19 12.30`) or
//!     right after another group of digits (`12 0612345678`) is not
//!     taken; one followed by more digits after a space is taken up to
//!     that space if it has the right length (`06 12345678 2019`). National numbers of other countries are found only in
//!     phone columns.
//!
//!   A JSON or log escape before a word (`\n` in `"…\njan@example.nl"`)
//!   is not part of it.
//! - **Mail** (`.eml`, mbox): the addresses in `From`, `To`, `Cc`, `Bcc`,
//!   `Reply-To`, `Sender` and their `Resent-` forms, folded over several
//!   lines or not, with display names, quoted names holding commas,
//!   comments, `<addr>` and groups; `Subject` and the body are scanned as
//!   text, other headers (`Message-ID`, `Received`, …) are not. A line
//!   starting with `From ` at the start of the file or after an empty line
//!   starts the next message's headers. Bodies are not decoded: text in
//!   base64 parts is not found, and quoted-printable soft line breaks may
//!   split what they cut through.
//! - **Csv** (a CSV table member): RFC 4180 records (quoted fields may hold
//!   the delimiter, `""` and line breaks; records end with `\r\n`, `\n` or
//!   `\r`; a `"` inside an unquoted field is taken literally). The first
//!   record names the columns; each later one is a data row, numbered from
//!   1, empty lines left out (as the table pass counts rows). Every field
//!   is scanned as text; besides, a field of an e-mail, phone or IBAN
//!   column (a name holding `mail`; `phone`, `telefoon`, `telefon`,
//!   `mobile`, `mobiel`, `gsm`, `handy`, `fax` or a word starting with
//!   `tel`; `iban`, `bankaccount`, `rekening`, `accountnumber`, `konto`)
//!   is parsed whole as the user's input would be, so that national
//!   numbers of any default country are found there, and a field of a
//!   column named in [`Settings::id_columns`] gives an
//!   [`Identifier::Id`]. An empty field gives nothing.
//! - **Jsonl**: each line that is not blank is a row, numbered from 1
//!   (blank lines left out, as the table pass counts rows). The line is
//!   scanned as text; the top-level keys of an object line are columns as
//!   in CSV, their string or number values parsed as above.
//!
//! Each identifier is given once per row of a table, and once per file
//! record (up to 100,000 different ones per record or row; beyond, repeats
//! may be given again).
//!
//! # Bounds
//!
//! Text is scanned in windows of 64 KiB that overlap by 512 bytes, more
//! than the longest identifier, so nothing is missed or given twice where
//! a line longer than a window is cut. A mail header is gathered up to 64
//! KiB (a longer one is scanned as text), a column name or a value parsed
//! whole up to 1 KiB (a longer value is only scanned as text), at most
//! 10,000 columns are told apart.
//!
//! # Layout
//!
//! This file holds the public types and the dispatch on the mode; the modes
//! live beside it: `text` (the window over running text and the finding of
//! e-mail addresses, IBANs and phone numbers, which every mode uses),
//! `mail`, `csv` and `jsonl`, and `columns` (the column rules both table
//! modes share).

mod columns;
mod csv;
mod jsonl;
mod mail;
mod text;

use std::collections::HashSet;
use std::hash::{BuildHasher, RandomState};

use super::identify::{Country, Identifier};
use csv::Csv;
use jsonl::Jsonl;
use mail::Mail;
use text::TextWindow;

/// Identifiers remembered per record or row to give each once.
const MAX_SEEN: usize = 100_000;
/// The UTF-8 byte order mark a table may start with.
const BOM: &[u8] = b"\xEF\xBB\xBF";

/// An identifier found in a record.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Found {
    pub id: Identifier,
    /// The 1-based data row of a table (CSV: the records after the header;
    /// JSON Lines: the lines), blank lines not counted; `None` in a file.
    pub row: Option<u64>,
}

/// How a record's bytes are read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Running text: any searched file.
    Text,
    /// An e-mail message or an mbox of them.
    Mail,
    /// A CSV table, header first. `delimiter` must not be `"`, `\r` or
    /// `\n`.
    Csv { delimiter: u8 },
    /// A JSON Lines table.
    Jsonl,
}

/// What a scan needs to know beyond the bytes.
#[derive(Clone, Debug, Default)]
pub struct Settings {
    /// The country of phone numbers written without a country code.
    pub country: Country,
    /// Columns (CSV) or top-level keys (JSON Lines) whose values are
    /// customer or relation numbers, compared lower-cased; each value
    /// found gives `Identifier::Id { name: column lower-cased, value }`.
    pub id_columns: Vec<String>,
}

/// Finds identifiers in one record's bytes, fed in chunks of any size.
///
/// You MUST call [`Scanner::finish`] after the last chunk: what is left in
/// the buffers is scanned only then. After `finish` the scanner is as new,
/// ready for the next record.
pub struct Scanner {
    mode: Mode,
    ctx: Ctx,
    state: State,
    seen: Seen,
}

impl Scanner {
    pub fn new(mode: Mode, settings: &Settings) -> Scanner {
        Scanner {
            mode,
            ctx: Ctx {
                country: settings.country,
                id_columns: settings
                    .id_columns
                    .iter()
                    .map(|c| c.trim().to_lowercase())
                    .collect(),
            },
            state: State::new(mode),
            seen: Seen::default(),
        }
    }

    /// Scans the next bytes of the record; `out` gets what is found (some
    /// of it only on a later call, once the text around it has come).
    pub fn feed(&mut self, bytes: &[u8], out: &mut dyn FnMut(Found)) {
        let mut sink = Sink {
            seen: &mut self.seen,
            out,
        };
        let ctx = &self.ctx;
        match &mut self.state {
            State::Text(window) => window.push(bytes, &ctx.country, None, &mut sink),
            State::Mail(mail) => mail.feed(bytes, ctx, &mut sink),
            State::Csv(csv) => csv.feed(bytes, ctx, &mut sink),
            State::Jsonl(jsonl) => jsonl.feed(bytes, ctx, &mut sink),
        }
    }

    /// Scans what is left at the end of the record.
    pub fn finish(&mut self, out: &mut dyn FnMut(Found)) {
        let mut sink = Sink {
            seen: &mut self.seen,
            out,
        };
        let ctx = &self.ctx;
        match &mut self.state {
            State::Text(window) => window.flush(&ctx.country, None, &mut sink),
            State::Mail(mail) => mail.finish(ctx, &mut sink),
            State::Csv(csv) => csv.finish(ctx, &mut sink),
            State::Jsonl(jsonl) => jsonl.finish(ctx, &mut sink),
        }
        self.state = State::new(self.mode);
        self.seen = Seen::default();
    }
}

/// The mode a record gets by its file name (member path), or `None`: not
/// searched. Text: `txt`, `text`, `csv`, `tsv`, `json`, `jsonl`, `ndjson`,
/// `xml`, `xaf`, `html`, `htm`, `md`, `vcf`, `ics`, `log`, `yaml`, `yml`,
/// `ini`, `sql` (a CSV file is text here; a CSV *table member* is read
/// with [`Mode::Csv`], which the caller chooses). Mail: `eml`, `mbox`,
/// `mbx`, and a file named `mbox` (as in Apple Mail's `X.mbox/mbox`).
/// Everything else, Outlook's binary `.msg` included, is not searched.
pub fn mode_for(path: &[u8]) -> Option<Mode> {
    let name = file_name(path);
    if name.eq_ignore_ascii_case(b"mbox") {
        return Some(Mode::Mail);
    }
    match extension(name)?.as_slice() {
        b"eml" | b"mbox" | b"mbx" => Some(Mode::Mail),
        b"txt" | b"text" | b"csv" | b"tsv" | b"json" | b"jsonl" | b"ndjson" | b"xml" | b"xaf"
        | b"html" | b"htm" | b"md" | b"vcf" | b"ics" | b"log" | b"yaml" | b"yml" | b"ini"
        | b"sql" => Some(Mode::Text),
        _ => None,
    }
}

/// Why [`mode_for`] does not search a path, for reports: `PDF`, `image`,
/// `office document`, `archive`, `audio or video`, `binary` (programs,
/// databases, Outlook `.msg`), or `unknown file type`; an empty string for
/// a path it searches.
pub fn not_searched_reason(path: &[u8]) -> &'static str {
    if mode_for(path).is_some() {
        return "";
    }
    let Some(ext) = extension(file_name(path)) else {
        return "unknown file type";
    };
    match ext.as_slice() {
        b"pdf" => "PDF",
        b"jpg" | b"jpeg" | b"png" | b"gif" | b"tif" | b"tiff" | b"bmp" | b"webp" | b"heic"
        | b"heif" | b"svg" | b"ico" => "image",
        b"doc" | b"docx" | b"xls" | b"xlsx" | b"xlsm" | b"ppt" | b"pptx" | b"odt" | b"ods"
        | b"odp" | b"rtf" | b"pages" | b"numbers" | b"key" => "office document",
        b"zip" | b"gz" | b"tgz" | b"bz2" | b"xz" | b"zst" | b"7z" | b"rar" | b"tar" => "archive",
        b"mp3" | b"mp4" | b"m4a" | b"wav" | b"ogg" | b"mov" | b"avi" | b"mkv" | b"webm" => {
            "audio or video"
        }
        b"msg" | b"pst" | b"ost" | b"exe" | b"dll" | b"so" | b"bin" | b"dat" | b"db"
        | b"sqlite" | b"sqlite3" | b"mdb" | b"accdb" | b"p7m" | b"p12" | b"pfx" | b"class"
        | b"jar" => "binary",
        _ => "unknown file type",
    }
}

fn file_name(path: &[u8]) -> &[u8] {
    match memchr::memrchr(b'/', path) {
        Some(k) => &path[k + 1..],
        None => path,
    }
}

/// The lower-cased extension; none for `.profile` or `README`.
fn extension(name: &[u8]) -> Option<Vec<u8>> {
    match memchr::memrchr(b'.', name) {
        Some(k) if k > 0 => Some(name[k + 1..].to_ascii_lowercase()),
        _ => None,
    }
}

// ---------------------------------------------------------------------------
// What every mode shares

struct Ctx {
    country: Country,
    /// Lower-cased and trimmed.
    id_columns: Vec<String>,
}

enum State {
    Text(TextWindow),
    Mail(Box<Mail>),
    Csv(Box<Csv>),
    Jsonl(Box<Jsonl>),
}

impl State {
    fn new(mode: Mode) -> State {
        match mode {
            Mode::Text => State::Text(TextWindow::default()),
            Mode::Mail => State::Mail(Box::new(Mail::new())),
            Mode::Csv { delimiter } => State::Csv(Box::new(Csv::new(delimiter))),
            Mode::Jsonl => State::Jsonl(Box::default()),
        }
    }
}

/// The identifiers already given for the current row (or file): the
/// first few in a list (a row seldom has more, and comparing beats
/// hashing), the rest as 128-bit digests in a set: 17 bytes each where an
/// identifier takes 72 and its text (a file with 100,000 addresses holds
/// 2 MiB instead of 12). The digest is two SipHash values under random
/// keys of this run, so two identifiers share one with a chance of about
/// 2^-128 per pair, and no file can be made to collide them.
#[derive(Default)]
struct Seen {
    row: Option<u64>,
    few: Vec<Identifier>,
    many: HashSet<u128>,
    keys: [RandomState; 2],
}

/// How many identifiers `Seen` keeps in its list.
const FEW: usize = 16;

impl Seen {
    /// Whether `id` is new in `row`, remembering it.
    fn first(&mut self, id: &Identifier, row: Option<u64>) -> bool {
        if self.row != row {
            self.row = row;
            self.few.clear();
            if !self.many.is_empty() {
                self.many = HashSet::new();
            }
        }
        if self.few.contains(id) {
            return false;
        }
        if self.few.len() < FEW {
            self.few.push(id.clone());
            return true;
        }
        let [a, b] = &self.keys;
        let digest = (u128::from(a.hash_one(id)) << 64) | u128::from(b.hash_one(id));
        if self.many.contains(&digest) {
            return false;
        }
        if self.many.len() < MAX_SEEN {
            self.many.insert(digest);
        }
        true
    }
}

/// Where found identifiers go: once per row, to the caller.
struct Sink<'a, 'o> {
    seen: &'a mut Seen,
    out: &'a mut (dyn FnMut(Found) + 'o),
}

impl Sink<'_, '_> {
    fn put(&mut self, id: Identifier, row: Option<u64>) {
        if self.seen.first(&id, row) {
            (self.out)(Found { id, row });
        }
    }
}

#[cfg(test)]
mod testing;

#[cfg(test)]
mod tests {
    use super::*;
    use testing::{CSV, JSONL, MBOX, filler, keys, rows, scan, scan_cut, scan_with, settings};

    #[test]
    fn each_identifier_once_per_file() {
        let found = scan(Mode::Text, "jan@example.nl JAN@example.nl\njan@example.nl");
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].row, None);
    }

    #[test]
    fn many_identifiers_in_a_file_each_once() {
        // More than the list holds: the rest are told apart by digest.
        let text: String = (0..3)
            .flat_map(|_| (0..200).map(|i| format!("klant{i}@example.nl\n")))
            .collect();
        let mut found: Vec<_> = scan(Mode::Text, &text).into_iter().map(|f| f.id).collect();
        assert_eq!(found.len(), 200);
        found.sort();
        found.dedup();
        assert_eq!(found.len(), 200);
        // A new row forgets them.
        let rows: String = (0..40)
            .map(|i| format!("{},k{}@example.nl\n", i, i % 20))
            .collect();
        let found = scan(Mode::Csv { delimiter: b',' }, &format!("id,email\n{rows}"));
        assert_eq!(found.len(), 40);
    }

    const MIXED: &str = "Van: \"Jansen, Jan\" <jan@example.nl>\r\nTel +31 6 12345678\r\n\
        IBAN NL91 ABNA 0417 1643 00 en 020-1234567; piet@example.be.\r\n";

    #[test]
    fn chunk_boundaries_do_not_matter() {
        let modes = [
            (Mode::Text, MIXED.to_string()),
            (Mode::Mail, MBOX.to_string()),
            (Mode::Csv { delimiter: b';' }, CSV.to_string()),
            (Mode::Jsonl, JSONL.to_string()),
        ];
        let settings = settings("NL", &["customer_no", "klantnr"]);
        for (mode, input) in modes {
            let input = input.as_bytes();
            let whole = rows(&scan_cut(mode, &settings, input, &[]));
            assert!(!whole.is_empty(), "{mode:?}");
            for cut in 0..=input.len() {
                let split = rows(&scan_cut(mode, &settings, input, &[cut]));
                assert_eq!(split, whole, "{mode:?} cut at {cut}");
            }
            let every: Vec<usize> = (1..input.len()).collect();
            assert_eq!(
                rows(&scan_cut(mode, &settings, input, &every)),
                whole,
                "{mode:?}"
            );
        }
    }

    #[test]
    fn long_lines_in_other_modes() {
        let mut big = filler(200_000);
        big.extend_from_slice(b" jan@example.nl ");
        big.extend(filler(200_000));
        let big = String::from_utf8(big).unwrap();
        let mail = format!("From: a@example.org\nTo: {big}\n\n{big}\nend piet@example.be\n");
        assert_eq!(
            keys(&scan(Mode::Mail, &mail)),
            [
                "email:a@example.org",
                "email:jan@example.nl",
                "email:piet@example.be"
            ]
        );
        let csv = format!("note,email\n\"{big}\",x@example.org\n");
        assert_eq!(
            rows(&scan(Mode::Csv { delimiter: b',' }, &csv)),
            ["1 email:jan@example.nl", "1 email:x@example.org"]
        );
        let jsonl = format!("{{\"note\":\"{big}\",\"email\":\"x@example.org\"}}\n{{}}\n");
        assert_eq!(
            rows(&scan(Mode::Jsonl, &jsonl)),
            ["1 email:jan@example.nl", "1 email:x@example.org"]
        );
    }

    #[test]
    fn a_few_megabytes_of_records() {
        // Correctness at volume (no timing): an order table as CSV text.
        let mut input = String::new();
        for n in 0..40_000u32 {
            input.push_str(&format!(
                "{n},2019-03-04,K{n:06},klant{n}@example.nl,06 {:08},EUR 1.234,56,\"Straat {n}, Utrecht\"\n",
                n * 7
            ));
        }
        assert!(input.len() > 3_000_000);
        let found = scan(Mode::Text, &input);
        let emails = found
            .iter()
            .filter(|f| matches!(f.id, Identifier::Email(_)))
            .count();
        let phones = found
            .iter()
            .filter(|f| matches!(f.id, Identifier::Phone(_)))
            .count();
        assert_eq!((emails, phones), (40_000, 40_000));
        let mut csv = String::from("id,date,customer,email,phone,amount,address\n");
        csv.push_str(&input);
        let found = scan_with(
            Mode::Csv { delimiter: b',' },
            &settings("NL", &["customer"]),
            &csv,
        );
        assert_eq!(found.len(), 3 * 40_000);
        assert_eq!(found.last().unwrap().row, Some(40_000));
    }

    #[test]
    fn modes_by_file_name() {
        for (path, mode) in [
            (&b"2024/notes.TXT"[..], Some(Mode::Text)),
            (b"export/orders.csv", Some(Mode::Text)),
            (b"audit.xaf", Some(Mode::Text)),
            (b"contacts.vcf", Some(Mode::Text)),
            (b"mail/Inbox.mbox/mbox", Some(Mode::Mail)),
            (b"mail/2024.mbox", Some(Mode::Mail)),
            (b"mail/offerte.eml", Some(Mode::Mail)),
            (b"mail/offerte.msg", None),
            (b"scan.pdf", None),
            (b"README", None),
            (b".profile", None),
        ] {
            assert_eq!(mode_for(path), mode, "{}", String::from_utf8_lossy(path));
        }
        assert_eq!(not_searched_reason(b"a/scan.PDF"), "PDF");
        assert_eq!(not_searched_reason(b"photo.jpeg"), "image");
        assert_eq!(not_searched_reason(b"offerte.docx"), "office document");
        assert_eq!(not_searched_reason(b"backup.tar.gz"), "archive");
        assert_eq!(not_searched_reason(b"mail.msg"), "binary");
        assert_eq!(not_searched_reason(b"README"), "unknown file type");
        assert_eq!(not_searched_reason(b"notes.txt"), "");
    }
}
