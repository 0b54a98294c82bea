//! Data subjects (docs/SUBJECTS.md): the identifiers that name a person
//! (e-mail addresses, phone numbers, IBANs, customer numbers), found in
//! records as they are archived, and the tax audit file (XAF) recognised
//! among them.

pub mod identify;
pub mod scan;
pub mod xaf;
