//! Creating PAR2 recovery data while the archive is written: the writer
//! hands over its ciphertext as it goes ([`Creator`], a `Write`), a hashing
//! thread computes the file's MD5 (one stream, the only serial part), and
//! an accumulating thread, on every core, computes each slice's MD5 and
//! CRC32 and adds the slice, times its constant raised to each recovery
//! block's exponent, into the recovery blocks held in memory
//! ([`Accumulator`], in the kernel's split layout until they are done).
//! The same accumulator makes further blocks in more passes over a written
//! file when they did not fit in the memory budget, each budget's worth
//! written out before more are made ([`complete`]).

use std::fs::File;
use std::io::{self, Write};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use crossbeam_channel::{Receiver, Sender, bounded};
use md5::{Digest, Md5};

use super::gf16;
use super::kernel::{self, CHUNK, Kernel, Multiplier};
use super::packets::{FileDescription, Md5Hash, SliceCheck};
use super::{Recovery, RecoverySet, Settings};
use crate::error::{Error, IoContext, Result};
use crate::util::io::read_full;

/// Slices multiplied into the recovery blocks together, so that each
/// stretch of a block is loaded once per group rather than once per slice.
const GROUP: usize = 16;
/// The stretch of a slice processed against every block before the next.
const PIECE: usize = 2 << 10;

/// Recovery blocks being built from input slices fed in order.
pub struct Accumulator {
    slice_size: usize,
    /// The slice size rounded up to whole chunks of the split layout (the
    /// padding is zeros, and adds nothing).
    padded: usize,
    kernel: Kernel,
    exponents: Vec<u32>,
    /// In the split layout until [`Accumulator::finish`].
    blocks: Vec<Vec<u8>>,
    group: Vec<Vec<u8>>,
    /// Slices consumed (including those in `group`).
    slices: usize,
    constants: Vec<u16>,
    threads: usize,
    /// Each slice's MD5 and CRC32, when asked for.
    checks: Option<Vec<SliceCheck>>,
    /// The slices' MD5s, a group at a time in SIMD lanes.
    md5s: md5_many::Md5Many,
}

impl Accumulator {
    pub fn new(slice_size: usize, exponents: Vec<u32>) -> Self {
        assert!(slice_size.is_multiple_of(4) && slice_size > 0);
        let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
        let padded = slice_size.next_multiple_of(CHUNK);
        Accumulator {
            slice_size,
            padded,
            kernel: Kernel::detect(),
            blocks: exponents
                .iter()
                .map(|_| kernel::accumulator(padded))
                .collect(),
            exponents,
            group: Vec::with_capacity(GROUP),
            slices: 0,
            constants: Vec::new(),
            threads,
            checks: None,
            md5s: md5_many::Md5Many::new(),
        }
    }

    /// Also computes each slice's MD5 and CRC32 (on every core, beside the
    /// multiplying), handed out by [`Accumulator::finish_checked`].
    pub fn with_checks(mut self) -> Self {
        self.checks = Some(Vec::new());
        self
    }

    /// Uses this kernel (tests compare them).
    pub fn with_kernel(mut self, kernel: Kernel) -> Self {
        self.kernel = kernel;
        self
    }

    pub fn kept(&self) -> usize {
        self.exponents.len()
    }

    /// Stops building all but the first `n` blocks and frees them.
    pub fn keep(&mut self, n: usize) {
        self.exponents.truncate(n);
        self.blocks.truncate(n);
    }

    /// Adds the next input slice (shorter only when it is the last: it is
    /// zero padded).
    pub fn push(&mut self, mut slice: Vec<u8>) {
        assert!(slice.len() <= self.slice_size);
        slice.resize(self.padded, 0);
        self.group.push(slice);
        self.slices += 1;
        if self.group.len() == GROUP {
            self.flush();
        }
        if self.slices > gf16::MAX_SLICES {
            // Checked by the caller before it gets here; never silently
            // wrong.
            panic!("more than {} input slices", gf16::MAX_SLICES);
        }
    }

    fn flush(&mut self) {
        let n = self.group.len();
        let multiply = !self.blocks.is_empty();
        if n == 0 || (!multiply && self.checks.is_none()) {
            self.group.clear();
            return;
        }
        // The group's slices: their checks (of the natural bytes, padded
        // with zeros to the slice size: `push` padded them), then the split
        // layout. The MD5s of the whole group at once, the CRCs and the
        // splitting of each slice on every core.
        let (kernel, size) = (self.kernel, self.slice_size);
        let want_checks = self.checks.is_some();
        let mut md5s = vec![[0u8; 16]; if want_checks { n } else { 0 }];
        let mut crcs = vec![0u32; n];
        let mut group = std::mem::take(&mut self.group);
        if want_checks {
            let natural: Vec<&[u8]> = group.iter().map(|s| &s[..size]).collect();
            self.md5s.hash_many(&natural, &mut md5s);
        }
        share(
            self.threads,
            group.iter_mut().zip(crcs.iter_mut()),
            |(slice, crc)| {
                if want_checks {
                    *crc = crc32fast::hash(&slice[..size]);
                }
                if multiply {
                    kernel.split(slice);
                }
            },
        );
        if let Some(all) = &mut self.checks {
            all.extend(
                md5s.into_iter()
                    .zip(crcs)
                    .map(|(md5, crc32)| SliceCheck { md5, crc32 }),
            );
        }
        if multiply {
            self.multiply(&group);
        }
        group.clear();
        self.group = group;
    }

    /// Adds the group of split slices into every block.
    fn multiply(&mut self, group: &[Vec<u8>]) {
        let first = self.slices - group.len();
        if self.constants.len() < self.slices {
            self.constants = gf16::input_constants(self.slices.max(2 * self.constants.len()));
        }
        let constants = &self.constants[first..self.slices];
        let kernel = self.kernel;
        let size = self.padded;
        // Small parts, so that the cores finish together.
        let per_part = self.blocks.len().div_ceil(8 * self.threads).max(1);
        let parts = self
            .blocks
            .chunks_mut(per_part)
            .zip(self.exponents.chunks(per_part));
        share(self.threads, parts, |(blocks, exps)| {
            let mults: Vec<Vec<Multiplier>> = exps
                .iter()
                .map(|&e| {
                    constants
                        .iter()
                        .map(|&c| kernel.multiplier(gf16::pow(c, e)))
                        .collect()
                })
                .collect();
            let mut at = 0;
            while at < size {
                let end = (at + PIECE).min(size);
                let srcs: Vec<&[u8]> = group.iter().map(|s| &s[at..end]).collect();
                for (block, ms) in blocks.iter_mut().zip(&mults) {
                    kernel.mul_acc_many(&mut block[at..end], &srcs, ms);
                }
                at = end;
            }
        });
    }

    /// The finished blocks with their exponents.
    pub fn finish(self) -> Vec<Recovery> {
        self.finish_checked().0
    }

    /// The finished blocks, and the slices' checks when they were asked
    /// for ([`Accumulator::with_checks`]; empty otherwise).
    pub fn finish_checked(mut self) -> (Vec<Recovery>, Vec<SliceCheck>) {
        self.flush();
        let (kernel, size) = (self.kernel, self.slice_size);
        let mut blocks = std::mem::take(&mut self.blocks);
        share(self.threads, blocks.iter_mut(), |block| {
            kernel.join(block);
            block.truncate(size);
        });
        let recovery = self
            .exponents
            .into_iter()
            .zip(blocks)
            .map(|(exponent, data)| Recovery { exponent, data })
            .collect();
        (recovery, self.checks.unwrap_or_default())
    }
}

/// Runs `work` on every part, on `threads` cores: each takes the next part
/// when it is free, so that a thread held up (the file's MD5 shares the
/// cores) does not keep the others waiting.
pub(super) fn share<T: Send>(
    threads: usize,
    parts: impl IntoIterator<Item = T>,
    work: impl Fn(T) + Sync,
) {
    let (tx, rx) = crossbeam_channel::unbounded();
    for part in parts {
        tx.send(part).expect("the receiver is here");
    }
    drop(tx);
    let worker = || rx.iter().for_each(&work);
    if threads <= 1 {
        return worker();
    }
    std::thread::scope(|s| {
        for _ in 1..threads {
            s.spawn(worker);
        }
        worker();
    });
}

/// What the hashing thread learns about the file.
struct Hashes {
    md5: Md5Hash,
    md5_16k: Md5Hash,
    length: u64,
}

/// Everything needed to write the recovery files, minus further passes.
pub struct Created {
    pub desc: FileDescription,
    pub checks: Vec<SliceCheck>,
    pub slice_size: u64,
    pub blocks: Vec<Recovery>,
}

/// Estimates the archive's final size from the bytes written so far
/// (`None`: no estimate, keep every block).
pub type Projection = Box<dyn Fn(u64) -> Option<u64> + Send>;

/// The streaming creator: write the protected file's bytes into it, in
/// order, then [`Creator::finish`].
pub struct Creator {
    slice_size: usize,
    current: Vec<u8>,
    written: Arc<AtomicU64>,
    tx: Option<Sender<Vec<u8>>>,
    hasher: Option<std::thread::JoinHandle<Hashes>>,
    accumulator: Option<std::thread::JoinHandle<Accumulator>>,
    name: Vec<u8>,
}

impl Creator {
    /// `name` is the protected file's name as PAR2 records it; `blocks` the
    /// number of recovery blocks built in this pass (exponents 0, 1, …).
    pub fn new(
        name: &str,
        settings: &Settings,
        slice_size: u64,
        blocks: u32,
        projection: Option<Projection>,
    ) -> Self {
        let slice_size = slice_size as usize;
        // Slices in flight besides the group being multiplied: a group's
        // worth hashed ahead, so that the file's MD5 goes on while a group
        // is multiplied, and a few for the writer.
        let (tx, rx) = bounded::<Vec<u8>>(4);
        let (to_acc, from_hash) = bounded::<Vec<u8>>(GROUP);
        let written = Arc::new(AtomicU64::new(0));
        let hasher = std::thread::spawn(move || hash_file(rx, to_acc));
        let percent = settings.percent;
        let spare = settings.spare;
        let seen = written.clone();
        let accumulator = std::thread::spawn(move || {
            let mut acc = Accumulator::new(slice_size, (0..blocks).collect()).with_checks();
            for slice in from_hash {
                acc.push(slice);
                if acc.slices.is_multiple_of(GROUP)
                    && let Some(p) = &projection
                    && let Some(total) = p(seen.load(Ordering::Relaxed))
                {
                    let slices = total.div_ceil(slice_size as u64);
                    let need = super::recovery_count(slices, percent, spare) as usize;
                    if need < acc.kept() {
                        acc.keep(need);
                    }
                }
            }
            acc
        });
        Creator {
            slice_size,
            current: Vec::with_capacity(slice_size),
            written,
            tx: Some(tx),
            hasher: Some(hasher),
            accumulator: Some(accumulator),
            name: name.as_bytes().to_vec(),
        }
    }

    fn send(&mut self) -> io::Result<()> {
        let full = std::mem::replace(&mut self.current, Vec::with_capacity(self.slice_size));
        let tx = self.tx.as_ref().expect("not finished");
        tx.send(full)
            .map_err(|_| io::Error::other("the parity thread stopped"))
    }

    /// Waits for the threads and returns the file's description, slice
    /// checks and the blocks built.
    pub fn finish(mut self) -> Result<Created> {
        if !self.current.is_empty() {
            self.send().map_err(|e| Error::Usage(e.to_string()))?;
        }
        self.tx = None;
        let panicked = || Error::Usage("the parity thread panicked".into());
        let hashes = self
            .hasher
            .take()
            .expect("once")
            .join()
            .map_err(|_| panicked())?;
        let acc = self
            .accumulator
            .take()
            .expect("once")
            .join()
            .map_err(|_| panicked())?;
        let (blocks, checks) = acc.finish_checked();
        let file_id = FileDescription::file_id(&hashes.md5_16k, hashes.length, &self.name);
        Ok(Created {
            desc: FileDescription {
                file_id,
                md5: hashes.md5,
                md5_16k: hashes.md5_16k,
                length: hashes.length,
                name: self.name.clone(),
            },
            checks,
            slice_size: self.slice_size as u64,
            blocks,
        })
    }
}

impl Write for Creator {
    fn write(&mut self, mut buf: &[u8]) -> io::Result<usize> {
        let n = buf.len();
        while !buf.is_empty() {
            let take = (self.slice_size - self.current.len()).min(buf.len());
            self.current.extend_from_slice(&buf[..take]);
            buf = &buf[take..];
            if self.current.len() == self.slice_size {
                self.send()?;
            }
        }
        let total = self.written.fetch_add(n as u64, Ordering::Relaxed) + n as u64;
        if total.div_ceil(self.slice_size as u64) > gf16::MAX_SLICES as u64 {
            return Err(io::Error::other(format!(
                "the archive outgrew the {} slices PAR2 allows",
                gf16::MAX_SLICES
            )));
        }
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Drop for Creator {
    fn drop(&mut self) {
        self.tx = None;
        if let Some(h) = self.hasher.take() {
            let _ = h.join();
        }
        if let Some(h) = self.accumulator.take() {
            let _ = h.join();
        }
    }
}

/// The hashing thread: the whole file's MD5 (and of its first 16 KiB),
/// then the slice goes on.
fn hash_file(rx: Receiver<Vec<u8>>, next: Sender<Vec<u8>>) -> Hashes {
    // The serial part of parity: md5-many's scalar rounds are about a
    // quarter faster than md-5's portable ones.
    use md5_many::Digest as _;
    let mut file = md5_many::Md5::new();
    let mut first = md5_many::Md5::new();
    let mut first_len = 0usize;
    let mut length = 0u64;
    for slice in rx {
        file.update(&slice);
        if first_len < 16384 {
            let take = (16384 - first_len).min(slice.len());
            first.update(&slice[..take]);
            first_len += take;
        }
        length += slice.len() as u64;
        let _ = next.send(slice);
    }
    Hashes {
        md5: file.finalize().into(),
        md5_16k: first.finalize().into(),
        length,
    }
}

/// MD5 and CRC32 of a slice padded with zeros to `size`.
pub fn slice_check(slice: &[u8], size: usize) -> SliceCheck {
    let mut md5 = Md5::new();
    let mut crc = crc32fast::Hasher::new();
    md5.update(slice);
    crc.update(slice);
    if slice.len() < size {
        let zeros = vec![0u8; size - slice.len()];
        md5.update(&zeros);
        crc.update(&zeros);
    }
    SliceCheck {
        md5: md5.finalize().into(),
        crc32: crc.finalize(),
    }
}

/// Builds the blocks of `exponents` in one pass over a written file.
pub fn blocks_from_file(path: &Path, slice_size: u64, exponents: &[u32]) -> Result<Vec<Recovery>> {
    let mut file = File::open(path).at(path)?;
    let mut acc = Accumulator::new(slice_size as usize, exponents.to_vec());
    loop {
        let mut slice = vec![0u8; slice_size as usize];
        let n = read_full(&mut file, &mut slice).at(path)?;
        if n == 0 {
            break;
        }
        slice.truncate(n);
        acc.push(slice);
        if n < slice_size as usize {
            break;
        }
    }
    Ok(acc.finish())
}

/// Slices held besides the recovery blocks while they are made, at most:
/// the group being multiplied and the group queued behind it, those on
/// their way from the writer and being hashed, the one being filled. The
/// memory budget counts them (at 1 MiB slices, 38 MiB of it).
pub const SLICES_HELD: u64 = 2 * GROUP as u64 + 6;

/// Recovery blocks that fit in `budget` bytes beside the slices being
/// multiplied into them (at least one).
pub fn per_pass(budget: u64, slice_size: u64) -> usize {
    let slice = slice_size.max(1);
    ((budget.saturating_sub(SLICES_HELD * slice) / slice) as usize).max(1)
}

/// Brings a created set to `need` blocks and hands them to `emit` in
/// batches of at most the memory budget's worth, each written out (as one
/// volume file) and freed before more are made, so that no more than the
/// budget's worth of blocks is ever held. The blocks made in the writing
/// pass (those beyond `need` dropped) start the first batch (`first` is
/// true: write the index too); the missing ones (that did not fit in
/// memory, or that a low estimate of the size left out) are made in
/// further passes over the written file, filling the batch held before a
/// new one is started. Returns the set's number of blocks and the passes
/// over the data it took (the writing pass included).
pub fn complete(
    created: Created,
    creator: &str,
    need: u32,
    written: &Path,
    budget: u64,
    emit: &mut dyn FnMut(&RecoverySet, bool) -> Result<()>,
) -> Result<Completed> {
    let mut set = RecoverySet::new(created, creator);
    set.blocks.truncate(need as usize);
    let room = per_pass(budget, set.slice_size);
    let mut next = set.blocks.len() as u32;
    let mut first = true;
    let mut passes = 1;
    while next < need {
        let space = room.saturating_sub(set.blocks.len()) as u32;
        if space == 0 {
            emit(&set, first)?;
            first = false;
            set.blocks = Vec::new();
            continue;
        }
        let count = space.min(need - next);
        let exps: Vec<u32> = (next..next + count).collect();
        let made = blocks_from_file(written, set.slice_size, &exps)?;
        passes += 1;
        set.blocks.extend(made);
        next += count;
    }
    emit(&set, first)?;
    Ok(Completed {
        blocks: need,
        passes,
    })
}

/// What [`complete`] made: the set's recovery blocks, and the passes over
/// the protected data that took (1: all made while it was written).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Completed {
    pub blocks: u32,
    pub passes: u32,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A batch handed out: whether it was the first, and its exponents.
    type Batch = (bool, Vec<u32>);

    /// A file of 37 slices (the last short) with its set made by the
    /// creator holding `first` blocks, completed to `need` under a budget
    /// of 3 blocks: the batches handed out, every block's data by
    /// exponent, and the passes over the data.
    fn batches(first: u32, need: u32) -> (Vec<Batch>, Vec<Recovery>, u32) {
        const SLICE: u64 = 4096;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f.kluis");
        let data: Vec<u8> = (0..36 * SLICE as usize + 1000)
            .map(|i| (i * 7 + i / 4096) as u8)
            .collect();
        std::fs::write(&path, &data).unwrap();
        let mut creator = Creator::new("f.kluis", &Settings::default(), SLICE, first, None);
        creator.write_all(&data).unwrap();
        let created = creator.finish().unwrap();
        let (mut seen, mut blocks) = (Vec::new(), Vec::new());
        let total = complete(
            created,
            "test",
            need,
            &path,
            (3 + SLICES_HELD) * SLICE,
            &mut |set, first| {
                seen.push((first, set.blocks.iter().map(|b| b.exponent).collect()));
                blocks.extend(set.blocks.iter().cloned());
                Ok(())
            },
        )
        .unwrap();
        assert_eq!(total.blocks, need);
        (seen, blocks, total.passes)
    }

    /// The blocks of exponents 0..n made in one pass, for comparison.
    fn reference(n: u32) -> Vec<Recovery> {
        let data: Vec<u8> = (0..36 * 4096 + 1000)
            .map(|i| (i * 7 + i / 4096) as u8)
            .collect();
        let mut acc = Accumulator::new(4096, (0..n).collect());
        for slice in data.chunks(4096) {
            acc.push(slice.to_vec());
        }
        acc.finish()
    }

    /// The slices' checks made a group at a time (md5-many's lanes) and
    /// the file's MD5 are md-5's, for groups cut short, a short last
    /// slice and a file shorter than 16 KiB.
    #[test]
    fn checks_and_file_hashes_match_md5_one_slice_at_a_time() {
        for (slice, len) in [
            (4096usize, 36 * 4096 + 1000),
            (1028, 5 * 1028),
            (4096, 3000),
        ] {
            let data: Vec<u8> = (0..len).map(|i| (i * 31 + i / 977) as u8).collect();
            let mut creator = Creator::new("f", &Settings::default(), slice as u64, 2, None);
            creator.write_all(&data).unwrap();
            let created = creator.finish().unwrap();
            let want: Vec<SliceCheck> = data.chunks(slice).map(|s| slice_check(s, slice)).collect();
            assert_eq!(created.checks, want, "slice {slice}, {len} bytes");
            let md5: Md5Hash = Md5::digest(&data).into();
            let md5_16k: Md5Hash = Md5::digest(&data[..len.min(16384)]).into();
            assert_eq!(created.desc.md5, md5);
            assert_eq!(created.desc.md5_16k, md5_16k);
            assert_eq!(created.desc.length, len as u64);
        }
    }

    #[test]
    fn no_more_than_the_budget_of_blocks_is_handed_out_at_once() {
        let (seen, blocks, passes) = batches(3, 10);
        assert_eq!(passes, 4);
        assert_eq!(
            seen,
            vec![
                (true, vec![0, 1, 2]),
                (false, vec![3, 4, 5]),
                (false, vec![6, 7, 8]),
                (false, vec![9]),
            ]
        );
        for (got, want) in blocks.iter().zip(reference(10)) {
            assert_eq!(got.exponent, want.exponent);
            assert!(got.data == want.data, "block {}", got.exponent);
        }
    }

    #[test]
    fn blocks_of_further_passes_join_a_batch_with_room() {
        let (seen, blocks, passes) = batches(1, 5);
        assert_eq!(passes, 3);
        assert_eq!(seen, vec![(true, vec![0, 1, 2]), (false, vec![3, 4])]);
        for (got, want) in blocks.iter().zip(reference(5)) {
            assert_eq!(got.exponent, want.exponent);
            assert!(got.data == want.data, "block {}", got.exponent);
        }
    }

    #[test]
    fn blocks_beyond_the_need_are_dropped_in_one_batch() {
        let (seen, blocks, passes) = batches(3, 2);
        assert_eq!(passes, 1);
        assert_eq!(seen, vec![(true, vec![0, 1])]);
        assert_eq!(blocks.len(), 2);
    }
}
