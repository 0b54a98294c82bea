//! Helpers and sample inputs shared by the scanner's unit tests: feeding a
//! scanner in pieces, reading back what it found, and an mbox, a CSV table
//! and a JSON Lines table that hold identifiers of every kind.

use super::{Found, Mode, Scanner, Settings};
use crate::subjects::identify::Country;

pub(super) fn settings(country: &str, ids: &[&str]) -> Settings {
    Settings {
        country: Country::parse(country).unwrap(),
        id_columns: ids.iter().map(|s| s.to_string()).collect(),
    }
}

/// Feeds `input` in the pieces that `cuts` (ascending offsets) make.
pub(super) fn scan_cut(
    mode: Mode,
    settings: &Settings,
    input: &[u8],
    cuts: &[usize],
) -> Vec<Found> {
    let mut scanner = Scanner::new(mode, settings);
    let mut found = Vec::new();
    let mut from = 0;
    for &cut in cuts.iter().chain([&input.len()]) {
        scanner.feed(&input[from..cut], &mut |f| found.push(f));
        from = cut;
    }
    scanner.finish(&mut |f| found.push(f));
    found
}

pub(super) fn scan_with(mode: Mode, settings: &Settings, input: &str) -> Vec<Found> {
    scan_cut(mode, settings, input.as_bytes(), &[])
}

pub(super) fn scan(mode: Mode, input: &str) -> Vec<Found> {
    scan_with(mode, &Settings::default(), input)
}

/// The keys found, sorted.
pub(super) fn keys(found: &[Found]) -> Vec<String> {
    let mut keys: Vec<String> = found.iter().map(|f| f.id.key()).collect();
    keys.sort();
    keys
}

/// "row key" for each found, sorted.
pub(super) fn rows(found: &[Found]) -> Vec<String> {
    let mut out: Vec<String> = found
        .iter()
        .map(|f| format!("{} {}", f.row.unwrap_or(0), f.id.key()))
        .collect();
    out.sort();
    out
}

/// Filler of words, no identifiers, `len` bytes.
pub(super) fn filler(len: usize) -> Vec<u8> {
    b"lorem ipsum dolor sit amet, "
        .iter()
        .copied()
        .cycle()
        .take(len)
        .collect()
}

pub(super) const MBOX: &str = "From jan@example.nl Mon Jan  1 10:00:00 2024\n\
    From: \"Jansen, Jan\" <Jan@Example.NL>\n\
    To: piet@example.be (Piet), Team: a@example.org,\n\
    \t b@example.org;, <@relay.example:c@example.org>\n\
    Cc:\n  Klaas\n   <klaas@example.de>\n\
    Message-ID: <1234.5678@mail.example.nl>\n\
    Subject: bel me: +31 6 12345678\n\
    \n\
    Hallo, mijn IBAN is NL91ABNA0417164300.\n\
    >From the archive\n\
    \n\
    From anna@example.fr Tue Jan  2 10:00:00 2024\n\
    From: Anna <anna@example.fr>\n\
    Reply-To: undisclosed-recipients:;\n\
    Bcc: Broken Name kees@example.nl\n\
    \n\
    From here on, body text: marie@example.fr\n";

pub(super) const CSV: &str = "\u{FEFF}klantnr;Naam;E-mail;Telefoon;IBAN;Opmerking\r\n\
    K001;\"Jansen; Jan\";Jan@Example.nl;030 123 4567;nl91 abna 0417 1643 00;\"bel 06-12345678\n\
    of mail \"\"jan@work.example\"\"\"\r\n\
    \r\n\
    K002;Piet;;;;\r\n\
    K001;Jan;jan@example.nl;;;NULL\r\n\
    ;;niet-een-adres;12;NL00;\"x\"\n";

pub(super) const JSONL: &str = "{\"customer_no\": \"K017807\", \"email\": \"Jan@Example.nl\", \"note\": \"tel 06-12345678\"}\n\
    \n\
    {\"customer_no\": 42, \"nested\": {\"customer_no\": \"X1\"}, \"phone\": \"+32 470 12 34 56\"}\r\n\
    {\"cust\\u006fmer_no\":\"K\\u00e9\",\"a\":[1,{\"b\":\"c\"}],\"customer_no\":null}\n\
    [\"customer_no\", \"K9\"]\n\
    {\"customer_no\": true, \"x\": \"piet@example.be\"}";
