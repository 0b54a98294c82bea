//! Media: folders that `kluis archive` writes into (made first, as mounting
//! a stick would), the archives on them, and what a medium holds besides
//! (`kluis-medium.json`, `SHA256SUMS`, `README.txt`, kluis's hidden lock
//! and temporary files), read back and judged.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use super::{Env, Key, Run, file_sha256, orders_2019, parse_json, records_2019};

/// The medium most tests archive to.
pub const STICK: &str = "stick";

/// What kluis writes on a medium besides the archives.
pub const INDEX: &str = "kluis-medium.json";
pub const SUMS: &str = "SHA256SUMS";
pub const README: &str = "README.txt";
pub const LOCK: &str = ".kluis.lock";

/// Where [`Env::archive_2019`] puts its records and its table.
pub const RECORDS_2019: &str = "records-2019";
pub const ORDERS_2019: &str = "export/orders.csv";

impl Env {
    /// `kluis archive --year YEAR --to M… SOURCE…` (relative to the test
    /// folder), plus `extra` arguments before the sources. Medium folders
    /// that do not exist yet are made first, as mounting a stick would.
    pub fn archive(&self, year: i32, media: &[&str], extra: &[&str], sources: &[&str]) -> Run {
        for m in media {
            fs::create_dir_all(self.p(m)).unwrap();
            self.give_away(m);
        }
        let mut cmd = self
            .kluis()
            .args(["archive", "--year", &year.to_string()])
            .args(extra);
        for m in media {
            cmd = cmd.arg("--to").arg(self.p(m));
        }
        for s in sources {
            cmd = cmd.arg(self.p(s));
        }
        cmd.run()
    }

    /// `kluis archive --year YEAR --to stick SOURCE`, which must succeed;
    /// the archive it wrote (`stick/YEAR-financial.kluis`).
    pub fn archived(&self, year: i32, source: &str) -> PathBuf {
        self.archived_with(year, &[], source)
    }

    /// [`Env::archived`] with `extra` arguments (`--class`, `-r`, …).
    pub fn archived_with(&self, year: i32, extra: &[&str], source: &str) -> PathBuf {
        self.archive(year, &[STICK], extra, &[source]).ok();
        self.p(STICK).join(format!("{year}-financial.kluis"))
    }

    /// Writes a sample tree (see `samples.rs`, or any closure) to `src` and
    /// archives it for 2019 onto `stick`; the archive.
    pub fn sample_archive(&self, tree: impl FnOnce(&Path)) -> PathBuf {
        self.sample_archive_with(&[], tree)
    }

    /// [`Env::sample_archive`] with `extra` arguments to `archive`.
    pub fn sample_archive_with(&self, extra: &[&str], tree: impl FnOnce(&Path)) -> PathBuf {
        let src = self.p("src");
        fs::create_dir_all(&src).unwrap();
        tree(&src);
        self.archived_with(2019, extra, "src")
    }

    /// 2019's records ([`records_2019`] in `records-2019/`) and orders table
    /// ([`orders_2019`] in `export/orders.csv`, dated by `order_date`)
    /// archived onto `media`, which must succeed.
    pub fn archive_2019(&self, media: &[&str]) {
        records_2019(&self.p(RECORDS_2019));
        orders_2019(&self.p(ORDERS_2019));
        let table = format!("{ORDERS_2019}:order_date");
        self.archive(2019, media, &["--table", &table], &[RECORDS_2019])
            .ok();
    }

    /// A test folder with a key (`owner.key`), a vault encrypting to it,
    /// and [`Env::archive_2019`] on `media`.
    pub fn with_2019_on(media: &[&str]) -> (Env, Key) {
        let (env, key) = Env::ready();
        env.archive_2019(media);
        (env, key)
    }

    /// A medium's `kluis-medium.json`.
    pub fn medium_index(&self, medium: &str) -> serde_json::Value {
        parse_json(&self.p(medium).join(INDEX))
    }

    /// A medium's `SHA256SUMS`, as text.
    pub fn medium_sums(&self, medium: &str) -> String {
        fs::read_to_string(self.p(medium).join(SUMS)).unwrap()
    }
}

/// The names in a folder (empty when it does not exist).
pub fn names(dir: &Path) -> Vec<String> {
    let mut out: Vec<String> = match fs::read_dir(dir) {
        Ok(rd) => rd
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect(),
        Err(_) => Vec::new(),
    };
    out.sort();
    out
}

/// The names in a folder that do not start with a dot: what a user sees,
/// without kluis's hidden lock or temporary files.
pub fn visible_names(dir: &Path) -> Vec<String> {
    let mut out = names(dir);
    out.retain(|n| !n.starts_with('.'));
    out
}

/// Asserts that a failed run left nothing on a medium that looks like an
/// archive: no `*.kluis` other than those in `allowed`, and no temporary
/// `.…tmp-…` leftovers.
#[track_caller]
pub fn assert_no_new_archive(medium: &Path, allowed: &[&str]) {
    for n in names(medium) {
        assert!(
            !n.contains(".tmp-"),
            "{}: leftover temporary file {n}",
            medium.display()
        );
        assert!(
            !n.ends_with(".kluis") || allowed.contains(&n.as_str()),
            "{}: unexpected archive {n}",
            medium.display()
        );
    }
}

/// Names of kluis's temporary files (`.NAME.tmp-XXXXXXXX`) in a folder.
pub fn temp_names(dir: &Path) -> Vec<String> {
    names(dir)
        .into_iter()
        .filter(|n| n.starts_with('.') && n.contains(".tmp-"))
        .collect()
}

/// Deletes kluis's temporary files in a folder; returns how many.
pub fn remove_temps(dir: &Path) -> usize {
    let names = temp_names(dir);
    for n in &names {
        fs::remove_file(dir.join(n)).unwrap();
    }
    names.len()
}

/// Every file in a folder (not below it) with its bytes.
pub fn folder_files(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    for e in fs::read_dir(dir).unwrap() {
        let e = e.unwrap();
        if e.file_type().unwrap().is_file() {
            out.insert(
                e.file_name().to_string_lossy().into_owned(),
                fs::read(e.path()).unwrap(),
            );
        }
    }
    out
}

/// Makes `dir` hold exactly `files` (creating it).
pub fn put_files(dir: &Path, files: &BTreeMap<String, Vec<u8>>) {
    fs::create_dir_all(dir).unwrap();
    for (name, bytes) in files {
        fs::write(dir.join(name), bytes).unwrap();
    }
}

/// `SHA256SUMS` as (file, hash) pairs; panics on a malformed line.
#[track_caller]
pub fn parse_sums(text: &[u8]) -> Vec<(String, String)> {
    let text = std::str::from_utf8(text).expect("SHA256SUMS is UTF-8");
    text.lines()
        .map(|l| {
            let (h, f) = l
                .split_once("  ")
                .unwrap_or_else(|| panic!("malformed SHA256SUMS line {l:?}"));
            assert!(
                h.len() == 64 && h.bytes().all(|b| b.is_ascii_hexdigit()),
                "malformed hash in SHA256SUMS line {l:?}"
            );
            (f.to_owned(), h.to_owned())
        })
        .collect()
}

/// What `sha256sum -c SHA256SUMS` would say, without the tool: the lines
/// whose file is missing or differs.
pub fn sums_failures(dir: &Path) -> Vec<String> {
    let Ok(text) = fs::read(dir.join("SHA256SUMS")) else {
        return Vec::new();
    };
    parse_sums(&text)
        .into_iter()
        .filter(|(f, h)| {
            let p = dir.join(f);
            !p.is_file() || file_sha256(&p) != *h
        })
        .map(|(f, _)| f)
        .collect()
}

/// The archives a medium index lists: file name → (sha256, size).
pub fn indexed(index: &serde_json::Value) -> BTreeMap<String, (String, u64)> {
    index["archives"]
        .as_array()
        .expect("index.archives is a list")
        .iter()
        .map(|a| {
            (
                a["file"].as_str().unwrap().to_owned(),
                (
                    a["sha256"].as_str().unwrap().to_owned(),
                    a["size"].as_u64().unwrap(),
                ),
            )
        })
        .collect()
}
