//! `kluis share`: hands a selection of records to an outsider (a tax
//! inspector, an accountant, a person asking for their data). The records
//! are read by seeking, never by decrypting whole archives; rows of
//! archived tables (`tables/…`, CSV or JSON Lines) can be filtered by date
//! too. They go into a new, self-contained kluis archive encrypted to the
//! outsider's recipient only (a new file key; the organisation's own keys
//! cannot open it), signed, with a `README.txt` for someone who has never
//! heard of kluis; or, with `--plain`, into a plain folder with a signed
//! `SHA256SUMS`. Every share is recorded in the catalog: when, what, to
//! whom, why (a record of disclosures, as GDPR art. 30 and 15 expect).

mod plain;
mod rows;

use plain::write_plain;
use rows::{Counter, date_column_for, filter_rows, is_jsonl, is_table};

use std::collections::BTreeSet;
use std::fs::{self, File};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use chrono::{NaiveDate, Utc};
use serde::Serialize;

use crate::error::{Error, IoContext, Result};
use crate::format::manifest::{Entry, Kind, hex, sha256sum_line};
use crate::format::meta::{Metadata, Minimisation, new_archive_id};
use crate::format::reader::ArchiveReader;
use crate::format::signatures;
use crate::format::writer::{ArchiveWriter, Mtime, WriteOptions};
use crate::format::{RECORDS_PREFIX, TABLES_PREFIX};
use crate::keys::signing::{SIG_EXTENSION, SigningKey};
use crate::keys::{self, Identities};
use crate::progress::Progress;
use crate::read::restore::Selection;
use crate::util::hashing::Hashed;
use crate::util::testpoint::pause_point_n;
use crate::vault::Vault;
use crate::vault::catalog::Share;
use crate::vault::media::{atomic_write, sync_dir, temp_name};
use crate::vault::readback::hash_file;

/// Where the records go.
pub enum Destination {
    /// A kluis archive encrypted to this recipient (`age1…` or ssh).
    Recipient(String),
    /// A plain folder.
    Plain,
}

pub struct Request {
    pub archives: Vec<PathBuf>,
    pub to: PathBuf,
    pub destination: Destination,
    pub patterns: Vec<String>,
    /// Rows of tables dated from..=until (inclusive) only.
    pub from: Option<NaiveDate>,
    pub until: Option<NaiveDate>,
    /// The column that dates a table's rows, when the vault's
    /// `[tables.NAME]` does not say.
    pub date_column: Option<String>,
    pub reason: String,
    pub unsigned: bool,
}

#[derive(Clone, Debug, Default, Serialize)]
pub struct Report {
    pub share_id: String,
    /// Records shared (files, links, folders); 0: nothing matched, nothing
    /// was written.
    pub records: u64,
    pub files: u64,
    pub bytes: u64,
    /// Per table: rows shared and rows left out by the dates.
    pub tables: Vec<TableShare>,
    /// The archive written (encrypted shares), or the folder.
    pub path: PathBuf,
    pub sha256: Option<String>,
    pub signed_by: Option<String>,
    /// Ciphertext bytes read from the source archives.
    pub bytes_read: u64,
    pub seconds: f64,
}

#[derive(Clone, Debug, Serialize)]
pub struct TableShare {
    pub member: String,
    pub rows: u64,
    pub rows_left_out: u64,
}

/// The README of a share folder.
pub const README_FILE: &str = "README.txt";
/// The organisation's public key, for `minisign -p` / `signify -p`.
pub const PUBLIC_KEY_FILE: &str = "organisation.pub";

/// One selected member of one source archive.
struct Pick {
    source: usize,
    entry: Entry,
    /// Its path in the share.
    path: Vec<u8>,
}

pub fn run(
    vault: &Vault,
    identities: &Identities,
    req: &Request,
    progress: &dyn Progress,
) -> Result<Report> {
    let started = std::time::Instant::now();
    if req.reason.trim().is_empty() {
        return Err(Error::Usage(
            "--reason is empty: say why the records are shared (it goes into the catalog's record of disclosures)".into(),
        ));
    }
    if let (Some(f), Some(u)) = (req.from, req.until)
        && f > u
    {
        return Err(Error::Usage(format!("--from {f} is after --until {u}")));
    }
    let recipient = match &req.destination {
        Destination::Recipient(r) => Some(keys::parse_recipient(r)?),
        Destination::Plain => None,
    };
    let signer = match (req.unsigned, vault.signing_key()?) {
        (true, _) => None,
        (false, Some(k)) => Some(k),
        (false, None) => {
            return Err(Error::NoSigningKey {
                vault: vault.dir.clone(),
            });
        }
    };
    if req.archives.is_empty() {
        return Err(Error::Usage("no archive given".into()));
    }
    let selection = Selection::new(&req.patterns)?;
    let mut readers = Vec::new();
    for path in &req.archives {
        readers.push(ArchiveReader::open(path, identities)?);
    }
    let prefix = readers.len() > 1;

    // Pass 1: what is selected (streamed; only folder names are kept).
    let mut picks: Vec<Pick> = Vec::new();
    let mut wanted_dirs: BTreeSet<Vec<u8>> = BTreeSet::new();
    for (i, reader) in readers.iter_mut().enumerate() {
        let name = reader.metadata().file_name();
        let name = name.trim_end_matches(".kluis").to_owned();
        for entry in selection.prefilter(reader.manifest()?) {
            let entry = entry?;
            if !selection.matches(&entry.path) {
                continue;
            }
            let path = share_path(&entry.path, prefix.then_some(name.as_str()));
            let mut at = 0;
            while let Some(slash) = path[at..].iter().position(|&b| b == b'/') {
                at += slash + 1;
                wanted_dirs.insert(path[..at - 1].to_vec());
            }
            picks.push(Pick {
                source: i,
                entry,
                path,
            });
        }
    }
    let share_id = new_archive_id();
    let mut report = Report {
        share_id: share_id.clone(),
        ..Report::default()
    };
    if picks.is_empty() {
        return Ok(report);
    }
    // Every table's date column is known before anything is written.
    let mut table_columns = Vec::new();
    for p in &picks {
        if p.entry.kind == Kind::File && is_table(&p.entry.path) {
            let column = date_column_for(vault, &p.entry.path, req)?;
            table_columns.push(column);
        } else {
            table_columns.push(None);
        }
    }

    fs::create_dir_all(&req.to).at(&req.to)?;
    if fs::read_dir(&req.to).at(&req.to)?.next().is_some() {
        return Err(Error::Usage(format!(
            "{} is not empty; give a new or empty folder for the share",
            req.to.display()
        )));
    }
    let window = (req.from, req.until);
    let total: u64 = picks.iter().map(|p| p.entry.size).sum();
    progress.phase("sharing", total);

    let organisation = vault.config.organisation.clone();
    let result = match &recipient {
        Some(r) => write_archive(
            &mut readers,
            &picks,
            &table_columns,
            &wanted_dirs,
            window,
            r,
            signer.as_ref(),
            &organisation,
            &share_id,
            req,
            &mut report,
            progress,
        ),
        None => write_plain(
            &mut readers,
            &picks,
            &table_columns,
            window,
            signer.as_ref(),
            &organisation,
            &share_id,
            req,
            &mut report,
            progress,
        ),
    };
    if let Err(e) = result {
        // Nothing half-written stays behind as a share.
        let _ = fs::remove_dir_all(&req.to);
        return Err(e);
    }
    report.bytes_read = readers.iter().map(ArchiveReader::bytes_read).sum();
    report.signed_by = signer.as_ref().map(|k| k.public().id());
    readme(
        &req.to,
        &report,
        &organisation,
        recipient.is_some(),
        signer.as_ref(),
    )?;

    vault.update_catalog(|catalog| {
        let archives = readers
            .iter()
            .map(|r| r.metadata().archive_id.clone())
            .collect();
        catalog.shares.push(Share {
            share_id: share_id.clone(),
            created: Utc::now(),
            to: match &req.destination {
                Destination::Recipient(r) => r.trim().to_owned(),
                Destination::Plain => "plain".into(),
            },
            reason: req.reason.trim().to_owned(),
            path: req.to.canonicalize().unwrap_or_else(|_| req.to.clone()),
            archives,
            patterns: req.patterns.clone(),
            from: req.from,
            until: req.until,
            records: report.records,
            bytes: report.bytes,
            sha256: report.sha256.clone(),
        });
        Ok(())
    })?;
    report.seconds = started.elapsed().as_secs_f64();
    Ok(report)
}

/// The member's path in the share: as it was, or below a folder named
/// after its archive when several archives are shared.
fn share_path(path: &[u8], archive: Option<&str>) -> Vec<u8> {
    let Some(name) = archive else {
        return path.to_vec();
    };
    for prefix in [RECORDS_PREFIX, TABLES_PREFIX] {
        if let Some(rest) = path.strip_prefix(prefix.as_bytes()) {
            let mut out = prefix.as_bytes().to_vec();
            out.extend_from_slice(name.as_bytes());
            out.push(b'/');
            out.extend_from_slice(rest);
            return out;
        }
    }
    path.to_vec()
}

/// Reads a source record and checks it against its manifest SHA-256.
fn source_error(reader: &ArchiveReader, entry: &Entry) -> Error {
    Error::Damaged {
        path: reader.path().into(),
        detail: format!(
            "{} does not match its SHA-256 in the manifest; nothing was shared",
            entry.display_path()
        ),
    }
}

#[allow(clippy::too_many_arguments)]
fn write_archive(
    readers: &mut [ArchiveReader],
    picks: &[Pick],
    columns: &[Option<String>],
    wanted_dirs: &BTreeSet<Vec<u8>>,
    window: (Option<NaiveDate>, Option<NaiveDate>),
    recipient: &keys::Recipient,
    signer: Option<&SigningKey>,
    organisation: &str,
    share_id: &str,
    req: &Request,
    report: &mut Report,
    progress: &dyn Progress,
) -> Result<()> {
    let metas: Vec<Metadata> = readers.iter().map(|r| r.metadata().clone()).collect();
    let first = metas
        .iter()
        .min_by_key(|m| m.fiscal_year_start)
        .expect("one archive");
    let last = metas
        .iter()
        .max_by_key(|m| m.fiscal_year_end)
        .expect("one archive");
    let mut minimisation: Vec<Minimisation> = Vec::new();
    for m in &metas {
        for x in &m.minimisation {
            if !minimisation.contains(x) {
                minimisation.push(x.clone());
            }
        }
    }
    let metadata = Metadata {
        format: "kluis".into(),
        format_version: crate::format::FORMAT_VERSION,
        archive_id: share_id.into(),
        organisation: organisation.into(),
        fiscal_year: first.fiscal_year,
        fiscal_year_start: first.fiscal_year_start,
        fiscal_year_end: last.fiscal_year_end,
        class: "share".into(),
        supplement: 1,
        retention_end: metas
            .iter()
            .map(|m| m.retention_end)
            .max()
            .expect("one archive"),
        created: Utc::now(),
        tool_version: crate::TOOL_VERSION.into(),
        minimisation,
        audit_files: Vec::new(),
    };
    let file = format!(
        "share-{}-{}.kluis",
        Utc::now().format("%Y%m%d"),
        &share_id[..8]
    );
    let temp = req.to.join(temp_name(&file));
    let out = File::options()
        .write(true)
        .create_new(true)
        .open(&temp)
        .at(&temp)?;
    let result = (|| {
        let recipients = std::slice::from_ref(recipient);
        let mut writer = ArchiveWriter::new(
            vec![(temp.clone(), out)],
            recipients,
            &metadata,
            &WriteOptions::default(),
        )?;
        let prefix_dirs: Vec<Vec<u8>> = wanted_dirs
            .iter()
            .filter(|d| {
                !picks
                    .iter()
                    .any(|p| p.entry.kind == Kind::Dir && &&p.path == d)
            })
            .cloned()
            .collect();
        let now = Mtime::from_system(std::time::SystemTime::now());
        let mut written_dirs: BTreeSet<Vec<u8>> = BTreeSet::new();
        for d in prefix_dirs {
            // Folders the share needs that the manifest does not select
            // (parents of chosen records): written as plain folders.
            if d.as_slice() != b"records" && d.as_slice() != b"tables" {
                writer.add_dir(&d, 0o755, now)?;
            }
            written_dirs.insert(d);
        }
        for (n, (p, column)) in picks.iter().zip(columns).enumerate() {
            stop_point(progress, req, n)?;
            let reader = &mut readers[p.source];
            let e = &p.entry;
            match e.kind {
                Kind::Dir => {
                    if !written_dirs.contains(&p.path) {
                        writer.add_dir(&p.path, e.mode, mtime(e))?;
                    }
                }
                Kind::Symlink => {
                    writer.add_symlink(
                        &p.path,
                        e.target.as_deref().unwrap_or_default(),
                        e.mode,
                        mtime(e),
                    )?;
                }
                Kind::File => match column {
                    Some(column) => {
                        let member = e.display_path();
                        let jsonl = is_jsonl(&e.path);
                        let mut counter = Counter { len: 0 };
                        let mut content = Hashed::new(reader.tar_from(e.data_offset).take(e.size));
                        filter_rows(&mut content, &mut counter, jsonl, column, window, &member)?;
                        if Some(content.finish().1) != e.sha256 {
                            return Err(source_error(reader, e));
                        }
                        // Second pass, into the archive: the same bytes.
                        let (rx, tx) = io::pipe().map_err(|e| Error::io(&member, e))?;
                        let mut tx = io::BufWriter::with_capacity(256 << 10, tx);
                        let size = counter.len;
                        let (kept, left) = std::thread::scope(|s| -> Result<(u64, u64)> {
                            let (data_offset, esize) = (e.data_offset, e.size);
                            let member2 = member.clone();
                            let column = column.clone();
                            let producer = s.spawn(move || -> Result<(u64, u64)> {
                                let mut input = reader.tar_from(data_offset).take(esize);
                                let r = filter_rows(
                                    &mut input, &mut tx, jsonl, &column, window, &member2,
                                )?;
                                // The buffer sends what it holds on flush.
                                tx.flush().map_err(|e| Error::io(&member2, e))?;
                                Ok(r)
                            });
                            let mut rx = rx;
                            let added = writer.add_file(
                                &p.path,
                                size,
                                e.mode,
                                mtime(e),
                                &mut rx,
                                Path::new(&member),
                            );
                            drop(rx);
                            let produced = producer.join().unwrap_or_else(|_| {
                                Err(Error::Usage("the table filter thread panicked".into()))
                            });
                            added?;
                            produced
                        })?;
                        report.tables.push(TableShare {
                            member: String::from_utf8_lossy(&p.path).into_owned(),
                            rows: kept,
                            rows_left_out: left,
                        });
                        report.bytes += size;
                        report.files += 1;
                        progress.advance(e.size);
                    }
                    None => {
                        let mut content = reader.tar_from(e.data_offset).take(e.size);
                        let hash = writer.add_file(
                            &p.path,
                            e.size,
                            e.mode,
                            mtime(e),
                            &mut content,
                            reader_path_hint(&e.path),
                        )?;
                        if Some(hash) != e.sha256 {
                            return Err(source_error(reader, e));
                        }
                        report.bytes += e.size;
                        report.files += 1;
                        progress.advance(e.size);
                    }
                },
            }
            report.records += 1;
        }
        if let Some(key) = signer {
            signatures::sign(&mut writer, key, &metadata)?;
        }
        let (sealed, mut outputs) = writer.finish()?;
        let (_, file_handle) = outputs.pop().expect("one output");
        file_handle.sync_all().at(&temp)?;
        drop(file_handle);
        let (size, hash) = hash_file(&temp)?;
        if size != sealed.size || hash != sealed.sha256 {
            return Err(Error::ReadBackMismatch {
                medium: req.to.clone(),
                file: file.clone(),
            });
        }
        fs::rename(&temp, req.to.join(&file)).at(req.to.join(&file))?;
        sync_dir(&req.to)?;
        let sums = sha256sum_line(&sealed.sha256, file.as_bytes());
        write_sums(&req.to, &sums, signer, share_id)?;
        report.sha256 = Some(hex(&sealed.sha256));
        report.path = req.to.join(&file);
        Ok(())
    })();
    if result.is_err() {
        let _ = fs::remove_file(&temp);
    }
    result
}

/// A safe point before the `n`th record (from 0): stopped by the user, the
/// share is abandoned (the caller removes its folder).
pub(super) fn stop_point(progress: &dyn Progress, req: &Request, n: usize) -> Result<()> {
    pause_point_n("share-record", n as u64 + 1);
    if progress.interrupted() {
        return Err(Error::Interrupted {
            done: format!(
                "nothing was shared: {} was removed, the archives are as they were",
                req.to.display()
            ),
        });
    }
    Ok(())
}

fn reader_path_hint(path: &[u8]) -> &Path {
    Path::new(std::ffi::OsStr::new(
        std::str::from_utf8(path).unwrap_or("record"),
    ))
}

fn mtime(e: &Entry) -> Mtime {
    Mtime {
        secs: e.mtime,
        nsec: e.mtime_nsec,
    }
}

/// `SHA256SUMS` and, signed, `SHA256SUMS.minisig` and the public key.
fn write_sums(dir: &Path, sums: &[u8], signer: Option<&SigningKey>, share_id: &str) -> Result<()> {
    atomic_write(&dir.join("SHA256SUMS"), sums)?;
    if let Some(key) = signer {
        let comment = format!(
            "timestamp:{}\tfile:SHA256SUMS\tshare:{share_id}",
            Utc::now().timestamp()
        );
        let signature = key.sign(sums, &comment);
        atomic_write(
            &dir.join(format!("SHA256SUMS{SIG_EXTENSION}")),
            signature.to_text().as_bytes(),
        )?;
        atomic_write(
            &dir.join(PUBLIC_KEY_FILE),
            key.public().to_file().as_bytes(),
        )?;
    }
    Ok(())
}

fn readme(
    dir: &Path,
    report: &Report,
    organisation: &str,
    encrypted: bool,
    signer: Option<&SigningKey>,
) -> Result<()> {
    let mut text = format!(
        "RECORDS SHARED BY {org}\n\
         {line}\n\n\
         This folder holds {n} records ({bytes} bytes) that {org} shared with you\n\
         on {date} (share {id}). They were taken from the organisation's yearly\n\
         archives, written by kluis; you do not need kluis to read them.\n\n",
        org = organisation,
        line = "=".repeat(24 + organisation.chars().count()),
        n = report.records,
        bytes = report.bytes,
        date = Utc::now().date_naive(),
        id = report.share_id,
    );
    let file = report
        .path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    if encrypted {
        text.push_str(&format!(
            "The records are in {file}, encrypted with age (https://age-encryption.org)\n\
             to your key alone. With age, zstd and GNU tar installed:\n\n\
             1. Check the file arrived intact:      sha256sum -c SHA256SUMS\n\
             2. Unpack it into an empty folder:     mkdir records && cd records\n   \
                age -d -i YOUR-KEY.txt ../{file} | zstd -d | tar -x\n\
             3. Check every record:                 sha256sum -c kluis/SHA256SUMS\n\n\
             The records are in records/ (documents) and tables/ (rows of tables, as\n\
             CSV or JSON Lines). kluis/manifest.jsonl lists each with its size, date and\n\
             SHA-256; kluis/metadata.json names the organisation and what was left out\n\
             of tables on purpose (minimisation).\n"
        ));
    } else {
        text.push_str(
            "The records are in records/ (documents) and tables/ (rows of tables, as\n\
             CSV or JSON Lines). Check that every one arrived intact, in this folder:\n\n\
             \x20 sha256sum -c SHA256SUMS\n",
        );
    }
    if let Some(key) = signer {
        let public = key.public();
        text.push_str(&format!(
            "\nAuthenticity: SHA256SUMS is signed by {org} (SHA256SUMS.minisig, minisign\n\
             format; {pubfile} is its public key, id {id}). Compare the key with the one\n\
             the organisation gave you, then:\n\n\
             \x20 minisign -Vm SHA256SUMS -P {b64}\n\
             \x20 signify -V -p {pubfile} -x SHA256SUMS.minisig -m SHA256SUMS\n{inner}",
            org = organisation,
            pubfile = PUBLIC_KEY_FILE,
            id = public.id(),
            b64 = public.to_base64(),
            inner = if encrypted {
                "\nInside the archive, kluis/SHA256SUMS.minisig (and the metadata's and\nmanifest's) are checked the same way after step 2.\n"
            } else {
                ""
            }
        ));
    }
    atomic_write(&dir.join(README_FILE), text.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn several_archives_get_folders_of_their_own() {
        assert_eq!(
            share_path(b"records/a/b.pdf", Some("2019-financial")),
            b"records/2019-financial/a/b.pdf"
        );
        assert_eq!(share_path(b"tables/o.csv", None), b"tables/o.csv");
    }
}
