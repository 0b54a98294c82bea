//! Why an audit file fails the check, said as a sentence with what to do,
//! and how messages point into the file (line and byte) and quote what it
//! holds without letting it write control characters to a terminal.

use std::fmt;

use super::amount::{format_amount, grouped, parse_amount};

/// Why an audit file did not pass [`check`](super::check).
#[derive(Debug, PartialEq, Eq)]
pub enum XafError {
    /// Not well-formed XML, or a value the check needs that cannot be read
    /// (an amount that is no decimal, a side that is not D or C); the text
    /// starts with the line and byte offset.
    Malformed(String),
    /// Refused unread: a document type declaration, nesting deeper than 64,
    /// a tag, name or text beyond its cap.
    Hostile(String),
    /// XML, but not an XAF file of a known version, or one without the
    /// header's fiscal year, start or end date.
    NotXaf(String),
    /// The debit and credit `trLine` amounts do not add up to the same sum.
    Unbalanced { debit: String, credit: String },
    /// `linesCount`, `totalDebit` or `totalCredit` of `transactions` is not
    /// what the lines count or add up to; `found` is written like `declared`
    /// (a whole number, or a decimal such as "100.50").
    CountMismatch {
        what: &'static str,
        declared: String,
        found: String,
    },
    /// The input could not be read.
    Io(String),
}

impl fmt::Display for XafError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            XafError::Malformed(what) => write!(
                f,
                "the audit file is not well-formed ({what}): it is damaged or was cut short; export it again"
            ),
            XafError::Hostile(what) => write!(
                f,
                "the audit file was refused unread ({what}); no accounting package writes this, so the file was made or altered by other means: export it again"
            ),
            XafError::NotXaf(what) => {
                write!(f, "not an XML Auditfile Financieel 3.1, 3.2 or 4.0: {what}")
            }
            XafError::Unbalanced { debit, credit } => {
                let difference = match (parse_amount(debit), parse_amount(credit)) {
                    (Some(debit), Some(credit)) => i128::try_from(debit.abs_diff(credit)).ok(),
                    _ => None,
                };
                let difference =
                    difference.map_or_else(|| "an unknown amount".to_owned(), format_amount);
                write!(
                    f,
                    "debits ({}) and credits ({}) differ by {}: the accounting package exported an unbalanced file; export it again",
                    grouped(debit),
                    grouped(credit),
                    grouped(&difference)
                )
            }
            XafError::CountMismatch {
                what,
                declared,
                found,
            } => {
                let (declared, found) = (grouped(declared), grouped(found));
                let says = match *what {
                    "linesCount" => format!(
                        "the file says it holds {declared} transaction lines (linesCount) but holds {found}"
                    ),
                    "totalDebit" => format!(
                        "the file states total debits of {declared} (totalDebit) but its debit lines add up to {found}"
                    ),
                    "totalCredit" => format!(
                        "the file states total credits of {declared} (totalCredit) but its credit lines add up to {found}"
                    ),
                    other => format!("the file states {other} {declared} but {found} was found"),
                };
                write!(
                    f,
                    "{says}: it is incomplete or was altered; export it again"
                )
            }
            XafError::Io(what) => write!(f, "could not read the audit file: {what}"),
        }
    }
}

impl std::error::Error for XafError {}

/// Where in the input an event starts: line (from 1) and byte offset.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Position {
    pub(super) line: u64,
    pub(super) byte: u64,
}

impl fmt::Display for Position {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}, byte {}", self.line, self.byte)
    }
}

pub(super) fn malformed(at: Position, what: impl fmt::Display) -> XafError {
    XafError::Malformed(format!("{at}: {what}"))
}

/// Untrusted bytes fit for a message: at most 60 characters, no controls.
pub(super) fn shown(raw: &[u8]) -> String {
    const MAX: usize = 60;
    let text = String::from_utf8_lossy(raw);
    let mut out: String = text
        .chars()
        .take(MAX)
        .map(|c| if c.is_control() { '?' } else { c })
        .collect();
    if text.chars().nth(MAX).is_some() {
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::subjects::xaf::testing::run;

    #[test]
    fn every_error_reads_as_a_sentence() {
        let errors = [
            XafError::Malformed("line 3, byte 40: x".into()),
            XafError::Hostile("line 2, byte 22: y".into()),
            XafError::NotXaf("z".into()),
            XafError::Io("broken pipe".into()),
        ];
        for error in errors {
            let text = error.to_string();
            assert!(!text.is_empty() && !text.ends_with('.'), "{text}");
        }
        let (result, _) = run("<auditfile xmlns=\"http://www.auditfiles.nl/XAF/3.2\"><bad");
        assert!(
            result
                .unwrap_err()
                .to_string()
                .starts_with("the audit file is not well-formed (line 1, byte ")
        );
    }
}
