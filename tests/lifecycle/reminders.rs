//! `kluis remind`: an iCalendar file with a date to destroy each archive
//! and a date to verify each copy, each with an alarm; it replaces only its
//! own calendar, or writes to stdout.

use std::fs;

use chrono::Months;

use crate::common::*;
use crate::schema::date;

#[test]
fn remind_writes_a_calendar_that_parses_back() {
    use icalendar::{Calendar, CalendarComponent, Component, DatePerhapsTime};
    let env = Env::with_archives();
    env.run(["remind", "--ics", "kluis.ics"]).ok();
    let text = fs::read_to_string(env.p("kluis.ics")).unwrap();
    assert!(text.starts_with("BEGIN:VCALENDAR\r\n") && text.ends_with("END:VCALENDAR\r\n"));
    let calendar: Calendar = text.parse().unwrap();
    let events: Vec<_> = calendar
        .components
        .iter()
        .filter_map(|c| match c {
            CalendarComponent::Event(e) => Some(e),
            _ => None,
        })
        .collect();
    // One destruction date per archive, one verification date per copy.
    assert_eq!(events.len(), 2 + 4);
    let destroy: Vec<_> = events
        .iter()
        .filter(|e| e.get_uid().unwrap().starts_with("destroy-"))
        .collect();
    assert_eq!(destroy.len(), 2);
    assert_eq!(
        destroy[0].get_start(),
        Some(DatePerhapsTime::Date(date("2023-01-01")))
    );
    assert_eq!(
        destroy[1].get_start(),
        Some(DatePerhapsTime::Date(date("2033-01-01")))
    );
    assert!(destroy[0].get_summary().unwrap().contains("2015-financial"));
    assert!(
        destroy[0]
            .get_description()
            .unwrap()
            .contains("kluis destroy 2015-financial")
    );
    let a_year = chrono::Local::now().date_naive() + Months::new(12);
    for e in events
        .iter()
        .filter(|e| e.get_uid().unwrap().starts_with("verify-"))
    {
        let Some(DatePerhapsTime::Date(d)) = e.get_start() else {
            panic!("not an all-day event");
        };
        // Verified when written (now, in UTC), due a year later.
        assert!((d - a_year).num_days().abs() <= 1, "{d}");
    }
    // Every event has its alarm.
    let raw = icalendar::parser::unfold(&text);
    let parsed = icalendar::parser::read_calendar(&raw).unwrap();
    assert_eq!(parsed.components.len(), 6);
    for event in &parsed.components {
        assert_eq!(event.components.len(), 1);
        assert_eq!(event.components[0].name.as_str(), "VALARM");
    }

    // Re-running replaces kluis's own calendar, refuses any other file.
    env.run(["remind", "--ics", "kluis.ics"]).ok();
    fs::write(env.p("mine.ics"), "my own calendar").unwrap();
    env.run(["remind", "--ics", "mine.ics"])
        .code(2)
        .stderr_has("--force");
    assert_eq!(
        fs::read_to_string(env.p("mine.ics")).unwrap(),
        "my own calendar"
    );
    env.run(["remind", "--ics", "mine.ics", "--force"]).ok();
    assert!(
        fs::read_to_string(env.p("mine.ics"))
            .unwrap()
            .starts_with("BEGIN:VCALENDAR")
    );
    // To stdout.
    let run = env.run(["remind", "--ics", "-"]);
    assert_eq!(run.ok().stdout_text().matches("BEGIN:VEVENT").count(), 6);
}
