//! `tests/vectors/subjects.kluis` (see its README): a year whose records
//! name people (mail, a note, a table, a tax audit file) with the subject
//! index of docs/FORMAT.md §4.5.2, written once by the real `kluis
//! archive`. Every later kluis finds the same people in it, through its
//! index, and reads its XAF summary.

use std::fs;
use std::path::PathBuf;

use kluis::format::reader::ArchiveReader;
use kluis::format::subjectindex::{SubjectIndex, SubjectLine, coverage};

use crate::common::*;

fn vectors() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/vectors")
}

const MAIL: &str = "From: \"Jansen, Jan\" <Jan.Jansen@Example.NL>\r\n\
To: info@kluis-testvectoren.nl\r\n\
Cc: boekhouding@kluis-testvectoren.nl,\r\n \"Piet de Vries\" <piet@example.org>\r\n\
Subject: Factuur 2019-0042\r\n\
Date: Fri, 1 Mar 2019 10:00:00 +0100\r\n\
\r\n\
Graag betalen op NL91 ABNA 0417 1643 00. Bel me op 06-12345678.\r\n";

const NOTE: &str = "Terugbelverzoek: Jan Jansen, +31 (0)6 1234 5678, klantnummer K017.\n";

const ORDERS: &str = "order_id,order_date,customer_no,email,phone,total\n\
1,2018-12-31,K017,jan.jansen@example.nl,0612345678,1.00\n\
2,2019-01-02,K017,jan.jansen@example.nl,0612345678,10.00\n\
3,2019-02-03,K020,\"piet@example.org\",+32 470 12 34 56,20.00\n\
4,2019-03-04,K017,\"jan.jansen@example.nl\",,30.00\n\
5,2020-01-01,K017,jan.jansen@example.nl,0612345678,40.00\n";

const XAF: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<auditfile xmlns="http://www.auditfiles.nl/XAF/3.2">
  <header>
    <fiscalYear>2019</fiscalYear><startDate>2019-01-01</startDate><endDate>2019-12-31</endDate>
    <curCode>EUR</curCode><dateCreated>2020-01-15</dateCreated>
    <softwareDesc>Testboekhouding</softwareDesc><softwareVersion>1.0</softwareVersion>
  </header>
  <company>
    <companyIdent>KTV01</companyIdent><companyName>Kluis Testvectoren B.V.</companyName>
    <taxRegistrationCountry>NL</taxRegistrationCountry><taxRegIdent>NL001234567B01</taxRegIdent>
    <customersSuppliers>
      <customerSupplier><custSupID>C001</custSupID><custSupName>Jansen</custSupName>
        <telephone>06 12345678</telephone><eMail>jan.jansen@example.nl</eMail>
        <bankAccount><bankAccNr>NL91ABNA0417164300</bankAccNr></bankAccount>
      </customerSupplier>
      <customerSupplier><custSupID>C002</custSupID><custSupName>De Vries</custSupName>
        <eMail>piet@example.org</eMail></customerSupplier>
    </customersSuppliers>
    <generalLedger>
      <ledgerAccount><accID>1300</accID><accDesc>Debiteuren</accDesc><accTp>B</accTp></ledgerAccount>
      <ledgerAccount><accID>8000</accID><accDesc>Omzet</accDesc><accTp>P</accTp></ledgerAccount>
    </generalLedger>
    <transactions>
      <linesCount>2</linesCount><totalDebit>121.00</totalDebit><totalCredit>121.00</totalCredit>
      <journal><jrnID>V</jrnID><desc>Verkoop</desc>
        <transaction><nr>1</nr><desc>Factuur 2019-0042</desc><periodNumber>3</periodNumber><trDt>2019-03-01</trDt>
          <trLine><nr>1</nr><accID>1300</accID><docRef>2019-0042</docRef><effDate>2019-03-01</effDate><amnt>121.00</amnt><amntTp>D</amntTp><custSupID>C001</custSupID></trLine>
          <trLine><nr>2</nr><accID>8000</accID><docRef>2019-0042</docRef><effDate>2019-03-01</effDate><amnt>121.00</amnt><amntTp>C</amntTp></trLine>
        </transaction>
      </journal>
    </transactions>
  </company>
</auditfile>
"#;

/// Members holding an identifier, each with its rows (none for a record).
type Holders = &'static [(&'static str, &'static [u64])];

/// What the index must give for each identifier.
const EXPECTED: &[(&str, Holders)] = &[
    (
        "email:jan.jansen@example.nl",
        &[
            ("records/audit/2019.xaf", &[]),
            ("records/mail/2019-03-01.eml", &[]),
            ("tables/orders.csv", &[1, 3]),
        ],
    ),
    (
        "phone:+31612345678",
        &[
            ("records/audit/2019.xaf", &[]),
            ("records/mail/2019-03-01.eml", &[]),
            ("records/notes/terugbellen.txt", &[]),
            ("tables/orders.csv", &[1]),
        ],
    ),
    (
        "iban:NL91ABNA0417164300",
        &[
            ("records/audit/2019.xaf", &[]),
            ("records/mail/2019-03-01.eml", &[]),
        ],
    ),
    ("id:custsupid=C001", &[("records/audit/2019.xaf", &[])]),
    ("id:customer_no=K017", &[("tables/orders.csv", &[1, 3])]),
    ("email:nobody@example.nl", &[]),
];

fn lines_of(index: &SubjectIndex, reader: &mut ArchiveReader, id: &str) -> Vec<(String, Vec<u64>)> {
    index
        .lookup(reader, id)
        .unwrap()
        .into_iter()
        .map(|l: SubjectLine| (l.display_path(), l.rows))
        .collect()
}

#[test]
fn subjects_vector_is_searched_through_its_index() {
    let env = Env::new();
    let key = env.vector_key("test-key.txt");
    let archive = vectors().join("subjects.kluis");
    let mut reader = ArchiveReader::open(&archive, &key.identities()).unwrap();
    let index = SubjectIndex::open(&mut reader).unwrap().expect("an index");
    for (id, want) in EXPECTED {
        let want: Vec<(String, Vec<u64>)> = want
            .iter()
            .map(|(p, rows)| (p.to_string(), rows.to_vec()))
            .collect();
        assert_eq!(lines_of(&index, &mut reader, id), want, "{id}");
    }
    let cov = coverage(&mut reader).unwrap().expect("a summary");
    assert_eq!(cov.not_searched.get("PDF"), Some(&1), "{cov:?}");
    assert_eq!(cov.phone_country, "NL");
    let audit = &reader.metadata().audit_files;
    assert_eq!(audit.len(), 1);
    assert_eq!(audit[0].path, "records/audit/2019.xaf");
    assert_eq!(audit[0].summary.version, "3.2");
    assert_eq!(audit[0].summary.total_debit, audit[0].summary.total_credit);
    drop(reader);

    // The command line finds the same, through the index, with no vault.
    let run = env
        .kluis()
        .args(["subject", "find", "-i"])
        .arg(&key.path)
        .args(["--email", "Jan.Jansen@EXAMPLE.nl", "--json"])
        .arg(&archive)
        .run();
    run.code(1);
    let json = run.json();
    let a = &json["archives"][0];
    assert_eq!(a["records"]["how"], "index", "{json}");
    let paths: Vec<&str> = a["records"]["hits"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["path"].as_str().unwrap())
        .collect();
    assert_eq!(
        paths,
        [
            "records/audit/2019.xaf",
            "records/mail/2019-03-01.eml",
            "tables/orders.csv"
        ]
    );
}

/// Writes `tests/vectors/subjects.kluis` once; see tests/vectors/README.md.
#[test]
#[ignore = "writes a committed test vector"]
fn make_subjects_vector() {
    assert!(
        std::env::var_os("KLUIS_WRITE_VECTORS").is_some(),
        "set KLUIS_WRITE_VECTORS=1 to write the vector"
    );
    let path = vectors().join("subjects.kluis");
    assert!(
        !path.exists(),
        "{} exists: vectors are never rewritten",
        path.display()
    );
    let env = Env::new();
    let key = env.vector_key("test-key.txt");
    for (rel, text) in [
        ("records/mail/2019-03-01.eml", MAIL.as_bytes()),
        ("records/notes/terugbellen.txt", NOTE.as_bytes()),
        ("records/audit/2019.xaf", XAF.as_bytes()),
        (
            "records/scans/bon.pdf",
            b"%PDF-1.4 jan.jansen@example.nl\n%%EOF\n",
        ),
        ("export/orders.csv", ORDERS.as_bytes()),
    ] {
        let p = env.p(rel);
        fs::create_dir_all(p.parent().unwrap()).unwrap();
        fs::write(&p, text).unwrap();
    }
    env.kluis()
        .init("Kluis Testvectoren B.V.", &[&key])
        .run()
        .ok();
    let config = env.vault().join("config.toml");
    let text = fs::read_to_string(&config).unwrap();
    assert!(text.contains("id_columns = []"), "{text}");
    let text = text.replace("id_columns = []", "id_columns = [\"customer_no\"]");
    fs::write(&config, text).unwrap();
    fs::create_dir_all(env.p("medium")).unwrap();
    env.kluis()
        .args(["archive", "--year", "2019", "--unsigned", "--parity", "0"])
        .args(["--table", "export/orders.csv:order_date"])
        .args(["--keep", "email", "--keep", "phone"])
        .to(&env.p("medium"))
        .arg(env.p("records"))
        .run()
        .ok();
    fs::copy(env.p("medium/2019-financial.kluis"), &path).unwrap();
    println!(
        "    (\n        \"subjects.kluis\",\n        \"{}\",\n    ),",
        sha256_hex(&fs::read(&path).unwrap())
    );
}

/// An archive whose subject index is `index` (lines as given), holding
/// `records/a.txt` and `records/b.eml` that name jan@example.nl.
fn archive_with_index(env: &Env, key: &Key, index: &str) -> PathBuf {
    use kluis::format::subjectindex::{SUBJECTS_KEY, SUBJECTS_MEMBER};
    use kluis::format::writer::{ArchiveWriter, Framing, Mtime, WriteOptions};
    let path = env.p("crafted.kluis");
    let file = fs::File::create(&path).unwrap();
    let mut w = ArchiveWriter::new(
        vec![(path.clone(), file)],
        &key.recipients(),
        &crafted_metadata(),
        &WriteOptions::default(),
    )
    .unwrap();
    let t = Mtime {
        secs: 1_546_300_800,
        nsec: 0,
    };
    for (name, text) in [
        ("records/a.txt", "bel jan@example.nl\n"),
        ("records/b.eml", "From: Jan <JAN@example.nl>\n\nhoi\n"),
    ] {
        w.add_file(
            name.as_bytes(),
            text.len() as u64,
            0o644,
            t,
            &mut text.as_bytes(),
            std::path::Path::new(name),
        )
        .unwrap();
    }
    w.add_located(
        SUBJECTS_KEY,
        SUBJECTS_MEMBER,
        index.len() as u64,
        &mut index.as_bytes(),
        Framing::Lines { every: 64 << 10 },
    )
    .unwrap();
    w.finish().unwrap();
    path
}

#[test]
fn a_damaged_subject_index_is_reported_and_the_archive_scanned() {
    use kluis::read::subjects::{How, search};
    use kluis::subjects::identify::Identifier;
    use kluis::subjects::scan::Settings;
    let env = Env::new();
    let key = env.vector_key("test-key.txt");
    let jan = [Identifier::parse_email("jan@example.nl").unwrap()];
    let good = "{\"id\":\"email:jan@example.nl\",\"path\":\"records/a.txt\"}\n\
                {\"id\":\"email:jan@example.nl\",\"path\":\"records/b.eml\"}\n";
    let bad = [
        // Out of order.
        "{\"id\":\"email:jan@example.nl\",\"path\":\"records/b.eml\"}\n\
         {\"id\":\"email:jan@example.nl\",\"path\":\"records/a.txt\"}\n",
        // Naming kluis's own member.
        "{\"id\":\"email:jan@example.nl\",\"path\":\"kluis/manifest.jsonl\"}\n",
        // Not JSON.
        "email:jan@example.nl records/a.txt\n",
    ];
    // The archive with `index` as its subject index, searched for jan:
    // how, and the records found.
    let found = |index: &str| {
        let archive = archive_with_index(&env, &key, index);
        let found = search(
            &archive,
            &key.identities(),
            &jan,
            &Settings::default(),
            &kluis::progress::Silent,
        )
        .unwrap();
        fs::remove_file(&archive).unwrap();
        let paths: Vec<String> = found.hits.iter().map(|h| h.display_path()).collect();
        (found.how, paths)
    };
    let (how, paths) = found(good);
    assert_eq!(how, How::Index);
    assert_eq!(paths, ["records/a.txt", "records/b.eml"]);
    for index in bad {
        let (how, paths) = found(index);
        match &how {
            How::Scan { why: Some(why) } => {
                assert!(why.contains("kluis/subjects.jsonl"), "{why}")
            }
            other => panic!("{index:?}: {other:?}"),
        }
        assert_eq!(paths, ["records/a.txt", "records/b.eml"], "{index:?}");
    }
}
