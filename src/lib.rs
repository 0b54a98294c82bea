//! kluis: yearly encrypted offline archives of business records, kept for
//! as long as the law requires and destroyed, with proof, when it no longer
//! does.
//!
//! The library is the domain; the `kluis` binary only parses flags, renders
//! reports and maps errors to exit codes.

// `unsafe` only in `parity::kernel` (SIMD intrinsics) and `util::sys` (one
// system call), allowed there alone.
#![deny(unsafe_code)]

// Primitives: used by every layer, importing none of the folders below.
pub mod error;
pub mod keys;
pub mod parity;
pub mod progress;
pub mod retention;
pub mod subjects;
pub mod util;

// The on-disk contract, where records come from, and the local vault.
pub mod format;
pub mod sources;
pub mod vault;

// Operations: writing, reading back, and the retention lifecycle.
pub mod lifecycle;
pub mod read;
pub mod write;

// Sample data for the demo.
pub mod demo;

pub use error::{Error, Result};

/// `kluis X.Y.Z`, recorded in every archive and proof of destruction.
pub const TOOL_VERSION: &str = concat!("kluis ", env!("CARGO_PKG_VERSION"));
