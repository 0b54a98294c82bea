//! Amounts as exact decimals: an `xs:decimal` read into a whole number of
//! millionths (no floats, so sums of any length come out exact), written
//! back as plain text, and grouped by thousands for messages.

use super::is_xml_space;

/// Decimals kept in amounts: XAF writes 2, some exporters more.
pub(super) const SCALE: usize = 6;
/// One unit in the scaled integers amounts are added up in.
const UNIT: i128 = 1_000_000;

/// An `xs:decimal` as a whole number of millionths: exact, no floats.
/// `None` for anything else, for more than [`SCALE`] significant decimals,
/// and for values beyond `i128`.
pub(super) fn parse_amount(text: &str) -> Option<i128> {
    let text = text.trim_matches(is_xml_space);
    let (negative, digits) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text.strip_prefix('+').unwrap_or(text)),
    };
    let (whole, fraction) = digits.split_once('.').unwrap_or((digits, ""));
    let all_digits = |part: &str| part.bytes().all(|byte| byte.is_ascii_digit());
    if (whole.is_empty() && fraction.is_empty()) || !all_digits(whole) || !all_digits(fraction) {
        return None;
    }
    let (kept, dropped) = fraction.split_at(fraction.len().min(SCALE));
    if dropped.bytes().any(|byte| byte != b'0') {
        return None;
    }
    let padding = std::iter::repeat_n(b'0', SCALE - kept.len());
    let mut value: i128 = 0;
    for digit in whole.bytes().chain(kept.bytes()).chain(padding) {
        value = value
            .checked_mul(10)?
            .checked_add(i128::from(digit - b'0'))?;
    }
    Some(if negative { -value } else { value })
}

/// An amount as plain text with at least two decimals: "12345.67", "-0.50",
/// "1.234".
pub(super) fn format_amount(value: i128) -> String {
    let sign = if value < 0 { "-" } else { "" };
    let magnitude = value.unsigned_abs();
    let unit = UNIT.unsigned_abs();
    let mut fraction = format!("{:0width$}", magnitude % unit, width = SCALE);
    while fraction.len() > 2 && fraction.ends_with('0') {
        fraction.pop();
    }
    format!("{sign}{}.{fraction}", magnitude / unit)
}

/// A number for a message, its whole part grouped by thousands
/// ("12,345.67"); a decimal as written in a file is first normalised
/// ("100.5" becomes "100.50"), anything else is shown as it is.
pub(super) fn grouped(number: &str) -> String {
    let plain = if number.contains('.') {
        parse_amount(number).map_or_else(|| number.to_owned(), format_amount)
    } else {
        number.trim_matches(is_xml_space).to_owned()
    };
    let (sign, unsigned) = match plain.strip_prefix('-') {
        Some(rest) => ("-", rest),
        None => ("", plain.as_str()),
    };
    let (whole, fraction) = match unsigned.split_once('.') {
        Some((whole, fraction)) => (whole, Some(fraction)),
        None => (unsigned, None),
    };
    if whole.is_empty() || !whole.bytes().all(|byte| byte.is_ascii_digit()) {
        return plain;
    }
    let mut out = String::from(sign);
    for (i, digit) in whole.chars().enumerate() {
        if i > 0 && (whole.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(digit);
    }
    if let Some(fraction) = fraction {
        out.push('.');
        out.push_str(fraction);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::subjects::xaf::testing::{NS32, doc, run};

    #[test]
    fn amounts_parse_exactly() {
        assert_eq!(parse_amount("100.5"), parse_amount("100.50"));
        assert_eq!(parse_amount(" -0.01 "), Some(-10_000));
        assert_eq!(parse_amount("+1"), Some(UNIT));
        assert_eq!(parse_amount(".5"), Some(UNIT / 2));
        assert_eq!(parse_amount("5."), Some(5 * UNIT));
        assert_eq!(parse_amount("1.2345670"), Some(1_234_567));
        for bad in [
            "",
            "-",
            ".",
            "1.0000001",
            "1e3",
            "1,5",
            "1.2.3",
            "--1",
            "0x10",
            "99999999999999999999999999999999999",
        ] {
            assert_eq!(parse_amount(bad), None, "{bad}");
        }
        assert_eq!(format_amount(-50 * UNIT / 100), "-0.50");
        assert_eq!(format_amount(1_234_000), "1.234");
        assert_eq!(grouped("-1234567.5"), "-1,234,567.50");
        assert_eq!(grouped("200000"), "200,000");
        assert_eq!(grouped("123"), "123");
    }

    #[test]
    fn negative_and_long_decimal_amounts_add_up_exactly() {
        let xml = doc(NS32)
            .lines(&[
                ("-10.5", "D"),
                ("0.1", "D"),
                ("0.2", "D"),
                ("-10.2", "C"),
                ("+0.000", "C"),
            ])
            .render();
        let summary = run(&xml).0.unwrap();
        assert_eq!(
            (summary.total_debit.as_str(), summary.total_credit.as_str()),
            ("-10.20", "-10.20")
        );
    }

    #[test]
    fn declared_totals_are_compared_as_numbers() {
        let xml = doc(NS32).declare(" 3 ", "121.0", "+121.000000").render();
        assert!(run(&xml).0.is_ok());
    }
}
