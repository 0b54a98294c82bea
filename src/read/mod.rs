//! Reading an archive back: `verify` (quick without a key, full with one),
//! `restore` (all records or a selection, by seeking), `salvage` (every
//! intact record of a damaged archive).

pub mod repair;
pub mod restore;
pub mod salvage;
pub mod select;
pub mod verify;
