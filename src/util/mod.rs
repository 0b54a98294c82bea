//! Small primitives every layer may use: a bounded line reader and the
//! test-only pause points. Nothing here knows about archives or vaults.

pub mod lines;
pub mod testpoint;
