//! The organisation's signing key and its signatures, in minisign's file
//! formats (https://jedisct1.github.io/minisign/): an Ed25519 key with an
//! 8-byte key id, public keys as `untrusted comment:` + one base64 line,
//! signatures as four lines (a signature of the message, a trusted comment
//! and a signature over both).
//!
//! kluis signs in minisign's *legacy* mode (algorithm `Ed`: plain Ed25519
//! over the message itself, not over a BLAKE2b hash of it), because that is
//! what both Debian's `minisign -V` and OpenBSD `signify -V` check; the
//! tests run both on every kind of signature kluis makes. Messages are
//! streamed: signing reads the message twice (Ed25519 hashes it once for
//! the nonce and once for the challenge), verifying once, so a large
//! `SHA256SUMS` is never held in memory. It reads the prehashed `ED`
//! signatures stock `minisign` makes by default too.
//!
//! The secret key is kept as an unencrypted minisign secret key file (mode
//! 0600), so that stock `minisign -S -s FILE` can sign with it as well.

use std::cell::RefCell;
use std::fs::File;
use std::io::{self, Read};
use std::path::Path;

use age::secrecy::{ExposeSecret, SecretString};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use blake2::Digest as _;
use ed25519_dalek::hazmat::{ExpandedSecretKey, raw_sign_byupdate};
use ed25519_dalek::{Signer as _, Verifier as _};
use sha2::Sha512;

use crate::error::{Error, IoContext, Result};

/// The extension of a detached signature: `SHA256SUMS.minisig`.
pub const SIG_EXTENSION: &str = ".minisig";

const ALG_LEGACY: [u8; 2] = *b"Ed";
const ALG_PREHASHED: [u8; 2] = *b"ED";
const KDF_NONE: [u8; 2] = [0, 0];
const CHK_BLAKE2B: [u8; 2] = *b"B2";
const UNTRUSTED: &str = "untrusted comment: ";
const TRUSTED: &str = "trusted comment: ";
/// minisign refuses longer trusted comments.
const TRUSTED_MAX: usize = 8192;

type Blake2b256 = blake2::Blake2b<blake2::digest::consts::U32>;

/// minisign's key id: 8 bytes, shown as 16 uppercase hex digits of their
/// little-endian value (as `minisign` prints it).
fn key_id_text(id: &[u8; 8]) -> String {
    format!("{:016X}", u64::from_le_bytes(*id))
}

/// The public half: what verifies a signature, printed in every medium's
/// `README.txt` and kept in the vault's catalog.
#[derive(Clone, PartialEq, Eq)]
pub struct PublicKey {
    id: [u8; 8],
    key: ed25519_dalek::VerifyingKey,
}

impl std::fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "PublicKey({})", self.to_base64())
    }
}

impl PublicKey {
    /// The key id, e.g. `E216398C998CD932`.
    pub fn id(&self) -> String {
        key_id_text(&self.id)
    }

    /// The one-line form (`RWQ…`, 56 characters) that `minisign -P` takes.
    pub fn to_base64(&self) -> String {
        let mut bytes = Vec::with_capacity(42);
        bytes.extend_from_slice(&ALG_LEGACY);
        bytes.extend_from_slice(&self.id);
        bytes.extend_from_slice(self.key.as_bytes());
        B64.encode(bytes)
    }

    /// A public key file, as `minisign -G` writes it (`-p FILE` for both
    /// `minisign -V` and `signify -V`).
    pub fn to_file(&self) -> String {
        format!(
            "{UNTRUSTED}minisign public key {}\n{}\n",
            self.id(),
            self.to_base64()
        )
    }

    /// Reads a public key: a minisign or signify public key file, or its
    /// base64 line alone.
    ///
    /// # Errors
    /// A description of what is wrong, for the caller to name the source.
    pub fn parse(text: &str) -> std::result::Result<PublicKey, String> {
        let line = text
            .lines()
            .map(str::trim)
            .find(|l| !l.is_empty() && !l.starts_with(UNTRUSTED))
            .ok_or("holds no public key line")?;
        let bytes = B64
            .decode(line)
            .map_err(|_| "its key line is not base64".to_string())?;
        if bytes.len() != 42 || bytes[..2] != ALG_LEGACY {
            return Err("not a minisign or signify Ed25519 public key".into());
        }
        let key =
            ed25519_dalek::VerifyingKey::from_bytes(bytes[10..42].try_into().expect("32 bytes"))
                .map_err(|_| "not a valid Ed25519 public key".to_string())?;
        if key.is_weak() {
            return Err("a weak (small-order) Ed25519 key".into());
        }
        Ok(PublicKey {
            id: bytes[2..10].try_into().expect("8 bytes"),
            key,
        })
    }

    /// Checks `signature` (both its signature of the message and its
    /// trusted comment's) over the message read from `message`.
    ///
    /// # Errors
    /// [`Verdict::OtherKey`] when it was made with another key id,
    /// [`Verdict::Bad`] when it does not match, I/O errors of `message` as
    /// [`Verdict::Unreadable`].
    pub fn verify(&self, signature: &Signature, message: &mut dyn Read) -> Verdict {
        if signature.key_id != self.id {
            return Verdict::OtherKey(signature.key_id());
        }
        let sig = ed25519_dalek::Signature::from_bytes(&signature.sig);
        let mut buf = vec![0u8; 64 << 10];
        let checked = if signature.alg == ALG_LEGACY {
            let Ok(mut stream) = self.key.verify_stream(&sig) else {
                return Verdict::Bad;
            };
            match feed(message, &mut buf, |chunk| stream.update(chunk)) {
                Err(e) => return Verdict::Unreadable(e.to_string()),
                Ok(()) => stream.finalize_and_verify().is_ok(),
            }
        } else {
            let mut hasher = blake2::Blake2b512::new();
            match feed(message, &mut buf, |chunk| hasher.update(chunk)) {
                Err(e) => return Verdict::Unreadable(e.to_string()),
                Ok(()) => self.key.verify(&hasher.finalize(), &sig).is_ok(),
            }
        };
        if !checked {
            return Verdict::Bad;
        }
        let mut global = Vec::with_capacity(64 + signature.trusted_comment.len());
        global.extend_from_slice(&signature.sig);
        global.extend_from_slice(signature.trusted_comment.as_bytes());
        match self.key.verify_strict(
            &global,
            &ed25519_dalek::Signature::from_bytes(&signature.global_sig),
        ) {
            Ok(()) => Verdict::Good,
            Err(_) => Verdict::Bad,
        }
    }
}

/// The outcome of checking one signature with one key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Made by this key over exactly this message and trusted comment.
    Good,
    /// Made by another key (its id).
    OtherKey(String),
    /// Made with this key's id, but it does not match the message or its
    /// trusted comment: altered, or forged.
    Bad,
    /// The message could not be read to the end.
    Unreadable(String),
}

fn feed(message: &mut dyn Read, buf: &mut [u8], mut update: impl FnMut(&[u8])) -> io::Result<()> {
    loop {
        match message.read(buf) {
            Ok(0) => return Ok(()),
            Ok(n) => update(&buf[..n]),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
}

/// The organisation's secret signing key.
pub struct SigningKey {
    id: [u8; 8],
    key: ed25519_dalek::SigningKey,
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SigningKey({}, secret not shown)", self.public().id())
    }
}

impl SigningKey {
    /// A new random key with a random key id.
    pub fn generate() -> SigningKey {
        let mut seed = [0u8; 32];
        let mut id = [0u8; 8];
        getrandom::fill(&mut seed).expect("the operating system's random source failed");
        getrandom::fill(&mut id).expect("the operating system's random source failed");
        let key = ed25519_dalek::SigningKey::from_bytes(&seed);
        age::secrecy::zeroize::Zeroize::zeroize(&mut seed);
        SigningKey { id, key }
    }

    pub fn public(&self) -> PublicKey {
        PublicKey {
            id: self.id,
            key: self.key.verifying_key(),
        }
    }

    /// The secret key file: minisign's secret key format, unencrypted
    /// (key derivation `0x0000`, as `minisign -G -W` makes), with its
    /// BLAKE2b checksum.
    pub fn to_file(&self) -> SecretString {
        let keypair = self.key.to_keypair_bytes();
        let mut chk = Blake2b256::new();
        chk.update(ALG_LEGACY);
        chk.update(self.id);
        chk.update(keypair);
        let mut bytes = Vec::with_capacity(158);
        bytes.extend_from_slice(&ALG_LEGACY);
        bytes.extend_from_slice(&KDF_NONE);
        bytes.extend_from_slice(&CHK_BLAKE2B);
        bytes.extend_from_slice(&[0u8; 32 + 8 + 8]); // salt, opslimit, memlimit
        bytes.extend_from_slice(&self.id);
        bytes.extend_from_slice(&keypair);
        bytes.extend_from_slice(&chk.finalize());
        let text = format!(
            "{UNTRUSTED}minisign secret key {} (kluis signing key; unencrypted: keep it private)\n{}\n",
            self.public().id(),
            B64.encode(&bytes)
        );
        age::secrecy::zeroize::Zeroize::zeroize(&mut bytes);
        SecretString::from(text)
    }

    /// Reads an unencrypted minisign secret key file.
    ///
    /// # Errors
    /// A description of what is wrong (encrypted keys are not supported:
    /// kluis signs unattended).
    pub fn from_file_text(text: &str) -> std::result::Result<SigningKey, String> {
        let line = text
            .lines()
            .map(str::trim)
            .find(|l| !l.is_empty() && !l.starts_with(UNTRUSTED))
            .ok_or("holds no key line")?;
        let mut bytes = B64
            .decode(line)
            .map_err(|_| "its key line is not base64".to_string())?;
        let result = (|| {
            if bytes.len() != 158 || bytes[..2] != ALG_LEGACY || bytes[4..6] != CHK_BLAKE2B {
                return Err("not a minisign Ed25519 secret key".to_string());
            }
            if bytes[2..4] != KDF_NONE {
                return Err(
                    "an encrypted (password-protected) minisign key; kluis needs an unencrypted one"
                        .into(),
                );
            }
            let id: [u8; 8] = bytes[54..62].try_into().expect("8 bytes");
            let keypair: [u8; 64] = bytes[62..126].try_into().expect("64 bytes");
            let mut chk = Blake2b256::new();
            chk.update(ALG_LEGACY);
            chk.update(id);
            chk.update(keypair);
            // `minisign -G -W` leaves the checksum of an unencrypted key
            // zero; kluis writes it.
            let stored = &bytes[126..158];
            if stored != chk.finalize().as_slice() && stored.iter().any(|&b| b != 0) {
                return Err("its checksum does not match (the key is damaged)".into());
            }
            let key = ed25519_dalek::SigningKey::from_keypair_bytes(&keypair)
                .map_err(|_| "its public half does not match its secret half".to_string())?;
            Ok(SigningKey { id, key })
        })();
        age::secrecy::zeroize::Zeroize::zeroize(&mut bytes);
        result
    }

    /// Reads the secret key file at `path`.
    ///
    /// # Errors
    /// A file other users can read is refused (`chmod 600`).
    pub fn read(path: &Path) -> Result<SigningKey> {
        super::age::check_private(
            path,
            0o077,
            "this signing key can be read by other users of this machine; make it private with `chmod 600` first",
        )?;
        let mut text = String::new();
        File::open(path)
            .and_then(|mut f| f.read_to_string(&mut text))
            .at(path)?;
        let key = SigningKey::from_file_text(&text);
        age::secrecy::zeroize::Zeroize::zeroize(&mut text);
        key.map_err(|detail| Error::Key {
            what: path.display().to_string(),
            detail,
        })
    }

    /// Writes the secret key file (mode 0600, never over an existing file).
    pub fn write_new(&self, path: &Path) -> Result<()> {
        super::age::write_private(path, self.to_file().expose_secret().as_bytes())
    }

    /// Signs `message` (in memory).
    pub fn sign(&self, message: &[u8], trusted_comment: &str) -> Signature {
        self.sign_stream(|| Ok(message), trusted_comment)
            .expect("reading a slice cannot fail")
    }

    /// Signs the message that `open` yields, reading it twice; checks the
    /// result once more against a third reading.
    ///
    /// # Errors
    /// An I/O error of `open` or its reader, or `InvalidData` when two
    /// readings differ (the signature would not be valid).
    ///
    /// # Panics
    /// When `trusted_comment` holds a line break or is longer than
    /// minisign accepts (a programming error).
    pub fn sign_stream<R: Read>(
        &self,
        mut open: impl FnMut() -> io::Result<R>,
        trusted_comment: &str,
    ) -> io::Result<Signature> {
        assert!(
            !trusted_comment.contains(['\n', '\r']) && trusted_comment.len() <= TRUSTED_MAX,
            "trusted comment must be one line"
        );
        let expanded = ExpandedSecretKey::from(&self.key.to_bytes());
        let failure: RefCell<Option<io::Error>> = RefCell::new(None);
        let open = RefCell::new(&mut open);
        let sig = raw_sign_byupdate::<Sha512, _>(
            &expanded,
            |hasher: &mut Sha512| {
                let mut buf = vec![0u8; 64 << 10];
                let result = (open.borrow_mut())()
                    .and_then(|mut r| feed(&mut r, &mut buf, |chunk| hasher.update(chunk)));
                result.map_err(|e| {
                    *failure.borrow_mut() = Some(e);
                    ed25519_dalek::SignatureError::new()
                })
            },
            &self.key.verifying_key(),
        );
        if let Some(e) = failure.into_inner() {
            return Err(e);
        }
        let sig = sig.map_err(io::Error::other)?.to_bytes();
        let mut global = Vec::with_capacity(64 + trusted_comment.len());
        global.extend_from_slice(&sig);
        global.extend_from_slice(trusted_comment.as_bytes());
        let signature = Signature {
            untrusted_comment: format!("signature from kluis signing key {}", self.public().id()),
            alg: ALG_LEGACY,
            key_id: self.id,
            sig,
            trusted_comment: trusted_comment.to_owned(),
            global_sig: self.key.sign(&global).to_bytes(),
        };
        let mut again = (open.borrow_mut())()?;
        match self.public().verify(&signature, &mut again) {
            Verdict::Good => Ok(signature),
            Verdict::Unreadable(e) => Err(io::Error::other(e)),
            _ => Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "the message changed while it was signed",
            )),
        }
    }
}

/// A minisign signature file (`.minisig`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Signature {
    pub untrusted_comment: String,
    alg: [u8; 2],
    key_id: [u8; 8],
    sig: [u8; 64],
    /// Signed together with the signature: says what was signed, by whom,
    /// when.
    pub trusted_comment: String,
    global_sig: [u8; 64],
}

impl Signature {
    /// The id of the key that made it.
    pub fn key_id(&self) -> String {
        key_id_text(&self.key_id)
    }

    /// Whether it is in the legacy (`Ed`) mode that signify checks too.
    pub fn is_legacy(&self) -> bool {
        self.alg == ALG_LEGACY
    }

    /// The four lines of a `.minisig` file.
    pub fn to_text(&self) -> String {
        let mut first = Vec::with_capacity(74);
        first.extend_from_slice(&self.alg);
        first.extend_from_slice(&self.key_id);
        first.extend_from_slice(&self.sig);
        format!(
            "{UNTRUSTED}{}\n{}\n{TRUSTED}{}\n{}\n",
            self.untrusted_comment,
            B64.encode(first),
            self.trusted_comment,
            B64.encode(self.global_sig)
        )
    }

    /// Reads a `.minisig` file.
    ///
    /// # Errors
    /// A description of what is wrong with it.
    pub fn parse(text: &str) -> std::result::Result<Signature, String> {
        if text.len() > 2 * TRUSTED_MAX + 1024 {
            return Err("too large for a minisign signature".into());
        }
        let mut lines = text.lines();
        let mut next = |what: &str| {
            lines
                .next()
                .map(|l| l.trim_end_matches('\r'))
                .ok_or_else(|| format!("ends before its {what} line"))
        };
        let untrusted = next("comment")?
            .strip_prefix(UNTRUSTED)
            .ok_or("does not start with `untrusted comment:`")?
            .to_owned();
        let first = B64
            .decode(next("signature")?.trim())
            .map_err(|_| "its signature line is not base64".to_string())?;
        if first.len() != 74 || (first[..2] != ALG_LEGACY && first[..2] != ALG_PREHASHED) {
            return Err("not a minisign Ed25519 signature".into());
        }
        let trusted = next("trusted comment")?
            .strip_prefix(TRUSTED)
            .ok_or("has no `trusted comment:` line (a signify signature? kluis writes minisign's, which signify reads too)")?
            .to_owned();
        let global = B64
            .decode(next("global signature")?.trim())
            .map_err(|_| "its last line is not base64".to_string())?;
        let global_sig: [u8; 64] = global
            .try_into()
            .map_err(|_| "its last line is not a signature".to_string())?;
        Ok(Signature {
            untrusted_comment: untrusted,
            alg: first[..2].try_into().expect("2 bytes"),
            key_id: first[2..10].try_into().expect("8 bytes"),
            sig: first[10..74].try_into().expect("64 bytes"),
            trusted_comment: trusted,
            global_sig,
        })
    }

    /// The trusted comment's `key:value` fields (tab-separated, as
    /// minisign's own `timestamp:…\tfile:…`).
    pub fn field(&self, key: &str) -> Option<&str> {
        self.trusted_comment
            .split('\t')
            .find_map(|f| f.strip_prefix(key)?.strip_prefix(':'))
    }
}

/// One trusted-comment field value: tabs and line breaks become spaces.
pub fn comment_value(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signs_and_verifies_and_refuses_changes() {
        let key = SigningKey::generate();
        let public = key.public();
        let s = key.sign(b"hello\n", "timestamp:1\tfile:x");
        assert!(s.is_legacy());
        assert_eq!(s.field("file"), Some("x"));
        let again = Signature::parse(&s.to_text()).unwrap();
        assert_eq!(again, s);
        assert_eq!(public.verify(&again, &mut &b"hello\n"[..]), Verdict::Good);
        assert_eq!(public.verify(&again, &mut &b"hellO\n"[..]), Verdict::Bad);
        let mut other = again.clone();
        other.trusted_comment.push('!');
        assert_eq!(public.verify(&other, &mut &b"hello\n"[..]), Verdict::Bad);
        let stranger = SigningKey::generate().public();
        assert!(matches!(
            stranger.verify(&again, &mut &b"hello\n"[..]),
            Verdict::OtherKey(_)
        ));
    }

    #[test]
    fn key_files_round_trip() {
        let key = SigningKey::generate();
        let text = key.to_file();
        let back = SigningKey::from_file_text(text.expose_secret()).unwrap();
        assert_eq!(back.public(), key.public());
        assert_eq!(
            PublicKey::parse(&key.public().to_file()).unwrap(),
            key.public()
        );
        assert_eq!(
            PublicKey::parse(&key.public().to_base64()).unwrap(),
            key.public()
        );
        assert_eq!(key.public().to_base64().len(), 56);
        // One changed character of the key line is found.
        let mut damaged = text.expose_secret().to_owned();
        let at = damaged.find('\n').unwrap() + 120;
        let c = if &damaged[at..at + 1] == "A" {
            "B"
        } else {
            "A"
        };
        damaged.replace_range(at..at + 1, c);
        assert!(SigningKey::from_file_text(&damaged).is_err());
    }

    #[test]
    fn streamed_signing_reads_the_message_again() {
        let key = SigningKey::generate();
        let big = vec![7u8; 300_000];
        let s = key.sign_stream(|| Ok(&big[..]), "t").unwrap();
        assert_eq!(key.sign(&big, "t").sig, s.sig); // Ed25519 is deterministic
        let mut n = 0;
        let changing = key.sign_stream(
            || {
                n += 1;
                Ok(if n == 2 { &b"b"[..] } else { &b"a"[..] })
            },
            "t",
        );
        assert!(changing.is_err());
    }
}
