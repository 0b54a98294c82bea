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

/// Whether the stock tools the interoperability tests run are here (`tar`
/// being GNU tar); see [`require_tools`].
pub fn stock_tools() -> bool {
    require_tools(&["age", "zstd", "tar", "sha256sum", "bash"])
}

/// Whether the programs `tools` are on PATH (`tar` must be GNU tar). A test
/// without them skips with a message, unless `KLUIS_REQUIRE_STOCK_TOOLS` is
/// set (as `scripts/test.sh` and CI do, having installed them): then it
/// fails.
pub fn require_tools(tools: &[&str]) -> bool {
    let mut missing: Vec<String> = tools
        .iter()
        .filter(|t| !have_tool(t))
        .map(|t| t.to_string())
        .collect();
    let gnu_tar = || {
        Command::new("tar")
            .arg("--version")
            .output()
            .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).contains("GNU tar"))
    };
    if tools.contains(&"tar") && missing.is_empty() && !gnu_tar() {
        missing.push("GNU tar (another tar is installed)".into());
    }
    missing_tools(&missing)
}

/// `true` when nothing is missing; otherwise the skip (or, under
/// `KLUIS_REQUIRE_STOCK_TOOLS`, the failure) that names what is.
pub fn missing_tools(missing: &[String]) -> bool {
    if missing.is_empty() {
        return true;
    }
    let why = format!(
        "missing: {} (scripts/test.sh installs it)",
        missing.join(", ")
    );
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
