//! Crash safety of `archive`, tested by killing (issue 6, item 1): it is
//! SIGKILLed at moments spread from start-up to past its end, and at its
//! test pause points. After each kill: every file it writes
//! (`SHA256SUMS`, `kluis-medium.json`, `README.txt`, the vault's
//! `catalog.json`) is the old or the new version and parses, written in the
//! documented order; no file on the medium looks like an archive without
//! being a complete, verified one; the source is untouched; the next run
//! finishes the job or clearly refuses; `verify` names the leftovers.
//!
//! A kill between two of the small atomic writes (a window of a few ms) is
//! rarely hit by timing, so those states are also built exactly, from the
//! old and new versions of each file, and checked the same way.

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;

use crate::common::*;

/// How far a killed `archive` got, by what it left (the order in which it
/// writes).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
enum ArchiveStage {
    /// Nothing of this run on the medium.
    NotStarted,
    /// The hidden temporary copy, being written or read back.
    Writing,
    /// Renamed into place; the medium index does not list it yet.
    Installed,
    /// The index lists it; `SHA256SUMS` does not yet.
    Indexed,
    /// `SHA256SUMS` lists it; `README.txt` does not yet.
    Summed,
    /// The medium is complete; the catalog does not know it yet.
    MediumDone,
    /// In the catalog: done.
    Recorded,
}

const NEW: &str = "2019-financial.kluis";
const OLD: &str = "2018-financial.kluis";

/// Checks what a killed `archive --year 2019` left on `m` (a copy of the
/// medium `before`) and in the vault (whose catalog was `cat_before`).
fn archive_state(
    env: &Env,
    key: &Key,
    m: &Path,
    before: &BTreeMap<String, Vec<u8>>,
    cat_before: &[u8],
) -> ArchiveStage {
    only_known_names(m, &[LOCK, INDEX, SUMS, README, OLD, NEW]);
    env.vault_names_ok();
    assert_eq!(
        fs::read(m.join(OLD)).unwrap(),
        before[OLD],
        "the earlier archive changed"
    );
    let installed = m.join(NEW).exists();
    let new_sha = installed.then(|| {
        env.full_verify_alone(key, &m.join(NEW));
        file_sha256(&m.join(NEW))
    });
    let writing = names(m)
        .iter()
        .any(|n| n.starts_with(&format!(".{NEW}.tmp-")));

    let w = env.rewritten(m, before, cat_before);

    // The medium index: old, or old plus exactly the installed archive.
    if w.changed(Rewrite::Index) {
        let mut listed = indexed(&w.index);
        let entry = listed
            .remove(NEW)
            .unwrap_or_else(|| panic!("a changed index must list {NEW}: {}", w.index));
        assert_eq!(
            listed,
            indexed(&w.old_index),
            "the index lost or changed entries"
        );
        assert_eq!(w.index["label"], w.old_index["label"]);
        assert_eq!(w.index["destroyed"], w.old_index["destroyed"]);
        assert!(installed, "the index lists {NEW} before it is in place");
        assert_eq!(Some(&entry.0), new_sha.as_ref(), "index hash of {NEW}");
        assert_eq!(entry.1, fs::metadata(m.join(NEW)).unwrap().len());
    }

    // SHA256SUMS: old, or old plus the new archive's line and those of its
    // parity files (which are in place and match).
    if w.changed(Rewrite::Sums) {
        let mut expected = w.old_sums.clone();
        expected.push((NEW.into(), new_sha.clone().unwrap()));
        for (f, h) in &w.sums {
            if f.starts_with(NEW) && f.ends_with(".par2") {
                assert_eq!(&file_sha256(&m.join(f)), h, "SHA256SUMS line of {f}");
                expected.push((f.clone(), h.clone()));
            }
        }
        expected.sort();
        let mut got = w.sums.clone();
        got.sort();
        assert_eq!(got, expected, "SHA256SUMS is neither old nor new");
    }
    if w.changed(Rewrite::Readme) {
        assert!(w.readme.contains(NEW));
    }

    // The catalog: old, or old plus the new archive.
    if w.changed(Rewrite::Catalog) {
        let mut now = w.catalog.clone();
        let entry = now
            .remove(NEW)
            .unwrap_or_else(|| panic!("a changed catalog must list {NEW}"));
        assert_eq!(now, w.old_catalog, "the catalog lost or changed entries");
        assert_eq!(entry["sha256"].as_str(), new_sha.as_deref());
    }

    match w.last {
        Some(Rewrite::Catalog) => ArchiveStage::Recorded,
        Some(Rewrite::Readme) => ArchiveStage::MediumDone,
        Some(Rewrite::Sums) => ArchiveStage::Summed,
        Some(Rewrite::Index) => ArchiveStage::Indexed,
        None if installed => ArchiveStage::Installed,
        None if writing => ArchiveStage::Writing,
        None => ArchiveStage::NotStarted,
    }
}

/// After a kill at `stage`: the next `archive` of 2019 succeeds when the
/// killed run had not put its archive in place, and says the year is
/// already there when it had; `verify MEDIUM` names the leftovers and what
/// an unfinished run left unlisted. Returns the leftovers found.
fn archive_rerun(env: &Env, m: &Path, stage: ArchiveStage) -> usize {
    let rerun = env
        .kluis()
        .args(["archive", "--year", "2019"])
        .to(m)
        .arg(env.p("tiny"))
        .run();
    if stage >= ArchiveStage::Installed {
        rerun.error_after_cleanup(2, &["already holds", NEW]);
    } else {
        rerun.ok();
    }
    let unfinished = (ArchiveStage::Installed..ArchiveStage::Recorded).contains(&stage);
    if unfinished {
        // Every such state is reported, naming the archive.
        let v = env.verify_without_key(m).run();
        v.code(1).stdout_has(NEW);
        for l in temp_names(m) {
            v.stdout_has(&l);
        }
        remove_temps(m)
    } else {
        env.verify_names_leftovers(m, 0)
    }
}

#[test]
fn archive_killed_anywhere_leaves_old_or_new_and_the_next_run_copes() {
    let (env, key) = Env::ready();
    let src = env.p("src");
    let bytes = make_source(&src, 400, 16 << 10, &[8 << 20, 8 << 20, 8 << 20]);
    write_file(&env.p("tiny/late.txt"), b"a late invoice", 0o644);
    let src_hashes = hash_tree(&src);
    let src_stat = stat_tree(&src);
    // A medium that already holds an archive, so that "old" is not "absent".
    env.archive(2018, &["template"], &[], &["tiny"]).ok();
    let template = folder_files(&env.p("template"));
    let cat_path = env.catalog_path();
    let cat_before = env.catalog_bytes();
    let archive = |m: &Path| {
        env.kluis()
            .args(["archive", "--year", "2019"])
            .to(m)
            .arg(&src)
    };

    // An uninterrupted run, for its duration.
    let base = env.p("base");
    put_files(&base, &template);
    let full = archive(&base).spawn().wait();
    assert_eq!(full.code, Some(0), "{full}");
    fs::remove_dir_all(&base).unwrap();
    fs::write(&cat_path, &cat_before).unwrap();

    let mut schedule = Schedule::new(&[5.0, 10.0, 20.0, 40.0], 0.3, 20, full.ran_for, 22);
    let mut pauses = ["tables-checked", "copies-verified", "archive-recorded"]
        .map(Kill::AtPause)
        .into_iter();
    let mut stages = std::collections::BTreeMap::new();
    let mut leftovers = 0;
    for i in 0.. {
        let Some(kill) = schedule.next().or_else(|| pauses.next()) else {
            break;
        };
        let m = env.p(format!("m{i}"));
        put_files(&m, &template);
        fs::write(&cat_path, &cat_before).unwrap();
        remove_temps(&env.vault());
        let ended = env.run_killed(archive(&m), kill);
        if let Kill::After(_) = kill {
            schedule.record(&ended);
        }
        let stage = archive_state(&env, &key, &m, &template, &cat_before);
        if debug_kills() {
            eprintln!(
                "archive kill {kill:?}: ran {:?}, killed {}, {stage:?}",
                ended.ran_for, ended.killed
            );
        }
        if !ended.killed {
            assert_eq!(stage, ArchiveStage::Recorded, "exited 0 but not recorded");
        }
        assert_eq!(
            stat_tree(&src),
            src_stat,
            "kill {kill:?}: the source changed"
        );
        *stages.entry(stage).or_insert(0) += 1;
        leftovers += archive_rerun(&env, &m, stage);
        fs::remove_dir_all(&m).unwrap();
    }

    // Kills between the small writes, built exactly: the template, the
    // archive (with its parity files) in place, and the new version of each file written before
    // the cut (taken from a run that finished).
    let done = env.p("done");
    put_files(&done, &template);
    fs::write(&cat_path, &cat_before).unwrap();
    archive(&done).arg("-q").run().ok();
    let finished = folder_files(&done);
    let order = [NEW, INDEX, SUMS, README];
    for cut in 1..=order.len() {
        let m = env.p(format!("cut{cut}"));
        put_files(&m, &template);
        for f in &order[..cut] {
            // As kluis does: the old signature goes before SHA256SUMS changes.
            if *f == SUMS {
                let _ = fs::remove_file(m.join("SHA256SUMS.minisig"));
            }
            fs::write(m.join(f), &finished[*f]).unwrap();
            // As kluis does: the parity files go in place with the archive.
            if *f == NEW {
                for (name, bytes) in &finished {
                    if name.starts_with(NEW) && name.ends_with(".par2") {
                        fs::write(m.join(name), bytes).unwrap();
                    }
                }
            }
        }
        fs::write(&cat_path, &cat_before).unwrap();
        let stage = archive_state(&env, &key, &m, &template, &cat_before);
        let expected = [
            ArchiveStage::Installed,
            ArchiveStage::Indexed,
            ArchiveStage::Summed,
            ArchiveStage::MediumDone,
        ][cut - 1];
        assert_eq!(stage, expected);
        archive_rerun(&env, &m, stage);
        fs::remove_dir_all(&m).unwrap();
    }

    assert_eq!(hash_tree(&src), src_hashes, "the source's content changed");
    eprintln!(
        "archive kills ({:.1} MB source, first uninterrupted run {:?}): {}, plus 3 at pause points; stages reached {stages:?}; {leftovers} leftover temporary files, each named by verify; 4 exact between-write states also checked",
        bytes as f64 / 1e6,
        full.ran_for,
        schedule.summary()
    );
    schedule.assert_enough();
    assert!(
        stages.contains_key(&ArchiveStage::Writing) && stages.contains_key(&ArchiveStage::Recorded),
        "kills should land both mid-write and after the end: {stages:?}"
    );
}
