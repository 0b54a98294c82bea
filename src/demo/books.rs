//! The books of the year, consistent with the invoices and receipts: the general
//! ledger (`ledger/grootboek-YYYY.csv`, ~2000 lines), the bank statement
//! (`bank/ING-YYYY.csv`), and a symlink to the ledger.

use std::fmt::Write as _;
use std::io;

use chrono::{Datelike, NaiveDate, NaiveDateTime};

use super::documents::{Purchase, Sale};
use super::tree::{Rng, Tree, Year};
use super::vocab::{SHOP_IBAN, SUPPLIERS, account_name, eur_nl, iban};

struct BankTx {
    name: String,
    iban: String,
    code: &'static str,
    kind: &'static str,
    amount: i64,
    memo: String,
}

struct Booking {
    when: NaiveDateTime,
    journal: &'static str,
    reference: Option<String>,
    desc: String,
    /// (account, debit, credit, VAT code)
    lines: Vec<(u32, i64, i64, &'static str)>,
    bank: Option<BankTx>,
}

/// A cost booked on `account` with 21 % VAT and paid from the bank account
/// (1100) by `tx`, whose amount is set to what was paid.
fn purchase(when: NaiveDateTime, desc: String, (account, net): (u32, i64), tx: BankTx) -> Booking {
    let vat = (net * 21 + 50) / 100;
    Booking {
        when,
        journal: "BNK",
        reference: None,
        desc,
        lines: vec![
            (account, net, 0, "I21"),
            (1510, vat, 0, "I21"),
            (1100, 0, net + vat, ""),
        ],
        bank: Some(BankTx {
            amount: -(net + vat),
            ..tx
        }),
    }
}

/// `ledger/grootboek-{year}.csv` (~2000 lines) and `bank/ING-{year}.csv`, consistent with the
/// invoices and receipts.
pub(super) fn gen_books(
    t: &mut Tree,
    yr: &Year,
    rng: &mut Rng,
    sales: &[Sale],
    purchases: &[Purchase],
) -> io::Result<()> {
    let mut books: Vec<Booking> = Vec::new();
    for s in sales {
        let gross = s.net + s.vat;
        books.push(Booking {
            when: yr.at(s.day, 18 * 3600),
            journal: "VRK",
            reference: Some(s.number.clone()),
            desc: format!("Factuur {} {}", s.number, s.customer),
            lines: vec![
                (1300, gross, 0, ""),
                (8000, 0, s.net, "V21"),
                (1500, 0, s.vat, "V21"),
            ],
            bank: None,
        });
        books.push(Booking {
            when: yr.at(s.paid_day, 7 * 3600 + rng.below(3600) as u32),
            journal: "BNK",
            reference: None,
            desc: format!("Ontvangst {} {}", s.number, s.customer),
            lines: vec![(1100, gross, 0, ""), (1300, 0, gross, "")],
            bank: Some(BankTx {
                name: s.customer.clone(),
                iban: s.iban.clone(),
                code: "OV",
                kind: "Overschrijving",
                amount: gross,
                memo: format!("Omschrijving: {} IBAN: {}", s.number, s.iban),
            }),
        });
    }
    for p in purchases {
        let net = (p.gross * 100 + (100 + p.rate) / 2) / (100 + p.rate);
        let code = if p.rate == 9 { "I9" } else { "I21" };
        books.push(Booking {
            when: p.when,
            journal: "BNK",
            reference: None,
            desc: format!("Pinbetaling {}", p.store),
            lines: vec![
                (p.account, net, 0, code),
                (1510, p.gross - net, 0, code),
                (1100, 0, p.gross, ""),
            ],
            bank: Some(BankTx {
                name: format!("{} {}", p.store.to_uppercase(), rng.below(9000) + 1000),
                iban: String::new(),
                code: "BA",
                kind: "Betaalautomaat",
                amount: -p.gross,
                memo: format!(
                    "Pasvolgnr: 003 {} Transactie: {:08X} Term: {:06}",
                    p.when.format("%d-%m-%Y %H:%M"),
                    rng.next_u64() as u32,
                    rng.below(1_000_000)
                ),
            }),
        });
    }
    let landlord_iban = iban("RABO", 3_456_789_012);
    let ziggo_iban = iban("INGB", 650_000);
    for m in 1..=12u32 {
        let first = NaiveDate::from_ymd_opt(yr.y, m, 1).unwrap().ordinal0();
        let monthly: [(&str, &String, u32, i64, &'static str); 2] = [
            (
                "Vastgoed Domstad B.V.",
                &landlord_iban,
                4100,
                125_000,
                "Huur",
            ),
            (
                "Ziggo Zakelijk",
                &ziggo_iban,
                4800,
                4_950,
                "Internet en telefonie",
            ),
        ];
        for (name, acct_iban, account, net, what) in monthly {
            let month = yr.date(first).format("%m-%Y");
            books.push(purchase(
                yr.at(first + 1, 6 * 3600),
                format!("{what} {month} {name}"),
                (account, net),
                BankTx {
                    name: name.to_string(),
                    iban: acct_iban.clone(),
                    code: "IC",
                    kind: "Incasso",
                    amount: 0,
                    memo: format!("Omschrijving: {what} {month} Machtiging ID: HBH{m:02}"),
                },
            ));
        }
    }
    let mollie_iban = iban("ABNA", 629_839_917);
    let target = 1950 + rng.below(100) as usize;
    let mut count: usize = books.iter().map(|b| b.lines.len()).sum();
    while count < target {
        let day = yr.rand_day(rng);
        let when = yr.at(day, 5 * 3600 + rng.below(3 * 3600) as u32);
        let b = if rng.below(100) < 72 {
            let gross = 15_000 + rng.below(250_000) as i64;
            let fee = (gross + 50) / 100;
            let net = (gross * 100 + 60) / 121;
            let batch = rng.next_u64() as u32;
            Booking {
                when,
                journal: "BNK",
                reference: None,
                desc: format!("Uitbetaling Mollie st.{batch:08X}"),
                lines: vec![
                    (1100, gross - fee, 0, ""),
                    (4900, fee, 0, ""),
                    (8000, 0, net, "V21"),
                    (1500, 0, gross - net, "V21"),
                ],
                bank: Some(BankTx {
                    name: "Stichting Mollie Payments".to_string(),
                    iban: mollie_iban.clone(),
                    code: "OV",
                    kind: "Overschrijving",
                    amount: gross - fee,
                    memo: format!(
                        "Omschrijving: st.{batch:08X} Uitbetaling webwinkel IBAN: {mollie_iban}"
                    ),
                }),
            }
        } else {
            let (name, bank, account) = *rng.pick(SUPPLIERS);
            let net = 5_000 + rng.below(120_000) as i64;
            let inv = format!("{}{:05}", &name[..2].to_uppercase(), rng.below(100_000));
            let sup_iban = iban(bank, 1_000_000 + name.len() as u64 * 7_919);
            purchase(
                when,
                format!("Inkoopfactuur {inv} {name}"),
                (account, net),
                BankTx {
                    name: name.to_string(),
                    iban: sup_iban.clone(),
                    code: "GT",
                    kind: "Online bankieren",
                    amount: 0,
                    memo: format!("Omschrijving: factuur {inv} IBAN: {sup_iban}"),
                },
            )
        };
        count += b.lines.len();
        books.push(b);
    }
    books.sort_by_key(|b| b.when);

    let mut ledger = String::from(
        "Datum;Boekstuk;Dagboek;Rekening;Omschrijving rekening;Omschrijving;Debet;Credit;BTW-code\n",
    );
    let mut bank = String::from(
        "\"Datum\";\"Naam / Omschrijving\";\"Rekening\";\"Tegenrekening\";\"Code\";\"Af Bij\";\
         \"Bedrag (EUR)\";\"Mutatiesoort\";\"Mededelingen\";\"Saldo na mutatie\";\"Tag\"\n",
    );
    let mut balance = 1_234_567 + rng.below(1_000_000) as i64;
    for (i, b) in books.iter().enumerate() {
        let seq = i + 1;
        let reference = b
            .reference
            .clone()
            .unwrap_or_else(|| format!("{}-{}-{seq:05}", b.journal, yr.y));
        let date = b.when.format("%d-%m-%Y");
        for &(acct, debit, credit, code) in &b.lines {
            let amt = |c: i64| if c == 0 { String::new() } else { eur_nl(c) };
            let _ = writeln!(
                ledger,
                "{date};{reference};{};{acct};{};{};{};{};{code}",
                b.journal,
                account_name(acct),
                b.desc.replace(';', ","),
                amt(debit),
                amt(credit),
            );
        }
        if let Some(tx) = &b.bank {
            balance += tx.amount;
            let _ = writeln!(
                bank,
                "\"{}\";\"{}\";\"{SHOP_IBAN}\";\"{}\";\"{}\";\"{}\";\"{}\";\"{}\";\"{}\";\"{}\";\"\"",
                b.when.format("%Y%m%d"),
                tx.name.replace('"', "'"),
                tx.iban,
                tx.code,
                if tx.amount < 0 { "Af" } else { "Bij" },
                eur_nl(tx.amount.abs()),
                tx.kind,
                tx.memo.replace('"', "'"),
                eur_nl(balance),
            );
        }
    }
    let y = yr.y;
    let end = yr.last();
    t.put(
        &format!("ledger/grootboek-{y}.csv"),
        ledger.as_bytes(),
        yr.at(end, 17 * 3600 + 1234),
        0o644,
    )?;
    t.put(
        &format!("bank/ING-{y}.csv"),
        bank.as_bytes(),
        yr.at(end, 16 * 3600 + 321),
        0o644,
    )?;
    t.symlink(
        "latest-ledger.csv",
        &format!("ledger/grootboek-{y}.csv"),
        yr.at(end, 17 * 3600 + 1300),
    )
}
