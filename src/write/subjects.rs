//! The subject index written with an archive (docs/SUBJECTS.md): every
//! record's bytes pass through a scanner on their way into the archive;
//! what it finds goes into `kluis/subjects.jsonl`, and each distinct
//! identifier's keyed hash into the vault. Tax audit files (XAF) are
//! checked before anything is written.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::path::PathBuf;

use crate::error::{Error, IoContext, Result};
use crate::format::meta::AuditFile;
use crate::format::pathindex::INDEX_FRAME;
use crate::format::spool::Spool;
use crate::format::subjectindex::{
    Coverage, SUBJECTS_KEY, SUBJECTS_MEMBER, SUBJECTS_SUMMARY_KEY, SUBJECTS_SUMMARY_MEMBER,
    SubjectsBuilder,
};
use crate::format::writer::{ArchiveWriter, Framing};
use crate::sources::table::{Origin, TablePlan, Window, detect_delimiter};
use crate::subjects::identify::{Country, Identifier};
use crate::subjects::scan::{self, Found, Mode, Scanner, Settings};
use crate::subjects::xaf;
use crate::vault::SubjectsConfig;
use crate::vault::subjects::HashesBuilder;
use crossbeam_channel::{Receiver, Sender, bounded};
use std::thread::JoinHandle;

/// Identifiers of XAF files' customers and suppliers, by member.
pub(crate) type XafIds = BTreeMap<Vec<u8>, Vec<Identifier>>;

/// Collects the identifiers of one archive as its records are written.
///
/// The scanning runs on a thread of its own: the caller's thread (which
/// reads the sources and fills the archive's frames, the archive's
/// critical path) only copies each searched record's bytes into a batch
/// and hands it over. Batches come from a small pool, so memory stays
/// bounded and the caller waits when the scanner is behind.
///
/// ```text
/// caller: Begin(member), Bytes…, End ─▶ batch ─▶ scanner: Scanner, SubjectsBuilder
///         ◀──────────── empty batch back (a pool of BATCHES) ◀─┘
/// ```
pub(crate) struct Collector {
    /// Identifiers of XAF files' customers and suppliers, found in pass 1,
    /// by member.
    xaf: XafIds,
    /// The batch being filled.
    batch: Batch,
    jobs: Option<Sender<Batch>>,
    pool: Receiver<Batch>,
    /// The scanner thread, until it is joined: by [`Collector::finish`],
    /// or when a hand-over finds it stopped early (its error is then the
    /// caller's read error).
    worker: Option<JoinHandle<Result<Collected>>>,
}

/// What the scanner thread gives at the end: the index member as a spool,
/// its summary and the identifiers' keyed hashes.
type Collected = (Spool, Coverage, HashesBuilder);

/// Batches in the pool: how far the caller may be ahead of the scanner.
const BATCHES: usize = 4;
/// A batch is handed over once it holds this many bytes…
const BATCH_BYTES: usize = 128 << 10;
/// …or this many messages (records of small files).
const BATCH_MESSAGES: usize = 4096;

#[derive(Default)]
struct Batch {
    data: Vec<u8>,
    messages: Vec<Message>,
}

enum Message {
    /// A record starts: how it is searched (`None`: it is not), and the
    /// identifiers known of it beforehand (an XAF file's parties).
    Begin {
        member: Vec<u8>,
        mode: Option<Mode>,
        known: Vec<Identifier>,
    },
    /// A record that is not searched, and why.
    Skipped(&'static str),
    /// The record's next bytes: this range of the batch's data.
    Bytes(std::ops::Range<usize>),
    /// The record's reader reached its end.
    End,
}

impl Collector {
    pub(crate) fn new(config: &SubjectsConfig, xaf: XafIds) -> Result<Self> {
        let country = Country::parse(&config.country).map_err(|e| Error::BadConfig {
            path: PathBuf::from("config.toml"),
            detail: format!("[subjects] country: {e}"),
        })?;
        let index = SubjectsBuilder::new(country.code(), &config.id_columns);
        let settings = Settings {
            country,
            id_columns: config.id_columns.clone(),
        };
        let (back, pool) = bounded(BATCHES);
        for _ in 1..BATCHES {
            back.send(Batch::default()).expect("the pool has room");
        }
        let (jobs, work) = bounded::<Batch>(BATCHES);
        let worker = std::thread::Builder::new()
            .name("kluis-subjects".into())
            .spawn(move || scan_batches(index, &settings, &work, &back))
            .map_err(|e| Error::io("the subject scanner thread", e))?;
        Ok(Collector {
            xaf,
            batch: Batch::default(),
            jobs: Some(jobs),
            pool,
            worker: Some(worker),
        })
    }

    /// `inner` as read by the writer, its bytes scanned on the way: a file
    /// record by its name ([`scan::mode_for`]), a table member as `mode`
    /// says. A record that is not searched is counted by what it is.
    pub(crate) fn reader<'a, R: Read>(
        &'a mut self,
        member: &[u8],
        mode: Option<Mode>,
        inner: R,
    ) -> Scanning<'a, R> {
        let mode = mode.or_else(|| scan::mode_for(member));
        let searched = mode.is_some();
        let error = self.start(member, mode).err();
        Scanning {
            collector: self,
            searched,
            inner,
            error,
        }
    }

    /// Starts a record: scanned in `mode` (or only for what an audit file
    /// said about it), or counted as not searched.
    fn start(&mut self, member: &[u8], mode: Option<Mode>) -> io::Result<()> {
        let known = self.xaf.remove(member).unwrap_or_default();
        let message = if mode.is_some() || !known.is_empty() {
            Message::Begin {
                member: member.to_vec(),
                mode,
                known,
            }
        } else {
            Message::Skipped(scan::not_searched_reason(member))
        };
        self.put(message)
    }

    /// A small record's whole content, scanned ahead of its writing (a
    /// database's `schema.sql` and `columns.json`, known once it is
    /// exported), as [`Collector::reader`] would scan it.
    pub(crate) fn scan_whole(&mut self, member: &[u8], bytes: &[u8]) -> io::Result<()> {
        io::copy(&mut self.reader(member, None, bytes), &mut io::sink()).map(drop)
    }

    /// Appends a message to the batch; hands the batch over when full.
    fn put(&mut self, message: Message) -> io::Result<()> {
        self.batch.messages.push(message);
        if self.batch.data.len() >= BATCH_BYTES || self.batch.messages.len() >= BATCH_MESSAGES {
            self.hand_over()?;
        }
        Ok(())
    }

    fn bytes(&mut self, bytes: &[u8]) -> io::Result<()> {
        let start = self.batch.data.len();
        self.batch.data.extend_from_slice(bytes);
        self.put(Message::Bytes(start..start + bytes.len()))
    }

    fn hand_over(&mut self) -> io::Result<()> {
        let Some(jobs) = &self.jobs else {
            return Err(self.stop());
        };
        let Ok(next) = self.pool.recv() else {
            return Err(self.stop());
        };
        let full = std::mem::replace(&mut self.batch, next);
        if jobs.send(full).is_err() {
            return Err(self.stop());
        }
        Ok(())
    }

    /// The scanner thread stopped early: its error, as the caller's read
    /// error.
    fn stop(&mut self) -> io::Error {
        self.jobs = None;
        let why = match self.worker.take().map(JoinHandle::join) {
            Some(Ok(Err(e))) => e.to_string(),
            Some(Err(_)) => "it panicked".into(),
            _ => "it stopped".into(),
        };
        io::Error::other(format!("the subject index could not be built: {why}"))
    }

    /// Ends the records: the scanner thread goes on to sort and merge the
    /// index (and hash each distinct identifier) while the caller does
    /// other work, until [`Collector::finish`].
    pub(crate) fn close(&mut self) {
        if let Some(jobs) = self.jobs.take() {
            let _ = jobs.send(std::mem::take(&mut self.batch));
        }
    }

    /// Adds the index and its summary to the archive; gives the summary
    /// and the identifiers' keyed hashes for the vault.
    pub(crate) fn finish<O: io::Write + Send + 'static>(
        mut self,
        writer: &mut ArchiveWriter<O>,
    ) -> Result<(Coverage, HashesBuilder)> {
        self.close();
        let stopped = || {
            Error::io(
                "the subject scanner thread",
                io::Error::other("it stopped early"),
            )
        };
        let worker = self.worker.take().ok_or_else(stopped)?;
        let (mut spool, coverage, hashes) = worker.join().map_err(|_| stopped())??;
        let size = spool.len;
        let mut lines = spool.reader()?;
        writer.add_located(
            SUBJECTS_KEY,
            SUBJECTS_MEMBER,
            size,
            &mut lines,
            Framing::Lines { every: INDEX_FRAME },
        )?;
        let mut summary = serde_json::to_vec(&coverage).expect("coverage serialises");
        summary.push(b'\n');
        writer.add_located(
            SUBJECTS_SUMMARY_KEY,
            SUBJECTS_SUMMARY_MEMBER,
            summary.len() as u64,
            &mut summary.as_slice(),
            Framing::Packed,
        )?;
        Ok((coverage, hashes))
    }
}

/// A live database's tables are scanned while they are exported, as the
/// CSV the archive holds: the scan then runs beside the database's reading
/// instead of after it, when the archive is written.
impl crate::sources::db::ExportTap for Collector {
    fn begin(&mut self, member: &str) -> io::Result<()> {
        self.start(member.as_bytes(), Some(Mode::Csv { delimiter: b',' }))
    }

    fn bytes(&mut self, bytes: &[u8]) -> io::Result<()> {
        Collector::bytes(self, bytes)
    }

    fn end(&mut self) -> io::Result<()> {
        self.put(Message::End)
    }
}

impl Drop for Collector {
    fn drop(&mut self) {
        self.jobs = None;
        if let Some(worker) = self.worker.take() {
            let _ = worker.join();
        }
    }
}

/// The scanner thread: scans each searched record's bytes, in order, into
/// the index; once the batches end, merges the index.
fn scan_batches(
    mut index: SubjectsBuilder,
    settings: &Settings,
    batches: &Receiver<Batch>,
    back: &Sender<Batch>,
) -> Result<Collected> {
    let tmp = std::env::temp_dir();
    let mut current: Option<(Vec<u8>, Scanner)> = None;
    for mut batch in batches {
        for message in batch.messages.drain(..) {
            match message {
                Message::Begin {
                    member,
                    mode,
                    known,
                } => {
                    // A record whose reader stopped before its end (the
                    // archive then fails) is left as it was.
                    let coverage = &mut index.coverage;
                    match mode {
                        Some(_) => coverage.searched += 1,
                        None => {
                            *coverage
                                .not_searched
                                .entry(scan::not_searched_reason(&member).to_owned())
                                .or_default() += 1;
                        }
                    }
                    for id in known {
                        index.push(&id.key(), &member, None).at(&tmp)?;
                    }
                    current = mode.map(|m| (member, Scanner::new(m, settings)));
                }
                Message::Skipped(reason) => {
                    current = None;
                    *index
                        .coverage
                        .not_searched
                        .entry(reason.to_owned())
                        .or_default() += 1;
                }
                Message::Bytes(range) => {
                    if let Some((member, scanner)) = current.as_mut() {
                        let bytes = &batch.data[range];
                        found_into(&mut index, member, |out| scanner.feed(bytes, out)).at(&tmp)?;
                    }
                }
                Message::End => {
                    if let Some((member, mut scanner)) = current.take() {
                        found_into(&mut index, &member, |out| scanner.finish(out)).at(&tmp)?;
                    }
                }
            }
        }
        batch.data.clear();
        let _ = back.send(batch);
    }
    let mut hashes = HashesBuilder::new();
    let (spool, coverage) = index.finish(&mut |id| hashes.add(id))?;
    Ok((spool, coverage, hashes))
}

/// Runs a scan step, pushing what it finds of `member` into the index.
fn found_into(
    index: &mut SubjectsBuilder,
    member: &[u8],
    step: impl FnOnce(&mut dyn FnMut(Found)),
) -> io::Result<()> {
    let mut error = None;
    step(&mut |found: Found| {
        if error.is_none()
            && let Err(e) = index.push(&found.id.key(), member, found.row)
        {
            error = Some(e);
        }
    });
    error.map_or(Ok(()), Err)
}

/// A record's bytes on their way into the archive, handed to the scanner.
pub(crate) struct Scanning<'a, R> {
    collector: &'a mut Collector,
    /// Whether the record is searched (its bytes go to the scanner).
    searched: bool,
    inner: R,
    error: Option<io::Error>,
}

impl<R: Read> Read for Scanning<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if let Some(e) = self.error.take() {
            return Err(e);
        }
        let n = self.inner.read(buf)?;
        if self.searched {
            if n == 0 {
                self.searched = false;
                self.collector.put(Message::End)?;
            } else {
                self.collector.bytes(&buf[..n])?;
            }
        }
        Ok(n)
    }
}

/// How a table member is scanned: rows of JSON Lines, or CSV records with
/// the delimiter the member keeps from its source (`,` for SQLite tables).
pub(crate) fn table_mode(plan: &TablePlan) -> Mode {
    match &plan.spec.origin {
        Origin::Jsonl(_) => Mode::Jsonl,
        Origin::Sqlite { .. } => Mode::Csv { delimiter: b',' },
        Origin::Csv(path) => {
            let delimiter = plan.spec.delimiter.unwrap_or_else(|| {
                let mut head = vec![0u8; 64 << 10];
                let n = File::open(path)
                    .and_then(|mut f| crate::util::io::read_full(&mut f, &mut head))
                    .unwrap_or(0);
                detect_delimiter(&head[..n]).unwrap_or(b',')
            });
            Mode::Csv { delimiter }
        }
    }
}

/// An XAF file among the records, found by the pre-scan.
pub(crate) struct Candidate {
    pub(crate) source: PathBuf,
    pub(crate) member: Vec<u8>,
}

/// Pass 1 for tax audit files: each candidate that is an XAF file is read
/// in full and checked (well-formed, balanced, its declared counts, and
/// its fiscal year against the archive's, unless `other_year`), before
/// anything is written. Gives the summaries for the metadata and the
/// identifiers of their customers and suppliers.
pub(crate) fn check_audit_files(
    candidates: &[Candidate],
    window: &Window,
    other_year: bool,
    config: &SubjectsConfig,
) -> Result<(Vec<AuditFile>, XafIds)> {
    let country = Country::parse(&config.country).unwrap_or_default();
    let mut files = Vec::new();
    let mut ids: BTreeMap<Vec<u8>, Vec<Identifier>> = BTreeMap::new();
    for c in candidates {
        let f = File::open(&c.source).at(&c.source)?;
        let mut input = BufReader::with_capacity(256 << 10, f);
        let head = input.fill_buf().at(&c.source)?;
        if !xaf::looks_like_xaf(&c.member, head) {
            continue;
        }
        let mut found = Vec::new();
        let summary = xaf::check(input, &mut |party: xaf::Party| {
            if !party.id.trim().is_empty() {
                found.push(Identifier::Id {
                    name: "custsupid".into(),
                    value: party.id.trim().to_owned(),
                });
            }
            found.extend(
                party
                    .emails
                    .iter()
                    .filter_map(|e| Identifier::parse_email(e).ok()),
            );
            found.extend(
                party
                    .phones
                    .iter()
                    .filter_map(|p| Identifier::parse_phone(p, &country).ok()),
            );
            found.extend(
                party
                    .bank_accounts
                    .iter()
                    .filter_map(|b| Identifier::parse_iban(b).ok()),
            );
        })
        .map_err(|e| Error::BadAuditFile {
            path: c.source.clone(),
            detail: e.to_string(),
        })?;
        if !other_year {
            check_year(&summary, window).map_err(|detail| Error::BadAuditFile {
                path: c.source.clone(),
                detail,
            })?;
        }
        found.sort();
        found.dedup();
        ids.insert(c.member.clone(), found);
        files.push(AuditFile {
            path: String::from_utf8_lossy(&c.member).into_owned(),
            summary,
        });
    }
    Ok((files, ids))
}

/// An XAF file's fiscal year and period against the archive's year.
fn check_year(summary: &xaf::Summary, window: &Window) -> std::result::Result<(), String> {
    let hint =
        "it belongs to another year's archive; add --allow-other-year to keep it here anyway";
    let start = chrono::NaiveDate::parse_from_str(summary.start_date.trim(), "%Y-%m-%d");
    let end = chrono::NaiveDate::parse_from_str(summary.end_date.trim(), "%Y-%m-%d");
    let (Ok(start), Ok(end)) = (start, end) else {
        return Err(format!(
            "its period ({}) is not two dates (YYYY-MM-DD)",
            summary.period()
        ));
    };
    if start < window.first || end > window.last {
        return Err(format!(
            "its period {} is not within fiscal year {} ({} – {}): {hint}",
            summary.period(),
            window.year,
            window.first,
            window.last
        ));
    }
    let year = summary.fiscal_year.trim();
    let known = [
        window.year.to_string(),
        format!("{}/{}", window.year, window.year + 1),
        format!("{}-{}", window.year, window.year + 1),
    ];
    if !year.is_empty()
        && !known.iter().any(|k| k == year)
        && year != window.first.format("%Y").to_string()
    {
        return Err(format!(
            "its header says fiscal year {year}, the archive is of {}: {hint}",
            window.year
        ));
    }
    Ok(())
}
