//! The commands that write: key, init, archive (the readers are in
//! `read.rs`).

use std::io::Write;
use std::path::{Path, PathBuf};

use clap::Args;
use kluis::error::Error;
use kluis::format::manifest::hex;
use kluis::format::writer::WriteOptions;
use kluis::keys;
use kluis::retention::{FiscalYearStart, RetentionConfig};
use kluis::sources::db::DbRequest;
use kluis::sources::table::{self, ColumnRule, TableArg, TableOptions};
use kluis::vault::{self, Config, Vault};
use kluis::write::archive::{self, human};
use serde_json::json;

use super::color::{Stream, Tone, paint};
use super::progress::Bar;
use super::{KeyArgs, KeyCommand, Outcome, print_json};

type Result<T> = kluis::Result<T>;

pub(super) fn stdout_line(text: &str) -> Result<()> {
    writeln!(std::io::stdout().lock(), "{text}").map_err(|e| Error::io("stdout", e))
}

pub(super) fn note(quiet: bool, text: &str) {
    if !quiet {
        eprintln!("{text}");
    }
}

pub fn key(quiet: bool, cmd: KeyCommand) -> Result<Outcome> {
    match cmd {
        KeyCommand::New { output: Some(path) } => {
            let recipient = keys::write_new_identity(&path)?;
            note(
                quiet,
                &format!(
                    "Wrote a new identity to {} (mode 0600). Keep a copy offline: without it no archive opens.",
                    path.display()
                ),
            );
            stdout_line(&recipient)?;
        }
        KeyCommand::New { output: None } => {
            use age::secrecy::ExposeSecret;
            let (text, recipient) = keys::generate();
            let mut out = std::io::stdout().lock();
            out.write_all(text.expose_secret().as_bytes())
                .map_err(|e| Error::io("stdout", e))?;
            note(quiet, &format!("Public key: {recipient}"));
        }
        KeyCommand::Signing(_) | KeyCommand::Paper(_) | KeyCommand::Recover(_) => {
            unreachable!("dispatched in cli::main")
        }
        KeyCommand::Check {
            keys: key_args,
            archives,
            json,
        } => {
            let ids = key_args.load()?;
            let mut all_ok = true;
            for archive in &archives {
                let result = keys::check(archive, &ids);
                let opens = match &result {
                    Ok(()) => true,
                    Err(Error::WrongKey { .. }) => false,
                    Err(e) if !matches!(e, Error::NeedsPassphrase { .. }) => {
                        return Err(result.unwrap_err());
                    }
                    Err(_) => false,
                };
                all_ok &= opens;
                if json {
                    print_json(&json!({"archive": archive, "opens": opens}))?;
                } else {
                    stdout_line(&format!(
                        "{}: {}",
                        archive.display(),
                        if opens {
                            paint(Stream::Stdout, Tone::Good, "the key opens it")
                        } else {
                            paint(Stream::Stdout, Tone::Bad, "the key does NOT open it")
                        }
                    ))?;
                }
            }
            return Ok(if all_ok {
                Outcome::Ok
            } else {
                Outcome::NeedsAction
            });
        }
    }
    Ok(Outcome::Ok)
}

#[derive(Args)]
pub struct InitArgs {
    /// The organisation whose records these are.
    #[arg(long, value_name = "NAME")]
    org: String,
    /// Recipient every archive is encrypted to (age1… or an ssh public key); repeatable. Use two or more: owner, accountant, a paper recovery key.
    #[arg(short = 'r', long = "recipient", value_name = "RECIPIENT")]
    recipients: Vec<String>,
    /// File of recipients (age recipients-file syntax); repeatable.
    #[arg(short = 'R', long = "recipients-file", value_name = "FILE")]
    recipients_files: Vec<PathBuf>,
    /// Retention preset: nl, de, be, fr, uk or us (docs/RETENTION.md)
    #[arg(long, value_name = "PRESET", default_value = "nl")]
    preset: String,
    /// First day of the fiscal year
    #[arg(long, value_name = "MM-DD", default_value = "01-01")]
    fiscal_year_start: String,
    /// Who performs destructions, named in each proof of destruction
    #[arg(long, value_name = "NAME")]
    operator: Option<String>,
}

pub fn init(vault_dir: Option<&Path>, quiet: bool, args: InitArgs) -> Result<Outcome> {
    let dir = vault::locate(vault_dir);
    let mut recipients = Vec::new();
    for r in &args.recipients {
        keys::parse_recipient(r)?;
        recipients.push(r.trim().to_owned());
    }
    for f in &args.recipients_files {
        recipients.extend(keys::read_recipients_file(f)?);
    }
    let fiscal_year_start = args.fiscal_year_start.parse::<FiscalYearStart>()?;
    let config = Config {
        organisation: args.org,
        recipients,
        operator: args.operator,
        verify_every_months: 12,
        retention: RetentionConfig {
            preset: args.preset.to_lowercase(),
            fiscal_year_start,
            classes: Default::default(),
        },
        parity: Default::default(),
        subjects: Default::default(),
    };
    let vault = Vault::init(&dir, config)?;
    note(
        quiet,
        &format!(
            "Created the vault in {} for {}.",
            vault.dir.display(),
            vault.config.organisation
        ),
    );
    if let Some(key) = vault.signing_key()? {
        let public = key.public();
        note(
            quiet,
            &format!(
                "Created the organisation's signing key ({}, mode 0600); it signs every archive, medium and proof of destruction. Its public key (key id {}), for anyone who must check them, is printed on stdout; publish it (`kluis key signing` prints it again).",
                vault.dir.join(vault::SIGNING_KEY_FILE).display(),
                public.id()
            ),
        );
        stdout_line(&public.to_base64())?;
    }
    note(
        quiet,
        &format!(
            "Retention preset {}; fiscal year starts {}.",
            vault.policy.preset.name, vault.policy.fiscal_year_start
        ),
    );
    match vault.config.recipients.len() {
        0 => note(
            quiet,
            &format!(
                "No recipients yet: add them to {} or give -r to `kluis archive`.",
                vault.dir.join(vault::CONFIG_FILE).display()
            ),
        ),
        1 => note(
            quiet,
            "One recipient. Consider a second (accountant, or a recovery key on paper): the key is the single point of failure.",
        ),
        n => note(quiet, &format!("{n} recipients.")),
    }
    Ok(Outcome::Ok)
}

#[derive(Args)]
pub struct ArchiveArgs {
    /// The fiscal year, e.g. 2019.
    #[arg(long)]
    year: i32,
    /// Record class; it decides the retention period
    #[arg(long, default_value = "financial")]
    class: String,
    /// Medium folder to write to (a mounted stick or disk); repeat for more copies.
    #[arg(long = "to", value_name = "DIR", required = true)]
    media: Vec<PathBuf>,
    /// Extra recipient for this archive; repeatable.
    #[arg(short = 'r', long = "recipient", value_name = "RECIPIENT")]
    recipients: Vec<String>,
    /// Extra recipients file; repeatable.
    #[arg(short = 'R', long = "recipients-file", value_name = "FILE")]
    recipients_files: Vec<PathBuf>,
    /// Encrypt with a passphrase read from FILE instead of the recipients.
    #[arg(long, value_name = "FILE")]
    passphrase_file: Option<PathBuf>,
    /// Encrypt with a passphrase asked on the terminal instead of the recipients.
    #[arg(long)]
    passphrase: bool,
    /// Add a supplement when the year and class are already archived.
    #[arg(long)]
    supplement: bool,
    /// Label for media that have none yet [default: the folder's name]
    #[arg(long)]
    label: Option<String>,
    /// zstd compression level, 1 to 19
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(i32).range(1..=19))]
    level: i32,
    /// Print the report as one JSON object
    #[arg(long)]
    json: bool,
    /// A table to split by fiscal year: a CSV or JSON Lines file and its date column, or with --sqlite a table of that database; repeatable. Only the rows of --year go in, as tables/NAME.csv (.jsonl).
    #[arg(long = "table", value_name = "FILE:DATECOLUMN")]
    tables: Vec<String>,
    /// SQLite database whose tables --table NAME:DATECOLUMN names (opened read-only).
    #[arg(long, value_name = "DB", requires = "tables")]
    sqlite: Option<PathBuf>,
    /// Leave COLUMN out of every table that has it, or TABLE:COLUMN out of that table only; repeatable
    #[arg(long = "drop", value_name = "[TABLE:]COLUMN")]
    drop: Vec<String>,
    /// Keep a sensitive-looking COLUMN on purpose, or TABLE:COLUMN in that table only; repeatable
    #[arg(long = "keep", value_name = "[TABLE:]COLUMN")]
    keep: Vec<String>,
    /// CSV delimiter for every table: one character, or `tab` [default: detected from the header line]
    #[arg(long, value_name = "CHAR")]
    delimiter: Option<String>,
    /// How the tables' dates are written: a strftime format such as %m/%d/%Y, or `unix` [default: YYYY-MM-DD, ISO 8601 date-times, DD-MM-YYYY or DD/MM/YYYY]
    #[arg(long, value_name = "FMT")]
    date_format: Option<String>,
    /// Once every copy is written, read back and verified: delete the archived files from the source folders and the archived rows from the tables (anything changed since is kept and reported).
    #[arg(long)]
    purge_source: bool,
    /// Keep tax audit files (XAF) whose fiscal year or period is not the archive's year (refused otherwise)
    #[arg(long)]
    allow_other_year: bool,
    /// Write the archive without the organisation's signature (it then proves nothing about who wrote it).
    #[arg(long)]
    unsigned: bool,
    /// PAR2 recovery files beside each copy, as a percentage of the archive (plus a few spare blocks); 0: none [default: the vault's [parity] percent, 5]
    #[arg(long, value_name = "PERCENT", value_parser = clap::value_parser!(u32).range(0..=100))]
    parity: Option<u32>,
    /// A live database to take the year's rows from: postgres://USER@HOST[:PORT]/DATABASE or mysql://USER@HOST[:PORT]/DATABASE (mariadb:// too), or the NAME of a [db.NAME] section of the vault's config. No password in a URL: PGPASSWORD or MYSQL_PWD, or --db-password-file
    #[arg(long, value_name = "URL|NAME", help_heading = "Live databases")]
    db: Option<String>,
    /// A table of --db whose rows are selected by the fiscal year of DATECOLUMN (a date or timestamp); repeatable
    #[arg(
        long = "db-table",
        value_name = "TABLE:DATECOLUMN",
        requires = "db",
        help_heading = "Live databases"
    )]
    db_tables: Vec<String>,
    /// A related table taken through its parent's key, not its own date: TABLE (by its foreign key to a --db-table table) or TABLE.COLUMN=PARENT.KEY (declared, for schemas without foreign keys); repeatable
    #[arg(
        long = "db-child",
        value_name = "TABLE[.COLUMN=PARENT.KEY]",
        requires = "db",
        help_heading = "Live databases"
    )]
    db_children: Vec<String>,
    /// Read the database password from the first line of FILE (else PGPASSWORD or MYSQL_PWD)
    #[arg(
        long,
        value_name = "FILE",
        requires = "db",
        help_heading = "Live databases"
    )]
    db_password_file: Option<PathBuf>,
    /// Archive the tables under tables/NAME/ [default: the database's name]
    #[arg(
        long,
        value_name = "NAME",
        requires = "db",
        help_heading = "Live databases"
    )]
    db_name: Option<String>,
    /// TLS to the database server (PostgreSQL), over the URL's sslmode: disable, prefer (the default: TLS when offered), require, verify-ca or verify-full (add sslrootcert=FILE to the URL for a private authority)
    #[arg(
        long,
        value_name = "MODE",
        requires = "db",
        help_heading = "Live databases"
    )]
    db_tls: Option<String>,
    /// Folders of records to archive (optional with --table or --db).
    #[arg(value_name = "SOURCE", required_unless_present_any = ["tables", "db"])]
    sources: Vec<PathBuf>,
}

pub fn archive(vault_dir: Option<&Path>, quiet: bool, args: ArchiveArgs) -> Result<Outcome> {
    let vault = Vault::open(&vault::locate(vault_dir))?;
    let mut recipients = args.recipients.clone();
    for f in &args.recipients_files {
        recipients.extend(keys::read_recipients_file(f)?);
    }
    let pass = KeyArgs {
        passphrase_file: args.passphrase_file.clone(),
        passphrase: args.passphrase,
        ..KeyArgs::default()
    };
    let passphrase = pass.read_passphrase("Passphrase for the new archive: ")?;
    let databases = args
        .db
        .iter()
        .map(|value| {
            DbRequest::resolve(
                value,
                &vault.databases,
                &args.db_tables,
                &args.db_children,
                args.db_password_file.as_deref(),
                args.db_name.as_deref(),
            )
        })
        .collect::<Result<Vec<_>>>()?;
    let mut databases = databases;
    if let Some(tls) = &args.db_tls {
        for d in &mut databases {
            d.tls = Some(tls.clone());
        }
    }
    let tables = TableOptions {
        tables: args
            .tables
            .iter()
            .map(|t| TableArg::parse(t, args.sqlite.as_deref()))
            .collect(),
        drop: args.drop.iter().map(|c| ColumnRule::parse(c)).collect(),
        keep: args.keep.iter().map(|c| ColumnRule::parse(c)).collect(),
        other_tables: databases.iter().flat_map(DbRequest::table_names).collect(),
        delimiter: args
            .delimiter
            .as_deref()
            .map(table::parse_delimiter)
            .transpose()
            .map_err(|e| Error::Usage(format!("--delimiter: {e}")))?,
        date_format: args.date_format.clone(),
    };
    let bar = Bar::new(quiet || args.json);
    let has_folders = !args.sources.is_empty();
    let request = archive::Request {
        year: args.year,
        class: args.class,
        sources: args.sources,
        media: args.media,
        recipients,
        passphrase,
        supplement: args.supplement,
        label: args.label,
        options: WriteOptions {
            level: args.level,
            ..WriteOptions::default()
        },
        tables,
        purge_source: args.purge_source,
        unsigned: args.unsigned,
        parity_percent: args.parity,
        databases,
        allow_other_year: args.allow_other_year,
    };
    let report = archive::run(&vault, request, &bar)?;
    bar.finish();
    let m = &report.metadata;
    if args.json {
        print_json(&json!({
            "archive_id": m.archive_id,
            "file": report.file,
            "fiscal_year": m.fiscal_year,
            "class": m.class,
            "retention_end": m.retention_end,
            "size": report.sealed.size,
            "sha256": hex(&report.sealed.sha256),
            "records": report.sealed.totals,
            "copies": report.copies.iter().map(|(label, path)| json!({"medium": label, "path": path, "verified": true})).collect::<Vec<_>>(),
            "skipped": report.skipped,
            "seconds": report.seconds,
            "tables": report.tables,
            "purge": report.purge,
            "parity": report.parity,
        }))?;
    } else {
        let t = &report.sealed.totals;
        stdout_line(&format!(
            "{}: fiscal year {} ({}), {} files, {} folders, {} links, {} of records → {} encrypted",
            report.file,
            m.fiscal_year,
            m.class,
            t.files,
            t.dirs,
            t.symlinks,
            human(t.bytes),
            human(report.sealed.size)
        ))?;
        for (label, path) in &report.copies {
            stdout_line(&format!(
                "  copy on {label}: {} (read back from the medium and verified)",
                path.display()
            ))?;
        }
        match &report.parity {
            Some(p) => {
                stdout_line(&format!(
                    "  parity: {} recovery blocks of {} for {} slices ({} per copy; repairs up to {} damaged slices: `kluis repair` or `par2 repair {}.par2`)",
                    p.blocks,
                    human(p.slice_size),
                    p.slices,
                    human(p.bytes),
                    p.blocks,
                    report.file
                ))?;
                if p.passes > 1 {
                    stdout_line(&format!(
                        "  parity: made in {} passes over the archive (the blocks the writing pass could not hold were made from the written copy)",
                        p.passes
                    ))?;
                }
            }
            None => stdout_line("  parity: none (--parity 0)")?,
        }
        for t in &report.tables {
            let other = if t.rows_other_years.is_empty() {
                "no rows of other years".to_owned()
            } else {
                format!(
                    "left out, other years: {}",
                    t.rows_other_years
                        .iter()
                        .map(|(y, n)| format!("{y}: {n}"))
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            };
            stdout_line(&format!(
                "  table {} ({}): {} rows of fiscal year {} → {}; {other}",
                t.table, t.source, t.rows_archived, m.fiscal_year, t.member
            ))?;
            let list = |v: &[String]| {
                if v.is_empty() {
                    "none".to_owned()
                } else {
                    v.join(", ")
                }
            };
            stdout_line(&format!(
                "    columns kept: {}; dropped: {}; sensitive-looking, kept on purpose: {}",
                list(&t.columns_kept),
                list(&t.columns_dropped),
                list(&t.sensitive_kept)
            ))?;
        }
        stdout_line(&format!(
            "  keep until {}; archive id {}",
            m.retention_end, m.archive_id
        ))?;
        if let Some(p) = &report.purge {
            super::purge::print_report(p, has_folders)?;
        }
        note(quiet, &format!("Done in {:.1} s.", report.seconds));
    }
    if let Some(p) = &report.purge {
        let copies = report
            .copies
            .iter()
            .map(|(label, _)| label.as_str())
            .collect::<Vec<_>>()
            .join(", ");
        let what = format!(
            "{} is complete on {copies} and recorded; removing the archived records",
            report.file
        );
        return super::purge::outcome(&report.file, p, quiet || args.json, &what);
    }
    Ok(Outcome::Ok)
}
