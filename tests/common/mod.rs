//! The integration-test harness: a temporary folder per test, the real
//! `kluis` binary run in it with `KLUIS_VAULT` pointing inside, keys and
//! vaults, record trees written and compared byte for byte, and the stock
//! tools (`age`, `zstd`, GNU `tar`, `sha256sum`) the interoperability tests
//! need.
//!
//! Each test binary uses a part of it, hence the `dead_code` allowance.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::ffi::OsStr;
use std::fmt;
use std::fs::{self, File};
use std::io::Read;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, UNIX_EPOCH};

/// The binary under test.
pub const BIN: &str = env!("CARGO_BIN_EXE_kluis");

/// The user id the "unprivileged" tests drop to when they run as root.
pub const NOBODY: u32 = 65534;

/// One test's world: a temporary folder holding the vault, keys, sources and
/// media. Nothing outside it is touched (HOME points inside too).
pub struct Env {
    tmp: tempfile::TempDir,
    /// Run the binary as this uid/gid (through `setpriv`) instead of as us.
    user: Option<u32>,
}

/// An identity file and its recipient.
#[derive(Clone, Debug)]
pub struct Key {
    pub path: PathBuf,
    pub recipient: String,
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
        Env { tmp, user: None }
    }

    /// An environment whose commands cannot read a mode-000 file or write
    /// into a mode-0555 folder: ourselves when we are not root; as root, the
    /// unprivileged `nobody` (through `setpriv`), owning the test folder.
    /// `None` (after saying why on stderr) when neither is possible.
    pub fn unprivileged() -> Option<Env> {
        if !is_root() {
            return Some(Env::new());
        }
        if !have_tool("setpriv") {
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
        self.tmp.path()
    }

    /// A path inside the test folder.
    pub fn p(&self, rel: impl AsRef<Path>) -> PathBuf {
        self.root().join(rel)
    }

    pub fn vault(&self) -> PathBuf {
        self.p("vault")
    }

    /// A `kluis` command with the vault, HOME and working folder inside the
    /// test folder and no terminal on stdin.
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
        let mut cmd = Command::new(argv[0]);
        cmd.args(&argv[1..]);
        cmd.current_dir(self.root())
            .env("KLUIS_VAULT", self.vault())
            .env("HOME", self.p("home"))
            .env("XDG_CONFIG_HOME", self.p("home/.config"))
            .env_remove("KLUIS_REQUIRE_STOCK_TOOLS")
            .stdin(Stdio::null());
        Cmd {
            cmd,
            line: "kluis".into(),
        }
    }

    /// Shorthand: `kluis` with these arguments, run.
    pub fn run<I, S>(&self, args: I) -> Run
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.kluis().args(args).run()
    }

    /// `kluis key new -o NAME`; the key is written inside the test folder.
    pub fn new_key(&self, name: &str) -> Key {
        let path = self.p(name);
        let run = self.kluis().args(["key", "new", "-o"]).arg(&path).run();
        run.ok();
        let recipient = run.stdout_text().trim().to_owned();
        assert!(recipient.starts_with("age1"), "{run}");
        Key { path, recipient }
    }

    /// `kluis init` with these recipients.
    pub fn init(&self, recipients: &[&Key]) {
        let mut cmd = self.kluis().args(["init", "--org", "Het Testhuis B.V."]);
        for k in recipients {
            cmd = cmd.arg("-r").arg(&k.recipient);
        }
        cmd.run().ok();
    }

    /// A test folder with a key (`owner.key`) and a vault encrypting to it.
    pub fn ready() -> (Env, Key) {
        let env = Env::new();
        let key = env.new_key("owner.key");
        env.init(&[&key]);
        (env, key)
    }

    /// `kluis archive --year YEAR --to M… SOURCE…` (relative to the test
    /// folder), plus `extra` arguments before the sources. Medium folders
    /// that do not exist yet are made first, as mounting a stick would.
    pub fn archive(&self, year: i32, media: &[&str], extra: &[&str], sources: &[&str]) -> Run {
        for m in media {
            fs::create_dir_all(self.p(m)).unwrap();
            self.give_away(m);
        }
        let mut cmd = self
            .kluis()
            .args(["archive", "--year", &year.to_string()])
            .args(extra);
        for m in media {
            cmd = cmd.arg("--to").arg(self.p(m));
        }
        for s in sources {
            cmd = cmd.arg(self.p(s));
        }
        cmd.run()
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

pub fn is_root() -> bool {
    // The owner of a file we just created is our effective uid.
    let probe = tempfile::tempfile().unwrap();
    probe.metadata().unwrap().uid() == 0
}

/// A command being built; `run` executes it and captures everything.
pub struct Cmd {
    cmd: Command,
    line: String,
}

impl Cmd {
    pub fn arg(mut self, a: impl AsRef<OsStr>) -> Self {
        self.line.push(' ');
        self.line.push_str(&a.as_ref().to_string_lossy());
        self.cmd.arg(a);
        self
    }

    pub fn args<I, S>(mut self, args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        for a in args {
            self = self.arg(a);
        }
        self
    }

    pub fn env(mut self, key: &str, value: impl AsRef<OsStr>) -> Self {
        self.cmd.env(key, value);
        self
    }

    pub fn run(mut self) -> Run {
        let out = self
            .cmd
            .output()
            .unwrap_or_else(|e| panic!("cannot run {}: {e}", self.line));
        Run {
            line: self.line,
            code: out.status.code(),
            stdout: out.stdout,
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }
}

/// What a finished command did.
pub struct Run {
    pub line: String,
    pub code: Option<i32>,
    pub stdout: Vec<u8>,
    pub stderr: String,
}

impl fmt::Display for Run {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "\n$ {}\nexit code: {:?}\n--- stdout ---\n{}--- stderr ---\n{}--------------",
            self.line,
            self.code,
            String::from_utf8_lossy(&self.stdout),
            self.stderr
        )
    }
}

impl Run {
    pub fn stdout_text(&self) -> String {
        String::from_utf8_lossy(&self.stdout).into_owned()
    }

    #[track_caller]
    pub fn code(&self, code: i32) -> &Self {
        assert_eq!(self.code, Some(code), "unexpected exit code{self}");
        self
    }

    #[track_caller]
    pub fn ok(&self) -> &Self {
        self.code(0)
    }

    /// Exit `code` with an error report in the house style: one line
    /// `error: …` that contains every needle (the thing it is about), and at
    /// most a `hint: …` line after it. Nothing on stdout.
    #[track_caller]
    pub fn error(&self, code: i32, needles: &[&str]) -> &Self {
        self.code(code);
        let lines: Vec<&str> = self.stderr.lines().collect();
        assert!(
            !lines.is_empty() && lines[0].starts_with("error: "),
            "stderr should start with `error: `{self}"
        );
        assert!(
            lines.len() <= 2 && lines[1..].iter().all(|l| l.starts_with("hint: ")),
            "an error is one sentence and at most one hint line{self}"
        );
        for n in needles {
            assert!(
                lines[0].contains(n),
                "the error line should mention {n:?}{self}"
            );
        }
        assert!(
            self.stdout.is_empty(),
            "an error prints nothing on stdout{self}"
        );
        self
    }

    #[track_caller]
    pub fn stdout_has(&self, needle: &str) -> &Self {
        assert!(
            self.stdout_text().contains(needle),
            "stdout should contain {needle:?}{self}"
        );
        self
    }

    #[track_caller]
    pub fn stderr_has(&self, needle: &str) -> &Self {
        assert!(
            self.stderr.contains(needle),
            "stderr should contain {needle:?}{self}"
        );
        self
    }

    /// Parses stdout as one JSON value.
    #[track_caller]
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not one JSON value: {e}{self}"))
    }
}

// ---------------------------------------------------------------------------
// Stock tools

/// Whether `tool` is on PATH.
pub fn have_tool(tool: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {tool} >/dev/null 2>&1")])
        .status()
        .is_ok_and(|s| s.success())
}

/// Whether the stock tools are here. Without them the interoperability tests
/// skip with a message, unless `KLUIS_REQUIRE_STOCK_TOOLS` is set (as
/// `scripts/test.sh` and CI do): then they fail.
pub fn stock_tools() -> bool {
    let missing: Vec<&str> = ["age", "zstd", "tar", "sha256sum", "bash"]
        .into_iter()
        .filter(|t| !have_tool(t))
        .collect();
    if missing.is_empty() {
        let gnu = Command::new("tar")
            .arg("--version")
            .output()
            .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).contains("GNU tar"));
        if gnu {
            return true;
        }
    }
    let why = format!("stock tools missing or not GNU: {missing:?} (tar must be GNU tar)");
    if std::env::var_os("KLUIS_REQUIRE_STOCK_TOOLS").is_some() {
        panic!("{why}; KLUIS_REQUIRE_STOCK_TOOLS is set");
    }
    eprintln!("SKIPPED: {why}");
    false
}

/// Runs a bash script (with `set -euo pipefail`) in `dir`.
pub fn bash(dir: &Path, script: &str) -> Run {
    let out = Command::new("bash")
        .args(["-c", &format!("set -euo pipefail\n{script}")])
        .current_dir(dir)
        .stdin(Stdio::null())
        .output()
        .expect("bash runs");
    Run {
        line: script.into(),
        code: out.status.code(),
        stdout: out.stdout,
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// Quotes a path for a shell script.
pub fn sh_quote(p: &Path) -> String {
    format!("'{}'", p.to_string_lossy().replace('\'', r"'\''"))
}

// ---------------------------------------------------------------------------
// Writing record trees

/// A deterministic pseudo-random generator (splitmix64): test data that is
/// incompressible but the same on every run.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    pub fn bytes(&mut self, n: usize) -> Vec<u8> {
        let mut out = Vec::with_capacity(n + 8);
        while out.len() < n {
            out.extend_from_slice(&self.next_u64().to_le_bytes());
        }
        out.truncate(n);
        out
    }

    /// Alternating 64 KiB stretches of random bytes and of text, so that
    /// compression neither vanishes nor does nothing.
    pub fn mixed(&mut self, n: usize) -> Vec<u8> {
        let mut out = Vec::with_capacity(n);
        let mut line = 0u64;
        while out.len() < n {
            if (out.len() / 65536) % 2 == 0 {
                out.extend(self.bytes(65536));
            } else {
                let end = out.len() + 65536;
                while out.len() < end {
                    line += 1;
                    out.extend_from_slice(
                        format!(
                            "{line:08};2019-03-{:02};INV-2019-{:06};EUR {}.{:02};Het Testhuis B.V.\n",
                            line % 28 + 1,
                            self.next_u64() % 1_000_000,
                            self.next_u64() % 10_000,
                            self.next_u64() % 100
                        )
                        .as_bytes(),
                    );
                }
                out.truncate(end);
            }
        }
        out.truncate(n);
        out
    }
}

/// Builds a path from raw bytes (names need not be UTF-8).
pub fn bpath(root: &Path, rel: &[u8]) -> PathBuf {
    root.join(OsStr::from_bytes(rel))
}

/// Writes a file with a mode, making its parents.
pub fn write_file(path: &Path, data: &[u8], mode: u32) {
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(path, data).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    fs::set_permissions(path, fs::Permissions::from_mode(mode)).unwrap();
}

/// Sets a file's or folder's mtime to the nanosecond.
pub fn set_mtime(path: &Path, secs: i64, nsec: u32) {
    let t = if secs >= 0 {
        UNIX_EPOCH + Duration::new(secs as u64, nsec)
    } else {
        UNIX_EPOCH - Duration::from_secs(secs.unsigned_abs()) + Duration::from_nanos(nsec.into())
    };
    let f = File::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    f.set_modified(t)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
}

/// A recognisable mtime for item `i`: 2019, with a sub-second part (and a
/// whole second now and then, where pax omits the fraction).
pub fn mtime_for(i: u64) -> (i64, u32) {
    let secs = 1_546_300_800 + (i as i64) * 86_413;
    let nsec = if i.is_multiple_of(5) {
        0
    } else {
        ((i * 123_456_789 + 987) % 1_000_000_000) as u32
    };
    (secs, nsec)
}

/// Gives every file and folder below `root` (not symlinks: they cannot be
/// given a time without following them) a distinct sub-second mtime,
/// deepest first so that folders keep theirs.
pub fn stamp_tree(root: &Path) {
    let mut all = Vec::new();
    collect(root, &mut all);
    all.sort_by_key(|p| std::cmp::Reverse(p.components().count()));
    for (i, p) in all.iter().enumerate() {
        if !fs::symlink_metadata(p).unwrap().file_type().is_symlink() {
            let (s, n) = mtime_for(i as u64 + 1);
            set_mtime(p, s, n);
        }
    }
}

fn collect(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        out.push(p.clone());
        if fs::symlink_metadata(&p).unwrap().is_dir() {
            collect(&p, out);
        }
    }
}

/// The tree of the round-trip and interoperability tests: every awkward
/// thing the issue lists. Returns the total bytes of its files.
pub fn awkward_tree(root: &Path) -> u64 {
    let mut rng = Rng::new(2019);
    let long_component = format!("{}.pdf", "Lange-bestandsnaam-".repeat(7)); // 137 bytes
    assert!(long_component.len() > 100);
    let long_dir = "d".repeat(120);
    let long_path = format!("{long_dir}/{long_dir}/{}.txt", "f".repeat(60));
    assert!(long_path.len() > 255);
    let files: Vec<(Vec<u8>, Vec<u8>, u32)> = vec![
        (b"empty.txt".to_vec(), vec![], 0o644),
        (b"sub/also-empty".to_vec(), vec![], 0o644),
        (b"exactly-64KiB.bin".to_vec(), rng.bytes(65536), 0o644),
        (
            b"several-age-chunks.bin".to_vec(),
            rng.bytes(300_000),
            0o644,
        ),
        (
            b"bigger-than-a-frame.bin".to_vec(),
            rng.mixed(9 << 20),
            0o644,
        ),
        (
            format!("invoices/{long_component}").into_bytes(),
            b"long name".to_vec(),
            0o644,
        ),
        (long_path.into_bytes(), b"long path".to_vec(), 0o644),
        (
            "unicode/café-NFC.txt".as_bytes().to_vec(),
            b"nfc".to_vec(),
            0o644,
        ),
        (
            "unicode/cafe\u{301}-NFD.txt".as_bytes().to_vec(),
            b"nfd".to_vec(),
            0o644,
        ),
        (
            "unicode/Überweisung € 日本語 ✓.txt".as_bytes().to_vec(),
            b"unicode".to_vec(),
            0o644,
        ),
        (
            b"with spaces/a file name with  spaces .txt".to_vec(),
            b"spaces".to_vec(),
            0o644,
        ),
        (b"latin1/caf\xe9.txt".to_vec(), b"not UTF-8".to_vec(), 0o644),
        (
            b"a/b/c/d/e/f/g/h/i/j/deep.txt".to_vec(),
            b"deep".to_vec(),
            0o644,
        ),
        (
            b"invoices/INV-2019-000123.pdf".to_vec(),
            rng.bytes(4000),
            0o644,
        ),
        (b"private.txt".to_vec(), b"owner only".to_vec(), 0o600),
        (
            b"run-me.sh".to_vec(),
            b"#!/bin/sh\necho hi\n".to_vec(),
            0o755,
        ),
    ];
    let mut total = 0;
    for (rel, data, mode) in &files {
        write_file(&bpath(root, rel), data, *mode);
        total += data.len() as u64;
    }
    fs::create_dir_all(root.join("empty-folder")).unwrap();
    fs::create_dir_all(root.join("links")).unwrap();
    std::os::unix::fs::symlink(
        "../invoices/INV-2019-000123.pdf",
        root.join("links/latest-invoice"),
    )
    .unwrap();
    stamp_tree(root);
    total
}

// ---------------------------------------------------------------------------
// Comparing trees

/// What a tree holds at one relative path.
#[derive(Clone, PartialEq, Eq)]
pub enum Node {
    File {
        mode: u32,
        mtime: (i64, i64),
        data: Vec<u8>,
    },
    Dir {
        mode: u32,
        mtime: (i64, i64),
    },
    Link {
        target: Vec<u8>,
    },
}

impl fmt::Debug for Node {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Node::File { mode, mtime, data } => write!(
                f,
                "file mode {mode:o} mtime {}.{:09} {} bytes sha256 {}",
                mtime.0,
                mtime.1,
                data.len(),
                sha256_hex(data)
            ),
            Node::Dir { mode, mtime } => {
                write!(f, "dir mode {mode:o} mtime {}.{:09}", mtime.0, mtime.1)
            }
            Node::Link { target } => write!(f, "link -> {}", String::from_utf8_lossy(target)),
        }
    }
}

/// Everything below `root`, by relative path (raw bytes).
pub fn snapshot(root: &Path) -> BTreeMap<Vec<u8>, Node> {
    let mut out = BTreeMap::new();
    snap(root, root, &mut out);
    out
}

fn snap(root: &Path, dir: &Path, out: &mut BTreeMap<Vec<u8>, Node>) {
    for e in fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let p = e.unwrap().path();
        let m = fs::symlink_metadata(&p).unwrap();
        let rel = p
            .strip_prefix(root)
            .unwrap()
            .as_os_str()
            .as_bytes()
            .to_vec();
        let mtime = (m.mtime(), m.mtime_nsec());
        let node = if m.file_type().is_symlink() {
            Node::Link {
                target: fs::read_link(&p).unwrap().as_os_str().as_bytes().to_vec(),
            }
        } else if m.is_dir() {
            snap(root, &p, out);
            Node::Dir {
                mode: m.mode() & 0o7777,
                mtime,
            }
        } else {
            let mut data = Vec::new();
            File::open(&p).unwrap().read_to_end(&mut data).unwrap();
            Node::File {
                mode: m.mode() & 0o7777,
                mtime,
                data,
            }
        };
        out.insert(rel, node);
    }
}

/// Asserts two trees are equal, listing every difference by name.
#[track_caller]
pub fn assert_same_tree(expected: &Path, actual: &Path) {
    let (a, b) = (snapshot(expected), snapshot(actual));
    let mut diffs = Vec::new();
    for (path, node) in &a {
        let name = String::from_utf8_lossy(path);
        match b.get(path) {
            None => diffs.push(format!("missing: {name:?} ({node:?})")),
            Some(other) if other != node => diffs.push(format!(
                "differs: {name:?}\n  expected {node:?}\n  actual   {other:?}"
            )),
            Some(_) => {}
        }
    }
    for path in b.keys().filter(|p| !a.contains_key(*p)) {
        diffs.push(format!("extra: {:?}", String::from_utf8_lossy(path)));
    }
    assert!(
        diffs.is_empty(),
        "{} differs from {} in {} place(s):\n{}",
        actual.display(),
        expected.display(),
        diffs.len(),
        diffs.join("\n")
    );
}

pub fn sha256_hex(data: &[u8]) -> String {
    use sha2::Digest;
    kluis::format::manifest::hex(&sha2::Sha256::digest(data))
}

// ---------------------------------------------------------------------------
// Media

/// The names in a folder (empty when it does not exist).
pub fn names(dir: &Path) -> Vec<String> {
    let mut out: Vec<String> = match fs::read_dir(dir) {
        Ok(rd) => rd
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect(),
        Err(_) => Vec::new(),
    };
    out.sort();
    out
}

/// The names in a folder that do not start with a dot: what a user sees,
/// without kluis's hidden lock or temporary files.
pub fn visible_names(dir: &Path) -> Vec<String> {
    let mut out = names(dir);
    out.retain(|n| !n.starts_with('.'));
    out
}

/// Asserts that a failed run left nothing on a medium that looks like an
/// archive: no `*.kluis` other than those in `allowed`, and no temporary
/// `.…tmp-…` leftovers.
#[track_caller]
pub fn assert_no_new_archive(medium: &Path, allowed: &[&str]) {
    for n in names(medium) {
        assert!(
            !n.contains(".tmp-"),
            "{}: leftover temporary file {n}",
            medium.display()
        );
        assert!(
            !n.ends_with(".kluis") || allowed.contains(&n.as_str()),
            "{}: unexpected archive {n}",
            medium.display()
        );
    }
}

/// Whether anything at all exists at `path`, even a dangling symlink.
pub fn exists(path: &Path) -> bool {
    fs::symlink_metadata(path).is_ok()
}

/// Copies `src` to `dst` with mode 0600 (identity files must be private;
/// git does not keep modes).
pub fn copy_private(src: &Path, dst: &Path) {
    fs::copy(src, dst).unwrap_or_else(|e| panic!("{}: {e}", src.display()));
    fs::set_permissions(dst, fs::Permissions::from_mode(0o600)).unwrap();
}
