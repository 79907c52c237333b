//! `switchyard explain` (not implemented yet: exits 2).

use std::process::ExitCode;

use clap::Args;

/// Arguments of `switchyard explain`.
#[derive(Debug, Args)]
pub struct ExplainArgs {}

/// Runs the command.
pub fn run(_args: ExplainArgs) -> ExitCode {
    super::not_implemented("explain")
}
