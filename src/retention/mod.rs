//! Retention policy: fiscal years, retention periods, the legal presets and the date arithmetic that turns them into an archive's retention end. Pure: no I/O, no clock.
//!
//! # The rule
//!
//! An archive of fiscal year `Y` and record class `C` must be kept until its
//! *retention end*, the last day it must still exist:
//!
//! ```text
//! counting_end  = last day of fiscal year Y
//!                 (or 31 December of the calendar year in which it ends,
//!                  for presets with `count_from_calendar_year_end`)
//! retention_end = (counting_end + 1 day) + period − 1 day
//! ```
//!
//! Months are added by calendar: the period runs from the first day after
//! `counting_end` to the day before the same day-of-month `period` months
//! later. When that day does not exist in the target month (counting starts
//! on 31 January, plus one month) the period ends on the last day of the
//! target month instead, never a day earlier. With fiscal years starting on
//! the 1st of a month, counting always starts on the 1st and this case
//! cannot occur.
//!
//! Destruction is allowed from the day after the retention end
//! ([`is_due`]); a hold, which lives in the catalog, suspends it regardless.
//!
//! Worked examples (see the tests for more):
//! - FY2019, calendar year, 7 years: 2019-12-31 → 2020-01-01 + 84 months
//!   = 2027-01-01 → **2026-12-31**.
//! - FY ending 2019-08-31, 6 months: 2019-09-01 + 6 months = 2020-03-01 →
//!   **2020-02-29** (2020 is a leap year).
//!
//! The retention end is computed once, when an archive is written, and stored
//! in it; changing the policy later never shortens an existing archive.
//!
//! Its tests (the date tables: leap days, fiscal years not starting in
//! January, every preset) are in `tests.rs` beside it.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use chrono::{Datelike, Months, NaiveDate};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use thiserror::Error;

/// Why a retention setting or lookup was refused.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum RetentionError {
    #[error("Unknown retention preset `{name}`: use one of {}.", .known.join(", "))]
    UnknownPreset { name: String, known: Vec<String> },

    #[error(
        "Unknown record class `{class}`: use one of {}, or add it under [retention.classes] in the vault config.",
        .known.join(", ")
    )]
    UnknownClass { class: String, known: Vec<String> },

    #[error(
        "Cannot read retention period `{text}`: write a whole number of years or months between 1 month and {} years, e.g. \"7 years\" or \"6 months\".",
        MAX_PERIOD_YEARS
    )]
    BadPeriod { text: String },

    #[error(
        "Cannot read fiscal-year start `{text}`: write it as MM-DD, e.g. \"07-01\" for 1 July (29 February is not allowed because not every year has it)."
    )]
    BadFiscalYearStart { text: String },

    #[error(
        "Record class name `{name}` is not allowed: use lowercase letters, digits and dashes, starting with a letter, at most {} characters.",
        MAX_CLASS_NAME_LEN
    )]
    BadClassName { name: String },

    #[error(
        "Fiscal year {year} is out of range: use a year from {} to {}.",
        MIN_YEAR,
        MAX_YEAR
    )]
    YearOutOfRange { year: i32 },
}

/// The fiscal years kluis computes with. The bounds keep every retention end,
/// even of a 100-year period counted from a calendar year end, within four
/// digits, as iCalendar and ISO 8601 dates need.
pub const MIN_YEAR: i32 = 1000;
/// See [`MIN_YEAR`].
pub const MAX_YEAR: i32 = 9800;

/// The longest retention period accepted. Far beyond any legal period; it
/// exists so that a typo such as "7000 years" is refused, not stored.
pub const MAX_PERIOD_YEARS: u32 = 100;

/// Class names end up in archive file names (`2019-financial.kluis`), so they
/// are kept short and path-safe.
pub const MAX_CLASS_NAME_LEN: usize = 32;

// ---------------------------------------------------------------------------
// Fiscal year
// ---------------------------------------------------------------------------

/// The month and day on which every fiscal year starts; 1 January by default.
///
/// Construct it with [`FiscalYearStart::new`] or by parsing "MM-DD"; a value
/// built from the public fields must still be a valid day other than 29
/// February, or [`fiscal_year_range`] panics.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FiscalYearStart {
    pub month: u32,
    pub day: u32,
}

impl FiscalYearStart {
    /// 1 January: the fiscal year is the calendar year.
    pub const JANUARY_1: FiscalYearStart = FiscalYearStart { month: 1, day: 1 };

    /// # Errors
    /// [`RetentionError::BadFiscalYearStart`] if the month and day do not form
    /// a date that exists in every year.
    pub fn new(month: u32, day: u32) -> Result<Self, RetentionError> {
        // 29 February is refused: fiscal year Y starts on this day in calendar
        // year Y, and in three years out of four there is no such day. Such a
        // business has its year start on 1 March or end on 28 February.
        // 2021 is not a leap year, so it accepts exactly the always-valid days.
        if NaiveDate::from_ymd_opt(2021, month, day).is_some() {
            Ok(FiscalYearStart { month, day })
        } else {
            Err(RetentionError::BadFiscalYearStart {
                text: format!("{month:02}-{day:02}"),
            })
        }
    }
}

impl Default for FiscalYearStart {
    fn default() -> Self {
        Self::JANUARY_1
    }
}

impl fmt::Display for FiscalYearStart {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:02}-{:02}", self.month, self.day)
    }
}

impl FromStr for FiscalYearStart {
    type Err = RetentionError;

    /// Accepts "MM-DD" and the ISO 8601 month-day form "--MM-DD".
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let bad = || RetentionError::BadFiscalYearStart {
            text: text.to_owned(),
        };
        let trimmed = text.trim();
        let md = trimmed.strip_prefix("--").unwrap_or(trimmed);
        let (m, d) = md.split_once('-').ok_or_else(bad)?;
        let two_digits = |s: &str| s.len() == 2 && s.bytes().all(|b| b.is_ascii_digit());
        if !two_digits(m) || !two_digits(d) {
            return Err(bad());
        }
        let (month, day) = (m.parse().map_err(|_| bad())?, d.parse().map_err(|_| bad())?);
        FiscalYearStart::new(month, day).map_err(|_| bad())
    }
}

impl Serialize for FiscalYearStart {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for FiscalYearStart {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// First and last day of fiscal year `year`: it starts on `start` in calendar
/// year `year` and ends the day before the next start. With a 1 July start,
/// FY2019 is 2019-07-01..=2020-06-30.
///
/// # Panics
/// If `start` is not a valid [`FiscalYearStart`] (built from bad public
/// fields) or `year` is outside [`MIN_YEAR`]..=[`MAX_YEAR`]. [`Policy`] checks
/// the year and returns an error instead.
pub fn fiscal_year_range(year: i32, start: FiscalYearStart) -> (NaiveDate, NaiveDate) {
    assert!(
        (MIN_YEAR..=MAX_YEAR).contains(&year),
        "fiscal year {year} out of range"
    );
    let first = |y| {
        NaiveDate::from_ymd_opt(y, start.month, start.day)
            .unwrap_or_else(|| panic!("invalid fiscal-year start {start}"))
    };
    let next = first(year + 1);
    (first(year), next.pred_opt().expect("in range"))
}

// ---------------------------------------------------------------------------
// Period
// ---------------------------------------------------------------------------

/// A retention period, a whole number of months (a year is 12 months), from
/// 1 month to [`MAX_PERIOD_YEARS`] years.
///
/// Parses "7y", "7 years", "1 year", "6m", "6 months", "18 months"
/// (case-insensitive); displays as "7 years", "1 year", "6 months", "18
/// months"; serialises as that string.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Period {
    months: u32,
}

impl Period {
    /// # Panics
    /// If `months` is 0 or more than [`MAX_PERIOD_YEARS`] years; for periods
    /// from users, parse a string instead.
    pub const fn months(months: u32) -> Period {
        assert!(months >= 1 && months <= MAX_PERIOD_YEARS * 12);
        Period { months }
    }

    /// # Panics
    /// As [`Period::months`].
    pub const fn years(years: u32) -> Period {
        assert!(years >= 1 && years <= MAX_PERIOD_YEARS);
        Period { months: years * 12 }
    }

    /// The period as a number of months.
    pub const fn total_months(self) -> u32 {
        self.months
    }
}

impl fmt::Display for Period {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (n, unit) = if self.months.is_multiple_of(12) {
            (self.months / 12, "year")
        } else {
            (self.months, "month")
        };
        let plural = if n == 1 { "" } else { "s" };
        write!(f, "{n} {unit}{plural}")
    }
}

impl FromStr for Period {
    type Err = RetentionError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let bad = || RetentionError::BadPeriod {
            text: text.to_owned(),
        };
        let t = text.trim();
        let digits = t.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return Err(bad());
        }
        let n: u32 = t[..digits].parse().map_err(|_| bad())?;
        let per_unit = match t[digits..].trim_start().to_ascii_lowercase().as_str() {
            "y" | "year" | "years" => 12,
            "m" | "month" | "months" => 1,
            _ => return Err(bad()),
        };
        let months = n.checked_mul(per_unit).ok_or_else(bad)?;
        if months == 0 || months > MAX_PERIOD_YEARS * 12 {
            return Err(bad());
        }
        Ok(Period { months })
    }
}

impl Serialize for Period {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Period {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

// ---------------------------------------------------------------------------
// Date arithmetic
// ---------------------------------------------------------------------------

/// `date` plus `months` calendar months; a day that does not exist in the
/// target month becomes that month's last day (31 Jan + 1 month = 28 or 29
/// Feb). Saturates at the latest representable date rather than panic, so a
/// silly "verify every 4 billion months" means "never".
pub fn add_months(date: NaiveDate, months: u32) -> NaiveDate {
    date.checked_add_months(Months::new(months))
        .unwrap_or(NaiveDate::MAX)
}

/// The last day the archive must be kept, counting `period` from the day
/// after `counting_end` (see the module docs for the rule).
pub fn retention_end_after(counting_end: NaiveDate, period: Period) -> NaiveDate {
    let start = counting_end.succ_opt().expect("date in range");
    let same_day_later = add_months(start, period.total_months());
    if same_day_later.day() == start.day() {
        same_day_later.pred_opt().expect("date in range")
    } else {
        // The corresponding day does not exist in the target month, so
        // add_months clamped to the month's last day: the period ends on that
        // day. Subtracting a day here would keep records one day too short.
        same_day_later
    }
}

/// The first day destruction is allowed: the day after the retention end.
pub fn destruction_allowed_from(retention_end: NaiveDate) -> NaiveDate {
    retention_end.succ_opt().unwrap_or(NaiveDate::MAX)
}

/// Whether an archive with this retention end may be destroyed `today`
/// (holds aside): only once the retention end has passed.
pub fn is_due(retention_end: NaiveDate, today: NaiveDate) -> bool {
    today > retention_end
}

/// When a copy last verified on `last_verified` should be verified again.
pub fn verification_due(last_verified: NaiveDate, every_months: u32) -> NaiveDate {
    add_months(last_verified, every_months)
}

// ---------------------------------------------------------------------------
// Presets
// ---------------------------------------------------------------------------

/// A record class with its retention period and where that period comes from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ClassRule {
    pub name: String,
    pub period: Period,
    pub basis: String,
}

/// A country's default retention rules.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Preset {
    pub name: &'static str,
    pub country: &'static str,
    /// Count from 31 December of the calendar year in which the fiscal year
    /// ends, instead of from the fiscal year's last day.
    pub count_from_calendar_year_end: bool,
    /// The class the CLI uses when none is given; always `financial`.
    pub default_class: &'static str,
    pub classes: Vec<ClassRule>,
}

impl Preset {
    /// The rule for `class`, if this preset has one.
    pub fn class(&self, class: &str) -> Option<&ClassRule> {
        self.classes.iter().find(|c| c.name == class)
    }
}

/// The preset names, default first.
pub const PRESETS: &[&str] = &["nl", "de", "be", "fr", "uk", "us"];

/// The preset used when the vault config names none.
pub const DEFAULT_PRESET: &str = "nl";

/// The class every preset has and the CLI uses by default.
pub const DEFAULT_CLASS: &str = "financial";

fn rule(name: &str, period: Period, basis: &str) -> ClassRule {
    ClassRule {
        name: name.to_owned(),
        period,
        basis: basis.to_owned(),
    }
}

/// The EU-wide rule for One-Stop-Shop records.
const EU_OSS_BASIS: &str = "EU VAT Directive 2006/112/EC, art. 369k (OSS) and 369x (IOSS)";

/// The preset called `name` (case-insensitive). Docs: `docs/RETENTION.md`.
///
/// # Errors
/// [`RetentionError::UnknownPreset`], listing [`PRESETS`].
pub fn preset(name: &str) -> Result<Preset, RetentionError> {
    let key = name.trim().to_ascii_lowercase();
    let (canonical, country, from_calendar_year_end, classes) = match key.as_str() {
        "nl" => (
            "nl",
            "Netherlands",
            false,
            vec![
                rule("financial", Period::years(7), "art. 52 lid 4 AWR; BW 2:10"),
                rule(
                    "real-estate",
                    Period::years(10),
                    "Wet OB 1968: records on real estate (VAT revision period); art. 52 AWR",
                ),
                rule("vat-oss", Period::years(10), EU_OSS_BASIS),
            ],
        ),
        "de" => (
            "de",
            "Germany",
            true,
            vec![
                // A mixed yearly archive holds the books and the annual
                // accounts. Their 10 years start at the end of the calendar
                // year in which the accounts were drawn up or the last entry
                // made (§147 (4) AO), which is usually the year after the
                // fiscal year ends: hence one year more.
                rule(
                    "financial",
                    Period::years(11),
                    "§147 (3)-(4) AO, §257 (4)-(5) HGB: 10 years from the end of the \
                     calendar year the annual accounts are drawn up, usually the next one",
                ),
                rule(
                    "books",
                    Period::years(10),
                    "§147 (3) AO, §257 (4) HGB: books closed within the calendar year",
                ),
                rule(
                    "vouchers",
                    Period::years(8),
                    "§147 (3) AO, §257 (4) HGB: booking vouchers (8 years from 2025)",
                ),
                rule(
                    "letters",
                    Period::years(6),
                    "§147 (3) AO, §257 (4) HGB: business letters",
                ),
                rule("vat-oss", Period::years(10), EU_OSS_BASIS),
            ],
        ),
        "be" => (
            "be",
            "Belgium",
            // Art. 315 WIB 92 counts from 1 January of the year following the
            // taxable period.
            true,
            vec![
                rule("financial", Period::years(10), "WIB 92 art. 315"),
                rule("vat-oss", Period::years(10), EU_OSS_BASIS),
            ],
        ),
        "fr" => (
            "fr",
            "France",
            false,
            vec![
                rule(
                    "financial",
                    Period::years(10),
                    "C. com. L123-22; LPF L102 B (accounting documents: the longest period)",
                ),
                rule("accounting", Period::years(10), "C. com. L123-22"),
                rule("tax", Period::years(6), "LPF L102 B"),
                rule("vat-oss", Period::years(10), EU_OSS_BASIS),
            ],
        ),
        "uk" => (
            "uk",
            "United Kingdom",
            false,
            vec![rule(
                "financial",
                Period::years(6),
                "HMRC record-keeping rules; Companies Act 2006 s.388",
            )],
        ),
        "us" => (
            "us",
            "United States",
            false,
            vec![rule(
                "financial",
                Period::years(7),
                "IRS Publication 583 (period of limitations: 3, 6 or 7 years)",
            )],
        ),
        _ => {
            return Err(RetentionError::UnknownPreset {
                name: name.to_owned(),
                known: PRESETS.iter().map(|p| p.to_string()).collect(),
            });
        }
    };
    Ok(Preset {
        name: canonical,
        country,
        count_from_calendar_year_end: from_calendar_year_end,
        default_class: DEFAULT_CLASS,
        classes,
    })
}

// ---------------------------------------------------------------------------
// Policy
// ---------------------------------------------------------------------------

/// Checks that a class name is safe to put in a file name.
///
/// # Errors
/// [`RetentionError::BadClassName`].
pub fn validate_class_name(name: &str) -> Result<(), RetentionError> {
    let ok = !name.is_empty()
        && name.len() <= MAX_CLASS_NAME_LEN
        && name.starts_with(|c: char| c.is_ascii_lowercase())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    if ok {
        Ok(())
    } else {
        Err(RetentionError::BadClassName {
            name: name.to_owned(),
        })
    }
}

/// The `[retention]` table of the vault config, as written:
///
/// ```toml
/// [retention]
/// preset = "nl"
/// fiscal_year_start = "07-01"
/// [retention.classes]
/// correspondence = "6 months"
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RetentionConfig {
    #[serde(default = "default_preset_name")]
    pub preset: String,
    #[serde(default)]
    pub fiscal_year_start: FiscalYearStart,
    /// Periods that replace a preset's or add classes of the user's own.
    #[serde(default)]
    pub classes: BTreeMap<String, Period>,
}

fn default_preset_name() -> String {
    DEFAULT_PRESET.to_owned()
}

impl Default for RetentionConfig {
    fn default() -> Self {
        RetentionConfig {
            preset: default_preset_name(),
            fiscal_year_start: FiscalYearStart::default(),
            classes: BTreeMap::new(),
        }
    }
}

/// A preset, the vault's fiscal-year start and the user's overrides: what
/// decides an archive's retention end.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    pub preset: Preset,
    pub fiscal_year_start: FiscalYearStart,
    /// By class name: a new class, or a replacement for a preset's period.
    pub overrides: BTreeMap<String, Period>,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            preset: preset(DEFAULT_PRESET).expect("default preset exists"),
            fiscal_year_start: FiscalYearStart::default(),
            overrides: BTreeMap::new(),
        }
    }
}

impl Policy {
    /// # Errors
    /// [`RetentionError::UnknownPreset`], or [`RetentionError::BadClassName`]
    /// for an override whose name cannot be used in a file name.
    pub fn new(
        preset_name: &str,
        fiscal_year_start: FiscalYearStart,
        overrides: BTreeMap<String, Period>,
    ) -> Result<Policy, RetentionError> {
        let preset = preset(preset_name)?;
        for name in overrides.keys() {
            validate_class_name(name)?;
        }
        Ok(Policy {
            preset,
            fiscal_year_start,
            overrides,
        })
    }

    /// # Errors
    /// As [`Policy::new`].
    pub fn from_config(config: &RetentionConfig) -> Result<Policy, RetentionError> {
        Policy::new(
            &config.preset,
            config.fiscal_year_start,
            config.classes.clone(),
        )
    }

    /// The config that produces this policy.
    pub fn to_config(&self) -> RetentionConfig {
        RetentionConfig {
            preset: self.preset.name.to_owned(),
            fiscal_year_start: self.fiscal_year_start,
            classes: self.overrides.clone(),
        }
    }

    /// The retention period of `class`, the override if there is one.
    ///
    /// # Errors
    /// [`RetentionError::UnknownClass`], listing the known classes.
    pub fn class_period(&self, class: &str) -> Result<Period, RetentionError> {
        if let Some(period) = self.overrides.get(class) {
            return Ok(*period);
        }
        match self.preset.class(class) {
            Some(rule) => Ok(rule.period),
            None => Err(RetentionError::UnknownClass {
                class: class.to_owned(),
                known: self.classes().into_iter().map(|c| c.name).collect(),
            }),
        }
    }

    /// The day from which the period of fiscal year `year` is counted
    /// (exclusive): the fiscal year's last day, or 31 December of the calendar
    /// year it ends in.
    ///
    /// # Errors
    /// [`RetentionError::YearOutOfRange`].
    pub fn counting_end(&self, year: i32) -> Result<NaiveDate, RetentionError> {
        if !(MIN_YEAR..=MAX_YEAR).contains(&year) {
            return Err(RetentionError::YearOutOfRange { year });
        }
        let (_, last) = fiscal_year_range(year, self.fiscal_year_start);
        Ok(if self.preset.count_from_calendar_year_end {
            NaiveDate::from_ymd_opt(last.year(), 12, 31).expect("valid date")
        } else {
            last
        })
    }

    /// The last day an archive of fiscal year `year` and class `class` must be
    /// kept. Store it in the archive: the policy may change later.
    ///
    /// # Errors
    /// [`RetentionError::UnknownClass`] or [`RetentionError::YearOutOfRange`].
    pub fn retention_end(&self, year: i32, class: &str) -> Result<NaiveDate, RetentionError> {
        let period = self.class_period(class)?;
        Ok(retention_end_after(self.counting_end(year)?, period))
    }

    /// Every class with its effective period and basis: the preset's, in the
    /// preset's order (default class first), then the user's own,
    /// alphabetically.
    pub fn classes(&self) -> Vec<ClassRule> {
        let mut out: Vec<ClassRule> = self
            .preset
            .classes
            .iter()
            .map(|c| match self.overrides.get(&c.name) {
                Some(p) if *p != c.period => ClassRule {
                    name: c.name.clone(),
                    period: *p,
                    basis: format!(
                        "vault config (preset {}: {}, {})",
                        self.preset.name, c.period, c.basis
                    ),
                },
                _ => c.clone(),
            })
            .collect();
        for (name, period) in &self.overrides {
            if self.preset.class(name).is_none() {
                out.push(rule(name, *period, "vault config"));
            }
        }
        out
    }
}

#[cfg(test)]
mod tests;
