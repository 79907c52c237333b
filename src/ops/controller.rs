//! The running server's side of operations: reload, reopen logs, change the
//! log level, report status — reached from signals and the control socket.

use std::path::PathBuf;
use std::sync::Arc;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::UnixListener;
use tokio::sync::Mutex;

use super::control_protocol::{AccessLogBacklog, ControlReply, ControlRequest};
use crate::config;
use crate::log::error_log::{ErrorLog, Level};
use crate::proxy::DataPlane;
use crate::proxy::accept_backoff::AcceptBackoff;
use crate::rules::ServedRules;

/// The longest request line accepted on the control socket.
const MAX_REQUEST: u64 = 4096;

/// Carries out operations on the running server.
#[derive(Debug)]
pub(crate) struct Controller {
    plane: Arc<DataPlane>,
    config_dir: PathBuf,
    error_log: ErrorLog,
    listen: Vec<String>,
    reloading: Mutex<()>,
}

impl Controller {
    /// A controller for the server's data plane.
    pub(crate) fn new(
        plane: Arc<DataPlane>,
        config_dir: PathBuf,
        error_log: ErrorLog,
        listen: Vec<String>,
    ) -> Self {
        Controller {
            plane,
            config_dir,
            error_log,
            listen,
            reloading: Mutex::new(()),
        }
    }

    /// Carries out one request.
    pub(crate) async fn handle(&self, request: ControlRequest) -> ControlReply {
        match request {
            ControlRequest::Reload => self.reload().await,
            ControlRequest::ReopenLogs => self.reopen_logs().await,
            ControlRequest::LogLevel { level } => match level.parse::<Level>() {
                Ok(parsed) => match self.error_log.set_level(parsed) {
                    Ok(()) => {
                        tracing::info!("error-log level is now {level}");
                        ControlReply::done()
                    }
                    Err(err) => ControlReply::failed(format!("cannot change the level: {err}")),
                },
                Err(err) => ControlReply::failed(err.to_string()),
            },
            ControlRequest::Status => {
                let rules = self.plane.rules();
                let backlog = self.plane.access_log.backlog();
                ControlReply {
                    access_log: Some(AccessLogBacklog {
                        pending_bytes: backlog.pending_bytes,
                        lines_behind: backlog.lines_behind,
                        times_behind: backlog.times_behind,
                    }),
                    generation: Some(self.plane.generation()),
                    source_hash: Some(rules.source_hash.clone()),
                    listen: self.listen.clone(),
                    pid: Some(std::process::id()),
                    ..ControlReply::done()
                }
            }
        }
    }

    /// Re-reads the config directory; a valid result is swapped in whole, an
    /// invalid one changes nothing and its diagnostics go to the error log.
    pub(crate) async fn reload(&self) -> ControlReply {
        let _one_at_a_time = self.reloading.lock().await;
        let dir = self.config_dir.clone();
        // Compiling 1,000 regexes takes tens of milliseconds of CPU; at the
        // lowest priority it yields the core to requests.
        let loaded =
            match super::background::run("switchyard-compile", move || load_ready(&dir)).await {
                Ok(loaded) => loaded,
                Err(err) => return ControlReply::failed(format!("reload task failed: {err}")),
            };
        match loaded {
            Ok(served) => {
                let hash = served.source_hash.clone();
                let rules = served.rules.len();
                let (generation, replaced) = self.plane.swap(served);
                // Freeing 1,000 compiled regexes takes milliseconds: do it
                // off the serving threads too (requests still holding the
                // old set free it themselves when they end last).
                super::background::retire("switchyard-retire", replaced);
                tracing::info!(generation, %hash, rules, "reloaded the configuration");
                ControlReply {
                    generation: Some(generation),
                    source_hash: Some(hash),
                    ..ControlReply::done()
                }
            }
            Err(err) => {
                let text = err.to_string();
                tracing::error!(
                    "reload rejected; still serving generation {}",
                    self.plane.generation()
                );
                crate::log::error_log::each_line(&text);
                ControlReply {
                    generation: Some(self.plane.generation()),
                    ..ControlReply::failed(text)
                }
            }
        }
    }

    /// Reopens both log files by name, the access log between two lines.
    pub(crate) async fn reopen_logs(&self) -> ControlReply {
        let access_log = self.plane.access_log.clone();
        let error_log = self.error_log.clone();
        let result = tokio::task::spawn_blocking(move || {
            access_log.reopen_blocking()?;
            error_log.reopen()
        })
        .await;
        match result {
            Ok(Ok(())) => {
                tracing::info!("reopened the log files");
                ControlReply::done()
            }
            Ok(Err(err)) => {
                tracing::error!("cannot reopen the log files: {err}");
                ControlReply::failed(format!("cannot reopen the log files: {err}"))
            }
            Err(err) => ControlReply::failed(format!("reopen task failed: {err}")),
        }
    }

    /// Serves the control socket until the task is dropped.
    pub(crate) async fn serve_socket(self: Arc<Self>, listener: UnixListener) {
        let mut backoff = AcceptBackoff::default();
        loop {
            match listener.accept().await {
                Ok((stream, _)) => {
                    backoff.after_accept("control socket");
                    let controller = self.clone();
                    tokio::spawn(async move {
                        if let Err(err) = controller.answer(stream).await {
                            tracing::debug!("control connection failed: {err}");
                        }
                    });
                }
                Err(err) => {
                    backoff.after_error(&err, "control socket").await;
                }
            }
        }
    }

    async fn answer(&self, stream: tokio::net::UnixStream) -> std::io::Result<()> {
        let (read, mut write) = stream.into_split();
        let mut line = String::new();
        BufReader::new(read.take(MAX_REQUEST))
            .read_line(&mut line)
            .await?;
        let reply = match serde_json::from_str::<ControlRequest>(line.trim()) {
            Ok(request) => self.handle(request).await,
            Err(err) => ControlReply::failed(format!("bad control request: {err}")),
        };
        let mut text = serde_json::to_string(&reply).map_err(std::io::Error::other)?;
        text.push('\n');
        write.write_all(text.as_bytes()).await?;
        write.shutdown().await
    }
}

/// Loads and compiles the config and builds its rule index before it is
/// served, so neither the first request after start-up nor the first after a
/// reload pays for building it (tens of milliseconds for 1,000 rules).
pub(crate) fn load_ready(dir: &std::path::Path) -> Result<ServedRules, config::LoadError> {
    Ok(config::load_dir(dir)?.rule_set.prepare())
}
