//! kluis: yearly encrypted offline archives of business records, kept for
//! as long as the law requires and destroyed, with proof, when it no longer
//! does.
//!
//! The library is the domain; the `kluis` binary only parses flags, renders
//! reports and maps errors to exit codes.

#![forbid(unsafe_code)]

pub mod archive;
pub mod catalog;
pub mod destroy;
pub mod error;
pub mod format;
pub mod keys;
pub mod lifecycle;
mod lines;
pub mod manifest;
pub mod media;
pub mod progress;
pub mod purge;
pub mod remind;
pub mod restore;
pub mod retention;
pub mod salvage;
pub mod sample;
pub mod sources;
pub mod vault;
pub mod verify;

pub use error::{Error, Result};

/// `kluis X.Y.Z`, recorded in every archive and proof of destruction.
pub const TOOL_VERSION: &str = concat!("kluis ", env!("CARGO_PKG_VERSION"));
