//! The library's error type: every failure a user can cause, named with the
//! thing it concerns, so that the CLI can add one line on what to do.

use std::path::PathBuf;

use chrono::NaiveDate;

/// Result alias used throughout the library.
pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error(
        "{medium}: the medium ran out of space while writing {file} ({needed} bytes needed, {available} available)"
    )]
    MediumFull {
        medium: PathBuf,
        file: String,
        needed: u64,
        available: u64,
    },

    #[error("{path}: not a kluis archive ({reason})")]
    NotAnArchive { path: PathBuf, reason: String },

    #[error(
        "{path}: none of the given identities opens this archive; give the key it was written for (if that is the one given, this copy's header is damaged: try another copy)"
    )]
    WrongKey { path: PathBuf },

    #[error(
        "{path}: this archive is protected by a passphrase; give it with --passphrase-file FILE or --passphrase"
    )]
    NeedsPassphrase { path: PathBuf },

    #[error("{path}: the archive is damaged or truncated ({detail})")]
    Damaged { path: PathBuf, detail: String },

    #[error(
        "{path}: written with kluis format version {version}; this kluis reads versions up to {supported}"
    )]
    UnsupportedVersion {
        path: PathBuf,
        version: u64,
        supported: u64,
    },

    #[error("{what}: {detail}")]
    Key { what: String, detail: String },

    #[error("no vault found at {path}")]
    NoVault { path: PathBuf },

    #[error("a vault already exists at {path}")]
    VaultExists { path: PathBuf },

    #[error("{path}: {detail}")]
    BadConfig { path: PathBuf, detail: String },

    #[error("{medium}: already holds {file}")]
    AlreadyOnMedium { medium: PathBuf, file: String },

    #[error("{path}: source changed while it was being archived ({detail})")]
    SourceChanged { path: PathBuf, detail: String },

    #[error("nothing to archive: {detail}")]
    EmptySource { detail: String },

    #[error("{path}: {detail}")]
    BadSource { path: PathBuf, detail: String },

    #[error("{path}: {detail}")]
    BadTable { path: PathBuf, detail: String },

    /// A tax audit file (XAF) among the records that does not check out.
    #[error("{path}: tax audit file (XAF): {detail}")]
    BadAuditFile { path: PathBuf, detail: String },

    /// An identifier of a data subject that cannot be read.
    #[error("{0}")]
    BadIdentifier(String),

    #[error("{path}, {place}: cannot read {value:?} in column {column} as a date ({expected})")]
    BadDate {
        path: PathBuf,
        place: String,
        column: String,
        value: String,
        expected: String,
    },

    #[error(
        "{path}: table {table} has columns that look like personal data no retention duty covers: {}; decide for each with --drop COLUMN (leave it out) or --keep COLUMN (keep it on purpose)",
        .columns.join(", ")
    )]
    UndecidedColumns {
        path: PathBuf,
        table: String,
        columns: Vec<String>,
    },

    #[error("{path}: {detail}")]
    Database { path: PathBuf, detail: String },

    /// A live database source (PostgreSQL, MariaDB/MySQL) could not be
    /// reached or read: `source` is its URL, which never holds a password.
    #[error("{source_url}: {detail}")]
    LiveDatabase { source_url: String, detail: String },

    /// A live database source refused before anything was read.
    #[error("{source_url}: {detail}")]
    DatabaseRefused { source_url: String, detail: String },

    #[error(
        "{medium}: read-back check failed for {file}: the copy on the medium differs from what was written"
    )]
    ReadBackMismatch { medium: PathBuf, file: String },

    #[error("{path}: beyond repair: {damaged} slices damaged, {blocks} recovery blocks")]
    BeyondRepair {
        path: PathBuf,
        damaged: u64,
        blocks: u64,
    },

    #[error("{path}: no usable parity files (FILE.par2, FILE.vol*.par2) beside it")]
    NoParity { path: PathBuf },

    #[error("{path}: refusing to overwrite an existing file")]
    WouldOverwrite { path: PathBuf },

    #[error("{path}: archive entry {entry:?} is unsafe ({reason}); nothing was written for it")]
    UnsafeEntry {
        path: PathBuf,
        entry: String,
        reason: String,
    },

    #[error("unknown archive {name:?}")]
    UnknownArchive { name: String },

    #[error("{archive}: retention runs until {until}; it may be destroyed from the day after")]
    RetentionNotEnded { archive: String, until: NaiveDate },

    #[error("{archive}: under a legal hold since {since}: {reason}")]
    Held {
        archive: String,
        since: NaiveDate,
        reason: String,
    },

    #[error("{archive}: already destroyed")]
    AlreadyDestroyed { archive: String },

    #[error(
        "{medium}: this folder does not hold {archive} ({detail}); `kluis status` shows where its copies are"
    )]
    NotOnMedium {
        medium: PathBuf,
        archive: String,
        detail: String,
    },

    #[error(
        "{path}: SHA-256 {actual} differs from the catalog's {expected} for this archive; refusing to destroy what may be another file"
    )]
    NotTheArchive {
        path: PathBuf,
        expected: String,
        actual: String,
    },

    #[error(
        "{vault}: the vault has no signing key, so the archive cannot be signed and nothing was written"
    )]
    NoSigningKey { vault: PathBuf },

    #[error("{path}: another kluis process is using it")]
    Locked { path: PathBuf },

    #[error(transparent)]
    Retention(#[from] crate::retention::RetentionError),

    #[error("{0}")]
    Usage(String),

    /// The user asked to stop (SIGINT, SIGTERM): the operation stopped at a
    /// safe point and removed what it had created that was not complete.
    /// `done` says what was and was not done.
    #[error("interrupted: {done}")]
    Interrupted { done: String },
}

impl Error {
    /// Wraps an I/O error with the path it concerns.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }
}

/// Adds a path to I/O results: `file.read(..).at(&path)?`.
pub trait IoContext<T> {
    fn at(self, path: impl Into<PathBuf>) -> Result<T>;
}

impl<T> IoContext<T> for std::io::Result<T> {
    fn at(self, path: impl Into<PathBuf>) -> Result<T> {
        self.map_err(|e| Error::io(path, e))
    }
}
