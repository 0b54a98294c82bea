//! The vault-side subject lookup (docs/SUBJECTS.md): for each archive, the
//! keyed hashes of every identifier its subject index holds, so that
//! "which years hold something about this person" needs no medium.
//!
//! `subjects/<archive-id>.key` holds the archive's HMAC key, age-encrypted
//! to the archive's recipients: a stolen vault alone confirms nothing.
//! `subjects/<archive-id>.hashes` holds a magic line, then the first 16
//! bytes of HMAC-SHA256(key, identifier key) of every distinct identifier,
//! sorted, fixed-size: a lookup is a binary search by position, in flat
//! memory, and the file grows with identifiers, never with rows.

use std::fs::{self, File};
use std::io::{BufReader, Read, Write};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use hmac::{Hmac, Mac};
use sha2::Sha256;

use super::Vault;
use super::media::{atomic_write, atomic_write_with};
use crate::error::{Error, IoContext, Result};
use crate::keys::{Identities, Recipient, header_error, map_decrypt_error};

/// The vault's folder of subject hashes.
pub const SUBJECTS_DIR: &str = "subjects";
const MAGIC: &[u8] = b"kluis subject hashes v1\n";
const HASH: usize = 16;

type HmacSha256 = Hmac<Sha256>;

fn hash(key: &[u8; 32], id: &str) -> [u8; HASH] {
    hash_with(&keyed(key), id)
}

/// The HMAC state after the key: cloned for each identifier, so that the
/// key is not hashed again for every one.
fn keyed(key: &[u8; 32]) -> HmacSha256 {
    <HmacSha256 as Mac>::new_from_slice(key).expect("any key length")
}

fn hash_with(keyed: &HmacSha256, id: &str) -> [u8; HASH] {
    let mut mac = keyed.clone();
    mac.update(id.as_bytes());
    let full = mac.finalize().into_bytes();
    full[..HASH].try_into().expect("16 of 32 bytes")
}

/// The files of one archive's hashes.
pub fn files(vault: &Vault, archive_id: &str) -> (PathBuf, PathBuf) {
    let dir = vault.dir.join(SUBJECTS_DIR);
    (
        dir.join(format!("{archive_id}.key")),
        dir.join(format!("{archive_id}.hashes")),
    )
}

/// Hashes sorted in memory at a time (1 MiB): a year of many identifiers
/// is held as sorted chunks, never copied into a larger buffer.
const HASHES_PER_CHUNK: usize = 1 << 16;

/// Collects an archive's identifiers while it is written: their hashes in
/// sorted chunks of fixed size, merged as the file is written.
pub struct HashesBuilder {
    key: [u8; 32],
    keyed: HmacSha256,
    chunks: Vec<Vec<[u8; HASH]>>,
}

impl Default for HashesBuilder {
    fn default() -> Self {
        Self::new()
    }
}

impl HashesBuilder {
    /// A builder with a fresh random key.
    pub fn new() -> HashesBuilder {
        let mut key = [0u8; 32];
        getrandom::fill(&mut key).expect("the system's random source works");
        HashesBuilder {
            key,
            keyed: keyed(&key),
            chunks: Vec::new(),
        }
    }

    /// An identifier (its key, `email:…`) the archive holds.
    pub fn add(&mut self, id: &str) {
        let full = self
            .chunks
            .last()
            .is_none_or(|c| c.len() == HASHES_PER_CHUNK);
        if full {
            if let Some(last) = self.chunks.last_mut() {
                last.sort_unstable();
            }
            self.chunks.push(Vec::with_capacity(HASHES_PER_CHUNK));
        }
        let last = self.chunks.last_mut().expect("a chunk");
        last.push(hash_with(&self.keyed, id));
    }

    /// Every hash once, in order: the sorted chunks merged.
    fn merged(
        &mut self,
        each: &mut dyn FnMut(&[u8; HASH]) -> std::io::Result<()>,
    ) -> std::io::Result<()> {
        use std::cmp::Reverse;
        use std::collections::BinaryHeap;
        if let Some(last) = self.chunks.last_mut() {
            last.sort_unstable();
        }
        let mut heads: BinaryHeap<Reverse<([u8; HASH], usize, usize)>> = self
            .chunks
            .iter()
            .enumerate()
            .filter(|(_, c)| !c.is_empty())
            .map(|(i, c)| Reverse((c[0], i, 0)))
            .collect();
        let mut previous: Option<[u8; HASH]> = None;
        while let Some(Reverse((h, chunk, at))) = heads.pop() {
            if previous != Some(h) {
                each(&h)?;
                previous = Some(h);
            }
            if let Some(next) = self.chunks[chunk].get(at + 1) {
                heads.push(Reverse((*next, chunk, at + 1)));
            }
        }
        Ok(())
    }

    /// Writes both files into the vault for the archive `archive_id`,
    /// durable, the key encrypted to `recipients`. Written before the
    /// catalog records the archive; files of an archive the catalog does
    /// not know are never read.
    ///
    /// # Errors
    /// A vault that cannot be written.
    pub fn write(
        mut self,
        vault: &Vault,
        archive_id: &str,
        recipients: &[Recipient],
    ) -> Result<()> {
        let dir = vault.dir.join(SUBJECTS_DIR);
        fs::create_dir_all(&dir).at(&dir)?;
        let (key_file, hashes_file) = files(vault, archive_id);
        let sealed = seal(&self.key, recipients, &key_file)?;
        atomic_write(&key_file, &sealed)?;
        atomic_write_with(&hashes_file, &mut |out| {
            out.write_all(MAGIC)?;
            self.merged(&mut |h| out.write_all(h))
        })
    }
}

/// One archive's hashes, opened with the key that decrypts its HMAC key.
pub struct Lookup {
    key: [u8; 32],
    file: File,
    path: PathBuf,
    count: u64,
}

impl Lookup {
    /// `None` when the vault holds no hashes for the archive (written
    /// before kluis indexed subjects, or destroyed).
    ///
    /// # Errors
    /// The wrong key, or damaged files.
    pub fn open(
        vault: &Vault,
        archive_id: &str,
        identities: &Identities,
    ) -> Result<Option<Lookup>> {
        let (key_file, hashes_file) = files(vault, archive_id);
        if !key_file.exists() || !hashes_file.exists() {
            return Ok(None);
        }
        let key = decrypt_key(&key_file, identities)?;
        let file = File::open(&hashes_file).at(&hashes_file)?;
        let len = file.metadata().at(&hashes_file)?.len();
        let mut magic = vec![0u8; MAGIC.len()];
        let damaged = |detail: &str| Error::Damaged {
            path: hashes_file.clone(),
            detail: detail.into(),
        };
        if file.read_exact_at(&mut magic, 0).is_err() || magic != MAGIC {
            return Err(damaged("it does not start as kluis's subject hashes do"));
        }
        let body = len - MAGIC.len() as u64;
        if !body.is_multiple_of(HASH as u64) {
            return Err(damaged("its length is not a whole number of hashes"));
        }
        Ok(Some(Lookup {
            key,
            file,
            path: hashes_file,
            count: body / HASH as u64,
        }))
    }

    /// How many distinct identifiers the archive holds.
    pub fn count(&self) -> u64 {
        self.count
    }

    /// Whether the archive holds the identifier (its key): a binary search
    /// reading about log2(n) hashes.
    ///
    /// # Errors
    /// A read of the file failed.
    pub fn contains(&self, id: &str) -> Result<bool> {
        let want = hash(&self.key, id);
        let (mut lo, mut hi) = (0u64, self.count);
        let mut got = [0u8; HASH];
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            self.file
                .read_exact_at(&mut got, MAGIC.len() as u64 + mid * HASH as u64)
                .at(&self.path)?;
            match got.cmp(&want) {
                std::cmp::Ordering::Less => lo = mid + 1,
                std::cmp::Ordering::Greater => hi = mid,
                std::cmp::Ordering::Equal => return Ok(true),
            }
        }
        Ok(false)
    }
}

fn seal(key: &[u8; 32], recipients: &[Recipient], path: &Path) -> Result<Vec<u8>> {
    let mut sealed = Vec::new();
    let mut w = age::Encryptor::with_recipients(
        recipients.iter().map(|r| r.as_ref() as &dyn age::Recipient),
    )
    .map_err(|e| Error::Usage(format!("no recipient to encrypt to: {e}")))?
    .wrap_output(&mut sealed)
    .at(path)?;
    w.write_all(key).at(path)?;
    w.finish().at(path)?;
    Ok(sealed)
}

/// Seals an archive's HMAC key to new recipients (after `kluis rekey`),
/// opening it with `identities`. Nothing to do when the vault has no
/// hashes of the archive, or when `identities` no longer open the key (a
/// rekey resumed after it was resealed).
///
/// # Errors
/// A damaged key file, or a vault that cannot be written.
pub fn reseal(
    vault: &Vault,
    archive_id: &str,
    identities: &Identities,
    recipients: &[Recipient],
) -> Result<()> {
    let (key_file, _) = files(vault, archive_id);
    if !key_file.exists() {
        return Ok(());
    }
    let key = match decrypt_key(&key_file, identities) {
        Ok(k) => k,
        Err(Error::WrongKey { .. } | Error::NeedsPassphrase { .. }) => return Ok(()),
        Err(e) => return Err(e),
    };
    atomic_write(&key_file, &seal(&key, recipients, &key_file)?)
}

fn decrypt_key(path: &Path, identities: &Identities) -> Result<[u8; 32]> {
    let file = File::open(path).at(path)?;
    let decryptor =
        age::Decryptor::new_buffered(BufReader::new(file)).map_err(|e| header_error(path, e))?;
    if decryptor.is_scrypt() && !identities.has_passphrase() {
        return Err(Error::NeedsPassphrase { path: path.into() });
    }
    let scrypt = decryptor.is_scrypt();
    let mut reader = decryptor
        .decrypt(identities.as_slice().iter().map(|i| i.as_ref() as _))
        .map_err(|e| map_decrypt_error(path, scrypt, e))?;
    let mut key = Vec::new();
    reader
        .by_ref()
        .take(64)
        .read_to_end(&mut key)
        .map_err(|e| Error::Damaged {
            path: path.into(),
            detail: format!("it does not decrypt: {e}"),
        })?;
    key.try_into().map_err(|_| Error::Damaged {
        path: path.into(),
        detail: "it does not hold a 32-byte key".into(),
    })
}

/// Removes an archive's hashes (when no copy of it is left).
///
/// # Errors
/// A file that cannot be removed.
pub fn remove(vault: &Vault, archive_id: &str) -> Result<()> {
    let (key_file, hashes_file) = files(vault, archive_id);
    for f in [hashes_file, key_file] {
        match fs::remove_file(&f) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(Error::io(f, e)),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_merge_into_one_sorted_list_without_repeats() {
        let mut b = HashesBuilder::new();
        let n = HASHES_PER_CHUNK * 2 + 100;
        for i in 0..n {
            b.add(&format!("email:k{}@x.nl", i % (n - 50)));
        }
        assert_eq!(b.chunks.len(), 3);
        let mut out: Vec<[u8; HASH]> = Vec::new();
        b.merged(&mut |h| {
            out.push(*h);
            Ok(())
        })
        .unwrap();
        assert_eq!(out.len(), n - 50);
        assert!(out.windows(2).all(|w| w[0] < w[1]));
        assert!(out.contains(&hash(&b.key, "email:k7@x.nl")));
    }

    #[test]
    fn hashes_are_keyed_and_the_builder_agrees_with_a_lookup() {
        let mut b = HashesBuilder::new();
        b.add("email:jan@example.nl");
        assert_eq!(b.chunks[0][0], hash(&b.key, "email:jan@example.nl"));
        let other = [7u8; 32];
        assert_ne!(
            hash(&b.key, "email:jan@example.nl"),
            hash(&other, "email:jan@example.nl")
        );
        assert_ne!(
            hash(&b.key, "email:jan@example.nl"),
            hash(&b.key, "email:jan@example.nk")
        );
    }
}
