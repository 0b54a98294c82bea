//! Test vectors of signed archives (tests/vectors/README.md): written once
//! by the ignored `make_signed_vectors`, pinned by SHA-256, and read by
//! every later kluis: `signed.kluis` checks as signed by
//! `test-signing.pub`, as unchecked with no key, as signed by an unknown
//! key with another;
//! `fail_bad_signature.kluis` reports its bad `kluis/SHA256SUMS` signature.

use std::fs;
use std::path::Path;

use kluis::format::meta::Metadata;
use kluis::format::signatures::{self, SignatureState};
use kluis::format::writer::{ArchiveWriter, Mtime, WriteOptions};
use kluis::keys::signing::PublicKey;

use crate::common::*;

const PINNED: &[(&str, &str)] = &[
    (
        "signed.kluis",
        "3e00ea3f1187463d0dcf0ec0b64196790d8dfee3ecab3deeccfda5bc1cee6485",
    ),
    (
        "fail_bad_signature.kluis",
        "7c1d304108b2cbce1253989e6419d5a4d3b475d527c131eee86aa57eb0c221c1",
    ),
    (
        "test-signing.pub",
        "c0ed177d68a60af286b1e141d74b486f98d84b8eb604743ad19f4808bcc615a1",
    ),
];

fn state(path: &Path, ids: &kluis::keys::Identities, keys: &[PublicKey]) -> SignatureState {
    let mut r = kluis::format::reader::ArchiveReader::open(path, ids).unwrap();
    signatures::check(&mut r, keys).unwrap()
}

#[test]
fn signed_vectors_keep_verifying() {
    for (file, sha) in PINNED {
        assert_eq!(file_sha256(&vectors().join(file)), *sha, "{file} changed");
    }
    let env = Env::new();
    let ids = env.vector_key("test-key.txt").identities();
    let public =
        PublicKey::parse(&fs::read_to_string(vectors().join("test-signing.pub")).unwrap()).unwrap();
    let signed = vectors().join("signed.kluis");
    assert_eq!(
        state(&signed, &ids, std::slice::from_ref(&public)),
        SignatureState::Good {
            key_id: public.id()
        }
    );
    assert_eq!(
        state(&signed, &ids, &[]),
        SignatureState::Unchecked {
            key_id: public.id()
        }
    );
    let stranger = kluis::keys::signing::SigningKey::generate().public();
    assert_eq!(
        state(&signed, &ids, &[stranger]),
        SignatureState::UnknownKey {
            key_id: public.id()
        }
    );
    match state(
        &vectors().join("fail_bad_signature.kluis"),
        &ids,
        std::slice::from_ref(&public),
    ) {
        SignatureState::Bad { what, .. } => assert_eq!(what, "kluis/SHA256SUMS"),
        other => panic!("{other:?}"),
    }
    let report = kluis::read::verify::run_with_keys(
        &signed,
        Some(&ids),
        None,
        &[public],
        &kluis::progress::Silent,
    )
    .unwrap();
    assert!(report.ok(), "{report:?}");
    // The old vector stays unsigned, and fine.
    assert_eq!(
        state(&vectors().join("tiny.kluis"), &ids, &[]),
        SignatureState::Unsigned
    );
}

#[test]
#[ignore = "writes the committed vectors; run once with KLUIS_WRITE_VECTORS=1"]
fn make_signed_vectors() {
    assert!(
        std::env::var_os("KLUIS_WRITE_VECTORS").is_some(),
        "set KLUIS_WRITE_VECTORS=1"
    );
    assert!(
        !vectors().join("signed.kluis").exists(),
        "the vectors exist; they never change"
    );
    let key = kluis::keys::signing::SigningKey::generate();
    key.write_new(&vectors().join("test-signing.key")).unwrap();
    fs::write(vectors().join("test-signing.pub"), key.public().to_file()).unwrap();
    let owner = Key::load(&vectors().join("test-key.txt"));
    let now: chrono::DateTime<chrono::Utc> = "2027-01-05T10:00:00Z".parse().unwrap();
    let meta = Metadata {
        archive_id: "5157e9000000000000000000000000a1".into(),
        organisation: "Kluis Testvectoren B.V.".into(),
        created: now,
        tool_version: kluis::TOOL_VERSION.into(),
        ..crafted_metadata()
    };
    for (name, bad) in [("signed.kluis", false), ("fail_bad_signature.kluis", true)] {
        let path = vectors().join(name);
        write_archive_with(&path, &owner, &meta, &WriteOptions::default(), |w| {
            add_records(w);
            if bad {
                // Signed as usual, then SHA256SUMS's signature swapped for
                // one over other bytes (same key, same trusted comment).
                let other = b"not the SHA256SUMS of this archive\n";
                sign_with_bad_sums_signature(w, &key, &meta, now, other);
            } else {
                signatures::sign(w, &key, &meta).unwrap();
            }
        });
    }
    for (file, _) in PINNED {
        println!(
            "    (\"{file}\", \"{}\"),",
            file_sha256(&vectors().join(file))
        );
    }
}

/// The records of the signed vectors: three invoices in a folder.
fn add_records(w: &mut ArchiveWriter) {
    w.add_dir(
        b"records/invoices",
        0o755,
        Mtime {
            secs: 1_546_300_800,
            nsec: 0,
        },
    )
    .unwrap();
    for i in 1..=3u32 {
        let body = format!("Factuur INV-2019-{i:06}\nbedrag: {} EUR\n", i * 100);
        w.add_file(
            format!("records/invoices/INV-2019-{i:06}.txt").as_bytes(),
            body.len() as u64,
            0o644,
            Mtime {
                secs: 1_546_300_800 + i64::from(i) * 86_400,
                nsec: 0,
            },
            &mut body.as_bytes(),
            Path::new("vector"),
        )
        .unwrap();
    }
}
