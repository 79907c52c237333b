//! `switchyard demo` (not implemented yet: exits 2).

use std::process::ExitCode;

use clap::Args;

/// Arguments of `switchyard demo`.
#[derive(Debug, Args)]
pub struct DemoArgs {}

/// Runs the command.
pub fn run(_args: DemoArgs) -> ExitCode {
    super::not_implemented("demo")
}
