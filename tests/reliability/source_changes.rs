//! Sources changing while they are archived (issue 6, item 4): a file that
//! grows, shrinks, vanishes or is rewritten in place while kluis reads it.
//! The change is made at the moment kluis's read position in the file (from
//! `/proc/PID/fdinfo`) is a quarter of the way in, and counts as landed when
//! kluis is still short of the file's end once the change is made (or
//! reports the change).
//!
//! Allowed outcomes: exit 2 naming the file ("changed while it was being
//! archived") and no archive; or an archive that verifies and whose record
//! of the file is a state the file really had (never a torn mix), with a
//! tar stream whose headers agree with their data (checked with the stock
//! `age -d | zstd -d | tar`).

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::path::Path;
use std::time::Duration;

use crate::common::*;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Change {
    /// 1 MiB appended.
    Grow,
    /// Truncated to an eighth.
    Shrink,
    /// Deleted (kluis holds it open).
    Vanish,
    /// Rewritten in place with other bytes of the same length.
    Rewrite,
}

const SIZE: usize = 48 << 20;
const MEMBER: &str = "records/ledger.bin";

/// One attempt: whether the change landed mid-read, and what came out.
fn attempt(env: &Env, key: &Key, change: Change, year: i32) -> (bool, String) {
    let src = env.p("src");
    let big = src.join("ledger.bin");
    let old = random_bytes(SIZE);
    fs::write(&big, &old).unwrap();
    let replacement = random_bytes(SIZE);
    let appended = random_bytes(1 << 20);
    let catalog = env.catalog_bytes();
    let medium = env.p(format!("m{year}"));
    fs::create_dir_all(&medium).unwrap();

    let canon = big.canonicalize().unwrap();
    let mut p = env
        .kluis()
        .args(["archive", "--year", &year.to_string()])
        .to(&medium)
        .arg(&src)
        .spawn();
    let pid = p.pid();
    let reached = wait_for(Duration::from_secs(20), || {
        read_position(pid, &canon).is_some_and(|pos| pos >= SIZE as u64 / 4) || !p.running()
    });
    assert!(reached);
    // Kluis is still reading the file, a quarter or more of the way in,
    // when the change starts.
    let started = p.running() && read_position(pid, &canon).is_some_and(|pos| pos < SIZE as u64);
    // The consistent states the file had, by SHA-256.
    let mut states = vec![sha256_hex(&old)];
    if started {
        match change {
            Change::Grow => {
                let mut f = OpenOptions::new().append(true).open(&big).unwrap();
                f.write_all(&appended).unwrap();
                states.push(sha256_hex(&[old.as_slice(), &appended].concat()));
            }
            Change::Shrink => {
                OpenOptions::new()
                    .write(true)
                    .open(&big)
                    .unwrap()
                    .set_len(SIZE as u64 / 8)
                    .unwrap();
                states.push(sha256_hex(&old[..SIZE / 8]));
            }
            Change::Vanish => fs::remove_file(&big).unwrap(),
            Change::Rewrite => {
                let mut f = OpenOptions::new().write(true).open(&big).unwrap();
                f.write_all(&replacement).unwrap();
                states.push(sha256_hex(&replacement));
            }
        }
    }
    // Landed: kluis was still short of the end once the change was made
    // (or said it saw the change). Under load this thread may be paused
    // between the check above and the change, long enough for kluis to
    // finish reading: then the attempt does not count.
    let still_reading = read_position(pid, &canon).is_some_and(|pos| pos < SIZE as u64);
    let ended = p.wait();
    let landed = started && (still_reading || ended.code == Some(2));

    let outcome = match ended.code {
        Some(2) => {
            let first = ended.stderr.lines().next().unwrap_or("");
            assert!(
                first.starts_with("error: ")
                    && first.contains("changed while it was being archived")
                    && first.contains(big.to_str().unwrap()),
                "{change:?}: the error should name the file and say it changed{ended}"
            );
            assert_no_new_archive(&medium, &[]);
            assert_eq!(
                env.catalog_bytes(),
                catalog,
                "a failed archive changed the catalog"
            );
            let detail = first
                .rsplit_once('(')
                .map_or("", |(_, d)| d.trim_end_matches(')'));
            format!("exit 2 ({detail})")
        }
        Some(0) => {
            let file = medium.join(format!("{year}-financial.kluis"));
            env.verify(key, &file).run().ok();
            let list = env.list(key, &file).arg("--json").run();
            let record = list
                .json_lines()
                .into_iter()
                .find(|r| r["path"] == MEMBER)
                .unwrap_or_else(|| panic!("{MEMBER} not in the archive{list}"));
            let sha = record["sha256"].as_str().unwrap().to_owned();
            let which = states.iter().position(|s| *s == sha);
            assert!(
                which.is_some(),
                "{change:?} while it was read: the archive holds {MEMBER} as bytes the file never held (a torn read: start of the old content, rest of the new); kluis should have failed with \"changed while it was being archived\"{ended}"
            );
            if stock_tools() {
                tar_agrees(env, key, &file, &sha);
            }
            format!(
                "exit 0, record = {} state",
                ["the old", "the new"][which.unwrap().min(1)]
            )
        }
        _ => panic!("{change:?}: unexpected end{ended}"),
    };
    fs::remove_dir_all(&medium).unwrap();
    (landed, outcome)
}

/// The stock pipeline reads the whole stream, and the member's bytes are
/// those the manifest records.
fn tar_agrees(env: &Env, key: &Key, file: &Path, sha: &str) {
    let script = format!(
        "age -d -i {k} {f} | zstd -d -q | tar -t >/dev/null\nage -d -i {k} {f} | zstd -d -q | tar -xO {MEMBER} | sha256sum",
        k = sh_quote(&key.path),
        f = sh_quote(file)
    );
    let run = bash(env.root(), &script);
    run.ok();
    assert!(
        run.stdout_text().starts_with(sha),
        "tar's bytes of {MEMBER} differ from the manifest{run}"
    );
}

/// Tries up to four times to make `change` land mid-read; checks every
/// outcome, and that it landed at least once.
fn change_while_reading(change: Change, must_fail: bool) {
    let (env, key) = Env::ready();
    for i in 0..5 {
        random_file(&env.p(format!("src/invoices/INV-{i}.pdf")), 20_000);
    }
    let mut tries = Vec::new();
    for n in 0..4 {
        let (landed, outcome) = attempt(&env, &key, change, 2010 + n);
        tries.push(format!(
            "{}: {outcome}",
            if landed { "landed" } else { "missed" }
        ));
        if landed {
            if must_fail {
                assert!(
                    outcome.starts_with("exit 2"),
                    "{change:?} mid-read must fail, got {outcome}"
                );
            }
            eprintln!("source {change:?} during the read: {}", tries.join("; "));
            return;
        }
    }
    panic!(
        "{change:?} never landed while kluis was reading the file: {}",
        tries.join("; ")
    );
}

#[test]
fn a_file_growing_while_read_fails_the_archive() {
    change_while_reading(Change::Grow, true);
}

#[test]
fn a_file_shrinking_while_read_fails_the_archive() {
    change_while_reading(Change::Shrink, true);
}

#[test]
fn a_file_deleted_while_read_is_archived_whole_or_fails() {
    change_while_reading(Change::Vanish, false);
}

#[test]
fn a_file_rewritten_while_read_is_never_archived_torn() {
    change_while_reading(Change::Rewrite, false);
}
