//! Running the binary and judging what it did: a command being built
//! ([`Cmd`]), what a finished run did ([`Run`]) and the assertions the tests
//! make on it: the exit code, the house-style error (one `error:` sentence
//! naming the thing, at most one `hint:`), what stdout and stderr say.

use std::ffi::OsStr;
use std::fmt;
use std::path::Path;
use std::process::Command;

/// A command being built; `run` executes it and captures everything.
pub struct Cmd {
    pub(super) cmd: Command,
    pub(super) line: String,
}

impl Cmd {
    pub fn new(cmd: Command, line: &str) -> Cmd {
        Cmd {
            cmd,
            line: line.into(),
        }
    }

    /// Runs it with this umask.
    pub fn umask(mut self, mask: u32) -> Self {
        use std::os::unix::process::CommandExt;
        self.line = format!("(umask {mask:03o}) {}", self.line);
        // SAFETY: umask(2) is async-signal-safe, as a pre_exec hook must be.
        unsafe {
            self.cmd.pre_exec(move || {
                rustix::process::umask(rustix::fs::Mode::from_raw_mode(mask));
                Ok(())
            });
        }
        self
    }

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

    /// As if today were `date` (`KLUIS_TODAY`).
    pub fn today(self, date: &str) -> Self {
        self.env("KLUIS_TODAY", date)
    }

    /// `--vault DIR`: another vault than the test folder's own.
    pub fn vault(self, dir: &Path) -> Self {
        self.arg("--vault").arg(dir)
    }

    /// Runs it in `dir` instead of the test folder.
    pub fn cwd(mut self, dir: &Path) -> Self {
        self.cmd.current_dir(dir);
        self
    }

    /// `--to DIR`: where a restore goes.
    pub fn to(self, dir: &Path) -> Self {
        self.arg("--to").arg(dir)
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

    /// As [`Run::error`], after any lines saying that this run removed
    /// leftovers of interrupted runs (a run holding a medium's lock cleans
    /// them before it refuses).
    pub fn error_after_cleanup(&self, code: i32, needles: &[&str]) -> &Self {
        let kept: Vec<&str> = self
            .stderr
            .lines()
            .skip_while(|l| l.starts_with("note: ") && l.contains("leftover"))
            .collect();
        let rest = Run {
            line: self.line.clone(),
            code: self.code,
            stdout: self.stdout.clone(),
            stderr: kept.iter().map(|l| format!("{l}\n")).collect(),
        };
        rest.error(code, needles);
        self
    }

    /// Exit 2, stderr starting with `error: ` and saying `needle` somewhere
    /// (in the error or its hint).
    #[track_caller]
    pub fn refused(&self, needle: &str) -> &Self {
        self.code(2);
        assert!(
            self.stderr.starts_with("error: "),
            "stderr should start with `error: `{self}"
        );
        self.stderr_has(needle)
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

    /// Says `needle` on stdout or stderr (where a message goes does not
    /// matter to the test).
    #[track_caller]
    pub fn says(&self, needle: &str) -> &Self {
        assert!(
            self.stdout_text().contains(needle) || self.stderr.contains(needle),
            "stdout or stderr should contain {needle:?}{self}"
        );
        self
    }

    /// Parses stdout as one JSON value.
    #[track_caller]
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not one JSON value: {e}{self}"))
    }

    /// Parses stdout as JSON Lines.
    #[track_caller]
    pub fn json_lines(&self) -> Vec<serde_json::Value> {
        self.stdout_text()
            .lines()
            .map(|l| {
                serde_json::from_str(l)
                    .unwrap_or_else(|e| panic!("not a JSON line ({e}): {l}{self}"))
            })
            .collect()
    }

    /// Parses stdout as JSON into `T` (a schema with `deny_unknown_fields`
    /// pins the output).
    #[track_caller]
    pub fn parse<T: serde::de::DeserializeOwned>(&self) -> T {
        serde_json::from_slice(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout does not parse: {e}{self}"))
    }
}
