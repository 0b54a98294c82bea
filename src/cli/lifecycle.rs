//! Lifecycle commands: status, due, remind, hold, release, destroy. Each
//! reads the vault, asks the library, and renders text or one JSON object.

use std::fmt::Write as _;
use std::io::{BufRead, IsTerminal, Write};
use std::path::{Path, PathBuf};

use chrono::NaiveDate;
use clap::Args;
use kluis::error::Error;
use kluis::lifecycle::destroy::{self, DestroyPlan, Stage};
use kluis::lifecycle::remind;
use kluis::lifecycle::status::{self, ArchiveStatus, DueReport, State};
use kluis::vault::catalog::{CatalogArchive, Destruction, Hold};
use kluis::vault::media::atomic_write;
use kluis::vault::{self, Vault};
use serde_json::json;

use super::progress::Bar;
use super::{Outcome, print_json};

type Result<T> = kluis::Result<T>;

/// Replaces today's date, for testing: `KLUIS_TODAY=2040-01-01`.
pub const TODAY_ENV: &str = "KLUIS_TODAY";

#[derive(Args)]
pub struct StatusArgs {
    /// Print one JSON object: {"today", "archives": [...]}.
    #[arg(long)]
    json: bool,
    /// List every share of records with an outsider instead (when, what, to whom, why).
    #[arg(long)]
    shares: bool,
}

#[derive(Args)]
#[command(after_help = "\
Exit 1 when anything is listed, 0 when nothing is: made for cron and systemd
timers (examples in docs/LIFECYCLE.md). KLUIS_TODAY=YYYY-MM-DD replaces
today's date, for testing.")]
pub struct DueArgs {
    /// Also list what becomes due in the next DAYS days.
    #[arg(long, value_name = "DAYS", default_value_t = 0)]
    within: u32,
    /// A copy is due for verification this many months after its last one
    /// [default: the vault's verify_every_months, 12]
    #[arg(long, value_name = "MONTHS")]
    verify_every: Option<u32>,
    /// Print one JSON object: {"today", "horizon", "destroy": [...], "verify": [...]}.
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
pub struct RemindArgs {
    /// Write the iCalendar file here ("-" for stdout). Replaces a calendar
    /// kluis wrote before; any other existing file needs --force.
    #[arg(long, value_name = "FILE")]
    ics: PathBuf,
    /// A copy is due for verification this many months after its last one
    /// [default: the vault's verify_every_months, 12]
    #[arg(long, value_name = "MONTHS")]
    verify_every: Option<u32>,
    /// Replace FILE even if it is not a calendar kluis wrote.
    #[arg(long)]
    force: bool,
}

#[derive(Args)]
pub struct HoldArgs {
    /// The archive: YYYY-CLASS[-N], its file name, or its id (or a 6+ digit prefix).
    archive: String,
    /// Why it must be kept (an audit, a dispute), for the record.
    #[arg(long, value_name = "TEXT")]
    reason: String,
    /// Print the hold as one JSON object.
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
pub struct ReleaseArgs {
    /// The archive: YYYY-CLASS[-N], its file name, or its id.
    archive: String,
    /// Print the released hold as one JSON object.
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
#[command(after_help = "\
Refused before the retention end and under a hold. Asks for the archive name
to be typed unless --yes. Overwrites the file once with random data, fsyncs,
truncates and deletes it, removes it from the medium's SHA256SUMS and index,
and writes a proof of destruction to the medium and the catalog. On flash
media and SSDs overwriting does not guarantee erasure; destroying every copy
of the key does (cryptographic erase).")]
pub struct DestroyArgs {
    /// The archive: YYYY-CLASS[-N], its file name, or its id.
    archive: String,
    /// The medium folder holding the copy to destroy.
    #[arg(long, value_name = "DIR", required_unless_present = "record")]
    medium: Option<PathBuf>,
    /// Do not ask for confirmation (for scripts).
    #[arg(long)]
    yes: bool,
    /// Who destroys it, named in the proof [default: the vault's operator, else $USER]
    #[arg(long, value_name = "NAME")]
    operator: Option<String>,
    /// Print the proof(s) of destruction recorded for ARCHIVE; destroys nothing.
    #[arg(long, conflicts_with_all = ["medium", "yes", "operator"])]
    record: bool,
    /// Print the proof (or, with --record, every proof) as one JSON object.
    #[arg(long)]
    json: bool,
}

/// Today's local date, or `KLUIS_TODAY` (YYYY-MM-DD) when set.
pub(crate) fn today() -> Result<NaiveDate> {
    match std::env::var(TODAY_ENV) {
        Ok(text) if !text.trim().is_empty() => {
            let date = text.trim().parse().map_err(|_| {
                Error::Usage(format!("{TODAY_ENV}={text:?} is not a date (YYYY-MM-DD)"))
            })?;
            eprintln!("note: today is taken to be {date} from {TODAY_ENV} (meant for testing)");
            Ok(date)
        }
        _ => Ok(chrono::Local::now().date_naive()),
    }
}

fn open(vault_dir: Option<&Path>) -> Result<Vault> {
    Vault::open(&vault::locate(vault_dir))
}

pub(crate) fn write_stdout(text: &str) -> Result<()> {
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())
        .and_then(|()| out.flush())
        .map_err(|e| Error::io("stdout", e))
}

/// Columns separated by two spaces, each as wide as its widest cell.
pub(crate) fn table(rows: &[Vec<String>]) -> String {
    let columns = rows.iter().map(Vec::len).max().unwrap_or(0);
    let widths: Vec<usize> = (0..columns)
        .map(|i| {
            rows.iter()
                .filter_map(|r| r.get(i))
                .map(|c| c.chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut out = String::new();
    for row in rows {
        let mut line = String::new();
        for (cell, width) in row.iter().zip(&widths) {
            let _ = write!(line, "{cell:<width$}  ");
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

// --- status ----------------------------------------------------------------

pub fn status(vault_dir: Option<&Path>, args: StatusArgs) -> Result<Outcome> {
    let vault = open(vault_dir)?;
    let today = today()?;
    let catalog = vault.catalog()?;
    if args.shares {
        if args.json {
            print_json(&super::share::shares_json(&catalog.shares))?;
        } else {
            write_stdout(&super::share::render_shares(&catalog.shares))?;
        }
        return Ok(Outcome::Ok);
    }
    let rows = status::status(&catalog, today, vault.config.verify_every_months);
    if args.json {
        print_json(&json!({
            "today": today,
            "verify_every_months": vault.config.verify_every_months,
            "archives": rows,
        }))?;
    } else {
        write_stdout(&render_status(&rows, today))?;
    }
    Ok(Outcome::Ok)
}

fn render_status(rows: &[ArchiveStatus], today: NaiveDate) -> String {
    if rows.is_empty() {
        return "No archives yet. Write one with `kluis archive --year YYYY --to DIR SOURCE`.\n"
            .into();
    }
    let mut cells = vec![
        [
            "ARCHIVE",
            "YEAR",
            "CLASS",
            "KEEP UNTIL",
            "STATE",
            "MEDIUM",
            "LAST VERIFIED",
            "PARITY",
            "PATH",
        ]
        .map(String::from)
        .to_vec(),
    ];
    for a in rows {
        let head = vec![
            a.name.clone(),
            a.fiscal_year.to_string(),
            a.class.clone(),
            a.retention_end.to_string(),
            a.state.to_string(),
        ];
        if a.copies.is_empty() {
            cells.push([head.clone(), vec!["-".into()]].concat());
        }
        for (i, c) in a.copies.iter().enumerate() {
            let verified = match (c.destroyed, c.last_verified) {
                (Some(at), _) => format!("destroyed {}", at.date_naive()),
                (None, Some(at)) => format!(
                    "{} {}",
                    at.date_naive(),
                    c.last_result.as_deref().unwrap_or("")
                ),
                (None, None) => "never".into(),
            };
            let overdue = c.verify_due.is_some_and(|d| d <= today);
            let verified = if overdue {
                format!("{} (overdue)", verified.trim_end())
            } else {
                verified.trim_end().to_owned()
            };
            let first = if i == 0 {
                head.clone()
            } else {
                vec![String::new(); head.len()]
            };
            let path = if c.destroyed.is_some() {
                String::new()
            } else {
                c.path.display().to_string()
            };
            let parity = match c.parity_bytes {
                Some(0) => "none".to_owned(),
                Some(n) => kluis::write::archive::human(n),
                None => "-".to_owned(),
            };
            cells.push([first, vec![c.medium.clone(), verified, parity, path]].concat());
        }
    }
    let mut out = table(&cells);
    let held: Vec<&ArchiveStatus> = rows.iter().filter(|a| a.hold.is_some()).collect();
    if !held.is_empty() {
        out.push_str("\nHolds (no copy can be destroyed until released):\n");
        for a in held {
            let h = a.hold.as_ref().expect("filtered");
            let _ = writeln!(out, "  {}  since {}: {}", a.name, h.since, h.reason);
        }
    }
    let due = rows.iter().filter(|a| a.state == State::Due).count();
    if due > 0 {
        let _ = writeln!(
            out,
            "\n{due} archive(s) may be destroyed: `kluis due` lists them with the commands to run."
        );
    }
    out
}

// --- due -------------------------------------------------------------------

/// `--verify-every`, else the vault's `verify_every_months`; at least 1.
fn verify_every(flag: Option<u32>, vault: &Vault) -> Result<u32> {
    match flag.unwrap_or(vault.config.verify_every_months) {
        0 => Err(Error::Usage(
            "--verify-every must be at least 1 month".into(),
        )),
        every => Ok(every),
    }
}

pub fn due(vault_dir: Option<&Path>, args: DueArgs) -> Result<Outcome> {
    let vault = open(vault_dir)?;
    let today = today()?;
    let every = verify_every(args.verify_every, &vault)?;
    let mut report = status::due(&vault.catalog()?, today, args.within, every);
    report.purge = kluis::write::purge::Journal::pending(&vault.dir)?
        .into_iter()
        .map(|j| j.plan.file)
        .collect();
    if args.json {
        print_json(&report)?;
    } else {
        write_stdout(&render_due(&report, args.within))?;
    }
    Ok(if report.is_empty() {
        Outcome::Ok
    } else {
        Outcome::NeedsAction
    })
}

fn render_due(r: &DueReport, within: u32) -> String {
    let when = if within == 0 {
        "today".to_owned()
    } else {
        format!("by {} (within {within} days)", r.horizon)
    };
    if r.is_empty() {
        return format!("Nothing due {when}.\n");
    }
    let mut out = String::new();
    if !r.destroy.is_empty() {
        let _ = writeln!(out, "May be destroyed {when}; retention ended, no hold:");
        let mut cells = Vec::new();
        for d in &r.destroy {
            let from = if d.destroy_from <= r.today {
                format!("kept until {}", d.retention_end)
            } else {
                format!(
                    "kept until {}, destroy from {}",
                    d.retention_end, d.destroy_from
                )
            };
            let media: Vec<&str> = d.copies.iter().map(|c| c.medium.as_str()).collect();
            cells.push(vec![
                format!("  {}", d.name),
                from,
                format!("copies on {}", media.join(", ")),
                format!("kluis destroy {} --medium DIR", d.name),
            ]);
        }
        out.push_str(&table(&cells));
    }
    if !r.verify.is_empty() {
        if !out.is_empty() {
            out.push('\n');
        }
        let _ = writeln!(
            out,
            "Due for verification {when}; every {} months, as offline media rot:",
            r.verify_every_months
        );
        let mut cells = Vec::new();
        for v in &r.verify {
            let last = match v.last_verified {
                Some(d) => format!("last verified {d}"),
                None => "never verified".into(),
            };
            cells.push(vec![
                format!("  {}", v.name),
                format!("on {}", v.medium),
                format!("{last}, due {}", v.verify_due),
                format!("kluis verify {}", v.path.display()),
            ]);
        }
        out.push_str(&table(&cells));
    }
    if !r.purge.is_empty() {
        if !out.is_empty() {
            out.push('\n');
        }
        let _ = writeln!(
            out,
            "Removing the archived records from the sources did not finish (they are still there, and safe in the archive):"
        );
        let cells: Vec<Vec<String>> = r
            .purge
            .iter()
            .map(|f| vec![format!("  {f}"), format!("kluis purge {f}")])
            .collect();
        out.push_str(&table(&cells));
    }
    if !r.requests.is_empty() {
        if !out.is_empty() {
            out.push('\n');
        }
        let _ = writeln!(
            out,
            "Requests of data subjects still unanswered (the law gives a month from receipt):"
        );
        let cells: Vec<Vec<String>> = r
            .requests
            .iter()
            .map(|q| {
                vec![
                    format!("  request {} ({})", q.number, q.kind),
                    format!("received {}, {} days ago", q.received, q.open_days),
                    format!(
                        "kluis subject find -i KEY --request {} --report FILE",
                        q.number
                    ),
                ]
            })
            .collect();
        out.push_str(&table(&cells));
    }
    out
}

// --- remind ----------------------------------------------------------------

pub fn remind(vault_dir: Option<&Path>, quiet: bool, args: RemindArgs) -> Result<Outcome> {
    let vault = open(vault_dir)?;
    let every = verify_every(args.verify_every, &vault)?;
    let reminders = status::reminders(&vault.catalog()?, every);
    let ics = remind::render_ics(&reminders, chrono::Utc::now());
    if args.ics.as_os_str() == "-" {
        write_stdout(&ics)?;
        return Ok(Outcome::Ok);
    }
    if !args.force {
        match std::fs::read(&args.ics) {
            Ok(old) if !is_kluis_calendar(&old) => {
                return Err(Error::Usage(format!(
                    "{} exists and is not a calendar kluis wrote; give another file, or add --force to replace it",
                    args.ics.display()
                )));
            }
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(Error::io(&args.ics, e)),
        }
    }
    atomic_write(&args.ics, ics.as_bytes())?;
    if !quiet {
        let destroy = reminders
            .iter()
            .filter(|r| r.uid.starts_with("destroy-"))
            .count();
        eprintln!(
            "Wrote {} with {destroy} destruction date(s) and {} verification date(s), each with an alarm {} days ahead. Import it into your calendar; re-run after changes (events are updated, not duplicated).",
            args.ics.display(),
            reminders.len() - destroy,
            remind::ALARM_DAYS_BEFORE
        );
    }
    Ok(Outcome::Ok)
}

fn is_kluis_calendar(bytes: &[u8]) -> bool {
    bytes.starts_with(b"BEGIN:VCALENDAR\r\n")
        && bytes
            .windows(b"PRODID:-//kluis//".len())
            .any(|w| w == b"PRODID:-//kluis//")
}

// --- hold / release --------------------------------------------------------

pub fn hold(vault_dir: Option<&Path>, _quiet: bool, args: HoldArgs) -> Result<Outcome> {
    let vault = open(vault_dir)?;
    let archive = status::hold(&vault, &args.archive, &args.reason, today()?)?;
    let h = archive.hold.as_ref().expect("just held");
    if args.json {
        print_json(
            &json!({"archive": archive.name(), "archive_id": archive.archive_id, "hold": h}),
        )?;
    } else {
        write_stdout(&format!(
            "{} is under a hold since {}: {}\nNo copy can be destroyed until `kluis release {}`.\n",
            archive.name(),
            h.since,
            h.reason,
            archive.name()
        ))?;
    }
    Ok(Outcome::Ok)
}

pub fn release(vault_dir: Option<&Path>, _quiet: bool, args: ReleaseArgs) -> Result<Outcome> {
    let vault = open(vault_dir)?;
    let today = today()?;
    let (archive, h): (CatalogArchive, Hold) = status::release(&vault, &args.archive, today)?;
    if args.json {
        print_json(&json!({
            "archive": archive.name(),
            "archive_id": archive.archive_id,
            "released": h,
            "state": status::state(&archive, today),
        }))?;
    } else {
        let next = match status::state(&archive, today) {
            State::Due | State::PartlyDestroyed => {
                "its retention has ended: it may be destroyed now".to_owned()
            }
            State::Destroyed => "every copy is destroyed".to_owned(),
            _ => format!("it is kept until {}", archive.retention_end),
        };
        write_stdout(&format!(
            "Released the hold on {} (since {}: {}); {next}.\n",
            archive.name(),
            h.since,
            h.reason
        ))?;
    }
    Ok(Outcome::Ok)
}

// --- destroy ---------------------------------------------------------------

pub fn destroy(vault_dir: Option<&Path>, quiet: bool, args: DestroyArgs) -> Result<Outcome> {
    let vault = open(vault_dir)?;
    if args.record {
        return print_records(&vault, &args);
    }
    let medium = args.medium.as_deref().expect("clap requires --medium");
    let today = today()?;
    let operator = [
        args.operator.clone(),
        vault.config.operator.clone(),
        std::env::var("USER").ok(),
        std::env::var("LOGNAME").ok(),
    ]
    .into_iter()
    .flatten()
    .map(|o| o.trim().to_owned())
    .find(|o| !o.is_empty())
    .unwrap_or_else(|| "unknown".into());

    // Held from the plan to the last record, so no other kluis process sees
    // or changes the catalog half-way.
    let _lock = vault.lock()?;
    let catalog = vault.catalog()?;
    let plan = destroy::plan(&catalog, &args.archive, medium, today, &operator)?;
    if !args.yes && !std::io::stdin().is_terminal() {
        return Err(Error::Usage(
            "destroy asks for the archive name on a terminal; in a script, add --yes. Nothing was destroyed".into(),
        ));
    }
    if !args.yes || !(quiet || args.json) {
        eprint!("{}", describe(&plan));
    }
    if !args.yes {
        confirm(&plan.name())?;
    }
    let bar = Bar::new(quiet || args.json);
    let proof = destroy::execute(&vault, &plan, &bar)?;
    bar.finish();

    if args.json {
        print_json(&json!({
            "destroyed": proof,
            "path": plan.path,
            "stage": match plan.stage {
                Stage::Intact => "destroyed",
                Stage::Interrupted => "finished an interrupted destruction",
                Stage::FileGone => "file was already gone; records completed",
                Stage::Recorded(_) => "proof copied from the medium into the catalog",
            },
            "other_copies": plan.other_copies.iter().map(|c| json!({"medium": c.medium, "path": c.path})).collect::<Vec<_>>(),
            "note": destroy::HONESTY_NOTE,
        }))?;
        return Ok(Outcome::Ok);
    }
    let mut out = String::new();
    match plan.stage {
        Stage::Recorded(_) => {
            let _ = writeln!(
                out,
                "The copy of {} on {} was already destroyed; its proof is now in the catalog too.",
                plan.name(),
                plan.medium_label
            );
        }
        Stage::FileGone => {
            let _ = writeln!(
                out,
                "{} was no longer on {}; removed it from the medium's SHA256SUMS and index and recorded its destruction.",
                plan.path.display(),
                plan.medium_label
            );
        }
        _ => {
            let _ = writeln!(
                out,
                "Destroyed {}: overwritten once with random data, truncated and deleted;\nremoved from the medium's SHA256SUMS and {}.",
                plan.path.display(),
                kluis::vault::media::INDEX_FILE
            );
        }
    }
    let _ = writeln!(
        out,
        "\nProof of destruction (kept in the catalog and on the medium):"
    );
    out.push_str(&render_proof(&proof));
    out.push('\n');
    if plan.other_copies.is_empty() {
        let _ = writeln!(
            out,
            "This was the last copy of {} the catalog knows of.",
            plan.name()
        );
    } else {
        let _ = writeln!(out, "Other copies of {} still exist:", plan.name());
        for c in &plan.other_copies {
            let _ = writeln!(out, "  {}  {}", c.medium, c.path.display());
        }
        let _ = writeln!(
            out,
            "Destroy each with `kluis destroy {} --medium DIR`.",
            plan.name()
        );
    }
    let _ = writeln!(out, "\nNote: {}", destroy::HONESTY_NOTE);
    write_stdout(&out)?;
    Ok(Outcome::Ok)
}

/// What is about to happen, for the confirmation (stderr).
fn describe(plan: &DestroyPlan) -> String {
    let a = &plan.archive;
    let mut s = String::new();
    let _ = writeln!(s, "About to destroy this copy:");
    let _ = writeln!(
        s,
        "  archive      {} (id {}; {}, fiscal year {}, class {})",
        a.name(),
        a.archive_id,
        a.organisation,
        a.fiscal_year,
        a.class
    );
    let _ = writeln!(
        s,
        "  file         {} ({} bytes, SHA-256 {})",
        plan.path.display(),
        a.size,
        a.sha256
    );
    let _ = writeln!(s, "  medium       {}", plan.medium_label);
    let _ = writeln!(s, "  kept until   {} (retention ended)", a.retention_end);
    match &plan.stage {
        Stage::Intact => {}
        Stage::Interrupted => {
            let _ = writeln!(
                s,
                "  note         an earlier destruction of this copy was interrupted; it will be finished"
            );
        }
        Stage::FileGone => {
            let _ = writeln!(
                s,
                "  note         the file is no longer there; only the records will be completed"
            );
        }
        Stage::Recorded(_) => {
            let _ = writeln!(
                s,
                "  note         the medium already records this destruction; the catalog will be completed"
            );
        }
    }
    if plan.other_copies.is_empty() {
        let _ = writeln!(s, "  other copies none: this is the last copy");
    } else {
        for (i, c) in plan.other_copies.iter().enumerate() {
            let _ = writeln!(
                s,
                "  {}{}  {} (stays)",
                if i == 0 {
                    "other copies "
                } else {
                    "             "
                },
                c.medium,
                c.path.display()
            );
        }
    }
    s
}

/// Asks for the archive name on the terminal.
fn confirm(name: &str) -> Result<()> {
    let stdin = std::io::stdin();
    eprint!("Type the archive name ({name}) to destroy this copy: ");
    let _ = std::io::stderr().flush();
    let mut line = String::new();
    stdin
        .lock()
        .read_line(&mut line)
        .map_err(|e| Error::io("terminal", e))?;
    if line.trim() != name {
        return Err(Error::Usage(format!(
            "you typed {:?}, not {name:?}; nothing was destroyed",
            line.trim()
        )));
    }
    Ok(())
}

fn render_proof(p: &Destruction) -> String {
    let mut s = String::new();
    for (k, v) in [
        ("archive id", p.archive_id.clone()),
        ("fiscal year", p.fiscal_year.to_string()),
        ("class", p.class.clone()),
        ("file", p.file.clone()),
        ("size", format!("{} bytes", p.size)),
        ("sha256", p.sha256.clone()),
        ("retention end", p.retention_end.to_string()),
        ("medium", p.medium.clone()),
        (
            "destroyed at",
            p.destroyed_at.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
        ),
        ("method", p.method.clone()),
        ("tool", p.tool_version.clone()),
        ("operator", p.operator.clone()),
    ] {
        let _ = writeln!(s, "  {k:<14} {v}");
    }
    s
}

/// `kluis destroy --record ARCHIVE`.
fn print_records(vault: &Vault, args: &DestroyArgs) -> Result<Outcome> {
    let catalog = vault.catalog()?;
    let a = catalog
        .find(&args.archive)
        .ok_or_else(|| Error::UnknownArchive {
            name: args.archive.clone(),
        })?;
    let live: Vec<_> = a
        .live_copies()
        .map(|c| json!({"medium": c.medium, "path": c.path}))
        .collect();
    if args.json {
        print_json(&json!({
            "archive": a.name(),
            "archive_id": a.archive_id,
            "destructions": a.destructions,
            "live_copies": live,
        }))?;
        return Ok(Outcome::Ok);
    }
    let mut out = String::new();
    if a.destructions.is_empty() {
        let _ = writeln!(out, "No copy of {} has been destroyed.", a.name());
    }
    for (i, p) in a.destructions.iter().enumerate() {
        if i > 0 {
            out.push('\n');
        }
        let _ = writeln!(out, "Proof of destruction of {} on {}:", a.name(), p.medium);
        out.push_str(&render_proof(p));
    }
    let live: Vec<String> = a
        .live_copies()
        .map(|c| format!("{} ({})", c.medium, c.path.display()))
        .collect();
    if live.is_empty() {
        let _ = writeln!(out, "\nNo copy of {} is left.", a.name());
    } else {
        let _ = writeln!(out, "\nCopies that still exist: {}", live.join(", "));
    }
    write_stdout(&out)?;
    Ok(Outcome::Ok)
}
