//! `kluis due`: what needs action by a date (copies to destroy, copies to
//! verify), exit 1 while anything does and 0 when nothing does.

use chrono::Months;

use crate::common::*;
use crate::schema::{date, due};

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
    assert!(d.purge.is_empty(), "{:?}", d.purge);
    assert!(d.requests.is_empty(), "{:?}", d.requests);

    let text = env.run_on("2026-06-01", ["due"]).code(1).stdout_text();
    assert!(text.contains("2015-financial"), "{text}");
    assert!(
        text.contains("kluis destroy 2015-financial --medium DIR"),
        "{text}"
    );
    assert!(!text.contains("2025-financial"), "{text}");

    // Held: nothing left to do, exit 0.
    env.run(["hold", "2015-financial", "--reason", "audit"])
        .ok();
    let d = due(&env, "2026-06-01", &[], 0);
    assert!(d.destroy.is_empty() && d.verify.is_empty());
    let text = env.run_on("2026-06-01", ["due"]).ok().stdout_text();
    assert_eq!(text, "Nothing due today.\n");
}

#[test]
fn due_within_days_and_verification() {
    let env = Env::with_archives();
    env.run(["hold", "2015-financial", "--reason", "audit"])
        .ok();
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
    env.run_on(
        "2032-12-01",
        ["due", "--within", "31", "--verify-every", "1200"],
    )
    .code(1)
    .stdout_has("destroy from 2033-01-01");

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
    env.run_on(&later(13), ["due", "--verify-every", "12"])
        .code(1)
        .stdout_has("Due for verification")
        .stdout_has("kluis verify ");
}
