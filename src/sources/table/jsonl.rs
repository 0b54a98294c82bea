//! JSON Lines: each line one object, kept as written unless a dropped key
//! must go (then rewritten without it, every other value's text unchanged),
//! and the JSON Lines side of the table pass.

use std::borrow::Cow;
use std::collections::{BTreeSet, HashSet};
use std::fmt;
use std::io::{self, Write};
use std::path::Path;

use serde::Deserialize;
use serde::de::{Deserializer, MapAccess, Visitor};
use serde_json::value::RawValue;

use super::dates::Window;
use super::spec::{Counts, Filtered, TableSpec};
use super::stream::{BOM, open, skip_bom};
use super::{MAX_COLUMNS, MAX_ROW};
use crate::error::{Error, IoContext, Result};
use crate::progress::Progress;
use crate::util::lines::read_line;

/// A JSON object's members in their order, each value as its raw text.
struct Members<'a>(Vec<(Cow<'a, str>, &'a RawValue)>);

struct Key<'a>(Cow<'a, str>);

impl<'de> Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Key<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a key")
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> std::result::Result<Key<'de>, E> {
                Ok(Key(Cow::Borrowed(v)))
            }
            fn visit_str<E>(self, v: &str) -> std::result::Result<Key<'de>, E> {
                Ok(Key(Cow::Owned(v.to_owned())))
            }
        }
        d.deserialize_str(V)
    }
}

impl<'de> Deserialize<'de> for Members<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Members<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(
                self,
                mut map: A,
            ) -> std::result::Result<Members<'de>, A::Error> {
                let mut members = Vec::new();
                while let Some(Key(k)) = map.next_key()? {
                    let v: &'de RawValue = map.next_value()?;
                    members.push((k, v));
                }
                Ok(Members(members))
            }
        }
        d.deserialize_map(V)
    }
}

/// `{"key":value,…}` without the dropped keys; values as they were.
fn write_object(
    out: &mut dyn Write,
    members: &Members<'_>,
    drop: &BTreeSet<String>,
) -> io::Result<()> {
    out.write_all(b"{")?;
    let mut first = true;
    for (k, v) in &members.0 {
        if drop.contains(k.as_ref()) {
            continue;
        }
        if !first {
            out.write_all(b",")?;
        }
        first = false;
        serde_json::to_writer(&mut *out, k.as_ref()).map_err(io::Error::other)?;
        out.write_all(b":")?;
        out.write_all(v.get().as_bytes())?;
    }
    out.write_all(b"}")
}

impl TableSpec {
    pub(super) fn filter_jsonl(
        &self,
        path: &Path,
        window: &Window,
        member: &mut dyn Write,
        mut rest: Option<&mut dyn Write>,
        progress: &dyn Progress,
    ) -> Result<Filtered> {
        let mut input = open(path, progress)?;
        // JSON Lines has no BOM; one is accepted, kept in the source and
        // left out of the archived member.
        if skip_bom(&mut input).at(path)?
            && let Some(r) = rest.as_mut()
        {
            r.write_all(BOM).at(path)?;
        }
        let mut columns: Vec<String> = Vec::new();
        let mut seen: HashSet<String> = HashSet::new();
        let mut counts = Counts::default();
        let mut raw = Vec::new();
        let mut line = 0u64;
        while read_line(&mut input, &mut raw, MAX_ROW).map_err(|e| {
            if e.kind() == io::ErrorKind::InvalidData {
                Error::BadTable {
                    path: path.into(),
                    detail: format!("line {}: {e}", line + 1),
                }
            } else {
                Error::io(path, e)
            }
        })? {
            line += 1;
            let content_len = raw.len()
                - raw
                    .iter()
                    .rev()
                    .take_while(|&&b| b == b'\n' || b == b'\r')
                    .count();
            let (content, terminator) = raw.split_at(content_len);
            if content.iter().all(u8::is_ascii_whitespace) {
                if let Some(r) = rest.as_mut() {
                    r.write_all(&raw).at(path)?;
                }
                continue;
            }
            counts.rows += 1;
            let members: Members<'_> =
                serde_json::from_slice(content).map_err(|e| Error::BadTable {
                    path: path.into(),
                    detail: format!("line {line} is not a JSON object ({e})"),
                })?;
            let mut date_value: Option<&RawValue> = None;
            let mut has_dropped = false;
            for (key, value) in &members.0 {
                if !seen.contains(key.as_ref()) {
                    if seen.len() >= MAX_COLUMNS {
                        return Err(Error::BadTable {
                            path: path.into(),
                            detail: format!("line {line}: more than {MAX_COLUMNS} distinct keys"),
                        });
                    }
                    seen.insert(key.to_string());
                    columns.push(key.to_string());
                }
                has_dropped |= self.drop.contains(key.as_ref());
                if *key == self.date_column {
                    if date_value.is_some() {
                        return Err(Error::BadTable {
                            path: path.into(),
                            detail: format!(
                                "line {line} has {:?} twice, so its date is ambiguous",
                                self.date_column
                            ),
                        });
                    }
                    date_value = Some(value);
                }
            }
            let Some(value) = date_value else {
                return Err(Error::BadTable {
                    path: path.into(),
                    detail: format!("line {line} has no date column {:?}", self.date_column),
                });
            };
            let text: Cow<'_, str> = match value.get().as_bytes().first() {
                Some(b'"') => {
                    Cow::Owned(serde_json::from_str::<String>(value.get()).unwrap_or_default())
                }
                _ => Cow::Borrowed(value.get()),
            };
            let date = self.row_date(|| format!("line {line}"), text.as_bytes())?;
            match window.other_year(date) {
                None => {
                    counts.archived += 1;
                    if has_dropped {
                        write_object(member, &members, &self.drop).at(path)?;
                        member.write_all(terminator).at(path)?;
                    } else {
                        member.write_all(&raw).at(path)?;
                    }
                }
                Some(year) => {
                    *counts.other_years.entry(year).or_default() += 1;
                    if let Some(r) = rest.as_mut() {
                        r.write_all(&raw).at(path)?;
                    }
                }
            }
        }
        let decision = self.decide(&columns)?;
        Ok(Filtered {
            counts,
            columns,
            dropped: decision.dropped,
            kept_sensitive: decision.kept_sensitive,
        })
    }
}
