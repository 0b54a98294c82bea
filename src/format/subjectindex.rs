//! The subject index `kluis/subjects.jsonl` (docs/FORMAT.md §4.5.2): for
//! every identifier found in the records (an e-mail address, a phone
//! number, an IBAN, a customer number; `crate::subjects`), the records and
//! table rows that hold it, sorted by identifier, in line-framed frames (a
//! sorted member, `super::sorted`). A lookup decompresses only the frames
//! its binary search probes. `kluis/subjects.json` says what the index
//! covers and what was not searched.

use std::collections::BTreeMap;
use std::io::{self, Read};

use serde::{Deserialize, Serialize};

use super::manifest::{join_name, split_name};
use super::reader::ArchiveReader;
use super::sorted::{IndexBuilder, PathRange, SortedLine, SortedMember, damaged};
use super::spool::Spool;
use super::{RECORDS_PREFIX, TABLES_PREFIX};
use crate::error::{IoContext, Result};

/// The footer key that locates the index.
pub const SUBJECTS_KEY: &str = "subjects";
/// The index member.
pub const SUBJECTS_MEMBER: &str = "kluis/subjects.jsonl";
/// The footer key that locates the index's summary.
pub const SUBJECTS_SUMMARY_KEY: &str = "subjects_summary";
/// The summary member.
pub const SUBJECTS_SUMMARY_MEMBER: &str = "kluis/subjects.json";
/// The subject index's occurrences sorted in memory at a time: small, as
/// its entries are small (their bookkeeping weighs more than their bytes)
/// and the spooled runs are merged a few at a time anyway.
const SUBJECT_RUN_BYTES: usize = 2 << 20;
/// A line names at most this many rows; more rows of one table holding
/// one identifier take further lines (a line stays far below `MAX_JSON`).
const ROWS_PER_LINE: usize = 10_000;

/// One line of the index: an identifier's key (`email:jan@example.nl`),
/// a record member holding it, and for a table member the data rows
/// (1-based, header not counted) that hold it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SubjectLine {
    pub id: String,
    pub path: Vec<u8>,
    pub rows: Vec<u64>,
    key: Vec<u8>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Json<'a> {
    #[serde(borrow)]
    id: std::borrow::Cow<'a, str>,
    #[serde(borrow, skip_serializing_if = "Option::is_none")]
    path: Option<std::borrow::Cow<'a, str>>,
    #[serde(borrow, skip_serializing_if = "Option::is_none")]
    path_hex: Option<std::borrow::Cow<'a, str>>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    rows: Vec<u64>,
}

/// The sort key of an identifier's lines: the key, then a zero byte (no
/// key holds one), then the member path (room for `more` bytes after).
fn sort_key_with(id: &str, path: &[u8], more: usize) -> Vec<u8> {
    let mut key = Vec::with_capacity(id.len() + 1 + path.len() + more);
    key.extend_from_slice(id.as_bytes());
    key.push(0);
    key.extend_from_slice(path);
    key
}

/// One line of the index, `\n` included.
fn write_json_line(
    out: &mut impl io::Write,
    id: &str,
    path: &[u8],
    rows: Vec<u64>,
) -> io::Result<()> {
    let (path, path_hex) = split_name(path);
    let json = Json {
        id: id.into(),
        path,
        path_hex,
        rows,
    };
    serde_json::to_writer(&mut *out, &json).map_err(io::Error::other)?;
    out.write_all(b"\n")
}

impl SubjectLine {
    pub fn new(id: String, path: Vec<u8>, rows: Vec<u64>) -> SubjectLine {
        let key = sort_key_with(&id, &path, 0);
        SubjectLine {
            id,
            path,
            rows,
            key,
        }
    }

    /// The line as written, with its `\n`.
    pub fn to_json_line(&self) -> String {
        let mut line = Vec::new();
        write_json_line(&mut line, &self.id, &self.path, self.rows.clone())
            .expect("a subject line serialises");
        String::from_utf8(line).expect("JSON is UTF-8")
    }

    /// The member path as text for people (lossy for non-UTF-8 names).
    pub fn display_path(&self) -> String {
        String::from_utf8_lossy(&self.path).into_owned()
    }
}

impl SortedLine for SubjectLine {
    fn parse(line: &str) -> std::result::Result<Self, String> {
        let json: Json = serde_json::from_str(line).map_err(|e| e.to_string())?;
        let path = join_name(json.path, json.path_hex, "path")?;
        if json.id.is_empty() || json.id.contains('\0') {
            return Err("an identifier is empty or holds a zero byte".into());
        }
        Ok(SubjectLine::new(json.id.into_owned(), path, json.rows))
    }
    fn key(&self) -> &[u8] {
        &self.key
    }
}

/// What an archive's subject index covers (`kluis/subjects.json`), kept in
/// the vault's catalog too.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Coverage {
    /// Records and table members whose content was searched.
    pub searched: u64,
    /// Records not searched (PDFs, images, office documents, other binary
    /// files), counted by what they are: `{"PDF": 1200, "image": 30}`.
    #[serde(default)]
    pub not_searched: BTreeMap<String, u64>,
    /// Distinct identifiers found.
    pub identifiers: u64,
    /// Lines of the index.
    pub lines: u64,
    /// The default country phone numbers were read with (`NL`).
    pub phone_country: String,
    /// Columns read as customer or relation numbers.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub id_columns: Vec<String>,
}

/// Collects identifiers as records are written; at the end gives the index
/// member, its coverage and each distinct identifier once (in key order).
pub(crate) struct SubjectsBuilder {
    occurrences: IndexBuilder,
    pub(crate) coverage: Coverage,
}

impl SubjectsBuilder {
    pub(crate) fn new(phone_country: &str, id_columns: &[String]) -> Self {
        SubjectsBuilder {
            occurrences: IndexBuilder::with_run_bytes(SUBJECT_RUN_BYTES),
            coverage: Coverage {
                phone_country: phone_country.to_owned(),
                id_columns: id_columns.to_vec(),
                ..Coverage::default()
            },
        }
    }

    /// A record (or a table row, `row` 1-based) holds the identifier `id`
    /// (its key).
    pub(crate) fn push(&mut self, id: &str, path: &[u8], row: Option<u64>) -> io::Result<()> {
        let mut key = sort_key_with(id, path, 9);
        key.push(0);
        key.extend_from_slice(&row.unwrap_or(0).to_be_bytes());
        self.occurrences.push_owned(key, Vec::new())
    }

    /// The index member as a spool (its size is the spool's `len`), and
    /// `distinct` called with every identifier once, in order.
    pub(crate) fn finish(mut self, distinct: &mut dyn FnMut(&str)) -> Result<(Spool, Coverage)> {
        let tmp = std::env::temp_dir();
        let (_, mut merged) = self.occurrences.finish()?;
        let mut spool = Spool::new()?;
        let mut current: Option<(String, Vec<u8>)> = None;
        let mut rows: Vec<u64> = Vec::new();
        let mut last_id = String::new();
        let flush = |current: &Option<(String, Vec<u8>)>,
                     rows: &mut Vec<u64>,
                     spool: &mut Spool,
                     coverage: &mut Coverage|
         -> io::Result<()> {
            if let Some((id, path)) = current {
                write_json_line(spool, id, path, std::mem::take(rows))?;
                coverage.lines += 1;
            }
            Ok(())
        };
        while let Some((key, _)) = merged.next_entry().at(&tmp)? {
            // id \0 path \0 row(8 bytes, big-endian)
            let (head, row) = key.split_at(key.len() - 8);
            let head = &head[..head.len() - 1];
            let split = memchr::memchr(0, head).expect("a sort key holds a zero byte");
            let (id, path) = (&head[..split], &head[split + 1..]);
            let row = u64::from_be_bytes(row.try_into().expect("8 bytes"));
            let same = current
                .as_ref()
                .is_some_and(|(i, p)| i.as_bytes() == id && p == path);
            if !same || rows.len() >= ROWS_PER_LINE {
                flush(&current, &mut rows, &mut spool, &mut self.coverage).at(&tmp)?;
                let id = String::from_utf8_lossy(id).into_owned();
                if id != last_id {
                    distinct(&id);
                    self.coverage.identifiers += 1;
                    last_id.clone_from(&id);
                }
                current = Some((id, path.to_vec()));
            }
            if row > 0 && rows.last() != Some(&row) {
                rows.push(row);
            }
        }
        flush(&current, &mut rows, &mut spool, &mut self.coverage).at(&tmp)?;
        spool.finish()?;
        Ok((spool, self.coverage))
    }
}

/// An archive's subject index.
pub struct SubjectIndex {
    member: SortedMember,
}

impl SubjectIndex {
    /// The archive's index; `None` when it has none (archives written
    /// before it existed: a search scans their records instead).
    ///
    /// # Errors
    /// When the footer points at something else.
    pub fn open(reader: &mut ArchiveReader) -> Result<Option<SubjectIndex>> {
        Ok(SortedMember::open(reader, SUBJECTS_KEY, SUBJECTS_MEMBER)?
            .map(|member| SubjectIndex { member }))
    }

    /// The index's size in bytes.
    pub fn size(&self) -> u64 {
        self.member.size()
    }

    /// Every line of the identifier `id` (a key), in member order.
    ///
    /// # Errors
    /// Damage in a frame read, a line that does not parse, or lines out of
    /// order: the caller reports it and scans the archive instead.
    pub fn lookup(&self, reader: &mut ArchiveReader, id: &str) -> Result<Vec<SubjectLine>> {
        let mut prefix = id.as_bytes().to_vec();
        prefix.push(0);
        let mut out = Vec::new();
        self.member.scan(
            reader,
            &[PathRange::prefix(&prefix)],
            &|l: &SubjectLine| check(l),
            &mut |l| {
                out.push(l);
                true
            },
        )?;
        Ok(out)
    }
}

fn check(line: &SubjectLine) -> std::result::Result<(), String> {
    if !(line.path.starts_with(RECORDS_PREFIX.as_bytes())
        || line.path.starts_with(TABLES_PREFIX.as_bytes()))
    {
        return Err(format!(
            "it names {}, which is not a record",
            line.display_path()
        ));
    }
    if line.rows.windows(2).any(|w| w[0] >= w[1]) || line.rows.first() == Some(&0) {
        return Err(format!(
            "its rows of {} are not 1-based and in order",
            line.display_path()
        ));
    }
    Ok(())
}

/// The summary member of an archive, when it has one.
///
/// # Errors
/// When the member is damaged or not the summary.
pub fn coverage(reader: &mut ArchiveReader) -> Result<Option<Coverage>> {
    let Some(at) = reader.located(SUBJECTS_SUMMARY_KEY)? else {
        return Ok(None);
    };
    let path = reader.path().to_path_buf();
    if at.name != SUBJECTS_SUMMARY_MEMBER.as_bytes() || at.size > super::MAX_JSON {
        return Err(damaged(
            &path,
            SUBJECTS_SUMMARY_MEMBER,
            "the footer points at something else",
        ));
    }
    let mut text = Vec::new();
    reader
        .tar_from(at.data_offset)
        .take(at.size)
        .read_to_end(&mut text)
        .map_err(|e| damaged(&path, SUBJECTS_SUMMARY_MEMBER, &e.to_string()))?;
    serde_json::from_slice(&text)
        .map(Some)
        .map_err(|e| damaged(&path, SUBJECTS_SUMMARY_MEMBER, &e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn occurrences_combine_into_sorted_lines() {
        let mut b = SubjectsBuilder::new("NL", &[]);
        b.push("email:b@x.nl", b"records/a.eml", None).unwrap();
        b.push("email:a@x.nl", b"tables/orders.csv", Some(7))
            .unwrap();
        b.push("email:a@x.nl", b"tables/orders.csv", Some(3))
            .unwrap();
        b.push("email:a@x.nl", b"records/z.txt", None).unwrap();
        b.push("email:a@x.nl", b"records/z.txt", None).unwrap();
        b.push("email:a@x.nl", b"tables/orders.csv", Some(7))
            .unwrap();
        let mut ids = Vec::new();
        let (mut spool, cov) = b.finish(&mut |id| ids.push(id.to_owned())).unwrap();
        let mut text = String::new();
        spool.reader().unwrap().read_to_string(&mut text).unwrap();
        assert_eq!(
            text,
            "{\"id\":\"email:a@x.nl\",\"path\":\"records/z.txt\"}\n\
             {\"id\":\"email:a@x.nl\",\"path\":\"tables/orders.csv\",\"rows\":[3,7]}\n\
             {\"id\":\"email:b@x.nl\",\"path\":\"records/a.eml\"}\n"
        );
        assert_eq!(ids, ["email:a@x.nl", "email:b@x.nl"]);
        assert_eq!((cov.identifiers, cov.lines), (2, 3));
        for line in text.lines() {
            let parsed = SubjectLine::parse(line).unwrap();
            assert_eq!(parsed.to_json_line(), format!("{line}\n"));
            check(&parsed).unwrap();
        }
    }

    #[test]
    fn spilled_runs_keep_every_occurrence() {
        // Far beyond one in-memory run: the runs are spooled and merged.
        let mut b = SubjectsBuilder {
            occurrences: IndexBuilder::with_run_bytes(4_000),
            coverage: Coverage::default(),
        };
        let n = 3_000u64;
        for i in (0..n).rev() {
            b.push(&format!("email:k{i}@x.nl"), b"tables/t.csv", Some(i + 1))
                .unwrap();
            b.push("email:all@x.nl", b"records/\n\x0a.txt", None)
                .unwrap();
        }
        let mut ids = Vec::new();
        let (mut spool, cov) = b.finish(&mut |id| ids.push(id.to_owned())).unwrap();
        assert_eq!(cov.identifiers, n + 1);
        assert_eq!(ids.len() as u64, n + 1);
        let mut text = String::new();
        spool.reader().unwrap().read_to_string(&mut text).unwrap();
        let lines: Vec<SubjectLine> = text
            .lines()
            .map(|l| SubjectLine::parse(l).unwrap())
            .collect();
        assert_eq!(lines.len() as u64, n + 1);
        assert!(lines.windows(2).all(|w| w[0].key < w[1].key));
        assert_eq!(lines[0].id, "email:all@x.nl");
        assert_eq!(lines[0].path, b"records/\n\n.txt");
        for l in &lines[1..] {
            let i: u64 = l.id["email:k".len()..l.id.len() - "@x.nl".len()]
                .parse()
                .unwrap();
            assert_eq!(l.rows, [i + 1]);
        }
    }

    #[test]
    fn many_rows_take_several_lines() {
        let mut b = SubjectsBuilder::new("NL", &[]);
        for row in 1..=(ROWS_PER_LINE as u64 * 2 + 5) {
            b.push("iban:NL91ABNA0417164300", b"tables/t.csv", Some(row))
                .unwrap();
        }
        let (mut spool, cov) = b.finish(&mut |_| {}).unwrap();
        assert_eq!((cov.identifiers, cov.lines), (1, 3));
        let mut text = String::new();
        spool.reader().unwrap().read_to_string(&mut text).unwrap();
        let rows: Vec<u64> = text
            .lines()
            .flat_map(|l| SubjectLine::parse(l).unwrap().rows)
            .collect();
        assert_eq!(
            rows,
            (1..=(ROWS_PER_LINE as u64 * 2 + 5)).collect::<Vec<_>>()
        );
    }

    #[test]
    fn lines_that_cannot_be_true_are_refused() {
        let bad = [
            r#"{"id":"email:a@x.nl","path":"kluis/manifest.jsonl"}"#,
            r#"{"id":"email:a@x.nl","path":"tables/t.csv","rows":[3,2]}"#,
            r#"{"id":"email:a@x.nl","path":"tables/t.csv","rows":[0]}"#,
        ];
        for line in bad {
            let parsed = SubjectLine::parse(line).unwrap();
            assert!(check(&parsed).is_err(), "{line}");
        }
        assert!(SubjectLine::parse(r#"{"id":"","path":"records/a"}"#).is_err());
        assert!(SubjectLine::parse(r#"{"id":"x","path":"records/a","extra":1}"#).is_err());
    }
}
