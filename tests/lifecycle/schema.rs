//! The JSON the lifecycle commands print, pinned: every struct denies
//! unknown fields, so that an output that grows or drifts fails a test.
//! Plus the shorthands the lifecycle tests read it with.

use std::path::PathBuf;

use chrono::NaiveDate;
use serde::Deserialize;

use crate::common::Env;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StatusOut {
    pub today: NaiveDate,
    pub verify_every_months: u32,
    pub archives: Vec<ArchiveOut>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ArchiveOut {
    pub archive_id: String,
    pub name: String,
    pub fiscal_year: i32,
    pub class: String,
    pub supplement: u32,
    pub retention_end: NaiveDate,
    pub destroy_from: NaiveDate,
    pub state: String,
    pub hold: Option<HoldOut>,
    pub copies: Vec<CopyOut>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HoldOut {
    pub reason: String,
    pub since: NaiveDate,
    pub released: Option<NaiveDate>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CopyOut {
    pub medium: String,
    pub path: PathBuf,
    pub written: String,
    pub last_verified: Option<String>,
    pub last_result: Option<String>,
    pub verify_due: Option<NaiveDate>,
    pub destroyed: Option<String>,
    pub parity_bytes: Option<u64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DueOut {
    pub today: NaiveDate,
    pub horizon: NaiveDate,
    pub verify_every_months: u32,
    pub destroy: Vec<DueDestroyOut>,
    pub verify: Vec<DueVerifyOut>,
    pub purge: Vec<String>,
    pub requests: Vec<DueRequestOut>,
}

/// An unanswered request of a data subject (docs/SUBJECTS.md); its
/// fields are read by tests/subjects.rs, pinned here for their shape.
#[allow(dead_code)]
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DueRequestOut {
    pub number: u32,
    pub kind: String,
    pub received: NaiveDate,
    pub open_days: i64,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DueDestroyOut {
    pub archive_id: String,
    pub name: String,
    pub retention_end: NaiveDate,
    pub destroy_from: NaiveDate,
    pub copies: Vec<CopyRefOut>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DueVerifyOut {
    pub archive_id: String,
    pub name: String,
    pub medium: String,
    pub path: PathBuf,
    pub last_verified: Option<NaiveDate>,
    pub verify_due: NaiveDate,
}

#[derive(Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct CopyRefOut {
    pub medium: String,
    pub path: PathBuf,
}

/// A proof of destruction, field for field.
#[derive(Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ProofOut {
    pub archive_id: String,
    pub fiscal_year: i32,
    pub class: String,
    pub file: String,
    pub size: u64,
    pub sha256: String,
    pub retention_end: NaiveDate,
    pub medium: String,
    pub destroyed_at: String,
    pub method: String,
    pub tool_version: String,
    pub operator: String,
    /// The organisation's minisign signature of the proof (issue 12).
    #[serde(default)]
    pub signature: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DestroyOut {
    pub destroyed: ProofOut,
    pub path: PathBuf,
    pub stage: String,
    pub other_copies: Vec<CopyRefOut>,
    pub note: String,
}

pub fn date(s: &str) -> NaiveDate {
    s.parse().unwrap()
}

/// `kluis status --json` on `today`.
pub fn status(env: &Env, today: &str) -> StatusOut {
    env.run_on(today, ["status", "--json"]).ok().parse()
}

/// The state `status` gives archive `name` on `today`.
pub fn state_of(env: &Env, today: &str, name: &str) -> String {
    status(env, today)
        .archives
        .into_iter()
        .find(|a| a.name == name)
        .unwrap()
        .state
}

/// `kluis due --json EXTRA…` on `today`, which must exit `code`.
pub fn due(env: &Env, today: &str, extra: &[&str], code: i32) -> DueOut {
    env.kluis()
        .today(today)
        .args(["due", "--json"])
        .args(extra)
        .run()
        .code(code)
        .parse()
}
