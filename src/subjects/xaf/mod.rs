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
//!
//! # Layout
//!
//! This file holds the public types and the two entry points,
//! [`looks_like_xaf`] and [`check`]; their parts live beside it: `input`
//! (the metered input that caps each parser event), `encoding`, `version`
//! (the namespaces and the root element), `paths` (the elements read and
//! the fields they fill), `walk` (one pass: counts, sums, parties, and the
//! checks at the end), `amount` (exact decimals) and `error` ([`XafError`],
//! and the positions and quoting in its messages).

mod amount;
mod encoding;
mod error;
mod input;
mod paths;
mod version;
mod walk;

use std::io::BufRead;

use quick_xml::events::Event;
use quick_xml::reader::Reader;

use encoding::Encoding;
use error::Position;
pub use error::XafError;
use input::{Metered, read_error};
use version::{ends_with_ignore_case, root_version};
use walk::Walk;

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

/// XML's white space, trimmed around the texts the check keeps.
fn is_xml_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\r' | '\n')
}

#[cfg(test)]
mod testing;

#[cfg(test)]
mod tests {
    use std::io::{self, BufReader, Read};
    use std::time::{Duration, Instant};

    use super::*;
    use amount::{format_amount, parse_amount};
    use testing::{NS31, NS32, NS40, billion_laughs, doc, refusal, run, strings};

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
}
