//! The zstd seekable format's seek table (contrib/seekable_format v0.1): a
//! skippable frame at the end of the stream listing every frame's sizes.

use std::fmt;

pub const SKIPPABLE_MAGIC: u32 = 0x184D_2A5E;
pub const SEEKABLE_MAGIC: u32 = 0x8F92_EAB1;
pub const FOOTER_LEN: usize = 9;
const CHECKSUM_FLAG: u8 = 0x80;
const MAX_FRAMES: u32 = 1 << 27;

/// One data frame as the seek table describes it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FrameEntry {
    pub compressed: u32,
    pub decompressed: u32,
    pub checksum: Option<u32>,
}

/// A data frame with its position in the zstd stream and in the tar stream.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Frame {
    pub entry: FrameEntry,
    /// Offset in the zstd stream (the age plaintext).
    pub c_offset: u64,
    /// Offset of its content in the tar stream.
    pub d_offset: u64,
}

impl Frame {
    pub fn c_end(&self) -> u64 {
        self.c_offset + u64::from(self.entry.compressed)
    }
    pub fn d_end(&self) -> u64 {
        self.d_offset + u64::from(self.entry.decompressed)
    }
}

#[derive(Debug, PartialEq, Eq)]
pub struct SeekTableError(pub String);

impl fmt::Display for SeekTableError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "seek table: {}", self.0)
    }
}

/// Serialises a seek table (with checksums when every entry has one).
pub fn encode(entries: &[FrameEntry]) -> Vec<u8> {
    let with_sums = entries.iter().all(|e| e.checksum.is_some());
    let per = if with_sums { 12 } else { 8 };
    let body = entries.len() * per + FOOTER_LEN;
    let mut out = Vec::with_capacity(8 + body);
    out.extend_from_slice(&SKIPPABLE_MAGIC.to_le_bytes());
    out.extend_from_slice(&(body as u32).to_le_bytes());
    for e in entries {
        out.extend_from_slice(&e.compressed.to_le_bytes());
        out.extend_from_slice(&e.decompressed.to_le_bytes());
        if with_sums {
            out.extend_from_slice(&e.checksum.unwrap_or(0).to_le_bytes());
        }
    }
    out.extend_from_slice(&(entries.len() as u32).to_le_bytes());
    out.push(if with_sums { CHECKSUM_FLAG } else { 0 });
    out.extend_from_slice(&SEEKABLE_MAGIC.to_le_bytes());
    out
}

/// Reads the 9-byte footer: returns the whole seek table frame's length.
pub fn table_len_from_footer(footer: &[u8]) -> Result<u64, SeekTableError> {
    if footer.len() != FOOTER_LEN {
        return Err(SeekTableError("footer too short".into()));
    }
    let magic = u32::from_le_bytes(footer[5..9].try_into().unwrap());
    if magic != SEEKABLE_MAGIC {
        return Err(SeekTableError(
            "no seek table at the end of the stream".into(),
        ));
    }
    let frames = u32::from_le_bytes(footer[0..4].try_into().unwrap());
    let descriptor = footer[4];
    if descriptor & !CHECKSUM_FLAG != 0 {
        return Err(SeekTableError(format!(
            "reserved descriptor bits set ({descriptor:#04x})"
        )));
    }
    if frames > MAX_FRAMES {
        return Err(SeekTableError(format!(
            "{frames} frames is more than allowed"
        )));
    }
    let per: u64 = if descriptor & CHECKSUM_FLAG != 0 {
        12
    } else {
        8
    };
    Ok(8 + u64::from(frames) * per + FOOTER_LEN as u64)
}

/// Parses a complete seek table frame (as found at the end of the stream)
/// and lays out every frame's offsets.
pub fn decode(table: &[u8]) -> Result<Vec<Frame>, SeekTableError> {
    if table.len() < 8 + FOOTER_LEN {
        return Err(SeekTableError("too short".into()));
    }
    let expected = table_len_from_footer(&table[table.len() - FOOTER_LEN..])?;
    if expected != table.len() as u64 {
        return Err(SeekTableError("length does not match its footer".into()));
    }
    let magic = u32::from_le_bytes(table[0..4].try_into().unwrap());
    let size = u32::from_le_bytes(table[4..8].try_into().unwrap());
    if magic != SKIPPABLE_MAGIC || u64::from(size) + 8 != table.len() as u64 {
        return Err(SeekTableError("bad skippable frame header".into()));
    }
    let with_sums = table[table.len() - 5] & CHECKSUM_FLAG != 0;
    let per = if with_sums { 12 } else { 8 };
    let body = &table[8..table.len() - FOOTER_LEN];
    let mut frames = Vec::with_capacity(body.len() / per);
    let (mut c_offset, mut d_offset) = (0u64, 0u64);
    for chunk in body.chunks_exact(per) {
        let word = |i: usize| u32::from_le_bytes(chunk[i..i + 4].try_into().unwrap());
        let entry = FrameEntry {
            compressed: word(0),
            decompressed: word(4),
            checksum: with_sums.then(|| word(8)),
        };
        if entry.compressed == 0 {
            return Err(SeekTableError(format!("frame {} has size 0", frames.len())));
        }
        frames.push(Frame {
            entry,
            c_offset,
            d_offset,
        });
        c_offset += u64::from(entry.compressed);
        d_offset += u64::from(entry.decompressed);
    }
    Ok(frames)
}

/// Index of the frame holding tar offset `d`, if any.
pub fn frame_at(frames: &[Frame], d: u64) -> Option<usize> {
    let i = frames.partition_point(|f| f.d_end() <= d);
    (i < frames.len() && frames[i].d_offset <= d).then_some(i)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entries() -> Vec<FrameEntry> {
        vec![
            FrameEntry {
                compressed: 10,
                decompressed: 100,
                checksum: Some(7),
            },
            FrameEntry {
                compressed: 20,
                decompressed: 0,
                checksum: Some(8),
            },
            FrameEntry {
                compressed: 5,
                decompressed: 50,
                checksum: Some(9),
            },
        ]
    }

    #[test]
    fn round_trip_with_offsets() {
        let bytes = encode(&entries());
        assert_eq!(bytes.len(), 8 + 3 * 12 + 9);
        assert_eq!(
            table_len_from_footer(&bytes[bytes.len() - 9..]).unwrap(),
            bytes.len() as u64
        );
        let frames = decode(&bytes).unwrap();
        assert_eq!(frames.len(), 3);
        assert_eq!((frames[2].c_offset, frames[2].d_offset), (30, 100));
        assert_eq!(frames[1].entry.checksum, Some(8));
        assert_eq!(frame_at(&frames, 0), Some(0));
        assert_eq!(frame_at(&frames, 99), Some(0));
        assert_eq!(
            frame_at(&frames, 100),
            Some(2),
            "an empty frame holds no offset"
        );
        assert_eq!(frame_at(&frames, 150), None);
    }

    #[test]
    fn without_checksums() {
        let e: Vec<_> = entries()
            .into_iter()
            .map(|e| FrameEntry {
                checksum: None,
                ..e
            })
            .collect();
        let bytes = encode(&e);
        assert_eq!(bytes.len(), 8 + 3 * 8 + 9);
        assert_eq!(decode(&bytes).unwrap()[2].entry.checksum, None);
    }

    #[test]
    fn rejects_damage() {
        let good = encode(&entries());
        let mut bad_magic = good.clone();
        let n = bad_magic.len();
        bad_magic[n - 1] ^= 1;
        assert!(decode(&bad_magic).is_err());
        let mut bad_count = good.clone();
        bad_count[n - 9] = 200;
        assert!(decode(&bad_count).is_err());
        let mut bad_header = good.clone();
        bad_header[0] ^= 1;
        assert!(decode(&bad_header).is_err());
        let mut reserved = good;
        reserved[n - 5] |= 1;
        assert!(decode(&reserved).is_err());
        assert!(decode(&[0; 5]).is_err());
    }
}
