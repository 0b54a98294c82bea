//! The conventions users expect of a command-line tool: shell completions
//! and man pages generated from the flag definitions (and accepted by the
//! shells and by `mandoc`), `--version` naming the archive format, colour
//! only on a terminal (`NO_COLOR`, `--color`), and help that describes every
//! option.
//!
//! The shells and `mandoc` come from Debian (`scripts/test.sh` installs
//! them); without them these tests skip, or fail under
//! `KLUIS_REQUIRE_STOCK_TOOLS`.

use std::fs;
use std::path::Path;
use std::process::{Command, Stdio};

use crate::common::*;

const ESC: &str = "\x1b[";

/// Whether `tool` is installed (see [`require_tools`]).
fn require(tool: &str) -> bool {
    require_tools(&[tool])
}

/// Runs a program on a file, expecting silence and success.
#[track_caller]
fn accepts(program: &str, args: &[&str], file: &Path) {
    let out = Command::new(program)
        .args(args)
        .arg(file)
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("cannot run {program}: {e}"));
    assert!(
        out.status.success() && out.stdout.is_empty() && out.stderr.is_empty(),
        "{program} {args:?} {}: {:?}\n{}{}",
        file.display(),
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Every command path (`["archive"]`, `["key", "new"]`, …), read from the
/// `Commands:` sections of the help, so new commands are covered unasked.
fn command_paths(env: &Env) -> Vec<Vec<String>> {
    fn walk(env: &Env, path: Vec<String>, out: &mut Vec<Vec<String>>) {
        let run = env.kluis().args(&path).arg("--help").run();
        run.ok();
        let help = run.stdout_text();
        let subs: Vec<String> = help
            .split("\n\n")
            .filter(|section| section.starts_with("Commands:"))
            .flat_map(|section| section.lines().skip(1))
            // A command starts its line (two spaces in); a description that
            // wraps continues on lines indented further.
            .filter(|line| !line.starts_with("   "))
            .filter_map(|line| line.split_whitespace().next().map(str::to_owned))
            .filter(|name| name != "help")
            .collect();
        for sub in subs {
            let mut p = path.clone();
            p.push(sub);
            out.push(p.clone());
            walk(env, p, out);
        }
    }
    let mut out = Vec::new();
    walk(env, Vec::new(), &mut out);
    out
}

fn completion(env: &Env, shell: &str) -> String {
    let run = env.run(["completions", shell]);
    run.ok();
    assert!(run.stderr.is_empty(), "{run}");
    let script = run.stdout_text();
    for word in [
        "archive",
        "restore",
        "destroy",
        "completions",
        "color",
        "year",
    ] {
        assert!(
            script.contains(word),
            "the {shell} script should know {word}{run}"
        );
    }
    script
}

#[test]
fn bash_completion_parses_and_completes() {
    let env = Env::new();
    let file = env.p("kluis.bash");
    fs::write(&file, completion(&env, "bash")).unwrap();
    if !require("bash") {
        return;
    }
    accepts("bash", &["-n"], &file);
    // Completing for real: the script's function fills COMPREPLY.
    let complete = |words: &str| {
        let script = format!(
            "source {file}\nCOMP_WORDS=({words})\nCOMP_CWORD=$((${{#COMP_WORDS[@]}} - 1))\n\
             COMP_LINE=\"${{COMP_WORDS[*]}}\"\nCOMP_POINT=${{#COMP_LINE}}\n\
             _kluis kluis \"${{COMP_WORDS[COMP_CWORD]}}\" \"${{COMP_WORDS[COMP_CWORD-1]}}\"\n\
             printf '%s\\n' \"${{COMPREPLY[@]}}\"",
            file = sh_quote(&file)
        );
        let run = bash(env.root(), &script);
        run.ok();
        run.stdout_text()
    };
    let top = complete("kluis ar");
    assert_eq!(top.trim(), "archive", "{top}");
    let flags = complete("kluis archive --ye");
    assert!(flags.lines().any(|l| l == "--year"), "{flags}");
    let colors = complete("kluis --color ''");
    assert_eq!(
        colors.split_whitespace().collect::<Vec<_>>(),
        ["auto", "always", "never"]
    );
}

#[test]
fn zsh_completion_parses() {
    let env = Env::new();
    let file = env.p("_kluis");
    let script = completion(&env, "zsh");
    assert!(script.starts_with("#compdef kluis"), "{script}");
    fs::write(&file, script).unwrap();
    if require("zsh") {
        accepts("zsh", &["-n"], &file);
    }
}

#[test]
fn fish_completion_parses_and_completes() {
    let env = Env::new();
    let file = env.p("kluis.fish");
    fs::write(&file, completion(&env, "fish")).unwrap();
    if !require("fish") {
        return;
    }
    accepts("fish", &["--no-execute"], &file);
    let out = Command::new("fish")
        .args(["--no-config", "-c"])
        .arg(format!(
            "source {}; complete --do-complete 'kluis rest'",
            sh_quote(&file)
        ))
        .env("HOME", env.p("home"))
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && text.starts_with("restore\t"),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn powershell_and_elvish_completions_are_generated() {
    let env = Env::new();
    let ps = completion(&env, "powershell");
    assert!(ps.contains("Register-ArgumentCompleter") && ps.contains("'kluis'"));
    for path in command_paths(&env) {
        let name = path.last().unwrap();
        assert!(
            ps.contains(&format!("'{name}'")),
            "powershell completes {name}"
        );
    }
    let elvish = completion(&env, "elvish");
    assert!(elvish.contains("edit:completion:arg-completer[kluis]"));
    env.run(["completions", "tcsh"]).code(2);
}

#[test]
fn man_pages_for_every_command_pass_mandoc_lint() {
    let env = Env::new();
    let dir = env.p("share/man/man1");
    // 2026-01-02: the page date comes from SOURCE_DATE_EPOCH when set.
    let epoch = "1767355200";
    let run = env
        .kluis()
        .args(["man", "--dir"])
        .arg(&dir)
        .env("SOURCE_DATE_EPOCH", epoch)
        .run();
    run.ok().stderr_has("manual pages into");
    assert!(run.stdout.is_empty(), "{run}");

    let mut expected: Vec<String> = command_paths(&env)
        .iter()
        .map(|p| format!("kluis-{}.1", p.join("-")))
        .collect();
    expected.push("kluis.1".into());
    expected.sort();
    let mut written: Vec<String> = fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    written.sort();
    assert_eq!(written, expected);
    assert!(written.contains(&"kluis-key-new.1".to_owned()));

    // `kluis man` alone prints the top page.
    let top = env.kluis().arg("man").env("SOURCE_DATE_EPOCH", epoch).run();
    top.ok();
    assert_eq!(top.stdout, fs::read(dir.join("kluis.1")).unwrap());
    let archive = fs::read_to_string(dir.join("kluis-archive.1")).unwrap();
    assert!(
        archive.contains("\n.TH kluis-archive 1 2026-01-02 "),
        "{archive}"
    );
    assert!(archive.contains("\\-\\-year") && archive.contains("\\-\\-purge\\-source"));

    if !require("mandoc") {
        return;
    }
    for page in &written {
        let page = dir.join(page);
        assert!(fs::read(&page).unwrap().is_ascii(), "{}", page.display());
        accepts("mandoc", &["-T", "lint", "-W", "warning"], &page);
        if require("groff") {
            accepts("groff", &["-man", "-ww", "-z"], &page);
        }
    }
    // Rendered, the top page lists the commands and the exit codes.
    let out = Command::new("mandoc")
        .args(["-T", "utf8"])
        .arg(dir.join("kluis.1"))
        .output()
        .unwrap();
    assert!(out.status.success());
    // Without the overstrikes for bold and underline (X BACKSPACE X).
    let chars: Vec<char> = String::from_utf8_lossy(&out.stdout).chars().collect();
    let text: String = (0..chars.len())
        .filter(|&i| chars[i] != '\u{8}' && chars.get(i + 1) != Some(&'\u{8}'))
        .map(|i| chars[i])
        .collect();
    for needle in ["kluis-archive(1)", "EXIT STATUS", "archive format: reads"] {
        assert!(text.contains(needle), "{needle} in\n{text}");
    }
}

#[test]
fn version_names_the_archive_format() {
    let env = Env::new();
    let run = env.run(["--version"]);
    run.ok();
    let v = kluis::format::FORMAT_VERSION;
    let reads = if v == 1 {
        "1".to_owned()
    } else {
        format!("1 to {v}")
    };
    assert_eq!(
        run.stdout_text(),
        format!(
            "kluis {}\narchive format: reads {reads}, writes {v}\n",
            env!("CARGO_PKG_VERSION")
        )
    );
}

/// An error with a hint on stderr: `verify` of a path that is not there.
fn failing(env: &Env) -> Cmd {
    env.kluis().args(["verify", "no-such-medium"])
}

#[test]
fn no_colour_off_a_terminal_or_when_asked_not_to() {
    let env = Env::new();
    for run in [
        failing(&env).run(),
        failing(&env).env("NO_COLOR", "1").run(),
        failing(&env).arg("--color=never").run(),
        failing(&env).args(["--color", "auto"]).run(),
    ] {
        run.error(2, &["no-such-medium"]);
        assert!(!run.stderr.contains(ESC), "{run}");
    }
    for args in [&["help"][..], &["--color", "never", "archive", "--help"]] {
        let run = env.run(args);
        run.ok();
        assert!(!run.stdout_text().contains(ESC), "{run}");
    }
}

#[test]
fn color_always_colours_even_into_a_pipe_and_despite_no_color() {
    let env = Env::new();
    for run in [
        failing(&env).arg("--color=always").run(),
        failing(&env)
            .args(["--color", "always"])
            .env("NO_COLOR", "1")
            .run(),
    ] {
        run.code(2);
        let lines: Vec<&str> = run.stderr.lines().collect();
        assert_eq!(lines.len(), 2, "{run}");
        assert!(
            lines[0].starts_with(ESC) && lines[0].contains("error:"),
            "{run}"
        );
        assert!(
            lines[1].starts_with(ESC) && lines[1].contains("hint:"),
            "{run}"
        );
    }
    // Status words on stdout: a medium that is fine.
    let (env, _key) = Env::ready();
    fs::create_dir(env.p("records")).unwrap();
    fs::write(env.p("records/invoice.txt"), b"EUR 12,34\n").unwrap();
    env.archive(2019, &["stick"], &[], &["records"]).ok();
    let plain = env.run(["verify", "stick"]);
    plain
        .ok()
        .stdout_has(": OK")
        .stdout_has("2019-financial.kluis: ok");
    assert!(!plain.stdout_text().contains(ESC), "{plain}");
    let coloured = env.run(["--color", "always", "verify", "stick"]);
    coloured.ok();
    let text = coloured.stdout_text();
    assert!(
        text.contains(&format!("{ESC}1m{ESC}32mOK{ESC}0m")),
        "{coloured}"
    );
    // clap's own help follows the flag too.
    let help = env.run(["--color=always", "help"]);
    help.ok();
    assert!(help.stdout_text().contains(ESC), "{help}");
    env.run(["--color", "sometimes", "status"]).code(2);
}

/// `kluis ARGS` on a pseudo-terminal (util-linux `script`), both output
/// streams going to it; `no_color` is NO_COLOR's value, if any.
fn on_terminal(env: &Env, args: &str, no_color: Option<&str>) -> String {
    let mut cmd = Command::new("script");
    cmd.args([
        "-qec",
        &format!("{} {args}", sh_quote(Path::new(BIN))),
        "/dev/null",
    ])
    .current_dir(env.root())
    .env("KLUIS_VAULT", env.vault())
    .env("HOME", env.p("home"))
    .env("TERM", "xterm")
    .env_remove("NO_COLOR")
    .stdin(Stdio::null());
    if let Some(v) = no_color {
        cmd.env("NO_COLOR", v);
    }
    let out = cmd.output().expect("script runs");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn colour_on_a_terminal_unless_no_color() {
    if !require("script") {
        return;
    }
    let env = Env::new();
    let auto = on_terminal(&env, "verify no-such-medium", None);
    assert!(auto.contains("error:") && auto.contains(ESC), "{auto:?}");
    let empty = on_terminal(&env, "verify no-such-medium", Some(""));
    assert!(empty.contains(ESC), "an empty NO_COLOR is unset: {empty:?}");
    for (args, no_color) in [
        ("verify no-such-medium", Some("1")),
        ("--color never verify no-such-medium", None),
        ("help", Some("1")),
    ] {
        let text = on_terminal(&env, args, no_color);
        assert!(
            !text.contains(ESC) && !text.is_empty(),
            "{args} NO_COLOR={no_color:?}: {text:?}"
        );
    }
}

#[test]
fn help_describes_every_option_and_the_exit_codes() {
    let env = Env::new();
    let top = env.run(["help"]);
    top.ok()
        .stdout_has("Exit codes:")
        .stdout_has("--color <WHEN>");
    let mut paths = command_paths(&env);
    paths.push(Vec::new());
    for path in paths {
        let run = env.kluis().args(&path).arg("--help").run();
        run.ok();
        let help = run.stdout_text();
        let lines: Vec<&str> = help.lines().collect();
        for (i, line) in lines.iter().enumerate() {
            // An option or argument starts at column 2 or 6; its description
            // follows on the same line, or (long help, when the command has
            // a long description) on the next line, further in.
            let t = line.trim_start();
            let indent = line.len() - t.len();
            let is_item = (2..=6).contains(&indent)
                && (t.starts_with('-') || t.starts_with('<') || t.starts_with('['));
            if is_item {
                let next = lines.get(i + 1).copied().unwrap_or("");
                let next_indent = next.len() - next.trim_start().len();
                let described = t.split("  ").filter(|s| !s.trim().is_empty()).count() >= 2
                    || (next_indent > indent + 2 && !next.trim().is_empty());
                assert!(
                    described,
                    "kluis {} --help: {line:?} has no description",
                    path.join(" ")
                );
            }
        }
        assert!(
            !help.contains("(default"),
            "kluis {} --help: defaults are written [default: …]",
            path.join(" ")
        );
    }
}
