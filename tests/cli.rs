//! Integration tests of the `kluis` binary: every test runs the real binary
//! (`CARGO_BIN_EXE_kluis`) in its own temporary folder, with its own vault
//! and keys, and checks exit codes, output and what ends up on disk.
//!
//! One test binary, one module per area (`tests/cli/`); the harness is
//! `tests/common/mod.rs`. Tests that need the stock tools (`age`, `zstd`,
//! GNU `tar`, `sha256sum`) skip without them, or fail when
//! `KLUIS_REQUIRE_STOCK_TOOLS` is set, as `scripts/test.sh` does.

mod common;

#[path = "cli/bad_input.rs"]
mod bad_input;
#[path = "cli/conventions.rs"]
mod conventions;
#[path = "cli/crafted.rs"]
mod crafted;
#[path = "cli/interop.rs"]
mod interop;
#[path = "cli/keys.rs"]
mod keys;
#[path = "cli/list.rs"]
mod list;
#[path = "cli/roundtrip.rs"]
mod roundtrip;
#[path = "cli/seek.rs"]
mod seek;
#[path = "cli/vault.rs"]
mod vault;
#[path = "cli/vectors.rs"]
mod vectors;
