//! Catalog mismatches (issue 17, part 4): an intact archive that is not what
//! this vault's catalog recorded under its name is named as a mismatch with
//! the catalog, never as damage; the exit code stays 1.

use std::fs;

use crate::common::*;

/// Vault B (a copy of our vault) writes its own 2019-financial and a 2020
/// archive onto `other`; our vault verifies them.
#[test]
fn archives_of_another_vault_are_catalog_mismatches_not_damage() {
    let (env, key) = Env::ready();
    // Vault B: a copy of ours made before anything was archived (the same
    // organisation and signing key, an empty catalog), so that signatures
    // check and only the catalogs differ.
    let vault_b = env.p("vault-b");
    let copied = std::process::Command::new("cp")
        .arg("-a")
        .arg(env.vault())
        .arg(&vault_b)
        .status()
        .unwrap();
    assert!(copied.success());
    fs::create_dir_all(env.p("src")).unwrap();
    fs::write(env.p("src/a.txt"), b"ours\n").unwrap();
    let ours = env.archived(2019, "src");

    fs::create_dir_all(env.p("other")).unwrap();
    for year in ["2019", "2020"] {
        env.kluis()
            .vault(&vault_b)
            .args(["archive", "--year", year, "--to"])
            .arg(env.p("other"))
            .arg(env.p("src"))
            .run()
            .ok();
    }

    // Our own copy: intact and what the catalog recorded.
    let run = env.kluis().verify(&key, &ours).run();
    run.ok();
    assert!(!String::from_utf8_lossy(&run.stdout).contains("CATALOG MISMATCH"));

    // The same name, another archive id: a mismatch, and the records fine.
    let run = env
        .kluis()
        .verify(&key, env.p("other/2019-financial.kluis"))
        .run();
    run.code(1)
        .stdout_has("CATALOG MISMATCH")
        .stdout_has("another archive under that name");
    let out = String::from_utf8_lossy(&run.stdout);
    assert!(!out.contains("DAMAGED"), "named as damage:\n{run}");

    // A name this vault never wrote: unknown to the catalog, not damaged.
    let run = env
        .kluis()
        .verify(&key, env.p("other/2020-financial.kluis"))
        .run();
    run.code(1)
        .stdout_has("CATALOG MISMATCH")
        .stdout_has("unknown to this vault's catalog");
    let out = String::from_utf8_lossy(&run.stdout);
    assert!(!out.contains("DAMAGED"), "named as damage:\n{run}");

    // Vault B itself finds nothing wrong with its own copies.
    env.kluis()
        .vault(&vault_b)
        .verify(&key, env.p("other"))
        .run()
        .ok();
}
