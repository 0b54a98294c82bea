//! What flows through a table pass: the file read with progress reported,
//! its byte-order mark, and the writer that counts and hashes the member (so
//! that passes can be compared by hash).

use std::fs::File;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::path::Path;

use sha2::{Digest, Sha256};

use crate::error::{IoContext, Result};
use crate::progress::Progress;

pub(crate) const BOM: &[u8] = b"\xEF\xBB\xBF";

/// A table file opened for one pass, reporting progress as it is read.
pub(super) fn open<'a>(
    path: &Path,
    progress: &'a dyn Progress,
) -> Result<BufReader<ProgressRead<'a, File>>> {
    let file = File::open(path).at(path)?;
    Ok(BufReader::with_capacity(
        256 << 10,
        ProgressRead {
            inner: file,
            progress,
        },
    ))
}

/// Consumes a UTF-8 byte-order mark at the start of `input`, if there is
/// one: whether there was.
pub(super) fn skip_bom<R: Read>(input: &mut BufReader<R>) -> io::Result<bool> {
    let bom = input.fill_buf()?.starts_with(BOM);
    if bom {
        input.consume(BOM.len());
    }
    Ok(bom)
}

/// Counts and hashes what passes through to `inner`.
pub(crate) struct Hashed<W> {
    inner: W,
    hasher: Sha256,
    len: u64,
}

/// A sink that only counts and hashes.
pub(crate) type HashSink = Hashed<io::Sink>;

impl Default for HashSink {
    fn default() -> Self {
        Hashed::new(io::sink())
    }
}

impl<W: Write> Hashed<W> {
    pub(crate) fn new(inner: W) -> Self {
        Hashed {
            inner,
            hasher: Sha256::new(),
            len: 0,
        }
    }

    /// How many bytes passed, and their SHA-256.
    pub(crate) fn finish(self) -> (u64, [u8; 32]) {
        (self.len, self.hasher.finalize().into())
    }
}

impl<W: Write> Write for Hashed<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.len += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// A reader that reports how many bytes it read.
pub(super) struct ProgressRead<'a, R> {
    inner: R,
    progress: &'a dyn Progress,
}

impl<R: Read> Read for ProgressRead<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.progress.advance(n as u64);
        Ok(n)
    }
}
