//! The committed vector `tests/vectors/awkward.kluis` (see
//! `tests/vectors/README.md`): the awkward tree as written by the writer
//! that names every pax header. Its SHA-256 is pinned with the others in
//! `tests/cli/vectors.rs`; the matrix reads it with every reader, and the
//! tests here check its headers and that kluis lists, verifies and restores
//! it. [`make_awkward_vector`] wrote it once.

use std::ffi::OsStr;
use std::fs;
use std::path::{Path, PathBuf};

use crate::harness::*;

pub const AWKWARD: &str = "awkward.kluis";

pub fn vectors() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/vectors")
}

fn private_key(dir: &Path) -> PathBuf {
    let key = dir.join("test-key.txt");
    copy_private(&vectors().join("test-key.txt"), &key);
    key
}

#[test]
fn awkward_vector_verifies_and_names_every_pax_header() {
    let dir = scratch("readers-vector-verify");
    let key = private_key(&dir);
    let archive = vectors().join(AWKWARD);
    let verify = kluis(
        &dir,
        &[
            OsStr::new("verify"),
            OsStr::new("-i"),
            key.as_os_str(),
            archive.as_os_str(),
        ],
    );
    verify.ok();
    assert!(verify.text().contains("awkward.kluis: ok"), "{verify}");

    // Decrypted and decompressed with the crates (no stock tools needed):
    // every pax header has a name, a mode, an owner and a checksum.
    let text = fs::read_to_string(&key).unwrap();
    let identity: age::x25519::Identity = text
        .lines()
        .find(|l| l.starts_with("AGE-SECRET-KEY-1"))
        .unwrap()
        .parse()
        .unwrap();
    let mut plain = Vec::new();
    std::io::Read::read_to_end(
        &mut age::Decryptor::new(&fs::read(&archive).unwrap()[..])
            .unwrap()
            .decrypt(std::iter::once(&identity as &dyn age::Identity))
            .unwrap(),
        &mut plain,
    )
    .unwrap();
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
    let dir = scratch("readers-make-vector");
    write_tree(&dir.join("src"), &awkward(false));
    let key = private_key(&dir);
    let recipient = fs::read_to_string(&key)
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix("# public key: ").map(str::to_owned))
        .expect("the key file names its recipient");
    kluis(
        &dir,
        &["init", "--org", "Kluis Testvectoren B.V.", "-r", &recipient],
    )
    .ok();
    fs::create_dir(dir.join("stick")).unwrap();
    kluis(&dir, &["archive", "--year", "2019", "--to", "stick", "src"]).ok();
    fs::copy(dir.join("stick/2019-financial.kluis"), &target).unwrap();
    eprintln!(
        "    (\"{AWKWARD}\", \"{}\"),",
        sha256_hex(&fs::read(&target).unwrap())
    );
}
