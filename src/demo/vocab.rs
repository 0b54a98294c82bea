//! The words and numbers the sample documents are made of: the fictional
//! shop, names of people (Dutch and international, with diacritics), addresses,
//! products, stores and suppliers, IBANs with real check digits, and euro amounts.

use super::tree::Rng;

pub(super) const SHOP: &str = "Webwinkel Het Blauwe Huis B.V.";
pub(super) const SHOP_STREET: &str = "Lange Nieuwstraat 12";
pub(super) const SHOP_CITY: &str = "3512 PH Utrecht";
pub(super) const SHOP_KVK: &str = "71234567";
pub(super) const SHOP_BTW: &str = "NL858912345B01";
pub(super) const SHOP_IBAN: &str = "NL69INGB0123456789";
pub const SHOP_MAIL: &str = "klantenservice@hetblauwehuis.nl";
pub(super) const ACCOUNTANT: &str = "Boekhoudkantoor Van Dam & Partners";

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
pub(super) const PRODUCTS: &[(&str, i64)] = &[
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
pub(super) const COMPANIES: &[&str] = &[
    "Bakkerij De Korenschoof B.V.",
    "Caf\u{e9} 't Hoekje",
    "Kapsalon Knip & Zo",
    "Tandartspraktijk Oost",
    "Stichting Buurthuis De Linde",
];
#[rustfmt::skip]
pub(super) const PAYMENT_METHODS: &[&str] = &[
    "iDEAL", "iDEAL", "iDEAL", "iDEAL", "creditcard", "PayPal", "Bancontact",
    "Klarna (achteraf betalen)", "bankoverschrijving",
];
#[rustfmt::skip]
const MAIL_DOMAINS: &[&str] = &[
    "gmail.com", "hotmail.com", "outlook.com", "ziggo.nl", "kpnmail.nl", "live.nl", "xs4all.nl",
    "icloud.com", "telenet.be",
];
/// (store, ledger account, VAT percent)
pub(super) const STORES: &[(&str, u32, i64)] = &[
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
pub(super) const SUPPLIERS: &[(&str, &str, u32)] = &[
    ("Verpakkingsgroothandel De Doos", "RABO", 7000),
    ("Keramiekatelier Delft B.V.", "ABNA", 7000),
    ("Linnen & Zo", "INGB", 7000),
    ("Kaarsenmakerij Het Licht", "SNSB", 7000),
    ("Groothandel Van der Meer", "RABO", 7000),
    ("PostNL Pakketten", "INGB", 4600),
];

pub(super) fn account_name(code: u32) -> &'static str {
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

pub(super) struct Person {
    pub(super) first: &'static str,
    pub(super) tussen: &'static str,
    pub(super) last: &'static str,
}

impl Person {
    pub(super) fn random(rng: &mut Rng) -> Person {
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
    pub(super) fn full(&self) -> String {
        format!("{} {}{}", self.first, self.tussen, self.last)
    }
    /// "de Vries, Jan"
    pub(super) fn sorted(&self) -> String {
        format!("{}{}, {}", self.tussen, self.last, self.first)
    }
    pub(super) fn email(&self, rng: &mut Rng) -> String {
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

pub(super) fn nickname(first: &str) -> String {
    let stem: String = first.chars().take(3).collect();
    format!("{stem}je")
}

pub(super) fn address(rng: &mut Rng) -> (String, String, &'static str) {
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

pub(super) fn fold_char(c: char) -> Option<char> {
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
pub(super) fn iban(bank: &str, account: u64) -> String {
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

pub(super) fn random_iban(rng: &mut Rng) -> String {
    let bank = *rng.pick(&[
        "INGB", "ABNA", "RABO", "SNSB", "ASNB", "TRIO", "BUNQ", "KNAB",
    ]);
    iban(bank, rng.below(10_000_000_000))
}

pub(super) fn vat_incl(net: i64) -> i64 {
    net + (net * 21 + 50) / 100
}

/// 1234,56 (ledger and bank style).
pub(super) fn eur_nl(cents: i64) -> String {
    let sign = if cents < 0 { "-" } else { "" };
    format!("{sign}{},{:02}", cents.abs() / 100, cents.abs() % 100)
}

/// 1.234,56 (invoice style).
pub(super) fn eur_nl_th(cents: i64) -> String {
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
pub(super) fn eur_dot(cents: i64) -> String {
    let sign = if cents < 0 { "-" } else { "" };
    format!("{sign}{}.{:02}", cents.abs() / 100, cents.abs() % 100)
}

pub(super) fn bcrypt_like(rng: &mut Rng) -> String {
    const ALPHA: &[u8] = b"./ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let tail: String = (0..53).map(|_| *rng.pick(ALPHA) as char).collect();
    format!("$2b$12${tail}")
}
