//! Helpers shared by the XAF check's unit tests: a hand-made audit file of
//! any version whose lines and declared totals a test can change, running
//! the check over text, and a document type declaration that would expand
//! without end.

use std::io::Cursor;

use super::amount::{format_amount, parse_amount};
use super::{Party, Summary, XafError, check};

pub(super) const NS31: &str = "http://www.auditfiles.nl/XAF/3.1";
pub(super) const NS32: &str = "http://www.auditfiles.nl/XAF/3.2";
pub(super) const NS40: &str =
    "http://www.odb.belastingdienst.nl/Belastingdienst/BCPP/1.1/structures/XmlauditfileXAF_4.0";

/// A hand-made audit file: its transaction lines, and what it declares
/// about them (by default, what they count and add up to).
pub(super) struct Doc {
    namespace: &'static str,
    lines: Vec<(&'static str, &'static str)>,
    declared: Option<[String; 3]>,
}

pub(super) fn doc(namespace: &'static str) -> Doc {
    Doc {
        namespace,
        lines: vec![("100.00", "D"), ("21.00", "D"), ("121.00", "C")],
        declared: None,
    }
}

impl Doc {
    pub(super) fn lines(mut self, lines: &[(&'static str, &'static str)]) -> Doc {
        self.lines = lines.to_vec();
        self
    }

    pub(super) fn declare(mut self, lines: &str, debit: &str, credit: &str) -> Doc {
        self.declared = Some([lines.to_owned(), debit.to_owned(), credit.to_owned()]);
        self
    }

    fn four(&self) -> bool {
        self.namespace == NS40
    }

    pub(super) fn render(&self) -> String {
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

pub(super) fn run(xml: &str) -> (Result<Summary, XafError>, Vec<Party>) {
    run_bytes(xml.as_bytes())
}

pub(super) fn run_bytes(xml: &[u8]) -> (Result<Summary, XafError>, Vec<Party>) {
    let mut parties = Vec::new();
    let result = check(Cursor::new(xml), &mut |party| parties.push(party));
    (result, parties)
}

pub(super) fn refusal(xml: &str) -> XafError {
    run(xml).0.expect_err("the check should fail")
}

pub(super) fn strings(values: &[&str]) -> Vec<String> {
    values.iter().map(|value| (*value).to_owned()).collect()
}

pub(super) fn billion_laughs() -> String {
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
