//! E-mail addresses: the bytes and the shape an address may have (the
//! rules under "Normal forms" in the `identify` module documentation) and
//! the normal form of an address as a user or a mail header writes it.

use super::strip_prefix_ci;

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

/// Whether `address` is an address in the sense of the `identify` module
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

#[cfg(test)]
mod tests {
    use crate::subjects::identify::Identifier;

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
}
