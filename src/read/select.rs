//! Which records a command is about (`Selection`: all, or glob patterns),
//! and finding them: through the path index (docs/FORMAT.md §4.5) when the
//! archive has one and every pattern has a literal start, else by reading
//! the manifest.

use std::collections::HashSet;

use crate::error::{Error, Result};
use crate::format::RECORDS_PREFIX;
use crate::format::manifest::{Entry, Kind, Name};
use crate::format::pathindex::{PATHS_MEMBER, PathIndex, PathRange, normalise};
use crate::format::reader::{ArchiveReader, ManifestLines};
use crate::format::seektable::{self, Frame};

/// Which records a command is about: all, or those matching glob patterns.
pub struct Selection {
    patterns: Vec<Pattern>,
}

enum Pattern {
    /// No glob characters: compared as text, and looked for in manifest
    /// lines before they are parsed.
    Literal(String),
    Glob(Glob),
}

/// A glob pattern with what every match must start with: the text before
/// its first `*`, `?` or `[`. A candidate without that start is refused
/// without the glob (it is a prefix of every string the glob is tried on),
/// and a pattern that is that start and one `*` (`invoices/2019/03/*`: a
/// star matches `/` here) matches whatever has the start, also without
/// it: listing a month of a million records tried the glob seven times
/// per name, a quarter of the command's time.
struct Glob {
    pattern: glob::Pattern,
    start: String,
    star_only: bool,
}

impl Glob {
    fn new(text: &str) -> std::result::Result<Glob, glob::PatternError> {
        let pattern = glob::Pattern::new(text)?;
        let start = &text[..text.find(['*', '?', '[']).unwrap_or(text.len())];
        Ok(Glob {
            star_only: &text[start.len()..] == "*",
            start: start.to_owned(),
            pattern,
        })
    }

    fn matches(&self, candidate: &str) -> bool {
        if !candidate.starts_with(&self.start) {
            return false;
        }
        if self.star_only {
            return true;
        }
        let options = glob::MatchOptions {
            require_literal_separator: false,
            ..Default::default()
        };
        let p = &self.pattern;
        p.matches_with(candidate, options)
            || candidate
                .char_indices()
                .filter(|(i, c)| *c == '/' && *i >= self.start.len())
                .any(|(i, _)| p.matches_with(&candidate[..i], options))
    }
}

impl Pattern {
    fn matches(&self, candidate: &str) -> bool {
        match self {
            // A folder selects what is in it.
            Pattern::Literal(p) => candidate
                .strip_prefix(p.as_str())
                .is_some_and(|rest| rest.is_empty() || rest.starts_with('/')),
            Pattern::Glob(g) => g.matches(candidate),
        }
    }
}

impl Selection {
    /// Patterns match the whole member path (`records/invoices/*.pdf`) or
    /// the path below `records/` (`invoices/*.pdf`); a folder selects what
    /// is in it.
    pub fn new(patterns: &[String]) -> Result<Self> {
        let patterns = patterns
            .iter()
            .map(|p| {
                let p = p.trim_end_matches('/');
                if p.contains(['*', '?', '[']) {
                    Glob::new(p)
                        .map(Pattern::Glob)
                        .map_err(|e| Error::Usage(format!("bad pattern {p:?}: {e}")))
                } else {
                    Ok(Pattern::Literal(p.to_owned()))
                }
            })
            .collect::<Result<_>>()?;
        Ok(Selection { patterns })
    }

    /// The ranges of member paths that can hold a selected record, for a
    /// lookup in the path index; `None` when the selection is all or a
    /// pattern has no literal start (`*.pdf`): then every record is read.
    pub fn index_ranges(&self) -> Option<Vec<PathRange>> {
        if self.patterns.is_empty() {
            return None;
        }
        let mut ranges = Vec::new();
        for p in &self.patterns {
            let (text, start, literal) = match p {
                Pattern::Literal(t) => (t.as_str(), t.as_str(), true),
                Pattern::Glob(g) => (g.pattern.as_str(), g.start.as_str(), false),
            };
            // Names that are not UTF-8 are matched through their lossy
            // text, which the index does not sort by.
            if text.contains('\u{fffd}') {
                return None;
            }
            if start.is_empty() {
                return None;
            }
            // As the whole member path, and as the path below `records/`.
            for base in ["", RECORDS_PREFIX] {
                if literal {
                    let path = format!("{base}{text}");
                    ranges.push(PathRange::exact(path.as_bytes()));
                    ranges.push(PathRange::prefix(format!("{path}/").as_bytes()));
                } else {
                    ranges.push(PathRange::prefix(format!("{base}{start}").as_bytes()));
                }
            }
        }
        Some(normalise(ranges))
    }

    pub fn is_all(&self) -> bool {
        self.patterns.is_empty()
    }

    pub fn matches(&self, path: &[u8]) -> bool {
        if self.patterns.is_empty() {
            return true;
        }
        let text = String::from_utf8_lossy(path);
        let short = text.strip_prefix(RECORDS_PREFIX).unwrap_or(&text);
        self.patterns
            .iter()
            .any(|p| p.matches(&text) || p.matches(short))
    }

    /// Skips the manifest lines that cannot match (none when the selection
    /// is all); check each record left with [`Selection::matches`].
    pub fn prefilter<'a, T>(&self, lines: ManifestLines<'a, T>) -> ManifestLines<'a, T> {
        match self.line_filter() {
            Some(keep) => lines.prefilter(keep),
            None => lines,
        }
    }

    /// A cheap test of a manifest line before it is parsed: `false` only
    /// for lines whose record cannot match. When every pattern is literal,
    /// a matching record's JSON line holds the pattern verbatim (JSON
    /// escapes only `"`, `\` and control characters), unless its name is
    /// stored as `path_hex`.
    pub fn line_filter(&self) -> Option<impl Fn(&[u8]) -> bool + use<>> {
        let mut finders = Vec::new();
        for p in &self.patterns {
            match p {
                Pattern::Literal(text)
                    if !text.bytes().any(|b| b == b'"' || b == b'\\' || b < 0x20) =>
                {
                    finders.push(memchr::memmem::Finder::new(text.as_bytes()).into_owned());
                }
                _ => return None,
            }
        }
        if finders.is_empty() {
            return None;
        }
        let hexed = memchr::memmem::Finder::new(b"\"path_hex\"").into_owned();
        Some(move |line: &[u8]| {
            finders.iter().any(|f| f.find(line).is_some()) || hexed.find(line).is_some()
        })
    }
}

/// What a lookup through the path index gave.
#[derive(Debug)]
pub enum Lookup {
    /// Every selected record went to `each`, in path order.
    Done,
    /// The archive has no path index, or the selection needs every record:
    /// read the manifest.
    NoIndex,
    /// The index could not be used (damaged, or not what it should be):
    /// read the manifest, and say why (see [`fallback_note`]).
    Unusable(Error),
}

/// Looks `selection` up in the archive's path index: calls `each` with
/// every selected record, in path order, until it returns `false`.
/// Decrypts only the index frames a binary search probes and those that
/// hold the selected names.
pub fn through_index(
    reader: &mut ArchiveReader,
    selection: &Selection,
    each: &mut dyn FnMut(Entry) -> bool,
) -> Lookup {
    lookup(reader, selection, each, |e| &e.path, PathIndex::scan)
}

/// [`through_index`] for names and types only (`list` without `--json`),
/// parsing no more of each index line.
pub fn names_through_index(
    reader: &mut ArchiveReader,
    selection: &Selection,
    each: &mut dyn FnMut(Name) -> bool,
) -> Lookup {
    lookup(reader, selection, each, |n| &n.path, PathIndex::scan_names)
}

/// The index lookup of both: `scan` reads the lines as `T`.
fn lookup<T>(
    reader: &mut ArchiveReader,
    selection: &Selection,
    each: &mut dyn FnMut(T) -> bool,
    path: fn(&T) -> &[u8],
    scan: impl FnOnce(
        &PathIndex,
        &mut ArchiveReader,
        &[PathRange],
        &mut dyn FnMut(T) -> bool,
    ) -> Result<()>,
) -> Lookup {
    let Some(ranges) = selection.index_ranges() else {
        return Lookup::NoIndex;
    };
    let index = match PathIndex::open(reader) {
        Ok(Some(index)) => index,
        Ok(None) => return Lookup::NoIndex,
        Err(e) => return Lookup::Unusable(e),
    };
    let mut selected = |line: T| !selection.matches(path(&line)) || each(line);
    match scan(&index, reader, &ranges, &mut selected) {
        Ok(()) => Lookup::Done,
        Err(e) => Lookup::Unusable(e),
    }
}

/// The warning for a path index that could not be used.
pub fn fallback_note(e: &Error) -> String {
    format!(
        "the path index could not be used, so the records were looked up in the manifest: {e}; `kluis verify -i` checks the whole archive"
    )
}

/// The selected records through the path index (at most `limit`), in
/// tar order, each
/// checked against its member's headers; `None` to read the manifest
/// instead (no index, more records than are held in memory, or an index
/// that cannot be used, with a note saying why).
pub(crate) fn from_index(
    reader: &mut ArchiveReader,
    selection: &Selection,
    limit: usize,
) -> (Option<Vec<Entry>>, Option<String>) {
    let mut list = Vec::new();
    let mut too_many = false;
    let lookup = through_index(reader, selection, &mut |entry| {
        if list.len() == limit {
            too_many = true;
            return false;
        }
        list.push(entry);
        true
    });
    match lookup {
        Lookup::Done if !too_many => {}
        Lookup::Done | Lookup::NoIndex => return (None, None),
        Lookup::Unusable(e) => return (None, Some(fallback_note(&e))),
    }
    // In tar order: the frames are then read once each, in order. A
    // record alone in its frame is read as a stream, up to its content,
    // where its restore goes on (see `ArchiveReader::stream_from`).
    list.sort_by_key(|e| e.offset);
    let alone = alone_in_frame(reader.frames(), &list);
    for (entry, stream) in list.iter().zip(alone) {
        if let Err(why) = is_member_at(reader, entry, stream) {
            let e = Error::Damaged {
                path: reader.path().into(),
                detail: format!("{PATHS_MEMBER}: {why}"),
            };
            return (None, Some(fallback_note(&e)));
        }
    }
    (Some(list), None)
}

/// Whether the member at `entry.offset` is the record the entry describes
/// (a path index entry is trusted no further than this and the SHA-256).
fn is_member_at(
    reader: &mut ArchiveReader,
    entry: &Entry,
    stream: bool,
) -> std::result::Result<(), String> {
    let found = match stream {
        true => reader.member_at_streaming(entry.offset),
        false => reader.member_at(entry.offset),
    };
    let (path, header, data) = found.map_err(|e| e.to_string())?;
    let kind = match header.entry_type() {
        tar::EntryType::Regular => Some(Kind::File),
        tar::EntryType::Directory => Some(Kind::Dir),
        tar::EntryType::Symlink => Some(Kind::Symlink),
        _ => None,
    };
    let size_ok = entry.kind != Kind::File || header.entry_size().ok() == Some(entry.size);
    if path != entry.path || data != entry.data_offset || kind != Some(entry.kind) || !size_ok {
        return Err(format!(
            "its entry for {} does not match the member at tar offset {}",
            entry.display_path(),
            entry.offset
        ));
    }
    Ok(())
}

/// For each of `entries`, whether the frame its member starts in holds
/// nothing else of `entries` (headers or content): such a frame is best
/// decoded as a stream, only up to the record (see
/// `ArchiveReader::stream_from`); a frame several of them share, whole
/// and once.
pub(crate) fn alone_in_frame(frames: &[Frame], entries: &[Entry]) -> Vec<bool> {
    let span = |e: &Entry| {
        let end = e.data_offset + e.size.saturating_sub(1);
        let first = seektable::frame_at(frames, e.offset)?;
        Some((first, seektable::frame_at(frames, end.max(e.offset))?))
    };
    let mut seen = HashSet::new();
    let mut shared = HashSet::new();
    for (first, last) in entries.iter().filter_map(span) {
        for f in first..=last {
            if !seen.insert(f) {
                shared.insert(f);
            }
        }
    }
    entries
        .iter()
        .map(|e| span(e).is_some_and(|(first, _)| !shared.contains(&first)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::manifest::Kind;

    #[test]
    fn selection() {
        let s = Selection::new(&["invoices/*.pdf".into(), "records/ledger".into()]).unwrap();
        assert!(s.matches(b"records/invoices/INV-1.pdf"));
        assert!(s.matches(b"records/ledger/2019.csv"));
        assert!(!s.matches(b"records/receipts/a.jpg"));
        assert!(Selection::new(&[]).unwrap().matches(b"anything"));
        assert!(
            Selection::new(&["*INV-2019-000123*".into()])
                .unwrap()
                .matches(b"records/invoices/INV-2019-000123.pdf")
        );
    }

    #[test]
    fn literal_patterns_match_like_globs() {
        let paths: [&[u8]; 7] = [
            b"records/invoices",
            b"records/invoices/INV-1.pdf",
            b"records/invoices-old/INV-1.pdf",
            b"records/invoice",
            b"tables/orders/2019.csv",
            b"records/Caf\xc3\xa9/bon.pdf",
            b"records/\xff.bin",
        ];
        for pattern in [
            "invoices",
            "invoices/",
            "records/invoices/INV-1.pdf",
            "invoice",
            "tables/orders",
            "orders",
            "Café",
            "records",
        ] {
            let literal = Selection::new(&[pattern.into()]).unwrap();
            assert!(matches!(literal.patterns[0], Pattern::Literal(_)));
            let glob = Selection {
                patterns: vec![Pattern::Glob(
                    Glob::new(pattern.trim_end_matches('/')).unwrap(),
                )],
            };
            for path in paths {
                assert_eq!(
                    literal.matches(path),
                    glob.matches(path),
                    "{pattern} on {}",
                    String::from_utf8_lossy(path)
                );
            }
        }
    }

    /// The shortcuts (a candidate without the pattern's literal start, a
    /// pattern that is its start and one star) decide as the glob itself
    /// does, a folder selecting what is in it.
    #[test]
    fn glob_shortcuts_match_like_the_glob() {
        let plain = |p: &glob::Pattern, c: &str| {
            let options = glob::MatchOptions {
                require_literal_separator: false,
                ..Default::default()
            };
            p.matches_with(c, options)
                || (c.char_indices())
                    .filter(|(_, ch)| *ch == '/')
                    .any(|(i, _)| p.matches_with(&c[..i], options))
        };
        let candidates = [
            "",
            "invoices",
            "invoices/",
            "invoices/2019",
            "invoices/2019/03",
            "invoices/2019/03/",
            "invoices/2019/03/01/INV-1.pdf",
            "invoices/2019/030/INV-1.pdf",
            "invoices/2019/04/INV-1.pdf",
            "records/invoices/2019/03/01/INV-1.pdf",
            "invoices/2019/03/.hidden",
            "Café/bon.pdf",
            "Caf",
        ];
        for text in [
            "invoices/2019/03/*",
            "invoices/2019/03*",
            "invoices/*/03/*",
            "invoices/2019/0?/*.pdf",
            "invoices/2019/[0-3]*",
            "*",
            "*.pdf",
            "Caf*",
            "Café/*",
            "invoices/2019/03/**",
            "invoices/2019/03/*/",
        ] {
            let g = Glob::new(text).unwrap();
            let p = glob::Pattern::new(text).unwrap();
            for c in candidates {
                assert_eq!(g.matches(c), plain(&p, c), "{text} on {c}");
            }
        }
        assert!(Glob::new("invoices/2019/03/*").unwrap().star_only);
        assert!(!Glob::new("invoices/*/03/*").unwrap().star_only);
    }

    #[test]
    fn line_filter_keeps_every_line_that_may_match() {
        let entry = |path: &[u8]| Entry {
            path: path.to_vec(),
            kind: Kind::File,
            size: 1,
            mode: 0o644,
            mtime: 0,
            mtime_nsec: 0,
            sha256: Some([0; 32]),
            target: None,
            offset: 0,
            data_offset: 512,
        };
        let s = Selection::new(&["invoices/INV-1.pdf".into(), "Café".into()]).unwrap();
        let keep = s.line_filter().expect("literal patterns filter");
        for (path, kept) in [
            (&b"records/invoices/INV-1.pdf"[..], true),
            (b"records/Caf\xc3\xa9/bon.pdf", true),
            (b"records/invoices/INV-2.pdf", false),
            // A name that is not UTF-8 is stored as hex: always parsed.
            (b"records/\xff.bin", true),
        ] {
            let line = entry(path).to_json_line();
            assert_eq!(keep(line.as_bytes()), kept, "{line}");
            if !kept {
                assert!(!s.matches(path));
            }
        }
        // Globs, and characters JSON escapes, are not pre-filtered.
        assert!(
            Selection::new(&["*.pdf".into()])
                .unwrap()
                .line_filter()
                .is_none()
        );
        assert!(
            Selection::new(&["a\"b".into()])
                .unwrap()
                .line_filter()
                .is_none()
        );
        assert!(Selection::new(&[]).unwrap().line_filter().is_none());
    }

    #[test]
    fn index_ranges_hold_every_match() {
        let paths: [&[u8]; 12] = [
            b"records/invoices",
            b"records/invoices/INV-1.pdf",
            b"records/invoices/2019/03/a.pdf",
            b"records/invoices-old/INV-1.pdf",
            b"records/invoices.txt",
            b"records/invoice",
            b"records/records/x",
            b"tables/orders/2019.csv",
            b"records/Caf\xc3\xa9/bon.pdf",
            b"records/a\tb/c\nd",
            b"records/\xff.bin",
            b"records/\xff",
        ];
        for pattern in [
            "invoices",
            "invoices/",
            "records/invoices/INV-1.pdf",
            "invoice",
            "invoices/2019/03/*",
            "invoices/*.pdf",
            "invoices?old/*",
            "invoices[-.]*",
            "tables/orders",
            "orders",
            "Café",
            "records",
            "a\tb/c\nd",
        ] {
            let s = Selection::new(&[pattern.into()]).unwrap();
            let ranges = s.index_ranges().unwrap();
            for path in paths {
                let inside = ranges
                    .iter()
                    .any(|r| *path >= *r.from && r.to.as_ref().is_none_or(|to| path < &to[..]));
                if s.matches(path) {
                    assert!(inside, "{pattern}: {}", String::from_utf8_lossy(path));
                }
            }
        }
        for needs_all in ["*.pdf", "?nvoices", "[a-z]*", "caf\u{fffd}"] {
            assert!(
                Selection::new(&["invoices".into(), needs_all.into()])
                    .unwrap()
                    .index_ranges()
                    .is_none(),
                "{needs_all}"
            );
        }
        assert!(Selection::new(&[]).unwrap().index_ranges().is_none());
    }
}
