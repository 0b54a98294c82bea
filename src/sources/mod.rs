//! Where records come from. Today: folders of documents (`folder`).

pub mod folder;
