//! The retention lifecycle through the real binary: status, due, remind,
//! hold, release, destroy, and every refusal (exit 2, nothing changed).
//!
//! One test binary, one module per command or behaviour
//! (`tests/lifecycle/`); the JSON they print is pinned in
//! `tests/lifecycle/schema.rs`; the harness is `tests/common/` (the vault
//! with two archives on two media: `Env::with_archives`).

mod common;
#[path = "lifecycle/schema.rs"]
mod schema;

#[path = "lifecycle/destruction.rs"]
mod destruction;
#[path = "lifecycle/due.rs"]
mod due;
#[path = "lifecycle/holds.rs"]
mod holds;
#[path = "lifecycle/refusals.rs"]
mod refusals;
#[path = "lifecycle/reminders.rs"]
mod reminders;
#[path = "lifecycle/status.rs"]
mod status;
