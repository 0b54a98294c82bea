//! `kluis verify`: quick checks without a key (sizes and SHA-256 against the
//! medium's `SHA256SUMS`, its index and the catalog) and full checks with a
//! key (every record against the manifest, naming what is damaged, missing
//! or extra); and the organisation's signatures: of the medium's
//! `SHA256SUMS` and proofs of destruction (no key needed), and, with a key,
//! of each archive's own lists.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::error::{Error, Result};
use crate::format::filehash::FileHash;
use crate::format::manifest::{Entry, Kind, hex};
use crate::format::reader::ArchiveReader;
use crate::format::seektable::Frame;
use crate::format::signatures::{self, SignatureState};
use crate::format::tarwalk;
use crate::format::{KLUIS_DIR, MANIFEST_MEMBER};
use crate::keys::Identities;
use crate::keys::signing::PublicKey;
use crate::parity;
use crate::progress::{Progress, Silent};
use crate::util::testpoint::pause_point_n;
use crate::vault::catalog::Catalog;
use crate::vault::media::{self, Medium};
use crate::vault::readback;

/// A problem with one record.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct RecordProblem {
    pub path: String,
    pub problem: String,
}

/// The result of decrypting and checking every record.
#[derive(Clone, Debug, Default, Serialize)]
pub struct FullCheck {
    pub records: u64,
    pub bytes: u64,
    pub problems: Vec<RecordProblem>,
    /// Damaged regions, as tar-stream byte ranges of damaged frames.
    pub damaged_frames: Vec<(u64, u64)>,
}

/// One archive file's check.
#[derive(Clone, Debug, Default, Serialize)]
pub struct ArchiveCheck {
    pub path: PathBuf,
    pub archive_id: Option<String>,
    pub size: u64,
    pub sha256: String,
    /// Problems found without the key, or that stopped the full check.
    pub problems: Vec<String>,
    /// Differences from this vault's catalog (not damage: the records may
    /// be fine): another archive under a catalogued name, an archive the
    /// catalog does not know, a ciphertext the catalog did not record.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub catalog: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub full: Option<FullCheck>,
    /// The archive's own signatures (inside the encryption: with a key only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub signature: Option<SignatureState>,
    /// Why the archive is not proven to be the organisation's (a signature
    /// by a key this vault does not know, a bad one, none where the catalog
    /// recorded one): not damage, the records may match their manifest.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub authenticity: Vec<String>,
    /// For a damaged archive with parity files: what they can repair.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parity: Option<ParityVerdict>,
}

/// A damaged archive's slices as its PAR2 checksums see them, against the
/// intact recovery blocks.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct ParityVerdict {
    pub slices: u64,
    pub damaged: u64,
    pub recovery_blocks: u64,
    /// As many intact recovery blocks as damaged slices: `kluis repair`
    /// (or stock `par2 repair`) can rebuild them.
    pub repairable: bool,
}

impl ParityVerdict {
    /// Loads `file`'s parity files in `dir` and checks each slice; `None`
    /// without usable parity files, or when they find the file as they
    /// describe it (then they cannot help: they belong to this very file).
    pub fn of(dir: &Path, file: &str) -> Result<Option<ParityVerdict>> {
        let Some(loaded) = parity::repair::load(dir, file)? else {
            return Ok(None);
        };
        let damage = parity::repair::scan(&dir.join(file), &loaded, &parity::repair::never)?;
        if damage.is_intact(&loaded) {
            return Ok(None);
        }
        let (damaged, blocks) = (damage.damaged.len() as u64, loaded.blocks.len() as u64);
        Ok(Some(ParityVerdict {
            slices: loaded.checks.len() as u64,
            damaged,
            recovery_blocks: blocks,
            repairable: damaged <= blocks,
        }))
    }
}

impl ArchiveCheck {
    pub fn ok(&self) -> bool {
        self.intact() && self.catalog.is_empty() && self.authenticity.is_empty()
    }

    /// No damage found (differences from the catalog aside).
    pub fn intact(&self) -> bool {
        self.problems.is_empty() && self.full.as_ref().is_none_or(|f| f.problems.is_empty())
    }
}

/// A check of a medium folder or of single archive files.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Report {
    pub target: PathBuf,
    pub medium: Option<String>,
    pub archives: Vec<ArchiveCheck>,
    /// Problems of the medium itself: leftovers, missing or unlisted files,
    /// signatures that do not check.
    pub problems: Vec<String>,
    /// Differences of the medium from this vault's catalog: copies the
    /// catalog records here that are missing.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub catalog: Vec<String>,
    /// The signature of the medium's `SHA256SUMS` (a medium folder only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub medium_signature: Option<SignatureState>,
}

impl Report {
    pub fn ok(&self) -> bool {
        self.problems.is_empty()
            && self.catalog.is_empty()
            && self.archives.iter().all(ArchiveCheck::ok)
    }
}

/// Checks `target` (a medium folder or an archive file). With identities,
/// every record is decrypted and checked too. Signatures are checked
/// against the catalog's signing keys.
pub fn run(
    target: &Path,
    identities: Option<&Identities>,
    catalog: Option<&Catalog>,
) -> Result<Report> {
    run_with_keys(target, identities, catalog, &[], &Silent)
}

/// The account of a check stopped by the user.
fn stopped(done: String) -> Error {
    Error::Interrupted {
        done: format!("{done}; nothing was changed"),
    }
}

/// [`run`], with public keys to trust besides the catalog's.
///
/// Stopped by the user ([`Progress::interrupted`], asked between archives
/// and, inside one, every MiB of the SHA-256 and every record of the full
/// check), it returns [`Error::Interrupted`].
pub fn run_with_keys(
    target: &Path,
    identities: Option<&Identities>,
    catalog: Option<&Catalog>,
    extra_keys: &[PublicKey],
    progress: &dyn Progress,
) -> Result<Report> {
    let mut keys: Vec<PublicKey> = extra_keys.to_vec();
    for record in catalog.iter().flat_map(|c| &c.signing_keys) {
        if let Ok(k) = PublicKey::parse(&record.public_key) {
            keys.push(k);
        }
    }
    let meta = std::fs::metadata(target).map_err(|e| Error::io(target, e))?;
    let (dir, only) = if meta.is_dir() {
        (target.to_path_buf(), None)
    } else {
        let (dir, name) = media::folder_and_name(target);
        (dir, Some(name))
    };
    let medium = Medium::open(&dir, None)
        .ok()
        .filter(|m| !m.index.archives.is_empty() || dir.join(media::INDEX_FILE).exists());
    let mut report = Report {
        target: target.into(),
        medium: medium.as_ref().map(|m| m.label().to_owned()),
        ..Report::default()
    };
    let sums = medium
        .as_ref()
        .map(Medium::read_sums)
        .transpose()?
        .unwrap_or_default();
    if let Some(m) = &medium {
        let state = medium_signature(m, &keys)?;
        if !state.is_acceptable() {
            report
                .problems
                .push(format!("{}: {}", media::SUMS_FILE, state.describe()));
        }
        report.medium_signature = Some(state);
        for proof in &m.index.destroyed {
            let Some(text) = &proof.signature else {
                continue;
            };
            let what = format!("the proof of destruction of {}", proof.file);
            let (state, _) =
                signatures::check_detached(&what, text, &mut &proof.signed_bytes()[..], &keys);
            if !state.is_acceptable() {
                report
                    .problems
                    .push(format!("{what}: {}", state.describe()));
            }
        }
    }

    let files = match (&only, &medium) {
        (Some(name), _) => vec![name.clone()],
        (None, Some(m)) => {
            let on_disk = m.archive_files()?;
            for leftover in m.leftovers()? {
                report.problems.push(if media::is_own_temp_name(&leftover) {
                    format!(
                        "{leftover}: leftover of an interrupted run (not an archive); `kluis verify --clean` or the next archive run on this medium removes it"
                    )
                } else {
                    format!("{leftover}: leftover of an interrupted run (not an archive); delete it")
                });
            }
            for a in &m.index.archives {
                if !on_disk.contains(&a.file) {
                    report.problems.push(format!(
                        "{}: listed in the medium index but missing from the folder",
                        a.file
                    ));
                }
            }
            on_disk
        }
        (None, None) => {
            let m = Medium::open(&dir, None)?;
            let files = m.archive_files()?;
            if files.is_empty() {
                return Err(Error::Usage(format!(
                    "{}: no kluis archives or medium index here",
                    dir.display()
                )));
            }
            files
        }
    };

    let count = files.len();
    for (checked, name) in files.into_iter().enumerate() {
        let path = dir.join(&name);
        let stopped_at = || {
            stopped(format!(
                "checked {checked} of {count} archives in {}, stopped at {name}",
                dir.display()
            ))
        };
        pause_point_n("verify-archive", checked as u64 + 1);
        if progress.interrupted() {
            return Err(stopped_at());
        }
        let mut check = ArchiveCheck {
            path: path.clone(),
            ..ArchiveCheck::default()
        };
        // With a key, the full check reads the whole file in order: the
        // SHA-256 of the ciphertext is taken from the bytes it reads, so the
        // file is read once.
        let full = identities.map(|ids| {
            let hash = FileHash::new();
            (
                full_check_hashing(&path, ids, Some(hash.clone()), progress),
                hash,
            )
        });
        if let Some((Err(Error::Interrupted { done }), _)) = &full {
            return Err(stopped(format!(
                "checked {checked} of {count} archives in {}, stopped inside {name}: {done}",
                dir.display()
            )));
        }
        let hashed = match &full {
            Some((_, hash)) => hash.finish(&path).map(Some),
            None => readback::hash_file_until(&path, &|| progress.interrupted()),
        };
        match hashed {
            Ok(None) => return Err(stopped_at()),
            Ok(Some((size, hash))) => {
                check.size = size;
                check.sha256 = hex(&hash);
            }
            Err(e) => {
                check.problems.push(e.to_string());
                report.archives.push(check);
                continue;
            }
        }
        let indexed = medium.as_ref().and_then(|m| m.find(&name));
        match indexed {
            Some(a) => {
                check.archive_id = Some(a.archive_id.clone());
                if a.size != check.size {
                    check.problems.push(format!(
                        "size {} differs from the medium index ({})",
                        check.size, a.size
                    ));
                }
                if a.sha256 != check.sha256 {
                    check.problems.push(
                        "SHA-256 differs from the medium index: the file was altered or damaged"
                            .into(),
                    );
                }
            }
            None if medium.is_some() => {
                check.problems.push("not listed in the medium index".into())
            }
            None => {}
        }
        match sums.iter().find(|(f, _)| *f == name) {
            Some((_, h)) if *h != check.sha256 => check
                .problems
                .push("SHA-256 differs from SHA256SUMS".into()),
            None if medium.is_some() => check.problems.push("not listed in SHA256SUMS".into()),
            _ => {}
        }
        if let Some(catalog) = catalog {
            let known = check.archive_id.as_deref().and_then(|id| catalog.by_id(id));
            match known {
                Some(a) if a.replaced_by_rekey(&check.sha256).is_some() => {
                    let r = a.replaced_by_rekey(&check.sha256).expect("just found");
                    check.problems.push(format!(
                        "an older encryption of this archive, replaced by `kluis rekey` on {}: it still opens with the recipients of before; rekey this medium too",
                        r.at.date_naive()
                    ));
                }
                Some(a) if !a.has_ciphertext(&check.sha256) => {
                    check.catalog.push(format!("its SHA-256 differs from the one the catalog recorded for archive id {} when kluis wrote it: not the ciphertext that was written (a replacement, or a copy from another vault)", a.archive_id));
                }
                Some(_) => {}
                None if catalog
                    .find(&name)
                    .is_some_and(|a| !a.has_ciphertext(&check.sha256)) =>
                {
                    let a = catalog.find(&name).expect("just found");
                    check.catalog.push(format!(
                        "the catalog knows {name} as archive id {}, this file is {}: another archive under that name (a replacement, or a copy from another vault)",
                        a.archive_id,
                        check.archive_id.as_deref().unwrap_or("(no id)")
                    ));
                }
                None => {
                    let shared = catalog
                        .shares
                        .iter()
                        .any(|s| s.sha256.as_deref() == Some(check.sha256.as_str()));
                    if !shared
                        && !catalog
                            .archives
                            .iter()
                            .any(|a| a.has_ciphertext(&check.sha256))
                        && !catalog.archives.is_empty()
                    {
                        check.catalog.push(
                            "unknown to this vault's catalog (neither its id nor its ciphertext): a copy from another vault?"
                                .into(),
                        );
                    }
                }
            }
        }
        if let (Some(ids), Some((full, _))) = (identities, full) {
            match full {
                Ok(full) => {
                    check.full = Some(full);
                    let state = ArchiveReader::open(&path, ids)
                        .and_then(|mut r| signatures::check(&mut r, &keys));
                    match state {
                        Ok(state) => {
                            let expected = catalog
                                .zip(check.archive_id.as_deref())
                                .and_then(|(c, id)| c.by_id(id))
                                .and_then(|a| a.signed_by.clone());
                            match (&state, expected) {
                                (SignatureState::Unsigned, Some(id)) => check.authenticity.push(format!(
                                    "not signed, but the catalog recorded it as signed by key {id} when kluis wrote it: not the archive that was written"
                                )),
                                (s, _) if !s.is_acceptable() => check.authenticity.push(s.describe()),
                                _ => {}
                            }
                            check.signature = Some(state);
                        }
                        Err(e) => check.problems.push(format!("signatures: {e}")),
                    }
                }
                Err(
                    e @ (Error::Damaged { .. }
                    | Error::NotAnArchive { .. }
                    | Error::UnsupportedVersion { .. }),
                ) => {
                    check.problems.push(e.to_string());
                }
                // An interrupted full check returned above, before hashing.
                Err(e) => return Err(e),
            }
        }
        if !check.intact() {
            // What the parity can do is a hint: a parity file that cannot be
            // read leaves it out, the damage is reported all the same.
            check.parity = ParityVerdict::of(&dir, &name).ok().flatten();
        }
        report.archives.push(check);
    }
    if let (Some(catalog), Some(m), None) = (catalog, &medium, &only) {
        let here: Vec<String> = report
            .archives
            .iter()
            .filter_map(|a| a.path.file_name())
            .map(|n| n.to_string_lossy().into_owned())
            .collect();
        for a in &catalog.archives {
            if a.live_copies().any(|c| c.medium == m.label()) && !here.contains(&a.file) {
                report.catalog.push(format!(
                    "{}: the catalog records a copy on this medium ({}), but it is not here",
                    a.file,
                    m.label()
                ));
            }
        }
    }
    Ok(report)
}

/// The state of the medium's `SHA256SUMS.minisig`.
fn medium_signature(medium: &Medium, keys: &[PublicKey]) -> Result<SignatureState> {
    let path = medium.dir.join(media::SUMS_SIGNATURE_FILE);
    let text = match std::fs::read(&path) {
        Ok(bytes) if bytes.len() > 64 << 10 => {
            return Ok(SignatureState::Bad {
                what: media::SUMS_FILE.into(),
                detail: format!(
                    "{} is too large to be a signature",
                    media::SUMS_SIGNATURE_FILE
                ),
            });
        }
        Ok(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Ok(SignatureState::Unsigned);
        }
        Err(e) => return Err(Error::io(path, e)),
    };
    let sums_path = medium.dir.join(media::SUMS_FILE);
    let sums = match std::fs::read(&sums_path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
        Err(e) => return Err(Error::io(sums_path, e)),
    };
    Ok(signatures::check_detached(media::SUMS_FILE, &text, &mut &sums[..], keys).0)
}

/// Decrypts every record and compares it with the manifest.
///
/// # Errors
/// Wrong key and the like as errors; damage that keeps the archive from
/// being opened as [`Error::Damaged`]. Damage to records is in the report.
/// Stopped by the user ([`Progress::interrupted`], asked before every
/// record and every 256 KiB of one): [`Error::Interrupted`] saying how
/// many records were checked.
// The walk's error carries where it happened; it is built once per check.
#[allow(clippy::result_large_err)]
pub fn full_check(
    path: &Path,
    identities: &Identities,
    progress: &dyn Progress,
) -> Result<FullCheck> {
    full_check_hashing(path, identities, None, progress)
}

/// [`full_check`], handing every byte it reads from the file to `hash`.
#[allow(clippy::result_large_err)]
pub fn full_check_hashing(
    path: &Path,
    identities: &Identities,
    hash: Option<Arc<FileHash>>,
    progress: &dyn Progress,
) -> Result<FullCheck> {
    let open = |path: &Path| match &hash {
        Some(h) => ArchiveReader::open_hashing(path, identities, h.clone()),
        None => ArchiveReader::open(path, identities),
    };
    let mut stream = open(path)?;
    let mut index = open(path)?;
    if std::fs::metadata(path).map_or(0, |m| m.len()) > crate::read::restore::PREFETCH_FROM {
        stream.prefetch()?;
    }
    let mut manifest = index.manifest()?;
    let mut check = FullCheck::default();
    let mut verified_until = 0u64; // tar offset up to which records were checked
    let mut pending: Option<Entry> = None;
    let mut hasher_buf = vec![0u8; 256 << 10];

    let walk: std::result::Result<(), (Error, u64)> = (|| {
        let (guarded, allowance) = tarwalk::guard(stream.tar_from(0));
        let mut archive = tar::Archive::new(guarded);
        let entries = archive.entries().map_err(|e| (Error::io(path, e), 0))?;
        for item in entries {
            if progress.interrupted() {
                return Err((interrupted(check.records), verified_until));
            }
            let mut member = item.map_err(|e| (walk_error(path, &allowance, e), verified_until))?;
            allowance.admit(&member);
            let name = member.path_bytes().into_owned();
            let offset = member.raw_header_position();
            // kluis's own members (everything under `kluis/`, including
            // members a later writer adds) were located through the footer
            // when the archive was opened; here they are only passed over
            // (the tar crate skips their content: reading it would let a
            // crafted sparse member feed zeros without end).
            if name.starts_with(KLUIS_DIR.as_bytes()) {
                continue;
            }
            let expected = match manifest.next() {
                Some(Ok(e)) => e,
                Some(Err(e)) => return Err((e, offset)),
                None => {
                    check.problems.push(RecordProblem {
                        path: String::from_utf8_lossy(&name).into(),
                        problem: "extra: in the archive but not in the manifest".into(),
                    });
                    continue;
                }
            };
            pending = Some(expected.clone());
            let mut problems = Vec::new();
            if expected.path != name {
                problems.push(format!(
                    "the manifest expects {} here",
                    expected.display_path()
                ));
            }
            let header = member.header();
            let kind = match header.entry_type() {
                tar::EntryType::Regular | tar::EntryType::Continuous => Some(Kind::File),
                tar::EntryType::Directory => Some(Kind::Dir),
                tar::EntryType::Symlink => Some(Kind::Symlink),
                _ => None,
            };
            if kind != Some(expected.kind) {
                problems.push(format!(
                    "type {:?} differs from the manifest",
                    header.entry_type()
                ));
            }
            if member.size() != expected.size
                || offset >= expected.data_offset
                || member.raw_file_position() != expected.data_offset
            {
                problems.push("size or position differs from the manifest".into());
            }
            if header.mode().ok().map(|m| m & 0o7777) != Some(expected.mode)
                || header.mtime().ok() != Some(expected.mtime.max(0) as u64)
            {
                problems.push("mode or time differs from the manifest".into());
            }
            if expected.kind == Kind::Symlink
                && member.link_name_bytes().as_deref() != expected.target.as_deref()
            {
                problems.push("link target differs from the manifest".into());
            }
            // Only a plain file's content is read: a GNU sparse member
            // (which kluis never writes) may claim any size in holes.
            pause_point_n("verify-record", check.records + 1);
            let mut hasher = Sha256::new();
            while kind == Some(Kind::File) {
                if progress.interrupted() {
                    return Err((interrupted(check.records), offset));
                }
                let n = member
                    .read(&mut hasher_buf)
                    .map_err(|e| (walk_error(path, &allowance, e), offset))?;
                if n == 0 {
                    break;
                }
                hasher.update(&hasher_buf[..n]);
            }
            if expected.kind == Kind::File
                && Some(<[u8; 32]>::from(hasher.finalize())) != expected.sha256
            {
                problems.push(
                    "content differs from its SHA-256 in the manifest (altered or damaged)".into(),
                );
            }
            check.records += 1;
            check.bytes = check.bytes.saturating_add(expected.size);
            for p in problems {
                check.problems.push(RecordProblem {
                    path: expected.display_path(),
                    problem: p,
                });
            }
            pending = None;
            verified_until = expected.data_offset.saturating_add(expected.size);
        }
        Ok(())
    })();

    if let Err((error, _at)) = walk {
        let error = match error {
            e @ Error::Interrupted { .. } => return Err(e),
            // Behind an I/O error of the walk: damage the cursor met (kept
            // by the reader; a read error of the medium counts as damage
            // too), or a tar stream that is not well formed.
            Error::Io { source, .. } => match stream.take_fault() {
                Some(Error::Io { source, .. }) => Error::Damaged {
                    path: path.into(),
                    detail: format!("reading it failed: {source}"),
                },
                Some(e) => e,
                None => {
                    return Err(Error::Damaged {
                        path: path.into(),
                        detail: format!("the tar stream is malformed: {source}"),
                    });
                }
            },
            other => other,
        };
        // The stream broke: find every damaged frame, then check each
        // remaining record on its own.
        let damaged = damaged_frames(&mut stream);
        check.damaged_frames = damaged.iter().map(|f| (f.d_offset, f.d_end())).collect();
        if damaged.is_empty() {
            return Err(error);
        }
        let rest: Vec<Result<Entry>> = pending.into_iter().map(Ok).chain(manifest).collect();
        for entry in rest {
            if progress.interrupted() {
                return Err(interrupted(check.records));
            }
            let entry = match entry {
                Ok(e) => e,
                Err(e) => {
                    check.problems.push(RecordProblem {
                        path: MANIFEST_MEMBER.into(),
                        problem: format!("unreadable: {e}"),
                    });
                    break;
                }
            };
            // Manifest numbers are untrusted: saturate rather than overflow.
            let end = entry.data_offset.saturating_add(entry.size);
            if end <= verified_until {
                continue;
            }
            if damaged.iter().any(|f| {
                f.d_offset < end.max(entry.data_offset.saturating_add(1))
                    && entry.offset < f.d_end()
            }) {
                check.problems.push(RecordProblem {
                    path: entry.display_path(),
                    problem: "damaged: it lies in a damaged part of the archive".into(),
                });
                continue;
            }
            check.records += 1;
            check.bytes = check.bytes.saturating_add(entry.size);
            if entry.kind == Kind::File {
                let mut hasher = Sha256::new();
                let mut cursor = stream.tar_from(entry.data_offset);
                let mut left = entry.size;
                while left > 0 {
                    let want = left.min(hasher_buf.len() as u64) as usize;
                    match cursor.read(&mut hasher_buf[..want]) {
                        Ok(0) | Err(_) => break,
                        Ok(n) => {
                            hasher.update(&hasher_buf[..n]);
                            left -= n as u64;
                        }
                    }
                }
                if left > 0 || Some(<[u8; 32]>::from(hasher.finalize())) != entry.sha256 {
                    check.problems.push(RecordProblem {
                        path: entry.display_path(),
                        problem: "content differs from its SHA-256 in the manifest".into(),
                    });
                }
            }
        }
        if check.problems.is_empty() {
            check.problems.push(RecordProblem {
                path: "(archive)".into(),
                problem: error.to_string(),
            });
        }
        return Ok(check);
    }
    for rest in manifest {
        match rest {
            Ok(e) => check.problems.push(RecordProblem {
                path: e.display_path(),
                problem: "missing: in the manifest but not in the archive".into(),
            }),
            Err(e) => {
                check.problems.push(RecordProblem {
                    path: MANIFEST_MEMBER.into(),
                    problem: format!("unreadable: {e}"),
                });
                break;
            }
        }
    }
    Ok(check)
}

/// A full check stopped after `records` records.
fn interrupted(records: u64) -> Error {
    Error::Interrupted {
        done: format!(
            "{records} record{} checked",
            if records == 1 { "" } else { "s" }
        ),
    }
}

/// The error of the tar walk, naming a header bomb as damage.
fn walk_error(path: &Path, allowance: &tarwalk::Allowance, e: std::io::Error) -> Error {
    if allowance.exceeded() {
        Error::Damaged {
            path: path.into(),
            detail: tarwalk::too_large(),
        }
    } else {
        Error::io(path, e)
    }
}

/// Every frame that fails to decrypt or decompress.
pub fn damaged_frames(reader: &mut ArchiveReader) -> Vec<Frame> {
    let mut out = Vec::new();
    let mut buf = Vec::new();
    for i in 0..reader.frames().len() {
        if reader.read_frame(i, &mut buf).is_err() {
            out.push(reader.frames()[i]);
        }
    }
    out
}
