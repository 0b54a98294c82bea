//! `kluis verify` and signatures: signed, unsigned (old archives and
//! `--unsigned`), made with a key the vault does not know (a forger's),
//! altered or damaged signature files, and a vault without a signing key.

use std::ffi::OsStr;
use std::fs;
use std::path::Path;

use kluis::format::meta::Metadata;
use kluis::format::signatures::{self, SignatureState};
use kluis::format::writer::{Mtime, WriteOptions};
use kluis::keys::signing::SigningKey;

use crate::common::*;

#[test]
fn a_signed_archive_and_medium_verify_as_the_organisations() {
    let (env, _key) = Env::with_2019_on(&["stick-a"]);
    let run = env.run(["verify", "-i", "owner.key", "stick-a"]);
    run.ok()
        .says("SHA256SUMS: signed by the organisation's key")
        .says("2019-financial.kluis: ok");
    assert!(
        run.stdout_text()
            .matches("signed by the organisation's key")
            .count()
            >= 2,
        "{}",
        run.stdout_text()
    );
    let json = env.run(["verify", "-i", "owner.key", "--json", "stick-a"]);
    let v = json.json();
    assert_eq!(v["medium_signature"]["state"], "good");
    assert_eq!(v["archives"][0]["signature"]["state"], "good");
}

#[test]
fn old_unsigned_archives_still_verify_and_say_so() {
    let env = Env::new();
    let key = env.vector_key("test-key.txt");
    env.verify(&key, vectors().join("tiny.kluis"))
        .run()
        .ok()
        .says("not signed");
}

#[test]
fn a_forgers_archive_is_not_signed_by_the_organisation() {
    let (env, key) = Env::with_2019_on(&["stick-a"]);
    // Someone who knows the (public) recipient writes an archive of their
    // own, signed with their own key, and puts it in place of the real one.
    let forger = Env::new();
    forger.init(&[&key]);
    forger.archive_2019(&["stick-f"]);
    fs::copy(
        forger.p("stick-f/2019-financial.kluis"),
        env.p("stick-a/2019-financial.kluis"),
    )
    .unwrap();
    env.run(["verify", "-i", "owner.key", "stick-a"])
        .code(1)
        .says("which this vault does not know: NOT signed by the organisation");
    // On its own medium it is intact: the unknown signer is the finding,
    // not damage.
    let theirs = forger.p("stick-f/2019-financial.kluis");
    let run = env.run([
        OsStr::new("verify"),
        OsStr::new("-i"),
        OsStr::new("owner.key"),
        theirs.as_os_str(),
    ]);
    run.code(1)
        .says("which this vault does not know: NOT signed by the organisation")
        .says("2019-financial.kluis: NOT PROVEN THE ORGANISATION'S");
    assert!(!run.stdout_text().contains("DAMAGED"), "{run}");

    // Unsigned, in place of one the catalog knows was signed.
    let unsigned = Env::new();
    unsigned.init(&[&key]);
    records_2019(&unsigned.p(RECORDS_2019));
    unsigned
        .archive(2019, &["stick-u"], &["--unsigned"], &[RECORDS_2019])
        .ok();
    fs::copy(
        unsigned.p("stick-u/2019-financial.kluis"),
        env.p("stick-a/2019-financial.kluis"),
    )
    .unwrap();
    env.run(["verify", "-i", "owner.key", "stick-a"])
        .code(1)
        .says("not signed, but the catalog recorded it as signed");
}

#[test]
fn damaged_wrong_and_missing_medium_signatures() {
    let (env, _key) = Env::with_2019_on(&["stick-a"]);
    let sig = env.p("stick-a/SHA256SUMS.minisig");
    let good = fs::read_to_string(&sig).unwrap();

    // SHA256SUMS changed after it was signed.
    let sums = env.p("stick-a/SHA256SUMS");
    let original = fs::read(&sums).unwrap();
    fs::write(&sums, [&original[..], b"00  x.kluis\n"].concat()).unwrap();
    env.run(["verify", "stick-a"])
        .code(1)
        .says("BAD SIGNATURE of SHA256SUMS");
    fs::write(&sums, &original).unwrap();

    // A damaged signature file.
    let mut lines: Vec<String> = good.lines().map(str::to_owned).collect();
    lines[1].replace_range(20..24, "AAAA");
    fs::write(&sig, lines.join("\n") + "\n").unwrap();
    env.run(["verify", "stick-a"]).code(1).says("BAD SIGNATURE");
    fs::write(&sig, "untrusted comment: nothing\nnot base64\n").unwrap();
    env.run(["verify", "stick-a"]).code(1).says("BAD SIGNATURE");

    // A valid signature by another key.
    let other = kluis::keys::signing::SigningKey::generate();
    fs::write(
        &sig,
        other
            .sign(&original, "timestamp:0\tfile:SHA256SUMS")
            .to_text(),
    )
    .unwrap();
    env.run(["verify", "stick-a"]).code(1).says("does not know");
    // ...trusted when given.
    fs::write(env.p("other.pub"), other.public().to_file()).unwrap();
    env.run(["verify", "--signing-key", "other.pub", "stick-a"])
        .ok();

    // No signature at all: reported, not a failure (media written before
    // kluis signed).
    fs::remove_file(&sig).unwrap();
    env.run(["verify", "stick-a"]).ok().says("not signed");
    fs::write(&sig, good).unwrap();
    env.run(["verify", "stick-a"]).ok();
}

#[test]
fn a_vault_without_its_signing_key_refuses_to_pretend() {
    let env = Env::new();
    let key = env.new_key("owner.key");
    env.init(&[&key]);
    fs::remove_file(env.p("vault/signing.key")).unwrap();
    records_2019(&env.p(RECORDS_2019));
    env.archive(2019, &["stick-a"], &[], &[RECORDS_2019])
        .code(2)
        .says("no signing key")
        .says("--unsigned");
    assert_eq!(fs::read_dir(env.p("stick-a")).unwrap().count(), 0);
    env.archive(2019, &["stick-a"], &["--unsigned"], &[RECORDS_2019])
        .ok();
    assert!(!env.p("stick-a/SHA256SUMS.minisig").exists());
    env.verify(&key, "stick-a").run().ok().says("not signed");
    // A new key for the vault; later archives are signed again.
    env.run(["key", "signing", "--new"]).ok();
    env.archive(2019, &["stick-a"], &["--supplement"], &[RECORDS_2019])
        .ok();
    env.verify(&key, "stick-a")
        .run()
        .ok()
        .says("signed by the organisation's key");
}

#[test]
fn a_bad_signature_inside_an_archive_is_named() {
    let env = Env::new();
    let owner = Key::generate(&env.p("k.txt"));
    let ids = owner.identities();
    let meta = Metadata {
        archive_id: "00112233445566778899aabbccddeeff".into(),
        organisation: "Test".into(),
        tool_version: "test".into(),
        ..crafted_metadata()
    };
    let key = SigningKey::generate();
    let write = |name: &str, tamper: bool| {
        let path = env.p(name);
        write_archive_with(&path, &owner, &meta, &WriteOptions::default(), |w| {
            add_member(
                w,
                b"records/a.txt",
                b"invoice\n",
                Mtime { secs: 1, nsec: 0 },
            );
            if tamper {
                // A signature of the metadata, stored as the signature of SHA256SUMS.
                let metadata = w.written_metadata().to_vec();
                sign_with_bad_sums_signature(w, &key, &meta, chrono::Utc::now(), &metadata);
            } else {
                signatures::sign(w, &key, &meta).unwrap();
            }
        });
        path
    };
    let keys = [key.public()];
    let good = write("good.kluis", false);
    let bad = write("bad.kluis", true);
    let check = |p: &Path| {
        let mut r = kluis::format::reader::ArchiveReader::open(p, &ids).unwrap();
        signatures::check(&mut r, &keys).unwrap()
    };
    assert!(matches!(check(&good), SignatureState::Good { .. }));
    match check(&bad) {
        SignatureState::Bad { what, .. } => {
            assert_eq!(what, "kluis/SHA256SUMS")
        }
        other => panic!("{other:?}"),
    }
    let report =
        kluis::read::verify::run_with_keys(&bad, Some(&ids), None, &keys, &kluis::progress::Silent)
            .unwrap();
    assert!(!report.ok());
    let archive = &report.archives[0];
    assert!(
        archive
            .authenticity
            .iter()
            .any(|p| p.contains("BAD SIGNATURE of kluis/SHA256SUMS")),
        "{archive:?}"
    );
    assert!(
        archive.intact(),
        "a bad signature is not damage: {archive:?}"
    );
}
