//! Round trips: what goes onto the media comes back byte for byte, with its
//! names, modes, link targets and mtimes to the nanosecond.

use std::fs;
use std::os::unix::fs::PermissionsExt;

use crate::common::*;

#[test]
fn awkward_tree_round_trips_through_two_media() {
    let (env, key) = Env::ready();
    let src = env.p("records-2019");
    awkward_tree(&src);
    let before = snapshot(&src);

    env.archive(2019, &["stick-a", "stick-b"], &[], &["records-2019"])
        .ok()
        .stdout_has("2019-financial.kluis");
    assert!(snapshot(&src) == before, "archiving changed the source");

    let (a, b) = (
        env.p("stick-a/2019-financial.kluis"),
        env.p("stick-b/2019-financial.kluis"),
    );
    assert_eq!(
        file_sha256(&a),
        file_sha256(&b),
        "both media hold the same archive"
    );
    for medium in ["stick-a", "stick-b"] {
        assert_no_new_archive(&env.p(medium), &["2019-financial.kluis"]);
        let (parity, others): (Vec<String>, Vec<String>) = visible_names(&env.p(medium))
            .into_iter()
            .partition(|n| n.ends_with(".par2"));
        assert_eq!(parity.len(), 2, "index and one volume: {parity:?}");
        assert_eq!(parity[0], "2019-financial.kluis.par2");
        assert_eq!(
            others,
            [
                "2019-financial.kluis",
                "README.txt",
                "SHA256SUMS",
                "SHA256SUMS.minisig",
                "kluis-medium.json"
            ]
        );
    }
    env.verify(&key, env.p("stick-a"))
        .arg(env.p("stick-b"))
        .run()
        .ok();

    // Restore everything from the second copy.
    env.restore(&key, &b, env.p("restored")).run().ok();
    assert_eq!(names(&env.p("restored")), ["records"]);
    assert_same_tree(&src, &env.p("restored/records"));
}

/// Files are restored with the records' modes whatever the umask: 077
/// takes bits the records have (0644, 0755), 000 takes none (a file is
/// created with its mode and changed only when the umask took some of it).
#[test]
fn modes_come_back_whatever_the_umask() {
    let (env, key) = Env::ready();
    let src = env.p("records-2019");
    awkward_tree(&src);
    env.archive(2019, &["stick-a"], &[], &["records-2019"]).ok();
    for mask in [0o077, 0o000, 0o027] {
        let out = env.p(format!("restored-{mask:03o}"));
        env.restore(&key, env.p("stick-a/2019-financial.kluis"), &out)
            .umask(mask)
            .run()
            .ok();
        assert_same_tree(&src, &out.join("records"));
    }
}

#[test]
fn several_sources_are_prefixed_by_their_folder_name() {
    let (env, key) = Env::ready();
    let parent = env.p("sources");
    write_file(&parent.join("bank/2019-03.csv"), b"date;amount\n", 0o644);
    write_file(&parent.join("bank/sub/x.txt"), b"x", 0o600);
    write_file(&parent.join("shop/orders.csv"), b"id;total\n1;10\n", 0o644);
    fs::create_dir(parent.join("shop/empty")).unwrap();
    stamp_tree(&parent);

    env.archive(2019, &[STICK], &[], &["sources/bank", "sources/shop"])
        .ok();
    let archive = env.p("stick/2019-financial.kluis");
    let list = env.list(&key, &archive).run();
    list.ok();
    assert_eq!(
        list.stdout_text(),
        "records/bank/\nrecords/bank/2019-03.csv\nrecords/bank/sub/\nrecords/bank/sub/x.txt\n\
         records/shop/\nrecords/shop/empty/\nrecords/shop/orders.csv\n"
    );
    env.restore(&key, &archive, env.p("out")).run().ok();
    assert_same_tree(&parent, &env.p("out/records"));
}

#[test]
fn passphrase_archive_round_trips_with_a_passphrase_file() {
    let (env, _key) = Env::ready();
    let pass = env.passphrase_file("pass.txt", "correct horse battery staple");
    let archive = env.sample_archive_with(&["--passphrase-file", pass], |src| {
        write_file(&src.join("invoices/INV-1.txt"), b"invoice one", 0o644);
        write_file(&src.join("readme"), b"", 0o600);
        stamp_tree(src);
    });
    env.restore(&PassphraseFile(pass), &archive, env.p("out"))
        .run()
        .ok();
    assert_same_tree(&env.p("src"), &env.p("out/records"));
}

/// The comparison the round trips rely on sees a one-nanosecond mtime
/// difference, a mode difference and a changed link target.
#[test]
fn tree_comparison_notices_the_smallest_differences() {
    let env = Env::new();
    let (a, b) = (env.p("a"), env.p("b"));
    for root in [&a, &b] {
        write_file(&root.join("f.txt"), b"same", 0o644);
        std::os::unix::fs::symlink("f.txt", root.join("l")).unwrap();
        set_mtime(&root.join("f.txt"), 1_546_300_800, 5);
    }
    assert_same_tree(&a, &b);
    let differs = |change: &dyn Fn()| {
        change();
        let result = std::panic::catch_unwind(|| assert_same_tree(&a, &b));
        assert!(result.is_err());
    };
    let chmod = |mode| fs::set_permissions(b.join("f.txt"), fs::Permissions::from_mode(mode));
    differs(&|| set_mtime(&b.join("f.txt"), 1_546_300_800, 6));
    set_mtime(&b.join("f.txt"), 1_546_300_800, 5);
    differs(&|| chmod(0o600).unwrap());
    chmod(0o644).unwrap();
    set_mtime(&b.join("f.txt"), 1_546_300_800, 5);
    assert_same_tree(&a, &b);
    differs(&|| {
        fs::remove_file(b.join("l")).unwrap();
        std::os::unix::fs::symlink("g.txt", b.join("l")).unwrap();
    });
}
