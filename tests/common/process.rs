//! The binary as a running process: started in the background so that it
//! can be killed, raced or watched; held at one of its test pause points
//! (`KLUIS_TEST_PAUSE_AT`, see `src/util/testpoint.rs`) and SIGKILLed
//! there; or run on a pseudo-terminal to answer its questions.

use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::{BIN, Cmd, Env, Run};

/// A `kluis` process started in the background.
pub struct Spawned {
    pub child: Child,
    pub started: Instant,
    line: String,
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

impl Cmd {
    /// Starts it in the background, stdout and stderr captured.
    pub fn spawn(mut self) -> Spawned {
        self.cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
        let started = Instant::now();
        let child = self
            .cmd
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", self.line));
        Spawned {
            child,
            started,
            line: self.line,
        }
    }

    /// Starts it so that it stops at the pause point `point` for `secs`
    /// seconds, and returns once it is there (it touches `marker` on
    /// arrival). Fails the test if it ends or takes 30 s without getting
    /// there.
    #[track_caller]
    pub fn spawn_paused(self, point: &str, marker: &Path, secs: u32) -> Spawned {
        let _ = std::fs::remove_file(marker);
        let mut p = self
            .env("KLUIS_TEST_PAUSE_AT", point)
            .env("KLUIS_TEST_PAUSE_MARKER", marker)
            .env("KLUIS_TEST_PAUSE_SECS", secs.to_string())
            .spawn();
        let reached = wait_for(Duration::from_secs(30), || marker.exists() || !p.running());
        if !(reached && marker.exists()) {
            let line = p.line.clone();
            panic!("$ {line}\nnever reached pause point {point}{}", p.kill());
        }
        p
    }
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
    let fds = std::fs::read_dir(format!("/proc/{pid}/fd")).ok()?;
    for fd in fds.flatten() {
        let Ok(target) = std::fs::read_link(fd.path()) else {
            continue;
        };
        let deleted = format!("{} (deleted)", path.display());
        if target == path || target.as_os_str() == deleted.as_str() {
            let info =
                std::fs::read_to_string(format!("/proc/{pid}/fdinfo/{}", fd.file_name().to_str()?))
                    .ok()?;
            return info
                .lines()
                .find_map(|l| l.strip_prefix("pos:"))
                .and_then(|v| v.trim().parse().ok());
        }
    }
    None
}

impl Env {
    /// Runs `kluis ARGS` on a pseudo-terminal (with util-linux `script`)
    /// typing `input`; `None` when `script` is not installed.
    pub fn on_terminal(&self, args: &[&str], input: &str) -> Option<Run> {
        let probe = Command::new("script").arg("--version").output();
        if !probe.is_ok_and(|o| o.status.success()) {
            return None;
        }
        let line = std::iter::once(BIN)
            .chain(args.iter().copied())
            .map(|s| format!("'{}'", s.replace('\'', r"'\''")))
            .collect::<Vec<_>>()
            .join(" ");
        let mut script = self.command("script");
        script.args(["-qec", &line, "/dev/null"]);
        Some(Cmd::new(script, &format!("(on a terminal) {line}")).run_with_input(input.as_bytes()))
    }
}

impl Cmd {
    /// Runs it with `input` on its standard input, as typed or piped in.
    pub fn run_with_input(mut self, input: &[u8]) -> Run {
        let mut child = self
            .cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", self.line));
        use std::io::Write;
        child.stdin.take().unwrap().write_all(input).unwrap();
        let out = child.wait_with_output().unwrap();
        Run {
            line: self.line,
            code: out.status.code(),
            stdout: out.stdout,
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }
}
