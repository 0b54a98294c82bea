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

use std::borrow::Cow;
use std::collections::HashSet;
use std::mem;

use memchr::{memchr, memchr2, memchr3};

use super::identify::{
    self, Country, Identifier, MAX_DOMAIN, MAX_LOCAL, email_normal, iban_normal, id_normal,
    phone_normal,
};

/// Text is scanned this many bytes at a time.
const WINDOW: usize = 64 * 1024;
/// More than the longest identifier as written (an e-mail address: 64 +
/// 1 + 253 bytes): windows overlap by this, and a match starting in one
/// window's last `OVERLAP` bytes is left to the next.
const OVERLAP: usize = 512;
/// Identifiers remembered per record or row to give each once.
const MAX_SEEN: usize = 100_000;
/// The longest column name or value parsed whole.
const MAX_VALUE: usize = 1024;
/// The most columns told apart; later ones are plain.
const MAX_COLUMNS: usize = 10_000;
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
/// hashing), the rest in a set.
#[derive(Default)]
struct Seen {
    row: Option<u64>,
    few: Vec<Identifier>,
    many: HashSet<Identifier>,
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
        if self.few.contains(id) || self.many.contains(id) {
            return false;
        }
        if self.few.len() < FEW {
            self.few.push(id.clone());
        } else if self.many.len() < MAX_SEEN {
            self.many.insert(id.clone());
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

/// What a column's (or top-level key's) values are.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
enum ColumnKind {
    #[default]
    Plain,
    Email,
    Phone,
    Iban,
    /// Named in the settings: the index in `Ctx::id_columns`.
    Id(usize),
}

fn column_kind(name: &str, ctx: &Ctx) -> ColumnKind {
    let lower = name.trim().to_lowercase();
    if let Some(ix) = ctx.id_columns.iter().position(|c| *c == lower) {
        return ColumnKind::Id(ix);
    }
    let words = words(name);
    let joined = words.concat();
    let has = |phrases: &[&str]| phrases.iter().any(|p| joined.contains(p));
    if joined.contains("mail") {
        ColumnKind::Email
    } else if has(&["iban", "bankaccount", "rekening", "accountnumber", "konto"]) {
        ColumnKind::Iban
    } else if has(&[
        "phone", "telefoon", "telefon", "mobile", "mobiel", "gsm", "handy", "fax",
    ]) || words.iter().any(|w| w.starts_with("tel"))
    {
        ColumnKind::Phone
    } else {
        ColumnKind::Plain
    }
}

/// The words of a column name, lower-cased: split at anything not a letter
/// or digit and before a capital after a small letter or digit
/// (`mobilePhone` → `mobile`, `phone`), as the table pass splits them.
fn words(name: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut word = String::new();
    let mut prev_lower = false;
    for c in name.chars() {
        if !c.is_alphanumeric() {
            if !word.is_empty() {
                out.push(mem::take(&mut word));
            }
            prev_lower = false;
            continue;
        }
        if c.is_uppercase() && prev_lower && !word.is_empty() {
            out.push(mem::take(&mut word));
        }
        prev_lower = c.is_lowercase() || c.is_ascii_digit();
        word.extend(c.to_lowercase());
    }
    if !word.is_empty() {
        out.push(word);
    }
    out
}

/// A whole value of a typed column, parsed as a user's input would be.
fn typed(kind: ColumnKind, text: &str, ctx: &Ctx) -> Option<Identifier> {
    let text = text.trim();
    if text.is_empty() {
        return None;
    }
    match kind {
        ColumnKind::Plain => None,
        ColumnKind::Email => email_normal(text).ok().map(Identifier::Email),
        ColumnKind::Phone => phone_normal(text, &ctx.country).ok().map(Identifier::Phone),
        ColumnKind::Iban => iban_normal(text).ok().map(Identifier::Iban),
        ColumnKind::Id(ix) => id_normal(&ctx.id_columns[ix], text).ok(),
    }
}

// ---------------------------------------------------------------------------
// Text

/// Running text, buffered a window at a time. Windows overlap: a match is
/// given by the window it starts in, before the last `OVERLAP` bytes of a
/// full window; the next window keeps `2 * OVERLAP` bytes of the last, so
/// that what starts in the overlap is seen whole and with what precedes it.
#[derive(Default)]
struct TextWindow {
    buf: Vec<u8>,
    /// E-mail addresses starting before this were given.
    emails_from: usize,
    /// Where the phone and IBAN search goes on (past the last match).
    main_from: usize,
}

impl TextWindow {
    fn push(&mut self, mut bytes: &[u8], country: &Country, row: Option<u64>, sink: &mut Sink) {
        while !bytes.is_empty() {
            let take = (WINDOW - self.buf.len()).min(bytes.len());
            self.buf.extend_from_slice(&bytes[..take]);
            bytes = &bytes[take..];
            if self.buf.len() == WINDOW {
                let upto = WINDOW - OVERLAP;
                let next = scan_text(
                    &self.buf,
                    self.emails_from,
                    self.main_from,
                    upto,
                    country,
                    row,
                    sink,
                );
                let cut = WINDOW - 2 * OVERLAP;
                self.buf.drain(..cut);
                self.emails_from = upto - cut;
                self.main_from = next.max(upto) - cut;
            }
        }
    }

    /// Scans the rest: the end of the text.
    fn flush(&mut self, country: &Country, row: Option<u64>, sink: &mut Sink) {
        let end = self.buf.len();
        scan_text(
            &self.buf,
            self.emails_from,
            self.main_from,
            end,
            country,
            row,
            sink,
        );
        self.buf.clear();
        self.emails_from = 0;
        self.main_from = 0;
    }
}

/// Bytes where a phone number may start, and the digits that are an IBAN's
/// check digits: the main loop stops at these only.
static STARTS: [bool; 256] = {
    let mut t = [false; 256];
    let mut c = b'0';
    while c <= b'9' {
        t[c as usize] = true;
        c += 1;
    }
    t[b'+' as usize] = true;
    t[b'(' as usize] = true;
    t
};

/// Gives the identifiers of `buf` that start in `from..to` (e-mail
/// addresses from `emails_from`, the others from `main_from`), looking
/// past `to` as far as they reach. Returns where the phone and IBAN search
/// stopped (`to`, or the end of a match that started before it).
fn scan_text(
    buf: &[u8],
    emails_from: usize,
    main_from: usize,
    to: usize,
    country: &Country,
    row: Option<u64>,
    sink: &mut Sink,
) -> usize {
    let reach = (to + MAX_LOCAL + 1).min(buf.len());
    if emails_from < reach {
        for at in memchr::memchr_iter(b'@', &buf[emails_from..reach]) {
            if let Some((start, address)) = email_at(buf, emails_from + at)
                && (emails_from..to).contains(&start)
            {
                sink.put(Identifier::Email(address), row);
            }
        }
    }
    let mut i = main_from;
    while i < to {
        let b = buf[i];
        if !STARTS[usize::from(b)] {
            i += 1;
            continue;
        }
        // An IBAN is anchored on its first check digit, after two letters
        // that start a word.
        let found = if i >= 2
            && buf[i - 1].is_ascii_alphabetic()
            && buf[i - 2].is_ascii_alphabetic()
            && word_starts(buf, i - 2)
        {
            iban_at(buf, i - 2)
        } else if (b == b'0' || !b.is_ascii_digit()) && number_starts(buf, i) {
            phone_at(buf, i, country).map(|(end, id)| (end, Some(id)))
        } else {
            None
        };
        match found {
            Some((end, id)) => {
                if let Some(id) = id {
                    sink.put(id, row);
                }
                i = end.max(i + 1);
            }
            None => i += 1,
        }
    }
    i
}

/// Whether `buf[k]` is the letter of an escape such as `\n`.
fn escape_letter(buf: &[u8], k: usize) -> bool {
    matches!(buf[k], b'n' | b't' | b'r') && k > 0 && buf[k - 1] == b'\\'
}

/// Whether a word starts at `i`.
fn word_starts(buf: &[u8], i: usize) -> bool {
    i == 0 || !buf[i - 1].is_ascii_alphanumeric() || escape_letter(buf, i - 1)
}

/// Whether a phone number may start at `i`: not inside a word or number,
/// nor after another group of digits (`12 03 2019 0612`), nor after what
/// joins numbers into codes, paths and amounts.
fn number_starts(buf: &[u8], i: usize) -> bool {
    if i == 0 {
        return true;
    }
    let p = buf[i - 1];
    if p.is_ascii_alphanumeric() {
        return escape_letter(buf, i - 1);
    }
    if p == b' ' && i >= 2 && buf[i - 2].is_ascii_digit() {
        return false;
    }
    !matches!(
        p,
        b'-' | b'/' | b'.' | b'_' | b'+' | b'@' | b'#' | b'&' | b'%' | b'*' | b'$' | b'\\'
    )
}

/// A byte taken into the part before an `@` found in text.
fn is_scan_local(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'%' | b'+' | b'-' | b'\'')
}

/// The e-mail address around the `@` at `at`: its start and normal form.
fn email_at(buf: &[u8], at: usize) -> Option<(usize, String)> {
    let mut start = at;
    while start > 0 && at - start <= MAX_LOCAL && is_scan_local(buf[start - 1]) {
        start -= 1;
    }
    if at - start > MAX_LOCAL {
        return None;
    }
    if start > 0 && buf[start - 1] == b'\\' && at - start > 1 && escape_letter(buf, start) {
        start += 1;
    }
    while start < at && matches!(buf[start], b'.' | b'\'') {
        start += 1;
    }
    let mut end = at + 1;
    while end < buf.len() && end - at <= MAX_DOMAIN && identify::is_domain_byte(buf[end]) {
        end += 1;
    }
    if end - at > MAX_DOMAIN {
        return None;
    }
    while end > at + 1 && matches!(buf[end - 1], b'.' | b'-') {
        end -= 1;
    }
    let address = &buf[start..end];
    identify::check_email(address).ok()?;
    let normal = address
        .iter()
        .map(|&b| char::from(b.to_ascii_lowercase()))
        .collect();
    Some((start, normal))
}

/// An IBAN-shaped run at `i`: where it ends, and the IBAN if its check
/// digits match. `None` if nothing IBAN-shaped starts there.
fn iban_at(buf: &[u8], i: usize) -> Option<(usize, Option<Identifier>)> {
    let head = buf.get(i..i + 4)?;
    if !(head[0].is_ascii_alphabetic()
        && head[1].is_ascii_alphabetic()
        && head[2].is_ascii_digit()
        && head[3].is_ascii_digit())
    {
        return None;
    }
    let head = head.to_ascii_uppercase();
    let len = identify::iban_length(&head[..2])?;
    let mut iban = [0u8; 34];
    iban[..4].copy_from_slice(&head);
    let mut n = 4;
    let mut p = i + 4;
    let grouped = buf.get(p) == Some(&b' ');
    while n < len {
        if grouped {
            if buf.get(p) != Some(&b' ') {
                return None;
            }
            p += 1;
        }
        let k = if grouped { (len - n).min(4) } else { len - n };
        let part = buf.get(p..p + k)?;
        if !part.iter().all(u8::is_ascii_alphanumeric) {
            return None;
        }
        for (to, from) in iban[n..n + k].iter_mut().zip(part) {
            *to = from.to_ascii_uppercase();
        }
        n += k;
        p += k;
    }
    if buf.get(p).is_some_and(u8::is_ascii_alphanumeric) {
        return None;
    }
    let iban = &iban[..len];
    let id = identify::iban_checks(iban)
        .then(|| Identifier::Iban(iban.iter().map(|&b| char::from(b)).collect()));
    Some((p, id))
}

/// The most digits read for one phone number; a longer run is none.
const MAX_PHONE_DIGITS: usize = 20;

/// A gap between the digit groups of a phone number as written.
#[derive(Clone, Copy, Default)]
struct Gap {
    /// Digits before it.
    digits: usize,
    /// Where the digits before it end.
    end: usize,
    /// Its byte if it is one byte, else 0.
    sep: u8,
    /// It holds a space: the number may end before it.
    space: bool,
}

/// A phone number starting at `i` (a `+`, a `0` or a `(`): where it ends
/// and its normal form.
fn phone_at(buf: &[u8], i: usize, country: &Country) -> Option<(usize, Identifier)> {
    let plus = buf[i] == b'+';
    let mut p = if plus || buf[i] == b'(' { i + 1 } else { i };
    match buf.get(p) {
        Some(b'0') => {}
        Some(c) if plus && c.is_ascii_digit() => {}
        _ => return None,
    }
    let mut digits = [0u8; MAX_PHONE_DIGITS];
    let mut n = 0;
    let mut gaps = [Gap::default(); MAX_PHONE_DIGITS];
    let mut g = 0;
    let mut zero_dropped = false;
    let end = loop {
        while let Some(&c) = buf.get(p)
            && c.is_ascii_digit()
        {
            if n == MAX_PHONE_DIGITS {
                return None;
            }
            digits[n] = c;
            n += 1;
            p += 1;
        }
        let digits_end = p;
        let mut len = 0;
        let mut space = false;
        while len <= 3 {
            match buf.get(p) {
                Some(b'(') if plus && !zero_dropped && n <= 3 && buf[p..].starts_with(b"(0)") => {
                    zero_dropped = true;
                    p += 3;
                }
                Some(&c @ (b' ' | b'-' | b'.' | b'/' | b'(' | b')')) => {
                    space |= c == b' ';
                    p += 1;
                }
                _ => break,
            }
            len += 1;
        }
        if (1..=3).contains(&len) && buf.get(p).is_some_and(u8::is_ascii_digit) {
            let sep = if p - digits_end == 1 {
                buf[digits_end]
            } else {
                0
            };
            gaps[g] = Gap {
                digits: n,
                end: digits_end,
                sep,
                space,
            };
            g += 1;
            continue;
        }
        break digits_end;
    };
    let gaps = &gaps[..g];
    let free_after = match buf.get(end) {
        None => true,
        Some(&c) => !(c.is_ascii_alphanumeric() || c == b'_' || c == b'@'),
    };
    if free_after && let Some(id) = phone_candidate(plus, &digits[..n], gaps, country) {
        return Some((end, id));
    }
    // "06 12345678 2019": the number may end at a space.
    for (k, gap) in gaps.iter().enumerate().rev().filter(|(_, gap)| gap.space) {
        if let Some(id) = phone_candidate(plus, &digits[..gap.digits], &gaps[..k], country) {
            return Some((gap.end, id));
        }
    }
    None
}

fn phone_candidate(
    plus: bool,
    digits: &[u8],
    gaps: &[Gap],
    country: &Country,
) -> Option<Identifier> {
    let international = if plus {
        Some(digits)
    } else {
        digits.strip_prefix(b"00")
    };
    if let Some(digits) = international {
        return identify::check_international(digits)
            .ok()
            .map(Identifier::Phone);
    }
    // A lone 0 before the first gap is a decimal (`0.612345678`), not a
    // trunk prefix.
    if !country.scan_lengths().contains(&digits.len())
        || gaps.first().is_some_and(|g| g.digits == 1)
        || looks_like_date(digits.len(), gaps)
    {
        return None;
    }
    identify::to_e164(false, digits, country)
        .ok()
        .map(Identifier::Phone)
}

/// Whether digits in groups start like a date: `01-02-2019 …`, or
/// `01.02.19 12.30` where the separator changes after the date.
fn looks_like_date(count: usize, gaps: &[Gap]) -> bool {
    let [a, b, rest @ ..] = gaps else {
        return false;
    };
    let third_end = rest.first().map_or(count, |g| g.digits);
    let (day, month, year) = (a.digits, b.digits - a.digits, third_end - b.digits);
    if day > 2 || month > 2 || a.sep == 0 || a.sep != b.sep || !b"-./ ".contains(&a.sep) {
        return false;
    }
    match year {
        4 => true,
        2 => a.sep != b' ' && rest.iter().any(|g| g.sep != a.sep),
        _ => false,
    }
}

// ---------------------------------------------------------------------------
// Mail

#[derive(Clone, Copy, Default, PartialEq, Eq)]
enum HeaderKind {
    /// Not looked at.
    #[default]
    Other,
    /// An address list.
    Addresses,
    /// Scanned as text (`Subject`).
    Text,
}

#[derive(Default)]
struct Header {
    kind: HeaderKind,
    /// The unfolded value of an address header.
    value: Vec<u8>,
    /// It grew past a window and went to the text scan instead.
    spilled: bool,
}

const ADDRESS_HEADERS: &[&[u8]] = &[
    b"from",
    b"to",
    b"cc",
    b"bcc",
    b"reply-to",
    b"sender",
    b"resent-from",
    b"resent-to",
    b"resent-cc",
    b"resent-bcc",
    b"resent-sender",
];

/// Messages: header lines, then a body of text. Lines are gathered up to a
/// window; a longer one is passed on in pieces.
struct Mail {
    line: Vec<u8>,
    /// The line being read is longer than a window: pieces went on.
    continued: bool,
    /// The pieces of that line belong to the current header.
    to_header: bool,
    /// The last line was empty.
    prev_blank: bool,
    /// A line was read.
    started: bool,
    /// Reading a message's headers.
    headers: bool,
    header: Header,
    body: TextWindow,
}

impl Mail {
    fn new() -> Mail {
        Mail {
            line: Vec::new(),
            continued: false,
            to_header: false,
            prev_blank: false,
            started: false,
            headers: true,
            header: Header::default(),
            body: TextWindow::default(),
        }
    }

    fn feed(&mut self, mut bytes: &[u8], ctx: &Ctx, sink: &mut Sink) {
        while !bytes.is_empty() {
            let Some(k) = memchr(b'\n', bytes) else {
                self.append(bytes, ctx, sink);
                return;
            };
            if self.line.is_empty() && k <= WINDOW {
                self.piece(&bytes[..k], true, ctx, sink);
            } else {
                self.append(&bytes[..k], ctx, sink);
                self.take_line(true, ctx, sink);
            }
            bytes = &bytes[k + 1..];
        }
    }

    fn finish(&mut self, ctx: &Ctx, sink: &mut Sink) {
        if !self.line.is_empty() || self.continued {
            self.take_line(true, ctx, sink);
        }
        self.end_header(ctx, sink);
        self.body.flush(&ctx.country, None, sink);
    }

    /// Adds to the line, passing a full window on as a piece.
    fn append(&mut self, mut part: &[u8], ctx: &Ctx, sink: &mut Sink) {
        loop {
            let room = WINDOW - self.line.len();
            if part.len() <= room {
                self.line.extend_from_slice(part);
                return;
            }
            self.line.extend_from_slice(&part[..room]);
            part = &part[room..];
            self.take_line(false, ctx, sink);
        }
    }

    fn take_line(&mut self, last: bool, ctx: &Ctx, sink: &mut Sink) {
        let mut line = mem::take(&mut self.line);
        self.piece(&line, last, ctx, sink);
        line.clear();
        self.line = line;
    }

    /// A line, or a piece of one (`last`: its end).
    fn piece(&mut self, bytes: &[u8], last: bool, ctx: &Ctx, sink: &mut Sink) {
        let first = !self.continued;
        self.continued = !last;
        let text = if last {
            bytes.strip_suffix(b"\r").unwrap_or(bytes)
        } else {
            bytes
        };
        if first {
            self.line_start(text, ctx, sink);
        } else if self.to_header {
            self.header_more(text, ctx, sink);
        } else {
            self.body.push(text, &ctx.country, None, sink);
        }
        if last {
            if !self.to_header {
                self.body.push(b"\n", &ctx.country, None, sink);
            }
            self.prev_blank = first && text.is_empty();
            self.started = true;
        }
    }

    fn line_start(&mut self, text: &[u8], ctx: &Ctx, sink: &mut Sink) {
        self.to_header = false;
        if text.starts_with(b"From ") && (!self.started || self.prev_blank) {
            // The next message; its envelope line names the sender.
            self.end_header(ctx, sink);
            self.headers = true;
            self.body.push(text, &ctx.country, None, sink);
            return;
        }
        if self.headers {
            if text.is_empty() {
                self.end_header(ctx, sink);
                self.headers = false;
                return;
            }
            if text[0] == b' ' || text[0] == b'\t' {
                self.to_header = true;
                self.header_more(text, ctx, sink);
                return;
            }
            if let Some(colon) = header_colon(text) {
                self.end_header(ctx, sink);
                let name = text[..colon].trim_ascii_end();
                self.header.kind = if ADDRESS_HEADERS.iter().any(|h| h.eq_ignore_ascii_case(name)) {
                    HeaderKind::Addresses
                } else if name.eq_ignore_ascii_case(b"subject") {
                    HeaderKind::Text
                } else {
                    HeaderKind::Other
                };
                self.to_header = true;
                self.header_more(&text[colon + 1..], ctx, sink);
                return;
            }
            // Not a header line: the headers are over (or this is no mail).
            self.end_header(ctx, sink);
            self.headers = false;
        }
        self.body.push(text, &ctx.country, None, sink);
    }

    fn header_more(&mut self, text: &[u8], ctx: &Ctx, sink: &mut Sink) {
        let header = &mut self.header;
        match header.kind {
            HeaderKind::Other => {}
            HeaderKind::Text => self.body.push(text, &ctx.country, None, sink),
            HeaderKind::Addresses if header.spilled => {
                self.body.push(text, &ctx.country, None, sink);
            }
            HeaderKind::Addresses if header.value.len() + text.len() > WINDOW => {
                self.body.push(&header.value, &ctx.country, None, sink);
                self.body.push(text, &ctx.country, None, sink);
                header.value.clear();
                header.spilled = true;
            }
            HeaderKind::Addresses => header.value.extend_from_slice(text),
        }
    }

    fn end_header(&mut self, ctx: &Ctx, sink: &mut Sink) {
        let header = &mut self.header;
        match header.kind {
            HeaderKind::Addresses if !header.spilled => {
                addresses(&header.value, &ctx.country, sink);
            }
            HeaderKind::Addresses | HeaderKind::Text => {
                self.body.push(b"\n", &ctx.country, None, sink);
            }
            HeaderKind::Other => {}
        }
        header.kind = HeaderKind::Other;
        header.value.clear();
        header.spilled = false;
    }
}

/// Where the `:` of a header line `Name: value` is.
fn header_colon(text: &[u8]) -> Option<usize> {
    let colon = memchr(b':', &text[..text.len().min(100)])?;
    let name = text[..colon].trim_ascii_end();
    (!name.is_empty() && name.iter().all(|b| (33..=126).contains(b))).then_some(colon)
}

/// The addresses of an RFC 5322 address list: `Jan <jan@example.nl>`,
/// `"Jansen, Jan" <jan@example.nl>`, `jan@example.nl (Jan)`,
/// `Team: a@example.nl, b@example.nl;`. An element that yields none is
/// scanned as text.
fn addresses(value: &[u8], country: &Country, sink: &mut Sink) {
    let mut bare: Vec<u8> = Vec::new();
    let (mut quoted, mut escaped, mut depth) = (false, false, 0u32);
    let mut angle: Option<usize> = None;
    let mut element = 0;
    let mut got = false;
    for (j, &b) in value.iter().enumerate() {
        if escaped {
            escaped = false;
            continue;
        }
        if quoted {
            match b {
                b'\\' => escaped = true,
                b'"' => quoted = false,
                _ => {}
            }
            continue;
        }
        if depth > 0 {
            match b {
                b'\\' => escaped = true,
                b'(' => depth += 1,
                b')' => depth -= 1,
                _ => {}
            }
            continue;
        }
        if let Some(start) = angle {
            if b == b'>' {
                // After a route (`<@relay:jan@example.nl>`) comes the address.
                let inner = &value[start..j];
                let spec = inner.rsplit(|&c| c == b':').next().unwrap_or(inner);
                if let Ok(text) = std::str::from_utf8(spec)
                    && let Ok(address) = email_normal(text)
                {
                    sink.put(Identifier::Email(address), None);
                    got = true;
                }
                angle = None;
            }
            continue;
        }
        match b {
            b'"' => quoted = true,
            b'(' => depth = 1,
            b'<' => angle = Some(j + 1),
            b':' => bare.clear(),
            b',' | b';' => {
                address_element(&value[element..j], &bare, got, country, sink);
                element = j + 1;
                bare.clear();
                got = false;
            }
            _ => bare.push(b),
        }
    }
    address_element(&value[element..], &bare, got, country, sink);
}

fn address_element(raw: &[u8], bare: &[u8], got: bool, country: &Country, sink: &mut Sink) {
    if got {
        return;
    }
    if let Ok(text) = std::str::from_utf8(bare)
        && let Ok(address) = email_normal(text)
    {
        sink.put(Identifier::Email(address), None);
        return;
    }
    if memchr(b'@', raw).is_some() {
        scan_text(raw, 0, 0, raw.len(), country, None, sink);
    }
}

// ---------------------------------------------------------------------------
// CSV

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

struct Csv {
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
    fn new(delimiter: u8) -> Csv {
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

    fn feed(&mut self, bytes: &[u8], ctx: &Ctx, sink: &mut Sink) {
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

    fn finish(&mut self, ctx: &Ctx, sink: &mut Sink) {
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

// ---------------------------------------------------------------------------
// JSON Lines

/// The most top-level keys whose kinds are remembered by position.
const MAX_KEYS: usize = 1000;

#[derive(Default)]
struct Jsonl {
    text: TextWindow,
    /// Rows (lines that are not blank) done.
    rows: u64,
    /// The current line has had something other than white space.
    begun: bool,
    walk: Walk,
    /// The raw key and kind at each position of the last lines: lines of
    /// one table mostly have the same keys in the same order.
    kinds: Vec<(Vec<u8>, ColumnKind)>,
}

impl Jsonl {
    fn feed(&mut self, mut bytes: &[u8], ctx: &Ctx, sink: &mut Sink) {
        while !bytes.is_empty() {
            match memchr(b'\n', bytes) {
                Some(k) => {
                    self.piece(&bytes[..k], ctx, sink);
                    self.end_line(ctx, sink);
                    bytes = &bytes[k + 1..];
                }
                None => {
                    self.piece(bytes, ctx, sink);
                    return;
                }
            }
        }
    }

    fn finish(&mut self, ctx: &Ctx, sink: &mut Sink) {
        self.end_line(ctx, sink);
    }

    fn piece(&mut self, part: &[u8], ctx: &Ctx, sink: &mut Sink) {
        if !self.begun {
            if part.iter().all(u8::is_ascii_whitespace) {
                return;
            }
            self.begun = true;
        }
        let row = Some(self.rows + 1);
        self.text.push(part, &ctx.country, row, sink);
        self.walk.feed(part, &mut self.kinds, ctx, row, sink);
    }

    fn end_line(&mut self, ctx: &Ctx, sink: &mut Sink) {
        if self.begun {
            let row = Some(self.rows + 1);
            self.walk.end(ctx, row, sink);
            self.text.flush(&ctx.country, row, sink);
            self.rows += 1;
        }
        self.walk.reset();
        self.begun = false;
    }
}

#[derive(Clone, Copy, Default, PartialEq, Eq)]
enum Expect {
    #[default]
    Key,
    Colon,
    Value,
    Comma,
}

#[derive(Clone, Copy, Default, PartialEq, Eq)]
enum Capture {
    #[default]
    Nothing,
    Key,
    Text,
    Scalar,
}

/// A walk over one JSON line that reads the top-level object's keys and
/// the values of typed ones; anything else is skipped, malformed JSON
/// included.
#[derive(Default)]
struct Walk {
    begun: bool,
    /// The line's value has ended, or it is not an object.
    done: bool,
    depth: u32,
    at: Expect,
    in_string: bool,
    escaped: bool,
    capture: Capture,
    key: Vec<u8>,
    key_index: usize,
    /// The current key's kind.
    kind: ColumnKind,
    value: Vec<u8>,
    long: bool,
}

impl Walk {
    fn reset(&mut self) {
        let (mut key, mut value) = (mem::take(&mut self.key), mem::take(&mut self.value));
        key.clear();
        value.clear();
        *self = Walk {
            key,
            value,
            ..Walk::default()
        };
    }

    fn feed(
        &mut self,
        bytes: &[u8],
        kinds: &mut Vec<(Vec<u8>, ColumnKind)>,
        ctx: &Ctx,
        row: Option<u64>,
        sink: &mut Sink,
    ) {
        let mut i = 0;
        while i < bytes.len() && !self.done {
            if self.in_string {
                if self.escaped {
                    self.escaped = false;
                    self.take(&bytes[i..i + 1]);
                    i += 1;
                    continue;
                }
                let rest = &bytes[i..];
                let Some(k) = memchr2(b'"', b'\\', rest) else {
                    self.take(rest);
                    return;
                };
                self.take(&rest[..k]);
                i += k + 1;
                if rest[k] == b'\\' {
                    self.take(b"\\");
                    self.escaped = true;
                } else {
                    self.in_string = false;
                    self.string_end(kinds, ctx, row, sink);
                }
                continue;
            }
            let b = bytes[i];
            if self.capture == Capture::Scalar {
                if matches!(b, b',' | b'}' | b']') || b.is_ascii_whitespace() {
                    self.scalar_end(ctx, row, sink);
                } else {
                    self.take(&bytes[i..i + 1]);
                    i += 1;
                    continue;
                }
            }
            i += 1;
            if !self.begun {
                match b {
                    b'{' => {
                        self.begun = true;
                        self.depth = 1;
                    }
                    // White space and a byte order mark.
                    _ if b.is_ascii_whitespace() || BOM.contains(&b) => {}
                    _ => self.done = true,
                }
                continue;
            }
            match b {
                b'"' => {
                    self.in_string = true;
                    if self.depth == 1 {
                        match self.at {
                            Expect::Key => self.start(Capture::Key),
                            Expect::Value => {
                                self.at = Expect::Comma;
                                if self.kind != ColumnKind::Plain {
                                    self.start(Capture::Text);
                                }
                            }
                            _ => {}
                        }
                    }
                }
                b'{' | b'[' => {
                    if self.depth == 1 && self.at == Expect::Value {
                        self.at = Expect::Comma;
                    }
                    self.depth += 1;
                }
                b'}' | b']' => {
                    self.depth = self.depth.saturating_sub(1);
                    self.done = self.depth == 0;
                }
                b':' if self.depth == 1 && self.at == Expect::Colon => self.at = Expect::Value,
                b',' if self.depth == 1 => {
                    self.at = Expect::Key;
                    self.key_index += 1;
                    self.kind = ColumnKind::Plain;
                }
                _ if b.is_ascii_whitespace() => {}
                _ if self.depth == 1 && self.at == Expect::Value => {
                    self.at = Expect::Comma;
                    if self.kind != ColumnKind::Plain {
                        self.start(Capture::Scalar);
                        self.take(&[b]);
                    }
                }
                _ => {}
            }
        }
    }

    /// The line ended.
    fn end(&mut self, ctx: &Ctx, row: Option<u64>, sink: &mut Sink) {
        if self.capture == Capture::Scalar {
            self.scalar_end(ctx, row, sink);
        }
    }

    fn start(&mut self, capture: Capture) {
        self.capture = capture;
        self.long = false;
        match capture {
            Capture::Key => self.key.clear(),
            _ => self.value.clear(),
        }
    }

    fn take(&mut self, bytes: &[u8]) {
        let (into, max) = match self.capture {
            Capture::Nothing => return,
            Capture::Key => (&mut self.key, MAX_VALUE),
            Capture::Text | Capture::Scalar => (&mut self.value, MAX_VALUE),
        };
        if into.len() + bytes.len() > max {
            self.long = true;
        } else {
            into.extend_from_slice(bytes);
        }
    }

    fn string_end(
        &mut self,
        kinds: &mut Vec<(Vec<u8>, ColumnKind)>,
        ctx: &Ctx,
        row: Option<u64>,
        sink: &mut Sink,
    ) {
        match self.capture {
            Capture::Key => {
                self.at = Expect::Colon;
                self.kind = if self.long {
                    ColumnKind::Plain
                } else {
                    key_kind(&self.key, self.key_index, kinds, ctx)
                };
            }
            Capture::Text => {
                if !self.long
                    && let Some(text) = json_string(&self.value)
                    && let Some(id) = typed(self.kind, &text, ctx)
                {
                    sink.put(id, row);
                }
            }
            Capture::Nothing | Capture::Scalar => {}
        }
        self.capture = Capture::Nothing;
    }

    fn scalar_end(&mut self, ctx: &Ctx, row: Option<u64>, sink: &mut Sink) {
        self.capture = Capture::Nothing;
        if self.long {
            return;
        }
        if let Ok(text) = std::str::from_utf8(&self.value)
            && !matches!(text, "null" | "true" | "false")
            && let Some(id) = typed(self.kind, text, ctx)
        {
            sink.put(id, row);
        }
    }
}

/// The kind of the top-level key `raw` (as written, escapes and all) at
/// position `index` of its line.
fn key_kind(
    raw: &[u8],
    index: usize,
    kinds: &mut Vec<(Vec<u8>, ColumnKind)>,
    ctx: &Ctx,
) -> ColumnKind {
    if let Some((known, kind)) = kinds.get(index)
        && known == raw
    {
        return *kind;
    }
    let kind = json_string(raw).map_or(ColumnKind::Plain, |name| column_kind(&name, ctx));
    if let Some(slot) = kinds.get_mut(index) {
        *slot = (raw.to_vec(), kind);
    } else if index == kinds.len() && index < MAX_KEYS {
        kinds.push((raw.to_vec(), kind));
    }
    kind
}

/// The text of a JSON string's contents as written between its quotes.
fn json_string(raw: &[u8]) -> Option<Cow<'_, str>> {
    if memchr(b'\\', raw).is_none() {
        return std::str::from_utf8(raw).ok().map(Cow::Borrowed);
    }
    let mut quoted = Vec::with_capacity(raw.len() + 2);
    quoted.push(b'"');
    quoted.extend_from_slice(raw);
    quoted.push(b'"');
    serde_json::from_slice::<String>(&quoted)
        .ok()
        .map(Cow::Owned)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(country: &str, ids: &[&str]) -> Settings {
        Settings {
            country: Country::parse(country).unwrap(),
            id_columns: ids.iter().map(|s| s.to_string()).collect(),
        }
    }

    /// Feeds `input` in the pieces that `cuts` (ascending offsets) make.
    fn scan_cut(mode: Mode, settings: &Settings, input: &[u8], cuts: &[usize]) -> Vec<Found> {
        let mut scanner = Scanner::new(mode, settings);
        let mut found = Vec::new();
        let mut from = 0;
        for &cut in cuts.iter().chain([&input.len()]) {
            scanner.feed(&input[from..cut], &mut |f| found.push(f));
            from = cut;
        }
        scanner.finish(&mut |f| found.push(f));
        found
    }

    fn scan_with(mode: Mode, settings: &Settings, input: &str) -> Vec<Found> {
        scan_cut(mode, settings, input.as_bytes(), &[])
    }

    fn scan(mode: Mode, input: &str) -> Vec<Found> {
        scan_with(mode, &Settings::default(), input)
    }

    /// The keys found, sorted.
    fn keys(found: &[Found]) -> Vec<String> {
        let mut keys: Vec<String> = found.iter().map(|f| f.id.key()).collect();
        keys.sort();
        keys
    }

    /// "row key" for each found, sorted.
    fn rows(found: &[Found]) -> Vec<String> {
        let mut out: Vec<String> = found
            .iter()
            .map(|f| format!("{} {}", f.row.unwrap_or(0), f.id.key()))
            .collect();
        out.sort();
        out
    }

    fn text_keys(input: &str) -> Vec<String> {
        keys(&scan(Mode::Text, input))
    }

    #[test]
    fn emails_in_text() {
        let found = text_keys(
            "Van: Jan Jansen <Jan.Jansen@Example.NL>\n\
             mailto:info@shop.example.com?subject=x, (piet@example.be).\n\
             \"klaas@example.de\", 'o'brien@example.ie' and ...anna@example.nl...\n\
             user=marie@example.fr&x=1 and a JSON \"note\":\"x\\nkees@example.nl\"\n\
             not: jan@localhost, @example.nl, jan@, a@b.c, x@-bad.nl\n",
        );
        assert_eq!(
            found,
            [
                "email:anna@example.nl",
                "email:info@shop.example.com",
                "email:jan.jansen@example.nl",
                "email:kees@example.nl",
                "email:klaas@example.de",
                "email:marie@example.fr",
                "email:o'brien@example.ie",
                "email:piet@example.be",
            ]
        );
    }

    #[test]
    fn ibans_in_text() {
        let found = text_keys(
            "IBAN: NL91 ABNA 0417 1643 00 t.n.v. Jansen\n\
             rekening NL91ABNA0417164300, BE68539007547034; DE89 3704 0044 0532 0130 00.\n\
             wrong: NL91 ABNA 0417 1643 01, NL91ABNA041716430, XNL91ABNA0417164300\n",
        );
        assert_eq!(
            found,
            [
                "iban:BE68539007547034",
                "iban:DE89370400440532013000",
                "iban:NL91ABNA0417164300",
            ]
        );
        // The digits of an IBAN with a bad checksum are no phone number.
        assert!(text_keys("NL91 ABNA 0417 1643 01").is_empty());
    }

    #[test]
    fn phones_in_text() {
        let found = text_keys(
            "Bel +31 (0)6-1234 5678 of 0031 20 123 4567, mobiel: 06-87654321.\n\
             Tel.: (020) 765 43 21; fax 020/7654322, BE +32 470 12 34 56\n\
             US +1 (201) 555-0123 and 06 11223344 2019\n",
        );
        assert_eq!(
            found,
            [
                "phone:+12015550123",
                "phone:+31201234567",
                "phone:+31207654321",
                "phone:+31207654322",
                "phone:+31611223344",
                "phone:+31612345678",
                "phone:+31687654321",
                "phone:+32470123456",
            ]
        );
    }

    #[test]
    fn dates_amounts_and_order_numbers_are_no_phones() {
        for text in [
            "Datum: 2019-03-04, factuur 2019-0042, order 0012345678",
            "01-02-2019 12:30",
            "01.02.19 12.30",
            "04/03/2019 10",
            "12 03 2019 0612",
            "Totaal € 0,50 en 1.234.567,89 en 0.612345678",
            "Factuurnummer INV-0612345678 en ref #0612345678 en 10612345678",
            "pad /data/0612345678 en x_0612345678 en 0612345678abc",
            "artikel 0000123456, klant 00012345678",
            "+999 12345678 en +31 6 1234567",
            "06 1234 567 is te kort, 06-12345-678-9 te lang",
        ] {
            assert!(text_keys(text).is_empty(), "{text}: {:?}", text_keys(text));
        }
    }

    #[test]
    fn national_numbers_follow_the_default_country() {
        let text = "bel 0470 12 34 56 of 02 123 45 67";
        let be = keys(&scan_with(Mode::Text, &settings("BE", &[]), text));
        assert_eq!(be, ["phone:+3221234567", "phone:+32470123456"]);
        // In NL the same 10 digits are a Dutch number, 9 digits none.
        let nl = keys(&scan_with(Mode::Text, &settings("NL", &[]), text));
        assert_eq!(nl, ["phone:+31470123456"]);
        // German national numbers vary in length: only +49 is found.
        let de = keys(&scan_with(
            Mode::Text,
            &settings("DE", &[]),
            "030 1234567 und +49 30 1234568",
        ));
        assert_eq!(de, ["phone:+49301234568"]);
    }

    #[test]
    fn each_identifier_once_per_file() {
        let found = scan(Mode::Text, "jan@example.nl JAN@example.nl\njan@example.nl");
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].row, None);
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

    const CSV: &str = "\u{FEFF}klantnr;Naam;E-mail;Telefoon;IBAN;Opmerking\r\n\
        K001;\"Jansen; Jan\";Jan@Example.nl;030 123 4567;nl91 abna 0417 1643 00;\"bel 06-12345678\n\
        of mail \"\"jan@work.example\"\"\"\r\n\
        \r\n\
        K002;Piet;;;;\r\n\
        K001;Jan;jan@example.nl;;;NULL\r\n\
        ;;niet-een-adres;12;NL00;\"x\"\n";

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

    const MBOX: &str = "From jan@example.nl Mon Jan  1 10:00:00 2024\n\
        From: \"Jansen, Jan\" <Jan@Example.NL>\n\
        To: piet@example.be (Piet), Team: a@example.org,\n\
        \t b@example.org;, <@relay.example:c@example.org>\n\
        Cc:\n  Klaas\n   <klaas@example.de>\n\
        Message-ID: <1234.5678@mail.example.nl>\n\
        Subject: bel me: +31 6 12345678\n\
        \n\
        Hallo, mijn IBAN is NL91ABNA0417164300.\n\
        >From the archive\n\
        \n\
        From anna@example.fr Tue Jan  2 10:00:00 2024\n\
        From: Anna <anna@example.fr>\n\
        Reply-To: undisclosed-recipients:;\n\
        Bcc: Broken Name kees@example.nl\n\
        \n\
        From here on, body text: marie@example.fr\n";

    #[test]
    fn mbox_with_two_messages_and_folded_headers() {
        let found = scan(Mode::Mail, MBOX);
        assert!(found.iter().all(|f| f.row.is_none()));
        assert_eq!(
            keys(&found),
            [
                "email:a@example.org",
                "email:anna@example.fr",
                "email:b@example.org",
                "email:c@example.org",
                "email:jan@example.nl",
                "email:kees@example.nl",
                "email:klaas@example.de",
                "email:marie@example.fr",
                "email:piet@example.be",
                "iban:NL91ABNA0417164300",
                "phone:+31612345678",
            ]
        );
    }

    #[test]
    fn mail_that_is_not_mail_is_scanned_as_text() {
        let found = scan(
            Mode::Mail,
            "Dit is geen mail.\nBel 06 12345678 of mail jan@example.nl\n",
        );
        assert_eq!(keys(&found), ["email:jan@example.nl", "phone:+31612345678"]);
    }

    const JSONL: &str = "{\"customer_no\": \"K017807\", \"email\": \"Jan@Example.nl\", \"note\": \"tel 06-12345678\"}\n\
        \n\
        {\"customer_no\": 42, \"nested\": {\"customer_no\": \"X1\"}, \"phone\": \"+32 470 12 34 56\"}\r\n\
        {\"cust\\u006fmer_no\":\"K\\u00e9\",\"a\":[1,{\"b\":\"c\"}],\"customer_no\":null}\n\
        [\"customer_no\", \"K9\"]\n\
        {\"customer_no\": true, \"x\": \"piet@example.be\"}";

    #[test]
    fn jsonl_rows_and_ids() {
        let found = scan_with(Mode::Jsonl, &settings("NL", &["Customer_No"]), JSONL);
        assert_eq!(
            rows(&found),
            [
                "1 email:jan@example.nl",
                "1 id:customer_no=K017807",
                "1 phone:+31612345678",
                "2 id:customer_no=42",
                "2 phone:+32470123456",
                "3 id:customer_no=Ké",
                "5 email:piet@example.be",
            ]
        );
    }

    /// Filler of words, no identifiers, `len` bytes.
    fn filler(len: usize) -> Vec<u8> {
        b"lorem ipsum dolor sit amet, "
            .iter()
            .copied()
            .cycle()
            .take(len)
            .collect()
    }

    #[test]
    fn a_long_line_is_scanned_whole_in_bounded_memory() {
        // Identifiers at every offset around the windows' seams: each found
        // once, none cut into a false one.
        let seams = [
            WINDOW - 2 * OVERLAP,
            WINDOW - OVERLAP,
            WINDOW,
            2 * WINDOW - 3 * OVERLAP,
        ];
        for seam in seams {
            for delta in (0..40).chain(300..330) {
                for item in [
                    "jan.jansen@example.nl",
                    "NL91 ABNA 0417 1643 00",
                    "+31 6 12345678",
                ] {
                    let at = seam - delta;
                    let mut input = filler(at - 1);
                    input.push(b' ');
                    input.extend_from_slice(item.as_bytes());
                    input.push(b' ');
                    input.extend(filler(2 * WINDOW));
                    let found = scan_cut(Mode::Text, &Settings::default(), &input, &[]);
                    let want = Identifier::parse_email(item)
                        .or_else(|_| Identifier::parse_iban(item))
                        .or_else(|_| Identifier::parse_phone(item, &Country::default()))
                        .unwrap();
                    assert_eq!(found.len(), 1, "{item} at {at}: {found:?}");
                    assert_eq!(found[0].id, want, "{item} at {at}");
                }
            }
        }
        // 1 MB without a line break, fed in odd chunks: no panic, the
        // buffer never grows past a window.
        let mut input = filler(1 << 20);
        input.extend_from_slice(b" jan@example.nl");
        let mut scanner = Scanner::new(Mode::Text, &Settings::default());
        let mut found = Vec::new();
        for chunk in input.chunks(7919) {
            scanner.feed(chunk, &mut |f| found.push(f));
            let State::Text(window) = &scanner.state else {
                unreachable!()
            };
            assert!(window.buf.len() <= WINDOW);
        }
        scanner.finish(&mut |f| found.push(f));
        assert_eq!(keys(&found), ["email:jan@example.nl"]);
        // A megabyte-long run of local-part bytes before an @, of digits,
        // of IBAN-like text: nothing, and no quadratic work.
        for byte in [b'a', b'0', b'A', b'@', b'.'] {
            let input = vec![byte; 1 << 20];
            let found = scan_cut(Mode::Text, &Settings::default(), &input, &[]);
            assert!(found.is_empty(), "{}", byte as char);
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

    #[test]
    fn column_kinds() {
        let ctx = Ctx {
            country: Country::default(),
            id_columns: vec!["customer_no".into()],
        };
        for (name, kind) in [
            ("E-mail", ColumnKind::Email),
            ("emailAddress", ColumnKind::Email),
            ("mobilePhone", ColumnKind::Phone),
            ("Telefoonnummer", ColumnKind::Phone),
            ("tel_nr", ColumnKind::Phone),
            ("GSM", ColumnKind::Phone),
            ("IBAN", ColumnKind::Iban),
            ("bank_account", ColumnKind::Iban),
            ("Rekeningnummer", ColumnKind::Iban),
            (" Customer_No ", ColumnKind::Id(0)),
            ("hotel", ColumnKind::Plain),
            ("total", ColumnKind::Plain),
            ("name", ColumnKind::Plain),
        ] {
            assert_eq!(column_kind(name, &ctx), kind, "{name}");
        }
    }
}
