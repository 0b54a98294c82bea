//! Sources `archive` refuses (issue 2): one that is missing, a file rather
//! than a folder, an empty folder, a folder with a file it may not read.
//! Each is exit 2 naming it, and nothing is lost or left: the source
//! untouched, no archive and no temporary file on any medium, the catalog
//! unchanged.

use std::fs;

use crate::common::*;

#[test]
fn missing_source_or_a_file_as_source_is_refused() {
    let (env, _key) = Env::ready();
    let before = env.catalog_bytes();
    env.archive(2019, &[STICK], &[], &["no-such-folder"])
        .error(2, &["no-such-folder"]);
    assert_no_new_archive(&env.p(STICK), &[]);
    write_file(&env.p("a-file.txt"), b"x", 0o644);
    env.archive(2019, &[STICK], &[], &["a-file.txt"])
        .error(2, &["a-file.txt", "not a folder"]);
    assert_no_new_archive(&env.p(STICK), &[]);
    assert_eq!(env.catalog_bytes(), before);
}

#[test]
fn empty_source_is_refused() {
    let (env, _key) = Env::ready();
    fs::create_dir(env.p("empty")).unwrap();
    env.archive(2019, &[STICK], &[], &["empty"])
        .error(2, &["empty", "nothing to archive"]);
    assert_eq!(visible_names(&env.p(STICK)), Vec::<String>::new());
    assert_no_new_archive(&env.p(STICK), &[]);
    assert_eq!(names(&env.p("empty")), Vec::<String>::new());
}

#[test]
fn unreadable_source_file_is_refused_and_leaves_nothing() {
    let Some((env, _key)) = Env::unprivileged_ready() else {
        return;
    };
    write_file(&env.p("src/readable.txt"), b"fine", 0o644);
    write_file(&env.p("src/secret.txt"), b"cannot read me", 0o000);
    env.give_away("src");
    let before = snapshot(&env.p("src"));
    let catalog_before = env.catalog_bytes();

    env.archive(2019, &["stick-a", "stick-b"], &[], &["src"])
        .error(2, &["secret.txt", "ermission denied"]);
    for m in ["stick-a", "stick-b"] {
        assert_no_new_archive(&env.p(m), &[]);
    }
    assert!(snapshot(&env.p("src")) == before, "source untouched");
    assert_eq!(env.catalog_bytes(), catalog_before);
}
