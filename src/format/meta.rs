//! kluis's own JSON members: the archive metadata (first member) and the
//! footer that locates the others (last member).

use chrono::{DateTime, NaiveDate, Utc};
use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::FORMAT_VERSION;

/// A tabular export's minimisation decisions, recorded for the auditor.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Minimisation {
    pub table: String,
    #[serde(default)]
    pub dropped: Vec<String>,
    #[serde(default)]
    pub kept: Vec<String>,
}

/// `kluis/metadata.json`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Metadata {
    pub format: String,
    pub format_version: u64,
    pub archive_id: String,
    pub organisation: String,
    pub fiscal_year: i32,
    pub fiscal_year_start: NaiveDate,
    pub fiscal_year_end: NaiveDate,
    pub class: String,
    pub supplement: u32,
    pub retention_end: NaiveDate,
    pub created: DateTime<Utc>,
    pub tool_version: String,
    #[serde(default)]
    pub minimisation: Vec<Minimisation>,
    /// Tax audit files (XAF) among the records, checked and summarised
    /// (docs/SUBJECTS.md); absent when there are none.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub audit_files: Vec<AuditFile>,
}

/// An XAF file among the records: its member and what it says.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditFile {
    pub path: String,
    #[serde(flatten)]
    pub summary: crate::subjects::xaf::Summary,
}

impl Metadata {
    /// The file name this archive gets on a medium: `2019-financial.kluis`,
    /// `2019-financial-2.kluis` for a supplement.
    pub fn file_name(&self) -> String {
        archive_file_name(self.fiscal_year, &self.class, self.supplement)
    }
}

/// `YYYY-CLASS.kluis`, or `YYYY-CLASS-N.kluis` for supplement N ≥ 2.
pub fn archive_file_name(year: i32, class: &str, supplement: u32) -> String {
    if supplement <= 1 {
        format!("{year}-{class}.kluis")
    } else {
        format!("{year}-{class}-{supplement}.kluis")
    }
}

/// Where a member sits in the tar stream.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemberRef {
    pub offset: u64,
    pub size: u64,
}

/// Totals over the records, for a quick summary without reading the manifest.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Totals {
    pub files: u64,
    pub dirs: u64,
    pub symlinks: u64,
    pub bytes: u64,
}

/// `kluis/footer.json`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Footer {
    pub format: String,
    pub format_version: u64,
    pub archive_id: String,
    pub metadata: MemberRef,
    pub manifest: MemberRef,
    pub sha256sums: MemberRef,
    pub records: Totals,
    /// Members after `kluis/SHA256SUMS` (docs/FORMAT.md §4.5), by key, and
    /// any field a later writer adds: kept as found, never rejected.
    #[serde(flatten)]
    pub extra: BTreeMap<String, serde_json::Value>,
}

impl Footer {
    pub fn new(archive_id: &str) -> Self {
        Footer {
            format: "kluis".into(),
            format_version: FORMAT_VERSION,
            archive_id: archive_id.into(),
            metadata: MemberRef::default(),
            manifest: MemberRef::default(),
            sha256sums: MemberRef::default(),
            records: Totals::default(),
            extra: BTreeMap::new(),
        }
    }

    /// Keys of the footer's own fields; located members use other keys.
    pub const RESERVED: &[&str] = &[
        "format",
        "format_version",
        "archive_id",
        "metadata",
        "manifest",
        "sha256sums",
        "records",
    ];

    /// The member located under `key` (e.g. `"paths"`), if the archive has
    /// one; `None` also when the entry is not an `{offset, size}` object.
    pub fn located(&self, key: &str) -> Option<MemberRef> {
        serde_json::from_value(self.extra.get(key)?.clone()).ok()
    }
}

/// 128 random bits as 32 lowercase hex digits.
pub fn new_archive_id() -> String {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).expect("the operating system's random source failed");
    crate::format::manifest::hex(&bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names() {
        assert_eq!(
            archive_file_name(2019, "financial", 1),
            "2019-financial.kluis"
        );
        assert_eq!(
            archive_file_name(2019, "financial", 3),
            "2019-financial-3.kluis"
        );
    }

    #[test]
    fn ids_are_random_hex() {
        let (a, b) = (new_archive_id(), new_archive_id());
        assert_eq!(a.len(), 32);
        assert!(
            a.bytes()
                .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase())
        );
        assert_ne!(a, b);
    }

    #[test]
    fn unknown_fields_are_ignored() {
        let json = r#"{"format":"kluis","format_version":1,"archive_id":"x","future":1,
          "metadata":{"offset":0,"size":1},"manifest":{"offset":2,"size":3},
          "sha256sums":{"offset":4,"size":5},"records":{"files":1,"dirs":0,"symlinks":0,"bytes":9}}"#;
        let f: Footer = serde_json::from_str(json).unwrap();
        assert_eq!(f.manifest, MemberRef { offset: 2, size: 3 });
    }
}
