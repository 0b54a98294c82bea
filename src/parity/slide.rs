//! Finding slices that moved: an insertion or deletion of bytes shifts
//! every later slice off its place, where its checksum no longer matches.
//! As par2cmdline does, a window of one slice slides over the file a byte
//! at a time with a rolling CRC32; where the CRC32 is that of a slice still
//! missing, its MD5 confirms it.

use std::collections::{BTreeMap, HashMap};
use std::fs::File;
use std::io::{Seek, SeekFrom};
use std::path::Path;

use md5::{Digest, Md5};

use super::create::slice_check;
use super::packets::SliceCheck;
use crate::error::{IoContext, Result};
use crate::util::io::read_full;

/// How much is read at a time, beyond the window.
const CHUNK: usize = 1 << 20;

/// The CRC32 (IEEE, as PAR2 uses) of a window of `len` bytes, rolled a byte
/// at a time: C(R‖in) = C(out‖R)·x⁸ ⊕ shift_len(C(out)).
struct Rolling {
    table: [u32; 256],
    /// `shift_len(C([b]))`: a byte's part of a CRC once `len` bytes follow.
    leaving: [u32; 256],
}

impl Rolling {
    fn new(len: u64) -> Self {
        let mut table = [0u32; 256];
        for (b, t) in table.iter_mut().enumerate() {
            let mut c = b as u32;
            for _ in 0..8 {
                c = if c & 1 != 0 {
                    0xEDB8_8320 ^ (c >> 1)
                } else {
                    c >> 1
                };
            }
            *t = c;
        }
        let zeros = crc32fast::Hasher::new_with_initial_len(0, len);
        let leaving = std::array::from_fn(|b| {
            let mut h = crc32fast::Hasher::new_with_initial(crc32fast::hash(&[b as u8]));
            h.combine(&zeros);
            h.finalize()
        });
        Rolling { table, leaving }
    }

    fn roll(&self, crc: u32, out: u8, byte: u8) -> u32 {
        let raw = !crc;
        let raw = (raw >> 8) ^ self.table[((raw ^ byte as u32) & 0xFF) as usize];
        !raw ^ self.leaving[out as usize]
    }
}

/// Where the slices `missing` (not at their place) are found elsewhere in
/// the file at `path`: slice index → offset. The last slice, when shorter
/// than a slice, is looked for at the file's end only.
pub fn find_moved(
    path: &Path,
    checks: &[SliceCheck],
    slice_size: u64,
    last_len: u64,
    missing: &[usize],
) -> Result<BTreeMap<usize, u64>> {
    let mut found = BTreeMap::new();
    let mut file = File::open(path).at(path)?;
    let length = file.metadata().at(path)?.len();
    let size = slice_size as usize;
    let last = checks.len() - 1;
    if missing.contains(&last) && last_len < slice_size && length >= last_len {
        let mut tail = vec![0u8; last_len as usize];
        file.seek(SeekFrom::Start(length - last_len)).at(path)?;
        if read_full(&mut file, &mut tail).at(path)? == tail.len()
            && slice_check(&tail, size) == checks[last]
        {
            found.insert(last, length - last_len);
        }
    }
    let mut wanted: HashMap<u32, Vec<usize>> = HashMap::new();
    for &k in missing {
        if k != last || last_len == slice_size {
            wanted.entry(checks[k].crc32).or_default().push(k);
        }
    }
    if wanted.is_empty() || length < slice_size {
        return Ok(found);
    }
    // Most windows match nothing: a bit per low 16 bits of a wanted CRC32
    // turns them away before the map is asked.
    let mut maybe = vec![false; 1 << 16];
    for crc in wanted.keys() {
        maybe[(crc & 0xFFFF) as usize] = true;
    }
    let rolling = Rolling::new(slice_size);
    file.seek(SeekFrom::Start(0)).at(path)?;
    // `buf` holds the file from offset `base`; the window is [pos, pos+size).
    let mut buf: Vec<u8> = Vec::with_capacity(size + 2 * CHUNK);
    let mut base = 0u64;
    let mut ended = false;
    let mut fill = |buf: &mut Vec<u8>, need: usize| -> Result<()> {
        while buf.len() < need && !ended {
            let at = buf.len();
            buf.resize(at + CHUNK, 0);
            let n = read_full(&mut file, &mut buf[at..]).at(path)?;
            buf.truncate(at + n);
            ended = n < CHUNK;
        }
        Ok(())
    };
    let mut pos = 0u64;
    fill(&mut buf, size + 1)?;
    let mut crc = crc32fast::hash(&buf[..size]);
    loop {
        let at = (pos - base) as usize;
        let window = &buf[at..at + size];
        let hit = maybe[(crc & 0xFFFF) as usize]
            .then(|| wanted.get(&crc))
            .flatten()
            .and_then(|ks| {
                let md5: [u8; 16] = Md5::digest(window).into();
                ks.iter()
                    .copied()
                    .find(|k| !found.contains_key(k) && checks[*k].md5 == md5)
            });
        let step = if let Some(k) = hit {
            found.insert(k, pos);
            slice_size
        } else {
            1
        };
        if found.len() == missing.len() || pos + step + slice_size > length {
            break;
        }
        if step == 1 {
            crc = rolling.roll(crc, buf[at], buf[at + size]);
        }
        pos += step;
        if pos - base > CHUNK as u64 {
            buf.drain(..(pos - base) as usize);
            base = pos;
        }
        fill(&mut buf, (pos - base) as usize + size + 1)?;
        if step != 1 {
            let at = (pos - base) as usize;
            crc = crc32fast::hash(&buf[at..at + size]);
        }
    }
    Ok(found)
}
