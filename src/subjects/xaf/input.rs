//! The input as the XML parser sees it: every byte it takes is metered, so
//! that no single event (a tag, a text run, a comment) can make it buffer
//! more than a cap, and line feeds are counted for messages; and the
//! parser's errors turned into [`XafError`]s.

use std::io::{self, BufRead, Read};

use quick_xml::reader::Reader;

use super::error::{Position, XafError, malformed};

/// Most bytes the parser may take from the input for one event.
const MAX_EVENT: u64 = 1 << 20;

/// The input as the parser sees it: counts lines for messages, and refuses
/// to hand over more than [`MAX_EVENT`] bytes for one event, which bounds
/// what the parser buffers however long a tag or text is.
pub(super) struct Metered<R> {
    inner: R,
    /// Line feeds taken so far.
    pub(super) lines: u64,
    /// Bytes taken since the current event began.
    pub(super) event: u64,
    /// Whether a read was refused for exceeding [`MAX_EVENT`].
    tripped: bool,
}

impl<R> Metered<R> {
    pub(super) fn new(inner: R) -> Self {
        Metered {
            inner,
            lines: 0,
            event: 0,
            tripped: false,
        }
    }
}

impl<R: BufRead> Read for Metered<R> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        let available = self.fill_buf()?;
        let n = available.len().min(out.len());
        out[..n].copy_from_slice(&available[..n]);
        self.consume(n);
        Ok(n)
    }
}

impl<R: BufRead> BufRead for Metered<R> {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        if self.event >= MAX_EVENT {
            self.tripped = true;
            return Err(io::Error::other("one event longer than the cap"));
        }
        // Never more than the cap allows, however much the input holds.
        let room = usize::try_from(MAX_EVENT - self.event).unwrap_or(usize::MAX);
        let available = self.inner.fill_buf()?;
        Ok(&available[..available.len().min(room)])
    }

    fn consume(&mut self, amount: usize) {
        if amount > 0 {
            // Still buffered: this reads nothing, it shows what is taken.
            if let Ok(available) = self.inner.fill_buf() {
                let taken = &available[..amount.min(available.len())];
                self.lines += memchr::memchr_iter(b'\n', taken).count() as u64;
            }
        }
        self.inner.consume(amount);
        self.event += amount as u64;
    }
}

pub(super) fn read_error<R>(
    reader: &Reader<Metered<R>>,
    at: Position,
    error: quick_xml::Error,
) -> XafError {
    if reader.get_ref().tripped {
        return XafError::Hostile(format!(
            "{at}: a tag, text or comment longer than {} MiB in one piece",
            MAX_EVENT >> 20
        ));
    }
    match error {
        quick_xml::Error::Io(error) => XafError::Io(error.to_string()),
        error => {
            let at = Position {
                line: at.line,
                byte: reader.error_position(),
            };
            malformed(at, error)
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::subjects::xaf::XafError;
    use crate::subjects::xaf::testing::{NS32, doc, refusal};

    #[test]
    fn a_ten_megabyte_text_is_refused() {
        let xml = doc(NS32).render().replace("Verkoop", &"x".repeat(10 << 20));
        assert!(matches!(refusal(&xml), XafError::Hostile(what) if what.contains("MiB")));
    }
}
