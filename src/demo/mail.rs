//! Correspondence as `.eml` files (RFC 5322, MIME): a customer asking about the
//! invoice the inspector later wants, the shop's reply with that invoice
//! attached, a return, a quotation, and the accountant's reminders.

use std::fmt::Write as _;
use std::io;

use chrono::{Datelike, NaiveDate, NaiveDateTime};

use super::documents::Sale;
use super::formats::base64;
use super::tree::{Rng, Tree, Year, invalid};
use super::vocab::{ACCOUNTANT, Person, SHOP, SHOP_MAIL, eur_nl_th};

struct Mail {
    file: String,
    from: String,
    to: String,
    subject: String,
    when: NaiveDateTime,
    body: String,
    attachment: Option<(String, Vec<u8>)>,
}

fn header_text(s: &str) -> String {
    if s.is_ascii() {
        s.to_string()
    } else {
        format!("=?UTF-8?B?{}?=", base64(s.as_bytes()))
    }
}

fn eml(m: &Mail, rng: &mut Rng) -> Vec<u8> {
    let mut s = String::new();
    let id = rng.next_u64();
    let _ = write!(
        s,
        "From: {}\r\nTo: {}\r\nSubject: {}\r\nDate: {}\r\nMessage-ID: <{id:016x}@hetblauwehuis.nl>\r\n\
         MIME-Version: 1.0\r\n",
        header_text(&m.from),
        header_text(&m.to),
        header_text(&m.subject),
        m.when.and_utc().to_rfc2822(),
    );
    let body = m.body.replace('\n', "\r\n");
    match &m.attachment {
        None => {
            let _ = write!(
                s,
                "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n{body}\r\n"
            );
        }
        Some((name, data)) => {
            let boundary = format!("=_hbh_{:012x}", rng.next_u64() >> 16);
            let _ = write!(
                s,
                "Content-Type: multipart/mixed; boundary=\"{boundary}\"\r\n\r\n\
                 --{boundary}\r\nContent-Type: text/plain; charset=utf-8\r\n\
                 Content-Transfer-Encoding: 8bit\r\n\r\n{body}\r\n\
                 --{boundary}\r\nContent-Type: application/pdf; name=\"{name}\"\r\n\
                 Content-Disposition: attachment; filename=\"{name}\"\r\n\
                 Content-Transfer-Encoding: base64\r\n\r\n"
            );
            let b64 = base64(data);
            for chunk in b64.as_bytes().chunks(76) {
                s.push_str(std::str::from_utf8(chunk).unwrap_or_default());
                s.push_str("\r\n");
            }
            let _ = write!(s, "--{boundary}--\r\n");
        }
    }
    s.into_bytes()
}

pub(super) fn gen_mail(t: &mut Tree, yr: &Year, rng: &mut Rng, sales: &[Sale]) -> io::Result<()> {
    let y = yr.y;
    let shop = format!("Het Blauwe Huis <{SHOP_MAIL}>");
    let s = &sales[122]; // INV-{year}-000123: the one the inspector asks for
    let asked = (s.day + 3).min(yr.last() - 1);
    let ret = Person::random(rng);
    let ret_day = yr.rand_day(rng);
    let mails = [
        Mail {
            file: format!(
                "{} Vraag over factuur {}",
                yr.date(asked).format("%Y-%m-%d"),
                s.number
            ),
            from: format!("{} <{}>", s.customer, s.email),
            to: shop.clone(),
            subject: format!("Vraag over factuur {}", s.number),
            when: yr.office(rng, asked),
            body: format!(
                "Goedemiddag,\n\nIk kan de factuur {} niet terugvinden. Kunt u hem nog een keer \
                 sturen? Het totaalbedrag was volgens mij EUR {}.\n\nMet vriendelijke groet,\n{}\n",
                s.number,
                eur_nl_th(s.net + s.vat),
                s.customer
            ),
            attachment: None,
        },
        Mail {
            file: format!(
                "{} Re Vraag over factuur {}",
                yr.date(asked + 1).format("%Y-%m-%d"),
                s.number
            ),
            from: shop.clone(),
            to: format!("{} <{}>", s.customer, s.email),
            subject: format!("Re: Vraag over factuur {}", s.number),
            when: yr.office(rng, asked + 1),
            body: format!(
                "Beste klant,\n\nIn de bijlage vindt u factuur {} opnieuw.\n\nMet vriendelijke groet,\n\
                 Klantenservice {SHOP}\n",
                s.number
            ),
            attachment: Some((format!("{}.pdf", s.number), s.pdf.clone())),
        },
        Mail {
            file: format!(
                "{} Retour bestelling verkeerde maat",
                yr.date(ret_day).format("%Y-%m-%d")
            ),
            from: format!("{} <{}>", ret.full(), ret.email(rng)),
            to: shop.clone(),
            subject: "Retour bestelling \u{2013} verkeerde maat".to_string(),
            when: yr.office(rng, ret_day),
            body: format!(
                "Hallo,\n\nDe plaid is mooi, maar te groot. Mag ik hem ruilen?\n\nGroet,\n{}\n",
                ret.first
            ),
            attachment: None,
        },
        Mail {
            file: format!("{y}-04-0{} Offerte verpakkingsmateriaal", 2 + rng.below(7)),
            from: "Verpakkingsgroothandel De Doos <verkoop@dedoos.nl>".to_string(),
            to: shop.clone(),
            subject: format!("Offerte verpakkingsmateriaal {y}"),
            when: NaiveDateTime::default(), // set below from the file date
            body: "Geachte heer/mevrouw,\n\nHierbij onze offerte: 2.000 verzenddozen A4 \
                   \u{e0} EUR 0,38 excl. BTW.\n\nMet vriendelijke groet,\nAfdeling verkoop\n"
                .to_string(),
            attachment: None,
        },
        Mail {
            file: format!(
                "{y}-10-1{} Herinnering aangifte omzetbelasting Q3",
                rng.below(8)
            ),
            from: format!("{ACCOUNTANT} <info@vandampartners.nl>"),
            to: shop.clone(),
            subject: format!("Herinnering: aangifte omzetbelasting Q3 {y}"),
            when: NaiveDateTime::default(),
            body: "Beste ondernemer,\n\nDe aangifte over het derde kwartaal moet uiterlijk \
                   31 oktober binnen zijn. Wilt u de bankmutaties aanleveren?\n\nGroet,\nMarloes\n"
                .to_string(),
            attachment: None,
        },
        Mail {
            file: format!(
                "{y}-12-1{} Jaarafsluiting {y} aan te leveren stukken",
                rng.below(8)
            ),
            from: format!("{ACCOUNTANT} <info@vandampartners.nl>"),
            to: shop.clone(),
            subject: format!("Jaarafsluiting {y} \u{2013} aan te leveren stukken"),
            when: NaiveDateTime::default(),
            body: format!(
                "Beste ondernemer,\n\nVoor de jaarrekening {y} ontvangen wij graag: grootboek, \
                 bankafschriften, de voorraadtelling per 31-12 en alle bonnetjes.\n\n\
                 Met vriendelijke groet,\n{ACCOUNTANT}\n"
            ),
            attachment: None,
        },
    ];
    for mut m in mails {
        if m.when == NaiveDateTime::default() {
            let d = NaiveDate::parse_from_str(&m.file[..10], "%Y-%m-%d")
                .map_err(|e| invalid(&e.to_string()))?;
            m.when = yr.office(rng, d.ordinal0());
        }
        let data = eml(&m, rng);
        t.put(
            &format!("correspondence/{}.eml", m.file),
            &data,
            m.when,
            0o644,
        )?;
    }
    Ok(())
}
