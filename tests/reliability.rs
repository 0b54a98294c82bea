//! Reliability through the real binary: what a crash, a full, read-only or
//! vanishing medium, a source changing under kluis's feet, and a second
//! kluis process leave behind. Each test measures how often its fault
//! actually landed where it was aimed and prints that on stderr (see it with
//! `cargo test --test reliability -- --nocapture`); a test whose fault never
//! landed fails rather than passing vacuously.
//!
//! One test binary, one module per fault (`tests/reliability/`); the harness
//! is `tests/common/` (killing: `tests/common/kills.rs`; spawning and pause
//! points: `tests/common/process.rs`; mounts: `tests/common/mounts.rs`).

mod common;

#[path = "reliability/archive_kills.rs"]
mod archive_kills;
#[path = "reliability/catalog_kills.rs"]
mod catalog_kills;
#[path = "reliability/concurrency.rs"]
mod concurrency;
#[path = "reliability/destroy_kills.rs"]
mod destroy_kills;
#[path = "reliability/failing_media.rs"]
mod failing_media;
#[path = "reliability/signals.rs"]
mod signals;
#[path = "reliability/source_changes.rs"]
mod source_changes;
