//! `switchyard rotate-logs` (logrotate.sh): rename the log chain, then make the
//! running server reopen its files and wait until it has.

use std::process::ExitCode;
use std::time::Duration;

use clap::Args;

use super::ServerPaths;
use crate::log::rotation;
use crate::ops::control_client::{self, ControlError};
use crate::ops::control_protocol::ControlRequest;

/// How long the server may take to confirm the reopen.
const ACK_TIMEOUT: Duration = Duration::from_secs(10);

/// Arguments of `switchyard rotate-logs`.
#[derive(Debug, Args)]
pub(crate) struct RotateLogsArgs {
    /// Directories.
    #[command(flatten)]
    pub(crate) paths: ServerPaths,
}

/// Rotates access.log and error.log (keeping 24), then asks the server to
/// reopen them; exit 0 also when no server is running.
pub(crate) fn run(args: RotateLogsArgs) -> ExitCode {
    if let Err(err) = rotation::rotate(&args.paths.log_dir) {
        eprintln!(
            "switchyard rotate-logs: cannot rotate in {}: {err}",
            args.paths.log_dir.display()
        );
        return ExitCode::from(2);
    }
    match control_client::send(
        &args.paths.run_dir,
        &ControlRequest::ReopenLogs,
        ACK_TIMEOUT,
    ) {
        Ok(reply) if reply.ok => ExitCode::SUCCESS,
        Ok(reply) => {
            eprintln!(
                "switchyard rotate-logs: the server could not reopen its logs: {}",
                reply.error.unwrap_or_default()
            );
            ExitCode::from(1)
        }
        Err(ControlError::NoServer) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("switchyard rotate-logs: {err}");
            ExitCode::from(1)
        }
    }
}
