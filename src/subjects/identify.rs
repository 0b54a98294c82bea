//! Identifiers that name a person (e-mail address, phone number, IBAN,
//! customer or relation number) and their normal forms: the one spelling
//! the subject index keeps for each, however a record or a user wrote it.
//!
//! # Normal forms
//!
//! - **E-mail address**: trimmed; a `mailto:` prefix (and what follows a
//!   `?` in such a link), the angle brackets of `<addr>` and a display name
//!   before them (`Jan Jansen <jan@example.nl>`) removed; the whole address
//!   lower-cased. The part before the `@` may in theory be case-sensitive;
//!   no mail system in use treats it so, and `Jan@` and `jan@` are taken
//!   as the same person. There must be exactly one `@`; the part before it
//!   is 1 to 64 ASCII characters out of letters, digits and
//!   ``! # $ % & ' * + - / = ? ^ _ ` { | } ~ .``, with no dot at its
//!   start or end and no two dots in a row (quoted local parts such as
//!   `"jan jansen"@example.nl` are not taken); the part after it is a
//!   domain name of at most 253 characters, with at least two labels of 1
//!   to 63 letters, digits and inner hyphens, the last not all digits and
//!   at least two characters long. Non-ASCII addresses are not taken.
//!   Sub-addresses (`jan+shop@example.nl`) are kept as written.
//! - **Phone number**: E.164, `+` and 8 to 15 digits. Spaces, dots,
//!   dashes, slashes and parentheses are left out, and so is `(0)` after a
//!   country code (`+31 (0)6 …`); a `tel:` prefix is dropped. `+` or `00`
//!   (in the US and Canada also `011`) starts the country code; any other
//!   number is a national number of the default country ([`Country`]):
//!   its trunk prefix (`0` in most of Europe, `06` in Hungary) is replaced
//!   by the calling code, and in countries without one (Spain, Italy,
//!   Denmark, …) the calling code is put before the whole number; in the
//!   US and Canada a national number is 10 digits, or 11 starting with 1.
//!   The country code must be one the ITU assigned, and for the countries
//!   whose numbers all have one length the number must have it (the
//!   Netherlands 9 digits after +31, Belgium 8 or 9, France, Spain,
//!   Portugal, Poland and Switzerland 9, Denmark and Norway 8, Greece 10,
//!   the United Kingdom 9 or 10, the US and Canada 10). Letters are
//!   refused, so extensions (`x12`) and vanity numbers are not taken.
//! - **IBAN**: spaces left out, upper-cased (an `IBAN` prefix is dropped);
//!   two letters, two check digits and letters or digits; the length the
//!   country's IBANs have, for the countries of the IBAN registry (an
//!   IBAN of another country: 15 to 34 characters); and the ISO 7064
//!   mod-97 check must give 1.
//! - **Id** (customer, relation or member number, named by the column that
//!   holds it): the name trimmed and lower-cased, the value trimmed with
//!   its case kept; neither empty, neither holding a control character or
//!   (the name) a `=`, the value at most [`MAX_ID_VALUE`] bytes.
//!
//! Each identifier's index key is its kind and normal form in one string:
//! `email:jan@example.nl`, `phone:+31612345678`,
//! `iban:NL91ABNA0417164300`, `id:customer_no=K017807`.

use std::borrow::Cow;

/// The longest value an [`Identifier::Id`] may have, in bytes: a customer
/// number is short, and a longer "value" is text, not a number.
pub const MAX_ID_VALUE: usize = 256;

/// Something that names a person, in its normal form (see the module
/// documentation).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Identifier {
    /// An e-mail address, lower-cased: `jan@example.nl`.
    Email(String),
    /// A phone number in E.164: `+31612345678`.
    Phone(String),
    /// An IBAN, upper-case without spaces: `NL91ABNA0417164300`.
    Iban(String),
    /// A customer, relation or member number and the (lower-cased) name of
    /// the column that holds it.
    Id { name: String, value: String },
}

impl Identifier {
    /// The normal form as one string, the index key:
    /// `email:jan@example.nl`, `phone:+31612345678`,
    /// `iban:NL91ABNA0417164300`, `id:customer_no=K017807`.
    pub fn key(&self) -> String {
        match self {
            Identifier::Email(address) => format!("email:{address}"),
            Identifier::Phone(number) => format!("phone:{number}"),
            Identifier::Iban(iban) => format!("iban:{iban}"),
            Identifier::Id { name, value } => format!("id:{name}={value}"),
        }
    }

    /// Parses a key that [`Identifier::key`] wrote.
    ///
    /// # Errors
    ///
    /// Anything that is not a kind, a `:` and a value in its normal form.
    pub fn from_key(key: &str) -> Result<Identifier, String> {
        let bad = || {
            format!(
                "{key:?} is not a subject index key: expected email:ADDRESS, phone:+DIGITS, \
                 iban:IBAN or id:NAME=VALUE, each in its normal form"
            )
        };
        let (kind, value) = key.split_once(':').ok_or_else(bad)?;
        let id = match kind {
            "email" => email_normal(value).map(Identifier::Email).ok(),
            "phone" if value.starts_with('+') => check_international(&value.as_bytes()[1..])
                .ok()
                .map(Identifier::Phone),
            "iban" => iban_normal(value).map(Identifier::Iban).ok(),
            "id" => Identifier::parse_id(value).ok(),
            _ => None,
        };
        match id {
            Some(id) if id.key() == key => Ok(id),
            _ => Err(bad()),
        }
    }

    /// The kind for reports: `e-mail address`, `phone number`, `IBAN`, or
    /// an id's column name (`customer_no`).
    pub fn kind_label(&self) -> String {
        match self {
            Identifier::Email(_) => "e-mail address".into(),
            Identifier::Phone(_) => "phone number".into(),
            Identifier::Iban(_) => "IBAN".into(),
            Identifier::Id { name, .. } => name.clone(),
        }
    }

    /// The value as a person reads it: the address, `+31612345678`, the
    /// IBAN in groups of four (`NL91 ABNA 0417 1643 00`), the id's value.
    pub fn display(&self) -> String {
        match self {
            Identifier::Email(text) | Identifier::Phone(text) => text.clone(),
            Identifier::Iban(iban) => {
                let mut out = String::with_capacity(iban.len() + iban.len() / 4);
                for (i, c) in iban.chars().enumerate() {
                    if i > 0 && i % 4 == 0 {
                        out.push(' ');
                    }
                    out.push(c);
                }
                out
            }
            Identifier::Id { value, .. } => value.clone(),
        }
    }

    /// An e-mail address as a user types it: `jan@example.nl`,
    /// `Jan Jansen <Jan@Example.nl>`, `mailto:jan@example.nl`.
    ///
    /// # Errors
    ///
    /// One sentence naming the input, what is wrong and the accepted forms.
    pub fn parse_email(text: &str) -> Result<Identifier, String> {
        email_normal(text).map(Identifier::Email).map_err(|why| {
            format!(
                "{text:?} is not an e-mail address ({why}): give it as name@example.nl \
                 (\"Name <name@example.nl>\" and mailto:name@example.nl are taken too)"
            )
        })
    }

    /// A phone number as a user types it: with its country code
    /// (`+31 6 12345678`, `0031 6 12345678`, `+31 (0)6-1234 5678`) or as a
    /// national number of `default_country` (`06 12345678` in NL).
    ///
    /// # Errors
    ///
    /// One sentence naming the input, what is wrong and the accepted forms
    /// for the default country.
    pub fn parse_phone(text: &str, default_country: &Country) -> Result<Identifier, String> {
        phone_normal(text, default_country)
            .map(Identifier::Phone)
            .map_err(|why| {
                format!(
                    "{text:?} is not a phone number ({why}): {}",
                    default_country.phone_forms()
                )
            })
    }

    /// An IBAN as a user types it, with or without spaces, in either case.
    ///
    /// # Errors
    ///
    /// One sentence naming the input, what is wrong (a wrong length for
    /// its country, check digits that do not match) and the accepted form.
    pub fn parse_iban(text: &str) -> Result<Identifier, String> {
        iban_normal(text).map(Identifier::Iban).map_err(|why| {
            format!(
                "{text:?} is not an IBAN ({why}): give the two letters of its country, \
                 the two check digits and the account number, with or without spaces \
                 (NL91 ABNA 0417 1643 00)"
            )
        })
    }

    /// An id as a user types it: `NAME=VALUE`, the column that holds it and
    /// its value (`customer_no=K017807`).
    ///
    /// # Errors
    ///
    /// One sentence naming the input, what is wrong and the accepted form.
    pub fn parse_id(text: &str) -> Result<Identifier, String> {
        let fail = |why: &str| {
            format!(
                "{text:?} is not an id ({why}): give it as NAME=VALUE, the column that holds \
                 it and its value (customer_no=K017807)"
            )
        };
        let (name, value) = text.split_once('=').ok_or_else(|| fail("it has no ="))?;
        id_normal(name, value).map_err(fail)
    }
}

/// An id from a column name and a value, or why not.
pub(crate) fn id_normal(name: &str, value: &str) -> Result<Identifier, &'static str> {
    let name = name.trim();
    let value = value.trim();
    if name.is_empty() {
        return Err("the name before the = is empty");
    }
    if value.is_empty() {
        return Err("the value after the = is empty");
    }
    if value.len() > MAX_ID_VALUE {
        return Err("the value is longer than 256 bytes");
    }
    if name.contains('=') || name.chars().chain(value.chars()).any(char::is_control) {
        return Err("it holds a control character");
    }
    Ok(Identifier::Id {
        name: name.to_lowercase(),
        value: value.to_string(),
    })
}

// ---------------------------------------------------------------------------
// E-mail addresses

/// The longest part before the `@` (RFC 5321).
pub(crate) const MAX_LOCAL: usize = 64;
/// The longest domain name (RFC 1035).
pub(crate) const MAX_DOMAIN: usize = 253;

/// A byte the part before the `@` may hold: RFC 5322 `atext` and the dot.
pub(crate) fn is_local_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-/=?^_`{|}~.".contains(&b)
}

/// A byte a domain name may hold.
pub(crate) fn is_domain_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'-' || b == b'.'
}

/// Whether `address` is an address in the sense of the module
/// documentation (before lower-casing), or why not.
pub(crate) fn check_email(address: &[u8]) -> Result<(), &'static str> {
    if address.is_empty() {
        return Err("it is empty");
    }
    let mut ats = memchr::memchr_iter(b'@', address);
    let Some(at) = ats.next() else {
        return Err("it has no @");
    };
    if ats.next().is_some() {
        return Err("it has more than one @");
    }
    let (local, domain) = (&address[..at], &address[at + 1..]);
    if local.is_empty() {
        return Err("nothing comes before the @");
    }
    if local.len() > MAX_LOCAL {
        return Err("the part before the @ is longer than 64 characters");
    }
    if !local.iter().all(|&b| is_local_byte(b)) {
        return Err("the part before the @ holds a character addresses do not have");
    }
    if local.starts_with(b".")
        || local.ends_with(b".")
        || memchr::memmem::find(local, b"..").is_some()
    {
        return Err("the part before the @ has a misplaced dot");
    }
    if !domain_ok(domain) {
        return Err("the part after the @ is not a domain name like example.nl");
    }
    Ok(())
}

fn domain_ok(domain: &[u8]) -> bool {
    if domain.is_empty() || domain.len() > MAX_DOMAIN {
        return false;
    }
    let mut labels = 0;
    let mut last: &[u8] = b"";
    for label in domain.split(|&b| b == b'.') {
        let good = (1..=63).contains(&label.len())
            && label
                .iter()
                .all(|&b| b.is_ascii_alphanumeric() || b == b'-')
            && !label.starts_with(b"-")
            && !label.ends_with(b"-");
        if !good {
            return false;
        }
        labels += 1;
        last = label;
    }
    labels >= 2 && last.len() >= 2 && !last.iter().all(u8::is_ascii_digit)
}

/// `prefix` at the start of `text`, in any case: the rest.
fn strip_prefix_ci<'a>(text: &'a str, prefix: &str) -> Option<&'a str> {
    let head = text.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| &text[prefix.len()..])
}

/// The normal form of an e-mail address as a user or a header writes it.
pub(crate) fn email_normal(text: &str) -> Result<String, &'static str> {
    let mut t = text.trim();
    if t.ends_with('>')
        && let Some(open) = t.rfind('<')
    {
        t = t[open + 1..t.len() - 1].trim();
    }
    if let Some(rest) = strip_prefix_ci(t, "mailto:") {
        t = rest.split('?').next().unwrap_or_default().trim();
    }
    check_email(t.as_bytes())?;
    Ok(t.to_ascii_lowercase())
}

// ---------------------------------------------------------------------------
// Phone numbers

/// What kluis knows of a country for phone numbers.
#[derive(Debug, PartialEq, Eq)]
struct CountryInfo {
    code: &'static str,
    calling: &'static str,
    /// National (trunk) prefixes a national number starts with, the one
    /// to show first; empty where numbers have none.
    trunks: &'static [&'static str],
    /// The North American Numbering Plan: 10 digits, optionally after a 1.
    nanp: bool,
    /// The lengths, in digits with the trunk prefix, that a national
    /// number found in running text must have; empty where lengths vary
    /// too much to tell a phone number from other numbers.
    scan_lengths: &'static [usize],
    /// A national number as people write it.
    national: &'static str,
    /// The same after the country code.
    international: &'static str,
}

const fn info(
    code: &'static str,
    calling: &'static str,
    trunks: &'static [&'static str],
    scan_lengths: &'static [usize],
    national: &'static str,
    international: &'static str,
) -> CountryInfo {
    CountryInfo {
        code,
        calling,
        trunks,
        nanp: false,
        scan_lengths,
        national,
        international,
    }
}

const fn nanp(code: &'static str, example: &'static str) -> CountryInfo {
    CountryInfo {
        code,
        calling: "1",
        trunks: &[],
        nanp: true,
        scan_lengths: &[],
        national: example,
        international: example,
    }
}

const ZERO: &[&str] = &["0"];

/// The countries a default country may be: the EU, EFTA, the United
/// Kingdom, the US and Canada. The first is the default.
static COUNTRIES: &[CountryInfo] = &[
    info("NL", "31", ZERO, &[10], "06 12345678", "6 12345678"),
    info("BE", "32", ZERO, &[9, 10], "0470 12 34 56", "470 12 34 56"),
    info("DE", "49", ZERO, &[], "030 1234567", "30 1234567"),
    info("FR", "33", ZERO, &[10], "06 12 34 56 78", "6 12 34 56 78"),
    info("GB", "44", ZERO, &[11], "07700 900123", "7700 900123"),
    info("LU", "352", &[], &[], "621 123 456", "621 123 456"),
    info("AT", "43", ZERO, &[], "0664 1234567", "664 1234567"),
    info("CH", "41", ZERO, &[10], "079 123 45 67", "79 123 45 67"),
    info("LI", "423", &[], &[], "660 12 34", "660 12 34"),
    info("IE", "353", ZERO, &[], "085 123 4567", "85 123 4567"),
    info("ES", "34", &[], &[], "612 34 56 78", "612 34 56 78"),
    info("PT", "351", &[], &[], "912 345 678", "912 345 678"),
    info("IT", "39", &[], &[], "312 345 6789", "312 345 6789"),
    info("DK", "45", &[], &[], "20 12 34 56", "20 12 34 56"),
    info("SE", "46", ZERO, &[], "070 123 45 67", "70 123 45 67"),
    info("FI", "358", ZERO, &[], "040 1234567", "40 1234567"),
    info("NO", "47", &[], &[], "412 34 567", "412 34 567"),
    info("IS", "354", &[], &[], "611 1234", "611 1234"),
    info("PL", "48", &[], &[], "512 345 678", "512 345 678"),
    info("CZ", "420", &[], &[], "601 123 456", "601 123 456"),
    info("SK", "421", ZERO, &[], "0912 123 456", "912 123 456"),
    info("HU", "36", &["06"], &[], "06 30 123 4567", "30 123 4567"),
    info("SI", "386", ZERO, &[], "031 234 567", "31 234 567"),
    info("HR", "385", ZERO, &[], "091 234 5678", "91 234 5678"),
    info("RO", "40", ZERO, &[], "0712 345 678", "712 345 678"),
    info("BG", "359", ZERO, &[], "087 123 4567", "87 123 4567"),
    info("GR", "30", &[], &[], "691 234 5678", "691 234 5678"),
    info("CY", "357", &[], &[], "96 123456", "96 123456"),
    info("MT", "356", &[], &[], "9912 3456", "9912 3456"),
    info("EE", "372", &[], &[], "5123 4567", "5123 4567"),
    info("LV", "371", &[], &[], "2123 4567", "2123 4567"),
    // Lithuania moved its trunk prefix from 8 to 0; both are in use.
    info("LT", "370", &["8", "0"], &[], "8 612 34567", "612 34567"),
    nanp("US", "201 555 0123"),
    nanp("CA", "416 555 0123"),
];

/// The default country for phone numbers written without a country code:
/// its ISO 3166 code, calling code and trunk prefix. The Netherlands
/// unless told otherwise.
///
/// National numbers in running text (not in a phone column, not typed by
/// a user) are taken only for countries whose national numbers have a
/// fixed length: NL (10 digits with the 0), BE (9 or 10), FR (10), GB
/// (11), CH (10). For the others only numbers with a country code are
/// found in text.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Country {
    info: &'static CountryInfo,
}

impl Default for Country {
    fn default() -> Self {
        Country {
            info: &COUNTRIES[0],
        }
    }
}

impl Country {
    /// A two-letter ISO 3166 code, in either case (`UK` is taken for GB).
    ///
    /// # Errors
    ///
    /// A code kluis has no phone rules for, with the codes it has.
    pub fn parse(code: &str) -> Result<Country, String> {
        let wanted = code.trim().to_ascii_uppercase();
        let wanted = if wanted == "UK" { "GB" } else { &wanted };
        match COUNTRIES.iter().find(|c| c.code == wanted) {
            Some(info) => Ok(Country { info }),
            None => {
                let codes: Vec<&str> = COUNTRIES.iter().map(|c| c.code).collect();
                Err(format!(
                    "{code:?} is not a country kluis knows phone numbers of: give one of {}",
                    codes.join(", ")
                ))
            }
        }
    }

    /// The ISO 3166 code: `NL`.
    pub fn code(&self) -> &str {
        self.info.code
    }

    /// The calling code without `+`: `31`.
    pub fn calling_code(&self) -> &str {
        self.info.calling
    }

    /// Lengths a national number in running text must have; empty: none
    /// are taken.
    pub(crate) fn scan_lengths(&self) -> &'static [usize] {
        self.info.scan_lengths
    }

    /// The accepted forms, for error messages.
    fn phone_forms(&self) -> String {
        let i = self.info;
        if i.nanp {
            format!(
                "give it with its country code (+1 {}, +44 20 7946 0000) or as a national \
                 number ({}, 1 {}) of the default country {}",
                i.international, i.national, i.national, i.code
            )
        } else {
            format!(
                "give it with its country code (+{cc} {n}, 00{cc} {n}) or as a national \
                 number ({}) of the default country {}",
                i.national,
                i.code,
                cc = i.calling,
                n = i.international
            )
        }
    }
}

/// Calling codes the ITU assigned (E.164), no one a prefix of another.
const CALLING_CODES: &[&str] = &[
    "1", "20", "211", "212", "213", "216", "218", "220", "221", "222", "223", "224", "225", "226",
    "227", "228", "229", "230", "231", "232", "233", "234", "235", "236", "237", "238", "239",
    "240", "241", "242", "243", "244", "245", "246", "247", "248", "249", "250", "251", "252",
    "253", "254", "255", "256", "257", "258", "260", "261", "262", "263", "264", "265", "266",
    "267", "268", "269", "27", "290", "291", "297", "298", "299", "30", "31", "32", "33", "34",
    "350", "351", "352", "353", "354", "355", "356", "357", "358", "359", "36", "370", "371",
    "372", "373", "374", "375", "376", "377", "378", "379", "380", "381", "382", "383", "385",
    "386", "387", "389", "39", "40", "41", "420", "421", "423", "43", "44", "45", "46", "47", "48",
    "49", "500", "501", "502", "503", "504", "505", "506", "507", "508", "509", "51", "52", "53",
    "54", "55", "56", "57", "58", "590", "591", "592", "593", "594", "595", "596", "597", "598",
    "599", "60", "61", "62", "63", "64", "65", "66", "670", "672", "673", "674", "675", "676",
    "677", "678", "679", "680", "681", "682", "683", "685", "686", "687", "688", "689", "690",
    "691", "692", "7", "800", "808", "81", "82", "84", "850", "852", "853", "855", "856", "86",
    "870", "878", "880", "881", "882", "883", "886", "888", "90", "91", "92", "93", "94", "95",
    "960", "961", "962", "963", "964", "965", "966", "967", "968", "970", "971", "972", "973",
    "974", "975", "976", "977", "979", "98", "992", "993", "994", "995", "996", "998",
];

/// For each number's first three digits, the length of the calling code
/// they start with (0: none): [`CALLING_CODES`] as a table.
static CALLING_CODE_LENGTH: [u8; 1000] = {
    let mut table = [0u8; 1000];
    let mut i = 0;
    while i < CALLING_CODES.len() {
        let code = CALLING_CODES[i].as_bytes();
        let mut value = 0;
        let mut j = 0;
        while j < code.len() {
            value = value * 10 + (code[j] - b'0') as usize;
            j += 1;
        }
        let mut span = 1;
        while j < 3 {
            value *= 10;
            span *= 10;
            j += 1;
        }
        let mut k = 0;
        while k < span {
            table[value + k] = code.len() as u8;
            k += 1;
        }
        i += 1;
    }
    table
};

/// The digits after the country code, for the countries whose numbers all
/// have one length (or two).
fn subscriber_lengths(calling: &[u8]) -> Option<(usize, usize)> {
    Some(match calling {
        b"1" => (10, 10),
        b"30" => (10, 10),
        b"31" => (9, 9),
        b"32" => (8, 9),
        b"33" | b"34" | b"351" | b"41" | b"48" => (9, 9),
        b"44" => (9, 10),
        b"45" | b"47" => (8, 8),
        _ => return None,
    })
}

/// `digits` (country code first, no `+`) as E.164, or why not.
pub(crate) fn check_international(digits: &[u8]) -> Result<String, Cow<'static, str>> {
    if !digits.iter().all(u8::is_ascii_digit) {
        return Err("it holds a character phone numbers do not have".into());
    }
    if digits.len() < 8 {
        return Err("it has too few digits".into());
    }
    if digits.len() > 15 {
        return Err("it has more than 15 digits".into());
    }
    let first3 = digits[..3]
        .iter()
        .fold(0, |n, &d| n * 10 + usize::from(d - b'0'));
    let cc = match CALLING_CODE_LENGTH[first3] {
        0 => {
            return Err(format!(
                "no country has calling code +{}",
                String::from_utf8_lossy(&digits[..3])
            )
            .into());
        }
        n => &digits[..usize::from(n)],
    };
    let rest = digits.len() - cc.len();
    if let Some((low, high)) = subscriber_lengths(cc)
        && !(low..=high).contains(&rest)
    {
        let cc = String::from_utf8_lossy(cc);
        let want = if low == high {
            low.to_string()
        } else {
            format!("{low} or {high}")
        };
        return Err(
            format!("numbers with +{cc} have {want} digits after it, this one {rest}").into(),
        );
    }
    let mut out = String::with_capacity(digits.len() + 1);
    out.push('+');
    out.extend(digits.iter().map(|&d| char::from(d)));
    Ok(out)
}

/// Digits as written (no separators), after a `+` or not, as E.164.
pub(crate) fn to_e164(
    plus: bool,
    digits: &[u8],
    country: &Country,
) -> Result<String, Cow<'static, str>> {
    let info = country.info;
    if plus {
        return check_international(digits);
    }
    if let Some(rest) = digits.strip_prefix(b"00") {
        return check_international(rest);
    }
    if info.nanp
        && let Some(rest) = digits.strip_prefix(b"011")
    {
        return check_international(rest);
    }
    let national: &[u8] = if info.nanp {
        match digits {
            [b'1', rest @ ..] if rest.len() == 10 => rest,
            _ if digits.len() == 10 => digits,
            _ => {
                return Err(format!(
                    "a national number in {} has 10 digits, or 11 starting with 1",
                    info.code
                )
                .into());
            }
        }
    } else if info.trunks.is_empty() {
        digits
    } else {
        match info
            .trunks
            .iter()
            .find_map(|t| digits.strip_prefix(t.as_bytes()))
        {
            Some(rest) => rest,
            None => {
                return Err(format!(
                    "without a country code it is a number in {}, and those start with {}",
                    info.code, info.trunks[0]
                )
                .into());
            }
        }
    };
    let mut all = Vec::with_capacity(info.calling.len() + national.len());
    all.extend_from_slice(info.calling.as_bytes());
    all.extend_from_slice(national);
    check_international(&all)
}

/// The normal form of a phone number as a user or a phone column writes
/// it.
pub(crate) fn phone_normal(text: &str, country: &Country) -> Result<String, Cow<'static, str>> {
    let mut t = text.trim();
    if let Some(rest) = strip_prefix_ci(t, "tel:") {
        t = rest.trim_start();
    }
    if t.chars().any(char::is_alphabetic) {
        return Err("it has letters".into());
    }
    let (plus, body) = match t.strip_prefix('+') {
        Some(rest) => (true, rest),
        None => (false, t),
    };
    let mut digits: Vec<u8> = Vec::with_capacity(16);
    let mut zero_dropped = false;
    let mut chars = body.char_indices();
    while let Some((at, c)) = chars.next() {
        if c.is_ascii_digit() {
            digits.push(c as u8);
        } else if c == '('
            && !zero_dropped
            && (plus || digits.starts_with(b"00"))
            && !digits.is_empty()
            && body[at..].starts_with("(0)")
        {
            // "+31 (0)6": the trunk 0 that callers from abroad leave out.
            zero_dropped = true;
            chars.nth(1);
        } else if !(c.is_whitespace() || matches!(c, '.' | '-' | '/' | '(' | ')')) {
            return Err(format!("it holds {c:?}, which phone numbers do not have").into());
        }
        if digits.len() > 20 {
            return Err("it has more than 15 digits".into());
        }
    }
    if digits.is_empty() {
        return Err("it has no digits".into());
    }
    to_e164(plus, &digits, country)
}

// ---------------------------------------------------------------------------
// IBANs

/// The length of the country's IBANs (SWIFT IBAN registry), if known.
pub(crate) fn iban_length(country: &[u8]) -> Option<usize> {
    Some(match country {
        b"NO" => 15,
        b"BE" => 16,
        b"DK" | b"FI" | b"FO" | b"GL" | b"NL" => 18,
        b"MK" | b"SI" => 19,
        b"AT" | b"BA" | b"EE" | b"KZ" | b"LT" | b"LU" | b"XK" => 20,
        b"CH" | b"HR" | b"LI" | b"LV" => 21,
        b"BG" | b"BH" | b"CR" | b"DE" | b"GB" | b"GE" | b"IE" | b"ME" | b"RS" | b"VA" => 22,
        b"AE" | b"GI" | b"IL" | b"IQ" | b"TL" => 23,
        b"AD" | b"CZ" | b"ES" | b"MD" | b"PK" | b"RO" | b"SA" | b"SE" | b"SK" | b"TN" | b"VG" => 24,
        b"PT" | b"ST" => 25,
        b"IS" | b"TR" => 26,
        b"FR" | b"GR" | b"IT" | b"MC" | b"MR" | b"SM" => 27,
        b"AL" | b"AZ" | b"BY" | b"CY" | b"DO" | b"GT" | b"HU" | b"LB" | b"PL" | b"SV" => 28,
        b"BR" | b"EG" | b"PS" | b"QA" | b"UA" => 29,
        b"JO" | b"KW" | b"MU" => 30,
        b"MT" | b"SC" => 31,
        b"LC" => 32,
        _ => return None,
    })
}

/// The ISO 7064 mod-97 check of an IBAN of ASCII letters and digits,
/// upper-case: the country and check digits moved to the end, letters
/// read as 10..=35, the whole a number whose remainder by 97 is 1.
pub(crate) fn iban_checks(iban: &[u8]) -> bool {
    if iban.len() < 5 {
        return false;
    }
    let (head, bban) = iban.split_at(4);
    let mut r: u32 = 0;
    for &c in bban.iter().chain(head) {
        r = match c {
            b'0'..=b'9' => (r * 10 + u32::from(c - b'0')) % 97,
            b'A'..=b'Z' => (r * 100 + u32::from(c - b'A') + 10) % 97,
            _ => return false,
        };
    }
    r == 1
}

/// The normal form of an IBAN as a user or an IBAN column writes it.
pub(crate) fn iban_normal(text: &str) -> Result<String, Cow<'static, str>> {
    let mut t = text.trim();
    if let Some(rest) = strip_prefix_ci(t, "iban")
        && rest.starts_with([':', ' '])
    {
        t = rest.trim_start_matches([':', ' ']);
    }
    let iban: String = t
        .chars()
        .filter(|c| !c.is_whitespace())
        .map(|c| c.to_ascii_uppercase())
        .collect();
    let b = iban.as_bytes();
    if !b.iter().all(u8::is_ascii_alphanumeric) {
        return Err("only letters, digits and spaces belong in it".into());
    }
    if b.len() < 4
        || !b[..2].iter().all(u8::is_ascii_uppercase)
        || !b[2..4].iter().all(u8::is_ascii_digit)
    {
        return Err("it must start with the two letters of a country and two check digits".into());
    }
    match iban_length(&b[..2]) {
        Some(n) if n != b.len() => {
            return Err(format!(
                "an IBAN from {} has {n} characters, this one {}",
                &iban[..2],
                b.len()
            )
            .into());
        }
        None if !(15..=34).contains(&b.len()) => {
            return Err("an IBAN has 15 to 34 characters".into());
        }
        _ => {}
    }
    if !iban_checks(b) {
        return Err("its check digits do not match the rest: is it typed right?".into());
    }
    Ok(iban)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nl() -> Country {
        Country::default()
    }

    fn phone(text: &str, country: &str) -> Result<String, String> {
        match Identifier::parse_phone(text, &Country::parse(country).unwrap()) {
            Ok(Identifier::Phone(p)) => Ok(p),
            Ok(other) => panic!("{other:?}"),
            Err(e) => Err(e),
        }
    }

    #[test]
    fn emails_in_their_many_spellings() {
        for text in [
            "jan@example.nl",
            "  Jan@Example.NL ",
            "JAN@EXAMPLE.NL",
            "mailto:jan@example.nl",
            "MAILTO:Jan@example.nl?subject=Hallo",
            "<jan@example.nl>",
            "Jan Jansen <jan@example.nl>",
            "\"Jansen, Jan\" <Jan@Example.nl>",
            "<mailto:jan@example.nl>",
        ] {
            assert_eq!(
                Identifier::parse_email(text),
                Ok(Identifier::Email("jan@example.nl".into())),
                "{text}"
            );
        }
        for good in [
            "o'brien@example.ie",
            "jan+shop@example.nl",
            "a.b-c_d@mail.example.co.uk",
            "x@xn--bcher-kva.example",
        ] {
            assert!(Identifier::parse_email(good).is_ok(), "{good}");
        }
    }

    #[test]
    fn bad_emails_are_refused_with_the_forms() {
        for bad in [
            "",
            "jan",
            "jan@",
            "@example.nl",
            "jan@@example.nl",
            "a@b@example.nl",
            "jan@example",
            "jan@example.1",
            "jan@-example.nl",
            "jan@example..nl",
            ".jan@example.nl",
            "jan..jansen@example.nl",
            "jan jansen@example.nl",
            "\"jan jansen\"@example.nl",
            "jös@example.de",
        ] {
            let e = Identifier::parse_email(bad).unwrap_err();
            assert!(
                e.starts_with(&format!("{bad:?} is not an e-mail address (")),
                "{e}"
            );
            assert!(e.contains("name@example.nl"), "{e}");
        }
        let long = format!("{}@example.nl", "a".repeat(65));
        assert!(Identifier::parse_email(&long).is_err());
    }

    #[test]
    fn phones_in_their_many_spellings() {
        let cases = [
            ("+31 (0)6-1234 5678", "NL", "+31612345678"),
            ("+31 6 12345678", "NL", "+31612345678"),
            ("+31612345678", "NL", "+31612345678"),
            ("0031612345678", "NL", "+31612345678"),
            ("0031 (0)6 12345678", "NL", "+31612345678"),
            ("06 12345678", "NL", "+31612345678"),
            ("06-12345678", "NL", "+31612345678"),
            ("(06) 12 34 56 78", "NL", "+31612345678"),
            ("06.12.34.56.78", "NL", "+31612345678"),
            ("tel:+31-6-12345678", "NL", "+31612345678"),
            ("020 / 123 45 67", "NL", "+31201234567"),
            ("+32 470 12 34 56", "NL", "+32470123456"),
            ("0470 12 34 56", "BE", "+32470123456"),
            ("02 123 45 67", "BE", "+3221234567"),
            ("+49 30 1234567", "NL", "+49301234567"),
            ("0049 (0)30 1234567", "NL", "+49301234567"),
            ("030 1234567", "DE", "+49301234567"),
            ("06 12 34 56 78", "FR", "+33612345678"),
            ("07700 900123", "GB", "+447700900123"),
            ("612 34 56 78", "ES", "+34612345678"),
            ("06 1234 5678", "IT", "+390612345678"),
            ("06 30 123 4567", "HU", "+36301234567"),
            ("(201) 555-0123", "US", "+12015550123"),
            ("1 201 555 0123", "US", "+12015550123"),
            ("011 31 6 12345678", "US", "+31612345678"),
            ("+1 416 555 0123", "NL", "+14165550123"),
        ];
        for (text, country, want) in cases {
            assert_eq!(
                phone(text, country),
                Ok(want.to_string()),
                "{text} in {country}"
            );
        }
    }

    #[test]
    fn bad_phones_are_refused_naming_the_accepted_forms() {
        let e = phone("06-1234", "NL").unwrap_err();
        assert!(e.starts_with("\"06-1234\" is not a phone number ("), "{e}");
        assert!(
            e.ends_with(
                "give it with its country code (+31 6 12345678, 0031 6 12345678) or as a \
                 national number (06 12345678) of the default country NL"
            ),
            "{e}"
        );
        for bad in [
            "",
            "06-1234",
            "612345678",
            "0612345678x12",
            "call 0612345678",
            "+31 6 1234567",
            "+31 6 123456789",
            "+999 12345678",
            "+1 555 0123",
            "+31 6 12345678 ext. 5",
            "06 12345678 + 1",
            "1234567890123456789012",
        ] {
            assert!(phone(bad, "NL").is_err(), "{bad}");
        }
        let e = phone("555-0123", "US").unwrap_err();
        assert!(e.contains("+1 201 555 0123"), "{e}");
        assert!(e.contains("of the default country US"), "{e}");
    }

    #[test]
    fn ibans_with_and_without_spaces() {
        for text in [
            "NL91ABNA0417164300",
            "NL91 ABNA 0417 1643 00",
            "nl91 abna 0417 1643 00",
            " NL91ABNA 0417164300 ",
            "IBAN NL91 ABNA 0417 1643 00",
            "IBAN: NL91ABNA0417164300",
        ] {
            assert_eq!(
                Identifier::parse_iban(text),
                Ok(Identifier::Iban("NL91ABNA0417164300".into())),
                "{text}"
            );
        }
        for good in [
            "BE68 5390 0754 7034",
            "DE89 3704 0044 0532 0130 00",
            "FR14 2004 1010 0505 0001 3M02 606",
            "GB29 NWBK 6016 1331 9268 19",
            "NO93 8601 1117 947",
            "PL61 1090 1014 0000 0712 1981 2874",
        ] {
            assert!(Identifier::parse_iban(good).is_ok(), "{good}");
        }
    }

    #[test]
    fn bad_ibans_are_refused_with_the_reason() {
        let e = Identifier::parse_iban("NL91 ABNA 0417 1643 01").unwrap_err();
        assert!(e.contains("check digits do not match"), "{e}");
        assert!(e.contains("NL91 ABNA 0417 1643 00"), "{e}");
        let e = Identifier::parse_iban("NL91 ABNA 0417 1643 0").unwrap_err();
        assert!(
            e.contains("an IBAN from NL has 18 characters, this one 17"),
            "{e}"
        );
        for bad in [
            "",
            "NL",
            "91NL",
            "NL91-ABNA-0417-1643-00",
            "NLAB ABNA 0417 1643 00",
        ] {
            assert!(Identifier::parse_iban(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn ids() {
        assert_eq!(
            Identifier::parse_id(" Customer_No = K017807 "),
            Ok(Identifier::Id {
                name: "customer_no".into(),
                value: "K017807".into()
            })
        );
        assert_eq!(
            Identifier::parse_id("ref=a=b"),
            Ok(Identifier::Id {
                name: "ref".into(),
                value: "a=b".into()
            })
        );
        for bad in [
            "K017807",
            "=K017807",
            "customer_no=",
            "customer_no= ",
            "a=b\nc",
        ] {
            let e = Identifier::parse_id(bad).unwrap_err();
            assert!(e.contains("NAME=VALUE"), "{e}");
        }
        assert!(Identifier::parse_id(&format!("n={}", "x".repeat(257))).is_err());
    }

    #[test]
    fn keys_round_trip_and_nothing_else_parses() {
        let ids = [
            Identifier::parse_email("Jan <Jan@Example.nl>").unwrap(),
            Identifier::parse_phone("06 12345678", &nl()).unwrap(),
            Identifier::parse_iban("nl91 abna 0417 1643 00").unwrap(),
            Identifier::parse_id("Customer_No=K017807").unwrap(),
            Identifier::parse_id("note=a:b=c").unwrap(),
        ];
        let keys: Vec<String> = ids.iter().map(Identifier::key).collect();
        assert_eq!(
            keys[..4],
            [
                "email:jan@example.nl",
                "phone:+31612345678",
                "iban:NL91ABNA0417164300",
                "id:customer_no=K017807"
            ]
        );
        for (id, key) in ids.iter().zip(&keys) {
            assert_eq!(Identifier::from_key(key).as_ref(), Ok(id), "{key}");
        }
        for bad in [
            "",
            "jan@example.nl",
            "email:Jan@example.nl",
            "email:",
            "phone:0612345678",
            "phone:+31 6 12345678",
            "phone:31612345678",
            "iban:NL91 ABNA 0417 1643 00",
            "iban:NL91ABNA0417164301",
            "id:Customer_No=K017807",
            "id:customer_no= K017807",
            "id:customer_no",
            "name:jan",
        ] {
            let e = Identifier::from_key(bad).unwrap_err();
            assert!(e.contains("email:ADDRESS"), "{e}");
        }
    }

    #[test]
    fn labels_and_display() {
        let iban = Identifier::Iban("NL91ABNA0417164300".into());
        assert_eq!(iban.display(), "NL91 ABNA 0417 1643 00");
        assert_eq!(iban.kind_label(), "IBAN");
        let id = Identifier::parse_id("customer_no=K017807").unwrap();
        assert_eq!(id.kind_label(), "customer_no");
        assert_eq!(id.display(), "K017807");
        assert_eq!(
            Identifier::Email("a@b.nl".into()).kind_label(),
            "e-mail address"
        );
        assert_eq!(
            Identifier::Phone("+31612345678".into()).kind_label(),
            "phone number"
        );
        assert_eq!(
            Identifier::Phone("+31612345678".into()).display(),
            "+31612345678"
        );
    }

    #[test]
    fn countries() {
        assert_eq!(Country::default().code(), "NL");
        assert_eq!(Country::parse("be").unwrap().calling_code(), "32");
        assert_eq!(Country::parse("UK").unwrap().code(), "GB");
        assert_eq!(Country::parse(" us ").unwrap().calling_code(), "1");
        let e = Country::parse("XX").unwrap_err();
        assert!(e.contains("NL, BE, DE"), "{e}");
        // Every example in the table is a number by its own country's rules.
        for info in COUNTRIES {
            let c = Country { info };
            let national = phone_normal(info.national, &c);
            let international =
                phone_normal(&format!("+{} {}", info.calling, info.international), &c);
            assert!(national.is_ok(), "{}: {national:?}", info.code);
            assert_eq!(national, international, "{}", info.code);
        }
        // The calling codes are prefix-free, and the table says which
        // starts each number.
        for a in CALLING_CODES {
            for b in CALLING_CODES {
                assert!(a == b || !b.starts_with(a), "{a} {b}");
            }
        }
        for (first3, &length) in CALLING_CODE_LENGTH.iter().enumerate() {
            let digits = format!("{first3:03}");
            let want = CALLING_CODES
                .iter()
                .find(|c| digits.starts_with(*c))
                .map_or(0, |c| c.len());
            assert_eq!(usize::from(length), want, "{digits}");
        }
    }

    #[test]
    fn iban_lengths_are_known_for_the_sepa_countries() {
        for (cc, n) in [
            ("NL", 18),
            ("BE", 16),
            ("DE", 22),
            ("FR", 27),
            ("GB", 22),
            ("ES", 24),
            ("IT", 27),
            ("LU", 20),
            ("AT", 20),
            ("CH", 21),
            ("IE", 22),
            ("PT", 25),
            ("DK", 18),
            ("FI", 18),
            ("SE", 24),
            ("NO", 15),
            ("PL", 28),
        ] {
            assert_eq!(iban_length(cc.as_bytes()), Some(n), "{cc}");
        }
    }
}
