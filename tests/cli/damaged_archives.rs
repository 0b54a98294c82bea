//! Damaged archives (issue 2): an archive cut short at any length, or with
//! a byte flipped in its age header or in one record's frame, is reported as
//! damaged (exit 1 from verify, exit 2 from list and restore), and the
//! damage is confined: nothing is restored from a record that cannot be
//! trusted, every other record is.

use std::ffi::OsStr;
use std::fs;
use std::path::PathBuf;

use kluis::format::manifest::Kind;

use crate::common::*;

#[test]
fn truncated_archive_is_damaged_at_any_length() {
    let (env, key) = Env::ready();
    // Several age chunks, so that truncation can fall on a chunk boundary.
    let archive = env.sample_archive(|src| {
        write_file(&src.join("big.bin"), &Rng::new(3).bytes(300_000), 0o644);
        write_file(&src.join("small.txt"), b"small", 0o644);
    });
    let bytes = fs::read(&archive).unwrap();
    let start = payload_start(&bytes);
    for (name, keep) in [
        ("nonce-only.kluis", start + 16),
        ("mid-payload.kluis", start + (bytes.len() - start) / 2),
        ("chunk-boundary.kluis", start + 16 + 2 * AGE_CHUNK),
        ("last-byte-gone.kluis", bytes.len() - 1),
    ] {
        let cut = env.damaged_copy(&archive, name, |b| b.truncate(keep));
        env.refused_everywhere(&key, &cut, "truncated");
    }
    // The originals are unharmed.
    env.verify(&key, env.p(STICK)).run().ok();
}

/// Truncation inside the age header is reported as damage, not as "not a
/// kluis archive" (whose hint says a damaged archive would report as
/// damaged).
#[test]
fn truncated_inside_the_age_header_is_damage() {
    let (env, key) = Env::ready();
    let archive = env.sample_archive(invoices);
    let start = payload_start(&fs::read(&archive).unwrap());
    for (name, keep) in [
        ("header-half.kluis", start / 2),
        ("header-all-but-one.kluis", start - 1),
    ] {
        let cut = env.damaged_copy(&archive, name, |b| b.truncate(keep));
        env.refused_everywhere(&key, &cut, "truncated");
    }
}

/// An archive of small records around three 6 MB incompressible ones, so
/// that the middle of `big2.bin` is a data frame of its own (frames hold
/// at most 2.5 MiB, `FRAME_CAP`); one byte in the middle of
/// that frame's ciphertext is flipped. Returns the archive.
fn archive_with_flipped_byte_in_big2(env: &Env, key: &Key) -> PathBuf {
    let archive = env.sample_archive(|src| {
        let mut rng = Rng::new(4);
        write_file(&src.join("a-first.txt"), b"first", 0o644);
        for n in 1..=3 {
            write_file(
                &src.join(format!("big{n}.bin")),
                &rng.bytes(6_000_000),
                0o644,
            );
        }
        write_file(&src.join("z-last.txt"), b"last", 0o644);
        stamp_tree(src);
    });

    // The data frame holding the middle of big2.bin, and only big2.bin.
    let (entries, frame) = flip_byte_in_frame_of(&archive, key, b"records/big2.bin");
    let big2 = entries
        .iter()
        .find(|e| e.path == b"records/big2.bin")
        .unwrap();
    assert!(
        frame.d_offset >= big2.offset && frame.d_end() <= big2.data_offset + big2.size + 511,
        "the frame holds big2.bin alone: {frame:?} {big2:?}"
    );
    archive
}

/// A byte flipped inside one record's frame is found: without the key by
/// its SHA-256, with the key by naming the record; the record is not
/// restored, records elsewhere are.
#[test]
fn flipped_byte_is_found_with_and_without_the_key() {
    let (env, key) = Env::ready();
    let archive = archive_with_flipped_byte_in_big2(&env, &key);

    env.verify_without_key(env.p(STICK))
        .run()
        .code(1)
        .stdout_has("SHA-256 differs from SHA256SUMS")
        .stdout_has("2019-financial.kluis: DAMAGED");
    env.verify(&key, env.p(STICK))
        .run()
        .code(1)
        .stdout_has("records/big2.bin: damaged");

    let restore = env
        .restore(&key, &archive, env.p("out"))
        .arg("big2.bin")
        .run();
    restore.code(1).stdout_has("NOT restored: records/big2.bin");
    assert!(
        !exists(&env.p("out/records/big2.bin")),
        "no half-restored file"
    );
    for (n, fine) in ["a-first.txt", "z-last.txt"].into_iter().enumerate() {
        let to = env.p(format!("one-{n}"));
        env.restore(&key, &archive, &to).arg(fine).run().ok();
        assert_eq!(
            fs::read(to.join("records").join(fine)).unwrap(),
            fs::read(env.p("src").join(fine)).unwrap()
        );
    }
}

/// The same damage is confined to its record: the full verify names
/// `big2.bin` and nothing else, and a restore of everything brings back
/// every other record.
#[test]
fn flipped_byte_damages_only_its_record() {
    let (env, key) = Env::ready();
    let archive = archive_with_flipped_byte_in_big2(&env, &key);
    let others = ["a-first.txt", "big1.bin", "big3.bin", "z-last.txt"];

    let full = env.verify(&key, &archive).arg("--json").run();
    full.code(1);
    let report = full.json();
    let check = &report["archives"][0]["full"];
    let problems = check["problems"].as_array().unwrap();
    assert!(!problems.is_empty(), "{full}");
    assert!(
        problems.iter().all(|p| p["path"] == "records/big2.bin"),
        "only big2.bin is damaged{full}"
    );
    assert_eq!(
        check["damaged_frames"].as_array().unwrap().len(),
        1,
        "one damaged frame{full}"
    );

    let restore = env.restore(&key, &archive, env.p("out")).run();
    restore.code(1).stdout_has("NOT restored: records/big2.bin");
    assert!(!exists(&env.p("out/records/big2.bin")));
    for fine in others {
        assert!(
            !restore.stdout_text().contains(fine),
            "{fine} restores{restore}"
        );
        assert_eq!(
            fs::read(env.p("out/records").join(fine)).unwrap(),
            fs::read(env.p("src").join(fine)).unwrap()
        );
    }
}

/// A damaged frame holding many small records: each of them is reported
/// and left out, every other record is restored, and the restore finishes
/// (the checker's buffers come back after every failed record).
#[test]
fn restore_skips_every_record_of_a_damaged_frame() {
    let (env, key) = Env::ready();
    let archive = env.sample_archive(|src| {
        let mut rng = Rng::new(7);
        for n in 0..150 {
            write_file(&src.join(format!("r{n:03}.bin")), &rng.bytes(40_000), 0o644);
        }
        stamp_tree(src);
    });

    let (entries, frame) = flip_byte_in_frame_of(&archive, &key, b"records/r075.bin");
    let inside: Vec<String> = entries
        .iter()
        .filter(|e| e.offset < frame.d_end() && frame.d_offset < e.data_offset + e.size)
        .map(|e| e.display_path())
        .collect();
    assert!(inside.len() > 20, "many records in the frame: {inside:?}");

    let restore = env
        .kluis_under(&[OsStr::new("timeout"), OsStr::new("120")])
        .restore(&key, &archive, env.p("out"))
        .run();
    restore.code(1);
    let out = restore.stdout_text();
    for e in &entries {
        let name = e.display_path();
        let restored = env.p("out").join(&name);
        if inside.contains(&name) {
            assert!(
                out.contains(&format!("NOT restored: {name}")),
                "{name}{restore}"
            );
            assert!(!exists(&restored), "{name}");
        } else if e.kind == Kind::File {
            let rel = name.strip_prefix("records/").unwrap();
            assert_eq!(
                fs::read(&restored).unwrap(),
                fs::read(env.p("src").join(rel)).unwrap()
            );
        }
    }
}

/// A recipient stanza of the age header that no longer parses is damage
/// of the archive (exit 1 from verify), not a problem with the key.
#[test]
fn a_damaged_age_header_is_reported_as_damage() {
    let (env, key) = Env::ready();
    let archive = env.sample_archive(invoices);
    let damaged = env.damaged_copy(&archive, "header.kluis", |b| {
        let at = b
            .windows(10)
            .position(|w| w == b"-> X25519 ")
            .expect("an X25519 stanza");
        b[at + 12] = b'!'; // not base64
    });
    env.verify(&key, &damaged)
        .run()
        .code(1)
        .stdout_has("age header is damaged");
    env.list(&key, &damaged)
        .run()
        .error(2, &["header.kluis", "age header is damaged"]);
}
