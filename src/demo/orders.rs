//! The webshop's multi-year order export (`orders.csv`): the table `kluis
//! archive --table` splits by fiscal year, with the personal columns
//! (`password_hash`, `birth_date`) a minimising export drops.

use std::fs::{self, File};
use std::io::{self, BufWriter, Write as _};
use std::path::Path;

use chrono::{NaiveDate, TimeDelta};

use super::formats::csv_field;
use super::tree::{Rng, Year, invalid};
use super::vocab::{
    COMPANIES, PAYMENT_METHODS, PRODUCTS, Person, address, bcrypt_like, eur_dot, nickname, vat_incl,
};

/// Writes a multi-year webshop `orders.csv` export (comma-delimited, CRLF, RFC 4180 quoting)
/// with a few hundred orders per year from `first_year` to `last_year` inclusive, sorted by
/// date. Returns the number of data rows (header excluded).
///
/// Some fields need quoting: names like `de Vries, Jan` or `Jan "Jantje" Bakker`, streets with
/// a comma, and rarely a street with an embedded line break. Each year's rows depend only on
/// `(year, seed)`, not on the range requested. `password_hash` and `birth_date` are the columns a
/// minimising export should drop.
pub fn generate_orders_table(
    path: &Path,
    first_year: i32,
    last_year: i32,
    seed: u64,
) -> io::Result<u64> {
    if first_year > last_year {
        return Err(invalid("first_year is after last_year"));
    }
    let years = (first_year..=last_year)
        .map(Year::new)
        .collect::<io::Result<Vec<_>>>()?;
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        fs::create_dir_all(parent)?;
    }
    let mut out = BufWriter::new(File::create(path)?);
    out.write_all(
        b"order_id,order_date,customer_name,email,password_hash,birth_date,street,city,\
          total_eur,vat_eur,payment_method,marketing_opt_in\r\n",
    )?;
    let mut rows = 0u64;
    for yr in &years {
        let mut rng = Rng::new(seed ^ (yr.y as u64).wrapping_mul(0x9E37_79B9), "orders");
        let n = 300 + rng.below(200);
        let mut days: Vec<u32> = (0..n).map(|_| yr.rand_day(&mut rng)).collect();
        days.sort_unstable();
        for (i, day) in days.into_iter().enumerate() {
            let who = Person::random(&mut rng);
            let roll = rng.below(100);
            // The first order of every year is always a "Last, First" name, so quoting is certain.
            let name = if i == 0 || roll < 6 {
                who.sorted()
            } else if roll < 9 {
                format!(
                    "{} \"{}\" {}{}",
                    who.first,
                    nickname(who.first),
                    who.tussen,
                    who.last
                )
            } else if roll < 11 {
                format!("{}, t.a.v. {}", rng.pick(COMPANIES), who.full())
            } else {
                who.full()
            };
            let (mut street, _, city) = address(&mut rng);
            let s = rng.below(100);
            if s < 5 {
                street.push_str(", 2e verdieping");
            } else if s < 6 {
                street.push_str("\nachterom");
            }
            let mut total = 0;
            for _ in 0..1 + rng.below(4) {
                let (_, net) = *rng.pick(PRODUCTS);
                total += vat_incl(net) * (1 + rng.below(3) as i64);
            }
            if total < 5000 {
                total += 495; // shipping
            }
            let vat = (total * 21 + 60) / 121;
            let birth = NaiveDate::from_ymd_opt(1940 + rng.below(66) as i32, 1, 1).unwrap()
                + TimeDelta::days(rng.below(365) as i64);
            let fields = [
                format!("WB{}{:05}", yr.y, i + 1),
                yr.date(day).format("%Y-%m-%d").to_string(),
                name,
                who.email(&mut rng),
                bcrypt_like(&mut rng),
                birth.format("%Y-%m-%d").to_string(),
                street,
                city.to_string(),
                eur_dot(total),
                eur_dot(vat),
                rng.pick(PAYMENT_METHODS).to_string(),
                (rng.below(100) < 35).to_string(),
            ];
            let line: Vec<String> = fields.iter().map(|f| csv_field(f)).collect();
            out.write_all(line.join(",").as_bytes())?;
            out.write_all(b"\r\n")?;
            rows += 1;
        }
    }
    out.flush()?;
    Ok(rows)
}
