//! Archives written through the library's [`ArchiveWriter`] rather than the
//! binary: for archives the binary would never write (members with unsafe
//! paths) and for tests that need thousands of checks faster than a
//! process each.

use std::fs::File;
use std::path::Path;

use kluis::format::meta::Metadata;
use kluis::format::writer::{ArchiveWriter, Mtime, WriteOptions};

use super::Key;

/// A fixed mtime for crafted members (2019-01-01).
pub const T2019: Mtime = Mtime {
    secs: 1_546_300_800,
    nsec: 0,
};

/// The metadata of a crafted archive: fiscal year 2019, financial.
pub fn crafted_metadata(organisation: &str) -> Metadata {
    let day = |y, m, d| chrono::NaiveDate::from_ymd_opt(y, m, d).unwrap();
    Metadata {
        format: "kluis".into(),
        format_version: 1,
        archive_id: "0123456789abcdef0123456789abcdef".into(),
        organisation: organisation.into(),
        fiscal_year: 2019,
        fiscal_year_start: day(2019, 1, 1),
        fiscal_year_end: day(2019, 12, 31),
        class: "financial".into(),
        supplement: 1,
        retention_end: day(2026, 12, 31),
        created: chrono::Utc::now(),
        tool_version: "crafted".into(),
        minimisation: Vec::new(),
    }
}

/// Writes an archive to `path`, encrypted to `key`, through the library's
/// writer; `build` adds whatever members it likes.
pub fn write_archive(
    path: &Path,
    key: &Key,
    options: &WriteOptions,
    build: impl FnOnce(&mut ArchiveWriter),
) {
    let file = File::create(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut w = ArchiveWriter::new(
        vec![(path.to_path_buf(), file)],
        &key.recipients(),
        &crafted_metadata("Crafted"),
        options,
    )
    .unwrap();
    build(&mut w);
    w.finish().unwrap();
}

/// Adds a file member `path` holding `data` (mode 0644, mtime `mtime`).
pub fn add_member(w: &mut ArchiveWriter, path: &[u8], data: &[u8], mtime: Mtime) {
    w.add_file(
        path,
        data.len() as u64,
        0o644,
        mtime,
        &mut &data[..],
        Path::new("crafted"),
    )
    .unwrap();
}
