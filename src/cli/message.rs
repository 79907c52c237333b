//! `switchyard message NAME [ARGS]` (messagehandler.sh): the platform's proxy
//! messages `reload`, `reopen-logs` and `log-level LEVEL`.

use std::process::ExitCode;
use std::time::Duration;

use clap::Args;

use super::ServerPaths;
use crate::log::error_log::Level;
use crate::ops::control_client::{self, ControlError};
use crate::ops::control_protocol::ControlRequest;

/// How long the server may take to answer.
const REPLY_TIMEOUT: Duration = Duration::from_secs(10);

/// Arguments of `switchyard message`.
#[derive(Debug, Args)]
pub(crate) struct MessageArgs {
    /// The message: reload, reopen-logs or log-level.
    pub(crate) name: String,
    /// Its argument (log-level: error, warn, info, debug or trace); may be empty.
    pub(crate) args: Option<String>,
    /// Directories.
    #[command(flatten)]
    pub(crate) paths: ServerPaths,
}

/// Runs the command: exit 0 when done, 1 for an unknown message, bad
/// arguments or a server that refused.
pub(crate) fn run(args: MessageArgs) -> ExitCode {
    let argument = args.args.as_deref().map(str::trim).unwrap_or("");
    let request = match (args.name.as_str(), argument) {
        ("reload", "") => {
            return super::reload::reload(
                &args.paths.config_dir,
                &args.paths.run_dir,
                "message reload",
            );
        }
        ("reopen-logs", "") => ControlRequest::ReopenLogs,
        ("log-level", level) => match level.parse::<Level>() {
            Ok(_) => ControlRequest::LogLevel {
                level: level.to_owned(),
            },
            Err(err) => {
                eprintln!("switchyard message log-level: {err}");
                return ExitCode::from(1);
            }
        },
        ("reload" | "reopen-logs", extra) => {
            eprintln!(
                "switchyard message {}: takes no arguments (got `{extra}`)",
                args.name
            );
            return ExitCode::from(1);
        }
        (other, _) => {
            eprintln!(
                "switchyard message: unknown message `{other}` (expected reload, reopen-logs or log-level)"
            );
            return ExitCode::from(1);
        }
    };
    match control_client::send(&args.paths.run_dir, &request, REPLY_TIMEOUT) {
        Ok(reply) if reply.ok => ExitCode::SUCCESS,
        Ok(reply) => {
            eprintln!(
                "switchyard message {}: {}",
                args.name,
                reply.error.unwrap_or_default()
            );
            ExitCode::from(1)
        }
        // Before the container's server exists there is nothing to change.
        Err(ControlError::NoServer) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("switchyard message {}: {err}", args.name);
            ExitCode::from(1)
        }
    }
}
