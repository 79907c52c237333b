//! The server's life: directories and logs, the first rule set, listeners,
//! control socket, signals, and the graceful drain at the end.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use futures_util::StreamExt;
use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM, SIGUSR1};
use signal_hook_tokio::Signals;
use tokio::sync::watch;

use super::controller::Controller;
use super::run_dir::RunDir;
use crate::log::access_log::AccessLog;
use crate::log::error_log::ErrorLog;
use crate::proxy::DataPlane;
use crate::proxy::drain::Drain;
use crate::proxy::listener::{self, ListenSpec};
use crate::proxy::upstream::Upstream;

/// Everything `serve` needs to know (from flags and environment).
#[derive(Debug, Clone)]
pub(crate) struct ServerOptions {
    /// Where to listen.
    pub(crate) listen: ListenSpec,
    /// The next hop, `host:port`.
    pub(crate) upstream: String,
    /// The config directory.
    pub(crate) config_dir: PathBuf,
    /// Where access.log and error.log go.
    pub(crate) log_dir: PathBuf,
    /// Where the pid file and control socket go.
    pub(crate) run_dir: PathBuf,
}

/// Why the server stopped with a failure.
#[derive(Debug)]
pub(crate) enum ServeError {
    /// The configuration at start-up is invalid (exit 1).
    InvalidConfig,
    /// An I/O fault at start-up: directories, logs, sockets (exit 2).
    Startup(String),
}

impl std::fmt::Display for ServeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ServeError::InvalidConfig => f.write_str("the configuration is invalid"),
            ServeError::Startup(reason) => f.write_str(reason),
        }
    }
}

impl std::error::Error for ServeError {}

/// Runs the server until SIGTERM or SIGINT, then drains and returns.
pub(crate) fn run(options: ServerOptions) -> Result<(), ServeError> {
    let startup =
        |what: &str, err: &dyn std::fmt::Display| ServeError::Startup(format!("{what}: {err}"));
    std::fs::create_dir_all(&options.log_dir)
        .map_err(|e| startup(&options.log_dir.display().to_string(), &e))?;
    let error_log = ErrorLog::install(&options.log_dir.join("error.log"))
        .map_err(|e| startup("cannot open error.log", &e))?;
    let served = match super::controller::load_ready(&options.config_dir) {
        Ok(served) => served,
        Err(err) => {
            tracing::error!(
                "cannot start: the configuration in {} is invalid",
                options.config_dir.display()
            );
            crate::log::error_log::each_line(&err.to_string());
            return Err(ServeError::InvalidConfig);
        }
    };
    let access_log = AccessLog::open(&options.log_dir.join("access.log"))
        .map_err(|e| startup("cannot open access.log", &e))?;
    let runtime = runtime().map_err(|e| startup("cannot start the runtime", &e))?;
    let result = runtime.block_on(serve(options, served, access_log.clone(), error_log));
    if let Err(err) = access_log.flush_blocking() {
        eprintln!("switchyard: cannot flush the access log: {err}");
    }
    // Connections cut at the end of the grace period must not hold up exit.
    runtime.shutdown_background();
    result
}

/// The runtime: one worker per CPU the process may use. With a single CPU
/// (a container limited to one core, or a process pinned to one) the
/// current-thread scheduler does the same work without the multi-thread
/// scheduler's cross-thread wake-ups and queues.
fn runtime() -> std::io::Result<tokio::runtime::Runtime> {
    let cpus = std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get);
    let mut builder = if cpus == 1 {
        tokio::runtime::Builder::new_current_thread()
    } else {
        tokio::runtime::Builder::new_multi_thread()
    };
    builder.enable_all().build()
}

async fn serve(
    options: ServerOptions,
    rules: crate::rules::ServedRules,
    access_log: AccessLog,
    error_log: ErrorLog,
) -> Result<(), ServeError> {
    let listeners =
        listener::bind(&options.listen).map_err(|e| ServeError::Startup(e.to_string()))?;
    let addresses: Vec<String> = listeners
        .iter()
        .filter_map(|l| l.local_addr().ok())
        .map(|a: SocketAddr| a.to_string())
        .collect();
    let upstream = Upstream::new(&options.upstream, &rules.settings);
    let hash = rules.source_hash.clone();
    let plane = Arc::new(DataPlane::new(rules, upstream, access_log));
    let (run_dir, control_socket) =
        RunDir::claim(&options.run_dir).map_err(|e| ServeError::Startup(e.to_string()))?;
    let mut signals = Signals::new([SIGTERM, SIGINT, SIGUSR1, SIGHUP])
        .map_err(|e| ServeError::Startup(format!("cannot install signal handlers: {e}")))?;
    let controller = Arc::new(Controller::new(
        plane.clone(),
        options.config_dir.clone(),
        error_log,
        addresses.clone(),
    ));
    let control_task = tokio::spawn(controller.clone().serve_socket(control_socket));
    let (shutdown_tx, shutdown_rx) = watch::channel(false);
    let drain = Drain::new();
    for listener in listeners {
        tokio::spawn(listener::accept_loop(
            listener,
            plane.clone(),
            shutdown_rx.clone(),
            drain.token(),
        ));
    }
    tracing::info!(
        listen = %addresses.join(","),
        upstream = %options.upstream,
        %hash,
        pid = std::process::id(),
        "serving"
    );
    while let Some(signal) = signals.next().await {
        match signal {
            SIGHUP => {
                let _ = controller.reload().await;
            }
            SIGUSR1 => {
                let _ = controller.reopen_logs().await;
            }
            _ => {
                tracing::info!(signal, "shutting down");
                break;
            }
        }
    }
    let _ = shutdown_tx.send(true);
    let grace = plane.rules().settings.shutdown_grace;
    if drain.wait(grace).await {
        tracing::info!("all connections finished; exiting");
    } else {
        tracing::warn!(
            grace_ms = grace.as_millis() as u64,
            "connections still open after the grace period; exiting"
        );
    }
    control_task.abort();
    drop(run_dir);
    Ok(())
}
