//! `switchyard validate` (not implemented yet: exits 2).

use std::process::ExitCode;

use clap::Args;

/// Arguments of `switchyard validate`.
#[derive(Debug, Args)]
pub struct ValidateArgs {}

/// Runs the command.
pub fn run(_args: ValidateArgs) -> ExitCode {
    super::not_implemented("validate")
}
