//! Media `archive` writes to (issue 2): one that is not there, one the user
//! may not write to, one mounted read-only, one already holding the year's
//! archive. Each refusal is exit 2 naming the medium, and leaves the other
//! media clean and the catalog unchanged; reading never needs to write to a
//! medium.

use std::fs;
use std::os::unix::fs::PermissionsExt;

use crate::common::*;

#[test]
fn missing_medium_folder_is_refused_and_not_created() {
    let (env, _key) = Env::ready();
    write_file(&env.p("src/a.txt"), b"a", 0o644);
    fs::create_dir(env.p(STICK)).unwrap();
    env.kluis()
        .args(["archive", "--year", "2019"])
        .to(&env.p(STICK))
        .to(&env.p("not-mounted"))
        .arg(env.p("src"))
        .run()
        .error(2, &["not-mounted"]);
    assert!(
        !exists(&env.p("not-mounted")),
        "a missing medium is not made up"
    );
    assert_no_new_archive(&env.p(STICK), &[]);
}

/// A medium the user may not write to (permission denied).
#[test]
fn unwritable_medium_is_refused_and_the_other_medium_stays_clean() {
    let Some((env, _key)) = Env::unprivileged_ready() else {
        return;
    };
    write_file(&env.p("src/a.txt"), b"a", 0o644);
    env.give_away("src");
    for m in ["stick-a", "stick-b"] {
        fs::create_dir(env.p(m)).unwrap();
        env.give_away(m);
    }
    fs::set_permissions(env.p("stick-b"), fs::Permissions::from_mode(0o555)).unwrap();
    let before = env.catalog_bytes();

    env.archive(2019, &["stick-a", "stick-b"], &[], &["src"])
        .error(2, &["stick-b", "ermission denied"]);
    assert_eq!(visible_names(&env.p("stick-a")), Vec::<String>::new());
    assert_no_new_archive(&env.p("stick-a"), &[]);
    assert_eq!(names(&env.p("stick-b")), Vec::<String>::new());
    assert_eq!(env.catalog_bytes(), before);
}

/// A medium mounted read-only (EROFS): refused, the other medium clean.
#[test]
fn read_only_medium_is_refused() {
    let (env, _key) = Env::ready();
    write_file(&env.p("src/a.txt"), b"a", 0o644);
    for m in ["stick-a", "stick-b"] {
        fs::create_dir(env.p(m)).unwrap();
    }
    let ro = env.p("stick-b");
    let Some(read_only) = ReadOnly::new(&env, &ro) else {
        return;
    };
    let before = env.catalog_bytes();
    read_only
        .kluis(&env)
        .args(["archive", "--year", "2019"])
        .to(&env.p("stick-a"))
        .to(&ro)
        .arg(env.p("src"))
        .run()
        .error(2, &["stick-b", "Read-only"])
        .stderr_has("read-only");
    assert_eq!(visible_names(&env.p("stick-a")), Vec::<String>::new());
    assert_no_new_archive(&env.p("stick-a"), &[]);
    assert_eq!(names(&ro), Vec::<String>::new());
    assert_eq!(env.catalog_bytes(), before);
}

/// A write-protected medium can still be checked and restored from:
/// reading never needs to write to it.
#[test]
fn read_only_medium_can_be_verified_and_restored_from() {
    let (env, key) = Env::ready();
    let archive = env.sample_archive(invoices);
    let medium = env.p(STICK);
    let Some(read_only) = ReadOnly::new(&env, &medium) else {
        return;
    };
    let before = names(&medium);
    read_only.kluis(&env).verify_without_key(&medium).run().ok();
    read_only.kluis(&env).verify(&key, &medium).run().ok();
    read_only.kluis(&env).list(&key, &archive).run().ok();
    read_only
        .kluis(&env)
        .restore(&key, &archive, env.p("out"))
        .run()
        .ok();
    assert_same_tree(&env.p("src"), &env.p("out/records"));
    assert_eq!(names(&medium), before);
}

#[test]
fn year_and_class_already_on_the_medium_needs_supplement() {
    let (env, key) = Env::ready();
    let archive = env.sample_archive(invoices);
    let first = fs::read(&archive).unwrap();
    write_file(&env.p("late/late-invoice.txt"), b"found in a drawer", 0o644);

    env.archive(2019, &[STICK], &[], &["late"])
        .error(2, &[STICK, "2019-financial.kluis"])
        .stderr_has("--supplement");
    assert_no_new_archive(&env.p(STICK), &["2019-financial.kluis"]);
    assert_eq!(
        fs::read(&archive).unwrap(),
        first,
        "the archive is untouched"
    );

    // Another class of the same year is another archive.
    env.archive(2019, &[STICK], &["--class", "real-estate"], &["late"])
        .ok();
    env.archive(2019, &[STICK], &["--supplement"], &["late"])
        .ok()
        .stdout_has("2019-financial-2.kluis");
    assert_eq!(
        visible_names(&env.p(STICK)),
        [
            "2019-financial-2.kluis",
            "2019-financial-2.kluis.par2",
            "2019-financial-2.kluis.vol000+003.par2",
            "2019-financial.kluis",
            "2019-financial.kluis.par2",
            "2019-financial.kluis.vol000+003.par2",
            "2019-real-estate.kluis",
            "2019-real-estate.kluis.par2",
            "2019-real-estate.kluis.vol000+003.par2",
            "README.txt",
            "SHA256SUMS",
            "SHA256SUMS.minisig",
            "kluis-medium.json"
        ]
    );
    assert_eq!(fs::read(&archive).unwrap(), first);
    env.verify(&key, env.p(STICK)).run().ok();
    if let Some(sums) = sha256sum_checks(&env.p(STICK)) {
        // Three archives, each with its two parity files.
        assert_eq!(sums.stdout_text().lines().count(), 9, "{sums}");
    }
    let list = env.list(&key, env.p("stick/2019-financial-2.kluis")).run();
    list.ok();
    assert_eq!(list.stdout_text(), "records/late-invoice.txt\n");
}
