//! The writer's tests: archives written here are read back by the reader,
//! by tar, and checked frame by frame.

use super::*;

#[test]
fn pax_mtime() {
    assert_eq!(Mtime { secs: 5, nsec: 0 }.pax(), "5");
    assert_eq!(
        Mtime {
            secs: 5,
            nsec: 250_000_000
        }
        .pax(),
        "5.25"
    );
    assert_eq!(
        Mtime {
            secs: -2,
            nsec: 500_000_000
        }
        .pax(),
        "-1.5"
    );
    let t = std::time::UNIX_EPOCH - std::time::Duration::from_millis(1500);
    assert_eq!(
        Mtime::from_system(t),
        Mtime {
            secs: -2,
            nsec: 500_000_000
        }
    );
    assert_eq!(Mtime::from_system(t).to_system(), t);
    for m in [
        Mtime { secs: 5, nsec: 0 },
        Mtime { secs: 5, nsec: 1 },
        Mtime {
            secs: -2,
            nsec: 500_000_000,
        },
        Mtime {
            secs: -1,
            nsec: 999_999_999,
        },
        Mtime { secs: -7, nsec: 0 },
    ] {
        assert_eq!(Mtime::from_pax(&m.pax()), Some(m), "{}", m.pax());
    }
    assert_eq!(
        Mtime::from_pax("1.0000000019"),
        Some(Mtime { secs: 1, nsec: 1 })
    );
    for bad in ["", "-", ".5", "1e3", "+1", "1.-5", "x"] {
        assert_eq!(Mtime::from_pax(bad), None, "{bad}");
    }
}

/// The path a pax-unaware reader sees: the ustar prefix and name.
fn ustar_path(path: &[u8]) -> Vec<u8> {
    let mut header = tar::Header::new_ustar();
    set_ustar_name(&mut header, path);
    let ustar = header.as_ustar().unwrap();
    let field = |f: &[u8]| f[..f.iter().position(|&b| b == 0).unwrap_or(f.len())].to_vec();
    let (prefix, name) = (field(&ustar.prefix), field(&ustar.name));
    if prefix.is_empty() {
        name
    } else {
        [prefix, b"/".to_vec(), name].concat()
    }
}

#[test]
fn ustar_fields_hold_every_path_that_fits_exactly() {
    let d = |n: usize| "d".repeat(n);
    for path in [
        "records/a.txt".to_string(),
        format!("records/{}", d(92)),                      // 100 bytes
        format!("records/{}/{}", d(100), "f".repeat(100)), // prefix 108 + name 100
        format!("records/{}/{}/x", d(70), d(77)),          // prefix 155 + name 1
        format!("records/{}/", d(95)),                     // folder: name keeps its `/`
    ] {
        assert_eq!(ustar_path(path.as_bytes()), path.as_bytes(), "{path}");
    }
    // Bytes that are not UTF-8 go as they are.
    assert_eq!(ustar_path(b"records/caf\xe9.txt"), b"records/caf\xe9.txt");
}

#[test]
fn ustar_fields_of_a_path_too_long_keep_its_name_once() {
    let d = "d".repeat(120);
    let long = format!("records/{d}/{d}/{}.txt", "f".repeat(60));
    assert_eq!(
        ustar_path(long.as_bytes()),
        format!("records/{d}/{}.txt", "f".repeat(60)).as_bytes()
    );
    // A name longer than the field: cut, not repeated.
    let name = format!("{}.pdf", "Lange-bestandsnaam-".repeat(7));
    let got = ustar_path(format!("records/invoices/{name}").as_bytes());
    assert_eq!(got, format!("records/invoices/{}", &name[..100]).as_bytes());
    // Cut at a character, never inside one.
    let name = format!("{}é{}", "x".repeat(99), "y".repeat(50));
    let got = ustar_path(format!("records/{name}").as_bytes());
    assert_eq!(got, format!("records/{}", "x".repeat(99)).as_bytes());
    // A folder too deep for the prefix keeps its top folders.
    let deep = format!("records/{}x.txt", "abcdefghi/".repeat(30));
    let got = String::from_utf8(ustar_path(deep.as_bytes())).unwrap();
    assert!(
        got.starts_with("records/abcdefghi/") && got.ends_with("/x.txt"),
        "{got}"
    );
    assert!(
        deep.starts_with(got.strip_suffix("x.txt").unwrap()),
        "{got}"
    );
}

#[test]
fn pax_headers_are_named_and_complete() {
    let path = "records/a/Überweisung ".to_string() + &"é".repeat(60);
    let (records, header) = pax_header(
        path.as_bytes(),
        Mtime { secs: -5, nsec: 1 },
        &[("path", path.as_bytes()), ("mtime", b"-4.999999999")],
    );
    let name = header.path_bytes();
    assert!(name.starts_with("PaxHeaders/Überweisung é".as_bytes()));
    assert!(name.len() <= 100 && std::str::from_utf8(&name).is_ok());
    assert_eq!(header.entry_type(), tar::EntryType::XHeader);
    assert_eq!(header.mode().unwrap(), 0o644);
    assert_eq!((header.uid().unwrap(), header.gid().unwrap()), (0, 0));
    assert_eq!(header.mtime().unwrap(), 0);
    assert_eq!(header.cksum().unwrap(), {
        let mut h = header.clone();
        h.set_cksum();
        h.cksum().unwrap()
    });
    assert_eq!(header.size().unwrap(), records.len() as u64);
    // The records are those the tar crate writes.
    let mut theirs = Vec::new();
    let mut b = tar::Builder::new(&mut theirs);
    b.append_pax_extensions([("path", path.as_bytes()), ("mtime", &b"-4.999999999"[..])])
        .unwrap();
    b.into_inner().unwrap();
    assert_eq!(&theirs[512..512 + records.len()], &records[..]);
    for len in [5usize, 6, 7, 93, 94, 95, 994, 995, 996] {
        let value = vec![b'v'; len];
        let (records, _) = pax_header(b"x", Mtime::default(), &[("k", &value)]);
        let (n, _) = std::str::from_utf8(&records)
            .unwrap()
            .split_once(' ')
            .unwrap();
        assert_eq!(n.parse::<usize>().unwrap(), records.len(), "{len}");
    }
}
