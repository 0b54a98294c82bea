//! Command-line glue: flags (clap), dispatch, rendering, exit codes.

mod color;
mod commands;
mod demo;
mod keys;
mod lifecycle;
mod manual;
mod progress;
mod purge;
mod read;
mod repair;
mod share;
mod signals;
mod subject;

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::LazyLock;

use age::secrecy::SecretString;
use clap::{Args, CommandFactory, FromArgMatches, Parser, Subcommand};
use color::{ColorWhen, Stream, Tone, paint};
use kluis::Error;
use kluis::format::FORMAT_VERSION;
use kluis::keys::Identities;

/// The exit codes, for `kluis help` and the manual page.
pub const EXIT_CODES: [(u8, &str); 5] = [
    (
        0,
        "success: everything checked is well, nothing needs action",
    ),
    (
        1,
        "a check found damage, something missing, or something that needs action (an archive due for destruction, a copy overdue for verification)",
    ),
    (
        2,
        "error: bad input, wrong key, unreadable file, full or missing medium, …",
    ),
    (
        130,
        "interrupted by SIGINT (Ctrl-C) before the work was complete: stopped at a safe point, what was not complete removed, one line says what was done",
    ),
    (143, "the same, interrupted by SIGTERM"),
];

/// `Exit codes:` and the table, wrapped by hand to 80 columns (clap wraps
/// help only with its `wrap_help` feature, which kluis does not use).
fn exit_codes_help() -> String {
    let mut text = String::from("Exit codes:");
    for (code, meaning) in EXIT_CODES {
        let mut line = format!("\n  {code} ");
        for word in meaning.split(' ') {
            if line.len() + word.len() > 78 {
                text.push_str(line.trim_end());
                line = "\n    ".to_owned();
            }
            line.push(' ');
            line.push_str(word);
        }
        text.push_str(&line);
    }
    text
}

/// `kluis --version`: the program's version, then the archive format
/// versions it reads and writes (it reads every earlier one).
static LONG_VERSION: LazyLock<String> = LazyLock::new(|| {
    let reads = if FORMAT_VERSION == 1 {
        "1".to_owned()
    } else {
        format!("1 to {FORMAT_VERSION}")
    };
    format!(
        "{}\narchive format: reads {reads}, writes {FORMAT_VERSION}",
        env!("CARGO_PKG_VERSION")
    )
});

#[derive(Parser)]
#[command(
    name = "kluis",
    version,
    about = "Yearly encrypted offline archives of business records: kept as long as the law requires, then destroyed with proof.",
    after_help = exit_codes_help()
)]
pub struct Cli {
    /// Vault folder (config and catalog) [default: $KLUIS_VAULT, else ~/.config/kluis]
    #[arg(
        long,
        global = true,
        value_name = "DIR",
        help_heading = "Global options"
    )]
    pub vault: Option<PathBuf>,
    /// Print only data and errors: no progress bars, no notes
    #[arg(short, long, global = true, help_heading = "Global options")]
    pub quiet: bool,
    /// When to colour errors, hints and status words: auto (on a terminal, unless NO_COLOR is set), always, never
    #[arg(
        long,
        global = true,
        value_name = "WHEN",
        default_value = "auto",
        hide_possible_values = true,
        help_heading = "Global options"
    )]
    pub color: ColorWhen,
    #[command(subcommand)]
    pub command: Command,
}

/// The command line as clap knows it, with the long version; the completions
/// and man pages are generated from this too.
pub fn command() -> clap::Command {
    Cli::command().long_version(LONG_VERSION.as_str())
}

#[derive(Subcommand)]
pub enum Command {
    /// Create a key, or check that a key opens archives.
    #[command(subcommand)]
    Key(KeyCommand),
    /// Create the vault: organisation, recipients, retention policy.
    Init(commands::InitArgs),
    /// Archive a fiscal year's records onto one or more media.
    Archive(Box<commands::ArchiveArgs>),
    /// Check archives or media: quickly without a key, fully with one.
    Verify(read::VerifyArgs),
    /// List the records in an archive (reads its index, not the whole archive).
    ///
    /// One name per line, escaped as GNU `ls -b` and `sha256sum` do, so that
    /// every line is one record: a backslash as `\\`, a newline as `\n`, a
    /// tab as `\t`, other control characters and bytes that are not UTF-8 as
    /// `\ooo` (octal). Folders end with `/`. `--json` gives names exactly.
    List(read::ListArgs),
    /// Restore all records, or those matching patterns.
    Restore(read::RestoreArgs),
    /// Show every archive: copies, last verification, retention end, state.
    Status(lifecycle::StatusArgs),
    /// List what needs action today (exit 1 if anything): for cron.
    Due(lifecycle::DueArgs),
    /// Write an iCalendar file with destruction and verification dates.
    Remind(lifecycle::RemindArgs),
    /// Put an archive under a legal hold: it cannot be destroyed.
    Hold(lifecycle::HoldArgs),
    /// Release a legal hold.
    Release(lifecycle::ReleaseArgs),
    /// Destroy a copy of an archive whose retention has ended.
    Destroy(lifecycle::DestroyArgs),
    /// Run the whole job on generated sample records, narrating each step.
    Demo(demo::DemoArgs),
    /// Print a shell completion script for bash, zsh, fish, powershell or elvish.
    Completions(manual::CompletionsArgs),
    /// Write the manual pages (kluis.1, kluis-archive.1, …), or print kluis.1.
    Man(manual::ManArgs),
    /// Re-encrypt the archives on a medium to the vault's current recipients.
    Rekey(share::RekeyArgs),
    /// Hand chosen records to an auditor: a new archive for their key only, or a plain folder.
    Share(share::ShareArgs),
    /// Finish removing an archive's records from its sources, after `archive --purge-source` was interrupted; or list unfinished purges.
    Purge(purge::PurgeArgs),
    /// Repair damaged archives (no key needed) from an intact copy on another plugged-in medium, else from their PAR2 parity files; or add parity to archives without it.
    Repair(repair::RepairArgs),
    /// A person's request (GDPR): what is kept about them, in which years, until when; their records and rows.
    #[command(subcommand)]
    Subject(subject::SubjectCommand),
}

#[derive(Subcommand)]
pub enum KeyCommand {
    /// Create an age X25519 identity (mode 0600) and print its recipient.
    New {
        /// Write the identity to FILE (never overwrites one); without it,
        /// the identity goes to stdout, as with age-keygen
        #[arg(short, long, value_name = "FILE")]
        output: Option<PathBuf>,
    },
    /// Say whether the key opens each archive, without decrypting its content.
    Check {
        #[command(flatten)]
        keys: KeyArgs,
        /// The archives (.kluis files) to try the key on
        #[arg(required = true, value_name = "ARCHIVE")]
        archives: Vec<PathBuf>,
        /// Print one JSON object per archive: {"archive", "opens"}
        #[arg(long)]
        json: bool,
    },
    /// Print the organisation's public signing key (minisign format), or create the vault's signing key.
    Signing(keys::SigningArgs),
    /// Print a paper recovery kit for an identity: QR code, checked text lines, recovery steps.
    Paper(keys::PaperArgs),
    /// Type or paste a paper kit's lines back into an identity file, checking every line.
    Recover(keys::RecoverArgs),
}

/// How a command gets the key to open archives.
#[derive(Args, Clone, Default)]
pub struct KeyArgs {
    /// An age identity file to open archives with; repeatable
    #[arg(short = 'i', long = "identity", value_name = "FILE")]
    pub identities: Vec<PathBuf>,
    /// Read the passphrase of a passphrase archive from the first line of FILE
    #[arg(long, value_name = "FILE")]
    pub passphrase_file: Option<PathBuf>,
    /// Ask for the passphrase of a passphrase archive on the terminal
    #[arg(long)]
    pub passphrase: bool,
}

impl KeyArgs {
    pub fn given(&self) -> bool {
        !self.identities.is_empty() || self.passphrase_file.is_some() || self.passphrase
    }

    pub fn load(&self) -> kluis::Result<Identities> {
        let mut ids = Identities::default();
        for path in &self.identities {
            ids.add_file(path)?;
        }
        if let Some(pass) = self.read_passphrase("Passphrase: ")? {
            ids.add_passphrase(pass);
        }
        if ids.is_empty() {
            return Err(Error::Usage(
                "no key given: add -i KEYFILE (or --passphrase-file FILE for a passphrase archive)"
                    .into(),
            ));
        }
        Ok(ids)
    }

    pub fn read_passphrase(&self, prompt: &str) -> kluis::Result<Option<SecretString>> {
        if let Some(path) = &self.passphrase_file {
            return kluis::keys::read_passphrase_file(path).map(Some);
        }
        if self.passphrase {
            if !std::io::stdin().is_terminal() {
                return Err(Error::Usage(
                    "--passphrase asks on a terminal; without one, use --passphrase-file FILE"
                        .into(),
                ));
            }
            let text = rpassword::prompt_password(prompt).map_err(|e| Error::io("terminal", e))?;
            if text.is_empty() {
                return Err(Error::Usage("the passphrase is empty".into()));
            }
            return Ok(Some(SecretString::from(text)));
        }
        Ok(None)
    }
}

/// What a command tells `main` besides errors.
pub enum Outcome {
    Ok,
    /// Something was found that needs attention (exit 1).
    NeedsAction,
    /// The user asked to stop after part of the work was done and reported
    /// (exit 130 or 143); says what was and was not done.
    Interrupted(String),
}

/// The commands that handle SIGINT and SIGTERM by stopping at a safe point
/// and cleaning up; the others end at once, as programs do by default
/// (they write nothing, or only atomically).
fn stops_cleanly(command: &Command) -> bool {
    matches!(
        command,
        Command::Archive(_)
            | Command::Verify(_)
            | Command::Restore(_)
            | Command::Hold(_)
            | Command::Release(_)
            | Command::Destroy(_)
            | Command::Rekey(_)
            | Command::Share(_)
            | Command::Repair(_)
            | Command::Purge(_)
            | Command::Subject(_)
    )
}

pub fn main() -> ExitCode {
    let args: Vec<_> = std::env::args_os().collect();
    // clap prints help and usage errors itself, so it learns --color first.
    let matches = command()
        .color(color::from_args(&args).for_clap())
        .get_matches_from(args);
    let cli = Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.exit());
    color::init(cli.color);
    let quiet = cli.quiet;
    if stops_cleanly(&cli.command) {
        signals::install();
    }
    let result = match cli.command {
        Command::Key(KeyCommand::Signing(args)) => keys::signing(cli.vault.as_deref(), quiet, args),
        Command::Key(KeyCommand::Paper(args)) => keys::paper(cli.vault.as_deref(), quiet, args),
        Command::Key(KeyCommand::Recover(args)) => keys::recover(cli.vault.as_deref(), quiet, args),
        Command::Key(cmd) => commands::key(quiet, cmd),
        Command::Init(args) => commands::init(cli.vault.as_deref(), quiet, args),
        Command::Archive(args) => commands::archive(cli.vault.as_deref(), quiet, *args),
        Command::Verify(args) => read::verify(cli.vault.as_deref(), quiet, args),
        Command::List(args) => read::list(args),
        Command::Restore(args) => read::restore(quiet, args),
        Command::Status(args) => lifecycle::status(cli.vault.as_deref(), args),
        Command::Due(args) => lifecycle::due(cli.vault.as_deref(), args),
        Command::Remind(args) => lifecycle::remind(cli.vault.as_deref(), quiet, args),
        Command::Hold(args) => lifecycle::hold(cli.vault.as_deref(), quiet, args),
        Command::Release(args) => lifecycle::release(cli.vault.as_deref(), quiet, args),
        Command::Destroy(args) => lifecycle::destroy(cli.vault.as_deref(), quiet, args),
        Command::Demo(args) => demo::run(args, cli.color),
        Command::Completions(args) => manual::completions(args),
        Command::Man(args) => manual::man(quiet, args),
        Command::Rekey(args) => share::rekey(cli.vault.as_deref(), quiet, args),
        Command::Share(args) => share::share(cli.vault.as_deref(), quiet, args),
        Command::Repair(args) => repair::repair(cli.vault.as_deref(), args),
        Command::Purge(args) => purge::purge(cli.vault.as_deref(), quiet, args),
        Command::Subject(cmd) => subject::run(cli.vault.as_deref(), quiet, cmd),
    };
    let signal = signals::received();
    if signal.is_some() && matches!(result, Ok(Outcome::Ok | Outcome::NeedsAction)) && !quiet {
        // The signal came after the last point where stopping was possible.
        eprintln!(
            "note: the interrupt came after the last point where the command could stop; it finished its work"
        );
    }
    match result {
        Ok(Outcome::Ok) => ExitCode::SUCCESS,
        Ok(Outcome::NeedsAction) => ExitCode::from(1),
        Ok(Outcome::Interrupted(done)) => {
            eprintln!(
                "{} {done}",
                paint(Stream::Stderr, Tone::Warn, "interrupted:")
            );
            ExitCode::from(signals::exit_code(signal.unwrap_or(2)))
        }
        Err(Error::Interrupted { done }) => {
            eprintln!(
                "{} {done}",
                paint(Stream::Stderr, Tone::Warn, "interrupted:")
            );
            ExitCode::from(signals::exit_code(signal.unwrap_or(2)))
        }
        Err(e) => {
            if is_broken_pipe(&e) {
                return ExitCode::SUCCESS;
            }
            report_error(&e);
            ExitCode::from(2)
        }
    }
}

fn is_broken_pipe(e: &Error) -> bool {
    matches!(e, Error::Io { source, .. } if source.kind() == std::io::ErrorKind::BrokenPipe)
}

/// `error: …` and, where we know one, `hint: …`.
pub fn report_error(e: &Error) {
    let mut err = std::io::stderr().lock();
    let _ = writeln!(err, "{} {e}", paint(Stream::Stderr, Tone::Bad, "error:"));
    if let Some(hint) = hint(e) {
        let _ = writeln!(err, "{} {hint}", paint(Stream::Stderr, Tone::Hint, "hint:"));
    }
}

fn hint(e: &Error) -> Option<String> {
    use std::io::ErrorKind as K;
    Some(match e {
        Error::WrongKey { .. } => "check that -i names a key this archive was encrypted to (or the right passphrase); `kluis key check -i FILE ARCHIVE` tests keys without decrypting".into(),
        Error::NeedsPassphrase { .. } => "this archive was encrypted with a passphrase, not a key file".into(),
        Error::NotAnArchive { .. } => "give a .kluis file written by kluis; a damaged archive reports as damaged, not as this".into(),
        Error::Damaged { .. } => "use another copy of this archive (`kluis status` lists them); `kluis verify -i KEY` names the damaged records; `kluis restore --salvage` restores what is intact".into(),
        Error::UnsupportedVersion { .. } => "install a newer kluis".into(),
        Error::NoVault { .. } => "create one with `kluis init --org NAME -r age1…`, or point --vault or KLUIS_VAULT at an existing vault".into(),
        Error::VaultExists { .. } => "edit its config.toml, or give another --vault".into(),
        Error::BadConfig { .. } => "fix that line of the file; nothing was changed".into(),
        Error::AlreadyOnMedium { .. } => "an archive is never rewritten: add --supplement to write a late addition as YYYY-CLASS-2.kluis".into(),
        Error::MediumFull { .. } => "free space on the medium or use a larger one; no partial archive was left on it".into(),
        Error::SourceChanged { .. } => "archive when nothing is writing to the source folders; no archive was written".into(),
        Error::EmptySource { .. } => "check the source folder(s) you gave".into(),
        Error::BeyondRepair { .. } => "the archive was left untouched: restore from another copy (`kluis status` lists them); `kluis restore --salvage` restores what is intact".into(),
        Error::NoParity { .. } => "this archive was written without parity: restore from another copy, or `kluis repair --add-parity` an intact copy for the future".into(),
        Error::ReadBackMismatch { .. } => "the medium did not store what was written: use another medium; the bad copy was removed".into(),
        Error::WouldOverwrite { .. } => "restore into an empty folder; add --resume to finish an interrupted restore (files already there with the right content are kept), or --force to replace existing files".into(),
        Error::UnsafeEntry { .. } => "this archive was not written by kluis or was tampered with; nothing was restored".into(),
        Error::UnknownArchive { .. } => "`kluis status` lists the archives by name (YYYY-CLASS) and id".into(),
        Error::RetentionNotEnded { .. }
        | Error::Held { .. }
        | Error::AlreadyDestroyed { .. }
        | Error::NotOnMedium { .. }
        | Error::NotTheArchive { .. } => "nothing was destroyed".into(),
        Error::BadAuditFile { .. } => "export the audit file again from the accounting package, or leave it out; nothing was archived".into(),
        Error::BadIdentifier(_) => "`kluis subject find --help` shows the accepted forms".into(),
        Error::BadTable { .. } => "fix the export (or give --delimiter or the right date column); nothing was archived".into(),
        Error::BadDate { .. } => "dates must be YYYY-MM-DD, ISO 8601 date-times, DD-MM-YYYY or DD/MM/YYYY (day first); for another form give --date-format, e.g. %m/%d/%Y; nothing was archived".into(),
        Error::UndecidedColumns { path, .. } if path.to_string_lossy().contains("://") => "to decide once for every year, set drop/keep under [db.NAME] in the vault's config.toml (docs/DATABASES.md)".into(),
        Error::UndecidedColumns { .. } => "to decide once for every year, set drop/keep under [tables.NAME] in the vault's config.toml".into(),
        Error::Database { .. } => "close the program using the database, or check that the file is an SQLite database; nothing was archived".into(),
        Error::LiveDatabase { .. } => "check the URL, the password (PGPASSWORD or MYSQL_PWD in the environment, or --db-password-file) and that the server is running; nothing was archived or deleted".into(),
        Error::DatabaseRefused { .. } => "nothing was read from the database, and nothing was archived or deleted (docs/DATABASES.md)".into(),
        Error::Locked { .. } => "wait for the other kluis process to finish, then try again".into(),
        Error::NoSigningKey { .. } => "create one with `kluis key signing --new` (then publish its public key), or add --unsigned to write an archive that proves nothing about who wrote it".into(),
        Error::Io { source, path } => match source.kind() {
            K::NotFound => format!("check the path {}; for a medium, mount it first", path.display()),
            K::PermissionDenied => "you may not read or write there; is the medium read-only or owned by someone else?".into(),
            K::ReadOnlyFilesystem => "the medium is mounted read-only; remount it writable".into(),
            K::StorageFull => "free space on the medium or use a larger one".into(),
            _ => return None,
        },
        _ => return None,
    })
}

/// Prints a JSON value as one line on stdout.
pub fn print_json(value: &impl serde::Serialize) -> kluis::Result<()> {
    let mut out = std::io::stdout().lock();
    serde_json::to_writer(&mut out, value).map_err(|e| Error::io("stdout", e.into()))?;
    writeln!(out).map_err(|e| Error::io("stdout", e))
}
