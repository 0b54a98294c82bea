//! Sample data for `kluis demo` and the benchmark: a deterministic year of a
//! small webshop's records and an orders table. `sample` is the entry point;
//! the other files each write one kind of record, on `tree`'s plumbing.

mod awkward;
mod books;
mod documents;
mod formats;
mod mail;
mod orders;
pub mod sample;
mod tree;
mod vocab;

/// The sample webshop's own address (not a customer's).
pub use vocab::SHOP_MAIL;
