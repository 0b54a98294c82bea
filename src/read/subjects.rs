//! Finding a data subject in one archive (docs/SUBJECTS.md): through its
//! subject index, decrypting only the frames a binary search probes, or,
//! for archives written before the index existed (or whose index is
//! damaged), by scanning every record as the archive writer does; and
//! exporting what was found: the records, and the rows of tables with
//! their header.

use std::collections::{BTreeMap, BTreeSet};
use std::fs::{self, File};
use std::io::{BufRead, BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use crate::error::{Error, IoContext, Result};
use crate::format::manifest::{Entry, Kind};
use crate::format::reader::ArchiveReader;
use crate::format::subjectindex::{self, Coverage, SubjectIndex};
use crate::format::{RECORDS_PREFIX, TABLES_PREFIX};
use crate::keys::Identities;
use crate::progress::Progress;
use crate::read::restore::{self, Existing, Selection, safe_target};
use crate::sources::table::{CsvRecords, RawRecord, detect_delimiter};
use crate::subjects::identify::Identifier;
use crate::subjects::scan::{self, Found, Mode, Scanner, Settings};
use crate::util::lines::read_line;

/// A record, or rows of a table member, holding one of the identifiers
/// asked about.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Hit {
    /// The identifier's key (`email:jan@example.nl`).
    pub id: String,
    pub path: Vec<u8>,
    /// Data rows (1-based) of a table member; empty for a record.
    pub rows: Vec<u64>,
}

impl Hit {
    pub fn display_path(&self) -> String {
        String::from_utf8_lossy(&self.path).into_owned()
    }
}

/// How an archive was searched.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum How {
    /// Through its subject index.
    Index,
    /// By reading every record: the archive has no index (written before
    /// kluis kept one), or `why` it could not be used.
    Scan { why: Option<String> },
}

/// What a search of one archive found.
#[derive(Debug)]
pub struct Search {
    pub hits: Vec<Hit>,
    pub how: How,
    /// What the index covers (absent for archives without one).
    pub coverage: Option<Coverage>,
    /// Bytes of the archive read.
    pub bytes_read: u64,
}

/// Looks the identifiers up in the archive at `path`.
///
/// # Errors
/// A wrong key, or an archive that cannot be read at all (damage that a
/// scan cannot pass either).
pub fn search(
    path: &Path,
    identities: &Identities,
    ids: &[Identifier],
    settings: &Settings,
    progress: &dyn Progress,
) -> Result<Search> {
    let mut reader = ArchiveReader::open(path, identities)?;
    let keys: Vec<String> = ids.iter().map(Identifier::key).collect();
    let found = match SubjectIndex::open(&mut reader) {
        Ok(Some(index)) => {
            let mut hits = Vec::new();
            let mut failed = None;
            for key in &keys {
                match index.lookup(&mut reader, key) {
                    Ok(lines) => hits.extend(lines.into_iter().map(|l| Hit {
                        id: l.id,
                        path: l.path,
                        rows: l.rows,
                    })),
                    Err(e) => {
                        failed = Some(e.to_string());
                        break;
                    }
                }
            }
            match failed {
                None => Ok(merge(hits)),
                Some(why) => Err(Some(why)),
            }
        }
        Ok(None) => Err(None),
        Err(e) => Err(Some(e.to_string())),
    };
    let coverage = subjectindex::coverage(&mut reader).ok().flatten();
    match found {
        Ok(hits) => Ok(Search {
            hits,
            how: How::Index,
            coverage,
            bytes_read: reader.bytes_read(),
        }),
        Err(why) => {
            drop(reader);
            let (hits, bytes_read) = scan_archive(path, identities, &keys, settings, progress)?;
            Ok(Search {
                hits,
                how: How::Scan { why },
                coverage: None,
                bytes_read,
            })
        }
    }
}

/// Hits of one identifier and member joined, in path order.
fn merge(hits: Vec<Hit>) -> Vec<Hit> {
    let mut joined: BTreeMap<(Vec<u8>, String), BTreeSet<u64>> = BTreeMap::new();
    for h in hits {
        joined.entry((h.path, h.id)).or_default().extend(h.rows);
    }
    joined
        .into_iter()
        .map(|((path, id), rows)| Hit {
            id,
            path,
            rows: rows.into_iter().collect(),
        })
        .collect()
}

/// Reads every record of the archive through the scanner the writer uses.
fn scan_archive(
    path: &Path,
    identities: &Identities,
    keys: &[String],
    settings: &Settings,
    progress: &dyn Progress,
) -> Result<(Vec<Hit>, u64)> {
    let wanted: BTreeSet<&str> = keys.iter().map(String::as_str).collect();
    let mut names = ArchiveReader::open(path, identities)?;
    let mut data = ArchiveReader::open(path, identities)?;
    let mut hits = Vec::new();
    for entry in names.manifest()? {
        let entry = entry?;
        if progress.interrupted() {
            return Err(Error::Interrupted {
                done: format!("the search of {} was stopped", path.display()),
            });
        }
        if entry.kind != Kind::File {
            continue;
        }
        let mut content =
            BufReader::with_capacity(256 << 10, data.tar_from(entry.data_offset).take(entry.size));
        let Some(mode) = member_mode(&entry.path, &mut content).at(path)? else {
            continue;
        };
        let mut scanner = Scanner::new(mode, settings);
        let mut rows: BTreeMap<String, BTreeSet<u64>> = BTreeMap::new();
        let mut take = |f: Found| {
            let key = f.id.key();
            if wanted.contains(key.as_str()) {
                rows.entry(key).or_default().extend(f.row);
            }
        };
        loop {
            let chunk = content.fill_buf();
            let chunk = match chunk {
                Ok(c) => c,
                Err(e) => return Err(content.into_inner().into_inner().take_error(e)),
            };
            if chunk.is_empty() {
                break;
            }
            let n = chunk.len();
            scanner.feed(chunk, &mut take);
            progress.advance(n as u64);
            content.consume(n);
        }
        scanner.finish(&mut take);
        hits.extend(rows.into_iter().map(|(id, rows)| Hit {
            id,
            path: entry.path.clone(),
            rows: rows.into_iter().collect(),
        }));
    }
    let read = names.bytes_read() + data.bytes_read();
    Ok((merge(hits), read))
}

/// How the writer scanned a member: table members by their kind, records
/// by their names; `None`: not searched.
fn member_mode(path: &[u8], content: &mut impl BufRead) -> std::io::Result<Option<Mode>> {
    if !path.starts_with(TABLES_PREFIX.as_bytes()) {
        return Ok(scan::mode_for(path));
    }
    let lower = path.to_ascii_lowercase();
    if lower.ends_with(b".jsonl") {
        return Ok(Some(Mode::Jsonl));
    }
    if lower.ends_with(b".csv") || lower.ends_with(b".tsv") {
        let head = content.fill_buf()?;
        let delimiter = detect_delimiter(head).unwrap_or(b',');
        return Ok(Some(Mode::Csv { delimiter }));
    }
    Ok(scan::mode_for(path))
}

/// What an export wrote.
#[derive(Debug, Default)]
pub struct Exported {
    /// Records restored (checked against their SHA-256).
    pub records: u64,
    /// Table members written with their header and the found rows.
    pub tables: Vec<(PathBuf, u64)>,
}

/// Writes copies of what `hits` name into `dir`: records as `restore`
/// writes them (each checked against its SHA-256), and for a table member
/// its header and the rows found, in a file of the member's name.
///
/// # Errors
/// A wrong key, damage, or a name already taken in `dir`.
pub fn export(
    archive: &Path,
    identities: &Identities,
    hits: &[Hit],
    dir: &Path,
    progress: &dyn Progress,
) -> Result<Exported> {
    let mut out = Exported::default();
    let records: BTreeSet<String> = hits
        .iter()
        .filter(|h| h.path.starts_with(RECORDS_PREFIX.as_bytes()))
        .map(|h| h.display_path())
        .collect();
    fs::create_dir_all(dir).at(dir)?;
    if !records.is_empty() {
        let patterns: Vec<String> = records.into_iter().collect();
        let selection = Selection::new(&patterns)?;
        let report = restore::run(
            &restore::Request {
                archive,
                identities,
                target: dir,
                selection: &selection,
                existing: Existing::Refuse,
            },
            progress,
        )?;
        out.records = report.files;
    }
    let mut rows: BTreeMap<Vec<u8>, BTreeSet<u64>> = BTreeMap::new();
    for h in hits.iter().filter(|h| !h.rows.is_empty()) {
        rows.entry(h.path.clone())
            .or_default()
            .extend(h.rows.iter().copied());
    }
    if rows.is_empty() {
        return Ok(out);
    }
    let mut reader = ArchiveReader::open(archive, identities)?;
    let mut entries: BTreeMap<Vec<u8>, Entry> = BTreeMap::new();
    for entry in reader.manifest()? {
        let entry = entry?;
        if rows.contains_key(&entry.path) {
            entries.insert(entry.path.clone(), entry);
        }
    }
    for (member, wanted) in rows {
        let Some(entry) = entries.get(&member) else {
            return Err(Error::Damaged {
                path: archive.into(),
                detail: format!(
                    "the subject index names {}, which the manifest does not hold",
                    String::from_utf8_lossy(&member)
                ),
            });
        };
        let dest = safe_target(dir, &member).map_err(|reason| Error::UnsafeEntry {
            path: archive.into(),
            entry: entry.display_path(),
            reason,
        })?;
        if fs::symlink_metadata(&dest).is_ok() {
            return Err(Error::WouldOverwrite { path: dest });
        }
        if let Some(parent) = dest.parent() {
            fs::create_dir_all(parent).at(parent)?;
        }
        let content = BufReader::with_capacity(
            256 << 10,
            reader.tar_from(entry.data_offset).take(entry.size),
        );
        let written = write_rows(content, &entry.display_path(), &wanted, &dest)?;
        out.tables.push((dest, written));
    }
    Ok(out)
}

/// The header and the `wanted` data rows of a table member into `dest`
/// (written under a temporary name, renamed when complete).
fn write_rows(
    mut content: impl BufRead,
    member: &str,
    wanted: &BTreeSet<u64>,
    dest: &Path,
) -> Result<u64> {
    let temp = dest.with_file_name(format!(
        ".{}.tmp-export",
        dest.file_name().unwrap_or_default().to_string_lossy()
    ));
    let mut out = BufWriter::new(File::create(&temp).at(&temp)?);
    let mut written = 0u64;
    let last = wanted.iter().next_back().copied().unwrap_or(0);
    if member.to_ascii_lowercase().ends_with(".jsonl") {
        let mut line = Vec::new();
        let mut number = 0u64;
        while number < last
            && read_line(&mut content, &mut line, usize::MAX).map_err(|e| Error::Damaged {
                path: member.into(),
                detail: e.to_string(),
            })?
        {
            number += 1;
            if wanted.contains(&number) {
                out.write_all(&line).at(&temp)?;
                written += 1;
            }
        }
    } else {
        let mut records = CsvRecords::new(content, member)?;
        let mut rec = RawRecord::default();
        let mut number = 0u64;
        if records.next(&mut rec)? {
            out.write_all(rec.raw()).at(&temp)?;
        }
        while number < last && records.next(&mut rec)? {
            number += 1;
            if wanted.contains(&number) {
                out.write_all(rec.raw()).at(&temp)?;
                written += 1;
            }
        }
    }
    let file = out
        .into_inner()
        .map_err(|e| Error::io(&temp, e.into_error()))?;
    file.sync_all().at(&temp)?;
    fs::rename(&temp, dest).at(dest)?;
    Ok(written)
}
