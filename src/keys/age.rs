//! age identities and recipients: creating a key, reading identity,
//! recipient and passphrase files, and checking that a key opens an archive.

use std::fs::{File, OpenOptions};
use std::io::{BufReader, Read, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::str::FromStr;

use age::secrecy::{ExposeSecret, SecretString};

use crate::error::{Error, IoContext, Result};

pub type Recipient = Box<dyn age::Recipient + Send>;

/// The identities a command was given: identity files and, optionally, a
/// passphrase.
/// Cheap to clone: a reader reopens an archive with them after damage.
#[derive(Clone, Default)]
pub struct Identities {
    list: Vec<std::sync::Arc<dyn age::Identity + Send + Sync>>,
    passphrase: bool,
}

impl Identities {
    /// Reads age identity files (`AGE-SECRET-KEY-1…` lines) or OpenSSH
    /// private keys.
    ///
    /// # Errors
    /// A file readable by other users is refused: a secret key must be
    /// private (`chmod 600 FILE`).
    pub fn add_file(&mut self, path: &Path) -> Result<()> {
        check_private(
            path,
            0o004,
            "this identity file is readable by every user of this machine; make it private with `chmod 600` first",
        )?;
        let mut text = Vec::new();
        File::open(path).at(path)?.read_to_end(&mut text).at(path)?;
        let bad = |detail: String| Error::Key {
            what: path.display().to_string(),
            detail,
        };
        if text.starts_with(b"-----BEGIN OPENSSH PRIVATE KEY-----")
            || text.starts_with(b"-----BEGIN RSA PRIVATE KEY-----")
        {
            let identity =
                age::ssh::Identity::from_buffer(&text[..], Some(path.display().to_string()))
                    .map_err(|e| bad(format!("not a usable ssh key: {e}")))?;
            if !matches!(identity, age::ssh::Identity::Unencrypted(_)) {
                return Err(bad(
                    "encrypted or unsupported ssh keys are not supported; use an age identity file"
                        .into(),
                ));
            }
            self.list.push(std::sync::Arc::new(identity));
            return Ok(());
        }
        let file = age::IdentityFile::from_buffer(&text[..])
            .map_err(|e| bad(format!("not an age identity file: {e}")))?;
        let identities = file.into_identities().map_err(|e| bad(e.to_string()))?;
        if identities.is_empty() {
            return Err(bad(
                "holds no identity (expected a line starting with AGE-SECRET-KEY-1)".into(),
            ));
        }
        self.list
            .extend(identities.into_iter().map(std::sync::Arc::from));
        Ok(())
    }

    pub fn add_passphrase(&mut self, passphrase: SecretString) {
        self.list
            .push(std::sync::Arc::new(age::scrypt::Identity::new(passphrase)));
        self.passphrase = true;
    }

    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    pub fn has_passphrase(&self) -> bool {
        self.passphrase
    }

    pub fn as_slice(&self) -> &[std::sync::Arc<dyn age::Identity + Send + Sync>] {
        &self.list
    }
}

/// Parses one recipient: `age1…` (X25519) or an OpenSSH public key line.
pub fn parse_recipient(text: &str) -> Result<Recipient> {
    let text = text.trim();
    if let Ok(r) = age::x25519::Recipient::from_str(text) {
        return Ok(Box::new(r));
    }
    if let Ok(r) = age::ssh::Recipient::from_str(text) {
        return Ok(Box::new(r));
    }
    Err(Error::Key {
        what: format!("recipient {text:?}"),
        detail: "not an age recipient (age1…) or a supported ssh public key".into(),
    })
}

/// Reads an age recipients file: one recipient per line, `#` comments and
/// blank lines ignored. Returns each recipient's text.
pub fn read_recipients_file(path: &Path) -> Result<Vec<String>> {
    let text = std::fs::read_to_string(path).at(path)?;
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        parse_recipient(line).map_err(|e| Error::Key {
            what: format!("{} line {}", path.display(), n + 1),
            detail: e.to_string(),
        })?;
        out.push(line.to_owned());
    }
    if out.is_empty() {
        return Err(Error::Key {
            what: path.display().to_string(),
            detail: "holds no recipient".into(),
        });
    }
    Ok(out)
}

/// Reads a passphrase from the first line of a file (without its newline).
pub fn read_passphrase_file(path: &Path) -> Result<SecretString> {
    use age::secrecy::zeroize::Zeroize;
    let mut text = std::fs::read_to_string(path).at(path)?;
    let line = text.lines().next().unwrap_or("").to_owned();
    text.zeroize();
    if line.is_empty() {
        return Err(Error::Key {
            what: path.display().to_string(),
            detail: "the passphrase file is empty".into(),
        });
    }
    Ok(SecretString::from(line))
}

/// A new X25519 identity: the identity file's text (age-keygen's layout)
/// and its recipient.
pub fn generate() -> (SecretString, String) {
    let identity = age::x25519::Identity::generate();
    let recipient = identity.to_public().to_string();
    let created = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let text = format!(
        "# created: {created}\n# public key: {recipient}\n# kluis identity: keep a copy offline (on paper too); without it no archive can be opened.\n{}\n",
        identity.to_string().expose_secret()
    );
    (SecretString::from(text), recipient)
}

/// Writes a new identity to `path` (mode 0600, never overwriting); returns
/// its recipient.
pub fn write_new_identity(path: &Path) -> Result<String> {
    let (text, recipient) = generate();
    write_private(path, text.expose_secret().as_bytes())?;
    Ok(recipient)
}

/// Creates `path` with mode 0600 holding `bytes`, synced; refuses to
/// overwrite a file that is there.
pub fn write_private(path: &Path, bytes: &[u8]) -> Result<()> {
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::AlreadyExists => Error::WouldOverwrite { path: path.into() },
            _ => Error::io(path, e),
        })?;
    file.write_all(bytes).at(path)?;
    file.sync_all().at(path)
}

/// Refuses a secret file whose permission bits grant any of `mask`
/// (e.g. `0o077`: anyone but the owner) with `refusal` as the reason.
pub(crate) fn check_private(path: &Path, mask: u32, refusal: &str) -> Result<()> {
    let meta = std::fs::metadata(path).at(path)?;
    if meta.permissions().mode() & mask != 0 {
        return Err(Error::Key {
            what: path.display().to_string(),
            detail: refusal.into(),
        });
    }
    Ok(())
}

/// Whether `identities` open the archive at `path`: unwraps the file key
/// from the header only; no payload is decrypted.
pub fn check(path: &Path, identities: &Identities) -> Result<()> {
    let file = File::open(path).at(path)?;
    let decryptor =
        age::Decryptor::new_buffered(BufReader::new(file)).map_err(|e| header_error(path, e))?;
    if decryptor.is_scrypt() && !identities.has_passphrase() {
        return Err(Error::NeedsPassphrase { path: path.into() });
    }
    let scrypt = decryptor.is_scrypt();
    decryptor
        .decrypt(identities.as_slice().iter().map(|i| i.as_ref() as _))
        .map(drop)
        .map_err(|e| map_decrypt_error(path, scrypt, e))
}

/// An age header that cannot be parsed: a file cut inside its header is
/// damage; anything else is not an age file at all.
pub(crate) fn header_error(path: &Path, e: age::DecryptError) -> Error {
    let starts_like_age = std::fs::File::open(path)
        .and_then(|mut f| {
            let mut head = [0u8; 21];
            let n = f.read(&mut head)?;
            Ok(n > 0 && b"age-encryption.org/v1"[..n] == head[..n])
        })
        .unwrap_or(false);
    match e {
        age::DecryptError::Io(io)
            if io.kind() == std::io::ErrorKind::UnexpectedEof && starts_like_age =>
        {
            Error::Damaged {
                path: path.into(),
                detail: "the file ends inside its age header (truncated)".into(),
            }
        }
        other => Error::NotAnArchive {
            path: path.into(),
            reason: format!("not an age-encrypted file: {other}"),
        },
    }
}

pub(crate) fn map_decrypt_error(path: &Path, scrypt: bool, e: age::DecryptError) -> Error {
    let path: PathBuf = path.into();
    match e {
        age::DecryptError::NoMatchingKeys | age::DecryptError::KeyDecryptionFailed => {
            Error::WrongKey { path }
        }
        age::DecryptError::DecryptionFailed if scrypt => Error::WrongKey { path },
        // The file starts like age (it was parsed), but a stanza does not.
        age::DecryptError::InvalidHeader => Error::Damaged {
            path,
            detail: "its age header is damaged (a recipient stanza does not parse)".into(),
        },
        age::DecryptError::InvalidMac => Error::Damaged {
            path,
            detail: "the age header does not authenticate".into(),
        },
        age::DecryptError::Io(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
            Error::Damaged {
                path,
                detail: "the file ends inside its header (truncated)".into(),
            }
        }
        age::DecryptError::Io(e) => Error::io(path, e),
        other => Error::Key {
            what: path.display().to_string(),
            detail: other.to_string(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_identity_round_trips() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("key.txt");
        let recipient = write_new_identity(&path).unwrap();
        assert!(recipient.starts_with("age1"));
        assert_eq!(
            std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o600
        );
        assert!(matches!(
            write_new_identity(&path),
            Err(Error::WouldOverwrite { .. })
        ));
        let mut ids = Identities::default();
        ids.add_file(&path).unwrap();
        assert!(!ids.is_empty());
        parse_recipient(&recipient).unwrap();
    }

    #[test]
    fn world_readable_identity_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("key.txt");
        write_new_identity(&path).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        let err = Identities::default().add_file(&path).unwrap_err();
        assert!(err.to_string().contains("chmod 600"), "{err}");
    }

    #[test]
    fn recipients_file_skips_comments_and_rejects_garbage() {
        let dir = tempfile::tempdir().unwrap();
        let (_, r) = generate();
        let good = dir.path().join("r.txt");
        std::fs::write(&good, format!("# owner\n\n{r}\n")).unwrap();
        assert_eq!(read_recipients_file(&good).unwrap(), vec![r]);
        let bad = dir.path().join("bad.txt");
        std::fs::write(&bad, "age1nope\n").unwrap();
        assert!(
            read_recipients_file(&bad)
                .unwrap_err()
                .to_string()
                .contains("line 1")
        );
    }
}
