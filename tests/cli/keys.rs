//! `kluis key new` and `kluis key check`.

use std::fs;
use std::os::unix::fs::PermissionsExt;

use crate::common::*;

#[test]
fn key_new_writes_a_private_identity_and_prints_its_recipient() {
    let env = Env::new();
    let path = env.p("owner.key");
    let run = env.kluis().args(["key", "new", "-o"]).arg(&path).run();
    run.ok().stderr_has("owner.key");
    let out = run.stdout_text();
    assert_eq!(out.lines().count(), 1, "only the recipient on stdout{run}");
    let recipient = out.trim();
    assert!(
        recipient.starts_with("age1") && recipient.len() == 62,
        "{run}"
    );
    let meta = fs::metadata(&path).unwrap();
    assert_eq!(meta.permissions().mode() & 0o777, 0o600);
    let text = fs::read_to_string(&path).unwrap();
    assert!(
        text.contains(&format!("# public key: {recipient}")),
        "{text}"
    );
    assert_eq!(
        text.lines()
            .filter(|l| l.starts_with("AGE-SECRET-KEY-1"))
            .count(),
        1,
        "{text}"
    );

    // Never overwritten.
    env.kluis()
        .args(["key", "new", "-o"])
        .arg(&path)
        .run()
        .error(2, &["owner.key", "refusing to overwrite"]);
    assert_eq!(fs::read_to_string(&path).unwrap(), text);
}

#[test]
fn key_new_without_output_prints_a_working_identity() {
    let (env, _owner) = Env::ready();
    let run = env.run(["key", "new"]);
    run.ok();
    let identity = run.stdout_text();
    assert!(
        identity
            .lines()
            .any(|l| l.starts_with("AGE-SECRET-KEY-1") && l.len() == 74),
        "{run}"
    );
    let recipient = run
        .stderr
        .split_whitespace()
        .find(|w| w.starts_with("age1"))
        .unwrap_or_else(|| panic!("the recipient is named on stderr{run}"))
        .to_owned();

    // The printed identity opens what is encrypted to its recipient.
    let key = env.p("printed.key");
    fs::write(&key, &identity).unwrap();
    fs::set_permissions(&key, fs::Permissions::from_mode(0o600)).unwrap();
    write_file(&env.p("src/a.txt"), b"a", 0o644);
    env.archive(2019, &["stick"], &["-r", &recipient], &["src"])
        .ok();
    env.kluis()
        .args(["list", "-i"])
        .arg(&key)
        .arg(env.p("stick/2019-financial.kluis"))
        .run()
        .ok()
        .stdout_has("records/a.txt");
}

#[test]
fn key_check_says_which_archives_a_key_opens() {
    let (env, owner) = Env::ready();
    let accountant = env.new_key("accountant.key");
    write_file(&env.p("src/a.txt"), b"a", 0o644);
    env.archive(2019, &["stick"], &[], &["src"]).ok();
    env.archive(2020, &["stick"], &["-r", &accountant.recipient], &["src"])
        .ok();
    let (a19, a20) = (
        env.p("stick/2019-financial.kluis"),
        env.p("stick/2020-financial.kluis"),
    );

    env.kluis()
        .args(["key", "check", "-i"])
        .arg(&owner.path)
        .arg(&a19)
        .arg(&a20)
        .run()
        .ok()
        .stdout_has("2019-financial.kluis: the key opens it")
        .stdout_has("2020-financial.kluis: the key opens it");

    let run = env
        .kluis()
        .args(["key", "check", "--json", "-i"])
        .arg(&accountant.path)
        .arg(&a19)
        .arg(&a20)
        .run();
    run.code(1);
    let lines: Vec<serde_json::Value> = run
        .stdout_text()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2, "{run}");
    assert_eq!(lines[0]["opens"], false, "{run}");
    assert_eq!(lines[1]["opens"], true, "{run}");
}

#[test]
fn identity_readable_by_others_is_refused() {
    let (env, owner) = Env::ready();
    write_file(&env.p("src/a.txt"), b"a", 0o644);
    env.archive(2019, &["stick"], &[], &["src"]).ok();
    fs::set_permissions(&owner.path, fs::Permissions::from_mode(0o644)).unwrap();
    env.kluis()
        .args(["list", "-i"])
        .arg(&owner.path)
        .arg(env.p("stick/2019-financial.kluis"))
        .run()
        .error(2, &["owner.key", "chmod 600"]);
}

#[test]
fn a_file_that_is_not_an_identity_is_refused() {
    let (env, _owner) = Env::ready();
    write_file(&env.p("src/a.txt"), b"a", 0o644);
    env.archive(2019, &["stick"], &[], &["src"]).ok();
    write_file(&env.p("notes.txt"), b"just some notes\n", 0o600);
    env.kluis()
        .args(["list", "-i"])
        .arg(env.p("notes.txt"))
        .arg(env.p("stick/2019-financial.kluis"))
        .run()
        .error(2, &["notes.txt"]);
    env.kluis()
        .args(["list", "-i"])
        .arg(env.p("no-such.key"))
        .arg(env.p("stick/2019-financial.kluis"))
        .run()
        .error(2, &["no-such.key"]);
}
