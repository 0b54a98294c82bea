//! The paper recovery kit: an age identity printed so that it can be typed
//! or scanned back in ten years. The kit holds the key as a QR code and as
//! numbered text lines of four-character groups, each line with a short
//! checksum (so that a typo is found on the line where it was made), and,
//! around them, the recipient, the organisation's signing key, the date and
//! the exact recovery steps with stock `age`.
//!
//! With a passphrase the key is first encrypted to it (age's scrypt
//! recipient, ASCII-armored), so that the paper alone opens nothing; the
//! lines then carry the armor's base64 body.
//!
//! Line format: `NN/TT  GGGG GGGG …  CCCC`, where `NN` is the line number,
//! `TT` the number of lines, the groups are the line's part of the key
//! text, and `CCCC` the first four uppercase hex digits of
//! SHA-256(`NN/TT:` + the line's text without spaces).

use std::fmt::Write as _;
use std::io::{Read, Write};
use std::str::FromStr;

use age::secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};

/// Characters of key text per printed line (eight groups of four).
const PER_LINE: usize = 32;
const BEGIN: &str = "-----BEGIN AGE ENCRYPTED FILE-----";
const END: &str = "-----END AGE ENCRYPTED FILE-----";

/// What goes on the paper besides the key.
#[derive(Clone, Debug)]
pub struct KitInfo {
    pub organisation: String,
    /// The identity's recipient (`age1…`).
    pub recipient: String,
    /// The organisation's public signing key (`RWQ…`), when the vault has one.
    pub signing_key: Option<String>,
    /// When the kit was made (`YYYY-MM-DD`).
    pub date: String,
}

/// A kit ready to print.
pub struct Kit {
    pub info: KitInfo,
    /// Whether the key is encrypted to a passphrase.
    pub protected: bool,
    /// The exact file the QR code holds: `key.txt` (the identity line), or
    /// `key.age` (the armored encryption of it).
    payload: SecretString,
    /// The printed lines.
    lines: Vec<String>,
}

/// Why a kit's lines could not be read back.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RecoverError {
    #[error("no kit line found (lines look like `01/03  AGE- SECR …  7F3A`)")]
    NoLines,
    #[error(
        "line {line}: its checksum {printed} does not match what was typed ({computed}): a typo on this line"
    )]
    LineChecksum {
        line: String,
        printed: String,
        computed: String,
    },
    #[error("line {0} is missing")]
    MissingLine(String),
    #[error("line {0} is there twice, differently")]
    Conflict(String),
    #[error(
        "the key's bech32 checksum does not match: a typo that the line checksums did not catch; check every line again"
    )]
    Bech32,
    #[error("the text is not an age identity (AGE-SECRET-KEY-1…): {0}")]
    NotAnIdentity(String),
    #[error(
        "this kit is protected by a passphrase; give it (--passphrase-file FILE or --passphrase)"
    )]
    NeedsPassphrase,
    #[error(
        "the passphrase does not open this kit (or a line was mistyped in a way the checksums did not catch)"
    )]
    WrongPassphrase,
}

/// The identity the kit's lines give back.
pub struct Recovered {
    /// The `AGE-SECRET-KEY-1…` line.
    pub identity: SecretString,
    pub recipient: String,
    pub protected: bool,
}

/// Makes a kit for `identity` (an `AGE-SECRET-KEY-1…` line), encrypted to
/// `passphrase` when one is given.
///
/// # Errors
/// When `identity` is not an age X25519 identity.
pub fn make(
    identity: &SecretString,
    passphrase: Option<SecretString>,
    info: KitInfo,
) -> std::result::Result<Kit, RecoverError> {
    let line = identity.expose_secret().trim();
    let parsed = age::x25519::Identity::from_str(line)
        .map_err(|e| RecoverError::NotAnIdentity(e.to_string()))?;
    let mut info = info;
    info.recipient = parsed.to_public().to_string();
    let (payload, body) = match passphrase {
        None => (format!("{line}\n"), line.to_owned()),
        Some(pass) => {
            let armored = encrypt_armored(line, pass);
            let body: String = armored
                .lines()
                .filter(|l| !l.starts_with("-----"))
                .collect();
            (armored, body)
        }
    };
    let chunks: Vec<&str> = body
        .as_bytes()
        .chunks(PER_LINE)
        .map(|c| std::str::from_utf8(c).expect("ASCII"))
        .collect();
    let total = chunks.len();
    let lines = chunks
        .iter()
        .enumerate()
        .map(|(i, chunk)| {
            let label = format!("{:02}/{:02}", i + 1, total);
            let groups: Vec<&str> = chunk
                .as_bytes()
                .chunks(4)
                .map(|g| std::str::from_utf8(g).expect("ASCII"))
                .collect();
            format!(
                "{label}  {:<39}  {}",
                groups.join(" "),
                line_checksum(&label, chunk)
            )
        })
        .collect();
    Ok(Kit {
        info,
        protected: payload.starts_with(BEGIN),
        payload: SecretString::from(payload),
        lines,
    })
}

fn encrypt_armored(line: &str, passphrase: SecretString) -> String {
    let encryptor = age::Encryptor::with_user_passphrase(passphrase);
    let mut out = Vec::new();
    let armor = age::armor::ArmoredWriter::wrap_output(&mut out, age::armor::Format::AsciiArmor)
        .expect("writing to memory");
    let mut w = encryptor.wrap_output(armor).expect("writing to memory");
    w.write_all(line.as_bytes())
        .and_then(|()| w.write_all(b"\n"))
        .expect("writing to memory");
    w.finish()
        .and_then(|armor| armor.finish())
        .expect("writing to memory");
    String::from_utf8(out).expect("armor is ASCII")
}

fn line_checksum(label: &str, text: &str) -> String {
    let hash = Sha256::digest(format!("{label}:{text}").as_bytes());
    format!("{:02X}{:02X}", hash[0], hash[1])
}

impl Kit {
    /// The file the QR code holds (`key.txt` or `key.age`).
    pub fn payload(&self) -> &SecretString {
        &self.payload
    }

    /// The numbered, checksummed lines.
    pub fn lines(&self) -> &[String] {
        &self.lines
    }

    fn qr(&self) -> qrcode::QrCode {
        qrcode::QrCode::with_error_correction_level(
            self.payload.expose_secret().as_bytes(),
            qrcode::EcLevel::M,
        )
        .expect("a key fits in a QR code")
    }

    /// The QR code as an SVG image.
    pub fn qr_svg(&self) -> String {
        let svg = self
            .qr()
            .render::<qrcode::render::svg::Color>()
            .min_dimensions(240, 240)
            .quiet_zone(true)
            .build();
        // Inline in HTML: without the XML declaration.
        match svg.find("<svg") {
            Some(i) => svg[i..].to_owned(),
            None => svg,
        }
    }

    /// The QR code drawn with Unicode half blocks, for a terminal.
    pub fn qr_text(&self) -> String {
        self.qr()
            .render::<qrcode::render::unicode::Dense1x2>()
            .dark_color(qrcode::render::unicode::Dense1x2::Light)
            .light_color(qrcode::render::unicode::Dense1x2::Dark)
            .quiet_zone(true)
            .build()
    }

    /// The recovery steps, numbered, as plain text.
    pub fn steps(&self) -> Vec<String> {
        let mut steps = vec![
            "Install age (https://age-encryption.org; on Debian or Ubuntu: apt install age), and zstd and tar to unpack kluis archives.".to_owned(),
        ];
        if self.protected {
            steps.push("Scan the QR code and save its text as key.age. Or type the groups of every line (not the line number, not the checksum at the end) into typed.txt, then run:\n(echo '-----BEGIN AGE ENCRYPTED FILE-----'; tr -d ' \\n' < typed.txt | fold -w 64; echo; echo '-----END AGE ENCRYPTED FILE-----') > key.age".into());
            steps.push("age -d -o key.txt key.age   (asks for the kit's passphrase)".into());
        } else {
            steps.push("Scan the QR code and save its text as key.txt. Or type the groups of every line (not the line number, not the checksum at the end) into typed.txt, then run:\ntr -d ' \\n' < typed.txt > key.txt; echo >> key.txt".into());
        }
        steps.push("chmod 600 key.txt   (the key file must stay private)".into());
        steps.push(format!(
            "Check: age-keygen -y key.txt   must print {}",
            self.info.recipient
        ));
        steps.push("Recover an archive into an empty folder: age -d -i key.txt 2019-financial.kluis | zstd -d | tar -x; then sha256sum -c kluis/SHA256SUMS".into());
        steps.push("With kluis: `kluis key recover -o key.txt` reads the lines (typed or pasted) and checks each one as it goes.".into());
        steps
    }

    /// The kit for a terminal or a plain-text printout.
    pub fn text(&self) -> String {
        let mut s = String::new();
        let _ = writeln!(s, "KLUIS PAPER RECOVERY KIT: {}", self.info.organisation);
        let _ = writeln!(s, "made {}", self.info.date);
        let _ = writeln!(s);
        let _ = writeln!(
            s,
            "This is the SECRET KEY that opens the organisation's archives{}. Keep it in a\nsafe place, away from the archive media.",
            if self.protected {
                ", encrypted to a passphrase (kept elsewhere)"
            } else {
                ""
            }
        );
        let _ = writeln!(s);
        s.push_str(&self.qr_text());
        let _ = writeln!(s);
        let _ = writeln!(
            s,
            "{}, in lines (number, groups, checksum):",
            if self.protected { "key.age" } else { "key.txt" }
        );
        for l in &self.lines {
            let _ = writeln!(s, "  {l}");
        }
        let _ = writeln!(s);
        let _ = writeln!(s, "Recipient (public):      {}", self.info.recipient);
        if let Some(k) = &self.info.signing_key {
            let _ = writeln!(s, "Organisation signing key: {k}");
        }
        let _ = writeln!(s);
        let _ = writeln!(s, "To recover:");
        for (i, step) in self.steps().iter().enumerate() {
            let mut lines = step.lines();
            let _ = writeln!(s, "{:>2}. {}", i + 1, lines.next().unwrap_or(""));
            for l in lines {
                let _ = writeln!(s, "      {l}");
            }
        }
        s
    }

    /// The kit as a printable HTML page (one A4 sheet).
    pub fn html(&self) -> String {
        let e = escape;
        let mut lines = String::new();
        for l in &self.lines {
            let _ = writeln!(lines, "{}", e(l));
        }
        let mut steps = String::new();
        for step in self.steps() {
            let _ = writeln!(
                steps,
                "<li>{}</li>",
                e(&step).replace('\n', "<br><code>")
                    + if step.contains('\n') { "</code>" } else { "" }
            );
        }
        let signing = match &self.info.signing_key {
            Some(k) => format!(
                "<tr><th>Signing key (public)</th><td><code>{}</code></td></tr>",
                e(k)
            ),
            None => String::new(),
        };
        format!(
            r#"<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>kluis recovery kit: {org}</title>
<style>
@page {{ size: A4; margin: 15mm; }}
body {{ font-family: sans-serif; font-size: 10.5pt; color: #000; max-width: 180mm; margin: auto; }}
h1 {{ font-size: 16pt; margin-bottom: 0; }}
.secret {{ border: 2px solid #000; padding: 4mm; margin: 4mm 0; }}
.qr svg {{ width: 60mm; height: 60mm; }}
pre.lines {{ font-family: "DejaVu Sans Mono", monospace; font-size: 11pt; line-height: 1.5; }}
code {{ font-family: "DejaVu Sans Mono", monospace; word-break: break-all; }}
th {{ text-align: left; padding-right: 4mm; vertical-align: top; }}
</style></head>
<body>
<h1>Paper recovery kit</h1>
<p>{org} &middot; made {date}</p>
<div class="secret">
<p><strong>This is the secret key that opens the organisation's archives{prot}.</strong>
Keep it in a safe place, away from the archive media.</p>
<div class="qr">{svg}</div>
<p>{file}, in lines (line number, groups of four, checksum of the line):</p>
<pre class="lines">{lines}</pre>
</div>
<table>
<tr><th>Recipient (public)</th><td><code>{recipient}</code></td></tr>
{signing}
</table>
<h2>To recover</h2>
<ol>
{steps}</ol>
<p>Written by {tool}.</p>
</body></html>
"#,
            org = e(&self.info.organisation),
            date = e(&self.info.date),
            prot = if self.protected {
                ", encrypted to a passphrase that is kept elsewhere"
            } else {
                ""
            },
            svg = self.qr_svg(),
            file = if self.protected { "key.age" } else { "key.txt" },
            recipient = e(&self.info.recipient),
            tool = crate::TOOL_VERSION,
        )
    }
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// Reads a kit's lines back (typed or pasted; other lines, such as the
/// page's headings, are ignored), checking each line's checksum, that no
/// line is missing, the passphrase if the kit has one, and the key's
/// bech32 checksum.
///
/// # Errors
/// [`RecoverError`], naming the line with a typo.
pub fn recover(
    text: &str,
    passphrase: Option<SecretString>,
) -> std::result::Result<Recovered, RecoverError> {
    let mut found: Vec<(usize, usize, String)> = Vec::new();
    for raw in text.lines() {
        let mut words: Vec<&str> = raw.split_whitespace().collect();
        let Some((number, total)) = words.first().and_then(|w| parse_label(w)) else {
            continue;
        };
        if words.len() < 3 {
            continue;
        }
        let printed = words.pop().expect("three words").to_ascii_uppercase();
        let label = format!("{number:02}/{total:02}");
        let mut chunk: String = words[1..].concat();
        let mut computed = line_checksum(&label, &chunk);
        if computed != printed {
            // A plain key is all capitals; typed in lower case it is the same.
            let upper = chunk.to_ascii_uppercase();
            if line_checksum(&label, &upper) == printed {
                chunk = upper;
                computed = printed.clone();
            }
        }
        if computed != printed {
            return Err(RecoverError::LineChecksum {
                line: label,
                printed,
                computed,
            });
        }
        match found.iter().find(|(n, t, _)| *n == number && *t == total) {
            Some((_, _, c)) if *c != chunk => return Err(RecoverError::Conflict(label)),
            Some(_) => {}
            None => found.push((number, total, chunk)),
        }
    }
    let total = found.first().ok_or(RecoverError::NoLines)?.1;
    let mut body = String::new();
    for n in 1..=total {
        match found.iter().find(|(k, t, _)| *k == n && *t == total) {
            Some((_, _, c)) => body.push_str(c),
            None => return Err(RecoverError::MissingLine(format!("{n:02}/{total:02}"))),
        }
    }
    if body.to_ascii_uppercase().starts_with("AGE-SECRET-KEY-1") {
        return identity_from(&body, false);
    }
    let Some(pass) = passphrase else {
        return Err(RecoverError::NeedsPassphrase);
    };
    let mut armored = format!("{BEGIN}\n");
    for piece in body.as_bytes().chunks(64) {
        armored.push_str(std::str::from_utf8(piece).expect("ASCII"));
        armored.push('\n');
    }
    armored.push_str(END);
    armored.push('\n');
    let reader = age::armor::ArmoredReader::new(armored.as_bytes());
    let decryptor = age::Decryptor::new(reader).map_err(|_| RecoverError::WrongPassphrase)?;
    let identity = age::scrypt::Identity::new(pass);
    let mut plain = Vec::new();
    decryptor
        .decrypt(std::iter::once(&identity as &dyn age::Identity))
        .map_err(|_| RecoverError::WrongPassphrase)?
        .read_to_end(&mut plain)
        .map_err(|_| RecoverError::WrongPassphrase)?;
    let text = String::from_utf8(plain).map_err(|_| RecoverError::WrongPassphrase)?;
    let recovered = identity_from(text.trim(), true);
    age::secrecy::zeroize::Zeroize::zeroize(&mut body);
    recovered
}

fn parse_label(word: &str) -> Option<(usize, usize)> {
    let (n, t) = word.split_once('/')?;
    if n.len() != 2 || t.len() != 2 {
        return None;
    }
    let (n, t) = (n.parse().ok()?, t.parse().ok()?);
    (n >= 1 && n <= t).then_some((n, t))
}

fn identity_from(text: &str, protected: bool) -> std::result::Result<Recovered, RecoverError> {
    let upper = text.trim().to_ascii_uppercase();
    match bech32::decode(&upper) {
        Ok((hrp, data))
            if hrp.as_str().eq_ignore_ascii_case("age-secret-key-") && data.len() == 32 => {}
        Ok(_) => {
            return Err(RecoverError::NotAnIdentity(
                "not an X25519 secret key".into(),
            ));
        }
        Err(_) => return Err(RecoverError::Bech32),
    }
    let identity = age::x25519::Identity::from_str(&upper)
        .map_err(|e| RecoverError::NotAnIdentity(e.to_string()))?;
    Ok(Recovered {
        recipient: identity.to_public().to_string(),
        identity: SecretString::from(upper),
        protected,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info() -> KitInfo {
        KitInfo {
            organisation: "Test <B.V.>".into(),
            recipient: String::new(),
            signing_key: Some("RWQ…".into()),
            date: "2027-01-05".into(),
        }
    }

    fn identity() -> (SecretString, String) {
        let id = age::x25519::Identity::generate();
        (id.to_string(), id.to_public().to_string())
    }

    #[test]
    fn plain_kit_round_trips_and_names_the_line_with_a_typo() {
        let (secret, recipient) = identity();
        let kit = make(&secret, None, info()).unwrap();
        assert_eq!(kit.info.recipient, recipient);
        assert_eq!(kit.lines().len(), 3);
        let text = kit.text();
        let back = recover(&text, None).unwrap();
        assert_eq!(back.identity.expose_secret(), secret.expose_secret());
        assert_eq!(back.recipient, recipient);
        // Typed in lower case, without the page around it.
        let typed = kit.lines().join("\n").to_lowercase();
        assert_eq!(recover(&typed, None).unwrap().recipient, recipient);
        // One character changed on line 2.
        let mut lines: Vec<String> = kit.lines().to_vec();
        let l = &mut lines[1];
        let at = 8;
        let c = if &l[at..at + 1] == "Q" { "P" } else { "Q" };
        l.replace_range(at..at + 1, c);
        assert!(matches!(
            recover(&lines.join("\n"), None),
            Err(RecoverError::LineChecksum { line, .. }) if line == "02/03"
        ));
        assert!(matches!(
            recover(&kit.lines()[..2].join("\n"), None),
            Err(RecoverError::MissingLine(l)) if l == "03/03"
        ));
        assert!(kit.html().contains("Test &lt;B.V.&gt;"));
        assert!(kit.html().contains("<svg"));
    }

    #[test]
    fn protected_kit_needs_its_passphrase() {
        let (secret, recipient) = identity();
        let kit = make(
            &secret,
            Some(SecretString::from("correct horse".to_owned())),
            info(),
        )
        .unwrap();
        assert!(kit.protected);
        assert!(kit.payload().expose_secret().starts_with(BEGIN));
        assert!(!kit.text().contains("AGE-SECRET-KEY"));
        let text = kit.text();
        assert!(matches!(
            recover(&text, None),
            Err(RecoverError::NeedsPassphrase)
        ));
        assert!(matches!(
            recover(&text, Some(SecretString::from("wrong".to_owned()))),
            Err(RecoverError::WrongPassphrase)
        ));
        let back = recover(&text, Some(SecretString::from("correct horse".to_owned()))).unwrap();
        assert_eq!(back.recipient, recipient);
        assert!(back.protected);
    }
}
