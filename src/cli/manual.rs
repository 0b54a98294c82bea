//! `kluis completions` and `kluis man`: shell completion scripts
//! (clap_complete) and manual pages (clap_mangen), both generated from the
//! same clap definitions as the parser, so they cannot drift from it.

use std::io::Write;
use std::path::{Path, PathBuf};

use clap::Args;
use clap_complete::Shell;
use kluis::error::{Error, IoContext};

use super::Outcome;

type Result<T> = kluis::Result<T>;

#[derive(Args)]
#[command(after_help = "\
Install, for example:
  kluis completions bash > ~/.local/share/bash-completion/completions/kluis
  kluis completions zsh > ~/.zfunc/_kluis    (with fpath+=(~/.zfunc) in ~/.zshrc)
  kluis completions fish > ~/.config/fish/completions/kluis.fish")]
pub struct CompletionsArgs {
    /// The shell: bash, zsh, fish, powershell or elvish
    #[arg(value_name = "SHELL", hide_possible_values = true)]
    shell: Shell,
}

#[derive(Args)]
#[command(after_help = "\
Install, for example:
  kluis man --dir ~/.local/share/man/man1
then `man kluis`, `man kluis-archive`, … (add ~/.local/share/man to MANPATH
if man does not find them).")]
pub struct ManArgs {
    /// Write kluis.1 and one page per command (kluis-archive.1, …) into DIR,
    /// created if missing; kluis pages already there are replaced. Without
    /// it, kluis.1 goes to stdout.
    #[arg(long, value_name = "DIR")]
    dir: Option<PathBuf>,
}

pub fn completions(args: CompletionsArgs) -> Result<Outcome> {
    // Into memory first: clap_complete panics on a failed write, and a
    // closed pipe is not an error.
    let mut script = Vec::new();
    clap_complete::generate(args.shell, &mut super::command(), "kluis", &mut script);
    write_stdout(&script)
}

pub fn man(quiet: bool, args: ManArgs) -> Result<Outcome> {
    let date = page_date();
    let mut cmd = super::command().disable_help_subcommand(true);
    cmd.build();
    let Some(dir) = args.dir else {
        return write_stdout(&page(&cmd, &date, true)?);
    };
    std::fs::create_dir_all(&dir).at(&dir)?;
    let written = write_pages(&cmd, &dir, &date, true)?;
    if !quiet {
        eprintln!(
            "Wrote {written} manual pages into {}; try `man kluis`.",
            dir.display()
        );
    }
    Ok(Outcome::Ok)
}

/// `kluis.1`, `kluis-archive.1`, `kluis-key-new.1`, …; returns how many.
fn write_pages(cmd: &clap::Command, dir: &Path, date: &str, top: bool) -> Result<usize> {
    let mut written = 0;
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        written += write_pages(sub, dir, date, false)?;
    }
    let name = cmd.get_display_name().unwrap_or_else(|| cmd.get_name());
    let path = dir.join(format!("{name}.1"));
    std::fs::write(&path, page(cmd, date, top)?).at(&path)?;
    Ok(written + 1)
}

/// One page as clap_mangen renders it, with three changes: the text after
/// the options is headed NOTES (clap_mangen says EXTRA), the top page ends
/// with the exit status and the versions, each on lines of their own, and
/// the page is ASCII.
fn page(cmd: &clap::Command, date: &str, top: bool) -> Result<Vec<u8>> {
    let man = clap_mangen::Man::new(cmd.clone())
        .date(date)
        .source(format!("kluis {}", env!("CARGO_PKG_VERSION")))
        .manual("kluis manual");
    let mut out = Vec::new();
    let render = |out: &mut Vec<u8>| -> std::io::Result<()> {
        if !top {
            return man.render(out);
        }
        man.render_title(out)?;
        man.render_name_section(out)?;
        man.render_synopsis_section(out)?;
        man.render_description_section(out)?;
        man.render_options_section(out)?;
        man.render_subcommands_section(out)?;
        out.extend_from_slice(b".SH \"EXIT STATUS\"\n");
        for (code, meaning) in super::EXIT_CODES {
            out.extend_from_slice(format!(".TP\n{code}\n{meaning}\n").as_bytes());
        }
        out.extend_from_slice(b".SH VERSION\n");
        let version: Vec<&str> = super::LONG_VERSION.lines().collect();
        out.extend_from_slice(format!("{}\n", version.join("\n.br\n")).as_bytes());
        Ok(())
    };
    render(&mut out).at("manual page")?;
    let text = String::from_utf8_lossy(&out).replace("\n.SH EXTRA\n", "\n.SH NOTES\n");
    // Non-ASCII as roff escapes (as preconv would), so that groff reads
    // the page right without being told its encoding.
    let mut ascii = String::with_capacity(text.len());
    for c in text.chars() {
        if c.is_ascii() {
            ascii.push(c);
        } else {
            ascii.push_str(&format!("\\[u{:04X}]", c as u32));
        }
    }
    Ok(ascii.into_bytes())
}

/// The date on every page: SOURCE_DATE_EPOCH's (for reproducible builds),
/// else today's.
fn page_date() -> String {
    let date = std::env::var("SOURCE_DATE_EPOCH")
        .ok()
        .and_then(|s| s.trim().parse::<i64>().ok())
        .and_then(|secs| chrono::DateTime::from_timestamp(secs, 0))
        .map(|t| t.date_naive())
        .unwrap_or_else(|| chrono::Local::now().date_naive());
    date.format("%Y-%m-%d").to_string()
}

fn write_stdout(bytes: &[u8]) -> Result<Outcome> {
    let mut out = std::io::stdout().lock();
    out.write_all(bytes)
        .and_then(|()| out.flush())
        .map_err(|e| Error::io("stdout", e))?;
    Ok(Outcome::Ok)
}
