//! A copy written to a medium and read back from it: [`CopyWriter`] sends
//! each stretch to the medium as soon as it is written and checks it,
//! read back from the medium, while the later stretches are written; and
//! [`hash_file`], the SHA-256 of a file as the medium returns it (its
//! cached pages dropped first).

use std::fs::{self, File};
use std::io::{self, Read, Write};
use std::num::NonZeroU64;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::error::{Error, IoContext, Result};
use crate::util::direct::{ALIGN, AlignedBuf, DirectFile, Sequential};

/// How far behind the writer the trailing read-back runs.
const TRAIL_STEP: u64 = 32 << 20;

/// The read-back compares the medium's bytes with what was written a block
/// of this size at a time, by their CRC-32s.
const CHECK_BLOCK: u64 = 1 << 20;

/// A stretch of a copy written: up to which offset (a block boundary, or
/// the end), and the CRC-32 of each block in it not sent before.
type Written = (u64, Vec<u32>);

/// A copy being written to a medium, read back while it is written: the
/// writer starts the medium writing each stretch as soon as it is written,
/// and a verifier thread follows, waiting for each stretch to be on the
/// medium, dropping its cached pages and reading it back from the medium
/// while the later stretches are written, so that the check costs little
/// time after the last byte.
///
/// The read-back has to prove that the medium returns the bytes that were
/// written, nothing more: the writer takes a CRC-32 of every MiB it
/// writes, and the verifier compares the CRC-32 of every MiB it reads
/// (the copy's SHA-256 is that of the bytes written; a second SHA-256 of
/// the whole file would prove no more, at about ten times the CPU time).
pub struct CopyWriter {
    path: PathBuf,
    file: File,
    written: u64,
    reported: u64,
    /// The CRC-32 of the block being written, and those of the blocks
    /// completed since the last report.
    crc: crc32fast::Hasher,
    crcs: Vec<u32>,
    progress: Option<std::sync::mpsc::Sender<Written>>,
    verifier: Option<std::thread::JoinHandle<Result<ReadBack>>>,
}

/// What the read-back found: the bytes read, and whether every block read
/// matched the one written.
struct ReadBack {
    read: u64,
    same: bool,
}

impl CopyWriter {
    pub fn new(path: PathBuf, file: File) -> Result<Self> {
        let sync = file.try_clone().at(&path)?;
        let mut reader = DirectFile::open(&path).at(&path)?;
        let (tx, rx) = std::sync::mpsc::channel::<Written>();
        let vpath = path.clone();
        let verifier = std::thread::spawn(move || {
            let mut done = 0u64;
            let mut same = true;
            let mut crc = crc32fast::Hasher::new();
            let mut expected = std::collections::VecDeque::<u32>::new();
            let mut buf = AlignedBuf::new(CHECK_BLOCK as usize);
            // Reads on from `done` to `until` (or the end), from the medium
            // (direct reads; where the file system refuses them, its cached
            // pages dropped first), comparing each block's CRC-32 with the
            // next expected one.
            let mut read_to = |until: Option<u64>,
                               expected: &mut std::collections::VecDeque<u32>,
                               done: &mut u64|
             -> Result<()> {
                // Only the stretch about to be read has to be on the
                // medium; the writer's later stretches keep it busy.
                match until {
                    Some(u) if u > *done => {
                        if crate::util::sys::wait_written(&sync, *done, u - *done).is_err() {
                            sync.sync_data().at(&vpath)?;
                        }
                    }
                    _ => sync.sync_data().at(&vpath)?,
                }
                if !reader.is_direct() {
                    let len = until
                        .map(|u| u.saturating_sub(*done))
                        .and_then(NonZeroU64::new);
                    let _ = rustix::fs::fadvise(&sync, *done, len, rustix::fs::Advice::DontNeed);
                }
                loop {
                    let block_left = CHECK_BLOCK - *done % CHECK_BLOCK;
                    let want = match until {
                        Some(u) if *done >= u => return Ok(()),
                        Some(u) => (u - *done).min(block_left),
                        None => block_left,
                    };
                    // From the aligned place at or before `done`, an
                    // aligned length: a direct read's terms.
                    let skip = *done % ALIGN as u64;
                    let len = (skip + want).next_multiple_of(ALIGN as u64) as usize;
                    let n = reader
                        .read_at(&mut buf.bytes_mut()[..len], *done - skip)
                        .at(&vpath)?;
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
            for (until, crcs) in rx {
                expected.extend(crcs);
                read_to(Some(until), &mut expected, &mut done)?;
            }
            // The writer finished (or gave up): whatever else the file
            // holds, after a full sync, is more than was written.
            sync.sync_all().at(&vpath)?;
            read_to(None, &mut expected, &mut done)?;
            drop_cache(&sync);
            Ok(ReadBack {
                read: done,
                same: same && expected.is_empty(),
            })
        });
        Ok(CopyWriter {
            path,
            file,
            written: 0,
            reported: 0,
            crc: crc32fast::Hasher::new(),
            crcs: Vec::new(),
            progress: Some(tx),
            verifier: Some(verifier),
        })
    }

    /// Waits for the read-back to reach the end and checks it against what
    /// was written (`size` bytes, as the caller counted them). The file is
    /// synced when this returns `Ok`.
    pub fn finish(mut self, size: u64) -> Result<()> {
        if let Some(tx) = self.progress.take() {
            let mut crcs = std::mem::take(&mut self.crcs);
            if !self.written.is_multiple_of(CHECK_BLOCK) {
                crcs.push(std::mem::take(&mut self.crc).finalize());
            }
            let _ = tx.send((self.written, crcs));
        }
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
        let n = self.file.write(buf)?;
        let mut data = &buf[..n];
        while !data.is_empty() {
            let room = (CHECK_BLOCK - self.written % CHECK_BLOCK) as usize;
            let take = room.min(data.len());
            self.crc.update(&data[..take]);
            self.written += take as u64;
            data = &data[take..];
            if self.written.is_multiple_of(CHECK_BLOCK) {
                self.crcs.push(std::mem::take(&mut self.crc).finalize());
            }
        }
        if self.written - self.reported >= TRAIL_STEP {
            // Up to the last whole block: the verifier checks whole blocks.
            let until = self.written - self.written % CHECK_BLOCK;
            // The kernel would keep the stretch in memory for up to 30 s
            // before writing it: start the medium writing it now, so that
            // it writes while the verifier reads what came before.
            let _ =
                crate::util::sys::start_writeback(&self.file, self.reported, until - self.reported);
            self.reported = until;
            if let Some(tx) = &self.progress {
                let _ = tx.send((until, std::mem::take(&mut self.crcs)));
            }
        }
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.file.flush()
    }
}

impl Drop for CopyWriter {
    fn drop(&mut self) {
        self.progress = None;
        if let Some(v) = self.verifier.take() {
            let _ = v.join();
        }
    }
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

    /// Writes `len` bytes through a [`CopyWriter`], lets `meddle` change
    /// the file behind its back (the medium returning other bytes), and
    /// gives what `finish` said.
    fn read_back(len: usize, meddle: impl FnOnce(&Path)) -> Result<()> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.kluis");
        let file = File::create(&path).unwrap();
        let mut copy = CopyWriter::new(path.clone(), file).unwrap();
        let data: Vec<u8> = (0..len).map(|i| (i * 7 + i / 251) as u8).collect();
        // In odd-sized writes, across the block boundaries.
        for part in data.chunks(100_003) {
            copy.write_all(part).unwrap();
        }
        meddle(&path);
        copy.finish(len as u64)
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
        // 40 MiB: one stretch checked while writing (the first 32 MiB), the
        // rest at the end; and a short copy, checked at the end only.
        for len in [40 << 20, 3 << 20 | 5] {
            read_back(len, |_| {}).unwrap();
            // Past what the verifier may have read before `finish`.
            let from = if len as u64 > TRAIL_STEP {
                TRAIL_STEP
            } else {
                0
            };
            let end = len as u64;
            for at in [
                from,
                from + (1 << 20) - 1,
                from + (1 << 20),
                (from + end) / 2,
                end - 1,
            ] {
                assert!(
                    mismatch(read_back(len, |p| flip(p, at))),
                    "{len}: byte {at}"
                );
            }
            // Longer or shorter than what was written.
            let longer = |p: &Path| {
                let mut f = OpenOptions::new().append(true).open(p).unwrap();
                f.write_all(b"x").unwrap();
            };
            assert!(mismatch(read_back(len, longer)), "{len}: one byte more");
            let shorter = |p: &Path| {
                let f = OpenOptions::new().write(true).open(p).unwrap();
                f.set_len(len as u64 - 1).unwrap();
            };
            assert!(mismatch(read_back(len, shorter)), "{len}: one byte less");
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
