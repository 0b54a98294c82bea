//! Counting and hashing (SHA-256) the bytes that pass through a writer or
//! a reader, for the passes that must know what they wrote or read; and a
//! SHA-256 taken on a thread of its own, for a stream whose own thread is
//! busy.

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

/// A SHA-256 computed on a thread of its own: [`Sha256Beside::update`]
/// only copies the bytes into one of a few buffers of [`BESIDE_BUFFER`]
/// bytes and hands full ones over. For a thread that is the bottleneck of
/// its pipeline (`verify -i`'s reading thread, which also decrypts and
/// decompresses), this moves the hash to a core that has room.
pub struct Sha256Beside {
    current: Vec<u8>,
    full: Option<crossbeam_channel::Sender<Vec<u8>>>,
    empty: crossbeam_channel::Receiver<Vec<u8>>,
    thread: Option<std::thread::JoinHandle<Sha256>>,
}

/// The size of each buffer [`Sha256Beside`] hands over.
pub const BESIDE_BUFFER: usize = 1 << 20;

impl Default for Sha256Beside {
    fn default() -> Self {
        Self::new()
    }
}

impl Sha256Beside {
    pub fn new() -> Self {
        // In flight: the one being filled, and up to three being hashed or
        // waiting.
        const BUFFERS: usize = 4;
        let (full, to_hash) = crossbeam_channel::bounded::<Vec<u8>>(BUFFERS);
        let (back, empty) = crossbeam_channel::bounded(BUFFERS);
        for _ in 1..BUFFERS {
            back.send(Vec::with_capacity(BESIDE_BUFFER))
                .expect("the pool has room");
        }
        let thread = std::thread::spawn(move || {
            let mut hasher = Sha256::new();
            for mut buffer in to_hash {
                hasher.update(&buffer);
                buffer.clear();
                // Gone once the owner has finished: nothing to give back to.
                let _ = back.send(buffer);
            }
            hasher
        });
        Sha256Beside {
            current: Vec::with_capacity(BESIDE_BUFFER),
            full: Some(full),
            empty,
            thread: Some(thread),
        }
    }

    pub fn update(&mut self, mut bytes: &[u8]) {
        while !bytes.is_empty() {
            let take = (BESIDE_BUFFER - self.current.len()).min(bytes.len());
            self.current.extend_from_slice(&bytes[..take]);
            bytes = &bytes[take..];
            if self.current.len() == BESIDE_BUFFER {
                self.hand_over();
            }
        }
    }

    fn hand_over(&mut self) {
        // The hashing thread stops only when `full` closes (or on a panic,
        // which `finalize` reports).
        let next = self
            .empty
            .recv()
            .unwrap_or_else(|_| Vec::with_capacity(BESIDE_BUFFER));
        let buffer = std::mem::replace(&mut self.current, next);
        if let Some(full) = &self.full {
            let _ = full.send(buffer);
        }
    }

    /// The SHA-256 of every byte given.
    ///
    /// # Panics
    /// When the hashing thread panicked (a bug, never input).
    pub fn finalize(mut self) -> [u8; 32] {
        if !self.current.is_empty() {
            self.hand_over();
        }
        self.full = None;
        let thread = self.thread.take().expect("finalize runs once");
        thread
            .join()
            .expect("the hashing thread does not panic")
            .finalize()
            .into()
    }
}

impl Drop for Sha256Beside {
    fn drop(&mut self) {
        self.full = None;
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
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

    #[test]
    fn hashes_beside_as_in_line_whatever_the_pieces() {
        let data: Vec<u8> = (0..3 * BESIDE_BUFFER + 12345)
            .map(|i| (i * 7 % 251) as u8)
            .collect();
        let want: [u8; 32] = Sha256::digest(&data).into();
        for piece in [
            7,
            4096,
            BESIDE_BUFFER - 1,
            BESIDE_BUFFER,
            2 * BESIDE_BUFFER + 3,
        ] {
            let mut beside = Sha256Beside::new();
            for chunk in data.chunks(piece) {
                beside.update(chunk);
            }
            assert_eq!(beside.finalize(), want, "pieces of {piece}");
        }
        let empty: [u8; 32] = Sha256::digest(b"").into();
        assert_eq!(Sha256Beside::new().finalize(), empty);
    }
}
