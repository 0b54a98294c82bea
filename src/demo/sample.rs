//! Built-in deterministic sample records for `kluis demo`: one fiscal year of a fictional Dutch webshop (plus a multi-year orders export), generated from (year, seed) alone.
//!
//! Same `(year, seed)` gives a byte-identical tree: names, contents, modes (unix) and mtimes
//! (whole seconds, UTC, inside the fiscal year). Randomness comes from a small splitmix64
//! generator (`demo::tree`), so nothing here depends on an external crate's algorithm. This file
//! is the entry point; each kind of record is written by a module of its own beside it.

use std::io;
use std::path::Path;

use super::awkward::gen_awkward;
use super::books::gen_books;
use super::documents::{gen_invoices, gen_receipts};
use super::mail::gen_mail;
use super::tree::{Rng, Tree, Year, prepare_empty_dir};

pub use super::orders::generate_orders_table;
pub use super::tree::SampleSummary;

/// Writes one fiscal year of sample records into `dir`, which must be absent or empty.
///
/// About 2.5 MB in ~200–240 files: invoices, receipts, ledger and bank CSVs, mail, and a set of
/// deliberately awkward entries (unicode NFC/NFD, emoji, leading dash, long names and paths, deep
/// nesting, empty file and directory, 64 KiB boundary, modes 0600/0755, a relative symlink).
/// `year` must lie in 1000..=9999.
pub fn generate_records(dir: &Path, year: i32, seed: u64) -> io::Result<SampleSummary> {
    let yr = Year::new(year)?;
    prepare_empty_dir(dir)?;
    let mut t = Tree::new(dir);
    let sales = gen_invoices(&mut t, &yr, &mut Rng::new(seed, "invoices"))?;
    let purchases = gen_receipts(&mut t, &yr, &mut Rng::new(seed, "receipts"))?;
    gen_books(
        &mut t,
        &yr,
        &mut Rng::new(seed, "books"),
        &sales,
        &purchases,
    )?;
    gen_mail(&mut t, &yr, &mut Rng::new(seed, "mail"), &sales)?;
    gen_awkward(&mut t, &yr, &mut Rng::new(seed, "misc"))?;
    t.finish(&yr)
}

#[cfg(all(test, unix))]
mod tests {
    use std::collections::BTreeMap;
    use std::fs;
    use std::os::unix::fs::PermissionsExt;
    use std::time::{SystemTime, UNIX_EPOCH};

    use chrono::NaiveDate;

    use super::*;
    use crate::demo::tree::systime;

    #[derive(Debug, PartialEq, Eq)]
    struct Entry {
        kind: char,
        mode: u32,
        mtime: Option<SystemTime>,
        data: Vec<u8>,
    }

    fn snapshot(root: &Path) -> BTreeMap<String, Entry> {
        fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<String, Entry>) {
            for e in fs::read_dir(dir).unwrap() {
                let p = e.unwrap().path();
                let md = fs::symlink_metadata(&p).unwrap();
                let rel = p.strip_prefix(root).unwrap().to_str().unwrap().to_string();
                let mode = md.permissions().mode() & 0o7777;
                let entry = if md.file_type().is_symlink() {
                    let target = fs::read_link(&p).unwrap();
                    Entry {
                        kind: 'l',
                        mode: 0,
                        mtime: None,
                        data: target.into_os_string().into_encoded_bytes(),
                    }
                } else if md.is_dir() {
                    walk(root, &p, out);
                    Entry {
                        kind: 'd',
                        mode,
                        mtime: Some(md.modified().unwrap()),
                        data: vec![],
                    }
                } else {
                    Entry {
                        kind: 'f',
                        mode,
                        mtime: Some(md.modified().unwrap()),
                        data: fs::read(&p).unwrap(),
                    }
                };
                out.insert(rel, entry);
            }
        }
        let mut out = BTreeMap::new();
        walk(root, root, &mut out);
        out
    }

    fn year_bounds(y: i32) -> (SystemTime, SystemTime) {
        let s = |y| {
            systime(
                NaiveDate::from_ymd_opt(y, 1, 1)
                    .unwrap()
                    .and_hms_opt(0, 0, 0)
                    .unwrap(),
            )
        };
        (s(y), s(y + 1))
    }

    #[test]
    fn deterministic_tree() {
        let a = tempfile::tempdir().unwrap();
        let b = tempfile::tempdir().unwrap();
        let out_a = a.path().join("out"); // absent
        let sa = generate_records(&out_a, 2019, 7).unwrap();
        let sb = generate_records(b.path(), 2019, 7).unwrap(); // existing, empty
        assert_eq!(sa, sb);
        let (ta, tb) = (snapshot(&out_a), snapshot(b.path()));
        assert_eq!(ta.keys().collect::<Vec<_>>(), tb.keys().collect::<Vec<_>>());
        for (k, v) in &ta {
            assert_eq!(v, &tb[k], "{k}");
        }
        assert_eq!(
            fs::metadata(&out_a).unwrap().modified().unwrap(),
            fs::metadata(b.path()).unwrap().modified().unwrap()
        );
        let count = |c| ta.values().filter(|e| e.kind == c).count() as u64;
        assert_eq!(
            (count('f'), count('d'), count('l')),
            (sa.files, sa.dirs, sa.symlinks)
        );
        let bytes: u64 = ta
            .values()
            .filter(|e| e.kind == 'f')
            .map(|e| e.data.len() as u64)
            .sum();
        assert_eq!(bytes, sa.bytes);

        let c = tempfile::tempdir().unwrap();
        generate_records(c.path(), 2019, 8).unwrap();
        let tc = snapshot(c.path());
        let inv = "invoices/INV-2019-000001.pdf";
        assert!(!tc.contains_key(inv) || tc[inv].data != ta[inv].data);
    }

    #[test]
    fn awkward_entries_exist() {
        let d = tempfile::tempdir().unwrap();
        generate_records(d.path(), 2019, 1).unwrap();
        let t = snapshot(d.path());
        let inv = &t["invoices/INV-2019-000123.pdf"].data;
        assert!(inv.starts_with(b"%PDF-1.4") && inv.ends_with(b"%%EOF\n"));
        assert!(inv.windows(7).any(|w| w == b"BTW 21%"));
        assert!(t.values().any(|e| e.kind == 'f' && e.data.len() == 65_536));
        assert_eq!(t["scans/scan-0001.tif"].data.len(), 65_536);
        assert!(
            t.values()
                .any(|e| e.kind == 'f' && e.data.len() > 4 * 65_536)
        );
        assert!(t.keys().any(|k| k.split('/').any(|c| c.len() > 100)));
        assert!(
            t.keys()
                .any(|k| k.len() > 255 && d.path().join(k).is_file())
        );
        assert!(t.keys().any(|k| k.matches('/').count() >= 8));
        assert!(t.values().any(|e| e.kind == 'f' && e.data.is_empty()));
        assert!(
            t.iter()
                .any(|(k, e)| e.kind == 'd' && !t.keys().any(|o| o.starts_with(&format!("{k}/"))))
        );
        assert_eq!(t["latest-ledger.csv"].kind, 'l');
        assert_eq!(t["latest-ledger.csv"].data, b"ledger/grootboek-2019.csv");
        assert!(d.path().join("latest-ledger.csv").is_file());
        assert_eq!(t["scripts/api-token-mollie.txt"].mode, 0o600);
        assert_eq!(t["scripts/export-naar-accountant.sh"].mode, 0o755);
        assert!(t.contains_key("contracten/Huurcontract Caf\u{e9} 't Hoekje.pdf"));
        assert!(t.contains_key("correspondence/Huurcontract Cafe\u{301} 't Hoekje.pdf"));
        assert!(t.keys().any(|k| k.contains('\u{1F4E6}')));
        assert!(t.contains_key("-begint-met-streepje.txt"));
        let receipts: Vec<_> = t
            .iter()
            .filter(|(k, e)| k.starts_with("receipts/") && e.kind == 'f')
            .collect();
        assert!(receipts.len() >= 40);
        for (k, e) in receipts {
            assert!(k.ends_with(".jpg") && k.contains(" bon "), "{k}");
            assert!(
                e.data.starts_with(b"\xFF\xD8") && (10 * 1024..=60 * 1024).contains(&e.data.len())
            );
        }
        let ledger = std::str::from_utf8(&t["ledger/grootboek-2019.csv"].data)
            .unwrap()
            .to_string();
        let n = ledger.lines().count();
        assert!((1900..=2200).contains(&n), "{n}");
        assert!(ledger.lines().all(|l| l.matches(';').count() == 8));
        let bank = std::str::from_utf8(&t["bank/ING-2019.csv"].data)
            .unwrap()
            .to_string();
        assert!(bank.starts_with("\"Datum\";\"Naam / Omschrijving\""));
        assert!(t.keys().filter(|k| k.ends_with(".eml")).count() >= 5);
    }

    #[test]
    fn size_counts_and_mtimes() {
        for (year, seed) in [(2019, 1), (2020, 2), (2023, 99), (1999, 12345)] {
            let d = tempfile::tempdir().unwrap();
            let s = generate_records(d.path(), year, seed).unwrap();
            assert!((2_000_000..=4_000_000).contains(&s.bytes), "{s:?}");
            assert!((150..=300).contains(&s.files), "{s:?}");
            assert_eq!(s.symlinks, 1);
            let (lo, hi) = year_bounds(year);
            let mut all: Vec<(String, SystemTime)> = snapshot(d.path())
                .into_iter()
                .filter_map(|(k, e)| e.mtime.map(|m| (k, m)))
                .collect();
            all.push((
                ".".into(),
                fs::metadata(d.path()).unwrap().modified().unwrap(),
            ));
            for (k, m) in all {
                assert!(m >= lo && m < hi, "{k} {m:?}");
                assert_eq!(
                    m.duration_since(UNIX_EPOCH).unwrap().subsec_nanos(),
                    0,
                    "{k}"
                );
            }
        }
    }

    #[test]
    fn refuses_non_empty_dir_and_bad_year() {
        let d = tempfile::tempdir().unwrap();
        fs::write(d.path().join("x"), b"x").unwrap();
        assert!(generate_records(d.path(), 2019, 1).is_err());
        assert!(generate_records(&d.path().join("y"), 99, 1).is_err());
    }

    /// SHA-256 over every entry's path, kind, mode, mtime and bytes, in path order.
    fn tree_digest(root: &Path) -> String {
        use sha2::{Digest, Sha256};
        let mut h = Sha256::new();
        for (path, e) in snapshot(root) {
            let mtime = e
                .mtime
                .map_or(0, |m| m.duration_since(UNIX_EPOCH).unwrap().as_secs());
            h.update(format!(
                "{path}\0{}\0{:o}\0{mtime}\0{}\0",
                e.kind,
                e.mode,
                e.data.len()
            ));
            h.update(&e.data);
        }
        h.finalize().iter().map(|b| format!("{b:02x}")).collect()
    }

    /// The demo, the benchmark and the tests' expectations rest on these
    /// exact bytes: a change to the generator must change these on purpose.
    #[test]
    fn output_is_pinned() {
        use sha2::Digest;
        let mut got = Vec::new();
        for (year, seed) in [(2019, 1), (2020, 2), (1999, 12345)] {
            let d = tempfile::tempdir().unwrap();
            generate_records(d.path(), year, seed).unwrap();
            got.push(format!("records {year} {seed}: {}", tree_digest(d.path())));
        }
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("orders.csv");
        generate_orders_table(&p, 2017, 2021, 1).unwrap();
        let orders: String = sha2::Sha256::digest(fs::read(&p).unwrap())
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        got.push(format!("orders 2017-2021 1: {orders}"));
        assert_eq!(got, PINNED, "{got:#?}");
    }

    const PINNED: [&str; 4] = [
        "records 2019 1: e1ca0cff6054ba6037620e6749df5df3f30a79cf35b4af01975bb1eb3b5c6062",
        "records 2020 2: 35c28e8586b2146aff2eaac43a809245f84bf3b0f4189f2c3c13d88cfb98e300",
        "records 1999 12345: a92971fbe17493d2876dbfe17888e809391c9cc4d4f3593fdce7868b5df05ccc",
        "orders 2017-2021 1: da92ac44b60cc9be1baca856d0433904e1125ee9a2f7369701ff37ba3a4ff528",
    ];

    /// Minimal RFC 4180 reader for the tests.
    fn parse_csv(s: &str) -> Vec<Vec<String>> {
        let (mut rows, mut row, mut field) = (vec![], vec![], String::new());
        let (mut quoted, mut chars) = (false, s.chars().peekable());
        while let Some(c) = chars.next() {
            match (quoted, c) {
                (true, '"') if chars.peek() == Some(&'"') => {
                    chars.next();
                    field.push('"');
                }
                (true, '"') => quoted = false,
                (true, c) => field.push(c),
                (false, '"') => quoted = true,
                (false, ',') => row.push(std::mem::take(&mut field)),
                (false, '\r') => {}
                (false, '\n') => {
                    row.push(std::mem::take(&mut field));
                    rows.push(std::mem::take(&mut row));
                }
                (false, c) => field.push(c),
            }
        }
        rows
    }

    #[test]
    fn orders_table() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("export/orders.csv");
        let n = generate_orders_table(&p, 2017, 2021, 3).unwrap();
        let text = fs::read_to_string(&p).unwrap();
        assert!(text.starts_with(
            "order_id,order_date,customer_name,email,password_hash,birth_date,street,city,\
             total_eur,vat_eur,payment_method,marketing_opt_in\r\n"
        ));
        assert!(text.contains("\"") && text.contains("\"\""));
        let rows = parse_csv(&text);
        assert_eq!(rows.len() as u64, n + 1);
        assert!(rows.iter().all(|r| r.len() == 12));
        for y in 2017..=2021 {
            let c = rows[1..]
                .iter()
                .filter(|r| r[1].starts_with(&format!("{y}-")))
                .count();
            assert!((300..500).contains(&c), "{y}: {c}");
        }
        assert!(
            rows[1..]
                .iter()
                .all(|r| r[1].len() == 10 && r[1][..4].parse::<i32>().is_ok())
        );
        assert!(rows[1..].iter().any(|r| r[2].contains(',')));
        // Per-year rows do not depend on the requested range; whole file is reproducible.
        let q = d.path().join("one.csv");
        generate_orders_table(&q, 2019, 2019, 3).unwrap();
        let one = parse_csv(&fs::read_to_string(&q).unwrap());
        let from_range: Vec<_> = rows[1..]
            .iter()
            .filter(|r| r[1].starts_with("2019-"))
            .collect();
        assert_eq!(one[1..].iter().collect::<Vec<_>>(), from_range);
        let r = d.path().join("again.csv");
        generate_orders_table(&r, 2017, 2021, 3).unwrap();
        assert_eq!(fs::read(&p).unwrap(), fs::read(&r).unwrap());
    }
}
