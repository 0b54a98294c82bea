//! The vault: made with `kluis init` for an organisation and its
//! recipients, its catalog read back, and the two-archive vault the
//! lifecycle tests start from.

use std::collections::BTreeMap;
use std::fs;
use std::path::PathBuf;

use super::{Cmd, Env, Key, contents, parse_json};

/// The organisation of the test vaults.
pub const ORG: &str = "Het Testhuis B.V.";

impl Cmd {
    /// `init --org ORG -r RECIPIENT…`.
    pub fn init(self, org: &str, recipients: &[&Key]) -> Cmd {
        let mut cmd = self.args(["init", "--org", org]);
        for k in recipients {
            cmd = cmd.arg("-r").arg(&k.recipient);
        }
        cmd
    }

    /// `destroy ARCHIVE --medium MEDIUM --yes`: no question asked.
    pub fn destroy(self, archive: &str, medium: impl AsRef<std::ffi::OsStr>) -> Cmd {
        self.args(["destroy", archive, "--medium"])
            .arg(medium)
            .arg("--yes")
    }
}

impl Env {
    /// `kluis init` of the test folder's vault for [`ORG`] with these
    /// recipients; the organisation's public signing key, which it prints.
    pub fn init(&self, recipients: &[&Key]) -> String {
        let run = self.kluis().init(ORG, recipients).run();
        run.ok();
        run.stdout_text().trim().to_owned()
    }

    /// The vault's public signing key (`RWQ…`), from `kluis key signing`.
    pub fn org_public_key(&self) -> String {
        let run = self.run(["key", "signing", "--json"]);
        run.ok();
        run.json()["public_key"].as_str().unwrap().to_owned()
    }

    /// The vault's public signing key as a file, `org.pub` in the test
    /// folder (for `signify -p`); its path.
    pub fn org_public_key_file(&self) -> PathBuf {
        let path = self.p("org.pub");
        if !path.exists() {
            self.run(["key", "signing", "-o", "org.pub"]).ok();
        }
        path
    }

    /// Another vault, `rel` in the test folder, for `org` with these
    /// recipients; commands use it through `.vault(&path)`.
    pub fn other_vault(&self, rel: &str, org: &str, recipients: &[&Key]) -> PathBuf {
        let path = self.p(rel);
        self.kluis().vault(&path).init(org, recipients).run().ok();
        path
    }

    /// A vault with 2015-financial (retention ended 2022-12-31) and
    /// 2025-financial (kept until 2032-12-31), each on media `m1` and `m2`
    /// (relative names), made from the sources `src2015` and `src2025`.
    pub fn with_archives() -> Env {
        let (env, _key) = Env::ready();
        for (year, files) in [
            ("2015", ["inv-1.txt", "inv-2.txt"]),
            ("2025", ["a.txt", "b.txt"]),
        ] {
            let src = env.p(format!("src{year}"));
            fs::create_dir_all(&src).unwrap();
            for f in files {
                fs::write(src.join(f), format!("{year} {f}\n")).unwrap();
            }
        }
        fs::create_dir_all(env.p("m1")).unwrap();
        fs::create_dir_all(env.p("m2")).unwrap();
        for year in ["2015", "2025"] {
            env.run([
                "archive",
                "--year",
                year,
                "--to",
                "m1",
                "--to",
                "m2",
                &format!("src{year}"),
            ])
            .ok();
        }
        env
    }

    /// Rewrites the vault's `config.toml` as `change` says, as a user
    /// would with an editor; the new text.
    pub fn edit_config(&self, change: impl FnOnce(String) -> String) -> String {
        let path = self.vault().join("config.toml");
        let text = change(fs::read_to_string(&path).unwrap());
        fs::write(&path, &text).unwrap();
        text
    }

    pub fn catalog_path(&self) -> PathBuf {
        self.vault().join("catalog.json")
    }

    /// The catalog's bytes (none when there is no catalog yet).
    pub fn catalog_bytes(&self) -> Vec<u8> {
        fs::read(self.catalog_path()).unwrap_or_default()
    }

    /// The catalog as JSON.
    pub fn catalog(&self) -> serde_json::Value {
        parse_json(&self.catalog_path())
    }

    /// The catalog's entry for `name` (`2015-financial`).
    pub fn catalog_entry(&self, name: &str) -> serde_json::Value {
        let file = format!("{name}.kluis");
        catalogued(&self.catalog())
            .remove(&file)
            .unwrap_or_else(|| panic!("{name} not in the catalog"))
    }

    /// Runs `f` and asserts that no file in the test folder changed.
    #[track_caller]
    pub fn unchanged_by<T>(&self, f: impl FnOnce() -> T) -> T {
        let before = contents(self.root());
        let out = f();
        let after = contents(self.root());
        let changed: Vec<_> = before
            .keys()
            .chain(after.keys())
            .filter(|p| before.get(*p) != after.get(*p))
            .collect();
        assert!(
            changed.is_empty(),
            "a refused command changed files in the test folder: {changed:?}"
        );
        out
    }
}

/// The catalog's archives: file name → the entry.
pub fn catalogued(catalog: &serde_json::Value) -> BTreeMap<String, serde_json::Value> {
    catalog["archives"]
        .as_array()
        .expect("catalog.archives is a list")
        .iter()
        .map(|a| (a["file"].as_str().unwrap().to_owned(), a.clone()))
        .collect()
}
