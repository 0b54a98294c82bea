//! Helpers of the reliability tests (`tests/reliability.rs`): the real
//! binary spawned so that it can be killed, raced or watched while it runs;
//! record trees of incompressible data; tree states to prove a source
//! untouched; a medium folder's files read back as "old or new"; small
//! mounted filesystems (as root) that are unmounted whatever happens.
//!
//! Builds on the shared harness in `tests/common/mod.rs`.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::ffi::OsStr;
use std::fs::{self, File};
use std::io::{Read, Write};
use std::os::unix::fs::MetadataExt;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use sha2::Digest;

use crate::common::{BIN, Env};

// ---------------------------------------------------------------------------
// Record trees

/// Writes `n` bytes from the kernel's random source: incompressible, and
/// much faster than generating them in a debug build.
pub fn random_file(path: &Path, n: usize) {
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    let mut rnd = File::open("/dev/urandom").unwrap();
    let mut out = File::create(path).unwrap();
    let mut buf = vec![0u8; 1 << 20];
    let mut left = n;
    while left > 0 {
        let k = left.min(buf.len());
        rnd.read_exact(&mut buf[..k]).unwrap();
        out.write_all(&buf[..k]).unwrap();
        left -= k;
    }
}

/// A source folder: `small` files of `small_size` bytes in a few
/// subfolders, and one file per entry of `big`. Returns the total bytes.
pub fn make_source(root: &Path, small: usize, small_size: usize, big: &[usize]) -> u64 {
    let mut total = 0;
    for i in 0..small {
        random_file(
            &root.join(format!("invoices/{:02}/INV-{i:05}.pdf", i % 12 + 1)),
            small_size,
        );
        total += small_size as u64;
    }
    for (i, &n) in big.iter().enumerate() {
        random_file(&root.join(format!("ledger-{i}.bin")), n);
        total += n as u64;
    }
    total
}

/// What `stat` says about every entry below `root`: size, mtime, ctime and
/// inode. Any write, truncation, chmod or replacement changes it.
pub fn stat_tree(root: &Path) -> BTreeMap<PathBuf, (u64, i64, i64, i64, i64, u64)> {
    let mut out = BTreeMap::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for e in fs::read_dir(&dir).unwrap() {
            let p = e.unwrap().path();
            let m = fs::symlink_metadata(&p).unwrap();
            if m.is_dir() {
                stack.push(p.clone());
            }
            out.insert(
                p.strip_prefix(root).unwrap().to_path_buf(),
                (
                    m.len(),
                    m.mtime(),
                    m.mtime_nsec(),
                    m.ctime(),
                    m.ctime_nsec(),
                    m.ino(),
                ),
            );
        }
    }
    out
}

/// SHA-256 of every file below `root`, by relative path.
pub fn hash_tree(root: &Path) -> BTreeMap<PathBuf, String> {
    stat_tree(root)
        .into_keys()
        .filter(|rel| root.join(rel).is_file())
        .map(|rel| {
            let h = file_sha256(&root.join(&rel));
            (rel, h)
        })
        .collect()
}

/// SHA-256 of a file, hex.
pub fn file_sha256(path: &Path) -> String {
    let mut f = File::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut h = sha2::Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = f.read(&mut buf).unwrap();
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    kluis::format::manifest::hex(&h.finalize())
}

/// Every file in a folder (not below it) with its bytes.
pub fn folder_files(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    for e in fs::read_dir(dir).unwrap() {
        let e = e.unwrap();
        if e.file_type().unwrap().is_file() {
            out.insert(
                e.file_name().to_string_lossy().into_owned(),
                fs::read(e.path()).unwrap(),
            );
        }
    }
    out
}

/// Makes `dir` hold exactly `files` (creating it).
pub fn put_files(dir: &Path, files: &BTreeMap<String, Vec<u8>>) {
    fs::create_dir_all(dir).unwrap();
    for (name, bytes) in files {
        fs::write(dir.join(name), bytes).unwrap();
    }
}

/// Names of kluis's temporary files (`.NAME.tmp-XXXXXXXX`) in a folder.
pub fn temp_names(dir: &Path) -> Vec<String> {
    crate::common::names(dir)
        .into_iter()
        .filter(|n| n.starts_with('.') && n.contains(".tmp-"))
        .collect()
}

/// Deletes kluis's temporary files in a folder; returns how many.
pub fn remove_temps(dir: &Path) -> usize {
    let names = temp_names(dir);
    for n in &names {
        fs::remove_file(dir.join(n)).unwrap();
    }
    names.len()
}

/// Parses a JSON file, naming it when it does not parse.
#[track_caller]
pub fn parse_json(path: &Path) -> serde_json::Value {
    let bytes = fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_slice(&bytes).unwrap_or_else(|e| {
        panic!(
            "{} does not parse ({e}): {:?}",
            path.display(),
            String::from_utf8_lossy(&bytes)
        )
    })
}

/// `SHA256SUMS` as (file, hash) pairs; panics on a malformed line.
#[track_caller]
pub fn parse_sums(text: &[u8]) -> Vec<(String, String)> {
    let text = std::str::from_utf8(text).expect("SHA256SUMS is UTF-8");
    text.lines()
        .map(|l| {
            let (h, f) = l
                .split_once("  ")
                .unwrap_or_else(|| panic!("malformed SHA256SUMS line {l:?}"));
            assert!(
                h.len() == 64 && h.bytes().all(|b| b.is_ascii_hexdigit()),
                "malformed hash in SHA256SUMS line {l:?}"
            );
            (f.to_owned(), h.to_owned())
        })
        .collect()
}

/// The archives a medium index lists: file name → (sha256, size).
pub fn indexed(index: &serde_json::Value) -> BTreeMap<String, (String, u64)> {
    index["archives"]
        .as_array()
        .expect("index.archives is a list")
        .iter()
        .map(|a| {
            (
                a["file"].as_str().unwrap().to_owned(),
                (
                    a["sha256"].as_str().unwrap().to_owned(),
                    a["size"].as_u64().unwrap(),
                ),
            )
        })
        .collect()
}

/// The catalog's archives: file name → the entry.
pub fn catalogued(catalog: &serde_json::Value) -> BTreeMap<String, serde_json::Value> {
    catalog["archives"]
        .as_array()
        .expect("catalog.archives is a list")
        .iter()
        .map(|a| (a["file"].as_str().unwrap().to_owned(), a.clone()))
        .collect()
}

/// What `sha256sum -c SHA256SUMS` would say, without the tool: the lines
/// whose file is missing or differs.
pub fn sums_failures(dir: &Path) -> Vec<String> {
    let Ok(text) = fs::read(dir.join("SHA256SUMS")) else {
        return Vec::new();
    };
    parse_sums(&text)
        .into_iter()
        .filter(|(f, h)| {
            let p = dir.join(f);
            !p.is_file() || file_sha256(&p) != *h
        })
        .map(|(f, _)| f)
        .collect()
}

// ---------------------------------------------------------------------------
// The binary, spawned

/// A `kluis` process started in the background, with the same environment
/// as [`Env::kluis`] (plus `vars`).
pub struct Spawned {
    pub child: Child,
    pub started: Instant,
}

/// How a spawned process ended.
pub struct Ended {
    /// Killed by our SIGKILL while it was still running.
    pub killed: bool,
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
    pub ran_for: Duration,
}

impl std::fmt::Display for Ended {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "\nkilled: {}, exit code: {:?}, ran for {:?}\n--- stdout ---\n{}--- stderr ---\n{}--------------",
            self.killed, self.code, self.ran_for, self.stdout, self.stderr
        )
    }
}

pub fn spawn<S: AsRef<OsStr>>(env: &Env, args: &[S], vars: &[(&str, &OsStr)]) -> Spawned {
    let mut cmd = Command::new(BIN);
    cmd.args(args)
        .current_dir(env.root())
        .env("KLUIS_VAULT", env.vault())
        .env("HOME", env.p("home"))
        .env("XDG_CONFIG_HOME", env.p("home/.config"))
        .env_remove("KLUIS_REQUIRE_STOCK_TOOLS")
        .env_remove("KLUIS_TODAY")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in vars {
        cmd.env(k, v);
    }
    let started = Instant::now();
    let child = cmd.spawn().expect("kluis starts");
    Spawned { child, started }
}

impl Spawned {
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Whether it is still running.
    pub fn running(&mut self) -> bool {
        self.child.try_wait().unwrap().is_none()
    }

    /// SIGKILL `delay` after it started (at once if that has passed).
    pub fn kill_after(mut self, delay: Duration) -> Ended {
        if let Some(rest) = delay.checked_sub(self.started.elapsed()) {
            std::thread::sleep(rest);
        }
        let _ = self.child.kill();
        self.finish()
    }

    /// SIGKILL now.
    pub fn kill(mut self) -> Ended {
        let _ = self.child.kill();
        self.finish()
    }

    /// Waits for it to end by itself.
    pub fn wait(self) -> Ended {
        self.finish()
    }

    fn finish(self) -> Ended {
        let started = self.started;
        let out = self.child.wait_with_output().unwrap();
        Ended {
            killed: out.status.signal() == Some(9),
            code: out.status.code(),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
            ran_for: started.elapsed(),
        }
    }
}

/// Waits up to `limit` for `cond`; whether it came true.
pub fn wait_for(limit: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let until = Instant::now() + limit;
    while Instant::now() < until {
        if cond() {
            return true;
        }
        std::thread::sleep(Duration::from_micros(300));
    }
    cond()
}

/// The read position of the descriptor process `pid` has open on `path`,
/// from `/proc/PID/fdinfo` (`None` when it has no such descriptor).
pub fn read_position(pid: u32, path: &Path) -> Option<u64> {
    let fds = fs::read_dir(format!("/proc/{pid}/fd")).ok()?;
    for fd in fds.flatten() {
        let Ok(target) = fs::read_link(fd.path()) else {
            continue;
        };
        let deleted = format!("{} (deleted)", path.display());
        if target == path || target.as_os_str() == deleted.as_str() {
            let info =
                fs::read_to_string(format!("/proc/{pid}/fdinfo/{}", fd.file_name().to_str()?))
                    .ok()?;
            return info
                .lines()
                .find_map(|l| l.strip_prefix("pos:"))
                .and_then(|v| v.trim().parse().ok());
        }
    }
    None
}

// ---------------------------------------------------------------------------
// Mounted filesystems

/// A tmpfs mounted on a folder, unmounted when dropped (declare it after
/// the [`Env`] holding the folder, so that it drops first).
pub struct Mount {
    pub dir: PathBuf,
}

impl Mount {
    /// `mount -t tmpfs -o size=SIZE tmpfs DIR`; `None` (and why, on
    /// stderr) when this machine does not allow it.
    pub fn tmpfs(dir: &Path, size: &str) -> Option<Mount> {
        fs::create_dir_all(dir).unwrap();
        let out = Command::new("mount")
            .args([
                "-t",
                "tmpfs",
                "-o",
                &format!("size={size},mode=0755"),
                "tmpfs",
            ])
            .arg(dir)
            .stdin(Stdio::null())
            .output();
        match out {
            Ok(o) if o.status.success() => Some(Mount { dir: dir.into() }),
            Ok(o) => {
                eprintln!(
                    "SKIPPED: cannot mount a tmpfs here (not root, or no permission): {}",
                    String::from_utf8_lossy(&o.stderr).trim()
                );
                None
            }
            Err(e) => {
                eprintln!("SKIPPED: cannot run mount: {e}");
                None
            }
        }
    }

    /// `mount -o remount,ro`.
    pub fn remount_read_only(&self) -> bool {
        Command::new("mount")
            .args(["-o", "remount,ro"])
            .arg(&self.dir)
            .status()
            .is_ok_and(|s| s.success())
    }
}

impl Drop for Mount {
    fn drop(&mut self) {
        let ok = Command::new("umount")
            .arg(&self.dir)
            .status()
            .is_ok_and(|s| s.success());
        if !ok {
            let _ = Command::new("umount").arg("-l").arg(&self.dir).status();
        }
    }
}
