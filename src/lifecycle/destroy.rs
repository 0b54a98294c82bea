//! Destroying one copy of an archive whose retention has ended: [`plan`]
//! checks everything and changes nothing; [`execute`] overwrites, deletes,
//! and writes the proof of destruction to the medium and the catalog.
//!
//! # Crash safety
//! Every step leaves a state that a re-run of `kluis destroy` recognises and
//! finishes:
//!
//! 1. The archive file is renamed to `.FILE.destroying` (the intent: from
//!    here on its content may be random, so the hash check no longer
//!    applies to it).
//! 2. That file is overwritten, truncated and unlinked, with fsyncs.
//! 3. The proof, signed by the organisation's key when the vault has one,
//!    is written beside it as `FILE.destroyed.json` (with
//!    `FILE.destroyed.json.minisig`); the medium's index, `SHA256SUMS` (and
//!    its signature) and `README.txt` are rewritten without it, the proof
//!    appended to the index (each atomically).
//! 4. The catalog marks the copy destroyed and keeps the proof.
//!
//! A re-run after 1–2 finds the `.destroying` file and continues; after the
//! unlink it finds the index still listing a file that is gone; after 3 it
//! finds the proof on the medium and copies it into the catalog.
//!
//! # Security
//! Overwriting is honest effort, not a guarantee: flash media and SSDs remap
//! blocks, so old content may survive where the operating system cannot
//! reach it (NIST SP 800-88). Destroying every copy of the key is what makes
//! every copy unreadable; see [`HONESTY_NOTE`].

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use chrono::{NaiveDate, Utc};

use crate::error::{Error, IoContext, Result};
use crate::format::manifest::hex;
use crate::keys::signing::{SIG_EXTENSION, comment_value};
use crate::progress::Progress;
use crate::retention::is_due;
use crate::util::testpoint::pause_point;
use crate::vault::Vault;
use crate::vault::catalog::{Catalog, CatalogArchive, Copy, Destruction};
use crate::vault::media::{Medium, atomic_write, sync_dir, wipe};
use crate::vault::readback::hash_file;

/// What the proof says was done to the file.
pub const METHOD: &str = "overwrite-random-1-pass+truncate+unlink";
/// The method recorded when the file was already gone (deleted by hand, or
/// a crash right after the unlink): kluis did not see it overwritten.
pub const METHOD_ALREADY_GONE: &str = "file-already-absent+records-completed";

/// What overwriting does and does not guarantee; printed after every
/// destruction.
pub const HONESTY_NOTE: &str = "\
On USB sticks, SD cards and SSDs, overwriting a file does not guarantee that \
its old content is erased: the device may keep old blocks where the operating \
system cannot reach them (NIST SP 800-88). The archive is encrypted, so what \
makes every copy unreadable, on every medium, is destroying every copy of the \
key(s) it was encrypted to (cryptographic erase) - but only do that once no \
archive you must still keep uses those keys.";

/// How far an earlier, interrupted destruction of this copy got.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Stage {
    /// The archive file is there, its SHA-256 checked against the catalog.
    Intact,
    /// Renamed to `.FILE.destroying` and possibly partly overwritten.
    Interrupted,
    /// The index lists it, but the file is gone.
    FileGone,
    /// The medium already has the proof; only the catalog lacks it.
    Recorded(Box<Destruction>),
}

/// Everything [`execute`] needs, checked by [`plan`].
#[derive(Clone, Debug)]
pub struct DestroyPlan {
    /// The catalog's entry, as it was when planned.
    pub archive: CatalogArchive,
    pub medium_dir: PathBuf,
    pub medium_label: String,
    /// The archive file on the medium.
    pub path: PathBuf,
    pub stage: Stage,
    /// Who destroys it, for the proof.
    pub operator: String,
    /// Copies on other media that stay after this one is gone.
    pub other_copies: Vec<Copy>,
    /// The file whose hash was checked, so that [`execute`] destroys that
    /// file and not one put in its place meanwhile.
    checked: Option<FileId>,
}

/// Which file, and whether it changed: device, inode, size, mtime.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct FileId(u64, u64, u64, i64, i64);

impl FileId {
    fn of(meta: &fs::Metadata) -> FileId {
        use std::os::unix::fs::MetadataExt;
        FileId(
            meta.dev(),
            meta.ino(),
            meta.len(),
            meta.mtime(),
            meta.mtime_nsec(),
        )
    }
}

impl DestroyPlan {
    pub fn name(&self) -> String {
        self.archive.name()
    }

    /// Where the file is while it is being destroyed.
    pub fn destroying_path(&self) -> PathBuf {
        destroying_path(&self.medium_dir, &self.archive.file)
    }
}

/// `2015-financial.kluis.destroyed.json`: the proof kept on the medium.
pub fn proof_file(archive_file: &str) -> String {
    format!("{archive_file}.destroyed.json")
}

fn destroying_path(dir: &Path, file: &str) -> PathBuf {
    dir.join(format!(".{file}.destroying"))
}

/// Checks that the copy of archive `name` in `medium_dir` may be destroyed
/// on `today`, and how far an earlier attempt got. Changes nothing. Hold
/// the vault lock from here until [`execute`] returns.
///
/// # Errors
/// [`Error::UnknownArchive`]; [`Error::Held`]; [`Error::RetentionNotEnded`]
/// (with the date); [`Error::NotOnMedium`] when the folder's index does not
/// list this archive or lists another file; [`Error::NotTheArchive`] when
/// the file's SHA-256 is not the catalog's; [`Error::AlreadyDestroyed`] when
/// this copy's proof is already recorded.
pub fn plan(
    catalog: &Catalog,
    name: &str,
    medium_dir: &Path,
    today: NaiveDate,
    operator: &str,
) -> Result<DestroyPlan> {
    let archive = catalog
        .find(name)
        .ok_or_else(|| Error::UnknownArchive { name: name.into() })?;
    let display = archive.name();
    if let Some(h) = &archive.hold {
        return Err(Error::Held {
            archive: display,
            since: h.since,
            reason: h.reason.clone(),
        });
    }
    if !is_due(archive.retention_end, today) {
        return Err(Error::RetentionNotEnded {
            archive: display,
            until: archive.retention_end,
        });
    }
    let medium = Medium::open(medium_dir, None)?;
    let label = medium.label().to_owned();
    let not_on = |detail: String| Error::NotOnMedium {
        medium: medium_dir.into(),
        archive: display.clone(),
        detail,
    };
    let medium_canon = medium_dir.canonicalize().ok();
    let this_copy =
        |c: &&Copy| Some(c.path.as_path()) == medium_canon.as_deref() || c.medium == label;

    let path = medium_dir.join(&archive.file);
    let (expected_size, expected_sha256) = archive.expected_on(&label);
    let mut checked = None;
    let stage = match medium
        .index
        .archives
        .iter()
        .find(|e| e.archive_id == archive.archive_id)
    {
        Some(entry) => {
            if entry.file != archive.file || entry.sha256 != expected_sha256 {
                return Err(not_on(format!(
                    "its index lists this archive id as {} with another hash",
                    entry.file
                )));
            }
            if destroying_path(medium_dir, &archive.file)
                .symlink_metadata()
                .is_ok()
                && path.symlink_metadata().is_err()
            {
                Stage::Interrupted
            } else {
                match path.symlink_metadata() {
                    Err(e) if e.kind() == io::ErrorKind::NotFound => Stage::FileGone,
                    Err(e) => return Err(Error::io(&path, e)),
                    Ok(meta) if !meta.file_type().is_file() => {
                        return Err(not_on(format!("{} is not a regular file", archive.file)));
                    }
                    Ok(meta) => {
                        if meta.len() != expected_size {
                            return Err(Error::NotTheArchive {
                                path,
                                expected: expected_sha256.to_owned(),
                                actual: format!(
                                    "(not computed: {} bytes, not {})",
                                    meta.len(),
                                    expected_size
                                ),
                            });
                        }
                        let (_, actual) = hash_file(&path)?;
                        let actual = hex(&actual);
                        if actual != expected_sha256 {
                            return Err(Error::NotTheArchive {
                                path,
                                expected: expected_sha256.to_owned(),
                                actual,
                            });
                        }
                        checked = Some(FileId::of(&meta));
                        Stage::Intact
                    }
                }
            }
        }
        None => {
            let proof = medium
                .index
                .destroyed
                .iter()
                .rev()
                .find(|d| d.archive_id == archive.archive_id);
            match proof {
                Some(p) if archive.destructions.contains(p) => {
                    return Err(Error::AlreadyDestroyed {
                        archive: format!("{display} on {label}"),
                    });
                }
                Some(p) => Stage::Recorded(Box::new(p.clone())),
                None => {
                    let detail = if path.symlink_metadata().is_ok() {
                        format!(
                            "{} is there, but the medium's index does not list it",
                            archive.file
                        )
                    } else {
                        "its index does not list it".into()
                    };
                    return Err(not_on(detail));
                }
            }
        }
    };

    let other_copies = archive
        .live_copies()
        .filter(|c| !this_copy(c))
        .cloned()
        .collect();
    Ok(DestroyPlan {
        archive: archive.clone(),
        medium_dir: medium_dir.into(),
        medium_label: label,
        path,
        stage,
        operator: operator.into(),
        other_copies,
        checked,
    })
}

/// Carries out `plan`: destroys the file (unless an earlier attempt did),
/// removes it from the medium's index and `SHA256SUMS`, and records the
/// proof on the medium and in the catalog. Returns the proof.
///
/// The caller holds the vault lock (taken before [`plan`]).
pub fn execute(vault: &Vault, plan: &DestroyPlan, progress: &dyn Progress) -> Result<Destruction> {
    let a = &plan.archive;
    let signer = vault.signing_key()?.map(std::sync::Arc::new);
    // Another kluis process (of another vault) may be writing this medium.
    let medium = Medium::open(&plan.medium_dir, None)?;
    let medium_lock = medium.lock()?;
    let removed = medium.clean_leftovers(&medium_lock)?;
    if !removed.is_empty() {
        progress.note(&format!(
            "{}: removed {} leftover(s) of interrupted runs ({})",
            medium.label(),
            removed.len(),
            removed.join(", ")
        ));
    }
    pause_point("destroy-checked");
    // The last safe point: once the copy is renamed for destruction, the
    // overwrite and the proof are finished whatever comes.
    if matches!(plan.stage, Stage::Intact) && progress.interrupted() {
        return Err(Error::Interrupted {
            done: format!(
                "nothing was destroyed: {} on {} is as it was",
                a.file, plan.medium_label
            ),
        });
    }
    let proof = match &plan.stage {
        Stage::Recorded(proof) => {
            // A crash may have come after the index was written but before
            // SHA256SUMS or README.txt: write them again from the index.
            Medium::open(&plan.medium_dir, None)?
                .signed_by(signer.clone())
                .save()?;
            (**proof).clone()
        }
        stage => {
            let destroying = plan.destroying_path();
            let method = match stage {
                Stage::Intact => {
                    if destroying.symlink_metadata().is_ok() {
                        // Left over from an attempt on an earlier copy of the
                        // same file: finish it first.
                        wipe(&destroying, &plan.medium_dir, progress)?;
                    }
                    fs::rename(&plan.path, &destroying).at(&plan.path)?;
                    let now = fs::symlink_metadata(&destroying).at(&destroying)?;
                    if Some(FileId::of(&now)) != plan.checked {
                        // Replaced since it was checked: put it back, stop.
                        fs::rename(&destroying, &plan.path).at(&plan.path)?;
                        return Err(Error::NotTheArchive {
                            path: plan.path.clone(),
                            expected: a.expected_on(&plan.medium_label).1.to_owned(),
                            actual: "(not checked: the file changed after it was checked)".into(),
                        });
                    }
                    sync_dir(&plan.medium_dir)?;
                    wipe(&destroying, &plan.medium_dir, progress)?;
                    METHOD
                }
                Stage::Interrupted => {
                    wipe(&destroying, &plan.medium_dir, progress)?;
                    METHOD
                }
                _ => METHOD_ALREADY_GONE,
            };
            // The parity files go with the archive (they hold parity of
            // ciphertext: nothing readable, but nothing to keep either).
            crate::vault::parity::remove(&plan.medium_dir, &a.file)?;
            let erasure_requests = vault
                .catalog()?
                .requests
                .iter()
                .filter(|r| r.kind == "erasure" && r.archives.contains(&a.archive_id))
                .map(|r| r.number)
                .collect();
            let mut proof = Destruction {
                archive_id: a.archive_id.clone(),
                fiscal_year: a.fiscal_year,
                class: a.class.clone(),
                file: a.file.clone(),
                size: a.expected_on(&plan.medium_label).0,
                sha256: a.expected_on(&plan.medium_label).1.to_owned(),
                retention_end: a.retention_end,
                medium: plan.medium_label.clone(),
                destroyed_at: Utc::now(),
                method: method.into(),
                tool_version: crate::TOOL_VERSION.into(),
                operator: plan.operator.clone(),
                erasure_requests,
                signature: None,
            };
            let proof_name = proof_file(&a.file);
            if let Some(key) = &signer {
                let comment = format!(
                    "timestamp:{}\tfile:{proof_name}\tarchive:{}\tmedium:{}",
                    proof.destroyed_at.timestamp(),
                    a.archive_id,
                    comment_value(&plan.medium_label)
                );
                let signature = key.sign(&proof.signed_bytes(), &comment).to_text();
                atomic_write(&plan.medium_dir.join(&proof_name), &proof.signed_bytes())?;
                atomic_write(
                    &plan.medium_dir.join(format!("{proof_name}{SIG_EXTENSION}")),
                    signature.as_bytes(),
                )?;
                proof.signature = Some(signature);
            }
            pause_point("destroy-proof-written");
            // Re-read the index: the file is gone, so this is the freshest
            // state to remove it from.
            let mut medium = Medium::open(&plan.medium_dir, None)?.signed_by(signer.clone());
            medium
                .index
                .archives
                .retain(|e| e.archive_id != a.archive_id);
            medium.index.destroyed.push(proof.clone());
            medium.save()?;
            proof
        }
    };

    let mut catalog = vault.catalog()?;
    let archive = catalog
        .archives
        .iter_mut()
        .find(|x| x.archive_id == a.archive_id)
        .ok_or_else(|| Error::UnknownArchive {
            name: a.archive_id.clone(),
        })?;
    let canon = plan.medium_dir.canonicalize().ok();
    let live = |c: &Copy| c.destroyed.is_none();
    let index = archive
        .copies
        .iter()
        .position(|c| live(c) && Some(c.path.as_path()) == canon.as_deref())
        .or_else(|| {
            archive
                .copies
                .iter()
                .position(|c| live(c) && c.medium == plan.medium_label)
        });
    if let Some(i) = index {
        archive.copies[i].destroyed = Some(proof.destroyed_at);
    }
    if !archive.destructions.contains(&proof) {
        archive.destructions.push(proof.clone());
    }
    let last = archive.live_copies().next().is_none();
    let id = archive.archive_id.clone();
    vault.save_catalog(&catalog)?;
    // With the last copy gone, so are the keyed hashes of what it held.
    if last {
        crate::vault::subjects::remove(vault, &id)?;
    }
    Ok(proof)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::progress::Silent;
    use crate::retention::RetentionConfig;
    use crate::vault::Config;
    use crate::vault::catalog::{Catalog, Hold};
    use crate::vault::media::IndexedArchive;
    use sha2::{Digest, Sha256};

    struct Setup {
        _dir: tempfile::TempDir,
        vault: Vault,
        medium: PathBuf,
        other: PathBuf,
    }

    fn date(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    /// A vault whose catalog has 2015-financial on media `m1` and `m2`, with
    /// a real (if not encrypted) file on each.
    fn setup() -> Setup {
        let dir = tempfile::tempdir().unwrap();
        let vault = Vault::init(
            &dir.path().join("vault"),
            Config {
                organisation: "Org".into(),
                recipients: vec![],
                operator: None,
                verify_every_months: 12,
                retention: RetentionConfig::default(),
                parity: Default::default(),
                subjects: Default::default(),
            },
        )
        .unwrap();
        let content = vec![7u8; 3 * (1 << 20) + 5];
        let sha = hex(&Sha256::digest(&content));
        let mut copies = Vec::new();
        for label in ["m1", "m2"] {
            let d = dir.path().join(label);
            fs::create_dir(&d).unwrap();
            fs::write(d.join("2015-financial.kluis"), &content).unwrap();
            let mut m = Medium::open(&d, Some(label)).unwrap();
            m.add(IndexedArchive {
                archive_id: "0123456789abcdef".into(),
                file: "2015-financial.kluis".into(),
                fiscal_year: 2015,
                class: "financial".into(),
                supplement: 1,
                retention_end: date("2022-12-31"),
                size: content.len() as u64,
                sha256: sha.clone(),
                created: Utc::now(),
                parity: Vec::new(),
            })
            .unwrap();
            copies.push(Copy {
                medium: label.into(),
                path: d.canonicalize().unwrap(),
                written: Utc::now(),
                last_verified: None,
                last_result: None,
                destroyed: None,
                sha256: None,
                size: None,
            });
        }
        let catalog = Catalog {
            version: 1,
            archives: vec![CatalogArchive {
                archive_id: "0123456789abcdef".into(),
                organisation: "Org".into(),
                fiscal_year: 2015,
                class: "financial".into(),
                supplement: 1,
                file: "2015-financial.kluis".into(),
                retention_end: date("2022-12-31"),
                created: Utc::now(),
                size: content.len() as u64,
                sha256: sha,
                records: 1,
                copies,
                hold: None,
                released_holds: vec![],
                destructions: vec![],
                signed_by: None,
                rekeys: vec![],
                subjects: None,
            }],
            ..Catalog::default()
        };
        vault.save_catalog(&catalog).unwrap();
        Setup {
            medium: dir.path().join("m1"),
            other: dir.path().join("m2"),
            vault,
            _dir: dir,
        }
    }

    fn plan_now(s: &Setup) -> Result<DestroyPlan> {
        plan(
            &s.vault.catalog().unwrap(),
            "2015-financial",
            &s.medium,
            date("2024-01-01"),
            "tester",
        )
    }

    fn assert_done(s: &Setup, method: &str) {
        assert!(!s.medium.join("2015-financial.kluis").exists());
        assert!(!s.medium.join(".2015-financial.kluis.destroying").exists());
        let m = Medium::open(&s.medium, None).unwrap();
        assert!(m.index.archives.is_empty());
        assert_eq!(m.index.destroyed.len(), 1);
        assert_eq!(m.index.destroyed[0].method, method);
        assert!(m.read_sums().unwrap().is_empty());
        let c = s.vault.catalog().unwrap();
        let a = &c.archives[0];
        assert_eq!(a.destructions, m.index.destroyed);
        assert!(a.copies[0].destroyed.is_some() && a.copies[1].destroyed.is_none());
        assert!(matches!(plan_now(s), Err(Error::AlreadyDestroyed { .. })));
        assert!(s.other.join("2015-financial.kluis").exists());
    }

    #[test]
    fn refusals_change_nothing() {
        let s = setup();
        let c = s.vault.catalog().unwrap();
        let p = |name: &str, dir: &Path, today: &str| plan(&c, name, dir, date(today), "t");
        assert!(matches!(
            p("2015-financial", &s.medium, "2022-12-31"),
            Err(Error::RetentionNotEnded { until, .. }) if until == date("2022-12-31")
        ));
        assert!(matches!(
            p("2016-financial", &s.medium, "2024-01-01"),
            Err(Error::UnknownArchive { .. })
        ));
        let empty = s._dir.path().join("empty");
        fs::create_dir(&empty).unwrap();
        assert!(matches!(
            p("2015-financial", &empty, "2024-01-01"),
            Err(Error::NotOnMedium { .. })
        ));
        // Same name, other content.
        fs::write(
            s.medium.join("2015-financial.kluis"),
            vec![8u8; 3 * (1 << 20) + 5],
        )
        .unwrap();
        assert!(matches!(
            p("2015-financial", &s.medium, "2024-01-01"),
            Err(Error::NotTheArchive { .. })
        ));
        let mut held = c.clone();
        held.archives[0].hold = Some(Hold {
            reason: "audit".into(),
            since: date("2023-05-01"),
            released: None,
        });
        assert!(matches!(
            plan(&held, "2015-financial", &s.other, date("2024-01-01"), "t"),
            Err(Error::Held { reason, .. }) if reason == "audit"
        ));
        assert_eq!(s.vault.catalog().unwrap().archives[0].destructions.len(), 0);
    }

    #[test]
    fn destroys_and_records() {
        let s = setup();
        let p = plan_now(&s).unwrap();
        assert_eq!(p.stage, Stage::Intact);
        assert_eq!(p.other_copies.len(), 1);
        assert_eq!(p.other_copies[0].medium, "m2");
        let proof = execute(&s.vault, &p, &Silent).unwrap();
        assert_eq!(proof.operator, "tester");
        assert_eq!(proof.medium, "m1");
        assert_eq!(proof.tool_version, crate::TOOL_VERSION);
        assert_done(&s, METHOD);
    }

    #[test]
    fn resumes_after_a_crash_during_the_overwrite() {
        let s = setup();
        // As if killed mid-overwrite: renamed, half random.
        let from = s.medium.join("2015-financial.kluis");
        let to = s.medium.join(".2015-financial.kluis.destroying");
        fs::rename(&from, &to).unwrap();
        let p = plan_now(&s).unwrap();
        assert_eq!(p.stage, Stage::Interrupted);
        execute(&s.vault, &p, &Silent).unwrap();
        assert_done(&s, METHOD);
    }

    #[test]
    fn resumes_after_a_crash_after_the_unlink() {
        let s = setup();
        fs::remove_file(s.medium.join("2015-financial.kluis")).unwrap();
        let p = plan_now(&s).unwrap();
        assert_eq!(p.stage, Stage::FileGone);
        execute(&s.vault, &p, &Silent).unwrap();
        assert_done(&s, METHOD_ALREADY_GONE);
    }

    #[test]
    fn resumes_after_a_crash_before_the_catalog_was_written() {
        let s = setup();
        let saved = s.vault.catalog().unwrap();
        let p = plan_now(&s).unwrap();
        let proof = execute(&s.vault, &p, &Silent).unwrap();
        s.vault.save_catalog(&saved).unwrap();
        let p = plan_now(&s).unwrap();
        assert_eq!(p.stage, Stage::Recorded(Box::new(proof)));
        execute(&s.vault, &p, &Silent).unwrap();
        assert_done(&s, METHOD);
    }

    #[test]
    fn refuses_a_file_replaced_after_the_check() {
        let s = setup();
        let p = plan_now(&s).unwrap();
        let path = s.medium.join("2015-financial.kluis");
        let other = vec![9u8; fs::metadata(&path).unwrap().len() as usize];
        fs::remove_file(&path).unwrap();
        fs::write(&path, &other).unwrap();
        assert!(matches!(
            execute(&s.vault, &p, &Silent),
            Err(Error::NotTheArchive { .. })
        ));
        assert_eq!(fs::read(&path).unwrap(), other);
        assert!(!s.medium.join(".2015-financial.kluis.destroying").exists());
        assert_eq!(
            Medium::open(&s.medium, None).unwrap().index.archives.len(),
            1
        );
    }
}
