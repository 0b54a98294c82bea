//! The retention lifecycle after writing: `status` (status, due, holds,
//! verification records), `remind` (the iCalendar file), `destroy`
//! (refusals, overwrite, proof of destruction). The date rules themselves
//! are in [`crate::retention`].

pub mod destroy;
pub mod remind;
pub mod status;
pub mod subjects;
