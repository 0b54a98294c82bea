//! The SHA-256 of an archive file taken from the bytes its readers read
//! anyway: a full check reads the whole file in order once, so the quick
//! check's hash of the ciphertext needs no second read (`verify -i`). The
//! hash itself is taken on a thread of its own ([`Sha256Beside`]): the
//! reading thread also decrypts and decompresses, and is the full check's
//! bottleneck.

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::path::Path;
use std::sync::{Arc, Mutex};

use crate::error::{IoContext, Result};
use crate::util::hashing::Sha256Beside;

/// Hashes the bytes of one file as readers read them: each read that
/// extends the part hashed so far (from the start, in order, without a
/// gap) is hashed; other reads (a seek to the end, a read again) are not.
/// [`FileHash::finish`] reads whatever no reader did.
#[derive(Default)]
pub struct FileHash {
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    /// Started by the first bytes fed (its thread with it).
    hasher: Option<Sha256Beside>,
    /// Bytes `0..until` are hashed.
    until: u64,
}

impl FileHash {
    pub fn new() -> Arc<FileHash> {
        Arc::new(FileHash::default())
    }

    /// `bytes` were read at file offset `pos`.
    pub(crate) fn feed(&self, pos: u64, bytes: &[u8]) {
        let mut s = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let end = pos + bytes.len() as u64;
        if pos <= s.until && end > s.until {
            let skip = (s.until - pos) as usize;
            s.hasher
                .get_or_insert_with(Sha256Beside::new)
                .update(&bytes[skip..]);
            s.until = end;
        }
    }

    /// How many bytes from the start are hashed so far.
    pub fn hashed(&self) -> u64 {
        self.state.lock().unwrap_or_else(|e| e.into_inner()).until
    }

    /// Reads and hashes the rest of `path` (what no reader read); returns
    /// the file's size and SHA-256.
    pub fn finish(&self, path: &Path) -> Result<(u64, [u8; 32])> {
        let mut s = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let mut file = File::open(path).at(path)?;
        file.seek(SeekFrom::Start(s.until)).at(path)?;
        let mut buf = vec![0u8; 1 << 20];
        loop {
            let n = match file.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(crate::error::Error::io(path, e)),
            };
            s.hasher
                .get_or_insert_with(Sha256Beside::new)
                .update(&buf[..n]);
            s.until += n as u64;
        }
        let hasher = s.hasher.take().unwrap_or_default();
        let size = std::mem::take(&mut s.until);
        Ok((size, hasher.finalize()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sha2::{Digest, Sha256};

    #[test]
    fn reads_in_any_order_hash_the_file_once() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        let data: Vec<u8> = (0..300_000u32).map(|i| (i * 7 % 251) as u8).collect();
        std::fs::write(&path, &data).unwrap();
        let h = FileHash::new();
        h.feed(0, &data[..100]);
        h.feed(250_000, &data[250_000..]); // a look at the end first
        h.feed(50, &data[50..5000]); // overlapping
        h.feed(5000, &data[5000..6000]);
        h.feed(7000, &data[7000..8000]); // a gap: not hashed
        assert_eq!(h.hashed(), 6000);
        let (size, hash) = h.finish(&path).unwrap();
        assert_eq!(size, data.len() as u64);
        assert_eq!(hash, <[u8; 32]>::from(Sha256::digest(&data)));
    }
}
