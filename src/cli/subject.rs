//! `kluis subject`: a data subject's requests (GDPR articles 15 and 17):
//! `find` answers "what do you keep about me?" across every archive,
//! `request` records a request when it comes in, `requests` lists them.

use std::path::{Path, PathBuf};

use clap::{Args, Subcommand};
use kluis::Error;
use kluis::lifecycle::subjects::{self as subj, Answer, Query, VaultSays};
use kluis::subjects::identify::{Country, Identifier};
use kluis::vault::{self, Vault};

use super::commands::note;
use super::lifecycle::{table, today, write_stdout};
use super::progress::Bar;
use super::{KeyArgs, Outcome, print_json};

type Result<T> = kluis::Result<T>;

#[derive(Subcommand)]
pub enum SubjectCommand {
    /// Which archives hold something about a person, until when, and (with a copy plugged in) exactly which records and rows.
    Find(FindArgs),
    /// Record a request as it comes in (the law gives a month to answer; `kluis due` reminds).
    Request(RequestArgs),
    /// List the recorded requests: number, kind, received, answered.
    Requests(RequestsArgs),
}

/// The identifiers of one person.
#[derive(Args, Clone, Default)]
pub struct IdArgs {
    /// An e-mail address (compared in lower case); repeatable
    #[arg(long, value_name = "ADDRESS")]
    email: Vec<String>,
    /// A phone number: +31 6 12345678, 0031 6…, or national (06 12345678) in the vault's [subjects] country; repeatable
    #[arg(long, value_name = "NUMBER")]
    phone: Vec<String>,
    /// An IBAN, with or without spaces; repeatable
    #[arg(long, value_name = "IBAN")]
    iban: Vec<String>,
    /// A customer or relation number as COLUMN=VALUE (a column of [subjects] id_columns, or custsupid for XAF files); repeatable
    #[arg(long, value_name = "NAME=VALUE")]
    id: Vec<String>,
}

impl IdArgs {
    fn parse(&self, country: &Country) -> Result<Vec<Identifier>> {
        let mut out = Vec::new();
        for e in &self.email {
            out.push(Identifier::parse_email(e).map_err(Error::BadIdentifier)?);
        }
        for p in &self.phone {
            out.push(Identifier::parse_phone(p, country).map_err(Error::BadIdentifier)?);
        }
        for i in &self.iban {
            out.push(Identifier::parse_iban(i).map_err(Error::BadIdentifier)?);
        }
        for i in &self.id {
            out.push(Identifier::parse_id(i).map_err(Error::BadIdentifier)?);
        }
        out.sort();
        out.dedup();
        Ok(out)
    }
}

#[derive(Args)]
pub struct FindArgs {
    #[command(flatten)]
    keys: KeyArgs,
    #[command(flatten)]
    ids: IdArgs,
    /// Answer recorded request N (its identifiers; marks it answered when the report is written)
    #[arg(long, value_name = "N")]
    request: Option<u32>,
    /// Record a new request from this person and answer it at once (as `subject request`)
    #[arg(long, value_name = "WHO", conflicts_with = "request")]
    by: Option<String>,
    /// With --by: the request is for erasure (article 17), not access (article 15)
    #[arg(long, requires = "by")]
    erasure: bool,
    /// Write copies of the records and table rows found into DIR (one folder per archive), for the copy the person is entitled to
    #[arg(long, value_name = "DIR")]
    export: Option<PathBuf>,
    /// Write the answer as a ready reply in Markdown to FILE
    #[arg(long, value_name = "FILE")]
    report: Option<PathBuf>,
    /// Answer from the vault only: do not search the copies that are plugged in
    #[arg(long)]
    no_media: bool,
    /// Print the answer as JSON
    #[arg(long)]
    json: bool,
    /// Search these archive files only (copies of another vault, or archives the catalog does not know), not the catalog's archives
    #[arg(value_name = "ARCHIVE")]
    archives: Vec<PathBuf>,
}

#[derive(Args)]
pub struct RequestArgs {
    #[command(flatten)]
    ids: IdArgs,
    /// Who asked, and how (kept sealed to the vault's recipients)
    #[arg(long, value_name = "WHO")]
    by: String,
    /// A request for erasure (article 17); without it, for access (article 15)
    #[arg(long)]
    erasure: bool,
    /// When it was received (YYYY-MM-DD) [default: today]
    #[arg(long, value_name = "DATE")]
    received: Option<String>,
}

#[derive(Args)]
pub struct RequestsArgs {
    /// Print JSON
    #[arg(long)]
    json: bool,
}

pub fn run(vault_dir: Option<&Path>, quiet: bool, cmd: SubjectCommand) -> Result<Outcome> {
    let located = vault::locate(vault_dir);
    match cmd {
        // Archive files need no vault; one is used when there is one.
        SubjectCommand::Find(args) if !args.archives.is_empty() => {
            find_in_files(Vault::open(&located).ok().as_ref(), quiet, args)
        }
        SubjectCommand::Find(args) => find(&Vault::open(&located)?, quiet, args),
        SubjectCommand::Request(args) => request(&Vault::open(&located)?, args),
        SubjectCommand::Requests(args) => requests(&Vault::open(&located)?, args),
    }
}

fn find(vault: &Vault, quiet: bool, args: FindArgs) -> Result<Outcome> {
    let country = subj::country(vault)?;
    let identities = args.keys.load()?;
    let today = today()?;
    let mut ids = args.ids.parse(&country)?;
    let mut request = None;
    if let Some(n) = args.request {
        let (r, by, sealed_ids) = subj::open_request(vault, n, &identities)?;
        for i in sealed_ids {
            if !ids.contains(&i) {
                ids.push(i);
            }
        }
        request = Some((r, by));
    }
    if ids.is_empty() {
        return Err(Error::Usage(
            "say whom to look for: --email, --phone, --iban or --id (or --request N)".into(),
        ));
    }
    if let Some(by) = &args.by {
        let n = subj::record_request(vault, args.erasure, by, &ids, today)?;
        let (r, by, _) = subj::open_request(vault, n, &identities)?;
        note(quiet || args.json, &format!("recorded as request {n}"));
        request = Some((r, by));
    }
    let bar = Bar::new(quiet || args.json);
    let answer = subj::find(
        vault,
        &Query {
            identities: &identities,
            ids,
            media: !args.no_media,
            export: args.export.clone(),
            today,
        },
        &bar,
    )?;
    bar.finish();
    finish(&answer, request.as_ref(), Some(vault), quiet, &args)
}

fn find_in_files(vault: Option<&Vault>, quiet: bool, args: FindArgs) -> Result<Outcome> {
    if args.request.is_some() || args.by.is_some() {
        return Err(Error::Usage(
            "--request and --by record requests in the vault's catalog: search the catalog's archives (give no ARCHIVE)".into(),
        ));
    }
    let country = match vault {
        Some(v) => subj::country(v)?,
        None => Country::default(),
    };
    let identities = args.keys.load()?;
    let ids = args.ids.parse(&country)?;
    if ids.is_empty() {
        return Err(Error::Usage(
            "say whom to look for: --email, --phone, --iban or --id".into(),
        ));
    }
    let bar = Bar::new(quiet || args.json);
    let answer = subj::find_in_files(
        vault,
        &args.archives,
        &Query {
            identities: &identities,
            ids,
            media: true,
            export: args.export.clone(),
            today: today()?,
        },
        &bar,
    )?;
    bar.finish();
    finish(&answer, None, vault, quiet, &args)
}

fn finish(
    answer: &Answer,
    request: Option<&(kluis::vault::catalog::SubjectRequest, String)>,
    vault: Option<&Vault>,
    quiet: bool,
    args: &FindArgs,
) -> Result<Outcome> {
    if let Some(path) = &args.report {
        let text = subj::report_markdown(answer, request.map(|(r, by)| (r, by.as_str())));
        subj::write_report(path, &text)?;
        if let (Some((r, _)), Some(vault)) = (request, vault) {
            subj::answered(vault, r.number, answer, answer.date)?;
        }
        note(
            quiet || args.json,
            &format!("wrote the answer to {}", path.display()),
        );
    }
    if args.json {
        print_json(answer)?;
    } else {
        write_stdout(&render(answer))?;
    }
    // Exit 1 when something is held about the person or not everything
    // could be searched: either needs a person to act.
    let unknown = answer.archives.iter().any(|a| a.holds().is_none());
    let holds = answer.archives.iter().any(|a| a.holds() == Some(true));
    Ok(if holds || unknown {
        Outcome::NeedsAction
    } else {
        Outcome::Ok
    })
}

fn render(answer: &Answer) -> String {
    let asked: Vec<String> = answer
        .asked
        .iter()
        .map(|a| format!("{} {}", a.kind, a.value))
        .collect();
    let mut out = format!("Looked for {}:\n", asked.join(", "));
    let mut cells = Vec::new();
    for a in &answer.archives {
        let says = match (&a.records, &a.vault) {
            (Some(r), _) if r.hits.is_empty() => "holds nothing (searched)".to_owned(),
            (Some(r), _) => {
                let mut files: Vec<&str> = r
                    .hits
                    .iter()
                    .filter(|h| h.rows.is_empty())
                    .map(|h| h.path.as_str())
                    .collect();
                files.dedup();
                let mut rows: Vec<(&str, u64)> = r
                    .hits
                    .iter()
                    .flat_map(|h| h.rows.iter().map(move |n| (h.path.as_str(), *n)))
                    .collect();
                rows.sort_unstable();
                rows.dedup();
                let mut parts = Vec::new();
                if !files.is_empty() {
                    parts.push(plural(files.len(), "record"));
                }
                if !rows.is_empty() {
                    parts.push(plural(rows.len(), "table row"));
                }
                format!("holds {}", parts.join(" and "))
            }
            (None, VaultSays::Holds { ids }) => format!("holds {} of them", ids.len()),
            (None, VaultSays::Nothing) => "holds nothing".into(),
            (None, VaultSays::NotIndexed) => "unknown: not indexed".into(),
            (None, VaultSays::Destroyed) => "destroyed".into(),
        };
        let media = a
            .copies
            .iter()
            .map(|c| format!("{}{}", c.medium, if c.present { " (here)" } else { "" }))
            .collect::<Vec<_>>()
            .join(", ");
        cells.push(vec![
            format!("  {}", a.file),
            a.state.to_string(),
            format!("kept until {}", a.retention_end),
            says,
            if media.is_empty() {
                "no copies".into()
            } else {
                format!("on {media}")
            },
        ]);
    }
    out.push_str(&table(&cells));
    for a in &answer.archives {
        if let Some(r) = &a.records {
            // One line per record: the identifiers it holds, and the rows.
            let mut by_path: Vec<(&str, Vec<&str>, Vec<u64>)> = Vec::new();
            for h in &r.hits {
                let kind = answer
                    .asked
                    .iter()
                    .find(|x| x.key == h.id)
                    .map_or(h.id.as_str(), |x| x.kind.as_str());
                match by_path.iter_mut().find(|(p, _, _)| *p == h.path) {
                    Some((_, kinds, rows)) => {
                        if !kinds.contains(&kind) {
                            kinds.push(kind);
                        }
                        rows.extend(&h.rows);
                    }
                    None => by_path.push((&h.path, vec![kind], h.rows.clone())),
                }
            }
            for (path, kinds, mut rows) in by_path {
                rows.sort_unstable();
                rows.dedup();
                let rows = if rows.is_empty() {
                    String::new()
                } else {
                    format!(" rows {}", rows_text(&rows))
                };
                out.push_str(&format!(
                    "  {}: {path}{rows} ({})\n",
                    a.file,
                    kinds.join(", ")
                ));
            }
            if r.how.starts_with("scan") {
                out.push_str(&format!("  {}: searched by a {}\n", a.file, r.how));
            }
            if let Some(e) = &r.exported {
                out.push_str(&format!(
                    "  {}: exported {} records and {} rows to {}\n",
                    a.file,
                    e.records,
                    e.rows,
                    e.dir.display()
                ));
            }
        }
        if let Some(why) = &a.not_searched {
            out.push_str(&format!("  {}: {why}\n", a.file));
        }
    }
    out
}

fn plural(n: usize, what: &str) -> String {
    if n == 1 {
        format!("1 {what}")
    } else {
        format!("{n} {what}s")
    }
}

/// `3, 7, 12–15` for a list of row numbers (at most 20 shown).
fn rows_text(rows: &[u64]) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut i = 0;
    while i < rows.len() && parts.len() < 20 {
        let start = rows[i];
        let mut end = start;
        while i + 1 < rows.len() && rows[i + 1] == end + 1 {
            i += 1;
            end = rows[i];
        }
        parts.push(if end > start {
            format!("{start}–{end}")
        } else {
            start.to_string()
        });
        i += 1;
    }
    if i < rows.len() {
        parts.push(format!("… ({} in all)", rows.len()));
    }
    parts.join(", ")
}

fn request(vault: &Vault, args: RequestArgs) -> Result<Outcome> {
    let country = subj::country(vault)?;
    let ids = args.ids.parse(&country)?;
    let received = match &args.received {
        Some(t) => t
            .trim()
            .parse()
            .map_err(|_| Error::Usage(format!("--received {t:?} is not a date (YYYY-MM-DD)")))?,
        None => today()?,
    };
    let n = subj::record_request(vault, args.erasure, &args.by, &ids, received)?;
    write_stdout(&format!(
        "Recorded request {n} ({}, received {received}); answer it with `kluis subject find -i KEY --request {n} --report FILE` within a month.\n",
        subj::request_kind(args.erasure)
    ))?;
    Ok(Outcome::Ok)
}

fn requests(vault: &Vault, args: RequestsArgs) -> Result<Outcome> {
    let catalog = vault.catalog()?;
    if args.json {
        let list: Vec<serde_json::Value> = catalog
            .requests
            .iter()
            .map(|r| {
                serde_json::json!({
                    "number": r.number,
                    "kind": r.kind,
                    "received": r.received,
                    "answered": r.answered,
                    "archives": r.archives,
                })
            })
            .collect();
        print_json(&list)?;
        return Ok(Outcome::Ok);
    }
    if catalog.requests.is_empty() {
        write_stdout("No requests recorded.\n")?;
        return Ok(Outcome::Ok);
    }
    let cells: Vec<Vec<String>> = catalog
        .requests
        .iter()
        .map(|r| {
            vec![
                format!("  {}", r.number),
                r.kind.clone(),
                format!("received {}", r.received),
                match r.answered {
                    Some(d) => format!("answered {d}"),
                    None => "open".into(),
                },
            ]
        })
        .collect();
    write_stdout(&table(&cells))?;
    Ok(Outcome::Ok)
}
