//! The commands that read archives back: verify, list, restore (and
//! `restore --salvage`).

use std::io::Write;
use std::path::{Path, PathBuf};

use clap::Args;
use kluis::error::Error;
use kluis::format::manifest::{Entry, Kind, hex, write_escaped_name};
use kluis::format::reader::ArchiveReader;
use kluis::read::restore::{self, Selection};
use kluis::read::select;
use kluis::read::verify;
use kluis::vault::{self, Vault};
use kluis::write::archive::human;
use serde_json::json;

use super::color::{Stream, Tone, paint};
use super::commands::{note, stdout_line};
use super::progress::Bar;
use super::{KeyArgs, Outcome, print_json};

type Result<T> = kluis::Result<T>;

#[derive(Args)]
pub struct VerifyArgs {
    #[command(flatten)]
    keys: KeyArgs,
    /// Trust this public signing key (a minisign public key file, or its RWQ… line) besides the vault's; repeatable.
    #[arg(long = "signing-key", value_name = "FILE|KEY")]
    signing_keys: Vec<String>,
    /// Print one JSON object per PATH
    #[arg(long)]
    json: bool,
    /// First remove the leftovers of interrupted runs (hidden .NAME.tmp-XXXXXXXX files of kluis's own naming) from each medium folder given, under its lock
    #[arg(long)]
    clean: bool,
    /// Archive files or medium folders.
    #[arg(value_name = "PATH", required = true)]
    paths: Vec<PathBuf>,
}

pub fn verify(vault_dir: Option<&Path>, quiet: bool, args: VerifyArgs) -> Result<Outcome> {
    let ids = if args.keys.given() {
        Some(args.keys.load()?)
    } else {
        None
    };
    let vault = Vault::open(&vault::locate(vault_dir)).ok();
    let catalog = vault.as_ref().and_then(|v| v.catalog().ok());
    let mut extra = Vec::new();
    for k in &args.signing_keys {
        extra.push(super::keys::public_key_arg(k)?);
    }
    if let Some(current) = vault.as_ref().and_then(|v| v.signing_key().ok().flatten()) {
        extra.push(current.public());
    }
    let mut all_ok = true;
    if args.clean {
        for path in args.paths.iter().filter(|p| p.is_dir()) {
            let medium = kluis::vault::media::Medium::open(path, None)?;
            let lock = medium.lock()?;
            let removed = medium.clean_leftovers(&lock)?;
            if !quiet && !args.json {
                eprintln!(
                    "{}: removed {} leftover{} of interrupted runs{}",
                    path.display(),
                    removed.len(),
                    if removed.len() == 1 { "" } else { "s" },
                    if removed.is_empty() {
                        String::new()
                    } else {
                        format!(" ({})", removed.join(", "))
                    }
                );
            }
        }
    }
    for (done, path) in args.paths.iter().enumerate() {
        if super::signals::received().is_some() {
            return Ok(Outcome::Interrupted(format!(
                "verified {done} of {} paths; nothing was changed",
                args.paths.len()
            )));
        }
        let progress = Bar::new(true);
        let report =
            match verify::run_with_keys(path, ids.as_ref(), catalog.as_ref(), &extra, &progress) {
                Err(Error::Interrupted { done: what }) if args.paths.len() == 1 => {
                    return Ok(Outcome::Interrupted(what));
                }
                Err(Error::Interrupted { done: what }) => {
                    return Ok(Outcome::Interrupted(format!(
                        "verified {done} of {} paths; {}: {what}",
                        args.paths.len(),
                        path.display()
                    )));
                }
                other => other?,
            };
        all_ok &= report.ok();
        if let Some(v) = &vault {
            let _ = kluis::lifecycle::status::record_verification(v, &report, ids.is_some());
        }
        if args.json {
            print_json(&report)?;
            continue;
        }
        let label = report
            .medium
            .as_deref()
            .map(|l| format!(" (medium {l})"))
            .unwrap_or_default();
        stdout_line(&format!(
            "{}{label}: {}",
            path.display(),
            if report.ok() {
                paint(Stream::Stdout, Tone::Good, "OK")
            } else {
                paint(Stream::Stdout, Tone::Bad, "PROBLEMS FOUND")
            }
        ))?;
        for p in &report.problems {
            stdout_line(&format!("  problem: {p}"))?;
        }
        for c in &report.catalog {
            stdout_line(&format!("  catalog mismatch: {c}"))?;
        }
        if let Some(s) = report
            .medium_signature
            .as_ref()
            .filter(|s| s.is_acceptable())
        {
            stdout_line(&format!("  SHA256SUMS: {}", s.describe()))?;
        }
        for a in &report.archives {
            let name = a
                .path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            let depth = match &a.full {
                Some(f) => format!(
                    "{} records, {} checked against the manifest",
                    f.records,
                    human(f.bytes)
                ),
                None => "size and SHA-256 checked (no key: records not decrypted)".into(),
            };
            stdout_line(&format!(
                "  {name}: {} — {depth}",
                if a.ok() {
                    paint(Stream::Stdout, Tone::Good, "ok")
                } else if a.intact() && !a.authenticity.is_empty() {
                    paint(Stream::Stdout, Tone::Bad, "NOT PROVEN THE ORGANISATION'S")
                } else if a.intact() {
                    paint(Stream::Stdout, Tone::Warn, "CATALOG MISMATCH")
                } else {
                    paint(Stream::Stdout, Tone::Bad, "DAMAGED")
                }
            ))?;
            if let Some(s) = a.signature.as_ref().filter(|s| s.is_acceptable()) {
                stdout_line(&format!("    {}", s.describe()))?;
            }
            for p in a.problems.iter().chain(&a.authenticity) {
                stdout_line(&format!("    {p}"))?;
            }
            match &a.parity {
                Some(p) if p.repairable => stdout_line(&format!(
                    "    repairable with kluis repair: {} of {} slices damaged, {} recovery blocks",
                    p.damaged, p.slices, p.recovery_blocks
                ))?,
                Some(p) => stdout_line(&format!(
                    "    beyond repair: {} slices damaged, {} recovery blocks",
                    p.damaged, p.recovery_blocks
                ))?,
                None => {}
            }
            for c in &a.catalog {
                stdout_line(&format!("    catalog mismatch: {c}"))?;
            }
            if let Some(f) = &a.full {
                for (start, end) in &f.damaged_frames {
                    stdout_line(&format!("    damaged region: tar bytes {start}..{end}"))?;
                }
                for p in &f.problems {
                    stdout_line(&format!("    {}: {}", p.path, p.problem))?;
                }
            }
        }
    }
    if ids.is_none() && !quiet && !args.json {
        eprintln!("Quick check only. Give -i KEYFILE to decrypt and check every record.");
    }
    Ok(if all_ok {
        Outcome::Ok
    } else {
        Outcome::NeedsAction
    })
}

#[derive(Args)]
pub struct ListArgs {
    #[command(flatten)]
    keys: KeyArgs,
    /// One JSON object per record: path, type, size, mtime, sha256,
    /// target (and path_hex, target_hex for names that are not UTF-8).
    #[arg(long)]
    json: bool,
    /// The archive (.kluis file)
    #[arg(value_name = "ARCHIVE")]
    archive: PathBuf,
    /// Only records matching these glob patterns (e.g. 'invoices/*')
    #[arg(value_name = "PATTERN")]
    patterns: Vec<String>,
}

pub fn list(args: ListArgs) -> Result<Outcome> {
    let ids = args.keys.load()?;
    let selection = Selection::new(&args.patterns)?;
    let mut reader = ArchiveReader::open(&args.archive, &ids)?;
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    // Names, prefixes and globs with a literal start: through the path
    // index, in path order.
    let mut shown = 0u64;
    let mut failed = None;
    let mut shown_ok = |written: std::io::Result<()>| match written {
        Ok(()) => {
            shown += 1;
            true
        }
        Err(e) => {
            failed = Some(e);
            false
        }
    };
    // Without --json only names are shown: only names are parsed.
    let lookup = if args.json {
        select::through_index(&mut reader, &selection, &mut |entry| {
            shown_ok(json_line(&mut out, &entry))
        })
    } else {
        select::names_through_index(&mut reader, &selection, &mut |name| {
            shown_ok(name_line(&mut out, &name.path, name.kind))
        })
    };
    if let Some(e) = failed {
        return Err(Error::io("stdout", e));
    }
    match lookup {
        select::Lookup::Done => {
            return out
                .flush()
                .map(|()| Outcome::Ok)
                .map_err(|e| Error::io("stdout", e));
        }
        select::Lookup::NoIndex => {}
        // Part of the listing is out: the manifest would repeat it.
        select::Lookup::Unusable(e) if shown > 0 => return Err(e),
        select::Lookup::Unusable(e) => eprintln!(
            "{} {}",
            paint(Stream::Stderr, Tone::Warn, "warning:"),
            select::fallback_note(&e)
        ),
    }
    if !args.json {
        // Names only: the rest of each line is not parsed.
        for name in selection.prefilter(reader.manifest_names()?) {
            let name = name?;
            if selection.matches(&name.path) {
                name_line(&mut out, &name.path, name.kind).map_err(|e| Error::io("stdout", e))?;
            }
        }
        return out
            .flush()
            .map(|()| Outcome::Ok)
            .map_err(|e| Error::io("stdout", e));
    }
    for entry in selection.prefilter(reader.manifest()?) {
        let entry = entry?;
        if selection.matches(&entry.path) {
            json_line(&mut out, &entry).map_err(|e| Error::io("stdout", e))?;
        }
    }
    out.flush().map_err(|e| Error::io("stdout", e))?;
    Ok(Outcome::Ok)
}

/// A record's name as `list` shows it (a folder's with `/`).
fn name_line(out: &mut impl Write, path: &[u8], kind: Kind) -> std::io::Result<()> {
    let suffix = if kind == Kind::Dir { "/" } else { "" };
    write_escaped_name(out, path)?;
    writeln!(out, "{suffix}")
}

/// One record as `list --json` shows it: an object.
fn json_line(out: &mut impl Write, entry: &Entry) -> std::io::Result<()> {
    let mut value = json!({
        "path": entry.display_path(),
        "type": entry.kind,
        "size": entry.size,
        "mtime": chrono::DateTime::from_timestamp(entry.mtime, entry.mtime_nsec).map(|t| t.to_rfc3339()),
        "sha256": entry.sha256.map(|h| hex(&h)),
        "target": entry.target.as_ref().map(|t| String::from_utf8_lossy(t).into_owned()),
    });
    // `path` is for reading; a name that is not UTF-8 also goes
    // exactly, as hex (as in the manifest).
    if std::str::from_utf8(&entry.path).is_err() {
        value["path_hex"] = json!(hex(&entry.path));
    }
    if let Some(t) = entry
        .target
        .as_ref()
        .filter(|t| std::str::from_utf8(t).is_err())
    {
        value["target_hex"] = json!(hex(t));
    }
    writeln!(out, "{value}")
}

#[derive(Args)]
pub struct RestoreArgs {
    #[command(flatten)]
    keys: KeyArgs,
    /// Folder to restore into (created if missing).
    #[arg(long = "to", value_name = "DIR")]
    target: PathBuf,
    /// Replace files that already exist.
    #[arg(long, conflicts_with = "resume")]
    force: bool,
    /// Finish an interrupted restore: keep the records already in place
    /// with the right size and SHA-256, restore the rest (refuses when a
    /// file there differs)
    #[arg(long)]
    resume: bool,
    /// Restore what can be saved from a damaged or truncated archive:
    /// every record whose bytes are intact, skipping damaged parts.
    #[arg(long)]
    salvage: bool,
    /// Print the report as one JSON object
    #[arg(long)]
    json: bool,
    /// The archive (.kluis file)
    #[arg(value_name = "ARCHIVE")]
    archive: PathBuf,
    /// Only records matching these glob patterns (e.g. 'invoices/INV-2019-000123.pdf', 'ledger')
    #[arg(value_name = "PATTERN")]
    patterns: Vec<String>,
}

pub fn restore(quiet: bool, args: RestoreArgs) -> Result<Outcome> {
    let ids = args.keys.load()?;
    let selection = Selection::new(&args.patterns)?;
    let bar = Bar::new(quiet || args.json);
    let started = std::time::Instant::now();
    let existing = match (args.force, args.resume) {
        (true, _) => restore::Existing::Replace,
        (false, true) => restore::Existing::Resume,
        (false, false) => restore::Existing::Refuse,
    };
    let req = restore::Request {
        archive: &args.archive,
        identities: &ids,
        target: &args.target,
        selection: &selection,
        existing,
    };
    let report = match restore::run(&req, &bar) {
        Err(Error::Damaged { .. } | Error::NotAnArchive { .. }) if args.salvage => {
            bar.finish();
            return salvage(&args, &req, &bar);
        }
        other => other?,
    };
    bar.finish();
    if let Some(why) = &report.index_note {
        eprintln!("{} {why}", paint(Stream::Stderr, Tone::Warn, "warning:"));
    }
    if args.json {
        print_json(&json!({
            "files": report.files, "dirs": report.dirs, "symlinks": report.symlinks, "bytes": report.bytes, "present": report.present,
            "failed": report.failed.iter().map(|(p, why)| json!({"path": p, "problem": why})).collect::<Vec<_>>(),
            "ciphertext_bytes_read": report.bytes_read, "archive_size": report.archive_size,
            "seconds": started.elapsed().as_secs_f64(),
        }))?;
    } else {
        if report.present > 0 {
            stdout_line(&format!(
                "kept {} records already in place with the right content",
                report.present
            ))?;
        }
        stdout_line(&format!(
            "restored {} files ({}), {} folders, {} links into {}; every file matched its SHA-256",
            report.files,
            human(report.bytes),
            report.dirs,
            report.symlinks,
            args.target.display()
        ))?;
        for (p, why) in &report.failed {
            stdout_line(&format!(
                "  {} {p}: {why}",
                paint(Stream::Stdout, Tone::Bad, "NOT restored:")
            ))?;
        }
        note(
            quiet,
            &format!(
                "Read {} of the {} archive in {:.2} s.",
                human(report.bytes_read),
                human(report.archive_size),
                started.elapsed().as_secs_f64()
            ),
        );
    }
    Ok(if report.failed.is_empty() {
        Outcome::Ok
    } else {
        Outcome::NeedsAction
    })
}

/// `restore --salvage` when the archive's index cannot be read.
fn salvage(args: &RestoreArgs, req: &restore::Request, progress: &Bar) -> Result<Outcome> {
    eprintln!("The archive's index is unreadable; scanning it from the start for intact records.");
    let report = kluis::read::salvage::run(req, progress)?;
    let lost: Vec<_> = report
        .lost
        .iter()
        .map(|&(s, e)| {
            if e == u64::MAX {
                format!("from byte {s} to the end")
            } else {
                format!("bytes {s}..{e}")
            }
        })
        .collect();
    if args.json {
        print_json(&json!({
            "salvage": true,
            "checked": report.checked, "unchecked": report.unchecked, "dirs": report.dirs,
            "symlinks": report.symlinks, "bytes": report.bytes,
            "failed": report.failed.iter().map(|(p, why)| json!({"path": p, "problem": why})).collect::<Vec<_>>(),
            "lost_plaintext": report.lost,
        }))?;
    } else {
        stdout_line(&format!(
            "salvaged {} files ({}) into {}: {} checked against the surviving manifest, {} unchecked (manifest lost); {} folders, {} links",
            report.checked + report.unchecked,
            human(report.bytes),
            args.target.display(),
            report.checked,
            report.unchecked,
            report.dirs,
            report.symlinks
        ))?;
        for region in &lost {
            stdout_line(&format!("  lost: {region} of the decrypted stream"))?;
        }
        for (p, why) in &report.failed {
            stdout_line(&format!(
                "  {} {p}: {why}",
                paint(Stream::Stdout, Tone::Bad, "NOT restored:")
            ))?;
        }
    }
    let clean = report.failed.is_empty() && report.lost.is_empty() && report.unchecked == 0;
    Ok(if clean {
        Outcome::Ok
    } else {
        Outcome::NeedsAction
    })
}
