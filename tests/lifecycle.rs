//! The retention lifecycle through the real binary: status, due, remind,
//! hold, release, destroy, and every refusal (exit 2, nothing changed).

#[path = "common/lifecycle_util.rs"]
mod util;

use std::fs;
use std::path::PathBuf;

use chrono::{Months, NaiveDate};
use serde::Deserialize;
use util::{Env, have};

// --- the JSON schemas, pinned: an unknown field fails the test -------------

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct StatusOut {
    today: NaiveDate,
    verify_every_months: u32,
    archives: Vec<ArchiveOut>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ArchiveOut {
    archive_id: String,
    name: String,
    fiscal_year: i32,
    class: String,
    supplement: u32,
    retention_end: NaiveDate,
    destroy_from: NaiveDate,
    state: String,
    hold: Option<HoldOut>,
    copies: Vec<CopyOut>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct HoldOut {
    reason: String,
    since: NaiveDate,
    released: Option<NaiveDate>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CopyOut {
    medium: String,
    path: PathBuf,
    written: String,
    last_verified: Option<String>,
    last_result: Option<String>,
    verify_due: Option<NaiveDate>,
    destroyed: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct DueOut {
    today: NaiveDate,
    horizon: NaiveDate,
    verify_every_months: u32,
    destroy: Vec<DueDestroyOut>,
    verify: Vec<DueVerifyOut>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct DueDestroyOut {
    archive_id: String,
    name: String,
    retention_end: NaiveDate,
    destroy_from: NaiveDate,
    copies: Vec<CopyRefOut>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct DueVerifyOut {
    archive_id: String,
    name: String,
    medium: String,
    path: PathBuf,
    last_verified: Option<NaiveDate>,
    verify_due: NaiveDate,
}

#[derive(Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
struct CopyRefOut {
    medium: String,
    path: PathBuf,
}

/// A proof of destruction, field for field.
#[derive(Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
struct ProofOut {
    archive_id: String,
    fiscal_year: i32,
    class: String,
    file: String,
    size: u64,
    sha256: String,
    retention_end: NaiveDate,
    medium: String,
    destroyed_at: String,
    method: String,
    tool_version: String,
    operator: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct DestroyOut {
    destroyed: ProofOut,
    path: PathBuf,
    stage: String,
    other_copies: Vec<CopyRefOut>,
    note: String,
}

fn date(s: &str) -> NaiveDate {
    s.parse().unwrap()
}

fn status(env: &Env, today: &str) -> StatusOut {
    let run = env.kluis_on(today, &["status", "--json"]).expect(0);
    serde_json::from_str(&run.stdout).unwrap()
}

fn state_of(env: &Env, today: &str, name: &str) -> String {
    status(env, today)
        .archives
        .into_iter()
        .find(|a| a.name == name)
        .unwrap()
        .state
}

fn due(env: &Env, today: &str, extra: &[&str], code: i32) -> DueOut {
    let mut args = vec!["due", "--json"];
    args.extend_from_slice(extra);
    let run = env.kluis_on(today, &args).expect(code);
    serde_json::from_str(&run.stdout).unwrap()
}

fn sums(env: &Env, medium: &str) -> String {
    fs::read_to_string(env.path(medium).join("SHA256SUMS")).unwrap()
}

/// `sha256sum -c SHA256SUMS` in the medium, where coreutils is installed.
fn assert_sums_check(env: &Env, medium: &str) {
    if !have("sha256sum") {
        return;
    }
    let out = std::process::Command::new("sha256sum")
        .args(["-c", "SHA256SUMS"])
        .current_dir(env.path(medium))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}

// --- status ----------------------------------------------------------------

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
    let text = env.kluis_on("2026-06-01", &["status"]).expect(0).stdout;
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
    fs::rename(env.path("m1"), env.path("drawer-1")).unwrap();
    fs::rename(env.path("m2"), env.path("drawer-2")).unwrap();
    let again = status(&env, "2026-06-01");
    assert_eq!(again.archives.len(), 2);
    assert_eq!(again.archives[0].copies.len(), 2);
}

#[test]
fn status_of_an_empty_vault() {
    let env = Env::with_archives();
    fs::write(
        env.path("vault/catalog.json"),
        "{\"version\":1,\"archives\":[]}",
    )
    .unwrap();
    let run = env.kluis(&["status"]).expect(0);
    assert!(run.stdout.contains("No archives yet"), "{}", run.stdout);
    assert!(status(&env, "2026-01-01").archives.is_empty());
}

// --- due -------------------------------------------------------------------

#[test]
fn due_lists_what_needs_action_and_exits_1() {
    let env = Env::with_archives();
    let d = due(&env, "2026-06-01", &[], 1);
    assert_eq!(
        (d.today, d.horizon),
        (date("2026-06-01"), date("2026-06-01"))
    );
    assert_eq!(d.verify_every_months, 12);
    assert_eq!(d.destroy.len(), 1);
    assert_eq!(d.destroy[0].name, "2015-financial");
    assert_eq!(d.destroy[0].retention_end, date("2022-12-31"));
    assert_eq!(d.destroy[0].destroy_from, date("2023-01-01"));
    assert!(!d.destroy[0].archive_id.is_empty());
    let media: Vec<_> = d.destroy[0]
        .copies
        .iter()
        .map(|c| c.medium.as_str())
        .collect();
    assert_eq!(media, ["m1", "m2"]);
    assert!(d.verify.is_empty(), "{:?}", d.verify);

    let text = env.kluis_on("2026-06-01", &["due"]).expect(1).stdout;
    assert!(text.contains("2015-financial"), "{text}");
    assert!(
        text.contains("kluis destroy 2015-financial --medium DIR"),
        "{text}"
    );
    assert!(!text.contains("2025-financial"), "{text}");

    // Held: nothing left to do, exit 0.
    env.kluis(&["hold", "2015-financial", "--reason", "audit"])
        .expect(0);
    let d = due(&env, "2026-06-01", &[], 0);
    assert!(d.destroy.is_empty() && d.verify.is_empty());
    let text = env.kluis_on("2026-06-01", &["due"]).expect(0).stdout;
    assert_eq!(text, "Nothing due today.\n");
}

#[test]
fn due_within_days_and_verification() {
    let env = Env::with_archives();
    env.kluis(&["hold", "2015-financial", "--reason", "audit"])
        .expect(0);
    // 2025-financial may go from 2033-01-01.
    let never = ["--verify-every", "1200"];
    let d = due(
        &env,
        "2032-12-01",
        &[&["--within", "30"][..], &never].concat(),
        0,
    );
    assert_eq!(d.horizon, date("2032-12-31"));
    let d = due(
        &env,
        "2032-12-01",
        &[&["--within", "31"][..], &never].concat(),
        1,
    );
    assert_eq!(d.destroy[0].name, "2025-financial");
    assert_eq!(d.destroy[0].destroy_from, date("2033-01-01"));
    let text = env
        .kluis_on(
            "2032-12-01",
            &["due", "--within", "31", "--verify-every", "1200"],
        )
        .expect(1)
        .stdout;
    assert!(text.contains("destroy from 2033-01-01"), "{text}");

    // Verification: the copies were verified when written (today, really).
    let today = chrono::Local::now().date_naive();
    let later = |months| (today + Months::new(months)).to_string();
    let d = due(&env, &later(1), &[], 0);
    assert!(d.verify.is_empty());
    let d = due(&env, &later(1), &["--verify-every", "1"], 1);
    assert_eq!(d.verify.len(), 4, "{:?}", d.verify);
    let v = &d.verify[0];
    assert_eq!(
        (v.name.as_str(), v.medium.as_str()),
        ("2015-financial", "m1")
    );
    assert!(v.path.ends_with("m1") && !v.archive_id.is_empty());
    assert!(v.last_verified.is_some() && v.verify_due <= date(&later(1)));
    // The vault's default: 12 months.
    assert_eq!(due(&env, &later(13), &[], 1).verify.len(), 4);
    assert_eq!(due(&env, &later(11), &[], 0).verify.len(), 0);
    let text = env
        .kluis_on(&later(13), &["due", "--verify-every", "12"])
        .expect(1)
        .stdout;
    assert!(text.contains("Due for verification"), "{text}");
    assert!(text.contains("kluis verify "), "{text}");
}

// --- remind ----------------------------------------------------------------

#[test]
fn remind_writes_a_calendar_that_parses_back() {
    use icalendar::{Calendar, CalendarComponent, Component, DatePerhapsTime};
    let env = Env::with_archives();
    env.kluis(&["remind", "--ics", "kluis.ics"]).expect(0);
    let text = fs::read_to_string(env.path("kluis.ics")).unwrap();
    assert!(text.starts_with("BEGIN:VCALENDAR\r\n") && text.ends_with("END:VCALENDAR\r\n"));
    let calendar: Calendar = text.parse().unwrap();
    let events: Vec<_> = calendar
        .components
        .iter()
        .filter_map(|c| match c {
            CalendarComponent::Event(e) => Some(e),
            _ => None,
        })
        .collect();
    // One destruction date per archive, one verification date per copy.
    assert_eq!(events.len(), 2 + 4);
    let destroy: Vec<_> = events
        .iter()
        .filter(|e| e.get_uid().unwrap().starts_with("destroy-"))
        .collect();
    assert_eq!(destroy.len(), 2);
    assert_eq!(
        destroy[0].get_start(),
        Some(DatePerhapsTime::Date(date("2023-01-01")))
    );
    assert_eq!(
        destroy[1].get_start(),
        Some(DatePerhapsTime::Date(date("2033-01-01")))
    );
    assert!(destroy[0].get_summary().unwrap().contains("2015-financial"));
    assert!(
        destroy[0]
            .get_description()
            .unwrap()
            .contains("kluis destroy 2015-financial")
    );
    let a_year = chrono::Local::now().date_naive() + Months::new(12);
    for e in events
        .iter()
        .filter(|e| e.get_uid().unwrap().starts_with("verify-"))
    {
        let Some(DatePerhapsTime::Date(d)) = e.get_start() else {
            panic!("not an all-day event");
        };
        // Verified when written (now, in UTC), due a year later.
        assert!((d - a_year).num_days().abs() <= 1, "{d}");
    }
    // Every event has its alarm.
    let raw = icalendar::parser::unfold(&text);
    let parsed = icalendar::parser::read_calendar(&raw).unwrap();
    assert_eq!(parsed.components.len(), 6);
    for event in &parsed.components {
        assert_eq!(event.components.len(), 1);
        assert_eq!(event.components[0].name.as_str(), "VALARM");
    }

    // Re-running replaces kluis's own calendar, refuses any other file.
    env.kluis(&["remind", "--ics", "kluis.ics"]).expect(0);
    fs::write(env.path("mine.ics"), "my own calendar").unwrap();
    let run = env.kluis(&["remind", "--ics", "mine.ics"]).expect(2);
    assert!(run.stderr.contains("--force"), "{}", run.stderr);
    assert_eq!(
        fs::read_to_string(env.path("mine.ics")).unwrap(),
        "my own calendar"
    );
    env.kluis(&["remind", "--ics", "mine.ics", "--force"])
        .expect(0);
    assert!(
        fs::read_to_string(env.path("mine.ics"))
            .unwrap()
            .starts_with("BEGIN:VCALENDAR")
    );
    // To stdout.
    let run = env.kluis(&["remind", "--ics", "-"]).expect(0);
    assert_eq!(run.stdout.matches("BEGIN:VEVENT").count(), 6);
}

// --- hold / release --------------------------------------------------------

#[test]
fn hold_blocks_destruction_until_released() {
    let env = Env::with_archives();
    let id = env.archive("2015-financial")["archive_id"]
        .as_str()
        .unwrap()
        .to_owned();
    // By id prefix.
    let run = env
        .kluis_on(
            "2026-03-01",
            &["hold", &id[..8], "--reason", "tax audit 2019", "--json"],
        )
        .expect(0);
    let v = run.json();
    assert_eq!(v["archive"], "2015-financial");
    assert_eq!(v["hold"]["reason"], "tax audit 2019");
    assert_eq!(v["hold"]["since"], "2026-03-01");
    let s = status(&env, "2026-06-01");
    assert_eq!(s.archives[0].state, "held");
    let h = s.archives[0].hold.as_ref().unwrap();
    assert_eq!(
        (h.reason.as_str(), h.since, h.released),
        ("tax audit 2019", date("2026-03-01"), None)
    );
    let text = env.kluis(&["status"]).expect(0).stdout;
    assert!(text.contains("tax audit 2019"), "{text}");

    // Destroy refused, saying why; nothing changed.
    let before = env.snapshot();
    let run = env
        .kluis(&["destroy", "2015-financial", "--medium", "m1", "--yes"])
        .expect(2);
    assert!(
        run.stderr.contains("hold") && run.stderr.contains("tax audit 2019"),
        "{}",
        run.stderr
    );
    // A second hold would hide the first reason.
    let run = env
        .kluis(&["hold", "2015-financial", "--reason", "other"])
        .expect(2);
    assert!(run.stderr.contains("release it first"), "{}", run.stderr);
    assert_eq!(env.snapshot(), before);

    // Release by YYYY-CLASS: kept in released_holds with the date.
    let run = env
        .kluis_on("2026-04-01", &["release", "2015-financial"])
        .expect(0);
    assert!(
        run.stdout.contains("may be destroyed now"),
        "{}",
        run.stdout
    );
    let a = env.archive("2015-financial");
    assert!(a.get("hold").is_none());
    assert_eq!(a["released_holds"][0]["reason"], "tax audit 2019");
    assert_eq!(a["released_holds"][0]["since"], "2026-03-01");
    assert_eq!(a["released_holds"][0]["released"], "2026-04-01");
    assert_eq!(state_of(&env, "2026-06-01", "2015-financial"), "due");
    let run = env.kluis(&["release", "2015-financial"]).expect(2);
    assert!(run.stderr.contains("not under a hold"), "{}", run.stderr);

    // A hold on an archive still retained is fine too.
    env.kluis(&["hold", "2025-financial.kluis", "--reason", "dispute"])
        .expect(0);
    assert_eq!(state_of(&env, "2026-06-01", "2025-financial"), "held");
    let run = env
        .kluis(&["release", "2025-financial", "--json"])
        .expect(0);
    assert_eq!(run.json()["state"], "retained");

    // Unknown archives and empty reasons.
    let before = env.snapshot();
    let run = env
        .kluis(&["hold", "2011-financial", "--reason", "x"])
        .expect(2);
    assert!(run.stderr.contains("unknown archive"), "{}", run.stderr);
    env.kluis(&["release", "nope"]).expect(2);
    env.kluis(&["hold", "2015-financial", "--reason", "  "])
        .expect(2);
    assert_eq!(env.snapshot(), before);
}

// --- destroy ---------------------------------------------------------------

#[test]
fn destroy_each_copy_with_proof() {
    let env = Env::with_archives();
    let catalogued = env.archive("2015-financial");
    let sha = catalogued["sha256"].as_str().unwrap().to_owned();
    let size = catalogued["size"].as_u64().unwrap();
    assert!(sums(&env, "m1").contains("2015-financial.kluis"));

    let run = env
        .kluis(&[
            "destroy",
            "2015-financial",
            "--medium",
            "m1",
            "--yes",
            "--operator",
            "Jan Jansen (owner)",
            "--json",
        ])
        .expect(0);
    let out: DestroyOut = serde_json::from_str(&run.stdout).unwrap();
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
    let names: Vec<String> = fs::read_dir(env.path("m1"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(!names.iter().any(|n| n.contains("2015")), "{names:?}");
    assert!(env.path("m1/2025-financial.kluis").exists());
    assert!(!sums(&env, "m1").contains("2015-financial"));
    assert!(sums(&env, "m1").contains("2025-financial.kluis"));
    assert_sums_check(&env, "m1");
    let index = env.index("m1");
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
    assert!(env.path("m2/2015-financial.kluis").exists());
    assert!(sums(&env, "m2").contains("2015-financial.kluis"));

    // The catalog: the copy is destroyed, the proof kept.
    let a = env.archive("2015-financial");
    assert!(a["copies"][0]["destroyed"].is_string());
    assert!(a["copies"][1].get("destroyed").is_none());
    let in_catalog: Vec<ProofOut> = serde_json::from_value(a["destructions"].clone()).unwrap();
    assert_eq!(in_catalog, on_medium);
    let s = status(&env, "2026-06-01");
    assert_eq!(s.archives[0].state, "partly_destroyed");
    assert!(s.archives[0].copies[0].destroyed.is_some());
    assert!(s.archives[0].copies[0].verify_due.is_none());
    let text = env.kluis(&["status"]).expect(0).stdout;
    assert!(text.contains("partly destroyed"), "{text}");
    // Still due: a copy remains.
    let d = due(&env, "2026-06-01", &[], 1);
    assert_eq!(
        d.destroy[0].copies,
        [CopyRefOut {
            medium: "m2".into(),
            path: env.path("m2").canonicalize().unwrap()
        }]
    );

    // Again on the same medium: already done.
    let before = env.snapshot();
    let run = env
        .kluis(&["destroy", "2015-financial", "--medium", "m1", "--yes"])
        .expect(2);
    assert!(run.stderr.contains("already destroyed"), "{}", run.stderr);
    assert_eq!(env.snapshot(), before);

    // The last copy, in text: the honest note and the proof.
    let run = env
        .kluis(&["destroy", "2015-financial", "--medium", "m2", "--yes"])
        .expect(0);
    for needle in [
        "Proof of destruction",
        "NIST SP 800-88",
        "cryptographic erase",
        "last copy",
        "overwrite-random-1-pass+truncate+unlink",
    ] {
        assert!(run.stdout.contains(needle), "{needle}: {}", run.stdout);
    }
    assert!(!env.path("m2/2015-financial.kluis").exists());
    assert_sums_check(&env, "m2");
    assert_eq!(state_of(&env, "2026-06-01", "2015-financial"), "destroyed");
    assert!(due(&env, "2026-06-01", &[], 0).destroy.is_empty());

    // The proofs, on request.
    let run = env
        .kluis(&["destroy", "--record", "2015-financial", "--json"])
        .expect(0);
    let v = run.json();
    let proofs: Vec<ProofOut> = serde_json::from_value(v["destructions"].clone()).unwrap();
    let media: Vec<_> = proofs.iter().map(|p| p.medium.as_str()).collect();
    assert_eq!(media, ["m1", "m2"]);
    assert_eq!(v["live_copies"].as_array().unwrap().len(), 0);
    let run = env
        .kluis(&["destroy", "--record", "2015-financial"])
        .expect(0);
    assert_eq!(run.stdout.matches("Proof of destruction").count(), 2);
    let run = env
        .kluis(&["destroy", "--record", "2025-financial"])
        .expect(0);
    assert!(
        run.stdout
            .contains("No copy of 2025-financial has been destroyed"),
        "{}",
        run.stdout
    );

    // A destroyed archive cannot be held.
    let before = env.snapshot();
    let run = env
        .kluis(&["hold", "2015-financial", "--reason", "too late"])
        .expect(2);
    assert!(run.stderr.contains("already destroyed"), "{}", run.stderr);
    assert_eq!(env.snapshot(), before);
}

#[test]
fn destroy_uses_the_vault_operator() {
    let env = Env::with_archives();
    let config = fs::read_to_string(env.path("vault/config.toml")).unwrap();
    let config = config.replacen(
        "organisation",
        "operator = \"Bookkeeper B\"\norganisation",
        1,
    );
    fs::write(env.path("vault/config.toml"), config).unwrap();
    let run = env
        .kluis(&[
            "destroy",
            "2015-financial",
            "--medium",
            "m1",
            "--yes",
            "--json",
        ])
        .expect(0);
    assert_eq!(run.json()["destroyed"]["operator"], "Bookkeeper B");
}

#[test]
fn destroy_asks_for_the_name_on_a_terminal() {
    let env = Env::with_archives();
    let args = ["destroy", "2015-financial", "--medium", "m1"];
    // No terminal, no --yes.
    let before = env.snapshot();
    let run = env.kluis(&args).expect(2);
    assert!(run.stderr.contains("--yes"), "{}", run.stderr);
    assert_eq!(env.snapshot(), before);

    let Some(run) = env.kluis_on_terminal(&args, "2015\n") else {
        eprintln!("skipped: util-linux `script` is not installed");
        return;
    };
    let run = run.expect(2);
    let all = format!("{}{}", run.stdout, run.stderr);
    assert!(
        all.contains("Type the archive name (2015-financial)"),
        "{all}"
    );
    assert!(all.contains("nothing was destroyed"), "{all}");
    assert!(env.path("m1/2015-financial.kluis").exists());

    let run = env
        .kluis_on_terminal(&args, "2015-financial\n")
        .unwrap()
        .expect(0);
    let all = format!("{}{}", run.stdout, run.stderr);
    assert!(
        all.contains("About to destroy") && all.contains("m2"),
        "{all}"
    );
    assert!(!env.path("m1/2015-financial.kluis").exists());
}

#[test]
fn destroy_refusals_change_nothing() {
    let env = Env::with_archives();
    fs::create_dir(env.path("empty")).unwrap();
    let before = env.snapshot();
    let refuse = |args: &[&str], needle: &str| {
        let run = env.kluis(args).expect(2);
        assert!(
            run.stderr.starts_with("error: ") && run.stderr.contains(needle),
            "{args:?}: {}",
            run.stderr
        );
        assert_eq!(env.snapshot(), before, "{args:?} changed something");
    };
    // Before the end date: says the date.
    refuse(
        &["destroy", "2025-financial", "--medium", "m1", "--yes"],
        "retention runs until 2032-12-31",
    );
    // Unknown archive.
    refuse(
        &["destroy", "2011-financial", "--medium", "m1", "--yes"],
        "unknown archive",
    );
    // A folder that does not hold it.
    refuse(
        &["destroy", "2015-financial", "--medium", "empty", "--yes"],
        "does not hold 2015-financial",
    );
    refuse(
        &["destroy", "2015-financial", "--medium", "nowhere", "--yes"],
        "nowhere",
    );
    // --medium is required.
    env.kluis(&["destroy", "2015-financial", "--yes"]).expect(2);
    assert_eq!(env.snapshot(), before);

    // A file of the right name that is not the archive: refused.
    fs::write(env.path("m1/2015-financial.kluis"), b"something else").unwrap();
    let before = env.snapshot();
    let run = env
        .kluis(&["destroy", "2015-financial", "--medium", "m1", "--yes"])
        .expect(2);
    assert!(run.stderr.contains("may be another file"), "{}", run.stderr);
    assert_eq!(env.snapshot(), before);
    // Same size, other bytes.
    let size = env.archive("2015-financial")["size"].as_u64().unwrap() as usize;
    fs::write(env.path("m1/2015-financial.kluis"), vec![b'x'; size]).unwrap();
    let before = env.snapshot();
    let run = env
        .kluis(&["destroy", "2015-financial", "--medium", "m1", "--yes"])
        .expect(2);
    assert!(run.stderr.contains("SHA-256"), "{}", run.stderr);
    assert_eq!(env.snapshot(), before);

    // A medium with the file but without it in its index.
    fs::create_dir(env.path("m3")).unwrap();
    fs::copy(
        env.path("m2/2015-financial.kluis"),
        env.path("m3/2015-financial.kluis"),
    )
    .unwrap();
    let before = env.snapshot();
    let run = env
        .kluis(&["destroy", "2015-financial", "--medium", "m3", "--yes"])
        .expect(2);
    assert!(run.stderr.contains("does not list it"), "{}", run.stderr);
    assert_eq!(env.snapshot(), before);

    // A bad KLUIS_TODAY is an error, not "today".
    let run = env
        .kluis_on(
            "soon",
            &["destroy", "2015-financial", "--medium", "m2", "--yes"],
        )
        .expect(2);
    assert!(run.stderr.contains("KLUIS_TODAY"), "{}", run.stderr);
    assert_eq!(env.snapshot(), before);
}

#[test]
fn destroy_finishes_an_interrupted_run() {
    let env = Env::with_archives();
    // Killed mid-overwrite: the file was renamed to show the intent.
    fs::rename(
        env.path("m1/2015-financial.kluis"),
        env.path("m1/.2015-financial.kluis.destroying"),
    )
    .unwrap();
    fs::write(
        env.path("m1/.2015-financial.kluis.destroying"),
        b"half random",
    )
    .unwrap();
    let run = env
        .kluis(&[
            "destroy",
            "2015-financial",
            "--medium",
            "m1",
            "--yes",
            "--json",
        ])
        .expect(0);
    let out: DestroyOut = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(out.stage, "finished an interrupted destruction");
    assert_eq!(
        out.destroyed.method,
        "overwrite-random-1-pass+truncate+unlink"
    );
    assert!(!env.path("m1/.2015-financial.kluis.destroying").exists());
    assert!(!sums(&env, "m1").contains("2015-financial"));
    assert_sums_check(&env, "m1");

    // Killed after the unlink (or deleted by hand): the records are
    // completed, and the proof says the file was already gone.
    fs::remove_file(env.path("m2/2015-financial.kluis")).unwrap();
    let run = env
        .kluis(&[
            "destroy",
            "2015-financial",
            "--medium",
            "m2",
            "--yes",
            "--json",
        ])
        .expect(0);
    let out: DestroyOut = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(
        out.destroyed.method,
        "file-already-absent+records-completed"
    );
    assert_sums_check(&env, "m2");
    assert_eq!(state_of(&env, "2026-01-01", "2015-financial"), "destroyed");
}

#[test]
fn destroy_with_kluis_today_for_recent_archives() {
    let env = Env::with_archives();
    let run = env
        .kluis_on(
            "2033-01-01",
            &["destroy", "2025-financial", "--medium", "m1", "--yes"],
        )
        .expect(0);
    assert!(run.stderr.contains("KLUIS_TODAY"), "{}", run.stderr);
    assert!(!env.path("m1/2025-financial.kluis").exists());
    env.kluis_on(
        "2032-12-31",
        &["destroy", "2025-financial", "--medium", "m2", "--yes"],
    )
    .expect(2);
}

// --- other bad input -------------------------------------------------------

#[test]
fn malformed_config_names_key_and_line() {
    let env = Env::with_archives();
    let path = env.path("vault/config.toml");
    let config = fs::read_to_string(&path).unwrap();
    let bad = config.replace(
        "verify_every_months = 12",
        "verify_every_months = \"yearly\"",
    );
    assert_ne!(bad, config, "{config}");
    fs::write(&path, &bad).unwrap();
    let line = bad
        .lines()
        .position(|l| l.starts_with("verify_every_months"))
        .unwrap()
        + 1;
    let before = env.snapshot();
    for args in [
        &["status"][..],
        &["due"],
        &["destroy", "2015-financial", "--medium", "m1", "--yes"],
        &["hold", "2015-financial", "--reason", "x"],
    ] {
        let run = env.kluis(args).expect(2);
        assert!(
            run.stderr.contains(&format!("line {line}"))
                && run.stderr.contains("verify_every_months"),
            "{args:?}: {}",
            run.stderr
        );
    }
    assert_eq!(env.snapshot(), before);
}

#[test]
fn unknown_preset_or_class() {
    let env = Env::empty();
    let recipient = env.kluis(&["key", "new", "-o", "key.txt"]).expect(0).stdout;
    let run = env
        .kluis(&[
            "init",
            "--org",
            "X",
            "-r",
            recipient.trim(),
            "--preset",
            "xx",
        ])
        .expect(2);
    assert!(run.stderr.contains("xx"), "{}", run.stderr);
    assert!(!env.path("vault/config.toml").exists());

    let env = Env::with_archives();
    fs::create_dir(env.path("m3")).unwrap();
    let before = env.snapshot();
    let run = env
        .kluis(&[
            "archive", "--year", "2016", "--class", "nope", "--to", "m3", "src2015",
        ])
        .expect(2);
    assert!(run.stderr.contains("nope"), "{}", run.stderr);
    assert_eq!(env.snapshot(), before);
}
