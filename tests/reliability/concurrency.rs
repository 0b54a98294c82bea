//! Two kluis processes at once (issue 6, item 7): on one vault, the second
//! is refused with "another kluis process is using it" (exit 2) or runs
//! after the first; on one medium from two vaults, likewise. Never a lost
//! or corrupted catalog, medium index or `SHA256SUMS`.

use std::fs;
use std::path::Path;
use std::time::Duration;

use crate::common::*;

const LOCKED: &str = "another kluis process is using it";

/// `kluis archive --year YEAR --to MEDIUM SOURCE` on the test folder's
/// vault (add `.vault(…)` for another).
fn archive(env: &Env, year: i32, medium: &Path, source: &Path) -> Cmd {
    env.kluis()
        .args(["archive", "--year", &year.to_string()])
        .to(medium)
        .arg(source)
}

/// Starts `archive` (to `medium`) and returns once it writes its temporary
/// copy (so it holds the vault's and the medium's locks).
fn start_writing(archive: Cmd, medium: &Path) -> Spawned {
    fs::create_dir_all(medium).unwrap();
    let mut p = archive.spawn();
    let writing = wait_for(Duration::from_secs(20), || {
        !temp_names(medium).is_empty() || !p.running()
    });
    assert!(
        writing && p.running(),
        "the first archive never started writing"
    );
    p
}

/// Files in the catalog.
fn catalog_files(vault: &Path) -> Vec<String> {
    catalogued(&parse_json(&vault.join("catalog.json")))
        .into_keys()
        .collect()
}

/// The medium is consistent: every `*.kluis` is in its index with its real
/// hash, and `SHA256SUMS` lists exactly the index's archives and their parity
/// files.
#[track_caller]
fn medium_consistent(m: &Path) {
    let index = parse_json(&m.join(INDEX));
    let listed = indexed(&index);
    let on_disk: Vec<String> = visible_names(m)
        .into_iter()
        .filter(|n| n.ends_with(".kluis"))
        .collect();
    assert_eq!(
        listed.keys().cloned().collect::<Vec<_>>(),
        on_disk,
        "the medium index and the folder disagree: {index}"
    );
    for (f, (sha, _)) in &listed {
        assert_eq!(&file_sha256(&m.join(f)), sha, "{f}");
    }
    let mut sums = parse_sums(&fs::read(m.join(SUMS)).unwrap());
    sums.sort();
    let mut expected: Vec<(String, String)> = listed
        .iter()
        .map(|(f, (sha, _))| (f.clone(), sha.clone()))
        .collect();
    // Each archive's parity files too.
    for a in index["archives"].as_array().unwrap() {
        for p in a["parity"].as_array().into_iter().flatten() {
            let f = p["file"].as_str().unwrap().to_owned();
            expected.push((f, p["sha256"].as_str().unwrap().to_owned()));
        }
    }
    expected.sort();
    assert_eq!(sums, expected, "SHA256SUMS and the medium index disagree");
}

#[test]
fn two_archives_on_one_vault_take_turns() {
    let (env, _key) = Env::ready();
    let big = env.p("big");
    make_source(&big, 0, 0, &[24 << 20]);
    for year in 2020..2030 {
        write_file(
            &env.p(format!("s{year}/a.txt")),
            year.to_string().as_bytes(),
            0o644,
        );
    }

    // The second starts while the first writes: refused, nothing written.
    let p1 = start_writing(archive(&env, 2019, &env.p("m1"), &big), &env.p("m1"));
    fs::create_dir_all(env.p("m2")).unwrap();
    let second = archive(&env, 2020, &env.p("m2"), &env.p("s2020")).run();
    let first = p1.wait();
    assert_eq!(first.code, Some(0), "{first}");
    second.error(2, &[LOCKED, env.vault().to_str().unwrap()]);
    assert_eq!(names(&env.p("m2")), Vec::<String>::new());
    assert_eq!(catalog_files(&env.vault()), ["2019-financial.kluis"]);
    archive(&env, 2020, &env.p("m2"), &env.p("s2020"))
        .run()
        .ok();
    let mut expected = vec![
        "2019-financial.kluis".to_owned(),
        "2020-financial.kluis".into(),
    ];
    assert_eq!(catalog_files(&env.vault()), expected);

    // Started together: each succeeds or is refused; every success is in
    // the catalog, nothing else.
    let (mut both, mut refused) = (0, 0);
    for round in 0..4 {
        let years = [2021 + 2 * round, 2022 + 2 * round];
        let procs: Vec<Spawned> = years
            .iter()
            .map(|&y| {
                let m = env.p(format!("m{y}"));
                fs::create_dir_all(&m).unwrap();
                archive(&env, y, &m, &env.p(format!("s{y}"))).spawn()
            })
            .collect();
        let ends: Vec<Ended> = procs.into_iter().map(Spawned::wait).collect();
        let mut ok = 0;
        for (y, e) in years.iter().zip(&ends) {
            match e.code {
                Some(0) => {
                    ok += 1;
                    expected.push(format!("{y}-financial.kluis"));
                }
                Some(2) if e.stderr.contains(LOCKED) => refused += 1,
                _ => panic!("{y}: neither done nor refused for the lock{e}"),
            }
        }
        assert!(ok >= 1, "both were refused");
        both += usize::from(ok == 2);
        expected.sort();
        assert_eq!(catalog_files(&env.vault()), expected, "round {round}");
    }
    eprintln!(
        "one vault: second archive during the first refused ({LOCKED}); started together 4 times: both done {both}, one refused {refused}; catalog always held exactly the successes"
    );
}

#[test]
fn two_vaults_on_one_medium_take_turns() {
    let (env, key) = Env::ready();
    let vault_b = env.other_vault("vault-b", "Andere B.V.", &[&key]);
    let big = env.p("big");
    make_source(&big, 0, 0, &[24 << 20]);
    write_file(&env.p("small/a.txt"), b"b", 0o644);
    let shared = env.p("shared");

    let p1 = start_writing(archive(&env, 2019, &shared, &big), &shared);
    let second = archive(&env, 2020, &shared, &env.p("small"))
        .vault(&vault_b)
        .run();
    let first = p1.wait();
    assert_eq!(first.code, Some(0), "{first}");
    second.error(2, &[LOCKED, shared.to_str().unwrap()]);
    assert_eq!(catalog_files(&vault_b), Vec::<String>::new());
    medium_consistent(&shared);
    assert_eq!(
        indexed(&parse_json(&shared.join(INDEX)))
            .into_keys()
            .collect::<Vec<_>>(),
        ["2019-financial.kluis"]
    );
    archive(&env, 2020, &shared, &env.p("small"))
        .vault(&vault_b)
        .run()
        .ok();
    medium_consistent(&shared);
    env.kluis()
        .vault(&env.p("no-vault"))
        .verify_without_key(&shared)
        .run()
        .ok();
    eprintln!(
        "two vaults, one medium: the second archive was refused ({LOCKED}), index and SHA256SUMS stayed consistent"
    );
}

/// Vault B destroys its 2015 archive on a medium while vault A is writing
/// its 2019 archive to the same medium (held at its `copies-verified` pause
/// point, after it read the medium index and before it rewrites it).
#[test]
fn destroy_on_a_medium_another_vault_is_writing_to() {
    let (env, key) = Env::ready();
    let vault_b = env.other_vault("vault-b", "Andere B.V.", &[&key]);
    write_file(&env.p("old/a.txt"), b"2015", 0o644);
    let shared = env.p("shared");
    fs::create_dir_all(&shared).unwrap();
    archive(&env, 2015, &shared, &env.p("old"))
        .vault(&vault_b)
        .run()
        .ok();
    let big = env.p("big");
    make_source(&big, 0, 0, &[4 << 20]);

    let p = archive(&env, 2019, &shared, &big).spawn_paused("copies-verified", &env.p("paused"), 1);
    let destroy = env
        .kluis()
        .vault(&vault_b)
        .today("2024-06-03")
        .destroy("2015-financial", &shared)
        .run();
    let archived = p.wait();
    assert_eq!(archived.code, Some(0), "{archived}");
    let index = parse_json(&shared.join("kluis-medium.json"));
    match destroy.code {
        Some(2) => {
            // (KLUIS_TODAY adds a note before the error line.)
            destroy.stderr_has(&format!("error: {}: {LOCKED}", shared.display()));
            assert!(shared.join("2015-financial.kluis").exists());
        }
        Some(0) => {
            assert!(!shared.join("2015-financial.kluis").exists());
            assert_eq!(
                index["destroyed"].as_array().map_or(0, Vec::len),
                1,
                "the medium lost the proof of destruction that vault B wrote while vault A was writing: {index}"
            );
        }
        _ => panic!("{destroy}"),
    }
    medium_consistent(&shared);
    eprintln!(
        "destroy (vault B) while archive (vault A) writes the same medium: destroy exit {:?}; medium index consistent",
        destroy.code
    );
}
