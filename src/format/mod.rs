//! The archive format (docs/FORMAT.md): age over a seekable zstd stream of a
//! pax tar. `writer` produces it, `reader` reads it, `seektable` is the zstd
//! seekable-format index both share.

pub mod filehash;
pub mod manifest;
pub mod meta;
pub mod pathindex;
pub mod reader;
pub mod seektable;
pub mod signatures;
pub(crate) mod sorted;
pub(crate) mod spool;
pub mod subjectindex;
pub mod tarwalk;
pub mod writer;

/// The format version this kluis writes; it reads this and every earlier one.
pub const FORMAT_VERSION: u64 = 1;

/// Every member under this folder is kluis's own, never a record.
pub const KLUIS_DIR: &str = "kluis/";
/// Member holding the archive's metadata (first member).
pub const METADATA_MEMBER: &str = "kluis/metadata.json";
/// Member holding the detailed manifest (JSON Lines).
pub const MANIFEST_MEMBER: &str = "kluis/manifest.jsonl";
/// Member holding the `sha256sum`-compatible list of records.
pub const SHA256SUMS_MEMBER: &str = "kluis/SHA256SUMS";
/// Member locating the others (last member, alone in the last frame).
pub const FOOTER_MEMBER: &str = "kluis/footer.json";
/// Prefix of record members from source folders.
pub const RECORDS_PREFIX: &str = "records/";
/// Prefix of tabular-export members.
pub const TABLES_PREFIX: &str = "tables/";

/// A frame is cut at the first entry boundary after this many tar bytes.
pub const FRAME_TARGET: usize = 2 << 20;
/// A frame never holds more tar bytes than this (cuts inside an entry).
pub const FRAME_CAP: usize = 5 << 19;
/// Readers refuse frames claiming more than this (decompression bombs).
pub const MAX_FRAME: u64 = 64 << 20;
/// Readers refuse JSON members and manifest lines larger than this.
pub const MAX_JSON: u64 = 1 << 20;
