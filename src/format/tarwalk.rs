//! A guard between an archive's tar stream and the tar crate.
//!
//! The tar crate reads a pax extended header or a GNU long name whole before
//! it yields the member it belongs to, however large the header claims to
//! be. In a damaged or crafted archive a few KiB of zstd can claim
//! gigabytes there (a decompression bomb). kluis writes at most
//! [`MAX_JSON`] of such headers per member, so [`guard`] lets the tar crate
//! read, between two members it yields, the previous member's content plus
//! [`MAX_MEMBER_HEADERS`], and fails the read beyond that.

use std::cell::Cell;
use std::io::{self, Read};
use std::rc::Rc;

use super::MAX_JSON;

/// Most bytes of headers (pax extended header, GNU long names, ustar
/// header and the padding before them) read before a member's content.
pub const MAX_MEMBER_HEADERS: u64 = MAX_JSON + (16 << 10);

/// Wraps `inner`, a tar stream positioned at a member's first header.
/// Hand each member the tar crate yields to [`Allowance::admit`].
pub fn guard<R: Read>(inner: R) -> (Guarded<R>, Allowance) {
    let state = Rc::new(State {
        left: Cell::new(MAX_MEMBER_HEADERS),
        exceeded: Cell::new(false),
    });
    (
        Guarded {
            inner,
            state: state.clone(),
        },
        Allowance(state),
    )
}

struct State {
    left: Cell<u64>,
    exceeded: Cell<bool>,
}

/// The tar stream, failing once the tar crate reads past its allowance.
pub struct Guarded<R> {
    inner: R,
    state: Rc<State>,
}

/// How much more the tar crate may read; shared with its [`Guarded`].
#[derive(Clone)]
pub struct Allowance(Rc<State>);

impl Allowance {
    /// Lets the tar crate read `entry`'s content (as stored: for a GNU
    /// sparse member, its data blocks) and then the next member's headers.
    pub fn admit<R: Read>(&self, entry: &tar::Entry<'_, R>) {
        let header = entry.header();
        let stored = if header.entry_type().is_gnu_sparse() {
            header.entry_size().unwrap_or(0)
        } else {
            entry.size()
        };
        let padded = stored.saturating_add(511) & !511;
        self.0.left.set(padded.saturating_add(MAX_MEMBER_HEADERS));
    }

    /// Whether a read failed because the headers were too large.
    pub fn exceeded(&self) -> bool {
        self.0.exceeded.get()
    }
}

/// What [`Guarded`] reports when the allowance runs out.
pub fn too_large() -> String {
    format!(
        "a tar member's headers are larger than {MAX_MEMBER_HEADERS} bytes \
         (kluis writes at most {MAX_JSON}): the archive is damaged or was not written by kluis"
    )
}

impl<R: Read> Read for Guarded<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let left = self.state.left.get();
        if buf.is_empty() {
            return Ok(0);
        }
        if left == 0 {
            self.state.exceeded.set(true);
            return Err(io::Error::new(io::ErrorKind::InvalidData, too_large()));
        }
        let want = buf.len().min(usize::try_from(left).unwrap_or(usize::MAX));
        let n = self.inner.read(&mut buf[..want])?;
        self.state.left.set(left - n as u64);
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn member(name: &str, data: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        let mut builder = tar::Builder::new(&mut out);
        let mut header = tar::Header::new_ustar();
        header.set_size(data.len() as u64);
        header.set_mode(0o644);
        header.set_entry_type(tar::EntryType::Regular);
        builder
            .append_data(&mut header, name, data)
            .expect("append");
        builder.into_inner().expect("finish");
        out.truncate(out.len() - 1024); // no end-of-archive blocks
        out
    }

    fn pax_header(claimed: u64, actual: usize) -> Vec<u8> {
        let mut header = tar::Header::new_ustar();
        header.set_path("PaxHeaders/x").expect("path");
        header.set_entry_type(tar::EntryType::XHeader);
        header.set_size(claimed);
        header.set_mode(0o644);
        header.set_cksum();
        let mut out = header.as_bytes().to_vec();
        out.resize(512 + actual, b'a');
        out
    }

    /// Names and sizes of the members the guarded walk yields, or its error.
    fn walk(stream: &[u8]) -> (Vec<(String, usize)>, Option<String>, bool) {
        let (guarded, allowance) = guard(stream);
        let mut archive = tar::Archive::new(guarded);
        let mut seen = Vec::new();
        let mut error = None;
        for item in archive.entries().expect("entries") {
            match item {
                Ok(mut entry) => {
                    allowance.admit(&entry);
                    let name = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
                    let mut data = Vec::new();
                    entry.read_to_end(&mut data).expect("content");
                    seen.push((name, data.len()));
                }
                Err(e) => {
                    error = Some(e.to_string());
                    break;
                }
            }
        }
        (seen, error, allowance.exceeded())
    }

    #[test]
    fn members_of_any_size_pass() {
        let big = vec![7u8; (MAX_MEMBER_HEADERS as usize) * 3 + 5];
        let mut stream = member("records/a", b"hello");
        stream.extend(member("records/big", &big));
        stream.extend(member("records/c", b""));
        stream.extend([0u8; 1024]);
        let (seen, error, exceeded) = walk(&stream);
        assert_eq!(error, None);
        assert!(!exceeded);
        assert_eq!(
            seen,
            [
                ("records/a".to_string(), 5),
                ("records/big".to_string(), big.len()),
                ("records/c".to_string(), 0),
            ]
        );
    }

    #[test]
    fn a_pax_header_claiming_more_than_kluis_writes_fails() {
        let mut stream = member("records/a", b"hello");
        // 4 MiB of header claimed (and present): more than MAX_JSON.
        stream.extend(pax_header(4 << 20, 4 << 20));
        stream.extend(member("records/b", b"x"));
        let (seen, error, exceeded) = walk(&stream);
        assert_eq!(seen, [("records/a".to_string(), 5)]);
        assert!(exceeded);
        assert!(error.is_some());
    }

    #[test]
    fn a_first_member_with_huge_headers_fails() {
        let stream = pax_header(1 << 40, 3 << 20);
        let (seen, error, exceeded) = walk(&stream);
        assert!(seen.is_empty());
        assert!(exceeded, "{error:?}");
    }
}
