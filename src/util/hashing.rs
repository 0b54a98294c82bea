//! Counting and hashing (SHA-256) the bytes that pass through a writer or
//! a reader, for the passes that must know what they wrote or read.

use std::io::{self, Read, Write};

use sha2::{Digest, Sha256};

/// Counts and hashes what passes through `inner`: what is written to it
/// (as a [`Write`]) or read from it (as a [`Read`]).
pub struct Hashed<T> {
    inner: T,
    hasher: Sha256,
    len: u64,
}

/// A sink that only counts and hashes.
pub type HashSink = Hashed<io::Sink>;

impl Default for HashSink {
    fn default() -> Self {
        Hashed::new(io::sink())
    }
}

impl<T> Hashed<T> {
    pub fn new(inner: T) -> Self {
        Hashed {
            inner,
            hasher: Sha256::new(),
            len: 0,
        }
    }

    /// How many bytes passed, and their SHA-256.
    pub fn finish(self) -> (u64, [u8; 32]) {
        self.into_parts().1
    }

    /// The inner writer or reader, with [`Hashed::finish`]'s count and hash.
    pub fn into_parts(self) -> (T, (u64, [u8; 32])) {
        (self.inner, (self.len, self.hasher.finalize().into()))
    }

    fn passed(&mut self, bytes: &[u8]) {
        self.hasher.update(bytes);
        self.len += bytes.len() as u64;
    }
}

impl<W: Write> Write for Hashed<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.passed(&buf[..n]);
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

impl<R: Read> Read for Hashed<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.passed(&buf[..n]);
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_and_hashes_both_ways() {
        let want: [u8; 32] = Sha256::digest(b"kluis").into();
        let mut w = Hashed::new(Vec::new());
        w.write_all(b"klu").unwrap();
        w.write_all(b"is").unwrap();
        let (bytes, (len, hash)) = w.into_parts();
        assert_eq!((bytes.as_slice(), len, hash), (&b"kluis"[..], 5, want));
        let mut r = Hashed::new(&b"kluis"[..]);
        io::copy(&mut r, &mut io::sink()).unwrap();
        assert_eq!(r.finish(), (5, want));
    }
}
