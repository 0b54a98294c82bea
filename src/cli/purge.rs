//! `kluis purge`: finishes a purge that `archive --purge-source` did not
//! finish (interrupted, killed, or a record that could not be removed),
//! from the journal the archive run left in the vault; and the purge's
//! lines, which `archive --purge-source` prints too.

use std::path::{Path, PathBuf};

use clap::Args;
use kluis::vault::{self, Vault};
use kluis::write::archive::human;
use kluis::write::purge::{self, Journal, PurgeReport};
use serde_json::json;

use super::color::{Stream, Tone, paint};
use super::commands::{note, stdout_line};
use super::progress::Bar;
use super::{Outcome, print_json};

type Result<T> = kluis::Result<T>;

#[derive(Args)]
pub struct PurgeArgs {
    /// The archive whose purge to finish: its file name (2019-financial.kluis) or a path to a copy; without it, list the unfinished purges
    #[arg(value_name = "ARCHIVE")]
    archive: Option<PathBuf>,
    /// Print a JSON object: the unfinished purges, or what this purge removed and kept
    #[arg(long)]
    json: bool,
}

pub fn purge(vault_dir: Option<&Path>, quiet: bool, args: PurgeArgs) -> Result<Outcome> {
    let vault = Vault::open(&vault::locate(vault_dir))?;
    let Some(archive) = args.archive else {
        return list(&vault, args.json);
    };
    let file = archive
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let bar = Bar::new(quiet || args.json);
    let report = purge::finish(&vault, &file, &bar)?;
    bar.finish();
    if args.json {
        print_json(&json!({ "file": file, "purge": report }))?;
    } else {
        print_report(
            &report,
            report.files + report.symlinks + report.dirs > 0 || report.tables.is_empty(),
        )?;
    }
    outcome(
        &file,
        &report,
        quiet || args.json,
        "removing the archived records",
    )
}

fn list(vault: &Vault, json: bool) -> Result<Outcome> {
    let pending = Journal::pending(&vault.dir)?;
    if json {
        print_json(&json!({
            "unfinished": pending.iter().map(|j| json!({
                "file": j.plan.file,
                "archive_id": j.plan.archive_id,
                "fiscal_year": j.plan.fiscal_year,
                "folders": j.plan.roots,
                "tables": j.plan.tables.iter().map(|t| t.spec.name.clone()).collect::<Vec<_>>(),
            })).collect::<Vec<_>>()
        }))?;
    } else if pending.is_empty() {
        stdout_line("no purge is unfinished")?;
    } else {
        for j in &pending {
            stdout_line(&format!(
                "{}: purge of the sources unfinished; `kluis purge {}` finishes it",
                j.plan.file, j.plan.file
            ))?;
        }
    }
    Ok(match pending.is_empty() {
        true => Outcome::Ok,
        false => Outcome::NeedsAction,
    })
}

/// The purge's lines: what left the sources, and what stayed and why.
pub(super) fn print_report(p: &PurgeReport, folders: bool) -> Result<()> {
    if folders {
        stdout_line(&format!(
            "  removed from the sources: {} files ({}), {} links, {} empty folders",
            p.files,
            human(p.bytes),
            p.symlinks,
            p.dirs
        ))?;
    }
    for t in &p.tables {
        stdout_line(&format!(
            "  removed from table {} ({}): {} rows; {} rows of other years left",
            t.table, t.source, t.rows_removed, t.rows_left
        ))?;
    }
    for k in &p.kept {
        stdout_line(&format!(
            "  {} {}: {}",
            paint(Stream::Stdout, Tone::Warn, "KEPT in the source:"),
            k.path.display(),
            k.reason
        ))?;
    }
    Ok(())
}

/// How a purge ends: interrupted (the one line says `kluis purge FILE`
/// finishes), some records kept (exit 1), or done.
pub(super) fn outcome(file: &str, p: &PurgeReport, quiet: bool, what: &str) -> Result<Outcome> {
    if p.interrupted {
        return Ok(Outcome::Interrupted(format!(
            "{what} from the sources stopped after {} files and {} tables: the rest are still in the sources (and safe in the archive); `kluis purge {file}` finishes",
            p.files,
            p.tables.len()
        )));
    }
    if !p.complete() {
        let again = match p.kept.iter().any(|k| k.retry) {
            true => format!(
                " What could not be removed is removed by `kluis purge {file}` once the cause is gone."
            ),
            false => String::new(),
        };
        note(
            quiet,
            &format!(
                "{} some archived records were kept in the sources because they changed since they were archived (or could not be removed); they are safe in the archive as they were. Check them, and archive a supplement if needed.{again}",
                paint(Stream::Stderr, Tone::Warn, "warning:")
            ),
        );
        return Ok(Outcome::NeedsAction);
    }
    Ok(Outcome::Ok)
}
