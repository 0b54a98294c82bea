//! What flows through a table pass: the file read with progress reported,
//! and its byte-order mark. (The writer that counts and hashes the member,
//! so that passes can be compared by hash, is `util::hashing`.)

use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::path::Path;

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
