//! `verify -i` reads an archive once: the quick check's SHA-256 of the
//! ciphertext is taken from the bytes the full check reads (decrypting,
//! decompressing and walking every record), small archives and large ones
//! (read ahead in a second thread) alike, and stays right when the full
//! check stops early on damage.

use kluis::format::filehash::FileHash;
use kluis::read::verify;

use crate::common::*;

#[test]
fn the_full_check_reads_the_whole_file_once_in_order() {
    let (env, key) = Env::ready();
    let small = env.sample_archive(|src| {
        write_file(&src.join("invoices/INV-1.pdf"), b"one", 0o644);
        write_file(&src.join("ledger.csv"), &Rng::new(1).bytes(300_000), 0o644);
    });
    let large = env.p("large.kluis");
    // Over 16 MiB: the full check reads ahead in a second reader.
    write_archive(&large, &key, &Default::default(), |w| {
        let mut rng = Rng::new(2);
        for i in 0..9 {
            add_member(
                w,
                format!("records/scan-{i}.pdf").as_bytes(),
                &rng.bytes(2 << 20),
                T2019,
            );
        }
    });
    for archive in [&small, &large] {
        let hash = FileHash::new();
        let full = verify::full_check_hashing(
            archive,
            &key.identities(),
            Some(hash.clone()),
            &kluis::progress::Silent,
        )
        .unwrap();
        assert!(full.problems.is_empty(), "{:?}", full.problems);
        let size = std::fs::metadata(archive).unwrap().len();
        // Every byte was hashed as the check read it: nothing is left to read.
        assert_eq!(hash.hashed(), size, "{}", archive.display());
        let (n, sha) = hash.finish(archive).unwrap();
        assert_eq!(
            (n, kluis::format::manifest::hex(&sha)),
            (size, file_sha256(archive))
        );
        // (The crafted one is unknown to the vault's catalog: exit 1.)
        let report = env.verify(&key, archive).arg("--json").run();
        assert_eq!(
            report.json()["archives"][0]["problems"],
            serde_json::json!([])
        );
        assert_eq!(
            report.json()["archives"][0]["sha256"],
            file_sha256(archive).as_str()
        );
    }
}

#[test]
fn a_damaged_archive_gets_its_whole_hash_and_the_same_report() {
    let (env, key) = Env::ready();
    let archive = env.sample_archive(|src| {
        let mut rng = Rng::new(3);
        for n in 0..12 {
            write_file(
                &src.join(format!("scans/scan-{n:02}.pdf")),
                &rng.bytes(400_000),
                0o644,
            );
        }
    });
    let damaged = env.damaged_copy(&archive, "damaged.kluis", |_| {});
    flip_byte_in_frame_of(&damaged, &key, b"records/scans/scan-05.pdf");
    let hash = FileHash::new();
    let full = verify::full_check_hashing(
        &damaged,
        &key.identities(),
        Some(hash.clone()),
        &kluis::progress::Silent,
    )
    .unwrap();
    let plain = verify::full_check(&damaged, &key.identities(), &kluis::progress::Silent).unwrap();
    assert_eq!(full.problems, plain.problems);
    assert!(
        full.problems.iter().any(|p| p.path.contains("scan-05")),
        "{:?}",
        full.problems
    );
    let (_, sha) = hash.finish(&damaged).unwrap();
    assert_eq!(kluis::format::manifest::hex(&sha), file_sha256(&damaged));
    let report = env.verify(&key, &damaged).arg("--json").run();
    report.code(1);
    assert_eq!(
        report.json()["archives"][0]["sha256"],
        file_sha256(&damaged).as_str()
    );
}
