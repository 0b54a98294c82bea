//! The catalog: every archive kluis wrote, where each copy is, when it was
//! last verified, holds, and proofs of destruction. It lives in the vault,
//! so status and reminders work with every medium in a drawer.

use std::path::PathBuf;

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

/// `catalog.json`.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Catalog {
    #[serde(default = "one")]
    pub version: u32,
    #[serde(default)]
    pub archives: Vec<CatalogArchive>,
}

fn one() -> u32 {
    1
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct CatalogArchive {
    pub archive_id: String,
    pub organisation: String,
    pub fiscal_year: i32,
    pub class: String,
    pub supplement: u32,
    pub file: String,
    pub retention_end: NaiveDate,
    pub created: DateTime<Utc>,
    pub size: u64,
    pub sha256: String,
    pub records: u64,
    #[serde(default)]
    pub copies: Vec<Copy>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hold: Option<Hold>,
    /// Holds that were released, for the record.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub released_holds: Vec<Hold>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub destructions: Vec<Destruction>,
}

/// One copy of an archive on one medium.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Copy {
    pub medium: String,
    pub path: PathBuf,
    pub written: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_verified: Option<DateTime<Utc>>,
    /// `ok`, `damaged`, `missing`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_result: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub destroyed: Option<DateTime<Utc>>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hold {
    pub reason: String,
    pub since: NaiveDate,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub released: Option<NaiveDate>,
}

/// Proof of destruction of one copy.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Destruction {
    pub archive_id: String,
    pub fiscal_year: i32,
    pub class: String,
    pub file: String,
    pub size: u64,
    pub sha256: String,
    pub retention_end: NaiveDate,
    pub medium: String,
    pub destroyed_at: DateTime<Utc>,
    pub method: String,
    pub tool_version: String,
    pub operator: String,
}

impl CatalogArchive {
    /// `2019-financial` or `2019-financial-2`.
    pub fn name(&self) -> String {
        self.file.trim_end_matches(".kluis").to_owned()
    }

    pub fn live_copies(&self) -> impl Iterator<Item = &Copy> {
        self.copies.iter().filter(|c| c.destroyed.is_none())
    }
}

impl Catalog {
    /// Finds an archive by id (or a unique id prefix of 6+ digits), by
    /// `YYYY-CLASS[-N]` or by file name.
    pub fn find(&self, name: &str) -> Option<&CatalogArchive> {
        let name = name.trim_end_matches(".kluis");
        if let Some(a) = self
            .archives
            .iter()
            .find(|a| a.name() == name || a.archive_id == name)
        {
            return Some(a);
        }
        let mut by_prefix = self
            .archives
            .iter()
            .filter(|a| name.len() >= 6 && a.archive_id.starts_with(name));
        match (by_prefix.next(), by_prefix.next()) {
            (Some(a), None) => Some(a),
            _ => None,
        }
    }

    pub fn find_mut(&mut self, name: &str) -> Option<&mut CatalogArchive> {
        let id = self.find(name)?.archive_id.clone();
        self.archives.iter_mut().find(|a| a.archive_id == id)
    }

    pub fn by_id(&self, id: &str) -> Option<&CatalogArchive> {
        self.archives.iter().find(|a| a.archive_id == id)
    }
}
