//! Bit rot: single flipped bytes and truncations of an archive of a few
//! thousand records are all detected, and everything outside the damaged
//! frames is recovered (by `restore`, or by `restore --salvage` when the
//! archive's index itself is hit). Uses the library directly: 1,100 checks
//! through the binary would take minutes.

mod common;

use std::collections::HashMap;
use std::fs::{self, File};
use std::io::Write;
use std::path::{Path, PathBuf};

use common::{Key, Rng, add_member, write_archive};
use kluis::format::manifest::Kind;
use kluis::format::reader::ArchiveReader;
use kluis::format::writer::{Mtime, WriteOptions};
use kluis::keys::Identities;
use kluis::read::restore::Selection;

struct Fixture {
    _dir: tempfile::TempDir,
    dir: PathBuf,
    archive: Vec<u8>,
    ids: Identities,
    /// Record path -> (tar range it occupies).
    records: HashMap<Vec<u8>, (u64, u64)>,
    /// Tar-stream end of each data frame, with its plaintext end.
    frames: Vec<(u64, u64)>,
}

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().to_path_buf();
    let key = Key::generate(&root.join("key.txt"));
    let ids = key.identities();
    let path = root.join("a.kluis");
    let mut rng = Rng::new(7);
    write_archive(&path, &key, &WriteOptions::default(), |writer| {
        writer
            .add_dir(b"records/docs", 0o755, Mtime::default())
            .unwrap();
        for i in 0..2500u32 {
            // Mostly small text-like records, some incompressible, a few large.
            let size = match i % 50 {
                0 => 20_000 + rng.below(40_000) as usize,
                _ => 200 + rng.below(3_000) as usize,
            };
            let data: Vec<u8> = if i % 3 == 0 {
                (0..size).map(|_| rng.next_u64() as u8).collect()
            } else {
                let line = format!("{i};INV-2019-{i:06};{};EUR;21%\n", rng.below(100_000));
                line.bytes().cycle().take(size).collect()
            };
            let name = format!("records/docs/record-{i:05}.txt");
            let mtime = Mtime {
                secs: 1_546_300_800 + i64::from(i),
                nsec: 0,
            };
            add_member(writer, name.as_bytes(), &data, mtime);
        }
    });
    let archive = fs::read(&path).unwrap();
    let mut reader = ArchiveReader::open(&path, &ids).unwrap();
    let frames = reader
        .frames()
        .iter()
        .map(|f| (f.d_end(), f.c_end()))
        .collect();
    let mut records = HashMap::new();
    for e in reader.manifest().unwrap() {
        let e = e.unwrap();
        if e.kind == Kind::File {
            records.insert(e.path.clone(), (e.offset, e.data_offset + e.size));
        }
    }
    Fixture {
        _dir: dir,
        dir: root,
        archive,
        ids,
        records,
        frames,
    }
}

/// Salvages `path` into a fresh folder; returns the record paths restored.
fn salvage(f: &Fixture, path: &Path, n: usize) -> Vec<Vec<u8>> {
    let target = f.dir.join(format!("salvage-{n}"));
    let selection = Selection::new(&[]).unwrap();
    let req = kluis::read::restore::Request {
        archive: path,
        identities: &f.ids,
        target: &target,
        selection: &selection,
        existing: kluis::read::restore::Existing::Refuse,
    };
    match kluis::read::salvage::run(&req, &kluis::progress::Silent) {
        Ok(_) => {}
        Err(_) => return Vec::new(),
    }
    let mut out = Vec::new();
    let docs = target.join("records/docs");
    if let Ok(dir) = fs::read_dir(&docs) {
        for e in dir {
            let name = e.unwrap().file_name();
            out.push(format!("records/docs/{}", name.to_string_lossy()).into_bytes());
        }
    }
    fs::remove_dir_all(&target).ok();
    out
}

#[test]
fn every_flipped_byte_is_detected_and_damage_stays_in_its_frames() {
    let f = fixture();
    let total = f.records.len() as f64;
    assert_eq!(f.records.len(), 2500);
    assert!(
        f.frames.len() >= 5,
        "want several frames, got {}",
        f.frames.len()
    );
    let damaged_path = f.dir.join("flipped.kluis");
    let mut rng = Rng::new(2026);
    let mut recovered_sum = 0.0;
    let mut salvaged = 0;
    for n in 0..1000 {
        let mut bytes = f.archive.clone();
        let pos = rng.below(bytes.len() as u64) as usize;
        bytes[pos] ^= 1 << rng.below(8);
        File::create(&damaged_path)
            .unwrap()
            .write_all(&bytes)
            .unwrap();
        let recovered = match kluis::read::verify::full_check(
            &damaged_path,
            &f.ids,
            &kluis::progress::Silent,
        ) {
            Ok(check) => {
                assert!(
                    !check.problems.is_empty(),
                    "flip {n} at byte {pos} was not detected"
                );
                assert!(
                    !check.damaged_frames.is_empty(),
                    "flip {n} at byte {pos}: no damaged frame named"
                );
                // Every record named damaged overlaps a damaged frame;
                // every other record was read back intact.
                let mut lost = 0;
                for p in &check.problems {
                    if let Some(&(start, end)) = f.records.get(p.path.as_bytes()) {
                        assert!(
                            check
                                .damaged_frames
                                .iter()
                                .any(|&(s, e)| start < e && s < end),
                            "flip {n}: {} reported but outside the damaged frames",
                            p.path
                        );
                        lost += 1;
                    }
                }
                f.records.len() - lost
            }
            // The archive's own index (header, metadata, manifest, seek
            // table) was hit: salvage must still get the rest.
            Err(e) => {
                assert!(
                    matches!(
                        e,
                        kluis::Error::Damaged { .. }
                            | kluis::Error::NotAnArchive { .. }
                            | kluis::Error::WrongKey { .. }
                    ),
                    "flip {n} at {pos}: unexpected error {e}"
                );
                salvaged += 1;
                let got = salvage(&f, &damaged_path, n).len();
                if pos > 4096 && !matches!(e, kluis::Error::WrongKey { .. }) {
                    assert!(
                        got as f64 > 0.5 * total,
                        "flip {n} at {pos}: salvage got only {got} records"
                    );
                }
                got
            }
        };
        recovered_sum += recovered as f64 / total;
    }
    eprintln!(
        "bitrot: 1000/1000 flips detected; mean fraction of records recovered {:.4}; {} needed salvage",
        recovered_sum / 1000.0,
        salvaged
    );
}

#[test]
fn every_truncation_is_detected_and_salvage_keeps_whole_frames_before_it() {
    let f = fixture();
    let damaged_path = f.dir.join("truncated.kluis");
    let mut rng = Rng::new(99);
    let mut recovered_sum = 0.0;
    for n in 0..100 {
        let len = rng.below(f.archive.len() as u64) as usize;
        File::create(&damaged_path)
            .unwrap()
            .write_all(&f.archive[..len])
            .unwrap();
        // An error (the archive's end is gone) is detection too.
        if let Ok(check) =
            kluis::read::verify::full_check(&damaged_path, &f.ids, &kluis::progress::Silent)
        {
            assert!(
                !check.problems.is_empty(),
                "truncation {n} at {len} not detected"
            );
        }
        let got = salvage(&f, &damaged_path, n);
        // Every record lying wholly in frames that end well before the cut
        // (a 64 KiB age chunk and the header of slack) must come back.
        let safe_plain = (len as u64).saturating_sub(2 * 65_536 + 1_024);
        let intact_tar_end = f
            .frames
            .iter()
            .filter(|&&(_, c_end)| c_end <= safe_plain)
            .map(|&(d_end, _)| d_end)
            .max()
            .unwrap_or(0);
        let must: Vec<_> = f
            .records
            .iter()
            .filter(|&(_, &(_, end))| end <= intact_tar_end)
            .map(|(p, _)| p.clone())
            .collect();
        for p in &must {
            assert!(
                got.contains(p),
                "truncation {n} at {len}: {} not salvaged",
                String::from_utf8_lossy(p)
            );
        }
        recovered_sum += got.len() as f64 / f.records.len() as f64;
    }
    eprintln!(
        "bitrot: 100/100 truncations detected; mean fraction salvaged {:.4}",
        recovered_sum / 100.0
    );
}
