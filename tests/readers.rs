//! Readers kluis does not use: an archive of awkward names (long, deep,
//! unicode NFC and NFD, backslash, newline, tab, not UTF-8, leading dash,
//! symlinks, sub-second and pre-1970 mtimes, empty file and folder) is read
//! by GNU tar, bsdtar, busybox tar, Python's `tarfile` and `pyzstd`'s
//! seekable-format reader, each checked against what docs/FORMAT.md §4.6
//! says it keeps (so that a regression in kluis is still caught), and by
//! kluis itself. The same runs on the committed vector
//! `tests/vectors/awkward.kluis`, written by the writer that names every pax
//! header.
//!
//! The programs are required: `scripts/test.sh` installs them (and makes
//! the Python environment in `target/pyenv`); without one a test skips,
//! or fails when `KLUIS_REQUIRE_STOCK_TOOLS` is set. The harness is
//! `tests/common/`; the awkward tree is `tests/readers/awkward.rs`.

mod common;

#[path = "readers/awkward.rs"]
mod awkward;
#[path = "readers/matrix.rs"]
mod matrix;
#[path = "readers/vector.rs"]
mod vector;
