//! JSON Lines tables: each line that is not blank is a row, scanned as
//! text, while a small walk over it reads the top-level object's keys and
//! parses the values of typed ones whole.

use std::borrow::Cow;
use std::mem;

use memchr::{memchr, memchr2};

use super::columns::{ColumnKind, MAX_VALUE, column_kind, typed};
use super::text::TextWindow;
use super::{BOM, Ctx, Sink};

/// The most top-level keys whose kinds are remembered by position.
const MAX_KEYS: usize = 1000;

#[derive(Default)]
pub(super) struct Jsonl {
    text: TextWindow,
    /// Rows (lines that are not blank) done.
    rows: u64,
    /// The current line has had something other than white space.
    begun: bool,
    walk: Walk,
    /// The raw key and kind at each position of the last lines: lines of
    /// one table mostly have the same keys in the same order.
    kinds: Vec<(Vec<u8>, ColumnKind)>,
}

impl Jsonl {
    pub(super) fn feed(&mut self, mut bytes: &[u8], ctx: &Ctx, sink: &mut Sink) {
        while !bytes.is_empty() {
            match memchr(b'\n', bytes) {
                Some(k) => {
                    self.piece(&bytes[..k], ctx, sink);
                    self.end_line(ctx, sink);
                    bytes = &bytes[k + 1..];
                }
                None => {
                    self.piece(bytes, ctx, sink);
                    return;
                }
            }
        }
    }

    pub(super) fn finish(&mut self, ctx: &Ctx, sink: &mut Sink) {
        self.end_line(ctx, sink);
    }

    fn piece(&mut self, part: &[u8], ctx: &Ctx, sink: &mut Sink) {
        if !self.begun {
            if part.iter().all(u8::is_ascii_whitespace) {
                return;
            }
            self.begun = true;
        }
        let row = Some(self.rows + 1);
        self.text.push(part, &ctx.country, row, sink);
        self.walk.feed(part, &mut self.kinds, ctx, row, sink);
    }

    fn end_line(&mut self, ctx: &Ctx, sink: &mut Sink) {
        if self.begun {
            let row = Some(self.rows + 1);
            self.walk.end(ctx, row, sink);
            self.text.flush(&ctx.country, row, sink);
            self.rows += 1;
        }
        self.walk.reset();
        self.begun = false;
    }
}

#[derive(Clone, Copy, Default, PartialEq, Eq)]
enum Expect {
    #[default]
    Key,
    Colon,
    Value,
    Comma,
}

#[derive(Clone, Copy, Default, PartialEq, Eq)]
enum Capture {
    #[default]
    Nothing,
    Key,
    Text,
    Scalar,
}

/// A walk over one JSON line that reads the top-level object's keys and
/// the values of typed ones; anything else is skipped, malformed JSON
/// included.
#[derive(Default)]
struct Walk {
    begun: bool,
    /// The line's value has ended, or it is not an object.
    done: bool,
    depth: u32,
    at: Expect,
    in_string: bool,
    escaped: bool,
    capture: Capture,
    key: Vec<u8>,
    key_index: usize,
    /// The current key's kind.
    kind: ColumnKind,
    value: Vec<u8>,
    long: bool,
}

impl Walk {
    fn reset(&mut self) {
        let (mut key, mut value) = (mem::take(&mut self.key), mem::take(&mut self.value));
        key.clear();
        value.clear();
        *self = Walk {
            key,
            value,
            ..Walk::default()
        };
    }

    fn feed(
        &mut self,
        bytes: &[u8],
        kinds: &mut Vec<(Vec<u8>, ColumnKind)>,
        ctx: &Ctx,
        row: Option<u64>,
        sink: &mut Sink,
    ) {
        let mut i = 0;
        while i < bytes.len() && !self.done {
            if self.in_string {
                if self.escaped {
                    self.escaped = false;
                    self.take(&bytes[i..i + 1]);
                    i += 1;
                    continue;
                }
                let rest = &bytes[i..];
                let Some(k) = memchr2(b'"', b'\\', rest) else {
                    self.take(rest);
                    return;
                };
                self.take(&rest[..k]);
                i += k + 1;
                if rest[k] == b'\\' {
                    self.take(b"\\");
                    self.escaped = true;
                } else {
                    self.in_string = false;
                    self.string_end(kinds, ctx, row, sink);
                }
                continue;
            }
            let b = bytes[i];
            if self.capture == Capture::Scalar {
                if matches!(b, b',' | b'}' | b']') || b.is_ascii_whitespace() {
                    self.scalar_end(ctx, row, sink);
                } else {
                    self.take(&bytes[i..i + 1]);
                    i += 1;
                    continue;
                }
            }
            i += 1;
            if !self.begun {
                match b {
                    b'{' => {
                        self.begun = true;
                        self.depth = 1;
                    }
                    // White space and a byte order mark.
                    _ if b.is_ascii_whitespace() || BOM.contains(&b) => {}
                    _ => self.done = true,
                }
                continue;
            }
            match b {
                b'"' => {
                    self.in_string = true;
                    if self.depth == 1 {
                        match self.at {
                            Expect::Key => self.start(Capture::Key),
                            Expect::Value => {
                                self.at = Expect::Comma;
                                if self.kind != ColumnKind::Plain {
                                    self.start(Capture::Text);
                                }
                            }
                            _ => {}
                        }
                    }
                }
                b'{' | b'[' => {
                    if self.depth == 1 && self.at == Expect::Value {
                        self.at = Expect::Comma;
                    }
                    self.depth += 1;
                }
                b'}' | b']' => {
                    self.depth = self.depth.saturating_sub(1);
                    self.done = self.depth == 0;
                }
                b':' if self.depth == 1 && self.at == Expect::Colon => self.at = Expect::Value,
                b',' if self.depth == 1 => {
                    self.at = Expect::Key;
                    self.key_index += 1;
                    self.kind = ColumnKind::Plain;
                }
                _ if b.is_ascii_whitespace() => {}
                _ if self.depth == 1 && self.at == Expect::Value => {
                    self.at = Expect::Comma;
                    if self.kind != ColumnKind::Plain {
                        self.start(Capture::Scalar);
                        self.take(&[b]);
                    }
                }
                _ => {}
            }
        }
    }

    /// The line ended.
    fn end(&mut self, ctx: &Ctx, row: Option<u64>, sink: &mut Sink) {
        if self.capture == Capture::Scalar {
            self.scalar_end(ctx, row, sink);
        }
    }

    fn start(&mut self, capture: Capture) {
        self.capture = capture;
        self.long = false;
        match capture {
            Capture::Key => self.key.clear(),
            _ => self.value.clear(),
        }
    }

    fn take(&mut self, bytes: &[u8]) {
        let (into, max) = match self.capture {
            Capture::Nothing => return,
            Capture::Key => (&mut self.key, MAX_VALUE),
            Capture::Text | Capture::Scalar => (&mut self.value, MAX_VALUE),
        };
        if into.len() + bytes.len() > max {
            self.long = true;
        } else {
            into.extend_from_slice(bytes);
        }
    }

    fn string_end(
        &mut self,
        kinds: &mut Vec<(Vec<u8>, ColumnKind)>,
        ctx: &Ctx,
        row: Option<u64>,
        sink: &mut Sink,
    ) {
        match self.capture {
            Capture::Key => {
                self.at = Expect::Colon;
                self.kind = if self.long {
                    ColumnKind::Plain
                } else {
                    key_kind(&self.key, self.key_index, kinds, ctx)
                };
            }
            Capture::Text => {
                if !self.long
                    && let Some(text) = json_string(&self.value)
                    && let Some(id) = typed(self.kind, &text, ctx)
                {
                    sink.put(id, row);
                }
            }
            Capture::Nothing | Capture::Scalar => {}
        }
        self.capture = Capture::Nothing;
    }

    fn scalar_end(&mut self, ctx: &Ctx, row: Option<u64>, sink: &mut Sink) {
        self.capture = Capture::Nothing;
        if self.long {
            return;
        }
        if let Ok(text) = std::str::from_utf8(&self.value)
            && !matches!(text, "null" | "true" | "false")
            && let Some(id) = typed(self.kind, text, ctx)
        {
            sink.put(id, row);
        }
    }
}

/// The kind of the top-level key `raw` (as written, escapes and all) at
/// position `index` of its line.
fn key_kind(
    raw: &[u8],
    index: usize,
    kinds: &mut Vec<(Vec<u8>, ColumnKind)>,
    ctx: &Ctx,
) -> ColumnKind {
    if let Some((known, kind)) = kinds.get(index)
        && known == raw
    {
        return *kind;
    }
    let kind = json_string(raw).map_or(ColumnKind::Plain, |name| column_kind(&name, ctx));
    if let Some(slot) = kinds.get_mut(index) {
        *slot = (raw.to_vec(), kind);
    } else if index == kinds.len() && index < MAX_KEYS {
        kinds.push((raw.to_vec(), kind));
    }
    kind
}

/// The text of a JSON string's contents as written between its quotes.
fn json_string(raw: &[u8]) -> Option<Cow<'_, str>> {
    if memchr(b'\\', raw).is_none() {
        return std::str::from_utf8(raw).ok().map(Cow::Borrowed);
    }
    let mut quoted = Vec::with_capacity(raw.len() + 2);
    quoted.push(b'"');
    quoted.extend_from_slice(raw);
    quoted.push(b'"');
    serde_json::from_slice::<String>(&quoted)
        .ok()
        .map(Cow::Owned)
}

#[cfg(test)]
mod tests {
    use crate::subjects::scan::Mode;
    use crate::subjects::scan::testing::{JSONL, rows, scan_with, settings};

    #[test]
    fn jsonl_rows_and_ids() {
        let found = scan_with(Mode::Jsonl, &settings("NL", &["Customer_No"]), JSONL);
        assert_eq!(
            rows(&found),
            [
                "1 email:jan@example.nl",
                "1 id:customer_no=K017807",
                "1 phone:+31612345678",
                "2 id:customer_no=42",
                "2 phone:+32470123456",
                "3 id:customer_no=Ké",
                "5 email:piet@example.be",
            ]
        );
    }
}
