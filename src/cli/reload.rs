//! `switchyard reload` (update.sh): validate the config directory, then make
//! the running server serve it and confirm that it does.

use std::path::Path;
use std::process::ExitCode;
use std::time::Duration;

use clap::Args;

use super::ServerPaths;
use crate::config::{self, LoadError};
use crate::ops::background;
use crate::ops::control_client::{self, ControlError};
use crate::ops::control_protocol::ControlRequest;

/// How long the server may take to confirm the swap (contract §4).
const CONFIRM_TIMEOUT: Duration = Duration::from_secs(10);

/// Arguments of `switchyard reload`.
#[derive(Debug, Args)]
pub(crate) struct ReloadArgs {
    /// Directories.
    #[command(flatten)]
    pub(crate) paths: ServerPaths,
}

pub(crate) fn run(args: ReloadArgs) -> ExitCode {
    reload(&args.paths.config_dir, &args.paths.run_dir, "reload")
}

/// Validates `config_dir`; with no server exits 0; else asks the server to
/// reload and exits 0 only when it confirms serving exactly what was validated.
pub(crate) fn reload(config_dir: &Path, run_dir: &Path, command: &str) -> ExitCode {
    // The check below compiles the whole config on the CPUs the server
    // serves from: it waits for them rather than making requests wait.
    background::lower_own_priority();
    let expected = match config::load_dir(config_dir) {
        Ok(compiled) => compiled.rule_set.source_hash,
        Err(LoadError::Invalid(invalid)) => {
            eprintln!("{}", invalid.render(config::stderr_wants_color()));
            return ExitCode::from(1);
        }
        Err(err @ LoadError::Io { .. }) => {
            eprintln!("switchyard {command}: {err}");
            return ExitCode::from(2);
        }
    };
    let reply = match control_client::send(run_dir, &ControlRequest::Reload, CONFIRM_TIMEOUT) {
        Ok(reply) => reply,
        Err(ControlError::NoServer) => return ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("switchyard {command}: {err}");
            return ExitCode::from(1);
        }
    };
    if !reply.ok {
        eprintln!(
            "switchyard {command}: the server rejected the configuration:\n{}",
            reply.error.unwrap_or_default()
        );
        return ExitCode::from(1);
    }
    match reply.source_hash {
        Some(hash) if hash == expected => ExitCode::SUCCESS,
        Some(hash) => {
            eprintln!(
                "switchyard {command}: the server now serves configuration {hash}, not the validated {expected} \
                 (the files changed meanwhile?)"
            );
            ExitCode::from(1)
        }
        None => {
            eprintln!("switchyard {command}: the server did not say what it serves");
            ExitCode::from(1)
        }
    }
}
