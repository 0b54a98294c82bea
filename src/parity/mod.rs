//! PAR2 2.0 recovery files over an archive's ciphertext, so that damage
//! on a medium can be repaired without the key, by kluis or by the stock
//! `par2` program: the field ([`gf16`]), the multiply-accumulate kernel
//! ([`kernel`]), the packets ([`packets`]), creation in the writing pass
//! ([`create`]), and finding and rebuilding damaged slices ([`repair`])
//! and slices that moved ([`slide`]).
//!
//! Files, for an archive `2019-financial.kluis`: `2019-financial.kluis.par2`
//! (main, file description, slice checksums and creator packets) and
//! `2019-financial.kluis.volFFF+NNN.par2` (NNN recovery slices from
//! exponent FFF, then the same critical packets again): one volume, or one
//! per memory budget's worth when the parity does not fit in it.

pub mod create;
pub mod gf16;
#[allow(unsafe_code)]
pub mod kernel;
pub mod packets;
pub mod repair;
pub mod slide;

use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use crate::error::{IoContext, Result};
use packets::{CREATOR, FILE_DESC, IFSC, MAIN, Md5Hash, RECOVERY};

/// Default redundancy: percent of the archive's slices.
pub const DEFAULT_PERCENT: u32 = 5;
/// Recovery blocks beyond the percentage: PAR2's matrix is invertible only
/// with high probability, and small archives need a floor.
pub const DEFAULT_SPARE: u32 = 2;
/// Memory for the recovery blocks held while writing.
pub const DEFAULT_BUDGET: u64 = 256 << 20;

/// How much parity, and how much memory it may take.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Settings {
    /// 0: no parity.
    pub percent: u32,
    pub spare: u32,
    pub budget: u64,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            percent: DEFAULT_PERCENT,
            spare: DEFAULT_SPARE,
            budget: DEFAULT_BUDGET,
        }
    }
}

impl Settings {
    pub fn enabled(&self) -> bool {
        self.percent > 0
    }
}

/// One recovery block: its exponent and data (one slice long).
#[derive(Clone, Debug)]
pub struct Recovery {
    pub exponent: u32,
    pub data: Vec<u8>,
}

/// The slice size for a file of about `estimate` bytes: about 2,000 slices
/// (as `par2 create` does) up to slices of 1 MiB (a 2 GB file), then 1 MiB
/// up to 8,192 slices (8 GiB), larger beyond; a multiple of 4 KiB so that a
/// damaged sector spoils one slice, at least 4 KiB. The slices being
/// multiplied are held beside the recovery blocks (38 of them, counted in
/// the memory budget): slices of 3.6 MB at 7 GB held 137 MB. A file up to
/// 4 times the estimate stays within PAR2's 32,768 slices (16 times up to
/// 2 GB).
pub fn slice_size_for(estimate: u64) -> u64 {
    let s = estimate
        .div_ceil(2000)
        .min(1 << 20)
        .max(estimate.div_ceil(8192));
    (s.div_ceil(4096) * 4096).max(4096)
}

/// Recovery blocks for `slices` input slices.
pub fn recovery_count(slices: u64, percent: u32, spare: u32) -> u32 {
    if percent == 0 || slices == 0 {
        return 0;
    }
    ((slices * percent as u64).div_ceil(100) + spare as u64).min(65535 - 1) as u32
}

/// About the bytes the parity files of a `len`-byte file take with
/// `settings` (at least 1 %, as `repair --add-parity` and rekey make them;
/// slightly more than they will): the recovery slices with their packet
/// headers, and the critical packets (the file's checksums among them), in
/// the index and again in each volume.
pub fn set_size(len: u64, settings: &Settings) -> u64 {
    let slice = slice_size_for(len);
    let slices = len.div_ceil(slice);
    let blocks = recovery_count(slices, settings.percent.max(1), settings.spare) as u64;
    let volumes = blocks.div_ceil(create::per_pass(settings.budget, slice) as u64);
    let critical = 20 * slices + 4096;
    blocks * (slice + 68) + critical * (1 + volumes)
}

/// The index file's name.
pub fn index_name(file: &str) -> String {
    format!("{file}.par2")
}

/// The volume's name for `count` blocks starting at exponent `first`.
pub fn volume_name(file: &str, first: u32, count: u32) -> String {
    format!("{file}.vol{first:03}+{count:03}.par2")
}

/// Whether `name` is one of `file`'s parity files.
pub fn is_parity_of(name: &str, file: &str) -> bool {
    name.strip_prefix(file).is_some_and(|rest| {
        rest == ".par2" || (rest.starts_with(".vol") && rest.ends_with(".par2"))
    })
}

/// The parity files of `file` in the folder `dir`, sorted.
pub fn files_in(dir: &Path, file: &str) -> Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    for entry in fs::read_dir(dir).at(dir)? {
        let name = entry.at(dir)?.file_name().to_string_lossy().into_owned();
        if is_parity_of(&name, file) {
            out.push(dir.join(name));
        }
    }
    out.sort();
    Ok(out)
}

/// A finished recovery set, ready to be written: its critical packets and
/// the batch of recovery blocks being written (one volume's).
pub struct RecoverySet {
    pub set_id: Md5Hash,
    main: Vec<u8>,
    file_desc: Vec<u8>,
    ifsc: Vec<u8>,
    creator: Vec<u8>,
    pub blocks: Vec<Recovery>,
    pub slice_size: u64,
    pub slices: u64,
}

impl RecoverySet {
    pub fn new(created: create::Created, creator: &str) -> Self {
        let main = packets::main_body(created.slice_size, &[created.desc.file_id]);
        let set_id = packets::set_id(&main);
        let slices = created.checks.len() as u64;
        RecoverySet {
            set_id,
            main,
            file_desc: packets::file_desc_body(&created.desc),
            ifsc: packets::ifsc_body(&created.desc.file_id, &created.checks),
            creator: packets::creator_body(creator),
            blocks: created.blocks,
            slice_size: created.slice_size,
            slices,
        }
    }

    fn critical(&self, w: &mut dyn Write) -> io::Result<()> {
        w.write_all(&packets::packet(&self.set_id, MAIN, &[&self.main]))?;
        w.write_all(&packets::packet(
            &self.set_id,
            FILE_DESC,
            &[&self.file_desc],
        ))?;
        w.write_all(&packets::packet(&self.set_id, IFSC, &[&self.ifsc]))?;
        w.write_all(&packets::packet(&self.set_id, CREATOR, &[&self.creator]))
    }

    /// The index file: the critical packets only.
    pub fn write_index(&self, w: &mut dyn Write) -> io::Result<()> {
        self.critical(w)
    }

    /// The volume: the batch's recovery blocks, then the critical packets.
    pub fn write_volume(&self, w: &mut dyn Write) -> io::Result<()> {
        for b in &self.blocks {
            let exp = b.exponent.to_le_bytes();
            let header = packets::packet_header(&self.set_id, RECOVERY, &[&exp, &b.data]);
            w.write_all(&header)?;
            w.write_all(&exp)?;
            w.write_all(&b.data)?;
        }
        self.critical(w)
    }

    /// The files to write beside `file`, by name: the index, then the
    /// batch's volume (none for an empty batch).
    pub fn file_names(&self, file: &str) -> Vec<String> {
        let mut names = vec![index_name(file)];
        if !self.blocks.is_empty() {
            let first = self.blocks[0].exponent;
            names.push(volume_name(file, first, self.blocks.len() as u32));
        }
        names
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slices_are_about_2000_up_to_1_mib_then_at_most_8192() {
        assert_eq!(slice_size_for(0), 4096);
        assert_eq!(slice_size_for(1), 4096);
        // 540 MB: 2,000 slices of 270,000 bytes, rounded up to 4 KiB.
        assert_eq!(slice_size_for(540_000_000), 66 * 4096);
        assert_eq!(slice_size_for(7 << 30), 1 << 20);
        assert_eq!(slice_size_for(32 << 30), 4 << 20);
        for estimate in [4096 * 2000, 2000 << 20, 3 << 30, 8 << 30, 9 << 30, 1 << 40] {
            let slice = slice_size_for(estimate);
            assert!(slice.is_multiple_of(4096) && slice <= (estimate / 8192).max(1 << 20) + 4096);
            // Four times the estimate still fits in PAR2's slices.
            assert!(
                (4 * estimate).div_ceil(slice) <= gf16::MAX_SLICES as u64,
                "{estimate}"
            );
        }
    }

    #[test]
    fn the_budget_counts_the_slices_held() {
        assert_eq!(create::per_pass(256 << 20, 1 << 20), 256 - 38);
        assert_eq!(create::per_pass(1 << 20, 1 << 20), 1);
    }
}
