//! The paper recovery kit: its QR code, rendered from the page's SVG by
//! `rsvg-convert` and decoded by `zbarimg` (independent of kluis and of the
//! qrcode crate), holds exactly the key; its lines come back through `kluis
//! key recover`, a typo named by line, a passphrase required when the kit
//! has one, a key the vault does not know refused.

use std::fs;

use crate::util::{Env, tool};

fn identity_line(env: &Env, file: &str) -> String {
    fs::read_to_string(env.p(file))
        .unwrap()
        .lines()
        .find(|l| l.starts_with("AGE-SECRET-KEY-1"))
        .unwrap()
        .to_owned()
}

/// Decodes the QR code of the kit page `html` with stock tools.
fn decode_qr(env: &Env, html: &str) -> String {
    let page = fs::read_to_string(env.p(html)).unwrap();
    let svg = &page[page.find("<svg").unwrap()..page.find("</svg>").unwrap() + 6];
    fs::write(env.p("qr.svg"), svg).unwrap();
    env.sh("rsvg-convert -w 600 -b white qr.svg -o qr.png").ok();
    let run = env.sh("zbarimg --raw -q qr.png");
    run.ok();
    run.stdout()
}

#[test]
fn the_kits_qr_code_decodes_to_the_key_and_its_lines_recover_it() {
    if !(tool("zbarimg") && tool("rsvg-convert")) {
        return;
    }
    let env = Env::new();
    let r = env.key("owner.key");
    let public = env.init(&[&r]);
    env.run(&["key", "paper", "-i", "owner.key", "-o", "kit.html"])
        .ok();
    let page = fs::read_to_string(env.p("kit.html")).unwrap();
    assert!(page.contains(&r) && page.contains(&public) && page.contains("Het Blauwe Huis"));
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
    let text = env.run(&["key", "paper", "-i", "owner.key"]);
    text.ok();
    fs::write(env.p("kit.txt"), text.stdout()).unwrap();
    env.run(&["key", "recover", "-o", "back.key", "--from", "kit.txt"])
        .ok()
        .says(&r);
    assert_eq!(
        identity_line(&env, "back.key"),
        identity_line(&env, "owner.key")
    );

    // A typo on the second line is found there.
    let out = text.stdout();
    let lines: Vec<&str> = out
        .lines()
        .map(str::trim)
        .filter(|l| l.starts_with("0"))
        .collect();
    assert_eq!(lines.len(), 3, "{}", text.stdout());
    let mut typo = lines[1].to_owned();
    let at = typo.find("  ").unwrap() + 4;
    let c = if &typo[at..at + 1] == "Q" { "P" } else { "Q" };
    typo.replace_range(at..at + 1, c);
    fs::write(
        env.p("typo.txt"),
        format!("{}\n{typo}\n{}\n", lines[0], lines[2]),
    )
    .unwrap();
    env.run(&["key", "recover", "-o", "typo.key", "--from", "typo.txt"])
        .expect(2)
        .says("line 02/03");
    assert!(!env.p("typo.key").exists());
    // Typed on standard input, line by line: the typo stops it at once.
    let mut child = env
        .cmd()
        .args(["key", "recover", "-o", "stdin.key"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(lines.join("\n").as_bytes())
        .unwrap();
    assert!(child.wait_with_output().unwrap().status.success());

    // A key the vault does not know.
    env.key("stranger.key");
    let other = env.run(&["key", "paper", "-i", "stranger.key"]);
    fs::write(env.p("other.txt"), other.stdout()).unwrap();
    env.run(&["key", "recover", "-o", "s.key", "--from", "other.txt"])
        .expect(2)
        .says("not one of the vault's recipients");
}

use std::os::unix::fs::PermissionsExt;

#[test]
fn a_passphrase_kit_opens_only_with_its_passphrase() {
    if !(tool("zbarimg") && tool("rsvg-convert")) {
        return;
    }
    let env = Env::new();
    let r = env.key("owner.key");
    env.init(&[&r]);
    fs::write(env.p("pass.txt"), "paard batterij nietje correct\n").unwrap();
    fs::write(env.p("wrong.txt"), "paard batterij nietje fout\n").unwrap();
    env.run(&[
        "key",
        "paper",
        "-i",
        "owner.key",
        "--passphrase-file",
        "pass.txt",
        "-o",
        "kit.html",
    ])
    .ok();
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
    let text = env.run(&[
        "key",
        "paper",
        "-i",
        "owner.key",
        "--passphrase-file",
        "pass.txt",
    ]);
    fs::write(env.p("kit.txt"), text.stdout()).unwrap();
    env.run(&["key", "recover", "-o", "a.key", "--from", "kit.txt"])
        .expect(2)
        .says("protected by a passphrase");
    env.run(&[
        "key",
        "recover",
        "-o",
        "a.key",
        "--from",
        "kit.txt",
        "--passphrase-file",
        "wrong.txt",
    ])
    .expect(2)
    .says("passphrase does not open");
    env.run(&[
        "key",
        "recover",
        "-o",
        "a.key",
        "--from",
        "kit.txt",
        "--passphrase-file",
        "pass.txt",
    ])
    .ok();
    assert_eq!(
        identity_line(&env, "a.key"),
        identity_line(&env, "owner.key")
    );
}
