//! Crash safety of `destroy`, tested by killing (issue 6, item 1): it is
//! SIGKILLed at moments spread from start-up to past its end. After each
//! kill: the archive is whole under its name or gone (never half
//! overwritten), every file it writes is the old or the new version,
//! written in the documented order, and a re-run of the same `destroy`
//! finishes the job, down to `sha256sum -c SHA256SUMS`.
//!
//! The states between the small atomic writes are also built exactly and
//! checked the same way.

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;

use crate::common::*;

/// The date the destructions run on (both archives' retention has ended).
const TODAY: &str = "2024-06-03";

/// How far a killed `destroy` got.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
enum DestroyStage {
    /// The archive is in place, whole.
    NotStarted,
    /// Renamed to `.FILE.destroying`, being overwritten.
    Renamed,
    /// Deleted; the medium index still lists it.
    Deleted,
    /// The index has the proof; `SHA256SUMS` still lists the archive.
    Indexed,
    /// `SHA256SUMS` updated; `README.txt` not yet.
    Summed,
    /// The medium is done; the catalog lacks the proof.
    MediumDone,
    /// The catalog has the proof: done.
    Recorded,
}

const GONE: &str = "2015-financial.kluis";
const KEPT: &str = "2025-financial.kluis";
const DESTROYING: &str = ".2015-financial.kluis.destroying";

fn destroy_state(
    env: &Env,
    m: &Path,
    before: &BTreeMap<String, Vec<u8>>,
    cat_before: &[u8],
) -> DestroyStage {
    only_known_names(m, &[LOCK, INDEX, SUMS, README, GONE, KEPT, DESTROYING]);
    env.vault_names_ok();
    assert_eq!(
        file_sha256(&m.join(KEPT)),
        sha256_hex(&before[KEPT]),
        "the other archive changed"
    );
    let intact = m.join(GONE).exists();
    let destroying = exists(&m.join(DESTROYING));
    assert!(
        !(intact && destroying),
        "both {GONE} and {DESTROYING} exist"
    );
    if intact {
        // Never a half-overwritten file under the archive's name.
        assert_eq!(
            file_sha256(&m.join(GONE)),
            sha256_hex(&before[GONE]),
            "{GONE} is in place but not the archive"
        );
    }

    let w = env.rewritten(m, before, cat_before);
    if w.changed(Rewrite::Index) {
        assert!(
            !intact && !destroying,
            "the index changed before the file was gone"
        );
        let mut expected = indexed(&w.old_index);
        expected.remove(GONE);
        assert_eq!(indexed(&w.index), expected);
        let proofs = w.index["destroyed"].as_array().unwrap();
        assert_eq!(proofs.len(), 1, "{}", w.index);
        let id = w.old_index["archives"]
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["file"] == GONE)
            .unwrap()["archive_id"]
            .clone();
        assert_eq!(proofs[0]["archive_id"], id);
    }
    if w.changed(Rewrite::Sums) {
        let mut expected = w.old_sums.clone();
        // The archive's line and its parity files' lines.
        expected.retain(|(f, _)| !f.starts_with(GONE));
        assert_eq!(w.sums, expected, "SHA256SUMS is neither old nor new");
    }
    if w.changed(Rewrite::Catalog) {
        let mut now = w.catalog.clone();
        let mut was = w.old_catalog.clone();
        let entry = now.remove(GONE).unwrap();
        was.remove(GONE);
        assert_eq!(now, was, "the catalog changed other archives");
        assert_eq!(
            entry["destructions"], w.index["destroyed"],
            "the catalog's proof is the medium's"
        );
        assert!(entry["copies"][0]["destroyed"].is_string(), "{entry}");
    }
    match w.last {
        Some(Rewrite::Catalog) => DestroyStage::Recorded,
        Some(Rewrite::Readme) => DestroyStage::MediumDone,
        Some(Rewrite::Sums) => DestroyStage::Summed,
        Some(Rewrite::Index) => DestroyStage::Indexed,
        None if destroying => DestroyStage::Renamed,
        None if intact => DestroyStage::NotStarted,
        None => DestroyStage::Deleted,
    }
}

/// After a kill at `stage`, a re-run of the same `destroy` finishes the
/// job (or says it is done), and the medium and catalog are then complete
/// and consistent, down to `sha256sum -c SHA256SUMS`.
fn destroy_rerun(env: &Env, m: &Path, stage: DestroyStage) -> usize {
    let rerun = env
        .kluis()
        .today(TODAY)
        .destroy("2015-financial", m)
        .arg("--json")
        .run();
    if stage == DestroyStage::Recorded {
        rerun.code(2).stderr_has("already destroyed");
    } else {
        rerun.ok();
        let expected = match stage {
            DestroyStage::NotStarted => "destroyed",
            DestroyStage::Renamed => "finished an interrupted destruction",
            DestroyStage::Deleted => "file was already gone; records completed",
            _ => "proof copied from the medium into the catalog",
        };
        assert_eq!(rerun.json()["stage"], expected, "{rerun}");
    }
    assert!(!exists(&m.join(GONE)) && !exists(&m.join(DESTROYING)));
    let index = parse_json(&m.join(INDEX));
    assert_eq!(
        indexed(&index).into_keys().collect::<Vec<_>>(),
        vec![KEPT.to_owned()]
    );
    assert_eq!(index["destroyed"].as_array().unwrap().len(), 1, "{index}");
    let entry = &catalogued(&env.catalog())[GONE];
    assert_eq!(entry["destructions"], index["destroyed"]);
    let listed: Vec<String> = parse_sums(&fs::read(m.join(SUMS)).unwrap())
        .into_iter()
        .map(|(f, _)| f)
        .filter(|f| !f.ends_with(".par2"))
        .collect();
    assert_eq!(
        listed,
        vec![KEPT.to_owned()],
        "after a {stage:?} kill and a re-run, SHA256SUMS still lists the destroyed archive: `sha256sum -c SHA256SUMS` fails"
    );
    assert!(sums_failures(m).is_empty());
    assert!(
        !String::from_utf8_lossy(&fs::read(m.join(README)).unwrap()).contains(GONE),
        "after a {stage:?} kill and a re-run, README.txt still lists the destroyed archive"
    );
    env.verify_names_leftovers(m, 0)
}

#[test]
fn destroy_killed_anywhere_is_finished_by_a_rerun() {
    let (env, _key) = Env::ready();
    make_source(&env.p("src2015"), 100, 16 << 10, &[10 << 20, 10 << 20]);
    write_file(&env.p("src2025/a.txt"), b"kept", 0o644);
    env.archive(2015, &["template"], &[], &["src2015"]).ok();
    env.archive(2025, &["template"], &[], &["src2025"]).ok();
    let template = folder_files(&env.p("template"));
    let cat_path = env.catalog_path();
    let cat_before = env.catalog_bytes();
    let destroy = |m: &Path| env.kluis().today(TODAY).destroy("2015-financial", m);

    let base = env.p("base");
    put_files(&base, &template);
    let full = destroy(&base).spawn().wait();
    assert_eq!(full.code, Some(0), "{full}");
    let finished = folder_files(&base);
    let cat_after = env.catalog_bytes();
    fs::remove_dir_all(&base).unwrap();

    let mut schedule = Schedule::new(&[2.0, 5.0, 10.0], 0.1, 19, full.ran_for, 20);
    let mut stages = BTreeMap::new();
    let mut leftovers = 0;
    for i in 0.. {
        let Some(kill) = schedule.next() else {
            break;
        };
        let m = env.p(format!("m{i}"));
        put_files(&m, &template);
        fs::write(&cat_path, &cat_before).unwrap();
        remove_temps(&env.vault());
        let ended = env.run_killed(destroy(&m), kill);
        schedule.record(&ended);
        let stage = destroy_state(&env, &m, &template, &cat_before);
        *stages.entry(stage).or_insert(0) += 1;
        leftovers += destroy_rerun(&env, &m, stage);
        fs::remove_dir_all(&m).unwrap();
    }

    // The states between the small writes, built exactly.
    let order = [INDEX, SUMS, README];
    let mut exact = Vec::new();
    let mut unfinished = Vec::new();
    for cut in 1..=order.len() + 1 {
        let m = env.p(format!("cut{cut}"));
        put_files(&m, &template);
        fs::remove_file(m.join(GONE)).unwrap();
        for f in &order[..cut.min(order.len())] {
            // As kluis does: the old signature goes before SHA256SUMS changes.
            if *f == SUMS {
                let _ = fs::remove_file(m.join("SHA256SUMS.minisig"));
            }
            fs::write(m.join(f), &finished[*f]).unwrap();
        }
        let cat = if cut > order.len() {
            &cat_after
        } else {
            &cat_before
        };
        fs::write(&cat_path, cat).unwrap();
        let stage = destroy_state(&env, &m, &template, &cat_before);
        exact.push(stage);
        // Every state is tried, and all that fail are named at the end.
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            destroy_rerun(&env, &m, stage)
        }));
        if result.is_err() {
            unfinished.push(stage);
        }
        fs::remove_dir_all(&m).unwrap();
    }
    assert!(
        unfinished.is_empty(),
        "a re-run of destroy did not finish the medium's records after a kill at {unfinished:?} (messages above)"
    );

    eprintln!(
        "destroy kills (20 MB archive, first uninterrupted run {:?}): {}; stages reached {stages:?}; {leftovers} leftover temporary files, each named by verify; exact between-write states {exact:?} also checked",
        full.ran_for,
        schedule.summary()
    );
    schedule.assert_enough();
    assert!(
        stages.keys().any(|s| *s > DestroyStage::NotStarted),
        "no kill landed after the destruction began: {stages:?}"
    );
}
