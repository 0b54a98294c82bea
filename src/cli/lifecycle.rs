//! Lifecycle commands: status, due, remind, hold, release, destroy.

use std::path::{Path, PathBuf};

use clap::Args;
use kluis::error::Error;

use super::Outcome;

type Result<T> = kluis::Result<T>;

#[derive(Args)]
pub struct StatusArgs {
    #[arg(long)]
    json: bool,
}
#[derive(Args)]
pub struct DueArgs {
    #[arg(long)]
    within: Option<u32>,
}
#[derive(Args)]
pub struct RemindArgs {
    #[arg(long)]
    ics: PathBuf,
}
#[derive(Args)]
pub struct HoldArgs {
    archive: String,
    #[arg(long)]
    reason: String,
}
#[derive(Args)]
pub struct ReleaseArgs {
    archive: String,
}
#[derive(Args)]
pub struct DestroyArgs {
    archive: String,
}

fn todo() -> Result<Outcome> {
    Err(Error::Usage("not available yet".into()))
}
pub fn status(_: Option<&Path>, _: StatusArgs) -> Result<Outcome> {
    todo()
}
pub fn due(_: Option<&Path>, _: DueArgs) -> Result<Outcome> {
    todo()
}
pub fn remind(_: Option<&Path>, _: bool, _: RemindArgs) -> Result<Outcome> {
    todo()
}
pub fn hold(_: Option<&Path>, _: bool, _: HoldArgs) -> Result<Outcome> {
    todo()
}
pub fn release(_: Option<&Path>, _: bool, _: ReleaseArgs) -> Result<Outcome> {
    todo()
}
pub fn destroy(_: Option<&Path>, _: bool, _: DestroyArgs) -> Result<Outcome> {
    todo()
}
