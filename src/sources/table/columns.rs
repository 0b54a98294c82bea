//! Sensitive-looking column names: the lists (kept in step with
//! docs/TABLES.md) and the word-splitting match that makes a column one the
//! user must drop or keep on purpose.

/// Found anywhere in a column name once it is lowercased and its separators
/// (`_`, `-`, spaces, camelCase humps) are removed. docs/TABLES.md lists the
/// same; keep them in step.
pub const SENSITIVE_PHRASES: &[&str] = &[
    // credentials
    "password",
    "passwd",
    "passphrase",
    "wachtwoord",
    "passwort",
    "hash",
    "token",
    "secret",
    "apikey",
    "privatekey",
    // birth dates
    "birthdate",
    "dateofbirth",
    "birthday",
    "geboortedatum",
    "geboortedag",
    "geburtsdatum",
    // national identification numbers
    "socialsecurity",
    "burgerservicenummer",
    "sofinummer",
    "nationalinsurance",
    "nationalid",
    "identitycard",
    "identiteitskaart",
    "passport",
    "paspoort",
    "documentnumber",
    "documentnummer",
    "driverslicense",
    "driverlicense",
    "rijbewijs",
    // payment cards (IBAN is not here: bookkeeping needs it)
    "creditcard",
    "cardnumber",
    "kaartnummer",
    "securitycode",
];

/// Found where a word of a column name starts (`id_number`, `IdCard`, but
/// not `paid_number`).
pub const SENSITIVE_WORD_STARTS: &[&str] = &["idnumber", "idnummer", "idnr", "idcard", "pincode"];

/// Matched as a whole word of a column name.
pub const SENSITIVE_WORDS: &[&str] = &[
    "bsn", "ssn", "dob", "pin", "pwd", "pw", "otp", "salt", "cvv", "cvc", "cvv2", "nin", "sofi",
];

/// The words of a column name, lowercased: split at anything that is not a
/// letter or digit and between a lowercase letter or digit and an
/// uppercase letter (`birthDate` → `birth`, `date`).
fn words(name: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut word = String::new();
    let mut prev_lower = false;
    for c in name.chars() {
        if !c.is_alphanumeric() {
            if !word.is_empty() {
                out.push(std::mem::take(&mut word));
            }
            prev_lower = false;
            continue;
        }
        if c.is_uppercase() && prev_lower && !word.is_empty() {
            out.push(std::mem::take(&mut word));
        }
        prev_lower = c.is_lowercase() || c.is_ascii_digit();
        word.extend(c.to_lowercase());
    }
    if !word.is_empty() {
        out.push(word);
    }
    out
}

/// Whether a column name looks like data no retention duty covers
/// (passwords, birth dates, national id numbers, card data, …), which
/// must then be dropped or kept on purpose.
pub fn looks_sensitive(column: &str) -> bool {
    let words = words(column);
    let joined = words.concat();
    let mut starts = Vec::with_capacity(words.len());
    let mut at = 0;
    for w in &words {
        starts.push(at);
        at += w.len();
    }
    words.iter().any(|w| SENSITIVE_WORDS.contains(&w.as_str()))
        || SENSITIVE_PHRASES.iter().any(|p| joined.contains(p))
        || starts.iter().any(|&s| {
            SENSITIVE_WORD_STARTS
                .iter()
                .any(|p| joined[s..].starts_with(p))
        })
}

/// Contact and tracking data, found anywhere in a column name (as
/// [`SENSITIVE_PHRASES`]): sensitive-looking in live databases, which hold a
/// shop's whole customer relation (docs/DATABASES.md), though not in
/// exports, whose invoices need the customer's address.
pub const CONTACT_PHRASES: &[&str] = &[
    "email",
    "phone",
    "telefoon",
    "telefon",
    "address",
    "adres",
    "street",
    "straat",
    "useragent",
    "ipaddress",
];

/// Contact and tracking data matched as a whole word.
pub const CONTACT_WORDS: &[&str] = &["ip", "mail", "mobile", "mobiel", "gsm", "tel"];

/// [`looks_sensitive`], or contact and tracking data: what a live
/// database's columns must have decided.
pub fn looks_personal(column: &str) -> bool {
    if looks_sensitive(column) {
        return true;
    }
    let words = words(column);
    let joined = words.concat();
    words.iter().any(|w| CONTACT_WORDS.contains(&w.as_str()))
        || CONTACT_PHRASES.iter().any(|p| joined.contains(p))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn contact_and_tracking_columns_are_personal_in_databases() {
        for name in [
            "billing_email",
            "customer_email_address",
            "phone",
            "billing_phone",
            "ip_address",
            "customer_ip_address",
            "user_agent",
            "address_1",
            "street",
            "mobile",
            "password_hash",
        ] {
            assert!(looks_personal(name), "{name}");
        }
        for name in [
            "id",
            "order_id",
            "total",
            "city",
            "country",
            "status",
            "telling",
            "shipping_total",
        ] {
            assert!(!looks_personal(name), "{name}");
        }
        assert!(!looks_sensitive("billing_email"));
    }

    #[test]
    fn sensitive_names() {
        for name in [
            "password",
            "password_hash",
            "PasswordHash",
            "pwd",
            "Wachtwoord",
            "api-key",
            "apiKey",
            "API_KEY",
            "auth token",
            "client_secret",
            "salt",
            "birth_date",
            "birthDate",
            "Date of Birth",
            "dob",
            "DOB",
            "geboortedatum",
            "Geboorte datum",
            "bsn",
            "klant_bsn",
            "BSN-nummer",
            "ssn",
            "social_security_number",
            "passport_no",
            "id_number",
            "IdCard",
            "klant_idnr",
            "credit_card",
            "card_number",
            "cvv",
            "pin",
        ] {
            assert!(looks_sensitive(name), "{name} should look sensitive");
        }
        for name in [
            "iban",
            "IBAN",
            "order_id",
            "order_date",
            "email",
            "customer_name",
            "street",
            "total_eur",
            "vat_eur",
            "payment_method",
            "marketing_opt_in",
            "shipping",
            "opinion",
            "description",
            "card_last4",
            "bank_account",
            "paid_number",
            "pinned",
        ] {
            assert!(!looks_sensitive(name), "{name} should not look sensitive");
        }
        assert_eq!(
            words("birthDate of-X2Y"),
            ["birth", "date", "of", "x2", "y"]
        );
    }
}
