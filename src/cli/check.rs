//! `switchyard check` (not implemented yet: exits 2).

use std::process::ExitCode;

use clap::Args;

/// Arguments of `switchyard check`.
#[derive(Debug, Args)]
pub struct CheckArgs {}

/// Runs the command.
pub fn run(_args: CheckArgs) -> ExitCode {
    super::not_implemented("check")
}
