//! Writes an archive as a bounded parallel pipeline:
//!
//! ```text
//! caller thread: tar entries ─▶ raw frames ─▶ N workers: zstd ─▶ writer thread:
//!                reorder, age-encrypt, write to every output, SHA-256 of the ciphertext
//!      └─▶ recorder thread: each file's SHA-256, manifest, SHA256SUMS, path index
//! ```
//!
//! At most `in_flight` raw and compressed frame buffers exist at once, and
//! they are recycled, so memory stays flat whatever the size of the year.
//!
//! Longer than the ≈800 lines a file usually holds: the pipeline's three
//! stages share one buffer pool, one ordering of frames and one error path,
//! and read best side by side. How a member's tar headers are written is in
//! `headers.rs`, the tests in `tests.rs`.

mod headers;
mod records;

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{self, BufRead, BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;

use crossbeam_channel::{Receiver, Sender, bounded};
use sha2::{Digest, Sha256};

use super::meta::{Footer, MemberRef, Metadata, Totals};
use super::pathindex::{PATHS_KEY, PATHS_MEMBER};
use super::seektable::{self, FrameEntry};
use super::sorted::{INDEX_FRAME, IndexBuilder};
use super::spool::Spool;
use super::{
    FOOTER_MEMBER, FRAME_CAP, FRAME_TARGET, MANIFEST_MEMBER, METADATA_MEMBER, SHA256SUMS_MEMBER,
};
use crate::error::{Error, Result};
use crate::format::manifest::{Entry, Kind};
use headers::{pad, pax_header, set_ustar_name};
use records::{Books, Recorder};

/// Tuning of the pipeline; the defaults suit a small machine.
#[derive(Clone, Debug)]
pub struct WriteOptions {
    /// zstd level (3 is zstd's default: fast, and the anchors use it).
    pub level: i32,
    /// Compression workers; defaults to the number of CPUs.
    pub workers: usize,
    /// Write the path index `kluis/paths.jsonl` (docs/FORMAT.md §4.5);
    /// off only to write archives as kluis did before it, for tests.
    pub path_index: bool,
}

impl Default for WriteOptions {
    fn default() -> Self {
        WriteOptions {
            level: 3,
            workers: std::thread::available_parallelism().map_or(2, |n| n.get()),
            path_index: true,
        }
    }
}

/// A modification time with nanoseconds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Mtime {
    pub secs: i64,
    pub nsec: u32,
}

impl Mtime {
    pub fn from_system(t: std::time::SystemTime) -> Mtime {
        match t.duration_since(std::time::UNIX_EPOCH) {
            Ok(d) => Mtime {
                secs: d.as_secs() as i64,
                nsec: d.subsec_nanos(),
            },
            Err(e) => {
                let d = e.duration();
                let (mut secs, mut nsec) = (-(d.as_secs() as i64), d.subsec_nanos());
                if nsec > 0 {
                    secs -= 1;
                    nsec = 1_000_000_000 - nsec;
                }
                Mtime { secs, nsec }
            }
        }
    }

    pub fn to_system(self) -> std::time::SystemTime {
        let base = if self.secs >= 0 {
            std::time::UNIX_EPOCH + std::time::Duration::from_secs(self.secs as u64)
        } else {
            std::time::UNIX_EPOCH - std::time::Duration::from_secs(self.secs.unsigned_abs())
        };
        base + std::time::Duration::from_nanos(u64::from(self.nsec))
    }

    /// Parses a pax `mtime` value (`-1.5` is 1.5 s before the epoch);
    /// digits past nanoseconds are dropped.
    pub fn from_pax(text: &str) -> Option<Mtime> {
        let (negative, text) = match text.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, text),
        };
        let (whole, frac) = text.split_once('.').unwrap_or((text, ""));
        let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
        if !digits(whole) || !(frac.is_empty() || digits(frac)) {
            return None;
        }
        let secs: i64 = whole.parse().ok()?;
        let nsec: u32 = format!("{:0<9}", &frac[..frac.len().min(9)]).parse().ok()?;
        Some(match (negative, nsec) {
            (false, _) => Mtime { secs, nsec },
            (true, 0) => Mtime { secs: -secs, nsec },
            (true, _) => Mtime {
                secs: -secs - 1,
                nsec: 1_000_000_000 - nsec,
            },
        })
    }

    /// The pax `mtime` value: decimal seconds with a fraction when needed.
    fn pax(self) -> String {
        if self.nsec == 0 {
            return self.secs.to_string();
        }
        let (whole, frac) = if self.secs < 0 {
            (format!("-{}", -(self.secs + 1)), 1_000_000_000 - self.nsec)
        } else {
            (self.secs.to_string(), self.nsec)
        };
        let frac = format!("{frac:09}");
        format!("{whole}.{}", frac.trim_end_matches('0'))
    }
}

/// How [`ArchiveWriter::add_located`] cuts a member into frames.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Framing {
    /// As any member: frames are cut only when full.
    Packed,
    /// The member starts a new frame, and a new frame starts at the first
    /// line start after `every` bytes of it (lines end with `\n`).
    Lines { every: usize },
}

/// What writing produced: the ciphertext's size and hash, the same for
/// every output.
#[derive(Clone, Debug)]
pub struct Sealed {
    pub size: u64,
    pub sha256: [u8; 32],
    pub frames: usize,
    pub tar_bytes: u64,
    pub totals: Totals,
}

/// Writes one archive to one or more open outputs at once.
///
/// # Errors
/// Dropping it without calling [`ArchiveWriter::finish`] cancels the
/// pipeline; the outputs then hold an unfinished file that the caller MUST
/// delete.
pub struct ArchiveWriter<O: Write + Send + 'static = File> {
    tar: Option<tar::Builder<FrameSink>>,
    footer: Footer,
    /// Keeps the records' books until [`ArchiveWriter::end_records`]…
    recorder: Option<Recorder>,
    /// …which takes them back.
    books: Option<Books>,
    /// `kluis/metadata.json` as written (signatures cover it).
    metadata_json: Vec<u8>,
    /// Set once the manifest and SHA256SUMS are written.
    records_ended: bool,
    cancel: Arc<AtomicBool>,
    threads: Vec<JoinHandle<()>>,
    writer: Option<JoinHandle<io::Result<WriterResult<O>>>>,
}

struct WriterResult<O: Write> {
    outputs: Outputs<O>,
    frames: usize,
}

impl<O: Write + Send + 'static> ArchiveWriter<O> {
    /// Starts an archive: writes the age header to every output and the
    /// metadata member.
    pub fn new(
        outputs: Vec<(PathBuf, O)>,
        recipients: &[Box<dyn age::Recipient + Send>],
        metadata: &Metadata,
        options: &WriteOptions,
    ) -> Result<Self> {
        let encryptor = age::Encryptor::with_recipients(recipients.iter().map(|r| r.as_ref() as _))
            .map_err(|e| Error::Key {
                what: "recipients".into(),
                detail: e.to_string(),
            })?;
        let stream = encryptor
            .wrap_output(Outputs::new(outputs))
            .map_err(output_error)?;

        let workers = options.workers.max(1);
        let in_flight = workers + 2;
        let cancel = Arc::new(AtomicBool::new(false));
        let (raw_back, raw_pool) = bounded::<Vec<u8>>(in_flight);
        let (out_back, out_pool) = bounded::<Vec<u8>>(in_flight);
        for _ in 0..in_flight {
            raw_back
                .send(Vec::with_capacity(FRAME_CAP))
                .expect("pool has room");
            out_back.send(Vec::new()).expect("pool has room");
        }
        let (job_tx, job_rx) = bounded::<(u64, Vec<u8>)>(in_flight);
        let (done_tx, done_rx) = bounded::<(u64, io::Result<Compressed>)>(in_flight);

        let mut threads = Vec::with_capacity(workers);
        for _ in 0..workers {
            let (job_rx, done_tx) = (job_rx.clone(), done_tx.clone());
            let out_pool = out_pool.clone();
            let level = options.level;
            threads.push(std::thread::spawn(move || {
                compress_worker(level, job_rx, done_tx, out_pool)
            }));
        }
        drop((job_rx, done_tx, out_pool));
        let writer_cancel = cancel.clone();
        let writer = std::thread::spawn(move || {
            write_frames(stream, done_rx, raw_back, out_back, &writer_cancel)
        });

        let sink = FrameSink {
            current: Vec::with_capacity(FRAME_CAP),
            offset: 0,
            seq: 0,
            jobs: Some(job_tx),
            pool: raw_pool,
            cancel: cancel.clone(),
        };
        let mut archive = ArchiveWriter {
            tar: Some(tar::Builder::new(sink)),
            footer: Footer::new(&metadata.archive_id),
            recorder: Some(Recorder::new(Books {
                manifest: Spool::new()?,
                sums: Spool::new()?,
                index: options.path_index.then(IndexBuilder::new),
                totals: Totals::default(),
            })),
            books: None,
            metadata_json: Vec::new(),
            records_ended: false,
            cancel,
            threads,
            writer: Some(writer),
        };
        let json = serde_json::to_vec_pretty(metadata).expect("metadata serialises");
        archive.footer.metadata = archive.add_kluis_member(METADATA_MEMBER, &json)?;
        archive.metadata_json = json;
        // The metadata alone in the first frame: opening an archive then
        // decrypts only a few KiB at its start.
        archive.guarded(|w| w.tar().get_mut().cut())?;
        Ok(archive)
    }

    fn tar(&mut self) -> &mut tar::Builder<FrameSink> {
        self.tar.as_mut().expect("used after finish")
    }

    fn offset(&mut self) -> u64 {
        self.tar().get_ref().offset
    }

    /// Writes the pax extension and ustar header of a member; returns a
    /// manifest entry with its offsets filled in.
    fn header(
        &mut self,
        path: &[u8],
        kind: Kind,
        size: u64,
        mode: u32,
        mtime: Mtime,
        target: Option<&[u8]>,
    ) -> io::Result<Entry> {
        let sink = self.tar().get_mut();
        sink.cut_if_full()?;
        let offset = sink.offset;
        let mtime_text = mtime.pax();
        let binary = std::str::from_utf8(path).is_err()
            || target.is_some_and(|t| std::str::from_utf8(t).is_err());
        let mut pax: Vec<(&str, &[u8])> = Vec::with_capacity(4);
        if binary {
            pax.push(("hdrcharset", b"BINARY"));
        }
        pax.push(("path", path));
        if let Some(t) = target {
            pax.push(("linkpath", t));
        }
        pax.push(("mtime", mtime_text.as_bytes()));
        let (records, pax_header) = pax_header(path, mtime, &pax);
        self.tar().append(&pax_header, &records[..])?;

        let mut header = tar::Header::new_ustar();
        let mut name = path.to_vec();
        if kind == Kind::Dir {
            name.push(b'/');
        }
        set_ustar_name(&mut header, &name);
        header.set_entry_type(match kind {
            Kind::File => tar::EntryType::Regular,
            Kind::Dir => tar::EntryType::Directory,
            Kind::Symlink => tar::EntryType::Symlink,
        });
        if let Some(t) = target {
            // Too long for ustar: the pax linkpath alone carries it.
            let field = &mut header.as_old_mut().linkname;
            if t.len() <= field.len() {
                field[..t.len()].copy_from_slice(t);
            }
        }
        header.set_size(size);
        header.set_mode(mode & 0o7777);
        header.set_mtime(mtime.secs.max(0) as u64);
        header.set_uid(0);
        header.set_gid(0);
        header.set_cksum();
        self.tar().get_mut().write_all(header.as_bytes())?;
        Ok(Entry {
            path: path.to_vec(),
            kind,
            size,
            mode: mode & 0o7777,
            mtime: mtime.secs,
            mtime_nsec: mtime.nsec,
            sha256: None,
            target: target.map(<[u8]>::to_vec),
            offset,
            data_offset: self.offset(),
        })
    }

    /// Hands a record to the recorder (a file's after all its data).
    fn record(&mut self, entry: Entry, reply: Option<Sender<[u8; 32]>>) -> io::Result<()> {
        self.recorder()?.record(entry, reply)
    }

    /// Adds a directory record.
    pub fn add_dir(&mut self, path: &[u8], mode: u32, mtime: Mtime) -> Result<()> {
        self.guarded(|w| {
            let entry = w.header(path, Kind::Dir, 0, mode, mtime, None)?;
            w.record(entry, None)
        })
    }

    /// Adds a symlink record (the target is stored as found).
    pub fn add_symlink(
        &mut self,
        path: &[u8],
        target: &[u8],
        mode: u32,
        mtime: Mtime,
    ) -> Result<()> {
        self.guarded(|w| {
            let entry = w.header(path, Kind::Symlink, 0, mode, mtime, Some(target))?;
            w.record(entry, None)
        })
    }

    /// Adds a file record of exactly `size` bytes read from `data`; returns
    /// its SHA-256 (waiting for it: [`ArchiveWriter::add_file_queued`]
    /// does not).
    ///
    /// # Errors
    /// [`Error::SourceChanged`] (naming `source`) when `data` holds fewer or
    /// more than `size` bytes. The archive is then unusable: drop it.
    pub fn add_file(
        &mut self,
        path: &[u8],
        size: u64,
        mode: u32,
        mtime: Mtime,
        data: &mut dyn Read,
        source: &Path,
    ) -> Result<[u8; 32]> {
        let (tx, rx) = bounded(1);
        self.copy_file(path, size, mode, mtime, data, source, Some(tx))?;
        match rx.recv() {
            Ok(hash) => Ok(hash),
            Err(_) => Err(self.pipeline_error(records::stopped())),
        }
    }

    /// Adds a file record as [`ArchiveWriter::add_file`] does, but leaves
    /// its SHA-256 to the recorder thread, which puts it in the manifest:
    /// the caller goes on to the next file meanwhile.
    ///
    /// # Errors
    /// As [`ArchiveWriter::add_file`].
    pub fn add_file_queued(
        &mut self,
        path: &[u8],
        size: u64,
        mode: u32,
        mtime: Mtime,
        data: &mut dyn Read,
        source: &Path,
    ) -> Result<()> {
        self.copy_file(path, size, mode, mtime, data, source, None)
    }

    #[allow(clippy::too_many_arguments)]
    fn copy_file(
        &mut self,
        path: &[u8],
        size: u64,
        mode: u32,
        mtime: Mtime,
        data: &mut dyn Read,
        source: &Path,
        reply: Option<Sender<[u8; 32]>>,
    ) -> Result<()> {
        let entry = self.guarded(|w| w.header(path, Kind::File, size, mode, mtime, None))?;
        let mut copied = 0u64;
        while copied < size {
            let mut buf = self.guarded(|w| w.recorder()?.buffer())?;
            let want = (size - copied).min(buf.len() as u64) as usize;
            // Filled as far as the source gives, so that a pipe's small
            // reads do not each become a hand-over.
            let mut n = 0;
            while n < want {
                match data.read(&mut buf[n..want]) {
                    Ok(0) => {
                        return Err(Error::SourceChanged {
                            path: source.into(),
                            detail: format!("it shrank from {size} to {} bytes", copied + n as u64),
                        });
                    }
                    Ok(k) => n += k,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) => return Err(Error::io(source, e)),
                }
            }
            self.guarded(|w| {
                w.tar().get_mut().write_all(&buf[..n])?;
                w.recorder()?.data(buf, n)
            })?;
            copied += n as u64;
        }
        let mut probe = [0u8; 1];
        loop {
            match data.read(&mut probe) {
                Ok(0) => break,
                Ok(_) => {
                    return Err(Error::SourceChanged {
                        path: source.into(),
                        detail: format!("it grew beyond {size} bytes"),
                    });
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(Error::io(source, e)),
            }
        }
        self.guarded(|w| {
            pad(w.tar().get_mut(), size)?;
            w.record(entry, reply)
        })
    }

    /// The recorder, until the records end or it stopped.
    fn recorder(&self) -> io::Result<&Recorder> {
        self.recorder.as_ref().ok_or_else(records::stopped)
    }

    fn books(&mut self) -> &mut Books {
        self.books.as_mut().expect("records are ended")
    }

    /// Runs `f`; an I/O error from the pipeline is turned into the error of
    /// the output that caused it.
    fn guarded<T>(&mut self, f: impl FnOnce(&mut Self) -> io::Result<T>) -> Result<T> {
        match f(self) {
            Ok(v) => Ok(v),
            Err(e) => Err(self.pipeline_error(e)),
        }
    }

    /// A pipeline send failed: the writer thread stopped, and its error is
    /// the real one.
    fn pipeline_error(&mut self, e: io::Error) -> Error {
        if e.kind() == io::ErrorKind::BrokenPipe
            && let Some(recorder) = self.recorder.take()
        {
            // When the recorder stopped, its error is the real one.
            match recorder.finish() {
                Err(real) => {
                    self.shutdown();
                    return output_error(real);
                }
                Ok(books) => self.books = Some(books),
            }
        }
        if e.kind() == io::ErrorKind::BrokenPipe
            && let Some(handle) = self.writer.take()
        {
            self.shutdown();
            if let Ok(Err(real)) = handle.join() {
                return output_error(real);
            }
        }
        output_error(e)
    }

    fn add_kluis_member(&mut self, name: &str, data: &[u8]) -> Result<MemberRef> {
        self.guarded(|w| {
            let offset = w
                .header(
                    name.as_bytes(),
                    Kind::File,
                    data.len() as u64,
                    0o644,
                    now(),
                    None,
                )?
                .offset;
            w.tar().get_mut().write_all(data)?;
            pad(w.tar().get_mut(), data.len() as u64)?;
            Ok(MemberRef {
                offset,
                size: data.len() as u64,
            })
        })
    }

    fn add_spooled_member(
        &mut self,
        name: &str,
        which: fn(&mut Self) -> &mut Spool,
    ) -> Result<MemberRef> {
        let size = which(self).len;
        let mut reader = which(self).reader()?;
        self.guarded(|w| {
            let offset = w
                .header(name.as_bytes(), Kind::File, size, 0o644, now(), None)?
                .offset;
            let copied = io::copy(&mut (&mut reader).take(size), w.tar().get_mut())?;
            if copied != size {
                return Err(io::Error::other(format!(
                    "{name}: spool returned {copied} of {size} bytes"
                )));
            }
            pad(w.tar().get_mut(), size)?;
            Ok(MemberRef { offset, size })
        })
    }

    /// Ends the records: writes `kluis/manifest.jsonl` and
    /// `kluis/SHA256SUMS`. After this, only [`ArchiveWriter::add_located`]
    /// and [`ArchiveWriter::finish`] may be called. `finish` calls it when
    /// the caller did not.
    pub fn end_records(&mut self) -> Result<()> {
        if self.records_ended {
            return Ok(());
        }
        self.records_ended = true;
        if let Some(recorder) = self.recorder.take() {
            match recorder.finish() {
                Ok(books) => self.books = Some(books),
                Err(e) => {
                    self.shutdown();
                    return Err(output_error(e));
                }
            }
        }
        let books = self.books();
        books.manifest.finish()?;
        books.sums.finish()?;
        self.footer.records = books.totals;
        // The manifest starts a frame: reading it decrypts no records.
        self.guarded(|w| w.tar().get_mut().cut())?;
        self.footer.manifest =
            self.add_spooled_member(MANIFEST_MEMBER, |w| &mut w.books().manifest)?;
        self.footer.sha256sums =
            self.add_spooled_member(SHA256SUMS_MEMBER, |w| &mut w.books().sums)?;
        Ok(())
    }

    /// `kluis/metadata.json` exactly as written.
    pub fn written_metadata(&self) -> &[u8] {
        &self.metadata_json
    }

    /// The manifest as written (JSON Lines, tar order), read back from its
    /// encrypted spool; can be read any number of times, one at a time.
    /// After [`ArchiveWriter::end_records`].
    pub fn written_manifest(&mut self) -> Result<impl Read + use<O>> {
        assert!(self.records_ended, "written_manifest before end_records");
        self.books().manifest.reader()
    }

    /// `kluis/SHA256SUMS` as written; see [`ArchiveWriter::written_manifest`].
    pub fn written_sha256sums(&mut self) -> Result<impl Read + use<O>> {
        assert!(self.records_ended, "written_sha256sums before end_records");
        self.books().sums.reader()
    }

    /// Adds one of kluis's own members after `kluis/SHA256SUMS` (docs/FORMAT.md
    /// §4.5): `name` under `kluis/`, exactly `size` bytes from `content`,
    /// located through the footer under `key`. With [`Framing::Lines`] the
    /// member starts a new frame and every later frame of it starts at a
    /// line start, so that a sorted index can be searched by decompressing
    /// only the frames a binary search visits.
    ///
    /// # Panics
    /// When `key` is one the footer already uses or `name` is not under
    /// `kluis/` (a programming error).
    pub fn add_located(
        &mut self,
        key: &str,
        name: &str,
        size: u64,
        content: &mut dyn Read,
        framing: Framing,
    ) -> Result<MemberRef> {
        assert!(
            name.starts_with("kluis/") && name.len() > 6,
            "{name}: not a kluis member"
        );
        self.end_records()?;
        // The path index's key is reserved until the index is added.
        let taken = Footer::RESERVED.contains(&key)
            || self.footer.extra.contains_key(key)
            || (key == PATHS_KEY && self.books().index.is_some());
        assert!(!taken, "footer key {key} taken");
        let member = self.guarded(|w| {
            if let Framing::Lines { .. } = framing {
                w.tar().get_mut().cut()?;
            }
            let offset = w
                .header(name.as_bytes(), Kind::File, size, 0o644, now(), None)?
                .offset;
            let copied = match framing {
                Framing::Packed => io::copy(&mut content.take(size), w.tar().get_mut())?,
                Framing::Lines { every } => {
                    let mut lines = io::BufReader::with_capacity(64 << 10, content.take(size));
                    let mut line = Vec::new();
                    let mut copied = 0u64;
                    let mut in_frame = 0usize;
                    loop {
                        line.clear();
                        let n = lines.read_until(b'\n', &mut line)?;
                        if n == 0 {
                            break;
                        }
                        if in_frame >= every {
                            w.tar().get_mut().cut()?;
                            in_frame = 0;
                        }
                        w.tar().get_mut().write_all(&line)?;
                        copied += n as u64;
                        in_frame += n;
                    }
                    copied
                }
            };
            if copied != size {
                return Err(io::Error::other(format!(
                    "{name}: {copied} of {size} bytes were given"
                )));
            }
            pad(w.tar().get_mut(), size)?;
            Ok(MemberRef { offset, size })
        })?;
        self.footer.extra.insert(
            key.to_owned(),
            serde_json::to_value(member).expect("member ref serialises"),
        );
        Ok(member)
    }

    /// Writes the manifest and the checksums (unless
    /// [`ArchiveWriter::end_records`] did), the footer, ends the tar and
    /// zstd streams and the age encryption, and flushes every output.
    ///
    /// The outputs are NOT synced: the caller syncs and verifies them.
    pub fn finish(mut self) -> Result<(Sealed, Vec<(PathBuf, O)>)> {
        self.end_records()?;
        if let Some(index) = self.books().index.take() {
            // After the signatures, which follow SHA256SUMS (§4.6).
            let (size, mut lines) = index.finish()?;
            self.add_located(
                PATHS_KEY,
                PATHS_MEMBER,
                size,
                &mut lines,
                Framing::Lines { every: INDEX_FRAME },
            )?;
        }
        let footer = serde_json::to_vec(&self.footer).expect("footer serialises");
        self.guarded(|w| w.tar().get_mut().cut())?;
        self.add_kluis_member(FOOTER_MEMBER, &footer)?;
        let tar = self.tar.take().expect("finish runs once");
        let mut sink = match tar.into_inner() {
            Ok(sink) => sink,
            Err(e) => return Err(self.pipeline_error(e)),
        };
        let tar_bytes = sink.offset;
        if let Err(e) = sink.cut() {
            return Err(self.pipeline_error(e));
        }
        drop(sink); // closes the job channel: the workers drain and stop
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
        let result = self
            .writer
            .take()
            .expect("writer runs until finish")
            .join()
            .map_err(|_| Error::Usage("the writer thread panicked".into()))?
            .map_err(output_error)?;
        let Outputs { files, hasher, len } = result.outputs;
        let sealed = Sealed {
            size: len,
            sha256: hasher.finalize().into(),
            frames: result.frames,
            tar_bytes,
            totals: self.footer.records,
        };
        let files = files
            .into_iter()
            .map(|(p, w)| {
                Ok((
                    p.clone(),
                    w.into_inner().map_err(|e| Error::io(p, e.into_error()))?,
                ))
            })
            .collect::<Result<Vec<_>>>()?;
        Ok((sealed, files))
    }

    fn shutdown(&mut self) {
        self.cancel.store(true, Ordering::SeqCst);
        if let Some(tar) = self.tar.as_mut() {
            tar.get_mut().jobs = None;
        }
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

impl<O: Write + Send + 'static> Drop for ArchiveWriter<O> {
    fn drop(&mut self) {
        self.shutdown();
        if let Some(w) = self.writer.take() {
            let _ = w.join();
        }
    }
}

fn now() -> Mtime {
    Mtime::from_system(std::time::SystemTime::now())
}

/// An I/O error that names the output it happened on.
#[derive(Debug)]
struct OutputError {
    path: PathBuf,
    source: io::Error,
}

impl std::fmt::Display for OutputError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.path.display(), self.source)
    }
}

impl std::error::Error for OutputError {}

fn output_error(e: io::Error) -> Error {
    let kind = e.kind();
    match e.into_inner() {
        Some(inner) => match inner.downcast::<OutputError>() {
            Ok(out) => Error::io(out.path, out.source),
            Err(other) => Error::io("archive", io::Error::new(kind, other)),
        },
        None => Error::io("archive", io::Error::from(kind)),
    }
}

/// Every output gets the same ciphertext; its SHA-256 and length are taken
/// once, as it is written.
struct Outputs<O: Write> {
    files: Vec<(PathBuf, BufWriter<O>)>,
    hasher: Sha256,
    len: u64,
}

impl<O: Write> Outputs<O> {
    fn new(files: Vec<(PathBuf, O)>) -> Self {
        let files = files
            .into_iter()
            .map(|(p, f)| (p, BufWriter::with_capacity(256 << 10, f)))
            .collect();
        Outputs {
            files,
            hasher: Sha256::new(),
            len: 0,
        }
    }
}

impl<O: Write> Write for Outputs<O> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        for (path, file) in &mut self.files {
            file.write_all(buf).map_err(|source| {
                io::Error::new(
                    source.kind(),
                    OutputError {
                        path: path.clone(),
                        source,
                    },
                )
            })?;
        }
        self.hasher.update(buf);
        self.len += buf.len() as u64;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        for (path, file) in &mut self.files {
            file.flush().map_err(|source| {
                io::Error::new(
                    source.kind(),
                    OutputError {
                        path: path.clone(),
                        source,
                    },
                )
            })?;
        }
        Ok(())
    }
}

/// The tar stream's destination: fills frame buffers and hands full ones to
/// the compression workers.
struct FrameSink {
    current: Vec<u8>,
    offset: u64,
    seq: u64,
    jobs: Option<Sender<(u64, Vec<u8>)>>,
    pool: Receiver<Vec<u8>>,
    cancel: Arc<AtomicBool>,
}

fn stopped() -> io::Error {
    io::Error::new(io::ErrorKind::BrokenPipe, "the archive pipeline stopped")
}

impl FrameSink {
    /// Ends the current frame (if it holds anything).
    fn cut(&mut self) -> io::Result<()> {
        if self.current.is_empty() {
            return Ok(());
        }
        let next = self.pool.recv().map_err(|_| stopped())?;
        let full = std::mem::replace(&mut self.current, next);
        let jobs = self.jobs.as_ref().ok_or_else(stopped)?;
        jobs.send((self.seq, full)).map_err(|_| stopped())?;
        self.seq += 1;
        Ok(())
    }

    /// Ends the current frame at this entry boundary if it is big enough.
    fn cut_if_full(&mut self) -> io::Result<()> {
        if self.current.len() >= FRAME_TARGET {
            self.cut()
        } else {
            Ok(())
        }
    }
}

impl Write for FrameSink {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.cancel.load(Ordering::Relaxed) {
            return Err(stopped());
        }
        let n = buf.len().min(FRAME_CAP - self.current.len());
        self.current.extend_from_slice(&buf[..n]);
        self.offset += n as u64;
        if self.current.len() == FRAME_CAP {
            self.cut()?;
        }
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// A compressed frame and the raw buffer it came from. The raw buffer
/// goes back to the pool only once the frame is written, so at most
/// `in_flight` frames exist between the tar builder and the writer, and a
/// worker can always get an output buffer (no deadlock when frames finish
/// out of order).
struct Compressed {
    data: Vec<u8>,
    raw: Vec<u8>,
}

fn compress_worker(
    level: i32,
    jobs: Receiver<(u64, Vec<u8>)>,
    done: Sender<(u64, io::Result<Compressed>)>,
    out_pool: Receiver<Vec<u8>>,
) {
    let mut compressor = match zstd::bulk::Compressor::new(level).and_then(|mut c| {
        c.include_checksum(true)?;
        c.include_contentsize(true)?;
        Ok(c)
    }) {
        Ok(c) => c,
        Err(e) => {
            let _ = done.send((0, Err(e)));
            return;
        }
    };
    for (seq, raw) in jobs {
        let Ok(mut out) = out_pool.recv() else { return };
        out.clear();
        out.reserve_exact(zstd::zstd_safe::compress_bound(raw.len()));
        let result = compressor
            .compress_to_buffer(&raw[..], &mut out)
            .map(|_| Compressed { data: out, raw });
        if done.send((seq, result)).is_err() {
            return;
        }
    }
}

/// The writer thread: puts frames back in order, encrypts and writes them,
/// then the seek table, then ends the age stream.
fn write_frames<O: Write>(
    mut stream: age::stream::StreamWriter<Outputs<O>>,
    done: Receiver<(u64, io::Result<Compressed>)>,
    raw_back: Sender<Vec<u8>>,
    out_back: Sender<Vec<u8>>,
    cancel: &AtomicBool,
) -> io::Result<WriterResult<O>> {
    let mut pending: BTreeMap<u64, Compressed> = BTreeMap::new();
    let mut next = 0u64;
    let mut table = Vec::new();
    for (seq, result) in done {
        if cancel.load(Ordering::Relaxed) {
            return Err(stopped());
        }
        pending.insert(seq, result?);
        while let Some(frame) = pending.remove(&next) {
            stream.write_all(&frame.data)?;
            let checksum = frame
                .data
                .len()
                .checked_sub(4)
                .map(|i| u32::from_le_bytes(frame.data[i..].try_into().unwrap()));
            table.push(FrameEntry {
                compressed: frame.data.len() as u32,
                decompressed: frame.raw.len() as u32,
                checksum,
            });
            let mut raw = frame.raw;
            raw.clear();
            let _ = raw_back.send(raw);
            let _ = out_back.send(frame.data);
            next += 1;
        }
    }
    if !pending.is_empty() || cancel.load(Ordering::Relaxed) {
        return Err(stopped());
    }
    stream.write_all(&seektable::encode(&table))?;
    let mut outputs = stream.finish()?;
    outputs.flush()?;
    Ok(WriterResult {
        outputs,
        frames: table.len(),
    })
}

#[cfg(test)]
mod tests;
