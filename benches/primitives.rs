//! The hot primitives of the archive pipeline, with divan:
//!
//! ```sh
//! cargo bench                       # all
//! cargo bench -- zstd               # those whose name contains "zstd"
//! ```
//!
//! Inputs are generated (deterministic), half text-like and compressible,
//! half incompressible, like a year of records (CSV, mail, PDFs, scans).
//! Only the library's public API is used. `cargo test` does not run these;
//! the end-to-end comparison with `tar | zstd | age` is `scripts/bench.sh`.

use std::io::Write;
use std::path::{Path, PathBuf};

use divan::counter::{BytesCount, ItemsCount};
use divan::{Bencher, black_box};
use kluis::format::manifest::{Entry, Kind};
use kluis::format::meta::Metadata;
use kluis::format::seektable::{self, FrameEntry};
use kluis::format::writer::{ArchiveWriter, Mtime, WriteOptions};
use sha2::{Digest, Sha256};

fn main() {
    divan::main();
}

/// The frame cap: the most tar bytes one frame holds.
const FRAME: usize = kluis::format::FRAME_CAP;

/// A small deterministic PRNG (xorshift64*), so runs compare.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// `len` bytes: alternating ~64 KiB runs of ledger-like CSV text and of
/// random bytes (a JPEG scan, a PDF's embedded font).
fn mixed(len: usize, seed: u64) -> Vec<u8> {
    const WORDS: &[&str] = &[
        "Webwinkel",
        "Het",
        "Blauwe",
        "Huis",
        "factuur",
        "betaling",
        "iDEAL",
        "Utrecht",
        "Amsterdam",
        "verzendkosten",
        "BTW",
        "21%",
        "9%",
        "debiteur",
        "crediteur",
        "retour",
    ];
    let mut rng = Rng(seed | 1);
    let mut out = Vec::with_capacity(len);
    let mut text = true;
    while out.len() < len {
        let end = (out.len() + (48 << 10) + rng.below(32 << 10) as usize).min(len);
        if text {
            while out.len() < end {
                let line = format!(
                    "2019-{:02}-{:02};INV-2019-{:06};{};{};{}.{:02};NL{:02}INGB{:010}\n",
                    1 + rng.below(12),
                    1 + rng.below(28),
                    rng.below(40_000),
                    WORDS[rng.below(WORDS.len() as u64) as usize],
                    WORDS[rng.below(WORDS.len() as u64) as usize],
                    rng.below(5_000),
                    rng.below(100),
                    rng.below(100),
                    rng.below(10_000_000_000),
                );
                out.extend_from_slice(line.as_bytes());
            }
            out.truncate(end);
        } else {
            while out.len() < end {
                out.extend_from_slice(&rng.next().to_le_bytes());
            }
            out.truncate(end);
        }
        text = !text;
    }
    out
}

/// SHA-256 of a 4 MiB buffer (sha2 uses the CPU's SHA extensions when it
/// has them).
#[divan::bench]
fn sha256_4mib(bencher: Bencher) {
    let data = mixed(FRAME, 1);
    bencher
        .counter(BytesCount::new(data.len()))
        .bench(|| Sha256::digest(black_box(&data[..])));
}

/// One frame's compression as the writer's workers do it: a reused
/// `zstd::bulk::Compressor` at level 3 with checksum and content size,
/// into a reused buffer.
#[divan::bench]
fn zstd3_compress_4mib_frame(bencher: Bencher) {
    let data = mixed(FRAME, 2);
    let mut compressor = zstd::bulk::Compressor::new(3).unwrap();
    compressor.include_checksum(true).unwrap();
    compressor.include_contentsize(true).unwrap();
    let mut out = Vec::with_capacity(zstd::zstd_safe::compress_bound(data.len()));
    bencher
        .counter(BytesCount::new(data.len()))
        .bench_local(|| {
            out.clear();
            compressor
                .compress_to_buffer(black_box(&data[..]), &mut out)
                .unwrap()
        });
}

/// The inverse, as restore and verify do it per frame.
#[divan::bench]
fn zstd_decompress_4mib_frame(bencher: Bencher) {
    let data = mixed(FRAME, 3);
    let frame = zstd::bulk::compress(&data, 3).unwrap();
    let mut decompressor = zstd::bulk::Decompressor::new().unwrap();
    let mut out = Vec::with_capacity(FRAME);
    bencher
        .counter(BytesCount::new(data.len()))
        .bench_local(|| {
            out.clear();
            decompressor
                .decompress_to_buffer(black_box(&frame[..]), &mut out)
                .unwrap()
        });
}

/// Frame tables of 500 frames (≈1 GB of records at the 2 MiB frame
/// target) and 5,000 frames (≈10 GB).
fn frame_entries(n: usize) -> Vec<FrameEntry> {
    let mut rng = Rng(n as u64);
    (0..n)
        .map(|_| FrameEntry {
            compressed: 500_000 + rng.below(1_500_000) as u32,
            decompressed: 2_000_000 + rng.below(2_000_000) as u32,
            checksum: Some(rng.next() as u32),
        })
        .collect()
}

#[divan::bench(args = [500, 5_000])]
fn seektable_encode(bencher: Bencher, frames: usize) {
    let entries = frame_entries(frames);
    bencher
        .counter(ItemsCount::new(frames))
        .bench(|| seektable::encode(black_box(&entries)));
}

#[divan::bench(args = [500, 5_000])]
fn seektable_decode(bencher: Bencher, frames: usize) {
    let table = seektable::encode(&frame_entries(frames));
    bencher
        .counter(ItemsCount::new(frames))
        .bench(|| seektable::decode(black_box(&table)).unwrap());
}

/// 1,000 manifest entries, a mix of files (with hashes) and folders.
fn manifest_entries() -> Vec<Entry> {
    let mut rng = Rng(7);
    (0..1_000u64)
        .map(|i| {
            let dir = i % 10 == 0;
            let mut hash = [0u8; 32];
            for chunk in hash.chunks_mut(8) {
                chunk.copy_from_slice(&rng.next().to_le_bytes());
            }
            Entry {
                path: format!(
                    "invoices/2019/{:02}/INV-2019-{i:06}{}",
                    1 + i % 12,
                    if dir { "" } else { ".pdf" }
                )
                .into_bytes(),
                kind: if dir { Kind::Dir } else { Kind::File },
                size: if dir { 0 } else { rng.below(200_000) },
                mode: if dir { 0o755 } else { 0o644 },
                mtime: 1_546_300_800 + rng.below(31_536_000) as i64,
                mtime_nsec: rng.below(1_000_000_000) as u32,
                sha256: (!dir).then_some(hash),
                target: None,
                offset: i * 4_096,
                data_offset: i * 4_096 + 1_536,
            }
        })
        .collect()
}

#[divan::bench]
fn manifest_to_json_line_x1000(bencher: Bencher) {
    let entries = manifest_entries();
    bencher.counter(ItemsCount::new(entries.len())).bench(|| {
        entries
            .iter()
            .map(|e| black_box(e).to_json_line().len())
            .sum::<usize>()
    });
}

#[divan::bench]
fn manifest_from_json_line_x1000(bencher: Bencher) {
    let lines: Vec<String> = manifest_entries().iter().map(Entry::to_json_line).collect();
    bencher.counter(ItemsCount::new(lines.len())).bench(|| {
        for line in &lines {
            black_box(Entry::from_json_line(black_box(line)).unwrap());
        }
    });
}

fn metadata() -> Metadata {
    let day = |m, d| chrono::NaiveDate::from_ymd_opt(2019, m, d).unwrap();
    Metadata {
        format: "kluis".into(),
        format_version: kluis::format::FORMAT_VERSION,
        archive_id: "0123456789abcdef0123456789abcdef".into(),
        organisation: "Bench B.V.".into(),
        fiscal_year: 2019,
        fiscal_year_start: day(1, 1),
        fiscal_year_end: day(12, 31),
        class: "financial".into(),
        supplement: 1,
        retention_end: chrono::NaiveDate::from_ymd_opt(2026, 12, 31).unwrap(),
        created: chrono::Utc::now(),
        tool_version: kluis::TOOL_VERSION.into(),
        minimisation: Vec::new(),
        audit_files: Vec::new(),
    }
}

/// The whole write path on 64 MiB of records (2,048 files of 32 KiB, read
/// from memory): tar headers, SHA-256, frames compressed on every core,
/// age encryption, written to a temporary file (not synced).
#[divan::bench(sample_count = 10, sample_size = 1)]
fn archive_writer_64mib(bencher: Bencher) {
    const FILES: usize = 2_048;
    const SIZE: usize = 32 << 10;
    let data = mixed(FILES * SIZE, 4);
    let recipient = age::x25519::Identity::generate().to_public();
    let recipients: Vec<Box<dyn age::Recipient + Send>> = vec![Box::new(recipient)];
    let metadata = metadata();
    let options = WriteOptions::default();
    let dir = tempfile::tempdir().unwrap();
    let path: PathBuf = dir.path().join("bench.kluis");
    let names: Vec<Vec<u8>> = (0..FILES)
        .map(|i| format!("records/invoices/INV-2019-{i:06}.pdf").into_bytes())
        .collect();
    let mtime = Mtime {
        secs: 1_546_300_800,
        nsec: 0,
    };
    bencher
        .counter(BytesCount::new(data.len()))
        .bench_local(|| {
            let file = std::fs::File::create(&path).unwrap();
            let mut w =
                ArchiveWriter::new(vec![(path.clone(), file)], &recipients, &metadata, &options)
                    .unwrap();
            for (name, chunk) in names.iter().zip(data.chunks(SIZE)) {
                w.add_file(
                    name,
                    chunk.len() as u64,
                    0o644,
                    mtime,
                    &mut &chunk[..],
                    Path::new("bench"),
                )
                .unwrap();
            }
            let (sealed, mut outputs) = w.finish().unwrap();
            outputs[0].1.flush().unwrap();
            sealed.size
        });
}

/// A year of webshop orders as CSV (≈32 MB): twelve columns, an ISO date,
/// amounts, names and addresses, some quoted with commas and doubled
/// quotes inside, like a real export. Written to a temporary file because
/// the table pass reads files.
fn orders_csv(rows: usize) -> (tempfile::TempDir, PathBuf, usize) {
    const STREETS: &[&str] = &[
        "Kerkstraat 12",
        "\"Dorpsweg 3, achterhuis\"",
        "Stationsplein 1",
        "\"Het \"\"Oude\"\" Pakhuis 7\"",
    ];
    let mut rng = Rng(7);
    let mut text = String::from(
        "order_id,created_at,customer_id,name,email,street,postcode,city,country,items,total,status\n",
    );
    for i in 0..rows {
        let year = 2018 + rng.below(3);
        let (month, day) = (1 + rng.below(12), 1 + rng.below(28));
        let street = STREETS[rng.below(STREETS.len() as u64) as usize];
        let cents = rng.below(250_000);
        text.push_str(&format!(
            "{i},{year}-{month:02}-{day:02} {:02}:{:02}:00,K{:06},Klant {i},klant{i}@example.nl,{street},{:04} AB,Utrecht,NL,{},{}.{:02},paid\n",
            rng.below(24),
            rng.below(60),
            rng.below(100_000),
            1000 + rng.below(9000),
            1 + rng.below(9),
            cents / 100,
            cents % 100,
        ));
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("orders.csv");
    std::fs::write(&path, &text).unwrap();
    (dir, path, text.len())
}

const CSV_ROWS: usize = 250_000;

/// kluis's own CSV pass over a table (`TableSpec::filter`): every record
/// scanned with its exact bytes, the date parsed, the year's rows written
/// and hashed. Compare with the two below, which only split fields: the
/// issue's question was whether `csv-core` would make the pass faster.
#[divan::bench(sample_count = 10)]
fn csv_table_pass_kluis(bencher: Bencher) {
    use kluis::retention::FiscalYearStart;
    use kluis::sources::table::{DateFormat, Origin, TableSpec, Window};
    let (_dir, path, len) = orders_csv(CSV_ROWS);
    let spec = TableSpec {
        name: "orders".into(),
        origin: Origin::Csv(path),
        date_column: "created_at".into(),
        dates: DateFormat::Auto,
        delimiter: None,
        drop: Default::default(),
        keep: Default::default(),
        required: Default::default(),
    };
    let window = Window::new(2019, FiscalYearStart::JANUARY_1);
    bencher.counter(BytesCount::new(len)).bench(|| {
        let filtered = spec
            .filter(
                &window,
                &mut std::io::sink(),
                None,
                &kluis::progress::Silent,
            )
            .unwrap();
        filtered.counts.rows
    });
}

/// csv-core alone: records and field boundaries, nothing else (no date
/// parsing, no output, no hashing) — the floor a csv-core-based pass
/// could reach.
#[divan::bench(sample_count = 10)]
fn csv_split_only_csv_core(bencher: Bencher) {
    let (_dir, path, len) = orders_csv(CSV_ROWS);
    let data = std::fs::read(&path).unwrap();
    bencher.counter(BytesCount::new(len)).bench(|| {
        let mut reader = csv_core::Reader::new();
        let (mut out, mut ends) = (vec![0u8; 1 << 16], vec![0usize; 64]);
        let (mut input, mut records) = (&data[..], 0u64);
        loop {
            let (result, nin, _, _) = reader.read_record(input, &mut out, &mut ends);
            input = &input[nin..];
            match result {
                csv_core::ReadRecordResult::Record => records += 1,
                csv_core::ReadRecordResult::End => break records,
                csv_core::ReadRecordResult::InputEmpty => {}
                other => panic!("{other:?}"),
            }
        }
    });
}

/// csv-core doing the table pass's work: records, the date field parsed
/// with kluis's own date reader, every record's raw bytes (the input it
/// consumed) hashed, as the pass hashes what it archives. What a pass on
/// csv-core would cost, before the wrapper it would need for line numbers,
/// terminators and the errors csv-core does not report.
#[divan::bench(sample_count = 10)]
fn csv_same_work_csv_core(bencher: Bencher) {
    use kluis::sources::table::DateFormat;
    let (_dir, path, len) = orders_csv(CSV_ROWS);
    let data = std::fs::read(&path).unwrap();
    bencher.counter(BytesCount::new(len)).bench(|| {
        let mut reader = csv_core::Reader::new();
        let (mut out, mut ends) = (vec![0u8; 1 << 16], vec![0usize; 64]);
        let (mut input, mut hash, mut year) = (&data[..], Sha256::new(), 0u64);
        let mut header = true;
        loop {
            let (result, nin, _, nends) = reader.read_record(input, &mut out, &mut ends);
            let raw = &input[..nin];
            input = &input[nin..];
            match result {
                csv_core::ReadRecordResult::Record => {
                    if std::mem::take(&mut header) {
                        continue;
                    }
                    assert!(nends == 12);
                    let date = std::str::from_utf8(&out[ends[0]..ends[1]]).unwrap();
                    let date = DateFormat::Auto.date(date).unwrap();
                    if chrono::Datelike::year(&date) == 2019 {
                        year += 1;
                        hash.update(raw);
                    }
                }
                csv_core::ReadRecordResult::End => break (year, hash.finalize()),
                csv_core::ReadRecordResult::InputEmpty => {}
                other => panic!("{other:?}"),
            }
        }
    });
}

/// The `csv` crate's byte records (on csv-core), as most Rust code reads
/// CSV: records and fields, nothing else.
#[divan::bench(sample_count = 10)]
fn csv_split_only_csv_crate(bencher: Bencher) {
    let (_dir, path, len) = orders_csv(CSV_ROWS);
    bencher.counter(BytesCount::new(len)).bench(|| {
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(true)
            .from_path(&path)
            .unwrap();
        let mut record = csv::ByteRecord::new();
        let mut rows = 0u64;
        while reader.read_byte_record(&mut record).unwrap() {
            rows += record.len() as u64;
        }
        rows
    });
}

/// Parity's hot loop as the accumulator runs it: a 2 KiB piece of 16
/// slices multiplied into a piece of one recovery block, in the kernel's
/// split layout, with the fastest kernel the CPU has (and AVX2's with
/// GFNI, for comparison, where the CPU has it).
#[divan::bench(args = ["detected", "gfni-avx2"])]
fn parity_mul_acc_16_slices(bencher: Bencher, kernel: &str) {
    use kluis::parity::kernel::{Kernel, Multiplier};
    let kernel = match kernel {
        "gfni-avx2" if Kernel::Gfni.available() => Kernel::Gfni,
        _ => Kernel::detect(),
    };
    const PIECE: usize = 2048;
    let slices: Vec<Vec<u8>> = (0..16).map(|k| mixed(PIECE, 100 + k)).collect();
    let srcs: Vec<&[u8]> = slices.iter().map(Vec::as_slice).collect();
    let ms: Vec<Multiplier> = (0..16)
        .map(|k| Multiplier::new(0x1234 + k as u16))
        .collect();
    let mut block = vec![0u8; PIECE];
    bencher
        .counter(BytesCount::new(PIECE * 16))
        .bench_local(|| kernel.mul_acc_many(black_box(&mut block), &srcs, &ms));
}
