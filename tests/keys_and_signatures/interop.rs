//! Every kind of signature kluis makes, checked by stock `minisign -V` and
//! `signify -V` (Debian's `signify-openbsd`); and the other way round.

use std::fs;

use crate::common::*;

fn minisign_and_signify(env: &Env, dir: &str, file: &str) {
    let key = env.org_public_key();
    let pubfile = env.org_public_key_file();
    bash(
        env.root(),
        &format!("cd '{dir}' && minisign -Vm '{file}' -P {key}"),
    )
    .ok()
    .says("Signature and comment signature verified");
    bash(
        env.root(),
        &format!(
            "cd '{dir}' && signify-openbsd -V -p '{}' -x '{file}.minisig' -m '{file}'",
            pubfile.display()
        ),
    )
    .ok()
    .says("Signature Verified");
}

#[test]
fn media_archives_and_proofs_check_with_stock_minisign_and_signify() {
    if !require_tools(&["minisign", "signify-openbsd", "age", "zstd"]) {
        return;
    }
    let (env, _key) = Env::with_2019_on(&["stick-a"]);

    // The medium's SHA256SUMS.
    minisign_and_signify(&env, "stick-a", "SHA256SUMS");
    let readme = fs::read_to_string(env.p("stick-a/README.txt")).unwrap();
    assert!(readme.contains(&env.org_public_key()), "{readme}");

    // The archive's own signatures, extracted with stock tools.
    bash(env.root(), "mkdir x && cd x && age -d -i ../owner.key ../stick-a/2019-financial.kluis | zstd -dq | tar -x")
        .ok();
    for member in ["SHA256SUMS", "metadata.json", "manifest.jsonl"] {
        minisign_and_signify(&env, "x/kluis", member);
    }
    bash(env.root(), "cd x && sha256sum -c --quiet kluis/SHA256SUMS").ok();

    // A signature checks only what it signs.
    fs::write(env.p("x/kluis/metadata.json"), "{}").unwrap();
    bash(
        env.root(),
        &format!(
            "cd x/kluis && minisign -Vm metadata.json -P {}",
            env.org_public_key()
        ),
    )
    .code(1);

    // A proof of destruction.
    env.kluis()
        .today("2040-01-01")
        .destroy("2019-financial", "stick-a")
        .run()
        .ok();
    minisign_and_signify(&env, "stick-a", "2019-financial.kluis.destroyed.json");
    minisign_and_signify(&env, "stick-a", "SHA256SUMS");
    env.run(["verify", "stick-a"]).ok();
}

#[test]
fn stock_minisign_signs_with_the_vaults_key_and_kluis_reads_stock_signatures() {
    if !require_tools(&["minisign"]) {
        return;
    }
    let (env, _key) = Env::ready();
    // The vault's key file is an (unencrypted) minisign secret key.
    fs::write(env.p("note.txt"), "signed by stock minisign\n").unwrap();
    bash(
        env.root(),
        "minisign -S -s vault/signing.key -m note.txt -t 'trusted stock'",
    )
    .ok();
    bash(
        env.root(),
        "minisign -S -l -s vault/signing.key -m note.txt -x legacy.minisig",
    )
    .ok();
    let public = kluis::keys::signing::PublicKey::parse(&env.org_public_key()).unwrap();
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
    bash(env.root(), "minisign -G -W -p stock.pub -s stock.key").ok();
    let stock =
        kluis::keys::signing::PublicKey::parse(&fs::read_to_string(env.p("stock.pub")).unwrap())
            .unwrap();
    let ours = kluis::keys::signing::SigningKey::generate();
    let sig = ours.sign(b"hello\n", "timestamp:0\tfile:hello.txt");
    fs::write(env.p("hello.txt"), "hello\n").unwrap();
    fs::write(env.p("hello.txt.minisig"), sig.to_text()).unwrap();
    bash(
        env.root(),
        &format!("minisign -Vm hello.txt -P {}", ours.public().to_base64()),
    )
    .ok();
    assert_ne!(stock.id(), ours.public().id());
}
