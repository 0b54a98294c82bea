//! Phone numbers: the default countries kluis knows (calling code, trunk
//! prefixes, national lengths and examples), the calling codes the ITU
//! assigned, and the E.164 normal form of a number as a user, a phone
//! column or running text writes it.

use std::borrow::Cow;

use super::strip_prefix_ci;

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
    pub(super) fn phone_forms(&self) -> String {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::subjects::identify::Identifier;

    fn phone(text: &str, country: &str) -> Result<String, String> {
        match Identifier::parse_phone(text, &Country::parse(country).unwrap()) {
            Ok(Identifier::Phone(p)) => Ok(p),
            Ok(other) => panic!("{other:?}"),
            Err(e) => Err(e),
        }
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
}
