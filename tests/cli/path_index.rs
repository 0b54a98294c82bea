//! The path index (`kluis/paths.jsonl`, docs/FORMAT.md §4.5): lookups
//! through it give exactly what the manifest gives, on archives of many
//! records with awkward names; `list` and `restore` use it, and fall back
//! to the manifest on archives without it (the old vectors) and on an index
//! that is damaged or hostile, saying so; a record found through it is
//! still checked against its SHA-256.

use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};

use kluis::format::manifest::Entry;
use kluis::format::meta::Metadata;
use kluis::format::pathindex::{PATHS_KEY, PATHS_MEMBER, PathIndex};
use kluis::format::reader::ArchiveReader;
use kluis::format::writer::{ArchiveWriter, Framing, Mtime, WriteOptions};
use kluis::read::select::{self, Lookup, Selection};

use crate::common::*;

fn vectors() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/vectors")
}

/// Names at the edges of byte order: a name, its siblings that sort
/// between it and its folder's contents (`-`, `.` and tab sort before
/// `/`), tab, newline, unicode, not UTF-8, and the last byte.
const AWKWARD: &[&[u8]] = &[
    b"records/a",
    b"records/a-b",
    b"records/a.b",
    b"records/a\tb",
    b"records/a\nb",
    b"records/a/b",
    b"records/a/b/c.txt",
    b"records/Caf\xc3\xa9/bon \xe2\x84\x962.pdf",
    b"records/\xff\xfe.bin",
    b"records/\xff",
    b"records/~last",
    b"tables/orders.csv",
];

/// The body of invoice `i`.
fn invoice(i: usize) -> Vec<u8> {
    format!("Invoice INV-{i:06}, EUR {}.00\n", 100 + i % 900).into_bytes()
}

/// A year of `n` invoices in month folders (added in an order that is not
/// the path order), the awkward names, a folder and a symlink.
fn build_year(w: &mut ArchiveWriter, n: usize) {
    let t = Mtime {
        secs: 1_546_300_800,
        nsec: 250_000_000,
    };
    w.add_dir(b"records/invoices", 0o755, t).unwrap();
    for i in (0..n).rev() {
        let path = format!(
            "records/invoices/{}/{:02}/INV-{i:06}.pdf",
            2019 + (i / 12) % 3,
            i % 12 + 1
        );
        add_member(w, path.as_bytes(), &invoice(i), t);
    }
    for (i, name) in AWKWARD.iter().enumerate() {
        add_member(w, name, &invoice(i), t);
    }
    w.add_symlink(b"records/latest", b"invoices/2019/01", 0o777, t)
        .unwrap();
}

fn write_year(path: &Path, key: &Key, n: usize) {
    let options = WriteOptions {
        workers: 2,
        ..WriteOptions::default()
    };
    write_archive(path, key, &options, |w| build_year(w, n));
}

/// How many frames hold lines of the index.
fn index_blocks(reader: &mut ArchiveReader) -> usize {
    let index = reader.located(PATHS_KEY).unwrap().unwrap();
    let end = index.data_offset + index.size;
    1 + reader
        .frames()
        .iter()
        .filter(|f| f.d_offset > index.data_offset && f.d_offset < end)
        .count()
}

/// The records `patterns` select, by the manifest, in path order.
fn by_manifest(reader: &mut ArchiveReader, patterns: &[&str]) -> Vec<Entry> {
    let s = Selection::new(&patterns.iter().map(|p| p.to_string()).collect::<Vec<_>>()).unwrap();
    let mut all: Vec<Entry> = reader
        .manifest()
        .unwrap()
        .map(Result::unwrap)
        .filter(|e| s.matches(&e.path))
        .collect();
    all.sort_by(|a, b| a.path.cmp(&b.path));
    all
}

/// The records `patterns` select, through the index.
fn by_index(reader: &mut ArchiveReader, patterns: &[&str]) -> Vec<Entry> {
    let s = Selection::new(&patterns.iter().map(|p| p.to_string()).collect::<Vec<_>>()).unwrap();
    let mut got = Vec::new();
    let lookup = select::through_index(reader, &s, &mut |e| {
        got.push(e);
        true
    });
    assert!(matches!(lookup, Lookup::Done), "{patterns:?}: {lookup:?}");
    got
}

#[test]
fn lookups_through_the_index_give_what_the_manifest_gives() {
    let env = Env::new();
    let key = env.new_key("owner.key");
    let archive = env.p("2019-financial.kluis");
    write_year(&archive, &key, 5000);
    let mut reader = ArchiveReader::open(&archive, &key.identities()).unwrap();
    let blocks = index_blocks(&mut reader);
    assert!(blocks >= 10, "the index has only {blocks} frames");

    let mut sorted: Vec<Entry> = by_manifest(&mut reader, &["*"]);
    assert_eq!(sorted.len(), 5000 + AWKWARD.len() + 2);
    let first = sorted.remove(0).path;
    let last = sorted.pop().unwrap().path;
    assert_eq!(first, b"records/Caf\xc3\xa9/bon \xe2\x84\x962.pdf");
    assert_eq!(last, b"tables/orders.csv");
    let first = String::from_utf8(first).unwrap();
    let last = String::from_utf8(last).unwrap();
    let cases: &[&[&str]] = &[
        &[&first],
        &[&last],
        &["records/invoices"],
        &["invoices"],
        &["invoices/2019/03/*"],
        &["invoices/2019/03/INV-000024.pdf"],
        &["invoices/2021/12/INV-004997.pdf"],
        &["invoices/2020/01/INV-000000.pdf"],
        &["invoices/2019/0*"],
        &["invoices/2019/13"],
        &["invoices/2019/1"],
        &["invoices/20*/1?/INV-0001*"],
        &["a"],
        &["a/b"],
        &["a\tb"],
        &["a\nb"],
        &["a*"],
        &["records/a*"],
        &["Café"],
        &["Café/bon №2.pdf"],
        &["latest"],
        &["~last"],
        &["tables/orders.csv"],
        &["tables"],
        &["records"],
        &["zz"],
        &["nothing*"],
        &["a", "a/b", "invoices/2019/03", "~last"],
    ];
    for patterns in cases {
        let want = by_manifest(&mut reader, patterns);
        let got = by_index(&mut reader, patterns);
        assert_eq!(got, want, "{patterns:?}");
        // Names only (`list` without --json): the same names and types.
        let s =
            Selection::new(&patterns.iter().map(|p| p.to_string()).collect::<Vec<_>>()).unwrap();
        let mut names = Vec::new();
        let lookup = select::names_through_index(&mut reader, &s, &mut |n| {
            names.push((n.path, n.kind));
            true
        });
        assert!(matches!(lookup, Lookup::Done), "{patterns:?}: {lookup:?}");
        let want: Vec<_> = want.into_iter().map(|e| (e.path, e.kind)).collect();
        assert_eq!(names, want, "{patterns:?}");
    }
    // The missing ones are missing, the others found.
    assert!(by_index(&mut reader, &["invoices/2019/13"]).is_empty());
    assert_eq!(by_index(&mut reader, &["a"]).len(), 3);
    assert_eq!(by_index(&mut reader, &["invoices/2019/03/*"]).len(), 139);
    // Globs without a literal start need the manifest.
    let s = Selection::new(&["*.pdf".into()]).unwrap();
    let lookup = select::through_index(&mut reader, &s, &mut |_| true);
    assert!(matches!(lookup, Lookup::NoIndex));
}

#[test]
fn list_and_restore_go_through_the_index() {
    let (env, key) = Env::ready();
    let archive = env.p("2019-financial.kluis");
    write_year(&archive, &key, 600);
    let run = env.list(&key, &archive).arg("invoices/2019/03/*").run();
    run.ok();
    assert!(!run.stderr.contains("warning"), "{}", run.stderr);
    let want: String = (0..600)
        .filter(|i| i % 12 == 2 && (i / 12) % 3 == 0)
        .map(|i| format!("records/invoices/2019/03/INV-{i:06}.pdf\n"))
        .collect();
    assert_eq!(run.stdout_text(), want);
    let names = env.list(&key, &archive).args(["--json", "a"]).run();
    let paths: Vec<String> = names
        .json_lines()
        .iter()
        .map(|v| v["path"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(paths, ["records/a", "records/a/b", "records/a/b/c.txt"]);

    let run = env
        .restore(&key, &archive, env.p("out"))
        .args(["invoices/2020/08/INV-000019.pdf", "a\nb"])
        .run();
    run.ok();
    assert!(!run.stderr.contains("warning"), "{}", run.stderr);
    assert_eq!(
        fs::read(env.p("out/records/invoices/2020/08/INV-000019.pdf")).unwrap(),
        invoice(19)
    );
    assert_eq!(fs::read(env.p("out/records/a\nb")).unwrap(), invoice(4));
    let restored: Vec<_> = snapshot(&env.p("out/records"))
        .into_iter()
        .filter(|(_, n)| matches!(n.what, What::File(_)))
        .collect();
    assert_eq!(restored.len(), 2);
}

#[test]
fn archives_without_an_index_use_the_manifest() {
    let env = Env::new();
    copy_private(&vectors().join("test-key.txt"), &env.p("test-key.txt"));
    let key = Key::load(&env.p("test-key.txt"));
    let tiny = vectors().join("tiny.kluis");
    let mut reader = ArchiveReader::open(&tiny, &key.identities()).unwrap();
    assert!(PathIndex::open(&mut reader).unwrap().is_none());
    let s = Selection::new(&["invoices".into()]).unwrap();
    assert!(matches!(
        select::through_index(&mut reader, &s, &mut |_| true),
        Lookup::NoIndex
    ));

    let run = env.list(&key, &tiny).arg("invoices").run();
    run.ok();
    assert_eq!(
        run.stdout_text(),
        "records/invoices/\nrecords/invoices/INV-2019-0001.txt\n\
         records/invoices/\u{dc}berweisung caf\u{e9} \u{2116}2.txt\n"
    );
    assert!(!run.stderr.contains("warning"), "{}", run.stderr);
    let run = env
        .restore(&key, &tiny, env.p("out"))
        .arg("ledger.csv")
        .run();
    run.ok();
    assert!(!run.stderr.contains("warning"), "{}", run.stderr);
    assert!(
        fs::read_to_string(env.p("out/records/ledger.csv"))
            .unwrap()
            .starts_with("datum;")
    );
}

/// An archive of 300 documents whose path index is what `index` makes of
/// the manifest's entries (in tar order, which is path order here).
fn with_index(
    env: &Env,
    key: &Key,
    name: &str,
    index: impl FnOnce(Vec<Entry>) -> Vec<u8>,
) -> PathBuf {
    let path = env.p(name);
    let options = WriteOptions {
        workers: 1,
        path_index: false,
        ..WriteOptions::default()
    };
    write_archive(&path, key, &options, |w| {
        for i in 0..300 {
            add_member(
                w,
                format!("records/doc-{i:03}.txt").as_bytes(),
                &invoice(i),
                T2019,
            );
        }
        w.end_records().unwrap();
        let mut manifest = String::new();
        w.written_manifest()
            .unwrap()
            .read_to_string(&mut manifest)
            .unwrap();
        let entries = manifest
            .lines()
            .map(|l| Entry::from_json_line(l).unwrap())
            .collect();
        let bytes = index(entries);
        w.add_located(
            PATHS_KEY,
            PATHS_MEMBER,
            bytes.len() as u64,
            &mut &bytes[..],
            Framing::Lines { every: 2048 },
        )
        .unwrap();
    });
    path
}

fn lines(entries: &[Entry]) -> Vec<u8> {
    entries
        .iter()
        .flat_map(|e| format!("{}\n", e.to_json_line()).into_bytes())
        .collect()
}

/// `list` and `restore` of `doc-150.txt` give the right record, and say
/// on stderr that the index was not used (when `warned`; `list` reads only
/// names and types, so a problem of offsets is `restore`'s alone: then
/// `list_warned` is false).
#[track_caller]
fn finds_doc_150(env: &Env, key: &Key, archive: &Path, warned: &str, list_warned: bool) {
    let run = env.list(key, archive).arg("doc-150.txt").run();
    run.ok();
    assert_eq!(run.stdout_text(), "records/doc-150.txt\n");
    let target = env.p(format!(
        "out-{}",
        archive.file_name().unwrap().to_str().unwrap()
    ));
    let restore = env.restore(key, archive, &target).arg("doc-150.txt").run();
    restore.ok();
    assert_eq!(
        fs::read(target.join("records/doc-150.txt")).unwrap(),
        invoice(150)
    );
    for (run, checked) in [(&run, list_warned), (&restore, true)] {
        if warned.is_empty() || !checked {
            assert!(!run.stderr.contains("warning"), "{}", run.stderr);
        } else {
            run.stderr_has("warning: the path index could not be used")
                .stderr_has(warned);
        }
    }
}

#[test]
fn a_hostile_index_is_refused_and_the_manifest_used() {
    let (env, key) = Env::ready();
    // A well-made index, as the writer would make it: used, no warning.
    let good = with_index(&env, &key, "good.kluis", |e| lines(&e));
    finds_doc_150(&env, &key, &good, "", true);

    let outside = with_index(&env, &key, "outside.kluis", |mut e| {
        for entry in &mut e[140..160] {
            entry.data_offset += 1 << 40;
        }
        lines(&e)
    });
    finds_doc_150(&env, &key, &outside, "outside the records", false);

    let unsorted = with_index(&env, &key, "unsorted.kluis", |mut e| {
        e.reverse();
        lines(&e)
    });
    finds_doc_150(&env, &key, &unsorted, "not sorted", true);
    // With --json, list reads the whole line and checks its offsets too.
    env.list(&key, &outside)
        .args(["--json", "doc-150.txt"])
        .run()
        .ok()
        .stderr_has("outside the records");

    let not_a_record = with_index(&env, &key, "kluis-member.kluis", |mut e| {
        e[150].path = b"kluis/footer.json".to_vec();
        e[149].path = b"kluis/doc-150.txt".to_vec();
        lines(&e)
    });
    let run = env.list(&key, &not_a_record).arg("doc-149.txt").run();
    run.ok().stderr_has("not a record");

    // Pointing at another record's member: restore checks the member's
    // header before writing anything.
    let elsewhere = with_index(&env, &key, "elsewhere.kluis", |mut e| {
        let other = e[151].clone();
        e[150].offset = other.offset;
        e[150].data_offset = other.data_offset;
        e[150].sha256 = other.sha256;
        lines(&e)
    });
    let restore = env
        .restore(&key, &elsewhere, env.p("out-elsewhere"))
        .arg("doc-150.txt")
        .run();
    restore
        .ok()
        .stderr_has("warning: the path index could not be used")
        .stderr_has("does not match the member");
    assert_eq!(
        fs::read(env.p("out-elsewhere/records/doc-150.txt")).unwrap(),
        invoice(150)
    );

    // A wrong SHA-256 in the index: the record found through it is checked
    // against it, and not restored.
    let wrong_hash = with_index(&env, &key, "wrong-hash.kluis", |mut e| {
        e[150].sha256 = Some([7; 32]);
        lines(&e)
    });
    env.restore(&key, &wrong_hash, env.p("out-hash"))
        .arg("doc-150.txt")
        .run()
        .code(1)
        .stdout_has("doc-150.txt");
    assert!(!exists(&env.p("out-hash/records/doc-150.txt")));
}

#[test]
fn a_damaged_index_frame_is_reported_and_the_manifest_used() {
    let (env, key) = Env::ready();
    let archive = env.p("2019-financial.kluis");
    write_year(&archive, &key, 3000);
    let mut reader = ArchiveReader::open(&archive, &key.identities()).unwrap();
    let index = reader.located(PATHS_KEY).unwrap().unwrap();
    let end = index.data_offset + index.size;
    let mut starts = vec![index.data_offset];
    starts.extend(
        reader
            .frames()
            .iter()
            .map(|f| f.d_offset)
            .filter(|&o| o > index.data_offset && o < end),
    );
    drop(reader);
    // The frame a binary search over the index probes first.
    flip_byte_in_frame_at(&archive, &key, starts[starts.len() / 2]);
    let run = env
        .list(&key, &archive)
        .arg("invoices/2019/03/INV-000002.pdf")
        .run();
    run.ok()
        .stderr_has("warning: the path index could not be used")
        .stderr_has("damaged");
    assert_eq!(
        run.stdout_text(),
        "records/invoices/2019/03/INV-000002.pdf\n"
    );
    let restore = env
        .restore(&key, &archive, env.p("out"))
        .arg("invoices/2019/03/INV-000002.pdf")
        .run();
    restore.ok().stderr_has("damaged");
    assert_eq!(
        fs::read(env.p("out/records/invoices/2019/03/INV-000002.pdf")).unwrap(),
        invoice(2)
    );
}

/// `tests/vectors/indexed.kluis` (see its README): 1,200 invoices and the
/// awkward names, with a path index, encrypted to `test-key.txt`.
const INDEXED_RECORDS: usize = 1200;

#[test]
fn indexed_vector_is_searched_through_its_index() {
    let env = Env::new();
    copy_private(&vectors().join("test-key.txt"), &env.p("test-key.txt"));
    let key = Key::load(&env.p("test-key.txt"));
    let archive = vectors().join("indexed.kluis");
    let mut reader = ArchiveReader::open(&archive, &key.identities()).unwrap();
    assert!(PathIndex::open(&mut reader).unwrap().is_some());
    assert_eq!(index_blocks(&mut reader), 5);
    for patterns in [
        &["invoices/2019/03/*"][..],
        &["invoices/2019/12/INV-001199.pdf"],
        &["a"],
        &["a\nb", "Café", "tables"],
        &["invoices/2019/13"],
    ] {
        assert_eq!(
            by_index(&mut reader, patterns),
            by_manifest(&mut reader, patterns),
            "{patterns:?}"
        );
    }
    drop(reader);

    let run = env.list(&key, &archive).arg("invoices/2020/08").run();
    run.ok();
    assert!(!run.stderr.contains("warning"), "{}", run.stderr);
    let want: String = (0..INDEXED_RECORDS)
        .filter(|i| i % 12 == 7 && (i / 12) % 3 == 1)
        .map(|i| format!("records/invoices/2020/08/INV-{i:06}.pdf\n"))
        .collect();
    assert_eq!(run.stdout_text(), want);
    env.restore(&key, &archive, env.p("out"))
        .arg("invoices/2019/12/INV-001199.pdf")
        .run()
        .ok();
    assert_eq!(
        fs::read(env.p("out/records/invoices/2019/12/INV-001199.pdf")).unwrap(),
        invoice(1199)
    );
    env.verify(&key, &archive).run().ok();
}

/// Writes `tests/vectors/indexed.kluis` once; see tests/vectors/README.md.
#[test]
#[ignore = "writes a committed test vector"]
fn make_indexed_vector() {
    assert!(
        std::env::var_os("KLUIS_WRITE_VECTORS").is_some(),
        "set KLUIS_WRITE_VECTORS=1 to write the vector"
    );
    let path = vectors().join("indexed.kluis");
    assert!(
        !path.exists(),
        "{} exists: vectors are never rewritten",
        path.display()
    );
    let env = Env::new();
    copy_private(&vectors().join("test-key.txt"), &env.p("test-key.txt"));
    let key = Key::load(&env.p("test-key.txt"));
    let file = fs::File::create(&path).unwrap();
    let mut w = ArchiveWriter::new(
        vec![(path.clone(), file)],
        &key.recipients(),
        &Metadata {
            organisation: "Kluis Testvectoren B.V.".into(),
            ..crafted_metadata()
        },
        &WriteOptions::default(),
    )
    .unwrap();
    build_year(&mut w, INDEXED_RECORDS);
    w.finish().unwrap();
    println!(
        "    (\n        \"indexed.kluis\",\n        \"{}\",\n    ),",
        file_sha256(&path)
    );
}
