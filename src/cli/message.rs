//! `switchyard message` (not implemented yet: exits 2).

use std::process::ExitCode;

use clap::Args;

/// Arguments of `switchyard message`.
#[derive(Debug, Args)]
pub struct MessageArgs {}

/// Runs the command.
pub fn run(_args: MessageArgs) -> ExitCode {
    super::not_implemented("message")
}
