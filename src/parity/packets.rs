//! PAR2 2.0 packets: building the main, file description, input file slice
//! checksum (IFSC), recovery slice and creator packets, and finding the
//! intact ones in a (possibly damaged) `.par2` file, read in bounded
//! pieces (recovery slices are located, not held).

use std::io::{self, Read, Seek, SeekFrom};

use md5::{Digest, Md5};

use crate::util::io::read_full;

pub const MAGIC: &[u8; 8] = b"PAR2\0PKT";
pub const HEADER_LEN: usize = 64;
pub const MAIN: &[u8; 16] = b"PAR 2.0\0Main\0\0\0\0";
pub const FILE_DESC: &[u8; 16] = b"PAR 2.0\0FileDesc";
pub const IFSC: &[u8; 16] = b"PAR 2.0\0IFSC\0\0\0\0";
pub const RECOVERY: &[u8; 16] = b"PAR 2.0\0RecvSlic";
pub const CREATOR: &[u8; 16] = b"PAR 2.0\0Creator\0";

pub type Md5Hash = [u8; 16];

/// What PAR2 knows about the one protected file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileDescription {
    pub file_id: Md5Hash,
    pub md5: Md5Hash,
    pub md5_16k: Md5Hash,
    pub length: u64,
    pub name: Vec<u8>,
}

impl FileDescription {
    /// The file ID: MD5 of the first 16 KiB's MD5, the length and the name.
    pub fn file_id(md5_16k: &Md5Hash, length: u64, name: &[u8]) -> Md5Hash {
        let mut h = Md5::new();
        h.update(md5_16k);
        h.update(length.to_le_bytes());
        h.update(name);
        h.finalize().into()
    }
}

/// The MD5 and CRC32 of one input slice (zero padded to the slice size).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SliceCheck {
    pub md5: Md5Hash,
    pub crc32: u32,
}

/// The main packet's body.
pub fn main_body(slice_size: u64, file_ids: &[Md5Hash]) -> Vec<u8> {
    let mut b = Vec::with_capacity(12 + 16 * file_ids.len());
    b.extend(slice_size.to_le_bytes());
    b.extend((file_ids.len() as u32).to_le_bytes());
    for id in file_ids {
        b.extend(id);
    }
    b
}

/// The recovery set ID: the MD5 of the main packet's body.
pub fn set_id(main_body: &[u8]) -> Md5Hash {
    Md5::digest(main_body).into()
}

pub fn file_desc_body(d: &FileDescription) -> Vec<u8> {
    let mut b = Vec::with_capacity(56 + d.name.len() + 3);
    b.extend(d.file_id);
    b.extend(d.md5);
    b.extend(d.md5_16k);
    b.extend(d.length.to_le_bytes());
    b.extend(&d.name);
    pad4(&mut b);
    b
}

pub fn ifsc_body(file_id: &Md5Hash, checks: &[SliceCheck]) -> Vec<u8> {
    let mut b = Vec::with_capacity(16 + 20 * checks.len());
    b.extend(file_id);
    for c in checks {
        b.extend(c.md5);
        b.extend(c.crc32.to_le_bytes());
    }
    b
}

pub fn creator_body(text: &str) -> Vec<u8> {
    let mut b = text.as_bytes().to_vec();
    pad4(&mut b);
    b
}

fn pad4(b: &mut Vec<u8>) {
    while !b.len().is_multiple_of(4) {
        b.push(0);
    }
}

/// A packet's header (with the packet's MD5) for a body in parts.
pub fn packet_header(set_id: &Md5Hash, kind: &[u8; 16], body: &[&[u8]]) -> [u8; HEADER_LEN] {
    let body_len: usize = body.iter().map(|b| b.len()).sum();
    let len = HEADER_LEN + body_len;
    debug_assert!(len.is_multiple_of(4));
    let mut h = Md5::new();
    h.update(set_id);
    h.update(kind);
    for b in body {
        h.update(b);
    }
    let hash: Md5Hash = h.finalize().into();
    let mut p = [0u8; HEADER_LEN];
    p[0..8].copy_from_slice(MAGIC);
    p[8..16].copy_from_slice(&(len as u64).to_le_bytes());
    p[16..32].copy_from_slice(&hash);
    p[32..48].copy_from_slice(set_id);
    p[48..64].copy_from_slice(kind);
    p
}

/// A whole packet: header and body.
pub fn packet(set_id: &Md5Hash, kind: &[u8; 16], body: &[&[u8]]) -> Vec<u8> {
    let mut p = packet_header(set_id, kind, body).to_vec();
    for b in body {
        p.extend(*b);
    }
    p
}

/// Where an intact packet's body is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Body {
    /// Read into memory: every packet but the recovery slices is small.
    Held(Vec<u8>),
    /// Only its place in the file: a recovery slice, read when a repair
    /// needs it (`lead`: its first four bytes, the exponent).
    At {
        offset: u64,
        len: u64,
        lead: [u8; 4],
    },
}

/// One intact packet found in a file.
#[derive(Clone, Debug)]
pub struct Found {
    pub set_id: Md5Hash,
    pub kind: [u8; 16],
    pub body: Body,
}

/// The largest body held in memory (the checksum packet of 32,768 slices
/// is 640 KiB); a larger one is only located.
const HOLD: u64 = 4 << 20;
/// How much of a file is searched for the next packet at a time.
const WINDOW: usize = 1 << 20;

/// Every intact packet in a (possibly damaged) file of `len` bytes, in
/// order, read in bounded pieces: a packet whose length or MD5 does not
/// check out is skipped, and the search goes on after its magic.
pub fn read_packets<R: Read + Seek>(r: &mut R, len: u64) -> io::Result<Vec<Found>> {
    let mut out = Vec::new();
    let finder = memchr::memmem::Finder::new(MAGIC);
    let mut window = vec![0u8; WINDOW];
    let mut pos = 0u64;
    while pos + HEADER_LEN as u64 <= len {
        r.seek(SeekFrom::Start(pos))?;
        let n = read_full(r, &mut window)?;
        let Some(at) = finder.find(&window[..n]) else {
            if n < WINDOW {
                break;
            }
            // A magic across the window's end is found in the next one.
            pos += (n - (MAGIC.len() - 1)) as u64;
            continue;
        };
        let start = pos + at as u64;
        match packet_at(r, start, len)? {
            Some((found, packet_len)) => {
                out.push(found);
                pos = start + packet_len;
            }
            None => pos = start + 1,
        }
    }
    Ok(out)
}

/// The packet whose magic is at `start`, if its length and MD5 check out.
fn packet_at<R: Read + Seek>(r: &mut R, start: u64, len: u64) -> io::Result<Option<(Found, u64)>> {
    r.seek(SeekFrom::Start(start))?;
    let mut h = [0u8; HEADER_LEN];
    if read_full(r, &mut h)? < HEADER_LEN {
        return Ok(None);
    }
    let packet_len = u64::from_le_bytes(h[8..16].try_into().expect("8 bytes"));
    if packet_len % 4 != 0 || packet_len < HEADER_LEN as u64 || packet_len > len - start {
        return Ok(None);
    }
    let kind: [u8; 16] = h[48..64].try_into().expect("16 bytes");
    let body_len = packet_len - HEADER_LEN as u64;
    let hold = &kind != RECOVERY && body_len <= HOLD;
    let mut md5 = Md5::new();
    md5.update(&h[32..64]);
    let mut held = Vec::new();
    let mut lead = [0u8; 4];
    let mut buf = vec![0u8; body_len.min(WINDOW as u64) as usize];
    let mut done = 0u64;
    while done < body_len {
        let take = (body_len - done).min(buf.len() as u64) as usize;
        if read_full(r, &mut buf[..take])? < take {
            return Ok(None);
        }
        md5.update(&buf[..take]);
        if hold {
            held.extend_from_slice(&buf[..take]);
        } else if done == 0 && take >= 4 {
            lead.copy_from_slice(&buf[..4]);
        }
        done += take as u64;
    }
    let hash: Md5Hash = md5.finalize().into();
    if hash[..] != h[16..32] {
        return Ok(None);
    }
    let body = if hold {
        Body::Held(held)
    } else {
        Body::At {
            offset: start + HEADER_LEN as u64,
            len: body_len,
            lead,
        }
    };
    let set_id = h[32..48].try_into().expect("16 bytes");
    Ok(Some((Found { set_id, kind, body }, packet_len)))
}

/// The main packet: slice size and the IDs of the protected files.
pub fn read_main(body: &[u8]) -> Option<(u64, Vec<Md5Hash>)> {
    if body.len() < 12 {
        return None;
    }
    let slice = u64::from_le_bytes(body[0..8].try_into().ok()?);
    let count = u32::from_le_bytes(body[8..12].try_into().ok()?) as usize;
    let ids: Vec<Md5Hash> = body[12..]
        .chunks_exact(16)
        .map(|c| c.try_into().expect("16 bytes"))
        .collect();
    (ids.len() >= count).then(|| (slice, ids[..count].to_vec()))
}

pub fn read_file_desc(body: &[u8]) -> Option<FileDescription> {
    if body.len() < 56 {
        return None;
    }
    let mut name = body[56..].to_vec();
    while name.last() == Some(&0) {
        name.pop();
    }
    Some(FileDescription {
        file_id: body[0..16].try_into().ok()?,
        md5: body[16..32].try_into().ok()?,
        md5_16k: body[32..48].try_into().ok()?,
        length: u64::from_le_bytes(body[48..56].try_into().ok()?),
        name,
    })
}

pub fn read_ifsc(body: &[u8]) -> Option<(Md5Hash, Vec<SliceCheck>)> {
    if body.len() < 16 || !(body.len() - 16).is_multiple_of(20) {
        return None;
    }
    let checks = body[16..]
        .chunks_exact(20)
        .map(|c| SliceCheck {
            md5: c[0..16].try_into().expect("16 bytes"),
            crc32: u32::from_le_bytes(c[16..20].try_into().expect("4 bytes")),
        })
        .collect();
    Some((body[0..16].try_into().ok()?, checks))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packets_round_trip_and_damage_is_skipped() {
        let id = [7u8; 16];
        let a = packet(&id, CREATOR, &[&creator_body("kluis")]);
        let b = packet(&id, MAIN, &[&main_body(4096, &[[1; 16]])]);
        let c = packet(&id, RECOVERY, &[&5u32.to_le_bytes(), &[9u8; 4096]]);
        let mut file = [a.clone(), b.clone(), c.clone()].concat();
        let read = |f: &[u8]| read_packets(&mut io::Cursor::new(f), f.len() as u64).unwrap();
        let found = read(&file);
        assert_eq!(found.len(), 3);
        assert_eq!(&found[0].kind, CREATOR);
        let Body::Held(main) = &found[1].body else {
            panic!("the main packet is held")
        };
        assert_eq!(read_main(main), Some((4096, vec![[1; 16]])));
        let at = (a.len() + b.len() + HEADER_LEN) as u64;
        assert_eq!(
            found[2].body,
            Body::At {
                offset: at,
                len: 4100,
                lead: 5u32.to_le_bytes()
            }
        );
        file[70] ^= 1;
        let found = read(&file);
        assert_eq!(found.len(), 2);
        assert_eq!(&found[0].kind, MAIN);
        let last = file.len() - 1;
        file[last] ^= 1;
        assert_eq!(read(&file).len(), 1, "a damaged recovery slice is skipped");
    }

    #[test]
    fn packets_across_the_search_window_are_found() {
        let id = [3u8; 16];
        // A magic split by the window's end, then a recovery slice longer
        // than the window.
        let small = packet(&id, CREATOR, &[&creator_body("kluis")]);
        let big = packet(
            &id,
            RECOVERY,
            &[&1u32.to_le_bytes(), &vec![1u8; WINDOW + 8]],
        );
        let mut file = vec![0u8; WINDOW - 3];
        file.extend(&small);
        file.extend(&big);
        file.extend(&small);
        let found = read_packets(&mut io::Cursor::new(&file), file.len() as u64).unwrap();
        let kinds: Vec<&[u8; 16]> = found.iter().map(|p| &p.kind).collect();
        assert_eq!(kinds, vec![CREATOR, RECOVERY, CREATOR]);
    }
}
