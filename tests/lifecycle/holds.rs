//! `kluis hold` and `kluis release`: a legal hold blocks destruction, with
//! its reason, until released; released holds stay on record; refusals
//! change nothing.

use crate::common::*;
use crate::schema::{date, state_of, status};

#[test]
fn hold_blocks_destruction_until_released() {
    let env = Env::with_archives();
    let id = env.catalog_entry("2015-financial")["archive_id"]
        .as_str()
        .unwrap()
        .to_owned();
    // By id prefix.
    let run = env.run_on(
        "2026-03-01",
        ["hold", &id[..8], "--reason", "tax audit 2019", "--json"],
    );
    let v = run.ok().json();
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
    env.run(["status"]).ok().stdout_has("tax audit 2019");

    env.unchanged_by(|| {
        // Destroy refused, saying why.
        env.kluis()
            .destroy("2015-financial", "m1")
            .run()
            .code(2)
            .stderr_has("hold")
            .stderr_has("tax audit 2019");
        // A second hold would hide the first reason.
        env.run(["hold", "2015-financial", "--reason", "other"])
            .code(2)
            .stderr_has("release it first");
    });

    // Release by YYYY-CLASS: kept in released_holds with the date.
    env.run_on("2026-04-01", ["release", "2015-financial"])
        .ok()
        .stdout_has("may be destroyed now");
    let a = env.catalog_entry("2015-financial");
    assert!(a.get("hold").is_none());
    assert_eq!(a["released_holds"][0]["reason"], "tax audit 2019");
    assert_eq!(a["released_holds"][0]["since"], "2026-03-01");
    assert_eq!(a["released_holds"][0]["released"], "2026-04-01");
    assert_eq!(state_of(&env, "2026-06-01", "2015-financial"), "due");
    env.run(["release", "2015-financial"])
        .code(2)
        .stderr_has("not under a hold");

    // A hold on an archive still retained is fine too.
    env.run(["hold", "2025-financial.kluis", "--reason", "dispute"])
        .ok();
    assert_eq!(state_of(&env, "2026-06-01", "2025-financial"), "held");
    let run = env.run(["release", "2025-financial", "--json"]);
    assert_eq!(run.ok().json()["state"], "retained");

    // Unknown archives and empty reasons.
    env.unchanged_by(|| {
        env.run(["hold", "2011-financial", "--reason", "x"])
            .code(2)
            .stderr_has("unknown archive");
        env.run(["release", "nope"]).code(2);
        env.run(["hold", "2015-financial", "--reason", "  "])
            .code(2);
    });
}
