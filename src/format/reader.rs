//! Reads an archive: opens the age layer with the caller's identities, lays
//! out the zstd frames from the seek table, and reads any part of the tar
//! stream by decrypting and decompressing only the frames that hold it:
//! whole, and kept for the next read ([`TarCursor`]), or as a stream that
//! stops where the read does ([`StreamCursor`]; its decoder's state is in
//! `stream`).
//!
//! Over 800 lines: the two ways of reading frames share the opened age
//! stream, its seeking and its damage reports, which is this file's one
//! concept.

use std::fs::File;
use std::io::{self, BufReader, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use super::filehash::FileHash;
use super::meta::{Footer, MemberRef, Metadata};
use super::seektable::{self, FOOTER_LEN, Frame};
use super::tarwalk;
use super::{FOOTER_MEMBER, FORMAT_VERSION, MANIFEST_MEMBER, MAX_FRAME, MAX_JSON, METADATA_MEMBER};
use crate::error::{Error, IoContext, Result};
use crate::format::manifest::{Entry, Name};
use crate::keys::Identities;
use crate::util::direct::Sequential;
use crate::util::lines::read_line;
use stream::{Failed, StreamState};

mod stream;

/// Counts the ciphertext bytes read from the file, so that tests and
/// reports can show how little of an archive a partial restore touches.
/// With a [`FileHash`], it also hands the bytes to it (with where they
/// were read), so that a full check hashes the file as it reads it.
pub(crate) struct Counting<R> {
    inner: R,
    count: Arc<AtomicU64>,
    hash: Option<Arc<FileHash>>,
    pos: u64,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count.fetch_add(n as u64, Ordering::Relaxed);
        if let Some(hash) = &self.hash {
            hash.feed(self.pos, &buf[..n]);
        }
        self.pos += n as u64;
        Ok(n)
    }
}

impl<R: Seek> Seek for Counting<R> {
    fn seek(&mut self, pos: SeekFrom) -> io::Result<u64> {
        self.pos = self.inner.seek(pos)?;
        Ok(self.pos)
    }
}

pub(crate) type Plain = age::stream::StreamReader<BufReader<Counting<Source>>>;

/// Where an archive's bytes come from: the file as the kernel reads it
/// (through the page cache, for the scattered reads of a selective
/// restore), or a thread reading it ahead from the medium in 1 MiB direct
/// reads, for a reader that goes through all of it (a prefetcher).
pub(crate) enum Source {
    File(File),
    Ahead(Sequential),
}

impl Read for Source {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Source::File(f) => f.read(buf),
            Source::Ahead(s) => s.read(buf),
        }
    }
}

impl Seek for Source {
    fn seek(&mut self, pos: SeekFrom) -> io::Result<u64> {
        match self {
            Source::File(f) => f.seek(pos),
            Source::Ahead(s) => s.seek(pos),
        }
    }
}

/// Opens the age layer of `path`, mapping age's errors to ours.
pub(crate) fn decrypt(
    path: &Path,
    identities: &Identities,
    count: Arc<AtomicU64>,
) -> Result<Plain> {
    decrypt_hashing(path, identities, count, None, false)
}

/// [`decrypt`], handing every byte read to `hash`; with `ahead`, the file
/// is read ahead from the medium by a thread of its own ([`Source::Ahead`]).
fn decrypt_hashing(
    path: &Path,
    identities: &Identities,
    count: Arc<AtomicU64>,
    hash: Option<Arc<FileHash>>,
    ahead: bool,
) -> Result<Plain> {
    let source = if ahead {
        Source::Ahead(Sequential::open(path).at(path)?)
    } else {
        Source::File(File::open(path).at(path)?)
    };
    let counting = Counting {
        inner: source,
        count,
        hash,
        pos: 0,
    };
    let decryptor = age::Decryptor::new_buffered(BufReader::with_capacity(128 << 10, counting))
        .map_err(|e| crate::keys::header_error(path, e))?;
    let scrypt = decryptor.is_scrypt();
    if scrypt && !identities.has_passphrase() {
        return Err(Error::NeedsPassphrase { path: path.into() });
    }
    decryptor
        .decrypt(identities.as_slice().iter().map(|i| i.as_ref() as _))
        .map_err(|e| crate::keys::map_decrypt_error(path, scrypt, e))
}

/// An opened archive.
pub struct ArchiveReader {
    path: PathBuf,
    plain: Plain,
    plain_pos: Option<u64>,
    frames: Vec<Frame>,
    footer: Footer,
    metadata: Metadata,
    decompressor: zstd::bulk::Decompressor<'static>,
    cbuf: Vec<u8>,
    /// The last frame decoded, kept so that consecutive small records in one
    /// frame cost one decode.
    cached: Option<usize>,
    cache: Vec<u8>,
    read_count: Arc<AtomicU64>,
    prefetch: Option<Prefetch>,
    /// Kept to reopen the age stream after a chunk fails: age's
    /// `StreamReader` stays stuck on a failed chunk (age 0.12), so without
    /// a fresh stream every later read would fail too.
    identities: Identities,
    /// Takes the file's SHA-256 from the bytes read (see [`FileHash`]).
    hash: Option<Arc<FileHash>>,
    /// Reads the file through a read-ahead thread ([`Source::Ahead`]): a
    /// prefetcher, which reads all of it in order.
    ahead: bool,
    poisoned: bool,
    /// The archive error behind the last I/O error a [`TarCursor`] returned:
    /// kept here because the tar crate, which sees only the `io::Error`,
    /// holds the cursor while it walks.
    fault: Option<Error>,
    /// Where the last [`StreamCursor`] stopped.
    stream: Option<StreamState>,
}

/// A second reader in its own thread, decoding frames ahead in order, so
/// that reading the whole archive uses two cores: one decrypts and
/// decompresses while the other hashes and writes.
struct Prefetch {
    frames: crossbeam_channel::Receiver<(usize, Result<Vec<u8>>)>,
    recycle: crossbeam_channel::Sender<Vec<u8>>,
    next: usize,
}

impl ArchiveReader {
    /// Opens `path` with any of `identities`, reads the seek table, the
    /// footer and the metadata. Reads a few frames, not the whole archive.
    pub fn open(path: &Path, identities: &Identities) -> Result<Self> {
        Self::open_counting(path, identities, Arc::new(AtomicU64::new(0)), None)
    }

    /// [`ArchiveReader::open`], handing every byte this reader (and its
    /// prefetcher) reads from the file to `hash`.
    pub fn open_hashing(path: &Path, identities: &Identities, hash: Arc<FileHash>) -> Result<Self> {
        Self::open_counting(path, identities, Arc::new(AtomicU64::new(0)), Some(hash))
    }

    fn open_counting(
        path: &Path,
        identities: &Identities,
        read_count: Arc<AtomicU64>,
        hash: Option<Arc<FileHash>>,
    ) -> Result<Self> {
        let plain = decrypt_hashing(path, identities, read_count.clone(), hash.clone(), false)?;
        let mut reader = ArchiveReader {
            path: path.into(),
            plain,
            plain_pos: None,
            frames: Vec::new(),
            footer: Footer::new(""),
            metadata: placeholder_metadata(),
            decompressor: zstd::bulk::Decompressor::new().at(path)?,
            cbuf: Vec::new(),
            cached: None,
            cache: Vec::new(),
            read_count,
            prefetch: None,
            identities: identities.clone(),
            hash,
            ahead: false,
            poisoned: false,
            fault: None,
            stream: None,
        };
        reader.frames = reader.read_seek_table()?;
        reader.footer = reader.read_footer()?;
        let meta = reader.read_json_member(reader.footer.metadata, METADATA_MEMBER)?;
        reader.metadata = serde_json::from_slice(&meta)
            .map_err(|e| reader.not_kluis(format!("{METADATA_MEMBER}: {e}")))?;
        Ok(reader)
    }

    /// The archive error (damage, wrong frame, I/O) behind the last
    /// `io::Error` a [`TarCursor`] of this reader returned, once.
    pub fn take_fault(&mut self) -> Option<Error> {
        self.fault.take()
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
    pub fn metadata(&self) -> &Metadata {
        &self.metadata
    }
    pub fn footer(&self) -> &Footer {
        &self.footer
    }
    pub fn frames(&self) -> &[Frame] {
        &self.frames
    }
    /// Ciphertext bytes read from the file so far.
    pub fn bytes_read(&self) -> u64 {
        self.read_count.load(Ordering::Relaxed)
    }

    fn not_kluis(&self, reason: String) -> Error {
        Error::NotAnArchive {
            path: self.path.clone(),
            reason,
        }
    }

    /// Damage found while decrypting: age reports it as an I/O error.
    pub(crate) fn damaged(&self, what: &str, e: io::Error) -> Error {
        let detail = match e.kind() {
            io::ErrorKind::UnexpectedEof => format!("{what}: the file ends too early (truncated)"),
            io::ErrorKind::InvalidData => format!("{what}: authentication failed ({e})"),
            _ => return Error::io(&self.path, e),
        };
        Error::Damaged {
            path: self.path.clone(),
            detail,
        }
    }

    fn plain_seek(&mut self, pos: u64) -> io::Result<()> {
        if self.poisoned {
            self.plain = decrypt_hashing(
                &self.path,
                &self.identities,
                self.read_count.clone(),
                self.hash.clone(),
                self.ahead,
            )
            .map_err(|e| io::Error::other(e.to_string()))?;
            self.plain_pos = Some(0);
            self.poisoned = false;
        }
        if self.plain_pos != Some(pos) {
            self.plain_pos = None;
            if let Err(e) = self.plain.seek(SeekFrom::Start(pos)) {
                self.poisoned = true;
                return Err(e);
            }
            self.plain_pos = Some(pos);
        }
        Ok(())
    }

    fn plain_read(&mut self, pos: u64, buf: &mut [u8]) -> io::Result<()> {
        self.plain_seek(pos)?;
        self.plain_pos = None;
        if let Err(e) = self.plain.read_exact(buf) {
            self.poisoned = true;
            return Err(e);
        }
        self.plain_pos = Some(pos + buf.len() as u64);
        Ok(())
    }

    fn read_seek_table(&mut self) -> Result<Vec<Frame>> {
        let len = self
            .plain
            .seek(SeekFrom::End(0))
            .map_err(|e| self.damaged("end of archive", e))?;
        self.plain_pos = Some(len);
        if len < FOOTER_LEN as u64 {
            return Err(self.not_kluis("too short to hold a seek table".into()));
        }
        let mut footer = [0u8; FOOTER_LEN];
        self.plain_read(len - FOOTER_LEN as u64, &mut footer)
            .map_err(|e| self.damaged("seek table", e))?;
        let table_len =
            seektable::table_len_from_footer(&footer).map_err(|e| self.not_kluis(e.to_string()))?;
        if table_len > len {
            return Err(self.not_kluis("the seek table is larger than the archive".into()));
        }
        let mut table = vec![0u8; table_len as usize];
        self.plain_read(len - table_len, &mut table)
            .map_err(|e| self.damaged("seek table", e))?;
        let frames = seektable::decode(&table).map_err(|e| self.not_kluis(e.to_string()))?;
        let data_end = frames.last().map_or(0, Frame::c_end);
        if data_end + table_len != len {
            return Err(self.not_kluis("the seek table does not describe the stream".into()));
        }
        if let Some(f) = frames.iter().find(|f| {
            u64::from(f.entry.decompressed) > MAX_FRAME || u64::from(f.entry.compressed) > MAX_FRAME
        }) {
            return Err(
                self.not_kluis(format!("a frame at {} claims more than 64 MiB", f.c_offset))
            );
        }
        if frames.is_empty() {
            return Err(self.not_kluis("no data frames".into()));
        }
        Ok(frames)
    }

    /// Decrypts and decompresses frame `i` into `out`.
    pub fn read_frame(&mut self, i: usize, out: &mut Vec<u8>) -> Result<()> {
        let frame = self.frames[i];
        let mut cbuf = std::mem::take(&mut self.cbuf);
        cbuf.resize(frame.entry.compressed as usize, 0);
        let read = self.plain_read(frame.c_offset, &mut cbuf);
        let result = read
            .map_err(|e| self.damaged(&format!("frame {i}"), e))
            .and_then(|()| {
                out.clear();
                out.reserve(frame.entry.decompressed as usize);
                let n = self
                    .decompressor
                    .decompress_to_buffer(&cbuf[..], out)
                    .map_err(|e| self.not_kluis(format!("frame {i} does not decompress: {e}")))?;
                if n != frame.entry.decompressed as usize {
                    return Err(self.not_kluis(format!(
                        "frame {i} holds {n} bytes, its seek table entry says {}",
                        frame.entry.decompressed
                    )));
                }
                Ok(())
            });
        self.cbuf = cbuf;
        result
    }

    /// Makes frame `i` the cached frame.
    fn ensure_frame(&mut self, i: usize) -> Result<()> {
        if self.cached == Some(i) {
            return Ok(());
        }
        if let Some(p) = self.prefetch.as_mut().filter(|p| p.next <= i) {
            while let Ok((j, frame)) = p.frames.recv() {
                p.next = j + 1;
                match frame {
                    Ok(buf) if j == i => {
                        let old = std::mem::replace(&mut self.cache, buf);
                        let _ = p.recycle.try_send(old);
                        self.cached = Some(i);
                        return Ok(());
                    }
                    Err(e) if j == i => return Err(e),
                    Ok(buf) => {
                        let _ = p.recycle.try_send(buf);
                    }
                    Err(_) => {}
                }
            }
            // The prefetcher stopped: read directly below.
        }
        {
            self.cached = None;
            let mut cache = std::mem::take(&mut self.cache);
            let result = self.read_frame(i, &mut cache);
            self.cache = cache;
            result?;
            self.cached = Some(i);
        }
        Ok(())
    }

    /// Starts decoding frames ahead, in order, in a second thread (with a
    /// second opening of the archive). For reading all or most of it.
    pub fn prefetch(&mut self) -> Result<()> {
        let mut ahead = self.sibling()?;
        let (tx, rx) = crossbeam_channel::bounded(2);
        let (recycle, recycled) = crossbeam_channel::bounded::<Vec<u8>>(4);
        let count = self.frames.len();
        std::thread::spawn(move || {
            for i in 0..count {
                let mut buf = recycled.try_recv().unwrap_or_default();
                let frame = ahead.read_frame(i, &mut buf).map(|()| buf);
                if tx.send((i, frame)).is_err() {
                    return;
                }
            }
        });
        self.prefetch = Some(Prefetch {
            frames: rx,
            recycle,
            next: 0,
        });
        Ok(())
    }

    /// A second reader of the same archive, reading all of it in order: a
    /// new age stream over the file read ahead from the medium, sharing
    /// what was read when this one was opened.
    fn sibling(&self) -> Result<Self> {
        Ok(ArchiveReader {
            path: self.path.clone(),
            plain: decrypt_hashing(
                &self.path,
                &self.identities,
                self.read_count.clone(),
                self.hash.clone(),
                true,
            )?,
            plain_pos: None,
            frames: self.frames.clone(),
            footer: self.footer.clone(),
            metadata: self.metadata.clone(),
            decompressor: zstd::bulk::Decompressor::new().at(&self.path)?,
            cbuf: Vec::new(),
            cached: None,
            cache: Vec::new(),
            read_count: self.read_count.clone(),
            prefetch: None,
            identities: self.identities.clone(),
            hash: self.hash.clone(),
            ahead: true,
            poisoned: false,
            fault: None,
            stream: None,
        })
    }

    /// A reader of the tar stream from tar offset `start` to its end.
    pub fn tar_from(&mut self, start: u64) -> TarCursor<'_> {
        let frame = seektable::frame_at(&self.frames, start).unwrap_or(self.frames.len());
        let pos = if frame < self.frames.len() {
            (start - self.frames[frame].d_offset) as usize
        } else {
            0
        };
        TarCursor {
            reader: self,
            frame,
            pos,
        }
    }

    /// A reader of `len` bytes of the tar stream from `start` that decodes
    /// the frames they are in as a stream, through small buffers, and only
    /// up to the last byte wanted: for a record whose frame is needed for
    /// nothing else (one record restored out of a 2 MiB frame decodes, on
    /// average, half of it, and touches no 2 MiB buffer). Where the last
    /// such reader stopped at or before `start`, in the same frame, this
    /// one goes on from there (a record's headers, then its content). The
    /// cached frame is neither used nor replaced.
    pub fn stream_from(&mut self, start: u64, len: u64) -> StreamCursor<'_> {
        let frame = seektable::frame_at(&self.frames, start);
        let data_end = self.frames.last().map_or(0, Frame::c_end);
        let state = match (self.stream.take(), frame) {
            (Some(st), Some(i)) if st.d_pos <= start && st.d_pos >= self.frames[i].d_offset => st,
            (_, Some(i)) => StreamState::at(self.frames[i].c_offset, self.frames[i].d_offset),
            // Past the data: a stream that gives nothing.
            (_, None) => StreamState::at(data_end, start),
        };
        let skip = start.saturating_sub(state.d_pos);
        StreamCursor {
            reader: self,
            state: Some(state),
            data_end,
            skip,
            left: len,
        }
    }

    /// [`ArchiveReader::member_at`], decoding as a stream (see
    /// [`ArchiveReader::stream_from`]) and leaving the stream at the
    /// member's content for the next `stream_from`.
    pub fn member_at_streaming(&mut self, offset: u64) -> Result<(Vec<u8>, tar::Header, u64)> {
        self.member_at_with(offset, true)
    }

    /// Parses the member headers at `offset`; returns the member's path,
    /// header and the tar offset of its content.
    pub fn member_at(&mut self, offset: u64) -> Result<(Vec<u8>, tar::Header, u64)> {
        self.member_at_with(offset, false)
    }

    fn member_at_with(&mut self, offset: u64, stream: bool) -> Result<(Vec<u8>, tar::Header, u64)> {
        let path = self.path.clone();
        let mut cursor: Box<dyn Read + '_> = match stream {
            true => Box::new(self.stream_from(offset, u64::MAX)),
            false => Box::new(self.tar_from(offset)),
        };
        let parsed = {
            // The tar crate reads pax extended headers and GNU long names
            // whole, however large they claim to be: bound what it may read
            // (a decompression bomb could otherwise make it allocate the
            // rest of the archive).
            let (guarded, _allowance) = tarwalk::guard(&mut cursor);
            let mut archive = tar::Archive::new(guarded);
            let mut entries = archive.entries().at(&path)?;
            match entries.next() {
                Some(Ok(entry)) => Ok((
                    entry.path_bytes().into_owned(),
                    entry.header().clone(),
                    offset + entry.raw_file_position(),
                )),
                Some(Err(e)) => Err(e),
                None => Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "no member at this offset",
                )),
            }
        };
        drop(cursor);
        if let Some(e) = self.fault.take() {
            return Err(e);
        }
        parsed.map_err(|e| Error::NotAnArchive {
            path,
            reason: format!("no tar member at offset {offset}: {e}"),
        })
    }

    /// Reads a kluis JSON member whole (bounded by [`MAX_JSON`]).
    fn read_json_member(&mut self, at: MemberRef, name: &str) -> Result<Vec<u8>> {
        let (path, header, data) = self.member_at(at.offset)?;
        let size = header.entry_size().unwrap_or(u64::MAX);
        if path != name.as_bytes() || size != at.size || size > MAX_JSON {
            return Err(self.not_kluis(format!("{name} is not where the footer says")));
        }
        let mut out = Vec::with_capacity(size as usize);
        let mut cursor = self.tar_from(data);
        (&mut cursor)
            .take(size)
            .read_to_end(&mut out)
            .map_err(|e| cursor.take_error(e))?;
        if out.len() as u64 != size {
            return Err(self.not_kluis(format!("{name} is cut short")));
        }
        Ok(out)
    }

    fn read_footer(&mut self) -> Result<Footer> {
        let last = self.frames.last().expect("at least one frame").d_offset;
        let total = self.frames.last().expect("at least one frame").d_end();
        // The footer's size is not known yet: read the member at the start
        // of the last frame, bounded by that frame.
        let (path, header, data) = self.member_at(last)?;
        let size = header.entry_size().unwrap_or(u64::MAX);
        if path != FOOTER_MEMBER.as_bytes() || size > MAX_JSON || data + size > total {
            return Err(self.not_kluis(format!(
                "the last frame does not start with {FOOTER_MEMBER}"
            )));
        }
        let bytes = self.read_json_member(MemberRef { offset: last, size }, FOOTER_MEMBER)?;
        let footer: Footer = serde_json::from_slice(&bytes)
            .map_err(|e| self.not_kluis(format!("{FOOTER_MEMBER}: {e}")))?;
        if footer.format != "kluis" {
            return Err(self.not_kluis(format!("format is {:?}", footer.format)));
        }
        if footer.format_version > FORMAT_VERSION || footer.format_version == 0 {
            return Err(Error::UnsupportedVersion {
                path: self.path.clone(),
                version: footer.format_version,
                supported: FORMAT_VERSION,
            });
        }
        Ok(footer)
    }

    /// A member located through the footer under `key` (docs/FORMAT.md
    /// §4.5): its name, and the tar offset and size of its content, with its
    /// headers checked against the footer. `None` when the archive has no
    /// such member (archives written before it existed).
    ///
    /// # Errors
    /// [`Error::NotAnArchive`] when the footer points at something else
    /// (damage or a crafted archive); callers fall back as if absent only
    /// after reporting it.
    pub fn located(&mut self, key: &str) -> Result<Option<Located>> {
        let Some(at) = self.footer.located(key) else {
            return Ok(None);
        };
        let (name, header, data) = self.member_at(at.offset)?;
        if !name.starts_with(b"kluis/") || header.entry_size().ok() != Some(at.size) {
            return Err(self.not_kluis(format!("the footer's {key:?} member is not where it says")));
        }
        let end = self.frames.last().map_or(0, |f| f.d_end());
        if data.checked_add(at.size).is_none_or(|e| e > end) {
            return Err(self.not_kluis(format!("the footer's {key:?} member runs past the end")));
        }
        Ok(Some(Located {
            name,
            data_offset: data,
            size: at.size,
        }))
    }

    /// Reads `located`'s content from `from` (relative to its start) on.
    pub fn located_content(&mut self, located: &Located, from: u64) -> impl Read + '_ {
        let from = from.min(located.size);
        self.tar_from(located.data_offset + from)
            .take(located.size - from)
    }

    /// Streams the manifest, one entry per record, in tar order.
    pub fn manifest(&mut self) -> Result<ManifestLines<'_, Entry>> {
        self.manifest_as(Entry::from_json_line)
    }

    /// Streams the records' names and types only (parsing less of each
    /// line), in tar order.
    pub fn manifest_names(&mut self) -> Result<ManifestLines<'_, Name>> {
        self.manifest_as(Name::from_json_line)
    }

    fn manifest_as<T>(
        &mut self,
        parse: fn(&str) -> std::result::Result<T, String>,
    ) -> Result<ManifestLines<'_, T>> {
        let at = self.footer.manifest;
        let (path, header, data) = self.member_at(at.offset)?;
        if path != MANIFEST_MEMBER.as_bytes() || header.entry_size().ok() != Some(at.size) {
            return Err(self.not_kluis(format!("{MANIFEST_MEMBER} is not where the footer says")));
        }
        let archive = self.path.clone();
        let cursor = self.tar_from(data);
        Ok(ManifestLines {
            lines: BufReader::with_capacity(256 << 10, cursor.take(at.size)),
            line: Vec::new(),
            number: 0,
            archive,
            keep: None,
            parse,
        })
    }
}

/// A member found through the footer: see [`ArchiveReader::located`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Located {
    pub name: Vec<u8>,
    /// Tar offset of its first content byte.
    pub data_offset: u64,
    pub size: u64,
}

fn placeholder_metadata() -> Metadata {
    let day = chrono::NaiveDate::MIN;
    Metadata {
        format: String::new(),
        format_version: 0,
        archive_id: String::new(),
        organisation: String::new(),
        fiscal_year: 0,
        fiscal_year_start: day,
        fiscal_year_end: day,
        class: String::new(),
        supplement: 0,
        retention_end: day,
        created: chrono::DateTime::UNIX_EPOCH,
        tool_version: String::new(),
        minimisation: Vec::new(),
        audit_files: Vec::new(),
    }
}

/// Reads the tar stream frame by frame. An error from the archive (damage,
/// truncation) is kept so that callers can report it precisely; the `Read`
/// impl returns it as an I/O error.
pub struct TarCursor<'a> {
    reader: &'a mut ArchiveReader,
    frame: usize,
    pos: usize,
}

impl TarCursor<'_> {
    /// The archive error behind an I/O error this cursor returned, if any.
    pub fn take_error(&mut self, e: io::Error) -> Error {
        self.reader
            .fault
            .take()
            .unwrap_or_else(|| Error::io(self.reader.path.clone(), e))
    }

    /// Index of the frame the next byte comes from.
    pub fn frame(&self) -> usize {
        self.frame
    }
}

impl Read for TarCursor<'_> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        loop {
            if self.frame >= self.reader.frames.len() {
                return Ok(0);
            }
            if let Err(e) = self.reader.ensure_frame(self.frame) {
                let message = e.to_string();
                self.reader.fault = Some(e);
                return Err(io::Error::other(message));
            }
            let buf = &self.reader.cache;
            if self.pos < buf.len() {
                let n = out.len().min(buf.len() - self.pos);
                out[..n].copy_from_slice(&buf[self.pos..self.pos + n]);
                self.pos += n;
                return Ok(n);
            }
            self.frame += 1;
            self.pos = 0;
        }
    }
}

/// Reads part of the tar stream by streaming decompression: see
/// [`ArchiveReader::stream_from`]. Errors are kept as [`TarCursor`] keeps
/// them.
pub struct StreamCursor<'a> {
    reader: &'a mut ArchiveReader,
    /// Given back to the reader when this cursor is dropped, unless it
    /// failed.
    state: Option<StreamState>,
    data_end: u64,
    /// Decoded bytes still to drop before the first wanted one.
    skip: u64,
    /// Wanted bytes still to give.
    left: u64,
}

impl Drop for StreamCursor<'_> {
    fn drop(&mut self) {
        self.reader.stream = self.state.take();
    }
}

impl StreamCursor<'_> {
    fn fail(&mut self, e: Error) -> io::Error {
        let message = e.to_string();
        self.reader.fault = Some(e);
        self.state = None;
        io::Error::other(message)
    }

    /// The frame holding zstd offset `c`, for messages.
    fn frame_of(&self, c: u64) -> usize {
        self.reader.frames.partition_point(|f| f.c_end() <= c)
    }

    /// Decodes into `out`; the bytes written (0 only at the data's end).
    fn decode(&mut self, out: &mut [u8]) -> io::Result<usize> {
        let Some(mut state) = self.state.take() else {
            return Err(io::Error::other("an earlier error stopped this read"));
        };
        let reader = &mut *self.reader;
        let decoded = state.decode(out, self.data_end, &mut |at, buf| {
            reader.plain_read(at, buf)
        });
        match decoded {
            Ok(n) => {
                self.state = Some(state);
                Ok(n)
            }
            Err(Failed::Read(at, e)) => {
                let e = self
                    .reader
                    .damaged(&format!("frame {}", self.frame_of(at)), e);
                Err(self.fail(e))
            }
            Err(Failed::Decode(at, e)) => {
                let i = self.frame_of(at);
                let e = self
                    .reader
                    .not_kluis(format!("frame {i} does not decompress: {e}"));
                Err(self.fail(e))
            }
        }
    }
}

impl Read for StreamCursor<'_> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        if self.left == 0 || out.is_empty() {
            return Ok(0);
        }
        while self.skip > 0 {
            let mut scratch = [0u8; 16 << 10];
            let n = (self.skip as usize).min(scratch.len());
            let got = self.decode(&mut scratch[..n])?;
            if got == 0 {
                return Ok(0);
            }
            self.skip -= got as u64;
        }
        let n = self.left.min(out.len() as u64) as usize;
        let got = self.decode(&mut out[..n])?;
        self.left -= got as u64;
        Ok(got)
    }
}

/// A test of a raw manifest line: parse it or skip it.
type LineFilter<'a> = Box<dyn Fn(&[u8]) -> bool + 'a>;

/// The manifest's lines, parsed as they are read (into an [`Entry`], or a
/// [`Name`]).
pub struct ManifestLines<'a, T> {
    lines: BufReader<io::Take<TarCursor<'a>>>,
    line: Vec<u8>,
    number: u64,
    archive: PathBuf,
    keep: Option<LineFilter<'a>>,
    parse: fn(&str) -> std::result::Result<T, String>,
}

impl<T> Iterator for ManifestLines<'_, T> {
    type Item = Result<T>;

    fn next(&mut self) -> Option<Result<T>> {
        loop {
            self.number += 1;
            match read_line(&mut self.lines, &mut self.line, MAX_JSON as usize) {
                Ok(false) => return None,
                Ok(true) => {}
                // Only the line reader says InvalidData (archive faults
                // come as other errors).
                Err(e) if e.kind() == io::ErrorKind::InvalidData => {
                    return Some(Err(self.bad(&e.to_string())));
                }
                Err(e) => return Some(Err(self.lines.get_mut().get_mut().take_error(e))),
            }
            match &self.keep {
                Some(keep) if !keep(&self.line) => continue,
                _ => break,
            }
        }
        let text = match std::str::from_utf8(&self.line) {
            Ok(t) if self.line.ends_with(b"\n") => t.trim_end_matches('\n'),
            _ => return Some(Err(self.bad("not a complete UTF-8 line"))),
        };
        Some((self.parse)(text).map_err(|e| self.bad(&e)))
    }
}

impl<'a, T> ManifestLines<'a, T> {
    /// Parses only the lines `keep` accepts (a cheap pre-filter on the raw
    /// line; the others are skipped unparsed).
    pub fn prefilter(mut self, keep: impl Fn(&[u8]) -> bool + 'a) -> Self {
        self.keep = Some(Box::new(keep));
        self
    }

    fn bad(&self, why: &str) -> Error {
        Error::NotAnArchive {
            path: self.archive.clone(),
            reason: format!("{MANIFEST_MEMBER} line {}: {why}", self.number),
        }
    }
}
