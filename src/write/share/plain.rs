//! `kluis share --plain`: the selected records into a plain folder, each
//! file checked against its archived SHA-256 as it is written, with a
//! (signed) `SHA256SUMS`.

use std::fs::{self, File};
use std::io::{self, Read};
use std::path::Path;

use chrono::NaiveDate;

use super::rows::{filter_rows, is_jsonl};
use super::{Pick, Report, Request, TableShare, mtime, source_error, write_sums};
use crate::error::{Error, IoContext, Result};
use crate::format::manifest::{Kind, sha256sum_line};
use crate::format::reader::ArchiveReader;
use crate::format::writer::Mtime;
use crate::keys::signing::SigningKey;
use crate::progress::Progress;
use crate::read::restore::{Parents, safe_link, safe_target, write_file};
use crate::util::hashing::Hashed;

#[allow(clippy::too_many_arguments)]
pub(super) fn write_plain(
    readers: &mut [ArchiveReader],
    picks: &[Pick],
    columns: &[Option<String>],
    window: (Option<NaiveDate>, Option<NaiveDate>),
    signer: Option<&SigningKey>,
    _organisation: &str,
    share_id: &str,
    req: &Request,
    report: &mut Report,
    progress: &dyn Progress,
) -> Result<()> {
    let target = req.to.canonicalize().at(&req.to)?;
    // Every path checked before the first byte is written.
    for p in picks {
        let unsafe_entry = |reason| Error::UnsafeEntry {
            path: readers[p.source].path().into(),
            entry: p.entry.display_path(),
            reason,
        };
        safe_target(&target, &p.path).map_err(unsafe_entry)?;
        if let Some(link) = &p.entry.target {
            safe_link(&p.path, link).map_err(unsafe_entry)?;
        }
    }
    let mut parents = Parents::default();
    let mut sums = Vec::new();
    let mut buf = vec![0u8; 256 << 10];
    for (n, (p, column)) in picks.iter().zip(columns).enumerate() {
        super::stop_point(progress, req, n)?;
        let reader = &mut readers[p.source];
        let e = &p.entry;
        let dest = safe_target(&target, &p.path).expect("checked above");
        parents
            .make(&target, &dest)
            .map_err(|why| Error::io(&dest, io::Error::other(why)))?;
        match e.kind {
            Kind::Dir => match fs::create_dir(&dest) {
                Err(x) if x.kind() != io::ErrorKind::AlreadyExists => {
                    return Err(Error::io(&dest, x));
                }
                _ => {}
            },
            Kind::Symlink => {
                use std::os::unix::ffi::OsStrExt;
                std::os::unix::fs::symlink(
                    std::ffi::OsStr::from_bytes(e.target.as_deref().unwrap_or_default()),
                    &dest,
                )
                .at(&dest)?;
            }
            Kind::File => {
                let hash = match column {
                    Some(column) => {
                        let member = e.display_path();
                        let mut out = Hashed::new(create_new(&dest)?);
                        let mut content = Hashed::new(reader.tar_from(e.data_offset).take(e.size));
                        let (kept, left) = filter_rows(
                            &mut content,
                            &mut out,
                            is_jsonl(&e.path),
                            column,
                            window,
                            &member,
                        )?;
                        if Some(content.finish().1) != e.sha256 {
                            return Err(source_error(reader, e));
                        }
                        report.tables.push(TableShare {
                            member: String::from_utf8_lossy(&p.path).into_owned(),
                            rows: kept,
                            rows_left_out: left,
                        });
                        let (file, (len, hash)) = out.into_parts();
                        report.bytes += len;
                        set_mode_and_time(&file, &dest, mtime(e), e.mode)?;
                        hash
                    }
                    None => {
                        let mut content = reader.tar_from(e.data_offset).take(e.size);
                        let hash = write_file(
                            &dest,
                            &mut content,
                            e.size,
                            e.mode,
                            mtime(e),
                            &mut buf,
                            progress,
                        )
                        .map_err(|why| Error::io(&dest, io::Error::other(why)))?;
                        if Some(hash) != e.sha256 {
                            return Err(source_error(reader, e));
                        }
                        report.bytes += e.size;
                        hash
                    }
                };
                sums.extend(sha256sum_line(&hash, &p.path));
                report.files += 1;
            }
        }
        report.records += 1;
    }
    write_sums(&target, &sums, signer, share_id)?;
    report.path = target;
    Ok(())
}

/// Creates `path`, which must not exist yet.
fn create_new(path: &Path) -> Result<File> {
    File::options()
        .write(true)
        .create_new(true)
        .open(path)
        .at(path)
}

fn set_mode_and_time(file: &File, path: &Path, mtime: Mtime, mode: u32) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    file.set_permissions(fs::Permissions::from_mode(mode & 0o1777))
        .at(path)?;
    file.set_modified(mtime.to_system()).at(path)
}
