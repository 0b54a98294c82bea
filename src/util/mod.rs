//! Small primitives every layer may use: a bounded line reader, a writer
//! or reader that counts and hashes, and the test-only pause points.
//! Nothing here knows about archives or vaults.

pub mod hashing;
pub mod lines;
pub mod testpoint;
