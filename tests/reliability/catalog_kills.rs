//! Crash safety of the catalog updates `hold` and `release`, tested by
//! killing (issue 6, item 1): SIGKILLed at moments spread from start-up to
//! past their end, they leave the old or the new catalog, parsing, and the
//! next run is not blocked by the dead process's lock.

use std::fs;

use serde_json::Value;

use crate::common::*;

const TODAY: &str = "2024-06-03";

#[test]
fn hold_and_release_killed_leave_the_old_or_the_new_catalog() {
    let (env, _key) = Env::ready();
    write_file(&env.p("src/a.txt"), b"a", 0o644);
    env.archive(2019, &["m"], &[], &["src"]).ok();
    // A catalog of many archives, so that reading and writing it takes long
    // enough for kills to land inside.
    let cat_path = env.catalog_path();
    let mut catalog = env.catalog();
    let real = catalog["archives"][0].clone();
    let list = catalog["archives"].as_array_mut().unwrap();
    for i in 0..1500u32 {
        let mut a = real.clone();
        a["archive_id"] = format!("{:032x}", 0xfeed_0000_0000u64 + u64::from(i)).into();
        a["fiscal_year"] = (3000 + i).into();
        a["file"] = format!("{}-financial.kluis", 3000 + i).into();
        list.push(a);
    }
    let plain = serde_json::to_vec_pretty(&catalog).unwrap();
    fs::write(&cat_path, &plain).unwrap();
    let plain_value: Value = serde_json::from_slice(&plain).unwrap();
    env.run_on(TODAY, ["hold", "2019-financial", "--reason", "audit"])
        .ok();
    let held = fs::read(&cat_path).unwrap();
    let held_value: Value = serde_json::from_slice(&held).unwrap();

    // What each command should leave.
    let after_hold = |reason: &str| {
        let mut v = plain_value.clone();
        v["archives"][0]["hold"] = serde_json::json!({"reason": reason, "since": TODAY});
        v
    };
    let mut after_release = held_value.clone();
    after_release["archives"][0]
        .as_object_mut()
        .unwrap()
        .remove("hold");
    after_release["archives"][0]["released_holds"] =
        serde_json::json!([{"reason": "audit", "since": TODAY, "released": TODAY}]);
    assert_eq!(held_value, after_hold("audit"), "the hold as written");

    let mut report = Vec::new();
    for command in ["hold", "release"] {
        let (before, before_value) = match command {
            "hold" => (&plain, &plain_value),
            _ => (&held, &held_value),
        };
        let args = |i: usize| -> Vec<String> {
            match command {
                "hold" => vec![
                    "hold".into(),
                    "2019-financial".into(),
                    "--reason".into(),
                    format!("audit {i}"),
                ],
                _ => vec!["release".into(), "2019-financial".into()],
            }
        };
        let expected = |i: usize| match command {
            "hold" => after_hold(&format!("audit {i}")),
            _ => after_release.clone(),
        };
        fs::write(&cat_path, before).unwrap();
        let full = env.kluis().today(TODAY).args(args(0)).spawn().wait();
        assert_eq!(full.code, Some(0), "{full}");
        let mut schedule = Schedule::new(&[0.5, 1.0], 0.1, 18, full.ran_for, 15);
        let (mut old, mut new, mut temps) = (0, 0, 0);
        for i in 0.. {
            let Some(kill) = schedule.next() else {
                break;
            };
            fs::write(&cat_path, before).unwrap();
            let ended = env.run_killed(env.kluis().today(TODAY).args(args(i)), kill);
            schedule.record(&ended);
            env.vault_names_ok();
            let now = parse_json(&cat_path);
            let is_old = fs::read(&cat_path).unwrap() == *before;
            if is_old {
                assert_eq!(now, *before_value);
                old += 1;
            } else {
                assert_eq!(
                    now,
                    expected(i),
                    "{command} killed at {kill:?}: the catalog is neither old nor new"
                );
                new += 1;
            }
            // The next run is not blocked by the dead process's lock, and
            // finishes or refuses.
            let rerun = env.run_on(TODAY, args(i));
            if is_old {
                rerun.ok();
                assert_eq!(parse_json(&cat_path), expected(i));
            } else {
                let why = if command == "hold" {
                    "already under a hold"
                } else {
                    "not under a hold"
                };
                // (KLUIS_TODAY adds a note before the error line.)
                rerun
                    .code(2)
                    .stderr_has(&format!("error: 2019-financial: {why}"));
            }
            temps += remove_temps(&env.vault());
        }
        report.push(format!(
            "{command}: {} (first uninterrupted run {:?}), catalog old {old}, new {new}, {temps} leftover temp files",
            schedule.summary(),
            full.ran_for
        ));
        schedule.assert_enough();
        assert!(old > 0, "{command}: no kill landed before the write");
    }
    eprintln!("catalog kills (1,501 archives): {}", report.join("; "));
}
