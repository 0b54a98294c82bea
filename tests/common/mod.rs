//! The integration-test harness, shared by every test binary: a temporary
//! folder per test with the real `kluis` binary run in it (`env`, `run`,
//! `process`), and the things the tests build and judge there, one file
//! each: keys, the vault, media, record trees (`trees`, `samples`), damaged
//! archives, archives written through the library, kills, failing
//! filesystems and the stock tools.
//!
//! Each test binary uses a part of it, hence the `dead_code` allowance.

#![allow(dead_code)]

mod damage;
mod env;
mod keys;
mod kills;
mod library;
mod media;
mod mounts;
mod process;
mod reports;
mod run;
mod samples;
mod stock;
mod trees;
mod vault;

// Every binary sees one flat harness (`use crate::common::*`); a binary
// that uses none of a file's helpers would warn about its re-export.
#[allow(unused_imports)]
pub use self::{
    damage::*, env::*, keys::*, kills::*, library::*, media::*, mounts::*, process::*, reports::*,
    run::*, samples::*, stock::*, trees::*, vault::*,
};
