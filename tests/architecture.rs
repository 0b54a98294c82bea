//! The layout of `src/` as docs/ARCHITECTURE.md describes it: which room
//! may import which, no import cycle between files, and a library that
//! neither prints through clap nor draws progress bars.
//!
//! It reads the sources as text: every `crate::a::b` path and every
//! `super::` path outside `#[cfg(test)]` code names the module it imports.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

/// Rooms in layers; a room may import its own layer's rooms only where
/// listed in `SIDEWAYS`, and any room of a lower layer.
const LAYERS: &[&[&str]] = &[
    &[
        "error",
        "keys",
        "progress",
        "retention",
        "util",
        "demo",
        "parity",
        "subjects",
    ],
    &["format", "sources", "vault"],
    &["read", "write", "lifecycle"],
];

/// Imports allowed within one layer (from, to).
const SIDEWAYS: &[(&str, &str)] = &[
    ("error", "retention"),
    ("keys", "error"),
    ("retention", "error"),
    ("util", "error"),
    ("demo", "error"),
    ("parity", "error"),
    ("parity", "util"),
    ("subjects", "error"),
    ("subjects", "util"),
    ("sources", "format"),
    ("vault", "format"),
    ("vault", "sources"),
    ("write", "read"),
    ("lifecycle", "read"),
];

/// Cycles being taken apart on another branch; this list must stay empty.
const KNOWN_CYCLES: &[&str] = &[];

fn layer(room: &str) -> usize {
    LAYERS
        .iter()
        .position(|l| l.contains(&room))
        .unwrap_or_else(|| {
            panic!(
                "room {room} is not in docs/ARCHITECTURE.md's table (tests/architecture.rs LAYERS)"
            )
        })
}

/// Every library source file (not the binary's `cli/` and `main.rs`) with
/// its module path, e.g. `format::writer`.
fn modules() -> BTreeMap<String, PathBuf> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        for e in fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                walk(&p, out);
            } else if p.extension().is_some_and(|x| x == "rs") {
                out.push(p);
            }
        }
    }
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    walk(&src, &mut files);
    let mut mods = BTreeMap::new();
    for f in files {
        let rel = f.strip_prefix(&src).unwrap().to_str().unwrap().to_owned();
        if rel == "main.rs" || rel == "lib.rs" || rel.starts_with("cli/") {
            continue;
        }
        let m = rel
            .trim_end_matches(".rs")
            .trim_end_matches("/mod")
            .replace('/', "::");
        mods.insert(m, f);
    }
    mods
}

/// The text before the first `#[cfg(test)]` (test modules may import
/// anything).
fn code(path: &Path) -> String {
    let text = fs::read_to_string(path).unwrap();
    match text.find("#[cfg(test)]") {
        Some(i) => text[..i].to_owned(),
        None => text,
    }
}

/// Module paths named in `text`, resolved against `module` for `super::`,
/// expanded through `{a, b::c}` groups (one level deep is all kluis uses).
fn imports(module: &str, text: &str) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    let bytes = text.as_bytes();
    for (start, prefix) in [("crate::", 0usize), ("super::", 1)] {
        let mut from = 0;
        while let Some(i) = text[from..].find(start) {
            let at = from + i;
            from = at + start.len();
            if at > 0 && (bytes[at - 1].is_ascii_alphanumeric() || bytes[at - 1] == b'_') {
                continue; // e.g. `kluis::` in a doc comment is not ours
            }
            let mut base: Vec<String> = if prefix == 0 {
                Vec::new()
            } else {
                let mut parts: Vec<String> = module.split("::").map(str::to_owned).collect();
                parts.pop();
                // `super::super::…`
                let mut rest = &text[from..];
                while let Some(r) = rest.strip_prefix("super::") {
                    parts.pop();
                    rest = r;
                    from += "super::".len();
                }
                parts
            };
            let tail: String = text[from..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == ':' || *c == '{')
                .collect();
            if let Some(group_at) = tail.find('{') {
                base.extend(
                    tail[..group_at]
                        .split("::")
                        .filter(|s| !s.is_empty())
                        .map(str::to_owned),
                );
                let close = text[from + group_at..].find('}').unwrap_or(0);
                let group = &text[from + group_at + 1..from + group_at + close];
                for item in group.split(',') {
                    let mut path = base.clone();
                    path.extend(
                        item.trim()
                            .split("::")
                            .map(|s| s.trim().to_owned())
                            .filter(|s| !s.is_empty() && s != "self"),
                    );
                    out.push(path);
                }
            } else {
                base.extend(
                    tail.split("::")
                        .filter(|s| !s.is_empty())
                        .map(str::to_owned),
                );
                out.push(base);
            }
        }
    }
    out
}

/// The longest module that `path` starts with.
fn resolve(mods: &BTreeMap<String, PathBuf>, path: &[String]) -> Option<String> {
    (1..=path.len())
        .rev()
        .map(|k| path[..k].join("::"))
        .find(|m| mods.contains_key(m))
}

fn graph() -> BTreeMap<String, BTreeSet<String>> {
    let mods = modules();
    let mut g = BTreeMap::new();
    for (m, file) in &mods {
        let mut deps = BTreeSet::new();
        for path in imports(m, &code(file)) {
            if let Some(target) = resolve(&mods, &path)
                && target != *m
                && !m.starts_with(&format!("{target}::"))
            {
                deps.insert(target);
            }
        }
        g.insert(m.clone(), deps);
    }
    g
}

fn room(module: &str) -> &str {
    module.split("::").next().unwrap()
}

#[test]
fn rooms_import_only_downwards() {
    let mut wrong = Vec::new();
    for (m, deps) in graph() {
        for d in deps {
            let (a, b) = (room(&m), room(&d));
            if a == b {
                continue;
            }
            let ok = layer(b) < layer(a) || SIDEWAYS.contains(&(a, b));
            if !ok {
                wrong.push(format!("{m} imports {d}"));
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "imports against docs/ARCHITECTURE.md:\n{}",
        wrong.join("\n")
    );
}

#[test]
fn no_import_cycle_between_files() {
    let g = graph();
    fn visit(
        g: &BTreeMap<String, BTreeSet<String>>,
        m: &str,
        state: &mut BTreeMap<String, u8>,
        stack: &mut Vec<String>,
        cycles: &mut Vec<String>,
    ) {
        state.insert(m.to_owned(), 1);
        stack.push(m.to_owned());
        for d in g.get(m).into_iter().flatten() {
            match state.get(d).copied().unwrap_or(0) {
                0 => visit(g, d, state, stack, cycles),
                1 => {
                    let from = stack.iter().position(|s| s == d).unwrap();
                    cycles.push(format!("{} -> {d}", stack[from..].join(" -> ")));
                }
                _ => {}
            }
        }
        stack.pop();
        state.insert(m.to_owned(), 2);
    }
    let mut state = BTreeMap::new();
    let mut cycles = Vec::new();
    for m in g.keys() {
        if !state.contains_key(m) {
            visit(&g, m, &mut state, &mut Vec::new(), &mut cycles);
        }
    }
    cycles.retain(|c| !KNOWN_CYCLES.contains(&c.as_str()));
    assert!(cycles.is_empty(), "import cycles:\n{}", cycles.join("\n"));
}

#[test]
fn the_library_neither_parses_flags_nor_prints() {
    let mut wrong = Vec::new();
    for (m, file) in modules() {
        let text = code(&file);
        for needle in [
            "clap::",
            "indicatif::",
            "println!(",
            "eprintln!(",
            "process::exit(",
        ] {
            if text.contains(needle) {
                wrong.push(format!("{m} uses {needle}"));
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn every_module_says_what_it_owns() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut missing = Vec::new();
    let mut files: Vec<PathBuf> = modules().into_values().collect();
    files.push(src.join("lib.rs"));
    files.push(src.join("main.rs"));
    for e in fs::read_dir(src.join("cli")).unwrap() {
        files.push(e.unwrap().path());
    }
    for f in files {
        let text = fs::read_to_string(&f).unwrap();
        if !text.starts_with("//!") {
            missing.push(f.display().to_string());
        }
    }
    assert!(missing.is_empty(), "no opening //! comment: {missing:?}");
}

/// The resolver itself, so that the tests above cannot pass by reading
/// nothing.
#[test]
fn the_import_reader_finds_groups_and_super() {
    let text = "use crate::format::{writer::Mtime, MANIFEST_MEMBER};\nuse super::table::Window;\nlet x = crate::util::lines::read_line;";
    let got = imports("sources::sqlite", text);
    assert!(got.contains(&vec!["format".into(), "writer".into(), "Mtime".into()]));
    assert!(got.contains(&vec!["sources".into(), "table".into(), "Window".into()]));
    assert!(got.contains(&vec!["util".into(), "lines".into(), "read_line".into()]));
    let g = graph();
    assert!(g["write::archive"].contains("format::writer"));
    assert!(g.len() > 20, "only {} modules found", g.len());
}
