//! Sales and purchases: one PDF invoice per sale (`invoices/INV-YYYY-NNNNNN.pdf`)
//! and a photographed receipt per purchase (`receipts/DATE bon STORE.jpg`). The
//! ledger, the bank statement and the mail are written from what these return.

use std::collections::BTreeSet;
use std::io;

use chrono::{Datelike, NaiveDateTime, TimeDelta};

use super::formats::{pdf_doc, random_jpeg};
use super::tree::{Rng, Tree, Year};
use super::vocab::{
    COMPANIES, PRODUCTS, Person, SHOP, SHOP_BTW, SHOP_CITY, SHOP_IBAN, SHOP_KVK, SHOP_STREET,
    STORES, address, eur_nl_th, random_iban,
};

pub(super) struct Sale {
    pub(super) number: String,
    pub(super) day: u32,
    pub(super) customer: String,
    pub(super) email: String,
    pub(super) iban: String,
    pub(super) net: i64,
    pub(super) vat: i64,
    pub(super) paid_day: u32,
    pub(super) pdf: Vec<u8>,
}

pub(super) fn gen_invoices(t: &mut Tree, yr: &Year, rng: &mut Rng) -> io::Result<Vec<Sale>> {
    let n = 130 + rng.below(30) as usize;
    let mut moments: Vec<NaiveDateTime> = (0..n)
        .map(|_| {
            let d = yr.rand_day(rng);
            yr.office(rng, d)
        })
        .collect();
    moments.sort_unstable();
    let mut sales = Vec::with_capacity(n);
    for (i, when) in moments.into_iter().enumerate() {
        let number = format!("INV-{}-{:06}", yr.y, i + 1);
        let day = when.ordinal0();
        let who = Person::random(rng);
        let company = (rng.below(3) == 0).then(|| *rng.pick(COMPANIES));
        let (street, pc, city) = address(rng);
        let mut lines = vec![
            SHOP.to_string(),
            format!("{SHOP_STREET}, {SHOP_CITY}"),
            format!("KvK {SHOP_KVK} - BTW-id {SHOP_BTW} - IBAN {SHOP_IBAN}"),
            String::new(),
            format!("FACTUUR {number}"),
            format!("Factuurdatum: {}", when.format("%d-%m-%Y")),
            format!(
                "Vervaldatum: {}",
                (when + TimeDelta::days(14)).format("%d-%m-%Y")
            ),
            String::new(),
        ];
        if let Some(c) = company {
            lines.push(c.to_string());
            lines.push(format!("t.a.v. {}", who.full()));
        } else {
            lines.push(who.full());
        }
        lines.push(street);
        lines.push(format!("{pc}  {}", city.to_uppercase()));
        lines.push(String::new());
        lines.push("Omschrijving | Aantal | Prijs excl. BTW | Bedrag".to_string());
        let mut net = 0;
        for _ in 0..1 + rng.below(5) {
            let (name, price) = *rng.pick(PRODUCTS);
            let qty = 1 + rng.below(4) as i64;
            net += qty * price;
            lines.push(format!(
                "{name} | {qty} | EUR {} | EUR {}",
                eur_nl_th(price),
                eur_nl_th(qty * price)
            ));
        }
        let vat = (net * 21 + 50) / 100;
        lines.push(String::new());
        lines.push(format!("Subtotaal excl. BTW: EUR {}", eur_nl_th(net)));
        lines.push(format!(
            "BTW 21% over EUR {}: EUR {}",
            eur_nl_th(net),
            eur_nl_th(vat)
        ));
        lines.push(format!("Totaal incl. BTW: EUR {}", eur_nl_th(net + vat)));
        lines.push(String::new());
        lines.push(format!(
            "Graag binnen 14 dagen overmaken op {SHOP_IBAN} o.v.v. {number}."
        ));
        let pdf = pdf_doc(&format!("Factuur {number}"), when, &lines, None);
        t.put(&format!("invoices/{number}.pdf"), &pdf, when, 0o644)?;
        sales.push(Sale {
            number,
            day,
            customer: company.map_or_else(|| who.full(), str::to_string),
            email: who.email(rng),
            iban: random_iban(rng),
            net,
            vat,
            paid_day: (day + 1 + rng.below(20) as u32).min(yr.last()),
            pdf,
        });
    }
    Ok(sales)
}

pub(super) struct Purchase {
    pub(super) when: NaiveDateTime,
    pub(super) store: &'static str,
    pub(super) account: u32,
    pub(super) rate: i64,
    pub(super) gross: i64,
}

pub(super) fn gen_receipts(t: &mut Tree, yr: &Year, rng: &mut Rng) -> io::Result<Vec<Purchase>> {
    let n = 40 + rng.below(10);
    let mut out: Vec<Purchase> = (0..n)
        .map(|_| {
            let day = yr.rand_day(rng);
            let (store, account, rate) = *rng.pick(STORES);
            Purchase {
                when: yr.at(day, 9 * 3600 + rng.below(11 * 3600) as u32),
                store,
                account,
                rate,
                gross: 250 + rng.below(15_000) as i64,
            }
        })
        .collect();
    out.sort_by_key(|p| p.when);
    let mut names = BTreeSet::new();
    for p in &out {
        let base = format!("receipts/{} bon {}", p.when.format("%Y-%m-%d"), p.store);
        let mut name = format!("{base}.jpg");
        let mut k = 2;
        while !names.insert(name.clone()) {
            name = format!("{base} ({k}).jpg");
            k += 1;
        }
        let len = 10 * 1024 + rng.below(50 * 1024 + 1) as usize;
        // The photo is taken a few minutes after paying.
        let taken = p.when + TimeDelta::seconds(60 + rng.below(600) as i64);
        let taken = taken.min(yr.at(yr.last(), 86_399));
        t.put(&name, &random_jpeg(rng, len), taken, 0o644)?;
    }
    Ok(out)
}
