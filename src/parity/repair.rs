//! Reading a recovery set back and repairing its file: gather the intact
//! packets of every parity file, find the damaged slices by their MD5 and
//! CRC32 (and the slices that moved, see [`super::slide`]), solve for them over GF(2^16) with as many recovery blocks, and
//! write the repaired file to a new path (the caller checks it and renames
//! it into place: the damaged original is never touched).

use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::io::{Seek, SeekFrom, Write};
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use md5::{Digest, Md5};
use sha2::Sha256;

use super::create::{Accumulator, slice_check};
use super::kernel::{self, CHUNK, Kernel};
use super::packets::{self, Body, FileDescription, Md5Hash, SliceCheck};
use super::{files_in, gf16, slide};
use crate::error::{Error, IoContext, Result};
use crate::util::io::read_full;

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
    /// Intact recovery blocks by exponent: where they are, read only when
    /// a repair needs them.
    pub blocks: BTreeMap<u32, BlockAt>,
    /// The parity files read.
    pub files: Vec<PathBuf>,
}

/// An intact recovery block's data in a parity file.
#[derive(Clone, Debug)]
pub struct BlockAt {
    pub path: PathBuf,
    pub offset: u64,
}

impl BlockAt {
    /// `into ^= block`, read in bounded pieces.
    /// XORs the block's bytes from `at` on into `into`.
    fn xor_into(&self, at: u64, into: &mut [u8]) -> Result<()> {
        let mut file = File::open(&self.path).at(&self.path)?;
        file.seek(SeekFrom::Start(self.offset + at))
            .at(&self.path)?;
        let mut buf = vec![0u8; into.len().min(1 << 20)];
        for piece in into.chunks_mut(buf.len().max(1)) {
            let got = &mut buf[..piece.len()];
            if read_full(&mut file, got).at(&self.path)? < piece.len() {
                return Err(Error::Damaged {
                    path: self.path.clone(),
                    detail: "a recovery block ended early (the file changed since it was checked); nothing was replaced".into(),
                });
            }
            piece.iter_mut().zip(got.iter()).for_each(|(a, b)| *a ^= b);
        }
        Ok(())
    }
}

impl Loaded {
    pub fn slices(&self) -> u64 {
        self.desc.length.div_ceil(self.slice_size)
    }
}

/// Reads every intact packet of `file`'s parity files in `dir`, in bounded
/// memory (recovery blocks are located, not read). `None` when there are
/// no parity files or no intact main, file description and checksum
/// packets for `file` among them.
pub fn load(dir: &Path, file: &str) -> Result<Option<Loaded>> {
    let files = files_in(dir, file)?;
    let mut found: Vec<(usize, packets::Found)> = Vec::new();
    for (i, f) in files.iter().enumerate() {
        let mut handle = File::open(f).at(f)?;
        let len = handle.metadata().at(f)?.len();
        let packets = packets::read_packets(&mut handle, len).at(f)?;
        found.extend(packets.into_iter().map(|p| (i, p)));
    }
    let held = |p: &packets::Found| match &p.body {
        Body::Held(b) => Some(b.clone()),
        Body::At { .. } => None,
    };
    // The set is the one whose main packet names a file described as `file`.
    for (_, main) in found.iter().filter(|(_, p)| &p.kind == packets::MAIN) {
        let Some(body) = held(main) else { continue };
        let Some((slice_size, ids)) = packets::read_main(&body) else {
            continue;
        };
        if packets::set_id(&body) != main.set_id
            || ids.len() != 1
            || slice_size == 0
            || slice_size % 4 != 0
        {
            continue;
        }
        let of_set = || {
            found
                .iter()
                .map(|(i, p)| (*i, p))
                .filter(|(_, p)| p.set_id == main.set_id)
        };
        let desc = of_set()
            .filter(|(_, p)| &p.kind == packets::FILE_DESC)
            .filter_map(|(_, p)| packets::read_file_desc(&held(p)?))
            .find(|d| d.file_id == ids[0] && d.name == file.as_bytes());
        let Some(desc) = desc else { continue };
        let checks = of_set()
            .filter(|(_, p)| &p.kind == packets::IFSC)
            .filter_map(|(_, p)| packets::read_ifsc(&held(p)?))
            .find(|(id, c)| id == &ids[0] && c.len() as u64 == desc.length.div_ceil(slice_size));
        let Some((_, checks)) = checks else { continue };
        let mut blocks = BTreeMap::new();
        for (i, p) in of_set().filter(|(_, p)| &p.kind == packets::RECOVERY) {
            if let Body::At { offset, len, lead } = p.body
                && len == 4 + slice_size
            {
                blocks
                    .entry(u32::from_le_bytes(lead))
                    .or_insert_with(|| BlockAt {
                        path: files[i].clone(),
                        offset: offset + 4,
                    });
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

/// Which slices of the file on disk are damaged, and which moved.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Damage {
    /// Slices found nowhere: to be rebuilt.
    pub damaged: Vec<usize>,
    /// Slices found away from their place (bytes inserted or deleted
    /// before them): index → offset.
    pub moved: BTreeMap<usize, u64>,
    /// The file's length on disk (differs from the set's when truncated or
    /// extended).
    pub length: u64,
}

impl Damage {
    pub fn is_intact(&self, loaded: &Loaded) -> bool {
        self.damaged.is_empty() && self.moved.is_empty() && self.length == loaded.desc.length
    }

    /// Where slice `i` is read from (it is not damaged).
    fn offset(&self, loaded: &Loaded, i: usize) -> u64 {
        self.moved
            .get(&i)
            .copied()
            .unwrap_or(i as u64 * loaded.slice_size)
    }
}

/// Checks each slice of `path` where it belongs, then, when the length
/// changed, looks for the ones that do not match elsewhere (shifted by an
/// insertion or deletion).
pub fn scan(path: &Path, loaded: &Loaded, stop: Stop) -> Result<Damage> {
    let mut file = File::open(path).at(path)?;
    let length = file.metadata().at(path)?.len();
    let size = loaded.slice_size as usize;
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    // Slices read a batch at a time and checked on every core.
    let batch = 4 * threads;
    let mut bufs = vec![vec![0u8; size]; batch];
    let mut damaged = Vec::new();
    for first in (0..loaded.checks.len()).step_by(batch) {
        let last = (first + batch).min(loaded.checks.len());
        let mut read = Vec::with_capacity(batch);
        for (i, buf) in (first..last).zip(bufs.iter_mut()) {
            stopped(stop, "scan", i)?;
            let want = slice_len(loaded, i);
            let n = read_full(&mut file, &mut buf[..want]).at(path)?;
            read.push((i, &buf[..n], n == want, false));
        }
        super::create::share(threads, read.iter_mut(), |(i, data, whole, bad)| {
            *bad = !*whole || slice_check(data, size) != loaded.checks[*i];
        });
        damaged.extend(read.iter().filter(|r| r.3).map(|r| r.0));
    }
    // Only an insertion or deletion moves slices, and it changes the
    // length (an insertion and a deletion of the same size aside): damage
    // in place is not worth a byte-by-byte pass over the whole file.
    let moved = if damaged.is_empty() || length == loaded.desc.length {
        BTreeMap::new()
    } else {
        let last = slice_len(loaded, loaded.checks.len() - 1) as u64;
        slide::find_moved(path, &loaded.checks, loaded.slice_size, last, &damaged)?
    };
    damaged.retain(|i| !moved.contains_key(i));
    Ok(Damage {
        damaged,
        moved,
        length,
    })
}

fn slice_len(loaded: &Loaded, i: usize) -> usize {
    let start = i as u64 * loaded.slice_size;
    (loaded.desc.length - start).min(loaded.slice_size) as usize
}

/// Rebuilds the damaged slices and writes the whole repaired file to `out`
/// (created new), checked against the set's MD5; returns its SHA-256 (for
/// the caller to check against the medium's). Stopped, it leaves `out` for
/// the caller to remove.
///
/// The only large buffer is one sum per damaged slice. When those do not
/// fit in `budget` bytes, they are made for a stripe of the slices' bytes
/// at a time (byte `j` of a slice depends only on byte `j` of the others),
/// in one pass over the file per stripe, as `par2 repair -m` does: the file
/// is written with the intact slices first, each stripe of the damaged ones
/// written in place, and the result read back for its MD5.
pub fn rebuild(
    path: &Path,
    loaded: &Loaded,
    damage: &Damage,
    out: &Path,
    budget: u64,
    stop: Stop,
) -> Result<[u8; 32]> {
    let size = loaded.slice_size as usize;
    let d = damage.damaged.len();
    let beyond = || Error::BeyondRepair {
        path: path.into(),
        damaged: d as u64,
        blocks: loaded.blocks.len() as u64,
    };
    if d > loaded.blocks.len() {
        return Err(beyond());
    }
    let constants = gf16::input_constants(loaded.checks.len());
    let chosen = if d == 0 {
        None
    } else {
        Some(choose(loaded, &damage.damaged, &constants).ok_or_else(beyond)?)
    };
    let width = stripe_width(size, d, budget);
    let got = match &chosen {
        None => write_repaired(path, loaded, damage, None, out, stop)?,
        Some((exps, inverse)) if width == size => {
            let rebuilt = rebuilt(path, loaded, damage, exps, inverse, 0..size, stop)?;
            write_repaired(path, loaded, damage, Some(&rebuilt), out, stop)?
        }
        Some((exps, inverse)) => {
            write_repaired(path, loaded, damage, None, out, stop)?;
            let mut dst = OpenOptions::new().write(true).open(out).at(out)?;
            let mut buf = vec![0u8; width];
            for start in (0..size).step_by(width) {
                let range = start..(start + width).min(size);
                let rebuilt = rebuilt(path, loaded, damage, exps, inverse, range, stop)?;
                for (k, &i) in damage.damaged.iter().enumerate() {
                    let n = slice_len(loaded, i).saturating_sub(start).min(width);
                    if n > 0 {
                        rebuilt.slice(k, &mut buf[..rebuilt.range.len()]);
                        dst.seek(SeekFrom::Start(i as u64 * loaded.slice_size + start as u64))
                            .at(out)?;
                        dst.write_all(&buf[..n]).at(out)?;
                    }
                }
            }
            dst.sync_all().at(out)?;
            let mut file = File::open(out).at(out)?;
            let mut hashes = Hashes::new();
            loop {
                let mut buf = vec![0u8; size];
                let n = read_full(&mut file, &mut buf).at(out)?;
                if n == 0 {
                    break;
                }
                buf.truncate(n);
                hashes.add(buf);
            }
            hashes.finish()
        }
    };
    let (md5, sha256) = got;
    if md5 != loaded.desc.md5 {
        return Err(Error::Damaged {
            path: path.into(),
            detail: "the repaired file does not match the recovery set's MD5; nothing was replaced"
                .into(),
        });
    }
    Ok(sha256)
}

/// The MD5 (PAR2's check) and SHA-256 (the medium's) of a file written in
/// pieces, each on a thread of its own beside the writing.
struct Hashes {
    senders: Vec<crossbeam_channel::Sender<Arc<Vec<u8>>>>,
    md5: std::thread::JoinHandle<Md5>,
    sha256: std::thread::JoinHandle<Sha256>,
}

impl Hashes {
    fn new() -> Self {
        fn hasher<D: Digest + Send + 'static>(
            senders: &mut Vec<crossbeam_channel::Sender<Arc<Vec<u8>>>>,
        ) -> std::thread::JoinHandle<D> {
            let (tx, rx) = crossbeam_channel::bounded::<Arc<Vec<u8>>>(8);
            senders.push(tx);
            std::thread::spawn(move || {
                let mut d = D::new();
                rx.iter().for_each(|piece| d.update(&piece[..]));
                d
            })
        }
        let mut senders = Vec::new();
        let md5 = hasher(&mut senders);
        let sha256 = hasher(&mut senders);
        Hashes {
            senders,
            md5,
            sha256,
        }
    }

    fn add(&mut self, piece: Vec<u8>) {
        let piece = Arc::new(piece);
        for tx in &self.senders {
            tx.send(piece.clone()).expect("the hashing threads run");
        }
    }

    fn finish(self) -> (Md5Hash, [u8; 32]) {
        drop(self.senders);
        (
            self.md5.join().expect("MD5 thread").finalize().into(),
            self.sha256
                .join()
                .expect("SHA-256 thread")
                .finalize()
                .into(),
        )
    }
}

/// The stripe of each slice rebuilt at once: all of it when the sums of
/// `damaged` slices fit in `budget` bytes, else whole chunks of the
/// kernel's layout (at least one) that fit.
fn stripe_width(size: usize, damaged: usize, budget: u64) -> usize {
    let per_sum = budget / damaged.max(1) as u64;
    if per_sum >= size as u64 {
        return size;
    }
    (per_sum as usize / CHUNK * CHUNK).clamp(CHUNK, size)
}

/// The sums for bytes `range` of every slice: the chosen recovery blocks
/// with the intact slices' part taken out, in one pass over the file.
fn rebuilt(
    path: &Path,
    loaded: &Loaded,
    damage: &Damage,
    exps: &[u32],
    inverse: &[Vec<u16>],
    range: Range<usize>,
    stop: Stop,
) -> Result<Rebuilt> {
    // R'_j = R_j + Σ_{good i} c_i^e_j · S_i = Σ_{damaged k} c_k^e_j · S_k.
    let mut acc = Accumulator::new(range.len(), exps.to_vec());
    let mut file = File::open(path).at(path)?;
    for i in 0..loaded.checks.len() {
        stopped(stop, "rebuild", i)?;
        let want = slice_len(loaded, i)
            .saturating_sub(range.start)
            .min(range.len());
        let mut buf = vec![0u8; want];
        if damage.damaged.binary_search(&i).is_ok() {
            buf.clear();
        } else if want > 0 {
            file.seek(SeekFrom::Start(
                damage.offset(loaded, i) + range.start as u64,
            ))
            .at(path)?;
            read_full(&mut file, &mut buf).at(path)?;
        }
        acc.push(buf);
    }
    let mut sums = acc.finish();
    let kernel = Kernel::detect();
    for (s, e) in sums.iter_mut().zip(exps) {
        loaded.blocks[e].xor_into(range.start as u64, &mut s.data)?;
        s.data.resize(range.len().next_multiple_of(CHUNK), 0);
        kernel.split(&mut s.data);
    }
    Ok(Rebuilt {
        sums: sums.into_iter().map(|s| s.data).collect(),
        inverse: inverse.to_vec(),
        range,
        kernel,
    })
}

/// The damaged slices' bytes in `range`, each made when it is written: the
/// sums (the only large buffer, in the kernel's split layout, padded to
/// whole chunks) and the rows of the inverse that combine them.
struct Rebuilt {
    sums: Vec<Vec<u8>>,
    inverse: Vec<Vec<u16>>,
    range: Range<usize>,
    kernel: Kernel,
}

impl Rebuilt {
    /// The `k`th damaged slice's bytes in the range (`into` is as long).
    fn slice(&self, k: usize, into: &mut [u8]) {
        let mut made = kernel::accumulator(self.range.len().next_multiple_of(CHUNK));
        for (f, s) in self.inverse[k].iter().zip(&self.sums) {
            self.kernel
                .mul_acc_split(&mut made, s, &self.kernel.multiplier(*f));
        }
        self.kernel.join(&mut made);
        into.copy_from_slice(&made[..into.len()]);
    }
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

/// Writes the repaired file: the intact slices where they belong, the
/// damaged ones from `rebuilt` (zeros without it, for the stripes to fill
/// in); returns the MD5 and SHA-256 of what it wrote.
fn write_repaired(
    path: &Path,
    loaded: &Loaded,
    damage: &Damage,
    rebuilt: Option<&Rebuilt>,
    out: &Path,
    stop: Stop,
) -> Result<(Md5Hash, [u8; 32])> {
    let mut src = File::open(path).at(path)?;
    let mut dst = OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(out)
        .at(out)?;
    let mut hashes = Hashes::new();
    let mut fixed = damage.damaged.iter().enumerate().peekable();
    for i in 0..loaded.checks.len() {
        stopped(stop, "write", i)?;
        let want = slice_len(loaded, i);
        let mut buf = vec![0u8; loaded.slice_size as usize];
        match fixed.peek() {
            Some((k, at)) if **at == i => {
                match rebuilt {
                    Some(r) => r.slice(*k, &mut buf),
                    None => buf.fill(0),
                }
                fixed.next();
            }
            _ => {
                src.seek(SeekFrom::Start(damage.offset(loaded, i)))
                    .at(path)?;
                read_full(&mut src, &mut buf[..want]).at(path)?;
            }
        }
        buf.truncate(want);
        dst.write_all(&buf).at(out)?;
        hashes.add(buf);
    }
    dst.sync_all().at(out)?;
    Ok(hashes.finish())
}
