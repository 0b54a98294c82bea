//! The records' bookkeeping, on a thread of its own: each file's SHA-256
//! (of the very bytes the caller thread put into the tar stream), then, in
//! the order the records were added, its manifest line, its `SHA256SUMS`
//! line, its path index entry and the totals. The caller thread only reads
//! sources and fills frames, so reading the next file overlaps hashing the
//! last one.
//!
//! ```text
//! caller: header ─▶ Data(buffer)… ─▶ Record(entry) ─▶ recorder: SHA-256, manifest, sums, index
//!         ◀─────────── buffer back (a pool of BUFFERS) ◀──────────┘
//! ```
//!
//! Memory is bounded by the pool; when the recorder fails (a spool's
//! temporary file cannot be written), it stops, the caller's next hand-over
//! fails, and [`Recorder::finish`] returns the recorder's error.

use std::io;
use std::thread::JoinHandle;

use crossbeam_channel::{Receiver, Sender, bounded};
use sha2::{Digest, Sha256};

use super::super::manifest::{Entry, Kind};
use super::super::meta::Totals;
use super::super::sorted::IndexBuilder;
use super::super::spool::Spool;

/// Size of each buffer of file content handed to the recorder.
pub(super) const BUFFER: usize = 256 << 10;
/// Buffers in the pool: what the caller may be ahead of the hashing.
const BUFFERS: usize = 8;

/// What is kept about the records while they are written.
pub(super) struct Books {
    pub manifest: Spool,
    pub sums: Spool,
    /// The path index, built as records come (`None` when not written).
    pub index: Option<IndexBuilder>,
    pub totals: Totals,
}

impl Books {
    /// Writes a record's lines and counts it.
    fn record(&mut self, entry: &Entry) -> io::Result<()> {
        if let Some(line) = entry.sha256sum_line() {
            self.sums.write_all(&line)?;
        }
        let mut line = entry.to_json_line().into_bytes();
        line.push(b'\n');
        self.manifest.write_all(&line)?;
        if let Some(index) = &mut self.index {
            index.push(&entry.path, &line)?;
        }
        let totals = &mut self.totals;
        match entry.kind {
            Kind::File => {
                totals.files += 1;
                totals.bytes += entry.size;
            }
            Kind::Dir => totals.dirs += 1,
            Kind::Symlink => totals.symlinks += 1,
        }
        Ok(())
    }
}

enum Job {
    /// The next `.1` bytes of the file being added.
    Data(Vec<u8>, usize),
    /// A record, in archive order. A file's SHA-256 is that of the data
    /// handed over since the previous record; it is also sent to the
    /// reply channel when there is one.
    Record(Entry, Option<Sender<[u8; 32]>>),
}

/// The caller's end of the recorder thread.
pub(super) struct Recorder {
    jobs: Option<Sender<Job>>,
    pool: Receiver<Vec<u8>>,
    thread: Option<JoinHandle<io::Result<Books>>>,
}

impl Recorder {
    pub fn new(books: Books) -> Self {
        let (back, pool) = bounded(BUFFERS);
        for _ in 0..BUFFERS {
            back.send(vec![0u8; BUFFER]).expect("the pool has room");
        }
        // Records of small files and folders queue beside the buffers.
        let (jobs, work) = bounded(4 * BUFFERS);
        let thread = std::thread::spawn(move || keep(books, &work, &back));
        Recorder {
            jobs: Some(jobs),
            pool,
            thread: Some(thread),
        }
    }

    /// An empty buffer of [`BUFFER`] bytes for the next stretch of a file
    /// (waits while the recorder is behind).
    pub fn buffer(&self) -> io::Result<Vec<u8>> {
        self.pool.recv().map_err(|_| stopped())
    }

    /// Hands over the first `n` bytes of `buffer` as the next content of
    /// the file being added.
    pub fn data(&self, buffer: Vec<u8>, n: usize) -> io::Result<()> {
        self.send(Job::Data(buffer, n))
    }

    /// Hands over a record; a file's hash is sent to `reply` once known.
    pub fn record(&self, entry: Entry, reply: Option<Sender<[u8; 32]>>) -> io::Result<()> {
        self.send(Job::Record(entry, reply))
    }

    fn send(&self, job: Job) -> io::Result<()> {
        let jobs = self.jobs.as_ref().ok_or_else(stopped)?;
        jobs.send(job).map_err(|_| stopped())
    }

    /// Waits for every record to be kept; the books, or the error that
    /// stopped the recorder.
    pub fn finish(mut self) -> io::Result<Books> {
        self.jobs = None;
        let thread = self.thread.take().expect("finish runs once");
        thread
            .join()
            .unwrap_or_else(|_| Err(io::Error::other("the recorder thread panicked")))
    }
}

impl Drop for Recorder {
    fn drop(&mut self) {
        self.jobs = None;
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// The recorder thread.
fn keep(mut books: Books, work: &Receiver<Job>, back: &Sender<Vec<u8>>) -> io::Result<Books> {
    let mut hasher = Sha256::new();
    for job in work {
        match job {
            Job::Data(buffer, n) => {
                hasher.update(&buffer[..n]);
                // The caller may have stopped taking buffers: not an error.
                let _ = back.send(buffer);
            }
            Job::Record(mut entry, reply) => {
                if entry.kind == Kind::File {
                    let hash: [u8; 32] = hasher.finalize_reset().into();
                    entry.sha256 = Some(hash);
                    if let Some(reply) = reply {
                        let _ = reply.send(hash);
                    }
                }
                books.record(&entry)?;
            }
        }
    }
    Ok(books)
}

/// What a hand-over to a stopped recorder returns; [`Recorder::finish`]
/// has the real error.
pub(super) fn stopped() -> io::Error {
    io::Error::new(io::ErrorKind::BrokenPipe, "the recorder stopped")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn books() -> Books {
        Books {
            manifest: Spool::new().unwrap(),
            sums: Spool::new().unwrap(),
            index: None,
            totals: Totals::default(),
        }
    }

    fn file(path: &str, size: u64) -> Entry {
        Entry {
            path: path.as_bytes().to_vec(),
            kind: Kind::File,
            size,
            mode: 0o644,
            mtime: 0,
            mtime_nsec: 0,
            sha256: None,
            target: None,
            offset: 0,
            data_offset: 512,
        }
    }

    #[test]
    fn each_file_gets_the_hash_of_the_data_handed_over_since_the_last_record() {
        let recorder = Recorder::new(books());
        let (tx, rx) = bounded(4);
        // "ab" in two buffers, then an empty file, then "c".
        for (path, parts) in [("a", &[&b"a"[..], b"b"][..]), ("e", &[]), ("c", &[b"c"])] {
            let mut size = 0;
            for part in parts {
                let mut buffer = recorder.buffer().unwrap();
                buffer[..part.len()].copy_from_slice(part);
                recorder.data(buffer, part.len()).unwrap();
                size += part.len() as u64;
            }
            recorder.record(file(path, size), Some(tx.clone())).unwrap();
        }
        let mut dir = file("d", 0);
        dir.kind = Kind::Dir;
        recorder.record(dir, None).unwrap();
        let mut books = recorder.finish().unwrap();
        drop(tx);
        let hashes: Vec<[u8; 32]> = rx.iter().collect();
        let want: Vec<[u8; 32]> = [&b"ab"[..], b"", b"c"]
            .iter()
            .map(|d| Sha256::digest(d).into())
            .collect();
        assert_eq!(hashes, want);
        assert_eq!(
            (books.totals.files, books.totals.dirs, books.totals.bytes),
            (3, 1, 3)
        );
        books.manifest.finish().unwrap();
        let mut text = String::new();
        io::Read::read_to_string(&mut books.manifest.reader().unwrap(), &mut text).unwrap();
        let lines: Vec<Entry> = text
            .lines()
            .map(|l| Entry::from_json_line(l).unwrap())
            .collect();
        let paths: Vec<&[u8]> = lines.iter().map(|e| &e.path[..]).collect();
        assert_eq!(paths, [&b"a"[..], b"e", b"c", b"d"]);
        assert_eq!(lines[0].sha256, Some(want[0]));
        assert_eq!(lines[3].sha256, None);
    }

    #[test]
    fn the_pool_bounds_what_is_in_flight_and_buffers_come_back() {
        let recorder = Recorder::new(books());
        // Many more hand-overs than buffers: each comes back.
        for _ in 0..10 * BUFFERS {
            let buffer = recorder.buffer().unwrap();
            assert_eq!(buffer.len(), BUFFER);
            recorder.data(buffer, BUFFER).unwrap();
        }
        recorder
            .record(file("big", (10 * BUFFERS * BUFFER) as u64), None)
            .unwrap();
        let books = recorder.finish().unwrap();
        assert_eq!(books.totals.files, 1);
    }
}
