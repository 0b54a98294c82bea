//! Parity in the archive's writing pass: the first copy's output also feeds
//! a PAR2 creator ([`Output`]); once the copies are read back, the recovery
//! set is completed (blocks that did not fit in memory made in more passes
//! over the written copy, each budget's worth written out before more) and
//! its files are written and read back on every medium ([`finish`]), to be
//! renamed into place with the archive.

use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::error::Result;
use crate::format::FRAME_CAP;
use crate::parity::create::{Creator, complete, per_pass};
use crate::parity::{self, Settings, recovery_count, slice_size_for};
use crate::progress::Progress;
use crate::vault::media::Medium;
use crate::vault::parity::{Staged as StagedFile, stage};
use crate::vault::readback::CopyWriter;

/// A copy being written, and for one copy the parity creator fed the same
/// bytes.
pub struct Output {
    pub copy: CopyWriter,
    pub parity: Option<Creator>,
}

impl Output {
    pub fn new(copy: CopyWriter, parity: Option<Creator>) -> Self {
        Output { copy, parity }
    }
}

impl Write for Output {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.copy.write(buf)?;
        if let Some(p) = &mut self.parity {
            p.write_all(&buf[..n])?;
        }
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.copy.flush()
    }
}

/// Forwards progress and counts the record bytes read, from which the
/// creator projects the archive's final size.
pub struct Counting<'a> {
    inner: &'a dyn Progress,
    done: Arc<AtomicU64>,
}

impl<'a> Counting<'a> {
    pub fn new(inner: &'a dyn Progress) -> Self {
        Counting {
            inner,
            done: Arc::new(AtomicU64::new(0)),
        }
    }
}

impl Progress for Counting<'_> {
    fn phase(&self, name: &str, total: u64) {
        self.inner.phase(name, total)
    }
    fn advance(&self, bytes: u64) {
        self.done.fetch_add(bytes, Ordering::Relaxed);
        self.inner.advance(bytes)
    }
    fn note(&self, message: &str) {
        self.inner.note(message)
    }
}

/// Bytes read from the records but not yet through compression and
/// encryption into the parity creator, at most, with `workers` compression
/// workers: the frames between the tar builder and the writer (the
/// writer's pool of `workers + 2` and the one being filled, each at most
/// [`FRAME_CAP`] and no larger compressed than that but for zstd's few
/// bytes of framing), one more for those bytes and the buffers between
/// (the encryption's chunk, a read's buffer).
fn in_flight(workers: usize) -> u64 {
    (workers.max(1) as u64 + 4) * FRAME_CAP as u64
}

/// Per archive entry, room for what its records' bytes do not count: its
/// tar header and padding while it is still to come, its lines in the
/// manifest, path index and checksums after the records (compressed, a few
/// hundred bytes for paths of usual length).
const PER_ENTRY: u64 = 512;

/// A creator for an archive of `records` bytes of records in `entries`
/// entries: the slice size from that (an upper bound: zstd rarely
/// expands), as many blocks as that size needs (within the memory budget);
/// blocks the archive is sure not to need, as its compression shows, are
/// dropped on the way.
pub fn creator(
    file: &str,
    settings: &Settings,
    (records, entries): (u64, u64),
    workers: usize,
    counting: &Counting,
) -> Creator {
    let estimate = records + entries * PER_ENTRY + (1 << 20);
    let slice = slice_size_for(estimate);
    let wanted = recovery_count(estimate.div_ceil(slice), settings.percent, settings.spare);
    let fits = per_pass(settings.budget, slice) as u32;
    let done = counting.done.clone();
    let in_flight = in_flight(workers);
    let projection: parity::create::Projection = Box::new(move |written| {
        if records == 0 {
            return None;
        }
        // An upper bound, not a guess: what is written, the records not
        // yet read as if they did not compress at all, what is between the
        // reader and here, and room for the entries' headers and lines. A
        // projection from the ratio so far falls short whenever a year's
        // first records compress better than the rest (mail and books
        // before scans): the blocks it drops are then made in a second
        // pass over the written copy, a second read of the whole archive
        // from a USB stick.
        let left = records.saturating_sub(done.load(Ordering::Relaxed));
        Some(written + left + left / 32 + in_flight + entries * PER_ENTRY)
    });
    Creator::new(file, settings, slice, wanted.min(fits), Some(projection))
}

/// The recovery set and the files written for it on each medium.
pub type Staged = (Written, Vec<Vec<StagedFile>>);

/// What parity was written.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Written {
    pub slice_size: u64,
    pub slices: u64,
    pub blocks: u32,
    pub percent: u32,
    /// Bytes of parity files per copy.
    pub bytes: u64,
    /// Passes over the archive's bytes it took: 1 when every block was made
    /// while the archive was written; more when the blocks exceeded the
    /// memory budget (or the size bound fell short), each further pass a
    /// read of the written copy.
    pub passes: u32,
}

/// Completes the set (further passes over `written` for blocks that were
/// dropped or did not fit in memory), then writes and reads back its files
/// on every medium.
pub fn finish(
    creator: Creator,
    settings: &Settings,
    media: &[Medium],
    file: &str,
    written: &Path,
    progress: &dyn Progress,
    temps: &mut Vec<PathBuf>,
) -> Result<Staged> {
    progress.phase("parity", 0);
    let created = creator.finish()?;
    let (slice_size, slices) = (created.slice_size, created.checks.len() as u64);
    let need = recovery_count(slices, settings.percent, settings.spare);
    let mut files: Vec<Vec<StagedFile>> = media.iter().map(|_| Vec::new()).collect();
    let done = complete(
        created,
        crate::TOOL_VERSION,
        need,
        written,
        settings.budget,
        &mut |set, first| {
            for (m, staged) in media.iter().zip(&mut files) {
                staged.extend(stage(m, file, set, first, temps)?);
            }
            Ok(())
        },
    )?;
    let bytes = files
        .first()
        .map(|f| {
            f.iter()
                .filter_map(|s| std::fs::metadata(&s.temp).ok())
                .map(|m| m.len())
                .sum()
        })
        .unwrap_or(0);
    Ok((
        Written {
            slice_size,
            slices,
            blocks: done.blocks,
            percent: settings.percent,
            bytes,
            passes: done.passes,
        },
        files,
    ))
}
