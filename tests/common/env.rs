//! One test's world: a temporary folder holding the vault, keys, sources and
//! media, and the real `kluis` binary run inside it. Nothing outside the
//! folder is touched (HOME points inside too).

use std::ffi::OsStr;
use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use super::run::Cmd;

/// The binary under test.
pub const BIN: &str = env!("CARGO_BIN_EXE_kluis");

/// The user id the "unprivileged" tests drop to when they run as root.
pub const NOBODY: u32 = 65534;

/// One test's temporary folder.
pub struct Env {
    /// Deleted when the environment is dropped (none for [`Env::kept`]).
    tmp: Option<tempfile::TempDir>,
    root: PathBuf,
    /// Run the binary as this uid/gid (through `setpriv`) instead of as us.
    user: Option<u32>,
}

impl Default for Env {
    fn default() -> Self {
        Self::new()
    }
}

impl Env {
    pub fn new() -> Env {
        let tmp = tempfile::Builder::new()
            .prefix("kluis-test-")
            .tempdir()
            .expect("temporary folder");
        fs::create_dir(tmp.path().join("home")).unwrap();
        Env {
            root: tmp.path().to_path_buf(),
            tmp: Some(tmp),
            user: None,
        }
    }

    /// A test folder that outlives the test, for a fixture several tests
    /// share (a `static` is never dropped, so a temporary folder would pile
    /// up): `name` below cargo's temporary folder for integration tests,
    /// emptied first.
    pub fn kept(name: &str) -> Env {
        let root = Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
        if root.exists() {
            make_writable(&root);
            fs::remove_dir_all(&root).unwrap();
        }
        fs::create_dir_all(root.join("home")).unwrap();
        Env {
            tmp: None,
            root,
            user: None,
        }
    }

    /// An environment whose commands cannot read a mode-000 file or write
    /// into a mode-0555 folder: ourselves when we are not root; as root, the
    /// unprivileged `nobody` (through `setpriv`), owning the test folder.
    /// `None` (after saying why on stderr) when neither is possible.
    pub fn unprivileged() -> Option<Env> {
        if !is_root() {
            return Some(Env::new());
        }
        if !super::have_tool("setpriv") {
            eprintln!("SKIPPED: running as root without `setpriv`: permissions do not bind root");
            return None;
        }
        let env = Env {
            user: Some(NOBODY),
            ..Env::new()
        };
        chown_tree(env.root());
        let probe = env.kluis().arg("--version").run();
        if probe.code != Some(0) {
            eprintln!("SKIPPED: `nobody` cannot run the kluis binary here{probe}");
            return None;
        }
        Some(env)
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// A path inside the test folder.
    pub fn p(&self, rel: impl AsRef<Path>) -> PathBuf {
        self.root().join(rel)
    }

    /// The vault every command uses unless given `--vault`.
    pub fn vault(&self) -> PathBuf {
        self.p("vault")
    }

    /// `program` run in the test folder with the vault, HOME and
    /// configuration inside it, no terminal on stdin and none of the
    /// variables of the outer test run that change kluis's behaviour.
    pub fn command(&self, program: impl AsRef<OsStr>) -> Command {
        let mut cmd = Command::new(program);
        cmd.current_dir(self.root())
            .env("KLUIS_VAULT", self.vault())
            .env("HOME", self.p("home"))
            .env("XDG_CONFIG_HOME", self.p("home/.config"))
            .env_remove("KLUIS_REQUIRE_STOCK_TOOLS")
            .env_remove("KLUIS_TODAY")
            .stdin(Stdio::null());
        cmd
    }

    /// A `kluis` command (see [`Env::command`]).
    pub fn kluis(&self) -> Cmd {
        self.kluis_under(&[])
    }

    /// A `kluis` command run by another program: `wrapper` is that program
    /// and its arguments, to which the binary and its arguments are added.
    pub fn kluis_under(&self, wrapper: &[&OsStr]) -> Cmd {
        let mut argv: Vec<&OsStr> = wrapper.to_vec();
        let uid = self.user.map(|u| u.to_string());
        if let Some(uid) = &uid {
            argv.extend(
                [
                    "setpriv",
                    "--reuid",
                    uid,
                    "--regid",
                    uid,
                    "--clear-groups",
                    "--",
                ]
                .map(OsStr::new),
            );
        }
        argv.push(OsStr::new(BIN));
        let mut cmd = self.command(argv[0]);
        cmd.args(&argv[1..]);
        Cmd::new(cmd, "kluis")
    }

    /// Shorthand: `kluis` with these arguments, run.
    pub fn run<I, S>(&self, args: I) -> super::Run
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.kluis().args(args).run()
    }

    /// Shorthand: `kluis` with these arguments, run as if today were
    /// `today` (`KLUIS_TODAY`).
    pub fn run_on<I, S>(&self, today: &str, args: I) -> super::Run
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.kluis().today(today).args(args).run()
    }

    /// Makes everything below `rel` belong to the unprivileged user (for an
    /// [`Env::unprivileged`] environment run as `nobody`; a no-op otherwise).
    pub fn give_away(&self, rel: &str) {
        if self.user.is_some() {
            chown_tree(&self.p(rel));
        }
    }
}

fn chown(path: &Path) {
    std::os::unix::fs::lchown(path, Some(NOBODY), Some(NOBODY)).expect("chown to nobody");
}

fn chown_tree(path: &Path) {
    chown(path);
    if fs::symlink_metadata(path).unwrap().is_dir() {
        for e in fs::read_dir(path).unwrap() {
            chown_tree(&e.unwrap().path());
        }
    }
}

/// Gives every folder below `dir` back its owner's write permission (so
/// that a test that took it away can be cleaned up).
fn make_writable(dir: &Path) {
    let _ = fs::set_permissions(dir, fs::Permissions::from_mode(0o755));
    if let Ok(rd) = fs::read_dir(dir) {
        for e in rd.flatten() {
            if e.file_type().is_ok_and(|t| t.is_dir()) {
                make_writable(&e.path());
            }
        }
    }
}

pub fn is_root() -> bool {
    // The owner of a file we just created is our effective uid.
    let probe = tempfile::tempfile().unwrap();
    probe.metadata().unwrap().uid() == 0
}
