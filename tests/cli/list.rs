//! `kluis list`: record paths one per line, or JSON Lines whose schema
//! cannot drift silently (parsed with `deny_unknown_fields`).

use serde::Deserialize;

use crate::common::*;
use kluis::format::manifest::hex;

/// One `kluis list --json` line.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Listed {
    path: String,
    #[serde(rename = "type")]
    kind: String,
    size: u64,
    mtime: Option<String>,
    sha256: Option<String>,
    target: Option<String>,
}

#[test]
fn list_prints_one_record_path_per_line_in_archive_order() {
    let (env, key) = Env::ready();
    let archive = env.sample_archive(every_kind);
    let all = env.list(&key, &archive).run();
    all.ok();
    assert_eq!(
        all.stdout_text(),
        "records/empty/\nrecords/invoices/\nrecords/invoices/INV-1.pdf\n\
         records/invoices/INV-2.pdf\nrecords/latest\nrecords/ledger.csv\n\
         records/Überweisung 2019.txt\n"
    );
    assert_eq!(all.stderr, "", "nothing but data");

    let some = env
        .list(&key, &archive)
        .args(["invoices/*.pdf", "ledger.csv"])
        .run();
    some.ok();
    assert_eq!(
        some.stdout_text(),
        "records/invoices/INV-1.pdf\nrecords/invoices/INV-2.pdf\nrecords/ledger.csv\n"
    );
}

#[test]
fn list_json_lines_parse_into_a_strict_struct() {
    let (env, key) = Env::ready();
    let archive = env.sample_archive(every_kind);
    let src = snapshot(&env.p("src"));
    let run = env.list(&key, &archive).arg("--json").run();
    run.ok();
    let text = run.stdout_text();
    let listed: Vec<Listed> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    assert_eq!(listed.len(), src.len(), "{text}");
    for item in &listed {
        let rel = item.path.strip_prefix("records/").expect("below records/");
        let node = &src[rel.as_bytes()];
        let mtime = item
            .mtime
            .as_deref()
            .map(|t| chrono::DateTime::parse_from_rfc3339(t).unwrap());
        let stamp = mtime.map(|t| (t.timestamp(), t.timestamp_subsec_nanos()));
        match &node.what {
            What::File(data) => {
                assert_eq!(item.kind, "file", "{item:?}");
                assert_eq!(item.size, data.len() as u64, "{item:?}");
                assert_eq!(
                    item.sha256.as_deref(),
                    Some(&sha256_hex(data)[..]),
                    "{item:?}"
                );
                assert_eq!(stamp, Some(node.mtime), "{item:?}");
                assert_eq!(item.target, None);
            }
            What::Dir => {
                assert_eq!(item.kind, "dir", "{item:?}");
                assert_eq!((item.size, &item.sha256, &item.target), (0, &None, &None));
                assert_eq!(stamp, Some(node.mtime), "{item:?}");
            }
            What::Link(target) => {
                assert_eq!(item.kind, "symlink", "{item:?}");
                assert_eq!(item.target.as_deref().map(str::as_bytes), Some(&target[..]));
                assert_eq!(item.sha256, None);
            }
        }
    }
}

/// A record name that is not UTF-8 is listed readably and exactly.
#[test]
fn list_json_gives_names_that_are_not_utf8_as_hex() {
    use std::os::unix::ffi::OsStrExt;
    let (env, key) = Env::ready();
    let name = std::ffi::OsStr::from_bytes(b"factuur-\xe9t\xe9.pdf");
    let archive = env.sample_archive(|src| {
        write_file(&src.join(name), b"latin-1 name", 0o644);
        std::os::unix::fs::symlink(name, src.join("link")).unwrap();
        stamp_tree(src);
    });
    let run = env.list(&key, &archive).arg("--json").run();
    run.ok();
    let lines = run.json_lines();
    let file = lines
        .iter()
        .find(|v| v["type"] == "file")
        .expect("the file is listed");
    assert_eq!(
        file["path_hex"],
        hex(b"records/factuur-\xe9t\xe9.pdf"),
        "{file}"
    );
    assert_eq!(file["path"], "records/factuur-\u{fffd}t\u{fffd}.pdf");
    let link = lines.iter().find(|v| v["type"] == "symlink").unwrap();
    assert_eq!(link["target_hex"], hex(b"factuur-\xe9t\xe9.pdf"), "{link}");
    assert!(link.get("path_hex").is_none(), "{link}");
}
