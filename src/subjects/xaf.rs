//! The XML Auditfile Financieel (XAF), the file the Dutch tax authority asks
//! for in an audit: recognising one among the records being archived, and
//! checking it in one streaming pass (well-formed, safe to read, balanced,
//! its declared counts and totals right) while summarising it and handing
//! over the customers and suppliers it names.
//!
//! # Versions
//!
//! Told apart by the namespace of the root element `auditfile`, compared
//! ASCII-case-insensitively with a trailing `/` ignored (the elements below
//! it are matched by local name):
//!
//! | version | namespace |
//! | --- | --- |
//! | 3.1 | `http://www.auditfiles.nl/XAF/3.1` |
//! | 3.2 | `http://www.auditfiles.nl/XAF/3.2` |
//! | 3.2.1 | `http://www.odb.belastingdienst.nl/Belastingdienst/BCPP/1.0/structures/XmlAuditfileFinancieel3.2.1` |
//! | 4.0 | `http://www.odb.belastingdienst.nl/Belastingdienst/BCPP/1.1/structures/XmlauditfileXAF_4.0` |
//! | 4.0 | `http://www.odb.belastingdienst.nl/XAF/4.0`, `http://www.auditfiles.nl/XAF/4.0` |
//!
//! The 3.2 namespace and every element path below are those of the official
//! 3.2 XSD (`XmlAuditfileFinancieel3.2.xsd`). No public 3.1 XSD exists; a 3.1
//! viewer stylesheet reads the same paths (`trLine/amnt` with `amntTp` D or C,
//! as in 3.2; only the older CLAIR 2 files without a namespace had separate
//! debit and credit amounts, and they are not read here). 3.2.1 is 3.2 under
//! a new namespace. For 4.0 the first URI is the official XSD's target
//! namespace, the second is how the 4.0 explanation writes it, and the third
//! is written by some exporters; the 4.0 structure used here (from exporters
//! that follow its XSD) keeps the paths below, drops `companyIdent` in favour
//! of `Commercenr` (the KvK number), and keeps only `eMail` among a
//! customer's contact details.
//!
//! ```text
//! auditfile/header/{fiscalYear, startDate, endDate, curCode, softwareDesc, softwareVersion}
//! auditfile/company/{companyIdent | Commercenr, companyName}
//! auditfile/company/customersSuppliers/customerSupplier/
//!     {custSupID, custSupName, eMail, telephone, fax, bankAccount/bankAccNr}
//!     customerSupplierHistory/customerSupplier/{eMail, telephone, fax, bankAccount/bankAccNr}
//! auditfile/company/generalLedger/ledgerAccount
//! auditfile/company/transactions/{linesCount, totalDebit, totalCredit}
//! auditfile/company/transactions/journal/transaction/trLine/{amnt, amntTp}
//! ```
//!
//! Only `trLine` amounts are added up: the opening balance (`obLine`), the
//! 3.2 subledgers (`sbLine`), VAT amounts, foreign-currency amounts and a
//! transaction's own optional `amnt` are other figures.
//!
//! # Security
//!
//! An audit file comes from outside and may be hundreds of megabytes. It is
//! read once, as a stream: memory stays flat whatever its size, because no
//! tree is built, no transaction is kept, and every piece the parser takes
//! in one go (a tag, a text run, a comment) is capped at 1 MiB by the input
//! itself. Any document type declaration is refused, which closes entity
//! expansion ("billion laughs") and external entities; references other than
//! the five predefined ones and character references are then undeclared and
//! refused as not well-formed. Nesting deeper than 64 elements is refused.

use std::borrow::Cow;
use std::fmt;
use std::io::{self, BufRead, Read};

use quick_xml::events::{BytesDecl, BytesRef, BytesStart, Event};
use quick_xml::name::PrefixDeclaration;
use quick_xml::reader::Reader;

/// Deepest element nesting accepted; a real XAF file goes 9 deep.
const MAX_DEPTH: usize = 64;
/// Most bytes the parser may take from the input for one event.
const MAX_EVENT: u64 = 1 << 20;
/// Longest text kept for one element, and for one party's texts together.
const MAX_TEXT: usize = 1 << 20;
/// Longest element name; XAF's longest is `customerSupplierHistory`.
const MAX_NAME: usize = 256;
/// Most e-mail addresses, phone numbers and bank accounts of one party.
const MAX_IDENTIFIERS: usize = 4096;
/// Decimals kept in amounts: XAF writes 2, some exporters more.
const SCALE: usize = 6;
/// One unit in the scaled integers amounts are added up in.
const UNIT: i128 = 1_000_000;

/// The namespaces of the versions read, with the version each names.
const NAMESPACES: &[(&str, &str)] = &[
    ("http://www.auditfiles.nl/XAF/3.1", "3.1"),
    ("http://www.auditfiles.nl/XAF/3.2", "3.2"),
    (
        "http://www.odb.belastingdienst.nl/Belastingdienst/BCPP/1.0/structures/XmlAuditfileFinancieel3.2.1",
        "3.2.1",
    ),
    (
        "http://www.odb.belastingdienst.nl/Belastingdienst/BCPP/1.1/structures/XmlauditfileXAF_4.0",
        "4.0",
    ),
    ("http://www.odb.belastingdienst.nl/XAF/4.0", "4.0"),
    ("http://www.auditfiles.nl/XAF/4.0", "4.0"),
];

/// Whether a record is an XAF file: by name (.xaf, case-insensitive) or, for
/// .xml, by the root element's namespace in its first bytes.
///
/// `head` should hold the start of the record up to and including the root
/// element's start tag (a few KiB do); a document type declaration before it
/// is skipped, so that [`check`] gets to refuse it.
pub fn looks_like_xaf(name: &[u8], head: &[u8]) -> bool {
    if ends_with_ignore_case(name, b".xaf") {
        return true;
    }
    if !ends_with_ignore_case(name, b".xml") {
        return false;
    }
    let mut reader = Reader::from_reader(head);
    loop {
        match reader.read_event() {
            Ok(Event::Start(root) | Event::Empty(root)) => {
                return root_version(&root, Position { line: 1, byte: 0 }).is_ok();
            }
            Ok(Event::Eof) | Err(_) => return false,
            Ok(_) => {}
        }
    }
}

/// What an audit file says about itself, once checked.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Summary {
    /// "3.1", "3.2", "3.2.1" or "4.0", from the root element's namespace.
    pub version: String,
    /// `header/softwareDesc`: the accounting package that wrote the file.
    pub software: String,
    /// `header/softwareVersion`.
    pub software_version: String,
    /// `company/companyName`.
    pub company: String,
    /// `company/companyIdent` (3.x, the administration's code) or
    /// `company/Commercenr` (4.0, the KvK number); empty when absent.
    pub company_id: String,
    /// `header/fiscalYear`: "2019", or "2018-2019" for a broken year.
    pub fiscal_year: String,
    /// `header/startDate`, as written (YYYY-MM-DD).
    pub start_date: String,
    /// `header/endDate`, as written (YYYY-MM-DD).
    pub end_date: String,
    /// `header/curCode`: the local currency, e.g. "EUR".
    pub currency: String,
    /// `journal` elements.
    pub journals: u64,
    /// `transaction` elements in the journals.
    pub transactions: u64,
    /// `trLine` elements in the transactions.
    pub lines: u64,
    /// The debit `trLine` amounts added up, e.g. "12345.67".
    pub total_debit: String,
    /// The credit `trLine` amounts added up.
    pub total_credit: String,
    /// `customerSupplier` elements (not counting their history).
    pub customers_suppliers: u64,
    /// `ledgerAccount` elements.
    pub ledger_accounts: u64,
}

impl Summary {
    /// The fiscal period, e.g. "2019-01-01 – 2019-12-31".
    pub fn period(&self) -> String {
        format!("{} – {}", self.start_date, self.end_date)
    }
}

/// A customerSupplier entry: the identifiers it carries, raw (the caller
/// normalises them), with surrounding whitespace trimmed. The e-mail
/// addresses, phone numbers (fax included) and bank accounts of the entry's
/// history (3.2) are added to its own, each value once.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Party {
    /// `custSupID`.
    pub id: String,
    /// `custSupName`.
    pub name: String,
    /// `eMail`.
    pub emails: Vec<String>,
    /// `telephone` and `fax`.
    pub phones: Vec<String>,
    /// `bankAccount/bankAccNr`.
    pub bank_accounts: Vec<String>,
}

/// Why an audit file did not pass [`check`].
#[derive(Debug, PartialEq, Eq)]
pub enum XafError {
    /// Not well-formed XML, or a value the check needs that cannot be read
    /// (an amount that is no decimal, a side that is not D or C); the text
    /// starts with the line and byte offset.
    Malformed(String),
    /// Refused unread: a document type declaration, nesting deeper than 64,
    /// a tag, name or text beyond its cap.
    Hostile(String),
    /// XML, but not an XAF file of a known version, or one without the
    /// header's fiscal year, start or end date.
    NotXaf(String),
    /// The debit and credit `trLine` amounts do not add up to the same sum.
    Unbalanced { debit: String, credit: String },
    /// `linesCount`, `totalDebit` or `totalCredit` of `transactions` is not
    /// what the lines count or add up to; `found` is written like `declared`
    /// (a whole number, or a decimal such as "100.50").
    CountMismatch {
        what: &'static str,
        declared: String,
        found: String,
    },
    /// The input could not be read.
    Io(String),
}

impl fmt::Display for XafError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            XafError::Malformed(what) => write!(
                f,
                "the audit file is not well-formed ({what}): it is damaged or was cut short; export it again"
            ),
            XafError::Hostile(what) => write!(
                f,
                "the audit file was refused unread ({what}); no accounting package writes this, so the file was made or altered by other means: export it again"
            ),
            XafError::NotXaf(what) => {
                write!(f, "not an XML Auditfile Financieel 3.1, 3.2 or 4.0: {what}")
            }
            XafError::Unbalanced { debit, credit } => {
                let difference = match (parse_amount(debit), parse_amount(credit)) {
                    (Some(debit), Some(credit)) => i128::try_from(debit.abs_diff(credit)).ok(),
                    _ => None,
                };
                let difference =
                    difference.map_or_else(|| "an unknown amount".to_owned(), format_amount);
                write!(
                    f,
                    "debits ({}) and credits ({}) differ by {}: the accounting package exported an unbalanced file; export it again",
                    grouped(debit),
                    grouped(credit),
                    grouped(&difference)
                )
            }
            XafError::CountMismatch {
                what,
                declared,
                found,
            } => {
                let (declared, found) = (grouped(declared), grouped(found));
                let says = match *what {
                    "linesCount" => format!(
                        "the file says it holds {declared} transaction lines (linesCount) but holds {found}"
                    ),
                    "totalDebit" => format!(
                        "the file states total debits of {declared} (totalDebit) but its debit lines add up to {found}"
                    ),
                    "totalCredit" => format!(
                        "the file states total credits of {declared} (totalCredit) but its credit lines add up to {found}"
                    ),
                    other => format!("the file states {other} {declared} but {found} was found"),
                };
                write!(
                    f,
                    "{says}: it is incomplete or was altered; export it again"
                )
            }
            XafError::Io(what) => write!(f, "could not read the audit file: {what}"),
        }
    }
}

impl std::error::Error for XafError {}

/// Streams an XAF file once, checks it and summarises it; `party` is called
/// for each customerSupplier, as soon as its end tag is read.
///
/// Memory stays flat whatever the size of the file: no tree is built and no
/// transaction is kept.
///
/// # Errors
///
/// The first problem found: [`XafError::Malformed`], [`XafError::Hostile`]
/// or [`XafError::Io`] while reading (parties reported until then stand);
/// then, in this order, [`XafError::NotXaf`] for a missing fiscal year,
/// start or end date, [`XafError::Unbalanced`], and
/// [`XafError::CountMismatch`] for `linesCount`, `totalDebit` and
/// `totalCredit`, each compared when the file states it.
pub fn check(input: impl BufRead, party: &mut dyn FnMut(Party)) -> Result<Summary, XafError> {
    let mut reader = Reader::from_reader(Metered::new(input));
    let mut walk = Walk::new(party);
    let mut buf = Vec::new();
    loop {
        buf.clear();
        let at = Position {
            line: reader.get_ref().lines + 1,
            byte: reader.buffer_position(),
        };
        reader.get_mut().event = 0;
        let event = match reader.read_event_into(&mut buf) {
            Ok(event) => event,
            Err(error) => return Err(read_error(&reader, at, error)),
        };
        match event {
            Event::Decl(decl) => walk.encoding = Encoding::declared(&decl, at)?,
            Event::DocType(_) => {
                return Err(XafError::Hostile(format!(
                    "{at}: a document type declaration (<!DOCTYPE>), which XAF files never have; it could declare entities that expand without end or read other files"
                )));
            }
            Event::Start(start) => walk.open_element(&start, at)?,
            Event::Empty(start) => {
                walk.open_element(&start, at)?;
                walk.close_element()?;
            }
            Event::End(_) => walk.close_element()?,
            Event::Text(text) => walk.raw_text(&text, at)?,
            Event::CData(data) => walk.raw_text(&data, at)?,
            Event::GeneralRef(reference) => walk.reference(&reference, at)?,
            Event::Comment(_) | Event::PI(_) => {}
            Event::Eof => break,
        }
    }
    walk.finish()
}

/// Where in the input an event starts: line (from 1) and byte offset.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Position {
    line: u64,
    byte: u64,
}

impl fmt::Display for Position {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}, byte {}", self.line, self.byte)
    }
}

fn malformed(at: Position, what: impl fmt::Display) -> XafError {
    XafError::Malformed(format!("{at}: {what}"))
}

/// The input as the parser sees it: counts lines for messages, and refuses
/// to hand over more than [`MAX_EVENT`] bytes for one event, which bounds
/// what the parser buffers however long a tag or text is.
struct Metered<R> {
    inner: R,
    /// Line feeds taken so far.
    lines: u64,
    /// Bytes taken since the current event began.
    event: u64,
    /// Whether a read was refused for exceeding [`MAX_EVENT`].
    tripped: bool,
}

impl<R> Metered<R> {
    fn new(inner: R) -> Self {
        Metered {
            inner,
            lines: 0,
            event: 0,
            tripped: false,
        }
    }
}

impl<R: BufRead> Read for Metered<R> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        let available = self.fill_buf()?;
        let n = available.len().min(out.len());
        out[..n].copy_from_slice(&available[..n]);
        self.consume(n);
        Ok(n)
    }
}

impl<R: BufRead> BufRead for Metered<R> {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        if self.event >= MAX_EVENT {
            self.tripped = true;
            return Err(io::Error::other("one event longer than the cap"));
        }
        // Never more than the cap allows, however much the input holds.
        let room = usize::try_from(MAX_EVENT - self.event).unwrap_or(usize::MAX);
        let available = self.inner.fill_buf()?;
        Ok(&available[..available.len().min(room)])
    }

    fn consume(&mut self, amount: usize) {
        if amount > 0 {
            // Still buffered: this reads nothing, it shows what is taken.
            if let Ok(available) = self.inner.fill_buf() {
                let taken = &available[..amount.min(available.len())];
                self.lines += memchr::memchr_iter(b'\n', taken).count() as u64;
            }
        }
        self.inner.consume(amount);
        self.event += amount as u64;
    }
}

fn read_error<R>(reader: &Reader<Metered<R>>, at: Position, error: quick_xml::Error) -> XafError {
    if reader.get_ref().tripped {
        return XafError::Hostile(format!(
            "{at}: a tag, text or comment longer than {} MiB in one piece",
            MAX_EVENT >> 20
        ));
    }
    match error {
        quick_xml::Error::Io(error) => XafError::Io(error.to_string()),
        error => {
            let at = Position {
                line: at.line,
                byte: reader.error_position(),
            };
            malformed(at, error)
        }
    }
}

/// The version named by a root element, or why it names none. Only the
/// root's namespace matters, so it is looked up here rather than tracked for
/// every element.
fn root_version(root: &BytesStart, at: Position) -> Result<&'static str, XafError> {
    let name = root.name();
    if name.local_name().as_ref() != b"auditfile" {
        return Err(XafError::NotXaf(format!(
            "the root element is <{}>, not <auditfile>",
            shown(name.as_ref())
        )));
    }
    let prefix = name.prefix();
    let mut namespace = None;
    for attribute in root.attributes() {
        let attribute = attribute.map_err(|error| malformed(at, error))?;
        let binds = match (attribute.key.as_namespace_binding(), prefix) {
            (Some(PrefixDeclaration::Default), None) => true,
            (Some(PrefixDeclaration::Named(bound)), Some(prefix)) => bound == prefix.as_ref(),
            _ => false,
        };
        if binds {
            namespace = Some(attribute.value);
        }
    }
    let Some(uri) = namespace else {
        return Err(XafError::NotXaf(
            "<auditfile> has no namespace (an XAF 2 / CLAIR file, which is not read, or no audit file)"
                .to_owned(),
        ));
    };
    version_of(&uri).ok_or_else(|| {
        XafError::NotXaf(format!(
            "<auditfile> has the namespace {}, which names no known version",
            shown(&uri)
        ))
    })
}

fn version_of(uri: &[u8]) -> Option<&'static str> {
    let uri = uri.strip_suffix(b"/").unwrap_or(uri);
    NAMESPACES
        .iter()
        .find(|(known, _)| known.as_bytes().eq_ignore_ascii_case(uri))
        .map(|(_, version)| *version)
}

fn ends_with_ignore_case(name: &[u8], suffix: &[u8]) -> bool {
    name.len() >= suffix.len() && name[name.len() - suffix.len()..].eq_ignore_ascii_case(suffix)
}

/// The text encodings XAF allows. ISO-8859-1 is read as Windows-1252, its
/// superset, as browsers do: Windows exporters that declare the one often
/// write the other (the euro sign).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Encoding {
    Utf8,
    Windows1252,
}

impl Encoding {
    fn declared(decl: &BytesDecl, at: Position) -> Result<Encoding, XafError> {
        let Some(label) = decl.encoding() else {
            return Ok(Encoding::Utf8);
        };
        let label = label.map_err(|error| malformed(at, error))?;
        match label.to_ascii_lowercase().as_slice() {
            b"utf-8" | b"utf8" | b"us-ascii" | b"ascii" => Ok(Encoding::Utf8),
            b"iso-8859-1" | b"iso8859-1" | b"iso_8859-1" | b"latin1" | b"latin-1" | b"l1"
            | b"windows-1252" | b"cp1252" => Ok(Encoding::Windows1252),
            other => Err(XafError::NotXaf(format!(
                "the file declares the encoding {}, and XAF files are UTF-8 or ISO-8859-1",
                shown(other)
            ))),
        }
    }

    fn decode(self, raw: &[u8]) -> Option<Cow<'_, str>> {
        match self {
            Encoding::Utf8 => std::str::from_utf8(raw).ok().map(Cow::Borrowed),
            Encoding::Windows1252 if raw.is_ascii() => {
                std::str::from_utf8(raw).ok().map(Cow::Borrowed)
            }
            Encoding::Windows1252 => Some(Cow::Owned(
                raw.iter().map(|&byte| windows_1252(byte)).collect(),
            )),
        }
    }
}

fn windows_1252(byte: u8) -> char {
    const HIGH: [char; 32] = [
        '\u{20AC}', '\u{81}', '\u{201A}', '\u{192}', '\u{201E}', '\u{2026}', '\u{2020}',
        '\u{2021}', '\u{2C6}', '\u{2030}', '\u{160}', '\u{2039}', '\u{152}', '\u{8D}', '\u{17D}',
        '\u{8F}', '\u{90}', '\u{2018}', '\u{2019}', '\u{201C}', '\u{201D}', '\u{2022}', '\u{2013}',
        '\u{2014}', '\u{2DC}', '\u{2122}', '\u{161}', '\u{203A}', '\u{153}', '\u{9D}', '\u{17E}',
        '\u{178}',
    ];
    match byte {
        0x80..=0x9F => HIGH[usize::from(byte - 0x80)],
        _ => char::from(byte),
    }
}

macro_rules! tags {
    ($($tag:ident = $name:literal,)*) => {
        /// The elements the check looks at; every other one is `Other`.
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        enum Tag {
            $($tag,)*
            Other,
        }

        impl Tag {
            fn of(name: &[u8]) -> Tag {
                match name {
                    $(name if name == $name.as_bytes() => Tag::$tag,)*
                    _ => Tag::Other,
                }
            }

            /// "<name>" for messages.
            fn describe(self) -> &'static str {
                match self {
                    $(Tag::$tag => concat!("<", $name, ">"),)*
                    Tag::Other => "an element",
                }
            }
        }
    };
}

tags! {
    Auditfile = "auditfile",
    Header = "header",
    FiscalYear = "fiscalYear",
    StartDate = "startDate",
    EndDate = "endDate",
    CurCode = "curCode",
    SoftwareDesc = "softwareDesc",
    SoftwareVersion = "softwareVersion",
    Company = "company",
    CompanyIdent = "companyIdent",
    Commercenr = "Commercenr",
    CompanyName = "companyName",
    CustomersSuppliers = "customersSuppliers",
    CustomerSupplier = "customerSupplier",
    CustomerSupplierHistory = "customerSupplierHistory",
    CustSupId = "custSupID",
    CustSupName = "custSupName",
    EMail = "eMail",
    Telephone = "telephone",
    Fax = "fax",
    BankAccount = "bankAccount",
    BankAccNr = "bankAccNr",
    GeneralLedger = "generalLedger",
    LedgerAccount = "ledgerAccount",
    Transactions = "transactions",
    LinesCount = "linesCount",
    TotalDebit = "totalDebit",
    TotalCredit = "totalCredit",
    Journal = "journal",
    Transaction = "transaction",
    TrLine = "trLine",
    Amnt = "amnt",
    AmntTp = "amntTp",
}

/// An element whose text the check keeps.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Field {
    FiscalYear,
    StartDate,
    EndDate,
    Currency,
    Software,
    SoftwareVersion,
    CompanyId,
    CompanyName,
    LinesCount,
    TotalDebit,
    TotalCredit,
    Amount,
    Side,
    PartyId,
    PartyName,
    PartyEmail,
    PartyPhone,
    PartyBank,
}

/// The field at a path of elements below the root, if any.
fn field_at(path: &[Tag]) -> Option<Field> {
    use Tag::*;
    Some(match path {
        [Header, FiscalYear] => Field::FiscalYear,
        [Header, StartDate] => Field::StartDate,
        [Header, EndDate] => Field::EndDate,
        [Header, CurCode] => Field::Currency,
        [Header, SoftwareDesc] => Field::Software,
        [Header, SoftwareVersion] => Field::SoftwareVersion,
        [Company, CompanyIdent | Commercenr] => Field::CompanyId,
        [Company, CompanyName] => Field::CompanyName,
        [Company, Transactions, LinesCount] => Field::LinesCount,
        [Company, Transactions, TotalDebit] => Field::TotalDebit,
        [Company, Transactions, TotalCredit] => Field::TotalCredit,
        [Company, Transactions, Journal, Transaction, TrLine, Amnt] => Field::Amount,
        [Company, Transactions, Journal, Transaction, TrLine, AmntTp] => Field::Side,
        [Company, CustomersSuppliers, CustomerSupplier, party @ ..] => party_field(party)?,
        _ => return None,
    })
}

/// The field at a path below a `customerSupplier`: its own identifiers, and
/// the contact details of its history.
fn party_field(path: &[Tag]) -> Option<Field> {
    use Tag::*;
    let (history, path) = match path {
        [CustomerSupplierHistory, CustomerSupplier, rest @ ..] => (true, rest),
        _ => (false, path),
    };
    Some(match path {
        [CustSupId] if !history => Field::PartyId,
        [CustSupName] if !history => Field::PartyName,
        [EMail] => Field::PartyEmail,
        [Telephone | Fax] => Field::PartyPhone,
        [BankAccount, BankAccNr] => Field::PartyBank,
        _ => return None,
    })
}

/// The element whose text is being kept.
#[derive(Clone, Copy, Debug)]
struct Capture {
    field: Field,
    tag: Tag,
    depth: usize,
    at: Position,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Side {
    Debit,
    Credit,
}

/// The `trLine` being read.
struct LineDraft {
    at: Position,
    amount: Option<i128>,
    side: Option<Side>,
}

/// The `customerSupplier` being read, with what it has taken so far.
struct PartyDraft {
    party: Party,
    bytes: usize,
    identifiers: usize,
}

/// The state of one pass over a file.
struct Walk<'a> {
    sink: &'a mut dyn FnMut(Party),
    encoding: Encoding,
    version: Option<&'static str>,
    /// The open elements from the root, and where each was opened.
    path: Vec<Tag>,
    opened_at: Vec<Position>,
    root_closed: bool,
    capture: Option<Capture>,
    text: String,
    summary: Summary,
    party: Option<PartyDraft>,
    line: Option<LineDraft>,
    debit: i128,
    credit: i128,
    declared_lines: Option<(String, u64)>,
    declared_debit: Option<(String, i128)>,
    declared_credit: Option<(String, i128)>,
}

impl<'a> Walk<'a> {
    fn new(sink: &'a mut dyn FnMut(Party)) -> Self {
        Walk {
            sink,
            encoding: Encoding::Utf8,
            version: None,
            path: Vec::with_capacity(MAX_DEPTH),
            opened_at: Vec::with_capacity(MAX_DEPTH),
            root_closed: false,
            capture: None,
            text: String::new(),
            summary: Summary::default(),
            party: None,
            line: None,
            debit: 0,
            credit: 0,
            declared_lines: None,
            declared_debit: None,
            declared_credit: None,
        }
    }

    fn open_element(&mut self, start: &BytesStart, at: Position) -> Result<(), XafError> {
        use Tag::*;
        if self.root_closed {
            return Err(malformed(at, "a second root element after </auditfile>"));
        }
        if self.version.is_none() {
            self.version = Some(root_version(start, at)?);
        }
        let name = start.local_name();
        let name = name.as_ref();
        if name.len() > MAX_NAME {
            return Err(XafError::Hostile(format!(
                "{at}: an element name of {} bytes",
                name.len()
            )));
        }
        if self.path.len() == MAX_DEPTH {
            return Err(XafError::Hostile(format!(
                "{at}: elements nested more than {MAX_DEPTH} deep"
            )));
        }
        let tag = Tag::of(name);
        self.path.push(tag);
        self.opened_at.push(at);
        // The root is <auditfile>, or `root_version` refused it.
        let below_root = &self.path[1..];
        match below_root {
            [Company, CustomersSuppliers, CustomerSupplier] => {
                self.party = Some(PartyDraft {
                    party: Party::default(),
                    bytes: 0,
                    identifiers: 0,
                });
            }
            [Company, GeneralLedger, LedgerAccount] => self.summary.ledger_accounts += 1,
            [Company, Transactions, Journal] => self.summary.journals += 1,
            [Company, Transactions, Journal, Transaction] => self.summary.transactions += 1,
            [Company, Transactions, Journal, Transaction, TrLine] => {
                self.line = Some(LineDraft {
                    at,
                    amount: None,
                    side: None,
                });
            }
            _ => {}
        }
        self.capture = field_at(below_root).map(|field| Capture {
            field,
            tag,
            depth: self.path.len(),
            at,
        });
        self.text.clear();
        Ok(())
    }

    fn close_element(&mut self) -> Result<(), XafError> {
        use Tag::*;
        let depth = self.path.len();
        if let Some(capture) = self.capture.take_if(|capture| capture.depth == depth) {
            self.store(capture)?;
        }
        let Some(below_root) = self.path.get(1..) else {
            return Err(XafError::Malformed(
                "an end tag without its start tag".to_owned(),
            ));
        };
        match below_root {
            [] => self.root_closed = true,
            [Company, CustomersSuppliers, CustomerSupplier] => {
                if let Some(draft) = self.party.take() {
                    self.summary.customers_suppliers += 1;
                    (self.sink)(draft.party);
                }
            }
            [Company, Transactions, Journal, Transaction, TrLine] => self.finish_line()?,
            _ => {}
        }
        self.path.pop();
        self.opened_at.pop();
        Ok(())
    }

    fn raw_text(&mut self, raw: &[u8], at: Position) -> Result<(), XafError> {
        let text = self.encoding.decode(raw).ok_or_else(|| {
            malformed(
                at,
                "text that is not UTF-8 (an ISO-8859-1 file must say so in its <?xml encoding=…?>)",
            )
        })?;
        self.push_text(&text, at)
    }

    fn reference(&mut self, reference: &BytesRef, at: Position) -> Result<(), XafError> {
        let character = match reference.resolve_char_ref() {
            Ok(Some(character)) => character,
            Ok(None) => match &**reference {
                b"amp" => '&',
                b"lt" => '<',
                b"gt" => '>',
                b"apos" => '\'',
                b"quot" => '"',
                other => {
                    return Err(malformed(
                        at,
                        format!(
                            "the entity &{}; is not declared (XAF files use only &amp; &lt; &gt; &apos; &quot; and character references)",
                            shown(other)
                        ),
                    ));
                }
            },
            Err(error) => return Err(malformed(at, error)),
        };
        self.push_text(character.encode_utf8(&mut [0; 4]), at)
    }

    fn push_text(&mut self, piece: &str, at: Position) -> Result<(), XafError> {
        match self.capture {
            Some(capture) if capture.depth == self.path.len() => {
                if self.text.len() + piece.len() > MAX_TEXT {
                    return Err(XafError::Hostile(format!(
                        "{at}: more than {} MiB of text in {}",
                        MAX_TEXT >> 20,
                        capture.tag.describe()
                    )));
                }
                self.text.push_str(piece);
            }
            _ if self.path.is_empty() && !piece.trim_matches(is_xml_space).is_empty() => {
                return Err(malformed(at, "text outside the root element"));
            }
            _ => {}
        }
        Ok(())
    }

    /// Keeps the text of a captured element that has just closed.
    fn store(&mut self, capture: Capture) -> Result<(), XafError> {
        let text = self.text.trim_matches(is_xml_space);
        let at = capture.at;
        let summary = &mut self.summary;
        match capture.field {
            Field::FiscalYear => summary.fiscal_year = text.to_owned(),
            Field::StartDate => summary.start_date = text.to_owned(),
            Field::EndDate => summary.end_date = text.to_owned(),
            Field::Currency => summary.currency = text.to_owned(),
            Field::Software => summary.software = text.to_owned(),
            Field::SoftwareVersion => summary.software_version = text.to_owned(),
            Field::CompanyId => summary.company_id = text.to_owned(),
            Field::CompanyName => summary.company = text.to_owned(),
            Field::LinesCount => {
                let count = text.parse::<u64>().map_err(|_| {
                    malformed(
                        at,
                        format!(
                            "linesCount {:?} is not a whole number",
                            shown(text.as_bytes())
                        ),
                    )
                })?;
                self.declared_lines = Some((text.to_owned(), count));
            }
            Field::TotalDebit => {
                self.declared_debit = Some((text.to_owned(), amount(text, capture)?))
            }
            Field::TotalCredit => {
                self.declared_credit = Some((text.to_owned(), amount(text, capture)?))
            }
            Field::Amount => {
                if let Some(line) = &mut self.line {
                    line.amount = Some(amount(text, capture)?);
                }
            }
            Field::Side => {
                if let Some(line) = &mut self.line {
                    line.side = Some(match text {
                        "D" => Side::Debit,
                        "C" => Side::Credit,
                        _ => {
                            return Err(malformed(
                                at,
                                format!("amntTp {:?} is neither D nor C", shown(text.as_bytes())),
                            ));
                        }
                    });
                }
            }
            Field::PartyId
            | Field::PartyName
            | Field::PartyEmail
            | Field::PartyPhone
            | Field::PartyBank => {
                let Some(draft) = &mut self.party else {
                    return Ok(());
                };
                draft.bytes += text.len();
                draft.identifiers += 1;
                if draft.bytes > MAX_TEXT || draft.identifiers > MAX_IDENTIFIERS {
                    return Err(XafError::Hostile(format!(
                        "{at}: one customerSupplier with more than {MAX_IDENTIFIERS} identifiers or {} MiB of them",
                        MAX_TEXT >> 20
                    )));
                }
                let party = &mut draft.party;
                match capture.field {
                    Field::PartyId => party.id = text.to_owned(),
                    Field::PartyName => party.name = text.to_owned(),
                    Field::PartyEmail => push_unique(&mut party.emails, text),
                    Field::PartyPhone => push_unique(&mut party.phones, text),
                    _ => push_unique(&mut party.bank_accounts, text),
                }
            }
        }
        Ok(())
    }

    fn finish_line(&mut self) -> Result<(), XafError> {
        let Some(line) = self.line.take() else {
            return Ok(());
        };
        let amount = line
            .amount
            .ok_or_else(|| malformed(line.at, "a trLine without amnt"))?;
        let sum = match line.side {
            Some(Side::Debit) => &mut self.debit,
            Some(Side::Credit) => &mut self.credit,
            None => return Err(malformed(line.at, "a trLine without amntTp (D or C)")),
        };
        *sum = sum
            .checked_add(amount)
            .ok_or_else(|| malformed(line.at, "amounts too large to add up"))?;
        self.summary.lines += 1;
        Ok(())
    }

    fn finish(self) -> Result<Summary, XafError> {
        if let (Some(tag), Some(at)) = (self.path.last(), self.opened_at.last()) {
            return Err(XafError::Malformed(format!(
                "the file ends before {} opened at {at} is closed",
                tag.describe()
            )));
        }
        let Some(version) = self.version else {
            return Err(XafError::NotXaf(
                "the file is empty or has no root element".to_owned(),
            ));
        };
        let mut summary = self.summary;
        summary.version = version.to_owned();
        for (value, element) in [
            (&summary.fiscal_year, "fiscalYear"),
            (&summary.start_date, "startDate"),
            (&summary.end_date, "endDate"),
        ] {
            if value.is_empty() {
                return Err(XafError::NotXaf(format!(
                    "header/{element} is missing, so the file cannot be matched to a year; export it again"
                )));
            }
        }
        if self.debit != self.credit {
            return Err(XafError::Unbalanced {
                debit: format_amount(self.debit),
                credit: format_amount(self.credit),
            });
        }
        if let Some((declared, count)) = self.declared_lines
            && count != summary.lines
        {
            return Err(XafError::CountMismatch {
                what: "linesCount",
                declared,
                found: summary.lines.to_string(),
            });
        }
        for (declared, sum, what) in [
            (self.declared_debit, self.debit, "totalDebit"),
            (self.declared_credit, self.credit, "totalCredit"),
        ] {
            if let Some((declared, total)) = declared
                && total != sum
            {
                return Err(XafError::CountMismatch {
                    what,
                    declared,
                    found: format_amount(sum),
                });
            }
        }
        summary.total_debit = format_amount(self.debit);
        summary.total_credit = format_amount(self.credit);
        Ok(summary)
    }
}

fn amount(text: &str, capture: Capture) -> Result<i128, XafError> {
    parse_amount(text).ok_or_else(|| {
        malformed(
            capture.at,
            format!(
                "{} {:?} is not an amount (digits with an optional sign and point, at most {SCALE} decimals)",
                capture.tag.describe(),
                shown(text.as_bytes())
            ),
        )
    })
}

fn push_unique(values: &mut Vec<String>, value: &str) {
    if !value.is_empty() && !values.iter().any(|known| known == value) {
        values.push(value.to_owned());
    }
}

fn is_xml_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\r' | '\n')
}

/// An `xs:decimal` as a whole number of millionths: exact, no floats.
/// `None` for anything else, for more than [`SCALE`] significant decimals,
/// and for values beyond `i128`.
fn parse_amount(text: &str) -> Option<i128> {
    let text = text.trim_matches(is_xml_space);
    let (negative, digits) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text.strip_prefix('+').unwrap_or(text)),
    };
    let (whole, fraction) = digits.split_once('.').unwrap_or((digits, ""));
    let all_digits = |part: &str| part.bytes().all(|byte| byte.is_ascii_digit());
    if (whole.is_empty() && fraction.is_empty()) || !all_digits(whole) || !all_digits(fraction) {
        return None;
    }
    let (kept, dropped) = fraction.split_at(fraction.len().min(SCALE));
    if dropped.bytes().any(|byte| byte != b'0') {
        return None;
    }
    let padding = std::iter::repeat_n(b'0', SCALE - kept.len());
    let mut value: i128 = 0;
    for digit in whole.bytes().chain(kept.bytes()).chain(padding) {
        value = value
            .checked_mul(10)?
            .checked_add(i128::from(digit - b'0'))?;
    }
    Some(if negative { -value } else { value })
}

/// An amount as plain text with at least two decimals: "12345.67", "-0.50",
/// "1.234".
fn format_amount(value: i128) -> String {
    let sign = if value < 0 { "-" } else { "" };
    let magnitude = value.unsigned_abs();
    let unit = UNIT.unsigned_abs();
    let mut fraction = format!("{:0width$}", magnitude % unit, width = SCALE);
    while fraction.len() > 2 && fraction.ends_with('0') {
        fraction.pop();
    }
    format!("{sign}{}.{fraction}", magnitude / unit)
}

/// A number for a message, its whole part grouped by thousands
/// ("12,345.67"); a decimal as written in a file is first normalised
/// ("100.5" becomes "100.50"), anything else is shown as it is.
fn grouped(number: &str) -> String {
    let plain = if number.contains('.') {
        parse_amount(number).map_or_else(|| number.to_owned(), format_amount)
    } else {
        number.trim_matches(is_xml_space).to_owned()
    };
    let (sign, unsigned) = match plain.strip_prefix('-') {
        Some(rest) => ("-", rest),
        None => ("", plain.as_str()),
    };
    let (whole, fraction) = match unsigned.split_once('.') {
        Some((whole, fraction)) => (whole, Some(fraction)),
        None => (unsigned, None),
    };
    if whole.is_empty() || !whole.bytes().all(|byte| byte.is_ascii_digit()) {
        return plain;
    }
    let mut out = String::from(sign);
    for (i, digit) in whole.chars().enumerate() {
        if i > 0 && (whole.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(digit);
    }
    if let Some(fraction) = fraction {
        out.push('.');
        out.push_str(fraction);
    }
    out
}

/// Untrusted bytes fit for a message: at most 60 characters, no controls.
fn shown(raw: &[u8]) -> String {
    const MAX: usize = 60;
    let text = String::from_utf8_lossy(raw);
    let mut out: String = text
        .chars()
        .take(MAX)
        .map(|c| if c.is_control() { '?' } else { c })
        .collect();
    if text.chars().nth(MAX).is_some() {
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests {
    use std::io::{BufReader, Cursor};
    use std::time::{Duration, Instant};

    use super::*;

    const NS31: &str = "http://www.auditfiles.nl/XAF/3.1";
    const NS32: &str = "http://www.auditfiles.nl/XAF/3.2";
    const NS40: &str =
        "http://www.odb.belastingdienst.nl/Belastingdienst/BCPP/1.1/structures/XmlauditfileXAF_4.0";

    /// A hand-made audit file: its transaction lines, and what it declares
    /// about them (by default, what they count and add up to).
    struct Doc {
        namespace: &'static str,
        lines: Vec<(&'static str, &'static str)>,
        declared: Option<[String; 3]>,
    }

    fn doc(namespace: &'static str) -> Doc {
        Doc {
            namespace,
            lines: vec![("100.00", "D"), ("21.00", "D"), ("121.00", "C")],
            declared: None,
        }
    }

    impl Doc {
        fn lines(mut self, lines: &[(&'static str, &'static str)]) -> Doc {
            self.lines = lines.to_vec();
            self
        }

        fn declare(mut self, lines: &str, debit: &str, credit: &str) -> Doc {
            self.declared = Some([lines.to_owned(), debit.to_owned(), credit.to_owned()]);
            self
        }

        fn four(&self) -> bool {
            self.namespace == NS40
        }

        fn render(&self) -> String {
            let sum = |side: &str| {
                let total = self
                    .lines
                    .iter()
                    .filter(|(_, s)| *s == side)
                    .map(|(amount, _)| parse_amount(amount).unwrap())
                    .sum::<i128>();
                format_amount(total)
            };
            let [count, debit, credit] = self
                .declared
                .clone()
                .unwrap_or_else(|| [self.lines.len().to_string(), sum("D"), sum("C")]);
            let company_id = if self.four() {
                "<Commercenr>12345678</Commercenr>"
            } else {
                "<companyIdent>ADM01</companyIdent>"
            };
            let parties = if self.four() {
                "<customerSupplier><custSupID>D100</custSupID><custSupName>Jansen &amp; Zn &#233;</custSupName>\
                 <eMail>piet@jansen.nl</eMail><custSupTp>C</custSupTp><opBalDesc>500.00</opBalDesc><opBalTp>D</opBalTp>\
                 <streetAddress><streetname>Dorpsstraat</streetname><city>Ede</city></streetAddress></customerSupplier>\
                 <customerSupplier><custSupID>C200</custSupID><custSupName>Molen B.V.</custSupName></customerSupplier>"
            } else {
                "<customerSupplier><custSupID>D100</custSupID><custSupName>Jansen &amp; Zn &#233;</custSupName>\
                 <contact>Piet</contact><telephone>020-1234567</telephone><fax>020-7654321</fax>\
                 <eMail>piet@jansen.nl</eMail><custSupTp>C</custSupTp>\
                 <streetAddress><streetname>Dorpsstraat</streetname><city>Ede</city></streetAddress>\
                 <bankAccount><bankAccNr>NL91ABNA0417164300</bankAccNr><bankIdCd>ABNANL2A</bankIdCd></bankAccount>\
                 <customerSupplierHistory><customerSupplier><custSupID>D100</custSupID><eMail>p.jansen@oud.nl</eMail>\
                 <telephone>020-1234567</telephone><bankAccount><bankAccNr>NL02RABO0123456789</bankAccNr></bankAccount>\
                 </customerSupplier></customerSupplierHistory></customerSupplier>\
                 <customerSupplier><custSupID>C200</custSupID><custSupName>Molen B.V.</custSupName></customerSupplier>"
            };
            let lines: String = self
                .lines
                .iter()
                .enumerate()
                .map(|(i, (amount, side))| {
                    format!(
                        "\n          <trLine><nr>{i}</nr><accID>1300</accID><docRef>F{i}</docRef><effDate>2019-01-15</effDate>\
                         <amnt>{amount}</amnt><amntTp>{side}</amntTp><custSupID>D100</custSupID>\
                         <vat><vatID>H</vatID><vatPerc>21</vatPerc><vatAmnt>21.00</vatAmnt><vatAmntTp>C</vatAmntTp></vat>\
                         <currency><curCode>USD</curCode><curAmnt>3.00</curAmnt></currency></trLine>"
                    )
                })
                .collect();
            format!(
                r#"<?xml version="1.0" encoding="UTF-8"?>
<auditfile xmlns="{ns}" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
  <header>
    <fiscalYear>2019</fiscalYear><startDate>2019-01-01</startDate><endDate>2019-12-31</endDate>
    <curCode>EUR</curCode><dateCreated>2020-02-03</dateCreated>
    <softwareDesc>Boekhouder Pro</softwareDesc><softwareVersion>7.1</softwareVersion>
  </header>
  <company>
    {company_id}
    <companyName>Bakkerij De Korst B.V.</companyName>
    <taxRegistrationCountry>NL</taxRegistrationCountry><taxRegIdent>NL001234567B01</taxRegIdent>
    <streetAddress><streetname>Markt</streetname><number>1</number><city>Ede</city></streetAddress>
    <customersSuppliers>
      {parties}
    </customersSuppliers>
    <generalLedger>
      <ledgerAccount><accID>1300</accID><accDesc>Debiteuren</accDesc><accTp>B</accTp></ledgerAccount>
      <ledgerAccount><accID>1600</accID><accDesc>Btw</accDesc><accTp>B</accTp></ledgerAccount>
      <ledgerAccount><accID>8000</accID><accDesc>Omzet</accDesc><accTp>P</accTp></ledgerAccount>
    </generalLedger>
    <vatCodes><vatCode><vatID>H</vatID><vatDesc>Hoog</vatDesc></vatCode></vatCodes>
    <openingBalance><linesCount>1</linesCount><totalDebit>999.00</totalDebit><totalCredit>0.00</totalCredit>
      <obLine><nr>1</nr><accID>1300</accID><amnt>999.00</amnt><amntTp>D</amntTp></obLine>
    </openingBalance>
    <transactions>
      <linesCount>{count}</linesCount><totalDebit>{debit}</totalDebit><totalCredit>{credit}</totalCredit>
      <journal><jrnID>V</jrnID><desc>Verkoop</desc><jrnTp>S</jrnTp>
        <transaction><nr>1</nr><desc>Factuur &lt;1&gt;</desc><periodNumber>1</periodNumber><trDt>2019-01-15</trDt>
          <amnt>5.00</amnt><amntTp>D</amntTp>{lines}
        </transaction>
      </journal>
      <journal><jrnID>M</jrnID><desc>Memoriaal</desc>
        <transaction><nr>2</nr><periodNumber>2</periodNumber><trDt>2019-02-01</trDt></transaction>
      </journal>
    </transactions>
  </company>
</auditfile>
"#,
                ns = self.namespace
            )
        }
    }

    fn run(xml: &str) -> (Result<Summary, XafError>, Vec<Party>) {
        run_bytes(xml.as_bytes())
    }

    fn run_bytes(xml: &[u8]) -> (Result<Summary, XafError>, Vec<Party>) {
        let mut parties = Vec::new();
        let result = check(Cursor::new(xml), &mut |party| parties.push(party));
        (result, parties)
    }

    fn refusal(xml: &str) -> XafError {
        run(xml).0.expect_err("the check should fail")
    }

    fn strings(values: &[&str]) -> Vec<String> {
        values.iter().map(|value| (*value).to_owned()).collect()
    }

    #[test]
    fn version_3_2_is_summarised_and_its_parties_reported() {
        let (summary, parties) = run(&doc(NS32).render());
        let summary = summary.unwrap();
        assert_eq!(
            summary,
            Summary {
                version: "3.2".into(),
                software: "Boekhouder Pro".into(),
                software_version: "7.1".into(),
                company: "Bakkerij De Korst B.V.".into(),
                company_id: "ADM01".into(),
                fiscal_year: "2019".into(),
                start_date: "2019-01-01".into(),
                end_date: "2019-12-31".into(),
                currency: "EUR".into(),
                journals: 2,
                transactions: 2,
                lines: 3,
                total_debit: "121.00".into(),
                total_credit: "121.00".into(),
                customers_suppliers: 2,
                ledger_accounts: 3,
            }
        );
        assert_eq!(summary.period(), "2019-01-01 – 2019-12-31");
        assert_eq!(
            parties,
            vec![
                Party {
                    id: "D100".into(),
                    name: "Jansen & Zn é".into(),
                    emails: strings(&["piet@jansen.nl", "p.jansen@oud.nl"]),
                    phones: strings(&["020-1234567", "020-7654321"]),
                    bank_accounts: strings(&["NL91ABNA0417164300", "NL02RABO0123456789"]),
                },
                Party {
                    id: "C200".into(),
                    name: "Molen B.V.".into(),
                    ..Party::default()
                },
            ]
        );
    }

    #[test]
    fn version_3_1_reads_the_same_paths() {
        let (summary, parties) = run(&doc(NS31).render());
        let summary = summary.unwrap();
        assert_eq!(summary.version, "3.1");
        assert_eq!((summary.lines, summary.total_debit.as_str()), (3, "121.00"));
        assert_eq!(parties.len(), 2);
        assert_eq!(parties[0].bank_accounts.len(), 2);
    }

    #[test]
    fn version_4_0_takes_the_kvk_number_and_only_an_email() {
        let (summary, parties) = run(&doc(NS40).render());
        let summary = summary.unwrap();
        assert_eq!(summary.version, "4.0");
        assert_eq!(summary.company_id, "12345678");
        assert_eq!(
            (summary.journals, summary.transactions, summary.lines),
            (2, 2, 3)
        );
        assert_eq!(
            parties[0],
            Party {
                id: "D100".into(),
                name: "Jansen & Zn é".into(),
                emails: strings(&["piet@jansen.nl"]),
                ..Party::default()
            }
        );
    }

    #[test]
    fn namespace_variants_name_their_version() {
        for (namespace, version) in [
            ("http://www.odb.belastingdienst.nl/XAF/4.0", "4.0"),
            ("http://www.auditfiles.nl/XAF/4.0", "4.0"),
            ("HTTP://WWW.AUDITFILES.NL/xaf/3.2/", "3.2"),
            (
                "http://www.odb.belastingdienst.nl/Belastingdienst/BCPP/1.0/structures/XmlAuditfileFinancieel3.2.1",
                "3.2.1",
            ),
        ] {
            let xml = doc(NS32).render().replace(NS32, namespace);
            assert_eq!(run(&xml).0.unwrap().version, version, "{namespace}");
        }
        let prefixed = doc(NS32)
            .render()
            .replace("<auditfile xmlns=", "<x:auditfile xmlns:x=")
            .replace("</auditfile>", "</x:auditfile>");
        assert_eq!(run(&prefixed).0.unwrap().version, "3.2");
    }

    #[test]
    fn negative_and_long_decimal_amounts_add_up_exactly() {
        let xml = doc(NS32)
            .lines(&[
                ("-10.5", "D"),
                ("0.1", "D"),
                ("0.2", "D"),
                ("-10.2", "C"),
                ("+0.000", "C"),
            ])
            .render();
        let summary = run(&xml).0.unwrap();
        assert_eq!(
            (summary.total_debit.as_str(), summary.total_credit.as_str()),
            ("-10.20", "-10.20")
        );
    }

    #[test]
    fn declared_totals_are_compared_as_numbers() {
        let xml = doc(NS32).declare(" 3 ", "121.0", "+121.000000").render();
        assert!(run(&xml).0.is_ok());
    }

    #[test]
    fn an_unclosed_tag_is_malformed_with_its_position() {
        let xml = doc(NS32).render().replace("</company>", "");
        let XafError::Malformed(what) = refusal(&xml) else {
            panic!("not Malformed")
        };
        assert!(what.contains("line "), "{what}");
        assert!(what.contains("byte "), "{what}");

        let xml = doc(NS32).render();
        let cut = &xml[..xml.find("<taxRegistrationCountry>").unwrap()];
        let XafError::Malformed(what) = refusal(cut) else {
            panic!("not Malformed")
        };
        assert!(what.contains("<company> opened at line 8"), "{what}");
    }

    #[test]
    fn a_mismatched_end_tag_is_malformed() {
        let xml = doc(NS32)
            .render()
            .replace("</companyName>", "</companyname>");
        let XafError::Malformed(what) = refusal(&xml) else {
            panic!("not Malformed")
        };
        assert!(what.starts_with("line 10, byte "), "{what}");
    }

    #[test]
    fn a_second_root_or_stray_text_is_malformed() {
        let xml = doc(NS32).render() + "<auditfile/>";
        assert!(matches!(refusal(&xml), XafError::Malformed(_)));
        let xml = doc(NS32).render() + "tail";
        assert!(matches!(refusal(&xml), XafError::Malformed(_)));
    }

    #[test]
    fn unreadable_amounts_and_sides_are_malformed() {
        for (amount, side) in [
            ("12,50", "D"),
            ("1e3", "D"),
            ("1.0000001", "D"),
            ("", "D"),
            ("5", "X"),
        ] {
            let xml = doc(NS32)
                .lines(&[(amount, side)])
                .declare("1", "0", "0")
                .render();
            assert!(
                matches!(refusal(&xml), XafError::Malformed(_)),
                "{amount} {side}"
            );
        }
    }

    #[test]
    fn unbalanced_lines_are_refused_with_the_difference() {
        let xml = doc(NS32)
            .lines(&[("12345.67", "D"), ("12340.00", "C")])
            .render();
        let error = refusal(&xml);
        assert_eq!(
            error,
            XafError::Unbalanced {
                debit: "12345.67".into(),
                credit: "12340.00".into()
            }
        );
        assert_eq!(
            error.to_string(),
            "debits (12,345.67) and credits (12,340.00) differ by 5.67: the accounting package exported an unbalanced file; export it again"
        );
    }

    #[test]
    fn wrong_declared_counts_and_totals_are_refused() {
        let error = refusal(&doc(NS32).declare("4", "121.00", "121.00").render());
        assert_eq!(
            error,
            XafError::CountMismatch {
                what: "linesCount",
                declared: "4".into(),
                found: "3".into()
            }
        );
        assert_eq!(
            error.to_string(),
            "the file says it holds 4 transaction lines (linesCount) but holds 3: it is incomplete or was altered; export it again"
        );

        let error = refusal(&doc(NS40).declare("3", "1121.5", "121.00").render());
        assert_eq!(
            error,
            XafError::CountMismatch {
                what: "totalDebit",
                declared: "1121.5".into(),
                found: "121.00".into()
            }
        );
        assert!(
            error
                .to_string()
                .contains("total debits of 1,121.50 (totalDebit)"),
            "{error}"
        );

        let error = refusal(&doc(NS31).declare("3", "121.00", "12").render());
        assert!(matches!(
            error,
            XafError::CountMismatch {
                what: "totalCredit",
                ..
            }
        ));
    }

    #[test]
    fn another_root_or_namespace_is_not_xaf() {
        let unknown = doc(NS32)
            .render()
            .replace(NS32, "http://www.auditfiles.nl/XAF/9.9");
        assert!(matches!(refusal(&unknown), XafError::NotXaf(what) if what.contains("XAF/9.9")));
        let none = doc(NS32)
            .render()
            .replace(&format!(" xmlns=\"{NS32}\""), "");
        assert!(matches!(refusal(&none), XafError::NotXaf(what) if what.contains("no namespace")));
        assert!(matches!(
            refusal("<Invoice xmlns=\"urn:x\"/>"),
            XafError::NotXaf(_)
        ));
        assert!(matches!(refusal(""), XafError::NotXaf(_)));
        let utf16 = doc(NS32).render().replace("UTF-8", "UTF-16");
        assert!(matches!(refusal(&utf16), XafError::NotXaf(_)));
    }

    #[test]
    fn a_header_without_its_year_is_not_xaf() {
        let xml = doc(NS32)
            .render()
            .replace("<fiscalYear>2019</fiscalYear>", "");
        let error = refusal(&xml);
        assert!(
            matches!(&error, XafError::NotXaf(what) if what.contains("fiscalYear")),
            "{error}"
        );
    }

    #[test]
    fn iso_8859_1_text_is_decoded() {
        let mut xml = doc(NS32)
            .render()
            .replace("UTF-8", "ISO-8859-1")
            .replace("Molen B.V.", "Molen \u{1} B.V.")
            .into_bytes();
        let at = xml.iter().position(|&byte| byte == 1).unwrap();
        xml[at] = 0xE9;
        let (summary, parties) = run_bytes(&xml);
        summary.unwrap();
        assert_eq!(parties[1].name, "Molen é B.V.");

        let mut undeclared = doc(NS32).render().into_bytes();
        let at = undeclared
            .windows(5)
            .position(|window| window == b"Molen")
            .unwrap();
        undeclared[at + 1] = 0xF6;
        assert!(matches!(
            run_bytes(&undeclared).0,
            Err(XafError::Malformed(_))
        ));
    }

    fn billion_laughs() -> String {
        let mut dtd = String::from("<!ENTITY lol \"lol\">\n");
        for level in 1..=9 {
            let previous = if level == 1 {
                "lol".to_owned()
            } else {
                format!("lol{}", level - 1)
            };
            dtd += &format!(
                "<!ENTITY lol{level} \"{}\">\n",
                format!("&{previous};").repeat(10)
            );
        }
        format!(
            "<?xml version=\"1.0\"?>\n<!DOCTYPE auditfile [\n{dtd}]>\n<auditfile xmlns=\"{NS32}\"><header><fiscalYear>&lol9;</fiscalYear></header></auditfile>"
        )
    }

    #[test]
    fn a_billion_laughs_is_refused_at_once() {
        let started = Instant::now();
        let error = refusal(&billion_laughs());
        assert!(
            matches!(&error, XafError::Hostile(what) if what.contains("DOCTYPE")),
            "{error}"
        );
        assert!(started.elapsed() < Duration::from_secs(1));
    }

    #[test]
    fn an_external_entity_is_refused() {
        let xml = format!(
            "<?xml version=\"1.0\"?><!DOCTYPE auditfile [<!ENTITY x SYSTEM \"file:///etc/passwd\">]><auditfile xmlns=\"{NS32}\"><header><fiscalYear>&x;</fiscalYear></header></auditfile>"
        );
        assert!(matches!(refusal(&xml), XafError::Hostile(_)));
    }

    #[test]
    fn an_entity_without_declaration_is_not_expanded() {
        let xml = doc(NS32).render().replace("Molen B.V.", "Molen &lol9;");
        let error = refusal(&xml);
        assert!(
            matches!(&error, XafError::Malformed(what) if what.contains("&lol9;")),
            "{error}"
        );
    }

    #[test]
    fn deep_nesting_is_refused_without_recursion() {
        let xml = format!(
            "<auditfile xmlns=\"{NS32}\">{}{}</auditfile>",
            "<a>".repeat(10_000),
            "</a>".repeat(10_000)
        );
        assert!(matches!(refusal(&xml), XafError::Hostile(what) if what.contains("nested")));
    }

    #[test]
    fn a_ten_megabyte_text_is_refused() {
        let xml = doc(NS32).render().replace("Verkoop", &"x".repeat(10 << 20));
        assert!(matches!(refusal(&xml), XafError::Hostile(what) if what.contains("MiB")));
    }

    #[test]
    fn a_long_name_made_of_references_is_refused() {
        let xml = doc(NS32)
            .render()
            .replace("Molen B.V.", &"&amp;".repeat((1 << 20) + 1));
        assert!(matches!(refusal(&xml), XafError::Hostile(what) if what.contains("<custSupName>")));
    }

    /// An audit file of `transactions` two-line transactions, written as it
    /// is read: never whole in memory.
    struct Generated {
        transactions: u64,
        next: u64,
        stage: u8,
        chunk: Vec<u8>,
        taken: usize,
    }

    impl Generated {
        fn new(transactions: u64) -> Self {
            Generated {
                transactions,
                next: 0,
                stage: 0,
                chunk: Vec::new(),
                taken: 0,
            }
        }

        fn amount(i: u64) -> String {
            format!("{}.{:02}", i % 5000, i % 100)
        }

        fn refill(&mut self) {
            self.chunk.clear();
            self.taken = 0;
            match self.stage {
                0 => {
                    let total: i128 = (0..self.transactions)
                        .map(|i| parse_amount(&Self::amount(i)).unwrap())
                        .sum();
                    let total = format_amount(total);
                    self.chunk = format!(
                        "<?xml version=\"1.0\"?>\n<auditfile xmlns=\"{NS40}\"><header><fiscalYear>2024</fiscalYear>\
                         <startDate>2024-01-01</startDate><endDate>2024-12-31</endDate><curCode>EUR</curCode></header>\
                         <company><companyName>Groot</companyName><transactions><linesCount>{}</linesCount>\
                         <totalDebit>{total}</totalDebit><totalCredit>{total}</totalCredit><journal><jrnID>M</jrnID>\n",
                        self.transactions * 2
                    )
                    .into_bytes();
                    self.stage = 1;
                }
                1 if self.next < self.transactions => {
                    let (i, amount) = (self.next, Self::amount(self.next));
                    self.chunk = format!(
                        "<transaction><nr>{i}</nr><periodNumber>1</periodNumber><trDt>2024-03-01</trDt>\n\
                         <trLine><nr>1</nr><accID>1300</accID><docRef>F{i}</docRef><effDate>2024-03-01</effDate><amnt>{amount}</amnt><amntTp>D</amntTp></trLine>\n\
                         <trLine><nr>2</nr><accID>8000</accID><docRef>F{i}</docRef><effDate>2024-03-01</effDate><amnt>{amount}</amnt><amntTp>C</amntTp></trLine>\n\
                         </transaction>\n"
                    )
                    .into_bytes();
                    self.next += 1;
                }
                1 => {
                    self.chunk = b"</journal></transactions></company></auditfile>\n".to_vec();
                    self.stage = 2;
                }
                _ => {}
            }
        }
    }

    impl Read for Generated {
        fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
            if self.taken == self.chunk.len() {
                self.refill();
            }
            let n = out.len().min(self.chunk.len() - self.taken);
            out[..n].copy_from_slice(&self.chunk[self.taken..self.taken + n]);
            self.taken += n;
            Ok(n)
        }
    }

    #[test]
    fn a_large_file_is_streamed() {
        let transactions = 100_000;
        let summary = check(BufReader::new(Generated::new(transactions)), &mut |_| {}).unwrap();
        assert_eq!(summary.lines, 2 * transactions);
        assert_eq!(summary.transactions, transactions);
        assert_eq!(summary.total_debit, summary.total_credit);
    }

    #[test]
    fn amounts_parse_exactly() {
        assert_eq!(parse_amount("100.5"), parse_amount("100.50"));
        assert_eq!(parse_amount(" -0.01 "), Some(-10_000));
        assert_eq!(parse_amount("+1"), Some(UNIT));
        assert_eq!(parse_amount(".5"), Some(UNIT / 2));
        assert_eq!(parse_amount("5."), Some(5 * UNIT));
        assert_eq!(parse_amount("1.2345670"), Some(1_234_567));
        for bad in [
            "",
            "-",
            ".",
            "1.0000001",
            "1e3",
            "1,5",
            "1.2.3",
            "--1",
            "0x10",
            "99999999999999999999999999999999999",
        ] {
            assert_eq!(parse_amount(bad), None, "{bad}");
        }
        assert_eq!(format_amount(-50 * UNIT / 100), "-0.50");
        assert_eq!(format_amount(1_234_000), "1.234");
        assert_eq!(grouped("-1234567.5"), "-1,234,567.50");
        assert_eq!(grouped("200000"), "200,000");
        assert_eq!(grouped("123"), "123");
    }

    #[test]
    fn xaf_is_recognised_by_name_or_namespace() {
        let xml32 = doc(NS32).render();
        let prefixed40 = format!(
            "<?xml version=\"1.0\"?><!-- export --><x:auditfile xmlns:x=\"{NS40}\"><x:header>"
        );
        assert!(looks_like_xaf(b"2019.XAF", b""));
        assert!(looks_like_xaf(b"export/Grootboek.xaf", b"not even xml"));
        assert!(looks_like_xaf(b"audit.xml", xml32.as_bytes()));
        assert!(looks_like_xaf(b"audit.XML", &xml32.as_bytes()[..200]));
        assert!(looks_like_xaf(b"audit.xml", prefixed40.as_bytes()));
        assert!(looks_like_xaf(b"audit.xml", billion_laughs().as_bytes()));
        assert!(!looks_like_xaf(b"audit.txt", xml32.as_bytes()));
        assert!(!looks_like_xaf(b"audit.xml", b""));
        assert!(!looks_like_xaf(b"audit.xml", &xml32.as_bytes()[..60]));
        assert!(!looks_like_xaf(
            b"audit.xml",
            b"<auditfile xmlns=\"urn:other\">"
        ));
        assert!(!looks_like_xaf(
            b"invoice.xml",
            b"<Invoice xmlns=\"urn:oasis:names:specification:ubl:schema:xsd:Invoice-2\">"
        ));
    }

    #[test]
    fn every_error_reads_as_a_sentence() {
        let errors = [
            XafError::Malformed("line 3, byte 40: x".into()),
            XafError::Hostile("line 2, byte 22: y".into()),
            XafError::NotXaf("z".into()),
            XafError::Io("broken pipe".into()),
        ];
        for error in errors {
            let text = error.to_string();
            assert!(!text.is_empty() && !text.ends_with('.'), "{text}");
        }
        let (result, _) = run("<auditfile xmlns=\"http://www.auditfiles.nl/XAF/3.2\"><bad");
        assert!(
            result
                .unwrap_err()
                .to_string()
                .starts_with("the audit file is not well-formed (line 1, byte ")
        );
    }
}
