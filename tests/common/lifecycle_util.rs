//! A temp folder with a vault, a key, two media and two archives (fiscal
//! years 2015 and 2025), and a way to run the real `kluis` binary in it.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

pub struct Env {
    pub dir: tempfile::TempDir,
}

/// What one run of the binary gave.
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    fn from(out: Output) -> Run {
        Run {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    /// Asserts the exit code, showing both streams when it differs.
    #[track_caller]
    pub fn expect(self, code: i32) -> Run {
        assert_eq!(
            self.code, code,
            "exit code\n--- stdout\n{}\n--- stderr\n{}",
            self.stdout, self.stderr
        );
        self
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.stdout))
    }
}

pub const EXE: &str = env!("CARGO_BIN_EXE_kluis");

impl Env {
    /// An empty folder; `kluis` runs in it with `KLUIS_VAULT=vault`.
    pub fn empty() -> Env {
        Env {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    /// A vault with 2015-financial (retention ended 2022-12-31) and
    /// 2025-financial (kept until 2032-12-31), each on media `m1` and `m2`.
    pub fn with_archives() -> Env {
        let env = Env::empty();
        let recipient = env.kluis(&["key", "new", "-o", "key.txt"]).expect(0);
        let recipient = recipient.stdout.trim().to_owned();
        env.kluis(&["init", "--org", "Test B.V.", "-r", &recipient])
            .expect(0);
        for (year, files) in [
            ("2015", ["inv-1.txt", "inv-2.txt"]),
            ("2025", ["a.txt", "b.txt"]),
        ] {
            let src = env.path(&format!("src{year}"));
            fs::create_dir_all(&src).unwrap();
            for f in files {
                fs::write(src.join(f), format!("{year} {f}\n")).unwrap();
            }
        }
        fs::create_dir_all(env.path("m1")).unwrap();
        fs::create_dir_all(env.path("m2")).unwrap();
        for year in ["2015", "2025"] {
            env.kluis(&[
                "archive",
                "--year",
                year,
                "--to",
                "m1",
                "--to",
                "m2",
                &format!("src{year}"),
            ])
            .expect(0);
        }
        env
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(EXE);
        cmd.args(args)
            .current_dir(self.dir.path())
            .env("KLUIS_VAULT", self.path("vault"))
            .env_remove("KLUIS_TODAY")
            .stdin(Stdio::null());
        cmd
    }

    /// Runs `kluis ARGS` with stdin closed (no terminal).
    pub fn kluis(&self, args: &[&str]) -> Run {
        Run::from(self.command(args).output().unwrap())
    }

    /// Runs `kluis ARGS` as if today were `today`.
    pub fn kluis_on(&self, today: &str, args: &[&str]) -> Run {
        Run::from(
            self.command(args)
                .env("KLUIS_TODAY", today)
                .output()
                .unwrap(),
        )
    }

    /// Runs `kluis ARGS` on a pseudo-terminal (with util-linux `script`)
    /// typing `input`; `None` when `script` is not installed.
    pub fn kluis_on_terminal(&self, args: &[&str], input: &str) -> Option<Run> {
        let probe = Command::new("script").arg("--version").output();
        if !probe.is_ok_and(|o| o.status.success()) {
            return None;
        }
        let line = std::iter::once(EXE)
            .chain(args.iter().copied())
            .map(shell_quote)
            .collect::<Vec<_>>()
            .join(" ");
        let mut child = Command::new("script")
            .args(["-qec", &line, "/dev/null"])
            .current_dir(self.dir.path())
            .env("KLUIS_VAULT", self.path("vault"))
            .env_remove("KLUIS_TODAY")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        use std::io::Write;
        child
            .stdin
            .take()
            .unwrap()
            .write_all(input.as_bytes())
            .unwrap();
        Some(Run::from(child.wait_with_output().unwrap()))
    }

    /// The catalog as JSON.
    pub fn catalog(&self) -> serde_json::Value {
        serde_json::from_slice(&fs::read(self.path("vault/catalog.json")).unwrap()).unwrap()
    }

    /// The catalog's entry for `name` (`2015-financial`).
    pub fn archive(&self, name: &str) -> serde_json::Value {
        let file = format!("{name}.kluis");
        self.catalog()["archives"]
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["file"] == file.as_str())
            .cloned()
            .unwrap_or_else(|| panic!("{name} not in the catalog"))
    }

    /// A medium's `kluis-medium.json`.
    pub fn index(&self, medium: &str) -> serde_json::Value {
        serde_json::from_slice(&fs::read(self.path(medium).join("kluis-medium.json")).unwrap())
            .unwrap()
    }

    /// Every file under the folder, with its content: to show that a
    /// refused command changed nothing.
    pub fn snapshot(&self) -> BTreeMap<PathBuf, Vec<u8>> {
        let mut out = BTreeMap::new();
        walk(self.dir.path(), &mut out);
        out
    }
}

fn walk(dir: &Path, out: &mut BTreeMap<PathBuf, Vec<u8>>) {
    for entry in fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            walk(&path, out);
        } else {
            let bytes = fs::read(&path).unwrap_or_default();
            out.insert(path, bytes);
        }
    }
}

fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// Whether a program runs here.
pub fn have(program: &str) -> bool {
    Command::new(program)
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}
