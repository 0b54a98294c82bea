//! Running text, the mode every searched file is read in and the part of
//! every other mode that is not structure: a window that scans text of any
//! length in bounded memory, and the finding of e-mail addresses, IBANs and
//! phone numbers in it (the rules are in the `scan` module's docs).

use super::Sink;
use crate::subjects::identify::{self, Country, Identifier, MAX_DOMAIN, MAX_LOCAL};

/// Text is scanned this many bytes at a time.
pub(super) const WINDOW: usize = 64 * 1024;
/// More than the longest identifier as written (an e-mail address: 64 +
/// 1 + 253 bytes): windows overlap by this, and a match starting in one
/// window's last `OVERLAP` bytes is left to the next.
const OVERLAP: usize = 512;

/// Running text, buffered a window at a time. Windows overlap: a match is
/// given by the window it starts in, before the last `OVERLAP` bytes of a
/// full window; the next window keeps `2 * OVERLAP` bytes of the last, so
/// that what starts in the overlap is seen whole and with what precedes it.
#[derive(Default)]
pub(super) struct TextWindow {
    buf: Vec<u8>,
    /// E-mail addresses starting before this were given.
    emails_from: usize,
    /// Where the phone and IBAN search goes on (past the last match).
    main_from: usize,
}

impl TextWindow {
    pub(super) fn push(
        &mut self,
        mut bytes: &[u8],
        country: &Country,
        row: Option<u64>,
        sink: &mut Sink,
    ) {
        while !bytes.is_empty() {
            let take = (WINDOW - self.buf.len()).min(bytes.len());
            self.buf.extend_from_slice(&bytes[..take]);
            bytes = &bytes[take..];
            if self.buf.len() == WINDOW {
                let upto = WINDOW - OVERLAP;
                let next = scan_text(
                    &self.buf,
                    self.emails_from,
                    self.main_from,
                    upto,
                    country,
                    row,
                    sink,
                );
                let cut = WINDOW - 2 * OVERLAP;
                self.buf.drain(..cut);
                self.emails_from = upto - cut;
                self.main_from = next.max(upto) - cut;
            }
        }
    }

    /// Scans the rest: the end of the text.
    pub(super) fn flush(&mut self, country: &Country, row: Option<u64>, sink: &mut Sink) {
        let end = self.buf.len();
        scan_text(
            &self.buf,
            self.emails_from,
            self.main_from,
            end,
            country,
            row,
            sink,
        );
        self.buf.clear();
        self.emails_from = 0;
        self.main_from = 0;
    }
}

/// Bytes where a phone number may start, and the digits that are an IBAN's
/// check digits: the main loop stops at these only.
static STARTS: [bool; 256] = {
    let mut t = [false; 256];
    let mut c = b'0';
    while c <= b'9' {
        t[c as usize] = true;
        c += 1;
    }
    t[b'+' as usize] = true;
    t[b'(' as usize] = true;
    t
};

/// Gives the identifiers of `buf` that start in `from..to` (e-mail
/// addresses from `emails_from`, the others from `main_from`), looking
/// past `to` as far as they reach. Returns where the phone and IBAN search
/// stopped (`to`, or the end of a match that started before it).
pub(super) fn scan_text(
    buf: &[u8],
    emails_from: usize,
    main_from: usize,
    to: usize,
    country: &Country,
    row: Option<u64>,
    sink: &mut Sink,
) -> usize {
    let reach = (to + MAX_LOCAL + 1).min(buf.len());
    if emails_from < reach {
        for at in memchr::memchr_iter(b'@', &buf[emails_from..reach]) {
            if let Some((start, address)) = email_at(buf, emails_from + at)
                && (emails_from..to).contains(&start)
            {
                sink.put(Identifier::Email(address), row);
            }
        }
    }
    let mut i = main_from;
    loop {
        i = skip_to_candidate(buf, i, to);
        if i >= to {
            break;
        }
        let b = buf[i];
        if !STARTS[usize::from(b)] || (b.is_ascii_digit() && i > 0 && buf[i - 1].is_ascii_digit()) {
            i += 1;
            continue;
        }
        // An IBAN is anchored on its first check digit, after two letters
        // that start a word.
        let found = if i >= 2
            && buf[i - 1].is_ascii_alphabetic()
            && buf[i - 2].is_ascii_alphabetic()
            && word_starts(buf, i - 2)
        {
            iban_at(buf, i - 2)
        } else if (b == b'0' || !b.is_ascii_digit()) && number_starts(buf, i) {
            phone_at(buf, i, country).map(|(end, id)| (end, Some(id)))
        } else {
            None
        };
        match found {
            Some((end, id)) => {
                if let Some(id) = id {
                    sink.put(id, row);
                }
                i = end.max(i + 1);
            }
            None => i += 1,
        }
    }
    i
}

/// The first index from `i` (before `to`) that may start an identifier
/// the main loop looks for, eight bytes at a time: a `+`, a `(`, or a
/// digit that follows no digit (nothing starts inside a run of digits: an
/// IBAN's check digits follow two letters, a phone number follows no
/// letter or digit), or where fewer than eight bytes are left. Running
/// text and tables are mostly letters, spaces, punctuation and numbers,
/// which this passes without a branch per byte.
fn skip_to_candidate(buf: &[u8], mut i: usize, to: usize) -> usize {
    const ONES: u64 = u64::MAX / 255;
    const LOW7: u64 = ONES * 127;
    const HIGH: u64 = ONES * 128;
    // The high bit of each byte of `x` from `(` to `9` (Sean Anderson's
    // bit hacks, "determine if a word has a byte between m and n"): exact
    // per byte, as no step carries or borrows across bytes.
    const M: u64 = b'(' as u64 - 1;
    const N: u64 = b'9' as u64 + 1;
    // The high bit of each byte of `x` equal to `b`, exactly.
    fn equal(x: u64, b: u8) -> u64 {
        let y = x ^ (ONES * u64::from(b));
        !(((y & LOW7) + LOW7) | y) & HIGH
    }
    // Whether the byte before the word is a digit, as the high bit of its
    // first byte.
    let mut digit_before = if i > 0 && buf[i - 1].is_ascii_digit() {
        0x80
    } else {
        0
    };
    while i + 8 <= to {
        let x = u64::from_le_bytes(buf[i..i + 8].try_into().expect("eight bytes"));
        let low = x & LOW7;
        let near = (ONES * (127 + N)).wrapping_sub(low) & !x & (low + ONES * (127 - M)) & HIGH;
        if near != 0 {
            // The digits among them (0x30 to 0x39; the others, 0x28 to
            // 0x2f, have bit 4 clear), and of those the ones after no
            // digit; of the others the `+` and `(`.
            let digits = near & (x << 3);
            let mut found = digits & !((digits << 8) | digit_before);
            if near & !digits != 0 {
                found |= equal(x, b'+') | equal(x, b'(');
            }
            if found != 0 {
                return i + (found.trailing_zeros() / 8) as usize;
            }
            digit_before = digits >> 56;
        } else {
            digit_before = 0;
        }
        i += 8;
    }
    i
}

/// Whether `buf[k]` is the letter of an escape such as `\n`.
fn escape_letter(buf: &[u8], k: usize) -> bool {
    matches!(buf[k], b'n' | b't' | b'r') && k > 0 && buf[k - 1] == b'\\'
}

/// Whether a word starts at `i`.
fn word_starts(buf: &[u8], i: usize) -> bool {
    i == 0 || !buf[i - 1].is_ascii_alphanumeric() || escape_letter(buf, i - 1)
}

/// Whether a phone number may start at `i`: not inside a word or number,
/// nor after another group of digits (`12 03 2019 0612`), nor after what
/// joins numbers into codes, paths and amounts.
fn number_starts(buf: &[u8], i: usize) -> bool {
    if i == 0 {
        return true;
    }
    let p = buf[i - 1];
    if p.is_ascii_alphanumeric() {
        return escape_letter(buf, i - 1);
    }
    if p == b' ' && i >= 2 && buf[i - 2].is_ascii_digit() {
        return false;
    }
    !matches!(
        p,
        b'-' | b'/' | b'.' | b'_' | b'+' | b'@' | b'#' | b'&' | b'%' | b'*' | b'$' | b'\\'
    )
}

/// A byte taken into the part before an `@` found in text.
fn is_scan_local(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'%' | b'+' | b'-' | b'\'')
}

/// The e-mail address around the `@` at `at`: its start and normal form.
fn email_at(buf: &[u8], at: usize) -> Option<(usize, String)> {
    let mut start = at;
    while start > 0 && at - start <= MAX_LOCAL && is_scan_local(buf[start - 1]) {
        start -= 1;
    }
    if at - start > MAX_LOCAL {
        return None;
    }
    if start > 0 && buf[start - 1] == b'\\' && at - start > 1 && escape_letter(buf, start) {
        start += 1;
    }
    while start < at && matches!(buf[start], b'.' | b'\'') {
        start += 1;
    }
    let mut end = at + 1;
    while end < buf.len() && end - at <= MAX_DOMAIN && identify::is_domain_byte(buf[end]) {
        end += 1;
    }
    if end - at > MAX_DOMAIN {
        return None;
    }
    while end > at + 1 && matches!(buf[end - 1], b'.' | b'-') {
        end -= 1;
    }
    let address = &buf[start..end];
    identify::check_email(address).ok()?;
    let normal = address
        .iter()
        .map(|&b| char::from(b.to_ascii_lowercase()))
        .collect();
    Some((start, normal))
}

/// An IBAN-shaped run at `i`: where it ends, and the IBAN if its check
/// digits match. `None` if nothing IBAN-shaped starts there.
fn iban_at(buf: &[u8], i: usize) -> Option<(usize, Option<Identifier>)> {
    let head = buf.get(i..i + 4)?;
    if !(head[0].is_ascii_alphabetic()
        && head[1].is_ascii_alphabetic()
        && head[2].is_ascii_digit()
        && head[3].is_ascii_digit())
    {
        return None;
    }
    let head = head.to_ascii_uppercase();
    let len = identify::iban_length(&head[..2])?;
    let mut iban = [0u8; 34];
    iban[..4].copy_from_slice(&head);
    let mut n = 4;
    let mut p = i + 4;
    let grouped = buf.get(p) == Some(&b' ');
    while n < len {
        if grouped {
            if buf.get(p) != Some(&b' ') {
                return None;
            }
            p += 1;
        }
        let k = if grouped { (len - n).min(4) } else { len - n };
        let part = buf.get(p..p + k)?;
        if !part.iter().all(u8::is_ascii_alphanumeric) {
            return None;
        }
        for (to, from) in iban[n..n + k].iter_mut().zip(part) {
            *to = from.to_ascii_uppercase();
        }
        n += k;
        p += k;
    }
    if buf.get(p).is_some_and(u8::is_ascii_alphanumeric) {
        return None;
    }
    let iban = &iban[..len];
    let id = identify::iban_checks(iban)
        .then(|| Identifier::Iban(iban.iter().map(|&b| char::from(b)).collect()));
    Some((p, id))
}

/// The most digits read for one phone number; a longer run is none.
const MAX_PHONE_DIGITS: usize = 20;

/// A gap between the digit groups of a phone number as written.
#[derive(Clone, Copy, Default)]
struct Gap {
    /// Digits before it.
    digits: usize,
    /// Where the digits before it end.
    end: usize,
    /// Its byte if it is one byte, else 0.
    sep: u8,
    /// It holds a space: the number may end before it.
    space: bool,
}

/// A phone number starting at `i` (a `+`, a `0` or a `(`): where it ends
/// and its normal form.
fn phone_at(buf: &[u8], i: usize, country: &Country) -> Option<(usize, Identifier)> {
    let plus = buf[i] == b'+';
    let mut p = if plus || buf[i] == b'(' { i + 1 } else { i };
    match buf.get(p) {
        Some(b'0') => {}
        Some(c) if plus && c.is_ascii_digit() => {}
        _ => return None,
    }
    let mut digits = [0u8; MAX_PHONE_DIGITS];
    let mut n = 0;
    let mut gaps = [Gap::default(); MAX_PHONE_DIGITS];
    let mut g = 0;
    let mut zero_dropped = false;
    let end = loop {
        while let Some(&c) = buf.get(p)
            && c.is_ascii_digit()
        {
            if n == MAX_PHONE_DIGITS {
                return None;
            }
            digits[n] = c;
            n += 1;
            p += 1;
        }
        let digits_end = p;
        let mut len = 0;
        let mut space = false;
        while len <= 3 {
            match buf.get(p) {
                Some(b'(') if plus && !zero_dropped && n <= 3 && buf[p..].starts_with(b"(0)") => {
                    zero_dropped = true;
                    p += 3;
                }
                Some(&c @ (b' ' | b'-' | b'.' | b'/' | b'(' | b')')) => {
                    space |= c == b' ';
                    p += 1;
                }
                _ => break,
            }
            len += 1;
        }
        if (1..=3).contains(&len) && buf.get(p).is_some_and(u8::is_ascii_digit) {
            let sep = if p - digits_end == 1 {
                buf[digits_end]
            } else {
                0
            };
            gaps[g] = Gap {
                digits: n,
                end: digits_end,
                sep,
                space,
            };
            g += 1;
            continue;
        }
        break digits_end;
    };
    let gaps = &gaps[..g];
    let free_after = match buf.get(end) {
        None => true,
        Some(&c) => !(c.is_ascii_alphanumeric() || c == b'_' || c == b'@'),
    };
    if free_after && let Some(id) = phone_candidate(plus, &digits[..n], gaps, country) {
        return Some((end, id));
    }
    // "06 12345678 2019": the number may end at a space.
    for (k, gap) in gaps.iter().enumerate().rev().filter(|(_, gap)| gap.space) {
        if let Some(id) = phone_candidate(plus, &digits[..gap.digits], &gaps[..k], country) {
            return Some((gap.end, id));
        }
    }
    None
}

fn phone_candidate(
    plus: bool,
    digits: &[u8],
    gaps: &[Gap],
    country: &Country,
) -> Option<Identifier> {
    let international = if plus {
        Some(digits)
    } else {
        digits.strip_prefix(b"00")
    };
    if let Some(digits) = international {
        return identify::check_international(digits)
            .ok()
            .map(Identifier::Phone);
    }
    // A lone 0 before the first gap is a decimal (`0.612345678`), not a
    // trunk prefix.
    if !country.scan_lengths().contains(&digits.len())
        || gaps.first().is_some_and(|g| g.digits == 1)
        || looks_like_date(digits.len(), gaps)
    {
        return None;
    }
    identify::to_e164(false, digits, country)
        .ok()
        .map(Identifier::Phone)
}

/// Whether digits in groups start like a date: `01-02-2019 …`, or
/// `01.02.19 12.30` where the separator changes after the date.
fn looks_like_date(count: usize, gaps: &[Gap]) -> bool {
    let [a, b, rest @ ..] = gaps else {
        return false;
    };
    let third_end = rest.first().map_or(count, |g| g.digits);
    let (day, month, year) = (a.digits, b.digits - a.digits, third_end - b.digits);
    if day > 2 || month > 2 || a.sep == 0 || a.sep != b.sep || !b"-./ ".contains(&a.sep) {
        return false;
    }
    match year {
        4 => true,
        2 => a.sep != b' ' && rest.iter().any(|g| g.sep != a.sep),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_skip_stops_at_the_first_digit_plus_or_paren_and_nowhere_earlier() {
        use super::skip_to_candidate;
        let stops = |v: u8| v.is_ascii_digit() || v == b'+' || v == b'(';
        // Every byte value at every position of 27 bytes of letters: three
        // words, then a tail of three left to the caller's byte loop.
        for v in 0..=255u8 {
            for at in 0..27 {
                let mut buf = vec![b'a'; 27];
                buf[at] = v;
                let expected = match stops(v) && at < 24 {
                    true => at,
                    false => 24,
                };
                assert_eq!(
                    skip_to_candidate(&buf, 0, 27),
                    expected,
                    "byte {v:#x} at {at}"
                );
                // From an unaligned start, stopping short of the end.
                let expected = match stops(v) && (5..21).contains(&at) {
                    true => at,
                    false => 21,
                };
                assert_eq!(
                    skip_to_candidate(&buf, 5, 21),
                    expected,
                    "byte {v:#x} at {at}"
                );
            }
        }
    }

    /// Within a run of digits only its first digit is a place to stop,
    /// wherever the run lies across the eight-byte words and wherever the
    /// skip starts (after a digit: not at the run's next digit).
    #[test]
    fn the_skip_passes_the_digits_after_the_first_of_a_run() {
        use super::skip_to_candidate;
        for start in 0..20 {
            for len in 1..20 {
                let mut buf = vec![b','; 48];
                buf[start..start + len].fill(b'7');
                buf[start + len] = b'5';
                for from in 0..40 {
                    // Inside the run, or past it: on to where fewer than
                    // eight bytes are left.
                    let expected = if from <= start {
                        start
                    } else {
                        from + (48 - from) / 8 * 8
                    };
                    assert_eq!(
                        skip_to_candidate(&buf, from, 48),
                        expected,
                        "run of {} at {start}, from {from}",
                        len + 1
                    );
                }
            }
        }
    }

    use super::*;
    use crate::subjects::scan::testing::{filler, keys, scan, scan_cut, scan_with, settings};
    use crate::subjects::scan::{Mode, Scanner, Settings, State};

    fn text_keys(input: &str) -> Vec<String> {
        keys(&scan(Mode::Text, input))
    }

    #[test]
    fn emails_in_text() {
        let found = text_keys(
            "Van: Jan Jansen <Jan.Jansen@Example.NL>\n\
             mailto:info@shop.example.com?subject=x, (piet@example.be).\n\
             \"klaas@example.de\", 'o'brien@example.ie' and ...anna@example.nl...\n\
             user=marie@example.fr&x=1 and a JSON \"note\":\"x\\nkees@example.nl\"\n\
             not: jan@localhost, @example.nl, jan@, a@b.c, x@-bad.nl\n",
        );
        assert_eq!(
            found,
            [
                "email:anna@example.nl",
                "email:info@shop.example.com",
                "email:jan.jansen@example.nl",
                "email:kees@example.nl",
                "email:klaas@example.de",
                "email:marie@example.fr",
                "email:o'brien@example.ie",
                "email:piet@example.be",
            ]
        );
    }

    #[test]
    fn ibans_in_text() {
        let found = text_keys(
            "IBAN: NL91 ABNA 0417 1643 00 t.n.v. Jansen\n\
             rekening NL91ABNA0417164300, BE68539007547034; DE89 3704 0044 0532 0130 00.\n\
             wrong: NL91 ABNA 0417 1643 01, NL91ABNA041716430, XNL91ABNA0417164300\n",
        );
        assert_eq!(
            found,
            [
                "iban:BE68539007547034",
                "iban:DE89370400440532013000",
                "iban:NL91ABNA0417164300",
            ]
        );
        // The digits of an IBAN with a bad checksum are no phone number.
        assert!(text_keys("NL91 ABNA 0417 1643 01").is_empty());
    }

    #[test]
    fn phones_in_text() {
        let found = text_keys(
            "Bel +31 (0)6-1234 5678 of 0031 20 123 4567, mobiel: 06-87654321.\n\
             Tel.: (020) 765 43 21; fax 020/7654322, BE +32 470 12 34 56\n\
             US +1 (201) 555-0123 and 06 11223344 2019\n",
        );
        assert_eq!(
            found,
            [
                "phone:+12015550123",
                "phone:+31201234567",
                "phone:+31207654321",
                "phone:+31207654322",
                "phone:+31611223344",
                "phone:+31612345678",
                "phone:+31687654321",
                "phone:+32470123456",
            ]
        );
    }

    #[test]
    fn dates_amounts_and_order_numbers_are_no_phones() {
        for text in [
            "Datum: 2019-03-04, factuur 2019-0042, order 0012345678",
            "01-02-2019 12:30",
            "01.02.19 12.30",
            "04/03/2019 10",
            "12 03 2019 0612",
            "Totaal € 0,50 en 1.234.567,89 en 0.612345678",
            "Factuurnummer INV-0612345678 en ref #0612345678 en 10612345678",
            "pad /data/0612345678 en x_0612345678 en 0612345678abc",
            "artikel 0000123456, klant 00012345678",
            "+999 12345678 en +31 6 1234567",
            "06 1234 567 is te kort, 06-12345-678-9 te lang",
        ] {
            assert!(text_keys(text).is_empty(), "{text}: {:?}", text_keys(text));
        }
    }

    #[test]
    fn national_numbers_follow_the_default_country() {
        let text = "bel 0470 12 34 56 of 02 123 45 67";
        let be = keys(&scan_with(Mode::Text, &settings("BE", &[]), text));
        assert_eq!(be, ["phone:+3221234567", "phone:+32470123456"]);
        // In NL the same 10 digits are a Dutch number, 9 digits none.
        let nl = keys(&scan_with(Mode::Text, &settings("NL", &[]), text));
        assert_eq!(nl, ["phone:+31470123456"]);
        // German national numbers vary in length: only +49 is found.
        let de = keys(&scan_with(
            Mode::Text,
            &settings("DE", &[]),
            "030 1234567 und +49 30 1234568",
        ));
        assert_eq!(de, ["phone:+49301234568"]);
    }

    #[test]
    fn a_long_line_is_scanned_whole_in_bounded_memory() {
        // Identifiers at every offset around the windows' seams: each found
        // once, none cut into a false one.
        let seams = [
            WINDOW - 2 * OVERLAP,
            WINDOW - OVERLAP,
            WINDOW,
            2 * WINDOW - 3 * OVERLAP,
        ];
        for seam in seams {
            for delta in (0..40).chain(300..330) {
                for item in [
                    "jan.jansen@example.nl",
                    "NL91 ABNA 0417 1643 00",
                    "+31 6 12345678",
                ] {
                    let at = seam - delta;
                    let mut input = filler(at - 1);
                    input.push(b' ');
                    input.extend_from_slice(item.as_bytes());
                    input.push(b' ');
                    input.extend(filler(2 * WINDOW));
                    let found = scan_cut(Mode::Text, &Settings::default(), &input, &[]);
                    let want = Identifier::parse_email(item)
                        .or_else(|_| Identifier::parse_iban(item))
                        .or_else(|_| Identifier::parse_phone(item, &Country::default()))
                        .unwrap();
                    assert_eq!(found.len(), 1, "{item} at {at}: {found:?}");
                    assert_eq!(found[0].id, want, "{item} at {at}");
                }
            }
        }
        // 1 MB without a line break, fed in odd chunks: no panic, the
        // buffer never grows past a window.
        let mut input = filler(1 << 20);
        input.extend_from_slice(b" jan@example.nl");
        let mut scanner = Scanner::new(Mode::Text, &Settings::default());
        let mut found = Vec::new();
        for chunk in input.chunks(7919) {
            scanner.feed(chunk, &mut |f| found.push(f));
            let State::Text(window) = &scanner.state else {
                unreachable!()
            };
            assert!(window.buf.len() <= WINDOW);
        }
        scanner.finish(&mut |f| found.push(f));
        assert_eq!(keys(&found), ["email:jan@example.nl"]);
        // A megabyte-long run of local-part bytes before an @, of digits,
        // of IBAN-like text: nothing, and no quadratic work.
        for byte in [b'a', b'0', b'A', b'@', b'.'] {
            let input = vec![byte; 1 << 20];
            let found = scan_cut(Mode::Text, &Settings::default(), &input, &[]);
            assert!(found.is_empty(), "{}", byte as char);
        }
    }
}
