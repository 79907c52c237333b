//! The command line: one subcommand per platform hook or person's task, each in
//! its own file; this file only declares them and dispatches.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};

pub(crate) mod check;
pub(crate) mod demo;
pub(crate) mod explain;
pub(crate) mod message;
pub(crate) mod reload;
pub(crate) mod rotate_logs;
pub(crate) mod serve;
pub(crate) mod test;
pub(crate) mod validate;

/// The platform's default config directory.
pub(crate) const DEFAULT_CONFIG_DIR: &str = "/opt/proxy_config";
/// The platform's default log directory.
pub(crate) const DEFAULT_LOG_DIR: &str = "/var/log/switchyard";
/// The platform's default run directory (pid file, control socket).
pub(crate) const DEFAULT_RUN_DIR: &str = "/run/switchyard";

/// switchyard: a reverse proxy for one link of an edge platform's chain.
#[derive(Debug, Parser)]
#[command(name = "switchyard", version, about, long_about = None)]
pub(crate) struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub(crate) command: Command,
}

/// Every command of contract §5, plus `demo`.
#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Run the server: listen on port 80, forward to next-hop:80.
    Serve(serve::ServeArgs),
    /// Check a config directory for the git pre-receive hook: silent when valid, exit 1 with diagnostics when not.
    Validate(validate::ValidateArgs),
    /// Check a config directory for people: diagnostics, warnings and a summary.
    Check(check::CheckArgs),
    /// Show which rules fire for one request and what the proxy would do.
    Explain(explain::ExplainArgs),
    /// Run the config's *.test files: a line a test, failures in detail, a summary.
    Test(test::TestArgs),
    /// Make the running server load the current config (update.sh).
    Reload(reload::ReloadArgs),
    /// Rotate access.log and error.log and make the server reopen them (logrotate.sh).
    RotateLogs(rotate_logs::RotateLogsArgs),
    /// Handle a platform message: reload, reopen-logs, log-level LEVEL (messagehandler.sh).
    Message(message::MessageArgs),
    /// Run the proxy in front of a built-in echo origin with an example proxy.conf.
    Demo(demo::DemoArgs),
}

/// Where the config lives (positional, as the contract's `[DIR]`).
#[derive(Debug, Clone, Args)]
pub(crate) struct ConfigDirArg {
    /// The config directory holding proxy.conf.
    #[arg(value_name = "DIR", env = "SWITCHYARD_CONFIG_DIR", default_value = DEFAULT_CONFIG_DIR)]
    pub(crate) dir: PathBuf,
}

/// The directories a running server and the commands that talk to it share.
#[derive(Debug, Clone, Args)]
pub(crate) struct ServerPaths {
    /// The config directory holding proxy.conf.
    #[arg(long, value_name = "DIR", env = "SWITCHYARD_CONFIG_DIR", default_value = DEFAULT_CONFIG_DIR)]
    pub(crate) config_dir: PathBuf,
    /// Where access.log and error.log are written.
    #[arg(long, value_name = "DIR", env = "SWITCHYARD_LOG_DIR", default_value = DEFAULT_LOG_DIR)]
    pub(crate) log_dir: PathBuf,
    /// Where the pid file and control socket live.
    #[arg(long, value_name = "DIR", env = "SWITCHYARD_RUN_DIR", default_value = DEFAULT_RUN_DIR)]
    pub(crate) run_dir: PathBuf,
}

/// Parses the command line and runs the command.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Serve(args) => serve::run(args),
        Command::Validate(args) => validate::run(args),
        Command::Check(args) => check::run(args),
        Command::Explain(args) => explain::run(args),
        Command::Test(args) => test::run(args),
        Command::Reload(args) => reload::run(args),
        Command::RotateLogs(args) => rotate_logs::run(args),
        Command::Message(args) => message::run(args),
        Command::Demo(args) => demo::run(args),
    }
}
