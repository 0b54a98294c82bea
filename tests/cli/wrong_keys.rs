//! Keys that do not open an archive (issue 2): another key, a wrong or
//! missing passphrase, an identity file others can read, a file that is no
//! identity at all. Each is refused naming the archive or the file, and
//! nothing is restored.

use std::fs;
use std::os::unix::fs::PermissionsExt;

use crate::common::*;

#[test]
fn wrong_key_opens_nothing_and_restores_nothing() {
    let (env, key) = Env::ready();
    let archive = env.sample_archive(invoices);
    let other = env.new_key("other.key");
    let opens_not = "none of the given identities opens this archive";
    env.list(&other, &archive)
        .run()
        .error(2, &["2019-financial.kluis", opens_not]);
    env.restore(&other, &archive, env.p("out"))
        .run()
        .error(2, &["2019-financial.kluis", opens_not]);
    assert!(!exists(&env.p("out")));
    env.verify(&other, env.p(STICK))
        .run()
        .error(2, &["2019-financial.kluis", opens_not]);

    env.key_check(&other, &archive)
        .run()
        .code(1)
        .stdout_has("2019-financial.kluis: the key does NOT open it");
    env.key_check(&key, &archive)
        .run()
        .ok()
        .stdout_has("2019-financial.kluis: the key opens it");
}

#[test]
fn wrong_passphrase_and_missing_passphrase_are_refused() {
    let (env, key) = Env::ready();
    let right = env.passphrase_file("right.txt", "het goede wachtwoord");
    let wrong = PassphraseFile(env.passphrase_file("wrong.txt", "een fout wachtwoord"));
    let archive = env.sample_archive_with(&["--passphrase-file", right], one_record);

    env.list(&wrong, &archive)
        .run()
        .error(2, &["2019-financial.kluis", "opens"]);
    env.restore(&wrong, &archive, env.p("out"))
        .run()
        .error(2, &["2019-financial.kluis"]);
    assert!(!exists(&env.p("out")));
    // A key file for a passphrase archive: say it needs the passphrase.
    env.list(&key, &archive)
        .run()
        .error(2, &["2019-financial.kluis", "passphrase"]);
    // --passphrase without a terminal: refused, not hanging.
    env.kluis()
        .args(["list", "--passphrase"])
        .arg(&archive)
        .run()
        .error(2, &["terminal"]);
}

#[test]
fn identity_readable_by_others_is_refused() {
    let (env, owner) = Env::ready();
    let archive = env.sample_archive(one_record);
    fs::set_permissions(&owner.path, fs::Permissions::from_mode(0o644)).unwrap();
    env.list(&owner, &archive)
        .run()
        .error(2, &["owner.key", "chmod 600"]);
}

#[test]
fn a_file_that_is_not_an_identity_is_refused() {
    let (env, _owner) = Env::ready();
    let archive = env.sample_archive(one_record);
    write_private(&env.p("notes.txt"), b"just some notes\n");
    env.list(&env.p("notes.txt"), &archive)
        .run()
        .error(2, &["notes.txt"]);
    env.list(&env.p("no-such.key"), &archive)
        .run()
        .error(2, &["no-such.key"]);
}
