//! Hostile archives: tars with `../x`, absolute paths and symlinks pointing
//! out, wrapped by stock `zstd` and `age`, and kluis archives crafted
//! through the library's writer (which does not check member paths). kluis
//! refuses them and writes nothing outside the restore folder, and never
//! writes a record through a symlink.

use std::collections::BTreeMap;
use std::ffi::OsStr;
use std::fs;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use kluis::format::seektable::{self, FrameEntry};
use kluis::format::writer::{ArchiveWriter, WriteOptions};

use crate::common::*;

/// Everything in the test folder except below `except` and in the vault
/// (which `verify` updates), to show that a refused restore changed nothing
/// anywhere else.
fn world(env: &Env, except: &Path) -> BTreeMap<Vec<u8>, Node> {
    let mut all = snapshot(env.root());
    let skip = except.strip_prefix(env.root()).unwrap();
    all.retain(|p, _| {
        let p = Path::new(OsStr::from_bytes(p));
        !p.starts_with(skip) && !p.starts_with("vault")
    });
    all
}

/// A ustar header written field by field, so that nothing sanitises the
/// name or link target.
fn raw_header(name: &[u8], kind: tar::EntryType, size: u64, link: &[u8]) -> tar::Header {
    let mut h = tar::Header::new_ustar();
    let old = h.as_old_mut();
    old.name[..name.len()].copy_from_slice(name);
    old.linkname[..link.len()].copy_from_slice(link);
    h.set_entry_type(kind);
    h.set_size(size);
    h.set_mode(0o644);
    h.set_mtime(1_546_300_800);
    h.set_cksum();
    h
}

/// The hostile tar: `../x`, an absolute path, a symlink to outside and a
/// file written through it, and one harmless record.
fn hostile_tar(env: &Env) -> Vec<u8> {
    let abs = env.p("abs-evil.txt");
    let outside = env.p("outside");
    let mut b = tar::Builder::new(Vec::new());
    let file = |name: &[u8], data: &[u8]| {
        (
            raw_header(name, tar::EntryType::Regular, data.len() as u64, b""),
            data.to_vec(),
        )
    };
    let entries = vec![
        file(b"records/ok.txt", b"harmless"),
        file(b"../dotdot-evil.txt", b"evil"),
        file(abs.as_os_str().as_encoded_bytes(), b"evil"),
        (
            raw_header(
                b"records/link",
                tar::EntryType::Symlink,
                0,
                outside.as_os_str().as_encoded_bytes(),
            ),
            Vec::new(),
        ),
        file(b"records/link/through-link.txt", b"evil"),
    ];
    for (h, data) in entries {
        b.append(&h, &data[..]).unwrap();
    }
    b.into_inner().unwrap()
}

#[test]
fn hostile_tar_from_stock_tools_is_not_a_kluis_archive() {
    if !stock_tools() {
        return;
    }
    let (env, key) = Env::ready();
    fs::create_dir(env.p("outside")).unwrap();
    fs::create_dir(env.p("files")).unwrap();
    let tar = hostile_tar(&env);
    fs::write(env.p("hostile.tar"), &tar).unwrap();
    bash(
        env.root(),
        "tar -tvf hostile.tar >/dev/null && zstd -q -c hostile.tar > hostile.tar.zst",
    )
    .ok();

    // 1. tar | zstd | age: no seek table.
    bash(
        env.root(),
        &format!(
            "age -r {} -o files/stock.kluis hostile.tar.zst",
            key.recipient
        ),
    )
    .ok();
    // 2. The same with a valid seek table appended: it gets past the seek
    //    table, and is refused for lack of kluis's footer.
    let zst = fs::read(env.p("hostile.tar.zst")).unwrap();
    let table = seektable::encode(&[FrameEntry {
        compressed: zst.len() as u32,
        decompressed: tar.len() as u32,
        checksum: Some(u32::from_le_bytes(zst[zst.len() - 4..].try_into().unwrap())),
    }]);
    fs::write(env.p("hostile.seekable.zst"), [zst, table].concat()).unwrap();
    bash(env.root(), "zstd -q -t hostile.seekable.zst").ok();
    bash(
        env.root(),
        &format!(
            "age -r {} -o files/stock-seekable.kluis hostile.seekable.zst",
            key.recipient
        ),
    )
    .ok();

    for (name, why) in [
        ("stock.kluis", "no seek table"),
        ("stock-seekable.kluis", "kluis/footer.json"),
    ] {
        let archive = env.p("files").join(name);
        let target = env.p("restore/here");
        let before = world(&env, &env.p("restore"));
        for cmd in [
            env.list(&key, &archive),
            env.restore(&key, &archive, &target),
        ] {
            cmd.run().error(2, &[name, "not a kluis archive", why]);
        }
        env.verify(&key, &archive)
            .run()
            .code(1)
            .stdout_has("not a kluis archive");
        assert!(!exists(&target), "nothing restored from {name}");
        assert!(
            world(&env, &env.p("restore")) == before,
            "{name}: something was written"
        );
        assert!(!exists(&env.p("dotdot-evil.txt")) && !exists(&env.p("restore/dotdot-evil.txt")));
        assert!(!exists(&env.p("abs-evil.txt")));
        assert_eq!(names(&env.p("outside")), Vec::<String>::new());
    }
}

/// Writes an archive through the library's [`ArchiveWriter`] to
/// `files/NAME`, encrypted to `key`; `build` adds whatever members it likes.
fn craft(env: &Env, key: &Key, name: &str, build: impl FnOnce(&mut ArchiveWriter)) -> PathBuf {
    fs::create_dir_all(env.p("files")).unwrap();
    let path = env.p("files").join(name);
    let options = WriteOptions {
        level: 3,
        workers: 1,
        ..WriteOptions::default()
    };
    write_archive(&path, key, &options, build);
    path
}

fn add(w: &mut ArchiveWriter, path: &[u8], data: &[u8]) {
    add_member(w, path, data, T2019);
}

#[test]
fn crafted_kluis_archives_with_unsafe_members_restore_nothing() {
    let (env, key) = Env::ready();
    fs::create_dir(env.p("outside")).unwrap();
    let abs = env.p("abs-evil.txt");
    let abs = abs.as_os_str().as_encoded_bytes().to_vec();
    let outside = env.p("outside");
    let outside = outside.as_os_str().as_encoded_bytes().to_vec();
    type Build = Box<dyn FnOnce(&mut ArchiveWriter)>;
    let cases: Vec<(&str, &str, Build)> = vec![
        (
            "dotdot.kluis",
            "records/../../../dotdot-evil.txt",
            Box::new(|w| add(w, b"records/../../../dotdot-evil.txt", b"evil")),
        ),
        (
            "absolute.kluis",
            "abs-evil.txt",
            Box::new(move |w| add(w, &abs, b"evil")),
        ),
        (
            "outside-link.kluis",
            "records/link",
            Box::new(|w| {
                w.add_symlink(b"records/link", b"../../../outside", 0o777, T2019)
                    .unwrap();
                add(w, b"records/link/through-link.txt", b"evil");
            }),
        ),
        (
            "absolute-link.kluis",
            "records/link",
            Box::new(move |w| {
                w.add_symlink(b"records/link", &outside, 0o777, T2019)
                    .unwrap();
                add(w, b"records/link/through-link.txt", b"evil");
            }),
        ),
        (
            "not-below-records.kluis",
            "evil.txt",
            Box::new(|w| add(w, b"evil.txt", b"evil")),
        ),
        (
            "dot-component.kluis",
            "records/./x.txt",
            Box::new(|w| add(w, b"records/./x.txt", b"evil")),
        ),
    ];
    for (name, entry, build) in cases {
        let archive = craft(&env, &key, name, |w| {
            add(w, b"records/a-harmless.txt", b"harmless");
            build(w);
        });
        let target = env.p("restore/deep/target");
        let before = world(&env, &env.p("restore"));
        env.restore(&key, &archive, &target)
            .run()
            .error(2, &[name, entry, "unsafe"]);
        assert_eq!(
            names(&target),
            Vec::<String>::new(),
            "{name}: nothing restored, not even the harmless record"
        );
        assert!(
            world(&env, &env.p("restore")) == before,
            "{name}: something was written"
        );
        for evil in [
            "restore/dotdot-evil.txt",
            "restore/deep/dotdot-evil.txt",
            "dotdot-evil.txt",
            "abs-evil.txt",
        ] {
            assert!(!exists(&env.p(evil)), "{name}: wrote {evil}");
        }
        assert_eq!(names(&env.p("outside")), Vec::<String>::new(), "{name}");
        fs::remove_dir_all(env.p("restore")).unwrap();
    }
}

/// Links that stay inside the restore folder are restored, but never
/// written through: a record below a link is refused.
#[test]
fn records_are_never_written_through_a_symlink() {
    let (env, key) = Env::ready();
    let archive = craft(&env, &key, "through.kluis", |w| {
        w.add_dir(b"records/sub", 0o755, T2019).unwrap();
        w.add_symlink(b"records/dir-link", b"sub", 0o777, T2019)
            .unwrap();
        add(w, b"records/dir-link/x.txt", b"through the link");
        w.add_dir(b"records/a", 0o755, T2019).unwrap();
        w.add_symlink(b"records/a/up", b"..", 0o777, T2019).unwrap();
        add(w, b"records/a/up/y.txt", b"through the link");
        add(w, b"records/ok.txt", b"fine");
    });
    let target = env.p("out");
    env.restore(&key, &archive, &target)
        .run()
        .code(1)
        .stdout_has("NOT restored: records/dir-link/x.txt")
        .stdout_has("NOT restored: records/a/up/y.txt");
    assert!(!exists(&target.join("records/sub/x.txt")));
    assert!(!exists(&target.join("records/y.txt")));
    assert_eq!(fs::read(target.join("records/ok.txt")).unwrap(), b"fine");
    assert_eq!(
        fs::read_link(target.join("records/dir-link")).unwrap(),
        Path::new("sub")
    );
}
