//! `kluis repair`: rebuilds the damaged slices of an archive from its PAR2
//! parity files (no key needed), writes the repaired archive under a
//! temporary name, checks it against the medium index's SHA-256 and
//! renames it over the damaged one: until that rename the original is
//! untouched, and a result that fails its check never replaces it. With
//! `--add-parity`, writes parity files for an archive that has none.

use std::fs;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::error::{Error, IoContext, Result};
use crate::format::manifest::hex;
use crate::parity::create::{Creator, read_full};
use crate::parity::{self, RecoverySet, Settings, recovery_count, repair, slice_size_for};
use crate::progress::Progress;
use crate::util::testpoint::{pause_point, pause_point_n};
use crate::vault::media::{self, Medium, hash_file, sync_dir};

/// What `repair` did to one archive.
#[derive(Debug, Serialize)]
pub struct Report {
    pub archive: PathBuf,
    /// `intact`, `repaired`, `parity-added`, `has-parity`.
    pub result: &'static str,
    pub slices: u64,
    pub damaged: u64,
    pub recovery_blocks: u64,
    /// Recovery blocks left over after this repair.
    pub blocks_left: u64,
    /// Leftovers of interrupted runs (kluis's own temporary names) removed
    /// from the medium while this run held its lock.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub cleaned: Vec<String>,
}

/// The archives a path names: the file itself, or every archive of a
/// medium folder.
pub fn archives_at(path: &Path) -> Result<Vec<PathBuf>> {
    if path.is_dir() {
        let m = Medium::open(path, None)?;
        Ok(m.archive_files()?
            .into_iter()
            .map(|f| path.join(f))
            .collect())
    } else {
        Ok(vec![path.into()])
    }
}

fn split(path: &Path) -> Result<(PathBuf, String)> {
    match media::folder_and_name(path) {
        (_, name) if name.is_empty() => Err(Error::Usage(format!(
            "{}: not an archive file",
            path.display()
        ))),
        split => Ok(split),
    }
}

/// The SHA-256 the medium's index records for the archive, if any.
fn indexed_sha256(dir: &Path, name: &str) -> Option<String> {
    let m = Medium::open(dir, None).ok()?;
    m.find(name).map(|a| a.sha256.clone())
}

/// The account of a repair stopped by the user: the archive is as it was.
fn untouched(path: &Path) -> Error {
    Error::Interrupted {
        done: format!(
            "{}: nothing was repaired or written, the archive is as it was; `kluis repair` again does it",
            path.display()
        ),
    }
}

/// Repairs one archive from its parity files.
///
/// Stopped by the user ([`Progress::interrupted`], asked before every
/// slice it scans, rebuilds or writes and before the rename), it removes
/// its temporary file and returns [`Error::Interrupted`]: the archive is
/// untouched until the rename.
pub fn repair_archive(path: &Path, progress: &dyn Progress) -> Result<Report> {
    let (dir, name) = split(path)?;
    let medium = Medium::open(&dir, None).ok();
    let lock = medium.as_ref().map(Medium::lock).transpose()?;
    let cleaned = match (&medium, &lock) {
        (Some(m), Some(l)) => m.clean_leftovers(l)?,
        _ => Vec::new(),
    };
    let loaded = repair::load(&dir, &name)?.ok_or_else(|| Error::NoParity { path: path.into() })?;
    // Test pause points `repair-scan-N`, `repair-rebuild-N`, `repair-write-N`.
    let stop = |stage: &str, slice: u64| {
        pause_point_n(&format!("repair-{stage}"), slice);
        progress.interrupted()
    };
    let interrupted = |e: Error| match e {
        Error::Interrupted { .. } => untouched(path),
        e => e,
    };
    let damage = repair::scan(path, &loaded, &stop).map_err(interrupted)?;
    let blocks = loaded.blocks.len() as u64;
    let mut report = Report {
        archive: path.into(),
        result: "intact",
        slices: loaded.checks.len() as u64,
        damaged: damage.damaged.len() as u64,
        recovery_blocks: blocks,
        blocks_left: blocks,
        cleaned,
    };
    if damage.is_intact(&loaded) {
        return Ok(report);
    }
    let temp = dir.join(media::temp_name(&name));
    let result = repair::rebuild(path, &loaded, &damage, &temp, &stop).and_then(|()| {
        if let Some(want) = indexed_sha256(&dir, &name) {
            let (_, got) = hash_file(&temp)?;
            if hex(&got) != want {
                return Err(Error::Damaged {
                    path: path.into(),
                    detail: "the repaired archive does not match the medium index's SHA-256 (the parity files belong to another file?); nothing was replaced".into(),
                });
            }
        }
        pause_point("repair-before-rename");
        if progress.interrupted() {
            return Err(untouched(path));
        }
        fs::rename(&temp, path).at(path)?;
        sync_dir(&dir)
    });
    if result.is_err() {
        let _ = fs::remove_file(&temp);
    }
    result.map_err(interrupted)?;
    report.result = "repaired";
    report.blocks_left = blocks - report.damaged;
    Ok(report)
}

/// Writes parity files for an archive that has none (its SHA-256 checked
/// against the medium index first: damage is never protected). Stopped by
/// the user while it reads the archive, it writes nothing and returns
/// [`Error::Interrupted`].
pub fn add_parity(path: &Path, settings: &Settings, progress: &dyn Progress) -> Result<Report> {
    let (dir, name) = split(path)?;
    let medium = Medium::open(&dir, None)?;
    let lock = medium.lock()?;
    let cleaned = medium.clean_leftovers(&lock)?;
    if let Some(loaded) = repair::load(&dir, &name)? {
        return Ok(Report {
            archive: path.into(),
            result: "has-parity",
            slices: loaded.checks.len() as u64,
            damaged: 0,
            recovery_blocks: loaded.blocks.len() as u64,
            blocks_left: loaded.blocks.len() as u64,
            cleaned,
        });
    }
    if let Some(want) = indexed_sha256(&dir, &name) {
        let (_, got) = hash_file(path)?;
        if hex(&got) != want {
            return Err(Error::Damaged {
                path: path.into(),
                detail: "it does not match the medium index's SHA-256; parity is only added to an intact archive (repair it from another copy first)".into(),
            });
        }
    }
    let len = fs::metadata(path).at(path)?.len();
    let slice = slice_size_for(len);
    let blocks = recovery_count(len.div_ceil(slice), settings.percent.max(1), settings.spare);
    let fits = (settings.budget / slice).max(1) as u32;
    let mut creator = Creator::new(&name, settings, slice, blocks.min(fits), None);
    let mut file = fs::File::open(path).at(path)?;
    let mut buf = vec![0u8; 1 << 20];
    loop {
        if progress.interrupted() {
            return Err(Error::Interrupted {
                done: format!(
                    "{}: no parity was added, nothing was written; `kluis repair --add-parity` again does it",
                    path.display()
                ),
            });
        }
        let n = read_full(&mut file, &mut buf).at(path)?;
        if n == 0 {
            break;
        }
        std::io::Write::write_all(&mut creator, &buf[..n]).at(path)?;
    }
    let mut created = creator.finish()?;
    if (created.blocks.len() as u32) < blocks {
        let more: Vec<u32> = (created.blocks.len() as u32..blocks).collect();
        created.blocks.extend(parity::create::blocks_from_file(
            path,
            slice,
            &more,
            settings.budget,
        )?);
    }
    let set = RecoverySet::new(created, crate::TOOL_VERSION);
    let mut temps = Vec::new();
    let staged = crate::vault::parity::stage(&medium, &name, &set, &mut temps)
        .and_then(|s| crate::vault::parity::install(&medium, &s));
    if staged.is_err() {
        for t in &temps {
            let _ = fs::remove_file(t);
        }
    }
    staged?;
    Ok(Report {
        archive: path.into(),
        result: "parity-added",
        slices: set.slices,
        damaged: 0,
        recovery_blocks: set.blocks.len() as u64,
        blocks_left: set.blocks.len() as u64,
        cleaned,
    })
}
