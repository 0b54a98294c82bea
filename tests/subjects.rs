//! Data subjects through the real binary (docs/SUBJECTS.md): `kluis subject
//! find` for each kind of identifier, the vault's answer with no medium
//! plugged in (and what a stolen vault gives away: nothing), `--export`,
//! `--report`, requests and `kluis due`, erasure requests named in the
//! proof of destruction, tax audit files (XAF) checked before anything is
//! written, archives without a subject index (or with a damaged one)
//! searched by a scan, and identifiers that cannot be read.
//!
//! The harness is `tests/common/`; the records that name people are made
//! here ([`people_records`]).

mod common;

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use common::*;
use kluis::format::reader::ArchiveReader;
use kluis::format::subjectindex::{SUBJECTS_KEY, SUBJECTS_MEMBER};
use kluis::format::writer::Framing;
use serde_json::Value;
use sha2::{Digest, Sha256};

// --- the records that name people ------------------------------------------

/// Where [`people_records`] puts its records and its table.
const RECORDS: &str = "records";
const ORDERS: &str = "export/orders.csv";

/// A mail with display names (one holding a comma), a folded `To:` line
/// and a `Cc:`; no identifier in its body.
const MAIL: &str = "From: \"Jan Jansen\" <Jan.Jansen@Example.NL>\r\n\
To: Piet <piet@example.com>,\r\n \"Klaas, K.\" <klaas@example.org>\r\n\
Cc: Marie <marie@example.net>\r\n\
Subject: Offerte 2019-0042\r\n\
Date: Mon, 4 Mar 2019 10:00:00 +0100\r\n\
\r\n\
Zie de bijlage.\r\n";

/// Two messages; Jan is in the `To:` of the second only.
const MBOX: &str = "From MAILER-DAEMON Mon Mar  4 10:00:00 2019\n\
From: kees@example.nl\n\
To: anna@example.nl\n\
Subject: een\n\
\n\
Eerste bericht.\n\
\n\
From MAILER-DAEMON Tue Mar  5 10:00:00 2019\n\
From: Bob <bob@example.nl>\n\
To: \"Jansen\" <jan.jansen@example.nl>\n\
Subject: twee\n\
\n\
Tweede bericht.\n";

/// A phone number and an IBAN as people write them.
const NOTE: &str = "Terugbelverzoek 2019-03-04: bel +31 6 1234 5678.\n\
Terugbetalen op NL91 ABNA 0417 1643 00, EUR 1.234,56.\n";

const JSON: &str = "{\"name\": \"Greet\", \"email\": \"greet@example.nl\"}\n";

/// The orders export: the first and last rows are of other years and are
/// not archived, so the archived table's row N is the source's line N+1
/// (the header being line 0).
const ORDERS_CSV: &str = "order_id;order_date;customer_no;email;phone;note;total\n\
0;2018-12-31;K17;jan.jansen@example.nl;06-12345678;vorig jaar;5.00\n\
1;2019-01-03;K17;Jan.Jansen@Example.nl;;eerste bestelling;10.00\n\
2;2019-02-03;K18;piet@example.com;06-12345678;;20.00\n\
3;2019-03-03;K17;;;afgehaald;30.00\n\
4;2019-04-03;K19;greet@example.nl;+31 20 123 4567;;40.00\n\
5;2019-05-03;K170;other@example.nl;;terugbellen: +31 6 12345678;50.00\n\
6;2020-01-02;K17;jan.jansen@example.nl;;volgend jaar;60.00\n";

/// The source line of the archived table's data row `row` (1-based).
fn orders_line(row: usize) -> &'static str {
    ORDERS_CSV.lines().nth(row + 1).unwrap()
}

/// Records naming people below `root`: mail, an mbox, a note, JSON, two
/// PDFs (not searched), and a record naming nobody.
fn people_records(root: &Path) {
    write_file(&root.join("mail/offer.eml"), MAIL.as_bytes(), 0o644);
    write_file(&root.join("mail/2019.mbox"), MBOX.as_bytes(), 0o644);
    write_file(&root.join("notes/callback.txt"), NOTE.as_bytes(), 0o644);
    write_file(&root.join("crm/greet.json"), JSON.as_bytes(), 0o644);
    // One of random bytes only, one that starts as a PDF does.
    write_file(
        &root.join("scans/scan.pdf"),
        &Rng::new(7).bytes(5000),
        0o644,
    );
    let mut pdf = b"%PDF-1.4\n".to_vec();
    pdf.extend(Rng::new(8).bytes(3000));
    write_file(&root.join("invoices/INV-1.pdf"), &pdf, 0o644);
    write_file(
        &root.join("ledger.csv"),
        b"date;amount\n2019-01-01;10\n",
        0o644,
    );
}

/// A vault whose `[subjects] id_columns` names `customer_no`, and
/// [`people_records`] and [`ORDERS_CSV`] archived for 2019 onto `media`.
fn people_vault(media: &[&str]) -> (Env, Key) {
    let (env, key) = Env::ready();
    env.edit_config(|c| {
        assert!(c.contains("id_columns = []"), "{c}");
        c.replace("id_columns = []", "id_columns = [\"customer_no\"]")
    });
    people_records(&env.p(RECORDS));
    write_file(&env.p(ORDERS), ORDERS_CSV.as_bytes(), 0o644);
    let table = format!("{ORDERS}:order_date");
    env.archive(2019, media, &["--table", &table], &[RECORDS])
        .ok();
    (env, key)
}

// --- running `subject find` and reading its answer -------------------------

/// `kluis subject find -i KEY ARGS…`, run.
fn find(env: &Env, key: &Key, args: &[&str]) -> Run {
    find_cmd(env, key, args).run()
}

fn find_cmd(env: &Env, key: &Key, args: &[&str]) -> Cmd {
    env.kluis()
        .args(["subject", "find", "-i"])
        .arg(&key.path)
        .args(args)
}

/// `find … --json`, which must exit `code`; its answer.
#[track_caller]
fn answer(env: &Env, key: &Key, args: &[&str], code: i32) -> Value {
    let run = find(env, key, &[args, &["--json"]].concat());
    run.code(code);
    run.json()
}

/// A hit as the tests write it: identifier key, member, rows.
type Hit = (String, String, Vec<u64>);

/// Every hit of an answer, over every archive searched.
fn hits(answer: &Value) -> BTreeSet<Hit> {
    let mut out = BTreeSet::new();
    for a in answer["archives"].as_array().unwrap() {
        let Some(records) = a.get("records") else {
            continue;
        };
        for h in records["hits"].as_array().unwrap() {
            let rows = h.get("rows").map_or_else(Vec::new, |r| {
                r.as_array()
                    .unwrap()
                    .iter()
                    .map(|n| n.as_u64().unwrap())
                    .collect()
            });
            out.insert((
                h["id"].as_str().unwrap().to_owned(),
                h["path"].as_str().unwrap().to_owned(),
                rows,
            ));
        }
    }
    out
}

fn expected(list: &[(&str, &str, &[u64])]) -> BTreeSet<Hit> {
    list.iter()
        .map(|(id, path, rows)| ((*id).to_owned(), (*path).to_owned(), rows.to_vec()))
        .collect()
}

/// The only archive of an answer.
#[track_caller]
fn only_archive(answer: &Value) -> &Value {
    let archives = answer["archives"].as_array().unwrap();
    assert_eq!(archives.len(), 1, "{answer:#}");
    &archives[0]
}

const JAN: &str = "email:jan.jansen@example.nl";
const MOBILE: &str = "phone:+31612345678";
const IBAN: &str = "iban:NL91ABNA0417164300";
const K17: &str = "id:customer_no=K17";

const EML: &str = "records/mail/offer.eml";
const MBOX_MEMBER: &str = "records/mail/2019.mbox";
const NOTE_MEMBER: &str = "records/notes/callback.txt";
const TABLE: &str = "tables/orders.csv";

// --- 1. each kind of identifier ----------------------------------------------

#[test]
fn each_kind_of_identifier_finds_exactly_its_records_and_rows() {
    let (env, key) = people_vault(&[STICK]);
    type Case<'a> = (&'a [&'a str], &'a str, &'a [(&'a str, &'a str, &'a [u64])]);
    let cases: &[Case] = &[
        // E-mail, typed in another case than either record writes it.
        (
            &["--email", "JAN.jansen@Example.nl"],
            "jan.jansen@example.nl",
            &[(JAN, EML, &[]), (JAN, MBOX_MEMBER, &[]), (JAN, TABLE, &[1])],
        ),
        // The folded second address of `To:`, its display name holding a comma.
        (
            &["--email", "klaas@example.org"],
            "klaas@example.org",
            &[("email:klaas@example.org", EML, &[])],
        ),
        (
            &["--email", "Marie <marie@example.net>"],
            "marie@example.net",
            &[("email:marie@example.net", EML, &[])],
        ),
        // The first message of the mbox.
        (
            &["--email", "mailto:kees@example.nl"],
            "kees@example.nl",
            &[("email:kees@example.nl", MBOX_MEMBER, &[])],
        ),
        (
            &["--email", "greet@example.nl"],
            "greet@example.nl",
            &[
                ("email:greet@example.nl", "records/crm/greet.json", &[]),
                ("email:greet@example.nl", TABLE, &[4]),
            ],
        ),
        // A mobile number in national and international forms: the note,
        // the phone column (row 2) and the free text of another (row 5).
        (
            &["--phone", "06 12345678"],
            "+31612345678",
            &[(MOBILE, NOTE_MEMBER, &[]), (MOBILE, TABLE, &[2, 5])],
        ),
        (
            &["--phone", "+31 (0)6-1234 5678"],
            "+31612345678",
            &[(MOBILE, NOTE_MEMBER, &[]), (MOBILE, TABLE, &[2, 5])],
        ),
        (
            &["--phone", "0031612345678"],
            "+31612345678",
            &[(MOBILE, NOTE_MEMBER, &[]), (MOBILE, TABLE, &[2, 5])],
        ),
        (
            &["--phone", "020 123 4567"],
            "+31201234567",
            &[("phone:+31201234567", TABLE, &[4])],
        ),
        // An IBAN in lower case with spaces.
        (
            &["--iban", "nl91 abna 0417 1643 00"],
            "NL91 ABNA 0417 1643 00",
            &[(IBAN, NOTE_MEMBER, &[])],
        ),
        // A customer number of `[subjects] id_columns`: K17, not K170.
        (
            &["--id", "customer_no=K17"],
            "K17",
            &[(K17, TABLE, &[1, 3])],
        ),
    ];
    for (args, value, want) in cases {
        let v = answer(&env, &key, args, 1);
        assert_eq!(v["asked"].as_array().unwrap().len(), 1, "{v:#}");
        assert_eq!(v["asked"][0]["value"], *value, "{args:?}: {v:#}");
        let a = only_archive(&v);
        assert_eq!(a["file"], "2019-financial.kluis");
        assert_eq!(a["vault"]["says"], "holds", "{args:?}: {v:#}");
        assert_eq!(a["records"]["how"], "index", "{args:?}: {v:#}");
        assert_eq!(hits(&v), expected(want), "{args:?}: {v:#}");
    }

    // Several identifiers of one person at once: every hit of each.
    let v = answer(
        &env,
        &key,
        &[
            "--email",
            "jan.jansen@example.nl",
            "--id",
            "customer_no=K17",
        ],
        1,
    );
    assert_eq!(
        hits(&v),
        expected(&[
            (JAN, EML, &[]),
            (JAN, MBOX_MEMBER, &[]),
            (JAN, TABLE, &[1]),
            (K17, TABLE, &[1, 3]),
        ])
    );
    let ids = &only_archive(&v)["vault"]["ids"];
    assert_eq!(*ids, serde_json::json!([JAN, K17]), "{v:#}");

    // The text answer names the records and the rows.
    let run = find(&env, &key, &["--email", "jan.jansen@example.nl"]);
    run.code(1)
        .stdout_has(EML)
        .stdout_has(MBOX_MEMBER)
        .stdout_has("tables/orders.csv rows 1");

    // Identifiers that are not there, or only part of one that is:
    // nothing, exit 0, and no copy read.
    for args in [
        &["--email", "nobody@example.nl"][..],
        &["--email", "jan@example.nl"],
        &["--id", "customer_no=K1"],
        &["--id", "order_id=1"],
        &["--phone", "06 87654321"],
        &["--iban", "NL44 RABO 0123 4567 89"],
    ] {
        let v = answer(&env, &key, args, 0);
        let a = only_archive(&v);
        assert_eq!(a["vault"]["says"], "nothing", "{args:?}: {v:#}");
        assert!(a.get("records").is_none(), "{args:?}: {v:#}");
        assert!(hits(&v).is_empty());
    }
    find(&env, &key, &["--email", "nobody@example.nl"])
        .ok()
        .stdout_has("holds nothing");
}

#[test]
fn dates_amounts_and_invoice_numbers_are_not_identifiers() {
    let (env, key) = Env::ready();
    write_file(
        &env.p("src/book.txt"),
        b"datum 2019-03-04, bedrag 0612345678.00, factuur INV-0201234567
          referentie 0031201234567890, IBAN NL00ABNA0417164300, klant Jan Jansen
",
        0o644,
    );
    env.archived(2019, "src");
    let coverage = &env.catalog_entry("2019-financial")["subjects"];
    assert_eq!(coverage["searched"], 1, "{coverage:#}");
    assert_eq!(coverage["identifiers"], 0, "{coverage:#}");
    let v = answer(&env, &key, &["--phone", "06 12345678"], 0);
    assert_eq!(only_archive(&v)["vault"]["says"], "nothing", "{v:#}");
}

// --- 2. the vault's answer, and a stolen vault ------------------------------

#[test]
fn without_a_medium_the_vault_answers_and_gives_nothing_away() {
    let (env, key) = people_vault(&[STICK]);
    // The stick is not plugged in.
    fs::rename(env.p(STICK), env.p("drawer")).unwrap();

    let v = answer(&env, &key, &["--email", "Jan.Jansen@example.nl"], 1);
    let a = only_archive(&v);
    assert_eq!(a["vault"]["says"], "holds", "{v:#}");
    assert_eq!(a["vault"]["ids"], serde_json::json!([JAN]));
    assert!(a.get("records").is_none(), "{v:#}");
    let why = a["not_searched"].as_str().unwrap();
    assert!(
        why.contains("no copy is plugged in") && why.contains(STICK),
        "{why}"
    );
    assert_eq!(a["copies"][0]["medium"], STICK);
    assert_eq!(a["copies"][0]["present"], false);
    find(&env, &key, &["--email", "jan.jansen@example.nl"])
        .code(1)
        .stdout_has("holds 1 of them")
        .stdout_has("no copy is plugged in (copies on stick)");

    let v = answer(&env, &key, &["--email", "nobody@example.nl"], 0);
    let a = only_archive(&v);
    assert_eq!(a["vault"]["says"], "nothing", "{v:#}");
    assert!(a.get("not_searched").is_none(), "{v:#}");

    // `--no-media` gives the vault's answer even with the stick plugged in.
    fs::rename(env.p("drawer"), env.p(STICK)).unwrap();
    let v = answer(
        &env,
        &key,
        &["--iban", "NL91ABNA0417164300", "--no-media"],
        1,
    );
    assert_eq!(only_archive(&v)["vault"]["says"], "holds");
    assert!(only_archive(&v).get("records").is_none(), "{v:#}");

    // A stolen vault: its keyed hashes hold neither the identifiers nor
    // their plain SHA-256, and its keys open only with the archive's key.
    let dir = env.vault().join("subjects");
    let files = folder_files(&dir);
    assert_eq!(files.len(), 2, "{:?}", files.keys());
    assert!(files.keys().any(|n| n.ends_with(".hashes")));
    assert!(files.keys().any(|n| n.ends_with(".key")));
    for plain in [
        "jan.jansen@example.nl",
        JAN,
        "+31612345678",
        MOBILE,
        "NL91ABNA0417164300",
        IBAN,
        "K17",
        K17,
    ] {
        let digest = Sha256::digest(plain.as_bytes());
        let hex = sha256_hex(plain.as_bytes());
        for (name, bytes) in &files {
            for needle in [
                plain.as_bytes(),
                &digest[..],
                &digest[..16],
                &digest[16..],
                hex.as_bytes(),
                &hex.as_bytes()[..32],
            ] {
                assert!(
                    !contains(bytes, needle),
                    "subjects/{name} holds {plain:?} or its plain SHA-256"
                );
            }
        }
    }
    for (name, bytes) in &files {
        if name.ends_with(".key") {
            assert!(bytes.starts_with(b"age-encryption.org/v1\n"), "{name}");
        }
    }
    let thief = env.new_key("thief.key");
    find(&env, &thief, &["--email", "jan.jansen@example.nl"])
        .error(2, &["none of the given identities opens"]);
    fs::rename(env.p(STICK), env.p("drawer")).unwrap();
    find(&env, &thief, &["--email", "nobody@example.nl"])
        .error(2, &["none of the given identities opens"]);
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

// --- 3. --export ------------------------------------------------------------

#[test]
fn export_holds_the_records_and_only_the_rows_found() {
    let (env, key) = people_vault(&[STICK]);
    let out = env.p("answer");
    let v = answer(
        &env,
        &key,
        &[
            "--email",
            "jan.jansen@example.nl",
            "--id",
            "customer_no=K17",
            "--export",
            out.to_str().unwrap(),
        ],
        1,
    );
    let exported = &only_archive(&v)["records"]["exported"];
    assert_eq!(exported["records"], 2, "{v:#}");
    assert_eq!(exported["rows"], 2, "{v:#}");
    let dir = out.join("2019-financial");
    assert_eq!(
        PathBuf::from(exported["dir"].as_str().unwrap()).file_name(),
        dir.file_name()
    );

    // Exactly the records found, byte for byte, and the table.
    let files: BTreeSet<PathBuf> = hash_tree(&dir).into_keys().collect();
    let want: BTreeSet<PathBuf> = [EML, MBOX_MEMBER, TABLE]
        .iter()
        .map(PathBuf::from)
        .collect();
    assert_eq!(files, want);
    assert_eq!(fs::read(dir.join(EML)).unwrap(), MAIL.as_bytes());
    assert_eq!(fs::read(dir.join(MBOX_MEMBER)).unwrap(), MBOX.as_bytes());
    // The header and rows 1 and 3, in order; not the rows of other years
    // that hold the same person in the source.
    let table = fs::read_to_string(dir.join(TABLE)).unwrap();
    let lines: Vec<&str> = table.lines().collect();
    assert_eq!(
        lines,
        [
            ORDERS_CSV.lines().next().unwrap(),
            orders_line(1),
            orders_line(3)
        ],
        "{table}"
    );

    // Nothing found, nothing exported.
    let empty = env.p("nothing");
    answer(
        &env,
        &key,
        &[
            "--email",
            "nobody@example.nl",
            "--export",
            empty.to_str().unwrap(),
        ],
        0,
    );
    assert!(
        !exists(&empty) || hash_tree(&empty).is_empty(),
        "{:?}",
        hash_tree(&empty)
    );
}

// --- 4. --report ------------------------------------------------------------

#[test]
fn report_names_the_year_the_retention_and_what_was_not_searched() {
    let (env, key) = people_vault(&[STICK]);
    let v = answer(
        &env,
        &key,
        &["--phone", "06 12345678", "--report", "reply.md"],
        1,
    );
    let a = only_archive(&v);
    assert_eq!(a["coverage"]["not_searched"]["PDF"], 2, "{v:#}");
    let basis = a["basis"].as_str().unwrap();
    assert!(
        basis.contains("AWR"),
        "the nl preset's legal basis: {basis}"
    );
    let report = fs::read_to_string(env.p("reply.md")).unwrap();
    for needle in [
        "# What ",
        ORG,
        "phone number: +31612345678",
        "| 2019 (financial) |",
        "1 document (notes); 2 rows of orders.csv",
        basis,
        "| 2026-12-31 |",
        "| 2027-01-01 |",
        "## What was not searched",
        "2 records were not searched by content (2 PDF)",
    ] {
        assert!(
            report.contains(needle),
            "the report should say {needle:?}:\n{report}"
        );
    }

    // Someone not found: the report says so, and still what was not searched.
    find(
        &env,
        &key,
        &["--email", "nobody@example.nl", "--report", "none.md"],
    )
    .ok();
    let report = fs::read_to_string(env.p("none.md")).unwrap();
    assert!(report.contains("holds anything about you"), "{report}");
    assert!(!report.contains("| 2019 (financial) |"), "{report}");
    assert!(report.contains("(2 PDF)"), "{report}");
}

// --- 5. requests and `kluis due` ---------------------------------------------

#[test]
fn a_request_is_due_after_25_days_until_it_is_answered() {
    let (env, key) = Env::ready();
    write_file(&env.p("src/mail.eml"), MAIL.as_bytes(), 0o644);
    // A recent year: nothing of it is due for destruction by these dates.
    env.archive(2025, &[STICK], &[], &["src"]).ok();
    env.run(["subject", "requests"])
        .ok()
        .stdout_has("No requests recorded.");

    env.run([
        "subject",
        "request",
        "--by",
        "J. Jansen, e-mail of 1 March",
        "--email",
        "jan.jansen@example.nl",
        "--received",
        "2026-03-01",
    ])
    .ok()
    .stdout_has("Recorded request 1 (access, received 2026-03-01)");
    let list = env.run(["subject", "requests", "--json"]).ok().json();
    assert_eq!(
        list,
        serde_json::json!([{
            "number": 1, "kind": "access", "received": "2026-03-01",
            "answered": null, "archives": []
        }])
    );
    env.run(["subject", "requests"])
        .ok()
        .stdout_has("received 2026-03-01")
        .stdout_has("open");
    // Who asked and about whom is sealed, not in the catalog's clear text.
    let catalog = String::from_utf8(env.catalog_bytes()).unwrap();
    assert!(
        !catalog.contains("jan.jansen") && !catalog.contains("Jansen"),
        "{catalog}"
    );

    // 24 days: not yet; 25 and 26: due, exit 1, named.
    let due_json = |today: &str, code: i32| {
        let run = env.run_on(today, ["due", "--json"]);
        run.code(code);
        run.json()
    };
    let d = due_json("2026-03-25", 0);
    assert_eq!(d["requests"], serde_json::json!([]), "{d:#}");
    let d = due_json("2026-03-26", 1);
    assert_eq!(d["requests"][0]["number"], 1, "{d:#}");
    let d = due_json("2026-03-27", 1);
    assert_eq!(
        d["requests"],
        serde_json::json!([{
            "number": 1, "kind": "access", "received": "2026-03-01", "open_days": 26
        }])
    );
    for what in ["destroy", "verify", "purge"] {
        assert_eq!(d[what], serde_json::json!([]), "{what}: {d:#}");
    }
    env.run_on("2026-03-27", ["due"])
        .code(1)
        .stdout_has("request 1 (access)")
        .stdout_has("--request 1 --report FILE");

    // Answered: the report names the request; due is quiet again.
    let run = find_cmd(&env, &key, &["--request", "1", "--report", "reply.md"])
        .today("2026-03-27")
        .run();
    run.code(1).stdout_has("records/mail.eml");
    let report = fs::read_to_string(env.p("reply.md")).unwrap();
    assert!(
        report.contains("Request 1 of J. Jansen, e-mail of 1 March, received 2026-03-01"),
        "{report}"
    );
    assert!(report.contains("| 2025 (financial) |"), "{report}");
    let list = env.run(["subject", "requests", "--json"]).ok().json();
    assert_eq!(list[0]["answered"], "2026-03-27");
    let id = env.catalog_entry("2025-financial")["archive_id"].clone();
    assert_eq!(list[0]["archives"], serde_json::json!([id]));
    let d = due_json("2026-03-27", 0);
    assert_eq!(d["requests"], serde_json::json!([]), "{d:#}");
    env.run_on("2026-04-30", ["due"])
        .ok()
        .stdout_has("Nothing due");

    // A request for nobody in particular is refused.
    env.run(["subject", "request", "--by", "Someone"])
        .error(2, &["identifier"]);
    find(&env, &key, &["--request", "7"]).error(2, &["no request 7"]);
}

// --- 6. erasure ---------------------------------------------------------------

#[test]
fn an_erasure_request_is_named_when_the_archive_is_destroyed() {
    let (env, key) = people_vault(&[STICK, "m2"]);
    // An access request and an erasure request about people the archive
    // holds, and an erasure request about someone it does not.
    let requests: [(&[&str], i32); 3] = [
        (&["--by", "Kees, letter", "--email", "kees@example.nl"], 1),
        (
            &[
                "--by",
                "Kees, second letter",
                "--erasure",
                "--email",
                "kees@example.nl",
            ],
            1,
        ),
        (
            &[
                "--by",
                "Nobody",
                "--erasure",
                "--email",
                "nobody@example.nl",
            ],
            0,
        ),
    ];
    for (i, (args, code)) in requests.iter().enumerate() {
        let report = format!("reply-{}.md", i + 1);
        let run = find(&env, &key, &[*args, &["--report", &report]].concat());
        run.code(*code)
            .stderr_has(&format!("recorded as request {}", i + 1));
        let text = fs::read_to_string(env.p(&report)).unwrap();
        let article = if i == 0 {
            "15 (access)"
        } else {
            "17 (erasure)"
        };
        assert!(text.contains(article), "{text}");
    }
    // The erasure reply says until when the year is kept.
    let text = fs::read_to_string(env.p("reply-2.md")).unwrap();
    assert!(
        text.contains("| 2026-12-31 |") && text.contains("17(3)(b)"),
        "{text}"
    );
    let list = env.run(["subject", "requests", "--json"]).ok().json();
    let kinds: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["access", "erasure", "erasure"]);
    assert!(
        list.as_array()
            .unwrap()
            .iter()
            .all(|r| r["answered"].is_string())
    );

    let id = env.catalog_entry("2019-financial")["archive_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let subject_files = || names(&env.vault().join("subjects"));
    assert_eq!(
        subject_files(),
        [format!("{id}.hashes"), format!("{id}.key")]
    );

    // Not before the retention ends.
    env.kluis()
        .today("2026-12-31")
        .destroy("2019-financial", STICK)
        .run()
        .code(2);
    // The first copy: its proof names request 2 only, on the medium and in
    // the catalog; the vault still answers for the copy left.
    let out = env
        .kluis()
        .today("2027-01-02")
        .destroy("2019-financial", STICK)
        .arg("--json")
        .run();
    out.ok();
    assert_eq!(
        out.json()["destroyed"]["erasure_requests"],
        serde_json::json!([2])
    );
    let proof = parse_json(&env.p(STICK).join("2019-financial.kluis.destroyed.json"));
    assert_eq!(
        proof["erasure_requests"],
        serde_json::json!([2]),
        "{proof:#}"
    );
    assert_eq!(proof["archive_id"], id.as_str());
    let index = env.medium_index(STICK);
    assert_eq!(
        index["destroyed"][0]["erasure_requests"],
        serde_json::json!([2])
    );
    let entry = env.catalog_entry("2019-financial");
    assert_eq!(
        entry["destructions"][0]["erasure_requests"],
        serde_json::json!([2])
    );
    assert_eq!(subject_files().len(), 2, "one copy is left");
    let v = answer(&env, &key, &["--email", "kees@example.nl"], 1);
    assert_eq!(only_archive(&v)["vault"]["says"], "holds", "{v:#}");
    assert_eq!(
        only_archive(&v)["records"]["copy"].as_str().unwrap(),
        env.p("m2/2019-financial.kluis").to_str().unwrap()
    );

    // The last copy: the keyed hashes go with it, and the answer is
    // "destroyed".
    let out = env
        .kluis()
        .today("2027-01-02")
        .destroy("2019-financial", "m2")
        .arg("--json")
        .run();
    out.ok();
    assert_eq!(
        out.json()["destroyed"]["erasure_requests"],
        serde_json::json!([2])
    );
    let proof = parse_json(&env.p("m2").join("2019-financial.kluis.destroyed.json"));
    assert_eq!(
        proof["erasure_requests"],
        serde_json::json!([2]),
        "{proof:#}"
    );
    let entry = env.catalog_entry("2019-financial");
    for d in entry["destructions"].as_array().unwrap() {
        assert_eq!(d["erasure_requests"], serde_json::json!([2]), "{entry:#}");
    }
    assert!(subject_files().is_empty(), "{:?}", subject_files());
    let v = answer(&env, &key, &["--email", "kees@example.nl"], 0);
    let a = only_archive(&v);
    assert_eq!(a["vault"]["says"], "destroyed", "{v:#}");
    assert_eq!(a["state"], "destroyed");
    find(
        &env,
        &key,
        &["--email", "kees@example.nl", "--report", "after.md"],
    )
    .ok();
    let text = fs::read_to_string(env.p("after.md")).unwrap();
    assert!(
        text.contains("The archives of 2019 have been destroyed"),
        "{text}"
    );
}

// --- 7. tax audit files (XAF) ---------------------------------------------------

/// A hand-made XAF 3.2 file of `year` (the structure of the unit tests'
/// `Doc`, in `src/subjects/xaf/testing.rs`) with transaction lines `lines`
/// (amount, D or C), declaring exactly what they count and add up to, given
/// as `(debit, credit)`; customer C001 has an e-mail address, a phone
/// number and a bank account.
fn xaf(year: i32, lines: &[(&str, &str)], totals: (&str, &str)) -> String {
    let tr: String = lines
        .iter()
        .enumerate()
        .map(|(i, (amount, side))| {
            format!(
                "\n          <trLine><nr>{i}</nr><accID>1300</accID><docRef>F{i}</docRef><effDate>{year}-01-15</effDate>\
                 <amnt>{amount}</amnt><amntTp>{side}</amntTp><custSupID>C001</custSupID></trLine>"
            )
        })
        .collect();
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<auditfile xmlns="http://www.auditfiles.nl/XAF/3.2" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
  <header>
    <fiscalYear>{year}</fiscalYear><startDate>{year}-01-01</startDate><endDate>{year}-12-31</endDate>
    <curCode>EUR</curCode><dateCreated>2020-02-03</dateCreated>
    <softwareDesc>Boekhouder Pro</softwareDesc><softwareVersion>7.1</softwareVersion>
  </header>
  <company>
    <companyIdent>ADM01</companyIdent>
    <companyName>Bakkerij De Korst B.V.</companyName>
    <taxRegistrationCountry>NL</taxRegistrationCountry><taxRegIdent>NL001234567B01</taxRegIdent>
    <customersSuppliers>
      <customerSupplier><custSupID>C001</custSupID><custSupName>Jansen &amp; Zn</custSupName>
        <telephone>020-7654321</telephone><eMail>Piet@Jansen.NL</eMail><custSupTp>C</custSupTp>
        <bankAccount><bankAccNr>NL44RABO0123456789</bankAccNr></bankAccount></customerSupplier>
      <customerSupplier><custSupID>C002</custSupID><custSupName>Molen B.V.</custSupName></customerSupplier>
    </customersSuppliers>
    <generalLedger>
      <ledgerAccount><accID>1300</accID><accDesc>Debiteuren</accDesc><accTp>B</accTp></ledgerAccount>
      <ledgerAccount><accID>8000</accID><accDesc>Omzet</accDesc><accTp>P</accTp></ledgerAccount>
    </generalLedger>
    <transactions>
      <linesCount>{count}</linesCount><totalDebit>{debit}</totalDebit><totalCredit>{credit}</totalCredit>
      <journal><jrnID>V</jrnID><desc>Verkoop</desc><jrnTp>S</jrnTp>
        <transaction><nr>1</nr><desc>Factuur 1</desc><periodNumber>1</periodNumber><trDt>{year}-01-15</trDt>
          <amnt>121.00</amnt><amntTp>D</amntTp>{tr}
        </transaction>
      </journal>
    </transactions>
  </company>
</auditfile>
"#,
        count = lines.len(),
        debit = totals.0,
        credit = totals.1,
    )
}

const BALANCED: &[(&str, &str)] = &[("100.00", "D"), ("21.00", "D"), ("121.00", "C")];

/// A billion laughs: entities that expand to 10⁹ `lol`s, in a file that
/// has the XAF 3.2 namespace.
fn billion_laughs() -> String {
    let mut dtd = String::from("<!ENTITY lol \"lol\">\n");
    for level in 1..=9 {
        let previous = if level == 1 {
            "lol".to_owned()
        } else {
            format!("lol{}", level - 1)
        };
        dtd += &format!(
            "<!ENTITY lol{level} \"{}\">\n",
            format!("&{previous};").repeat(10)
        );
    }
    format!(
        "<?xml version=\"1.0\"?>\n<!DOCTYPE auditfile [\n{dtd}]>\n\
         <auditfile xmlns=\"http://www.auditfiles.nl/XAF/3.2\"><header><fiscalYear>&lol9;</fiscalYear></header></auditfile>\n"
    )
}

#[test]
fn audit_files_are_checked_summarised_and_their_customers_found() {
    let (env, key) = Env::ready();
    let stick = env.p(STICK);
    let refused = |dir: &str, name: &str, text: &str, needles: &[&str]| {
        write_file(&env.p(dir).join(name), text.as_bytes(), 0o644);
        write_file(&env.p(dir).join("other.txt"), b"an ordinary record", 0o644);
        let started = Instant::now();
        let run = env.archive(2019, &[STICK], &[], &[dir]);
        let took = started.elapsed();
        run.error(2, &[&[name][..], needles].concat());
        assert_no_new_archive(&stick, &[]);
        assert!(visible_names(&stick).is_empty(), "{:?}", names(&stick));
        took
    };

    // Unbalanced: named, with the difference.
    refused(
        "unbalanced",
        "2019.xaf",
        &xaf(
            2019,
            &[("100.00", "D"), ("21.00", "D"), ("120.00", "C")],
            ("121.00", "120.00"),
        ),
        &["debits (121.00) and credits (120.00) differ by 1.00"],
    );
    // Another year's file: refused, with the way out.
    refused(
        "year2018",
        "2018.xaf",
        &xaf(2018, BALANCED, ("121.00", "121.00")),
        &["2018-01-01", "fiscal year 2019", "--allow-other-year"],
    );
    // Hostile, recognised as XAF by its namespace though named .xml:
    // refused unread, at once.
    let took = refused(
        "hostile",
        "export.xml",
        &billion_laughs(),
        &["DOCTYPE", "refused unread"],
    );
    assert!(
        took < Duration::from_secs(5),
        "the billion laughs took {took:?}"
    );
    assert!(env.catalog()["archives"].as_array().unwrap().is_empty());

    // A balanced file of the year: archived byte for byte, summarised in
    // the metadata, its customers indexed.
    let good = xaf(2019, BALANCED, ("121.00", "121.00"));
    write_file(&env.p("books/audit/2019.xaf"), good.as_bytes(), 0o644);
    let archive = env.archived(2019, "books");
    let meta = ArchiveReader::open(&archive, &key.identities())
        .unwrap()
        .metadata()
        .clone();
    assert_eq!(meta.audit_files.len(), 1, "{meta:#?}");
    let audit = &meta.audit_files[0];
    assert_eq!(audit.path, "records/audit/2019.xaf");
    let s = &audit.summary;
    assert_eq!(
        (
            s.version.as_str(),
            s.software.as_str(),
            s.software_version.as_str()
        ),
        ("3.2", "Boekhouder Pro", "7.1")
    );
    assert_eq!(
        (s.company.as_str(), s.company_id.as_str()),
        ("Bakkerij De Korst B.V.", "ADM01")
    );
    assert_eq!(
        (
            s.fiscal_year.as_str(),
            s.start_date.as_str(),
            s.end_date.as_str()
        ),
        ("2019", "2019-01-01", "2019-12-31")
    );
    assert_eq!((s.journals, s.transactions, s.lines), (1, 1, 3));
    assert_eq!(
        (s.total_debit.as_str(), s.total_credit.as_str()),
        ("121.00", "121.00")
    );
    assert_eq!((s.customers_suppliers, s.ledger_accounts), (2, 2));
    let restored = env.p("restored");
    env.restore(&key, &archive, &restored).run().ok();
    assert_eq!(
        fs::read(restored.join("records/audit/2019.xaf")).unwrap(),
        good.as_bytes()
    );

    const MEMBER: &str = "records/audit/2019.xaf";
    for (args, id) in [
        (&["--id", "custsupid=C001"][..], "id:custsupid=C001"),
        (&["--email", "piet@jansen.nl"], "email:piet@jansen.nl"),
        (&["--phone", "020 7654321"], "phone:+31207654321"),
        (
            &["--iban", "NL44 RABO 0123 4567 89"],
            "iban:NL44RABO0123456789",
        ),
    ] {
        let v = answer(&env, &key, args, 1);
        assert_eq!(hits(&v), expected(&[(id, MEMBER, &[])]), "{args:?}: {v:#}");
    }
    let v = answer(&env, &key, &["--id", "custsupid=C003"], 0);
    assert!(hits(&v).is_empty());

    // The other year's file, allowed on purpose (as a supplement of 2019).
    write_file(
        &env.p("late/2018.xaf"),
        xaf(2018, BALANCED, ("121.00", "121.00")).as_bytes(),
        0o644,
    );
    env.archive(
        2019,
        &[STICK],
        &["--supplement", "--allow-other-year"],
        &["late"],
    )
    .ok();
    let meta = ArchiveReader::open(&stick.join("2019-financial-2.kluis"), &key.identities())
        .unwrap()
        .metadata()
        .clone();
    assert_eq!(meta.audit_files.len(), 1, "{meta:#?}");
    assert_eq!(meta.audit_files[0].summary.fiscal_year, "2018");
}

// --- 8. archives searched by a scan -------------------------------------------

#[test]
fn an_archive_without_a_subject_index_is_searched_by_a_scan() {
    let env = Env::new();
    let key = env.vector_key("test-key.txt");
    let tiny = vectors().join("tiny.kluis");
    for args in [
        &["--email", "jan@example.nl"][..],
        &["--iban", "NL91ABNA0417164300"],
        &["--phone", "06 12345678"],
    ] {
        let v = answer(&env, &key, &[args, &[tiny.to_str().unwrap()]].concat(), 0);
        let a = only_archive(&v);
        assert_eq!(a["file"], "tiny.kluis");
        assert_eq!(a["fiscal_year"], 2019);
        assert_eq!(a["vault"]["says"], "not_indexed", "{v:#}");
        let how = a["records"]["how"].as_str().unwrap();
        assert!(how.starts_with("scan"), "{how}");
        assert!(how.contains("before kluis indexed subjects"), "{how}");
        assert!(hits(&v).is_empty(), "{v:#}");
    }
    find(
        &env,
        &key,
        &["--email", "jan@example.nl", tiny.to_str().unwrap()],
    )
    .ok()
    .stdout_has("searched by a scan");
    // Not a request: those are recorded in a vault's catalog.
    find(
        &env,
        &key,
        &[
            "--by",
            "Jan",
            "--email",
            "jan@example.nl",
            tiny.to_str().unwrap(),
        ],
    )
    .error(2, &["--by"]);
}

#[test]
fn an_archive_the_vault_keeps_no_hashes_for_is_unknown_until_searched() {
    let (env, key) = people_vault(&[STICK]);
    // As the catalog of a vault from before the subject index has it: no
    // hashes, no coverage.
    let dir = env.vault().join("subjects");
    for name in names(&dir) {
        fs::remove_file(dir.join(name)).unwrap();
    }
    let mut catalog = env.catalog();
    catalog["archives"][0]
        .as_object_mut()
        .unwrap()
        .remove("subjects");
    fs::write(env.catalog_path(), serde_json::to_vec(&catalog).unwrap()).unwrap();

    // No medium: nobody can be ruled out, so exit 1, and the report says
    // what was not searched.
    fs::rename(env.p(STICK), env.p("drawer")).unwrap();
    let args = ["--email", "nobody@example.nl", "--report", "reply.md"];
    let v = answer(&env, &key, &args, 1);
    let a = only_archive(&v);
    assert_eq!(a["vault"]["says"], "not_indexed", "{v:#}");
    assert!(
        a["not_searched"]
            .as_str()
            .unwrap()
            .contains("no copy is plugged in")
    );
    let report = fs::read_to_string(env.p("reply.md")).unwrap();
    assert!(report.contains("## What was not searched"), "{report}");
    assert!(!report.contains("None of our"), "{report}");
    find(&env, &key, &["--email", "nobody@example.nl"])
        .code(1)
        .stdout_has("unknown: not indexed");

    // With the copy plugged in, it is searched, and tells.
    fs::rename(env.p("drawer"), env.p(STICK)).unwrap();
    let v = answer(&env, &key, &["--email", "nobody@example.nl"], 0);
    assert!(
        only_archive(&v)["records"]["hits"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    let v = answer(&env, &key, &["--iban", "NL91ABNA0417164300"], 1);
    assert_eq!(hits(&v), expected(&[(IBAN, NOTE_MEMBER, &[])]));
}

#[test]
fn a_damaged_subject_index_falls_back_to_a_scan() {
    let env = Env::new();
    let key = env.new_key("owner.key");
    let archive = env.p("crafted.kluis");
    // An index line naming a member outside the records, for the very
    // identifier asked about: the index cannot be trusted.
    let line = b"{\"id\":\"email:jan@example.nl\",\"path\":\"../../etc/passwd\"}\n";
    write_archive(&archive, &key, &Default::default(), |w| {
        add_member(
            w,
            b"records/mail/a.eml",
            b"From: Jan <Jan@Example.nl>\r\n\r\nhoi\r\n",
            T2019,
        );
        add_member(w, b"records/other.txt", b"nothing here\n", T2019);
        w.add_located(
            SUBJECTS_KEY,
            SUBJECTS_MEMBER,
            line.len() as u64,
            &mut &line[..],
            Framing::Packed,
        )
        .unwrap();
    });
    let run = find(
        &env,
        &key,
        &[
            "--email",
            "jan@example.nl",
            "--json",
            archive.to_str().unwrap(),
        ],
    );
    run.code(1);
    let v = run.json();
    let how = only_archive(&v)["records"]["how"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        how.starts_with("scan (the subject index could not be used"),
        "{how}"
    );
    assert_eq!(
        hits(&v),
        expected(&[("email:jan@example.nl", "records/mail/a.eml", &[])])
    );
    // Without --json, said on stderr too, as damage.
    find(
        &env,
        &key,
        &["--email", "jan@example.nl", archive.to_str().unwrap()],
    )
    .code(1)
    .stdout_has("records/mail/a.eml")
    .stderr_has("the subject index could not be used")
    .stderr_has("which is not a record");
}

// --- 9. identifiers that cannot be read ---------------------------------------

#[test]
fn unreadable_identifiers_are_refused_naming_the_accepted_forms() {
    let (env, key) = Env::ready();
    env.unchanged_by(|| {
        find(&env, &key, &["--phone", "12"]).error(
            2,
            &[
                "\"12\"",
                "not a phone number",
                "+31 6 12345678",
                "06 12345678",
            ],
        );
        find(&env, &key, &["--iban", "NL00 ABNA 0417 1643 00"]).error(
            2,
            &["NL00 ABNA 0417 1643 00", "not an IBAN", "check digits"],
        );
        find(&env, &key, &["--email", "jan.example.nl"]).error(
            2,
            &["jan.example.nl", "not an e-mail address", "name@example.nl"],
        );
        find(&env, &key, &["--id", "K17"]).error(2, &["\"K17\"", "NAME=VALUE"]);
        find(&env, &key, &[]).error(2, &["--email", "--phone", "--iban", "--id"]);
        env.run(["subject", "request", "--by", "Jan", "--phone", "12"])
            .error(2, &["not a phone number"]);
        env.run([
            "subject",
            "request",
            "--by",
            "Jan",
            "--email",
            "a@b.nl",
            "--received",
            "1 March",
        ])
        .error(2, &["--received", "YYYY-MM-DD"]);
    });
    // The hint points at the forms too.
    find(&env, &key, &["--phone", "12"]).stderr_has("hint: `kluis subject find --help`");
}
