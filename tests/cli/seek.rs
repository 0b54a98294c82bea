//! A single record is restored by seeking: only a small fraction of a large
//! archive's ciphertext is read (measured in bytes, not time).

use crate::common::*;

#[test]
fn single_record_restore_reads_a_small_fraction_of_a_large_archive() {
    let (env, key) = Env::ready();
    let src = env.p("src");
    let mut rng = Rng::new(40);
    // ~40 MB of incompressible records in 160 files, so ~20 data frames.
    for folder in 0..8 {
        for n in 0..20 {
            write_file(
                &src.join(format!("month-{folder:02}/scan-{n:03}.pdf")),
                &rng.bytes(250_000),
                0o644,
            );
        }
    }
    // The record the auditor asks for, in the middle of the archive.
    write_file(
        &src.join("month-04/INV-2019-000123.txt"),
        b"Invoice INV-2019-000123, EUR 121.00\n",
        0o644,
    );
    env.archive(2019, &["stick"], &[], &["src"]).ok();

    let run = env
        .kluis()
        .args(["restore", "--json", "-i"])
        .arg(&key.path)
        .arg(env.p("stick/2019-financial.kluis"))
        .arg("--to")
        .arg(env.p("audit"))
        .arg("month-04/INV-2019-000123.txt")
        .run();
    run.ok();
    let report = run.json();
    assert_eq!(report["files"], 1, "{run}");
    assert_eq!(
        std::fs::read(env.p("audit/records/month-04/INV-2019-000123.txt")).unwrap(),
        b"Invoice INV-2019-000123, EUR 121.00\n"
    );
    let read = report["ciphertext_bytes_read"].as_u64().unwrap();
    let size = report["archive_size"].as_u64().unwrap();
    assert!(size > 40_000_000, "{run}");
    eprintln!(
        "single-record restore read {read} of {size} ciphertext bytes ({:.1} %)",
        read as f64 * 100.0 / size as f64
    );
    assert!(
        read * 10 < size,
        "restoring one small record read {read} of {size} bytes ({:.1} %), not < 10 %{run}",
        read as f64 * 100.0 / size as f64
    );
}
