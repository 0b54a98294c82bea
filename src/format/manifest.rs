//! The manifest: one entry per record with its hash and position, rendered
//! as JSON Lines (`kluis/manifest.jsonl`) and as `sha256sum` lines
//! (`kluis/SHA256SUMS`).

use std::borrow::Cow;

use serde::{Deserialize, Serialize};

/// What a record is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    File,
    Dir,
    Symlink,
}

/// One record as the manifest describes it. Paths are raw bytes (record
/// names need not be UTF-8); JSON carries them as `path` or `path_hex`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    pub path: Vec<u8>,
    pub kind: Kind,
    pub size: u64,
    pub mode: u32,
    pub mtime: i64,
    pub mtime_nsec: u32,
    pub sha256: Option<[u8; 32]>,
    pub target: Option<Vec<u8>>,
    pub offset: u64,
    pub data_offset: u64,
}

// Text fields borrow from the line when they hold no JSON escapes: parsing
// a manifest of 35,000 lines is most of what `list` and a one-record
// restore do.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Line<'a> {
    #[serde(borrow, skip_serializing_if = "Option::is_none")]
    path: Option<Cow<'a, str>>,
    #[serde(borrow, skip_serializing_if = "Option::is_none")]
    path_hex: Option<Cow<'a, str>>,
    #[serde(rename = "type")]
    kind: Kind,
    size: u64,
    mode: u32,
    mtime: i64,
    #[serde(default, skip_serializing_if = "is_zero")]
    mtime_nsec: u32,
    #[serde(borrow, skip_serializing_if = "Option::is_none")]
    sha256: Option<Cow<'a, str>>,
    #[serde(borrow, skip_serializing_if = "Option::is_none")]
    target: Option<Cow<'a, str>>,
    #[serde(borrow, skip_serializing_if = "Option::is_none")]
    target_hex: Option<Cow<'a, str>>,
    offset: u64,
    data_offset: u64,
}

/// A record's name and type: what `kluis list` prints.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Name {
    pub path: Vec<u8>,
    pub kind: Kind,
}

// The other fields of the line are skipped unparsed.
#[derive(Deserialize)]
struct NameLine<'a> {
    #[serde(borrow)]
    path: Option<Cow<'a, str>>,
    #[serde(borrow)]
    path_hex: Option<Cow<'a, str>>,
    #[serde(rename = "type")]
    kind: Kind,
}

impl Name {
    /// Parses the name and type of one JSON line (a well-formed line; the
    /// other fields are not checked).
    pub fn from_json_line(text: &str) -> Result<Name, String> {
        if let Some(name) = Self::from_plain_line(text) {
            return Ok(name);
        }
        let line: NameLine = serde_json::from_str(text).map_err(|e| e.to_string())?;
        Ok(Name {
            path: join_name(line.path, line.path_hex, "path")?,
            kind: line.kind,
        })
    }

    /// kluis writes every line as `{"path":"…","type":"…",…}`; when the
    /// path needs no JSON escape, name and type are read without a JSON
    /// parser (`list` of 35,000 records spends most of its time parsing).
    /// Any other line goes to serde.
    fn from_plain_line(text: &str) -> Option<Name> {
        let rest = text.strip_prefix(r#"{"path":""#)?;
        let end = memchr::memchr(b'"', rest.as_bytes())?;
        let path = &rest[..end];
        if path.bytes().any(|b| b == b'\\' || b < 0x20) || !text.ends_with('}') {
            return None;
        }
        let rest = rest[end..].strip_prefix(r#"","type":""#)?;
        let kind = if rest.starts_with("file\"") {
            Kind::File
        } else if rest.starts_with("dir\"") {
            Kind::Dir
        } else if rest.starts_with("symlink\"") {
            Kind::Symlink
        } else {
            return None;
        };
        Some(Name {
            path: path.as_bytes().to_vec(),
            kind,
        })
    }
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

/// Lowercase hex of bytes.
pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(DIGITS[usize::from(b >> 4)] as char);
        s.push(DIGITS[usize::from(b & 15)] as char);
    }
    s
}

/// Parses hex (either case); `None` when malformed.
pub fn unhex(s: &str) -> Option<Vec<u8>> {
    let s = s.as_bytes();
    if !s.len().is_multiple_of(2) {
        return None;
    }
    s.chunks_exact(2)
        .map(|pair| Some(nibble(pair[0])? << 4 | nibble(pair[1])?))
        .collect()
}

/// Parses 64 hex digits into a SHA-256.
fn unhex_sha256(s: &str) -> Option<[u8; 32]> {
    let s = s.as_bytes();
    if s.len() != 64 {
        return None;
    }
    let mut out = [0u8; 32];
    for (o, pair) in out.iter_mut().zip(s.chunks_exact(2)) {
        *o = nibble(pair[0])? << 4 | nibble(pair[1])?;
    }
    Some(out)
}

fn nibble(digit: u8) -> Option<u8> {
    match digit {
        b'0'..=b'9' => Some(digit - b'0'),
        b'a'..=b'f' => Some(digit - b'a' + 10),
        b'A'..=b'F' => Some(digit - b'A' + 10),
        _ => None,
    }
}

pub(crate) fn split_name(bytes: &[u8]) -> (Option<Cow<'_, str>>, Option<Cow<'_, str>>) {
    match std::str::from_utf8(bytes) {
        Ok(s) => (Some(Cow::Borrowed(s)), None),
        Err(_) => (None, Some(Cow::Owned(hex(bytes)))),
    }
}

pub(crate) fn join_name(
    text: Option<Cow<'_, str>>,
    hexed: Option<Cow<'_, str>>,
    what: &str,
) -> Result<Vec<u8>, String> {
    match (text, hexed) {
        (Some(s), None) => Ok(s.into_owned().into_bytes()),
        (None, Some(h)) => unhex(&h).ok_or_else(|| format!("{what}_hex is not hex")),
        _ => Err(format!(
            "exactly one of {what} and {what}_hex must be given"
        )),
    }
}

impl Entry {
    /// The path as text for people (lossy for non-UTF-8 names).
    pub fn display_path(&self) -> String {
        String::from_utf8_lossy(&self.path).into_owned()
    }

    /// One JSON line, without the newline.
    pub fn to_json_line(&self) -> String {
        let (path, path_hex) = split_name(&self.path);
        let (target, target_hex) = match &self.target {
            Some(t) => split_name(t),
            None => (None, None),
        };
        let line = Line {
            path,
            path_hex,
            kind: self.kind,
            size: self.size,
            mode: self.mode,
            mtime: self.mtime,
            mtime_nsec: self.mtime_nsec,
            sha256: self.sha256.map(|h| Cow::Owned(hex(&h))),
            target,
            target_hex,
            offset: self.offset,
            data_offset: self.data_offset,
        };
        serde_json::to_string(&line).expect("manifest lines always serialise")
    }

    /// Parses one JSON line and checks it is self-consistent.
    pub fn from_json_line(text: &str) -> Result<Entry, String> {
        let line: Line = serde_json::from_str(text).map_err(|e| e.to_string())?;
        let path = join_name(line.path, line.path_hex, "path")?;
        let target = match (line.target, line.target_hex) {
            (None, None) => None,
            (t, h) => Some(join_name(t, h, "target")?),
        };
        let sha256 = match line.sha256 {
            Some(h) => Some(unhex_sha256(&h).ok_or("sha256 is not 64 hex digits")?),
            None => None,
        };
        match line.kind {
            Kind::File if sha256.is_none() => return Err("a file needs a sha256".into()),
            Kind::Symlink if target.is_none() => return Err("a symlink needs a target".into()),
            _ => {}
        }
        if line.mtime_nsec >= 1_000_000_000 || line.data_offset < line.offset {
            return Err("mtime_nsec or data_offset out of range".into());
        }
        Ok(Entry {
            path,
            kind: line.kind,
            size: line.size,
            mode: line.mode,
            mtime: line.mtime,
            mtime_nsec: line.mtime_nsec,
            sha256,
            target,
            offset: line.offset,
            data_offset: line.data_offset,
        })
    }

    /// The `sha256sum` line for a file (with the newline), `None` otherwise.
    pub fn sha256sum_line(&self) -> Option<Vec<u8>> {
        let hash = self.sha256.filter(|_| self.kind == Kind::File)?;
        Some(sha256sum_line(&hash, &self.path))
    }
}

/// A line in GNU `sha256sum` format. Names holding `\`, a newline or a
/// carriage return are escaped as coreutils does, with a leading `\`.
pub fn sha256sum_line(hash: &[u8; 32], name: &[u8]) -> Vec<u8> {
    let escape = name.iter().any(|&b| b == b'\\' || b == b'\n' || b == b'\r');
    let mut line = Vec::with_capacity(name.len() + 68);
    if escape {
        line.push(b'\\');
    }
    line.extend_from_slice(hex(hash).as_bytes());
    line.extend_from_slice(b"  ");
    for &b in name {
        match b {
            b'\\' if escape => line.extend_from_slice(b"\\\\"),
            b'\n' if escape => line.extend_from_slice(b"\\n"),
            b'\r' if escape => line.extend_from_slice(b"\\r"),
            _ => line.push(b),
        }
    }
    line.push(b'\n');
    line
}

/// Writes `name` as [`escape_name`] shows it. Names of printable ASCII
/// without a backslash (nearly all) need no escaping and are written as
/// they are, which keeps `kluis list` of a large year fast.
pub fn write_escaped_name(out: &mut impl std::io::Write, name: &[u8]) -> std::io::Result<()> {
    if name
        .iter()
        .all(|&b| (0x20..0x7f).contains(&b) && b != b'\\')
    {
        out.write_all(name)
    } else {
        out.write_all(escape_name(name).as_bytes())
    }
}

/// A name as one unambiguous line of text, escaped as GNU `ls
/// --quoting-style=escape` (`ls -b`) does, spaces aside: `\\` for a
/// backslash, `\n`, `\t`, `\r`, `\a`, `\b`, `\f`, `\v`, and `\ooo` (octal)
/// for any other control character and for each byte that is not UTF-8.
pub fn escape_name(name: &[u8]) -> String {
    let mut out = String::with_capacity(name.len());
    for chunk in name.utf8_chunks() {
        for c in chunk.valid().chars() {
            match c {
                '\\' => out.push_str("\\\\"),
                '\n' => out.push_str("\\n"),
                '\t' => out.push_str("\\t"),
                '\r' => out.push_str("\\r"),
                '\u{7}' => out.push_str("\\a"),
                '\u{8}' => out.push_str("\\b"),
                '\u{c}' => out.push_str("\\f"),
                '\u{b}' => out.push_str("\\v"),
                c if c.is_control() => {
                    for b in c.to_string().bytes() {
                        out.push_str(&format!("\\{b:03o}"));
                    }
                }
                c => out.push(c),
            }
        }
        for b in chunk.invalid() {
            out.push_str(&format!("\\{b:03o}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(path: &[u8]) -> Entry {
        Entry {
            path: path.to_vec(),
            kind: Kind::File,
            size: 3,
            mode: 0o644,
            mtime: 1_546_300_800,
            mtime_nsec: 5,
            sha256: Some([0xab; 32]),
            target: None,
            offset: 1024,
            data_offset: 2048,
        }
    }

    #[test]
    fn json_round_trip_utf8_and_binary_names() {
        for path in [
            &b"records/Caf\xc3\xa9 bon.pdf"[..],
            b"records/\xff\xfe-latin1",
        ] {
            let e = file(path);
            let line = e.to_json_line();
            assert!(!line.contains('\n'));
            assert_eq!(Entry::from_json_line(&line).unwrap(), e);
        }
        assert!(file(b"records/\xff").to_json_line().contains("path_hex"));
        let link = Entry {
            kind: Kind::Symlink,
            sha256: None,
            target: Some(b"../x".to_vec()),
            size: 0,
            ..file(b"records/l")
        };
        assert_eq!(Entry::from_json_line(&link.to_json_line()).unwrap(), link);
    }

    #[test]
    fn names_parse_from_full_lines() {
        for e in [
            file(b"records/a b.pdf"),
            file(b"records/\xff"),
            Entry {
                kind: Kind::Dir,
                sha256: None,
                ..file(b"records/d")
            },
        ] {
            let name = Name::from_json_line(&e.to_json_line()).unwrap();
            assert_eq!((name.path, name.kind), (e.path.clone(), e.kind));
        }
        assert!(Name::from_json_line(r#"{"type":"file"}"#).is_err());
        // The fast path and serde agree on what they both read; lines the
        // fast path does not take go to serde.
        for line in [
            file(b"records/plain.pdf").to_json_line(),
            file(b"records/quote\"d \\ back\tslash").to_json_line(),
            file(b"records/Caf\xc3\xa9").to_json_line(),
            Entry {
                kind: Kind::Symlink,
                sha256: None,
                target: Some(b"x".to_vec()),
                ..file(b"records/l")
            }
            .to_json_line(),
            r#"{"type":"dir","path":"records/d","size":0,"mode":493,"mtime":0,"offset":0,"data_offset":0}"#.into(),
        ] {
            let line_parsed: NameLine = serde_json::from_str(&line).unwrap();
            let by_serde = Name {
                path: join_name(line_parsed.path, line_parsed.path_hex, "path").unwrap(),
                kind: line_parsed.kind,
            };
            assert_eq!(Name::from_json_line(&line).unwrap(), by_serde, "{line}");
            if let Some(fast) = Name::from_plain_line(&line) {
                assert_eq!(fast, by_serde, "{line}");
            }
        }
        assert!(Name::from_plain_line(&file(b"records/plain.pdf").to_json_line()).is_some());
        assert!(Name::from_plain_line(&file(b"records/a\\b").to_json_line()).is_none());
        assert!(Name::from_plain_line(r#"{"path":"a","type":"file""#).is_none());
        assert!(Name::from_plain_line(r#"{"path":"a","type":"fileX"}"#).is_none());
        assert!(Name::from_json_line(r#"{"path":"a","type":"file""#).is_err());
    }

    #[test]
    fn rejects_inconsistent_lines() {
        for bad in [
            r#"{"type":"file","size":1,"mode":420,"mtime":0,"offset":0,"data_offset":0}"#,
            r#"{"path":"a","type":"file","size":1,"mode":420,"mtime":0,"offset":0,"data_offset":0}"#,
            r#"{"path":"a","type":"symlink","size":0,"mode":420,"mtime":0,"offset":0,"data_offset":0}"#,
            r#"{"path":"a","type":"dir","size":0,"mode":420,"mtime":0,"offset":9,"data_offset":0}"#,
            r#"{"path":"a","type":"dir","size":0,"mode":420,"mtime":0,"offset":0,"data_offset":0,"x":1}"#,
            r#"{"path":"a","type":"file","size":1,"mode":420,"mtime":0,"sha256":"zz","offset":0,"data_offset":0}"#,
            "not json",
        ] {
            assert!(Entry::from_json_line(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn sha256sum_lines_escape_like_coreutils() {
        let h = [0u8; 32];
        let zeros = "0".repeat(64);
        assert_eq!(
            sha256sum_line(&h, b"records/a b"),
            format!("{zeros}  records/a b\n").into_bytes()
        );
        assert_eq!(
            sha256sum_line(&h, b"records/a\\b\nc"),
            format!("\\{zeros}  records/a\\\\b\\nc\n").into_bytes()
        );
    }

    #[test]
    fn names_escape_like_ls_b() {
        for (name, shown) in [
            (&b"records/a b/caf\xc3\xa9.txt"[..], "records/a b/café.txt"),
            (b"records/line\nbreak\ttab", "records/line\\nbreak\\ttab"),
            (b"records/back\\slash", "records/back\\\\slash"),
            (b"records/caf\xe9", "records/caf\\351"),
            (b"records/\x01\x7f\x07\r", "records/\\001\\177\\a\\r"),
            (b"records/\xc2\x85", "records/\\302\\205"),
            (b"records/-leading-dash", "records/-leading-dash"),
        ] {
            assert_eq!(escape_name(name), shown);
            let mut written = Vec::new();
            write_escaped_name(&mut written, name).unwrap();
            assert_eq!(written, shown.as_bytes());
        }
    }

    #[test]
    fn hex_round_trip() {
        assert_eq!(hex(&[0, 15, 255]), "000fff");
        assert_eq!(unhex("000fFF"), Some(vec![0, 15, 255]));
        assert_eq!(unhex("abc"), None);
        assert_eq!(unhex("zz"), None);
        assert_eq!(unhex("0g"), None);
        let digest = [0xa5u8; 32];
        assert_eq!(unhex_sha256(&hex(&digest)), Some(digest));
        assert_eq!(unhex_sha256(&hex(&digest).to_uppercase()), Some(digest));
        assert_eq!(unhex_sha256(&hex(&digest[..31])), None);
    }
}
