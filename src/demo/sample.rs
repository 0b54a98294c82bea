//! Built-in deterministic sample records for `kluis demo`: one fiscal year of a fictional Dutch webshop (plus a multi-year orders export), generated from (year, seed) alone.
//!
//! Same `(year, seed)` gives a byte-identical tree: names, contents, modes (unix) and mtimes
//! (whole seconds, UTC, inside the fiscal year). Randomness comes from a small splitmix64
//! generator in this module, so nothing here depends on an external crate's algorithm.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::fs::{self, File};
use std::io::{self, BufWriter, Write as _};
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use chrono::{Datelike, NaiveDate, NaiveDateTime, TimeDelta};

/// What [`generate_records`] created below the target directory (the directory itself not counted).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SampleSummary {
    /// Regular files.
    pub files: u64,
    /// Directories, including the empty one.
    pub dirs: u64,
    /// Symbolic links (one on unix, none elsewhere).
    pub symlinks: u64,
    /// Sum of regular file sizes.
    pub bytes: u64,
}

/// Writes one fiscal year of sample records into `dir`, which must be absent or empty.
///
/// About 2.5 MB in ~200–240 files: invoices, receipts, ledger and bank CSVs, mail, and a set of
/// deliberately awkward entries (unicode NFC/NFD, emoji, leading dash, long names and paths, deep
/// nesting, empty file and directory, 64 KiB boundary, modes 0600/0755, a relative symlink).
/// `year` must lie in 1000..=9999.
pub fn generate_records(dir: &Path, year: i32, seed: u64) -> io::Result<SampleSummary> {
    let yr = Year::new(year)?;
    prepare_empty_dir(dir)?;
    let mut t = Tree::new(dir);
    let sales = gen_invoices(&mut t, &yr, &mut Rng::new(seed, "invoices"))?;
    let purchases = gen_receipts(&mut t, &yr, &mut Rng::new(seed, "receipts"))?;
    gen_books(
        &mut t,
        &yr,
        &mut Rng::new(seed, "books"),
        &sales,
        &purchases,
    )?;
    gen_mail(&mut t, &yr, &mut Rng::new(seed, "mail"), &sales)?;
    gen_misc(&mut t, &yr, &mut Rng::new(seed, "misc"))?;
    t.finish(&yr)
}

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

// ---------------------------------------------------------------------------------------------
// Generator plumbing: PRNG, calendar, tree writer.

/// splitmix64; one independent stream per purpose so adding records to one kind
/// does not shift every other kind.
struct Rng(u64);

impl Rng {
    fn new(seed: u64, stream: &str) -> Rng {
        let mut h = 0xCBF2_9CE4_8422_2325u64; // FNV-1a of the stream name
        for b in stream.bytes() {
            h = (h ^ b as u64).wrapping_mul(0x0100_0000_01B3);
        }
        let mut r = Rng(seed ^ h.rotate_left(29));
        r.next_u64();
        r
    }
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// Uniform in `0..n` (n > 0).
    fn below(&mut self, n: u64) -> u64 {
        ((self.next_u64() as u128 * n as u128) >> 64) as u64
    }
    fn pick<'a, T>(&mut self, xs: &'a [T]) -> &'a T {
        &xs[self.below(xs.len() as u64) as usize]
    }
    fn fill(&mut self, buf: &mut [u8]) {
        for chunk in buf.chunks_mut(8) {
            let v = self.next_u64().to_le_bytes();
            chunk.copy_from_slice(&v[..chunk.len()]);
        }
    }
}

struct Year {
    y: i32,
    start: NaiveDate,
    days: u32,
}

impl Year {
    fn new(y: i32) -> io::Result<Year> {
        if !(1000..=9999).contains(&y) {
            return Err(invalid("year must be in 1000..=9999"));
        }
        let start = NaiveDate::from_ymd_opt(y, 1, 1).unwrap();
        let end = NaiveDate::from_ymd_opt(y + 1, 1, 1).unwrap();
        let days = (end - start).num_days() as u32;
        Ok(Year { y, start, days })
    }
    fn last(&self) -> u32 {
        self.days - 1
    }
    /// Day `day` (0-based, clamped to the year).
    fn date(&self, day: u32) -> NaiveDate {
        self.start + TimeDelta::days(day.min(self.last()) as i64)
    }
    fn at(&self, day: u32, secs: u32) -> NaiveDateTime {
        self.date(day).and_hms_opt(0, 0, 0).unwrap() + TimeDelta::seconds(secs.min(86_399) as i64)
    }
    fn rand_day(&self, rng: &mut Rng) -> u32 {
        rng.below(self.days as u64) as u32
    }
    /// A random moment between 08:00 and 18:00 on `day`.
    fn office(&self, rng: &mut Rng, day: u32) -> NaiveDateTime {
        self.at(day, 8 * 3600 + rng.below(10 * 3600) as u32)
    }
}

fn invalid(msg: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, msg.to_string())
}

fn prepare_empty_dir(dir: &Path) -> io::Result<()> {
    match fs::read_dir(dir) {
        Ok(mut entries) => {
            if entries.next().is_some() {
                return Err(io::Error::new(
                    io::ErrorKind::AlreadyExists,
                    format!("{} is not empty", dir.display()),
                ));
            }
            Ok(())
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => fs::create_dir_all(dir),
        Err(e) => Err(e),
    }
}

fn systime(t: NaiveDateTime) -> SystemTime {
    SystemTime::from(t.and_utc())
}

fn parent_of(rel: &str) -> &str {
    rel.rsplit_once('/').map_or("", |(p, _)| p)
}

/// Writes entries below `root` (relative paths with `/`) and fixes directory mtimes at the end.
struct Tree {
    root: PathBuf,
    dirs: BTreeSet<String>,
    fixed: BTreeMap<String, NaiveDateTime>,
    newest_child: BTreeMap<String, NaiveDateTime>,
    sum: SampleSummary,
}

impl Tree {
    fn new(root: &Path) -> Tree {
        Tree {
            root: root.to_path_buf(),
            dirs: BTreeSet::new(),
            fixed: BTreeMap::new(),
            newest_child: BTreeMap::new(),
            sum: SampleSummary::default(),
        }
    }

    fn ensure_dir(&mut self, rel: &str) -> io::Result<()> {
        if rel.is_empty() || self.dirs.contains(rel) {
            return Ok(());
        }
        self.ensure_dir(parent_of(rel))?;
        fs::create_dir(self.root.join(rel))?;
        self.dirs.insert(rel.to_string());
        self.sum.dirs += 1;
        Ok(())
    }

    fn note_child(&mut self, rel: &str, when: NaiveDateTime) {
        let e = self
            .newest_child
            .entry(parent_of(rel).to_string())
            .or_insert(when);
        *e = (*e).max(when);
    }

    fn put(&mut self, rel: &str, data: &[u8], when: NaiveDateTime, mode: u32) -> io::Result<()> {
        self.ensure_dir(parent_of(rel))?;
        let mut f = File::create_new(self.root.join(rel))?;
        f.write_all(data)?;
        f.set_modified(systime(when))?;
        set_mode(&f, mode)?;
        self.note_child(rel, when);
        self.sum.files += 1;
        self.sum.bytes += data.len() as u64;
        Ok(())
    }

    /// An (empty) directory with an explicit mtime.
    fn mkdir(&mut self, rel: &str, when: NaiveDateTime) -> io::Result<()> {
        self.ensure_dir(rel)?;
        self.fixed.insert(rel.to_string(), when);
        self.note_child(rel, when);
        Ok(())
    }

    /// A symlink; its own mtime is left alone, `when` only counts for the parent directory.
    fn symlink(&mut self, rel: &str, target: &str, when: NaiveDateTime) -> io::Result<()> {
        self.ensure_dir(parent_of(rel))?;
        #[cfg(unix)]
        {
            std::os::unix::fs::symlink(target, self.root.join(rel))?;
            self.note_child(rel, when);
            self.sum.symlinks += 1;
        }
        #[cfg(not(unix))]
        let _ = (target, when);
        Ok(())
    }

    /// Directory modes and mtimes, deepest first; a directory gets its newest child's time.
    fn finish(mut self, yr: &Year) -> io::Result<SampleSummary> {
        let mut order: Vec<String> = self.dirs.iter().cloned().collect();
        order.sort_by_key(|d| std::cmp::Reverse(d.matches('/').count()));
        let fallback = yr.at(0, 9 * 3600);
        for d in order {
            let when = self
                .fixed
                .get(&d)
                .or_else(|| self.newest_child.get(&d))
                .copied()
                .unwrap_or(fallback);
            self.note_child(&d, when);
            let path = self.root.join(&d);
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt;
                fs::set_permissions(&path, fs::Permissions::from_mode(0o755))?;
            }
            File::open(&path)?.set_modified(systime(when))?;
        }
        let when = self.newest_child.get("").copied().unwrap_or(fallback);
        File::open(&self.root)?.set_modified(systime(when))?;
        Ok(self.sum)
    }
}

fn set_mode(f: &File, mode: u32) -> io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        f.set_permissions(fs::Permissions::from_mode(mode))
    }
    #[cfg(not(unix))]
    {
        let _ = (f, mode);
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------------
// Vocabulary.

const SHOP: &str = "Webwinkel Het Blauwe Huis B.V.";
const SHOP_STREET: &str = "Lange Nieuwstraat 12";
const SHOP_CITY: &str = "3512 PH Utrecht";
const SHOP_KVK: &str = "71234567";
const SHOP_BTW: &str = "NL858912345B01";
const SHOP_IBAN: &str = "NL69INGB0123456789";
const SHOP_MAIL: &str = "klantenservice@hetblauwehuis.nl";
const ACCOUNTANT: &str = "Boekhoudkantoor Van Dam & Partners";

#[rustfmt::skip]
const FIRST: &[&str] = &[
    "Jan", "Pieter", "Daan", "Sem", "Lucas", "Levi", "Finn", "Milan", "Noah", "Bram", "Thijs",
    "Ruben", "Sanne", "Emma", "Julia", "Sophie", "Lotte", "Anouk", "Fleur", "Eva", "Lieke", "Iris",
    "Zo\u{eb}", "Chlo\u{eb}", "No\u{eb}l", "Ren\u{e9}e", "Dani\u{eb}l", "Ana\u{ef}s", "J\u{fc}rgen",
    "Bj\u{f6}rn", "S\u{f8}ren", "\u{c5}sa", "\u{141}ukasz", "Mehmet", "Ay\u{15f}e", "Fatima",
    "Mohammed", "In\u{ea}s", "Jos\u{e9}", "Fran\u{e7}ois", "H\u{e9}l\u{e8}ne", "Thuy", "Wiebren",
    "Sjoerd", "Geertje", "Kees", "Ingrid", "Marieke", "Henk", "Joost", "Femke", "Yara",
];
#[rustfmt::skip]
const TUSSEN: &[&str] = &[
    "", "", "", "", "", "de ", "van ", "van der ", "van den ", "van de ", "'t ", "ter ",
];
#[rustfmt::skip]
const LAST_NL: &[&str] = &[
    "Vries", "Jong", "Jansen", "Bakker", "Visser", "Smit", "Meijer", "Boer", "Mulder", "Groot",
    "Bos", "Vos", "Peters", "Hendriks", "Dijk", "Berg", "Dekker", "Brouwer", "Wit", "Dijkstra",
    "Graaf", "Leeuwen", "Linden", "Kok", "Haan", "Vermeulen", "Heuvel", "Veen", "Broek", "Hoekstra",
];
#[rustfmt::skip]
const LAST_INT: &[&str] = &[
    "\u{d6}l\u{e7}er", "Y\u{131}lmaz", "\u{d6}zt\u{fc}rk", "Kowalczyk", "M\u{fc}ller",
    "Sch\u{e4}fer", "Nguy\u{1ec5}n", "Gon\u{e7}alves", "N\u{fa}\u{f1}ez", "\u{d8}deg\u{e5}rd",
    "Lef\u{e8}vre", "\u{c7}elik", "Dvo\u{159}\u{e1}k", "El Amrani", "Fern\u{e1}ndez",
];
const CITIES: &[(&str, u32, u32)] = &[
    ("Amsterdam", 1011, 1109),
    ("Rotterdam", 3011, 3089),
    ("Den Haag", 2491, 2597),
    ("Utrecht", 3511, 3585),
    ("Eindhoven", 5611, 5658),
    ("Groningen", 9711, 9747),
    ("Tilburg", 5011, 5049),
    ("Breda", 4811, 4839),
    ("Nijmegen", 6511, 6546),
    ("'s-Hertogenbosch", 5211, 5237),
    ("Leeuwarden", 8911, 8941),
    ("Zwolle", 8011, 8048),
    ("Maastricht", 6211, 6229),
    ("Alphen aan den Rijn", 2401, 2409),
    ("S\u{fa}dwest-Frysl\u{e2}n", 8601, 8627),
    ("Haarlem", 2011, 2037),
    ("Amersfoort", 3811, 3829),
];
#[rustfmt::skip]
const STREETS: &[&str] = &[
    "Kerkstraat", "Dorpsstraat", "Stationsweg", "Molenweg", "Schoolstraat", "Julianalaan",
    "Prinses Beatrixlaan", "Van 't Hoffstraat", "Hoofdstraat", "Wilhelminastraat", "Oranjelaan",
    "Eikenlaan", "Markt", "Oudegracht", "H\u{e4}ndelstraat", "Pieter Cornelisz. Hooftstraat",
];
/// (name, unit price excl. VAT in cents)
const PRODUCTS: &[(&str, i64)] = &[
    ("Theepot Delfts blauw 1,2 l", 2895),
    ("Mok 'Blauwe Huis' 300 ml", 826),
    ("Servetten linnen (4 st.)", 1611),
    ("Geurkaars lavendel", 1235),
    ("Plaid wol grijs 130x170", 5367),
    ("Vaas keramiek hoog", 3301),
    ("Onderzetters kurk (6 st.)", 743),
    ("Ontbijtbord steengoed", 1028),
    ("Theedoek linnen", 817),
    ("Kussenhoes 45x45 oker", 2061),
    ("Cadeaubon", 2066),
    ("Fruitschaal eiken", 4128),
];
const COMPANIES: &[&str] = &[
    "Bakkerij De Korenschoof B.V.",
    "Caf\u{e9} 't Hoekje",
    "Kapsalon Knip & Zo",
    "Tandartspraktijk Oost",
    "Stichting Buurthuis De Linde",
];
#[rustfmt::skip]
const PAYMENT_METHODS: &[&str] = &[
    "iDEAL", "iDEAL", "iDEAL", "iDEAL", "creditcard", "PayPal", "Bancontact",
    "Klarna (achteraf betalen)", "bankoverschrijving",
];
#[rustfmt::skip]
const MAIL_DOMAINS: &[&str] = &[
    "gmail.com", "hotmail.com", "outlook.com", "ziggo.nl", "kpnmail.nl", "live.nl", "xs4all.nl",
    "icloud.com", "telenet.be",
];
/// (store, ledger account, VAT percent)
const STORES: &[(&str, u32, i64)] = &[
    ("Albert Heijn", 4520, 9),
    ("Jumbo", 4520, 9),
    ("Action", 4500, 21),
    ("HEMA", 4500, 21),
    ("Bruna", 4500, 21),
    ("Staples", 4500, 21),
    ("Shell", 4300, 21),
    ("BP", 4300, 21),
    ("NS", 4310, 9),
    ("PostNL", 4600, 21),
    ("Gamma", 4200, 21),
    ("Praxis", 4200, 21),
    ("Coolblue", 4510, 21),
    ("MediaMarkt", 4510, 21),
    ("IKEA", 4500, 21),
];
/// (supplier, bank code, account)
const SUPPLIERS: &[(&str, &str, u32)] = &[
    ("Verpakkingsgroothandel De Doos", "RABO", 7000),
    ("Keramiekatelier Delft B.V.", "ABNA", 7000),
    ("Linnen & Zo", "INGB", 7000),
    ("Kaarsenmakerij Het Licht", "SNSB", 7000),
    ("Groothandel Van der Meer", "RABO", 7000),
    ("PostNL Pakketten", "INGB", 4600),
];

fn account_name(code: u32) -> &'static str {
    match code {
        1100 => "Bank ING",
        1300 => "Debiteuren",
        1500 => "Af te dragen omzetbelasting",
        1510 => "Voorbelasting",
        4100 => "Huisvestingskosten",
        4200 => "Klein onderhoud",
        4300 => "Autokosten",
        4310 => "Reiskosten",
        4500 => "Kantoorkosten",
        4510 => "Automatiseringskosten",
        4520 => "Kantinekosten",
        4600 => "Verzendkosten",
        4800 => "Telefoon en internet",
        4900 => "Bankkosten",
        7000 => "Inkoopwaarde van de omzet",
        8000 => "Omzet hoog tarief",
        _ => "Overige",
    }
}

struct Person {
    first: &'static str,
    tussen: &'static str,
    last: &'static str,
}

impl Person {
    fn random(rng: &mut Rng) -> Person {
        let first = *rng.pick(FIRST);
        if rng.below(100) < 18 {
            let last = *rng.pick(LAST_INT);
            Person {
                first,
                tussen: "",
                last,
            }
        } else {
            let (tussen, last) = (*rng.pick(TUSSEN), *rng.pick(LAST_NL));
            Person {
                first,
                tussen,
                last,
            }
        }
    }
    fn full(&self) -> String {
        format!("{} {}{}", self.first, self.tussen, self.last)
    }
    /// "de Vries, Jan"
    fn sorted(&self) -> String {
        format!("{}{}, {}", self.tussen, self.last, self.first)
    }
    fn email(&self, rng: &mut Rng) -> String {
        let f = ascii_fold(self.first).to_lowercase();
        let l = ascii_fold(&format!("{}{}", self.tussen, self.last)).to_lowercase();
        let l: String = l.chars().filter(char::is_ascii_alphanumeric).collect();
        let f: String = f.chars().filter(char::is_ascii_alphanumeric).collect();
        let suffix = if rng.below(4) == 0 {
            (rng.below(90) + 10).to_string()
        } else {
            String::new()
        };
        format!("{f}.{l}{suffix}@{}", rng.pick(MAIL_DOMAINS))
    }
}

fn nickname(first: &str) -> String {
    let stem: String = first.chars().take(3).collect();
    format!("{stem}je")
}

fn address(rng: &mut Rng) -> (String, String, &'static str) {
    let street = format!("{} {}", rng.pick(STREETS), 1 + rng.below(180));
    let (city, lo, hi) = *rng.pick(CITIES);
    let letters = b"ABCDEGHJKLMNPRSTVWXZ";
    let pc = format!(
        "{} {}{}",
        lo as u64 + rng.below((hi - lo + 1) as u64),
        *rng.pick(letters) as char,
        *rng.pick(letters) as char
    );
    (street, pc, city)
}

const FOLD: &[(&str, char)] = &[
    ("\u{e0}\u{e1}\u{e2}\u{e3}\u{e4}\u{e5}\u{1eb7}", 'a'),
    ("\u{c0}\u{c1}\u{c2}\u{c3}\u{c4}\u{c5}", 'A'),
    ("\u{e7}\u{107}\u{10d}", 'c'),
    ("\u{c7}", 'C'),
    ("\u{e8}\u{e9}\u{ea}\u{eb}\u{11b}\u{1ec5}", 'e'),
    ("\u{ec}\u{ed}\u{ee}\u{ef}\u{131}", 'i'),
    ("\u{142}", 'l'),
    ("\u{141}", 'L'),
    ("\u{f1}", 'n'),
    ("\u{f2}\u{f3}\u{f4}\u{f5}\u{f6}\u{f8}", 'o'),
    ("\u{d6}\u{d8}", 'O'),
    ("\u{159}", 'r'),
    ("\u{15f}\u{161}", 's'),
    ("\u{f9}\u{fa}\u{fb}\u{fc}", 'u'),
];

fn fold_char(c: char) -> Option<char> {
    if c.is_ascii() {
        return Some(c);
    }
    FOLD.iter()
        .find(|(set, _)| set.contains(c))
        .map(|&(_, b)| b)
}

fn ascii_fold(s: &str) -> String {
    s.chars().filter_map(fold_char).collect()
}

/// IBAN with correct ISO 13616 check digits.
fn iban(bank: &str, account: u64) -> String {
    let bban = format!("{bank}{account:010}");
    let mut rem = 0u32;
    for c in bban.chars().chain("NL00".chars()) {
        let v = c.to_digit(36).unwrap_or(0);
        for d in v.to_string().chars() {
            rem = (rem * 10 + d.to_digit(10).unwrap_or(0)) % 97;
        }
    }
    format!("NL{:02}{bban}", 98 - rem)
}

fn random_iban(rng: &mut Rng) -> String {
    let bank = *rng.pick(&[
        "INGB", "ABNA", "RABO", "SNSB", "ASNB", "TRIO", "BUNQ", "KNAB",
    ]);
    iban(bank, rng.below(10_000_000_000))
}

fn vat_incl(net: i64) -> i64 {
    net + (net * 21 + 50) / 100
}

/// 1234,56 (ledger and bank style).
fn eur_nl(cents: i64) -> String {
    let sign = if cents < 0 { "-" } else { "" };
    format!("{sign}{},{:02}", cents.abs() / 100, cents.abs() % 100)
}

/// 1.234,56 (invoice style).
fn eur_nl_th(cents: i64) -> String {
    let units = (cents.abs() / 100).to_string();
    let mut grouped = String::new();
    for (i, c) in units.chars().enumerate() {
        if i > 0 && (units.len() - i).is_multiple_of(3) {
            grouped.push('.');
        }
        grouped.push(c);
    }
    let sign = if cents < 0 { "-" } else { "" };
    format!("{sign}{grouped},{:02}", cents.abs() % 100)
}

/// 1234.56 (export style).
fn eur_dot(cents: i64) -> String {
    let sign = if cents < 0 { "-" } else { "" };
    format!("{sign}{}.{:02}", cents.abs() / 100, cents.abs() % 100)
}

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\r', '\n']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

fn bcrypt_like(rng: &mut Rng) -> String {
    const ALPHA: &[u8] = b"./ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let tail: String = (0..53).map(|_| *rng.pick(ALPHA) as char).collect();
    format!("$2b$12${tail}")
}

fn base64(data: &[u8]) -> String {
    const A: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut s = String::with_capacity(data.len().div_ceil(3) * 4);
    for c in data.chunks(3) {
        let n = (c[0] as u32) << 16
            | (*c.get(1).unwrap_or(&0) as u32) << 8
            | *c.get(2).unwrap_or(&0) as u32;
        for i in 0..4 {
            if i <= c.len() {
                s.push(A[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                s.push('=');
            }
        }
    }
    s
}

/// Incompressible bytes framed as a JFIF JPEG (SOI/APP0 ... EOI).
fn random_jpeg(rng: &mut Rng, len: usize) -> Vec<u8> {
    let mut v = vec![0u8; len.max(24)];
    rng.fill(&mut v);
    let head = b"\xFF\xD8\xFF\xE0\x00\x10JFIF\x00\x01\x01\x00\x00\x48\x00\x48\x00\x00";
    v[..head.len()].copy_from_slice(head);
    let n = v.len();
    v[n - 2..].copy_from_slice(b"\xFF\xD9");
    v
}

// ---------------------------------------------------------------------------------------------
// Minimal PDF writer (correct xref offsets; Helvetica text; optional scanned-page image).

fn pdf_str(s: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '(' | ')' | '\\' => out.extend([b'\\', c as u8]),
            c if c.is_ascii_graphic() || c == ' ' => out.push(c as u8),
            c if (c as u32) >= 0xA0 && (c as u32) < 0x100 => {
                out.extend(format!("\\{:03o}", c as u32).bytes())
            }
            c => out.push(fold_char(c).unwrap_or('?') as u8),
        }
    }
    out
}

fn pdf_stream(extra: &str, data: &[u8]) -> Vec<u8> {
    let mut v = format!("<< /Length {}{extra} >>\nstream\n", data.len()).into_bytes();
    v.extend_from_slice(data);
    v.extend_from_slice(b"\nendstream");
    v
}

fn pdf_doc(title: &str, created: NaiveDateTime, lines: &[String], scan: Option<&[u8]>) -> Vec<u8> {
    let mut content = Vec::new();
    if scan.is_some() {
        content.extend_from_slice(b"q 595 0 0 842 0 0 cm /Im1 Do Q\n");
    }
    content.extend_from_slice(b"BT /F1 10 Tf 50 790 Td 14 TL\n");
    for l in lines {
        content.push(b'(');
        content.extend(pdf_str(l));
        content.extend_from_slice(b") Tj T*\n");
    }
    content.extend_from_slice(b"ET");
    let xobj = if scan.is_some() {
        " /XObject << /Im1 6 0 R >>"
    } else {
        ""
    };
    let mut objs = vec![
        b"<< /Type /Catalog /Pages 2 0 R >>".to_vec(),
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_vec(),
        format!(
            "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R \
             /Resources << /Font << /F1 5 0 R >>{xobj} >> >>"
        )
        .into_bytes(),
        pdf_stream("", &content),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>"
            .to_vec(),
    ];
    if let Some(img) = scan {
        objs.push(pdf_stream(
            " /Type /XObject /Subtype /Image /Width 1240 /Height 1754 /ColorSpace /DeviceRGB \
             /BitsPerComponent 8 /Filter /DCTDecode",
            img,
        ));
    }
    let mut info = b"<< /Title (".to_vec();
    info.extend(pdf_str(title));
    info.extend(
        format!(
            ") /Producer (Het Blauwe Huis facturatie 2.3) /CreationDate (D:{}Z) >>",
            created.format("%Y%m%d%H%M%S")
        )
        .bytes(),
    );
    objs.push(info);

    let mut out = b"%PDF-1.4\n%\xE2\xE3\xCF\xD3\n".to_vec();
    let mut offsets = Vec::with_capacity(objs.len());
    for (i, o) in objs.iter().enumerate() {
        offsets.push(out.len());
        out.extend(format!("{} 0 obj\n", i + 1).bytes());
        out.extend_from_slice(o);
        out.extend_from_slice(b"\nendobj\n");
    }
    let xref = out.len();
    out.extend(format!("xref\n0 {}\n0000000000 65535 f \n", objs.len() + 1).bytes());
    for off in offsets {
        out.extend(format!("{off:010} 00000 n \n").bytes());
    }
    out.extend(
        format!(
            "trailer\n<< /Size {} /Root 1 0 R /Info {} 0 R >>\nstartxref\n{xref}\n%%EOF\n",
            objs.len() + 1,
            objs.len()
        )
        .bytes(),
    );
    out
}

// ---------------------------------------------------------------------------------------------
// Record kinds.

struct Sale {
    number: String,
    day: u32,
    customer: String,
    email: String,
    iban: String,
    net: i64,
    vat: i64,
    paid_day: u32,
    pdf: Vec<u8>,
}

fn gen_invoices(t: &mut Tree, yr: &Year, rng: &mut Rng) -> io::Result<Vec<Sale>> {
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

struct Purchase {
    when: NaiveDateTime,
    store: &'static str,
    account: u32,
    rate: i64,
    gross: i64,
}

fn gen_receipts(t: &mut Tree, yr: &Year, rng: &mut Rng) -> io::Result<Vec<Purchase>> {
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

/// `ledger/grootboek-{year}.csv` (~2000 lines) and `bank/ING-{year}.csv`, consistent with the
/// invoices and receipts.
fn gen_books(
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
            let vat = (net * 21 + 50) / 100;
            let month = yr.date(first).format("%m-%Y");
            books.push(Booking {
                when: yr.at(first + 1, 6 * 3600),
                journal: "BNK",
                reference: None,
                desc: format!("{what} {month} {name}"),
                lines: vec![
                    (account, net, 0, "I21"),
                    (1510, vat, 0, "I21"),
                    (1100, 0, net + vat, ""),
                ],
                bank: Some(BankTx {
                    name: name.to_string(),
                    iban: acct_iban.clone(),
                    code: "IC",
                    kind: "Incasso",
                    amount: -(net + vat),
                    memo: format!("Omschrijving: {what} {month} Machtiging ID: HBH{m:02}"),
                }),
            });
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
            let vat = (net * 21 + 50) / 100;
            let inv = format!("{}{:05}", &name[..2].to_uppercase(), rng.below(100_000));
            let sup_iban = iban(bank, 1_000_000 + name.len() as u64 * 7_919);
            Booking {
                when,
                journal: "BNK",
                reference: None,
                desc: format!("Inkoopfactuur {inv} {name}"),
                lines: vec![
                    (account, net, 0, "I21"),
                    (1510, vat, 0, "I21"),
                    (1100, 0, net + vat, ""),
                ],
                bank: Some(BankTx {
                    name: name.to_string(),
                    iban: sup_iban.clone(),
                    code: "GT",
                    kind: "Online bankieren",
                    amount: -(net + vat),
                    memo: format!("Omschrijving: factuur {inv} IBAN: {sup_iban}"),
                }),
            }
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

fn gen_mail(t: &mut Tree, yr: &Year, rng: &mut Rng, sales: &[Sale]) -> io::Result<()> {
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

/// Annual documents and the deliberately awkward entries.
fn gen_misc(t: &mut Tree, yr: &Year, rng: &mut Rng) -> io::Result<()> {
    let y = yr.y;
    let end = yr.last();
    let at = |day: u32, h: u32| yr.at(day, h * 3600);

    // ~300 KB PDF: spans several 64 KiB chunks (scanned signed page + text).
    let scan_len = 290_000 + rng.below(20_000) as usize;
    let scan = random_jpeg(rng, scan_len);
    let lines: Vec<String> = (1..=40)
        .map(|i| format!("Jaarrekening {y} {SHOP} - toelichting regel {i}"))
        .collect();
    let jr = pdf_doc(
        &format!("Jaarrekening {y}"),
        at(end, 15),
        &lines,
        Some(&scan),
    );
    t.put(
        &format!("jaarstukken/Jaarrekening {y} definitief (v2).pdf"),
        &jr,
        at(end, 15),
        0o644,
    )?;
    let vpb = pdf_doc(
        "Aangifte vennootschapsbelasting",
        at(end, 14),
        &[format!("Aangifte Vpb {y} - concept - {SHOP}")],
        None,
    );
    t.put(
        &format!("jaarstukken/Aangifte Vpb {y} \u{2013} concept.pdf"),
        &vpb,
        at(end, 14),
        0o644,
    )?;

    // "Café" precomposed (NFC) and decomposed (NFD), same visible name, different folders.
    let huur = pdf_doc(
        "Huurcontract",
        at(2, 11),
        &["Huurcontract bedrijfsruimte".to_string()],
        None,
    );
    t.put(
        "contracten/Huurcontract Caf\u{e9} 't Hoekje.pdf",
        &huur,
        at(2, 11),
        0o644,
    )?;
    let kopie = pdf_doc(
        "Huurcontract (kopie per mail)",
        at(3, 10),
        &["Kopie huurcontract; bestandsnaam in NFD (e + U+0301)".to_string()],
        None,
    );
    t.put(
        "correspondence/Huurcontract Cafe\u{301} 't Hoekje.pdf",
        &kopie,
        at(3, 10),
        0o644,
    )?;
    t.put(
        "correspondence/\u{1F4E6} verzendlabels #1; lees mij!.txt",
        b"PostNL labels: zie de map scans.\n",
        at(40, 10),
        0o644,
    )?;
    t.put(
        "-begint-met-streepje.txt",
        b"Leading dash: a classic CLI foot-gun.\n",
        at(end, 10),
        0o644,
    )?;
    t.put("notities/leeg bestand.txt", b"", at(end, 9), 0o644)?;
    t.put(
        "notities/vraag: wat nu? *dringend*.txt",
        b"colon, question mark, asterisk: legal on Linux, not on exFAT/NTFS\n",
        at(end, 11),
        0o644,
    )?;
    t.put(
        "notities/ruimte  dubbel  en einde .txt",
        b"double spaces and a trailing space before the dot\n",
        at(end, 12),
        0o644,
    )?;
    let brief = pdf_doc(
        "Naheffingsaanslag",
        at(200, 10),
        &["Naheffingsaanslag omzetbelasting".to_string()],
        None,
    );
    t.put(
        &format!(
            "administratie/{y}/Belastingdienst/Brief van de Belastingdienst over naheffingsaanslag \
             omzetbelasting vierde kwartaal {} kenmerk 123456789B01.pdf",
            y - 1
        ),
        &brief,
        at(200, 10),
        0o644,
    )?;
    let deep: Vec<String> = (1..=8)
        .map(|i| format!("submap-niveau-{i:02}-met-een-lange-naam"))
        .collect();
    t.put(
        &format!("administratie/{}/diep.txt", deep.join("/")),
        b"path longer than 255 bytes, 9 directories deep\n",
        at(100, 10),
        0o644,
    )?;

    // Exactly one 64 KiB chunk: a little-endian TIFF scan.
    let mut tif = vec![0u8; 65_536];
    rng.fill(&mut tif);
    tif[..8].copy_from_slice(b"II*\x00\x08\x00\x00\x00");
    t.put("scans/scan-0001.tif", &tif, at(end - 1, 10), 0o644)?;
    t.mkdir("scans/nog te verwerken", at(1, 9))?;

    t.put(
        "scripts/export-naar-accountant.sh",
        format!(
            "#!/bin/sh\nset -eu\ncp \"ledger/grootboek-{y}.csv\" \"bank/ING-{y}.csv\" \"$1\"\n"
        )
        .as_bytes(),
        at(end, 8),
        0o755,
    )?;
    let token: String = (0..30)
        .map(|_| {
            *rng.pick(b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789") as char
        })
        .collect();
    t.put(
        "scripts/api-token-mollie.txt",
        format!("live_{token}\n").as_bytes(),
        at(end, 8),
        0o600,
    )
}

// ---------------------------------------------------------------------------------------------

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;
    use std::time::UNIX_EPOCH;

    #[derive(Debug, PartialEq, Eq)]
    struct Entry {
        kind: char,
        mode: u32,
        mtime: Option<SystemTime>,
        data: Vec<u8>,
    }

    fn snapshot(root: &Path) -> BTreeMap<String, Entry> {
        fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<String, Entry>) {
            for e in fs::read_dir(dir).unwrap() {
                let p = e.unwrap().path();
                let md = fs::symlink_metadata(&p).unwrap();
                let rel = p.strip_prefix(root).unwrap().to_str().unwrap().to_string();
                let mode = md.permissions().mode() & 0o7777;
                let entry = if md.file_type().is_symlink() {
                    let target = fs::read_link(&p).unwrap();
                    Entry {
                        kind: 'l',
                        mode: 0,
                        mtime: None,
                        data: target.into_os_string().into_encoded_bytes(),
                    }
                } else if md.is_dir() {
                    walk(root, &p, out);
                    Entry {
                        kind: 'd',
                        mode,
                        mtime: Some(md.modified().unwrap()),
                        data: vec![],
                    }
                } else {
                    Entry {
                        kind: 'f',
                        mode,
                        mtime: Some(md.modified().unwrap()),
                        data: fs::read(&p).unwrap(),
                    }
                };
                out.insert(rel, entry);
            }
        }
        let mut out = BTreeMap::new();
        walk(root, root, &mut out);
        out
    }

    fn year_bounds(y: i32) -> (SystemTime, SystemTime) {
        let s = |y| {
            systime(
                NaiveDate::from_ymd_opt(y, 1, 1)
                    .unwrap()
                    .and_hms_opt(0, 0, 0)
                    .unwrap(),
            )
        };
        (s(y), s(y + 1))
    }

    #[test]
    fn deterministic_tree() {
        let a = tempfile::tempdir().unwrap();
        let b = tempfile::tempdir().unwrap();
        let out_a = a.path().join("out"); // absent
        let sa = generate_records(&out_a, 2019, 7).unwrap();
        let sb = generate_records(b.path(), 2019, 7).unwrap(); // existing, empty
        assert_eq!(sa, sb);
        let (ta, tb) = (snapshot(&out_a), snapshot(b.path()));
        assert_eq!(ta.keys().collect::<Vec<_>>(), tb.keys().collect::<Vec<_>>());
        for (k, v) in &ta {
            assert_eq!(v, &tb[k], "{k}");
        }
        assert_eq!(
            fs::metadata(&out_a).unwrap().modified().unwrap(),
            fs::metadata(b.path()).unwrap().modified().unwrap()
        );
        let count = |c| ta.values().filter(|e| e.kind == c).count() as u64;
        assert_eq!(
            (count('f'), count('d'), count('l')),
            (sa.files, sa.dirs, sa.symlinks)
        );
        let bytes: u64 = ta
            .values()
            .filter(|e| e.kind == 'f')
            .map(|e| e.data.len() as u64)
            .sum();
        assert_eq!(bytes, sa.bytes);

        let c = tempfile::tempdir().unwrap();
        generate_records(c.path(), 2019, 8).unwrap();
        let tc = snapshot(c.path());
        let inv = "invoices/INV-2019-000001.pdf";
        assert!(!tc.contains_key(inv) || tc[inv].data != ta[inv].data);
    }

    #[test]
    fn awkward_entries_exist() {
        let d = tempfile::tempdir().unwrap();
        generate_records(d.path(), 2019, 1).unwrap();
        let t = snapshot(d.path());
        let inv = &t["invoices/INV-2019-000123.pdf"].data;
        assert!(inv.starts_with(b"%PDF-1.4") && inv.ends_with(b"%%EOF\n"));
        assert!(inv.windows(7).any(|w| w == b"BTW 21%"));
        assert!(t.values().any(|e| e.kind == 'f' && e.data.len() == 65_536));
        assert_eq!(t["scans/scan-0001.tif"].data.len(), 65_536);
        assert!(
            t.values()
                .any(|e| e.kind == 'f' && e.data.len() > 4 * 65_536)
        );
        assert!(t.keys().any(|k| k.split('/').any(|c| c.len() > 100)));
        assert!(
            t.keys()
                .any(|k| k.len() > 255 && d.path().join(k).is_file())
        );
        assert!(t.keys().any(|k| k.matches('/').count() >= 8));
        assert!(t.values().any(|e| e.kind == 'f' && e.data.is_empty()));
        assert!(
            t.iter()
                .any(|(k, e)| e.kind == 'd' && !t.keys().any(|o| o.starts_with(&format!("{k}/"))))
        );
        assert_eq!(t["latest-ledger.csv"].kind, 'l');
        assert_eq!(t["latest-ledger.csv"].data, b"ledger/grootboek-2019.csv");
        assert!(d.path().join("latest-ledger.csv").is_file());
        assert_eq!(t["scripts/api-token-mollie.txt"].mode, 0o600);
        assert_eq!(t["scripts/export-naar-accountant.sh"].mode, 0o755);
        assert!(t.contains_key("contracten/Huurcontract Caf\u{e9} 't Hoekje.pdf"));
        assert!(t.contains_key("correspondence/Huurcontract Cafe\u{301} 't Hoekje.pdf"));
        assert!(t.keys().any(|k| k.contains('\u{1F4E6}')));
        assert!(t.contains_key("-begint-met-streepje.txt"));
        let receipts: Vec<_> = t
            .iter()
            .filter(|(k, e)| k.starts_with("receipts/") && e.kind == 'f')
            .collect();
        assert!(receipts.len() >= 40);
        for (k, e) in receipts {
            assert!(k.ends_with(".jpg") && k.contains(" bon "), "{k}");
            assert!(
                e.data.starts_with(b"\xFF\xD8") && (10 * 1024..=60 * 1024).contains(&e.data.len())
            );
        }
        let ledger = std::str::from_utf8(&t["ledger/grootboek-2019.csv"].data)
            .unwrap()
            .to_string();
        let n = ledger.lines().count();
        assert!((1900..=2200).contains(&n), "{n}");
        assert!(ledger.lines().all(|l| l.matches(';').count() == 8));
        let bank = std::str::from_utf8(&t["bank/ING-2019.csv"].data)
            .unwrap()
            .to_string();
        assert!(bank.starts_with("\"Datum\";\"Naam / Omschrijving\""));
        assert!(t.keys().filter(|k| k.ends_with(".eml")).count() >= 5);
    }

    #[test]
    fn size_counts_and_mtimes() {
        for (year, seed) in [(2019, 1), (2020, 2), (2023, 99), (1999, 12345)] {
            let d = tempfile::tempdir().unwrap();
            let s = generate_records(d.path(), year, seed).unwrap();
            assert!((2_000_000..=4_000_000).contains(&s.bytes), "{s:?}");
            assert!((150..=300).contains(&s.files), "{s:?}");
            assert_eq!(s.symlinks, 1);
            let (lo, hi) = year_bounds(year);
            let mut all: Vec<(String, SystemTime)> = snapshot(d.path())
                .into_iter()
                .filter_map(|(k, e)| e.mtime.map(|m| (k, m)))
                .collect();
            all.push((
                ".".into(),
                fs::metadata(d.path()).unwrap().modified().unwrap(),
            ));
            for (k, m) in all {
                assert!(m >= lo && m < hi, "{k} {m:?}");
                assert_eq!(
                    m.duration_since(UNIX_EPOCH).unwrap().subsec_nanos(),
                    0,
                    "{k}"
                );
            }
        }
    }

    #[test]
    fn refuses_non_empty_dir_and_bad_year() {
        let d = tempfile::tempdir().unwrap();
        fs::write(d.path().join("x"), b"x").unwrap();
        assert!(generate_records(d.path(), 2019, 1).is_err());
        assert!(generate_records(&d.path().join("y"), 99, 1).is_err());
    }

    /// Minimal RFC 4180 reader for the tests.
    fn parse_csv(s: &str) -> Vec<Vec<String>> {
        let (mut rows, mut row, mut field) = (vec![], vec![], String::new());
        let (mut quoted, mut chars) = (false, s.chars().peekable());
        while let Some(c) = chars.next() {
            match (quoted, c) {
                (true, '"') if chars.peek() == Some(&'"') => {
                    chars.next();
                    field.push('"');
                }
                (true, '"') => quoted = false,
                (true, c) => field.push(c),
                (false, '"') => quoted = true,
                (false, ',') => row.push(std::mem::take(&mut field)),
                (false, '\r') => {}
                (false, '\n') => {
                    row.push(std::mem::take(&mut field));
                    rows.push(std::mem::take(&mut row));
                }
                (false, c) => field.push(c),
            }
        }
        rows
    }

    #[test]
    fn orders_table() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("export/orders.csv");
        let n = generate_orders_table(&p, 2017, 2021, 3).unwrap();
        let text = fs::read_to_string(&p).unwrap();
        assert!(text.starts_with(
            "order_id,order_date,customer_name,email,password_hash,birth_date,street,city,\
             total_eur,vat_eur,payment_method,marketing_opt_in\r\n"
        ));
        assert!(text.contains("\"") && text.contains("\"\""));
        let rows = parse_csv(&text);
        assert_eq!(rows.len() as u64, n + 1);
        assert!(rows.iter().all(|r| r.len() == 12));
        for y in 2017..=2021 {
            let c = rows[1..]
                .iter()
                .filter(|r| r[1].starts_with(&format!("{y}-")))
                .count();
            assert!((300..500).contains(&c), "{y}: {c}");
        }
        assert!(
            rows[1..]
                .iter()
                .all(|r| r[1].len() == 10 && r[1][..4].parse::<i32>().is_ok())
        );
        assert!(rows[1..].iter().any(|r| r[2].contains(',')));
        // Per-year rows do not depend on the requested range; whole file is reproducible.
        let q = d.path().join("one.csv");
        generate_orders_table(&q, 2019, 2019, 3).unwrap();
        let one = parse_csv(&fs::read_to_string(&q).unwrap());
        let from_range: Vec<_> = rows[1..]
            .iter()
            .filter(|r| r[1].starts_with("2019-"))
            .collect();
        assert_eq!(one[1..].iter().collect::<Vec<_>>(), from_range);
        let r = d.path().join("again.csv");
        generate_orders_table(&r, 2017, 2021, 3).unwrap();
        assert_eq!(fs::read(&p).unwrap(), fs::read(&r).unwrap());
    }
}
