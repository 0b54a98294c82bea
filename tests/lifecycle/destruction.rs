//! `kluis destroy`: one copy at a time, each with a proof of destruction
//! kept on the medium and in the catalog; the medium's `SHA256SUMS` and
//! index follow; it asks for the name on a terminal, finishes a run that
//! was interrupted, and shows the proofs on request.

use std::fs;

use crate::common::*;
use crate::schema::{CopyRefOut, DestroyOut, ProofOut, date, due, state_of, status};

#[test]
fn destroy_each_copy_with_proof() {
    let env = Env::with_archives();
    let catalogued = env.catalog_entry("2015-financial");
    let sha = catalogued["sha256"].as_str().unwrap().to_owned();
    let size = catalogued["size"].as_u64().unwrap();
    assert!(env.medium_sums("m1").contains("2015-financial.kluis"));

    let out: DestroyOut = env
        .kluis()
        .destroy("2015-financial", "m1")
        .args(["--operator", "Jan Jansen (owner)", "--json"])
        .run()
        .ok()
        .parse();
    let p = &out.destroyed;
    assert_eq!(p.archive_id, catalogued["archive_id"].as_str().unwrap());
    assert_eq!((p.fiscal_year, p.class.as_str()), (2015, "financial"));
    assert_eq!(
        (p.file.as_str(), p.size, p.sha256.as_str()),
        ("2015-financial.kluis", size, sha.as_str())
    );
    assert_eq!(p.retention_end, date("2022-12-31"));
    assert_eq!(p.medium, "m1");
    assert_eq!(p.method, "overwrite-random-1-pass+truncate+unlink");
    assert!(p.tool_version.starts_with("kluis "));
    assert_eq!(p.operator, "Jan Jansen (owner)");
    assert!(p.destroyed_at.ends_with('Z'));
    assert_eq!(out.stage, "destroyed");
    assert!(out.path.ends_with("m1/2015-financial.kluis"));
    assert_eq!(out.other_copies.len(), 1);
    assert_eq!(out.other_copies[0].medium, "m2");
    assert!(out.note.contains("NIST SP 800-88") && out.note.contains("key"));

    // Gone from the medium, its SHA256SUMS and its index; the other archive stays.
    let names = names(&env.p("m1"));
    // Only its signed proof of destruction stays (issue 12).
    assert!(
        !names
            .iter()
            .any(|n| n.contains("2015") && !n.contains(".destroyed.json")),
        "{names:?}"
    );
    assert!(names.contains(&"2015-financial.kluis.destroyed.json".to_owned()));
    assert!(env.p("m1/2025-financial.kluis").exists());
    assert!(!env.medium_sums("m1").contains("2015-financial"));
    assert!(env.medium_sums("m1").contains("2025-financial.kluis"));
    sha256sum_checks(&env.p("m1"));
    let index = env.medium_index("m1");
    assert!(
        index["archives"]
            .as_array()
            .unwrap()
            .iter()
            .all(|a| a["file"] != "2015-financial.kluis")
    );
    let on_medium: Vec<ProofOut> = serde_json::from_value(index["destroyed"].clone()).unwrap();
    assert_eq!(on_medium, [out.destroyed]);
    // The other medium is untouched.
    assert!(env.p("m2/2015-financial.kluis").exists());
    assert!(env.medium_sums("m2").contains("2015-financial.kluis"));

    // The catalog: the copy is destroyed, the proof kept.
    let a = env.catalog_entry("2015-financial");
    assert!(a["copies"][0]["destroyed"].is_string());
    assert!(a["copies"][1].get("destroyed").is_none());
    let in_catalog: Vec<ProofOut> = serde_json::from_value(a["destructions"].clone()).unwrap();
    assert_eq!(in_catalog, on_medium);
    let s = status(&env, "2026-06-01");
    assert_eq!(s.archives[0].state, "partly_destroyed");
    assert!(s.archives[0].copies[0].destroyed.is_some());
    assert!(s.archives[0].copies[0].verify_due.is_none());
    // A destroyed copy has no parity left; the copy still there keeps its own.
    assert_eq!(s.archives[0].copies[0].parity_bytes, None);
    assert!(s.archives[0].copies[1].parity_bytes.is_some_and(|b| b > 0));
    env.run(["status"]).ok().stdout_has("partly destroyed");
    // Still due: a copy remains.
    let d = due(&env, "2026-06-01", &[], 1);
    assert_eq!(
        d.destroy[0].copies,
        [CopyRefOut {
            medium: "m2".into(),
            path: env.p("m2").canonicalize().unwrap()
        }]
    );

    // Again on the same medium: already done.
    env.unchanged_by(|| {
        env.kluis()
            .destroy("2015-financial", "m1")
            .run()
            .code(2)
            .stderr_has("already destroyed");
    });

    // The last copy, in text: the honest note and the proof.
    let run = env.kluis().destroy("2015-financial", "m2").run();
    run.ok();
    for needle in [
        "Proof of destruction",
        "NIST SP 800-88",
        "cryptographic erase",
        "last copy",
        "overwrite-random-1-pass+truncate+unlink",
    ] {
        run.stdout_has(needle);
    }
    assert!(!env.p("m2/2015-financial.kluis").exists());
    sha256sum_checks(&env.p("m2"));
    assert_eq!(state_of(&env, "2026-06-01", "2015-financial"), "destroyed");
    assert!(due(&env, "2026-06-01", &[], 0).destroy.is_empty());

    // The proofs, on request.
    let v = env
        .run(["destroy", "--record", "2015-financial", "--json"])
        .ok()
        .json();
    let proofs: Vec<ProofOut> = serde_json::from_value(v["destructions"].clone()).unwrap();
    let media: Vec<_> = proofs.iter().map(|p| p.medium.as_str()).collect();
    assert_eq!(media, ["m1", "m2"]);
    assert_eq!(v["live_copies"].as_array().unwrap().len(), 0);
    let run = env.run(["destroy", "--record", "2015-financial"]);
    assert_eq!(
        run.ok()
            .stdout_text()
            .matches("Proof of destruction")
            .count(),
        2
    );
    env.run(["destroy", "--record", "2025-financial"])
        .ok()
        .stdout_has("No copy of 2025-financial has been destroyed");

    // A destroyed archive cannot be held.
    env.unchanged_by(|| {
        env.run(["hold", "2015-financial", "--reason", "too late"])
            .code(2)
            .stderr_has("already destroyed");
    });
}

#[test]
fn destroy_uses_the_vault_operator() {
    let env = Env::with_archives();
    env.edit_config(|config| {
        config.replacen(
            "organisation",
            "operator = \"Bookkeeper B\"\norganisation",
            1,
        )
    });
    let run = env
        .kluis()
        .destroy("2015-financial", "m1")
        .arg("--json")
        .run();
    assert_eq!(run.ok().json()["destroyed"]["operator"], "Bookkeeper B");
}

#[test]
fn destroy_asks_for_the_name_on_a_terminal() {
    let env = Env::with_archives();
    let args = ["destroy", "2015-financial", "--medium", "m1"];
    // No terminal, no --yes.
    env.unchanged_by(|| {
        env.run(args).code(2).stderr_has("--yes");
    });

    let Some(run) = env.on_terminal(&args, "2015\n") else {
        eprintln!("skipped: util-linux `script` is not installed");
        return;
    };
    run.code(2);
    let all = format!("{}{}", run.stdout_text(), run.stderr);
    assert!(
        all.contains("Type the archive name (2015-financial)"),
        "{all}"
    );
    assert!(all.contains("nothing was destroyed"), "{all}");
    assert!(env.p("m1/2015-financial.kluis").exists());

    let run = env.on_terminal(&args, "2015-financial\n").unwrap();
    run.ok();
    let all = format!("{}{}", run.stdout_text(), run.stderr);
    assert!(
        all.contains("About to destroy") && all.contains("m2"),
        "{all}"
    );
    assert!(!env.p("m1/2015-financial.kluis").exists());
}

#[test]
fn destroy_finishes_an_interrupted_run() {
    let env = Env::with_archives();
    // Killed mid-overwrite: the file was renamed to show the intent.
    let destroying = env.p("m1/.2015-financial.kluis.destroying");
    fs::rename(env.p("m1/2015-financial.kluis"), &destroying).unwrap();
    fs::write(&destroying, b"half random").unwrap();
    let out: DestroyOut = env
        .kluis()
        .destroy("2015-financial", "m1")
        .arg("--json")
        .run()
        .ok()
        .parse();
    assert_eq!(out.stage, "finished an interrupted destruction");
    assert_eq!(
        out.destroyed.method,
        "overwrite-random-1-pass+truncate+unlink"
    );
    assert!(!destroying.exists());
    assert!(!env.medium_sums("m1").contains("2015-financial"));
    sha256sum_checks(&env.p("m1"));

    // Killed after the unlink (or deleted by hand): the records are
    // completed, and the proof says the file was already gone.
    fs::remove_file(env.p("m2/2015-financial.kluis")).unwrap();
    let out: DestroyOut = env
        .kluis()
        .destroy("2015-financial", "m2")
        .arg("--json")
        .run()
        .ok()
        .parse();
    assert_eq!(
        out.destroyed.method,
        "file-already-absent+records-completed"
    );
    sha256sum_checks(&env.p("m2"));
    assert_eq!(state_of(&env, "2026-01-01", "2015-financial"), "destroyed");
}

#[test]
fn destroy_with_kluis_today_for_recent_archives() {
    let env = Env::with_archives();
    env.kluis()
        .today("2033-01-01")
        .destroy("2025-financial", "m1")
        .run()
        .ok()
        .stderr_has("KLUIS_TODAY");
    assert!(!env.p("m1/2025-financial.kluis").exists());
    env.kluis()
        .today("2032-12-31")
        .destroy("2025-financial", "m2")
        .run()
        .code(2);
}
