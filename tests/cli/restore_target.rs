//! What restore does to the folder it restores into: it never overwrites a
//! file already there without `--force` (and then restores nothing at all),
//! and never writes through a symlink already there.

use std::fs;

use crate::common::*;

#[test]
fn restore_never_overwrites_without_force() {
    let (env, key) = Env::ready();
    let archive = env.sample_archive(invoices);
    let existing = env.p("out/records/invoices/INV-1.txt");
    write_file(&existing, b"my own edits", 0o644);

    env.restore(&key, &archive, env.p("out"))
        .run()
        .error(2, &["INV-1.txt", "refusing to overwrite"]);
    assert_eq!(fs::read(&existing).unwrap(), b"my own edits");
    assert!(
        !exists(&env.p("out/records/ledger.csv")),
        "nothing is restored when one file is in the way"
    );

    env.restore(&key, &archive, env.p("out"))
        .arg("--force")
        .run()
        .ok();
    assert_same_tree(&env.p("src"), &env.p("out/records"));
}

/// A restore folder that already holds a symlink pointing elsewhere is
/// not written through.
#[test]
fn restore_does_not_follow_a_symlink_already_in_the_target() {
    let (env, key) = Env::ready();
    let archive = env.sample_archive(one_record);
    fs::create_dir(env.p("outside")).unwrap();
    fs::create_dir(env.p("out")).unwrap();
    std::os::unix::fs::symlink(env.p("outside"), env.p("out/records")).unwrap();
    env.restore(&key, &archive, env.p("out"))
        .run()
        .code(1)
        .stdout_has("NOT restored: records/a.txt");
    assert_eq!(names(&env.p("outside")), Vec::<String>::new());
}
