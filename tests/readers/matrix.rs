//! The interoperability matrix: every reader on two archives of the awkward
//! tree, one written now by this kluis and the committed vector
//! `tests/vectors/awkward.kluis`; each reader is held to what
//! docs/FORMAT.md §4.6 says it keeps.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use crate::awkward::*;
use crate::common::*;

/// An archive of the awkward tree, decrypted (`plain.zst`: the zstd stream
/// with its seek table) and decompressed (`plain.tar`) by the stock tools,
/// in a test folder the tests share.
pub struct Fixture {
    pub env: Env,
    pub key: Key,
    pub archive: PathBuf,
    pub recs: Vec<Rec>,
}

impl Fixture {
    fn dir(&self) -> &Path {
        self.env.root()
    }
    fn zst(&self) -> PathBuf {
        self.env.p("plain.zst")
    }
    fn tar(&self) -> PathBuf {
        self.env.p("plain.tar")
    }

    /// A new empty folder to extract into.
    fn out(&self, reader: &str) -> PathBuf {
        let out = self.env.p(format!("out-{reader}"));
        if out.exists() {
            fs::remove_dir_all(&out).unwrap();
        }
        fs::create_dir(&out).unwrap();
        out
    }

    /// The medium README's recovery pipeline ending in `tar`.
    fn pipeline(&self, tar: &str) -> String {
        format!(
            "age -d -i {} {} | zstd -d | {tar}",
            sh_quote(&self.key.path),
            sh_quote(&self.archive)
        )
    }

    fn decrypt(&self) {
        sh(
            self.dir(),
            &format!(
                "age -d -i {} -o plain.zst {}\nzstd -q -d -f plain.zst -o plain.tar",
                sh_quote(&self.key.path),
                sh_quote(&self.archive)
            ),
        )
        .ok();
    }
}

const TOOLS: &[&str] = &["age", "zstd", "bash"];

/// The fixture in `cell`, made (and decrypted) by the first test that
/// asks; `None` (skipped) without the stock tools.
fn shared(
    cell: &'static OnceLock<Fixture>,
    make: impl FnOnce() -> Fixture,
) -> Option<&'static Fixture> {
    if !require_tools(TOOLS) {
        return None;
    }
    Some(cell.get_or_init(|| {
        let f = make();
        f.decrypt();
        f
    }))
}

/// The awkward tree archived by this kluis (with a record larger than a
/// frame).
fn fresh() -> Option<&'static Fixture> {
    static FRESH: OnceLock<Fixture> = OnceLock::new();
    shared(&FRESH, || {
        let env = Env::kept("readers-fresh");
        let recs = awkward(true);
        write_tree(&env.p("src"), &recs);
        let key = env.new_key("owner.key");
        env.init(&[&key]);
        let archive = env.archived(2019, "src");
        Fixture {
            env,
            key,
            archive,
            recs,
        }
    })
}

/// The committed vector.
fn vector() -> Option<&'static Fixture> {
    static VECTOR: OnceLock<Fixture> = OnceLock::new();
    shared(&VECTOR, || {
        let env = Env::kept("readers-vector");
        let key = env.vector_key("test-key.txt");
        Fixture {
            env,
            key,
            archive: vectors().join(crate::vector::AWKWARD),
            recs: awkward(false),
        }
    })
}

/// A bash script run in `dir` with umask 022, so that what the readers
/// extract has the modes they give, whatever the caller's umask.
fn sh(dir: &Path, script: &str) -> Run {
    bash(dir, &format!("umask 022\n{script}"))
}

/// Whether a Python with `pyzstd` is here (see [`python`]), as
/// [`require_tools`] would say it.
fn require_pyzstd() -> bool {
    python().is_some()
        || missing_tools(&[format!(
            "a Python with pyzstd ({}; scripts/test.sh makes it)",
            python_path().display()
        )])
}

/// The Python of the virtual environment `scripts/test.sh` makes
/// (`KLUIS_PYTHON` overrides it).
fn python_path() -> PathBuf {
    std::env::var_os("KLUIS_PYTHON").map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).join("target/pyenv/bin/python"),
        PathBuf::from,
    )
}

/// [`python_path`] when it exists and has `pyzstd`.
fn python() -> Option<PathBuf> {
    let p = python_path();
    std::process::Command::new(&p)
        .args(["-c", "import pyzstd"])
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
        .then_some(p)
}

// ---------------------------------------------------------------------------
// What each reader keeps (docs/FORMAT.md §4.6)

#[derive(Clone, Copy, Debug)]
enum Time {
    /// To the nanosecond, before 1970 too.
    Exact,
    /// Whole seconds from the ustar header: the fraction dropped, and 0
    /// (1970-01-01) for times before 1970.
    UstarSeconds,
    /// Within a microsecond (a float of seconds).
    Micro,
    /// Exact, except that a time before 1970 with a fraction of a second
    /// comes out as `-whole + fraction` (libarchive reads the pax value
    /// `-86400.75` as -86400 s plus 0.75 s).
    NegativeFractionMisread,
}

impl Time {
    fn accepts(self, (secs, nsec): (i64, u32), got: (i64, u32)) -> bool {
        let ns = |(s, n): (i64, u32)| i128::from(s) * 1_000_000_000 + i128::from(n);
        match self {
            Time::Exact => got == (secs, nsec),
            Time::UstarSeconds => got == (secs.max(0), 0),
            Time::Micro => (ns(got) - ns((secs, nsec))).abs() < 1_000,
            Time::NegativeFractionMisread => {
                got == (secs, nsec)
                    || (secs < 0 && nsec > 0 && got == (secs + 1, 1_000_000_000 - nsec))
            }
        }
    }
}

struct Keeps {
    /// Times of files.
    time: Time,
    /// Whether folders get their times (and with `time`'s precision).
    folder_times: bool,
    /// Whether symlinks get their own times.
    link_times: bool,
    /// The mode a record gets.
    mode: fn(u32) -> u32,
    /// Symlinks the reader leaves out, by target.
    skips_link: fn(&[u8]) -> bool,
    /// Substrings of the only lines it may print on stderr.
    harmless: &'static [&'static str],
    /// The name a record gets.
    name: fn(&[u8]) -> Vec<u8>,
}

const EXACT: Keeps = Keeps {
    time: Time::Exact,
    folder_times: true,
    link_times: true,
    mode: |m| m,
    skips_link: |_| false,
    harmless: &[],
    name: <[u8]>::to_vec,
};

const GNU_TAR: Keeps = Keeps {
    harmless: &[
        "Ignoring unknown extended header keyword 'hdrcharset'",
        ": implausibly old time stamp ",
    ],
    ..EXACT
};
/// In a UTF-8 locale libarchive composes decomposed names (NFD to NFC).
/// The tree's one decomposed character is `e` + U+0301.
fn nfc(name: &[u8]) -> Vec<u8> {
    let nfd = "e\u{301}".as_bytes();
    let mut out = Vec::with_capacity(name.len());
    let mut i = 0;
    while i < name.len() {
        if name[i..].starts_with(nfd) {
            out.extend_from_slice("\u{e9}".as_bytes());
            i += nfd.len();
        } else {
            out.push(name[i]);
            i += 1;
        }
    }
    out
}
const BSDTAR: Keeps = Keeps {
    time: Time::NegativeFractionMisread,
    name: nfc,
    ..EXACT
};
const BUSYBOX: Keeps = Keeps {
    time: Time::UstarSeconds,
    folder_times: false,
    link_times: false,
    ..EXACT
};
const PYTHON: Keeps = Keeps {
    time: Time::Micro,
    link_times: false,
    // The "tar" extraction filter clears setuid, setgid, sticky and
    // group/other write bits.
    mode: |m| m & !0o7022,
    ..EXACT
};

/// Compares what `reader` extracted into `out` with the tree, as `keeps`
/// says it should be; lists every difference.
#[track_caller]
fn check(reader: &str, recs: &[Rec], out: &Path, keeps: &Keeps, run: &Run) {
    run.ok();
    let mut diffs = Vec::new();
    for line in run.stderr.lines().filter(|l| !l.trim().is_empty()) {
        if !keeps.harmless.iter().any(|h| line.contains(h)) {
            diffs.push(format!("unexpected message: {line}"));
        }
    }
    let mut top: Vec<String> = fs::read_dir(out)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    top.sort();
    if top != ["kluis", "records"] {
        diffs.push(format!("top folders: {top:?}"));
    }
    let got = snapshot(&out.join("records"));
    let mut expected: BTreeMap<Vec<u8>, &Rec> = BTreeMap::new();
    for r in recs {
        expected.insert((keeps.name)(&r.path), r);
    }
    for (path, r) in &expected {
        let name = String::from_utf8_lossy(path);
        let skipped = matches!(&r.what, What::Link(t) if (keeps.skips_link)(t));
        let Some(node) = got.get(path) else {
            if !skipped {
                diffs.push(format!("missing: {name:?}"));
            }
            continue;
        };
        if skipped {
            diffs.push(format!("{name:?}: expected to be left out, found {node:?}"));
            continue;
        }
        if node.what != r.what {
            diffs.push(format!("{name:?}: {:?} instead of {:?}", node.what, r.what));
            continue;
        }
        let (check_time, check_mode) = match r.what {
            What::File(_) => (true, true),
            What::Dir => (keeps.folder_times, true),
            What::Link(_) => (keeps.link_times, false),
        };
        if check_mode && node.mode != (keeps.mode)(r.mode) {
            diffs.push(format!(
                "{name:?}: mode {:o}, expected {:o}",
                node.mode,
                (keeps.mode)(r.mode)
            ));
        }
        if check_time && !keeps.time.accepts(r.mtime, node.mtime) {
            diffs.push(format!(
                "{name:?}: mtime {}.{:09}, expected {}.{:09} ({:?})",
                node.mtime.0, node.mtime.1, r.mtime.0, r.mtime.1, keeps.time
            ));
        }
    }
    for path in got.keys().filter(|p| !expected.contains_key(*p)) {
        diffs.push(format!("extra: {:?}", String::from_utf8_lossy(path)));
    }
    assert!(
        diffs.is_empty(),
        "{reader} in {}: {} difference(s):\n{}{run}",
        out.display(),
        diffs.len(),
        diffs.join("\n")
    );
}

// ---------------------------------------------------------------------------
// The readers

fn gnu_tar(f: &Fixture) {
    if !require_tools(&["tar", "sha256sum"]) {
        return;
    }
    let out = f.out("gnu-tar");
    let run = sh(&out, &format!("tar -xpf {}", sh_quote(&f.tar())));
    check("GNU tar", &f.recs, &out, &GNU_TAR, &run);
    // The archive's own list checks every record.
    sh(&out, "sha256sum --strict -c kluis/SHA256SUMS").ok();
}

fn gnu_tar_pipeline(f: &Fixture) {
    if !require_tools(&["tar"]) {
        return;
    }
    // The medium README's command, as it is.
    let out = f.out("gnu-tar-pipeline");
    let run = sh(&out, &f.pipeline("tar -x"));
    check("GNU tar (README pipeline)", &f.recs, &out, &GNU_TAR, &run);
}

fn bsdtar(f: &Fixture) {
    if !require_tools(&["bsdtar"]) {
        return;
    }
    let out = f.out("bsdtar");
    let run = sh(
        &out,
        &format!("LC_ALL=C.UTF-8 bsdtar -xpf {}", sh_quote(&f.tar())),
    );
    check("bsdtar", &f.recs, &out, &BSDTAR, &run);
}

fn busybox(f: &Fixture) {
    if !require_tools(&["busybox"]) {
        return;
    }
    let out = f.out("busybox");
    let run = sh(&out, &format!("busybox tar -xf {}", sh_quote(&f.tar())));
    check("busybox tar", &f.recs, &out, &BUSYBOX, &run);
    // The medium README's command (the variable makes busybox builds that
    // check link targets create the links that go up, `..`).
    let out = f.out("busybox-pipeline");
    let run = sh(
        &out,
        &f.pipeline("EXTRACT_UNSAFE_SYMLINKS=1 busybox tar -x"),
    );
    check(
        "busybox tar (README pipeline)",
        &f.recs,
        &out,
        &BUSYBOX,
        &run,
    );
}

fn python_tarfile(f: &Fixture) {
    if !require_pyzstd() {
        return;
    }
    let python = python().expect("checked");
    let out = f.out("python");
    let run = sh(
        &out,
        &format!(
            "{} -c 'import sys, tarfile; tarfile.open(sys.argv[1]).extractall(\".\", filter=\"tar\")' {}",
            sh_quote(&python),
            sh_quote(&f.tar())
        ),
    );
    check("Python tarfile", &f.recs, &out, &PYTHON, &run);
}

/// pyzstd's seekable-format reader: the whole stream equals `zstd -d`'s,
/// it counts the frames of kluis's seek table, and every record read at
/// the offset kluis's manifest gives has the manifest's SHA-256.
fn pyzstd_seekable(f: &Fixture) {
    if !require_pyzstd() {
        return;
    }
    let python = python().expect("checked");
    let script = r#"
import hashlib, json, random, sys, tarfile
from pyzstd import SeekableZstdFile
zst, tar = sys.argv[1], sys.argv[2]
whole = open(tar, "rb").read()
with tarfile.open(tar) as t:
    manifest = t.extractfile("kluis/manifest.jsonl").read()
with SeekableZstdFile(zst, "r") as f:
    frames, _, size = f.seek_table_info
    assert size == len(whole), (size, len(whole))
    assert f.read() == whole, "the stream differs from zstd -d"
    rng = random.Random(2019)
    for _ in range(200):
        at = rng.randrange(len(whole))
        n = rng.randrange(1, 70000)
        f.seek(at)
        assert f.read(n) == whole[at:at + n], (at, n)
    files = 0
    for line in reversed(manifest.splitlines()):
        e = json.loads(line)
        if e["type"] != "file":
            continue
        f.seek(e["data_offset"])
        data = f.read(e["size"])
        assert hashlib.sha256(data).hexdigest() == e["sha256"], line
        files += 1
print(frames, files)
"#;
    let run = sh(
        f.dir(),
        &format!(
            "{} -c {} {} {}",
            sh_quote(&python),
            sh_quote(Path::new(script)),
            sh_quote(&f.zst()),
            sh_quote(&f.tar())
        ),
    );
    run.ok();
    let files = f
        .recs
        .iter()
        .filter(|r| matches!(r.what, What::File(_)))
        .count();
    let text = run.stdout_text();
    let (frames, read) = text.trim().split_once(' ').expect("two numbers");
    assert_eq!(read.parse::<usize>().unwrap(), files, "{run}");
    assert!(frames.parse::<usize>().unwrap() >= 3, "{run}");
    assert_eq!(run.stderr, "", "{run}");
}

fn kluis_restore(f: &Fixture) {
    let out = f.out("kluis");
    let run = f
        .env
        .kluis()
        .arg("--quiet")
        .restore(&f.key, &f.archive, &out)
        .run();
    // kluis restores records only (no kluis/ folder).
    fs::create_dir(out.join("kluis")).unwrap();
    check("kluis restore", &f.recs, &out, &EXACT, &run);
}

/// `kluis restore --salvage` (for archives whose index is lost) keeps as
/// much: it reads the pax headers, times included.
fn kluis_salvage(f: &Fixture) {
    let out = f.out("kluis-salvage");
    let run = f
        .env
        .kluis()
        .arg("--quiet")
        .restore(&f.key, &f.archive, &out)
        .arg("--salvage")
        .run();
    fs::create_dir(out.join("kluis")).unwrap();
    check("kluis restore --salvage", &f.recs, &out, &EXACT, &run);
}

/// `kluis list`: one escaped line per record; `--json`: exact names.
fn kluis_list(f: &Fixture) {
    let plain = f.env.list(&f.key, &f.archive).run();
    plain.ok();
    let mut expected: Vec<String> = f
        .recs
        .iter()
        .map(|r| {
            let name = kluis::format::manifest::escape_name(&[b"records/", &r.path[..]].concat());
            if r.what == What::Dir {
                name + "/"
            } else {
                name
            }
        })
        .collect();
    expected.sort();
    let mut got: Vec<String> = plain.stdout_text().lines().map(str::to_owned).collect();
    got.sort();
    assert_eq!(got, expected, "{plain}");
    assert!(
        plain
            .stdout_text()
            .contains("records/odd/line\\nbreak.txt\n")
    );
    assert!(plain.stdout_text().contains("records/odd/tab\\there.txt\n"));
    assert!(
        plain
            .stdout_text()
            .contains("records/odd/back\\\\slash.txt\n")
    );
    assert!(
        plain
            .stdout_text()
            .contains("records/latin1/caf\\351.txt\n")
    );

    let json = f.env.list(&f.key, &f.archive).arg("--json").run();
    json.ok();
    let mut names: Vec<Vec<u8>> = json
        .stdout_text()
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            match v.get("path_hex").and_then(|h| h.as_str()) {
                Some(h) => kluis::format::manifest::unhex(h).unwrap(),
                None => v["path"].as_str().unwrap().as_bytes().to_vec(),
            }
        })
        .collect();
    names.sort();
    let mut want: Vec<Vec<u8>> = f
        .recs
        .iter()
        .map(|r| [b"records/", &r.path[..]].concat())
        .collect();
    want.sort();
    assert_eq!(names, want);
}

/// What a reader that ignores pax headers sees (FORMAT.md §4): every pax
/// header named `PaxHeaders/…` with a mode, owner and checksum; the ustar
/// name and prefix give the exact path when it fits, and otherwise the
/// folders that fit and the record's own name, cut — never the prefix
/// twice. GNU tar told to ignore the pax `path` lists the same.
fn ustar_fallback(f: &Fixture) {
    if !require_tools(&["tar"]) {
        return;
    }
    let tar = fs::read(f.tar()).unwrap();
    let mut archive = tar::Archive::new(&tar[..]);
    let mut seen = Vec::new();
    let mut pax_path: Option<Vec<u8>> = None;
    for entry in archive.entries().unwrap().raw(true) {
        let mut entry = entry.unwrap();
        let h = entry.header().clone();
        let ustar = h.as_ustar().expect("ustar headers only");
        let field = |b: &[u8]| b[..b.iter().position(|&c| c == 0).unwrap_or(b.len())].to_vec();
        let (prefix, name) = (field(&ustar.prefix), field(&ustar.name));
        if h.entry_type() == tar::EntryType::XHeader {
            assert!(
                prefix.is_empty() && name.starts_with(b"PaxHeaders/"),
                "{h:?}"
            );
            assert_eq!(h.mode().unwrap(), 0o644);
            assert_eq!((h.uid().unwrap(), h.gid().unwrap()), (0, 0));
            let mut records = Vec::new();
            std::io::Read::read_to_end(&mut entry, &mut records).unwrap();
            let path = pax_record(&records, "path").expect("a path record");
            let base = path.rsplit(|&b| b == b'/').next().unwrap();
            assert!(base.starts_with(&name[11..]), "{h:?}");
            pax_path = Some(path);
            continue;
        }
        let mut real = pax_path.take().expect("every member has a pax header");
        if h.entry_type() == tar::EntryType::Directory {
            real.push(b'/');
        }
        let ustar_path = if prefix.is_empty() {
            name.clone()
        } else {
            [&prefix[..], b"/", &name[..]].concat()
        };
        let fits = real.len() <= 100
            || real.iter().enumerate().any(|(i, &b)| {
                b == b'/' && i <= 155 && real.len() - i - 1 <= 100 && i + 1 < real.len()
            });
        if fits {
            assert_eq!(
                String::from_utf8_lossy(&ustar_path),
                String::from_utf8_lossy(&real)
            );
        } else {
            // The folders that fit, then the record's own name, cut.
            let real_str = String::from_utf8_lossy(&real).into_owned();
            assert!(
                real.starts_with(&prefix) && real[prefix.len()] == b'/',
                "{real_str}"
            );
            let body = real.strip_suffix(b"/").unwrap_or(&real);
            let base = body.rsplit(|&b| b == b'/').next().unwrap();
            assert!(base.starts_with(&name) && name.len() <= 100, "{real_str}");
            assert!(name.len() >= 97 || name == base, "{real_str}");
            assert!(
                ustar_path
                    .split(|&b| b == b'/')
                    .all(|c| !c.is_empty() && c != b"." && c != b".."),
                "{real_str}"
            );
        }
        seen.push(ustar_path);
    }
    assert!(seen.len() > f.recs.len());
    // GNU tar, ignoring the pax path and linkpath, lists these names.
    let listed = sh(
        f.dir(),
        &format!(
            "tar --pax-option=delete=path,delete=linkpath --quoting-style=literal -tf {}",
            sh_quote(&f.tar())
        ),
    );
    listed.ok();
    let lines: Vec<&[u8]> = listed
        .stdout
        .split(|&b| b == b'\n')
        .filter(|l| !l.is_empty())
        .collect();
    let with_newline = seen.iter().filter(|p| p.contains(&b'\n')).count();
    assert_eq!(lines.len(), seen.len() + with_newline, "{listed}");
    for p in seen.iter().filter(|p| !p.contains(&b'\n')) {
        assert!(
            lines.contains(&&p[..]),
            "{}{listed}",
            String::from_utf8_lossy(p)
        );
    }
    assert!(
        !listed.stdout_text().contains("records/records/"),
        "a prefix written twice{listed}"
    );
}

macro_rules! matrix {
    ($($reader:ident),* $(,)?) => {
        mod fresh_archive {
            $(
                #[test]
                fn $reader() {
                    if let Some(f) = super::fresh() {
                        super::$reader(f);
                    }
                }
            )*
        }
        mod committed_vector {
            $(
                #[test]
                fn $reader() {
                    if let Some(f) = super::vector() {
                        super::$reader(f);
                    }
                }
            )*
        }
    };
}

matrix!(
    gnu_tar,
    gnu_tar_pipeline,
    bsdtar,
    busybox,
    python_tarfile,
    pyzstd_seekable,
    kluis_restore,
    kluis_salvage,
    kluis_list,
    ustar_fallback,
);

/// The medium's README.txt: its GNU tar and busybox commands, run as
/// written (with the key and archive paths filled in), recover the tree.
#[test]
fn readme_commands_recover_the_archive() {
    let Some(f) = fresh() else { return };
    if !require_tools(&["tar", "busybox"]) {
        return;
    }
    let readme = fs::read_to_string(f.env.p("stick/README.txt")).unwrap();
    for (reader, needle, keeps) in [
        ("GNU tar", "| zstd -d | tar -x", &GNU_TAR),
        ("busybox", "busybox tar -x", &BUSYBOX),
    ] {
        let command = readme
            .lines()
            .map(str::trim)
            .find(|l| l.starts_with("age -d -i ") && l.ends_with(needle))
            .unwrap_or_else(|| panic!("README.txt has no {reader} command:\n{readme}"));
        let command = command
            .replace("/path/to/key.txt", &sh_quote(&f.key.path))
            .replace("../2019-financial.kluis", &sh_quote(&f.archive));
        let out = f.out(&format!("readme-{}", reader.replace(' ', "-")));
        let run = sh(&out, &command);
        check(
            &format!("{reader} (README.txt)"),
            &f.recs,
            &out,
            keeps,
            &run,
        );
    }
    for harmless in [
        "Ignoring unknown extended header keyword 'hdrcharset'",
        "skipping unsafe symlink",
    ] {
        assert!(
            readme.contains(harmless),
            "README.txt explains {harmless:?}"
        );
    }
}

/// The value of `key` in pax extended header records (`"<len> key=value\n"`).
fn pax_record(mut records: &[u8], key: &str) -> Option<Vec<u8>> {
    while !records.is_empty() {
        let space = records.iter().position(|&b| b == b' ')?;
        let len: usize = std::str::from_utf8(&records[..space]).ok()?.parse().ok()?;
        let record = &records[space + 1..len - 1];
        let eq = record.iter().position(|&b| b == b'=')?;
        if &record[..eq] == key.as_bytes() {
            return Some(record[eq + 1..].to_vec());
        }
        records = &records[len..];
    }
    None
}
