//! A copy written to a medium and read back from it: [`CopyWriter`] writes
//! each block to the medium as soon as it is complete and checks it, read
//! back from the medium, while the later blocks are written; and
//! [`hash_file`], the SHA-256 of a file as the medium returns it (its
//! cached pages dropped first).

use std::fs::{self, File};
use std::io::{self, Read, Write};
use std::num::NonZeroU64;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::thread::JoinHandle;

use crossbeam_channel::{Receiver, Sender, bounded};
use sha2::{Digest, Sha256};

use crate::error::{Error, IoContext, Result};
use crate::util::direct::{ALIGN, AlignedBuf, DirectFile, DirectWriter, Sequential};

/// Where the file system refuses direct writes, how far behind the writer
/// the trailing read-back runs (the kernel is asked to write out each such
/// stretch as it is complete).
const TRAIL_STEP: u64 = 32 << 20;

/// The copy is written, and the read-back compares the medium's bytes with
/// what was written, a block of this size at a time (the latter by their
/// CRC-32s).
const CHECK_BLOCK: u64 = 1 << 20;

/// Blocks on their way to the medium: how far the caller may be ahead of
/// it before a write waits.
const IN_FLIGHT: usize = 4;

/// A stretch of a copy written: up to which offset (a block boundary, or
/// the end), and the CRC-32 of each block in it not sent before.
type Written = (u64, Vec<u32>);

/// Called by the writing thread after each write, with the range written
/// and whether it was the last: the unit tests' stand-in for a medium that
/// returns other bytes than it was given.
type Meddle = Box<dyn FnMut(Range<u64>, bool) + Send>;

/// A copy being written to a medium, read back while it is written.
///
/// The caller's bytes are gathered into blocks of [`CHECK_BLOCK`]; a
/// writing thread puts each complete block on the medium (by a direct
/// write where the file system takes it: the bytes go to the device
/// without a copy through the page cache), and a verifier thread follows
/// it, reading each block back from the medium (direct reads) while the
/// later ones are written, so that the check costs little time after the
/// last byte. Where direct writes are refused, blocks are written through
/// the page cache, the kernel is asked to write out each stretch of
/// [`TRAIL_STEP`] at once, and the verifier reads a stretch once it is on
/// the medium, its cached pages dropped.
///
/// The read-back has to prove that the medium returns the bytes that were
/// written, nothing more: the writer takes a CRC-32 of every block it
/// writes, and the verifier compares the CRC-32 of every block it reads
/// (the copy's SHA-256 is that of the bytes written; a second SHA-256 of
/// the whole file would prove no more, at about ten times the CPU time).
///
/// ```text
/// write ─▶ block ─▶ writing thread ─▶ medium ─▶ verifier (CRC-32 per block)
///            ◀── empty block back ──┘      └─ (until, CRC-32s) ──▶┘
/// ```
pub struct CopyWriter {
    path: PathBuf,
    file: File,
    /// Bytes given to `write` so far.
    written: u64,
    /// The block being filled: the copy's bytes from the last multiple of
    /// [`CHECK_BLOCK`] ([`CopyWriter::filled`] of them so far), the first
    /// `sent` of which were handed to the writing thread already (by a
    /// flush).
    block: Option<AlignedBuf>,
    sent: usize,
    /// The CRC-32 of the block being filled.
    crc: crc32fast::Hasher,
    jobs: Option<Sender<Job>>,
    /// Empty blocks, back from the writing thread.
    pool: Receiver<AlignedBuf>,
    putter: Option<JoinHandle<io::Result<()>>>,
    verifier: Option<JoinHandle<Result<ReadBack>>>,
}

/// Work for the writing thread.
enum Job {
    /// Bytes `range` of `buf`, the block that starts at `at`, go to the
    /// copy at `at + range.start`; `crc` is the block's CRC-32 when it ends
    /// with them (it is whole, or the copy's last).
    Put {
        at: u64,
        buf: AlignedBuf,
        range: Range<usize>,
        crc: Option<u32>,
        last: bool,
    },
    /// Answer once every earlier job is done.
    Barrier(Sender<()>),
}

/// What the read-back found: the bytes read, and whether every block read
/// matched the one written.
struct ReadBack {
    read: u64,
    same: bool,
}

impl CopyWriter {
    pub fn new(path: PathBuf, file: File) -> Result<Self> {
        Self::with_meddle(path, file, true, None)
    }

    /// With direct writes where the file system takes them (`direct`), or
    /// through the page cache in any case, as where it does not.
    fn with_meddle(
        path: PathBuf,
        file: File,
        direct: bool,
        meddle: Option<Meddle>,
    ) -> Result<Self> {
        let sync = file.try_clone().at(&path)?;
        let out = file.try_clone().at(&path)?;
        let reader = DirectFile::open(&path).at(&path)?;
        let (report, reports) = std::sync::mpsc::channel::<Written>();
        let vpath = path.clone();
        let verifier = std::thread::Builder::new()
            .name("kluis-read-back".into())
            .spawn(move || verify(reader, &sync, &vpath, reports))
            .map_err(|e| Error::io("the read-back thread", e))?;
        let (jobs, work) = bounded::<Job>(IN_FLIGHT);
        let (back, pool) = bounded::<AlignedBuf>(IN_FLIGHT + 1);
        for _ in 0..IN_FLIGHT {
            back.send(AlignedBuf::new(CHECK_BLOCK as usize))
                .expect("the pool has room");
        }
        let putter = std::thread::Builder::new()
            .name("kluis-write".into())
            .spawn(move || {
                let out = match direct {
                    true => DirectWriter::new(out),
                    false => DirectWriter::buffered(out),
                };
                put(out, &work, &back, &report, meddle)
            })
            .map_err(|e| Error::io("the writing thread", e))?;
        Ok(CopyWriter {
            path,
            file,
            written: 0,
            block: Some(AlignedBuf::new(CHECK_BLOCK as usize)),
            sent: 0,
            crc: crc32fast::Hasher::new(),
            jobs: Some(jobs),
            pool,
            putter: Some(putter),
            verifier: Some(verifier),
        })
    }

    /// Writes what is left, waits for the read-back to reach the end and
    /// checks it against what was written (`size` bytes, as the caller
    /// counted them). The file is synced when this returns `Ok`.
    pub fn finish(mut self, size: u64) -> Result<()> {
        let filled = self.filled();
        let crc = (filled > 0).then(|| std::mem::take(&mut self.crc).finalize());
        let job = Job::Put {
            at: self.written - filled as u64,
            buf: self.block.take().expect("finish runs once"),
            range: self.sent..filled,
            crc,
            last: true,
        };
        if let Some(jobs) = self.jobs.take() {
            let _ = jobs.send(job);
        }
        // The writing thread ends with the jobs; its error (a full medium)
        // comes first.
        self.failure().map_err(|e| Error::io(&self.path, e))?;
        let back = self
            .verifier
            .take()
            .expect("finish runs once")
            .join()
            .map_err(|_| Error::Usage("the read-back thread panicked".into()))??;
        // The copy must still be at its name: a medium swapped or its
        // folder removed while it was written leaves the written file
        // unreachable (or another in its place), however well it read back.
        self.still_in_place()?;
        if back.read != size || !back.same || self.written != size {
            return Err(Error::ReadBackMismatch {
                medium: self.path.parent().unwrap_or(Path::new(".")).into(),
                file: self
                    .path
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default(),
            });
        }
        Ok(())
    }

    /// The bytes of the block being filled: a whole block is handed over
    /// as soon as it is complete.
    fn filled(&self) -> usize {
        (self.written % CHECK_BLOCK) as usize
    }

    /// Hands a job to the writing thread: an error (the thread's) when it
    /// stopped.
    fn send(&mut self, job: Job) -> io::Result<()> {
        match self.jobs.as_ref().is_some_and(|j| j.send(job).is_ok()) {
            true => Ok(()),
            false => Err(self.stopped()),
        }
    }

    /// An empty block from the pool: an error (the writing thread's) when
    /// it stopped.
    fn empty_block(&mut self) -> io::Result<AlignedBuf> {
        self.pool.recv().map_err(|_| self.stopped())
    }

    /// The writing thread stopped early: its error (once), else why.
    fn stopped(&mut self) -> io::Error {
        match self.failure() {
            Err(e) => e,
            Ok(()) => io::Error::other("the copy's writing thread has stopped"),
        }
    }

    /// Waits for the writing thread to end: its error, if it had one (once).
    fn failure(&mut self) -> io::Result<()> {
        self.jobs = None;
        match self.putter.take().map(JoinHandle::join) {
            Some(Ok(result)) => result,
            Some(Err(_)) => Err(io::Error::other("the copy's writing thread panicked")),
            None => Ok(()),
        }
    }

    /// Whether the file at the copy's name is the one written (same device
    /// and inode).
    fn still_in_place(&self) -> Result<()> {
        use std::os::unix::fs::MetadataExt;
        let named = fs::metadata(&self.path).at(&self.path)?;
        let open = self.file.metadata().at(&self.path)?;
        if (named.dev(), named.ino()) != (open.dev(), open.ino()) {
            return Err(Error::io(
                &self.path,
                io::Error::other(
                    "another file took its place while it was written (was the medium swapped or its folder replaced?); archive again with the medium in place",
                ),
            ));
        }
        Ok(())
    }
}

impl Write for CopyWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let filled = self.filled();
        let block = self.block.as_mut().expect("written after finish");
        let take = (CHECK_BLOCK as usize - filled).min(buf.len());
        let data = &buf[..take];
        block.bytes_mut()[filled..filled + take].copy_from_slice(data);
        self.crc.update(data);
        self.written += take as u64;
        if filled + take == CHECK_BLOCK as usize {
            let next = self.empty_block()?;
            let full = self.block.replace(next).expect("a block is being filled");
            let job = Job::Put {
                at: self.written - CHECK_BLOCK,
                buf: full,
                range: self.sent..CHECK_BLOCK as usize,
                crc: Some(std::mem::take(&mut self.crc).finalize()),
                last: false,
            };
            self.sent = 0;
            self.send(job)?;
        }
        Ok(take)
    }

    /// Puts every byte written so far in the file (the block being filled
    /// stays, to be written whole later where it can).
    fn flush(&mut self) -> io::Result<()> {
        let filled = self.filled();
        if filled > self.sent {
            let mut buf = self.empty_block()?;
            let part = self.sent..filled;
            let block = self.block.as_ref().expect("written after finish");
            buf.bytes_mut()[part.clone()].copy_from_slice(&block.bytes()[part.clone()]);
            self.sent = filled;
            self.send(Job::Put {
                at: self.written - filled as u64,
                buf,
                range: part,
                crc: None,
                last: false,
            })?;
        }
        let (done, wait) = bounded(1);
        self.send(Job::Barrier(done))?;
        wait.recv().map_err(|_| self.stopped())
    }
}

impl Drop for CopyWriter {
    fn drop(&mut self) {
        let _ = self.failure();
        if let Some(v) = self.verifier.take() {
            let _ = v.join();
        }
    }
}

/// The writing thread: puts each job's bytes in the copy and tells the
/// verifier how far the copy is on the medium (after every block written
/// directly; after every [`TRAIL_STEP`], started on its way to the medium,
/// otherwise), with the CRC-32s of the blocks up to there.
fn put(
    mut out: DirectWriter,
    jobs: &Receiver<Job>,
    back: &Sender<AlignedBuf>,
    report: &std::sync::mpsc::Sender<Written>,
    mut meddle: Option<Meddle>,
) -> io::Result<()> {
    let mut reported = 0u64;
    let mut crcs = Vec::new();
    for job in jobs {
        let (at, buf, range, crc, last) = match job {
            Job::Put {
                at,
                buf,
                range,
                crc,
                last,
            } => (at, buf, range, crc, last),
            Job::Barrier(done) => {
                let _ = done.send(());
                continue;
            }
        };
        let from = at + range.start as u64;
        let end = at + range.end as u64;
        out.write_all_at(&buf.bytes()[range], from)?;
        if let Some(m) = &mut meddle {
            m(from..end, last);
        }
        crcs.extend(crc);
        let _ = back.send(buf);
        let until = if last { end } else { end - end % CHECK_BLOCK };
        let due = if out.is_direct() {
            until > reported
        } else {
            until >= reported + TRAIL_STEP
        };
        if last || due {
            if !out.is_direct() {
                // The kernel would keep the stretch in memory for up to
                // 30 s before writing it: start the medium writing it now,
                // so that it writes while the verifier reads what came
                // before.
                let _ = crate::util::sys::start_writeback(out.file(), reported, until - reported);
            }
            let _ = report.send((until, std::mem::take(&mut crcs)));
            reported = until;
        }
    }
    Ok(())
}

/// The verifier thread: reads the copy back from the medium as far as each
/// report says, then (the writing thread gone) to its end after a full
/// sync, comparing the CRC-32 of each block read with the one written.
fn verify(
    mut reader: DirectFile,
    sync: &File,
    path: &Path,
    reports: std::sync::mpsc::Receiver<Written>,
) -> Result<ReadBack> {
    let mut done = 0u64;
    let mut same = true;
    let mut crc = crc32fast::Hasher::new();
    let mut expected = std::collections::VecDeque::<u32>::new();
    let mut buf = AlignedBuf::new(CHECK_BLOCK as usize);
    // Reads on from `done` to `until` (or the end), from the medium (direct
    // reads; where the file system refuses them, its cached pages dropped
    // first), comparing each block's CRC-32 with the next expected one.
    let mut read_to = |until: Option<u64>,
                       expected: &mut std::collections::VecDeque<u32>,
                       done: &mut u64|
     -> Result<()> {
        // Only the stretch about to be read has to be on the medium; the
        // writer's later stretches keep it busy.
        match until {
            Some(u) if u > *done => {
                if crate::util::sys::wait_written(sync, *done, u - *done).is_err() {
                    sync.sync_data().at(path)?;
                }
            }
            _ => sync.sync_data().at(path)?,
        }
        if !reader.is_direct() {
            let len = until
                .map(|u| u.saturating_sub(*done))
                .and_then(NonZeroU64::new);
            let _ = rustix::fs::fadvise(sync, *done, len, rustix::fs::Advice::DontNeed);
        }
        loop {
            let block_left = CHECK_BLOCK - *done % CHECK_BLOCK;
            let want = match until {
                Some(u) if *done >= u => return Ok(()),
                Some(u) => (u - *done).min(block_left),
                None => block_left,
            };
            // From the aligned place at or before `done`, an aligned
            // length: a direct read's terms.
            let skip = *done % ALIGN as u64;
            let len = (skip + want).next_multiple_of(ALIGN as u64) as usize;
            let n = reader
                .read_at(&mut buf.bytes_mut()[..len], *done - skip)
                .at(path)?;
            let got = (n as u64).saturating_sub(skip).min(want) as usize;
            if got == 0 {
                return Ok(());
            }
            let skip = skip as usize;
            crc.update(&buf.bytes()[skip..skip + got]);
            *done += got as u64;
            let block_end = done.is_multiple_of(CHECK_BLOCK);
            if block_end || until == Some(*done) {
                let got = std::mem::take(&mut crc).finalize();
                same &= expected.pop_front() == Some(got);
            }
        }
    };
    for (until, crcs) in reports {
        expected.extend(crcs);
        read_to(Some(until), &mut expected, &mut done)?;
    }
    // The writer finished (or gave up): whatever else the file holds, after
    // a full sync, is more than was written.
    sync.sync_all().at(path)?;
    read_to(None, &mut expected, &mut done)?;
    drop_cache(sync);
    // Shorter now than what was read: cut after its end was read back.
    let cut = sync.metadata().at(path)?.len() < done;
    Ok(ReadBack {
        read: done,
        same: same && expected.is_empty() && !cut,
    })
}

/// Asks the kernel to forget the file's cached pages (best effort: some
/// filesystems ignore it).
pub fn drop_cache(file: &File) {
    let _ = rustix::fs::fadvise(file, 0, None::<NonZeroU64>, rustix::fs::Advice::DontNeed);
}

/// Size and SHA-256 of a file, read from the start, with its cached pages
/// dropped first.
pub fn hash_file(path: &Path) -> Result<(u64, [u8; 32])> {
    Ok(hash_file_until(path, &|| false)?.expect("never stopped"))
}

/// [`hash_file`], asking `stop` before every MiB: `None` when it said to.
pub fn hash_file_until(path: &Path, stop: &dyn Fn() -> bool) -> Result<Option<(u64, [u8; 32])>> {
    // Read from the medium: by direct reads, or where the file system
    // refuses them, with the file's cached pages dropped first.
    let file = File::open(path).at(path)?;
    drop_cache(&file);
    let mut medium = Sequential::open(path).at(path)?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    let mut size = 0u64;
    loop {
        if stop() {
            return Ok(None);
        }
        let n = match medium.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(Error::io(path, e)),
        };
        hasher.update(&buf[..n]);
        size += n as u64;
    }
    drop_cache(&file);
    Ok(Some((size, hasher.finalize().into())))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs::OpenOptions;

    /// Writes `len` bytes through a [`CopyWriter`], letting `meddle`
    /// change the file behind its back after each write (the medium
    /// returning other bytes), and gives what `finish` said.
    fn read_back(
        len: usize,
        direct: bool,
        mut meddle: impl FnMut(&Path, Range<u64>, bool) + Send + 'static,
    ) -> Result<()> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.kluis");
        let file = File::create(&path).unwrap();
        let at = path.clone();
        let hook: Meddle = Box::new(move |range, last| meddle(&at, range, last));
        let mut copy = CopyWriter::with_meddle(path.clone(), file, direct, Some(hook)).unwrap();
        let data = sample(len);
        // In odd-sized writes, across the block boundaries.
        for part in data.chunks(100_003) {
            copy.write_all(part).unwrap();
        }
        copy.finish(len as u64)
    }

    fn sample(len: usize) -> Vec<u8> {
        (0..len).map(|i| (i * 7 + i / 251) as u8).collect()
    }

    fn flip(path: &Path, at: u64) {
        use std::os::unix::fs::FileExt;
        let f = OpenOptions::new()
            .read(true)
            .write(true)
            .open(path)
            .unwrap();
        let mut b = [0u8];
        f.read_exact_at(&mut b, at).unwrap();
        f.write_all_at(&[b[0] ^ 0x10], at).unwrap();
    }

    #[test]
    fn the_read_back_finds_any_byte_the_medium_changed() {
        let mismatch = |r: Result<()>| matches!(r, Err(Error::ReadBackMismatch { .. }));
        // 40 MiB: more than one stretch where writes go through the page
        // cache; and a short copy with a partial block at its end. By
        // direct writes (where /tmp takes them) and through the page cache.
        for (len, direct) in [40 << 20, 3 << 20 | 5]
            .into_iter()
            .flat_map(|len| [(len, true), (len, false)])
        {
            let case = format!("{len} bytes, direct writes {direct}");
            read_back(len, direct, |_, _, _| {}).unwrap();
            let end = len as u64;
            for at in [0, (1 << 20) - 1, 1 << 20, end / 2, end - 4097, end - 1] {
                let changed = read_back(len, direct, move |p, written, _| {
                    if written.contains(&at) {
                        flip(p, at);
                    }
                });
                assert!(mismatch(changed), "{case}: byte {at}");
            }
            // Longer or shorter than what was written.
            let longer = |p: &Path, _, last| {
                if last {
                    let mut f = OpenOptions::new().append(true).open(p).unwrap();
                    f.write_all(b"x").unwrap();
                }
            };
            assert!(
                mismatch(read_back(len, direct, longer)),
                "{case}: one byte more"
            );
            let shorter = move |p: &Path, _, last| {
                if last {
                    let f = OpenOptions::new().write(true).open(p).unwrap();
                    f.set_len(len as u64 - 1).unwrap();
                }
            };
            assert!(
                mismatch(read_back(len, direct, shorter)),
                "{case}: one byte less"
            );
        }
    }

    /// A flush puts every byte written so far in the file, the block being
    /// filled included; writing goes on after it (at a place that is not a
    /// block boundary, nor aligned for direct writes) to the same copy.
    #[test]
    fn a_flush_puts_everything_written_in_the_file() {
        for direct in [true, false] {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("a.kluis");
            let file = File::create(&path).unwrap();
            let mut copy = CopyWriter::with_meddle(path.clone(), file, direct, None).unwrap();
            let data = sample(5 << 20 | 77);
            let mut done = 0;
            for cut in [0, 1, 4096, (2 << 20) + 13, (2 << 20) + 14, 3 << 20] {
                copy.write_all(&data[done..cut]).unwrap();
                copy.flush().unwrap();
                let there = fs::read(&path).unwrap();
                assert!(there == data[..cut], "direct {direct}: flushed at {cut}");
                done = cut;
            }
            copy.write_all(&data[done..]).unwrap();
            copy.finish(data.len() as u64).unwrap();
            assert!(fs::read(&path).unwrap() == data, "direct {direct}");
        }
    }

    /// A copy whose name came to point at another file while it was
    /// written (a medium swapped, its folder recreated) is not verified,
    /// however well the file written reads back.
    #[test]
    fn a_copy_replaced_at_its_name_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.kluis");
        let mut copy = CopyWriter::new(path.clone(), File::create(&path).unwrap()).unwrap();
        copy.write_all(&[5u8; 4096]).unwrap();
        let other = dir.path().join("other");
        fs::write(&other, [5u8; 4096]).unwrap();
        fs::rename(&other, &path).unwrap();
        let err = copy.finish(4096).unwrap_err();
        assert!(
            err.to_string().contains("another file took its place"),
            "{err}"
        );
    }
}
