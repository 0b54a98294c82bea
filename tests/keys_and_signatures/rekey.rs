//! `kluis rekey`: the new file opens with the new recipients only, its
//! plaintext (the zstd/tar stream) byte for byte the old one; records,
//! signature and catalog follow; a key that does not open an archive
//! leaves it untouched; a full medium is refused up front; an archive's
//! parity files are made again for the new file (stock `par2` and
//! `sha256sum` accept them, `kluis repair` repairs with them), one without
//! stays without; and a run killed (SIGKILL) at any of its pause points is
//! finished by the next, never leaving parity that does not match.

use std::fs;
use std::path::Path;

use crate::common::*;

/// Replaces the vault's recipients.
fn set_recipients(env: &Env, recipients: &[&Key]) {
    let list = recipients
        .iter()
        .map(|k| format!("{:?}", k.recipient))
        .collect::<Vec<_>>()
        .join(", ");
    env.edit_config(|text| {
        let start = text.find("recipients = [").unwrap();
        let end = start + text[start..].find(']').unwrap() + 1;
        format!("{}recipients = [{list}]{}", &text[..start], &text[end..])
    });
}

fn opens(env: &Env, key: &Key, archive: &str) -> bool {
    env.key_check(key, archive).run().code == Some(0)
}

/// A test folder with two keys, `a.key` and `b.key`, and a vault
/// encrypting to `a.key`.
fn two_keys() -> (Env, Key, Key) {
    let env = Env::new();
    let (a, b) = (env.new_key("a.key"), env.new_key("b.key"));
    env.init(&[&a]);
    (env, a, b)
}

/// Hidden leftovers of an interrupted run.
fn leftovers(dir: &Path) -> Vec<String> {
    fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains(".tmp-"))
        .collect()
}

#[test]
fn rekey_moves_an_archive_to_new_recipients_without_changing_its_content() {
    let (env, a, b) = two_keys();
    env.archive_2019(&["stick-a", "stick-b"]);
    let archive = "stick-a/2019-financial.kluis";
    let before = a.decrypt(&env.p(archive));
    let old_sha = file_sha256(&env.p(archive));

    set_recipients(&env, &[&b]);
    // A key that does not open it: nothing is touched.
    env.run(["rekey", "-i", "b.key", "stick-a"])
        .code(2)
        .says("2019-financial.kluis");
    assert_eq!(file_sha256(&env.p(archive)), old_sha);

    env.run(["rekey", "-i", "a.key", "stick-a"])
        .ok()
        .says("does not take access away");
    assert!(!opens(&env, &a, archive));
    assert!(opens(&env, &b, archive));
    assert_eq!(b.decrypt(&env.p(archive)), before);
    assert!(leftovers(&env.p("stick-a")).is_empty());
    env.run(["verify", "-i", "b.key", "stick-a"])
        .ok()
        .says("signed by the organisation's key");
    bash(env.root(), "cd stick-a && sha256sum -c --quiet SHA256SUMS").ok();
    // The copy not yet re-encrypted is named for what it is.
    env.run(["verify", "stick-b"])
        .code(1)
        .says("an older encryption of this archive");
    env.run(["rekey", "-i", "a.key", "stick-b"]).ok();
    env.run(["verify", "stick-b"]).ok();
    env.run(["status"]).ok();
}

/// Stock `par2 verify` of `file`'s parity set in `medium` (par2 must be
/// installed: scripts/test.sh installs it).
fn par2_verifies(env: &Env, medium: &str, file: &str) -> bool {
    assert!(have_tool("par2"), "the stock par2 program is missing");
    bash(&env.p(medium), &format!("par2 verify -q {file}.par2")).code == Some(0)
}

#[test]
fn rekey_makes_new_parity_for_an_archive_that_had_it() {
    let (env, _, b) = two_keys();
    env.archive_2019(&["stick-a"]);
    fs::create_dir_all(env.p("records-2020")).unwrap();
    fs::write(env.p("records-2020/a.txt"), "jaarrekening 2020\n").unwrap();
    env.archive(2020, &["stick-a"], &["--parity", "0"], &["records-2020"])
        .ok();
    let (y2019, y2020) = ("2019-financial.kluis", "2020-financial.kluis");
    assert!(par2_verifies(&env, "stick-a", y2019));
    let old_sums = env.medium_sums("stick-a");

    set_recipients(&env, &[&b]);
    env.run(["rekey", "-i", "a.key", "stick-a"]).ok();
    assert!(opens(&env, &b, &format!("stick-a/{y2019}")));
    assert!(leftovers(&env.p("stick-a")).is_empty());
    // The new set describes the new ciphertext; SHA256SUMS lists it.
    assert!(par2_verifies(&env, "stick-a", y2019));
    let sums = env.medium_sums("stick-a");
    assert!(sums.contains(&format!("  {y2019}.par2\n")), "{sums}");
    assert_ne!(sums, old_sums);
    sha256sum_checks(&env.p("stick-a"));
    // Written with --parity 0, it stays without.
    assert!(!sums.contains(&format!("{y2020}.")), "{sums}");
    assert!(!fs::read_dir(env.p("stick-a")).unwrap().any(|e| {
        e.unwrap()
            .file_name()
            .to_string_lossy()
            .starts_with(&format!("{y2020}."))
    }));

    // A flipped byte in the rekeyed archive: repaired from the new set.
    let archive = env.p(format!("stick-a/{y2019}"));
    let good = fs::read(&archive).unwrap();
    let mut bad = good.clone();
    let at = bad.len() / 2;
    bad[at] ^= 0x10;
    fs::write(&archive, &bad).unwrap();
    env.kluis()
        .arg("repair")
        .arg(&archive)
        .run()
        .ok()
        .stdout_has("repaired");
    assert_eq!(fs::read(&archive).unwrap(), good);
    env.verify(&b, "stick-a").run().ok();
}

/// Every pause point of a rekey, in order.
const POINTS: [&str; 14] = [
    "rekey-started",
    "rekey-writing",
    "rekey-read-back",
    "rekey-written",
    "rekey-journal-written",
    "rekey-parity-staged",
    "rekey-old-parity-removed",
    "rekey-old-moved",
    "rekey-new-installed",
    "rekey-parity-installed",
    "rekey-medium-updated",
    "rekey-recorded",
    "rekey-old-wiped",
    "rekey-done",
];

#[test]
fn rekey_killed_at_every_pause_point_is_finished_by_the_next_run() {
    let (env, a, b) = two_keys();
    env.archive_2019(&["stick-a"]);
    let archive = env.p("stick-a/2019-financial.kluis");
    let before = a.decrypt(&archive);
    for (round, point) in POINTS.iter().enumerate() {
        // Back and forth: to b, to a, to b, …
        let (next, old) = if round % 2 == 0 { (&b, &a) } else { (&a, &b) };
        set_recipients(&env, &[next]);
        let marker = env.p(format!("paused-{round}"));
        env.kluis()
            .args(["rekey", "-q", "-i", "a.key", "-i", "b.key", "stick-a"])
            .spawn_paused(point, &marker, 60)
            .kill();
        // Killed anywhere, the parity files in place match the file in
        // place, or there are none.
        if env.p("stick-a/2019-financial.kluis.par2").exists() {
            assert!(
                par2_verifies(&env, "stick-a", "2019-financial.kluis"),
                "killed at {point}"
            );
        }

        let again = env.run(["rekey", "-i", "a.key", "-i", "b.key", "stick-a"]);
        again.ok();
        assert!(
            leftovers(&env.p("stick-a")).is_empty(),
            "{point}: {:?}",
            leftovers(&env.p("stick-a"))
        );
        assert!(opens(&env, next, "stick-a/2019-financial.kluis"), "{point}");
        assert!(!opens(&env, old, "stick-a/2019-financial.kluis"), "{point}");
        assert_eq!(next.decrypt(&archive), before, "{point}");
        env.verify(next, "stick-a").run().ok();
        assert!(
            par2_verifies(&env, "stick-a", "2019-financial.kluis"),
            "{point}"
        );
        sha256sum_checks(&env.p("stick-a"));
    }
}

/// A tmpfs of `size` as stick-a, holding the 2019 archive of the sample
/// records and `scan` bytes that do not compress; the mount and the
/// archive's SHA-256 (None where tmpfs cannot be mounted).
fn small_stick(env: &Env, size: &str, scan: usize) -> Option<(Mount, String)> {
    let stick = Mount::tmpfs(&env.p("stick-a"), size)?;
    let root = env.p(RECORDS_2019);
    records_2019(&root);
    fs::write(root.join("scan.bin"), Rng::new(scan as u64).bytes(scan)).unwrap();
    env.archive(2019, &["stick-a"], &[], &[RECORDS_2019]).ok();
    Some((stick, file_sha256(&env.p("stick-a/2019-financial.kluis"))))
}

#[test]
fn rekey_on_a_full_medium_changes_nothing() {
    let (env, a, b) = two_keys();
    // 3.5 MB that does not compress: the archive fills more than half.
    let Some((_stick, old)) = small_stick(&env, "6m", 3_500_000) else {
        return;
    };
    set_recipients(&env, &[&b]);
    env.run(["rekey", "-i", "a.key", "stick-a"])
        .code(2)
        .says("ran out of space");
    assert_eq!(file_sha256(&env.p("stick-a/2019-financial.kluis")), old);
    assert!(leftovers(&env.p("stick-a")).is_empty());
    env.verify(&a, "stick-a").run().ok();
}

/// The new parity set is made beside the old one before the swap: a
/// medium with room for the new copy but not for its parity set is refused
/// before anything is written.
#[test]
fn rekey_counts_the_new_parity_set_in_the_room_it_needs() {
    let (env, a, b) = two_keys();
    let Some((_stick, old)) = small_stick(&env, "8m", 3_000_000) else {
        return;
    };
    // The new set: as many recovery slices as the archive has slices.
    env.edit_config(|text| {
        let table = text.find("[parity]").expect("a [parity] table");
        let at = table + text[table..].find("percent = ").unwrap();
        let end = at + text[at..].find('\n').unwrap();
        format!("{}percent = 100{}", &text[..at], &text[end..])
    });
    set_recipients(&env, &[&b]);
    let names = || -> Vec<_> {
        fs::read_dir(env.p("stick-a"))
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect()
    };
    let before = names();
    env.run(["rekey", "-i", "a.key", "stick-a"])
        .code(2)
        .says("ran out of space");
    assert_eq!(names(), before, "nothing written, nothing left behind");
    assert_eq!(file_sha256(&env.p("stick-a/2019-financial.kluis")), old);
    env.verify(&a, "stick-a").run().ok();
}

#[test]
fn rekey_moves_the_vaults_subject_hashes_to_the_new_key() {
    let (env, _, b) = two_keys();
    fs::create_dir_all(env.p("mail")).unwrap();
    fs::write(
        env.p("mail/vraag.eml"),
        "From: Jan <jan@example.nl>\nTo: shop@example.nl\n\nhoi\n",
    )
    .unwrap();
    env.archive(2019, &["stick-a"], &[], &["mail"]).ok();
    let says = |key: &str| {
        let run = env.run([
            "subject",
            "find",
            "-i",
            key,
            "--email",
            "jan@example.nl",
            "--no-media",
            "--json",
        ]);
        (run.code, run.json()["archives"][0]["vault"]["says"].clone())
    };
    assert_eq!(says("a.key"), (Some(1), "holds".into()));
    set_recipients(&env, &[&b]);
    env.run(["rekey", "-i", "a.key", "stick-a"]).ok();
    // The new key opens the hashes; the old one no longer does.
    assert_eq!(says("b.key"), (Some(1), "holds".into()));
    env.run([
        "subject",
        "find",
        "-i",
        "a.key",
        "--email",
        "jan@example.nl",
        "--no-media",
    ])
    .code(2)
    .says("none of the given identities");
}
