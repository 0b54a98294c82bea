//! `kluis verify` and signatures: signed, unsigned (old archives and
//! `--unsigned`), made with a key the vault does not know (a forger's),
//! altered or damaged signature files, and a vault without a signing key.

use std::fs;
use std::path::Path;

use crate::util::Env;

/// A private copy of a committed test key.
fn vector_key(env: &Env) -> std::path::PathBuf {
    let key = env.p("test-key.txt");
    fs::copy(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/vectors/test-key.txt"),
        &key,
    )
    .unwrap();
    fs::set_permissions(&key, std::os::unix::fs::PermissionsExt::from_mode(0o600)).unwrap();
    key
}

#[test]
fn a_signed_archive_and_medium_verify_as_the_organisations() {
    let env = Env::new();
    let r = env.key("owner.key");
    env.init(&[&r]);
    env.archive(&["stick-a"]);
    let run = env.run(&["verify", "-i", "owner.key", "stick-a"]);
    run.ok()
        .says("SHA256SUMS: signed by the organisation's key")
        .says("2019-financial.kluis: ok");
    assert!(
        run.stdout()
            .matches("signed by the organisation's key")
            .count()
            >= 2,
        "{}",
        run.stdout()
    );
    let json = env.run(&["verify", "-i", "owner.key", "--json", "stick-a"]);
    let v = json.json();
    assert_eq!(v["medium_signature"]["state"], "good");
    assert_eq!(v["archives"][0]["signature"]["state"], "good");
}

#[test]
fn old_unsigned_archives_still_verify_and_say_so() {
    let env = Env::new();
    let key = vector_key(&env);
    let tiny = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/vectors/tiny.kluis");
    let run = env.run(&[
        "verify".as_ref(),
        "-i".as_ref(),
        key.as_os_str(),
        tiny.as_os_str(),
    ]);
    run.ok().says("not signed");
}

#[test]
fn a_forgers_archive_is_not_signed_by_the_organisation() {
    let env = Env::new();
    let r = env.key("owner.key");
    env.init(&[&r]);
    env.archive(&["stick-a"]);
    // Someone who knows the (public) recipient writes an archive of their
    // own, signed with their own key, and puts it in place of the real one.
    let forger = Env::new();
    forger.init(&[&r]);
    forger.archive(&["stick-f"]);
    fs::copy(
        forger.p("stick-f/2019-financial.kluis"),
        env.p("stick-a/2019-financial.kluis"),
    )
    .unwrap();
    env.run(&["verify", "-i", "owner.key", "stick-a"])
        .expect(1)
        .says("which this vault does not know: NOT signed by the organisation");

    // Unsigned, in place of one the catalog knows was signed.
    let unsigned = Env::new();
    unsigned.init(&[&r]);
    unsigned.records();
    unsigned.medium("stick-u");
    unsigned
        .run(&[
            "archive",
            "--year",
            "2019",
            "--to",
            "stick-u",
            "--unsigned",
            "records-2019",
        ])
        .ok();
    fs::copy(
        unsigned.p("stick-u/2019-financial.kluis"),
        env.p("stick-a/2019-financial.kluis"),
    )
    .unwrap();
    env.run(&["verify", "-i", "owner.key", "stick-a"])
        .expect(1)
        .says("not signed, but the catalog recorded it as signed");
}

#[test]
fn damaged_wrong_and_missing_medium_signatures() {
    let env = Env::new();
    let r = env.key("owner.key");
    env.init(&[&r]);
    env.archive(&["stick-a"]);
    let sig = env.p("stick-a/SHA256SUMS.minisig");
    let good = fs::read_to_string(&sig).unwrap();

    // SHA256SUMS changed after it was signed.
    let sums = env.p("stick-a/SHA256SUMS");
    let original = fs::read(&sums).unwrap();
    fs::write(&sums, [&original[..], b"00  x.kluis\n"].concat()).unwrap();
    env.run(&["verify", "stick-a"])
        .expect(1)
        .says("BAD SIGNATURE of SHA256SUMS");
    fs::write(&sums, &original).unwrap();

    // A damaged signature file.
    let mut lines: Vec<String> = good.lines().map(str::to_owned).collect();
    lines[1].replace_range(20..24, "AAAA");
    fs::write(&sig, lines.join("\n") + "\n").unwrap();
    env.run(&["verify", "stick-a"])
        .expect(1)
        .says("BAD SIGNATURE");
    fs::write(&sig, "untrusted comment: nothing\nnot base64\n").unwrap();
    env.run(&["verify", "stick-a"])
        .expect(1)
        .says("BAD SIGNATURE");

    // A valid signature by another key.
    let other = kluis::keys::signing::SigningKey::generate();
    fs::write(
        &sig,
        other
            .sign(&original, "timestamp:0\tfile:SHA256SUMS")
            .to_text(),
    )
    .unwrap();
    env.run(&["verify", "stick-a"])
        .expect(1)
        .says("does not know");
    // ...trusted when given.
    fs::write(env.p("other.pub"), other.public().to_file()).unwrap();
    env.run(&["verify", "--signing-key", "other.pub", "stick-a"])
        .ok();

    // No signature at all: reported, not a failure (media written before
    // kluis signed).
    fs::remove_file(&sig).unwrap();
    env.run(&["verify", "stick-a"]).ok().says("not signed");
    fs::write(&sig, good).unwrap();
    env.run(&["verify", "stick-a"]).ok();
}

#[test]
fn a_vault_without_its_signing_key_refuses_to_pretend() {
    let env = Env::new();
    let r = env.key("owner.key");
    env.init(&[&r]);
    fs::remove_file(env.p("vault/signing.key")).unwrap();
    env.records();
    env.medium("stick-a");
    env.run(&[
        "archive",
        "--year",
        "2019",
        "--to",
        "stick-a",
        "records-2019",
    ])
    .expect(2)
    .says("no signing key")
    .says("--unsigned");
    assert_eq!(fs::read_dir(env.p("stick-a")).unwrap().count(), 0);
    env.run(&[
        "archive",
        "--year",
        "2019",
        "--to",
        "stick-a",
        "--unsigned",
        "records-2019",
    ])
    .ok();
    assert!(!env.p("stick-a/SHA256SUMS.minisig").exists());
    env.run(&["verify", "-i", "owner.key", "stick-a"])
        .ok()
        .says("not signed");
    // A new key for the vault; later archives are signed again.
    env.run(&["key", "signing", "--new"]).ok();
    env.run(&[
        "archive",
        "--year",
        "2019",
        "--to",
        "stick-a",
        "--supplement",
        "records-2019",
    ])
    .ok();
    env.run(&["verify", "-i", "owner.key", "stick-a"])
        .ok()
        .says("signed by the organisation's key");
}

#[test]
fn a_bad_signature_inside_an_archive_is_named() {
    use kluis::format::meta::Metadata;
    use kluis::format::writer::{ArchiveWriter, Framing, Mtime, WriteOptions};
    let dir = tempfile::tempdir().unwrap();
    let identity = age::x25519::Identity::generate();
    let keyfile = dir.path().join("k.txt");
    {
        use age::secrecy::ExposeSecret;
        fs::write(
            &keyfile,
            format!("{}\n", identity.to_string().expose_secret()),
        )
        .unwrap();
        fs::set_permissions(
            &keyfile,
            std::os::unix::fs::PermissionsExt::from_mode(0o600),
        )
        .unwrap();
    }
    let mut ids = kluis::keys::Identities::default();
    ids.add_file(&keyfile).unwrap();
    let day = |y, m, d| chrono::NaiveDate::from_ymd_opt(y, m, d).unwrap();
    let meta = Metadata {
        format: "kluis".into(),
        format_version: 1,
        archive_id: "00112233445566778899aabbccddeeff".into(),
        organisation: "Test".into(),
        fiscal_year: 2019,
        fiscal_year_start: day(2019, 1, 1),
        fiscal_year_end: day(2019, 12, 31),
        class: "financial".into(),
        supplement: 1,
        retention_end: day(2026, 12, 31),
        created: chrono::Utc::now(),
        tool_version: "test".into(),
        minimisation: vec![],
    };
    let key = kluis::keys::signing::SigningKey::generate();
    let write = |name: &str, tamper: bool| {
        let path = dir.path().join(name);
        let recipients: Vec<Box<dyn age::Recipient + Send>> = vec![Box::new(identity.to_public())];
        let mut w = ArchiveWriter::new(
            vec![(path.clone(), fs::File::create(&path).unwrap())],
            &recipients,
            &meta,
            &WriteOptions::default(),
        )
        .unwrap();
        let body = b"invoice\n";
        w.add_file(
            b"records/a.txt",
            body.len() as u64,
            0o644,
            Mtime { secs: 1, nsec: 0 },
            &mut &body[..],
            Path::new("a"),
        )
        .unwrap();
        if tamper {
            // A signature of the metadata, stored as the signature of SHA256SUMS.
            w.end_records().unwrap();
            let now = chrono::Utc::now();
            for (footer_key, member, signed) in kluis::format::signatures::SIGNATURE_MEMBERS {
                let of = if signed.ends_with("SHA256SUMS") {
                    "kluis/metadata.json"
                } else {
                    signed
                };
                let bytes: Vec<u8> = if of == "kluis/metadata.json" {
                    w.written_metadata().to_vec()
                } else {
                    let mut v = Vec::new();
                    std::io::Read::read_to_end(&mut w.written_manifest().unwrap(), &mut v).unwrap();
                    v
                };
                let text = key
                    .sign(
                        &bytes,
                        &kluis::format::signatures::trusted_comment(signed, &meta, now),
                    )
                    .to_text();
                w.add_located(
                    footer_key,
                    member,
                    text.len() as u64,
                    &mut text.as_bytes(),
                    Framing::Packed,
                )
                .unwrap();
            }
        } else {
            kluis::format::signatures::sign(&mut w, &key, &meta).unwrap();
        }
        w.finish().unwrap();
        path
    };
    let keys = [key.public()];
    let good = write("good.kluis", false);
    let bad = write("bad.kluis", true);
    let check = |p: &Path| {
        let mut r = kluis::format::reader::ArchiveReader::open(p, &ids).unwrap();
        kluis::format::signatures::check(&mut r, &keys).unwrap()
    };
    assert!(matches!(
        check(&good),
        kluis::format::signatures::SignatureState::Good { .. }
    ));
    match check(&bad) {
        kluis::format::signatures::SignatureState::Bad { what, .. } => {
            assert_eq!(what, "kluis/SHA256SUMS")
        }
        other => panic!("{other:?}"),
    }
    let report =
        kluis::read::verify::run_with_keys(&bad, Some(&ids), None, &keys, &kluis::progress::Silent)
            .unwrap();
    assert!(!report.ok());
    assert!(
        report.archives[0]
            .problems
            .iter()
            .any(|p| p.contains("BAD SIGNATURE of kluis/SHA256SUMS")),
        "{:?}",
        report.archives[0].problems
    );
}
