//! `kluis status`: every archive, each copy and its state, as a table or
//! JSON, from the catalog alone (no medium needs to be plugged in).

use std::fs;

use crate::common::*;
use crate::schema::{date, status};

#[test]
fn status_shows_every_archive_copy_and_state() {
    let env = Env::with_archives();
    let s = status(&env, "2026-06-01");
    assert_eq!(s.today, date("2026-06-01"));
    assert_eq!(s.verify_every_months, 12);
    let names: Vec<_> = s.archives.iter().map(|a| a.name.as_str()).collect();
    assert_eq!(names, ["2015-financial", "2025-financial"]);
    let old = &s.archives[0];
    assert_eq!(
        (old.fiscal_year, old.class.as_str(), old.supplement),
        (2015, "financial", 1)
    );
    assert_eq!(old.retention_end, date("2022-12-31"));
    assert_eq!(old.destroy_from, date("2023-01-01"));
    assert_eq!(old.state, "due");
    assert!(old.hold.is_none() && old.archive_id.len() >= 16);
    let media: Vec<_> = old.copies.iter().map(|c| c.medium.as_str()).collect();
    assert_eq!(media, ["m1", "m2"]);
    for c in &old.copies {
        assert!(c.path.is_absolute() && c.destroyed.is_none() && c.last_verified.is_some());
        assert_eq!(c.last_result.as_deref(), Some("ok"));
        assert!(c.verify_due.is_some() && !c.written.is_empty());
    }
    let new = &s.archives[1];
    assert_eq!(new.retention_end, date("2032-12-31"));
    assert_eq!(new.state, "retained");

    // The table: one row per copy, columns aligned.
    let text = env.run_on("2026-06-01", ["status"]).ok().stdout_text();
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines[0].starts_with("ARCHIVE "), "{text}");
    let col = |l: &str, word: &str| l.find(word);
    assert_eq!(col(lines[0], "STATE"), col(lines[1], "due "), "{text}");
    assert_eq!(
        col(lines[0], "KEEP UNTIL"),
        col(lines[3], "2032-12-31"),
        "{text}"
    );
    assert!(lines[2].trim_start().starts_with("m2"), "{text}");
    assert_eq!(col(lines[0], "MEDIUM"), col(lines[2], "m2"), "{text}");

    // With every medium unplugged, status still knows everything.
    fs::rename(env.p("m1"), env.p("drawer-1")).unwrap();
    fs::rename(env.p("m2"), env.p("drawer-2")).unwrap();
    let again = status(&env, "2026-06-01");
    assert_eq!(again.archives.len(), 2);
    assert_eq!(again.archives[0].copies.len(), 2);
}

#[test]
fn status_of_an_empty_vault() {
    let env = Env::with_archives();
    fs::write(env.catalog_path(), "{\"version\":1,\"archives\":[]}").unwrap();
    env.run(["status"]).ok().stdout_has("No archives yet");
    assert!(status(&env, "2026-01-01").archives.is_empty());
}
