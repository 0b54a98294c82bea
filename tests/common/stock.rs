//! The stock tools (`age`, `zstd`, GNU `tar`, `sha256sum`, `bash`) the
//! interoperability tests run against, and running a shell script.

use std::path::Path;
use std::process::{Command, Stdio};

use super::Run;

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

/// `sha256sum --strict -c SHA256SUMS` in `medium`, which must pass; where
/// coreutils is missing, nothing (the stock-tool tests catch that).
#[track_caller]
pub fn sha256sum_checks(medium: &Path) -> Option<Run> {
    if !have_tool("sha256sum") {
        return None;
    }
    let run = bash(medium, "sha256sum --strict -c SHA256SUMS");
    run.ok();
    Some(run)
}

/// The recovery pipeline of the medium's README.txt, with the stock tools
/// alone: `age -d -i KEY ARCHIVE | zstd -d | tar -x` in `dir` (made first),
/// which must succeed.
#[track_caller]
pub fn stock_recover(dir: &Path, key: &Path, archive: &Path) {
    std::fs::create_dir_all(dir).unwrap();
    bash(
        dir,
        &format!(
            "age -d -i {} {} | zstd -d | tar -x",
            sh_quote(key),
            sh_quote(archive)
        ),
    )
    .ok();
}
