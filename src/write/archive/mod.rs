//! `kluis archive`: one fiscal year's records into one archive, written to
//! every medium at once, each copy read back and verified before anything
//! is recorded as done. Tables are checked in full before anything is
//! written (pass 1) and streamed into the archive (pass 2); live databases
//! are read once, into encrypted spools, before anything is written; with
//! `--purge-source`, what was archived is then removed from the sources
//! (`crate::write::purge`).

use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::Instant;

use age::secrecy::SecretString;
use chrono::Utc;

use crate::error::{Error, IoContext, Result};
use crate::format::manifest::hex;
use crate::format::meta::{Metadata, archive_file_name, new_archive_id};
use crate::format::signatures;
use crate::format::subjectindex::Coverage;
use crate::format::writer::{ArchiveWriter, Mtime, Sealed, WriteOptions};
use crate::keys::signing::SigningKey;
use crate::keys::{self, Recipient};
use crate::progress::Progress;
use crate::retention::fiscal_year_range;
use crate::sources::db::purge::PlannedDb;
use crate::sources::db::{self, DbPlan, DbRequest};
use crate::sources::folder::{ItemKind, ReadAhead, Sources, Stat};
use crate::sources::table::{TableOptions, TablePlan, TableReport, Window};
use crate::util::testpoint::{pause_point, pause_point_n};
use crate::vault::Vault;
use crate::vault::catalog::{CatalogArchive, Copy};
use crate::vault::media::{IndexedArchive, Medium};
use crate::vault::readback;
use crate::vault::subjects::HashesBuilder;
use crate::write::parity;
use crate::write::purge::{self, FileLog, PlannedTable, PurgeReport};
use crate::write::subjects;

mod tables;
use tables::{add_database, add_table, check_tables, db_report, rows_file, tables_outside_folders};

/// What to archive and where.
pub struct Request {
    pub year: i32,
    pub class: String,
    pub sources: Vec<PathBuf>,
    pub media: Vec<PathBuf>,
    /// Recipients in addition to the vault's.
    pub recipients: Vec<String>,
    /// Encrypt to this passphrase only (age allows no other recipient then).
    pub passphrase: Option<SecretString>,
    /// Write a supplement when the year and class already exist.
    pub supplement: bool,
    /// Label for media that have none yet.
    pub label: Option<String>,
    pub options: WriteOptions,
    /// Tabular sources (CSV, JSON Lines, SQLite) and the decisions about
    /// their columns.
    pub tables: TableOptions,
    /// Once every copy is verified and recorded, remove what was archived
    /// from the sources.
    pub purge_source: bool,
    /// Write without the organisation's signature (a vault without a
    /// signing key refuses otherwise).
    pub unsigned: bool,
    /// `--parity PERCENT`: overrides the vault's `[parity] percent` (0: no
    /// parity files).
    pub parity_percent: Option<u32>,
    /// Live databases (`--db URL --db-table …`).
    pub databases: Vec<DbRequest>,
    /// Keep tax audit files (XAF) whose period is not the archive's year.
    pub allow_other_year: bool,
}

/// What was written.
#[derive(Debug)]
pub struct Report {
    pub metadata: Metadata,
    pub file: String,
    pub sealed: Sealed,
    pub copies: Vec<(String, PathBuf)>,
    pub skipped: Vec<PathBuf>,
    pub seconds: f64,
    /// Per table: rows archived and of other years, columns kept and dropped.
    pub tables: Vec<TableReport>,
    /// With `--purge-source`: what was removed from the sources, and what
    /// was kept because it changed.
    pub purge: Option<PurgeReport>,
    /// The parity written beside every copy (`None`: switched off).
    pub parity: Option<parity::Written>,
}

pub fn run(vault: &Vault, req: Request, progress: &dyn Progress) -> Result<Report> {
    let started = Instant::now();
    let recipients = recipients(vault, &req)?;
    let retention_end = vault.policy.retention_end(req.year, &req.class)?;
    let (fy_start, fy_end) = fiscal_year_range(req.year, vault.policy.fiscal_year_start);
    let window = Window::new(req.year, vault.policy.fiscal_year_start);
    let sources = Sources::new(&req.sources)?;
    let specs = req.tables.resolve(&vault.tables)?;
    tables_outside_folders(&specs, &req.sources)?;
    if req.media.is_empty() {
        return Err(Error::Usage(
            "no medium given: add --to DIR (a mounted stick or disk), twice for two copies".into(),
        ));
    }
    let mut media = Vec::new();
    for dir in &req.media {
        let medium = Medium::open(dir, req.label.as_deref())?;
        if media.iter().any(|m: &Medium| same_dir(&m.dir, dir)) {
            return Err(Error::Usage(format!(
                "{} is given twice as --to",
                dir.display()
            )));
        }
        media.push(medium);
    }

    let signer = match (req.unsigned, vault.signing_key()?) {
        (true, _) => None,
        (false, Some(key)) => Some(std::sync::Arc::new(key)),
        (false, None) => {
            return Err(Error::NoSigningKey {
                vault: vault.dir.clone(),
            });
        }
    };
    for m in &mut media {
        m.signing = signer.clone();
    }

    let _lock = vault.lock()?;
    let medium_locks = media.iter().map(Medium::lock).collect::<Result<Vec<_>>>()?;
    // Re-read each index under its lock: another kluis process (of another
    // vault) may have changed it since it was opened.
    for m in &mut media {
        m.index = Medium::open(&m.dir, req.label.as_deref())?.index;
    }
    for (m, lock) in media.iter().zip(&medium_locks) {
        note_cleaned(m, &m.clean_leftovers(lock)?, progress);
    }
    let nothing_written = |e: Error| match e {
        Error::Interrupted { .. } => Error::Interrupted {
            done: format!(
                "nothing was written to {}; run the same command again to archive the year",
                labels(&media)
            ),
        },
        e => e,
    };
    let catalog = vault.catalog()?;
    let supplement = pick_supplement(&catalog, &media, &req)?;
    let file = archive_file_name(req.year, &req.class, supplement);

    let scan = sources.scan()?;
    if scan.files + scan.symlinks + scan.dirs == 0 && specs.is_empty() && req.databases.is_empty() {
        return Err(Error::EmptySource {
            detail: format!("{} holds no records", display_list(&req.sources)),
        });
    }

    // Pass 1: every table read in full before anything is written, so that
    // bad input leaves nothing behind.
    let plans = check_tables(&specs, &window, progress)?;
    // The keyed hashes of archived database rows: a key of this run's own.
    let mut hmac_key = [0u8; 32];
    getrandom::fill(&mut hmac_key).expect("random source");
    // The purge's journal, in the vault: what this run takes from the
    // sources, so that a purge cut short can be finished by `kluis purge`.
    // Dropped unsealed (any error before the archive is recorded), it
    // removes itself.
    let mut log = match req.purge_source {
        true => Some(FileLog::create(&vault.dir, &file, &req.sources)?),
        false => None,
    };
    let candidates: Vec<subjects::Candidate> = scan
        .xml_files
        .iter()
        .map(|(source, member)| subjects::Candidate {
            source: source.clone(),
            member: member.clone(),
        })
        .collect();
    let (audit_files, xaf_ids) = subjects::check_audit_files(
        &candidates,
        &window,
        req.allow_other_year,
        &vault.config.subjects,
    )?;
    let mut collector = subjects::Collector::new(&vault.config.subjects, xaf_ids)?;
    // Live databases: every table and decision checked before any row is
    // read, then each table read once in the run's snapshot, into an
    // encrypted spool, each row's key and keyed hash into the journal, its
    // CSV into the subject scan (on the collector's thread, while the
    // server makes the next rows).
    let mut dbs = Vec::new();
    for (n, d) in req.databases.iter().enumerate() {
        progress.phase(&format!("checking database {}", d.url), 0);
        let mut plan = db::check(
            d,
            &window,
            &req.tables.drop,
            &req.tables.keep,
            req.purge_source,
        )?;
        progress.phase(&format!("reading database {}", d.url), 0);
        let journal = match log.as_mut() {
            Some(l) => Some(l.rows()?),
            None => None,
        };
        plan.export(n * 1000, journal, &hmac_key, &mut collector)?;
        // Its other members are known now: scanned now too, so that the
        // subject index can be merged while the tables are written.
        for (member, bytes) in [
            (plan.schema_member(), plan.schema_sql()),
            (plan.columns_member(), plan.columns_json()),
        ] {
            collector
                .scan_whole(member.as_bytes(), &bytes)
                .map_err(|e| Error::io(&plan.target.url, e))?;
        }
        dbs.push(plan);
    }
    let db_columns: Vec<String> = dbs
        .iter()
        .flat_map(|d| {
            d.tables
                .iter()
                .flat_map(|t| t.columns.iter().map(|c| c.name.clone()))
        })
        .collect();
    req.tables.check_unused(&plans, &db_columns)?;
    pause_point("tables-checked");
    checkpoint(progress).map_err(nothing_written)?;
    let bytes = scan.bytes
        + plans.iter().map(|p| p.filtered.counts.size).sum::<u64>()
        + dbs
            .iter()
            .flat_map(|d| d.tables.iter().map(|t| t.size))
            .sum::<u64>();

    for m in &media {
        if let Some(free) = m.free_space() {
            // The archive is at most about the size of its records (zstd
            // never expands much); refuse only when even that cannot fit
            // compressed to a tenth, warn otherwise.
            if free < bytes / 10 {
                return Err(Error::MediumFull {
                    medium: m.dir.clone(),
                    file: file.clone(),
                    needed: bytes / 10,
                    available: free,
                });
            }
            if free < bytes + (1 << 20) {
                progress.note(&format!(
                    "{}: {} free for {} of records; this fits only if they compress well",
                    m.dir.display(),
                    human(free),
                    human(bytes)
                ));
            }
        }
    }

    let metadata = Metadata {
        format: "kluis".into(),
        format_version: crate::format::FORMAT_VERSION,
        archive_id: new_archive_id(),
        organisation: vault.config.organisation.clone(),
        fiscal_year: req.year,
        fiscal_year_start: fy_start,
        fiscal_year_end: fy_end,
        class: req.class.clone(),
        supplement,
        retention_end,
        created: Utc::now(),
        tool_version: crate::TOOL_VERSION.into(),
        minimisation: plans
            .iter()
            .map(TablePlan::minimisation)
            .chain(dbs.iter().flat_map(DbPlan::minimisation))
            .collect(),
        audit_files,
    };
    let mut parity_settings = vault.config.parity.settings();
    if let Some(p) = req.parity_percent {
        parity_settings.percent = p;
    }
    let mut temps: Vec<PathBuf> = Vec::new();
    let result = write_and_verify(
        &parity_settings,
        &media,
        &file,
        &metadata,
        &recipients,
        signer.as_deref(),
        &sources,
        &plans,
        &mut dbs,
        &window,
        log.as_mut(),
        &req.options,
        (
            bytes,
            scan.files + scan.dirs + scan.symlinks + plans.len() as u64,
        ),
        collector,
        progress,
        &mut temps,
    );
    // The database snapshots end here: what they held is written and
    // checked; a long-open snapshot would hold back the servers' cleanup.
    let db_tables: Vec<TableReport> = dbs.iter().flat_map(db_report).collect();
    let planned_dbs: Vec<PlannedDb> = dbs
        .iter()
        .enumerate()
        .map(|(i, d)| PlannedDb {
            target: d.target.clone(),
            name: d.name.clone(),
            tables: d.tables.clone(),
            hmac_key: hex(&hmac_key),
            rows_file: rows_file(i),
            first_table: i * 1000,
        })
        .collect();
    drop(dbs);
    let Written {
        sealed,
        skipped,
        staged,
        coverage,
        hashes,
    } = match result {
        Ok(v) => v,
        Err(e) => {
            for t in &temps {
                let _ = fs::remove_file(t);
            }
            // Whatever failed after the user asked to stop (a read cut
            // short, say) is part of stopping.
            if progress.interrupted() {
                return Err(nothing_written(Error::Interrupted {
                    done: String::new(),
                }));
            }
            return Err(enrich_space_error(e, &media, &file, bytes));
        }
    };
    pause_point("copies-verified");
    // The last safe point: from here on the copies are put in place and
    // recorded without stopping (each step is short and atomic).
    if let Err(e) = checkpoint(progress) {
        for t in &temps {
            let _ = fs::remove_file(t);
        }
        return Err(nothing_written(e));
    }

    // Every copy is verified: put them in place, then record them.
    let mut copies = Vec::new();
    for (medium, temp) in media.iter_mut().zip(&temps) {
        let path = match medium.install(temp, &file) {
            Ok(path) => path,
            Err(e) => {
                // What was put in place stays; no temporary file is left.
                for t in &temps {
                    let _ = fs::remove_file(t);
                }
                return Err(e);
            }
        };
        let mut parity_files = Vec::new();
        if let Some((_, staged)) = &staged {
            let i = copies.len();
            crate::vault::parity::install(medium, &staged[i])?;
            parity_files = crate::vault::parity::indexed(&staged[i]);
        }
        medium.add(IndexedArchive {
            archive_id: metadata.archive_id.clone(),
            file: file.clone(),
            fiscal_year: metadata.fiscal_year,
            class: metadata.class.clone(),
            supplement,
            retention_end,
            size: sealed.size,
            sha256: hex(&sealed.sha256),
            created: metadata.created,
            parity: parity_files,
        })?;
        copies.push((medium.label().to_owned(), path));
    }
    // The journal is in place before the archive is recorded: once it is,
    // the purge may start, and a purge cut short is finished from it.
    let journal = match log {
        Some(log) => Some(
            log.seal(
                &metadata.archive_id,
                &file,
                &window,
                plans
                    .iter()
                    .map(|p| PlannedTable::new(&p.spec, &p.filtered.counts))
                    .collect(),
                planned_dbs,
            )?,
        ),
        None => None,
    };
    // The identifiers' keyed hashes are in place before the archive is
    // recorded (files of an archive the catalog does not know are never
    // read).
    hashes.write(vault, &metadata.archive_id, &recipients)?;
    let now = Utc::now();
    let mut catalog = vault.catalog()?;
    catalog.archives.push(CatalogArchive {
        archive_id: metadata.archive_id.clone(),
        organisation: metadata.organisation.clone(),
        fiscal_year: metadata.fiscal_year,
        class: metadata.class.clone(),
        supplement,
        file: file.clone(),
        retention_end,
        created: metadata.created,
        size: sealed.size,
        sha256: hex(&sealed.sha256),
        records: sealed.totals.files + sealed.totals.dirs + sealed.totals.symlinks,
        copies: media
            .iter()
            .map(|m| Copy {
                medium: m.label().to_owned(),
                path: m.dir.canonicalize().unwrap_or_else(|_| m.dir.clone()),
                written: now,
                last_verified: Some(now),
                last_result: Some("ok".into()),
                destroyed: None,
                sha256: None,
                size: None,
            })
            .collect(),
        hold: None,
        released_holds: Vec::new(),
        destructions: Vec::new(),
        signed_by: signer.as_ref().map(|k| k.public().id()),
        rekeys: Vec::new(),
        subjects: Some(coverage),
    });
    vault.save_catalog(&catalog)?;
    pause_point("archive-recorded");

    // Only now, with every copy written, read back, verified and recorded,
    // may anything leave the sources.
    let purge = journal.map(|j| purge::run(j, progress));
    Ok(Report {
        metadata,
        file,
        sealed,
        copies,
        skipped,
        seconds: started.elapsed().as_secs_f64(),
        tables: plans
            .iter()
            .map(TablePlan::report)
            .chain(db_tables)
            .collect(),
        purge,
        parity: staged.map(|(w, _)| w),
    })
}

#[allow(clippy::too_many_arguments)]
fn write_and_verify(
    parity_settings: &crate::parity::Settings,
    media: &[Medium],
    file: &str,
    metadata: &Metadata,
    recipients: &[Recipient],
    signer: Option<&SigningKey>,
    sources: &Sources,
    tables: &[TablePlan],
    dbs: &mut [DbPlan],
    window: &Window,
    mut log: Option<&mut FileLog>,
    options: &WriteOptions,
    (total, entries): (u64, u64),
    mut collector: subjects::Collector,
    progress: &dyn Progress,
    temps: &mut Vec<PathBuf>,
) -> Result<Written> {
    let counting = parity::Counting::new(progress);
    let progress: &dyn Progress = &counting;
    let mut outputs = Vec::new();
    for (i, m) in media.iter().enumerate() {
        let (path, handle) = m.create_temp(file)?;
        temps.push(path.clone());
        let copy = readback::CopyWriter::new(path.clone(), handle)?;
        // The ciphertext is the same on every medium: parity is computed
        // once, from the first copy's stream.
        let creator = (i == 0 && parity_settings.enabled()).then(|| {
            parity::creator(
                file,
                parity_settings,
                (total, entries),
                options.workers,
                &counting,
            )
        });
        outputs.push((path, parity::Output::new(copy, creator)));
    }
    let mut writer = ArchiveWriter::new(outputs, recipients, metadata, options)?;
    let mut skipped = Vec::new();
    progress.phase("archiving", total);
    let mut seen = 0u64;
    let ahead = ReadAhead::start(sources);
    sources.walk(&mut |item| {
        seen += 1;
        pause_point_n("archive-record", seen);
        checkpoint(progress)?;
        let mode = item.stat.mode;
        let mtime = Mtime {
            secs: item.stat.mtime,
            nsec: item.stat.mtime_nsec,
        };
        match item.kind {
            ItemKind::Dir => {
                if let Some(log) = log.as_mut() {
                    log.dir(&item.source);
                }
                writer.add_dir(&item.member, mode, mtime)
            }
            ItemKind::Symlink(target) => {
                writer.add_symlink(&item.member, &target, mode, mtime)?;
                if let Some(log) = log.as_mut() {
                    log.symlink(&item.source, &target)?;
                }
                Ok(())
            }
            ItemKind::Special => {
                progress.note(&format!(
                    "{}: not a file, folder or link; skipped",
                    item.source.display()
                ));
                skipped.push(item.source);
                Ok(())
            }
            ItemKind::File => {
                ahead.taken();
                let mut f = match item.open() {
                    Ok(f) => f,
                    Err(e) if e.raw_os_error() == Some(rustix::io::Errno::LOOP.raw_os_error()) => {
                        return Err(Error::SourceChanged {
                            path: item.source.clone(),
                            detail: "it was replaced by a symbolic link".into(),
                        });
                    }
                    Err(e) => return Err(Error::io(&item.source, e)),
                };
                // The size the walk saw: a file changed since then (or
                // replaced by another) fails the check after reading it.
                let size = item.stat.size;
                let counted = Counted {
                    inner: &mut f,
                    progress,
                };
                let mut scanned = collector.reader(&item.member, None, counted);
                // The purge log needs the file's hash now; otherwise the
                // recorder thread hashes it while the next file is read.
                let (member, source) = (&item.member, &item.source);
                let hash = if log.is_some() {
                    Some(writer.add_file(member, size, mode, mtime, &mut scanned, source)?)
                } else {
                    writer.add_file_queued(member, size, mode, mtime, &mut scanned, source)?;
                    None
                };
                // Rewritten in place while it was read, the file keeps its
                // size but not its change time: the bytes read may be half
                // old, half new.
                let after: Stat = rustix::fs::fstat(&f)
                    .map_err(std::io::Error::from)
                    .at(&item.source)?
                    .into();
                if !item.stat.unchanged(&after) {
                    return Err(Error::SourceChanged {
                        path: item.source.clone(),
                        detail: "it was written to, renamed or deleted while it was being read"
                            .into(),
                    });
                }
                if let (Some(log), Some(hash)) = (log.as_mut(), hash) {
                    log.file(&item.source, size, mtime, &hash)?;
                }
                Ok(())
            }
        }
    })?;
    drop(ahead);
    for plan in tables {
        checkpoint(progress)?;
        add_table(&mut writer, plan, window, &mut collector, progress)?;
    }
    // Every record is scanned now (the databases' while they were
    // exported): the subject index is sorted and merged on its own thread
    // while the databases' tables are written and the manifest is signed.
    collector.close();
    for plan in dbs.iter_mut() {
        checkpoint(progress)?;
        add_database(&mut writer, plan, progress)?;
    }
    checkpoint(progress)?;
    if let Some(key) = signer {
        signatures::sign(&mut writer, key, metadata)?;
    }
    let subjects = collector.finish(&mut writer)?;
    let (sealed, mut files) = writer.finish()?;
    let creator = files.first_mut().and_then(|(_, o)| o.parity.take());
    // Each copy was read back from its medium while it was written; wait
    // for the last stretch and compare.
    progress.phase("reading back", 0);
    let checks: Vec<Result<()>> = std::thread::scope(|s| {
        let handles: Vec<_> = files
            .into_iter()
            .map(|(_, copy)| {
                let sealed = &sealed;
                s.spawn(move || copy.copy.finish(sealed.size))
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err(Error::Usage("read-back thread panicked".into())))
            })
            .collect()
    });
    for c in checks {
        c?;
    }
    // The parity files, written and read back on every medium before
    // anything is renamed into place.
    let staged = match creator {
        Some(c) => {
            let first = temps[0].clone();
            Some(parity::finish(
                c,
                parity_settings,
                media,
                file,
                &first,
                progress,
                temps,
            )?)
        }
        None => None,
    };
    let (coverage, hashes) = subjects;
    Ok(Written {
        sealed,
        skipped,
        staged,
        coverage,
        hashes,
    })
}

/// What [`write_and_verify`] wrote and verified.
struct Written {
    sealed: Sealed,
    skipped: Vec<PathBuf>,
    staged: Option<parity::Staged>,
    /// What the subject index covers, and the identifiers' keyed hashes.
    coverage: Coverage,
    hashes: HashesBuilder,
}

struct Counted<'a, R> {
    inner: R,
    progress: &'a dyn Progress,
}

impl<R: Read> Read for Counted<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        // A large record is a long stretch between safe points: stop
        // inside it too (the caller turns the error into `Interrupted`).
        if self.progress.interrupted() {
            return Err(std::io::Error::other("interrupted"));
        }
        let n = self.inner.read(buf)?;
        self.progress.advance(n as u64);
        Ok(n)
    }
}

/// The vault's recipients plus the request's, or the passphrase alone.
fn recipients(vault: &Vault, req: &Request) -> Result<Vec<Recipient>> {
    if let Some(pass) = &req.passphrase {
        if !req.recipients.is_empty() {
            return Err(Error::Usage(
                "age allows a passphrase only as the sole recipient: drop -r/-R or the passphrase"
                    .into(),
            ));
        }
        return Ok(vec![Box::new(age::scrypt::Recipient::new(pass.clone()))]);
    }
    let texts: Vec<&String> = vault
        .config
        .recipients
        .iter()
        .chain(&req.recipients)
        .collect();
    if texts.is_empty() {
        return Err(Error::Usage(
            "no recipients: add one to the vault (kluis init -r age1…, or recipients in config.toml), or give -r/-R or --passphrase-file".into(),
        ));
    }
    texts
        .into_iter()
        .map(|t| keys::parse_recipient(t))
        .collect()
}

/// Supplement number for this archive: 1 unless the year and class exist.
fn pick_supplement(
    catalog: &crate::vault::catalog::Catalog,
    media: &[Medium],
    req: &Request,
) -> Result<u32> {
    let taken = |n: u32| {
        let file = archive_file_name(req.year, &req.class, n);
        catalog.archives.iter().any(|a| a.file == file) || media.iter().any(|m| m.holds(&file))
    };
    if !taken(1) {
        return Ok(1);
    }
    if !req.supplement {
        let file = archive_file_name(req.year, &req.class, 1);
        let medium = media
            .iter()
            .find(|m| m.holds(&file))
            .map_or_else(|| PathBuf::from("the catalog"), |m| m.dir.clone());
        return Err(Error::AlreadyOnMedium { medium, file });
    }
    Ok((2..)
        .find(|&n| !taken(n))
        .expect("some supplement number is free"))
}

fn enrich_space_error(e: Error, media: &[Medium], file: &str, bytes: u64) -> Error {
    if let Error::Io { path, source } = &e
        && (source.raw_os_error() == Some(28) || source.kind() == std::io::ErrorKind::StorageFull)
        && let Some(m) = media.iter().find(|m| path.starts_with(&m.dir))
    {
        return Error::MediumFull {
            medium: m.dir.clone(),
            file: file.into(),
            needed: bytes,
            available: m.free_space().unwrap_or(0),
        };
    }
    e
}

/// At a safe point: `Err(Error::Interrupted)` (with an empty account, which
/// `run` fills in on its way out) when the user asked to stop.
fn checkpoint(progress: &dyn Progress) -> Result<()> {
    if progress.interrupted() {
        return Err(Error::Interrupted {
            done: String::new(),
        });
    }
    Ok(())
}

/// `stick-a, stick-b`.
fn labels(media: &[Medium]) -> String {
    media
        .iter()
        .map(Medium::label)
        .collect::<Vec<_>>()
        .join(", ")
}

/// One line saying which leftovers of interrupted runs were removed.
pub fn note_cleaned(medium: &Medium, removed: &[String], progress: &dyn Progress) {
    if removed.is_empty() {
        return;
    }
    progress.note(&format!(
        "{}: removed {} leftover{} of interrupted runs ({})",
        medium.label(),
        removed.len(),
        if removed.len() == 1 { "" } else { "s" },
        removed.join(", ")
    ));
}

fn same_dir(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => a == b,
    }
}

fn display_list(paths: &[PathBuf]) -> String {
    paths
        .iter()
        .map(|p| p.display().to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

/// Bytes for people: `1.5 GB`.
pub fn human(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["B", "kB", "MB", "GB", "TB"];
    let mut v = bytes as f64;
    let mut u = 0;
    while v >= 1000.0 && u < UNITS.len() - 1 {
        v /= 1000.0;
        u += 1;
    }
    if u == 0 {
        format!("{bytes} B")
    } else {
        format!("{v:.1} {}", UNITS[u])
    }
}
