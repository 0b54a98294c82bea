//! Archives written through the library's [`ArchiveWriter`] rather than the
//! binary: for archives the binary would never write (members with unsafe
//! paths) and for tests that need thousands of checks faster than a
//! process each.

use std::fs::File;
use std::io::Read;
use std::path::Path;

use kluis::format::meta::Metadata;
use kluis::format::signatures;
use kluis::format::writer::{ArchiveWriter, Framing, Mtime, WriteOptions};
use kluis::keys::signing::SigningKey;

use super::Key;

/// A fixed mtime for crafted members (2019-01-01).
pub const T2019: Mtime = Mtime {
    secs: 1_546_300_800,
    nsec: 0,
};

/// The metadata of a crafted archive: fiscal year 2019, financial, kept
/// until 2026, created now. A test that needs other values names only
/// those: `Metadata { organisation: "Test B.V.".into(),
/// ..crafted_metadata() }`.
pub fn crafted_metadata() -> Metadata {
    let day = |y, m, d| chrono::NaiveDate::from_ymd_opt(y, m, d).unwrap();
    Metadata {
        format: "kluis".into(),
        format_version: kluis::format::FORMAT_VERSION,
        archive_id: "0123456789abcdef0123456789abcdef".into(),
        organisation: "Crafted".into(),
        fiscal_year: 2019,
        fiscal_year_start: day(2019, 1, 1),
        fiscal_year_end: day(2019, 12, 31),
        class: "financial".into(),
        supplement: 1,
        retention_end: day(2026, 12, 31),
        created: chrono::Utc::now(),
        tool_version: "crafted".into(),
        minimisation: Vec::new(),
        audit_files: Vec::new(),
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
    write_archive_with(path, key, &crafted_metadata(), options, build);
}

/// [`write_archive`] with this metadata.
pub fn write_archive_with(
    path: &Path,
    key: &Key,
    meta: &Metadata,
    options: &WriteOptions,
    build: impl FnOnce(&mut ArchiveWriter),
) {
    let file = File::create(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut w = ArchiveWriter::new(
        vec![(path.to_path_buf(), file)],
        &key.recipients(),
        meta,
        options,
    )
    .unwrap();
    build(&mut w);
    w.finish().unwrap();
}

/// Ends the records and signs the archive as `signatures::sign` does with
/// `key`, except that the signature stored for `kluis/SHA256SUMS` is over
/// `instead` (a bad signature by the right key, with the right trusted
/// comment, dated `now`).
pub fn sign_with_bad_sums_signature(
    w: &mut ArchiveWriter,
    key: &SigningKey,
    meta: &Metadata,
    now: chrono::DateTime<chrono::Utc>,
    instead: &[u8],
) {
    w.end_records().unwrap();
    for (footer_key, member, signed) in signatures::SIGNATURE_MEMBERS {
        let bytes: Vec<u8> = match signed {
            "kluis/metadata.json" => w.written_metadata().to_vec(),
            "kluis/manifest.jsonl" => {
                let mut v = Vec::new();
                w.written_manifest().unwrap().read_to_end(&mut v).unwrap();
                v
            }
            _ => instead.to_vec(),
        };
        let text = key
            .sign(&bytes, &signatures::trusted_comment(signed, meta, now))
            .to_text();
        w.add_located(
            footer_key,
            member,
            text.len() as u64,
            &mut text.as_bytes(),
            Framing::Packed,
        )
        .unwrap();
    }
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
