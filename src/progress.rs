//! The small progress interface the library reports through; the CLI
//! decides whether that becomes a bar (on a terminal) or nothing.

/// Receives progress of long operations. Implementations must be cheap.
pub trait Progress: Sync {
    /// A new phase starts (`"archiving"`, `"verifying copies"`), measured in
    /// bytes out of `total`.
    fn phase(&self, _name: &str, _total: u64) {}
    /// `bytes` more are done.
    fn advance(&self, _bytes: u64) {}
    /// A note for the user (a skipped special file, say).
    fn note(&self, _message: &str) {}
}

/// Reports nothing.
pub struct Silent;

impl Progress for Silent {}
