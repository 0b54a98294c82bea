//! Reading a recovery set back and repairing its file: gather the intact
//! packets of every parity file, find the damaged slices by their MD5 and
//! CRC32, solve for them over GF(2^16) with as many recovery blocks, and
//! write the repaired file to a new path (the caller checks it and renames
//! it into place: the damaged original is never touched).

use std::collections::BTreeMap;
use std::fs::{self, File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use md5::{Digest, Md5};

use super::create::{Accumulator, read_full, slice_check};
use super::kernel::{Kernel, Multiplier};
use super::packets::{self, FileDescription, Md5Hash, SliceCheck};
use super::{gf16, is_parity_of};
use crate::error::{Error, IoContext, Result};

/// Asked before each slice whether to stop (the stage, `scan`, `rebuild`
/// or `write`, and the slice's number from 1): how a caller interrupts a
/// long repair, since this module knows nothing of progress or signals.
/// Stopping gives [`Error::Interrupted`] with an empty account.
pub type Stop<'a> = &'a dyn Fn(&str, u64) -> bool;

/// A [`Stop`] that never stops.
pub fn never(_stage: &str, _slice: u64) -> bool {
    false
}

fn stopped(stop: Stop, stage: &str, i: usize) -> Result<()> {
    if stop(stage, i as u64 + 1) {
        return Err(Error::Interrupted {
            done: String::new(),
        });
    }
    Ok(())
}

/// A recovery set as read from its files.
#[derive(Debug)]
pub struct Loaded {
    pub set_id: Md5Hash,
    pub slice_size: u64,
    pub desc: FileDescription,
    pub checks: Vec<SliceCheck>,
    /// Intact recovery blocks by exponent.
    pub blocks: BTreeMap<u32, Vec<u8>>,
    /// The parity files read.
    pub files: Vec<PathBuf>,
}

impl Loaded {
    pub fn slices(&self) -> u64 {
        self.desc.length.div_ceil(self.slice_size)
    }
}

/// The parity files of `file` in `dir`, sorted.
pub fn parity_files(dir: &Path, file: &str) -> Result<Vec<PathBuf>> {
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

/// Reads every intact packet of `file`'s parity files in `dir`. `None`
/// when there are no parity files or no intact main, file description and
/// checksum packets for `file` among them.
pub fn load(dir: &Path, file: &str) -> Result<Option<Loaded>> {
    let files = parity_files(dir, file)?;
    let mut contents = Vec::new();
    for f in &files {
        contents.push(fs::read(f).at(f)?);
    }
    let found: Vec<packets::Found> = contents.iter().flat_map(|c| packets::parse(c)).collect();
    // The set is the one whose main packet names a file described as `file`.
    for main in found.iter().filter(|p| &p.kind == packets::MAIN) {
        let Some((slice_size, ids)) = packets::read_main(main.body) else {
            continue;
        };
        if packets::set_id(main.body) != main.set_id
            || ids.len() != 1
            || slice_size == 0
            || slice_size % 4 != 0
        {
            continue;
        }
        let of_set = || found.iter().filter(|p| p.set_id == main.set_id);
        let desc = of_set()
            .filter(|p| &p.kind == packets::FILE_DESC)
            .filter_map(|p| packets::read_file_desc(p.body))
            .find(|d| d.file_id == ids[0] && d.name == file.as_bytes());
        let Some(desc) = desc else { continue };
        let checks = of_set()
            .filter(|p| &p.kind == packets::IFSC)
            .filter_map(|p| packets::read_ifsc(p.body))
            .find(|(id, c)| id == &ids[0] && c.len() as u64 == desc.length.div_ceil(slice_size));
        let Some((_, checks)) = checks else { continue };
        let mut blocks = BTreeMap::new();
        for p in of_set().filter(|p| &p.kind == packets::RECOVERY) {
            if let Some((exp, data)) = packets::read_recovery(p.body)
                && data.len() as u64 == slice_size
            {
                blocks.entry(exp).or_insert_with(|| data.to_vec());
            }
        }
        return Ok(Some(Loaded {
            set_id: main.set_id,
            slice_size,
            desc,
            checks,
            blocks,
            files,
        }));
    }
    Ok(None)
}

/// Which slices of the file on disk are damaged.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Damage {
    pub damaged: Vec<usize>,
    /// The file's length on disk (differs from the set's when truncated or
    /// extended).
    pub length: u64,
}

impl Damage {
    pub fn is_intact(&self, loaded: &Loaded) -> bool {
        self.damaged.is_empty() && self.length == loaded.desc.length
    }
}

/// Checks each slice of `path` where it belongs.
pub fn scan(path: &Path, loaded: &Loaded, stop: Stop) -> Result<Damage> {
    let mut file = File::open(path).at(path)?;
    let length = file.metadata().at(path)?.len();
    let size = loaded.slice_size as usize;
    let mut buf = vec![0u8; size];
    let mut damaged = Vec::new();
    for (i, check) in loaded.checks.iter().enumerate() {
        stopped(stop, "scan", i)?;
        let want = slice_len(loaded, i);
        let n = read_full(&mut file, &mut buf[..want]).at(path)?;
        if n < want || slice_check(&buf[..want], size) != *check {
            damaged.push(i);
        }
    }
    Ok(Damage { damaged, length })
}

fn slice_len(loaded: &Loaded, i: usize) -> usize {
    let start = i as u64 * loaded.slice_size;
    (loaded.desc.length - start).min(loaded.slice_size) as usize
}

/// Rebuilds the damaged slices and writes the whole repaired file to `out`
/// (created new), checked against the set's MD5. Stopped, it leaves `out`
/// for the caller to remove.
pub fn rebuild(
    path: &Path,
    loaded: &Loaded,
    damage: &Damage,
    out: &Path,
    stop: Stop,
) -> Result<()> {
    let size = loaded.slice_size as usize;
    let d = damage.damaged.len();
    if d > loaded.blocks.len() {
        return Err(Error::BeyondRepair {
            path: path.into(),
            damaged: d as u64,
            blocks: loaded.blocks.len() as u64,
        });
    }
    let constants = gf16::input_constants(loaded.checks.len());
    let rebuilt = if d == 0 {
        Vec::new()
    } else {
        let (exps, inverse) =
            choose(loaded, &damage.damaged, &constants).ok_or_else(|| Error::BeyondRepair {
                path: path.into(),
                damaged: d as u64,
                blocks: loaded.blocks.len() as u64,
            })?;
        // R'_j = R_j + Σ_{good i} c_i^e_j · S_i = Σ_{damaged k} c_k^e_j · S_k.
        let mut acc = Accumulator::new(size, exps.clone());
        let mut file = File::open(path).at(path)?;
        let mut next = damage.damaged.iter().peekable();
        for i in 0..loaded.checks.len() {
            stopped(stop, "rebuild", i)?;
            let want = slice_len(loaded, i);
            let mut buf = vec![0u8; want];
            if next.peek() == Some(&&i) {
                next.next();
                file.seek(SeekFrom::Current(want as i64)).at(path)?;
                buf.clear();
            } else {
                read_full(&mut file, &mut buf).at(path)?;
            }
            acc.push(buf);
        }
        let mut sums = acc.finish();
        for (s, e) in sums.iter_mut().zip(&exps) {
            for (a, b) in s.data.iter_mut().zip(&loaded.blocks[e]) {
                *a ^= b;
            }
        }
        let kernel = Kernel::detect();
        inverse
            .iter()
            .map(|row| {
                let mut slice = vec![0u8; size];
                for (f, s) in row.iter().zip(&sums) {
                    kernel.mul_acc(&mut slice, &s.data, &Multiplier::new(*f));
                }
                slice
            })
            .collect::<Vec<_>>()
    };
    write_repaired(path, loaded, damage, &rebuilt, out, stop)
}

/// Picks recovery blocks whose matrix over the damaged slices is
/// invertible, and inverts it: rows of the inverse give each damaged slice
/// as a combination of the blocks.
fn choose(
    loaded: &Loaded,
    damaged: &[usize],
    constants: &[u16],
) -> Option<(Vec<u32>, Vec<Vec<u16>>)> {
    let d = damaged.len();
    let mut rows: Vec<u32> = Vec::new();
    let mut basis: Vec<(Vec<u16>, usize)> = Vec::new(); // reduced rows with their pivot
    for &e in loaded.blocks.keys() {
        if rows.len() == d {
            break;
        }
        let mut row: Vec<u16> = damaged
            .iter()
            .map(|&k| gf16::pow(constants[k], e))
            .collect();
        for (b, p) in &basis {
            let f = row[*p];
            if f != 0 {
                for (x, y) in row.iter_mut().zip(b) {
                    *x ^= gf16::mul(f, *y);
                }
            }
        }
        if let Some(p) = row.iter().position(|&x| x != 0) {
            let inv = gf16::inv(row[p]);
            row.iter_mut().for_each(|x| *x = gf16::mul(*x, inv));
            basis.push((row, p));
            rows.push(e);
        }
    }
    if rows.len() < d {
        return None;
    }
    // Gauss-Jordan on [M | I].
    let mut m: Vec<Vec<u16>> = rows
        .iter()
        .enumerate()
        .map(|(j, &e)| {
            let mut r: Vec<u16> = damaged
                .iter()
                .map(|&k| gf16::pow(constants[k], e))
                .collect();
            r.extend((0..d).map(|i| (i == j) as u16));
            r
        })
        .collect();
    for col in 0..d {
        let pivot = (col..d).find(|&r| m[r][col] != 0)?;
        m.swap(col, pivot);
        let inv = gf16::inv(m[col][col]);
        m[col].iter_mut().for_each(|x| *x = gf16::mul(*x, inv));
        for r in 0..d {
            if r != col && m[r][col] != 0 {
                let f = m[r][col];
                let (a, b) = if r < col {
                    let (lo, hi) = m.split_at_mut(col);
                    (&mut lo[r], &hi[0])
                } else {
                    let (lo, hi) = m.split_at_mut(r);
                    (&mut hi[0], &lo[col])
                };
                for (x, y) in a.iter_mut().zip(b.iter()) {
                    *x ^= gf16::mul(f, *y);
                }
            }
        }
    }
    Some((rows, m.into_iter().map(|r| r[d..].to_vec()).collect()))
}

fn write_repaired(
    path: &Path,
    loaded: &Loaded,
    damage: &Damage,
    rebuilt: &[Vec<u8>],
    out: &Path,
    stop: Stop,
) -> Result<()> {
    let mut src = File::open(path).at(path)?;
    let mut dst = OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(out)
        .at(out)?;
    let mut md5 = Md5::new();
    let mut buf = vec![0u8; loaded.slice_size as usize];
    let mut fixed = damage.damaged.iter().zip(rebuilt).peekable();
    for i in 0..loaded.checks.len() {
        stopped(stop, "write", i)?;
        let want = slice_len(loaded, i);
        let data: &[u8] = match fixed.peek() {
            Some((k, slice)) if **k == i => {
                let s = &slice[..want];
                fixed.next();
                src.seek(SeekFrom::Current(want as i64)).at(path)?;
                s
            }
            _ => {
                read_full(&mut src, &mut buf[..want]).at(path)?;
                &buf[..want]
            }
        };
        md5.update(data);
        dst.write_all(data).at(out)?;
    }
    dst.sync_all().at(out)?;
    let got: Md5Hash = md5.finalize().into();
    if got != loaded.desc.md5 {
        return Err(Error::Damaged {
            path: path.into(),
            detail: "the repaired file does not match the recovery set's MD5; nothing was replaced"
                .into(),
        });
    }
    Ok(())
}

/// Reads a whole file (tests and small helpers).
pub fn read_all(path: &Path) -> Result<Vec<u8>> {
    let mut v = Vec::new();
    File::open(path).at(path)?.read_to_end(&mut v).at(path)?;
    Ok(v)
}
