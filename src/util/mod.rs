//! Small primitives every layer may use: a bounded line reader, reading
//! until a buffer is full, a writer or reader that counts and hashes, the
//! ranged sync `rustix` lacks, reads that bypass the page cache (`direct`),
//! and the test-only pause points. Nothing here knows about archives or
//! vaults.

pub mod direct;
pub mod hashing;
pub mod io;
pub mod lines;
pub mod sys;
pub mod testpoint;
