//! Reading one record by streaming decompression
//! (`ArchiveReader::stream_from`, `member_at_streaming`), as a restore of a
//! few records does: the same bytes as decoding whole frames, for records
//! at every place in their frames and across frames, with the stream going
//! on from a record's headers to its content; damage is an error, never
//! other bytes.

mod common;

use std::io::Read;
use std::path::{Path, PathBuf};

use kluis::format::manifest::{Entry, Kind};
use kluis::format::reader::ArchiveReader;
use kluis::format::writer::WriteOptions;
use kluis::keys::Identities;

use common::*;

/// Deterministic bytes: half of each record compresses, half does not.
fn body(i: usize, len: usize) -> Vec<u8> {
    let mut x = 0x9e37_79b9_7f4a_7c15u64 ^ (i as u64).wrapping_mul(0x2545_f491_4f6c_dd1d);
    (0..len)
        .map(|n| {
            if n % 2048 < 1024 {
                b"ledger line, "[n % 13]
            } else {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x as u8
            }
        })
        .collect()
}

/// Record `i`'s size: mostly 1-60 kB, one of 5 MiB (more than a frame).
fn size(i: usize) -> usize {
    match i {
        40 => 5 << 20,
        _ => 1000 + (i * 7919) % 60_000,
    }
}

fn write(dir: &Path, records: usize) -> (PathBuf, Identities) {
    let key = Key::generate(&dir.join("key.txt"));
    let path = dir.join("2019-financial.kluis");
    write_archive(&path, &key, &WriteOptions::default(), |w| {
        for i in 0..records {
            // Long names sometimes: their pax headers are read as a stream too.
            let name = match i % 5 {
                0 => format!("records/{}/inv-{i:05}.pdf", "folder-".repeat(20)),
                _ => format!("records/inv-{i:05}.pdf"),
            };
            add_member(w, name.as_bytes(), &body(i, size(i)), T2019);
        }
    });
    (path, key.identities())
}

/// Everything `r` gives, until its end or an error.
fn read_all(mut r: impl Read) -> std::io::Result<Vec<u8>> {
    let mut out = Vec::new();
    r.read_to_end(&mut out).map(|_| out)
}

fn entries(r: &mut ArchiveReader) -> Vec<Entry> {
    r.manifest()
        .unwrap()
        .map(Result::unwrap)
        .filter(|e| e.kind == Kind::File)
        .collect()
}

fn index_of(e: &Entry) -> usize {
    let name = String::from_utf8_lossy(&e.path).into_owned();
    name.rsplit("inv-").next().unwrap()[..5].parse().unwrap()
}

#[test]
fn a_streamed_record_is_the_record_wherever_it_is_in_its_frames() {
    let dir = tempfile::tempdir().unwrap();
    let (path, ids) = write(dir.path(), 120);
    let mut r = ArchiveReader::open(&path, &ids).unwrap();
    let all = entries(&mut r);
    assert_eq!(all.len(), 120);
    assert!(r.frames().len() > 5, "several frames");
    let mut within = 0;
    for e in &all {
        let want = body(index_of(e), size(index_of(e)));
        // A fresh reader each time: nothing cached, the stream starts at
        // the frame's start.
        let mut fresh = ArchiveReader::open(&path, &ids).unwrap();
        let (name, header, data) = fresh.member_at_streaming(e.offset).unwrap();
        assert_eq!(name, e.path);
        assert_eq!(data, e.data_offset);
        assert_eq!(header.entry_size().unwrap(), e.size);
        let got = read_all(fresh.stream_from(e.data_offset, e.size)).unwrap();
        assert!(got == want, "{} differs", e.display_path());
        // And straight to the content, without the headers first.
        let mut alone = ArchiveReader::open(&path, &ids).unwrap();
        let again = read_all(alone.stream_from(e.data_offset, e.size)).unwrap();
        assert!(again == want, "{} differs read alone", e.display_path());
        let f = kluis::format::seektable::frame_at(r.frames(), e.data_offset).unwrap();
        if e.data_offset > r.frames()[f].d_offset + 100_000 {
            within += 1;
        }
    }
    assert!(within > 10, "records deep inside their frames: {within}");
}

#[test]
fn one_reader_streams_records_one_after_another_and_back() {
    let dir = tempfile::tempdir().unwrap();
    let (path, ids) = write(dir.path(), 60);
    let mut r = ArchiveReader::open(&path, &ids).unwrap();
    let all = entries(&mut r);
    // Forward (the stream goes on), then backward (it starts again).
    let order: Vec<&Entry> = all.iter().chain(all.iter().rev()).collect();
    for e in order {
        let want = body(index_of(e), size(index_of(e)));
        let (_, _, data) = r.member_at_streaming(e.offset).unwrap();
        let got = read_all(r.stream_from(data, e.size)).unwrap();
        assert!(got == want, "{} differs", e.display_path());
        // Part of it, from the middle.
        let from = (e.size / 2) as usize;
        let len = 1000.min(want.len() - from);
        let part = read_all(r.stream_from(data + from as u64, len as u64)).unwrap();
        assert!(
            part == want[from..from + len],
            "{} differs",
            e.display_path()
        );
    }
}

#[test]
fn damage_under_a_streamed_record_is_an_error_not_other_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let (path, ids) = write(dir.path(), 60);
    let mut r = ArchiveReader::open(&path, &ids).unwrap();
    let all = entries(&mut r);
    // A record in the middle of the archive; flip a byte of the ciphertext
    // in the middle of its content.
    let e = &all[30];
    let f = kluis::format::seektable::frame_at(r.frames(), e.data_offset).unwrap();
    let frame = r.frames()[f];
    drop(r);
    let mut bytes = std::fs::read(&path).unwrap();
    // The ciphertext offset of the frame's middle: the age header, then
    // 64 KiB chunks with a 16-byte tag each.
    let header = bytes.windows(4).position(|w| w == b"\n---").unwrap();
    let header_end = header
        + bytes[header + 1..]
            .iter()
            .position(|&b| b == b'\n')
            .unwrap()
        + 2;
    let plain = frame.c_offset + u64::from(frame.entry.compressed) / 2;
    let cipher = header_end as u64 + 16 + plain + plain / 65536 * 16;
    bytes[cipher as usize] ^= 0x40;
    std::fs::write(&path, &bytes).unwrap();
    let mut r = ArchiveReader::open(&path, &ids).unwrap();
    let mut got = Vec::new();
    let read = r.stream_from(frame.d_offset, frame.d_end() - frame.d_offset);
    let err = { read }.read_to_end(&mut got).unwrap_err();
    assert!(err.to_string().contains("authentication failed"), "{err}");
    assert!(
        got.len() < (frame.d_end() - frame.d_offset) as usize,
        "it stopped at the damage"
    );
}
