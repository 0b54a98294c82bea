//! Reminders as an iCalendar (RFC 5545) file: one all-day event per date, each with an alarm a week ahead. Pure rendering: the caller picks the dates and writes the file.

use std::fmt::Write as _;

use chrono::{DateTime, NaiveDate, Utc};

/// One all-day calendar entry, e.g. "2019-financial may be destroyed".
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reminder {
    /// Globally unique and stable for the same reminder across exports, so
    /// that re-importing the file updates events instead of duplicating them
    /// (e.g. `destroy-<archive id>@kluis`).
    pub uid: String,
    pub date: NaiveDate,
    pub summary: String,
    pub description: String,
}

/// How many days before the date the alarm fires.
pub const ALARM_DAYS_BEFORE: u32 = 7;

/// RFC 5545 3.1: content lines SHOULD NOT exceed 75 octets, line break
/// excluded.
const MAX_LINE_OCTETS: usize = 75;

/// Renders `reminders`, in the given order, as an iCalendar stream with CRLF
/// line endings. `now` becomes every event's DTSTAMP.
///
/// An empty slice gives a calendar with no events, which calendar programs
/// import as an empty calendar (RFC 5545's grammar asks for at least one
/// component; there is nothing honest to put there).
pub fn render_ics(reminders: &[Reminder], now: DateTime<Utc>) -> String {
    let mut out = String::new();
    let mut line = |text: &str| push_folded(&mut out, text);

    line("BEGIN:VCALENDAR");
    line("VERSION:2.0");
    line("PRODID:-//kluis//kluis//EN");
    line("CALSCALE:GREGORIAN");
    let stamp = now.format("%Y%m%dT%H%M%SZ").to_string();
    for r in reminders {
        // DTEND is exclusive: a one-day event ends the next day.
        let end = r.date.succ_opt().unwrap_or(r.date);
        line("BEGIN:VEVENT");
        line(&format!("UID:{}", escape_text(&r.uid)));
        line(&format!("DTSTAMP:{stamp}"));
        line(&format!("DTSTART;VALUE=DATE:{}", ics_date(r.date)));
        line(&format!("DTEND;VALUE=DATE:{}", ics_date(end)));
        line(&format!("SUMMARY:{}", escape_text(&r.summary)));
        line(&format!("DESCRIPTION:{}", escape_text(&r.description)));
        // A reminder must not show the owner as busy all day.
        line("TRANSP:TRANSPARENT");
        line("BEGIN:VALARM");
        line("ACTION:DISPLAY");
        line(&format!("TRIGGER:-P{ALARM_DAYS_BEFORE}D"));
        line(&format!("DESCRIPTION:{}", escape_text(&r.summary)));
        line("END:VALARM");
        line("END:VEVENT");
    }
    line("END:VCALENDAR");
    out
}

/// `YYYYMMDD`, the iCalendar DATE form.
fn ics_date(date: NaiveDate) -> String {
    date.format("%Y%m%d").to_string()
}

/// Escapes a TEXT value (RFC 5545 3.3.11): backslash, semicolon and comma
/// get a backslash; a line break of any kind (CRLF, LF, CR) becomes `\n`.
/// Other control characters are not allowed in TEXT and are dropped; tabs
/// stay.
pub fn escape_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => out.push_str("\\\\"),
            ';' => out.push_str("\\;"),
            ',' => out.push_str("\\,"),
            '\r' => {
                chars.next_if_eq(&'\n');
                out.push_str("\\n");
            }
            '\n' => out.push_str("\\n"),
            '\t' => out.push('\t'),
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out
}

/// Appends one content line, folded so that no physical line exceeds 75
/// octets: continuation lines start with a space (which counts), and a fold
/// never falls inside a UTF-8 character or an escape pair.
fn push_folded(out: &mut String, line: &str) {
    let mut rest = line;
    let mut limit = MAX_LINE_OCTETS;
    loop {
        if rest.len() <= limit {
            out.push_str(rest);
            out.push_str("\r\n");
            return;
        }
        let mut cut = limit;
        while !rest.is_char_boundary(cut) {
            cut -= 1;
        }
        // Unfolding comes before unescaping, so splitting `\;` is legal, but
        // keeping escape pairs whole spares readers that get the order wrong.
        // `rest` always starts outside an escape, so an odd run of
        // backslashes before the cut means the last one starts a pair.
        let backslashes = rest[..cut]
            .bytes()
            .rev()
            .take_while(|&b| b == b'\\')
            .count();
        if backslashes % 2 == 1 {
            cut -= 1;
        }
        let _ = write!(out, "{}\r\n ", &rest[..cut]);
        rest = &rest[cut..];
        limit = MAX_LINE_OCTETS - 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use icalendar::parser::{Component, read_calendar, unfold};

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2025, 3, 4, 5, 6, 7).unwrap()
    }

    fn reminder(uid: &str, date: &str, summary: &str, description: &str) -> Reminder {
        Reminder {
            uid: uid.into(),
            date: date.parse().unwrap(),
            summary: summary.into(),
            description: description.into(),
        }
    }

    /// The strict checks on the raw text that a forgiving parser would skip.
    fn assert_well_formed(ics: &str) {
        assert!(ics.ends_with("\r\n"));
        let body = &ics[..ics.len() - 2];
        for line in body.split("\r\n") {
            assert!(!line.contains('\r') && !line.contains('\n'), "bare CR/LF");
            assert!(line.len() <= MAX_LINE_OCTETS, "too long: {line:?}");
            assert!(!line.is_empty(), "empty line");
        }
    }

    /// Reverses `escape_text`, strictly: an unknown escape is an error.
    fn unescape(text: &str) -> String {
        let mut out = String::new();
        let mut chars = text.chars();
        while let Some(c) = chars.next() {
            if c == '\\' {
                match chars.next() {
                    Some('n' | 'N') => out.push('\n'),
                    Some(c @ ('\\' | ';' | ',')) => out.push(c),
                    other => panic!("bad escape \\{other:?} in {text:?}"),
                }
            } else {
                assert!(c != ';' && c != ',', "unescaped {c:?} in {text:?}");
                out.push(c);
            }
        }
        out
    }

    /// Every raw (still escaped) value of property `name` in an unfolded
    /// calendar, in order; checked with the strict [`unescape`].
    fn raw_values(unfolded: &str, name: &str) -> Vec<String> {
        let prefix = format!("{name}:");
        unfolded
            .split("\r\n")
            .filter_map(|l| l.strip_prefix(prefix.as_str()))
            .map(unescape)
            .collect()
    }

    /// A property's value as the `icalendar` parser reads it (TEXT values
    /// unescaped).
    fn prop<'a>(component: &'a Component<'_>, name: &str) -> &'a str {
        component
            .find_prop(name)
            .unwrap_or_else(|| panic!("no {name}"))
            .val
            .as_str()
    }

    #[test]
    fn renders_events_that_parse_back() {
        let reminders = [
            reminder(
                "destroy-0001@kluis",
                "2026-12-31",
                "2019-financial may be destroyed",
                "Retention ended.\nRun: kluis destroy 2019-financial",
            ),
            reminder(
                "verify-0002@kluis",
                "2024-02-29",
                "Verify copies",
                "USB-A, USB-B",
            ),
        ];
        let ics = render_ics(&reminders, now());
        assert_well_formed(&ics);
        assert!(ics.starts_with(
            "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//kluis//kluis//EN\r\nCALSCALE:GREGORIAN\r\n"
        ));
        assert!(ics.contains("DTSTART;VALUE=DATE:20261231\r\nDTEND;VALUE=DATE:20270101\r\n"));
        assert!(ics.contains("DTSTART;VALUE=DATE:20240229\r\nDTEND;VALUE=DATE:20240301\r\n"));
        assert!(ics.contains("DTSTAMP:20250304T050607Z\r\n"));

        let unfolded = unfold(&ics);
        let calendar = read_calendar(&unfolded).unwrap();
        let props: Vec<(&str, &str)> = calendar
            .properties
            .iter()
            .map(|p| (p.name.as_str(), p.val.as_str()))
            .collect();
        assert_eq!(
            props,
            [
                ("VERSION", "2.0"),
                ("PRODID", "-//kluis//kluis//EN"),
                ("CALSCALE", "GREGORIAN")
            ]
        );
        assert_eq!(calendar.components.len(), 2);
        assert_eq!(
            raw_values(&unfolded, "UID"),
            [reminders[0].uid.as_str(), reminders[1].uid.as_str()]
        );
        assert_eq!(
            raw_values(&unfolded, "SUMMARY"),
            [reminders[0].summary.as_str(), reminders[1].summary.as_str()]
        );
        for (event, r) in calendar.components.iter().zip(&reminders) {
            assert_eq!(event.name.as_str(), "VEVENT");
            assert_eq!(prop(event, "UID"), r.uid);
            assert_eq!(prop(event, "SUMMARY"), r.summary);
            assert_eq!(prop(event, "DESCRIPTION"), r.description);
            assert_eq!(prop(event, "TRANSP"), "TRANSPARENT");
            let start = event.find_prop("DTSTART").unwrap();
            assert_eq!(start.params[0].key.as_str(), "VALUE");
            assert_eq!(start.params[0].val.as_ref().unwrap().as_str(), "DATE");
            assert_eq!(start.val.as_str(), r.date.format("%Y%m%d").to_string());

            assert_eq!(event.components.len(), 1);
            let alarm = &event.components[0];
            assert_eq!(alarm.name.as_str(), "VALARM");
            assert_eq!(prop(alarm, "ACTION"), "DISPLAY");
            assert_eq!(prop(alarm, "TRIGGER"), "-P7D");
            assert_eq!(prop(alarm, "DESCRIPTION"), r.summary);
        }

        // The crate's own model agrees on the dates.
        use icalendar::{Calendar, CalendarComponent, Component as _, DatePerhapsTime};
        let model: Calendar = ics.parse().unwrap();
        let starts: Vec<_> = model
            .components
            .iter()
            .filter_map(|c| match c {
                CalendarComponent::Event(e) => e.get_start(),
                _ => None,
            })
            .collect();
        assert_eq!(
            starts,
            [
                DatePerhapsTime::Date(reminders[0].date),
                DatePerhapsTime::Date(reminders[1].date)
            ]
        );
    }

    #[test]
    fn escaping() {
        for (raw, escaped) in [
            ("plain", "plain"),
            (r"a\b", r"a\\b"),
            ("a;b,c", r"a\;b\,c"),
            ("one\ntwo", r"one\ntwo"),
            ("one\r\ntwo", r"one\ntwo"),
            ("one\rtwo", r"one\ntwo"),
            ("one\n\ntwo", r"one\n\ntwo"),
            ("tab\there", "tab\there"),
            ("bell\u{7}gone", "bellgone"),
            (r"\n is not a newline", r"\\n is not a newline"),
            ("colon: fine \"quotes\" too", "colon: fine \"quotes\" too"),
        ] {
            assert_eq!(escape_text(raw), escaped, "{raw:?}");
        }
        let tricky = "2019; INV-1,2\\3\r\nline two\nüñï";
        let ics = render_ics(&[reminder(tricky, "2030-01-01", tricky, tricky)], now());
        assert_well_formed(&ics);
        let unfolded = unfold(&ics);
        let calendar = read_calendar(&unfolded).unwrap();
        let event = &calendar.components[0];
        let expected = "2019; INV-1,2\\3\nline two\nüñï";
        assert_eq!(prop(event, "SUMMARY"), expected);
        assert_eq!(prop(event, "DESCRIPTION"), expected);
        for name in ["UID", "SUMMARY", "DESCRIPTION"] {
            // DESCRIPTION twice: the event's and the alarm's.
            assert!(
                raw_values(&unfolded, name).iter().all(|v| v == expected),
                "{name}"
            );
        }
    }

    #[test]
    fn folds_long_unicode_lines_at_character_boundaries() {
        // Two-, three- and four-octet characters, so every fold position
        // meets a character boundary at a different offset.
        let summary = "Bewaartermijn verstreken — één archief: ß€😀 ".repeat(12);
        let description = "x".repeat(500);
        let ics = render_ics(
            &[reminder("u@kluis", "2026-12-31", &summary, &description)],
            now(),
        );
        assert_well_formed(&ics);
        let lines: Vec<&str> = ics.split("\r\n").collect();
        let continuation = lines.iter().filter(|l| l.starts_with(' ')).count();
        assert!(continuation > 10, "long lines are folded");
        // ASCII-only content fills lines exactly: 75, then 1 + 74.
        let first = lines
            .iter()
            .position(|l| l.starts_with("DESCRIPTION:x"))
            .unwrap();
        assert_eq!(lines[first].len(), 75);
        assert_eq!(lines[first + 1].len(), 75);

        let unfolded = unfold(&ics);
        let calendar = read_calendar(&unfolded).unwrap();
        let event = &calendar.components[0];
        assert_eq!(prop(event, "SUMMARY"), summary);
        assert_eq!(prop(event, "DESCRIPTION"), description);
        assert_eq!(raw_values(&unfolded, "SUMMARY"), [summary.as_str()]);
    }

    #[test]
    fn fold_edges() {
        for len in [1, 74, 75, 76, 148, 149, 150, 223, 224] {
            let line = "a".repeat(len);
            let mut out = String::new();
            push_folded(&mut out, &line);
            assert_well_formed(&out);
            assert_eq!(out.replace("\r\n ", "").trim_end_matches("\r\n"), line);
            let physical = out.matches("\r\n").count();
            let expected = if len <= 75 {
                1
            } else {
                1 + (len - 75).div_ceil(74)
            };
            assert_eq!(physical, expected, "{len}");
        }
        // A four-octet character straddling octet 75 moves whole to the next line.
        let line = format!("{}😀tail", "a".repeat(73));
        let mut out = String::new();
        push_folded(&mut out, &line);
        assert_eq!(out, format!("{}\r\n 😀tail\r\n", "a".repeat(73)));
        // An escape pair straddling octet 75 moves whole too; an escaped
        // backslash that ends exactly there stays.
        for (prefix, first_len) in [
            ("a".repeat(74), 74),
            (format!("{}\\\\", "a".repeat(73)), 75),
        ] {
            let line = format!("{prefix}\\;tail");
            let mut out = String::new();
            push_folded(&mut out, &line);
            assert_eq!(out.find("\r\n"), Some(first_len), "{line}");
            assert_eq!(out.replace("\r\n ", "").trim_end_matches("\r\n"), line);
        }
    }

    #[test]
    fn empty_list_gives_a_valid_calendar() {
        let ics = render_ics(&[], now());
        assert_eq!(
            ics,
            "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//kluis//kluis//EN\r\n\
             CALSCALE:GREGORIAN\r\nEND:VCALENDAR\r\n"
        );
        let calendar = read_calendar(&ics).unwrap();
        assert!(calendar.components.is_empty());
        assert_eq!(calendar.properties.len(), 3);
        assert!(ics.parse::<icalendar::Calendar>().is_ok());
    }
}
