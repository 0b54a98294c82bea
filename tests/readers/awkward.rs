//! The awkward tree as data (every name, mode and time the readers are held
//! to) and writing it to disk, symlink times included.

use std::collections::BTreeSet;
use std::ffi::OsStr;
use std::fs;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use crate::common::What;

/// One record of the awkward tree: path below the source folder (and below
/// `records/` in the archive), what it is, mode, mtime (seconds,
/// nanoseconds).
#[derive(Clone, Debug)]
pub struct Rec {
    pub path: Vec<u8>,
    pub what: What,
    pub mode: u32,
    pub mtime: (i64, u32),
}

fn file(path: impl Into<Vec<u8>>, data: impl Into<Vec<u8>>, mode: u32, mtime: (i64, u32)) -> Rec {
    Rec {
        path: path.into(),
        what: What::File(data.into()),
        mode,
        mtime,
    }
}

/// The long names of the tree: a 137-byte file name; a 313-byte member
/// path (fits no ustar field); a path that fits only split into prefix and
/// name.
pub fn long_name() -> String {
    format!("{}.pdf", "Lange-bestandsnaam-".repeat(7))
}
pub fn long_path() -> String {
    let d = "d".repeat(120);
    format!("{d}/{d}/{}.txt", "f".repeat(60))
}
pub fn split_path() -> String {
    format!("{}/{}.txt", "gesplitst-pad-".repeat(8), "x".repeat(40))
}

/// Every awkward thing the issue lists, as data. Folders not listed get a
/// generated mtime; `big` adds a record larger than a zstd frame.
pub fn awkward(big: bool) -> Vec<Rec> {
    let t = |i: i64, nsec: u32| (1_546_300_800 + i * 86_413, nsec);
    let mut recs = vec![
        file("empty.txt", "", 0o644, t(1, 0)),
        file(
            "invoices/INV-2019-0001.txt",
            "Factuur INV-2019-0001\nTotaal: EUR 121,00\n",
            0o644,
            t(2, 123_456_789),
        ),
        file(
            format!("invoices/{}", long_name()),
            "long name",
            0o644,
            t(3, 1),
        ),
        file(long_path(), "long path", 0o644, t(4, 999_999_999)),
        file(split_path(), "split path", 0o644, t(5, 500_000_000)),
        file(
            "a/b/c/d/e/f/g/h/i/j/k/l/deep.txt",
            "deep",
            0o644,
            t(6, 250_000_000),
        ),
        file("unicode/caf\u{e9}-NFC.txt", "nfc", 0o644, t(7, 7)),
        file("unicode/cafe\u{301}-NFD.txt", "nfd", 0o644, t(8, 8)),
        file(
            "unicode/\u{dc}berweisung \u{20ac} \u{65e5}\u{672c}\u{8a9e} \u{2713}.txt",
            "unicode",
            0o644,
            t(9, 900_000_000),
        ),
        file("odd/back\\slash.txt", "backslash", 0o644, t(10, 10)),
        file("odd/line\nbreak.txt", "newline", 0o644, t(11, 11)),
        file("odd/tab\there.txt", "tab", 0o644, t(12, 12)),
        file("odd/-leading-dash.txt", "dash", 0o644, t(13, 0)),
        file("odd/--help", "double dash", 0o644, t(14, 14)),
        file("odd/ leading space.txt", "space", 0o644, t(15, 15)),
        file(&b"latin1/caf\xe9.txt"[..], "not UTF-8", 0o644, t(16, 16)),
        file("modes/private.txt", "owner only", 0o600, t(17, 17)),
        file("modes/run-me.sh", "#!/bin/sh\necho hi\n", 0o755, t(18, 18)),
        file("modes/group-writable.txt", "group", 0o664, t(19, 19)),
        file(
            "old/1969.txt",
            "a day before 1970",
            0o644,
            (-86_401, 250_000_000),
        ),
        file("old/1960.txt", "1960", 0o644, (-315_619_200, 0)),
        file("old/epoch.txt", "1970", 0o644, (0, 0)),
        Rec {
            path: b"empty-folder".to_vec(),
            what: What::Dir,
            mode: 0o755,
            mtime: t(20, 20),
        },
        Rec {
            path: b"modes/locked-folder".to_vec(),
            what: What::Dir,
            mode: 0o700,
            mtime: t(21, 21),
        },
        Rec {
            path: b"old".to_vec(),
            what: What::Dir,
            mode: 0o755,
            mtime: (-1_000_000, 600_000_000),
        },
        Rec {
            path: b"links/latest-invoice".to_vec(),
            what: What::Link(b"../invoices/INV-2019-0001.txt".to_vec()),
            mode: 0o777,
            mtime: t(22, 777_000_001),
        },
        Rec {
            path: b"links/to-folder".to_vec(),
            what: What::Link(b"../unicode".to_vec()),
            mode: 0o777,
            mtime: t(23, 23),
        },
        Rec {
            path: b"links/long-target".to_vec(),
            what: What::Link(format!("../{}", long_path()).into_bytes()),
            mode: 0o777,
            mtime: t(24, 24),
        },
        Rec {
            path: b"links/same-folder".to_vec(),
            what: What::Link(b"dangling-on-purpose".to_vec()),
            mode: 0o777,
            mtime: t(25, 0),
        },
        Rec {
            path: b"latin1/link-caf\xe9".to_vec(),
            what: What::Link(b"caf\xe9.txt".to_vec()),
            mode: 0o777,
            mtime: t(26, 26),
        },
    ];
    if big {
        // Incompressible, so it spans frames (each holds at most 4 MiB).
        let mut x = 2019u64;
        let data: Vec<u8> = (0..(5 << 20))
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x as u8
            })
            .collect();
        recs.push(file("bigger-than-a-frame.bin", data, 0o644, t(27, 27)));
    }
    // Every folder a record is in, with a generated time unless listed.
    let listed: BTreeSet<Vec<u8>> = recs.iter().map(|r| r.path.clone()).collect();
    let mut folders = BTreeSet::new();
    for r in &recs {
        let mut p = r.path.as_slice();
        while let Some(i) = p.iter().rposition(|&b| b == b'/') {
            p = &p[..i];
            if !listed.contains(p) {
                folders.insert(p.to_vec());
            }
        }
    }
    for (i, f) in folders.into_iter().enumerate() {
        recs.push(Rec {
            path: f,
            what: What::Dir,
            mode: 0o755,
            mtime: t(40 + i as i64, 4_000 + i as u32),
        });
    }
    recs
}

/// Writes the tree below `root` with every mode and mtime (folders last,
/// deepest first, so that writing into them does not change theirs).
pub fn write_tree(root: &Path, recs: &[Rec]) {
    fs::create_dir_all(root).unwrap();
    let mut sorted: Vec<&Rec> = recs.iter().collect();
    sorted.sort_by_key(|r| r.path.clone());
    for r in &sorted {
        let p = root.join(OsStr::from_bytes(&r.path));
        fs::create_dir_all(p.parent().unwrap()).unwrap();
        match &r.what {
            What::Dir => fs::create_dir_all(&p).unwrap(),
            What::File(data) => {
                fs::write(&p, data).unwrap();
                fs::set_permissions(&p, fs::Permissions::from_mode(r.mode)).unwrap();
            }
            What::Link(target) => {
                std::os::unix::fs::symlink(OsStr::from_bytes(target), &p).unwrap()
            }
        }
    }
    sorted.sort_by_key(|r| std::cmp::Reverse(r.path.iter().filter(|&&b| b == b'/').count()));
    for r in sorted.iter().filter(|r| !matches!(r.what, What::Dir)) {
        set_time(&root.join(OsStr::from_bytes(&r.path)), r.mtime);
    }
    for r in sorted.iter().filter(|r| matches!(r.what, What::Dir)) {
        let p = root.join(OsStr::from_bytes(&r.path));
        fs::set_permissions(&p, fs::Permissions::from_mode(r.mode)).unwrap();
        set_time(&p, r.mtime);
    }
}

/// Sets the mtime of `path` itself (a symlink too, not what it points to).
pub fn set_time(path: &Path, (secs, nsec): (i64, u32)) {
    let times = rustix::fs::Timestamps {
        last_access: rustix::fs::Timespec {
            tv_sec: secs,
            tv_nsec: nsec.into(),
        },
        last_modification: rustix::fs::Timespec {
            tv_sec: secs,
            tv_nsec: nsec.into(),
        },
    };
    rustix::fs::utimensat(
        rustix::fs::CWD,
        path,
        &times,
        rustix::fs::AtFlags::SYMLINK_NOFOLLOW,
    )
    .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
}
