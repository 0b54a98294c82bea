//! Restoring a single record: only that record comes back, and it is found
//! by seeking, so that only a small fraction of a large archive's
//! ciphertext is read (measured in bytes, not time).

use crate::common::*;

#[test]
fn restoring_one_record_restores_only_that_record() {
    let (env, key) = Env::ready();
    let archive = env.sample_archive(|src| {
        write_file(&src.join("invoices/INV-1.pdf"), b"one", 0o644);
        write_file(&src.join("invoices/INV-2.pdf"), b"two", 0o644);
        write_file(&src.join("ledger/2019.csv"), b"ledger", 0o644);
        stamp_tree(src);
    });

    env.restore(&key, &archive, env.p("audit"))
        .arg("invoices/INV-2.pdf")
        .run()
        .ok();
    let got = snapshot(&env.p("audit/records"));
    let files: Vec<_> = got
        .iter()
        .filter(|(_, n)| matches!(n.what, What::File(_)))
        .map(|(p, _)| String::from_utf8_lossy(p).into_owned())
        .collect();
    assert_eq!(files, ["invoices/INV-2.pdf"]);
    assert_eq!(
        got[&b"invoices/INV-2.pdf".to_vec()],
        snapshot(&env.p("src"))[&b"invoices/INV-2.pdf".to_vec()]
    );
}

#[test]
fn single_record_restore_reads_a_small_fraction_of_a_large_archive() {
    let (env, key) = Env::ready();
    let archive = env.sample_archive(|src| {
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
    });

    let run = env
        .restore(&key, &archive, env.p("audit"))
        .args(["--json", "month-04/INV-2019-000123.txt"])
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
