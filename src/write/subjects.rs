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

/// Identifiers of XAF files' customers and suppliers, by member.
pub(crate) type XafIds = BTreeMap<Vec<u8>, Vec<Identifier>>;

/// Collects the identifiers of one archive as its records are written.
pub(crate) struct Collector {
    index: SubjectsBuilder,
    settings: Settings,
    /// Identifiers of XAF files' customers and suppliers, found in pass 1,
    /// by member.
    xaf: BTreeMap<Vec<u8>, Vec<Identifier>>,
}

impl Collector {
    pub(crate) fn new(
        config: &SubjectsConfig,
        xaf: BTreeMap<Vec<u8>, Vec<Identifier>>,
    ) -> Result<Self> {
        let country = Country::parse(&config.country).map_err(|e| Error::BadConfig {
            path: PathBuf::from("config.toml"),
            detail: format!("[subjects] country: {e}"),
        })?;
        Ok(Collector {
            index: SubjectsBuilder::new(country.code(), &config.id_columns),
            settings: Settings {
                country,
                id_columns: config.id_columns.clone(),
            },
            xaf,
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
        match &mode {
            Some(_) => self.index.coverage.searched += 1,
            None => {
                *self
                    .index
                    .coverage
                    .not_searched
                    .entry(scan::not_searched_reason(member).to_owned())
                    .or_default() += 1;
            }
        }
        if let Some(ids) = self.xaf.remove(member) {
            for id in ids {
                if let Err(e) = self.index.push(&id.key(), member, None) {
                    return Scanning::failed(inner, e);
                }
            }
        }
        Scanning {
            scanner: mode.map(|m| Scanner::new(m, &self.settings)),
            index: Some(&mut self.index),
            member: member.to_vec(),
            inner,
            error: None,
        }
    }

    /// Adds the index and its summary to the archive; gives the summary
    /// and the identifiers' keyed hashes for the vault.
    pub(crate) fn finish<O: io::Write + Send + 'static>(
        self,
        writer: &mut ArchiveWriter<O>,
    ) -> Result<(Coverage, HashesBuilder)> {
        let mut hashes = HashesBuilder::new();
        let (mut spool, coverage) = self.index.finish(&mut |id| hashes.add(id))?;
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

/// A record's bytes on their way into the archive, scanned.
pub(crate) struct Scanning<'a, R> {
    scanner: Option<Scanner>,
    index: Option<&'a mut SubjectsBuilder>,
    member: Vec<u8>,
    inner: R,
    error: Option<io::Error>,
}

impl<R> Scanning<'_, R> {
    fn failed(inner: R, e: io::Error) -> Self {
        Scanning {
            scanner: None,
            index: None,
            member: Vec::new(),
            inner,
            error: Some(e),
        }
    }

    fn emit(&mut self, feed: impl FnOnce(&mut Scanner, &mut dyn FnMut(Found))) {
        let (Some(scanner), Some(index)) = (self.scanner.as_mut(), self.index.as_deref_mut())
        else {
            return;
        };
        let member = &self.member;
        let error = &mut self.error;
        feed(scanner, &mut |found: Found| {
            if error.is_none()
                && let Err(e) = index.push(&found.id.key(), member, found.row)
            {
                *error = Some(e);
            }
        });
    }
}

impl<R: Read> Read for Scanning<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if let Some(e) = self.error.take() {
            return Err(e);
        }
        let n = self.inner.read(buf)?;
        if n == 0 {
            self.emit(|s, out| s.finish(out));
            self.scanner = None;
        } else {
            self.emit(|s, out| s.feed(&buf[..n], out));
        }
        match self.error.take() {
            Some(e) => Err(e),
            None => Ok(n),
        }
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
