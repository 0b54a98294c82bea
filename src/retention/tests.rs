//! The date tables that pin the retention arithmetic: leap days, fiscal
//! years not starting in January, every legal preset.

use super::*;

fn d(s: &str) -> NaiveDate {
    s.parse().unwrap()
}

fn fy(s: &str) -> FiscalYearStart {
    s.parse().unwrap()
}

fn p(s: &str) -> Period {
    s.parse().unwrap()
}

#[test]
fn fiscal_year_start_parsing() {
    for (text, month, day) in [
        ("01-01", 1, 1),
        ("07-01", 7, 1),
        ("--04-01", 4, 1),
        (" 10-01 ", 10, 1),
        ("02-28", 2, 28),
        ("12-31", 12, 31),
    ] {
        assert_eq!(fy(text), FiscalYearStart { month, day }, "{text}");
    }
    for bad in [
        "",
        "02-30",
        "02-29",
        "13-01",
        "00-01",
        "01-00",
        "7-1",
        "07/01",
        "0701",
        "2019-07-01",
        "---07-01",
        "07-01-",
        "+7-01",
        "04-31",
    ] {
        assert!(
            matches!(
                bad.parse::<FiscalYearStart>(),
                Err(RetentionError::BadFiscalYearStart { .. })
            ),
            "{bad:?} should be refused"
        );
    }
    assert_eq!(fy("--07-01").to_string(), "07-01");
    assert_eq!(FiscalYearStart::default().to_string(), "01-01");
    assert!(FiscalYearStart::new(2, 29).is_err());
}

#[test]
fn fiscal_year_ranges() {
    for (year, start, first, last) in [
        (2019, "01-01", "2019-01-01", "2019-12-31"),
        (2019, "07-01", "2019-07-01", "2020-06-30"),
        (2019, "04-01", "2019-04-01", "2020-03-31"),
        (2019, "10-01", "2019-10-01", "2020-09-30"),
        // Starting 1 March: the year ends on 29 February in leap years.
        (2019, "03-01", "2019-03-01", "2020-02-29"),
        (2020, "03-01", "2020-03-01", "2021-02-28"),
        // Starting 28 February: in a leap year the 29th is the last day.
        (2019, "02-28", "2019-02-28", "2020-02-27"),
        (2020, "02-28", "2020-02-28", "2021-02-27"),
        (2019, "12-31", "2019-12-31", "2020-12-30"),
    ] {
        assert_eq!(
            fiscal_year_range(year, fy(start)),
            (d(first), d(last)),
            "FY{year} starting {start}"
        );
    }
}

#[test]
fn period_parsing() {
    for (text, months) in [
        ("7y", 84),
        ("7 years", 84),
        ("7 Years", 84),
        ("1 year", 12),
        ("1y", 12),
        ("6m", 6),
        ("6 months", 6),
        ("18 months", 18),
        ("1 month", 1),
        ("  10  years ", 120),
        ("100 years", 1200),
        ("1200 months", 1200),
    ] {
        assert_eq!(p(text).total_months(), months, "{text}");
    }
    for bad in [
        "",
        "7",
        "y",
        "years",
        "0y",
        "0 months",
        "-1y",
        "+1y",
        "7.5 years",
        "7 decades",
        "7 yearss",
        "1 year 6 months",
        "101 years",
        "1201 months",
        "99999999999 years",
        "4294967295 years",
        "seven years",
        "7 d",
    ] {
        assert!(
            matches!(bad.parse::<Period>(), Err(RetentionError::BadPeriod { .. })),
            "{bad:?} should be refused"
        );
    }
}

#[test]
fn period_display_round_trips() {
    for (text, shown) in [
        ("7y", "7 years"),
        ("1y", "1 year"),
        ("12 months", "1 year"),
        ("6m", "6 months"),
        ("1m", "1 month"),
        ("18 months", "18 months"),
        ("24m", "2 years"),
    ] {
        assert_eq!(p(text).to_string(), shown);
        assert_eq!(p(shown), p(text));
    }
}

#[test]
fn add_months_clamps_to_month_end() {
    for (date, months, expected) in [
        ("2019-01-31", 1, "2019-02-28"),
        ("2020-01-31", 1, "2020-02-29"),
        ("2019-08-31", 6, "2020-02-29"),
        ("2019-08-31", 1, "2019-09-30"),
        ("2020-02-29", 12, "2021-02-28"),
        ("2020-02-29", 48, "2024-02-29"),
        ("2019-03-15", 0, "2019-03-15"),
        ("2019-12-31", 84, "2026-12-31"),
    ] {
        assert_eq!(
            add_months(d(date), months),
            d(expected),
            "{date} + {months}"
        );
    }
    assert_eq!(add_months(d("2019-01-01"), u32::MAX), NaiveDate::MAX);
}

#[test]
fn retention_end_rule() {
    for (counting_end, period, expected) in [
        // The brief's examples.
        ("2019-12-31", "7y", "2026-12-31"),
        ("2019-08-31", "6m", "2020-02-29"),
        // Month ends.
        ("2019-01-31", "1 month", "2019-02-28"),
        ("2020-01-31", "1 month", "2020-02-29"),
        ("2019-08-31", "1 month", "2019-09-30"),
        ("2019-06-30", "6 months", "2019-12-31"),
        // Fiscal year ending on a leap day, and counting across leap days.
        ("2020-02-29", "1 year", "2021-02-28"),
        ("2020-02-29", "4 years", "2024-02-29"),
        ("2020-02-29", "7 years", "2027-02-28"),
        ("2019-02-28", "1 year", "2020-02-29"),
        ("2021-02-28", "7 years", "2028-02-29"),
        // Counting starting late in a month: the corresponding day does
        // not exist, so the period ends on the month's last day.
        ("2019-01-30", "1 month", "2019-02-28"),
        ("2020-01-30", "1 month", "2020-02-29"),
        ("2020-01-28", "1 month", "2020-02-28"),
        ("2019-03-30", "1 month", "2019-04-30"),
        ("2019-03-29", "1 month", "2019-04-29"),
    ] {
        assert_eq!(
            retention_end_after(d(counting_end), p(period)),
            d(expected),
            "{counting_end} + {period}"
        );
    }
}

#[test]
fn each_presets_financial_class_for_fy2019() {
    for (name, start, expected) in [
        ("nl", "01-01", "2026-12-31"),
        ("nl", "07-01", "2027-06-30"),
        ("nl", "04-01", "2027-03-31"),
        ("nl", "10-01", "2027-09-30"),
        ("nl", "03-01", "2027-02-28"),
        ("de", "01-01", "2030-12-31"),
        // FY2019 ends 2020-06-30; counting starts after 2020-12-31.
        ("de", "07-01", "2031-12-31"),
        ("be", "01-01", "2029-12-31"),
        ("be", "10-01", "2030-12-31"),
        ("fr", "01-01", "2029-12-31"),
        ("fr", "07-01", "2030-06-30"),
        ("uk", "01-01", "2025-12-31"),
        ("uk", "04-01", "2026-03-31"),
        ("us", "01-01", "2026-12-31"),
        ("us", "10-01", "2027-09-30"),
    ] {
        let policy = Policy::new(name, fy(start), BTreeMap::new()).unwrap();
        assert_eq!(
            policy.retention_end(2019, DEFAULT_CLASS).unwrap(),
            d(expected),
            "{name}, FY2019 starting {start}"
        );
    }
}

#[test]
fn every_preset_is_complete() {
    for name in PRESETS {
        let preset = preset(name).unwrap();
        assert_eq!(&preset.name, name);
        assert_eq!(preset.default_class, DEFAULT_CLASS);
        assert_eq!(preset.classes[0].name, DEFAULT_CLASS, "{name}");
        for class in &preset.classes {
            validate_class_name(&class.name).unwrap();
            assert!(!class.basis.is_empty());
        }
    }
    assert_eq!(preset(" NL ").unwrap().name, "nl");
    assert_eq!(Policy::default().preset.name, DEFAULT_PRESET);
}

#[test]
fn preset_class_periods() {
    for (name, class, years) in [
        ("nl", "financial", 7),
        ("nl", "real-estate", 10),
        ("nl", "vat-oss", 10),
        ("de", "financial", 11),
        ("de", "books", 10),
        ("de", "vouchers", 8),
        ("de", "letters", 6),
        ("be", "financial", 10),
        ("fr", "financial", 10),
        ("fr", "accounting", 10),
        ("fr", "tax", 6),
        ("uk", "financial", 6),
        ("us", "financial", 7),
    ] {
        let policy = Policy::new(name, FiscalYearStart::default(), BTreeMap::new()).unwrap();
        assert_eq!(
            policy.class_period(class).unwrap(),
            Period::years(years),
            "{name} {class}"
        );
    }
    let de = Policy::new("de", FiscalYearStart::default(), BTreeMap::new()).unwrap();
    assert_eq!(de.retention_end(2019, "books").unwrap(), d("2029-12-31"));
    assert_eq!(de.retention_end(2019, "vouchers").unwrap(), d("2027-12-31"));
    assert_eq!(de.retention_end(2019, "letters").unwrap(), d("2025-12-31"));
}

#[test]
fn overrides_add_and_replace_classes() {
    let overrides = BTreeMap::from([
        ("contact-form".to_owned(), p("6 months")),
        ("financial".to_owned(), p("8 years")),
    ]);
    let policy = Policy::new("nl", fy("07-01"), overrides).unwrap();
    assert_eq!(policy.class_period("contact-form").unwrap(), p("6m"));
    assert_eq!(
        policy.retention_end(2019, "contact-form").unwrap(),
        d("2020-12-31")
    );
    assert_eq!(
        policy.retention_end(2019, "financial").unwrap(),
        d("2028-06-30")
    );
    assert_eq!(
        policy.retention_end(2019, "real-estate").unwrap(),
        d("2030-06-30")
    );
    let classes = policy.classes();
    let names: Vec<&str> = classes.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(
        names,
        ["financial", "real-estate", "vat-oss", "contact-form"]
    );
    assert_eq!(classes[0].period, p("8 years"));
    assert!(classes[0].basis.contains("vault config"));
    assert!(classes[0].basis.contains("art. 52 lid 4 AWR"));
    assert_eq!(classes[3].basis, "vault config");
}

#[test]
fn unknown_class_lists_known_classes() {
    let overrides = BTreeMap::from([("contact-form".to_owned(), p("6 months"))]);
    let policy = Policy::new("nl", FiscalYearStart::default(), overrides).unwrap();
    let err = policy.retention_end(2019, "invoices").unwrap_err();
    assert_eq!(
        err,
        RetentionError::UnknownClass {
            class: "invoices".into(),
            known: vec![
                "financial".into(),
                "real-estate".into(),
                "vat-oss".into(),
                "contact-form".into()
            ],
        }
    );
    assert_eq!(
        err.to_string(),
        "Unknown record class `invoices`: use one of financial, real-estate, vat-oss, \
         contact-form, or add it under [retention.classes] in the vault config."
    );
}

#[test]
fn unknown_preset_and_bad_input_errors() {
    let err = preset("xx").unwrap_err();
    assert!(matches!(err, RetentionError::UnknownPreset { ref name, .. } if name == "xx"));
    assert_eq!(
        err.to_string(),
        "Unknown retention preset `xx`: use one of nl, de, be, fr, uk, us."
    );
    for bad in ["", "../x", "Financial", "a b", "-x", "1st", &"x".repeat(33)] {
        let overrides = BTreeMap::from([(bad.to_owned(), p("1y"))]);
        assert!(
            matches!(
                Policy::new("nl", FiscalYearStart::default(), overrides),
                Err(RetentionError::BadClassName { .. })
            ),
            "{bad:?}"
        );
    }
    let policy = Policy::default();
    for year in [MIN_YEAR - 1, MAX_YEAR + 1, i32::MAX, i32::MIN] {
        assert_eq!(
            policy.retention_end(year, "financial"),
            Err(RetentionError::YearOutOfRange { year })
        );
    }
    assert!(policy.retention_end(MAX_YEAR, "vat-oss").is_ok());
    let far = Policy::new(
        "de",
        fy("12-31"),
        BTreeMap::from([("financial".into(), Period::years(MAX_PERIOD_YEARS))]),
    )
    .unwrap();
    assert!(far.retention_end(MAX_YEAR, "financial").unwrap().year() <= 9999);
}

#[test]
fn lifecycle_helpers() {
    let end = d("2026-12-31");
    assert!(!is_due(end, d("2026-12-30")));
    assert!(!is_due(end, end));
    assert!(is_due(end, d("2027-01-01")));
    assert_eq!(destruction_allowed_from(end), d("2027-01-01"));
    assert_eq!(verification_due(d("2024-08-31"), 6), d("2025-02-28"));
    assert_eq!(verification_due(d("2024-02-29"), 12), d("2025-02-28"));
    assert_eq!(verification_due(d("2024-05-10"), 0), d("2024-05-10"));
}

#[test]
fn config_from_toml() {
    #[derive(Deserialize)]
    struct Vault {
        retention: RetentionConfig,
    }
    let text = r#"
        [retention]
        preset = "nl"
        fiscal_year_start = "07-01"
        [retention.classes]
        correspondence = "6 months"
        financial = "8y"
    "#;
    let config = toml::from_str::<Vault>(text).unwrap().retention;
    let policy = Policy::from_config(&config).unwrap();
    assert_eq!(policy.fiscal_year_start, fy("07-01"));
    assert_eq!(policy.class_period("correspondence").unwrap(), p("6m"));
    assert_eq!(policy.to_config(), config);

    let shown = toml::to_string(&config).unwrap();
    assert!(shown.contains("fiscal_year_start = \"07-01\""), "{shown}");
    assert!(shown.contains("financial = \"8 years\""), "{shown}");

    let empty: RetentionConfig = toml::from_str("").unwrap();
    assert_eq!(empty, RetentionConfig::default());
    assert_eq!(Policy::from_config(&empty).unwrap(), Policy::default());

    for bad in [
        "fiscal_year_start = \"02-29\"",
        "[classes]\nx = \"7\"",
        "typo = 1",
        "fiscal_year_start = 701",
    ] {
        assert!(toml::from_str::<RetentionConfig>(bad).is_err(), "{bad}");
    }
    let err = toml::from_str::<RetentionConfig>("[classes]\nx = \"seven years\"")
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("Cannot read retention period `seven years`"),
        "{err}"
    );
}
