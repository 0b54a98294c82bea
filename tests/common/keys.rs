//! Keys: identity files made by `kluis key new`, generated here or copied
//! from the test vectors, always with mode 0600 (kluis refuses identity files
//! others can read; git does not keep modes), and the ways a command is told
//! how to open an archive (`-i FILE` or `--passphrase-file FILE`).

use std::fs;
use std::io::Read;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use age::secrecy::ExposeSecret;
use kluis::keys::Identities;

use super::{Cmd, Env};

/// An identity file and its recipient.
#[derive(Clone, Debug)]
pub struct Key {
    pub path: PathBuf,
    pub recipient: String,
}

impl Key {
    /// A new X25519 identity written to `path` (mode 0600) by the test,
    /// not by the binary.
    pub fn generate(path: &Path) -> Key {
        let identity = age::x25519::Identity::generate();
        write_private(
            path,
            format!("{}\n", identity.to_string().expose_secret()).as_bytes(),
        );
        Key {
            path: path.into(),
            recipient: identity.to_public().to_string(),
        }
    }

    /// The identity file at `path`, its recipient worked out from it.
    pub fn load(path: &Path) -> Key {
        Key {
            path: path.into(),
            recipient: identity(path).to_public().to_string(),
        }
    }

    /// The library's view of the key: what `ArchiveReader::open` takes.
    pub fn identities(&self) -> Identities {
        let mut ids = Identities::default();
        ids.add_file(&self.path)
            .unwrap_or_else(|e| panic!("{}: {e}", self.path.display()));
        ids
    }

    /// The recipient, as the library's writer takes it.
    pub fn recipients(&self) -> Vec<Box<dyn age::Recipient + Send>> {
        vec![kluis::keys::parse_recipient(&self.recipient).unwrap()]
    }

    /// The X25519 identity in the file, for the `age` crate itself.
    pub fn identity(&self) -> age::x25519::Identity {
        identity(&self.path)
    }

    /// What the `age` crate itself decrypts `archive` to with this key:
    /// the zstd stream kluis encrypted.
    pub fn decrypt(&self, archive: &Path) -> Vec<u8> {
        let file = fs::File::open(archive).unwrap_or_else(|e| panic!("{}: {e}", archive.display()));
        let identity = self.identity();
        let mut out = Vec::new();
        age::Decryptor::new_buffered(std::io::BufReader::new(file))
            .unwrap()
            .decrypt(std::iter::once(&identity as &dyn age::Identity))
            .unwrap_or_else(|e| panic!("{}: {e}", archive.display()))
            .read_to_end(&mut out)
            .unwrap();
        out
    }
}

fn identity(path: &Path) -> age::x25519::Identity {
    let text = fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    text.lines()
        .find(|l| l.starts_with("AGE-SECRET-KEY-1"))
        .unwrap_or_else(|| panic!("{} holds no identity", path.display()))
        .parse()
        .unwrap()
}

impl AsRef<Path> for Key {
    fn as_ref(&self) -> &Path {
        &self.path
    }
}

impl Env {
    /// `kluis key new -o NAME`; the key is written inside the test folder.
    pub fn new_key(&self, name: &str) -> Key {
        let path = self.p(name);
        let run = self.kluis().args(["key", "new", "-o"]).arg(&path).run();
        run.ok();
        let recipient = run.stdout_text().trim().to_owned();
        assert!(recipient.starts_with("age1"), "{run}");
        Key { path, recipient }
    }

    /// A test folder with a key (`owner.key`) and a vault encrypting to it.
    pub fn ready() -> (Env, Key) {
        let env = Env::new();
        let key = env.new_key("owner.key");
        env.init(&[&key]);
        (env, key)
    }

    /// A private copy (mode 0600) of the committed test key `name` (in
    /// `tests/vectors/`), of the same name in the test folder.
    pub fn vector_key(&self, name: &str) -> Key {
        let path = self.p(name);
        copy_private(&vectors().join(name), &path);
        Key::load(&path)
    }

    /// [`Env::ready`] in an [`Env::unprivileged`] test folder; `None` (the
    /// test skips) where that is not possible.
    pub fn unprivileged_ready() -> Option<(Env, Key)> {
        let env = Env::unprivileged()?;
        let key = env.new_key("owner.key");
        env.init(&[&key]);
        Some((env, key))
    }

    /// A file holding `passphrase` (and a newline), for
    /// `--passphrase-file NAME`; returns NAME.
    pub fn passphrase_file<'a>(&self, name: &'a str, passphrase: &str) -> &'a str {
        fs::write(self.p(name), format!("{passphrase}\n")).unwrap();
        name
    }
}

/// The committed test vectors and their keys (`tests/vectors/`).
pub fn vectors() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/vectors")
}

/// Writes a file only its owner may read (mode 0600), making its parents.
pub fn write_private(path: &Path, data: &[u8]) {
    super::write_file(path, data, 0o600);
}

/// Copies `src` to `dst` with mode 0600 (identity files must be private;
/// git does not keep modes).
pub fn copy_private(src: &Path, dst: &Path) {
    fs::copy(src, dst).unwrap_or_else(|e| panic!("{}: {e}", src.display()));
    fs::set_permissions(dst, fs::Permissions::from_mode(0o600)).unwrap();
}

/// How a command opens an archive.
pub trait Opener {
    /// Adds the flags that say it.
    fn add_to(&self, cmd: Cmd) -> Cmd;
}

/// `-i KEY`.
impl Opener for Key {
    fn add_to(&self, cmd: Cmd) -> Cmd {
        cmd.arg("-i").arg(&self.path)
    }
}

/// `-i FILE`: any file given as an identity (which may not be one).
impl Opener for Path {
    fn add_to(&self, cmd: Cmd) -> Cmd {
        cmd.arg("-i").arg(self)
    }
}

impl Opener for PathBuf {
    fn add_to(&self, cmd: Cmd) -> Cmd {
        self.as_path().add_to(cmd)
    }
}

/// `--passphrase-file FILE` (relative to the test folder).
pub struct PassphraseFile<'a>(pub &'a str);

impl Opener for PassphraseFile<'_> {
    fn add_to(&self, cmd: Cmd) -> Cmd {
        cmd.args(["--passphrase-file", self.0])
    }
}

impl Cmd {
    /// `list OPENER ARCHIVE`.
    pub fn list(self, by: &(impl Opener + ?Sized), archive: impl AsRef<Path>) -> Cmd {
        by.add_to(self.arg("list")).arg(archive.as_ref())
    }

    /// `verify OPENER PATH` (an archive or a medium): the full check.
    pub fn verify(self, by: &(impl Opener + ?Sized), path: impl AsRef<Path>) -> Cmd {
        by.add_to(self.arg("verify")).arg(path.as_ref())
    }

    /// `verify PATH` without a key: sizes and SHA-256 against the medium's
    /// records.
    pub fn verify_without_key(self, path: impl AsRef<Path>) -> Cmd {
        self.arg("verify").arg(path.as_ref())
    }

    /// `restore OPENER ARCHIVE --to TARGET` (add patterns to restore only
    /// some records).
    pub fn restore(
        self,
        by: &(impl Opener + ?Sized),
        archive: impl AsRef<Path>,
        target: impl AsRef<Path>,
    ) -> Cmd {
        by.add_to(self.arg("restore"))
            .arg(archive.as_ref())
            .to(target.as_ref())
    }

    /// `key check OPENER ARCHIVE`.
    pub fn key_check(self, by: &(impl Opener + ?Sized), archive: impl AsRef<Path>) -> Cmd {
        by.add_to(self.args(["key", "check"])).arg(archive.as_ref())
    }
}

/// The same, on the test folder's `kluis`.
impl Env {
    pub fn list(&self, by: &(impl Opener + ?Sized), archive: impl AsRef<Path>) -> Cmd {
        self.kluis().list(by, archive)
    }

    pub fn verify(&self, by: &(impl Opener + ?Sized), path: impl AsRef<Path>) -> Cmd {
        self.kluis().verify(by, path)
    }

    pub fn verify_without_key(&self, path: impl AsRef<Path>) -> Cmd {
        self.kluis().verify_without_key(path)
    }

    pub fn restore(
        &self,
        by: &(impl Opener + ?Sized),
        archive: impl AsRef<Path>,
        target: impl AsRef<Path>,
    ) -> Cmd {
        self.kluis().restore(by, archive, target)
    }

    pub fn key_check(&self, by: &(impl Opener + ?Sized), archive: impl AsRef<Path>) -> Cmd {
        self.kluis().key_check(by, archive)
    }
}
