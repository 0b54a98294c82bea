//! Colour, only where it helps and only on a terminal: the `error:`,
//! `warning:` and `hint:` prefixes and a few status words (ok, DAMAGED, NOT
//! restored). `--color auto` (the default) colours a stream only when it is
//! a terminal, `TERM` is not `dumb` and `NO_COLOR` (https://no-color.org) is
//! unset or empty; `--color always` and `--color never` override all that.

use std::ffi::OsString;
use std::io::IsTerminal;
use std::sync::atomic::{AtomicBool, Ordering};

use clap::ValueEnum;
use clap::builder::styling::{AnsiColor, Style};

/// When to colour output (`--color`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
pub enum ColorWhen {
    /// On a terminal, unless NO_COLOR is set.
    #[default]
    Auto,
    /// Always, even into a pipe or file, and despite NO_COLOR.
    Always,
    /// Never.
    Never,
}

impl ColorWhen {
    /// The same choice for clap's own help and usage errors.
    pub fn for_clap(self) -> clap::ColorChoice {
        match self {
            ColorWhen::Auto => clap::ColorChoice::Auto,
            ColorWhen::Always => clap::ColorChoice::Always,
            ColorWhen::Never => clap::ColorChoice::Never,
        }
    }
}

/// The two output streams, each decided on its own (`kluis verify | less`
/// keeps coloured errors on the terminal).
#[derive(Clone, Copy)]
pub enum Stream {
    Stdout,
    Stderr,
}

static STDOUT: AtomicBool = AtomicBool::new(false);
static STDERR: AtomicBool = AtomicBool::new(false);

/// Decides once, before any output.
pub fn init(when: ColorWhen) {
    STDOUT.store(
        decide(when, std::io::stdout().is_terminal()),
        Ordering::Relaxed,
    );
    STDERR.store(
        decide(when, std::io::stderr().is_terminal()),
        Ordering::Relaxed,
    );
}

fn decide(when: ColorWhen, terminal: bool) -> bool {
    match when {
        ColorWhen::Always => true,
        ColorWhen::Never => false,
        ColorWhen::Auto => {
            let set = |name| std::env::var_os(name).is_some_and(|v| !v.is_empty());
            terminal && !set("NO_COLOR") && std::env::var_os("TERM").is_none_or(|t| t != "dumb")
        }
    }
}

/// `--color` as given on the command line, read before clap parses it so
/// that clap's own help and errors follow it too. The last one wins, as it
/// does for clap; anything after `--` is not an option.
pub fn from_args(args: &[OsString]) -> ColorWhen {
    let mut when = ColorWhen::Auto;
    let mut args = args.iter().skip(1).map(|a| a.to_str().unwrap_or(""));
    while let Some(arg) = args.next() {
        let value = match arg {
            "--" => break,
            "--color" => args.next().unwrap_or(""),
            _ => match arg.strip_prefix("--color=") {
                Some(v) => v,
                None => continue,
            },
        };
        if let Ok(w) = ColorWhen::from_str(value, false) {
            when = w;
        }
    }
    when
}

/// What a piece of text means, hence its colour.
#[derive(Clone, Copy)]
pub enum Tone {
    /// `error:`, DAMAGED, NOT restored: something is wrong.
    Bad,
    /// `warning:`, KEPT: worth a look.
    Warn,
    /// `hint:`: what to do next.
    Hint,
    /// ok, OK: checked and well.
    Good,
}

impl Tone {
    fn style(self) -> Style {
        let color = match self {
            Tone::Bad => AnsiColor::Red,
            Tone::Warn => AnsiColor::Yellow,
            Tone::Hint => AnsiColor::Cyan,
            Tone::Good => AnsiColor::Green,
        };
        Style::new().bold().fg_color(Some(color.into()))
    }
}

/// `text` in `tone`'s colour when `stream` is coloured, else as it is.
pub fn paint(stream: Stream, tone: Tone, text: &str) -> String {
    let on = match stream {
        Stream::Stdout => &STDOUT,
        Stream::Stderr => &STDERR,
    };
    if on.load(Ordering::Relaxed) {
        let style = tone.style();
        format!("{style}{text}{style:#}")
    } else {
        text.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Vec<OsString> {
        list.iter().map(OsString::from).collect()
    }

    #[test]
    fn color_flag_is_found_before_parsing() {
        assert_eq!(from_args(&args(&["kluis", "status"])), ColorWhen::Auto);
        assert_eq!(
            from_args(&args(&["kluis", "--color", "never", "status"])),
            ColorWhen::Never
        );
        assert_eq!(
            from_args(&args(&["kluis", "status", "--color=always"])),
            ColorWhen::Always
        );
        assert_eq!(
            from_args(&args(&["kluis", "--color=never", "--color", "always"])),
            ColorWhen::Always
        );
        assert_eq!(
            from_args(&args(&["kluis", "list", "--", "--color=never"])),
            ColorWhen::Auto
        );
        assert_eq!(
            from_args(&args(&["kluis", "--color", "sometimes"])),
            ColorWhen::Auto
        );
    }

    #[test]
    fn always_and_never_ignore_the_terminal() {
        assert!(decide(ColorWhen::Always, false));
        assert!(!decide(ColorWhen::Never, true));
        assert!(!decide(ColorWhen::Auto, false));
    }
}
