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
//!
//! This file holds [`Identifier`] and the rules for ids; the rules for
//! each of the other kinds have a file of their own: `email`, `phone`
//! (with the default [`Country`]) and `iban`.

mod email;
mod iban;
mod phone;

pub(crate) use email::{MAX_DOMAIN, MAX_LOCAL, check_email, email_normal, is_domain_byte};
pub(crate) use iban::{iban_checks, iban_length, iban_normal};
pub use phone::Country;
pub(crate) use phone::{check_international, phone_normal, to_e164};

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

/// `prefix` at the start of `text`, in any case: the rest.
fn strip_prefix_ci<'a>(text: &'a str, prefix: &str) -> Option<&'a str> {
    let head = text.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| &text[prefix.len()..])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nl() -> Country {
        Country::default()
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
}
