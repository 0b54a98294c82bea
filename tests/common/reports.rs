//! The JSON reports of `archive --json` and `purge --json` about tables and
//! purges, pinned: every struct denies unknown fields, so that a report that
//! grows or drifts fails a test (tests/tables.rs, tests/databases.rs).

use std::collections::BTreeMap;

use serde::Deserialize;

#[derive(Debug, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct TableOut {
    pub table: String,
    pub source: String,
    pub member: String,
    pub rows_archived: u64,
    pub rows_other_years: BTreeMap<String, u64>,
    pub columns_kept: Vec<String>,
    pub columns_dropped: Vec<String>,
    pub sensitive_kept: Vec<String>,
    pub bytes: u64,
}

/// A purge's report; the chunk fields are a live database's.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PurgeOut {
    pub files: u64,
    pub bytes: u64,
    pub symlinks: u64,
    pub dirs: u64,
    pub tables: Vec<TablePurgeOut>,
    pub kept: Vec<KeptOut>,
    #[serde(default)]
    pub interrupted: bool,
    #[serde(default)]
    pub chunks: u64,
    #[serde(default)]
    pub longest_chunk_ms: f64,
    #[serde(default)]
    pub chunk_p99_ms: f64,
}

#[derive(Debug, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct TablePurgeOut {
    pub table: String,
    pub source: String,
    pub rows_removed: u64,
    pub rows_left: u64,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeptOut {
    pub path: String,
    pub reason: String,
}
