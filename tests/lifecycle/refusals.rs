//! What the lifecycle commands refuse (exit 2, one error naming the
//! problem) and the promise that goes with it: nothing in the test folder
//! changes. A destruction before the end of retention, of an unknown
//! archive, on a folder or a file that is not the archive; a malformed
//! configuration; an unknown preset or class.

use std::fs;

use crate::common::*;

#[test]
fn destroy_refusals_change_nothing() {
    let env = Env::with_archives();
    fs::create_dir(env.p("empty")).unwrap();
    let refuse = |archive: &str, medium: &str, needle: &str| {
        env.unchanged_by(|| {
            env.kluis().destroy(archive, medium).run().refused(needle);
        });
    };
    // Before the end date: says the date.
    refuse("2025-financial", "m1", "retention runs until 2032-12-31");
    // Unknown archive.
    refuse("2011-financial", "m1", "unknown archive");
    // A folder that does not hold it.
    refuse("2015-financial", "empty", "does not hold 2015-financial");
    refuse("2015-financial", "nowhere", "nowhere");
    // --medium is required.
    env.unchanged_by(|| {
        env.run(["destroy", "2015-financial", "--yes"]).code(2);
    });

    // A file of the right name that is not the archive: refused.
    fs::write(env.p("m1/2015-financial.kluis"), b"something else").unwrap();
    refuse("2015-financial", "m1", "may be another file");
    // Same size, other bytes.
    let size = env.catalog_entry("2015-financial")["size"]
        .as_u64()
        .unwrap() as usize;
    fs::write(env.p("m1/2015-financial.kluis"), vec![b'x'; size]).unwrap();
    refuse("2015-financial", "m1", "SHA-256");

    // A medium with the file but without it in its index.
    fs::create_dir(env.p("m3")).unwrap();
    fs::copy(
        env.p("m2/2015-financial.kluis"),
        env.p("m3/2015-financial.kluis"),
    )
    .unwrap();
    refuse("2015-financial", "m3", "does not list it");

    // A bad KLUIS_TODAY is an error, not "today".
    env.unchanged_by(|| {
        env.kluis()
            .today("soon")
            .destroy("2015-financial", "m2")
            .run()
            .code(2)
            .stderr_has("KLUIS_TODAY");
    });
}

#[test]
fn malformed_config_names_key_and_line() {
    let env = Env::with_archives();
    let bad = env.edit_config(|config| {
        let bad = config.replace(
            "verify_every_months = 12",
            "verify_every_months = \"yearly\"",
        );
        assert_ne!(bad, config, "{config}");
        bad
    });
    let line = bad
        .lines()
        .position(|l| l.starts_with("verify_every_months"))
        .unwrap()
        + 1;
    env.unchanged_by(|| {
        for args in [
            &["status"][..],
            &["due"],
            &["destroy", "2015-financial", "--medium", "m1", "--yes"],
            &["hold", "2015-financial", "--reason", "x"],
        ] {
            env.run(args)
                .code(2)
                .stderr_has(&format!("line {line}"))
                .stderr_has("verify_every_months");
        }
    });
}

#[test]
fn unknown_preset_or_class() {
    let env = Env::new();
    let key = env.new_key("key.txt");
    env.kluis()
        .init("X", &[&key])
        .args(["--preset", "xx"])
        .run()
        .code(2)
        .stderr_has("xx");
    assert!(!env.vault().join("config.toml").exists());

    let env = Env::with_archives();
    fs::create_dir(env.p("m3")).unwrap();
    env.unchanged_by(|| {
        env.run([
            "archive", "--year", "2016", "--class", "nope", "--to", "m3", "src2015",
        ])
        .code(2)
        .stderr_has("nope");
    });
}
