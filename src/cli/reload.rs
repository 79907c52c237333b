//! `switchyard reload` (not implemented yet: exits 2).

use std::process::ExitCode;

use clap::Args;

/// Arguments of `switchyard reload`.
#[derive(Debug, Args)]
pub struct ReloadArgs {}

/// Runs the command.
pub fn run(_args: ReloadArgs) -> ExitCode {
    super::not_implemented("reload")
}
