//! Writing: `archive` turns a fiscal year's sources into one archive on
//! every medium (written, read back, verified, recorded); `purge` then
//! removes from the sources exactly what a verified archive holds;
//! `rekey` re-encrypts archives to new recipients; `share` writes a
//! selection of records for an outsider.

pub mod archive;
pub mod parity;
pub mod purge;
pub mod rekey;
pub mod share;
pub(crate) mod subjects;
