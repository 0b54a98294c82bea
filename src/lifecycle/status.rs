//! The retention lifecycle over the catalog: each archive's state, what is
//! due, holds, reminders, and recording verifications.
//!
//! Everything here works from the catalog alone, so it works with every
//! medium in a drawer. "Today" is always passed in: the CLI decides what it
//! is (the local date, or `KLUIS_TODAY` in tests), the logic stays pure.
//!
//! Over 800 lines only with its tests (the code is about 430).

use std::fmt;
use std::path::PathBuf;

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;

use crate::error::{Error, Result};
use crate::lifecycle::remind::Reminder;
use crate::read::verify;
use crate::retention::{destruction_allowed_from, is_due, verification_due};
use crate::vault::Vault;
use crate::vault::catalog::{Catalog, CatalogArchive, Copy, Hold};

/// Where an archive is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum State {
    /// Retention has not ended: it must be kept.
    Retained,
    /// Retention has ended and no hold applies: it may be destroyed.
    Due,
    /// Under a legal hold: it may not be destroyed, whatever the date.
    Held,
    /// Every copy has been destroyed.
    Destroyed,
    /// Some copies have been destroyed, others still exist.
    PartlyDestroyed,
}

impl fmt::Display for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            State::Retained => "retained",
            State::Due => "due",
            State::Held => "held",
            State::Destroyed => "destroyed",
            State::PartlyDestroyed => "partly destroyed",
        })
    }
}

/// The state of `archive` on `today`.
///
/// A fully destroyed archive is `Destroyed` whatever else is recorded; a
/// hold comes next, because it is what blocks the next step; a partly
/// destroyed archive stays `PartlyDestroyed` until its last copy goes.
pub fn state(archive: &CatalogArchive, today: NaiveDate) -> State {
    let destroyed = archive
        .copies
        .iter()
        .filter(|c| c.destroyed.is_some())
        .count();
    let live = archive.copies.len() - destroyed;
    if live == 0 && (destroyed > 0 || !archive.destructions.is_empty()) {
        State::Destroyed
    } else if archive.hold.is_some() {
        State::Held
    } else if destroyed > 0 || !archive.destructions.is_empty() {
        State::PartlyDestroyed
    } else if is_due(archive.retention_end, today) {
        State::Due
    } else {
        State::Retained
    }
}

/// When a copy should next be verified: `every_months` after its last
/// verification, or after it was written if it never was. `None` for a
/// destroyed copy.
pub fn copy_verification_due(copy: &Copy, every_months: u32) -> Option<NaiveDate> {
    if copy.destroyed.is_some() {
        return None;
    }
    let last = copy.last_verified.unwrap_or(copy.written).date_naive();
    Some(verification_due(last, every_months))
}

/// One archive as `kluis status` shows it.
#[derive(Clone, Debug, Serialize)]
pub struct ArchiveStatus {
    pub archive_id: String,
    /// `YYYY-CLASS` or `YYYY-CLASS-N`.
    pub name: String,
    pub fiscal_year: i32,
    pub class: String,
    pub supplement: u32,
    pub retention_end: NaiveDate,
    /// The first day it may be destroyed.
    pub destroy_from: NaiveDate,
    pub state: State,
    pub hold: Option<Hold>,
    pub copies: Vec<CopyStatus>,
}

/// One copy as `kluis status` shows it.
#[derive(Clone, Debug, Serialize)]
pub struct CopyStatus {
    pub medium: String,
    pub path: PathBuf,
    pub written: DateTime<Utc>,
    pub last_verified: Option<DateTime<Utc>>,
    pub last_result: Option<String>,
    /// When it should next be verified (`None` once destroyed).
    pub verify_due: Option<NaiveDate>,
    pub destroyed: Option<DateTime<Utc>>,
    /// Bytes of PAR2 parity files beside the copy (0: none); `None` when
    /// its medium is not mounted or the copy is destroyed.
    pub parity_bytes: Option<u64>,
}

/// The catalog's archives by fiscal year, class and supplement.
fn in_order(catalog: &Catalog) -> Vec<&CatalogArchive> {
    let mut all: Vec<&CatalogArchive> = catalog.archives.iter().collect();
    all.sort_by(|a, b| {
        (a.fiscal_year, &a.class, a.supplement).cmp(&(b.fiscal_year, &b.class, b.supplement))
    });
    all
}

/// Every archive in the catalog, by year, class and supplement, with its
/// state on `today`.
pub fn status(catalog: &Catalog, today: NaiveDate, verify_every_months: u32) -> Vec<ArchiveStatus> {
    in_order(catalog)
        .into_iter()
        .map(|a| ArchiveStatus {
            archive_id: a.archive_id.clone(),
            name: a.name(),
            fiscal_year: a.fiscal_year,
            class: a.class.clone(),
            supplement: a.supplement,
            retention_end: a.retention_end,
            destroy_from: destruction_allowed_from(a.retention_end),
            state: state(a, today),
            hold: a.hold.clone(),
            copies: a
                .copies
                .iter()
                .map(|c| CopyStatus {
                    medium: c.medium.clone(),
                    path: c.path.clone(),
                    written: c.written,
                    last_verified: c.last_verified,
                    last_result: c.last_result.clone(),
                    verify_due: copy_verification_due(c, verify_every_months),
                    destroyed: c.destroyed,
                    parity_bytes: (c.destroyed.is_none() && c.path.join(&a.file).exists())
                        .then(|| crate::vault::parity::size_of(&c.path, &a.file)),
                })
                .collect(),
        })
        .collect()
}

/// What `kluis due` lists.
#[derive(Clone, Debug, Serialize)]
pub struct DueReport {
    pub today: NaiveDate,
    /// The last day looked at: today plus `--within` days.
    pub horizon: NaiveDate,
    pub verify_every_months: u32,
    /// Archives whose retention has ended (by `horizon`), not held, with
    /// copies left.
    pub destroy: Vec<DueDestruction>,
    /// Live copies whose verification is due (by `horizon`).
    pub verify: Vec<DueVerification>,
    /// Archives whose `--purge-source` did not finish: their records are
    /// still in the sources (`kluis purge FILE` finishes).
    pub purge: Vec<String>,
    /// Requests of data subjects open longer than
    /// [`REQUEST_REMINDER_DAYS`] (the law gives a month to answer).
    pub requests: Vec<DueRequest>,
}

/// A request of a data subject is named by `due` when it has been open
/// this many days: the answer is due within a month of receipt.
pub const REQUEST_REMINDER_DAYS: i64 = 25;

impl DueReport {
    pub fn is_empty(&self) -> bool {
        self.destroy.is_empty()
            && self.verify.is_empty()
            && self.purge.is_empty()
            && self.requests.is_empty()
    }
}

/// An unanswered request of a data subject.
#[derive(Clone, Debug, Serialize)]
pub struct DueRequest {
    pub number: u32,
    pub kind: String,
    pub received: NaiveDate,
    /// Days since it was received.
    pub open_days: i64,
}

#[derive(Clone, Debug, Serialize)]
pub struct DueDestruction {
    pub archive_id: String,
    pub name: String,
    pub retention_end: NaiveDate,
    pub destroy_from: NaiveDate,
    /// The copies still to destroy.
    pub copies: Vec<CopyRef>,
}

#[derive(Clone, Debug, Serialize)]
pub struct DueVerification {
    pub archive_id: String,
    pub name: String,
    pub medium: String,
    pub path: PathBuf,
    /// Never verified: counted from when the copy was written.
    pub last_verified: Option<NaiveDate>,
    pub verify_due: NaiveDate,
}

/// A copy by medium label and the folder it was last seen in.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct CopyRef {
    pub medium: String,
    pub path: PathBuf,
}

/// What needs action by `today + within_days`: archives to destroy and
/// copies to verify.
pub fn due(
    catalog: &Catalog,
    today: NaiveDate,
    within_days: u32,
    verify_every_months: u32,
) -> DueReport {
    let horizon = today
        .checked_add_days(chrono::Days::new(within_days.into()))
        .unwrap_or(NaiveDate::MAX);
    let mut report = DueReport {
        today,
        horizon,
        verify_every_months,
        destroy: Vec::new(),
        verify: Vec::new(),
        purge: Vec::new(),
        requests: catalog
            .requests
            .iter()
            .filter(|r| {
                r.answered.is_none() && (horizon - r.received).num_days() >= REQUEST_REMINDER_DAYS
            })
            .map(|r| DueRequest {
                number: r.number,
                kind: r.kind.clone(),
                received: r.received,
                open_days: (today - r.received).num_days(),
            })
            .collect(),
    };
    for a in in_order(catalog) {
        let live: Vec<CopyRef> = a
            .live_copies()
            .map(|c| CopyRef {
                medium: c.medium.clone(),
                path: c.path.clone(),
            })
            .collect();
        if a.hold.is_none() && !live.is_empty() && is_due(a.retention_end, horizon) {
            report.destroy.push(DueDestruction {
                archive_id: a.archive_id.clone(),
                name: a.name(),
                retention_end: a.retention_end,
                destroy_from: destruction_allowed_from(a.retention_end),
                copies: live,
            });
        }
        for c in a.live_copies() {
            let Some(when) = copy_verification_due(c, verify_every_months) else {
                continue;
            };
            if when <= horizon {
                report.verify.push(DueVerification {
                    archive_id: a.archive_id.clone(),
                    name: a.name(),
                    medium: c.medium.clone(),
                    path: c.path.clone(),
                    last_verified: c.last_verified.map(|t| t.date_naive()),
                    verify_due: when,
                });
            }
        }
    }
    report
}

/// Puts the archive called `name` under a hold from `today`.
///
/// # Errors
/// [`Error::UnknownArchive`]; [`Error::AlreadyDestroyed`] when no copy is
/// left; [`Error::Usage`] for an empty reason or an archive already held
/// (release the first hold before giving another reason).
pub fn hold(vault: &Vault, name: &str, reason: &str, today: NaiveDate) -> Result<CatalogArchive> {
    let reason = reason.trim();
    if reason.is_empty() {
        return Err(Error::Usage(
            "a hold needs a reason (--reason \"tax audit 2019\")".into(),
        ));
    }
    vault.update_catalog(|catalog| {
        let archive = catalog
            .find_mut(name)
            .ok_or_else(|| Error::UnknownArchive { name: name.into() })?;
        if state(archive, today) == State::Destroyed {
            return Err(Error::AlreadyDestroyed {
                archive: archive.name(),
            });
        }
        if let Some(h) = &archive.hold {
            return Err(Error::Usage(format!(
                "{}: already under a hold since {}: {}; release it first with `kluis release {}`",
                archive.name(),
                h.since,
                h.reason,
                archive.name()
            )));
        }
        archive.hold = Some(Hold {
            reason: reason.into(),
            since: today,
            released: None,
        });
        Ok(archive.clone())
    })
}

/// Releases the hold on the archive called `name`, keeping it, with the
/// release date, in the archive's released holds.
///
/// # Errors
/// [`Error::UnknownArchive`]; [`Error::Usage`] when it is not held.
pub fn release(vault: &Vault, name: &str, today: NaiveDate) -> Result<(CatalogArchive, Hold)> {
    vault.update_catalog(|catalog| {
        let archive = catalog
            .find_mut(name)
            .ok_or_else(|| Error::UnknownArchive { name: name.into() })?;
        let Some(mut h) = archive.hold.take() else {
            return Err(Error::Usage(format!(
                "{}: not under a hold; nothing was changed",
                archive.name()
            )));
        };
        h.released = Some(today);
        archive.released_holds.push(h.clone());
        Ok((archive.clone(), h))
    })
}

/// The calendar entries for `kluis remind`: for every archive with copies
/// left, the first day it may be destroyed; for every live copy, the day
/// its next verification is due. UIDs are stable across exports, so a
/// re-imported file updates events instead of duplicating them.
pub fn reminders(catalog: &Catalog, verify_every_months: u32) -> Vec<Reminder> {
    let mut out = Vec::new();
    for a in in_order(catalog) {
        let live: Vec<&Copy> = a.live_copies().collect();
        if live.is_empty() {
            continue;
        }
        let name = a.name();
        let copies = live
            .iter()
            .map(|c| format!("{} ({})", c.medium, c.path.display()))
            .collect::<Vec<_>>()
            .join(", ");
        let mut description = format!(
            "The retention of {name} ({}, fiscal year {}, class {}) ended on {}.\nCopies: {copies}.\n",
            a.organisation, a.fiscal_year, a.class, a.retention_end
        );
        match &a.hold {
            Some(h) => description.push_str(&format!(
                "It is under a hold since {}: {}. It cannot be destroyed until the hold is released (kluis release {name}).",
                h.since, h.reason
            )),
            None => description.push_str(&format!(
                "To destroy a copy, plug in its medium and run: kluis destroy {name} --medium DIR"
            )),
        }
        out.push(Reminder {
            uid: format!("destroy-{}@kluis", a.archive_id),
            date: destruction_allowed_from(a.retention_end),
            summary: format!("kluis: {name} may be destroyed"),
            description,
        });
        for c in live {
            let Some(when) = copy_verification_due(c, verify_every_months) else {
                continue;
            };
            let last = match c.last_verified {
                Some(t) => format!("last verified on {}", t.date_naive()),
                None => format!(
                    "never verified since it was written on {}",
                    c.written.date_naive()
                ),
            };
            out.push(Reminder {
                uid: format!("verify-{}-{}@kluis", a.archive_id, uid_part(&c.medium)),
                date: when,
                summary: format!("kluis: verify {name} on {}", c.medium),
                description: format!(
                    "The copy of {name} on medium {} was {last}. Offline media rot: plug it in and run: kluis verify {}",
                    c.medium,
                    c.path.display()
                ),
            });
        }
    }
    out
}

/// A medium label made safe for a UID: letters, digits and `-` only.
fn uid_part(label: &str) -> String {
    label
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect()
}

/// Records the outcome of a verification on the catalog's copies.
pub fn record_verification(vault: &Vault, report: &verify::Report, full: bool) -> Result<()> {
    let now = Utc::now();
    vault.update_catalog(|catalog| {
        for check in &report.archives {
            let Some(id) = &check.archive_id else {
                continue;
            };
            let dir = check.path.parent().and_then(|p| p.canonicalize().ok());
            let Some(archive) = catalog.archives.iter_mut().find(|a| &a.archive_id == id) else {
                continue;
            };
            for copy in archive.copies.iter_mut().filter(|c| c.destroyed.is_none()) {
                if dir.as_deref() == Some(copy.path.as_path()) {
                    copy.last_verified = Some(now);
                    copy.last_result = Some(
                        match (check.ok(), check.intact(), full) {
                            (true, _, true) => "ok (full)",
                            (true, _, false) => "ok (quick)",
                            // Not damage: the copy differs from what the
                            // catalog recorded of it.
                            (false, true, _) => "catalog mismatch",
                            (false, false, _) => "damaged",
                        }
                        .into(),
                    );
                }
            }
        }
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vault::catalog::Destruction;
    use chrono::TimeZone;

    fn date(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    fn at(s: &str) -> DateTime<Utc> {
        let d = date(s);
        Utc.from_utc_datetime(&d.and_hms_opt(12, 0, 0).unwrap())
    }

    fn copy(medium: &str, written: &str, verified: Option<&str>, destroyed: Option<&str>) -> Copy {
        Copy {
            medium: medium.into(),
            path: PathBuf::from(format!("/media/{medium}")),
            written: at(written),
            last_verified: verified.map(at),
            last_result: verified.map(|_| "ok".into()),
            destroyed: destroyed.map(at),
            sha256: None,
            size: None,
        }
    }

    fn archive(year: i32, end: &str, copies: Vec<Copy>) -> CatalogArchive {
        CatalogArchive {
            archive_id: format!("id{year}"),
            organisation: "Org".into(),
            fiscal_year: year,
            class: "financial".into(),
            supplement: 1,
            file: format!("{year}-financial.kluis"),
            retention_end: date(end),
            created: at("2020-01-01"),
            size: 10,
            sha256: "00".repeat(32),
            records: 1,
            copies,
            hold: None,
            released_holds: Vec::new(),
            destructions: Vec::new(),
            signed_by: None,
            rekeys: Vec::new(),
            subjects: None,
        }
    }

    fn proof(a: &CatalogArchive, medium: &str) -> Destruction {
        Destruction {
            archive_id: a.archive_id.clone(),
            fiscal_year: a.fiscal_year,
            class: a.class.clone(),
            file: a.file.clone(),
            size: a.size,
            sha256: a.sha256.clone(),
            retention_end: a.retention_end,
            medium: medium.into(),
            destroyed_at: at("2024-01-01"),
            method: "test".into(),
            tool_version: "test".into(),
            operator: "test".into(),
            erasure_requests: Vec::new(),
            signature: None,
        }
    }

    fn held(mut a: CatalogArchive) -> CatalogArchive {
        a.hold = Some(Hold {
            reason: "audit".into(),
            since: date("2023-01-01"),
            released: None,
        });
        a
    }

    #[test]
    fn states() {
        let two = || {
            vec![
                copy("a", "2020-01-01", None, None),
                copy("b", "2020-01-01", None, None),
            ]
        };
        let one_gone = || {
            vec![
                copy("a", "2020-01-01", None, Some("2024-01-01")),
                copy("b", "2020-01-01", None, None),
            ]
        };
        let all_gone = || {
            vec![
                copy("a", "2020-01-01", None, Some("2024-01-01")),
                copy("b", "2020-01-01", None, Some("2024-01-01")),
            ]
        };
        let end = "2022-12-31";
        for (what, a, today, expected) in [
            (
                "before the end",
                archive(2015, end, two()),
                "2022-06-01",
                State::Retained,
            ),
            (
                "on the last day",
                archive(2015, end, two()),
                "2022-12-31",
                State::Retained,
            ),
            (
                "the day after",
                archive(2015, end, two()),
                "2023-01-01",
                State::Due,
            ),
            (
                "held after the end",
                held(archive(2015, end, two())),
                "2030-01-01",
                State::Held,
            ),
            (
                "held before the end",
                held(archive(2015, end, two())),
                "2020-01-01",
                State::Held,
            ),
            (
                "one copy gone",
                archive(2015, end, one_gone()),
                "2024-01-01",
                State::PartlyDestroyed,
            ),
            (
                "one gone, held",
                held(archive(2015, end, one_gone())),
                "2024-01-01",
                State::Held,
            ),
            (
                "all gone",
                archive(2015, end, all_gone()),
                "2024-01-01",
                State::Destroyed,
            ),
            (
                "all gone, held",
                held(archive(2015, end, all_gone())),
                "2024-01-01",
                State::Destroyed,
            ),
            (
                "no copies, never destroyed",
                archive(2015, end, vec![]),
                "2024-01-01",
                State::Due,
            ),
        ] {
            assert_eq!(state(&a, date(today)), expected, "{what}");
        }
        // Destruction records without a catalogued copy (a copy the catalog
        // did not know) still count.
        let mut a = archive(2015, end, vec![]);
        a.destructions.push(proof(&a, "x"));
        assert_eq!(state(&a, date("2024-01-01")), State::Destroyed);
        let mut a = archive(2015, end, two());
        a.destructions.push(proof(&a, "x"));
        assert_eq!(state(&a, date("2024-01-01")), State::PartlyDestroyed);
    }

    #[test]
    fn verification_due_dates() {
        for (what, c, every, expected) in [
            (
                "from last verification",
                copy("a", "2020-01-01", Some("2023-05-10"), None),
                12,
                Some("2024-05-10"),
            ),
            (
                "never verified: from written",
                copy("a", "2020-01-31", None, None),
                1,
                Some("2020-02-29"),
            ),
            (
                "month end clamps",
                copy("a", "2019-01-01", Some("2023-08-31"), None),
                6,
                Some("2024-02-29"),
            ),
            (
                "destroyed copies are never due",
                copy("a", "2020-01-01", None, Some("2021-01-01")),
                12,
                None,
            ),
        ] {
            assert_eq!(
                copy_verification_due(&c, every),
                expected.map(date),
                "{what}"
            );
        }
    }

    fn catalog() -> Catalog {
        Catalog {
            version: 1,
            archives: vec![
                // Retention over, verified recently.
                archive(
                    2015,
                    "2022-12-31",
                    vec![
                        copy("a", "2024-01-01", Some("2024-06-01"), None),
                        copy("b", "2024-01-01", Some("2024-06-01"), None),
                    ],
                ),
                // Retention over, but held.
                held(archive(
                    2016,
                    "2023-12-31",
                    vec![copy("a", "2024-01-01", Some("2024-06-01"), None)],
                )),
                // Retention over, one copy destroyed: the other is due.
                archive(
                    2014,
                    "2021-12-31",
                    vec![
                        copy("a", "2020-01-01", None, Some("2024-01-01")),
                        copy("b", "2020-01-01", Some("2024-06-01"), None),
                    ],
                ),
                // Fully destroyed: nothing to do, nothing to verify.
                archive(
                    2013,
                    "2020-12-31",
                    vec![copy("a", "2015-01-01", None, Some("2022-01-01"))],
                ),
                // Retained until the end of 2031; copy a never verified since 2024-03-01.
                archive(
                    2024,
                    "2031-12-31",
                    vec![
                        copy("a", "2024-03-01", None, None),
                        copy("b", "2024-03-01", Some("2024-09-15"), None),
                    ],
                ),
            ],
            ..Catalog::default()
        }
    }

    fn names(r: &DueReport) -> (Vec<String>, Vec<String>) {
        (
            r.destroy.iter().map(|d| d.name.clone()).collect(),
            r.verify
                .iter()
                .map(|v| format!("{}@{}", v.name, v.medium))
                .collect(),
        )
    }

    #[test]
    fn due_lists_destructions_and_overdue_verifications() {
        let c = catalog();
        let r = due(&c, date("2024-07-01"), 0, 12);
        let (destroy, verify) = names(&r);
        // By year, whatever the catalog's order.
        assert_eq!(destroy, ["2014-financial", "2015-financial"]);
        assert!(verify.is_empty(), "{verify:?}");
        assert_eq!(
            r.destroy[0].copies,
            [CopyRef {
                medium: "b".into(),
                path: "/media/b".into()
            }]
        );

        // On the verification due date of the never-verified copy.
        let r = due(&c, date("2025-03-01"), 0, 12);
        assert_eq!(names(&r).1, ["2024-financial@a"]);
        assert_eq!(r.verify[0].last_verified, None);
        assert_eq!(r.verify[0].verify_due, date("2025-03-01"));
        // The day before it is not due ...
        assert!(names(&due(&c, date("2025-02-28"), 0, 12)).1.is_empty());
        // ... unless looking a day ahead.
        assert_eq!(
            names(&due(&c, date("2025-02-28"), 1, 12)).1,
            ["2024-financial@a"]
        );
        // A shorter period makes the others due too; held archives are still
        // verified (they must be kept intact), destroyed copies never.
        let (_, verify) = names(&due(&c, date("2024-12-15"), 0, 3));
        assert_eq!(
            verify,
            [
                "2014-financial@b",
                "2015-financial@a",
                "2015-financial@b",
                "2016-financial@a",
                "2024-financial@a",
                "2024-financial@b"
            ]
        );
    }

    #[test]
    fn due_within_days_looks_ahead_at_retention_ends() {
        let c = catalog();
        let on = |today: &str, within| names(&due(&c, date(today), within, 1200)).0;
        assert!(!on("2031-12-31", 0).contains(&"2024-financial".to_string()));
        assert!(on("2032-01-01", 0).contains(&"2024-financial".to_string()));
        assert!(!on("2031-12-30", 1).contains(&"2024-financial".to_string()));
        assert!(on("2031-12-30", 2).contains(&"2024-financial".to_string()));
        let r = due(&c, date("2031-12-30"), 2, 1200);
        assert_eq!(r.horizon, date("2032-01-01"));
        assert!(due(&Catalog::default(), date("2031-12-30"), 2, 12).is_empty());
        // An absurd window saturates instead of panicking.
        assert_eq!(
            due(&c, date("2030-01-01"), u32::MAX, 12).horizon,
            NaiveDate::MAX
        );
    }

    #[test]
    fn status_rows() {
        let rows = status(&catalog(), date("2024-07-01"), 12);
        let states: Vec<_> = rows.iter().map(|r| (r.name.as_str(), r.state)).collect();
        assert_eq!(
            states,
            [
                ("2013-financial", State::Destroyed),
                ("2014-financial", State::PartlyDestroyed),
                ("2015-financial", State::Due),
                ("2016-financial", State::Held),
                ("2024-financial", State::Retained),
            ]
        );
        assert_eq!(rows[2].destroy_from, date("2023-01-01"));
        assert_eq!(rows[1].copies[0].verify_due, None);
        assert_eq!(rows[1].copies[1].verify_due, Some(date("2025-06-01")));
        assert_eq!(State::PartlyDestroyed.to_string(), "partly destroyed");
        assert_eq!(
            serde_json::to_value(State::PartlyDestroyed).unwrap(),
            "partly_destroyed"
        );
    }

    #[test]
    fn reminders_skip_destroyed_archives_and_copies() {
        let r = reminders(&catalog(), 12);
        let uids: Vec<_> = r.iter().map(|r| r.uid.as_str()).collect();
        assert_eq!(
            uids,
            [
                "destroy-id2014@kluis",
                "verify-id2014-b@kluis",
                "destroy-id2015@kluis",
                "verify-id2015-a@kluis",
                "verify-id2015-b@kluis",
                "destroy-id2016@kluis",
                "verify-id2016-a@kluis",
                "destroy-id2024@kluis",
                "verify-id2024-a@kluis",
                "verify-id2024-b@kluis",
            ]
        );
        assert_eq!(r[2].date, date("2023-01-01"));
        assert_eq!(r[3].date, date("2025-06-01"));
        assert!(
            r[5].description.contains("under a hold"),
            "{}",
            r[5].description
        );
        assert_eq!(uid_part("Stick A/2"), "Stick-A-2");
    }
}
