//! `switchyard rotate-logs` (not implemented yet: exits 2).

use std::process::ExitCode;

use clap::Args;

/// Arguments of `switchyard rotate-logs`.
#[derive(Debug, Args)]
pub struct RotateLogsArgs {}

/// Runs the command.
pub fn run(_args: RotateLogsArgs) -> ExitCode {
    super::not_implemented("rotate-logs")
}
