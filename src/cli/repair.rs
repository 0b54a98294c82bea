//! `kluis repair`: damaged archives rebuilt from their PAR2 parity files
//! (no key needed), or parity added to archives written without it.

use std::io::Write;
use std::path::{Path, PathBuf};

use clap::Args;
use kluis::progress::Progress;
use kluis::read::repair;
use kluis::vault::{self, Vault};
use kluis::{Error, Result};

use super::progress::Bar;
use super::{Outcome, print_json};

#[derive(Args)]
pub struct RepairArgs {
    /// Write parity files for archives that have none (written before parity existed or with --parity 0), instead of repairing.
    #[arg(long)]
    add_parity: bool,
    /// With --add-parity: redundancy in percent [default: the vault's [parity] percent, 5]
    #[arg(long, value_name = "PERCENT", value_parser = clap::value_parser!(u32).range(1..=100))]
    parity: Option<u32>,
    /// One JSON object per archive on stdout.
    #[arg(long)]
    json: bool,
    /// Archive files, or medium folders (every archive on them).
    #[arg(value_name = "ARCHIVE|MEDIUM", required = true)]
    paths: Vec<PathBuf>,
}

pub fn repair(vault_dir: Option<&Path>, args: RepairArgs) -> Result<Outcome> {
    let vault = Vault::open(&vault::locate(vault_dir)).ok();
    let catalog = vault.as_ref().and_then(|v| v.catalog().ok());
    let mut settings = vault
        .as_ref()
        .map(|v| v.config.parity.settings())
        .unwrap_or_default();
    if let Some(p) = args.parity {
        settings.percent = p;
    }
    let mut outcome = Outcome::Ok;
    let progress = Bar::new(true);
    let mut done = 0;
    for path in &args.paths {
        for archive in repair::archives_at(path)? {
            if progress.interrupted() {
                return Ok(Outcome::Interrupted(format!(
                    "{done} archive{} done; {} and the ones after it were not looked at",
                    if done == 1 { "" } else { "s" },
                    archive.display()
                )));
            }
            let report = if args.add_parity {
                repair::add_parity(&archive, &settings, &progress)
            } else {
                repair::repair_archive(&archive, catalog.as_ref(), settings.budget, &progress)
            };
            done += 1;
            let report = match report {
                Ok(r) => r,
                Err(Error::Interrupted { done: what }) if done > 1 => {
                    return Ok(Outcome::Interrupted(format!(
                        "{} archive{} before it done; {what}",
                        done - 1,
                        if done == 2 { "" } else { "s" }
                    )));
                }
                Err(e @ Error::BeyondRepair { .. }) => {
                    super::report_error(&e);
                    outcome = Outcome::NeedsAction;
                    continue;
                }
                Err(e) => return Err(e),
            };
            if args.json {
                print_json(&report)?;
                continue;
            }
            if !report.cleaned.is_empty() {
                eprintln!(
                    "note: removed {} leftover{} of interrupted runs ({})",
                    report.cleaned.len(),
                    if report.cleaned.len() == 1 { "" } else { "s" },
                    report.cleaned.join(", ")
                );
            }
            let text = match report.result {
                "intact" => format!(
                    "{}: intact ({} slices checked; {} recovery blocks available)",
                    report.archive.display(),
                    report.slices,
                    report.recovery_blocks
                ),
                "repaired" => format!(
                    "{}: repaired {} damaged of {} slices, checked and put in place; {} of {} recovery blocks would remain for further damage",
                    report.archive.display(),
                    report.damaged,
                    report.slices,
                    report.blocks_left,
                    report.recovery_blocks
                ),
                "copied" => {
                    let from = report
                        .copied_from
                        .as_ref()
                        .expect("a copied archive names its source");
                    format!(
                        "{}: damaged; replaced by the intact copy on medium {} ({}), its SHA-256 checked",
                        report.archive.display(),
                        from.medium,
                        from.path.display()
                    )
                }
                "has-parity" => format!(
                    "{}: already has parity ({} recovery blocks); nothing written",
                    report.archive.display(),
                    report.recovery_blocks
                ),
                _ => format!(
                    "{}: parity added: {} recovery blocks for {} slices",
                    report.archive.display(),
                    report.recovery_blocks,
                    report.slices
                ),
            };
            writeln!(std::io::stdout().lock(), "{text}").map_err(|e| Error::io("stdout", e))?;
        }
    }
    Ok(outcome)
}
