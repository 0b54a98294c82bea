//! The committed vector `tests/vectors/awkward.kluis` (see
//! `tests/vectors/README.md`): the awkward tree as written by the writer
//! that names every pax header. Its SHA-256 is pinned with the others in
//! `tests/cli/vectors.rs`; the matrix reads it with every reader, and the
//! tests here check its headers and that kluis lists, verifies and restores
//! it. [`make_awkward_vector`] wrote it once.

use std::fs;

use crate::awkward::*;
use crate::common::*;

pub const AWKWARD: &str = "awkward.kluis";

#[test]
fn awkward_vector_verifies_and_names_every_pax_header() {
    let env = Env::new();
    let key = env.vector_key("test-key.txt");
    let archive = vectors().join(AWKWARD);
    let verify = env.verify(&key, &archive).run();
    verify.ok();
    assert!(
        verify.stdout_text().contains("awkward.kluis: ok"),
        "{verify}"
    );

    // Decrypted and decompressed with the crates (no stock tools needed):
    // every pax header has a name, a mode, an owner and a checksum.
    let plain = key.decrypt(&archive);
    let mut tar = Vec::new();
    std::io::Read::read_to_end(&mut zstd::Decoder::new(&plain[..]).unwrap(), &mut tar).unwrap();
    let mut headers = 0;
    for entry in tar::Archive::new(&tar[..]).entries().unwrap().raw(true) {
        let entry = entry.unwrap();
        let h = entry.header();
        if h.entry_type() == tar::EntryType::XHeader {
            assert!(h.path_bytes().starts_with(b"PaxHeaders/"), "{h:?}");
            assert_eq!(h.mode().unwrap(), 0o644);
            assert_eq!((h.uid().unwrap(), h.gid().unwrap()), (0, 0));
            headers += 1;
        }
    }
    // One per record and per kluis member (metadata, manifest, sums, footer).
    assert_eq!(headers, awkward(false).len() + 4);
}

// ---------------------------------------------------------------------------
// The generator, run once:
//   KLUIS_WRITE_VECTORS=1 cargo test --test readers make_awkward_vector -- --ignored

#[test]
#[ignore = "generator: writes tests/vectors/awkward.kluis once (KLUIS_WRITE_VECTORS=1)"]
fn make_awkward_vector() {
    if std::env::var_os("KLUIS_WRITE_VECTORS").is_none() {
        eprintln!("make_awkward_vector: set KLUIS_WRITE_VECTORS=1 to write it");
        return;
    }
    let target = vectors().join(AWKWARD);
    assert!(
        !target.exists(),
        "{AWKWARD} exists; vectors are never regenerated (delete it deliberately first)"
    );
    let env = Env::new();
    write_tree(&env.p("src"), &awkward(false));
    let key = env.vector_key("test-key.txt");
    env.kluis()
        .init("Kluis Testvectoren B.V.", &[&key])
        .run()
        .ok();
    fs::copy(env.archived(2019, "src"), &target).unwrap();
    eprintln!(
        "    (\"{AWKWARD}\", \"{}\"),",
        sha256_hex(&fs::read(&target).unwrap())
    );
}
