//! The paper recovery kit: its QR code, rendered from the page's SVG by
//! `rsvg-convert` and decoded by `zbarimg` (independent of kluis and of the
//! qrcode crate), holds exactly the key; its lines come back through `kluis
//! key recover`, a typo named by line, a passphrase required when the kit
//! has one, a key the vault does not know refused.

use std::fs;
use std::os::unix::fs::PermissionsExt;

use crate::common::*;

fn identity_line(env: &Env, file: &str) -> String {
    fs::read_to_string(env.p(file))
        .unwrap()
        .lines()
        .find(|l| l.starts_with("AGE-SECRET-KEY-1"))
        .unwrap()
        .to_owned()
}

/// Decodes the QR code of the kit page `html` with stock tools: the text
/// of the QR code symbols `zbarimg` finds (QR codes only, so that a run of
/// modules that happens to read as a linear barcode is not taken for part
/// of the text; its XML output, so that a symbol's own newlines cannot be
/// confused with the line between two symbols), which must all be the same.
fn decode_qr(env: &Env, html: &str) -> String {
    let page = fs::read_to_string(env.p(html)).unwrap();
    let svg = &page[page.find("<svg").unwrap()..page.find("</svg>").unwrap() + 6];
    fs::write(env.p("qr.svg"), svg).unwrap();
    let run = bash(
        env.root(),
        "rsvg-convert -w 600 -b white qr.svg -o qr.png\n\
         zbarimg -q --xml -Sdisable -Sqrcode.enable qr.png",
    );
    run.ok();
    let xml = run.stdout_text();
    let mut texts: Vec<&str> = xml
        .split("<data><![CDATA[")
        .skip(1)
        .map(|rest| {
            &rest[..rest
                .find("]]></data>")
                .expect("zbarimg's XML ends each symbol")]
        })
        .collect();
    texts.dedup();
    assert_eq!(texts.len(), 1, "one QR code, read as one text: {xml}");
    texts[0].to_owned()
}

#[test]
fn the_kits_qr_code_decodes_to_the_key_and_its_lines_recover_it() {
    if !require_tools(&["zbarimg", "rsvg-convert"]) {
        return;
    }
    let env = Env::new();
    let owner = env.new_key("owner.key");
    let public = env.init(&[&owner]);
    env.run(["key", "paper", "-i", "owner.key", "-o", "kit.html"])
        .ok();
    let page = fs::read_to_string(env.p("kit.html")).unwrap();
    assert!(page.contains(&owner.recipient) && page.contains(&public) && page.contains(ORG));
    assert_eq!(
        decode_qr(&env, "kit.html").trim_end(),
        identity_line(&env, "owner.key")
    );
    assert_eq!(
        fs::metadata(env.p("kit.html"))
            .unwrap()
            .permissions()
            .mode()
            & 0o777,
        0o600
    );

    // The terminal form, typed back.
    let text = env.run(["key", "paper", "-i", "owner.key"]);
    text.ok();
    fs::write(env.p("kit.txt"), text.stdout_text()).unwrap();
    env.run(["key", "recover", "-o", "back.key", "--from", "kit.txt"])
        .ok()
        .says(&owner.recipient);
    assert_eq!(
        identity_line(&env, "back.key"),
        identity_line(&env, "owner.key")
    );

    // A typo on the second line is found there.
    let out = text.stdout_text();
    let lines: Vec<&str> = out
        .lines()
        .map(str::trim)
        .filter(|l| l.starts_with("0"))
        .collect();
    assert_eq!(lines.len(), 3, "{}", text.stdout_text());
    let mut typo = lines[1].to_owned();
    let at = typo.find("  ").unwrap() + 4;
    let c = if &typo[at..at + 1] == "Q" { "P" } else { "Q" };
    typo.replace_range(at..at + 1, c);
    fs::write(
        env.p("typo.txt"),
        format!("{}\n{typo}\n{}\n", lines[0], lines[2]),
    )
    .unwrap();
    env.run(["key", "recover", "-o", "typo.key", "--from", "typo.txt"])
        .code(2)
        .says("line 02/03");
    assert!(!env.p("typo.key").exists());
    // Typed on standard input, line by line: the typo stops it at once.
    env.kluis()
        .args(["key", "recover", "-o", "stdin.key"])
        .run_with_input(lines.join("\n").as_bytes())
        .ok();

    // A key the vault does not know.
    env.new_key("stranger.key");
    let other = env.run(["key", "paper", "-i", "stranger.key"]);
    fs::write(env.p("other.txt"), other.stdout_text()).unwrap();
    env.run(["key", "recover", "-o", "s.key", "--from", "other.txt"])
        .code(2)
        .says("not one of the vault's recipients");
}

#[test]
fn a_passphrase_kit_opens_only_with_its_passphrase() {
    if !require_tools(&["zbarimg", "rsvg-convert"]) {
        return;
    }
    let (env, _owner) = Env::ready();
    let pass = env.passphrase_file("pass.txt", "paard batterij nietje correct");
    let wrong = env.passphrase_file("wrong.txt", "paard batterij nietje fout");
    let paper = || {
        env.kluis()
            .args(["key", "paper", "-i", "owner.key", "--passphrase-file", pass])
    };
    paper().args(["-o", "kit.html"]).run().ok();
    let page = fs::read_to_string(env.p("kit.html")).unwrap();
    assert!(
        !page.contains("AGE-SECRET-KEY"),
        "the page holds the key in clear"
    );
    let scanned = decode_qr(&env, "kit.html");
    assert!(
        scanned.starts_with("-----BEGIN AGE ENCRYPTED FILE-----"),
        "{scanned}"
    );
    // What the QR code holds is an age file that the passphrase opens.
    {
        use std::io::Read;
        let reader = age::armor::ArmoredReader::new(scanned.as_bytes());
        let d = age::Decryptor::new(reader).unwrap();
        let id = age::scrypt::Identity::new(age::secrecy::SecretString::from(
            "paard batterij nietje correct".to_owned(),
        ));
        let mut plain = String::new();
        d.decrypt(std::iter::once(&id as &dyn age::Identity))
            .unwrap()
            .read_to_string(&mut plain)
            .unwrap();
        assert_eq!(plain.trim(), identity_line(&env, "owner.key"));
    }
    fs::write(env.p("kit.txt"), paper().run().stdout_text()).unwrap();
    let recover = || {
        env.kluis()
            .args(["key", "recover", "-o", "a.key", "--from", "kit.txt"])
    };
    recover().run().code(2).says("protected by a passphrase");
    recover()
        .args(["--passphrase-file", wrong])
        .run()
        .code(2)
        .says("passphrase does not open");
    recover().args(["--passphrase-file", pass]).run().ok();
    assert_eq!(
        identity_line(&env, "a.key"),
        identity_line(&env, "owner.key")
    );
}
