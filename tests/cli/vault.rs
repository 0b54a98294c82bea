//! The vault: commands that need one and find none name `kluis init`;
//! `init` never replaces an existing vault.

use crate::common::*;

#[test]
fn commands_needing_a_vault_name_kluis_init() {
    let env = Env::new();
    write_file(&env.p("src/a.txt"), b"a", 0o644);
    let vault = env.vault();
    let vault = vault.to_str().unwrap();
    for args in [
        &["archive", "--year", "2019", "--to", "stick", "src"][..],
        &["status"],
        &["due"],
    ] {
        std::fs::create_dir_all(env.p(STICK)).unwrap();
        env.run(args)
            .error(2, &[vault, "no vault"])
            .stderr_has("kluis init");
        assert_no_new_archive(&env.p(STICK), &[]);
    }
    assert!(!exists(&env.vault()), "no vault is made up");
}

#[test]
fn init_never_replaces_a_vault() {
    let (env, owner) = Env::ready();
    let config = std::fs::read_to_string(env.vault().join("config.toml")).unwrap();
    assert!(config.contains(&owner.recipient), "{config}");
    env.run(["init", "--org", "Someone Else"])
        .error(2, &["already exists"]);
    assert_eq!(
        std::fs::read_to_string(env.vault().join("config.toml")).unwrap(),
        config
    );
}

#[test]
fn vault_flag_overrides_the_environment() {
    let env = Env::new();
    let key = env.new_key("k.key");
    let other = env.p("other-vault");
    env.kluis().vault(&other).init("Elders", &[&key]).run().ok();
    assert!(other.join("config.toml").exists());
    assert!(
        !exists(&env.vault()),
        "KLUIS_VAULT is not used when --vault is given"
    );
}
