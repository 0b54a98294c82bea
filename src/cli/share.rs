//! `kluis rekey` (re-encrypt to the vault's current recipients) and `kluis
//! share` (records for an auditor), and the list of shares for `kluis
//! status --shares`.

use std::io::Write;
use std::path::{Path, PathBuf};

use chrono::NaiveDate;
use clap::Args;
use kluis::error::Error;
use kluis::vault::catalog::Share;
use kluis::vault::{self, Vault};
use kluis::write::archive::human;
use kluis::write::{rekey, share};
use serde_json::json;

use super::progress::Bar;
use super::{KeyArgs, Outcome, print_json};

type Result<T> = kluis::Result<T>;

#[derive(Args)]
#[command(after_help = "\
Each archive is decrypted and encrypted again as a stream, with a fresh file
key, to the recipients in the vault's config.toml; its content stays byte for
byte the same. The new copy is written under a temporary name, read back and
checked, then put in place; SHA256SUMS, its signature, the medium index and
the catalog are updated, and the old file is overwritten and deleted. An
interrupted rekey is finished by running it again.

Removing a recipient does NOT take access away from anyone who kept a copy of
an old file or has a medium that was not re-encrypted.")]
pub struct RekeyArgs {
    #[command(flatten)]
    keys: KeyArgs,
    /// A medium folder (every archive on it) or one archive file on a medium.
    #[arg(value_name = "MEDIUM|ARCHIVE")]
    target: PathBuf,
    /// Print the report as JSON (one object per archive).
    #[arg(long)]
    json: bool,
}

pub fn rekey(vault_dir: Option<&Path>, quiet: bool, args: RekeyArgs) -> Result<Outcome> {
    let vault = Vault::open(&vault::locate(vault_dir))?;
    let ids = args.keys.load()?;
    let bar = Bar::new(quiet || args.json);
    let report = rekey::run(&vault, &args.target, &ids, &bar)?;
    bar.finish();
    if args.json {
        print_json(&json!({"rekey": report, "note": rekey::REMOVAL_NOTE}))?;
        return Ok(Outcome::Ok);
    }
    let mut out = std::io::stdout().lock();
    let w = |out: &mut std::io::StdoutLock, s: String| {
        writeln!(out, "{s}").map_err(|e| Error::io("stdout", e))
    };
    w(
        &mut out,
        format!(
            "Medium {}: re-encrypted to {} recipient(s) of the vault:",
            report.medium,
            report.recipients.len()
        ),
    )?;
    for a in &report.archives {
        let what = match a.outcome.as_str() {
            "current" => "already encrypted to these recipients (by an earlier run)",
            "resumed" => "re-encrypted (an interrupted run finished)",
            _ => "re-encrypted, read back and checked; the old file overwritten and deleted",
        };
        w(
            &mut out,
            format!(
                "  {}: {what}; {}, SHA-256 {}",
                a.file,
                human(a.size),
                a.new_sha256
            ),
        )?;
    }
    w(&mut out, format!("\nNote: {}", rekey::REMOVAL_NOTE))?;
    Ok(Outcome::Ok)
}

#[derive(Args)]
#[command(after_help = "\
Reads only the chosen records (by seeking) and writes them, with a manifest,
SHA256SUMS, the organisation's signature and a README.txt, into a new kluis
archive encrypted to --recipient alone (or, with --plain, into a plain
folder). Rows of archived tables (tables/…) are filtered by --from/--until.
Every share is recorded in the vault's catalog (`kluis status --shares`).
Exit 1 when nothing matches (nothing is written).")]
pub struct ShareArgs {
    #[command(flatten)]
    keys: KeyArgs,
    /// The archives to take records from.
    #[arg(value_name = "ARCHIVE", required = true, num_args = 1..)]
    archives: Vec<PathBuf>,
    /// A new or empty folder for the share.
    #[arg(long = "to", value_name = "DIR")]
    to: PathBuf,
    /// Encrypt the share to this recipient (the auditor's age1… key) only.
    #[arg(
        long,
        value_name = "RECIPIENT",
        required_unless_present = "plain",
        conflicts_with = "plain"
    )]
    recipient: Option<String>,
    /// Write the records as plain files (with a signed SHA256SUMS) instead.
    #[arg(long)]
    plain: bool,
    /// Only records matching these patterns (as for restore); repeatable.
    #[arg(long = "pattern", short = 'p', value_name = "PATTERN")]
    patterns: Vec<String>,
    /// Rows of tables dated on or after this day (YYYY-MM-DD).
    #[arg(long, value_name = "DATE")]
    from: Option<NaiveDate>,
    /// Rows of tables dated on or before this day (YYYY-MM-DD).
    #[arg(long, value_name = "DATE")]
    until: Option<NaiveDate>,
    /// The column that dates a table's rows [default: date_column of the vault's [tables.NAME]].
    #[arg(long, value_name = "COLUMN")]
    date_column: Option<String>,
    /// Why the records are shared (kept in the catalog's record of disclosures).
    #[arg(long, value_name = "TEXT")]
    reason: String,
    /// Write without the organisation's signature.
    #[arg(long)]
    unsigned: bool,
    /// Print the report as one JSON object.
    #[arg(long)]
    json: bool,
}

pub fn share(vault_dir: Option<&Path>, quiet: bool, args: ShareArgs) -> Result<Outcome> {
    let vault = Vault::open(&vault::locate(vault_dir))?;
    if let Some(r) = &args.recipient {
        kluis::keys::parse_recipient(r)?;
    }
    let ids = args.keys.load()?;
    let request = share::Request {
        archives: args.archives.clone(),
        to: args.to.clone(),
        destination: match &args.recipient {
            Some(r) => share::Destination::Recipient(r.clone()),
            None => share::Destination::Plain,
        },
        patterns: args.patterns.clone(),
        from: args.from,
        until: args.until,
        date_column: args.date_column.clone(),
        reason: args.reason.clone(),
        unsigned: args.unsigned,
    };
    let bar = Bar::new(quiet || args.json);
    let report = share::run(&vault, &ids, &request, &bar)?;
    bar.finish();
    if args.json {
        print_json(&report)?;
    } else if report.records == 0 {
        eprintln!(
            "Nothing matched: no record was shared and nothing was written. `kluis list` shows the names."
        );
    } else {
        let mut out = std::io::stdout().lock();
        let mut w = |s: String| writeln!(out, "{s}").map_err(|e| Error::io("stdout", e));
        w(format!(
            "Shared {} records ({} files, {}) {} in {}",
            report.records,
            report.files,
            human(report.bytes),
            match &args.recipient {
                Some(r) => format!("encrypted to {r} only"),
                None => "as plain files".into(),
            },
            report.path.display()
        ))?;
        for t in &report.tables {
            w(format!(
                "  {}: {} rows in the dates, {} left out",
                t.member, t.rows, t.rows_left_out
            ))?;
        }
        if let Some(k) = &report.signed_by {
            w(format!(
                "  signed by the organisation's key {k}; README.txt says how to check it"
            ))?;
        }
        w(format!(
            "  recorded in the catalog as share {} (`kluis status --shares`)",
            report.share_id
        ))?;
        if !quiet {
            eprintln!(
                "Read {} of the archives in {:.2} s.",
                human(report.bytes_read),
                report.seconds
            );
        }
    }
    Ok(if report.records == 0 {
        Outcome::NeedsAction
    } else {
        Outcome::Ok
    })
}

/// `kluis status --shares`.
pub fn render_shares(shares: &[Share]) -> String {
    if shares.is_empty() {
        return "No records were shared yet.\n".into();
    }
    let mut s = String::from("Shares (the record of disclosures):\n");
    for x in shares {
        let dates = match (x.from, x.until) {
            (None, None) => String::new(),
            (f, u) => format!(
                ", rows dated {}..{}",
                f.map(|d| d.to_string()).unwrap_or_default(),
                u.map(|d| d.to_string()).unwrap_or_default()
            ),
        };
        s.push_str(&format!(
            "  {}  {}  to {}\n    why: {}\n    what: {} records ({}) from {} archive(s){}{}\n    where: {}\n",
            x.created.format("%Y-%m-%d %H:%M"),
            &x.share_id[..8.min(x.share_id.len())],
            x.to,
            x.reason,
            x.records,
            human(x.bytes),
            x.archives.len(),
            if x.patterns.is_empty() {
                String::new()
            } else {
                format!(", matching {}", x.patterns.join(" "))
            },
            dates,
            x.path.display()
        ));
    }
    s
}

pub fn shares_json(shares: &[Share]) -> serde_json::Value {
    json!({ "shares": shares })
}
