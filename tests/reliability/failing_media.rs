//! Full, read-only and vanishing media (issue 6, item 2), on real
//! filesystems: a small tmpfs mounted for the test (as root; skipped with a
//! message elsewhere) and a medium folder deleted while kluis writes to it.
//! Each must fail with exit 2 and one error line naming the medium, leave
//! nothing on it that looks like an archive, and change neither the catalog
//! nor the source.

use std::fs;
use std::path::Path;
use std::time::Duration;

use crate::common::*;

/// `kluis archive --year YEAR --to MEDIUM SOURCE`.
fn archive(env: &Env, year: i32, medium: &Path, source: &Path) -> Cmd {
    env.kluis()
        .args(["archive", "--year", &year.to_string()])
        .to(medium)
        .arg(source)
}

#[test]
fn full_and_read_only_media_fail_cleanly() {
    let (env, _key) = Env::ready();
    let src = env.p("src");
    make_source(&src, 20, 16 << 10, &[10 << 20, 10 << 20, 10 << 20]);
    let src_hashes = hash_tree(&src);
    let catalog = env.catalog_bytes();
    // Declared after `env`: unmounted before the test folder is removed.
    let Some(stick) = Mount::tmpfs(&env.p("stick"), "8m") else {
        return;
    };
    let Some(tiny) = Mount::tmpfs(&env.p("tiny-stick"), "1m") else {
        return;
    };
    let stick_name = stick.dir.to_str().unwrap();

    // Runs out of space half-way: 30 MB of incompressible records, 8 MB.
    let run = archive(&env, 2019, &stick.dir, &src).arg("-q").run();
    run.error(2, &[stick_name]);
    assert!(
        run.stderr.contains("ran out of space") || run.stderr.contains("No space left"),
        "the error should say the medium is full{run}"
    );
    assert_no_new_archive(&stick.dir, &[]);
    assert_eq!(
        names(&stick.dir),
        [".kluis.lock"],
        "a failed archive leaves only the lock file"
    );
    let free = fs::read_dir(&stick.dir).unwrap().count();
    assert_eq!(free, 1);

    // Far too small: refused before anything is written, with the sizes.
    let run = archive(&env, 2019, &tiny.dir, &src).arg("-q").run();
    run.error(2, &[tiny.dir.to_str().unwrap(), "bytes needed"]);
    assert_no_new_archive(&tiny.dir, &[]);

    // Read-only.
    assert!(stick.remount_read_only(), "remount read-only");
    let run = archive(&env, 2019, &stick.dir, &src).arg("-q").run();
    run.error(2, &[stick_name]);
    assert!(
        run.stderr.to_lowercase().contains("read-only"),
        "the error or hint should say the medium is read-only{run}"
    );
    assert_eq!(names(&stick.dir), [".kluis.lock"]);

    assert_eq!(env.catalog_bytes(), catalog, "the catalog changed");
    assert_eq!(hash_tree(&src), src_hashes, "the source changed");
    eprintln!(
        "full medium (30 MB onto 8 MB tmpfs): exit 2, medium named, nothing left; 1 MB tmpfs refused up front; read-only remount: exit 2"
    );
}

/// Starts an archive to `medium` and deletes the folder once the archive's
/// temporary copy holds a few MB (and, with `recreate`, makes an empty
/// folder of the same name at once, as a swapped stick would). Whether the
/// deletion came before kluis finished.
fn remove_mid_write(env: &Env, year: i32, medium: &Path, source: &Path, recreate: bool) -> bool {
    fs::create_dir_all(medium).unwrap();
    let mut p = archive(env, year, medium, source).spawn();
    let started = wait_for(Duration::from_secs(20), || {
        temp_names(medium)
            .first()
            .and_then(|t| fs::metadata(medium.join(t)).ok())
            .is_some_and(|m| m.len() > 4 << 20)
            || !p.running()
    });
    assert!(started, "no temporary copy appeared");
    let hit = p.running();
    while exists(medium) {
        let _ = fs::remove_dir_all(medium);
    }
    if recreate {
        fs::create_dir(medium).unwrap();
    }
    let ended = p.wait();
    let hit = hit && ended.code != Some(0);
    if hit {
        let first = ended.stderr.lines().next().unwrap_or("");
        assert_eq!(ended.code, Some(2), "{ended}");
        assert!(
            first.starts_with("error: ") && first.contains(medium.to_str().unwrap()),
            "the error should name the medium{ended}"
        );
        if recreate {
            assert_eq!(
                names(medium),
                Vec::<String>::new(),
                "the new folder must stay empty{ended}"
            );
        }
    }
    hit
}

#[test]
fn a_medium_folder_removed_mid_write_fails_cleanly() {
    let (env, _key) = Env::ready();
    let src = env.p("src");
    make_source(&src, 20, 16 << 10, &[12 << 20, 12 << 20]);
    let mut report = Vec::new();
    for recreate in [false, true] {
        let mut hit = false;
        for attempt in 0..3 {
            let catalog = env.catalog_bytes();
            let year = 2010 + attempt + if recreate { 5 } else { 0 };
            let medium = env.p(format!("stick-{recreate}-{attempt}"));
            if remove_mid_write(&env, year, &medium, &src, recreate) {
                hit = true;
                report.push(format!(
                    "{}: hit on attempt {}",
                    if recreate {
                        "removed and recreated"
                    } else {
                        "removed"
                    },
                    attempt + 1
                ));
                assert_eq!(
                    env.catalog_bytes(),
                    catalog,
                    "a failed archive changed the catalog"
                );
                break;
            }
            // kluis finished first: a larger source next time.
            random_file(&src.join(format!("more-{attempt}.bin")), 24 << 20);
        }
        assert!(hit, "the folder was never removed while kluis was writing");
    }
    eprintln!(
        "vanishing medium: {}; each exit 2 naming the medium",
        report.join(", ")
    );
}
