//! `kluis restore`: records back onto disk, all of them or those matching
//! patterns, each checked against its SHA-256 as it is written, and never
//! anything outside the target folder.
//!
//! Over 800 lines only with its tests (the code is about 790): path
//! safety, writing and checking a file, resuming and the selection are one
//! concept, restoring; its temporary files are `leftovers`.

use std::fs::{self, OpenOptions};
use std::io::{self, Read, Write};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::PermissionsExt;
use std::path::{Component, Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::error::{Error, IoContext, Result};
use crate::format::manifest::{Entry, Kind};
use crate::format::reader::ArchiveReader;
use crate::format::writer::Mtime;
use crate::format::{RECORDS_PREFIX, TABLES_PREFIX};
use crate::keys::Identities;
use crate::progress::Progress;
use crate::util::testpoint::{pause_point, pause_point_n};

pub(crate) use super::leftovers::StaleTemps;
use super::leftovers::restore_temp;
pub use super::select::Selection;
use super::select::{alone_in_frame, from_index};

/// What a restore does about a record whose name is already taken in the
/// target folder.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Existing {
    /// Refuse before writing anything (the default).
    Refuse,
    /// Replace it (`--force`).
    Replace,
    /// Keep it when it is the record already, with the right size and
    /// SHA-256 (a link: the right target), and restore the rest
    /// (`--resume`); refuse before writing anything when it differs.
    Resume,
}

/// What `restore` (and `restore --salvage`) is asked to do: the selected
/// records of `archive` into the folder `target`, doing what `existing`
/// says about names already taken there.
#[derive(Clone, Copy)]
pub struct Request<'a> {
    pub archive: &'a Path,
    pub identities: &'a Identities,
    pub target: &'a Path,
    pub selection: &'a Selection,
    pub existing: Existing,
}

/// The outcome of a restore.
#[derive(Debug, Default)]
pub struct Report {
    /// Records already in place, checked, and left as they were (`--resume`).
    pub present: u64,
    pub files: u64,
    pub dirs: u64,
    pub symlinks: u64,
    pub bytes: u64,
    /// Records that could not be restored, with why.
    pub failed: Vec<(String, String)>,
    /// Ciphertext bytes read, and the archive's size.
    pub bytes_read: u64,
    pub archive_size: u64,
    /// Why the path index could not be used, when it could not: the
    /// records were found through the manifest instead.
    pub index_note: Option<String>,
}

/// Maps a member path to a path under `target`, refusing anything that is
/// not a plain relative path below `records/` or `tables/`.
pub fn safe_target(target: &Path, member: &[u8]) -> std::result::Result<PathBuf, String> {
    if !(member.starts_with(RECORDS_PREFIX.as_bytes())
        || member.starts_with(TABLES_PREFIX.as_bytes()))
    {
        return Err("not below records/ or tables/".into());
    }
    if member.contains(&0) {
        return Err("contains a NUL byte".into());
    }
    let mut out = target.to_path_buf();
    for part in member.split(|&b| b == b'/') {
        match part {
            b"" => return Err("empty path component or absolute path".into()),
            b"." | b".." => return Err("contains . or ..".into()),
            _ => out.push(std::ffi::OsStr::from_bytes(part)),
        }
    }
    Ok(out)
}

/// Whether a symlink at `member` pointing to `link` stays inside the
/// restore folder.
pub fn safe_link(member: &[u8], link: &[u8]) -> std::result::Result<(), String> {
    if link.is_empty() || link.starts_with(b"/") {
        return Err("link target is absolute or empty".into());
    }
    let mut depth: i64 = member.split(|&b| b == b'/').count() as i64 - 1;
    let mut descended = false;
    for part in Path::new(std::ffi::OsStr::from_bytes(link)).components() {
        match part {
            // `a/..` is only `.` if `a` is not itself a link (`s -> .`,
            // `s2 -> s/../..` escapes): refuse `..` after a name.
            Component::ParentDir if descended => {
                return Err("link target goes up after going down (`x/../`)".into());
            }
            Component::ParentDir => depth -= 1,
            Component::Normal(_) => {
                depth += 1;
                descended = true;
            }
            Component::CurDir => {}
            _ => return Err("link target is absolute".into()),
        }
        if depth < 0 {
            return Err("link target points outside the restore folder".into());
        }
    }
    Ok(())
}

/// Creates the folders a record goes in below `root`, refusing to go
/// through a symlink or a file. It remembers the last folder it checked:
/// records come folder by folder, and a restore never turns a folder it
/// checked into anything else (files and links replace only files), so
/// its ancestors need no second look.
#[derive(Default)]
pub(crate) struct Parents {
    last: PathBuf,
}

impl Parents {
    pub(crate) fn make(&mut self, root: &Path, path: &Path) -> std::result::Result<(), String> {
        let parent = path.parent().ok_or("no parent")?;
        if parent == self.last {
            return Ok(());
        }
        let rel = parent
            .strip_prefix(root)
            .map_err(|_| "outside the restore folder")?;
        let mut at = root.to_path_buf();
        for c in rel.components() {
            at.push(c);
            if self.last.starts_with(&at) {
                continue;
            }
            match fs::symlink_metadata(&at) {
                Ok(m) if m.is_dir() => {}
                Ok(m) if m.file_type().is_symlink() => {
                    return Err(format!(
                        "{} is a symlink; refusing to write through it",
                        at.display()
                    ));
                }
                Ok(_) => return Err(format!("{} is not a folder", at.display())),
                Err(_) => fs::create_dir(&at).map_err(|e| format!("{}: {e}", at.display()))?,
            }
        }
        self.last = at;
        Ok(())
    }
}

/// Selected entries are kept in memory for the write pass up to this
/// many; beyond it the manifest is streamed a second time instead.
const COLLECT_LIMIT: usize = 100_000;

/// Archives larger than this are decoded ahead in a second thread when
/// read whole (a second opening costs little next to reading them).
pub(crate) const PREFETCH_FROM: u64 = 16 << 20;

/// Restores the selected records of `archive` into `target`.
///
/// Checks first, before writing anything, that no selected record would
/// replace an existing file (unless `force`) or escape `target`.
///
/// Each file is written under a temporary name in its folder and renamed
/// into place only once its SHA-256 matched and its mode and time are set,
/// so that an interrupted or failed restore leaves only complete, checked
/// files under their names. Stopped by the user
/// ([`Progress::interrupted`]), it finishes the file being checked,
/// removes the one being written and returns [`Error::Interrupted`].
pub fn run(req: &Request, progress: &dyn Progress) -> Result<Report> {
    let selection = req.selection;
    let mut index = ArchiveReader::open(req.archive, req.identities)?;
    let (target, force) = prepare_target(req)?;
    // Nothing can be in the way in an empty folder.
    let empty = fs::read_dir(&target).at(&target)?.next().is_none();

    // Pass 1: what will be written, and is it safe? The selected records
    // come from the path index when it can give them, else the manifest.
    let (indexed, index_note) = if selection.is_all() {
        (None, None)
    } else {
        from_index(&mut index, selection, COLLECT_LIMIT)
    };
    let mut total = 0u64;
    let mut selected = 0u64;
    let mut collected: Option<Vec<Entry>> = (!selection.is_all()).then(Vec::new);
    let mut stale = StaleTemps::default();
    let mut consider = |entry: Entry| -> Result<()> {
        selected += 1;
        total = total.saturating_add(entry.size);
        let unsafe_entry = |reason| Error::UnsafeEntry {
            path: req.archive.into(),
            entry: entry.display_path(),
            reason,
        };
        let dest = safe_target(&target, &entry.path).map_err(unsafe_entry)?;
        if let Some(link) = &entry.target {
            safe_link(&entry.path, link).map_err(unsafe_entry)?;
        }
        if !empty && entry.kind == Kind::File {
            stale.record(&dest);
        }
        if !force && !empty && entry.kind != Kind::Dir && fs::symlink_metadata(&dest).is_ok() {
            let kept = req.existing == Existing::Resume && already_restored(&dest, &entry)?;
            if !kept {
                return Err(Error::WouldOverwrite { path: dest });
            }
        }
        if let Some(list) = &mut collected {
            if list.len() < COLLECT_LIMIT {
                list.push(entry);
            } else {
                collected = None;
            }
        }
        Ok(())
    };
    match indexed {
        Some(list) => {
            for entry in list {
                consider(entry)?;
            }
        }
        None => {
            for entry in selection.prefilter(index.manifest()?) {
                let entry = entry?;
                if selection.matches(&entry.path) {
                    consider(entry)?;
                }
            }
        }
    }
    if selected == 0 && !selection.is_all() {
        return Err(Error::Usage(
            "no record matches the given patterns; `kluis list` shows the names".into(),
        ));
    }

    stale.remove();
    stale.note(progress);

    // Pass 2: write.
    progress.phase("restoring", total);
    pause_point("restore-checked");
    let mut out = Restorer {
        target,
        resume: req.existing == Existing::Resume,
        seen: 0,
        files_begun: 0,
        progress,
        report: Report {
            archive_size: fs::metadata(req.archive).at(req.archive)?.len(),
            index_note,
            ..Report::default()
        },
        dirs: Vec::new(),
        parents: Parents::default(),
        files: Files {
            force,
            fresh: empty,
            checker: Checker::start(),
            unnamed: Unnamed::default(),
        },
    };
    match collected {
        // A few records: one reader seeks to each. A record alone in its
        // frame is decoded as a stream, only as far as it goes; frames
        // shared by several records are decoded once, whole.
        Some(list) => {
            let alone = alone_in_frame(index.frames(), &list);
            for (entry, stream) in list.iter().zip(alone) {
                if progress.interrupted() {
                    break;
                }
                out.restore(&mut index, entry, stream);
            }
        }
        // Everything (or very many): stream the manifest again while a
        // second reader follows it through the frames in order.
        None => {
            let mut data = ArchiveReader::open(req.archive, req.identities)?;
            if out.report.archive_size > PREFETCH_FROM {
                data.prefetch()?;
            }
            for entry in selection.prefilter(index.manifest()?) {
                if progress.interrupted() {
                    break;
                }
                let entry = entry?;
                if selection.matches(&entry.path) {
                    out.restore(&mut data, &entry, false);
                }
            }
            out.report.bytes_read += data.bytes_read();
        }
    }
    // Files whose content did not match are removed by now, the others
    // renamed into place.
    for (name, size, why) in out.files.checker.finish() {
        out.report.files -= 1;
        out.report.bytes -= size;
        out.report.failed.push((name, why));
    }
    set_folder_times(&out.dirs);
    out.report.bytes_read += index.bytes_read();
    if progress.interrupted() {
        let r = &out.report;
        let done = r.present + r.files + r.dirs + r.symlinks;
        return Err(Error::Interrupted {
            done: format!(
                "restored {done} of {selected} records into {}, each complete and checked; `kluis restore --resume` with the same arguments restores the rest",
                out.target.display()
            ),
        });
    }
    Ok(out.report)
}

/// The restore folder (of `restore` and `--salvage`), created if need be,
/// as the canonical path every record's path is built on; and whether
/// existing files are replaced.
pub(crate) fn prepare_target(req: &Request) -> Result<(PathBuf, bool)> {
    let target = req.target;
    fs::create_dir_all(target).at(target)?;
    let canonical = target.canonicalize().at(target)?;
    Ok((canonical, req.existing == Existing::Replace))
}

/// Gives the restored folders their mode (kept writable by the owner) and
/// time, innermost first, once everything is written: writing into a
/// folder changes its time.
pub(crate) fn set_folder_times(dirs: &[(PathBuf, u32, Mtime)]) {
    for (dir, mode, mtime) in dirs.iter().rev() {
        let _ = fs::set_permissions(dir, fs::Permissions::from_mode(mode & 0o1777 | 0o700));
        if let Ok(d) = fs::File::open(dir) {
            let _ = d.set_modified(mtime.to_system());
        }
    }
}

/// Whether `dest` already is the record: a file of the right size and
/// SHA-256, or a link to the right target (`--resume`).
fn already_restored(dest: &Path, entry: &Entry) -> Result<bool> {
    let meta = fs::symlink_metadata(dest).at(dest)?;
    Ok(match entry.kind {
        Kind::File if meta.is_file() && meta.len() == entry.size => {
            let (_, hash) = crate::vault::readback::hash_file(dest)?;
            entry.sha256 == Some(hash)
        }
        Kind::Symlink if meta.file_type().is_symlink() => fs::read_link(dest)
            .is_ok_and(|t| Some(t.as_os_str().as_bytes()) == entry.target.as_deref()),
        _ => false,
    })
}

/// The write side of a restore.
struct Restorer<'a> {
    target: PathBuf,
    /// Records already in place were checked in pass 1: skip them.
    resume: bool,
    /// Records come so far, and files begun (for the test pause points).
    seen: u64,
    files_begun: u64,
    progress: &'a dyn Progress,
    report: Report,
    dirs: Vec<(PathBuf, u32, Mtime)>,
    parents: Parents,
    files: Files,
}

/// How a restore writes files and puts them in place.
struct Files {
    /// Replace what is in the way.
    force: bool,
    /// The folder was empty when the restore began: nothing can be in a
    /// record's way (and were something, putting the record in place
    /// never replaces it).
    fresh: bool,
    checker: Checker,
    unnamed: Unnamed,
}

impl Restorer<'_> {
    /// Restores one record, its frame decoded as a stream or whole (see
    /// [`ArchiveReader::stream_from`]); a failure is recorded in the
    /// report.
    fn restore(&mut self, data: &mut ArchiveReader, entry: &Entry, stream: bool) {
        let dest = safe_target(&self.target, &entry.path).expect("checked in pass 1");
        self.seen += 1;
        pause_point_n("restore-record", self.seen);
        if self.resume && entry.kind != Kind::Dir && fs::symlink_metadata(&dest).is_ok() {
            self.report.present += 1;
            return;
        }
        if let Err(reason) = self.parents.make(&self.target, &dest) {
            self.report.failed.push((entry.display_path(), reason));
            return;
        }
        let mtime = Mtime {
            secs: entry.mtime,
            nsec: entry.mtime_nsec,
        };
        let report = &mut self.report;
        let outcome = match entry.kind {
            Kind::Dir => make_dir(&dest).map(|()| {
                self.dirs.push((dest.clone(), entry.mode, mtime));
                report.dirs += 1;
            }),
            Kind::Symlink => make_link(
                &dest,
                entry.target.as_deref().unwrap_or_default(),
                mtime,
                self.files.force,
            )
            .map(|()| report.symlinks += 1),
            Kind::File => {
                self.files_begun += 1;
                let begun = self.files_begun;
                self.files
                    .restore_file(data, stream, &dest, entry, self.progress, begun)
                    .map(|()| {
                        report.files += 1;
                        report.bytes += entry.size;
                    })
            }
        };
        if let Err(reason) = outcome {
            report.failed.push((entry.display_path(), reason));
        }
    }
}

/// Creates a folder, or accepts the one already there.
pub(crate) fn make_dir(dest: &Path) -> std::result::Result<(), String> {
    match fs::symlink_metadata(dest) {
        Ok(m) if m.is_dir() => Ok(()),
        Ok(_) => Err("a file of that name is in the way".into()),
        Err(_) => fs::create_dir(dest).map_err(|e| e.to_string()),
    }
}

pub(crate) fn remove_existing(dest: &Path, force: bool) -> std::result::Result<(), String> {
    match fs::symlink_metadata(dest) {
        Ok(m) if m.is_dir() => Err("a folder of that name is in the way".into()),
        Ok(_) if force => fs::remove_file(dest).map_err(|e| e.to_string()),
        Ok(_) => Err("already exists (use --force to replace it)".into()),
        Err(_) => Ok(()),
    }
}

/// Creates a symlink (its target checked by [`safe_link`] beforehand) and
/// gives the link itself its modification time, as GNU tar does.
pub(crate) fn make_link(
    dest: &Path,
    target: &[u8],
    mtime: Mtime,
    force: bool,
) -> std::result::Result<(), String> {
    remove_existing(dest, force)?;
    std::os::unix::fs::symlink(std::ffi::OsStr::from_bytes(target), dest)
        .map_err(|e| e.to_string())?;
    let times = rustix::fs::Timestamps {
        last_access: rustix::fs::Timespec {
            tv_sec: 0,
            tv_nsec: rustix::fs::UTIME_OMIT,
        },
        last_modification: rustix::fs::Timespec {
            tv_sec: mtime.secs,
            tv_nsec: i64::from(mtime.nsec),
        },
    };
    rustix::fs::utimensat(
        rustix::fs::CWD,
        dest,
        &times,
        rustix::fs::AtFlags::SYMLINK_NOFOLLOW,
    )
    .map_err(|e| format!("{}: cannot set the link's time: {e}", dest.display()))
}

/// Writes exactly `size` bytes from `data` to a new file at `dest` (never
/// through an existing one), sets its mode and time, and returns the
/// SHA-256 of what was written. On any failure the file is removed.
///
/// No fsync per file (tar does none either): after a crash the restore is
/// simply repeated from the archive.
/// Creates `dest`, which must not exist yet; says what is in the way.
fn create_new(dest: &Path) -> std::result::Result<fs::File, String> {
    match OpenOptions::new().write(true).create_new(true).open(dest) {
        Ok(f) => Ok(f),
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
            remove_existing(dest, false)?;
            Err(e.to_string())
        }
        Err(e) => Err(e.to_string()),
    }
}

/// Writes `size` bytes of `data` to `dest` (a new file) with `mode` and
/// `mtime`; returns their SHA-256. The bytes go to a temporary name in the
/// same folder, renamed to `dest` (never replacing a file) only when
/// complete: a partial file never carries the record's name. Stops with
/// `"interrupted"` when the user asks to.
pub(crate) fn write_file(
    dest: &Path,
    data: &mut dyn Read,
    size: u64,
    mode: u32,
    mtime: Mtime,
    buf: &mut [u8],
    progress: &dyn Progress,
) -> std::result::Result<[u8; 32], String> {
    if fs::symlink_metadata(dest).is_ok() {
        remove_existing(dest, false)?;
    }
    let temp = restore_temp(dest);
    let mut file = create_new(&temp)?;
    let mut hasher = Sha256::new();
    let mut left = size;
    let result = (|| {
        while left > 0 {
            if progress.interrupted() {
                return Err("interrupted".to_string());
            }
            let want = left.min(buf.len() as u64) as usize;
            let n = data.read(&mut buf[..want]).map_err(|e| e.to_string())?;
            if n == 0 {
                return Err("the archive ends inside this record".to_string());
            }
            hasher.update(&buf[..n]);
            file.write_all(&buf[..n])
                .map_err(|e| format!("{}: {e}", dest.display()))?;
            progress.advance(n as u64);
            left -= n as u64;
        }
        set_mode_and_time(&file, Some(mode), mtime)?;
        put_in_place(&temp, dest, false)?;
        Ok(hasher.finalize().into())
    })();
    if result.is_err() {
        let _ = fs::remove_file(&temp);
    }
    result
}

/// Gives a written file its mode (`None`: it was created with it) and
/// modification time.
fn set_mode_and_time(
    file: &fs::File,
    mode: Option<u32>,
    mtime: Mtime,
) -> std::result::Result<(), String> {
    if let Some(mode) = mode {
        file.set_permissions(fs::Permissions::from_mode(mode & 0o1777))
            .map_err(|e| e.to_string())?;
    }
    file.set_modified(mtime.to_system())
        .map_err(|e| e.to_string())
}

/// Where a restored file is written until its check puts it in place.
enum Temp {
    /// `.NAME.tmp-XXXXXXXX` in the record's folder, renamed into place; a
    /// crash leaves it for the next restore to remove.
    Named(PathBuf),
    /// A file without a name in the record's folder (`O_TMPFILE`), given
    /// its name when checked (`linkat`, never replacing a file): one
    /// directory entry made instead of two, and nothing left by a crash.
    Unnamed(fs::File),
}

/// Whether files can be written without a name and named later here:
/// Linux's `O_TMPFILE` (ext4, XFS, Btrfs, tmpfs; not FAT or network file
/// systems) and `/proc/self/fd` to link them by. Asked once per restore,
/// on its first file; `None` until then.
#[derive(Default)]
struct Unnamed {
    works: std::cell::Cell<Option<bool>>,
    /// The process's umask (`/proc/self/status`), read with the first file.
    umask: std::cell::Cell<Option<u32>>,
}

impl Unnamed {
    /// Whether a file without a name made in `folder` can be given one
    /// (`/proc` may be missing or hidden): tried once, with the temporary
    /// name of the first record (so that a crash in between leaves a file
    /// the next restore removes), then unlinked.
    fn links(folder: &Path, dest: &Path) -> bool {
        let Ok(file) = open_unnamed(folder, 0o600) else {
            return false;
        };
        let probe = restore_temp(dest);
        link_in_place(&file, &probe).is_ok() && fs::remove_file(&probe).is_ok()
    }

    /// A new file without a name in the folder of `dest`, created with
    /// `mode`; and whether that is its mode already (the umask took nothing
    /// from it), so that it needs no `fchmod`. `None` where a file without
    /// a name is not possible (then the restore uses named temporary
    /// files).
    fn create(&self, dest: &Path, mode: u32) -> Option<(fs::File, bool)> {
        let folder = dest.parent().unwrap_or(Path::new("."));
        if self.works.get() == Some(false) {
            return None;
        }
        if self.works.get().is_none() {
            self.umask.set(read_umask());
            if !Self::links(folder, dest) {
                self.works.set(Some(false));
                return None;
            }
        }
        let wanted = mode & 0o1777;
        match open_unnamed(folder, wanted & 0o777) {
            Ok(file) => {
                self.works.set(Some(true));
                let exact = self
                    .umask
                    .get()
                    .is_some_and(|u| wanted & 0o777 & !u == wanted);
                Some((file, exact))
            }
            Err(_) => {
                self.works.set(Some(false));
                None
            }
        }
    }
}

/// A new file without a name in `folder` (`O_TMPFILE`), with `mode` less
/// the umask.
fn open_unnamed(folder: &Path, mode: u32) -> rustix::io::Result<fs::File> {
    let flags =
        rustix::fs::OFlags::WRONLY | rustix::fs::OFlags::TMPFILE | rustix::fs::OFlags::CLOEXEC;
    let mode = rustix::fs::Mode::from_raw_mode(mode);
    rustix::fs::openat(rustix::fs::CWD, folder, flags, mode).map(fs::File::from)
}

/// The umask, from `/proc/self/status` (reading it with `umask(2)` would
/// change it for a moment); `None` when not there.
fn read_umask() -> Option<u32> {
    let status = fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find_map(|l| l.strip_prefix("Umask:"))?;
    u32::from_str_radix(line.trim(), 8).ok()
}

/// Gives a checked file without a name its name, never replacing a file.
fn link_in_place(file: &fs::File, dest: &Path) -> std::result::Result<(), String> {
    use std::os::fd::AsRawFd;
    let by = format!("/proc/self/fd/{}", file.as_raw_fd());
    let cwd = rustix::fs::CWD;
    rustix::fs::linkat(
        cwd,
        by.as_str(),
        cwd,
        dest,
        rustix::fs::AtFlags::SYMLINK_FOLLOW,
    )
    .map_err(|e| {
        if e == rustix::io::Errno::EXIST {
            "a file of that name appeared while it was restored; it was kept".into()
        } else {
            format!("{}: {e}", dest.display())
        }
    })
}

impl Files {
    /// Restores one file, the `nth` of this restore: the restoring thread
    /// reads and writes it without a name or under a temporary one, the
    /// checker hashes it and puts it in place (see [`Checker`]).
    fn restore_file(
        &self,
        data: &mut ArchiveReader,
        stream: bool,
        dest: &Path,
        entry: &Entry,
        progress: &dyn Progress,
        nth: u64,
    ) -> std::result::Result<(), String> {
        let Files {
            force,
            fresh,
            ref checker,
            ref unnamed,
        } = *self;
        if force {
            // Only a folder is in the way of a rename.
            if fs::symlink_metadata(dest).is_ok_and(|m| m.is_dir()) {
                return Err("a folder of that name is in the way".into());
            }
        } else if !fresh && fs::symlink_metadata(dest).is_ok() {
            return Err("already exists (use --force to replace it)".into());
        }
        // Replacing a file (--force) takes a rename.
        let created = (!force).then(|| unnamed.create(dest, entry.mode)).flatten();
        let (temp, mut file, chmod) = match created {
            Some((file, exact)) => (None, file, !exact),
            None => {
                let temp = restore_temp(dest);
                let file = create_new(&temp)?;
                (Some(temp), file, true)
            }
        };
        let mut cursor: Box<dyn Read + '_> = match stream {
            true => Box::new(data.stream_from(entry.data_offset, entry.size)),
            false => Box::new(data.tar_from(entry.data_offset)),
        };
        let mut left = entry.size;
        let mut first = true;
        let result = (|| {
            while left > 0 {
                if progress.interrupted() {
                    return Err("interrupted".to_string());
                }
                let mut buf = checker.buffer();
                let want = left.min(buf.len() as u64) as usize;
                let copied = match cursor.read(&mut buf[..want]) {
                    Ok(0) => Err("the archive ends inside this record".to_string()),
                    Ok(n) => file
                        .write_all(&buf[..n])
                        .map(|()| n)
                        .map_err(|e| format!("{}: {e}", dest.display())),
                    Err(e) => Err(e.to_string()),
                };
                match copied {
                    Ok(n) => {
                        checker.hash(buf, n);
                        progress.advance(n as u64);
                        left -= n as u64;
                    }
                    Err(e) => {
                        checker.give_back(buf);
                        return Err(e);
                    }
                }
                if first {
                    first = false;
                    pause_point("restore-writing");
                    pause_point_n("restore-writing", nth);
                }
            }
            set_mode_and_time(
                &file,
                chmod.then_some(entry.mode),
                Mtime {
                    secs: entry.mtime,
                    nsec: entry.mtime_nsec,
                },
            )
        })();
        match result {
            Ok(()) => {
                let temp = match temp {
                    Some(path) => Temp::Named(path),
                    None => Temp::Unnamed(file),
                };
                checker.check(temp, dest, entry, force);
                Ok(())
            }
            Err(e) => {
                checker.discard();
                if let Some(temp) = temp {
                    let _ = fs::remove_file(&temp);
                }
                Err(e)
            }
        }
    }
}

/// Puts a checked file in place: replacing what is there with `force`,
/// else never (a file that appeared meanwhile stays).
fn put_in_place(temp: &Path, dest: &Path, force: bool) -> std::result::Result<(), String> {
    let cwd = rustix::fs::CWD;
    let flags = if force {
        rustix::fs::RenameFlags::empty()
    } else {
        rustix::fs::RenameFlags::NOREPLACE
    };
    rustix::fs::renameat_with(cwd, temp, cwd, dest, flags).map_err(|e| {
        if e == rustix::io::Errno::EXIST {
            "a file of that name appeared while it was restored; it was kept".into()
        } else {
            format!("{}: {e}", dest.display())
        }
    })
}

/// Hashes restored files in a thread of its own, so that the restoring
/// thread only reads and writes (hashing is a third of a restore's CPU
/// time). Chunks travel in a small pool of recycled buffers; a file whose
/// SHA-256 does not match the manifest is removed by the checker, one that
/// matches renamed into place; failures are reported by [`Checker::finish`].
struct Checker {
    work: Option<crossbeam_channel::Sender<Check>>,
    free: crossbeam_channel::Receiver<Vec<u8>>,
    recycle: crossbeam_channel::Sender<Vec<u8>>,
    /// Buffers are made as needed (a one-record restore needs one).
    made: std::cell::Cell<usize>,
    thread: Option<std::thread::JoinHandle<Vec<(String, u64, String)>>>,
}

enum Check {
    Chunk(Vec<u8>, usize),
    File {
        temp: Temp,
        dest: PathBuf,
        force: bool,
        name: String,
        size: u64,
        sha256: Option<[u8; 32]>,
    },
    Discard,
}

const CHECK_BUFFERS: usize = 8;
const CHECK_QUEUE: usize = 64;
const CHECK_CHUNK: usize = 256 << 10;

impl Checker {
    fn start() -> Self {
        // Bounded: each file in flight may hold an open file without a
        // name (empty files take no buffer, so the buffers alone do not
        // bound them).
        let (work, todo) = crossbeam_channel::bounded::<Check>(CHECK_QUEUE);
        let (recycle, free) = crossbeam_channel::bounded(CHECK_BUFFERS);
        let give_back = recycle.clone();
        let thread = std::thread::spawn(move || {
            let mut hasher = Sha256::new();
            let mut mismatched = Vec::new();
            for check in todo {
                match check {
                    Check::Chunk(buf, n) => {
                        hasher.update(&buf[..n]);
                        let _ = recycle.send(buf);
                    }
                    Check::File {
                        temp,
                        dest,
                        force,
                        name,
                        size,
                        sha256,
                    } => {
                        let hash: [u8; 32] = std::mem::take(&mut hasher).finalize().into();
                        let placed = match &temp {
                            _ if Some(hash) != sha256 => Err(
                                "its content does not match the SHA-256 in the manifest (damaged)"
                                    .into(),
                            ),
                            Temp::Named(path) => put_in_place(path, &dest, force),
                            Temp::Unnamed(file) => link_in_place(file, &dest),
                        };
                        if let Err(why) = placed {
                            // A file without a name is gone once closed.
                            if let Temp::Named(path) = temp {
                                let _ = fs::remove_file(path);
                            }
                            mismatched.push((name, size, why));
                        }
                    }
                    Check::Discard => hasher = Sha256::new(),
                }
            }
            mismatched
        });
        Checker {
            work: Some(work),
            free,
            recycle: give_back,
            made: std::cell::Cell::new(0),
            thread: Some(thread),
        }
    }

    /// A buffer to read into (waits while all are being hashed).
    fn buffer(&self) -> Vec<u8> {
        if let Ok(buf) = self.free.try_recv() {
            return buf;
        }
        if self.made.get() < CHECK_BUFFERS {
            self.made.set(self.made.get() + 1);
            return vec![0u8; CHECK_CHUNK];
        }
        self.free
            .recv()
            .expect("the checker thread keeps its buffers")
    }

    fn send(&self, check: Check) {
        if let Some(work) = &self.work {
            work.send(check)
                .expect("the checker thread runs until finish");
        }
    }

    /// Returns a buffer that carried nothing to hash.
    fn give_back(&self, buf: Vec<u8>) {
        let _ = self.recycle.send(buf);
    }

    /// Hashes `buf[..n]`, the next bytes of the file being written.
    fn hash(&self, buf: Vec<u8>, n: usize) {
        self.send(Check::Chunk(buf, n));
    }

    /// The file written to `temp` is complete: compare it with the
    /// manifest and, when it matches, rename it to `dest`.
    fn check(&self, temp: Temp, dest: &Path, entry: &Entry, force: bool) {
        self.send(Check::File {
            temp,
            dest: dest.into(),
            force,
            name: entry.display_path(),
            size: entry.size,
            sha256: entry.sha256,
        });
    }

    /// The file being written was abandoned.
    fn discard(&self) {
        self.send(Check::Discard);
    }

    /// Waits for the last check; returns the files removed (name, size,
    /// why).
    fn finish(&mut self) -> Vec<(String, u64, String)> {
        self.work = None;
        self.thread
            .take()
            .map(|t| t.join().expect("the checker thread does not panic"))
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn safe_targets() {
        let t = Path::new("/restore");
        assert_eq!(
            safe_target(t, b"records/a/b.pdf").unwrap(),
            Path::new("/restore/records/a/b.pdf")
        );
        for bad in [
            &b"records/../x"[..],
            b"/etc/passwd",
            b"records//x",
            b"kluis/manifest.jsonl",
            b"records/./x",
            b"../x",
            b"records/a\0b",
        ] {
            assert!(
                safe_target(t, bad).is_err(),
                "{}",
                String::from_utf8_lossy(bad)
            );
        }
    }

    #[test]
    fn safe_links() {
        assert!(safe_link(b"records/a/l", b"../b").is_ok());
        assert!(safe_link(b"records/l", b"x/../y").is_err());
        assert!(safe_link(b"records/s2", b"s/../..").is_err());
        assert!(safe_link(b"records/l", b"../../x").is_err());
        assert!(safe_link(b"records/l", b"/etc/passwd").is_err());
        assert!(safe_link(b"records/a/l", b"../../../etc").is_err());
    }
}
