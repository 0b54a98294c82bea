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
            name == "README.md" || name == "salvage_plain" || harness::TARGETS.contains(&&*name),
            "tests/fuzz_regressions/{name} is not a fuzz target"
        );
    }
}

/// `salvage_plain/` holds age plaintexts (a crafted tar-in-zstd stream the
/// `archive_tar` encoding cannot express) for the salvage check.
#[test]
fn salvage_plain() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    for file in stored("salvage_plain") {
        let data = std::fs::read(&file).expect("read stored input");
        eprintln!("salvage_plain: {}", file.display());
        harness::salvage_plaintext(&data, 64 << 20);
    }
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

/// A member whose headers are too large stops the tar walk, not the
/// salvage: the records after it, found by their headers, are restored.
#[test]
fn salvage_goes_on_after_a_header_bomb() {
    fn member(name: &str, data: &[u8]) -> Vec<u8> {
        let mut header = tar::Header::new_ustar();
        header.set_path(name).expect("path");
        header.set_size(data.len() as u64);
        header.set_mode(0o644);
        header.set_entry_type(tar::EntryType::Regular);
        header.set_cksum();
        let mut out = header.as_bytes().to_vec();
        out.extend(data);
        out.resize(out.len().next_multiple_of(512), 0);
        out
    }
    let mut tar = member("records/a.txt", b"first");
    let mut pax = tar::Header::new_ustar();
    pax.set_path("PaxHeaders/bomb").expect("path");
    pax.set_entry_type(tar::EntryType::XHeader);
    pax.set_size(1 << 40);
    pax.set_cksum();
    tar.extend(pax.as_bytes());
    tar.extend(vec![b'x'; 3 << 20]);
    tar.extend(member("records/b.txt", b"second"));
    tar.extend([0u8; 1024]);
    let plain = zstd::bulk::compress(&tar, 3).expect("compress");

    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let work = tempfile::tempdir().expect("temp dir");
    let archive = work.path().join("bomb.kluis");
    harness::encrypt(&plain, &archive);
    let target = work.path().join("out");
    let all = kluis::read::restore::Selection::new(&[]).expect("selection");
    let req = kluis::read::restore::Request {
        archive: &archive,
        identities: harness::identities(),
        target: &target,
        selection: &all,
        existing: kluis::read::restore::Existing::Refuse,
    };
    kluis::read::salvage::run(&req, &kluis::progress::Silent).expect("salvage runs");
    assert_eq!(
        std::fs::read(target.join("records/a.txt")).expect("a"),
        b"first"
    );
    assert_eq!(
        std::fs::read(target.join("records/b.txt")).expect("b, after the bomb"),
        b"second"
    );
}
