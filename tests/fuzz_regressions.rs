//! Every input a fuzz target once failed on, kept in
//! `tests/fuzz_regressions/<target>/` and run through exactly the code the
//! target runs (`fuzz/src/lib.rs`, included here), so that what the fuzzer
//! found stays fixed without a fuzzer. docs/FUZZING.md lists the findings.

#[path = "../fuzz/src/lib.rs"]
mod harness;

use std::path::{Path, PathBuf};
use std::sync::Mutex;

// The archive targets check peak memory against the frames they read; the
// allocator counts it (for the whole process, hence the lock below).
#[global_allocator]
static ALLOC: harness::CountingAlloc = harness::CountingAlloc;

static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

fn stored(target: &str) -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fuzz_regressions")
        .join(target);
    let mut files: Vec<PathBuf> = match std::fs::read_dir(&dir) {
        Ok(list) => list.map(|e| e.expect("entry").path()).collect(),
        Err(_) => Vec::new(),
    };
    files.sort();
    files
}

fn replay(target: &str) {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    for file in stored(target) {
        let data = std::fs::read(&file).expect("read stored input");
        eprintln!("{target}: {}", file.display());
        harness::run(target, &data);
    }
}

#[test]
fn every_stored_input_names_a_target() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fuzz_regressions");
    for entry in std::fs::read_dir(dir).expect("tests/fuzz_regressions") {
        let name = entry.expect("entry").file_name();
        let name = name.to_string_lossy();
        assert!(
            name == "README.md" || name == "open" || harness::TARGETS.contains(&&*name),
            "tests/fuzz_regressions/{name} is not a fuzz target"
        );
    }
}

/// Findings not fixed yet (docs/FUZZING.md, "Open findings"), kept in
/// `tests/fuzz_regressions/open/<target>/`: this test fails while any of
/// them still fails. Run it with
/// `cargo test --test fuzz_regressions -- --ignored`; when one passes, move
/// it to `tests/fuzz_regressions/<target>/`. (`salvage_plain` holds age
/// plaintexts for the salvage check, instead of `archive_tar` inputs.)
#[test]
#[ignore = "open findings: fails until they are fixed"]
fn open_findings() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let mut still_failing = Vec::new();
    for target in harness::TARGETS.iter().copied().chain(["salvage_plain"]) {
        for file in stored(&format!("open/{target}")) {
            let data = std::fs::read(&file).expect("read stored input");
            let outcome = std::panic::catch_unwind(|| match target {
                "salvage_plain" => harness::salvage_plaintext(&data, 64 << 20),
                _ => harness::run(target, &data),
            });
            if outcome.is_err() {
                still_failing.push(file.display().to_string());
            }
        }
    }
    assert!(
        still_failing.is_empty(),
        "still failing: {still_failing:#?}"
    );
}

#[test]
fn seektable() {
    replay("seektable");
}

#[test]
fn manifest_line() {
    replay("manifest_line");
}

#[test]
fn meta_json() {
    replay("meta_json");
}

#[test]
fn medium_index() {
    replay("medium_index");
}

#[test]
fn catalog() {
    replay("catalog");
}

#[test]
fn vault_config() {
    replay("vault_config");
}

#[test]
fn identity_file() {
    replay("identity_file");
}

#[test]
fn archive_plain() {
    replay("archive_plain");
}

#[test]
fn archive_tar() {
    replay("archive_tar");
}

#[test]
fn salvage() {
    replay("salvage");
}
