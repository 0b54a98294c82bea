//! `kluis rekey`: re-encrypts the archives on a medium to the vault's
//! current recipients. The age payload is decrypted and encrypted again as
//! a stream with a fresh file key; the zstd/tar plaintext (records,
//! manifest, offsets, signatures) stays byte for byte the same, and nothing
//! is decompressed.
//!
//! # Crash safety
//! Per archive, every step leaves a state a re-run recognises and finishes
//! (the names are hidden and contain `.tmp-`, so `kluis verify` reports any
//! left behind):
//!
//! 1. The new ciphertext is written to `.FILE.tmp-rekey`, synced, read back
//!    from the medium and checked; a crash here leaves a partial file that
//!    the next run deletes and writes again.
//! 2. `.FILE.tmp-rekey.json` records the old and new size and SHA-256: from
//!    here on the new file is complete.
//! 3. If the archive had parity files, a new set for the new ciphertext
//!    (the vault's `[parity]` settings, at least 1%, as `repair
//!    --add-parity` makes) is written under temporary names and read back;
//!    then the old set is deleted. From here until step 4 ends the archive
//!    in place has no parity files, never ones that do not match it.
//! 4. `FILE` is renamed to `.FILE.tmp-rekey-old`, then `.FILE.tmp-rekey` to
//!    `FILE`, then the new parity files into place. A run resuming after
//!    the swap deletes whatever parity files it finds and makes the set
//!    again from the file in place.
//! 5. The medium's index (with the new parity files), `SHA256SUMS` (and
//!    signature) and `README.txt`, then the catalog, are updated.
//! 6. The old ciphertext is overwritten and deleted (as `destroy` does),
//!    then the journal.
//!
//! # Security
//! A rekey takes nothing away from anyone who kept a copy of the old file
//! or has another copy of the medium: the old recipients open those
//! forever. See [`REMOVAL_NOTE`].

use std::fs::{self, File};
use std::io::{self, BufReader, Read, Write};
use std::path::Path;
use std::sync::{Arc, Mutex};

use chrono::Utc;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::{Error, IoContext, Result};
use crate::format::manifest::hex;
use crate::keys::{self, Identities, Recipient};
use crate::parity::files_in;
use crate::progress::Progress;
use crate::util::hashing::Hashed;
use crate::util::testpoint::pause_point;
use crate::vault::Vault;
use crate::vault::catalog::Rekey;
use crate::vault::media::{self, Medium, atomic_write, sync_dir, wipe};
use crate::vault::parity::{self, stage_for};
use crate::vault::readback::{CopyWriter, hash_file};

/// Said after every rekey.
pub const REMOVAL_NOTE: &str = "\
Re-encrypting does not take access away: anyone who kept a copy of an old \
file, another medium that was not re-encrypted, or a backup of it, opens it \
with the old keys forever. To shut a departed key holder out, rekey every \
copy and destroy the media you cannot account for.";

/// Buffer size of the stream copy.
const CHUNK: usize = 1 << 20;

/// The outcome for one archive.
#[derive(Clone, Debug, Serialize)]
pub struct Rekeyed {
    pub file: String,
    pub archive_id: String,
    pub old_sha256: String,
    pub new_sha256: String,
    pub size: u64,
    /// `rekeyed`, `resumed` (an interrupted run finished), or `current`
    /// (already encrypted to exactly these recipients by an earlier run).
    pub outcome: String,
}

#[derive(Clone, Debug, Serialize)]
pub struct Report {
    pub medium: String,
    pub recipients: Vec<String>,
    pub archives: Vec<Rekeyed>,
    pub seconds: f64,
}

/// `.FILE.tmp-rekey.json`: the new file is complete.
#[derive(Clone, Debug, Serialize, Deserialize)]
struct Journal {
    archive_id: String,
    old_sha256: String,
    old_size: u64,
    new_sha256: String,
    new_size: u64,
    recipients: Vec<String>,
    /// The archive had parity files: the new ciphertext gets a new set.
    /// (Absent in journals of versions before rekey made parity: then the
    /// medium index's `parity` entries tell.)
    #[serde(default)]
    parity: bool,
}

fn new_name(file: &str) -> String {
    format!(".{file}.tmp-rekey")
}
fn journal_name(file: &str) -> String {
    format!(".{file}.tmp-rekey.json")
}
fn old_name(file: &str) -> String {
    format!(".{file}.tmp-rekey-old")
}

/// Re-encrypts every archive on the medium at `target` (a medium folder,
/// or one archive file in one) to the vault's recipients.
///
/// # Errors
/// Before anything is written: [`Error::WrongKey`] naming an archive the
/// identities do not open (none is touched); [`Error::MediumFull`] when an
/// archive's new copy cannot fit beside it.
pub fn run(
    vault: &Vault,
    target: &Path,
    identities: &Identities,
    progress: &dyn Progress,
) -> Result<Report> {
    let started = std::time::Instant::now();
    let (dir, only) = if target.is_dir() {
        (target.to_path_buf(), None)
    } else {
        let (dir, name) = media::folder_and_name(target);
        (dir, Some(name))
    };
    let texts = vault.config.recipients.clone();
    if texts.is_empty() {
        return Err(Error::Usage(
            "the vault has no recipients to re-encrypt to: add them to its config.toml".into(),
        ));
    }
    let recipients: Vec<Recipient> = texts
        .iter()
        .map(|t| keys::parse_recipient(t))
        .collect::<Result<_>>()?;
    let signer = vault.signing_key()?.map(Arc::new);
    let _lock = vault.lock()?;
    let medium = Medium::open(&dir, None)?.signed_by(signer.clone());
    let medium_lock = medium.lock()?;
    crate::write::archive::note_cleaned(&medium, &medium.clean_leftovers(&medium_lock)?, progress);
    let mut files: Vec<String> = medium
        .index
        .archives
        .iter()
        .map(|a| a.file.clone())
        .collect();
    if let Some(name) = &only {
        if medium.find(name).is_none() {
            return Err(Error::Usage(format!(
                "{}: not listed in the medium's index ({}); rekey works on archives kluis wrote to a medium",
                target.display(),
                media::INDEX_FILE
            )));
        }
        files.retain(|f| f == name);
    }
    if files.is_empty() {
        return Err(Error::Usage(format!(
            "{}: no archives to rekey",
            dir.display()
        )));
    }

    // Every archive must open (header only) before any is touched; an
    // interrupted one is finished whatever the key.
    for file in &files {
        let path = dir.join(file);
        if dir.join(journal_name(file)).exists() {
            continue;
        }
        keys::check(&path, identities)?;
    }

    let mut report = Report {
        medium: medium.label().to_owned(),
        recipients: texts.clone(),
        archives: Vec::new(),
        seconds: 0.0,
    };
    let mut medium = medium;
    for file in &files {
        let stopped = || Error::Interrupted {
            done: format!(
                "rekeyed {} of {} archives on {}; {file} and the ones after it are as they were; `kluis rekey` again finishes",
                report.archives.len(),
                files.len(),
                report.medium
            ),
        };
        if progress.interrupted() {
            return Err(stopped());
        }
        let done = match rekey_one(
            vault,
            &mut medium,
            file,
            identities,
            &recipients,
            &texts,
            progress,
        ) {
            Err(Error::Interrupted { .. }) => return Err(stopped()),
            other => other?,
        };
        report.archives.push(done);
    }
    report.seconds = started.elapsed().as_secs_f64();
    Ok(report)
}

fn rekey_one(
    vault: &Vault,
    medium: &mut Medium,
    file: &str,
    identities: &Identities,
    recipients: &[Recipient],
    texts: &[String],
    progress: &dyn Progress,
) -> Result<Rekeyed> {
    let dir = medium.dir.clone();
    let path = dir.join(file);
    let new_path = dir.join(new_name(file));
    let journal_path = dir.join(journal_name(file));
    let old_path = dir.join(old_name(file));
    let indexed = medium
        .find(file)
        .cloned()
        .ok_or_else(|| Error::Usage(format!("{file}: not in the medium index")))?;

    let (journal, outcome) = match read_journal(&journal_path)? {
        Some(j) => (j, "resumed"),
        None => {
            // A partial new file of an interrupted write: start again.
            match fs::remove_file(&new_path) {
                Err(e) if e.kind() != io::ErrorKind::NotFound => {
                    return Err(Error::io(&new_path, e));
                }
                _ => {}
            }
            // Done by an earlier run that was stopped before the next
            // archive: this copy is already the re-encryption to exactly
            // these recipients.
            let catalog = vault.catalog()?;
            let current = catalog.by_id(&indexed.archive_id).is_some_and(|a| {
                a.rekeys.last().is_some_and(|r| r.recipients == texts)
                    && a.live_copies().any(|c| {
                        c.medium == medium.label() && c.sha256.as_deref() == Some(&indexed.sha256)
                    })
            });
            if current {
                return Ok(Rekeyed {
                    file: file.into(),
                    archive_id: indexed.archive_id.clone(),
                    old_sha256: indexed.sha256.clone(),
                    new_sha256: indexed.sha256.clone(),
                    size: indexed.size,
                    outcome: "current".into(),
                });
            }
            pause_point("rekey-started");
            let had_parity = !indexed.parity.is_empty() || !files_in(&dir, file)?.is_empty();
            let settings = vault.config.parity.settings();
            let journal = write_new(
                &path,
                &new_path,
                &indexed,
                identities,
                recipients,
                medium,
                had_parity.then_some(&settings),
                progress,
            )?;
            let journal = Journal {
                recipients: texts.to_vec(),
                parity: had_parity,
                ..journal
            };
            let mut json = serde_json::to_vec_pretty(&journal).expect("journal serialises");
            json.push(b'\n');
            atomic_write(&journal_path, &json)?;
            pause_point("rekey-journal-written");
            (journal, "rekeyed")
        }
    };

    // The new parity set, staged before the swap; the old set goes before
    // the old file does, so that no set describes the wrong file.
    let parity = journal.parity || !indexed.parity.is_empty();
    let settings = vault.config.parity.settings();
    let mut staged = None;
    if new_path.exists() {
        if parity {
            progress.phase("parity", 0);
            staged = Some(stage_for(medium, file, &new_path, &settings, None, progress)?.2);
            pause_point("rekey-parity-staged");
        }
        if parity::remove(&dir, file)? > 0 {
            pause_point("rekey-old-parity-removed");
        }
    }

    // Swap: old out of the way, new into place.
    if new_path.exists() {
        if path.exists() {
            if old_path.exists() {
                // Both an old copy and the file: the file is the old one
                // again only if a crash came between two renames of an
                // earlier run, which cannot happen; refuse rather than guess.
                return Err(Error::Usage(format!(
                    "{}: both {} and {} exist; move one away by hand after checking which matches SHA256SUMS",
                    dir.display(),
                    file,
                    old_name(file)
                )));
            }
            fs::rename(&path, &old_path).at(&path)?;
            sync_dir(&dir)?;
            pause_point("rekey-old-moved");
        }
        medium.install(&new_path, file)?;
        pause_point("rekey-new-installed");
    }
    // Written and read back by this run, it is known; after a crash, the
    // file in place must be the one the journal describes.
    let (size, sha) = match outcome {
        "resumed" => {
            let (size, sha) = hash_file(&path)?;
            (size, hex(&sha))
        }
        _ => (journal.new_size, journal.new_sha256.clone()),
    };
    if size != journal.new_size || sha != journal.new_sha256 {
        if let Some(staged) = &staged {
            for s in staged {
                let _ = fs::remove_file(&s.temp);
            }
        }
        return Err(Error::Damaged {
            path: path.clone(),
            detail: format!(
                "after an interrupted rekey it is not the file the rekey wrote ({} recorded it as complete); check the medium with `kluis verify`",
                journal_name(file)
            ),
        });
    }
    let parity_files = if parity {
        let staged = match staged {
            Some(staged) => staged,
            None => {
                // Resumed after the swap: a set found now may be partly
                // installed; make it again from the file in place.
                parity::remove(&dir, file)?;
                progress.phase("parity", 0);
                stage_for(medium, file, &path, &settings, None, progress)?.2
            }
        };
        let installed = parity::install(medium, &staged);
        if installed.is_err() {
            for s in &staged {
                let _ = fs::remove_file(&s.temp);
            }
        }
        installed?;
        pause_point("rekey-parity-installed");
        parity::indexed(&staged)
    } else {
        Vec::new()
    };

    // Records: medium index (with SHA256SUMS and its signature), catalog.
    medium.index = Medium::open(&dir, None)?.index;
    if let Some(entry) = medium.index.archives.iter_mut().find(|a| a.file == file) {
        entry.size = journal.new_size;
        entry.sha256 = journal.new_sha256.clone();
        entry.parity = parity_files;
    }
    medium.save()?;
    pause_point("rekey-medium-updated");
    let label = medium.label().to_owned();
    let mut catalog = vault.catalog()?;
    if let Some(a) = catalog
        .archives
        .iter_mut()
        .find(|a| a.archive_id == journal.archive_id)
    {
        if !a.rekeys.iter().any(|r| r.old_sha256 == journal.old_sha256) {
            a.rekeys.push(Rekey {
                at: Utc::now(),
                old_sha256: journal.old_sha256.clone(),
                old_size: journal.old_size,
                recipients: journal.recipients.clone(),
            });
        }
        let canon = dir.canonicalize().ok();
        for c in a.copies.iter_mut().filter(|c| c.destroyed.is_none()) {
            if c.medium == label || Some(c.path.as_path()) == canon.as_deref() {
                c.sha256 = Some(journal.new_sha256.clone());
                c.size = Some(journal.new_size);
                c.last_verified = Some(Utc::now());
                c.last_result = Some("ok".into());
            }
        }
    }
    vault.save_catalog(&catalog)?;
    // The key of the vault's hashes of the archive's identifiers is sealed
    // to the archive's recipients: it follows them.
    crate::vault::subjects::reseal(vault, &journal.archive_id, identities, recipients)?;
    pause_point("rekey-recorded");

    // The old ciphertext goes as `destroy` removes a file.
    if old_path.symlink_metadata().is_ok() {
        wipe(&old_path, &dir, progress)?;
    }
    pause_point("rekey-old-wiped");
    fs::remove_file(&journal_path).at(&journal_path)?;
    sync_dir(&dir)?;
    pause_point("rekey-done");
    Ok(Rekeyed {
        file: file.into(),
        archive_id: journal.archive_id,
        old_sha256: journal.old_sha256,
        new_sha256: journal.new_sha256,
        size: journal.new_size,
        outcome: outcome.into(),
    })
}

fn read_journal(path: &Path) -> Result<Option<Journal>> {
    match fs::read(path) {
        Ok(bytes) => serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|e| Error::BadConfig {
                path: path.into(),
                detail: format!("not a rekey journal: {e}"),
            }),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(Error::io(path, e)),
    }
}

/// Reads the file while hashing every byte of it.
struct Hashing<R> {
    inner: R,
    hasher: Arc<Mutex<(Sha256, u64)>>,
}

impl<R: Read> Read for Hashing<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        let mut h = self.hasher.lock().expect("hasher");
        h.0.update(&buf[..n]);
        h.1 += n as u64;
        Ok(n)
    }
}

/// Writes the re-encryption of `path` to `new_path`: one thread decrypts
/// (hashing the old ciphertext), this one encrypts and writes; the copy is
/// read back from the medium as it is written. With `parity` (the archive
/// has parity files), the new set made later, beside the old one until the
/// swap, must fit as well: refused before anything is written otherwise.
#[allow(clippy::too_many_arguments)]
fn write_new(
    path: &Path,
    new_path: &Path,
    indexed: &media::IndexedArchive,
    identities: &Identities,
    recipients: &[Recipient],
    medium: &Medium,
    parity: Option<&crate::parity::Settings>,
    progress: &dyn Progress,
) -> Result<Journal> {
    let size = fs::metadata(path).at(path)?.len();
    let needed = size + parity.map_or(0, |s| crate::parity::set_size(size, s)) + (1 << 20);
    if let Some(free) = medium.free_space()
        && free < needed
    {
        return Err(Error::MediumFull {
            medium: medium.dir.clone(),
            file: new_name(&indexed.file),
            needed,
            available: free,
        });
    }
    let result = (|| {
        let old_hash = Arc::new(Mutex::new((Sha256::new(), 0u64)));
        let reader = Hashing {
            inner: File::open(path).at(path)?,
            hasher: old_hash.clone(),
        };
        let decryptor = age::Decryptor::new_buffered(BufReader::with_capacity(CHUNK, reader))
            .map_err(|e| keys::header_error(path, e))?;
        let scrypt = decryptor.is_scrypt();
        let mut plain = decryptor
            .decrypt(identities.as_slice().iter().map(|i| i.as_ref() as _))
            .map_err(|e| keys::map_decrypt_error(path, scrypt, e))?;

        let out = File::options()
            .write(true)
            .create_new(true)
            .open(new_path)
            .at(new_path)?;
        let copy = CopyWriter::new(new_path.to_path_buf(), out)?;
        let sink = Hashed::new(io::BufWriter::with_capacity(CHUNK, copy));
        let encryptor = age::Encryptor::with_recipients(recipients.iter().map(|r| r.as_ref() as _))
            .map_err(|e| Error::Key {
                what: "recipients".into(),
                detail: e.to_string(),
            })?;
        let mut stream = encryptor.wrap_output(sink).at(new_path)?;

        progress.phase("re-encrypting", size);
        let (full_tx, full_rx) = crossbeam_channel::bounded::<io::Result<(Vec<u8>, usize)>>(4);
        let (free_tx, free_rx) = crossbeam_channel::bounded::<Vec<u8>>(6);
        for _ in 0..6 {
            free_tx.send(vec![0u8; CHUNK]).expect("room");
        }
        // Stopped (by an error or the user), the decrypting thread ends
        // once both channels are closed.
        let copied: Result<()> = std::thread::scope(|s| {
            let decrypting = s.spawn(move || {
                for mut buf in free_rx {
                    let mut n = 0;
                    let result = loop {
                        match plain.read(&mut buf[n..]) {
                            Ok(0) => break Ok(()),
                            Ok(k) => {
                                n += k;
                                if n == buf.len() {
                                    break Ok(());
                                }
                            }
                            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                            Err(e) => break Err(e),
                        }
                    };
                    let end = result.is_err() || n < buf.len();
                    let _ = full_tx.send(result.map(|()| (buf, n)));
                    if end {
                        return;
                    }
                }
            });
            let mut written = 0u64;
            let mut outcome = Ok(());
            for item in &full_rx {
                // A safe point: the new file is not complete, the old one
                // untouched.
                if progress.interrupted() {
                    outcome = Err(Error::Interrupted {
                        done: String::new(),
                    });
                    break;
                }
                let (buf, n) = match item.map_err(|e| damaged(path, e)) {
                    Ok(item) => item,
                    Err(e) => {
                        outcome = Err(e);
                        break;
                    }
                };
                if let Err(e) = stream.write_all(&buf[..n]) {
                    outcome = Err(Error::io(new_path, e));
                    break;
                }
                written += n as u64;
                progress.advance(n as u64);
                if written == n as u64 {
                    pause_point("rekey-writing");
                }
                let _ = free_tx.send(buf);
                if n < CHUNK {
                    break;
                }
            }
            drop(full_rx);
            drop(free_tx);
            let _ = decrypting.join();
            outcome
        });
        copied?;
        let sink = stream.finish().at(new_path)?;
        let (inner, (len, new_sha)) = sink.into_parts();
        let copy = inner
            .into_inner()
            .map_err(|e| Error::io(new_path, e.into_error()))?;
        progress.phase("reading back", 0);
        copy.finish(len)?;
        pause_point("rekey-read-back");
        let (old_hasher, old_len) = std::mem::take(&mut *old_hash.lock().expect("hasher"));
        let old_sha = hex(&old_hasher.finalize());
        if old_len != indexed.size || old_sha != indexed.sha256 {
            return Err(Error::Damaged {
                path: path.into(),
                detail: format!(
                    "its SHA-256 differs from the medium index ({}): not re-encrypted; check it with `kluis verify`",
                    media::INDEX_FILE
                ),
            });
        }
        // The given key may no longer be a recipient; when it is, the new
        // file must open with it.
        if let Err(e @ (Error::Damaged { .. } | Error::NotAnArchive { .. })) =
            keys::check(new_path, identities)
        {
            return Err(e);
        }
        pause_point("rekey-written");
        Ok(Journal {
            archive_id: indexed.archive_id.clone(),
            old_sha256: old_sha,
            old_size: old_len,
            new_sha256: hex(&new_sha),
            new_size: len,
            recipients: Vec::new(),
            parity: false,
        })
    })();
    if result.is_err() {
        let _ = fs::remove_file(new_path);
    }
    result.map_err(|e| enrich_full(e, medium, &indexed.file, size))
}

fn damaged(path: &Path, e: io::Error) -> Error {
    match e.kind() {
        io::ErrorKind::UnexpectedEof => Error::Damaged {
            path: path.into(),
            detail: "the file ends too early (truncated); not re-encrypted".into(),
        },
        io::ErrorKind::InvalidData => Error::Damaged {
            path: path.into(),
            detail: format!("authentication failed ({e}); not re-encrypted: repair it first"),
        },
        _ => Error::io(path, e),
    }
}

fn enrich_full(e: Error, medium: &Medium, file: &str, size: u64) -> Error {
    if let Error::Io { source, .. } = &e
        && (source.raw_os_error() == Some(28) || source.kind() == io::ErrorKind::StorageFull)
    {
        return Error::MediumFull {
            medium: medium.dir.clone(),
            file: file.into(),
            needed: size,
            available: medium.free_space().unwrap_or(0),
        };
    }
    e
}
