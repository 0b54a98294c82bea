//! What the two table modes share: the kind of a column (or top-level key)
//! by its name, e-mail, phone, IBAN, a customer number named in the
//! settings, or plain; and a typed column's whole value parsed as a user's
//! input would be.

use std::mem;

use super::Ctx;
use crate::subjects::identify::{Identifier, email_normal, iban_normal, id_normal, phone_normal};

/// The longest column name or value parsed whole.
pub(super) const MAX_VALUE: usize = 1024;

/// What a column's (or top-level key's) values are.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(super) enum ColumnKind {
    #[default]
    Plain,
    Email,
    Phone,
    Iban,
    /// Named in the settings: the index in `Ctx::id_columns`.
    Id(usize),
}

pub(super) fn column_kind(name: &str, ctx: &Ctx) -> ColumnKind {
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
pub(super) fn typed(kind: ColumnKind, text: &str, ctx: &Ctx) -> Option<Identifier> {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::subjects::identify::Country;

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
