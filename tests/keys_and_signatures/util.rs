//! A small harness of this test binary's own: temp folders, the real
//! `kluis` binary, a vault with keys, records, stock tools.

use std::ffi::OsStr;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub struct Env {
    pub dir: tempfile::TempDir,
}

pub struct Run {
    pub out: Output,
    pub what: String,
}

impl Run {
    pub fn code(&self) -> i32 {
        self.out.status.code().unwrap_or(-1)
    }
    pub fn stdout(&self) -> String {
        String::from_utf8_lossy(&self.out.stdout).into_owned()
    }
    pub fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.out.stderr).into_owned()
    }
    #[track_caller]
    pub fn expect(&self, code: i32) -> &Self {
        assert_eq!(
            self.code(),
            code,
            "{}\n--- stdout\n{}\n--- stderr\n{}",
            self.what,
            self.stdout(),
            self.stderr()
        );
        self
    }
    #[track_caller]
    pub fn ok(&self) -> &Self {
        self.expect(0)
    }
    #[track_caller]
    pub fn says(&self, needle: &str) -> &Self {
        let all = format!("{}{}", self.stdout(), self.stderr());
        assert!(
            all.contains(needle),
            "{}: expected {needle:?} in\n{all}",
            self.what
        );
        self
    }
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(self.stdout().lines().last().unwrap_or("null")).unwrap()
    }
}

impl Env {
    pub fn new() -> Env {
        Env {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    pub fn p(&self, rel: impl AsRef<Path>) -> PathBuf {
        self.dir.path().join(rel)
    }

    pub fn vault(&self) -> PathBuf {
        self.p("vault")
    }

    pub fn cmd(&self) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_kluis"));
        c.current_dir(self.dir.path())
            .env("KLUIS_VAULT", self.vault())
            .env_remove("KLUIS_TEST_PAUSE_AT")
            .env("NO_COLOR", "1");
        c
    }

    pub fn run<S: AsRef<OsStr>>(&self, args: &[S]) -> Run {
        self.run_env(args, &[])
    }

    pub fn run_env<S: AsRef<OsStr>>(&self, args: &[S], env: &[(&str, &str)]) -> Run {
        let mut c = self.cmd();
        c.args(args);
        for (k, v) in env {
            c.env(k, v);
        }
        let what = format!(
            "kluis {}",
            args.iter()
                .map(|a| a.as_ref().to_string_lossy().into_owned())
                .collect::<Vec<_>>()
                .join(" ")
        );
        Run {
            out: c.output().unwrap(),
            what,
        }
    }

    /// `kluis key new -o NAME`; returns the recipient.
    pub fn key(&self, name: &str) -> String {
        let r = self.run(&["key", "new", "-o", name]);
        r.ok();
        r.stdout().trim().to_owned()
    }

    /// A vault (with a signing key) whose recipients are `recipients`.
    pub fn init(&self, recipients: &[&str]) -> String {
        let mut args = vec!["init", "--org", "Het Blauwe Huis B.V."];
        for r in recipients {
            args.push("-r");
            args.push(r);
        }
        let r = self.run(&args);
        r.ok();
        r.stdout().trim().to_owned()
    }

    /// A few records of 2019 in `records-2019/`.
    pub fn records(&self) -> PathBuf {
        let root = self.p("records-2019");
        for i in 0..12 {
            let path = root.join(format!("invoices/INV-2019-{i:06}.pdf"));
            fs::create_dir_all(path.parent().unwrap()).unwrap();
            fs::write(&path, format!("%PDF invoice {i}\n").repeat(200 + i * 30)).unwrap();
        }
        fs::create_dir_all(root.join("ledger")).unwrap();
        fs::write(root.join("ledger/2019.csv"), "date;amount\n2019-01-01;10\n").unwrap();
        root
    }

    /// An orders table of 2019 with a date column, in `export/orders.csv`.
    pub fn orders(&self) -> PathBuf {
        let path = self.p("export/orders.csv");
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        let mut text = String::from("order_id;order_date;total\n");
        for m in 1..=12 {
            for d in [3, 17] {
                text.push_str(&format!("{m}{d};2019-{m:02}-{d:02};{}\n", m * 10 + d));
            }
        }
        fs::write(&path, text).unwrap();
        path
    }

    pub fn medium(&self, name: &str) -> PathBuf {
        let p = self.p(name);
        fs::create_dir_all(&p).unwrap();
        p
    }

    /// Archives 2019 (records and the orders table) onto `media`.
    pub fn archive(&self, media: &[&str]) {
        self.records();
        self.orders();
        let mut args: Vec<String> = vec!["archive".into(), "--year".into(), "2019".into()];
        for m in media {
            self.medium(m);
            args.push("--to".into());
            args.push((*m).into());
        }
        args.extend(
            ["--table", "export/orders.csv:order_date", "records-2019"]
                .iter()
                .map(|s| s.to_string()),
        );
        self.run(&args).ok();
    }

    /// The vault's public signing key line (`RWQ…`).
    pub fn public_key(&self) -> String {
        let r = self.run(&["key", "signing", "--json"]);
        r.ok();
        r.json()["public_key"].as_str().unwrap().to_owned()
    }

    /// Writes the public key file `org.pub` (for signify) and returns its path.
    pub fn public_key_file(&self) -> PathBuf {
        let path = self.p("org.pub");
        if !path.exists() {
            self.run(&["key", "signing", "-o", "org.pub"]).ok();
        }
        path
    }

    pub fn sh(&self, script: &str) -> Run {
        Run {
            out: Command::new("bash")
                .arg("-c")
                .arg(script)
                .current_dir(self.dir.path())
                .output()
                .unwrap(),
            what: script.to_owned(),
        }
    }
}

/// Whether a stock program is there; when the test script requires stock
/// tools (`KLUIS_REQUIRE_STOCK_TOOLS`), a missing one fails the test.
pub fn tool(program: &str) -> bool {
    let found = Command::new("sh")
        .arg("-c")
        .arg(format!("command -v {program}"))
        .output()
        .is_ok_and(|o| o.status.success());
    if !found && std::env::var_os("KLUIS_REQUIRE_STOCK_TOOLS").is_some() {
        panic!("{program} is not installed; scripts/test.sh installs it");
    }
    found
}

pub fn sha256(path: &Path) -> String {
    use sha2::Digest;
    let bytes = fs::read(path).unwrap();
    sha2::Sha256::digest(&bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The age plaintext (the zstd stream) of an archive, decrypted with the
/// age crate.
pub fn plaintext(archive: &Path, key: &Path) -> Vec<u8> {
    use std::io::Read;
    let ids = age::IdentityFile::from_file(key.to_string_lossy().into_owned())
        .unwrap()
        .into_identities()
        .unwrap();
    let d = age::Decryptor::new_buffered(std::io::BufReader::new(fs::File::open(archive).unwrap()))
        .unwrap();
    let mut out = Vec::new();
    d.decrypt(ids.iter().map(|i| i.as_ref() as &dyn age::Identity))
        .unwrap()
        .read_to_end(&mut out)
        .unwrap();
    out
}
