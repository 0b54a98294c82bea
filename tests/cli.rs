//! Integration tests of the `kluis` binary: every test runs the real binary
//! (`CARGO_BIN_EXE_kluis`) in its own temporary folder, with its own vault
//! and keys, and checks exit codes, output and what ends up on disk.
//!
//! One test binary, one module per behaviour (`tests/cli/`); the harness is
//! `tests/common/`. Tests that need the stock tools (`age`, `zstd`, GNU
//! `tar`, `sha256sum`) skip without them, or fail when
//! `KLUIS_REQUIRE_STOCK_TOOLS` is set, as `scripts/test.sh` does.

mod common;

#[path = "cli/catalog_mismatch.rs"]
mod catalog_mismatch;
#[path = "cli/conventions.rs"]
mod conventions;
#[path = "cli/damaged_archives.rs"]
mod damaged_archives;
#[path = "cli/hostile_archives.rs"]
mod hostile_archives;
#[path = "cli/keys.rs"]
mod keys;
#[path = "cli/list.rs"]
mod list;
#[path = "cli/media.rs"]
mod media;
#[path = "cli/not_archives.rs"]
mod not_archives;
#[path = "cli/one_pass_verify.rs"]
mod one_pass_verify;
#[path = "cli/path_index.rs"]
mod path_index;
#[path = "cli/restore_target.rs"]
mod restore_target;
#[path = "cli/roundtrip.rs"]
mod roundtrip;
#[path = "cli/single_record_restore.rs"]
mod single_record_restore;
#[path = "cli/source_refusals.rs"]
mod source_refusals;
#[path = "cli/stock_tools.rs"]
mod stock_tools;
#[path = "cli/subject_vector.rs"]
mod subject_vector;
#[path = "cli/vault.rs"]
mod vault;
#[path = "cli/vectors.rs"]
mod vectors;
#[path = "cli/wrong_keys.rs"]
mod wrong_keys;
