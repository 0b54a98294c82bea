//! Making keys and checking them: `kluis key new` writes a private identity
//! (never over an existing file) or prints one that works, and `kluis key
//! check` says which archives a key opens. (Keys that do not open an
//! archive: `wrong_keys.rs`.)

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
    write_private(&key, identity.as_bytes());
    let archive = env.sample_archive_with(&["-r", &recipient], one_record);
    env.list(&key, &archive)
        .run()
        .ok()
        .stdout_has("records/a.txt");
}

#[test]
fn key_check_says_which_archives_a_key_opens() {
    let (env, owner) = Env::ready();
    let accountant = env.new_key("accountant.key");
    write_file(&env.p("src/a.txt"), b"a", 0o644);
    let a19 = env.archived(2019, "src");
    let a20 = env.archived_with(2020, &["-r", &accountant.recipient], "src");

    env.key_check(&owner, &a19)
        .arg(&a20)
        .run()
        .ok()
        .stdout_has("2019-financial.kluis: the key opens it")
        .stdout_has("2020-financial.kluis: the key opens it");

    let run = env
        .key_check(&accountant, &a19)
        .arg(&a20)
        .arg("--json")
        .run();
    run.code(1);
    let lines = run.json_lines();
    assert_eq!(lines.len(), 2, "{run}");
    assert_eq!(lines[0]["opens"], false, "{run}");
    assert_eq!(lines[1]["opens"], true, "{run}");
}
