//! Tabular sources through the real binary (docs/TABLES.md): CSV, JSON Lines
//! and SQLite tables split by fiscal year, minimised, archived, and purged
//! from their source once every copy is verified — including a crash
//! (SIGKILL) at each step of the way, through the `KLUIS_TEST_PAUSE_AT`
//! hook. Every refusal exits 2 and leaves nothing archived and nothing
//! deleted.

mod common;

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use common::*;
use kluis::format::meta::{Metadata, Minimisation};
use kluis::format::reader::ArchiveReader;
use kluis::keys::Identities;

// --- the JSON report (its shape pinned in tests/common/reports.rs) ---------

fn tables_of(run: &Run) -> Vec<TableOut> {
    serde_json::from_value(run.json()["tables"].clone()).expect("tables report")
}

fn purge_of(run: &Run) -> Option<PurgeOut> {
    serde_json::from_value(run.json()["purge"].clone()).expect("purge report")
}

fn years(pairs: &[(i32, u64)]) -> BTreeMap<String, u64> {
    pairs.iter().map(|(y, n)| (y.to_string(), *n)).collect()
}

// --- helpers ---------------------------------------------------------------

/// A test folder with a key and a vault (fiscal year starting on
/// `fy_start`, "MM-DD", if given).
fn ready(fy_start: Option<&str>) -> (Env, Key) {
    let env = Env::new();
    let key = env.new_key("owner.key");
    let mut cmd = env
        .kluis()
        .args(["init", "--org", "Webwinkel B.V.", "-r", &key.recipient]);
    if let Some(s) = fy_start {
        cmd = cmd.args(["--fiscal-year-start", s]);
    }
    cmd.run().ok();
    (env, key)
}

fn archive_args(env: &Env, year: i32, media: &[&str], args: &[&str]) -> Vec<std::ffi::OsString> {
    let mut v: Vec<std::ffi::OsString> =
        vec!["archive".into(), "--year".into(), year.to_string().into()];
    for m in media {
        fs::create_dir_all(env.p(m)).unwrap();
        v.push("--to".into());
        v.push(env.p(m).into());
    }
    v.extend(args.iter().map(Into::into));
    v
}

/// `kluis archive --year YEAR --to M… ARGS…` in the test folder (media are
/// made first, as mounting a stick would).
fn archive(env: &Env, year: i32, media: &[&str], args: &[&str]) -> Run {
    env.kluis().args(archive_args(env, year, media, args)).run()
}

fn write(env: &Env, rel: &str, content: impl AsRef<[u8]>) -> PathBuf {
    let p = env.p(rel);
    fs::create_dir_all(p.parent().unwrap()).unwrap();
    fs::write(&p, content).unwrap();
    p
}

/// One member of an archive, restored with `kluis restore`.
fn member(env: &Env, key: &Key, archive: &str, member: &str) -> String {
    static N: AtomicU32 = AtomicU32::new(0);
    let out = env.p(format!("restored-{}", N.fetch_add(1, Ordering::Relaxed)));
    env.kluis()
        .args(["restore", "-i"])
        .arg(&key.path)
        .arg(env.p(archive))
        .arg("--to")
        .arg(&out)
        .arg(member)
        .run()
        .ok();
    String::from_utf8(fs::read(out.join(member)).unwrap()).unwrap()
}

fn metadata(env: &Env, key: &Key, archive: &str) -> Metadata {
    let mut ids = Identities::default();
    ids.add_file(&key.path).unwrap();
    ArchiveReader::open(&env.p(archive), &ids)
        .unwrap()
        .metadata()
        .clone()
}

fn minimised(table: &str, dropped: &[&str], kept: &[&str]) -> Minimisation {
    Minimisation {
        table: table.into(),
        dropped: dropped.iter().map(|s| s.to_string()).collect(),
        kept: kept.iter().map(|s| s.to_string()).collect(),
    }
}

fn verify(env: &Env, key: &Key, medium: &str) -> Run {
    env.kluis()
        .args(["verify", "-i"])
        .arg(&key.path)
        .arg(env.p(medium))
        .run()
}

/// An order export over three calendar years, CRLF, with quoting that
/// must survive byte for byte and two columns to decide.
const ORDERS: &str = "order_id,order_date,customer,password_hash,birth_date,total\r\n\
1,2018-12-31,\"Jansen, Piet\",$2b$12$x,1970-01-01,10.00\r\n\
2,2019-01-01,\"Bakker \"\"Bas\"\"\",$2b$12$y,1980-02-02,20.00\r\n\
3,2020-03-01,\"two\r\nlines\",$2b$12$z,1990-03-03,30.00\r\n\
4,2019-12-31,De Vries,$2b$12$w,2000-04-04,40.00\r\n\
5,2020-01-01,Visser,$2b$12$v,2001-05-05,50.00\r\n";

const MINIMISE: [&str; 4] = ["--drop", "password_hash", "--drop", "birth_date"];

// --- splitting --------------------------------------------------------------

#[test]
fn a_table_splits_across_three_calendar_years() {
    let (env, key) = ready(None);
    let orders = write(&env, "export/orders.csv", ORDERS);
    let expected = [
        (
            2018,
            1,
            "order_id,order_date,customer,total\r\n1,2018-12-31,\"Jansen, Piet\",10.00\r\n",
            vec![(2019, 2), (2020, 2)],
        ),
        (
            2019,
            2,
            "order_id,order_date,customer,total\r\n2,2019-01-01,\"Bakker \"\"Bas\"\"\",20.00\r\n4,2019-12-31,De Vries,40.00\r\n",
            vec![(2018, 1), (2020, 2)],
        ),
        (
            2020,
            2,
            "order_id,order_date,customer,total\r\n3,2020-03-01,\"two\r\nlines\",30.00\r\n5,2020-01-01,Visser,50.00\r\n",
            vec![(2018, 1), (2019, 2)],
        ),
    ];
    for (year, rows, content, others) in &expected {
        let run = archive(
            &env,
            *year,
            &["stick"],
            &[
                &["--json", "--table", "export/orders.csv:order_date"][..],
                &MINIMISE,
            ]
            .concat(),
        );
        run.ok();
        let t = tables_of(&run);
        assert_eq!(
            t,
            [TableOut {
                table: "orders".into(),
                source: "export/orders.csv".into(),
                member: "tables/orders.csv".into(),
                rows_archived: *rows,
                rows_other_years: years(others),
                columns_kept: ["order_id", "order_date", "customer", "total"]
                    .map(String::from)
                    .into(),
                columns_dropped: ["password_hash", "birth_date"].map(String::from).into(),
                sensitive_kept: vec![],
                bytes: content.len() as u64,
            }]
        );
        let file = format!("stick/{year}-financial.kluis");
        assert_eq!(member(&env, &key, &file, "tables/orders.csv"), *content);
    }
    assert_eq!(
        fs::read_to_string(&orders).unwrap(),
        ORDERS,
        "the source is untouched"
    );
    verify(&env, &key, "stick").ok();

    // The text report says the same.
    let run = archive(
        &env,
        2019,
        &["stick-b"],
        &[
            &["--supplement", "--table", "export/orders.csv:order_date"][..],
            &MINIMISE,
        ]
        .concat(),
    );
    run.ok()
        .stdout_has("table orders (export/orders.csv): 2 rows of fiscal year 2019 → tables/orders.csv; left out, other years: 2018: 1, 2020: 2")
        .stdout_has("dropped: password_hash, birth_date");
}

#[test]
fn fiscal_years_starting_in_july_split_three_ways() {
    let (env, key) = ready(Some("07-01"));
    write(
        &env,
        "orders.csv",
        "id;datum;bedrag\n\
         a;30-06-2019;1\n\
         b;01-07-2019;2\n\
         c;30-06-2020;3\n\
         d;01-07-2020;4\n\
         e;30-06-2021;5\n\
         f;01-07-2021;6\n",
    );
    for (year, rows, others) in [
        (
            2018,
            "a;30-06-2019;1\n",
            vec![(2019, 2), (2020, 2), (2021, 1)],
        ),
        (
            2019,
            "b;01-07-2019;2\nc;30-06-2020;3\n",
            vec![(2018, 1), (2020, 2), (2021, 1)],
        ),
        (
            2020,
            "d;01-07-2020;4\ne;30-06-2021;5\n",
            vec![(2018, 1), (2019, 2), (2021, 1)],
        ),
    ] {
        let run = archive(
            &env,
            year,
            &["stick"],
            &["--json", "--table", "orders.csv:datum"],
        );
        run.ok();
        assert_eq!(tables_of(&run)[0].rows_other_years, years(&others));
        let file = format!("stick/{year}-financial.kluis");
        assert_eq!(
            member(&env, &key, &file, "tables/orders.csv"),
            format!("id;datum;bedrag\n{rows}")
        );
        let m = metadata(&env, &key, &file);
        assert_eq!(m.fiscal_year_start.to_string(), format!("{year}-07-01"));
        assert_eq!(m.fiscal_year_end.to_string(), format!("{}-06-30", year + 1));
        assert_eq!(m.minimisation, [minimised("orders", &[], &[])]);
    }
}

#[test]
fn every_date_format_is_read() {
    let (env, key) = ready(None);
    // Two rows of 2019 and one of 2020 in each.
    for (name, dates) in [
        ("iso", ["2019-01-01", "2019-12-31", "2020-01-01"]),
        (
            "iso_time",
            [
                // The date as written, in its own offset (UTC: 2020-01-01).
                "2019-12-31T23:30:00-05:00",
                "2019-06-01T12:00:00.123Z",
                "2020-01-01 00:30:00+01:00",
            ],
        ),
        ("dmy_dash", ["1-2-2019", "31-12-2019 23:59", "01-01-2020"]),
        // Day first: 3 April, never 4 March.
        ("dmy_slash", ["03/04/2019", "31/12/2019", "01/01/2020"]),
    ] {
        let rows: String = dates.iter().map(|d| format!("x,{d}\n")).collect();
        write(&env, &format!("{name}.csv"), format!("id,date\n{rows}"));
    }
    let specs: Vec<String> = ["iso", "iso_time", "dmy_dash", "dmy_slash"]
        .iter()
        .map(|name| format!("{name}.csv:date"))
        .collect();
    let mut args = vec!["--json"];
    for spec in &specs {
        args.extend(["--table", spec.as_str()]);
    }
    let run = archive(&env, 2019, &["stick"], &args);
    run.ok();
    for t in tables_of(&run) {
        assert_eq!(
            (t.rows_archived, t.rows_other_years.clone()),
            (2, years(&[(2020, 1)])),
            "{}",
            t.table
        );
    }
    assert_eq!(
        member(
            &env,
            &key,
            "stick/2019-financial.kluis",
            "tables/dmy_slash.csv"
        ),
        "id,date\nx,03/04/2019\nx,31/12/2019\n"
    );

    // A format of one's own: month first, given explicitly.
    write(&env, "us.csv", "id,date\nx,12/31/2019\nx,01/01/2020\n");
    let run = archive(
        &env,
        2019,
        &["stick-us"],
        &[
            "--supplement",
            "--json",
            "--table",
            "us.csv:date",
            "--date-format",
            "%m/%d/%Y",
        ],
    );
    run.ok();
    assert_eq!(tables_of(&run)[0].rows_archived, 1);

    // Unix seconds, in JSON Lines, as numbers.
    write(
        &env,
        "events.jsonl",
        "{\"t\":1577836799,\"what\":\"last second of 2019 (UTC)\"}\n{\"t\":1577836800,\"what\":\"2020\"}\n",
    );
    let run = archive(
        &env,
        2019,
        &["stick-unix"],
        &[
            "--supplement",
            "--json",
            "--table",
            "events.jsonl:t",
            "--date-format",
            "unix",
        ],
    );
    run.ok();
    assert_eq!(tables_of(&run)[0].rows_archived, 1);
    assert_eq!(
        member(
            &env,
            &key,
            "stick-unix/2019-financial-3.kluis",
            "tables/events.jsonl"
        ),
        "{\"t\":1577836799,\"what\":\"last second of 2019 (UTC)\"}\n"
    );
}

#[test]
fn json_lines_keep_their_lines_and_lose_dropped_keys() {
    let (env, key) = ready(None);
    let src = "{\"id\": 1, \"at\": \"2019-05-01\", \"email\": \"a@b.nl\", \"dob\": \"1970-01-01\", \"items\": [1, 2.50]}\n\
               {\"id\":2,\"at\":\"2018-05-01\",\"dob\":null}\n\
               {\"id\":3,\"at\":\"2019-06-01T10:00:00+02:00\",\"note\":\"caf\\u00e9 \\\"x\\\"\"}\n";
    write(&env, "export/customers.jsonl", src);
    let run = archive(
        &env,
        2019,
        &["stick"],
        &[
            "--json",
            "--table",
            "export/customers.jsonl:at",
            "--drop",
            "dob",
        ],
    );
    run.ok();
    let t = &tables_of(&run)[0];
    assert_eq!(t.member, "tables/customers.jsonl");
    assert_eq!(t.columns_kept, ["id", "at", "email", "items", "note"]);
    assert_eq!(t.columns_dropped, ["dob"]);
    assert_eq!(
        member(
            &env,
            &key,
            "stick/2019-financial.kluis",
            "tables/customers.jsonl"
        ),
        // Line 1 lost a key: compact, values as written; line 3 lost none: as it was.
        "{\"id\":1,\"at\":\"2019-05-01\",\"email\":\"a@b.nl\",\"items\":[1, 2.50]}\n\
         {\"id\":3,\"at\":\"2019-06-01T10:00:00+02:00\",\"note\":\"caf\\u00e9 \\\"x\\\"\"}\n"
    );
}

// --- minimisation -----------------------------------------------------------

#[test]
fn minimisation_decisions_are_recorded_in_the_archive_metadata() {
    let (env, key) = ready(None);
    write(&env, "export/orders.csv", ORDERS);
    write(
        &env,
        "export/customers.jsonl",
        "{\"id\":1,\"since\":\"2019-03-01\",\"bsn\":\"123456782\",\"iban\":\"NL91ABNA0417164300\"}\n",
    );
    archive(
        &env,
        2019,
        &["stick"],
        &[
            "--table",
            "export/orders.csv:order_date",
            "--table",
            "export/customers.jsonl:since",
            "--drop",
            "password_hash",
            "--keep",
            "orders:birth_date",
            "--drop",
            "export/customers.jsonl:bsn",
        ],
    )
    .ok()
    .stdout_has("sensitive-looking, kept on purpose: birth_date");
    let m = metadata(&env, &key, "stick/2019-financial.kluis");
    assert_eq!(
        m.minimisation,
        [
            minimised("orders", &["password_hash"], &["birth_date"]),
            minimised("customers", &["bsn"], &[])
        ]
    );
    let orders = member(
        &env,
        &key,
        "stick/2019-financial.kluis",
        "tables/orders.csv",
    );
    assert!(
        orders.starts_with("order_id,order_date,customer,birth_date,total\r\n"),
        "{orders}"
    );
    assert!(
        !orders.contains("$2b$"),
        "no password hash reached the archive"
    );
    let customers = member(
        &env,
        &key,
        "stick/2019-financial.kluis",
        "tables/customers.jsonl",
    );
    assert_eq!(
        customers, "{\"id\":1,\"since\":\"2019-03-01\",\"iban\":\"NL91ABNA0417164300\"}\n",
        "IBAN is kept without asking: bookkeeping needs it"
    );

    // Next year is one command: the decisions live in the vault config.
    env.edit_config(|config| {
        config + "\n[tables.orders]\ndate_column = \"order_date\"\ndrop = [\"password_hash\", \"birth_date\"]\n"
    });
    archive(&env, 2020, &["stick"], &["--table", "export/orders.csv"]).ok();
    let m = metadata(&env, &key, "stick/2020-financial.kluis");
    assert_eq!(
        m.minimisation,
        [minimised("orders", &["password_hash", "birth_date"], &[])]
    );
    // The command line wins over the config.
    let run = archive(
        &env,
        2018,
        &["stick"],
        &[
            "--json",
            "--table",
            "export/orders.csv",
            "--keep",
            "birth_date",
        ],
    );
    run.ok();
    assert_eq!(tables_of(&run)[0].sensitive_kept, ["birth_date"]);
}

#[test]
fn undecided_sensitive_columns_are_refused_by_name() {
    let (env, _key) = ready(None);
    let orders = write(&env, "export/orders.csv", ORDERS);
    archive(
        &env,
        2019,
        &["stick"],
        &["--table", "export/orders.csv:order_date", "--purge-source"],
    )
    .error(
        2,
        &[
            "export/orders.csv",
            "password_hash, birth_date",
            "--drop",
            "--keep",
        ],
    );
    assert_no_new_archive(&env.p("stick"), &[]);
    archive(
        &env,
        2019,
        &["stick"],
        &[
            "--table",
            "export/orders.csv:order_date",
            "--drop",
            "password_hash",
        ],
    )
    .error(2, &["birth_date"]);
    write(
        &env,
        "c.jsonl",
        "{\"d\":\"2019-01-01\",\"Geboorte datum\":\"1-1-1970\"}\n",
    );
    archive(&env, 2019, &["stick"], &["--table", "c.jsonl:d"]).error(2, &["Geboorte datum"]);
    assert_no_new_archive(&env.p("stick"), &[]);
    assert_eq!(fs::read_to_string(orders).unwrap(), ORDERS);
}

#[test]
fn bad_input_archives_nothing_and_deletes_nothing() {
    let (env, _key) = ready(None);
    fs::create_dir_all(env.p("records")).unwrap();
    write(&env, "records/invoice.pdf", "%PDF-1.4 invoice");
    let before = snapshot(&env.p("records"));
    const CSV: &[&str] = &["--table", "t.csv:order_date"];
    let cases: &[(&str, &str, &[&str], &[&str])] = &[
        (
            "t.csv",
            "id,datum\n1,2019-01-01\n",
            CSV,
            &["t.csv", "no date column \"order_date\"", "datum"],
        ),
        (
            "t.csv",
            "id,order_date\n1,2019-01-01\n2,12/31/2019\n",
            CSV,
            &[
                "t.csv",
                "line 3",
                "\"12/31/2019\"",
                "order_date",
                "--date-format",
            ],
        ),
        (
            "t.csv",
            "id,order_date\n1,2019-01-01\n2,\n",
            CSV,
            &["line 3", "\"\""],
        ),
        (
            "t.csv",
            "id,order_date\n1,2019-01-01\n2,2019-01-02,extra\n",
            CSV,
            &["t.csv", "line 3", "3 fields"],
        ),
        (
            "t.csv",
            "id,order_date\n1,\"2019-01-01\n",
            CSV,
            &["t.csv", "line 2", "never closed"],
        ),
        (
            "t.csv",
            "id,order_date\n1,\"2019-01-01\"x\n",
            CSV,
            &["t.csv", "line 2", "closing quote"],
        ),
        ("t.csv", "id;order_date,x\n", CSV, &["t.csv", "--delimiter"]),
        ("t.csv", "", CSV, &["t.csv", "empty"]),
        (
            "t.jsonl",
            "{\"d\":\"2019-01-01\"}\n[1]\n",
            &["--table", "t.jsonl:d"],
            &["t.jsonl", "line 2", "JSON object"],
        ),
        (
            "t.jsonl",
            "{\"d\":null}\n",
            &["--table", "t.jsonl:d"],
            &["t.jsonl", "line 1", "null"],
        ),
        (
            "t.csv",
            "id,order_date\n1,2019-01-01\n",
            &["--table", "t.csv:order_date", "--drop", "t:pasword"],
            &["t.csv", "pasword"],
        ),
        (
            "t.csv",
            "id,order_date\n1,2019-01-01\n",
            &["--table", "t.csv:order_date", "--drop", "pasword"],
            &["--drop pasword"],
        ),
        (
            "t.csv",
            "id,order_date\n1,2019-01-01\n",
            &["--table", "t.csv:order_date", "--date-format", "%d"],
            &["date format"],
        ),
        (
            "t.csv",
            "id,order_date\n",
            &["--table", "missing.csv:order_date"],
            &["missing.csv"],
        ),
        (
            "records/t.csv",
            "id,order_date\n",
            &["--table", "records/t.csv:order_date"],
            &["inside the source folder"],
        ),
    ];
    for (file, content, args, needles) in cases {
        let src = write(&env, file, content);
        let mut all = args.to_vec();
        all.extend(["--purge-source", "records"]);
        archive(&env, 2019, &["stick"], &all).error(2, needles);
        assert_no_new_archive(&env.p("stick"), &[]);
        assert_eq!(
            fs::read_to_string(&src).unwrap(),
            *content,
            "{file} untouched"
        );
        fs::remove_file(&src).unwrap();
        assert!(
            snapshot(&env.p("records")) == before,
            "the folder source is untouched"
        );
    }
}

#[test]
fn a_table_that_changes_between_check_and_write_is_not_archived() {
    let (env, _key) = ready(None);
    let orders = write(&env, "orders.csv", "id,d\n1,2019-01-01\n2,2019-01-02\n");
    let (mut child, marker) = spawn_paused(
        &env,
        "tables-checked",
        3,
        archive_args(&env, 2019, &["stick"], &["--table", "orders.csv:d"]),
    );
    wait_for(&marker, &mut child);
    fs::write(&orders, "id,d\n1,2019-01-01\n2,2019-01-03\n").unwrap();
    let (code, stderr) = finish(child, &env);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(
        stderr.contains("orders.csv") && stderr.contains("changed"),
        "{stderr}"
    );
    assert_no_new_archive(&env.p("stick"), &[]);
}

// --- SQLite ----------------------------------------------------------------

fn shop_db(path: &Path) {
    let conn = rusqlite::Connection::open(path).unwrap();
    conn.execute_batch(
        "CREATE TABLE orders (id INTEGER PRIMARY KEY, created_at TEXT, customer TEXT, total REAL, pin TEXT, scan BLOB, note TEXT);
         INSERT INTO orders VALUES (1, '2018-12-31', 'Jansen, Piet', 10.5, '1234', NULL, NULL);
         INSERT INTO orders VALUES (2, '2019-01-01T09:00:00+01:00', 'Bakker \"Bas\"', 20.0, '2345', x'00ff', 'two\nlines');
         INSERT INTO orders VALUES (3, '2020-01-01', 'Visser', 30, '3456', NULL, '');
         INSERT INTO orders VALUES (4, '31-12-2019', 'De Vries', 19.95, '4567', NULL, NULL);",
    )
    .unwrap();
}

fn db_rows(path: &Path) -> Vec<(i64, String)> {
    let conn = rusqlite::Connection::open(path).unwrap();
    let mut stmt = conn
        .prepare("SELECT id, created_at FROM orders ORDER BY id")
        .unwrap();
    stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

#[test]
fn sqlite_tables_are_exported_as_csv() {
    let (env, key) = ready(None);
    let db = env.p("shop.db");
    shop_db(&db);
    let run = archive(
        &env,
        2019,
        &["stick"],
        &[
            "--json",
            "--sqlite",
            "shop.db",
            "--table",
            "orders:created_at",
            "--drop",
            "pin",
        ],
    );
    run.ok();
    let t = &tables_of(&run)[0];
    assert_eq!(
        (t.source.as_str(), t.member.as_str(), t.rows_archived),
        ("shop.db (table orders)", "tables/orders.csv", 2)
    );
    assert_eq!(t.rows_other_years, years(&[(2018, 1), (2020, 1)]));
    assert_eq!(
        member(
            &env,
            &key,
            "stick/2019-financial.kluis",
            "tables/orders.csv"
        ),
        "id,created_at,customer,total,scan,note\r\n\
         2,2019-01-01T09:00:00+01:00,\"Bakker \"\"Bas\"\"\",20.0,00ff,\"two\nlines\"\r\n\
         4,31-12-2019,De Vries,19.95,,\r\n"
    );
    assert_eq!(
        metadata(&env, &key, "stick/2019-financial.kluis").minimisation,
        [minimised("orders", &["pin"], &[])]
    );
    assert_eq!(db_rows(&db).len(), 4, "read-only: nothing changed");
}

#[test]
fn sqlite_locked_or_not_a_database_is_refused() {
    let (env, _key) = ready(None);
    let db = env.p("shop.db");
    shop_db(&db);
    let holder = rusqlite::Connection::open(&db).unwrap();
    holder.execute_batch("BEGIN EXCLUSIVE").unwrap();
    archive(
        &env,
        2019,
        &["stick"],
        &[
            "--sqlite",
            "shop.db",
            "--table",
            "orders:created_at",
            "--drop",
            "pin",
            "--purge-source",
        ],
    )
    .error(2, &["shop.db", "locked"]);
    holder.execute_batch("ROLLBACK").unwrap();
    drop(holder);
    assert_no_new_archive(&env.p("stick"), &[]);
    assert_eq!(db_rows(&db).len(), 4);

    write(
        &env,
        "notes.db",
        "these are not the rows you are looking for\n".repeat(40),
    );
    archive(
        &env,
        2019,
        &["stick"],
        &["--sqlite", "notes.db", "--table", "orders:created_at"],
    )
    .error(2, &["notes.db", "not an SQLite database"]);
    archive(
        &env,
        2019,
        &["stick"],
        &["--sqlite", "shop.db", "--table", "order:created_at"],
    )
    .error(2, &["shop.db", "no table \"order\"", "orders"]);
    shop_db(&env.p("bad.db"));
    rusqlite::Connection::open(env.p("bad.db"))
        .unwrap()
        .execute("UPDATE orders SET created_at = 'soon' WHERE id = 3", [])
        .unwrap();
    archive(
        &env,
        2019,
        &["stick"],
        &[
            "--sqlite",
            "bad.db",
            "--table",
            "orders:created_at",
            "--drop",
            "pin",
        ],
    )
    .error(2, &["bad.db", "rowid 3", "\"soon\""]);
    assert_no_new_archive(&env.p("stick"), &[]);
}

// --- purge -------------------------------------------------------------------

/// Records of every source kind: a folder, a CSV, a JSON Lines file and an
/// SQLite table, each with rows of 2018–2020.
fn all_sources(env: &Env) {
    write(env, "records-2019/invoices/INV-1.pdf", "%PDF-1.4 one");
    write(env, "records-2019/invoices/INV-2.pdf", "%PDF-1.4 two");
    write(env, "records-2019/notes.txt", "notes");
    std::os::unix::fs::symlink("notes.txt", env.p("records-2019/latest")).unwrap();
    write(env, "export/webshop.csv", ORDERS);
    write(
        env,
        "export/payments.jsonl",
        "{\"paid\":\"2019-02-02\",\"eur\":1}\n{\"paid\":\"2020-02-02\",\"eur\":2}\n{\"paid\":\"2018-02-02\",\"eur\":3}\n",
    );
    shop_db(&env.p("export/shop.db"));
}

const ALL_TABLES: [&str; 13] = [
    "--table",
    "export/webshop.csv:order_date",
    "--table",
    "export/payments.jsonl:paid",
    "--sqlite",
    "export/shop.db",
    "--table",
    "orders:created_at",
    "--drop",
    "password_hash",
    "--drop",
    "birth_date",
    "--drop",
];

fn all_args(extra: &[&'static str]) -> Vec<&'static str> {
    let mut v = ALL_TABLES.to_vec();
    v.extend(["pin", "--purge-source"]);
    v.extend(extra);
    v.push("records-2019");
    v
}

/// ORDERS without the 2019 rows, byte for byte.
const ORDERS_AFTER: &str = "order_id,order_date,customer,password_hash,birth_date,total\r\n\
1,2018-12-31,\"Jansen, Piet\",$2b$12$x,1970-01-01,10.00\r\n\
3,2020-03-01,\"two\r\nlines\",$2b$12$z,1990-03-03,30.00\r\n\
5,2020-01-01,Visser,$2b$12$v,2001-05-05,50.00\r\n";

/// The payments without the 2019 row.
const PAYMENTS_AFTER: &str =
    "{\"paid\":\"2020-02-02\",\"eur\":2}\n{\"paid\":\"2018-02-02\",\"eur\":3}\n";

/// The SQLite orders without the 2019 rows.
fn shop_rows_after() -> Vec<(i64, String)> {
    vec![(1, "2018-12-31".to_string()), (3, "2020-01-01".to_string())]
}

#[test]
fn purge_removes_exactly_what_the_verified_archive_holds() {
    let (env, key) = ready(None);
    all_sources(&env);
    let run = archive(&env, 2019, &["stick-a", "stick-b"], &all_args(&["--json"]));
    run.ok();
    let p = purge_of(&run).expect("a purge report");
    assert_eq!(
        (p.files, p.bytes, p.symlinks, p.dirs),
        (3, 29, 1, 1),
        "{p:?}"
    );
    assert!(p.kept.is_empty(), "{:?}", p.kept);
    assert_eq!(
        p.tables,
        [
            TablePurgeOut {
                table: "webshop".into(),
                source: "export/webshop.csv".into(),
                rows_removed: 2,
                rows_left: 3
            },
            TablePurgeOut {
                table: "payments".into(),
                source: "export/payments.jsonl".into(),
                rows_removed: 1,
                rows_left: 2
            },
            TablePurgeOut {
                table: "orders".into(),
                source: "export/shop.db (table orders)".into(),
                rows_removed: 2,
                rows_left: 2
            },
        ]
    );
    assert_eq!(
        names(&env.p("records-2019")),
        Vec::<String>::new(),
        "the folder is emptied, not removed"
    );
    assert_eq!(
        fs::read_to_string(env.p("export/webshop.csv")).unwrap(),
        ORDERS_AFTER
    );
    assert_eq!(
        fs::read_to_string(env.p("export/payments.jsonl")).unwrap(),
        PAYMENTS_AFTER
    );
    assert_eq!(db_rows(&env.p("export/shop.db")), shop_rows_after());
    assert!(
        env.kluis()
            .arg("purge")
            .run()
            .ok()
            .stdout_text()
            .contains("no purge is unfinished"),
        "a finished purge leaves no journal"
    );
    assert!(!names(&env.p("export")).iter().any(|n| n.contains(".tmp-")));
    for m in ["stick-a", "stick-b"] {
        verify(&env, &key, m).ok();
    }
    assert!(
        member(
            &env,
            &key,
            "stick-a/2019-financial.kluis",
            "tables/webshop.csv"
        )
        .contains("De Vries")
    );
}

#[test]
fn purge_keeps_what_changed_after_it_was_archived() {
    let (env, _key) = ready(None);
    all_sources(&env);
    let (mut child, marker) = spawn_paused(
        &env,
        "archive-recorded",
        3,
        archive_args(&env, 2019, &["stick"], &all_args(&["--json"])),
    );
    wait_for(&marker, &mut child);
    // While the archive is done but nothing is purged yet: one file and one
    // archived row change.
    fs::write(env.p("records-2019/notes.txt"), "notes, edited").unwrap();
    let changed = ORDERS.replace("De Vries", "De Vries-Smit");
    fs::write(env.p("export/webshop.csv"), &changed).unwrap();
    rusqlite::Connection::open(env.p("export/shop.db"))
        .unwrap()
        .execute("UPDATE orders SET total = 21 WHERE id = 2", [])
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(1),
        "exit 1: something needs attention; {stderr}"
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let p: PurgeOut = serde_json::from_value(report["purge"].clone()).unwrap();
    let kept: Vec<String> = p
        .kept
        .iter()
        .map(|k| format!("{}: {}", k.path, k.reason))
        .collect();
    assert_eq!(kept.len(), 3, "{kept:?}");
    assert!(
        kept[0].contains("notes.txt") && kept[0].contains("since it was archived"),
        "{kept:?}"
    );
    assert!(
        kept[1].contains("webshop.csv") && kept[1].contains("changed since they were archived"),
        "{kept:?}"
    );
    assert!(
        kept[2].contains("shop.db") && kept[2].contains("changed since they were archived"),
        "{kept:?}"
    );
    assert_eq!(names(&env.p("records-2019")), ["notes.txt"]);
    assert_eq!(
        fs::read_to_string(env.p("export/webshop.csv")).unwrap(),
        changed
    );
    assert_eq!(db_rows(&env.p("export/shop.db")).len(), 4);
    assert_eq!(
        p.tables.len(),
        1,
        "the JSON Lines table was purged: {:?}",
        p.tables
    );
    // What changed is kept for good: nothing is left for `kluis purge`.
    env.kluis()
        .arg("purge")
        .run()
        .ok()
        .stdout_has("no purge is unfinished");
}

#[test]
fn purge_never_runs_when_the_archive_fails() {
    let (env, _key) = ready(None);
    all_sources(&env);
    let before = snapshot(&env.p("export"));
    let mut args = vec!["archive", "--year", "2019", "--to", "not-mounted"];
    args.extend(all_args(&[]));
    env.kluis().args(&args).run().error(2, &["not-mounted"]);
    assert!(snapshot(&env.p("export")) == before, "no table was touched");
    assert_eq!(names(&env.p("records-2019")).len(), 3);
    // A medium unplugged after the copy was verified, before it is
    // installed: the archive fails after the tables were written, and
    // still nothing is deleted.
    let (mut child, marker) = spawn_paused(
        &env,
        "copies-verified",
        3,
        archive_args(&env, 2019, &["stick"], &all_args(&[])),
    );
    wait_for(&marker, &mut child);
    fs::remove_dir_all(env.p("stick")).unwrap();
    let (code, stderr) = finish(child, &env);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(snapshot(&env.p("export")) == before, "no table was touched");
    assert_eq!(names(&env.p("records-2019")).len(), 3);
}

// --- crashes ---------------------------------------------------------------

/// Starts `kluis ARGS` so that it pauses at `point` for `secs` seconds.
fn spawn_paused(
    env: &Env,
    point: &str,
    secs: u64,
    args: Vec<std::ffi::OsString>,
) -> (Child, PathBuf) {
    let marker = env.p(format!("paused-{point}"));
    let _ = fs::remove_file(&marker);
    let child = Command::new(BIN)
        .args(args)
        .current_dir(env.root())
        .env("KLUIS_VAULT", env.vault())
        .env("HOME", env.p("home"))
        .env("XDG_CONFIG_HOME", env.p("home/.config"))
        .env("KLUIS_TEST_PAUSE_AT", point)
        .env("KLUIS_TEST_PAUSE_MARKER", &marker)
        .env("KLUIS_TEST_PAUSE_SECS", secs.to_string())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(fs::File::create(env.p(format!("stderr-{point}"))).unwrap())
        .spawn()
        .unwrap();
    (child, marker)
}

#[track_caller]
fn wait_for(marker: &Path, child: &mut Child) {
    let deadline = Instant::now() + Duration::from_secs(120);
    while !marker.exists() {
        if let Some(status) = child.try_wait().unwrap() {
            panic!(
                "kluis ended ({status}) before reaching {}",
                marker.display()
            );
        }
        assert!(
            Instant::now() < deadline,
            "kluis never reached {}",
            marker.display()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn finish(child: Child, env: &Env) -> (Option<i32>, String) {
    let out = child.wait_with_output().unwrap();
    let mut stderr = String::new();
    for e in fs::read_dir(env.root()).unwrap() {
        let p = e.unwrap().path();
        if p.file_name()
            .unwrap()
            .to_string_lossy()
            .starts_with("stderr-")
        {
            stderr.push_str(&fs::read_to_string(p).unwrap());
        }
    }
    (out.status.code(), stderr)
}

#[test]
fn a_crash_at_any_point_leaves_the_source_complete_or_the_archive_verified() {
    for point in [
        "tables-checked",
        "copies-verified",
        "archive-recorded",
        "purge-files",
        "purge-table-rewritten",
        "purge-sqlite-deleted",
    ] {
        let (env, key) = ready(None);
        all_sources(&env);
        let folder = snapshot(&env.p("records-2019"));
        let payments = fs::read(env.p("export/payments.jsonl")).unwrap();
        let rows = db_rows(&env.p("export/shop.db"));
        let (mut child, marker) = spawn_paused(
            &env,
            point,
            60,
            archive_args(&env, 2019, &["stick"], &all_args(&[])),
        );
        wait_for(&marker, &mut child);
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();

        let folder_whole = snapshot(&env.p("records-2019")) == folder;
        let csv_whole = fs::read_to_string(env.p("export/webshop.csv")).unwrap() == ORDERS;
        let jsonl_whole = fs::read(env.p("export/payments.jsonl")).unwrap() == payments;
        // Opening the database rolls back an interrupted transaction.
        let db_whole = db_rows(&env.p("export/shop.db")) == rows;
        let source_complete = folder_whole && csv_whole && jsonl_whole && db_whole;
        let installed = env.p("stick/2019-financial.kluis").exists();
        let archive_verified = installed && verify(&env, &key, "stick").code == Some(0) && {
            let catalog = fs::read_to_string(env.vault().join("catalog.json")).unwrap();
            catalog.contains("\"2019-financial.kluis\"")
        };
        assert!(
            source_complete || archive_verified,
            "{point}: neither the source is complete nor the archive verified"
        );
        let state = (
            folder_whole,
            csv_whole,
            jsonl_whole,
            db_whole,
            archive_verified,
        );
        let expected = match point {
            "tables-checked" | "copies-verified" => (true, true, true, true, false),
            "archive-recorded" => (true, true, true, true, true),
            // The first file is gone; the tables come after the files.
            "purge-files" => (false, true, true, true, true),
            // The rewrite is complete but not yet in place.
            "purge-table-rewritten" => (false, true, true, true, true),
            // CSV and JSON Lines done; the database rolled back.
            "purge-sqlite-deleted" => (false, false, false, true, true),
            _ => unreachable!(),
        };
        assert_eq!(
            state, expected,
            "{point}: (folder, csv, jsonl, db, archive)"
        );
        if !installed {
            assert!(
                visible_names(&env.p("stick"))
                    .iter()
                    .all(|n| !n.ends_with(".kluis")),
                "{point}: no archive that looks valid"
            );
        }
        if point == "purge-sqlite-deleted" {
            assert_eq!(
                fs::read_to_string(env.p("export/webshop.csv")).unwrap(),
                ORDERS_AFTER
            );
        }

        // The next run finishes the job: `kluis purge` from the journal the
        // archive run left in the vault (from another working directory:
        // the journal names its sources absolutely), once the archive is
        // recorded; before that there is nothing to purge.
        let elsewhere = env.p("elsewhere");
        fs::create_dir_all(&elsewhere).unwrap();
        let purge = || {
            env.kluis()
                .cwd(&elsewhere)
                .args(["purge", "2019-financial.kluis"])
                .run()
        };
        if !archive_verified {
            purge().error(2, &["no purge of 2019-financial.kluis is unfinished"]);
            continue;
        }
        env.kluis()
            .arg("due")
            .run()
            .code(1)
            .stdout_has("kluis purge 2019-financial.kluis");
        purge().ok();
        assert_eq!(
            names(&env.p("records-2019")),
            Vec::<String>::new(),
            "{point}"
        );
        assert_eq!(
            fs::read_to_string(env.p("export/webshop.csv")).unwrap(),
            ORDERS_AFTER,
            "{point}"
        );
        assert_eq!(
            fs::read_to_string(env.p("export/payments.jsonl")).unwrap(),
            PAYMENTS_AFTER,
            "{point}"
        );
        assert_eq!(
            db_rows(&env.p("export/shop.db")),
            shop_rows_after(),
            "{point}"
        );
        assert!(!names(&env.p("export")).iter().any(|n| n.contains(".tmp-")));
        // Done: a second run has nothing left to do, and `due` is quiet.
        purge().error(2, &["no purge of 2019-financial.kluis is unfinished"]);
        env.kluis()
            .args(["purge"])
            .run()
            .ok()
            .stdout_has("no purge is unfinished");
    }
}

/// `kluis purge` removes nothing while a copy of the archive has failed its
/// last check, and goes on once a check found the copy well again.
#[test]
fn purge_waits_for_a_copy_that_failed_its_last_check() {
    let (env, key) = ready(None);
    all_sources(&env);
    let (mut child, marker) = spawn_paused(
        &env,
        "archive-recorded",
        60,
        archive_args(&env, 2019, &["stick"], &all_args(&[])),
    );
    wait_for(&marker, &mut child);
    child.kill().unwrap(); // SIGKILL: recorded, nothing purged
    child.wait().unwrap();
    let folder = snapshot(&env.p("records-2019"));

    let copy = env.p("stick/2019-financial.kluis");
    let good = fs::read(&copy).unwrap();
    let mut bad = good.clone();
    let at = bad.len() / 2;
    bad[at] ^= 0x20;
    fs::write(&copy, &bad).unwrap();
    env.kluis().arg("verify").arg(env.p("stick")).run().code(1);
    env.kluis()
        .args(["purge", "2019-financial.kluis"])
        .run()
        .error(
            2,
            &["stick", "failed its last check", "nothing was removed"],
        );
    assert_eq!(snapshot(&env.p("records-2019")), folder);
    assert_eq!(
        fs::read_to_string(env.p("export/webshop.csv")).unwrap(),
        ORDERS
    );

    fs::write(&copy, &good).unwrap();
    verify(&env, &key, "stick").ok();
    env.kluis()
        .args(["purge", "2019-financial.kluis"])
        .run()
        .ok();
    assert_eq!(names(&env.p("records-2019")), Vec::<String>::new());
    assert_eq!(
        fs::read_to_string(env.p("export/webshop.csv")).unwrap(),
        ORDERS_AFTER
    );
}

// --- the demo ----------------------------------------------------------------

#[test]
fn the_demo_archives_a_minimised_orders_table() {
    let env = Env::new();
    let run = env.kluis().arg("demo").run();
    run.ok()
        .stdout_has("--table export/orders.csv:order_date --drop password_hash --drop birth_date")
        .stdout_has("→ tables/orders.csv")
        .stdout_has("dropped: password_hash, birth_date");
}

// --- defects a differential test against Python's csv and json found ------
// (issue 17, part 5; each failed before its fix)

/// D1: a `"` inside an unquoted header field is an ordinary character, so
/// delimiter detection counts what follows it and stops at the header's end.
#[test]
fn d1_a_quote_inside_an_unquoted_header_field_is_an_ordinary_character() {
    let (env, _key) = ready(None);
    write(&env, "a.csv", "size 5\";d\n1;2019-01-01\n");
    let run = archive(&env, 2019, &["stick-a"], &["--table", "a.csv:d", "--json"]);
    run.ok();
    assert_eq!(tables_of(&run)[0].rows_archived, 1);
    assert_eq!(tables_of(&run)[0].columns_kept, ["size 5\"", "d"]);

    // Two semicolons against one comma: semicolons, so there is no column d.
    let (env, _key) = ready(None);
    write(&env, "b.csv", "d,a\"b;c;e\n2019-01-01,x;y;z\n");
    archive(&env, 2019, &["stick-b"], &["--table", "b.csv:d"])
        .error(2, &["b.csv", "no date column \"d\""]);

    // The purge reads its rewritten copy (which starts the same way) alike.
    let (env, _key) = ready(None);
    let c = write(&env, "c.csv", "q\"t;d\nx\";2019-01-01\n1;2018-01-01\n");
    let run = archive(
        &env,
        2019,
        &["stick-c"],
        &["--table", "c.csv:d", "--purge-source", "--json"],
    );
    run.ok();
    let p = purge_of(&run).expect("a purge report");
    assert!(p.kept.is_empty(), "{:?}", p.kept);
    assert_eq!(fs::read_to_string(&c).unwrap(), "q\"t;d\n1;2018-01-01\n");
}

/// D2: a row appended while the purge replaces the source is either in the
/// source afterwards or the purge keeps the file.
#[test]
fn d2_a_row_appended_during_the_purge_is_never_lost() {
    use std::io::Write;
    let cases = [
        (
            "t.csv",
            "id,d\n1,2019-05-01\n2,2018-05-01\n",
            "3,2018-06-01\n",
            "t.csv:d",
        ),
        (
            "t.jsonl",
            "{\"id\":1,\"d\":\"2019-05-01\"}\n{\"id\":2,\"d\":\"2018-05-01\"}\n",
            "{\"id\":3,\"d\":\"2018-06-01\"}\n",
            "t.jsonl:d",
        ),
    ];
    for (file, content, appended, table) in cases {
        let (env, _key) = ready(None);
        let src = write(&env, file, content);
        let (mut child, marker) = spawn_paused(
            &env,
            "purge-table-rewritten",
            2,
            archive_args(
                &env,
                2019,
                &["stick"],
                &["--table", table, "--purge-source"],
            ),
        );
        wait_for(&marker, &mut child);
        fs::OpenOptions::new()
            .append(true)
            .open(&src)
            .unwrap()
            .write_all(appended.as_bytes())
            .unwrap();
        let (code, stderr) = finish(child, &env);
        let after = fs::read_to_string(&src).unwrap();
        assert!(
            after.ends_with(appended),
            "{file}: the appended row is gone: {after:?} (exit {code:?}: {stderr})"
        );
        let rest = content.lines().last().unwrap();
        assert!(after.contains(rest), "{after:?}");
        assert!(!names(env.root()).iter().any(|n| n.contains(".tmp-")));
    }
}

/// D3: the 16 MiB row limit holds wherever the row starts, not only at the
/// read buffer's boundaries.
#[test]
fn d3_the_row_limit_holds_wherever_the_row_starts() {
    let (env, _key) = ready(None);
    let big = "x".repeat((16 << 20) + (100 << 10));
    let first = format!("id,d\n{big},2019-01-01\n");
    let mut later = String::from("id,d\n");
    while later.len() < 200 << 10 {
        later.push_str("1,2019-01-01\n");
    }
    later.push_str(&format!("{big},2019-01-01\n"));
    for (name, content) in [("first.csv", first), ("later.csv", later)] {
        write(&env, name, &content);
        archive(&env, 2019, &["stick"], &["--table", &format!("{name}:d")])
            .error(2, &[name, "16 MiB"]);
        assert_no_new_archive(&env.p("stick"), &[]);
    }
}
