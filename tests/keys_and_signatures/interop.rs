//! Every kind of signature kluis makes, checked by stock `minisign -V` and
//! `signify -V` (Debian's `signify-openbsd`); and the other way round.

use std::fs;

use crate::util::{Env, tool};

fn minisign_and_signify(env: &Env, dir: &str, file: &str) {
    let key = env.public_key();
    let pubfile = env.public_key_file();
    env.sh(&format!("cd '{dir}' && minisign -Vm '{file}' -P {key}"))
        .ok()
        .says("Signature and comment signature verified");
    env.sh(&format!(
        "cd '{dir}' && signify-openbsd -V -p '{}' -x '{file}.minisig' -m '{file}'",
        pubfile.display()
    ))
    .ok()
    .says("Signature Verified");
}

#[test]
fn media_archives_and_proofs_check_with_stock_minisign_and_signify() {
    if !(tool("minisign") && tool("signify-openbsd") && tool("age") && tool("zstd")) {
        return;
    }
    let env = Env::new();
    let r = env.key("owner.key");
    env.init(&[&r]);
    env.archive(&["stick-a"]);

    // The medium's SHA256SUMS.
    minisign_and_signify(&env, "stick-a", "SHA256SUMS");
    let readme = fs::read_to_string(env.p("stick-a/README.txt")).unwrap();
    assert!(readme.contains(&env.public_key()), "{readme}");

    // The archive's own signatures, extracted with stock tools.
    env.sh("mkdir x && cd x && age -d -i ../owner.key ../stick-a/2019-financial.kluis | zstd -dq | tar -x")
        .ok();
    for member in ["SHA256SUMS", "metadata.json", "manifest.jsonl"] {
        minisign_and_signify(&env, "x/kluis", member);
    }
    env.sh("cd x && sha256sum -c --quiet kluis/SHA256SUMS").ok();

    // A signature checks only what it signs.
    fs::write(env.p("x/kluis/metadata.json"), "{}").unwrap();
    env.sh(&format!(
        "cd x/kluis && minisign -Vm metadata.json -P {}",
        env.public_key()
    ))
    .expect(1);

    // A proof of destruction.
    env.run_env(
        &["destroy", "2019-financial", "--medium", "stick-a", "--yes"],
        &[("KLUIS_TODAY", "2040-01-01")],
    )
    .ok();
    minisign_and_signify(&env, "stick-a", "2019-financial.kluis.destroyed.json");
    minisign_and_signify(&env, "stick-a", "SHA256SUMS");
    env.run(&["verify", "stick-a"]).ok();
}

#[test]
fn stock_minisign_signs_with_the_vaults_key_and_kluis_reads_stock_signatures() {
    if !tool("minisign") {
        return;
    }
    let env = Env::new();
    let r = env.key("owner.key");
    env.init(&[&r]);
    // The vault's key file is an (unencrypted) minisign secret key.
    fs::write(env.p("note.txt"), "signed by stock minisign\n").unwrap();
    env.sh("minisign -S -s vault/signing.key -m note.txt -t 'trusted stock'")
        .ok();
    env.sh("minisign -S -l -s vault/signing.key -m note.txt -x legacy.minisig")
        .ok();
    let public = kluis::keys::signing::PublicKey::parse(&env.public_key()).unwrap();
    for sig in ["note.txt.minisig", "legacy.minisig"] {
        let text = fs::read_to_string(env.p(sig)).unwrap();
        let s = kluis::keys::signing::Signature::parse(&text).unwrap();
        assert_eq!(
            public.verify(&s, &mut &fs::read(env.p("note.txt")).unwrap()[..]),
            kluis::keys::signing::Verdict::Good,
            "{sig}"
        );
        assert_eq!(
            public.verify(&s, &mut &b"something else"[..]),
            kluis::keys::signing::Verdict::Bad
        );
    }
    // A key made by stock minisign is read, and what kluis signs with its
    // own keys checks with stock minisign.
    env.sh("minisign -G -W -p stock.pub -s stock.key").ok();
    let stock =
        kluis::keys::signing::PublicKey::parse(&fs::read_to_string(env.p("stock.pub")).unwrap())
            .unwrap();
    let ours = kluis::keys::signing::SigningKey::generate();
    let sig = ours.sign(b"hello\n", "timestamp:0\tfile:hello.txt");
    fs::write(env.p("hello.txt"), "hello\n").unwrap();
    fs::write(env.p("hello.txt.minisig"), sig.to_text()).unwrap();
    env.sh(&format!(
        "minisign -Vm hello.txt -P {}",
        ours.public().to_base64()
    ))
    .ok();
    assert_ne!(stock.id(), ours.public().id());
}
