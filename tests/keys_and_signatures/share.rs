//! `kluis share`: a selection of records and of a table's rows (by date)
//! into a new archive that only the auditor's key opens, checkable with
//! stock tools; a plain folder; a pattern that matches nothing; a bad
//! recipient; and the record of disclosures in `kluis status --shares`.

use std::fs;

use crate::common::*;

#[test]
fn share_to_an_auditor_holds_exactly_the_chosen_records_and_rows() {
    let (env, _owner) = Env::with_2019_on(&["stick-a"]);
    let auditor = env.new_key("auditor.key").recipient;
    let run = env.run([
        "share",
        "-i",
        "owner.key",
        "stick-a/2019-financial.kluis",
        "--to",
        "for-the-inspector",
        "--recipient",
        &auditor,
        "-p",
        "invoices/INV-2019-000003.pdf",
        "-p",
        "tables/orders.csv",
        "--from",
        "2019-07-01",
        "--until",
        "2019-09-30",
        "--date-column",
        "order_date",
        "--reason",
        "Belastingdienst: boekenonderzoek Q3 2019",
        "--json",
    ]);
    run.ok();
    let report = run.json();
    assert_eq!(report["files"], 2, "{report}");
    assert_eq!(report["tables"][0]["rows"], 6, "{report}");
    assert_eq!(report["tables"][0]["rows_left_out"], 18, "{report}");
    let file = report["path"].as_str().unwrap().to_owned();
    // Only the auditor's key opens it.
    assert_eq!(
        env.run(["key", "check", "-i", "owner.key", &file]).code,
        Some(1)
    );
    env.run(["key", "check", "-i", "auditor.key", &file]).ok();
    env.run(["verify", "-i", "auditor.key", &file])
        .ok()
        .says("signed by the organisation's key");
    let listed = env.run(["list", "-i", "auditor.key", &file]);
    listed.ok();
    let out = listed.stdout_text();
    let names: Vec<&str> = out
        .lines()
        .filter(|l| !l.ends_with('/'))
        .map(str::trim)
        .collect();
    assert_eq!(
        names,
        ["records/invoices/INV-2019-000003.pdf", "tables/orders.csv"],
        "{}",
        listed.stdout_text()
    );
    let readme = fs::read_to_string(env.p("for-the-inspector/README.txt")).unwrap();
    assert!(readme.contains("age -d -i"), "{readme}");
    assert!(
        !readme.contains("boekenonderzoek"),
        "the reason stays in the catalog"
    );

    // With stock tools only.
    if require_tools(&["age", "zstd", "minisign", "signify-openbsd"]) {
        bash(env.root(),
            "cd for-the-inspector && sha256sum -c --quiet SHA256SUMS && mkdir x && cd x && age -d -i ../../auditor.key ../share-*.kluis | zstd -dq | tar -x && sha256sum -c --quiet kluis/SHA256SUMS",
        )
        .ok();
        let key = env.org_public_key();
        bash(env.root(), &format!(
            "cd for-the-inspector && minisign -Vm SHA256SUMS -P {key} && signify-openbsd -V -p organisation.pub -x SHA256SUMS.minisig -m SHA256SUMS && cd x/kluis && minisign -Vm SHA256SUMS -P {key} && signify-openbsd -V -p ../../organisation.pub -x SHA256SUMS.minisig -m SHA256SUMS"
        ))
        .ok();
        assert_eq!(
            fs::read(env.p("for-the-inspector/x/records/invoices/INV-2019-000003.pdf")).unwrap(),
            fs::read(env.p("records-2019/invoices/INV-2019-000003.pdf")).unwrap()
        );
        let orders = fs::read_to_string(env.p("for-the-inspector/x/tables/orders.csv")).unwrap();
        assert_eq!(orders.lines().count(), 7, "{orders}");
        assert!(orders.starts_with("order_id;order_date;total\n"));
        assert!(
            orders.lines().skip(1).all(|l| l.contains(";2019-07-")
                || l.contains(";2019-08-")
                || l.contains(";2019-09-")),
            "{orders}"
        );
    }

    // The record of disclosures.
    env.run(["status", "--shares"])
        .ok()
        .says("Belastingdienst: boekenonderzoek Q3 2019")
        .says(&auditor);
}

#[test]
fn plain_shares_nothing_matched_and_bad_recipients() {
    let (env, _owner) = Env::with_2019_on(&["stick-a"]);
    let base = ["share", "-i", "owner.key", "stick-a/2019-financial.kluis"];

    // Nothing matches: exit 1, nothing written, nothing recorded.
    let mut args = base.to_vec();
    args.extend([
        "--to",
        "none",
        "--plain",
        "-p",
        "invoices/INV-1999-*",
        "--reason",
        "x",
    ]);
    env.run(&args).code(1).says("Nothing matched");
    assert!(!env.p("none").exists() || fs::read_dir(env.p("none")).unwrap().count() == 0);

    // Not an age recipient.
    let mut args = base.to_vec();
    args.extend(["--to", "bad", "--recipient", "age1notakey", "--reason", "x"]);
    env.run(&args).code(2).says("not an age recipient");
    assert!(!env.p("bad").exists());

    // A plain folder, checkable with sha256sum, minisign and signify.
    let mut args = base.to_vec();
    args.extend([
        "--to",
        "plain",
        "--plain",
        "-p",
        "invoices/INV-2019-00001*",
        "--reason",
        "accountant",
    ]);
    env.run(&args).ok();
    assert!(env.p("plain/records/invoices/INV-2019-000011.pdf").exists());
    assert!(!env.p("plain/records/invoices/INV-2019-000002.pdf").exists());
    bash(env.root(), "cd plain && sha256sum -c --quiet SHA256SUMS").ok();
    if require_tools(&["minisign", "signify-openbsd"]) {
        bash(env.root(), &format!(
            "cd plain && minisign -Vm SHA256SUMS -P {} && signify-openbsd -V -p organisation.pub -x SHA256SUMS.minisig -m SHA256SUMS",
            env.org_public_key()
        ))
        .ok();
    }
    let shares = env.run(["status", "--shares", "--json"]);
    shares.ok();
    let v = shares.json();
    assert_eq!(v["shares"].as_array().unwrap().len(), 1, "{v}");
    assert_eq!(v["shares"][0]["to"], "plain");
    assert_eq!(v["shares"][0]["records"], 2);
}
