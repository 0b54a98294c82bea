//! Reading a file as its medium returns it, not as the page cache holds
//! it: `O_DIRECT` reads (Linux) into aligned buffers that kluis reuses,
//! falling back to ordinary reads where the file system refuses them.
//!
//! Used where kluis must prove what a medium holds (the read-back of a
//! copy while it is written, the quick check's SHA-256) and where it reads
//! a whole archive once (a full check, a full restore): the bytes go from
//! the device into kluis's buffer without a copy through the page cache,
//! and reading a 5 GB archive does not fill the cache with pages nobody
//! reads again. [`DirectFile`] reads where it is told; [`Sequential`]
//! reads a file from an offset to its end in a thread of its own, a few
//! MiB ahead of its reader (the kernel's read-ahead does not apply to
//! direct reads), and serves any reads and seeks over it.

use std::fs::{File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom};
use std::os::unix::fs::FileExt;
use std::path::Path;

use crossbeam_channel::{Receiver, Sender};

/// What direct reads align to: offsets, lengths and buffer addresses.
/// 4 KiB covers the logical block size of nearly every device; where it
/// does not, the read is refused and [`DirectFile`] reads on without
/// `O_DIRECT`.
pub const ALIGN: usize = 4096;

/// How much [`Sequential`] reads at once, and how many such blocks it
/// holds read ahead of its reader.
const BLOCK: usize = 1 << 20;
const AHEAD: usize = 3;

/// A forward seek of [`Sequential`] up to this far is served by reading
/// on (the blocks are probably on their way); a longer one, or one back
/// before the current block, starts reading again at the new place.
const SKIP_ON: u64 = 8 << 20;

/// A buffer of `len` bytes (a multiple of [`ALIGN`]) starting at an
/// aligned address, as direct reads require.
pub struct AlignedBuf {
    vec: Vec<u8>,
    start: usize,
    len: usize,
}

impl AlignedBuf {
    pub fn new(len: usize) -> AlignedBuf {
        assert!(
            len.is_multiple_of(ALIGN),
            "{len} is not a multiple of {ALIGN}"
        );
        let vec = vec![0u8; len + ALIGN];
        let start = vec.as_ptr().align_offset(ALIGN);
        AlignedBuf { vec, start, len }
    }

    pub fn bytes(&self) -> &[u8] {
        &self.vec[self.start..self.start + self.len]
    }

    pub fn bytes_mut(&mut self) -> &mut [u8] {
        &mut self.vec[self.start..self.start + self.len]
    }
}

/// A file opened for direct reads where the system allows them.
pub struct DirectFile {
    file: File,
    direct: bool,
}

impl DirectFile {
    /// Opens `path` for reading, with `O_DIRECT` where the file system
    /// takes it.
    pub fn open(path: &Path) -> io::Result<DirectFile> {
        #[cfg(target_os = "linux")]
        {
            use std::os::unix::fs::OpenOptionsExt;
            match OpenOptions::new()
                .read(true)
                .custom_flags(libc::O_DIRECT)
                .open(path)
            {
                Ok(file) => return Ok(DirectFile { file, direct: true }),
                // tmpfs before Linux 6.6, some FUSE file systems.
                Err(e) if e.raw_os_error() == Some(libc::EINVAL) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(DirectFile {
            file: OpenOptions::new().read(true).open(path)?,
            direct: false,
        })
    }

    /// Whether reads bypass the page cache (so far: a refused read turns
    /// it off).
    pub fn is_direct(&self) -> bool {
        self.direct
    }

    /// Reads from `pos` until `buf` is full or the file ends; the bytes
    /// read. Direct reads need `pos`, `buf`'s address and its length to be
    /// multiples of [`ALIGN`] (an [`AlignedBuf`]); a read the system
    /// refuses (other alignment, a file system that takes `O_DIRECT` when
    /// opening but not when reading) is made again, and every later one,
    /// through the page cache.
    pub fn read_at(&mut self, buf: &mut [u8], pos: u64) -> io::Result<usize> {
        let mut done = 0;
        while done < buf.len() {
            match self.file.read_at(&mut buf[done..], pos + done as u64) {
                Ok(0) => break,
                Ok(n) => done += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) if self.direct && refused(&e) => self.buffered()?,
                Err(e) => return Err(e),
            }
        }
        Ok(done)
    }

    /// Turns `O_DIRECT` off for the rest of this file's reads.
    fn buffered(&mut self) -> io::Result<()> {
        #[cfg(target_os = "linux")]
        set_direct(&self.file, false)?;
        self.direct = false;
        Ok(())
    }
}

/// A file written with direct writes where the system allows them: the
/// bytes go from kluis's buffer to the device, without a copy into the
/// page cache (where, for a copy bound for an offline medium, they would
/// only wait to be written and then take memory nobody reads again).
pub struct DirectWriter {
    file: File,
    direct: bool,
}

impl DirectWriter {
    /// `file` (open for writing), with `O_DIRECT` turned on where the file
    /// system takes it. The flag belongs to the open file description:
    /// handles cloned from `file` share it (which matters only to their
    /// writes).
    pub fn new(file: File) -> DirectWriter {
        let direct = set_direct(&file, true).is_ok();
        DirectWriter { file, direct }
    }

    /// `file`, written through the page cache: what [`DirectWriter::new`]
    /// falls back to where the file system refuses direct writes.
    pub fn buffered(file: File) -> DirectWriter {
        DirectWriter {
            file,
            direct: false,
        }
    }

    /// Whether writes go past the page cache (so far: a refused write
    /// turns it off).
    pub fn is_direct(&self) -> bool {
        self.direct
    }

    pub fn file(&self) -> &File {
        &self.file
    }

    /// Writes all of `data` at `pos`: directly the part that starts and
    /// ends on [`ALIGN`] boundaries of both the file and memory (all of
    /// it, for an [`AlignedBuf`]'s whole pages written at an aligned
    /// place), the rest through the page cache. A direct write the system
    /// refuses is made again, and every later one, through the page cache.
    pub fn write_all_at(&mut self, data: &[u8], pos: u64) -> io::Result<()> {
        let misaligned = (ALIGN - (pos % ALIGN as u64) as usize) % ALIGN;
        let congruent = data.as_ptr().align_offset(ALIGN) == misaligned;
        if !self.direct || !congruent || data.len() < misaligned + ALIGN {
            return self.buffered_at(data, pos);
        }
        let (head, rest) = data.split_at(misaligned);
        let middle = rest.len() - rest.len() % ALIGN;
        let (middle, tail) = rest.split_at(middle);
        self.buffered_at(head, pos)?;
        let mut at = pos + head.len() as u64;
        let mut left = middle;
        while !left.is_empty() {
            match self.file.write_at(left, at) {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(n) => {
                    left = &left[n..];
                    at += n as u64;
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) if refused(&e) => {
                    set_direct(&self.file, false)?;
                    self.direct = false;
                    self.file.write_all_at(left, at)?;
                    break;
                }
                Err(e) => return Err(e),
            }
        }
        self.buffered_at(tail, pos + (data.len() - tail.len()) as u64)
    }

    /// `data` at `pos` through the page cache.
    fn buffered_at(&mut self, data: &[u8], pos: u64) -> io::Result<()> {
        if data.is_empty() {
            return Ok(());
        }
        if !self.direct {
            return self.file.write_all_at(data, pos);
        }
        set_direct(&self.file, false)?;
        let written = self.file.write_all_at(data, pos);
        set_direct(&self.file, true)?;
        written
    }
}

/// Turns `O_DIRECT` on or off for `file`'s open file description: an error
/// where the system does not have it (or the file system refuses it).
fn set_direct(file: &File, on: bool) -> io::Result<()> {
    #[cfg(target_os = "linux")]
    {
        let flags = rustix::fs::fcntl_getfl(file)?;
        let flags = if on {
            flags | rustix::fs::OFlags::DIRECT
        } else {
            flags - rustix::fs::OFlags::DIRECT
        };
        rustix::fs::fcntl_setfl(file, flags)?;
        Ok(())
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = (file, on);
        Err(io::ErrorKind::Unsupported.into())
    }
}

/// A direct read refused for its alignment or by the file system.
fn refused(e: &io::Error) -> bool {
    #[cfg(target_os = "linux")]
    {
        e.raw_os_error() == Some(libc::EINVAL)
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = e;
        false
    }
}

/// One block read ahead: where it starts, the buffer and how much of it
/// the file filled (less than [`BLOCK`] only at the end).
type Block = (u64, AlignedBuf, usize);

/// A file read from an offset to its end by a thread of its own, up to
/// `AHEAD` blocks of 1 MiB ahead of the reader, through a [`DirectFile`].
/// Reads and seeks anywhere work: a seek back before the block being
/// read, or far ahead, starts the thread reading again there. A read error
/// reaches the reader when it reads the block that failed.
pub struct Sequential {
    path: std::path::PathBuf,
    /// The blocks as the thread reads them, and the way back for spent
    /// buffers.
    blocks: Option<(Receiver<io::Result<Block>>, Sender<AlignedBuf>)>,
    /// The block being read from.
    current: Option<Block>,
    /// Where the next read starts.
    pos: u64,
    len: u64,
    /// The thread's end: every block up to the file's end has arrived.
    ended: bool,
}

impl Sequential {
    /// Reads `path` from its start.
    pub fn open(path: &Path) -> io::Result<Sequential> {
        let len = std::fs::metadata(path)?.len();
        let mut s = Sequential {
            path: path.into(),
            blocks: None,
            current: None,
            pos: 0,
            len,
            ended: false,
        };
        s.start(0)?;
        Ok(s)
    }

    /// Starts the thread reading at `pos` (rounded down to [`ALIGN`]).
    fn start(&mut self, pos: u64) -> io::Result<()> {
        let mut file = DirectFile::open(&self.path)?;
        let (tx, rx) = crossbeam_channel::bounded::<io::Result<Block>>(AHEAD);
        let (recycle, recycled) = crossbeam_channel::bounded::<AlignedBuf>(AHEAD + 2);
        let mut at = pos - pos % ALIGN as u64;
        std::thread::spawn(move || {
            loop {
                let mut buf = recycled
                    .try_recv()
                    .unwrap_or_else(|_| AlignedBuf::new(BLOCK));
                let read = file.read_at(buf.bytes_mut(), at);
                let end = !matches!(read, Ok(n) if n == BLOCK);
                if tx.send(read.map(|n| (at, buf, n))).is_err() || end {
                    return;
                }
                at += BLOCK as u64;
            }
        });
        self.blocks = Some((rx, recycle));
        self.current = None;
        self.ended = false;
        Ok(())
    }

    /// Makes the block holding `self.pos` current: `false` at the end.
    fn fill(&mut self) -> io::Result<bool> {
        loop {
            if let Some((start, _, n)) = &self.current {
                let end = start + *n as u64;
                if (*start..end).contains(&self.pos) {
                    return Ok(true);
                }
                if self.pos < *start || self.pos > end.saturating_add(SKIP_ON) {
                    let at = self.pos;
                    self.start(at)?;
                    continue;
                }
                if self.ended {
                    // At or past the end of the last block.
                    return Ok(false);
                }
            }
            let Some((rx, recycle)) = &self.blocks else {
                return Ok(false);
            };
            let block = match rx.recv() {
                Ok(Ok(block)) => block,
                Ok(Err(e)) => {
                    // The next read starts reading again from its place.
                    self.blocks = None;
                    self.current = None;
                    return Err(e);
                }
                Err(_) => return Err(io::Error::other("the read-ahead thread stopped")),
            };
            self.ended = block.2 < BLOCK;
            if let Some((_, old, _)) = self.current.replace(block) {
                let _ = recycle.try_send(old);
            }
        }
    }
}

impl Read for Sequential {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        if out.is_empty() {
            return Ok(0);
        }
        if self.blocks.is_none() {
            // After an error: try again from here.
            let at = self.pos;
            self.start(at)?;
        }
        if !self.fill()? {
            return Ok(0);
        }
        let (start, buf, n) = self.current.as_ref().expect("filled");
        let from = (self.pos - start) as usize;
        let take = (n - from).min(out.len());
        out[..take].copy_from_slice(&buf.bytes()[from..from + take]);
        self.pos += take as u64;
        Ok(take)
    }
}

impl Seek for Sequential {
    fn seek(&mut self, to: SeekFrom) -> io::Result<u64> {
        let new = match to {
            SeekFrom::Start(p) => Some(p),
            SeekFrom::Current(d) => self.pos.checked_add_signed(d),
            SeekFrom::End(d) => self.len.checked_add_signed(d),
        };
        self.pos = new
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "seek before the start"))?;
        Ok(self.pos)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(len: usize) -> Vec<u8> {
        (0..len).map(|i| (i * 31 + i / 4099) as u8).collect()
    }

    #[test]
    fn direct_reads_return_the_file_aligned_or_not() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        let data = sample(3 * ALIGN + 123);
        std::fs::write(&path, &data).unwrap();
        let mut f = DirectFile::open(&path).unwrap();
        let mut buf = AlignedBuf::new(2 * ALIGN);
        assert_eq!(f.read_at(buf.bytes_mut(), 0).unwrap(), 2 * ALIGN);
        assert_eq!(buf.bytes(), &data[..2 * ALIGN]);
        // The short end.
        assert_eq!(
            f.read_at(buf.bytes_mut(), 2 * ALIGN as u64).unwrap(),
            ALIGN + 123
        );
        assert_eq!(&buf.bytes()[..ALIGN + 123], &data[2 * ALIGN..]);
        // Unaligned: refused by O_DIRECT, read through the page cache.
        let mut odd = vec![0u8; 1000];
        assert_eq!(f.read_at(&mut odd, 77).unwrap(), 1000);
        assert_eq!(odd, &data[77..1077]);
    }

    /// Writes in pieces that start and end anywhere, from buffers aligned
    /// with the file or not: the file holds exactly what was written, and
    /// a file system that takes direct writes still does after them.
    #[test]
    fn direct_writes_put_any_piece_in_place() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        let data = sample(9 * ALIGN + 321);
        let mut out = DirectWriter::new(File::create(&path).unwrap());
        let direct = out.is_direct();
        let mut buf = AlignedBuf::new(10 * ALIGN);
        buf.bytes_mut()[..data.len()].copy_from_slice(&data);
        // As they lie in an aligned buffer: an aligned piece, a piece with
        // ragged ends, one shorter than a page, one within a page.
        for range in [
            0..2 * ALIGN,
            2 * ALIGN..5 * ALIGN + 7,
            5 * ALIGN + 7..5 * ALIGN + 100,
        ] {
            out.write_all_at(&buf.bytes()[range.clone()], range.start as u64)
                .unwrap();
        }
        // From a buffer not aligned like the file.
        let odd = data[5 * ALIGN + 100..8 * ALIGN].to_vec();
        out.write_all_at(&odd, 5 * ALIGN as u64 + 100).unwrap();
        out.write_all_at(&buf.bytes()[8 * ALIGN..data.len()], 8 * ALIGN as u64)
            .unwrap();
        assert_eq!(out.is_direct(), direct);
        drop(out);
        assert_eq!(std::fs::read(&path).unwrap(), data);
    }

    #[test]
    fn sequential_reads_serve_any_reads_and_seeks() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        let len = 3 * BLOCK + 5000;
        let data = sample(len);
        std::fs::write(&path, &data).unwrap();

        // In odd pieces, from the start to the end.
        let mut s = Sequential::open(&path).unwrap();
        let mut got = Vec::new();
        let mut piece = vec![0u8; 100_003];
        loop {
            let n = s.read(&mut piece).unwrap();
            if n == 0 {
                break;
            }
            got.extend_from_slice(&piece[..n]);
        }
        assert!(got == data, "the whole file");
        assert_eq!(s.read(&mut piece).unwrap(), 0);

        // Seeks: back into an earlier block, a little ahead, far ahead,
        // from the end, past the end.
        let mut s = Sequential::open(&path).unwrap();
        let mut eight = [0u8; 8];
        for at in [
            0u64,
            BLOCK as u64 + 17,
            5,
            BLOCK as u64 - 3,
            2 * BLOCK as u64 + 1,
            len as u64 - 8,
            4099,
        ] {
            s.seek(SeekFrom::Start(at)).unwrap();
            s.read_exact(&mut eight).unwrap();
            assert_eq!(eight, data[at as usize..at as usize + 8], "at {at}");
        }
        assert_eq!(s.seek(SeekFrom::End(-4)).unwrap(), len as u64 - 4);
        let mut rest = Vec::new();
        s.read_to_end(&mut rest).unwrap();
        assert_eq!(rest, &data[len - 4..]);
        s.seek(SeekFrom::Start(len as u64 + 10)).unwrap();
        assert_eq!(s.read(&mut eight).unwrap(), 0);
        assert_eq!(s.seek(SeekFrom::Current(-(len as i64) - 10)).unwrap(), 0);
        s.read_exact(&mut eight).unwrap();
        assert_eq!(eight, data[..8]);
        assert!(s.seek(SeekFrom::Current(-100)).is_err());
    }

    #[test]
    fn an_empty_file_and_one_block_exactly() {
        let dir = tempfile::tempdir().unwrap();
        for len in [0, BLOCK, ALIGN, 1] {
            let path = dir.path().join(format!("f{len}"));
            let data = sample(len);
            std::fs::write(&path, &data).unwrap();
            let mut got = Vec::new();
            Sequential::open(&path)
                .unwrap()
                .read_to_end(&mut got)
                .unwrap();
            assert!(got == data, "{len}");
        }
    }
}
