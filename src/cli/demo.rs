//! `kluis demo`: the main job end to end on generated sample records. Each
//! step is shown as the command a user would type, then run for real (this
//! same binary, in a temporary folder), so the demo is also a tutorial.

use std::path::{Path, PathBuf};
use std::process::Command;

use clap::Args;
use kluis::error::{Error, IoContext};

use super::Outcome;
use super::color::ColorWhen;

type Result<T> = kluis::Result<T>;

#[derive(Args)]
pub struct DemoArgs {
    /// Work in this (new or empty) folder and keep it, instead of a
    /// temporary folder that is removed at the end.
    #[arg(long, value_name = "DIR")]
    dir: Option<PathBuf>,
}

struct Demo {
    dir: PathBuf,
    exe: PathBuf,
    step: u32,
    /// Passed on to each step (not shown), so `--color` holds for them too.
    color: ColorWhen,
}

impl Demo {
    fn say(&mut self, title: &str, text: &str) {
        self.step += 1;
        println!("\n━━ {}. {title}", self.step);
        for line in text.lines() {
            println!("   {line}");
        }
    }

    /// Runs `kluis ARGS` in the demo folder, showing the command; returns
    /// its exit code.
    fn kluis(&self, args: &[&str], expect: &[i32]) -> Result<i32> {
        println!(
            "\n   $ kluis {}",
            args.iter().map(|a| quote(a)).collect::<Vec<_>>().join(" ")
        );
        let mut cmd = Command::new(&self.exe);
        if self.color != ColorWhen::Auto {
            let when = clap::ValueEnum::to_possible_value(&self.color).expect("not skipped");
            cmd.arg(format!("--color={}", when.get_name()));
        }
        let status = cmd
            .args(args)
            .current_dir(&self.dir)
            .env("KLUIS_VAULT", self.dir.join("vault"))
            .status()
            .at(&self.exe)?;
        let code = status.code().unwrap_or(2);
        if !expect.contains(&code) {
            return Err(Error::Usage(format!(
                "demo step `kluis {}` exited {code}, expected {expect:?}",
                args.join(" ")
            )));
        }
        Ok(code)
    }

    fn shell(&self, script: &str) -> Result<bool> {
        println!("\n   $ {script}");
        let status = Command::new("sh")
            .arg("-c")
            .arg(script)
            .current_dir(&self.dir)
            .status()
            .at("sh")?;
        Ok(status.success())
    }
}

/// The servers the demo tries for its database step, unless
/// `KLUIS_DEMO_DB` names one (a URL of a server where the user may create a
/// database).
const DEMO_SERVERS: [&str; 2] = [
    "postgres://postgres@127.0.0.1:5432/postgres",
    "mysql://root@127.0.0.1:3306/mysql",
];

/// A webshop database: 2019's orders and their lines archived (as a
/// supplement to the year) and purged from the live tables. Skipped, and
/// said so, when no server is reachable.
fn database_year(demo: &mut Demo) -> Result<()> {
    use kluis::sources::db::Target;
    let servers: Vec<String> = match std::env::var("KLUIS_DEMO_DB") {
        Ok(url) if !url.is_empty() => vec![url],
        _ => DEMO_SERVERS.iter().map(|s| s.to_string()).collect(),
    };
    let name = format!("kluis_demo_{}", std::process::id());
    let mut found = None;
    for url in &servers {
        let Ok(target) = Target::parse(url, None) else {
            continue;
        };
        let Ok(mut admin) = target.connect() else {
            continue;
        };
        if admin.batch(&format!("CREATE DATABASE {name}")).is_ok() {
            found = Some((url.clone(), admin));
            break;
        }
    }
    let Some((admin_url, mut admin)) = found else {
        demo.say(
            "The webshop's live database (skipped)",
            &format!(
                "No PostgreSQL or MariaDB/MySQL server where the demo may create a database\n\
                 was reachable ({}); set KLUIS_DEMO_DB to a server's URL to see this step:\n\
                 a year of rows archived from the live tables, then purged from them.",
                servers.join(", ")
            ),
        );
        return Ok(());
    };
    let url = match admin_url.rsplit_once('/') {
        Some((base, _)) => format!("{base}/{name}"),
        None => return Ok(()),
    };
    let result = (|| -> Result<()> {
        let mut db = Target::parse(&url, None)?.connect()?;
        db.batch(
            "CREATE TABLE orders (id bigint PRIMARY KEY, created_at timestamp NOT NULL, customer_email varchar(100), total decimal(10,2) NOT NULL)",
        )?;
        db.batch(
            "CREATE TABLE order_lines (id bigint PRIMARY KEY, order_id bigint NOT NULL, sku varchar(20) NOT NULL, qty integer NOT NULL, FOREIGN KEY (order_id) REFERENCES orders (id))",
        )?;
        let (mut orders, mut lines) = (Vec::new(), Vec::new());
        for i in 1..=90u32 {
            let year = 2018 + (i - 1) / 30;
            let day = format!(
                "{year}-{:02}-{:02} 1{}:00:00",
                1 + i % 12,
                1 + i % 28,
                i % 10
            );
            orders.push(format!(
                "({i}, '{day}', 'klant{i}@example.nl', {}.{:02})",
                10 + i * 3,
                i % 100
            ));
            for j in 0..(1 + i % 3) {
                lines.push(format!(
                    "({}, {i}, 'SKU-{}', {})",
                    i * 10 + j,
                    100 + j,
                    1 + j
                ));
            }
        }
        db.batch(&format!("INSERT INTO orders VALUES {}", orders.join(", ")))?;
        db.batch(&format!(
            "INSERT INTO order_lines VALUES {}",
            lines.join(", ")
        ))?;
        demo.say(
            "The webshop's live database",
            &format!(
                "The shop's orders and order lines of 2018-2020 live in a database\n\
                 ({url}, made for this demo). Year-end: 2019's rows go into the\n\
                 archive (as a supplement to 2019), read in one consistent snapshot, as CSV\n\
                 with the tables' DDL; then --purge-source deletes exactly those rows, once\n\
                 every copy is verified: each row is locked and re-hashed first, so a row\n\
                 changed since it was archived stays."
            ),
        );
        demo.kluis(
            &[
                "archive",
                "--year",
                "2019",
                "--supplement",
                "--to",
                "stick-a",
                "--to",
                "stick-b",
                "--db",
                &url,
                "--db-name",
                "shop",
                "--db-table",
                "orders:created_at",
                "--db-child",
                "order_lines",
                "--drop",
                "customer_email",
                "--purge-source",
            ],
            &[0],
        )?;
        let left = db.rows(
            "SELECT CAST(EXTRACT(YEAR FROM created_at) AS CHAR(4)), CAST(COUNT(*) AS CHAR(10)) FROM orders GROUP BY 1 ORDER BY 1",
        )?;
        println!(
            "\n   Orders left in the database, by year: {}",
            left.iter()
                .map(|r| format!(
                    "{}: {}",
                    r[0].as_deref().unwrap_or("?").trim(),
                    r[1].as_deref().unwrap_or("?").trim()
                ))
                .collect::<Vec<_>>()
                .join(", ")
        );
        Ok(())
    })();
    let _ = admin.batch(&format!("DROP DATABASE {name}"));
    result
}

/// A customer asks what is kept about them (GDPR article 15): the first
/// customer address of the year's mail, looked up in every archive.
fn subject_request(demo: &mut Demo, dir: &Path) -> Result<()> {
    let Some(address) = first_customer_address(&dir.join("records-2019")) else {
        return Ok(());
    };
    demo.say(
        "A customer asks: what do you keep about me?",
        "Every archive indexed the e-mail addresses, phone numbers and IBANs in its\n\
         records while it was written (inside the encryption), and the vault keeps\n\
         keyed hashes of them: the years that hold something are known without a\n\
         stick; with one plugged in, the exact records and rows are found, copied\n\
         for the customer, and a ready answer is written. `kluis due` reminds when a\n\
         request is 25 days old and unanswered.",
    );
    demo.kluis(
        &[
            "subject",
            "find",
            "-i",
            "owner.key",
            "--email",
            &address,
            "--by",
            "customer, by e-mail",
            "--export",
            "for-the-customer",
            "--report",
            "answer.md",
        ],
        &[1],
    )?;
    demo.shell("sed -n '1,/^## What was not/p' answer.md | head -20")?;
    Ok(())
}

fn first_customer_address(dir: &Path) -> Option<String> {
    let mut stack = vec![dir.to_path_buf()];
    let mut mails = Vec::new();
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).ok()?.flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "eml") {
                mails.push(p);
            }
        }
    }
    // A customer's mail (about an order or an invoice) first.
    mails.sort_by_key(|m| {
        let name = m.to_string_lossy().to_lowercase();
        (
            !(name.contains("factuur") || name.contains("bestelling")),
            m.clone(),
        )
    });
    mails.iter().find_map(|m| {
        let text = std::fs::read_to_string(m).ok()?;
        text.lines()
            .take_while(|l| !l.is_empty())
            .filter(|l| l.starts_with("To:") || l.starts_with("From:"))
            .filter_map(|l| Some(l[l.find('<')? + 1..l.find('>')?].to_owned()))
            .find(|a| a != kluis::demo::SHOP_MAIL)
    })
}

fn quote(a: &str) -> String {
    if a.chars()
        .all(|c| c.is_ascii_alphanumeric() || "-_./=:*".contains(c))
    {
        a.to_owned()
    } else {
        format!("'{a}'")
    }
}

fn have(program: &str) -> bool {
    Command::new(program)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success() || !o.stdout.is_empty())
}

pub fn run(args: DemoArgs, color: ColorWhen) -> Result<Outcome> {
    let (dir, _temp) = match args.dir {
        Some(d) => {
            std::fs::create_dir_all(&d).at(&d)?;
            if std::fs::read_dir(&d).at(&d)?.next().is_some() {
                return Err(Error::Usage(format!(
                    "{} is not empty; give a new or empty folder",
                    d.display()
                )));
            }
            (d.canonicalize().at(&d)?, None)
        }
        None => {
            let t = tempfile::Builder::new()
                .prefix("kluis-demo-")
                .tempdir()
                .at(std::env::temp_dir())?;
            (t.path().to_path_buf(), Some(t))
        }
    };
    let exe = std::env::current_exe().at("kluis")?;
    let mut demo = Demo {
        dir: dir.clone(),
        exe,
        step: 0,
        color,
    };
    println!("kluis demo — working in {}", dir.display());

    demo.say(
        "A fiscal year of records",
        "Generated sample records of a small webshop for 2019: invoices, receipts,\n\
         a ledger and bank CSV, mail, and some awkward names (unicode, spaces,\n\
         a path over 255 bytes, an empty folder, a symlink).",
    );
    let summary = kluis::demo::sample::generate_records(&dir.join("records-2019"), 2019, 1)
        .at(dir.join("records-2019"))?;
    println!(
        "   records-2019/: {} files, {} folders, {} link, {} bytes",
        summary.files, summary.dirs, summary.symlinks, summary.bytes
    );
    let orders = dir.join("export/orders.csv");
    let rows = kluis::demo::sample::generate_orders_table(&orders, 2017, 2021, 1).at(&orders)?;
    println!(
        "   export/orders.csv: the webshop's order export, 2017-2021, {rows} rows,\n   \
         with a password_hash and a birth_date column"
    );

    demo.say(
        "Keys",
        "Two age keys: the owner's and the accountant's. Every archive is encrypted\n\
         to both, so losing one key does not lose seven years of records.",
    );
    demo.kluis(&["key", "new", "-o", "owner.key"], &[0])?;
    demo.kluis(&["key", "new", "-o", "accountant.key"], &[0])?;
    let owner = std::fs::read_to_string(dir.join("owner.key")).at(dir.join("owner.key"))?;
    let accountant =
        std::fs::read_to_string(dir.join("accountant.key")).at(dir.join("accountant.key"))?;
    let recipient = |text: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix("# public key: "))
            .unwrap_or_default()
            .to_owned()
    };
    let (r1, r2) = (recipient(&owner), recipient(&accountant));

    demo.say("The vault", "Configuration and catalog; kept on the laptop, so reminders work with the\nsticks in a drawer. (Here: KLUIS_VAULT=vault.)");
    demo.kluis(
        &[
            "init",
            "--org",
            "Webwinkel Het Blauwe Huis B.V.",
            "-r",
            &r1,
            "-r",
            &r2,
            "--preset",
            "nl",
        ],
        &[0],
    )?;
    demo.kluis(&["key", "signing", "-o", "org.pub"], &[0])?;

    std::fs::create_dir_all(dir.join("stick-a")).at(dir.join("stick-a"))?;
    std::fs::create_dir_all(dir.join("stick-b")).at(dir.join("stick-b"))?;
    demo.say(
        "Year-end: archive 2019 onto two sticks",
        "One encrypted file per year and class, written to both media at once, each\n\
         copy read back from the medium and checked before kluis says done. The\n\
         order export goes in too: only its 2019 rows, without the password hashes\n\
         and birth dates no tax law asks for.",
    );
    demo.kluis(
        &[
            "archive",
            "--year",
            "2019",
            "--to",
            "stick-a",
            "--to",
            "stick-b",
            "--table",
            "export/orders.csv:order_date",
            "--drop",
            "password_hash",
            "--drop",
            "birth_date",
            "records-2019",
        ],
        &[0],
    )?;
    demo.shell("ls -l stick-a")?;

    demo.say(
        "Minimised: only what the law asks for",
        "The export spans five years and holds data no retention duty covers. kluis\n\
         refuses to archive such columns until each is dropped or kept on purpose\n\
         (here for 2020, so nothing is written):",
    );
    demo.kluis(
        &[
            "archive",
            "--year",
            "2020",
            "--to",
            "stick-a",
            "--table",
            "export/orders.csv:order_date",
        ],
        &[2],
    )?;
    println!(
        "\n   The 2019 archive holds tables/orders.csv with 2019's rows only, and its\n   \
         metadata records the decision, so an auditor can see it was deliberate:"
    );
    if have("age") && have("zstd") && have("tar") {
        demo.shell("age -d -i owner.key stick-a/2019-financial.kluis | zstd -d | tar -xO tables/orders.csv | head -3 | cut -c1-100")?;
        demo.shell("age -d -i owner.key stick-a/2019-financial.kluis | zstd -d | tar -xO kluis/metadata.json | sed -n '/minimisation/,$p'; echo")?;
    } else {
        demo.kluis(
            &[
                "list",
                "-i",
                "owner.key",
                "stick-a/2019-financial.kluis",
                "tables/*",
            ],
            &[0],
        )?;
    }

    demo.say(
        "Quick check, no key",
        "Anyone can check the sticks for bit rot: sizes and SHA-256 only.",
    );
    demo.kluis(&["verify", "stick-a"], &[0])?;
    demo.shell("cd stick-a && sha256sum -c SHA256SUMS")?;

    demo.say(
        "Full check, with a key",
        "Decrypts everything and checks every record against the manifest.",
    );
    demo.kluis(&["verify", "-i", "accountant.key", "stick-b"], &[0])?;

    demo.say(
        "What is in it",
        "Read from the archive's index at its end, not by decrypting it all.",
    );
    demo.kluis(
        &[
            "list",
            "-i",
            "owner.key",
            "stick-a/2019-financial.kluis",
            "invoices/INV-2019-00012*",
        ],
        &[0],
    )?;

    demo.say(
        "A tax audit: the inspector asks for invoice INV-2019-000123",
        "Restored by seeking to it: only the part of the archive that holds it is\ndecrypted, and its SHA-256 is checked.",
    );
    demo.kluis(
        &[
            "restore",
            "-i",
            "owner.key",
            "stick-a/2019-financial.kluis",
            "--to",
            "for-the-inspector",
            "invoices/INV-2019-000123.pdf",
        ],
        &[0],
    )?;
    demo.shell("find for-the-inspector -type f")?;

    demo.say(
        "The same audit, handed over",
        "The inspector wants that invoice and the orders of Q3 2019 on their own key.\n\
         kluis reads just those records by seeking, keeps only the orders dated in\n\
         the quarter, and writes a new archive only the inspector's key opens, signed\n\
         by the organisation, with a README for someone who never heard of kluis.\n\
         The share is recorded in the catalog: what, when, to whom, why.",
    );
    demo.kluis(&["key", "new", "-o", "inspector.key"], &[0])?;
    let inspector =
        std::fs::read_to_string(dir.join("inspector.key")).at(dir.join("inspector.key"))?;
    let r3 = recipient(&inspector);
    demo.kluis(
        &[
            "share",
            "-i",
            "owner.key",
            "stick-a/2019-financial.kluis",
            "--to",
            "share-inspector",
            "--recipient",
            &r3,
            "-p",
            "invoices/INV-2019-000123.pdf",
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
        ],
        &[0],
    )?;
    demo.shell("ls share-inspector")?;
    demo.kluis(&["status", "--shares"], &[0])?;

    subject_request(&mut demo, &dir)?;

    demo.say(
        "Signed by the organisation",
        "age says nothing about who wrote a file. kluis signs every archive, each\n\
         medium's SHA256SUMS, proofs of destruction and shares with the organisation's\n\
         key (minisign format): a stranger checks them with stock minisign or signify\n\
         and the public key from README.txt (compared with one the organisation gave).",
    );
    if have("minisign") {
        demo.shell("cd stick-a && minisign -Vm SHA256SUMS -P \"$(sed -n 2p ../org.pub)\"")?;
    }
    demo.kluis(&["verify", "stick-a"], &[0])?;

    demo.say(
        "A paper recovery kit",
        "The key is the single point of failure: print it. The kit holds the key as a\n\
         QR code and as lines with a checksum each (a typo is found on its line), and\n\
         the steps to recover with stock age. `-o kit.html` makes a printable page;\n\
         `--passphrase` encrypts the key first, so the paper alone opens nothing.",
    );
    demo.kluis(&["key", "paper", "-i", "owner.key"], &[0])?;

    demo.say(
        "Without kluis",
        "In 2033 someone finds the stick and has never heard of kluis. README.txt on\n\
         the stick tells them; standard tools recover and check everything.",
    );
    if have("age") && have("zstd") && have("tar") {
        demo.shell("mkdir stock && cd stock && age -d -i ../owner.key ../stick-a/2019-financial.kluis | zstd -d | tar -x && sha256sum -c --quiet kluis/SHA256SUMS && echo \"all $(wc -l < kluis/SHA256SUMS) records recovered and checked with age, zstd, tar and sha256sum\"")?;
    } else {
        println!("\n   (age, zstd or tar is not installed here; the commands would be:)");
        println!("   $ age -d -i owner.key stick-a/2019-financial.kluis | zstd -d | tar -x");
        println!("   $ sha256sum -c kluis/SHA256SUMS");
    }

    database_year(&mut demo)?;

    demo.say(
        "Status",
        "Every archive, its copies, and until when it must be kept.",
    );
    demo.kluis(&["status"], &[0])?;
    demo.say(
        "Reminders",
        "`kluis due` lists what needs action (destroy, or verify a copy not checked\n\
         for a year) and exits 1 if anything does: run it from cron. A calendar\n\
         file carries the dates to the owner's agenda, with the sticks in a drawer.",
    );
    let code = demo.kluis(&["due", "--within", "400"], &[0, 1])?;
    println!(
        "   (exit code {code}: {})",
        if code == 1 {
            "something is due within 400 days"
        } else {
            "nothing due"
        }
    );
    demo.kluis(&["remind", "--ics", "kluis-reminders.ics"], &[0])?;

    println!(
        "\nDone. {}",
        if _temp.is_some() {
            "The demo folder is removed now; use --dir DIR to keep it."
        } else {
            "Everything is in the demo folder."
        }
    );
    let _ = Path::new("");
    Ok(Outcome::Ok)
}
