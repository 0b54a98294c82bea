//! The records the tests archive: a deterministic generator, small sample
//! trees, the awkward tree of the round trips, and large incompressible
//! sources for the tests that need an archive run to take a while.

use std::fs::{self, File};
use std::io::{Read, Write};
use std::path::Path;

use super::{bpath, stamp_tree, write_file};

/// A deterministic pseudo-random generator (splitmix64): test data that is
/// incompressible but the same on every run.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number below `n` (0 when `n` is 0).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }

    pub fn bytes(&mut self, n: usize) -> Vec<u8> {
        let mut out = Vec::with_capacity(n + 8);
        while out.len() < n {
            out.extend_from_slice(&self.next_u64().to_le_bytes());
        }
        out.truncate(n);
        out
    }

    /// Alternating 64 KiB stretches of random bytes and of text, so that
    /// compression neither vanishes nor does nothing.
    pub fn mixed(&mut self, n: usize) -> Vec<u8> {
        let mut out = Vec::with_capacity(n);
        let mut line = 0u64;
        while out.len() < n {
            if (out.len() / 65536) % 2 == 0 {
                out.extend(self.bytes(65536));
            } else {
                let end = out.len() + 65536;
                while out.len() < end {
                    line += 1;
                    out.extend_from_slice(
                        format!(
                            "{line:08};2019-03-{:02};INV-2019-{:06};EUR {}.{:02};Het Testhuis B.V.\n",
                            line % 28 + 1,
                            self.next_u64() % 1_000_000,
                            self.next_u64() % 10_000,
                            self.next_u64() % 100
                        )
                        .as_bytes(),
                    );
                }
                out.truncate(end);
            }
        }
        out.truncate(n);
        out
    }
}

// ---------------------------------------------------------------------------
// Sample trees (each is written below `root` and stamped)

/// One record: `a.txt`.
pub fn one_record(root: &Path) {
    write_file(&root.join("a.txt"), b"a", 0o644);
    stamp_tree(root);
}

/// Two invoices in a folder and a ledger: the small archive most refusal
/// tests start from.
pub fn invoices(root: &Path) {
    write_file(&root.join("invoices/INV-1.txt"), b"invoice one", 0o644);
    write_file(&root.join("invoices/INV-2.txt"), b"invoice two", 0o644);
    write_file(&root.join("ledger.csv"), b"date;amount\n", 0o644);
    stamp_tree(root);
}

/// Something of every kind `list` shows: folders (one empty), files (one
/// empty and private), a symlink, a name beyond ASCII.
pub fn every_kind(root: &Path) {
    write_file(&root.join("invoices/INV-1.pdf"), b"invoice one", 0o644);
    write_file(&root.join("invoices/INV-2.pdf"), b"invoice two!", 0o644);
    write_file(&root.join("ledger.csv"), b"", 0o600);
    write_file(&root.join("Überweisung 2019.txt"), b"unicode", 0o644);
    fs::create_dir(root.join("empty")).unwrap();
    std::os::unix::fs::symlink("invoices/INV-2.pdf", root.join("latest")).unwrap();
    stamp_tree(root);
}

/// The tree of the round-trip and interoperability tests: every awkward
/// thing the issue lists. Returns the total bytes of its files.
pub fn awkward_tree(root: &Path) -> u64 {
    let mut rng = Rng::new(2019);
    let long_component = format!("{}.pdf", "Lange-bestandsnaam-".repeat(7)); // 137 bytes
    assert!(long_component.len() > 100);
    let long_dir = "d".repeat(120);
    let long_path = format!("{long_dir}/{long_dir}/{}.txt", "f".repeat(60));
    assert!(long_path.len() > 255);
    let files: Vec<(Vec<u8>, Vec<u8>, u32)> = vec![
        (b"empty.txt".to_vec(), vec![], 0o644),
        (b"sub/also-empty".to_vec(), vec![], 0o644),
        (b"exactly-64KiB.bin".to_vec(), rng.bytes(65536), 0o644),
        (
            b"several-age-chunks.bin".to_vec(),
            rng.bytes(300_000),
            0o644,
        ),
        (
            b"bigger-than-a-frame.bin".to_vec(),
            rng.mixed(9 << 20),
            0o644,
        ),
        (
            format!("invoices/{long_component}").into_bytes(),
            b"long name".to_vec(),
            0o644,
        ),
        (long_path.into_bytes(), b"long path".to_vec(), 0o644),
        (
            "unicode/café-NFC.txt".as_bytes().to_vec(),
            b"nfc".to_vec(),
            0o644,
        ),
        (
            "unicode/cafe\u{301}-NFD.txt".as_bytes().to_vec(),
            b"nfd".to_vec(),
            0o644,
        ),
        (
            "unicode/Überweisung € 日本語 ✓.txt".as_bytes().to_vec(),
            b"unicode".to_vec(),
            0o644,
        ),
        (
            b"with spaces/a file name with  spaces .txt".to_vec(),
            b"spaces".to_vec(),
            0o644,
        ),
        (b"latin1/caf\xe9.txt".to_vec(), b"not UTF-8".to_vec(), 0o644),
        (
            b"a/b/c/d/e/f/g/h/i/j/deep.txt".to_vec(),
            b"deep".to_vec(),
            0o644,
        ),
        (
            b"invoices/INV-2019-000123.pdf".to_vec(),
            rng.bytes(4000),
            0o644,
        ),
        (b"private.txt".to_vec(), b"owner only".to_vec(), 0o600),
        (
            b"run-me.sh".to_vec(),
            b"#!/bin/sh\necho hi\n".to_vec(),
            0o755,
        ),
    ];
    let mut total = 0;
    for (rel, data, mode) in &files {
        write_file(&bpath(root, rel), data, *mode);
        total += data.len() as u64;
    }
    fs::create_dir_all(root.join("empty-folder")).unwrap();
    fs::create_dir_all(root.join("links")).unwrap();
    std::os::unix::fs::symlink(
        "../invoices/INV-2019-000123.pdf",
        root.join("links/latest-invoice"),
    )
    .unwrap();
    stamp_tree(root);
    total
}

/// A year of records: twelve invoices of a few KiB in `invoices/` and a
/// ledger, below `root` (not stamped).
pub fn records_2019(root: &Path) {
    for i in 0..12 {
        let path = root.join(format!("invoices/INV-2019-{i:06}.pdf"));
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(&path, format!("%PDF invoice {i}\n").repeat(200 + i * 30)).unwrap();
    }
    fs::create_dir_all(root.join("ledger")).unwrap();
    fs::write(root.join("ledger/2019.csv"), "date;amount\n2019-01-01;10\n").unwrap();
}

/// An orders table of 2019 (`order_id;order_date;total`, two orders a
/// month) at `path`.
pub fn orders_2019(path: &Path) {
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    let mut text = String::from("order_id;order_date;total\n");
    for m in 1..=12 {
        for d in [3, 17] {
            text.push_str(&format!("{m}{d};2019-{m:02}-{d:02};{}\n", m * 10 + d));
        }
    }
    fs::write(path, text).unwrap();
}

// ---------------------------------------------------------------------------
// Large incompressible sources

/// Writes `n` bytes from the kernel's random source: incompressible, and
/// much faster than generating them in a debug build.
pub fn random_file(path: &Path, n: usize) {
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    let mut rnd = File::open("/dev/urandom").unwrap();
    let mut out = File::create(path).unwrap();
    let mut buf = vec![0u8; 1 << 20];
    let mut left = n;
    while left > 0 {
        let k = left.min(buf.len());
        rnd.read_exact(&mut buf[..k]).unwrap();
        out.write_all(&buf[..k]).unwrap();
        left -= k;
    }
}

/// `n` bytes from the kernel's random source, in memory.
pub fn random_bytes(n: usize) -> Vec<u8> {
    let mut v = vec![0u8; n];
    File::open("/dev/urandom")
        .unwrap()
        .read_exact(&mut v)
        .unwrap();
    v
}

/// A source folder: `small` files of `small_size` bytes in a few
/// subfolders, and one file per entry of `big`. Returns the total bytes.
pub fn make_source(root: &Path, small: usize, small_size: usize, big: &[usize]) -> u64 {
    let mut total = 0;
    for i in 0..small {
        random_file(
            &root.join(format!("invoices/{:02}/INV-{i:05}.pdf", i % 12 + 1)),
            small_size,
        );
        total += small_size as u64;
    }
    for (i, &n) in big.iter().enumerate() {
        random_file(&root.join(format!("ledger-{i}.bin")), n);
        total += n as u64;
    }
    total
}
