//! Crash safety, tested by killing (issue 6, item 1): `archive`, `destroy`,
//! `hold` and `release` are SIGKILLed at moments spread from start-up to
//! past their end (and `archive` also at its test pause points). After each
//! kill: every file they write (`SHA256SUMS`, `kluis-medium.json`,
//! `README.txt`, the vault's `catalog.json`) is the old or the new version
//! and parses, written in the documented order; no file on the medium looks
//! like an archive without being a complete, verified one; the source is
//! untouched; the next run finishes the job or clearly refuses; `verify`
//! names the leftovers.
//!
//! A kill between two of the small atomic writes (a window of a few ms) is
//! rarely hit by timing, so those states are also built exactly, from the
//! old and new versions of each file, and checked the same way.
//!
//! `KLUIS_RELIABILITY_DEBUG=1` prints every archive kill: when, how long
//! the process ran, and the stage it left.

use std::ffi::OsStr;
use std::fs;
use std::path::Path;
use std::time::Duration;

use serde_json::Value;

use crate::common::*;
use crate::rutil::*;

const INDEX: &str = "kluis-medium.json";
const SUMS: &str = "SHA256SUMS";
const README: &str = "README.txt";
const LOCK: &str = ".kluis.lock";
const TODAY: &str = "2024-06-03";

/// Where a kill is aimed.
#[derive(Clone, Copy, Debug)]
enum Kill {
    /// This long after the process started.
    After(Duration),
    /// At one of `archive`'s pause points (`KLUIS_TEST_PAUSE_AT`).
    AtPause(&'static str),
    /// This fraction of an uninterrupted run (resolved by [`Schedule`]).
    Fraction(f64),
}

/// When to kill: a few fixed early moments (start-up, the vault and
/// medium checks), then fractions of the time an uninterrupted run takes,
/// from `from` to 25% past it. The machine's speed varies (other builds
/// share it), so the run time is re-estimated from every run that finished
/// before its kill, and kills are added until `want` of them landed and at
/// least one came only after the end.
struct Schedule {
    queue: std::collections::VecDeque<Kill>,
    estimate: Duration,
    want: usize,
    cap: usize,
    tried: usize,
    landed: usize,
    finished_first: usize,
}

impl Schedule {
    fn new(early_ms: &[f64], from: f64, n: usize, estimate: Duration, want: usize) -> Schedule {
        let mut queue: std::collections::VecDeque<Kill> = early_ms
            .iter()
            .map(|&ms| Kill::After(Duration::from_secs_f64(ms / 1000.0)))
            .collect();
        for k in 0..n {
            let f = from + (1.25 - from) * k as f64 / (n - 1) as f64;
            queue.push_back(Kill::Fraction(f));
        }
        Schedule {
            queue,
            estimate,
            want,
            cap: want * 2,
            tried: 0,
            landed: 0,
            finished_first: 0,
        }
    }

    fn next(&mut self) -> Option<Kill> {
        if self.queue.is_empty() && self.tried < self.cap {
            if self.landed < self.want {
                self.queue.extend([0.4, 0.6, 0.8, 0.9].map(Kill::Fraction));
            } else if self.finished_first == 0 {
                self.queue.extend([1.5, 2.5].map(Kill::Fraction));
            }
        }
        let kill = self.queue.pop_front()?;
        Some(match kill {
            Kill::Fraction(f) => Kill::After(self.estimate.mul_f64(f)),
            k => k,
        })
    }

    fn record(&mut self, ended: &Ended) {
        self.tried += 1;
        if ended.killed {
            self.landed += 1;
        } else {
            self.finished_first += 1;
            self.estimate = (self.estimate + ended.ran_for) / 2;
        }
    }

    fn summary(&self) -> String {
        format!(
            "{}/{} timed kills landed before exit ({} came after the end)",
            self.landed, self.tried, self.finished_first
        )
    }

    #[track_caller]
    fn assert_enough(&self) {
        assert!(
            self.landed >= self.want.min(20) && self.finished_first >= 1,
            "{}",
            self.summary()
        );
    }
}

fn os(v: &[std::ffi::OsString]) -> Vec<&OsStr> {
    v.iter().map(|s| s.as_os_str()).collect()
}

/// Runs `args`, killed as `kill` says.
fn run_killed(env: &Env, args: &[&OsStr], vars: &[(&str, &OsStr)], kill: Kill) -> Ended {
    match kill {
        Kill::After(d) => spawn(env, args, vars).kill_after(d),
        Kill::Fraction(_) => unreachable!("resolved by the schedule"),
        Kill::AtPause(point) => {
            let marker = env.p("paused");
            let _ = fs::remove_file(&marker);
            let mut all = vars.to_vec();
            all.push(("KLUIS_TEST_PAUSE_AT", OsStr::new(point)));
            all.push(("KLUIS_TEST_PAUSE_MARKER", marker.as_os_str()));
            all.push(("KLUIS_TEST_PAUSE_SECS", OsStr::new("60")));
            let mut p = spawn(env, args, &all);
            let reached = wait_for(Duration::from_secs(30), || marker.exists() || !p.running());
            let ended = p.kill();
            assert!(
                reached && marker.exists(),
                "never reached pause point {point}{ended}"
            );
            ended
        }
    }
}

/// The names a kluis folder may hold after a kill: `allowed`, plus
/// kluis's temporary files.
#[track_caller]
fn only_known_names(dir: &Path, allowed: &[&str]) {
    for n in names(dir) {
        let temp = n.starts_with('.') && n.contains(".tmp-");
        assert!(
            temp || allowed.contains(&n.as_str()),
            "{}: unexpected file {n:?} after a kill",
            dir.display()
        );
    }
}

/// `kluis verify -i KEY FILE` on a hard link of the archive in a folder of
/// its own and without a vault: the archive alone must be complete.
#[track_caller]
fn full_verify_alone(env: &Env, key: &Key, archive: &Path) {
    let dir = env.p("alone");
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir(&dir).unwrap();
    let link = dir.join(archive.file_name().unwrap());
    fs::hard_link(archive, &link).unwrap();
    let run = env
        .kluis()
        .arg("--vault")
        .arg(env.p("no-vault"))
        .args(["verify", "-i"])
        .arg(&key.path)
        .arg(&link)
        .run();
    assert_eq!(
        run.code,
        Some(0),
        "{} is on the medium under an archive's name but does not verify fully{run}",
        archive.display()
    );
    fs::remove_dir_all(&dir).unwrap();
}

/// The vault may hold its own files and kluis's temporary files.
#[track_caller]
fn vault_names_ok(env: &Env) {
    only_known_names(&env.vault(), &["config.toml", "catalog.json", "lock"]);
}

/// `verify MEDIUM` (no key) names every leftover and exits 1 while there
/// are any; with them deleted, it exits `after`.
#[track_caller]
fn verify_names_leftovers(env: &Env, medium: &Path, after: i32) -> usize {
    let leftovers = temp_names(medium);
    let run = env.kluis().arg("verify").arg(medium).run();
    if leftovers.is_empty() {
        run.code(after);
        return 0;
    }
    run.code(1);
    for l in &leftovers {
        run.stdout_has(l);
    }
    let n = remove_temps(medium);
    env.kluis().arg("verify").arg(medium).run().code(after);
    n
}

// ---------------------------------------------------------------------------
// archive

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
    before: &std::collections::BTreeMap<String, Vec<u8>>,
    cat_before: &[u8],
) -> ArchiveStage {
    only_known_names(m, &[LOCK, INDEX, SUMS, README, OLD, NEW]);
    vault_names_ok(env);
    assert_eq!(
        fs::read(m.join(OLD)).unwrap(),
        before[OLD],
        "the earlier archive changed"
    );
    let installed = m.join(NEW).exists();
    let new_sha = installed.then(|| {
        full_verify_alone(env, key, &m.join(NEW));
        file_sha256(&m.join(NEW))
    });
    let writing = names(m)
        .iter()
        .any(|n| n.starts_with(&format!(".{NEW}.tmp-")));

    // The medium index: old, or old plus exactly the installed archive.
    let index = parse_json(&m.join(INDEX));
    let index_new = fs::read(m.join(INDEX)).unwrap() != before[INDEX];
    if index_new {
        let old: Value = serde_json::from_slice(&before[INDEX]).unwrap();
        let mut listed = indexed(&index);
        let entry = listed
            .remove(NEW)
            .unwrap_or_else(|| panic!("a changed index must list {NEW}: {index}"));
        assert_eq!(listed, indexed(&old), "the index lost or changed entries");
        assert_eq!(index["label"], old["label"]);
        assert_eq!(index["destroyed"], old["destroyed"]);
        assert!(installed, "the index lists {NEW} before it is in place");
        assert_eq!(Some(&entry.0), new_sha.as_ref(), "index hash of {NEW}");
        assert_eq!(entry.1, fs::metadata(m.join(NEW)).unwrap().len());
    }

    // SHA256SUMS: old, or old plus the new archive's line; after the index.
    let sums = fs::read(m.join(SUMS)).unwrap();
    let parsed = parse_sums(&sums);
    let sums_new = sums != before[SUMS];
    if sums_new {
        assert!(index_new, "SHA256SUMS changed before the index");
        let mut expected = parse_sums(&before[SUMS]);
        expected.push((NEW.into(), new_sha.clone().unwrap()));
        expected.sort();
        let mut got = parsed;
        got.sort();
        assert_eq!(got, expected, "SHA256SUMS is neither old nor new");
    }

    let readme = fs::read(m.join(README)).unwrap();
    let readme_new = readme != before[README];
    if readme_new {
        assert!(sums_new, "README.txt changed before SHA256SUMS");
        assert!(String::from_utf8_lossy(&readme).contains(NEW));
    }

    // The catalog: old, or old plus the new archive; after the medium.
    let cat_path = env.vault().join("catalog.json");
    let catalog = parse_json(&cat_path);
    let cat_new = fs::read(&cat_path).unwrap() != cat_before;
    if cat_new {
        assert!(readme_new, "the catalog changed before the medium was done");
        let old: Value = serde_json::from_slice(cat_before).unwrap();
        let mut now = catalogued(&catalog);
        let entry = now
            .remove(NEW)
            .unwrap_or_else(|| panic!("a changed catalog must list {NEW}"));
        assert_eq!(now, catalogued(&old), "the catalog lost or changed entries");
        assert_eq!(entry["sha256"].as_str(), new_sha.as_deref());
    }

    match () {
        _ if cat_new => ArchiveStage::Recorded,
        _ if readme_new => ArchiveStage::MediumDone,
        _ if sums_new => ArchiveStage::Summed,
        _ if index_new => ArchiveStage::Indexed,
        _ if installed => ArchiveStage::Installed,
        _ if writing => ArchiveStage::Writing,
        _ => ArchiveStage::NotStarted,
    }
}

/// After a kill at `stage`: the next `archive` of 2019 succeeds when the
/// killed run had not put its archive in place, and says the year is
/// already there when it had; `verify MEDIUM` names the leftovers and what
/// an unfinished run left unlisted. Returns the leftovers found.
fn archive_rerun(env: &Env, m: &Path, stage: ArchiveStage) -> usize {
    let rerun = env
        .kluis()
        .args(["archive", "--year", "2019", "--to"])
        .arg(m)
        .arg(env.p("tiny"))
        .run();
    if stage >= ArchiveStage::Installed {
        rerun.error(2, &["already holds", NEW]);
    } else {
        rerun.ok();
    }
    let unfinished = (ArchiveStage::Installed..ArchiveStage::Recorded).contains(&stage);
    if unfinished {
        // Every such state is reported, naming the archive.
        let v = env.kluis().arg("verify").arg(m).run();
        v.code(1).stdout_has(NEW);
        for l in temp_names(m) {
            v.stdout_has(&l);
        }
        remove_temps(m)
    } else {
        verify_names_leftovers(env, m, 0)
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
    let cat_path = env.vault().join("catalog.json");
    let cat_before = fs::read(&cat_path).unwrap();
    let args = |m: &Path| -> Vec<std::ffi::OsString> {
        vec![
            "archive".into(),
            "--year".into(),
            "2019".into(),
            "--to".into(),
            m.into(),
            src.clone().into(),
        ]
    };

    // An uninterrupted run, for its duration.
    let base = env.p("base");
    put_files(&base, &template);
    let a = args(&base);
    let full = spawn(&env, &os(&a), &[]).wait();
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
        let a = args(&m);
        let ended = run_killed(&env, &os(&a), &[], kill);
        assert!(
            ended.killed || ended.code == Some(0),
            "kill {kill:?}: kluis failed on its own{ended}"
        );
        if let Kill::After(_) = kill {
            schedule.record(&ended);
        }
        let stage = archive_state(&env, &key, &m, &template, &cat_before);
        if std::env::var_os("KLUIS_RELIABILITY_DEBUG").is_some() {
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
    // archive in place, and the new version of each file written before
    // the cut (taken from a run that finished).
    let done = env.p("done");
    put_files(&done, &template);
    fs::write(&cat_path, &cat_before).unwrap();
    env.kluis().arg("-q").args(os(&args(&done))).run().ok();
    let finished = folder_files(&done);
    let order = [NEW, INDEX, SUMS, README];
    for cut in 1..=order.len() {
        let m = env.p(format!("cut{cut}"));
        put_files(&m, &template);
        for f in &order[..cut] {
            fs::write(m.join(f), &finished[*f]).unwrap();
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

// ---------------------------------------------------------------------------
// destroy

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
    before: &std::collections::BTreeMap<String, Vec<u8>>,
    cat_before: &[u8],
) -> DestroyStage {
    only_known_names(m, &[LOCK, INDEX, SUMS, README, GONE, KEPT, DESTROYING]);
    vault_names_ok(env);
    let old_index: Value = serde_json::from_slice(&before[INDEX]).unwrap();
    let id = old_index["archives"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["file"] == GONE)
        .unwrap()["archive_id"]
        .clone();
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

    let index = parse_json(&m.join(INDEX));
    let index_new = fs::read(m.join(INDEX)).unwrap() != before[INDEX];
    if index_new {
        assert!(
            !intact && !destroying,
            "the index changed before the file was gone"
        );
        let mut expected = indexed(&old_index);
        expected.remove(GONE);
        assert_eq!(indexed(&index), expected);
        let proofs = index["destroyed"].as_array().unwrap();
        assert_eq!(proofs.len(), 1, "{index}");
        assert_eq!(proofs[0]["archive_id"], id);
    }
    let sums = fs::read(m.join(SUMS)).unwrap();
    let parsed = parse_sums(&sums);
    let sums_new = sums != before[SUMS];
    if sums_new {
        assert!(index_new, "SHA256SUMS changed before the index");
        let mut expected = parse_sums(&before[SUMS]);
        expected.retain(|(f, _)| f != GONE);
        assert_eq!(parsed, expected, "SHA256SUMS is neither old nor new");
    }
    let readme_new = fs::read(m.join(README)).unwrap() != before[README];
    if readme_new {
        assert!(sums_new, "README.txt changed before SHA256SUMS");
    }
    let cat_path = env.vault().join("catalog.json");
    let catalog = parse_json(&cat_path);
    let cat_new = fs::read(&cat_path).unwrap() != cat_before;
    if cat_new {
        assert!(readme_new, "the catalog changed before the medium was done");
        let old: Value = serde_json::from_slice(cat_before).unwrap();
        let mut now = catalogued(&catalog);
        let mut was = catalogued(&old);
        let entry = now.remove(GONE).unwrap();
        was.remove(GONE);
        assert_eq!(now, was, "the catalog changed other archives");
        assert_eq!(
            entry["destructions"], index["destroyed"],
            "the catalog's proof is the medium's"
        );
        assert!(entry["copies"][0]["destroyed"].is_string(), "{entry}");
    }
    match () {
        _ if cat_new => DestroyStage::Recorded,
        _ if readme_new => DestroyStage::MediumDone,
        _ if sums_new => DestroyStage::Summed,
        _ if index_new => DestroyStage::Indexed,
        _ if destroying => DestroyStage::Renamed,
        _ if intact => DestroyStage::NotStarted,
        _ => DestroyStage::Deleted,
    }
}

/// After a kill at `stage`, a re-run of the same `destroy` finishes the
/// job (or says it is done), and the medium and catalog are then complete
/// and consistent, down to `sha256sum -c SHA256SUMS`.
fn destroy_rerun(env: &Env, m: &Path, stage: DestroyStage) -> usize {
    let rerun = env
        .kluis()
        .env("KLUIS_TODAY", TODAY)
        .args(["destroy", "2015-financial", "--yes", "--json", "--medium"])
        .arg(m)
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
    let catalog = parse_json(&env.vault().join("catalog.json"));
    let entry = &catalogued(&catalog)[GONE];
    assert_eq!(entry["destructions"], index["destroyed"]);
    let listed: Vec<String> = parse_sums(&fs::read(m.join(SUMS)).unwrap())
        .into_iter()
        .map(|(f, _)| f)
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
    verify_names_leftovers(env, m, 0)
}

#[test]
fn destroy_killed_anywhere_is_finished_by_a_rerun() {
    let (env, _key) = Env::ready();
    make_source(&env.p("src2015"), 100, 16 << 10, &[10 << 20, 10 << 20]);
    write_file(&env.p("src2025/a.txt"), b"kept", 0o644);
    env.archive(2015, &["template"], &[], &["src2015"]).ok();
    env.archive(2025, &["template"], &[], &["src2025"]).ok();
    let template = folder_files(&env.p("template"));
    let cat_path = env.vault().join("catalog.json");
    let cat_before = fs::read(&cat_path).unwrap();
    let args = |m: &Path| -> Vec<std::ffi::OsString> {
        vec![
            "destroy".into(),
            "2015-financial".into(),
            "--yes".into(),
            "--medium".into(),
            m.into(),
        ]
    };
    let today: &[(&str, &OsStr)] = &[("KLUIS_TODAY", OsStr::new(TODAY))];

    let base = env.p("base");
    put_files(&base, &template);
    let full = spawn(&env, &os(&args(&base)), today).wait();
    assert_eq!(full.code, Some(0), "{full}");
    let finished = folder_files(&base);
    let cat_after = fs::read(&cat_path).unwrap();
    fs::remove_dir_all(&base).unwrap();

    let mut schedule = Schedule::new(&[2.0, 5.0, 10.0], 0.1, 19, full.ran_for, 20);
    let mut stages = std::collections::BTreeMap::new();
    let mut leftovers = 0;
    for i in 0.. {
        let Some(kill) = schedule.next() else {
            break;
        };
        let m = env.p(format!("m{i}"));
        put_files(&m, &template);
        fs::write(&cat_path, &cat_before).unwrap();
        remove_temps(&env.vault());
        let ended = run_killed(&env, &os(&args(&m)), today, kill);
        assert!(
            ended.killed || ended.code == Some(0),
            "kill {kill:?}: kluis failed on its own{ended}"
        );
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

// ---------------------------------------------------------------------------
// catalog updates: hold and release

#[test]
fn hold_and_release_killed_leave_the_old_or_the_new_catalog() {
    let (env, _key) = Env::ready();
    write_file(&env.p("src/a.txt"), b"a", 0o644);
    env.archive(2019, &["m"], &[], &["src"]).ok();
    // A catalog of many archives, so that reading and writing it takes long
    // enough for kills to land inside.
    let cat_path = env.vault().join("catalog.json");
    let mut catalog = parse_json(&cat_path);
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
    let today: &[(&str, &OsStr)] = &[("KLUIS_TODAY", OsStr::new(TODAY))];
    env.kluis()
        .env("KLUIS_TODAY", TODAY)
        .args(["hold", "2019-financial", "--reason", "audit"])
        .run()
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
        let full = spawn(&env, &args(0), today).wait();
        assert_eq!(full.code, Some(0), "{full}");
        let mut schedule = Schedule::new(&[0.5, 1.0], 0.1, 18, full.ran_for, 15);
        let (mut old, mut new, mut temps) = (0, 0, 0);
        for i in 0.. {
            let Some(kill) = schedule.next() else {
                break;
            };
            fs::write(&cat_path, before).unwrap();
            let a = args(i);
            let a: Vec<&OsStr> = a.iter().map(OsStr::new).collect();
            let ended = run_killed(&env, &a, today, kill);
            assert!(ended.killed || ended.code == Some(0), "{ended}");
            schedule.record(&ended);
            vault_names_ok(&env);
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
            let rerun = env.kluis().env("KLUIS_TODAY", TODAY).args(&a).run();
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
