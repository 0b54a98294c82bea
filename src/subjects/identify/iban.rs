//! IBANs: the length of each country's IBANs (SWIFT IBAN registry), the
//! ISO 7064 mod-97 check, and the normal form of an IBAN as a user or an
//! IBAN column writes it.

use std::borrow::Cow;

use super::strip_prefix_ci;

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
    // The number the characters spell, modulo 97: reduced only when it
    // grows past 2^56, where one more step cannot overflow (a division per
    // character was most of the time of scanning a bank statement).
    let mut r: u64 = 0;
    for &c in bban.iter().chain(head) {
        r = match c {
            b'0'..=b'9' => r * 10 + u64::from(c - b'0'),
            b'A'..=b'Z' => r * 100 + u64::from(c - b'A') + 10,
            _ => return false,
        };
        if r >= 1 << 56 {
            r %= 97;
        }
    }
    r % 97 == 1
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
    use crate::subjects::identify::Identifier;

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
