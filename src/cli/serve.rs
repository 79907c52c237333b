//! `switchyard serve`: the server of contract §2, with the platform's defaults
//! overridable by flags and `SWITCHYARD_*` variables for tests and developers.

use std::process::ExitCode;

use clap::Args;

use super::ServerPaths;
use crate::ops::server::{self, ServeError, ServerOptions};
use crate::proxy::listener::ListenSpec;
use crate::proxy::upstream::DEFAULT_NEXT_HOP;

/// Arguments of `switchyard serve`.
#[derive(Debug, Args)]
pub(crate) struct ServeArgs {
    /// Comma-separated addresses to listen on [default: 0.0.0.0:80 and, with IPv6, [::]:80].
    #[arg(long, value_name = "ADDR[,ADDR…]", env = "SWITCHYARD_LISTEN")]
    pub(crate) listen: Option<ListenSpec>,
    /// The next hop, host:port, resolved through the system resolver for every new connection.
    #[arg(long, value_name = "HOST:PORT", env = "SWITCHYARD_UPSTREAM", default_value = DEFAULT_NEXT_HOP)]
    pub(crate) upstream: String,
    /// Directories.
    #[command(flatten)]
    pub(crate) paths: ServerPaths,
}

/// Runs the server; exit 0 after a graceful stop, 1 when the configuration
/// is invalid at start-up, 2 for a start-up I/O fault.
pub(crate) fn run(args: ServeArgs) -> ExitCode {
    let options = ServerOptions {
        listen: args.listen.unwrap_or(ListenSpec::Platform),
        upstream: args.upstream,
        config_dir: args.paths.config_dir,
        log_dir: args.paths.log_dir,
        run_dir: args.paths.run_dir,
    };
    match server::run(options) {
        Ok(()) => ExitCode::SUCCESS,
        Err(ServeError::InvalidConfig) => ExitCode::from(1),
        Err(err) => {
            eprintln!("switchyard serve: {err}");
            ExitCode::from(2)
        }
    }
}
