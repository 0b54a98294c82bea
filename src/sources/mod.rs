//! Where records come from: folders of documents (`folder`), and tabular
//! exports split into fiscal years by a date column (`table`: CSV and JSON
//! Lines files; `sqlite`: tables of an SQLite database).

pub mod folder;
pub mod sqlite;
pub mod table;
