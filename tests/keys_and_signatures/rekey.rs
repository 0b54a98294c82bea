//! `kluis rekey`: the new file opens with the new recipients only, its
//! plaintext (the zstd/tar stream) byte for byte the old one; records,
//! signature and catalog follow; a key that does not open an archive
//! leaves it untouched; a full medium is refused up front; and a run
//! killed (SIGKILL) at any of its pause points is finished by the next.

use std::fs;
use std::path::Path;
use std::time::{Duration, Instant};

use crate::util::{Env, plaintext, sha256};

/// Replaces the vault's recipients.
fn set_recipients(env: &Env, recipients: &[&str]) {
    let path = env.p("vault/config.toml");
    let text = fs::read_to_string(&path).unwrap();
    let start = text.find("recipients = [").unwrap();
    let end = start + text[start..].find(']').unwrap() + 1;
    let list = recipients
        .iter()
        .map(|r| format!("{r:?}"))
        .collect::<Vec<_>>()
        .join(", ");
    let text = format!("{}recipients = [{list}]{}", &text[..start], &text[end..]);
    fs::write(&path, text).unwrap();
}

fn opens(env: &Env, key: &str, archive: &str) -> bool {
    env.run(&["key", "check", "-i", key, archive]).code() == 0
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
    let env = Env::new();
    let a = env.key("a.key");
    let b = env.key("b.key");
    env.init(&[&a]);
    env.archive(&["stick-a", "stick-b"]);
    let archive = "stick-a/2019-financial.kluis";
    let before = plaintext(&env.p(archive), &env.p("a.key"));
    let old_sha = sha256(&env.p(archive));

    set_recipients(&env, &[&b]);
    // A key that does not open it: nothing is touched.
    env.run(&["rekey", "-i", "b.key", "stick-a"])
        .expect(2)
        .says("2019-financial.kluis");
    assert_eq!(sha256(&env.p(archive)), old_sha);

    env.run(&["rekey", "-i", "a.key", "stick-a"])
        .ok()
        .says("does not take access away");
    assert!(!opens(&env, "a.key", archive));
    assert!(opens(&env, "b.key", archive));
    assert_eq!(plaintext(&env.p(archive), &env.p("b.key")), before);
    assert!(leftovers(&env.p("stick-a")).is_empty());
    env.run(&["verify", "-i", "b.key", "stick-a"])
        .ok()
        .says("signed by the organisation's key");
    env.sh("cd stick-a && sha256sum -c --quiet SHA256SUMS").ok();
    // The copy not yet re-encrypted is named for what it is.
    env.run(&["verify", "stick-b"])
        .expect(1)
        .says("an older encryption of this archive");
    env.run(&["rekey", "-i", "a.key", "stick-b"]).ok();
    env.run(&["verify", "stick-b"]).ok();
    env.run(&["status"]).ok();
}

/// Every pause point of a rekey, in order.
const POINTS: [&str; 11] = [
    "rekey-started",
    "rekey-writing",
    "rekey-read-back",
    "rekey-written",
    "rekey-journal-written",
    "rekey-old-moved",
    "rekey-new-installed",
    "rekey-medium-updated",
    "rekey-recorded",
    "rekey-old-wiped",
    "rekey-done",
];

#[test]
fn rekey_killed_at_every_pause_point_is_finished_by_the_next_run() {
    let env = Env::new();
    let a = env.key("a.key");
    let b = env.key("b.key");
    env.init(&[&a]);
    env.archive(&["stick-a"]);
    let archive = env.p("stick-a/2019-financial.kluis");
    let before = plaintext(&archive, &env.p("a.key"));
    let mut current = a.clone();
    for (round, point) in POINTS.iter().enumerate() {
        let (next, next_key, old_key) = if current == a {
            (b.clone(), "b.key", "a.key")
        } else {
            (a.clone(), "a.key", "b.key")
        };
        set_recipients(&env, &[&next]);
        let marker = env.p(format!("paused-{round}"));
        let mut child = env
            .cmd()
            .args(["rekey", "-q", "-i", "a.key", "-i", "b.key", "stick-a"])
            .env("KLUIS_TEST_PAUSE_AT", point)
            .env("KLUIS_TEST_PAUSE_MARKER", &marker)
            .env("KLUIS_TEST_PAUSE_SECS", "60")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let started = Instant::now();
        while !marker.exists() {
            if let Some(status) = child.try_wait().unwrap() {
                panic!("{point}: rekey ended ({status}) before its pause point");
            }
            assert!(
                started.elapsed() < Duration::from_secs(120),
                "{point}: never paused"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();

        let again = env.run(&["rekey", "-i", "a.key", "-i", "b.key", "stick-a"]);
        again.ok();
        assert!(
            leftovers(&env.p("stick-a")).is_empty(),
            "{point}: {:?}",
            leftovers(&env.p("stick-a"))
        );
        assert!(
            opens(&env, next_key, "stick-a/2019-financial.kluis"),
            "{point}"
        );
        assert!(
            !opens(&env, old_key, "stick-a/2019-financial.kluis"),
            "{point}"
        );
        assert_eq!(plaintext(&archive, &env.p(next_key)), before, "{point}");
        env.run(&["verify", "-i", next_key, "stick-a"]).ok();
        current = next;
    }
}

/// A small tmpfs mounted for a test (root only), unmounted on drop.
struct Tmpfs(std::path::PathBuf);

impl Tmpfs {
    fn mount(dir: &Path, size: &str) -> Option<Tmpfs> {
        fs::create_dir_all(dir).unwrap();
        let ok = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir)
            .status()
            .is_ok_and(|s| s.success());
        ok.then(|| Tmpfs(dir.into()))
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount").arg(&self.0).status();
    }
}

#[test]
fn rekey_on_a_full_medium_changes_nothing() {
    let env = Env::new();
    let Some(_stick) = Tmpfs::mount(&env.p("stick-a"), "6m") else {
        eprintln!("not root: no tmpfs for the full-medium case");
        return;
    };
    let a = env.key("a.key");
    let b = env.key("b.key");
    env.init(&[&a]);
    let root = env.records();
    // 3.5 MB that does not compress: the archive fills more than half.
    let mut x = 0x1234_5678_9abc_def0u64;
    let noise: Vec<u8> = (0..3_500_000)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect();
    fs::write(root.join("scan.bin"), noise).unwrap();
    env.run(&[
        "archive",
        "--year",
        "2019",
        "--to",
        "stick-a",
        "records-2019",
    ])
    .ok();
    let old = sha256(&env.p("stick-a/2019-financial.kluis"));
    set_recipients(&env, &[&b]);
    env.run(&["rekey", "-i", "a.key", "stick-a"])
        .expect(2)
        .says("ran out of space");
    assert_eq!(sha256(&env.p("stick-a/2019-financial.kluis")), old);
    assert!(leftovers(&env.p("stick-a")).is_empty());
    env.run(&["verify", "-i", "a.key", "stick-a"]).ok();
}
