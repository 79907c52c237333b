//! `switchyard serve` (not implemented yet: exits 2).

use std::process::ExitCode;

use clap::Args;

/// Arguments of `switchyard serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {}

/// Runs the command.
pub fn run(_args: ServeArgs) -> ExitCode {
    super::not_implemented("serve")
}
