//! The text encodings an audit file may declare, UTF-8 and ISO-8859-1 (read
//! as Windows-1252), and the decoding of its text by the one it declares.

use std::borrow::Cow;

use quick_xml::events::BytesDecl;

use super::error::{Position, XafError, malformed, shown};

/// The text encodings XAF allows. ISO-8859-1 is read as Windows-1252, its
/// superset, as browsers do: Windows exporters that declare the one often
/// write the other (the euro sign).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Encoding {
    Utf8,
    Windows1252,
}

impl Encoding {
    pub(super) fn declared(decl: &BytesDecl, at: Position) -> Result<Encoding, XafError> {
        let Some(label) = decl.encoding() else {
            return Ok(Encoding::Utf8);
        };
        let label = label.map_err(|error| malformed(at, error))?;
        match label.to_ascii_lowercase().as_slice() {
            b"utf-8" | b"utf8" | b"us-ascii" | b"ascii" => Ok(Encoding::Utf8),
            b"iso-8859-1" | b"iso8859-1" | b"iso_8859-1" | b"latin1" | b"latin-1" | b"l1"
            | b"windows-1252" | b"cp1252" => Ok(Encoding::Windows1252),
            other => Err(XafError::NotXaf(format!(
                "the file declares the encoding {}, and XAF files are UTF-8 or ISO-8859-1",
                shown(other)
            ))),
        }
    }

    pub(super) fn decode(self, raw: &[u8]) -> Option<Cow<'_, str>> {
        match self {
            Encoding::Utf8 => std::str::from_utf8(raw).ok().map(Cow::Borrowed),
            Encoding::Windows1252 if raw.is_ascii() => {
                std::str::from_utf8(raw).ok().map(Cow::Borrowed)
            }
            Encoding::Windows1252 => Some(Cow::Owned(
                raw.iter().map(|&byte| windows_1252(byte)).collect(),
            )),
        }
    }
}

fn windows_1252(byte: u8) -> char {
    const HIGH: [char; 32] = [
        '\u{20AC}', '\u{81}', '\u{201A}', '\u{192}', '\u{201E}', '\u{2026}', '\u{2020}',
        '\u{2021}', '\u{2C6}', '\u{2030}', '\u{160}', '\u{2039}', '\u{152}', '\u{8D}', '\u{17D}',
        '\u{8F}', '\u{90}', '\u{2018}', '\u{2019}', '\u{201C}', '\u{201D}', '\u{2022}', '\u{2013}',
        '\u{2014}', '\u{2DC}', '\u{2122}', '\u{161}', '\u{203A}', '\u{153}', '\u{9D}', '\u{17E}',
        '\u{178}',
    ];
    match byte {
        0x80..=0x9F => HIGH[usize::from(byte - 0x80)],
        _ => char::from(byte),
    }
}

#[cfg(test)]
mod tests {
    use crate::subjects::xaf::XafError;
    use crate::subjects::xaf::testing::{NS32, doc, run_bytes};

    #[test]
    fn iso_8859_1_text_is_decoded() {
        let mut xml = doc(NS32)
            .render()
            .replace("UTF-8", "ISO-8859-1")
            .replace("Molen B.V.", "Molen \u{1} B.V.")
            .into_bytes();
        let at = xml.iter().position(|&byte| byte == 1).unwrap();
        xml[at] = 0xE9;
        let (summary, parties) = run_bytes(&xml);
        summary.unwrap();
        assert_eq!(parties[1].name, "Molen é B.V.");

        let mut undeclared = doc(NS32).render().into_bytes();
        let at = undeclared
            .windows(5)
            .position(|window| window == b"Molen")
            .unwrap();
        undeclared[at + 1] = 0xF6;
        assert!(matches!(
            run_bytes(&undeclared).0,
            Err(XafError::Malformed(_))
        ));
    }
}
