//! What bad input gets (issue 2): one clear sentence naming the thing, exit
//! code 2 for errors or 1 for damage a check found, and nothing lost: the
//! source untouched, no new archive and no temporary leftovers on a medium,
//! nothing restored from an archive that cannot be trusted.

use std::ffi::OsStr;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use kluis::format::manifest::{Entry, Kind};
use kluis::format::reader::ArchiveReader;
use kluis::format::seektable::Frame;
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
fn damaged_copy(
    env: &Env,
    archive: &Path,
    name: &str,
    change: impl FnOnce(&mut Vec<u8>),
) -> PathBuf {
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
    check
        .code(1)
        .stdout_has("2019-financial.kluis: the key does NOT open it");
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
    env.archive(
        2019,
        &["stick"],
        &["--passphrase-file", "right.txt"],
        &["src"],
    )
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
fn truncated_inside_the_age_header_is_damage() {
    let (env, key) = Env::ready();
    let archive = small_archive(&env);
    let bytes = fs::read(&archive).unwrap();
    let start = payload_start(&bytes);
    for (name, keep) in [
        ("header-half.kluis", start / 2),
        ("header-all-but-one.kluis", start - 1),
    ] {
        let cut = damaged_copy(&env, &archive, name, |b| b.truncate(keep));
        refused_everywhere(&env, &key, &cut, "truncated");
    }
}

/// An archive of small records around three 3 MB incompressible ones, so
/// that `big2.bin` is a data frame of its own; one byte in the middle of
/// that frame's ciphertext is flipped. Returns the archive.
fn archive_with_flipped_byte_in_big2(env: &Env, key: &Key) -> PathBuf {
    let src = env.p("src");
    let mut rng = Rng::new(4);
    write_file(&src.join("a-first.txt"), b"first", 0o644);
    for n in 1..=3 {
        write_file(
            &src.join(format!("big{n}.bin")),
            &rng.bytes(3_000_000),
            0o644,
        );
    }
    write_file(&src.join("z-last.txt"), b"last", 0o644);
    stamp_tree(&src);
    env.archive(2019, &["stick"], &[], &["src"]).ok();
    let archive = env.p("stick/2019-financial.kluis");

    // The data frame holding the middle of big2.bin, and only big2.bin.
    let (entries, frame) = flip_byte_in_frame_of(&archive, key, b"records/big2.bin");
    let big2 = entries
        .iter()
        .find(|e| e.path == b"records/big2.bin")
        .unwrap();
    assert!(
        frame.d_offset >= big2.offset && frame.d_end() <= big2.data_offset + big2.size + 511,
        "the frame holds big2.bin alone: {frame:?} {big2:?}"
    );
    archive
}

/// Flips one bit in the ciphertext of the data frame holding the middle of
/// `record`; returns the archive's manifest and that frame.
fn flip_byte_in_frame_of(archive: &Path, key: &Key, record: &[u8]) -> (Vec<Entry>, Frame) {
    let mut ids = Identities::default();
    ids.add_file(&key.path).unwrap();
    let mut reader = ArchiveReader::open(archive, &ids).unwrap();
    let entries: Vec<Entry> = reader.manifest().unwrap().map(Result::unwrap).collect();
    let middle = entries
        .iter()
        .find(|e| e.path == record)
        .map(|e| e.data_offset + e.size / 2)
        .unwrap();
    let frame = *reader
        .frames()
        .iter()
        .find(|f| f.d_offset <= middle && middle < f.d_end())
        .unwrap();
    drop(reader);
    let plain_pos = frame.c_offset + u64::from(frame.entry.compressed) / 2;
    let mut bytes = fs::read(archive).unwrap();
    let start = payload_start(&bytes) as u64 + 16;
    let at = start + (plain_pos / 65536) * (65536 + 16) + plain_pos % 65536;
    bytes[at as usize] ^= 0x20;
    fs::write(archive, &bytes).unwrap();
    (entries, frame)
}

/// A byte flipped inside one record's frame is found: without the key by
/// its SHA-256, with the key by naming the record; the record is not
/// restored, records elsewhere are.
#[test]
fn flipped_byte_is_found_with_and_without_the_key() {
    let (env, key) = Env::ready();
    let archive = archive_with_flipped_byte_in_big2(&env, &key);

    env.kluis()
        .arg("verify")
        .arg(env.p("stick"))
        .run()
        .code(1)
        .stdout_has("SHA-256 differs from SHA256SUMS")
        .stdout_has("2019-financial.kluis: DAMAGED");
    env.kluis()
        .args(["verify", "-i"])
        .arg(&key.path)
        .arg(env.p("stick"))
        .run()
        .code(1)
        .stdout_has("records/big2.bin: damaged");

    let restore = env
        .kluis()
        .args(["restore", "-i"])
        .arg(&key.path)
        .arg(&archive)
        .arg("--to")
        .arg(env.p("out"))
        .arg("big2.bin")
        .run();
    restore.code(1).stdout_has("NOT restored: records/big2.bin");
    assert!(
        !exists(&env.p("out/records/big2.bin")),
        "no half-restored file"
    );
    for (n, fine) in ["a-first.txt", "z-last.txt"].into_iter().enumerate() {
        let to = env.p(format!("one-{n}"));
        env.kluis()
            .args(["restore", "-i"])
            .arg(&key.path)
            .arg(&archive)
            .arg("--to")
            .arg(&to)
            .arg(fine)
            .run()
            .ok();
        assert_eq!(
            fs::read(to.join("records").join(fine)).unwrap(),
            fs::read(env.p("src").join(fine)).unwrap()
        );
    }
}

/// The same damage is confined to its record: the full verify names
/// `big2.bin` and nothing else, and a restore of everything brings back
/// every other record.
#[test]
fn flipped_byte_damages_only_its_record() {
    let (env, key) = Env::ready();
    let archive = archive_with_flipped_byte_in_big2(&env, &key);
    let others = ["a-first.txt", "big1.bin", "big3.bin", "z-last.txt"];

    let full = env
        .kluis()
        .args(["verify", "--json", "-i"])
        .arg(&key.path)
        .arg(&archive)
        .run();
    full.code(1);
    let report = full.json();
    let check = &report["archives"][0]["full"];
    let problems = check["problems"].as_array().unwrap();
    assert!(!problems.is_empty(), "{full}");
    assert!(
        problems.iter().all(|p| p["path"] == "records/big2.bin"),
        "only big2.bin is damaged{full}"
    );
    assert_eq!(
        check["damaged_frames"].as_array().unwrap().len(),
        1,
        "one damaged frame{full}"
    );

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
    for fine in others {
        assert!(
            !restore.stdout_text().contains(fine),
            "{fine} restores{restore}"
        );
        assert_eq!(
            fs::read(env.p("out/records").join(fine)).unwrap(),
            fs::read(env.p("src").join(fine)).unwrap()
        );
    }
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
    assert_eq!(visible_names(&env.p("stick")), Vec::<String>::new());
    assert_no_new_archive(&env.p("stick"), &[]);
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
    fs::create_dir(env.p("stick")).unwrap();
    env.kluis()
        .args(["archive", "--year", "2019", "--to"])
        .arg(env.p("stick"))
        .arg("--to")
        .arg(env.p("not-mounted"))
        .arg(env.p("src"))
        .run()
        .error(2, &["not-mounted"]);
    assert!(
        !exists(&env.p("not-mounted")),
        "a missing medium is not made up"
    );
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
    assert_eq!(visible_names(&env.p("stick-a")), Vec::<String>::new());
    assert_no_new_archive(&env.p("stick-a"), &[]);
    assert_eq!(names(&env.p("stick-b")), Vec::<String>::new());
    assert_eq!(catalog(&env), before);
}

/// The arguments that run a command with `dir` mounted read-only: a
/// read-only bind mount in a private mount namespace (`unshare`), so that
/// nothing outlives the command. `None` (after saying why) where that is
/// not possible (it needs root).
fn read_only_wrapper(env: &Env, dir: &Path) -> Option<Vec<std::ffi::OsString>> {
    let remount = "mount --bind \"$0\" \"$0\" && mount -o remount,bind,ro \"$0\" && exec \"$@\"";
    let probe = bash(
        env.root(),
        &format!(
            "unshare --mount --propagation private sh -c '{}' {} sh -c '! touch \"$0\"/probe 2>/dev/null' {}",
            remount.replace('\'', r"'\''"),
            sh_quote(dir),
            sh_quote(dir)
        ),
    );
    if !is_root() || probe.code != Some(0) {
        eprintln!(
            "SKIPPED: cannot make a read-only bind mount here (needs root and unshare){probe}"
        );
        return None;
    }
    Some(
        [
            "unshare",
            "--mount",
            "--propagation",
            "private",
            "sh",
            "-c",
            remount,
        ]
        .into_iter()
        .map(Into::into)
        .chain([dir.as_os_str().to_owned()])
        .collect(),
    )
}

/// A medium mounted read-only (EROFS): refused, the other medium clean.
#[test]
fn read_only_medium_is_refused() {
    let (env, _key) = Env::ready();
    write_file(&env.p("src/a.txt"), b"a", 0o644);
    for m in ["stick-a", "stick-b"] {
        fs::create_dir(env.p(m)).unwrap();
    }
    let ro = env.p("stick-b");
    let Some(wrapper) = read_only_wrapper(&env, &ro) else {
        return;
    };
    let wrapper: Vec<&OsStr> = wrapper.iter().map(|a| a.as_os_str()).collect();
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
    assert_eq!(visible_names(&env.p("stick-a")), Vec::<String>::new());
    assert_no_new_archive(&env.p("stick-a"), &[]);
    assert_eq!(names(&ro), Vec::<String>::new());
    assert_eq!(catalog(&env), before);
}

/// A write-protected medium can still be checked and restored from:
/// reading never needs to write to it.
#[test]
fn read_only_medium_can_be_verified_and_restored_from() {
    let (env, key) = Env::ready();
    let archive = small_archive(&env);
    let medium = env.p("stick");
    let Some(wrapper) = read_only_wrapper(&env, &medium) else {
        return;
    };
    let wrapper: Vec<&OsStr> = wrapper.iter().map(|a| a.as_os_str()).collect();
    let before = names(&medium);
    env.kluis_under(&wrapper)
        .arg("verify")
        .arg(&medium)
        .run()
        .ok();
    env.kluis_under(&wrapper)
        .args(["verify", "-i"])
        .arg(&key.path)
        .arg(&medium)
        .run()
        .ok();
    env.kluis_under(&wrapper)
        .args(["list", "-i"])
        .arg(&key.path)
        .arg(&archive)
        .run()
        .ok();
    env.kluis_under(&wrapper)
        .args(["restore", "-i"])
        .arg(&key.path)
        .arg(&archive)
        .arg("--to")
        .arg(env.p("out"))
        .run()
        .ok();
    assert_same_tree(&env.p("src"), &env.p("out/records"));
    assert_eq!(names(&medium), before);
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
    assert_eq!(
        fs::read(&archive).unwrap(),
        first,
        "the archive is untouched"
    );

    // Another class of the same year is another archive.
    env.archive(2019, &["stick"], &["--class", "real-estate"], &["late"])
        .ok();
    env.archive(2019, &["stick"], &["--supplement"], &["late"])
        .ok()
        .stdout_has("2019-financial-2.kluis");
    assert_eq!(
        visible_names(&env.p("stick")),
        [
            "2019-financial-2.kluis",
            "2019-financial.kluis",
            "2019-real-estate.kluis",
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

/// A damaged frame holding many small records: each of them is reported
/// and left out, every other record is restored, and the restore finishes
/// (the checker's buffers come back after every failed record).
#[test]
fn restore_skips_every_record_of_a_damaged_frame() {
    let (env, key) = Env::ready();
    let src = env.p("src");
    let mut rng = Rng::new(7);
    for n in 0..150 {
        write_file(&src.join(format!("r{n:03}.bin")), &rng.bytes(40_000), 0o644);
    }
    stamp_tree(&src);
    env.archive(2019, &["stick"], &[], &["src"]).ok();
    let archive = env.p("stick/2019-financial.kluis");

    let (entries, frame) = flip_byte_in_frame_of(&archive, &key, b"records/r075.bin");
    let inside: Vec<String> = entries
        .iter()
        .filter(|e| e.offset < frame.d_end() && frame.d_offset < e.data_offset + e.size)
        .map(|e| e.display_path())
        .collect();
    assert!(inside.len() > 20, "many records in the frame: {inside:?}");

    let restore = env
        .kluis_under(&[OsStr::new("timeout"), OsStr::new("120")])
        .args(["restore", "-i"])
        .arg(&key.path)
        .arg(&archive)
        .arg("--to")
        .arg(env.p("out"))
        .run();
    restore.code(1);
    let out = restore.stdout_text();
    for e in &entries {
        let name = e.display_path();
        let restored = env.p("out").join(&name);
        if inside.contains(&name) {
            assert!(
                out.contains(&format!("NOT restored: {name}")),
                "{name}{restore}"
            );
            assert!(!exists(&restored), "{name}");
        } else if e.kind == Kind::File {
            let rel = name.strip_prefix("records/").unwrap();
            assert_eq!(
                fs::read(&restored).unwrap(),
                fs::read(src.join(rel)).unwrap()
            );
        }
    }
}

/// A recipient stanza of the age header that no longer parses is damage
/// of the archive (exit 1 from verify), not a problem with the key.
#[test]
fn a_damaged_age_header_is_reported_as_damage() {
    let (env, key) = Env::ready();
    let archive = small_archive(&env);
    let damaged = damaged_copy(&env, &archive, "header.kluis", |b| {
        let at = b
            .windows(10)
            .position(|w| w == b"-> X25519 ")
            .expect("an X25519 stanza");
        b[at + 12] = b'!'; // not base64
    });
    env.kluis()
        .args(["verify", "-i"])
        .arg(&key.path)
        .arg(&damaged)
        .run()
        .code(1)
        .stdout_has("age header is damaged");
    env.kluis()
        .args(["list", "-i"])
        .arg(&key.path)
        .arg(&damaged)
        .run()
        .error(2, &["header.kluis", "age header is damaged"]);
}
