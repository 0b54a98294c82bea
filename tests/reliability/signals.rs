//! Ctrl-C is not a crash (issue 17): SIGINT and SIGTERM sent to `archive`,
//! `restore` (and `--salvage`), `destroy`, the purge, `repair`, `verify`
//! and `rekey` at their test pause points. Each must
//! stop at its next safe point with the documented exit code (130, 143) and
//! one `interrupted:` line, leave no temporary file on any medium or in the
//! restore folder, remove nothing complete, and let the next run (or
//! `restore --resume`) finish the job.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use crate::common::*;

const NEW: &str = "2019-financial.kluis";

/// SIGINT or SIGTERM, and the exit code each must give.
#[derive(Clone, Copy, Debug)]
enum Sig {
    Int,
    Term,
}

impl Sig {
    fn name(self) -> &'static str {
        match self {
            Sig::Int => "INT",
            Sig::Term => "TERM",
        }
    }
    fn code(self) -> i32 {
        match self {
            Sig::Int => 130,
            Sig::Term => 143,
        }
    }
    fn alternate(i: usize) -> Sig {
        if i.is_multiple_of(2) {
            Sig::Int
        } else {
            Sig::Term
        }
    }
}

/// Starts `cmd` held at pause point `point`, sends `sig` (which ends the
/// pause once kluis has taken note of it) and waits for the process to end
/// by itself.
fn interrupt(env: &Env, cmd: Cmd, point: &str, sig: Sig) -> Ended {
    interrupt_with(env, cmd, point, &[sig])
}

/// [`interrupt`] with several signals, sent one right after the other.
fn interrupt_with(env: &Env, cmd: Cmd, point: &str, sigs: &[Sig]) -> Ended {
    let marker = env.p("pause-marker");
    let p = cmd.spawn_paused(point, &marker, 120);
    for sig in sigs {
        let sent = std::process::Command::new("kill")
            .args(["-s", sig.name(), &p.pid().to_string()])
            .status()
            .unwrap();
        assert!(sent.success());
    }
    p.wait()
}

/// The process ended by itself with the signal's code and exactly one
/// `interrupted:` line containing `says`.
#[track_caller]
fn assert_interrupted(ended: &Ended, sig: Sig, says: &str) {
    assert!(!ended.killed, "{ended}");
    assert_eq!(ended.code, Some(sig.code()), "{ended}");
    let lines: Vec<&str> = ended
        .stderr
        .lines()
        .filter(|l| l.starts_with("interrupted:"))
        .collect();
    assert_eq!(lines.len(), 1, "one interrupted: line{ended}");
    assert!(lines[0].contains(says), "{says:?} not said{ended}");
    assert!(!ended.stderr.contains("error:"), "{ended}");
}

/// Every kluis temporary file below `dir`, at any depth.
fn temps_below(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in fs::read_dir(&d).unwrap() {
            let e = e.unwrap();
            let name = e.file_name().to_string_lossy().into_owned();
            if name.contains(".tmp-") {
                out.push(e.path());
            }
            if e.file_type().unwrap().is_dir() {
                stack.push(e.path());
            }
        }
    }
    out
}

/// Files below `root` by relative path, with their content.
fn files(root: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    contents(root)
        .into_iter()
        .map(|(p, b)| (p.strip_prefix(root).unwrap().to_path_buf(), b))
        .collect()
}

/// A source folder of `n` small files in a few folders, and a 1 MB one
/// (several restore chunks).
fn source(env: &Env, n: usize) -> PathBuf {
    let src = env.p("src");
    make_source(&src, n, 700, &[1 << 20]);
    src
}

fn archive_cmd(env: &Env, media: &[&str], extra: &[&str]) -> Cmd {
    let mut cmd = env.kluis().args(["archive", "--year", "2019"]).args(extra);
    for m in media {
        fs::create_dir_all(env.p(m)).unwrap();
        cmd = cmd.arg("--to").arg(env.p(m));
    }
    cmd.arg(env.p("src"))
}

/// A second signal while the first is being handled (Ctrl-C pressed
/// twice, or a SIGTERM after it) is ignored for the grace period: the run
/// still removes what it wrote and ends with the first signal's code and
/// one line, not "interrupted again".
#[test]
fn a_second_signal_during_the_cleanup_is_ignored() {
    let (env, _key) = Env::ready();
    source(&env, 30);
    let media = ["stick-a", "stick-b"];
    let ended = interrupt_with(
        &env,
        archive_cmd(&env, &media, &[]),
        "archive-record-8",
        &[Sig::Int, Sig::Term],
    );
    // Which of the two the process saw first decides the code.
    let first = if ended.code == Some(Sig::Term.code()) {
        Sig::Term
    } else {
        Sig::Int
    };
    assert_interrupted(&ended, first, "nothing was written to stick-a, stick-b");
    assert!(!ended.stderr.contains("interrupted again"), "{ended}");
    for m in media {
        let dir = env.p(m);
        assert_eq!(temp_names(&dir), Vec::<String>::new(), "{m}");
        assert!(!dir.join(NEW).exists(), "{m} has the archive");
    }
    assert!(catalogued(&env.catalog()).is_empty());
}

/// Ten archive runs interrupted at ten points (SIGINT and SIGTERM in
/// turn), each leaving both media as they were; the eleventh run finishes
/// and leaves only complete files.
#[test]
fn archive_interrupted_at_ten_points_then_finished() {
    let (env, key) = Env::ready();
    source(&env, 60);
    let media = ["stick-a", "stick-b"];
    let points = [
        "archive-record-1",
        "archive-record-2",
        "archive-record-3",
        "archive-record-5",
        "archive-record-8",
        "archive-record-13",
        "archive-record-21",
        "archive-record-34",
        "archive-record-55",
        "copies-verified",
    ];
    let src_before = files(&env.p("src"));
    for (i, point) in points.iter().enumerate() {
        let sig = Sig::alternate(i);
        let ended = interrupt(&env, archive_cmd(&env, &media, &[]), point, sig);
        assert_interrupted(&ended, sig, "nothing was written to stick-a, stick-b");
        for m in media {
            let dir = env.p(m);
            assert_eq!(temp_names(&dir), Vec::<String>::new(), "{point}: {m}");
            assert!(!dir.join(NEW).exists(), "{point}: {m} has the archive");
            assert!(
                !names(&dir).iter().any(|n| n.ends_with(".par2")),
                "{point}: {m} has parity files"
            );
        }
        assert!(
            catalogued(&env.catalog()).is_empty(),
            "{point}: the catalog changed"
        );
        assert!(
            files(&env.p("src")) == src_before,
            "{point}: source changed"
        );
    }
    // The eleventh run finishes; only complete files are on each medium.
    archive_cmd(&env, &media, &[]).run().ok();
    for m in media {
        let dir = env.p(m);
        let complete = [LOCK, INDEX, SUMS, README, NEW, "SHA256SUMS.minisig"];
        for n in names(&dir) {
            // The archive's PAR2 index and recovery volume are complete files.
            let parity = n.starts_with(&format!("{NEW}.")) && n.ends_with(".par2");
            assert!(complete.contains(&n.as_str()) || parity, "{m}: {n} is left");
        }
        env.full_verify_alone(&key, &dir.join(NEW));
    }
}

/// A signal after the last safe point lets `archive` finish: exit 0, a
/// note, the archive complete and recorded.
#[test]
fn archive_interrupted_after_its_last_safe_point_finishes() {
    let (env, key) = Env::ready();
    source(&env, 5);
    let ended = interrupt(
        &env,
        archive_cmd(&env, &["stick"], &[]),
        "archive-recorded",
        Sig::Int,
    );
    assert_eq!(ended.code, Some(0), "{ended}");
    assert!(ended.stderr.contains("finished its work"), "{ended}");
    env.full_verify_alone(&key, &env.p("stick").join(NEW));
    assert_eq!(catalogued(&env.catalog()).len(), 1);
}

/// The purge of `--purge-source` stops between two files: the archive is
/// complete, what was not removed is still in the source, unchanged.
#[test]
fn purge_interrupted_keeps_the_rest_in_the_source() {
    let (env, key) = Env::ready();
    source(&env, 30);
    let before = files(&env.p("src"));
    let ended = interrupt(
        &env,
        archive_cmd(&env, &["stick"], &["--purge-source"]),
        "purge-files",
        Sig::Term,
    );
    assert_interrupted(&ended, Sig::Term, "is complete on stick");
    assert!(
        ended
            .stderr
            .contains("`kluis purge 2019-financial.kluis` finishes"),
        "{ended}"
    );
    env.full_verify_alone(&key, &env.p("stick").join(NEW));
    let left = files(&env.p("src"));
    assert!(!left.is_empty() && left.len() < before.len(), "{ended}");
    for (path, bytes) in &left {
        assert_eq!(Some(bytes), before.get(path), "{}", path.display());
    }
    assert!(temp_names(&env.p("stick")).is_empty());

    // `kluis purge` itself stops cleanly, and the run after it finishes.
    let purge = || env.kluis().args(["purge", NEW]);
    let ended = interrupt(&env, purge(), "purge-files", Sig::Int);
    assert_interrupted(
        &ended,
        Sig::Int,
        "`kluis purge 2019-financial.kluis` finishes",
    );
    let fewer = files(&env.p("src"));
    assert!(!fewer.is_empty() && fewer.len() < left.len(), "{ended}");
    purge().run().ok().stdout_has("removed from the sources");
    assert_eq!(files(&env.p("src")), BTreeMap::new());
    purge()
        .run()
        .error(2, &["no purge of 2019-financial.kluis is unfinished"]);
}

/// A source of `n` records archived for 2019; the archive, and what a
/// full restore must give (paths below the target, contents).
fn archived_source(n: usize) -> (Env, Key, PathBuf, BTreeMap<PathBuf, Vec<u8>>) {
    let (env, key) = Env::ready();
    source(&env, n);
    let archive = env.archived(2019, "src");
    let want = files(&env.p("src"))
        .into_iter()
        .map(|(p, b)| (Path::new("records").join(p), b))
        .collect();
    (env, key, archive, want)
}

fn restore_cmd(env: &Env, key: &Key, archive: &Path, extra: &[&str]) -> Cmd {
    env.kluis()
        .args(["restore", "-i"])
        .arg(&key.path)
        .arg(archive)
        .arg("--to")
        .arg(env.p("out"))
        .args(extra)
}

/// `restore` interrupted at ten points: only complete, right files under
/// their names, no temporary file; a plain rerun refuses, `--resume`
/// finishes.
#[test]
fn restore_interrupted_at_ten_points_then_resumed() {
    let (env, key, archive, want) = archived_source(40);
    let points = [
        "restore-checked",
        "restore-record-1",
        "restore-record-2",
        "restore-record-3",
        "restore-record-5",
        "restore-record-8",
        "restore-record-13",
        "restore-record-21",
        "restore-record-34",
        "restore-writing",
    ];
    for (i, point) in points.iter().enumerate() {
        let _ = fs::remove_dir_all(env.p("out"));
        let sig = Sig::alternate(i + 1);
        let ended = interrupt(&env, restore_cmd(&env, &key, &archive, &[]), point, sig);
        assert_interrupted(&ended, sig, "--resume");
        let out = env.p("out");
        assert_eq!(temps_below(&out), Vec::<PathBuf>::new(), "{point}");
        let got = files(&out);
        assert!(got.len() < want.len(), "{point}: nothing was left to do");
        for (path, bytes) in &got {
            assert_eq!(
                Some(bytes),
                want.get(path),
                "{point}: {} is not the record",
                path.display()
            );
        }
        if i == 5 {
            restore_cmd(&env, &key, &archive, &[])
                .run()
                .error(2, &["refusing to overwrite"])
                .stderr_has("--resume");
        }
        restore_cmd(&env, &key, &archive, &["--resume"]).run().ok();
        let got = files(&out);
        assert_eq!(
            got.keys().collect::<Vec<_>>(),
            want.keys().collect::<Vec<_>>(),
            "{point}: --resume did not finish"
        );
        assert!(got == want, "{point}: --resume restored other content");
        assert_eq!(temps_below(&out), Vec::<PathBuf>::new());
    }
}

/// `--resume` refuses, before writing anything, when a file in the way
/// differs from the record.
#[test]
fn resume_refuses_a_different_file() {
    let (env, key) = Env::ready();
    source(&env, 3);
    let archive = env.archived(2019, "src");
    restore_cmd(&env, &key, &archive, &[]).run().ok();
    let victim = env.p("out/records/ledger-0.bin");
    fs::write(&victim, b"mine").unwrap();
    let before = files(&env.p("out"));
    restore_cmd(&env, &key, &archive, &["--resume"])
        .run()
        .error(2, &["ledger-0.bin"]);
    assert!(
        files(&env.p("out")) == before,
        "--resume changed the folder"
    );
}

/// `destroy` interrupted before its last safe point destroys nothing; run
/// again, it destroys the copy.
#[test]
fn destroy_interrupted_destroys_nothing() {
    let env = Env::with_archives();
    let gone = env.p("m1").join("2015-financial.kluis");
    let before = fs::read(&gone).unwrap();
    let ended = interrupt(
        &env,
        env.kluis().destroy("2015-financial", env.p("m1")),
        "destroy-checked",
        Sig::Int,
    );
    assert_interrupted(&ended, Sig::Int, "nothing was destroyed");
    assert_eq!(fs::read(&gone).unwrap(), before);
    assert!(temp_names(&env.p("m1")).is_empty());
    env.kluis()
        .destroy("2015-financial", env.p("m1"))
        .run()
        .ok();
    assert!(!gone.exists());
}

/// Leftovers of a killed run are removed by the next run holding the
/// medium's lock (and by `verify --clean`), saying so; files that are not
/// of kluis's own naming stay.
#[test]
fn leftovers_are_cleaned_by_the_next_run_only_if_ours() {
    let (env, key) = Env::ready();
    source(&env, 3);
    let m = env.p("stick");
    fs::create_dir_all(&m).unwrap();
    let ours = ".2019-financial.kluis.tmp-0a1b2c3d";
    let theirs = [
        ".notes.tmp-mine",
        ".2018-financial.kluis.tmp-rekey",
        ".x.tmp-0A1B2C3D",
    ];
    fs::write(m.join(ours), random_bytes(4096)).unwrap();
    for t in theirs {
        fs::write(m.join(t), b"not kluis's").unwrap();
    }
    let run = env.archive(2019, &["stick"], &[], &["src"]);
    run.ok()
        .stderr_has("removed 1 leftover of interrupted runs");
    assert!(!m.join(ours).exists());
    for t in theirs {
        assert!(m.join(t).exists(), "{t} was removed");
    }
    env.full_verify_alone(&key, &m.join(NEW));

    // `verify` names a leftover; `verify --clean` removes it.
    fs::write(m.join(ours), b"x").unwrap();
    env.kluis()
        .arg("verify")
        .arg(&m)
        .run()
        .code(1)
        .stdout_has("verify --clean");
    env.kluis()
        .args(["verify", "--clean"])
        .arg(&m)
        .run()
        .code(1)
        .stderr_has("removed 1 leftover");
    assert!(!m.join(ours).exists());
    for t in theirs {
        assert!(m.join(t).exists(), "{t} was removed");
    }

    // `repair` holds the medium's lock too, and cleans up the same way.
    fs::write(m.join(ours), b"x").unwrap();
    env.kluis()
        .arg("repair")
        .arg(&m)
        .run()
        .ok()
        .stderr_has("removed 1 leftover of interrupted runs");
    assert!(!m.join(ours).exists());
    for t in theirs {
        assert!(m.join(t).exists(), "{t} was removed");
    }
}

/// A restore killed outright (SIGKILL, inside a file) while it writes
/// named temporary files (`--force`, which replaces files by renaming; and
/// file systems without `O_TMPFILE`) cannot remove them; the next restore
/// into that folder (`--resume`, plain while nothing complete is in the
/// way, or `--force`) removes them, saying so in one line, and nothing
/// that is not its own; every file then matches.
#[test]
fn restore_killed_leaves_a_temporary_file_the_next_one_removes() {
    let (env, key, archive, want) = archived_source(20);
    let out = env.p("out");
    for (extra, point) in [
        (&["--resume"][..], "restore-writing-10"),
        (&[], "restore-writing-1"),
        (&["--force"], "restore-writing-10"),
    ] {
        let _ = fs::remove_dir_all(&out);
        let ended = env.run_killed(
            restore_cmd(&env, &key, &archive, &["--force"]),
            Kill::AtPause(point),
        );
        assert!(ended.killed, "{ended}");
        // The file being written, and those written whose check had not
        // renamed them into place yet.
        let left = temps_below(&out);
        assert!(!left.is_empty(), "{point}: no temporary file left");
        let folder = left[0].parent().unwrap();
        // Not the temporary file of a record restored there: kept.
        let foreign = [
            folder.join(".notes.tmp-mine"),
            folder.join(".not-a-record.pdf.tmp-0a1b2c3d"),
            out.join(".INV-00000.pdf.tmp-0a1b2c3d"),
        ];
        for f in &foreign {
            fs::write(f, b"not kluis's").unwrap();
        }
        let run = restore_cmd(&env, &key, &archive, extra).run();
        let lines: Vec<&str> = run
            .ok()
            .stderr
            .lines()
            .filter(|l| l.contains("left by an interrupted restore"))
            .collect();
        assert_eq!(lines.len(), 1, "{extra:?}: one line{run}");
        let removed = format!("removed {} temporary file", left.len());
        assert!(lines[0].contains(&removed), "{removed}{run}");
        for l in &left {
            assert!(!l.exists(), "{extra:?}: {} stayed", l.display());
        }
        for f in &foreign {
            assert!(f.exists(), "{extra:?}: {} was removed", f.display());
            fs::remove_file(f).unwrap();
        }
        assert_eq!(temps_below(&out), Vec::<PathBuf>::new(), "{extra:?}");
        assert!(files(&out) == want, "{extra:?}: other content restored");
    }
}

/// A restore into new files writes them without a name (`O_TMPFILE`) and
/// names each once checked: killed outright inside a file, it leaves no
/// temporary file at all, and nothing under a record's name that is not
/// the record; `--resume` finishes.
#[test]
fn restore_killed_while_writing_unnamed_files_leaves_nothing_to_clean() {
    let (env, key, archive, want) = archived_source(20);
    let out = env.p("out");
    for point in ["restore-writing-1", "restore-writing-10"] {
        let _ = fs::remove_dir_all(&out);
        let ended = env.run_killed(restore_cmd(&env, &key, &archive, &[]), Kill::AtPause(point));
        assert!(ended.killed, "{ended}");
        assert_eq!(temps_below(&out), Vec::<PathBuf>::new(), "{point}");
        let got = files(&out);
        assert!(got.len() < want.len(), "{point}: nothing was left to do");
        for (path, bytes) in &got {
            assert_eq!(Some(bytes), want.get(path), "{point}: {}", path.display());
        }
        let run = restore_cmd(&env, &key, &archive, &["--resume"]).run();
        assert!(
            !run.ok().stderr.contains("left by an interrupted restore"),
            "{run}"
        );
        assert!(files(&out) == want, "{point}: --resume did not finish");
    }
}

/// `repair` interrupted while it scans for damage, rebuilds, writes the
/// repaired copy, or just before putting it in place: the damaged archive
/// stays as it was, no temporary file is left, one line says so; the next
/// `repair` finishes.
#[test]
fn repair_interrupted_leaves_the_archive_as_it_was() {
    let (env, key) = Env::ready();
    source(&env, 5);
    let archive = env.archived(2019, "src");
    let good = fs::read(&archive).unwrap();
    let mut bad = good.clone();
    bad[8192..12288].fill(0);
    let points = [
        "repair-scan-2",
        "repair-rebuild-100",
        "repair-write-200",
        "repair-before-rename",
    ];
    for (i, point) in points.iter().enumerate() {
        fs::write(&archive, &bad).unwrap();
        let sig = Sig::alternate(i);
        let ended = interrupt(&env, env.kluis().arg("repair").arg(&archive), point, sig);
        assert_interrupted(&ended, sig, "nothing was repaired");
        assert!(
            fs::read(&archive).unwrap() == bad,
            "{point}: archive changed"
        );
        assert_eq!(temp_names(&env.p(STICK)), Vec::<String>::new(), "{point}");
    }
    env.kluis()
        .arg("repair")
        .arg(env.p(STICK))
        .run()
        .ok()
        .stdout_has("repaired 1 damaged");
    assert!(fs::read(&archive).unwrap() == good);
    env.full_verify_alone(&key, &archive);
}

/// `verify` with a key stops inside an archive (between records, and
/// inside a record's content) and between the archives of a medium;
/// nothing is changed, the catalog records no verification.
#[test]
fn verify_interrupted_inside_an_archive_and_between_archives() {
    let (env, key) = Env::ready();
    source(&env, 30);
    let archive = env.archived(2019, "src");
    fs::create_dir_all(env.p("src-2020")).unwrap();
    fs::write(env.p("src-2020/a.txt"), "2020\n").unwrap();
    env.archive(2020, &[STICK], &[], &["src-2020"]).ok();
    let medium = contents(&env.p(STICK));
    let catalog = env.catalog_bytes();
    for (point, sig, says) in [
        (
            "verify-record-5",
            Sig::Int,
            "stopped inside 2019-financial.kluis",
        ),
        (
            "verify-record-20",
            Sig::Term,
            "stopped inside 2019-financial.kluis",
        ),
    ] {
        let ended = interrupt(&env, env.verify(&key, &archive), point, sig);
        assert_interrupted(&ended, sig, says);
        assert!(ended.stderr.contains("records checked"), "{ended}");
    }
    let ended = interrupt(
        &env,
        env.verify(&key, env.p(STICK)),
        "verify-archive-2",
        Sig::Int,
    );
    assert_interrupted(&ended, Sig::Int, "checked 1 of 2 archives");
    assert!(contents(&env.p(STICK)) == medium, "the medium changed");
    assert!(env.catalog_bytes() == catalog, "the catalog changed");
    env.verify(&key, env.p(STICK)).run().ok();
}

/// `restore --salvage` of an archive cut short, interrupted (SIGINT,
/// SIGTERM): only complete files, no temporary file; `--salvage --resume`
/// finishes with what an uninterrupted salvage gives.
#[test]
fn salvage_interrupted_then_resumed() {
    let (env, key) = Env::ready();
    source(&env, 30);
    let archive = env.archived(2019, "src");
    let cut = env.damaged_copy(&archive, NEW, |b| b.truncate(b.len() - 3000));
    let whole = restore_cmd(&env, &key, &cut, &["--salvage"]).run();
    let out = env.p("out");
    let want = files(&out);
    assert!(want.len() > 20, "{whole}");
    for (i, point) in ["salvage-record-3", "salvage-record-17"].iter().enumerate() {
        fs::remove_dir_all(&out).unwrap();
        let sig = Sig::alternate(i);
        let cmd = restore_cmd(&env, &key, &cut, &["--salvage"]);
        let ended = interrupt(&env, cmd, point, sig);
        assert_interrupted(&ended, sig, "--salvage --resume");
        assert_eq!(temps_below(&out), Vec::<PathBuf>::new(), "{point}");
        let got = files(&out);
        assert!(got.len() < want.len(), "{point}: nothing was left to do");
        for (path, bytes) in &got {
            assert_eq!(Some(bytes), want.get(path), "{point}: {}", path.display());
        }
        let resumed = restore_cmd(&env, &key, &cut, &["--salvage", "--resume"]).run();
        assert_eq!(resumed.code, whole.code, "{resumed}");
        assert!(
            files(&out) == want,
            "{point}: --resume did not finish{resumed}"
        );
        assert_eq!(temps_below(&out), Vec::<PathBuf>::new(), "{point}");
    }
}

/// `rekey` interrupted while it writes the new copy: the archive stays as
/// it was, no temporary file is left, one line says so; the next `rekey`
/// finishes.
#[test]
fn rekey_interrupted_leaves_the_archive_as_it_was() {
    let (env, key) = Env::ready();
    source(&env, 5);
    let archive = env.archived(2019, "src");
    let before = fs::read(&archive).unwrap();
    let rekey = || {
        env.kluis()
            .args(["rekey", "-i"])
            .arg(&key.path)
            .arg(env.p(STICK))
    };
    let ended = interrupt(&env, rekey(), "rekey-writing", Sig::Term);
    assert_interrupted(&ended, Sig::Term, "rekeyed 0 of 1 archives");
    assert!(fs::read(&archive).unwrap() == before, "the archive changed");
    assert_eq!(temp_names(&env.p(STICK)), Vec::<String>::new());
    rekey().run().ok();
    assert!(fs::read(&archive).unwrap() != before, "not re-encrypted");
    env.full_verify_alone(&key, &archive);
}

/// `share` interrupted between records (into a new archive, or a plain
/// folder): nothing is shared, its folder is gone, the catalog records no
/// share; run again, it shares.
#[test]
fn share_interrupted_shares_nothing() {
    let (env, key) = Env::ready();
    source(&env, 20);
    let archive = env.archived(2019, "src");
    let catalog = env.catalog_bytes();
    let auditor = env.new_key("auditor.key");
    let share = |how: &[&str]| {
        env.kluis()
            .args(["share", "-i"])
            .arg(&key.path)
            .arg(&archive)
            .arg("--to")
            .arg(env.p("shared"))
            .args(how)
            .args(["--reason", "audit"])
    };
    let recipient = ["--recipient", auditor.recipient.as_str()];
    for (i, how) in [&recipient[..], &["--plain"]].into_iter().enumerate() {
        let sig = Sig::alternate(i);
        let ended = interrupt(&env, share(how), "share-record-10", sig);
        assert_interrupted(&ended, sig, "nothing was shared");
        assert!(
            !env.p("shared").exists(),
            "{how:?}: the share folder is left"
        );
        assert!(
            env.catalog_bytes() == catalog,
            "{how:?}: the catalog changed"
        );
    }
    share(&recipient).run().ok();
    assert!(env.catalog_bytes() != catalog, "the share is not recorded");
}
