//! Key commands beyond `new` and `check`: the organisation's signing key
//! (`key signing`), the paper recovery kit (`key paper`) and reading one
//! back (`key recover`).

use std::io::{IsTerminal, Read, Write};
use std::path::{Path, PathBuf};

use age::secrecy::{ExposeSecret, SecretString};
use clap::Args;
use kluis::error::{Error, IoContext};
use kluis::keys::paper::{self, KitInfo};
use kluis::keys::signing::PublicKey;
use kluis::keys::write_private;
use kluis::vault::{self, Vault};
use serde_json::json;

use super::{KeyArgs, Outcome, print_json};

type Result<T> = kluis::Result<T>;

#[derive(Args)]
pub struct SigningArgs {
    /// Create the vault's signing key (for a vault made before kluis signed).
    #[arg(long)]
    new: bool,
    /// Also write the public key file (minisign format; `-p FILE` for minisign and signify) here.
    #[arg(short, long, value_name = "FILE")]
    output: Option<PathBuf>,
    /// Print the key id, the public key and the minisign file as one JSON object.
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
pub struct PaperArgs {
    /// The age identity file to put on paper.
    #[arg(short = 'i', long = "identity", value_name = "FILE")]
    identity: PathBuf,
    /// Encrypt the key to a passphrase first (asked on the terminal), so the paper alone opens nothing.
    #[arg(long)]
    passphrase: bool,
    /// Read that passphrase from the first line of FILE instead.
    #[arg(long, value_name = "FILE")]
    passphrase_file: Option<PathBuf>,
    /// Write the printable page (HTML) here; without it the kit is printed as text.
    #[arg(short, long, value_name = "FILE")]
    output: Option<PathBuf>,
}

#[derive(Args)]
pub struct RecoverArgs {
    /// Write the recovered identity here (mode 0600; never overwrites).
    #[arg(short, long, value_name = "FILE")]
    output: PathBuf,
    /// Read the kit's lines from FILE instead of standard input.
    #[arg(long = "from", value_name = "FILE")]
    from: Option<PathBuf>,
    #[command(flatten)]
    keys: KeyArgs,
    /// Accept a key the vault does not know as a recipient.
    #[arg(long)]
    any_key: bool,
}

/// A public key given on the command line: a file, or the `RWQ…` line.
pub fn public_key_arg(text: &str) -> Result<PublicKey> {
    let content = match std::fs::read_to_string(text) {
        Ok(c) => c,
        Err(_) => text.to_owned(),
    };
    PublicKey::parse(&content).map_err(|detail| Error::Key {
        what: format!("signing key {text:?}"),
        detail,
    })
}

pub fn signing(vault_dir: Option<&Path>, quiet: bool, args: SigningArgs) -> Result<Outcome> {
    let vault = Vault::open(&vault::locate(vault_dir))?;
    let public = if args.new {
        let public = vault.create_signing_key()?;
        if !quiet {
            eprintln!(
                "Created the organisation's signing key in {} (mode 0600). Publish its public key below: whoever checks an archive, medium or proof needs it.",
                vault.dir.join(vault::SIGNING_KEY_FILE).display()
            );
        }
        public
    } else {
        match vault.signing_key()? {
            Some(k) => k.public(),
            None => {
                return Err(Error::NoSigningKey {
                    vault: vault.dir.clone(),
                });
            }
        }
    };
    if let Some(path) = &args.output {
        kluis::vault::media::atomic_write(path, public.to_file().as_bytes())?;
    }
    if args.json {
        print_json(&json!({
            "key_id": public.id(),
            "public_key": public.to_base64(),
            "file": public.to_file(),
        }))?;
    } else {
        let mut out = std::io::stdout().lock();
        out.write_all(public.to_file().as_bytes())
            .map_err(|e| Error::io("stdout", e))?;
        if !quiet {
            eprintln!(
                "Check a signature with: minisign -Vm FILE -P {}",
                public.to_base64()
            );
        }
    }
    Ok(Outcome::Ok)
}

fn read_pass(file: &Option<PathBuf>, ask: bool, prompt: &str) -> Result<Option<SecretString>> {
    KeyArgs {
        passphrase_file: file.clone(),
        passphrase: ask,
        ..KeyArgs::default()
    }
    .read_passphrase(prompt)
}

pub fn paper(vault_dir: Option<&Path>, quiet: bool, args: PaperArgs) -> Result<Outcome> {
    // The identity is checked the way every command reads one (private file).
    kluis::keys::Identities::default().add_file(&args.identity)?;
    let mut text = String::new();
    std::fs::File::open(&args.identity)
        .and_then(|mut f| f.read_to_string(&mut text))
        .at(&args.identity)?;
    let line = text
        .lines()
        .map(str::trim)
        .find(|l| l.starts_with("AGE-SECRET-KEY-1"))
        .map(|l| SecretString::from(l.to_owned()));
    age::secrecy::zeroize::Zeroize::zeroize(&mut text);
    let Some(line) = line else {
        return Err(Error::Key {
            what: args.identity.display().to_string(),
            detail: "holds no age X25519 identity (AGE-SECRET-KEY-1…); ssh keys have paper forms of their own".into(),
        });
    };
    let passphrase = read_pass(
        &args.passphrase_file,
        args.passphrase,
        "Passphrase for the kit: ",
    )?;
    if args.passphrase && passphrase.is_some() && args.passphrase_file.is_none() {
        let again = read_pass(&None, true, "Same passphrase again: ")?;
        if again.as_ref().map(|p| p.expose_secret())
            != passphrase.as_ref().map(|p| p.expose_secret())
        {
            return Err(Error::Usage(
                "the two passphrases differ; nothing was written".into(),
            ));
        }
    }
    let vault = Vault::open(&vault::locate(vault_dir)).ok();
    let info = KitInfo {
        organisation: vault
            .as_ref()
            .map(|v| v.config.organisation.clone())
            .unwrap_or_else(|| "(no vault)".into()),
        recipient: String::new(),
        signing_key: vault
            .as_ref()
            .and_then(|v| v.signing_key().ok().flatten())
            .map(|k| k.public().to_base64()),
        date: chrono::Local::now().date_naive().to_string(),
    };
    let kit = paper::make(&line, passphrase, info).map_err(|e| Error::Key {
        what: args.identity.display().to_string(),
        detail: e.to_string(),
    })?;
    match &args.output {
        Some(path) => {
            write_private(path, kit.html().as_bytes())?;
            if !quiet {
                eprintln!(
                    "Wrote the recovery kit to {} (mode 0600). Print it, check it with `kluis key recover`, then delete the file: it holds the key{}.",
                    path.display(),
                    if kit.protected {
                        " (encrypted to the passphrase)"
                    } else {
                        ""
                    }
                );
            }
        }
        None => {
            let mut out = std::io::stdout().lock();
            out.write_all(kit.text().as_bytes())
                .map_err(|e| Error::io("stdout", e))?;
        }
    }
    Ok(Outcome::Ok)
}

pub fn recover(vault_dir: Option<&Path>, quiet: bool, args: RecoverArgs) -> Result<Outcome> {
    let mut text = String::new();
    match &args.from {
        Some(path) => {
            std::fs::File::open(path)
                .and_then(|mut f| f.read_to_string(&mut text))
                .at(path)?;
        }
        None => {
            if std::io::stdin().is_terminal() && !quiet {
                eprintln!(
                    "Type or paste the kit's lines (e.g. `01/03  AGE- SECR …  7F3A`), then an empty line or Ctrl-D:"
                );
            }
            let stdin = std::io::stdin();
            let mut line = String::new();
            loop {
                line.clear();
                let n = std::io::BufRead::read_line(&mut stdin.lock(), &mut line)
                    .map_err(|e| Error::io("stdin", e))?;
                if n == 0 || (line.trim().is_empty() && !text.trim().is_empty()) {
                    break;
                }
                // Check each line as it comes, so a typo is named at once.
                if let Err(e @ paper::RecoverError::LineChecksum { .. }) =
                    paper::recover(&line, None)
                {
                    return Err(Error::Key {
                        what: "the kit".into(),
                        detail: e.to_string(),
                    });
                }
                text.push_str(&line);
            }
        }
    }
    let passphrase = args.keys.read_passphrase("Passphrase of the kit: ")?;
    let recovered = paper::recover(&text, passphrase).map_err(|e| Error::Key {
        what: "the kit".into(),
        detail: e.to_string(),
    })?;
    age::secrecy::zeroize::Zeroize::zeroize(&mut text);
    let vault = Vault::open(&vault::locate(vault_dir));
    let known = match &vault {
        Ok(v) => v
            .config
            .recipients
            .iter()
            .any(|r| r.trim() == recovered.recipient),
        Err(_) => false,
    };
    if !known && !args.any_key {
        return Err(Error::Key {
            what: "the recovered key".into(),
            detail: format!(
                "its recipient {} is not one of the vault's recipients{}; nothing was written (add --any-key to write it anyway)",
                recovered.recipient,
                match &vault {
                    Ok(v) => format!(" ({})", v.dir.display()),
                    Err(_) => ": there is no vault to check it against".into(),
                }
            ),
        });
    }
    let file = format!(
        "# recovered from a paper kit: {}\n# public key: {}\n{}\n",
        chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        recovered.recipient,
        recovered.identity.expose_secret()
    );
    write_private(&args.output, file.as_bytes())?;
    if !quiet {
        eprintln!(
            "Every line and the key's checksum checked; {}. Wrote {} (mode 0600).",
            if known {
                "the key is one of the vault's recipients"
            } else {
                "the key is NOT one of the vault's recipients"
            },
            args.output.display()
        );
    }
    println!("{}", recovered.recipient);
    Ok(Outcome::Ok)
}
