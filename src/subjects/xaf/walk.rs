//! One pass over an audit file, event by event: the open elements, the text
//! of the fields being kept, the counts, the debit and credit sums, the
//! customerSupplier being read, the caps on nesting, names and texts, and
//! at the end the checks of the header, the balance and the declared totals.

use quick_xml::events::{BytesRef, BytesStart};

use super::amount::{SCALE, format_amount, parse_amount};
use super::encoding::Encoding;
use super::error::{Position, XafError, malformed, shown};
use super::paths::{Field, Tag, field_at};
use super::version::root_version;
use super::{Party, Summary, is_xml_space};

/// Deepest element nesting accepted; a real XAF file goes 9 deep.
const MAX_DEPTH: usize = 64;
/// Longest text kept for one element, and for one party's texts together.
const MAX_TEXT: usize = 1 << 20;
/// Longest element name; XAF's longest is `customerSupplierHistory`.
const MAX_NAME: usize = 256;
/// Most e-mail addresses, phone numbers and bank accounts of one party.
const MAX_IDENTIFIERS: usize = 4096;

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
pub(super) struct Walk<'a> {
    sink: &'a mut dyn FnMut(Party),
    pub(super) encoding: Encoding,
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
    pub(super) fn new(sink: &'a mut dyn FnMut(Party)) -> Self {
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

    pub(super) fn open_element(
        &mut self,
        start: &BytesStart,
        at: Position,
    ) -> Result<(), XafError> {
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

    pub(super) fn close_element(&mut self) -> Result<(), XafError> {
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

    pub(super) fn raw_text(&mut self, raw: &[u8], at: Position) -> Result<(), XafError> {
        let text = self.encoding.decode(raw).ok_or_else(|| {
            malformed(
                at,
                "text that is not UTF-8 (an ISO-8859-1 file must say so in its <?xml encoding=…?>)",
            )
        })?;
        self.push_text(&text, at)
    }

    pub(super) fn reference(&mut self, reference: &BytesRef, at: Position) -> Result<(), XafError> {
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

    pub(super) fn finish(self) -> Result<Summary, XafError> {
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

#[cfg(test)]
mod tests {
    use crate::subjects::xaf::XafError;
    use crate::subjects::xaf::testing::{NS31, NS32, NS40, doc, refusal};

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
    fn a_long_name_made_of_references_is_refused() {
        let xml = doc(NS32)
            .render()
            .replace("Molen B.V.", &"&amp;".repeat((1 << 20) + 1));
        assert!(matches!(refusal(&xml), XafError::Hostile(what) if what.contains("<custSupName>")));
    }
}
