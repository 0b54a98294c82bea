//! The catalog: every archive kluis wrote, where each copy is, when it was
//! last verified, holds, proofs of destruction, the organisation's signing
//! keys and every share of records with an outsider. It lives in the vault,
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
    /// The organisation's signing keys (public halves), newest last; old
    /// ones stay so that what they signed still checks.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub signing_keys: Vec<SigningKeyRecord>,
    /// Every share of records with an outsider (an auditor, a person asking
    /// for their data): the record of disclosures.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub shares: Vec<Share>,
    /// Requests of data subjects (GDPR articles 15 and 17): who asked is
    /// sealed to the vault's recipients; the dates are plain, so that
    /// `kluis due` can remind without a key.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub requests: Vec<SubjectRequest>,
}

/// A data subject's request (docs/SUBJECTS.md).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SubjectRequest {
    pub number: u32,
    /// `access` (article 15) or `erasure` (article 17).
    pub kind: String,
    pub received: NaiveDate,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub answered: Option<NaiveDate>,
    /// Who asked and the identifiers asked about, as JSON age-encrypted to
    /// the vault's recipients (armored).
    pub sealed: String,
    /// The archives (ids) found to hold something about the person, when
    /// the request was answered.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub archives: Vec<String>,
}

/// A public signing key the organisation used.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SigningKeyRecord {
    /// minisign's key id, e.g. `E216398C998CD932`.
    pub key_id: String,
    /// The public key's base64 line (`RWQ…`), as `minisign -P` takes it.
    pub public_key: String,
    pub created: DateTime<Utc>,
}

/// One share: which records left the organisation, when, to whom, why.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Share {
    pub share_id: String,
    pub created: DateTime<Utc>,
    /// Who received it: the auditor's age recipient, or `plain` for an
    /// unencrypted folder.
    pub to: String,
    pub reason: String,
    /// Where it was written.
    pub path: PathBuf,
    /// The archives the records came from (ids).
    pub archives: Vec<String>,
    /// The patterns and dates that chose the records.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub patterns: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<NaiveDate>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub until: Option<NaiveDate>,
    pub records: u64,
    pub bytes: u64,
    /// The shared archive's SHA-256 (absent for a plain folder).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
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
    /// The key id that signed it when kluis wrote it (absent: unsigned, or
    /// written before kluis signed archives).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signed_by: Option<String>,
    /// Re-encryptions (`kluis rekey`): the earlier ciphertext hashes.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rekeys: Vec<Rekey>,
    /// What its subject index covers; its identifiers' keyed hashes are in
    /// `subjects/` (absent: written before kluis indexed subjects).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subjects: Option<crate::format::subjectindex::Coverage>,
}

/// One re-encryption of an archive to new recipients.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rekey {
    pub at: DateTime<Utc>,
    pub old_sha256: String,
    pub old_size: u64,
    pub recipients: Vec<String>,
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
    /// This copy's ciphertext SHA-256 and size when they differ from the
    /// archive's (after `kluis rekey` of this medium: every re-encryption
    /// has a fresh file key).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<u64>,
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
    /// Erasure requests (their numbers) of people this archive held
    /// something about: the erasure their retention duty postponed is done.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub erasure_requests: Vec<u32>,
    /// A minisign signature, by the organisation's key, of this proof as
    /// [`Destruction::signed_bytes`] gives it (absent: no signing key).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signature: Option<String>,
}

impl Destruction {
    /// The bytes the signature is over: the proof without its signature,
    /// as pretty JSON with a final newline (the content of the
    /// `FILE.destroyed.json` file kluis leaves on the medium).
    pub fn signed_bytes(&self) -> Vec<u8> {
        let mut unsigned = self.clone();
        unsigned.signature = None;
        let mut json = serde_json::to_vec_pretty(&unsigned).expect("a proof serialises");
        json.push(b'\n');
        json
    }
}

impl CatalogArchive {
    /// `2019-financial` or `2019-financial-2`.
    pub fn name(&self) -> String {
        self.file.trim_end_matches(".kluis").to_owned()
    }

    pub fn live_copies(&self) -> impl Iterator<Item = &Copy> {
        self.copies.iter().filter(|c| c.destroyed.is_none())
    }

    /// The size and SHA-256 the live copy on medium `label` should have:
    /// its own after a rekey, else the archive's.
    pub fn expected_on(&self, label: &str) -> (u64, &str) {
        match self
            .live_copies()
            .find(|c| c.medium == label && c.sha256.is_some())
        {
            Some(c) => (
                c.size.unwrap_or(self.size),
                c.sha256.as_deref().unwrap_or(&self.sha256),
            ),
            None => (self.size, &self.sha256),
        }
    }

    /// Whether `sha256` is the ciphertext of this archive on some copy:
    /// the archive's own or a rekeyed copy's.
    pub fn has_ciphertext(&self, sha256: &str) -> bool {
        self.sha256 == sha256
            || self
                .copies
                .iter()
                .any(|c| c.sha256.as_deref() == Some(sha256))
    }

    /// The re-encryption that replaced ciphertext `sha256`, if one did.
    pub fn replaced_by_rekey(&self, sha256: &str) -> Option<&Rekey> {
        self.rekeys.iter().find(|r| r.old_sha256 == sha256)
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
