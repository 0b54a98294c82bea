//! Writing: `archive` turns a fiscal year's sources into one archive on
//! every medium (written, read back, verified, recorded); `purge` then
//! removes from the sources exactly what a verified archive holds.

pub mod archive;
pub mod purge;
