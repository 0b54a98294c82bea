//! `kluis restore --salvage`: recovers what can be recovered from an archive
//! whose index cannot be read (truncated, or damaged at its end). It walks
//! the age chunks in order, skipping those that fail authentication, finds
//! zstd frames by their magic number, re-synchronises the tar stream on the
//! next valid header after a gap, and restores every complete record. Each
//! record's SHA-256 is checked against the manifest when the manifest itself
//! survived; otherwise the record is reported as restored unchecked.

use std::collections::HashMap;
use std::fs;
use std::io::{self, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::AtomicU64;

use std::os::unix::ffi::OsStrExt;

use crate::error::{Error, IoContext, Result};
use crate::format::manifest::Entry;
use crate::format::reader::{Plain, decrypt};
use crate::format::tarwalk;
use crate::format::writer::Mtime;
use crate::format::{MANIFEST_MEMBER, MAX_FRAME};
use crate::keys::Identities;
use crate::progress::Progress;
use crate::read::restore::{
    Existing, Parents, Request, StaleTemps, make_dir, make_link, prepare_target, remove_existing,
    safe_link, safe_target, set_folder_times, write_file,
};
use crate::util::io::read_full;
use crate::util::testpoint::pause_point_n;
use crate::vault::readback;

const CHUNK: u64 = 64 << 10;
/// A recovered manifest larger than this is not held in memory.
const MAX_MANIFEST: u64 = 256 << 20;
const ZSTD_MAGIC: [u8; 4] = 0xFD2F_B528u32.to_le_bytes();
/// Largest compressed frame a kluis writer makes, with room to spare.
const FRAME_WINDOW: usize = (4 << 20) + (256 << 10);

/// What a salvage recovered.
#[derive(Debug, Default)]
pub struct Report {
    /// Files already in place (`--resume`): checked like restored ones,
    /// and counted among them.
    pub present: u64,
    /// Files restored whose SHA-256 matched the surviving manifest.
    pub checked: u64,
    /// Files restored that could not be checked (the manifest was lost).
    pub unchecked: u64,
    pub dirs: u64,
    pub symlinks: u64,
    pub bytes: u64,
    /// Records found but not restored, with why.
    pub failed: Vec<(String, String)>,
    /// Ranges of the age plaintext that could not be read.
    pub lost: Vec<(u64, u64)>,
}

/// The age plaintext, read chunk by chunk; chunks that fail are recorded
/// and read as absent.
struct Chunks {
    plain: Plain,
    bad: Vec<(u64, u64)>,
    end: Option<u64>,
    /// age's reader stays stuck on a failed chunk; it is reopened (with
    /// these) before the next read.
    path: PathBuf,
    identities: Identities,
    poisoned: bool,
    /// The plaintext is never longer than the file.
    limit: u64,
    natural_end: bool,
}

impl Chunks {
    /// Reads what is readable of `[pos, pos + buf.len())` into `buf`;
    /// returns how many bytes are contiguous from `pos` (stops at the first
    /// bad chunk or the end).
    fn read_at(&mut self, pos: u64, buf: &mut [u8]) -> usize {
        let mut done = 0usize;
        while done < buf.len() {
            let at = pos + done as u64;
            if at >= self.limit {
                self.end = Some(self.end.map_or(at, |e| e.min(at)));
                break;
            }
            if self.end.is_some_and(|e| at >= e) || self.bad.iter().any(|&(s, e)| at >= s && at < e)
            {
                break;
            }
            if self.poisoned {
                match decrypt(&self.path, &self.identities, Arc::new(AtomicU64::new(0))) {
                    Ok(plain) => self.plain = plain,
                    Err(_) => break,
                }
                self.poisoned = false;
            }
            let chunk_end = (at / CHUNK + 1) * CHUNK;
            let want = ((chunk_end - at) as usize).min(buf.len() - done);
            let read = self
                .plain
                .seek(SeekFrom::Start(at))
                .and_then(|_| read_full(&mut self.plain, &mut buf[done..done + want]));
            match read {
                Ok(n) if n == want => done += n,
                Ok(n) => {
                    // The end of the plaintext, as age says: not truncated.
                    self.natural_end = true;
                    self.end = Some(at + n as u64);
                    done += n;
                    break;
                }
                Err(_) => {
                    self.poisoned = true;
                    let start = at / CHUNK * CHUNK;
                    self.bad.push((start, chunk_end));
                    break;
                }
            }
        }
        done
    }

    /// The next readable position at or after `pos`.
    fn skip_bad(&self, pos: u64) -> u64 {
        let mut pos = pos;
        while let Some(&(_, e)) = self.bad.iter().find(|&&(s, e)| pos >= s && pos < e) {
            pos = e;
        }
        pos
    }
}

/// What the frame scanner yields.
enum Next {
    Frame(Vec<u8>),
    /// Some plaintext or frames were lost before the next frame.
    Gap,
    End,
}

/// Finds and decodes zstd frames in the plaintext, in order.
struct Frames {
    chunks: Chunks,
    pos: u64,
    window: Vec<u8>,
    lost_since_last: bool,
}

impl Frames {
    fn next(&mut self) -> Next {
        loop {
            if self.lost_since_last {
                self.lost_since_last = false;
                return Next::Gap;
            }
            self.pos = self.chunks.skip_bad(self.pos);
            self.window.resize(FRAME_WINDOW, 0);
            let n = self.chunks.read_at(self.pos, &mut self.window);
            if n == 0 {
                if self.chunks.end.is_some_and(|e| self.pos >= e) {
                    return Next::End;
                }
                // A bad chunk right here.
                self.lost_since_last = true;
                continue;
            }
            let window = &self.window[..n];
            if window.len() >= 8 && window[..4] == ZSTD_MAGIC {
                if let Ok(size) = zstd::zstd_safe::find_frame_compressed_size(window)
                    && let Ok(data) = zstd::bulk::decompress(&window[..size], MAX_FRAME as usize)
                {
                    self.pos += size as u64;
                    return Next::Frame(data);
                }
            } else if window.len() >= 8
                && window[0] & 0xF0 == 0x50
                && window[1..4] == [0x2A, 0x4D, 0x18]
            {
                // A skippable frame (the seek table): not data.
                let size = u32::from_le_bytes(window[4..8].try_into().unwrap()) as u64;
                self.pos += 8 + size;
                continue;
            }
            // Not a whole frame here: the frame is cut by damage or the end.
            // What decodes before the cut is authentic (age checked every
            // byte we have), so keep that prefix; then look for the next
            // frame start.
            let mut prefix = Vec::new();
            if window[..4] == ZSTD_MAGIC
                && let Ok(decoder) = zstd::stream::read::Decoder::with_buffer(window)
            {
                let _ = decoder
                    .single_frame()
                    .take(MAX_FRAME)
                    .read_to_end(&mut prefix);
            }
            self.lost_since_last = true;
            match window[1..].windows(4).position(|w| w == ZSTD_MAGIC) {
                Some(i) => self.pos += 1 + i as u64,
                None => self.pos += n as u64,
            }
            if !prefix.is_empty() {
                return Next::Frame(prefix);
            }
        }
    }
}

/// A contiguous run of decoded frames, as one `Read`; it ends at a gap.
struct Run<'a> {
    frames: &'a mut Frames,
    buf: Vec<u8>,
    at: usize,
    /// At the start of a run after a gap, bytes up to the next valid tar
    /// header are skipped.
    resync: bool,
    gap: bool,
}

impl Read for Run<'_> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        loop {
            if self.at < self.buf.len() {
                if self.resync {
                    match (self.at..self.buf.len())
                        .step_by(512)
                        .find(|&i| is_header(&self.buf[i..]))
                    {
                        Some(i) => {
                            self.at = i;
                            self.resync = false;
                        }
                        None => {
                            self.at = self.buf.len();
                            continue;
                        }
                    }
                }
                let n = out.len().min(self.buf.len() - self.at);
                out[..n].copy_from_slice(&self.buf[self.at..self.at + n]);
                self.at += n;
                return Ok(n);
            }
            if self.gap {
                return Ok(0);
            }
            match self.frames.next() {
                Next::Frame(data) => {
                    self.buf = data;
                    self.at = 0;
                }
                Next::Gap => {
                    self.gap = true;
                    return Ok(0);
                }
                Next::End => return Ok(0),
            }
        }
    }
}

/// The member's pax `mtime` (sub-second, and before 1970), when it has one.
fn pax_mtime<R: Read>(entry: &mut tar::Entry<'_, R>) -> Option<Mtime> {
    let extensions = entry.pax_extensions().ok()??;
    let value = extensions
        .filter_map(|e| e.ok())
        .find(|e| e.key_bytes() == b"mtime")?
        .value_bytes()
        .to_vec();
    Mtime::from_pax(std::str::from_utf8(&value).ok()?)
}

/// Whether a 512-byte block is a plausible ustar header (magic and checksum).
fn is_header(block: &[u8]) -> bool {
    if block.len() < 512 || &block[257..263] != b"ustar\0" {
        return false;
    }
    let stored = std::str::from_utf8(&block[148..156])
        .ok()
        .map(|s| s.trim_matches(|c: char| c == '\0' || c == ' '));
    let Some(stored) = stored.and_then(|s| u32::from_str_radix(s, 8).ok()) else {
        return false;
    };
    let sum: u32 = block[..512]
        .iter()
        .enumerate()
        .map(|(i, &b)| {
            if (148..156).contains(&i) {
                32
            } else {
                u32::from(b)
            }
        })
        .sum();
    sum == stored
}

/// Whether `--resume` keeps the file at `dest`: a file of the record's size
/// (its SHA-256 is compared with the manifest like a restored file's).
fn resume_keeps(existing: Existing, dest: &Path, size: u64) -> bool {
    existing == Existing::Resume
        && fs::symlink_metadata(dest).is_ok_and(|m| m.is_file() && m.len() == size)
}

/// Salvages the records of `archive` into `target`.
pub fn run(req: &Request, progress: &dyn Progress) -> Result<Report> {
    let plain = decrypt(req.archive, req.identities, Arc::new(AtomicU64::new(0)))?;
    let (target, force) = prepare_target(req)?;
    let chunks = Chunks {
        plain,
        bad: Vec::new(),
        end: None,
        path: req.archive.into(),
        identities: req.identities.clone(),
        poisoned: false,
        limit: fs::metadata(req.archive).at(req.archive)?.len(),
        natural_end: false,
    };
    let mut frames = Frames {
        chunks,
        pos: 0,
        window: Vec::new(),
        lost_since_last: false,
    };
    let mut report = Report::default();
    let mut interrupted = false;
    // Files `--resume` found in place: never removed, whatever they hold.
    let mut present = std::collections::HashSet::new();
    let mut restored: HashMap<Vec<u8>, [u8; 32]> = HashMap::new();
    let mut manifest: Option<Vec<u8>> = None;
    let mut dirs: Vec<(PathBuf, u32, Mtime)> = Vec::new();
    let mut parents = Parents::default();
    let mut stale = StaleTemps::default();
    let mut first = true;
    // Members come so far (for the test pause points).
    let mut seen = 0u64;
    let mut buf = vec![0u8; 256 << 10];
    // What is left of the last frame when a walk stops on a malformed
    // member: the next walk resynchronises on a header in it.
    let mut carried = (Vec::new(), 0);
    loop {
        let mut run = Run {
            frames: &mut frames,
            buf: std::mem::take(&mut carried.0),
            at: carried.1,
            resync: !first,
            gap: false,
        };
        first = false;
        let mut malformed = false;
        if interrupted {
            break;
        }
        let (guarded, allowance) = tarwalk::guard(&mut run);
        let mut archive_reader = tar::Archive::new(guarded);
        if let Ok(entries) = archive_reader.entries() {
            for item in entries {
                seen += 1;
                pause_point_n("salvage-record", seen);
                if progress.interrupted() {
                    interrupted = true;
                    break;
                }
                let Ok(mut entry) = item else {
                    malformed = true;
                    break;
                };
                allowance.admit(&entry);
                let path = entry.path_bytes().into_owned();
                let name = String::from_utf8_lossy(&path).into_owned();
                if path == MANIFEST_MEMBER.as_bytes() && entry.size() <= MAX_MANIFEST {
                    let mut data = Vec::new();
                    if entry.read_to_end(&mut data).is_ok() {
                        manifest = Some(data);
                    }
                    continue;
                }
                if !req.selection.matches(&path) {
                    continue;
                }
                let Ok(dest) = safe_target(&target, &path) else {
                    if !path.starts_with(b"kluis/") {
                        report.failed.push((name, "unsafe path; skipped".into()));
                    }
                    continue;
                };
                if let Err(why) = parents.make(&target, &dest) {
                    report.failed.push((name, why));
                    continue;
                }
                let header = entry.header().clone();
                let mtime = pax_mtime(&mut entry).unwrap_or(Mtime {
                    secs: header.mtime().unwrap_or(0) as i64,
                    nsec: 0,
                });
                let mode = header.mode().unwrap_or(0o644);
                let outcome: std::result::Result<(), String> = match header.entry_type() {
                    tar::EntryType::Directory => make_dir(&dest).map(|()| {
                        dirs.push((dest, mode, mtime));
                        report.dirs += 1;
                    }),
                    tar::EntryType::Symlink => {
                        let link = entry
                            .link_name_bytes()
                            .map(|l| l.into_owned())
                            .unwrap_or_default();
                        let present = req.existing == Existing::Resume
                            && fs::read_link(&dest)
                                .is_ok_and(|t| t.as_os_str().as_bytes() == link.as_slice());
                        if present {
                            report.present += 1;
                            Ok(())
                        } else {
                            safe_link(&path, &link)
                                .and_then(|()| make_link(&dest, &link, mtime, force))
                                .map(|()| report.symlinks += 1)
                        }
                    }
                    tar::EntryType::Regular if resume_keeps(req.existing, &dest, entry.size()) => {
                        // `--resume`: what is there is checked against the
                        // manifest below, like a restored file.
                        readback::hash_file(&dest)
                            .map(|(_, hash)| {
                                restored.insert(path.clone(), hash);
                                present.insert(path.clone());
                                report.present += 1;
                            })
                            .map_err(|e| e.to_string())
                    }
                    tar::EntryType::Regular
                        if req.existing == Existing::Resume
                            && fs::symlink_metadata(&dest).is_ok() =>
                    {
                        Err("something else of that name is in the way; not restored".into())
                    }
                    tar::EntryType::Regular => {
                        stale.record(&dest);
                        stale.remove();
                        let size = entry.size();
                        let written = remove_existing(&dest, force).and_then(|()| {
                            write_file(&dest, &mut entry, size, mode, mtime, &mut buf, progress)
                        });
                        written.map(|hash| {
                            restored.insert(path.clone(), hash);
                            report.bytes += size;
                        })
                    }
                    _ => Err("not a file, folder or link; skipped".into()),
                };
                if let Err(why) = outcome {
                    report.failed.push((name, why));
                }
            }
        }
        drop(archive_reader);
        if malformed && !run.gap {
            // A member the tar crate refused (or whose headers were too
            // large) in authentic bytes: go on from the next header.
            carried = (std::mem::take(&mut run.buf), run.at);
            continue;
        }
        if !run.gap {
            break;
        }
    }
    stale.note(progress);
    set_folder_times(&dirs);
    if interrupted {
        return Err(Error::Interrupted {
            done: format!(
                "salvaged {} files, {} folders and {} links into {}, each file complete; `kluis restore --salvage --resume` with the same arguments continues",
                restored.len(),
                report.dirs,
                report.symlinks,
                target.display()
            ),
        });
    }
    // Check what was restored against the manifest, if it survived.
    match manifest {
        Some(text) => {
            for line in text.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
                let Ok(e) = std::str::from_utf8(line)
                    .map_err(|e| e.to_string())
                    .and_then(Entry::from_json_line)
                else {
                    continue;
                };
                if let (Some(hash), Some(expected)) = (restored.remove(&e.path), e.sha256) {
                    if hash == expected {
                        report.checked += 1;
                    } else if present.contains(&e.path) {
                        report.failed.push((
                            e.display_path(),
                            "the file already there differs from the manifest; left as it was"
                                .into(),
                        ));
                    } else {
                        let dest = safe_target(&target, &e.path).expect("restored paths are safe");
                        let _ = fs::remove_file(dest);
                        report.failed.push((
                            e.display_path(),
                            "content differs from the manifest; removed".into(),
                        ));
                    }
                }
            }
            report.unchecked = restored.len() as u64;
        }
        None => report.unchecked = restored.len() as u64,
    }
    let mut lost = frames.chunks.bad.clone();
    lost.sort();
    if let Some(end) = frames.chunks.end.filter(|_| !frames.chunks.natural_end) {
        lost.push((end, u64::MAX));
    }
    report.lost = lost;
    Ok(report)
}
