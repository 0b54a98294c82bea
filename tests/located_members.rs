//! Members after `kluis/SHA256SUMS`, located through the footer
//! (docs/FORMAT.md §4.5): written by `ArchiveWriter::add_located`, found by
//! `ArchiveReader::located`, framed on line starts when asked, passed over
//! by the full check, and ordinary files to stock `tar`.

mod common;

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::Command;

use kluis::format::meta::Metadata;
use kluis::format::reader::ArchiveReader;
use kluis::format::writer::{ArchiveWriter, Framing, Mtime, WriteOptions};
use kluis::keys::Identities;

use common::*;

/// An archive of `records` small files plus a sorted line index of about
/// 600 KiB (lines-framed every 16 KiB) and a packed blob.
fn write(dir: &Path, records: usize) -> (PathBuf, Identities, Vec<u8>, Vec<u8>) {
    let key = Key::generate(&dir.join("key.txt"));
    let meta = Metadata {
        archive_id: "00112233445566778899aabbccddeeff".into(),
        organisation: "Test B.V.".into(),
        tool_version: kluis::TOOL_VERSION.into(),
        ..crafted_metadata()
    };
    let path = dir.join("2019-financial.kluis");
    let file = std::fs::File::create(&path).unwrap();
    let mut w = ArchiveWriter::new(
        vec![(path.clone(), file)],
        &key.recipients(),
        &meta,
        &WriteOptions::default(),
    )
    .unwrap();
    let mtime = Mtime {
        secs: 1_546_300_800,
        nsec: 0,
    };
    for i in 0..records {
        let body = format!("invoice {i}\n").repeat(50);
        w.add_file(
            format!("records/inv-{i:05}.txt").as_bytes(),
            body.len() as u64,
            0o644,
            mtime,
            &mut body.as_bytes(),
            Path::new("test"),
        )
        .unwrap();
    }
    w.end_records().unwrap();
    // The manifest can be read back while the trailer is written.
    let mut manifest = String::new();
    w.written_manifest()
        .unwrap()
        .read_to_string(&mut manifest)
        .unwrap();
    assert_eq!(manifest.lines().count(), records);
    assert!(w.written_metadata().starts_with(b"{"));

    let index: Vec<u8> = (0..20_000)
        .map(|i| format!("key-{i:08}\trecords/inv-{:05}.txt\n", i % records.max(1)))
        .collect::<String>()
        .into_bytes();
    w.add_located(
        "test_index",
        "kluis/test-index.tsv",
        index.len() as u64,
        &mut &index[..],
        Framing::Lines { every: 16 << 10 },
    )
    .unwrap();
    let blob = b"a signature or anything else".to_vec();
    w.add_located(
        "test_blob",
        "kluis/test-blob.bin",
        blob.len() as u64,
        &mut &blob[..],
        Framing::Packed,
    )
    .unwrap();
    let (_sealed, mut outputs) = w.finish().unwrap();
    outputs[0].1.flush().unwrap();
    (path, key.identities(), index, blob)
}

#[test]
fn located_members_round_trip_and_frame_on_line_starts() {
    let dir = tempfile::tempdir().unwrap();
    let (path, ids, index, blob) = write(dir.path(), 300);
    let mut r = ArchiveReader::open(&path, &ids).unwrap();
    assert!(r.located("no_such_key").unwrap().is_none());

    let at = r.located("test_blob").unwrap().unwrap();
    assert_eq!(at.name, b"kluis/test-blob.bin");
    let mut got = Vec::new();
    r.located_content(&at, 0).read_to_end(&mut got).unwrap();
    assert_eq!(got, blob);

    let at = r.located("test_index").unwrap().unwrap();
    let mut got = Vec::new();
    r.located_content(&at, 0).read_to_end(&mut got).unwrap();
    assert_eq!(got, index);
    let mut tail = Vec::new();
    r.located_content(&at, 100).read_to_end(&mut tail).unwrap();
    assert_eq!(tail, index[100..]);

    // Every frame that starts inside the index's content starts at a line.
    let (start, end) = (at.data_offset, at.data_offset + at.size);
    let inside: Vec<u64> = r
        .frames()
        .iter()
        .map(|f| f.d_offset)
        .filter(|&o| o > start && o < end)
        .collect();
    assert!(
        inside.len() >= 30,
        "only {} frames in the index",
        inside.len()
    );
    for o in inside {
        let rel = (o - start) as usize;
        assert_eq!(index[rel - 1], b'\n', "frame at {o} does not start a line");
    }
    // The member starts a frame of its own (its header first).
    let header_frame = r
        .frames()
        .iter()
        .position(|f| f.d_offset <= start && start < f.d_end())
        .unwrap();
    assert!(r.frames()[header_frame].d_offset + 2048 > start);
}

#[test]
fn the_full_check_passes_over_located_members() {
    let dir = tempfile::tempdir().unwrap();
    let (path, ids, _, _) = write(dir.path(), 40);
    let check = kluis::read::verify::full_check(&path, &ids, &kluis::progress::Silent).unwrap();
    assert!(check.problems.is_empty(), "{:?}", check.problems);
}

#[test]
fn stock_tar_sees_located_members_as_plain_files() {
    let dir = tempfile::tempdir().unwrap();
    let (path, _, index, _) = write(dir.path(), 5);
    let out = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "age -d -i '{}' '{}' | zstd -dq | tar -tf -",
            dir.path().join("key.txt").display(),
            path.display()
        ))
        .output()
        .unwrap();
    if !out.status.success() && std::env::var_os("KLUIS_REQUIRE_STOCK_TOOLS").is_none() {
        return; // age/zstd missing outside scripts/test.sh
    }
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let names = String::from_utf8(out.stdout).unwrap();
    let order: Vec<&str> = names.lines().filter(|n| n.starts_with("kluis/")).collect();
    assert_eq!(
        order,
        [
            "kluis/metadata.json",
            "kluis/manifest.jsonl",
            "kluis/SHA256SUMS",
            "kluis/test-index.tsv",
            "kluis/test-blob.bin",
            "kluis/paths.jsonl",
            "kluis/footer.json"
        ]
    );
    let x = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "age -d -i '{}' '{}' | zstd -dq | tar -xOf - kluis/test-index.tsv",
            dir.path().join("key.txt").display(),
            path.display()
        ))
        .output()
        .unwrap();
    assert_eq!(x.stdout, index);
}
