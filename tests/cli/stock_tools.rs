//! Interoperability with the stock tools: an archive written by kluis is
//! recovered and checked by Debian's `age`, `zstd`, GNU `tar` and
//! `sha256sum` alone, as the medium's README.txt promises.

use std::fs;
use std::io::Read;

use crate::common::*;

#[test]
fn stock_tools_recover_and_check_a_kluis_archive() {
    if !stock_tools() {
        return;
    }
    let (env, key) = Env::ready();
    let src = env.p("records-2019");
    awkward_tree(&src);
    // Names that `sha256sum` must escape (FORMAT.md §4.3).
    write_file(&src.join("back\\slash.txt"), b"backslash", 0o644);
    write_file(&bpath(&src, b"line\nbreak.txt"), b"newline", 0o644);
    stamp_tree(&src);

    let archive = env.archived(2019, "records-2019");
    let medium = env.p(STICK);

    // No key needed to check the medium.
    bash(&medium, "sha256sum --strict -c SHA256SUMS").ok();

    // The README's recovery pipeline, verbatim in spirit.
    let out = env.p("recovered");
    stock_recover(&out, &key.path, &archive);
    assert_eq!(names(&out), ["kluis", "records"]);
    assert_eq!(
        names(&out.join("kluis")),
        [
            "SHA256SUMS",
            "SHA256SUMS.minisig",
            "footer.json",
            "manifest.jsonl",
            "manifest.jsonl.minisig",
            "metadata.json",
            "metadata.json.minisig",
            "paths.jsonl",
            "subjects.json",
            "subjects.jsonl"
        ]
    );
    bash(&out, "sha256sum --strict -c kluis/SHA256SUMS").ok();
    // The path index holds exactly the manifest's lines (FORMAT.md §4.5.1).
    bash(
        &out,
        "cmp <(LC_ALL=C sort kluis/manifest.jsonl) <(LC_ALL=C sort kluis/paths.jsonl)",
    )
    .ok();
    assert_same_tree(&src, &out.join("records"));

    // Every regular file is in the archive's SHA256SUMS, nothing else.
    let files = snapshot(&src)
        .values()
        .filter(|n| matches!(n.what, What::File(_)))
        .count();
    let sums = fs::read(out.join("kluis/SHA256SUMS")).unwrap();
    let lines = sums
        .split(|&b| b == b'\n')
        .filter(|l| !l.is_empty())
        .count();
    assert_eq!(lines, files, "one SHA256SUMS line per file");

    let meta = parse_json(&out.join("kluis/metadata.json"));
    assert_eq!(meta["format"], "kluis");
    assert_eq!(meta["format_version"], 1);
    assert_eq!(meta["fiscal_year"], 2019);
    assert_eq!(meta["class"], "financial");
    assert_eq!(meta["organisation"], "Het Testhuis B.V.");
}

/// The zstd layer is a plain zstd stream to `zstd -d` (the seek table is a
/// skippable frame), and the tar inside is POSIX pax: ustar headers and pax
/// extended headers, no GNU long-name members (FORMAT.md §3, §4).
#[test]
fn zstd_ignores_the_seek_table_and_the_tar_is_pax() {
    if !stock_tools() {
        return;
    }
    let (env, key) = Env::ready();
    let archive = env.sample_archive(|src| {
        let mut rng = Rng::new(7);
        // More than one data frame: frames are cut inside the 5 MiB file.
        write_file(&src.join("big.bin"), &rng.mixed(5 << 20), 0o644);
        write_file(
            &src.join(format!("{}/x.txt", "long-folder-name-".repeat(8))),
            b"x",
            0o644,
        );
    });

    bash(
        env.root(),
        &format!(
            "age -d -i {} -o plain.zst {}\nzstd -q -t plain.zst\nzstd -q -d -c plain.zst > plain.tar",
            sh_quote(&key.path),
            sh_quote(&archive)
        ),
    )
    .ok();
    let plain = fs::read(env.p("plain.zst")).unwrap();
    // The seek table ends the stream (seekable format magic, little-endian).
    assert_eq!(&plain[plain.len() - 4..], &0x8F92_EAB1u32.to_le_bytes());
    let frames = u32::from_le_bytes(plain[plain.len() - 9..plain.len() - 5].try_into().unwrap());
    assert!(frames >= 3, "expected several data frames, got {frames}");

    let mut tar = Vec::new();
    fs::File::open(env.p("plain.tar"))
        .unwrap()
        .read_to_end(&mut tar)
        .unwrap();
    assert_eq!(tar.len() % 512, 0);
    let mut archive = tar::Archive::new(&tar[..]);
    let mut kinds = Vec::new();
    for entry in archive.entries().unwrap().raw(true) {
        let entry = entry.unwrap();
        let header = entry.header();
        assert_eq!(&header.as_bytes()[257..265], b"ustar\x0000", "ustar magic");
        kinds.push(header.entry_type().as_byte());
    }
    assert!(
        !kinds.contains(&b'L') && !kinds.contains(&b'K'),
        "no GNU long-name members: {kinds:?}"
    );
    assert!(kinds.contains(&b'x'), "pax extended headers are used");
    let listed = bash(env.root(), "tar -tf plain.tar");
    listed.ok();
    let listing = listed.stdout_text();
    assert!(listing.starts_with("kluis/metadata.json\n"), "{listing}");
    assert!(listing.ends_with("kluis/footer.json\n"), "{listing}");
    assert!(listing.contains(&format!("{}/x.txt", "long-folder-name-".repeat(8))));
}

/// A passphrase archive is an ordinary age scrypt file that stock `age`
/// opens with the passphrase. Go age reads a passphrase only from a
/// terminal, so it is typed into one made by `script` (util-linux/bsdutils);
/// without `script` only the header is checked.
#[test]
fn stock_age_opens_a_passphrase_archive() {
    if !stock_tools() {
        return;
    }
    let (env, _key) = Env::ready();
    let pass = env.passphrase_file("pass.txt", "tweede sleutel");
    let archive = env.sample_archive_with(&["--passphrase-file", pass], |src| {
        write_file(&src.join("a.txt"), b"a", 0o644);
        write_file(&src.join("sub/b.txt"), b"bee", 0o600);
        stamp_tree(src);
    });
    let bytes = fs::read(&archive).unwrap();
    assert!(
        bytes.starts_with(b"age-encryption.org/v1\n-> scrypt "),
        "an age file with a single scrypt stanza"
    );
    if !have_tool("script") {
        eprintln!(
            "SKIPPED: stock age decryption of a passphrase archive: no `script` for a terminal"
        );
        return;
    }
    let out = env.p("recovered");
    fs::create_dir(&out).unwrap();
    bash(
        &out,
        &format!(
            "printf 'tweede sleutel\\n' | script -qec \"age -d -o ../plain.zst {}\" /dev/null >/dev/null\n\
             zstd -q -d -c ../plain.zst | tar -x\n\
             sha256sum --strict -c kluis/SHA256SUMS",
            sh_quote(&archive)
        ),
    )
    .ok();
    assert_same_tree(&env.p("src"), &out.join("records"));
}
