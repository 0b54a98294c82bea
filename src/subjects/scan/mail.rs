//! E-mail messages and mbox files: header lines told apart from the body
//! and from the next message's envelope line, address headers unfolded and
//! read as RFC 5322 address lists, `Subject` and bodies scanned as text.

use std::mem;

use memchr::memchr;

use super::text::{TextWindow, WINDOW, scan_text};
use super::{Ctx, Sink};
use crate::subjects::identify::{Country, Identifier, email_normal};

#[derive(Clone, Copy, Default, PartialEq, Eq)]
enum HeaderKind {
    /// Not looked at.
    #[default]
    Other,
    /// An address list.
    Addresses,
    /// Scanned as text (`Subject`).
    Text,
}

#[derive(Default)]
struct Header {
    kind: HeaderKind,
    /// The unfolded value of an address header.
    value: Vec<u8>,
    /// It grew past a window and went to the text scan instead.
    spilled: bool,
}

const ADDRESS_HEADERS: &[&[u8]] = &[
    b"from",
    b"to",
    b"cc",
    b"bcc",
    b"reply-to",
    b"sender",
    b"resent-from",
    b"resent-to",
    b"resent-cc",
    b"resent-bcc",
    b"resent-sender",
];

/// Messages: header lines, then a body of text. Lines are gathered up to a
/// window; a longer one is passed on in pieces.
pub(super) struct Mail {
    line: Vec<u8>,
    /// The line being read is longer than a window: pieces went on.
    continued: bool,
    /// The pieces of that line belong to the current header.
    to_header: bool,
    /// The last line was empty.
    prev_blank: bool,
    /// A line was read.
    started: bool,
    /// Reading a message's headers.
    headers: bool,
    header: Header,
    body: TextWindow,
}

impl Mail {
    pub(super) fn new() -> Mail {
        Mail {
            line: Vec::new(),
            continued: false,
            to_header: false,
            prev_blank: false,
            started: false,
            headers: true,
            header: Header::default(),
            body: TextWindow::default(),
        }
    }

    pub(super) fn feed(&mut self, mut bytes: &[u8], ctx: &Ctx, sink: &mut Sink) {
        while !bytes.is_empty() {
            let Some(k) = memchr(b'\n', bytes) else {
                self.append(bytes, ctx, sink);
                return;
            };
            if self.line.is_empty() && k <= WINDOW {
                self.piece(&bytes[..k], true, ctx, sink);
            } else {
                self.append(&bytes[..k], ctx, sink);
                self.take_line(true, ctx, sink);
            }
            bytes = &bytes[k + 1..];
        }
    }

    pub(super) fn finish(&mut self, ctx: &Ctx, sink: &mut Sink) {
        if !self.line.is_empty() || self.continued {
            self.take_line(true, ctx, sink);
        }
        self.end_header(ctx, sink);
        self.body.flush(&ctx.country, None, sink);
    }

    /// Adds to the line, passing a full window on as a piece.
    fn append(&mut self, mut part: &[u8], ctx: &Ctx, sink: &mut Sink) {
        loop {
            let room = WINDOW - self.line.len();
            if part.len() <= room {
                self.line.extend_from_slice(part);
                return;
            }
            self.line.extend_from_slice(&part[..room]);
            part = &part[room..];
            self.take_line(false, ctx, sink);
        }
    }

    fn take_line(&mut self, last: bool, ctx: &Ctx, sink: &mut Sink) {
        let mut line = mem::take(&mut self.line);
        self.piece(&line, last, ctx, sink);
        line.clear();
        self.line = line;
    }

    /// A line, or a piece of one (`last`: its end).
    fn piece(&mut self, bytes: &[u8], last: bool, ctx: &Ctx, sink: &mut Sink) {
        let first = !self.continued;
        self.continued = !last;
        let text = if last {
            bytes.strip_suffix(b"\r").unwrap_or(bytes)
        } else {
            bytes
        };
        if first {
            self.line_start(text, ctx, sink);
        } else if self.to_header {
            self.header_more(text, ctx, sink);
        } else {
            self.body.push(text, &ctx.country, None, sink);
        }
        if last {
            if !self.to_header {
                self.body.push(b"\n", &ctx.country, None, sink);
            }
            self.prev_blank = first && text.is_empty();
            self.started = true;
        }
    }

    fn line_start(&mut self, text: &[u8], ctx: &Ctx, sink: &mut Sink) {
        self.to_header = false;
        if text.starts_with(b"From ") && (!self.started || self.prev_blank) {
            // The next message; its envelope line names the sender.
            self.end_header(ctx, sink);
            self.headers = true;
            self.body.push(text, &ctx.country, None, sink);
            return;
        }
        if self.headers {
            if text.is_empty() {
                self.end_header(ctx, sink);
                self.headers = false;
                return;
            }
            if text[0] == b' ' || text[0] == b'\t' {
                self.to_header = true;
                self.header_more(text, ctx, sink);
                return;
            }
            if let Some(colon) = header_colon(text) {
                self.end_header(ctx, sink);
                let name = text[..colon].trim_ascii_end();
                self.header.kind = if ADDRESS_HEADERS.iter().any(|h| h.eq_ignore_ascii_case(name)) {
                    HeaderKind::Addresses
                } else if name.eq_ignore_ascii_case(b"subject") {
                    HeaderKind::Text
                } else {
                    HeaderKind::Other
                };
                self.to_header = true;
                self.header_more(&text[colon + 1..], ctx, sink);
                return;
            }
            // Not a header line: the headers are over (or this is no mail).
            self.end_header(ctx, sink);
            self.headers = false;
        }
        self.body.push(text, &ctx.country, None, sink);
    }

    fn header_more(&mut self, text: &[u8], ctx: &Ctx, sink: &mut Sink) {
        let header = &mut self.header;
        match header.kind {
            HeaderKind::Other => {}
            HeaderKind::Text => self.body.push(text, &ctx.country, None, sink),
            HeaderKind::Addresses if header.spilled => {
                self.body.push(text, &ctx.country, None, sink);
            }
            HeaderKind::Addresses if header.value.len() + text.len() > WINDOW => {
                self.body.push(&header.value, &ctx.country, None, sink);
                self.body.push(text, &ctx.country, None, sink);
                header.value.clear();
                header.spilled = true;
            }
            HeaderKind::Addresses => header.value.extend_from_slice(text),
        }
    }

    fn end_header(&mut self, ctx: &Ctx, sink: &mut Sink) {
        let header = &mut self.header;
        match header.kind {
            HeaderKind::Addresses if !header.spilled => {
                addresses(&header.value, &ctx.country, sink);
            }
            HeaderKind::Addresses | HeaderKind::Text => {
                self.body.push(b"\n", &ctx.country, None, sink);
            }
            HeaderKind::Other => {}
        }
        header.kind = HeaderKind::Other;
        header.value.clear();
        header.spilled = false;
    }
}

/// Where the `:` of a header line `Name: value` is.
fn header_colon(text: &[u8]) -> Option<usize> {
    let colon = memchr(b':', &text[..text.len().min(100)])?;
    let name = text[..colon].trim_ascii_end();
    (!name.is_empty() && name.iter().all(|b| (33..=126).contains(b))).then_some(colon)
}

/// The addresses of an RFC 5322 address list: `Jan <jan@example.nl>`,
/// `"Jansen, Jan" <jan@example.nl>`, `jan@example.nl (Jan)`,
/// `Team: a@example.nl, b@example.nl;`. An element that yields none is
/// scanned as text.
fn addresses(value: &[u8], country: &Country, sink: &mut Sink) {
    let mut bare: Vec<u8> = Vec::new();
    let (mut quoted, mut escaped, mut depth) = (false, false, 0u32);
    let mut angle: Option<usize> = None;
    let mut element = 0;
    let mut got = false;
    for (j, &b) in value.iter().enumerate() {
        if escaped {
            escaped = false;
            continue;
        }
        if quoted {
            match b {
                b'\\' => escaped = true,
                b'"' => quoted = false,
                _ => {}
            }
            continue;
        }
        if depth > 0 {
            match b {
                b'\\' => escaped = true,
                b'(' => depth += 1,
                b')' => depth -= 1,
                _ => {}
            }
            continue;
        }
        if let Some(start) = angle {
            if b == b'>' {
                // After a route (`<@relay:jan@example.nl>`) comes the address.
                let inner = &value[start..j];
                let spec = inner.rsplit(|&c| c == b':').next().unwrap_or(inner);
                if let Ok(text) = std::str::from_utf8(spec)
                    && let Ok(address) = email_normal(text)
                {
                    sink.put(Identifier::Email(address), None);
                    got = true;
                }
                angle = None;
            }
            continue;
        }
        match b {
            b'"' => quoted = true,
            b'(' => depth = 1,
            b'<' => angle = Some(j + 1),
            b':' => bare.clear(),
            b',' | b';' => {
                address_element(&value[element..j], &bare, got, country, sink);
                element = j + 1;
                bare.clear();
                got = false;
            }
            _ => bare.push(b),
        }
    }
    address_element(&value[element..], &bare, got, country, sink);
}

fn address_element(raw: &[u8], bare: &[u8], got: bool, country: &Country, sink: &mut Sink) {
    if got {
        return;
    }
    if let Ok(text) = std::str::from_utf8(bare)
        && let Ok(address) = email_normal(text)
    {
        sink.put(Identifier::Email(address), None);
        return;
    }
    if memchr(b'@', raw).is_some() {
        scan_text(raw, 0, 0, raw.len(), country, None, sink);
    }
}

#[cfg(test)]
mod tests {
    use crate::subjects::scan::Mode;
    use crate::subjects::scan::testing::{MBOX, keys, scan};

    #[test]
    fn mbox_with_two_messages_and_folded_headers() {
        let found = scan(Mode::Mail, MBOX);
        assert!(found.iter().all(|f| f.row.is_none()));
        assert_eq!(
            keys(&found),
            [
                "email:a@example.org",
                "email:anna@example.fr",
                "email:b@example.org",
                "email:c@example.org",
                "email:jan@example.nl",
                "email:kees@example.nl",
                "email:klaas@example.de",
                "email:marie@example.fr",
                "email:piet@example.be",
                "iban:NL91ABNA0417164300",
                "phone:+31612345678",
            ]
        );
    }

    #[test]
    fn mail_that_is_not_mail_is_scanned_as_text() {
        let found = scan(
            Mode::Mail,
            "Dit is geen mail.\nBel 06 12345678 of mail jan@example.nl\n",
        );
        assert_eq!(keys(&found), ["email:jan@example.nl", "phone:+31612345678"]);
    }
}
