//! Reading an archive back: `verify` (quick without a key, full with one),
//! `restore` (all records or a selection, by seeking), `salvage` (every
//! intact record of a damaged archive), `repair` (from parity or another
//! copy), `select` (which records, through the path index or the
//! manifest), `leftovers` (a restore's temporary files).

mod leftovers;
pub mod repair;
pub mod restore;
pub mod salvage;
pub mod select;
pub mod subjects;
pub mod verify;
