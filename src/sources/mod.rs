//! Where records come from: folders of documents (`folder`), tabular
//! exports split into fiscal years by a date column (`table`: CSV and JSON
//! Lines files; `sqlite`: tables of an SQLite database), and live
//! PostgreSQL and MariaDB/MySQL databases (`db`).

pub mod db;
pub mod folder;
pub mod sqlite;
pub mod table;
