//! Sample data for `kluis demo` and the benchmark: a deterministic year of a
//! small webshop's records and an orders table.

pub mod sample;
