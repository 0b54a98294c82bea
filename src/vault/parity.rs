//! An archive's parity files on a medium (`FILE.par2`, `FILE.volA+N.par2`):
//! written under temporary names, synced and read back, then renamed into
//! place beside the archive; found and removed with it. [`stage_for`]
//! makes a set for an archive already on a medium (`repair --add-parity`,
//! `rekey`).

use std::fs;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::error::{Error, IoContext, Result};
use crate::format::manifest::hex;
use crate::parity::create::{Creator, complete};
use crate::parity::{RecoverySet, Settings, files_in, recovery_count, slice_size_for};
use crate::progress::Progress;
use crate::util::direct::Sequential;
use crate::util::hashing::Sha256Beside;
use crate::util::io::read_full;
use crate::vault::media::{IndexedFile, Medium, sync_dir};
use crate::vault::readback::hash_file;

/// A parity file written under a temporary name, read back and checked.
#[derive(Debug)]
pub struct Staged {
    pub temp: PathBuf,
    pub name: String,
    pub size: u64,
    pub sha256: [u8; 32],
}

/// The staged files as the medium index lists them (for `SHA256SUMS`).
pub fn indexed(staged: &[Staged]) -> Vec<IndexedFile> {
    staged
        .iter()
        .map(|s| IndexedFile {
            file: s.name.clone(),
            size: s.size,
            sha256: hex(&s.sha256),
        })
        .collect()
}

/// Writes `set`'s files for `file` into the medium under temporary names
/// (the index only with `index`, then the volume of the set's batch of
/// blocks), syncs them and reads each back; `temps` gets every temporary
/// path as it is created, so that the caller can remove them on failure.
pub fn stage(
    medium: &Medium,
    file: &str,
    set: &RecoverySet,
    index: bool,
    temps: &mut Vec<PathBuf>,
) -> Result<Vec<Staged>> {
    let mut out = Vec::new();
    for (i, name) in set.file_names(file).into_iter().enumerate() {
        if i == 0 && !index {
            continue;
        }
        let (temp, handle) = medium.create_temp(&name)?;
        temps.push(temp.clone());
        let mut hasher = HashingWriter {
            inner: BufWriter::with_capacity(1 << 20, handle),
            hash: Sha256::new(),
            len: 0,
        };
        let written = if i == 0 {
            set.write_index(&mut hasher)
        } else {
            set.write_volume(&mut hasher)
        };
        written.at(&temp)?;
        let handle = hasher
            .inner
            .into_inner()
            .map_err(|e| Error::io(&temp, e.into_error()))?;
        handle.sync_all().at(&temp)?;
        drop(handle);
        let expected: [u8; 32] = hasher.hash.finalize().into();
        let (len, read) = hash_file(&temp)?;
        if len != hasher.len || read != expected {
            return Err(Error::ReadBackMismatch {
                medium: medium.dir.clone(),
                file: name,
            });
        }
        out.push(Staged {
            temp,
            name,
            size: len,
            sha256: read,
        });
    }
    Ok(out)
}

/// Makes a new parity set for `source` (the archive, or the new copy a
/// rekey writes) with `settings`, staged beside `file` on `medium` under
/// temporary names and read back, in passes of at most the memory budget
/// ([`complete`]); returns the number of slices and of recovery blocks, and
/// the staged files, for [`install`]. With `expect_sha256` (hex), the
/// source's SHA-256 is taken in the same pass, from the same bytes, and a
/// source that does not match gets no parity: [`Error::Damaged`], nothing
/// staged. Stopped by the user while it reads, it removes what it staged
/// and returns [`Error::Interrupted`] with an empty account. Shared by
/// `repair --add-parity` and `rekey`.
pub fn stage_for(
    medium: &Medium,
    file: &str,
    source: &Path,
    settings: &Settings,
    expect_sha256: Option<&str>,
    progress: &dyn Progress,
) -> Result<(u64, u32, Vec<Staged>)> {
    let len = fs::metadata(source).at(source)?.len();
    let slice = slice_size_for(len);
    let blocks = recovery_count(len.div_ceil(slice), settings.percent.max(1), settings.spare);
    let fits = crate::parity::create::per_pass(settings.budget, slice) as u32;
    let mut creator = Creator::new(file, settings, slice, blocks.min(fits), None);
    // Read from the medium (direct reads), once: the SHA-256 is of the
    // very bytes the parity is made from.
    let mut input = Sequential::open(source).at(source)?;
    let mut sha = expect_sha256.map(|_| Sha256Beside::new());
    let mut buf = vec![0u8; 1 << 20];
    loop {
        if progress.interrupted() {
            return Err(Error::Interrupted {
                done: String::new(),
            });
        }
        let n = read_full(&mut input, &mut buf).at(source)?;
        if n == 0 {
            break;
        }
        if let Some(sha) = &mut sha {
            sha.update(&buf[..n]);
        }
        creator.write_all(&buf[..n]).at(source)?;
    }
    if let (Some(want), Some(sha)) = (expect_sha256, sha)
        && hex(&sha.finalize()) != want
    {
        return Err(Error::Damaged {
            path: source.into(),
            detail: "it does not match the medium index's SHA-256; parity is only added to an intact archive (repair it from another copy first)".into(),
        });
    }
    let created = creator.finish()?;
    let slices = created.checks.len() as u64;
    let mut temps = Vec::new();
    let mut staged = Vec::new();
    let done = complete(
        created,
        crate::TOOL_VERSION,
        blocks,
        source,
        settings.budget,
        &mut |set, first| {
            staged.extend(stage(medium, file, set, first, &mut temps)?);
            Ok(())
        },
    );
    match done {
        Ok(_) => Ok((slices, blocks, staged)),
        Err(e) => {
            for t in &temps {
                let _ = fs::remove_file(t);
            }
            Err(e)
        }
    }
}

/// Renames staged files into place (never replacing one).
pub fn install(medium: &Medium, staged: &[Staged]) -> Result<Vec<PathBuf>> {
    staged
        .iter()
        .map(|s| medium.install(&s.temp, &s.name))
        .collect()
}

/// Removes `file`'s parity files from `dir` (they reveal the archive's
/// size and hashes, nothing else) and syncs the folder.
pub fn remove(dir: &Path, file: &str) -> Result<usize> {
    let files = files_in(dir, file)?;
    for f in &files {
        fs::remove_file(f).at(f)?;
    }
    if !files.is_empty() {
        sync_dir(dir)?;
    }
    Ok(files.len())
}

/// Total size of `file`'s parity files in `dir`.
pub fn size_of(dir: &Path, file: &str) -> u64 {
    files_in(dir, file)
        .unwrap_or_default()
        .iter()
        .filter_map(|p| fs::metadata(p).ok())
        .map(|m| m.len())
        .sum()
}

struct HashingWriter<W> {
    inner: W,
    hash: Sha256,
    len: u64,
}

impl<W: Write> Write for HashingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hash.update(&buf[..n]);
        self.len += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}
