//! What bad input gets (issue 2): one clear sentence naming the thing, exit
//! code 2 for errors or 1 for damage a check found, and nothing lost: the
//! source untouched, no new archive and no temporary leftovers on a medium,
//! nothing restored from an archive that cannot be trusted.

use std::ffi::OsStr;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use kluis::format::reader::ArchiveReader;
use kluis::keys::Identities;

use crate::common::*;

/// A small archive on the medium `stick`: a folder, a few files.
fn small_archive(env: &Env) -> PathBuf {
    let src = env.p("src");
    write_file(&src.join("invoices/INV-1.txt"), b"invoice one", 0o644);
    write_file(&src.join("invoices/INV-2.txt"), b"invoice two", 0o644);
    write_file(&src.join("ledger.csv"), b"date;amount\n", 0o644);
    stamp_tree(&src);
    env.archive(2019, &["stick"], &[], &["src"]).ok();
    env.p("stick/2019-financial.kluis")
}

fn catalog(env: &Env) -> String {
    fs::read_to_string(env.vault().join("catalog.json")).unwrap_or_default()
}

/// Where the age payload starts: after the header's `--- MAC` line.
fn payload_start(bytes: &[u8]) -> usize {
    let mac = bytes
        .windows(5)
        .position(|w| w == b"\n--- ")
        .expect("an age header");
    mac + 1 + bytes[mac + 1..].iter().position(|&b| b == b'\n').unwrap() + 1
}

/// Copies `archive` to `files/NAME` (a folder that is not a medium, so that
/// only the archive itself is judged), changed by `change`.
fn damaged_copy(env: &Env, archive: &Path, name: &str, change: impl FnOnce(&mut Vec<u8>)) -> PathBuf {
    let mut bytes = fs::read(archive).unwrap();
    change(&mut bytes);
    fs::create_dir_all(env.p("files")).unwrap();
    let path = env.p("files").join(name);
    fs::write(&path, bytes).unwrap();
    path
}

/// `list`, `restore` and `verify` with `key` on a file that is not a good
/// archive: list and restore fail (exit 2) naming it, nothing is restored,
/// and a full verify reports it (exit 1). Returns verify's stdout.
#[track_caller]
fn refused_everywhere(env: &Env, key: &Key, archive: &Path, why: &str) -> String {
    let name = archive.file_name().unwrap().to_str().unwrap();
    env.kluis()
        .args(["list", "-i"])
        .arg(&key.path)
        .arg(archive)
        .run()
        .error(2, &[name, why]);
    let target = env.p(format!("restore-{name}"));
    env.kluis()
        .args(["restore", "-i"])
        .arg(&key.path)
        .arg(archive)
        .arg("--to")
        .arg(&target)
        .run()
        .error(2, &[name, why]);
    assert!(!exists(&target), "nothing restored from {name}");
    let verify = env
        .kluis()
        .args(["verify", "-i"])
        .arg(&key.path)
        .arg(archive)
        .run();
    verify.code(1).stdout_has(name).stdout_has(why);
    verify.stdout_text()
}

#[test]
fn wrong_key_opens_nothing_and_restores_nothing() {
    let (env, key) = Env::ready();
    let archive = small_archive(&env);
    let other = env.new_key("other.key");
    let opens_not = "none of the given identities opens this archive";
    env.kluis()
        .args(["list", "-i"])
        .arg(&other.path)
        .arg(&archive)
        .run()
        .error(2, &["2019-financial.kluis", opens_not]);
    env.kluis()
        .args(["restore", "-i"])
        .arg(&other.path)
        .arg(&archive)
        .arg("--to")
        .arg(env.p("out"))
        .run()
        .error(2, &["2019-financial.kluis", opens_not]);
    assert!(!exists(&env.p("out")));
    env.kluis()
        .args(["verify", "-i"])
        .arg(&other.path)
        .arg(env.p("stick"))
        .run()
        .error(2, &["2019-financial.kluis", opens_not]);

    let check = env
        .kluis()
        .args(["key", "check", "-i"])
        .arg(&other.path)
        .arg(&archive)
        .run();
    check.code(1).stdout_has("2019-financial.kluis: the key does NOT open it");
    env.kluis()
        .args(["key", "check", "-i"])
        .arg(&key.path)
        .arg(&archive)
        .run()
        .ok()
        .stdout_has("2019-financial.kluis: the key opens it");
}

#[test]
fn wrong_passphrase_and_missing_passphrase_are_refused() {
    let (env, key) = Env::ready();
    write_file(&env.p("src/a.txt"), b"a", 0o644);
    fs::write(env.p("right.txt"), "het goede wachtwoord\n").unwrap();
    fs::write(env.p("wrong.txt"), "een fout wachtwoord\n").unwrap();
    env.archive(2019, &["stick"], &["--passphrase-file", "right.txt"], &["src"])
        .ok();
    let archive = env.p("stick/2019-financial.kluis");

    env.kluis()
        .args(["list", "--passphrase-file", "wrong.txt"])
        .arg(&archive)
        .run()
        .error(2, &["2019-financial.kluis", "opens"]);
    env.kluis()
        .args(["restore", "--passphrase-file", "wrong.txt"])
        .arg(&archive)
        .arg("--to")
        .arg(env.p("out"))
        .run()
        .error(2, &["2019-financial.kluis"]);
    assert!(!exists(&env.p("out")));
    // A key file for a passphrase archive: say it needs the passphrase.
    env.kluis()
        .args(["list", "-i"])
        .arg(&key.path)
        .arg(&archive)
        .run()
        .error(2, &["2019-financial.kluis", "passphrase"]);
    // --passphrase without a terminal: refused, not hanging.
    env.kluis()
        .args(["list", "--passphrase"])
        .arg(&archive)
        .run()
        .error(2, &["terminal"]);
}

#[test]
fn random_bytes_are_not_a_kluis_archive() {
    let (env, key) = Env::ready();
    fs::create_dir(env.p("files")).unwrap();
    let junk = env.p("files/junk.kluis");
    fs::write(&junk, Rng::new(1).bytes(10_000)).unwrap();
    refused_everywhere(&env, &key, &junk, "not a kluis archive");
    let empty = env.p("files/empty.kluis");
    fs::write(&empty, b"").unwrap();
    refused_everywhere(&env, &key, &empty, "not a kluis archive");
    env.kluis()
        .args(["key", "check", "-i"])
        .arg(&key.path)
        .arg(&junk)
        .run()
        .error(2, &["junk.kluis", "not a kluis archive"]);
}

#[test]
fn age_file_of_random_plaintext_is_not_a_kluis_archive() {
    if !stock_tools() {
        return;
    }
    let (env, key) = Env::ready();
    fs::create_dir(env.p("files")).unwrap();
    fs::write(env.p("plain.bin"), Rng::new(2).bytes(200_000)).unwrap();
    bash(
        env.root(),
        &format!("age -r {} -o files/age-junk.kluis plain.bin", key.recipient),
    )
    .ok();
    let archive = env.p("files/age-junk.kluis");
    refused_everywhere(&env, &key, &archive, "not a kluis archive");
    // The key does open the age layer: key check says so.
    env.kluis()
        .args(["key", "check", "-i"])
        .arg(&key.path)
        .arg(&archive)
        .run()
        .ok();
}

#[test]
fn truncated_archive_is_damaged_at_any_length() {
    let (env, key) = Env::ready();
    // Several age chunks, so that truncation can fall on a chunk boundary.
    write_file(&env.p("src/big.bin"), &Rng::new(3).bytes(300_000), 0o644);
    write_file(&env.p("src/small.txt"), b"small", 0o644);
    env.archive(2019, &["stick"], &[], &["src"]).ok();
    let archive = env.p("stick/2019-financial.kluis");
    let bytes = fs::read(&archive).unwrap();
    let start = payload_start(&bytes);
    let chunk = 65536 + 16;
    for (name, keep) in [
        ("nonce-only.kluis", start + 16),
        ("mid-payload.kluis", start + (bytes.len() - start) / 2),
        ("chunk-boundary.kluis", start + 16 + 2 * chunk),
        ("last-byte-gone.kluis", bytes.len() - 1),
    ] {
        let cut = damaged_copy(&env, &archive, name, |b| b.truncate(keep));
        refused_everywhere(&env, &key, &cut, "truncated");
    }
    // The originals are unharmed.
    env.kluis()
        .args(["verify", "-i"])
        .arg(&key.path)
        .arg(env.p("stick"))
        .run()
        .ok();
}

/// Truncation inside the age header is reported as damage, not as "not a
/// kluis archive" (whose hint says a damaged archive would report as
/// damaged).
#[test]
#[ignore = "bug: a header truncated archive is reported as `not a kluis archive (not an age-encrypted file: Incomplete header)` (src/format/reader.rs decrypt, src/keys.rs check)"]
fn truncated_inside_the_age_header_is_damage() {
    let (env, key) = Env::ready();
    let archive = small_archive(&env);
    let bytes = fs::read(&archive).unwrap();
    let start = payload_start(&bytes);
    for (name, keep) in [("header-half.kluis", start / 2), ("header-all-but-one.kluis", start - 1)] {
        let cut = damaged_copy(&env, &archive, name, |b| b.truncate(keep));
        refused_everywhere(&env, &key, &cut, "truncated");
    }
}

/// A byte flipped inside one record's frame: the full verify names that
/// record and no other, the quick verify sees the SHA-256 differ, and the
/// other records still restore.
#[test]
fn flipped_byte_names_the_damaged_record() {
    let (env, key) = Env::ready();
    let src = env.p("src");
    let mut rng = Rng::new(4);
    write_file(&src.join("a-first.txt"), b"first", 0o644);
    // 3 MB each, incompressible: big1 ends frame 0, big2 is frame 1 alone.
    for n in 1..=3 {
        write_file(&src.join(format!("big{n}.bin")), &rng.bytes(3_000_000), 0o644);
    }
    write_file(&src.join("z-last.txt"), b"last", 0o644);
    stamp_tree(&src);
    env.archive(2019, &["stick"], &[], &["src"]).ok();
    let archive = env.p("stick/2019-financial.kluis");

    // Locate frame 1 (big2.bin) in the ciphertext.
    let mut ids = Identities::default();
    ids.add_file(&key.path).unwrap();
    let reader = ArchiveReader::open(&archive, &ids).unwrap();
    let frames = reader.frames().to_vec();
    drop(reader);
    assert!(frames.len() >= 4, "expected several frames: {frames:?}");
    let manifest = env
        .kluis()
        .args(["list", "--json", "-i"])
        .arg(&key.path)
        .arg(&archive)
        .run();
    manifest.ok();
    let frame = &frames[1];
    let plain_pos = frame.c_offset + u64::from(frame.entry.compressed) / 2;
    let mut bytes = fs::read(&archive).unwrap();
    let start = payload_start(&bytes) as u64 + 16;
    let chunk = plain_pos / 65536;
    let at = (start + chunk * (65536 + 16) + plain_pos % 65536) as usize;
    bytes[at] ^= 0x20;
    fs::write(&archive, &bytes).unwrap();

    // Quick check, no key: the hash differs from SHA256SUMS and the index.
    env.kluis()
        .arg("verify")
        .arg(env.p("stick"))
        .run()
        .code(1)
        .stdout_has("SHA-256 differs from SHA256SUMS")
        .stdout_has("2019-financial.kluis: DAMAGED");

    // Full check: big2.bin and nothing else.
    let full = env
        .kluis()
        .args(["verify", "-i"])
        .arg(&key.path)
        .arg(env.p("stick"))
        .run();
    full.code(1).stdout_has("records/big2.bin");
    for fine in ["a-first.txt", "big1.bin", "big3.bin", "z-last.txt"] {
        assert!(
            !full.stdout_text().contains(fine),
            "{fine} is not damaged{full}"
        );
    }
    let json = env
        .kluis()
        .args(["verify", "--json", "-i"])
        .arg(&key.path)
        .arg(&archive)
        .run();
    json.code(1);
    let report = json.json();
    let problems = report["archives"][0]["full"]["problems"].as_array().unwrap();
    assert!(!problems.is_empty(), "{json}");
    assert!(
        problems.iter().all(|p| p["path"] == "records/big2.bin"),
        "only big2.bin is damaged{json}"
    );

    // Restore: the others come back whole, big2.bin does not come back.
    let restore = env
        .kluis()
        .args(["restore", "-i"])
        .arg(&key.path)
        .arg(&archive)
        .arg("--to")
        .arg(env.p("out"))
        .run();
    restore.code(1).stdout_has("NOT restored: records/big2.bin");
    assert!(!exists(&env.p("out/records/big2.bin")));
    for fine in ["a-first.txt", "big1.bin", "big3.bin", "z-last.txt"] {
        assert_eq!(
            fs::read(env.p("out/records").join(fine)).unwrap(),
            fs::read(src.join(fine)).unwrap()
        );
    }
    // One intact record alone restores cleanly.
    env.kluis()
        .args(["restore", "-i"])
        .arg(&key.path)
        .arg(&archive)
        .arg("--to")
        .arg(env.p("one"))
        .arg("z-last.txt")
        .run()
        .ok();
}

#[test]
fn restore_never_overwrites_without_force() {
    let (env, key) = Env::ready();
    let archive = small_archive(&env);
    let existing = env.p("out/records/invoices/INV-1.txt");
    write_file(&existing, b"my own edits", 0o644);

    env.kluis()
        .args(["restore", "-i"])
        .arg(&key.path)
        .arg(&archive)
        .arg("--to")
        .arg(env.p("out"))
        .run()
        .error(2, &["INV-1.txt", "refusing to overwrite"]);
    assert_eq!(fs::read(&existing).unwrap(), b"my own edits");
    assert!(
        !exists(&env.p("out/records/ledger.csv")),
        "nothing is restored when one file is in the way"
    );

    env.kluis()
        .args(["restore", "--force", "-i"])
        .arg(&key.path)
        .arg(&archive)
        .arg("--to")
        .arg(env.p("out"))
        .run()
        .ok();
    assert_same_tree(&env.p("src"), &env.p("out/records"));
}

#[test]
fn missing_source_or_a_file_as_source_is_refused() {
    let (env, _key) = Env::ready();
    let before = catalog(&env);
    env.archive(2019, &["stick"], &[], &["no-such-folder"])
        .error(2, &["no-such-folder"]);
    assert_no_new_archive(&env.p("stick"), &[]);
    write_file(&env.p("a-file.txt"), b"x", 0o644);
    env.archive(2019, &["stick"], &[], &["a-file.txt"])
        .error(2, &["a-file.txt", "not a folder"]);
    assert_no_new_archive(&env.p("stick"), &[]);
    assert_eq!(catalog(&env), before);
}

#[test]
fn empty_source_is_refused() {
    let (env, _key) = Env::ready();
    fs::create_dir(env.p("empty")).unwrap();
    env.archive(2019, &["stick"], &[], &["empty"])
        .error(2, &["empty", "nothing to archive"]);
    assert_eq!(names(&env.p("stick")), Vec::<String>::new());
    assert_eq!(names(&env.p("empty")), Vec::<String>::new());
}

#[test]
fn unreadable_source_file_is_refused_and_leaves_nothing() {
    let Some(env) = Env::unprivileged() else {
        return;
    };
    let key = env.new_key("owner.key");
    env.init(&[&key]);
    write_file(&env.p("src/readable.txt"), b"fine", 0o644);
    write_file(&env.p("src/secret.txt"), b"cannot read me", 0o000);
    env.give_away("src");
    let before = snapshot(&env.p("src"));
    let catalog_before = catalog(&env);

    env.archive(2019, &["stick-a", "stick-b"], &[], &["src"])
        .error(2, &["secret.txt", "ermission denied"]);
    for m in ["stick-a", "stick-b"] {
        assert_no_new_archive(&env.p(m), &[]);
    }
    assert!(snapshot(&env.p("src")) == before, "source untouched");
    assert_eq!(catalog(&env), catalog_before);
}

#[test]
fn missing_medium_folder_is_refused_and_not_created() {
    let (env, _key) = Env::ready();
    write_file(&env.p("src/a.txt"), b"a", 0o644);
    env.kluis()
        .args(["archive", "--year", "2019", "--to"])
        .arg(env.p("stick"))
        .arg("--to")
        .arg(env.p("not-mounted"))
        .arg(env.p("src"))
        .run()
        .error(2, &["not-mounted"]);
    assert!(!exists(&env.p("not-mounted")), "a missing medium is not made up");
    fs::create_dir(env.p("stick")).unwrap();
    assert_no_new_archive(&env.p("stick"), &[]);
}

/// A medium the user may not write to (permission denied).
#[test]
fn unwritable_medium_is_refused_and_the_other_medium_stays_clean() {
    let Some(env) = Env::unprivileged() else {
        return;
    };
    let key = env.new_key("owner.key");
    env.init(&[&key]);
    write_file(&env.p("src/a.txt"), b"a", 0o644);
    env.give_away("src");
    for m in ["stick-a", "stick-b"] {
        fs::create_dir(env.p(m)).unwrap();
        env.give_away(m);
    }
    fs::set_permissions(env.p("stick-b"), fs::Permissions::from_mode(0o555)).unwrap();
    let before = catalog(&env);

    env.archive(2019, &["stick-a", "stick-b"], &[], &["src"])
        .error(2, &["stick-b", "ermission denied"]);
    assert_eq!(names(&env.p("stick-a")), Vec::<String>::new());
    assert_eq!(names(&env.p("stick-b")), Vec::<String>::new());
    assert_eq!(catalog(&env), before);
}

/// A medium mounted read-only (EROFS): a read-only bind mount in a private
/// mount namespace (`unshare`), so nothing outlives the command. Needs root.
#[test]
fn read_only_medium_is_refused() {
    let (env, _key) = Env::ready();
    write_file(&env.p("src/a.txt"), b"a", 0o644);
    for m in ["stick-a", "stick-b"] {
        fs::create_dir(env.p(m)).unwrap();
    }
    let ro = env.p("stick-b");
    let remount = "mount --bind \"$0\" \"$0\" && mount -o remount,bind,ro \"$0\" && exec \"$@\"";
    let wrapper: Vec<&OsStr> = [
        OsStr::new("unshare"),
        OsStr::new("--mount"),
        OsStr::new("--propagation"),
        OsStr::new("private"),
        OsStr::new("sh"),
        OsStr::new("-c"),
        OsStr::new(remount),
        ro.as_os_str(),
    ]
    .to_vec();
    let probe = bash(
        env.root(),
        &format!(
            "unshare --mount --propagation private sh -c '{}' {} sh -c '! touch \"$0\"/probe 2>/dev/null' {}",
            remount.replace('\'', r"'\''"),
            sh_quote(&ro),
            sh_quote(&ro)
        ),
    );
    if !is_root() || probe.code != Some(0) {
        eprintln!("SKIPPED: cannot make a read-only bind mount here (needs root and unshare){probe}");
        return;
    }
    let before = catalog(&env);
    env.kluis_under(&wrapper)
        .args(["archive", "--year", "2019", "--to"])
        .arg(env.p("stick-a"))
        .arg("--to")
        .arg(&ro)
        .arg(env.p("src"))
        .run()
        .error(2, &["stick-b", "Read-only"])
        .stderr_has("read-only");
    assert_eq!(names(&env.p("stick-a")), Vec::<String>::new());
    assert_eq!(names(&ro), Vec::<String>::new());
    assert_eq!(catalog(&env), before);
}

#[test]
fn year_and_class_already_on_the_medium_needs_supplement() {
    let (env, key) = Env::ready();
    let archive = small_archive(&env);
    let first = fs::read(&archive).unwrap();
    write_file(&env.p("late/late-invoice.txt"), b"found in a drawer", 0o644);

    env.archive(2019, &["stick"], &[], &["late"])
        .error(2, &["stick", "2019-financial.kluis"])
        .stderr_has("--supplement");
    assert_no_new_archive(&env.p("stick"), &["2019-financial.kluis"]);
    assert_eq!(fs::read(&archive).unwrap(), first, "the archive is untouched");

    // Another class of the same year is another archive.
    env.archive(2019, &["stick"], &["--class", "payroll"], &["late"])
        .ok();
    env.archive(2019, &["stick"], &["--supplement"], &["late"])
        .ok()
        .stdout_has("2019-financial-2.kluis");
    assert_eq!(
        names(&env.p("stick")),
        [
            "2019-financial-2.kluis",
            "2019-financial.kluis",
            "2019-payroll.kluis",
            "README.txt",
            "SHA256SUMS",
            "kluis-medium.json"
        ]
    );
    assert_eq!(fs::read(&archive).unwrap(), first);
    env.kluis()
        .args(["verify", "-i"])
        .arg(&key.path)
        .arg(env.p("stick"))
        .run()
        .ok();
    if have_tool("sha256sum") {
        let sums = bash(&env.p("stick"), "sha256sum --strict -c SHA256SUMS");
        sums.ok();
        assert_eq!(sums.stdout_text().lines().count(), 3, "{sums}");
    }
    let list = env
        .kluis()
        .args(["list", "-i"])
        .arg(&key.path)
        .arg(env.p("stick/2019-financial-2.kluis"))
        .run();
    list.ok();
    assert_eq!(list.stdout_text(), "records/late-invoice.txt\n");
}
