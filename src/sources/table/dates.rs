//! Dates and fiscal years: how a date column's values are read (automatic
//! ISO and day-first forms, Unix seconds, a strftime format) and the fiscal
//! year [`Window`] being archived.

use chrono::{DateTime, Datelike, NaiveDate, NaiveDateTime};

use crate::error::{Error, Result};
use crate::retention::{FiscalYearStart, fiscal_year_range};

/// How the values of a date column are read.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum DateFormat {
    /// `YYYY-MM-DD`; ISO 8601 date-times (`T` or a space, optional seconds,
    /// fraction, `Z` or offset); `DD-MM-YYYY` and `DD/MM/YYYY` (day first,
    /// never month first), optionally followed by ` HH:MM[:SS]`.
    Auto,
    /// Whole seconds since 1970-01-01 UTC; the date is the UTC date.
    Unix,
    /// A chrono strftime format.
    Strftime(String),
}

impl DateFormat {
    /// `auto`, `unix`, or a chrono strftime format such as `%m/%d/%Y`.
    pub fn parse(text: &str) -> Result<DateFormat> {
        match text {
            "auto" => Ok(DateFormat::Auto),
            "unix" => Ok(DateFormat::Unix),
            f => {
                let bad = |why: &str| {
                    Error::Usage(format!(
                        "date format {f:?} {why}: give a chrono strftime format such as %d.%m.%Y, or `unix`"
                    ))
                };
                chrono::format::StrftimeItems::new(f)
                    .parse()
                    .map_err(|_| bad("is not valid"))?;
                if !["%Y", "%y", "%G", "%F", "%D", "%x", "%C", "%c", "%+", "%s"]
                    .iter()
                    .any(|s| f.contains(s))
                {
                    return Err(bad("has no year"));
                }
                Ok(DateFormat::Strftime(f.to_owned()))
            }
        }
    }

    /// The calendar date a value stands for, or `None`. A date-time with an
    /// offset gives the date as written in its own offset, never converted
    /// to UTC: `2019-12-31T23:30:00-05:00` is 31 December 2019.
    ///
    /// Spaces and tabs around the value are ignored; any other whitespace (a
    /// non-breaking space, a line break inside a quoted field) makes it
    /// unreadable, as it is more likely a damaged export than a date.
    pub fn date(&self, value: &str) -> Option<NaiveDate> {
        let t = value.trim_matches([' ', '\t']);
        match self {
            DateFormat::Auto => auto_date(t),
            DateFormat::Unix => t
                .parse::<i64>()
                .ok()
                .and_then(|s| DateTime::from_timestamp(s, 0))
                .map(|d| d.date_naive()),
            DateFormat::Strftime(f) => NaiveDate::parse_from_str(t, f)
                .ok()
                .or_else(|| NaiveDateTime::parse_from_str(t, f).ok().map(|d| d.date()))
                .or_else(|| DateTime::parse_from_str(t, f).ok().map(|d| d.date_naive())),
        }
    }

    pub(super) fn describe(&self) -> String {
        match self {
            DateFormat::Auto => "dates are read as YYYY-MM-DD, ISO 8601 date-times, DD-MM-YYYY or DD/MM/YYYY (day first); give --date-format for another form".into(),
            DateFormat::Unix => "dates are read as Unix seconds (--date-format unix)".into(),
            DateFormat::Strftime(f) => format!("dates are read with --date-format {f}"),
        }
    }
}

fn number(b: &[u8]) -> Option<u32> {
    if b.is_empty() || b.len() > 4 || !b.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(b.iter().fold(0, |n, d| n * 10 + u32::from(d - b'0')))
}

fn auto_date(t: &str) -> Option<NaiveDate> {
    let b = t.as_bytes();
    if b.len() >= 10 && b[4] == b'-' && b[7] == b'-' {
        let date = NaiveDate::from_ymd_opt(
            number(&b[..4])? as i32,
            number(&b[5..7])?,
            number(&b[8..10])?,
        )?;
        return (b.len() == 10 || iso_time(&b[10..])).then_some(date);
    }
    let (date_part, time_part) = match t.split_once(' ') {
        Some((d, rest)) => (d, Some(rest.trim_start())),
        None => (t, None),
    };
    let sep = if date_part.contains('-') {
        '-'
    } else if date_part.contains('/') {
        '/'
    } else {
        return None;
    };
    let mut parts = date_part.split(sep);
    let (d, m, y) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() || d.len() > 2 || m.len() > 2 || y.len() != 4 {
        return None;
    }
    let date = NaiveDate::from_ymd_opt(
        number(y.as_bytes())? as i32,
        number(m.as_bytes())?,
        number(d.as_bytes())?,
    )?;
    match time_part {
        None => Some(date),
        Some(tp) => {
            let b = tp.as_bytes();
            let n = clock(b)?;
            (n == b.len()).then_some(date)
        }
    }
}

/// `HH:MM[:SS]` at the start of `b`: how many bytes it takes.
fn clock(b: &[u8]) -> Option<usize> {
    let two = |i: usize, max: u32| {
        b.get(i..i + 2)
            .and_then(number)
            .filter(|&n| n <= max)
            .is_some()
    };
    if !(two(0, 23) && b.get(2) == Some(&b':') && two(3, 59)) {
        return None;
    }
    if b.get(5) == Some(&b':') {
        two(6, 60).then_some(8)
    } else {
        Some(5)
    }
}

/// The rest of an ISO 8601 date-time after the date: `T` (or a space),
/// `HH:MM[:SS[.fraction]]`, then nothing, `Z`, or `±HH[[:]MM]`.
fn iso_time(b: &[u8]) -> bool {
    if !matches!(b.first(), Some(b'T' | b't' | b' ')) {
        return false;
    }
    let b = &b[1..];
    let Some(mut i) = clock(b) else { return false };
    if i == 8 && matches!(b.get(8), Some(b'.' | b',')) {
        let digits = b[9..].iter().take_while(|c| c.is_ascii_digit()).count();
        if digits == 0 {
            return false;
        }
        i = 9 + digits;
    }
    let rest = &b[i..];
    match rest {
        [] | [b'Z' | b'z'] => true,
        [b'+' | b'-', tz @ ..] => {
            let hh = |x: &[u8]| number(x).is_some_and(|n| n <= 23);
            let mm = |x: &[u8]| number(x).is_some_and(|n| n <= 59);
            match tz.len() {
                2 => hh(tz),
                4 => hh(&tz[..2]) && mm(&tz[2..]),
                5 => hh(&tz[..2]) && tz[2] == b':' && mm(&tz[3..]),
                _ => false,
            }
        }
        _ => false,
    }
}

/// The fiscal year a date falls in: fiscal year `Y` starts on `start` in
/// calendar year `Y` (see [`fiscal_year_range`]).
pub fn fiscal_year_of(date: NaiveDate, start: FiscalYearStart) -> i32 {
    if (date.month(), date.day()) >= (start.month, start.day) {
        date.year()
    } else {
        date.year() - 1
    }
}

/// The fiscal year being archived.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Window {
    pub year: i32,
    pub first: NaiveDate,
    pub last: NaiveDate,
    start: FiscalYearStart,
}

impl Window {
    /// # Panics
    /// As [`fiscal_year_range`]: for a year the policy would refuse.
    pub fn new(year: i32, start: FiscalYearStart) -> Window {
        let (first, last) = fiscal_year_range(year, start);
        Window {
            year,
            first,
            last,
            start,
        }
    }

    /// The fiscal year's first day, as the vault's policy gave it.
    pub fn start(&self) -> FiscalYearStart {
        self.start
    }

    pub fn contains(&self, date: NaiveDate) -> bool {
        self.first <= date && date <= self.last
    }

    /// `None` for a date in the archived year; else its fiscal year.
    pub fn other_year(&self, date: NaiveDate) -> Option<i32> {
        (!self.contains(date)).then(|| fiscal_year_of(date, self.start))
    }
}
#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    #[test]
    fn automatic_dates() {
        let a = DateFormat::Auto;
        for (text, want) in [
            ("2019-03-01", Some(d(2019, 3, 1))),
            (" 2019-03-01 ", Some(d(2019, 3, 1))),
            ("2019-03-01T10:00", Some(d(2019, 3, 1))),
            ("2019-03-01T10:00:59", Some(d(2019, 3, 1))),
            ("2019-03-01 10:00:59", Some(d(2019, 3, 1))),
            ("2019-03-01T10:00:59.123456Z", Some(d(2019, 3, 1))),
            ("2019-03-01T10:00:59,5+01:00", Some(d(2019, 3, 1))),
            ("2019-12-31T23:30:00-05:00", Some(d(2019, 12, 31))),
            ("2020-01-01T00:30:00+0100", Some(d(2020, 1, 1))),
            ("2020-01-01T00:30:00+01", Some(d(2020, 1, 1))),
            ("2020-01-01t00:30:00z", Some(d(2020, 1, 1))),
            ("31-12-2019", Some(d(2019, 12, 31))),
            ("1-2-2019", Some(d(2019, 2, 1))),
            ("03/04/2019", Some(d(2019, 4, 3))),
            ("31/12/2019 23:59", Some(d(2019, 12, 31))),
            ("31-12-2019 23:59:01", Some(d(2019, 12, 31))),
            ("2020-02-29", Some(d(2020, 2, 29))),
            // Never guessed, never month first.
            ("12/31/2019", None),
            ("2019-02-29", None),
            ("31-02-2019", None),
            ("2019/03/01", None),
            ("2019-3-1", None),
            ("01-03-19", None),
            ("31-12/2019", None),
            ("2019-03-01T25:00", None),
            ("2019-03-01T10:00+25:00", None),
            ("2019-03-01T10", None),
            ("2019-03-01X", None),
            ("2019-03-01T10:00:00.", None),
            ("31/12/2019 noon", None),
            ("", None),
            ("gisteren", None),
            ("1546300800", None),
        ] {
            assert_eq!(a.date(text), want, "{text:?}");
        }
    }

    #[test]
    fn explicit_date_formats() {
        let us = DateFormat::parse("%m/%d/%Y").unwrap();
        assert_eq!(us.date("12/31/2019"), Some(d(2019, 12, 31)));
        assert_eq!(us.date("31/12/2019"), None);
        let dt = DateFormat::parse("%d.%m.%Y %H:%M").unwrap();
        assert_eq!(dt.date("31.12.2019 23:59"), Some(d(2019, 12, 31)));
        let tz = DateFormat::parse("%Y%m%d %H%M %z").unwrap();
        assert_eq!(tz.date("20191231 2330 -0500"), Some(d(2019, 12, 31)));
        let unix = DateFormat::parse("unix").unwrap();
        assert_eq!(unix.date("1546300800"), Some(d(2019, 1, 1)));
        assert_eq!(unix.date("1546300799"), Some(d(2018, 12, 31)));
        assert_eq!(unix.date("2019-01-01"), None);
        assert_eq!(DateFormat::parse("auto").unwrap(), DateFormat::Auto);
        assert!(DateFormat::parse("%d-%m").is_err(), "no year");
        assert!(DateFormat::parse("%Q").is_err(), "not a format");
    }

    #[test]
    fn fiscal_years_not_starting_in_january() {
        let july = FiscalYearStart::new(7, 1).unwrap();
        assert_eq!(fiscal_year_of(d(2019, 6, 30), july), 2018);
        assert_eq!(fiscal_year_of(d(2019, 7, 1), july), 2019);
        assert_eq!(fiscal_year_of(d(2020, 6, 30), july), 2019);
        let w = Window::new(2019, july);
        assert!(w.contains(d(2019, 7, 1)) && w.contains(d(2020, 6, 30)));
        assert_eq!(w.other_year(d(2019, 6, 30)), Some(2018));
        assert_eq!(w.other_year(d(2020, 7, 1)), Some(2020));
        assert_eq!(w.other_year(d(2020, 1, 1)), None);
        let jan = Window::new(2019, FiscalYearStart::JANUARY_1);
        assert_eq!(jan.other_year(d(2018, 12, 31)), Some(2018));
        assert_eq!(jan.other_year(d(2019, 12, 31)), None);
    }

    #[test]
    fn only_spaces_and_tabs_around_a_date_are_ignored() {
        let auto = DateFormat::Auto;
        assert_eq!(auto.date(" 2019-01-02\t "), Some(d(2019, 1, 2)));
        assert_eq!(auto.date("\t02-01-2019"), Some(d(2019, 1, 2)));
        for bad in [
            "\u{a0}2019-01-02",
            "2019-01-02\u{a0}",
            "2019-01-02\n",
            "\r\n2019-01-02",
            "\u{2003}2019-01-02",
        ] {
            assert_eq!(auto.date(bad), None, "{bad:?}");
        }
        assert_eq!(DateFormat::Unix.date(" 0 "), Some(d(1970, 1, 1)));
        assert_eq!(DateFormat::Unix.date("0\n"), None);
    }
}
