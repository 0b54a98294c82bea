//! `kluis repair`: rebuilds the damaged slices of an archive from its PAR2
//! parity files (no key needed), writes the repaired archive under a
//! temporary name, checks it against the medium index's SHA-256 and
//! renames it over the damaged one: until that rename the original is
//! untouched, and a result that fails its check never replaces it. An
//! intact copy of the same archive on another medium that is plugged in
//! (as the vault's catalog knows it) is used first. With `--add-parity`,
//! writes parity files for an archive that has none.

use std::fs;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::error::{Error, IoContext, Result};
use crate::format::manifest::hex;
use crate::parity::{Settings, repair};
use crate::progress::Progress;
use crate::util::testpoint::{pause_point, pause_point_n};
use crate::vault::catalog::{Catalog, CatalogArchive};
use crate::vault::media::{self, Medium, sync_dir};
use crate::vault::readback::hash_file;

/// What `repair` did to one archive.
#[derive(Debug, Serialize)]
pub struct Report {
    pub archive: PathBuf,
    /// `intact`, `repaired` (from parity), `copied` (from another copy),
    /// `parity-added`, `has-parity`.
    pub result: &'static str,
    pub slices: u64,
    pub damaged: u64,
    pub recovery_blocks: u64,
    /// Recovery blocks left over after this repair.
    pub blocks_left: u64,
    /// With `copied`: the intact copy the archive was copied from.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub copied_from: Option<OtherCopy>,
    /// Leftovers of interrupted runs (kluis's own temporary names) removed
    /// from the medium while this run held its lock.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub cleaned: Vec<String>,
}

/// Another copy of the same archive, on another medium that is plugged in.
#[derive(Clone, Debug, Serialize)]
pub struct OtherCopy {
    pub medium: String,
    pub path: PathBuf,
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

/// The account of a repair stopped by the user: the archive is as it was.
fn untouched(path: &Path) -> Error {
    Error::Interrupted {
        done: format!(
            "{}: nothing was repaired or written, the archive is as it was; `kluis repair` again does it",
            path.display()
        ),
    }
}

/// The SHA-256 the archive should have: the medium index's, else the
/// catalog's for this medium; and the catalog's entry for it.
fn expected<'c>(
    medium: Option<&Medium>,
    catalog: Option<&'c Catalog>,
    name: &str,
) -> (Option<String>, Option<&'c CatalogArchive>) {
    let indexed = medium.and_then(|m| m.find(name));
    let known = catalog.and_then(|c| match indexed {
        Some(a) => c.by_id(&a.archive_id),
        None => c.find(name).filter(|a| a.file == name),
    });
    let sha = indexed.map(|a| a.sha256.clone()).or_else(|| {
        let label = medium.map(Medium::label).unwrap_or_default();
        known.map(|a| a.expected_on(label).1.to_owned())
    });
    (sha, known)
}

/// An intact copy of `archive` elsewhere: a live copy the catalog records
/// on another medium that is plugged in, whose medium index names the same
/// archive id and whose file has the SHA-256 `want`.
fn other_copy(archive: &CatalogArchive, dir: &Path, want: &str) -> Option<OtherCopy> {
    let here = dir.canonicalize().ok()?;
    archive.live_copies().find_map(|c| {
        let path = c.path.join(&archive.file);
        let same_id = Medium::open(&c.path, None)
            .ok()?
            .find(&archive.file)
            .is_some_and(|a| a.archive_id == archive.archive_id);
        let good = c.path.canonicalize().ok()? != here
            && same_id
            && archive.expected_on(&c.medium).1 == want
            && hash_file(&path).is_ok_and(|(_, h)| hex(&h) == want);
        good.then(|| OtherCopy {
            medium: c.medium.clone(),
            path,
        })
    })
}

/// Replaces `path` by a checked copy of `from`: copied under a temporary
/// name, synced, read back against `want`, renamed into place.
fn copy_over(
    from: &Path,
    path: &Path,
    dir: &Path,
    name: &str,
    want: &str,
    progress: &dyn Progress,
) -> Result<()> {
    let temp = dir.join(media::temp_name(name));
    let result = (|| {
        fs::copy(from, &temp).at(&temp)?;
        fs::File::open(&temp).and_then(|f| f.sync_all()).at(&temp)?;
        let (_, got) = hash_file(&temp)?;
        if hex(&got) != want {
            return Err(Error::Damaged {
                path: from.into(),
                detail: "the copy made from it does not match the catalog's SHA-256; nothing was replaced".into(),
            });
        }
        finish(&temp, path, dir, progress)
    })();
    if result.is_err() {
        let _ = fs::remove_file(&temp);
    }
    result
}

/// The last step of every repair: the checked temporary file renamed over
/// the damaged one, unless the user stopped it.
fn finish(temp: &Path, path: &Path, dir: &Path, progress: &dyn Progress) -> Result<()> {
    pause_point("repair-before-rename");
    if progress.interrupted() {
        return Err(untouched(path));
    }
    fs::rename(temp, path).at(path)?;
    sync_dir(dir)
}

/// Repairs one archive: from an intact copy on another medium that is
/// plugged in (as the catalog knows them), else from its parity files,
/// holding at most `budget` bytes of rebuilt data at once.
///
/// Stopped by the user ([`Progress::interrupted`], asked before every
/// slice it scans, rebuilds or writes and before the rename), it removes
/// its temporary file and returns [`Error::Interrupted`]: the archive is
/// untouched until the rename.
pub fn repair_archive(
    path: &Path,
    catalog: Option<&Catalog>,
    budget: u64,
    progress: &dyn Progress,
) -> Result<Report> {
    let (dir, name) = split(path)?;
    let medium = Medium::open(&dir, None).ok();
    let lock = medium.as_ref().map(Medium::lock).transpose()?;
    let cleaned = match (&medium, &lock) {
        (Some(m), Some(l)) => m.clean_leftovers(l)?,
        _ => Vec::new(),
    };
    let (want, known) = expected(medium.as_ref(), catalog, &name);
    // Test pause points `repair-scan-N`, `repair-rebuild-N`, `repair-write-N`.
    let stop = |stage: &str, slice: u64| {
        pause_point_n(&format!("repair-{stage}"), slice);
        progress.interrupted()
    };
    let interrupted = |e: Error| match e {
        Error::Interrupted { .. } => untouched(path),
        e => e,
    };
    let parity = match repair::load(&dir, &name)? {
        Some(loaded) => {
            let damage = repair::scan(path, &loaded, &stop).map_err(interrupted)?;
            Some((loaded, damage))
        }
        None => None,
    };
    let intact = match (&parity, &want) {
        (Some((loaded, damage)), _) => damage.is_intact(loaded),
        (None, Some(want)) => hex(&hash_file(path)?.1) == *want,
        (None, None) => return Err(Error::NoParity { path: path.into() }),
    };
    let blocks = parity.as_ref().map_or(0, |(l, _)| l.blocks.len() as u64);
    let mut report = Report {
        archive: path.into(),
        result: "intact",
        slices: parity.as_ref().map_or(0, |(l, _)| l.checks.len() as u64),
        damaged: parity.as_ref().map_or(0, |(_, d)| d.damaged.len() as u64),
        recovery_blocks: blocks,
        blocks_left: blocks,
        copied_from: None,
        cleaned,
    };
    if intact {
        return Ok(report);
    }
    if let (Some(want), Some(known)) = (&want, known)
        && let Some(other) = other_copy(known, &dir, want)
    {
        copy_over(&other.path, path, &dir, &name, want, progress)?;
        report.result = "copied";
        report.copied_from = Some(other);
        return Ok(report);
    }
    let Some((loaded, damage)) = parity else {
        return Err(Error::NoParity { path: path.into() });
    };
    let temp = dir.join(media::temp_name(&name));
    let result = repair::rebuild(path, &loaded, &damage, &temp, budget, &stop).and_then(|got| {
        if let Some(want) = &want
            && hex(&got) != *want
        {
            return Err(Error::Damaged {
                path: path.into(),
                detail: "the repaired archive does not match the medium index's SHA-256 (the parity files belong to another file?); nothing was replaced".into(),
            });
        }
        finish(&temp, path, &dir, progress)
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
    let mut medium = Medium::open(&dir, None)?;
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
            copied_from: None,
            cleaned,
        });
    }
    // Checked against the medium index's SHA-256 in the same pass.
    let want = medium.find(&name).map(|a| a.sha256.clone());
    let (slices, blocks, staged) =
        crate::vault::parity::stage_for(&medium, &name, path, settings, want.as_deref(), progress)
        .map_err(|e| match e {
            Error::Interrupted { .. } => Error::Interrupted {
                done: format!(
                    "{}: no parity was added, nothing was written; `kluis repair --add-parity` again does it",
                    path.display()
                ),
            },
            e => e,
        })?;
    let installed = crate::vault::parity::install(&medium, &staged);
    if installed.is_err() {
        for s in &staged {
            let _ = fs::remove_file(&s.temp);
        }
    }
    installed?;
    // SHA256SUMS lists the parity files of an archive the index knows.
    if let Some(entry) = medium.index.archives.iter_mut().find(|a| a.file == name) {
        entry.parity = crate::vault::parity::indexed(&staged);
        medium.save()?;
    }
    Ok(Report {
        archive: path.into(),
        result: "parity-added",
        slices,
        damaged: 0,
        recovery_blocks: blocks as u64,
        blocks_left: blocks as u64,
        copied_from: None,
        cleaned,
    })
}
