//! Reliability through the real binary: what a crash, a full, read-only or
//! vanishing medium, a source changing under kluis's feet, and a second
//! kluis process leave behind. Each test measures how often its fault
//! actually landed where it was aimed and prints that on stderr (see it with
//! `cargo test --test reliability -- --nocapture`); a test whose fault never
//! landed fails rather than passing vacuously.
//!
//! One test binary, one module per fault (`tests/reliability/`); the harness
//! is `tests/common/mod.rs` plus `tests/common/reliability_util.rs`.

mod common;
#[path = "common/reliability_util.rs"]
mod rutil;

#[path = "reliability/concurrency.rs"]
mod concurrency;
#[path = "reliability/kills.rs"]
mod kills;
#[path = "reliability/media.rs"]
mod media;
#[path = "reliability/source_changes.rs"]
mod source_changes;
