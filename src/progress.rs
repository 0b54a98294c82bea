//! The small progress interface the library reports through; the CLI
//! decides whether that becomes a bar (on a terminal) or nothing, and
//! whether the user asked to stop (see [`Progress::interrupted`]).

/// Receives progress of long operations. Implementations must be cheap.
pub trait Progress: Sync {
    /// A new phase starts (`"archiving"`, `"verifying copies"`), measured in
    /// bytes out of `total`.
    fn phase(&self, _name: &str, _total: u64) {}
    /// `bytes` more are done.
    fn advance(&self, _bytes: u64) {}
    /// A note for the user (a skipped special file, say).
    fn note(&self, _message: &str) {}
    /// Whether the user asked the operation to stop (the CLI answers this
    /// from its SIGINT/SIGTERM handler). Long operations ask at their safe
    /// points, stop there, remove what they created that is not complete
    /// and return `Error::Interrupted` saying what was done.
    fn interrupted(&self) -> bool {
        false
    }
}

/// Reports nothing.
pub struct Silent;

impl Progress for Silent {}
