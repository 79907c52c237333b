//! The control socket's protocol: one JSON request line from a command, one
//! JSON reply line from the server, then the connection closes.

use serde::{Deserialize, Serialize};

/// The name of the control socket inside the run directory.
pub(crate) const SOCKET_NAME: &str = "control.sock";
/// The name of the pid file inside the run directory.
pub(crate) const PID_NAME: &str = "switchyard.pid";

/// What a command asks the running server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "command", rename_all = "kebab-case")]
pub enum ControlRequest {
    /// Reopen access.log and error.log by name.
    ReopenLogs,
    /// Re-read and recompile the config directory, swap it in when valid.
    Reload,
    /// Change the error-log level.
    LogLevel {
        /// error, warn, info, debug or trace.
        level: String,
    },
    /// Say what is being served.
    Status,
}

/// The server's answer.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ControlReply {
    /// Whether the request was carried out.
    pub(crate) ok: bool,
    /// Why not (for a rejected reload: the rendered diagnostics).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) error: Option<String>,
    /// The generation of the rule set now served.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub generation: Option<u64>,
    /// `RuleSet::source_hash` of the rule set now served.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_hash: Option<String>,
    /// The addresses the server listens on (status only).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub listen: Vec<String>,
    /// The server's process id (status only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pid: Option<u32>,
    /// How far the access-log writer is behind (status only): a slow disk
    /// shows here before memory does.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access_log: Option<AccessLogBacklog>,
}

/// The access log's backlog as the `status` reply carries it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessLogBacklog {
    /// Bytes of lines waiting for the writer now.
    pub(crate) pending_bytes: u64,
    /// Lines recorded while the writer was more than 4 MiB behind, since start.
    pub lines_behind: u64,
    /// How many times the writer fell that far behind, since start.
    pub times_behind: u64,
}

impl ControlReply {
    /// A success with nothing more to say.
    pub(crate) fn done() -> Self {
        ControlReply {
            ok: true,
            ..ControlReply::default()
        }
    }

    /// A failure with its reason.
    pub(crate) fn failed(reason: impl Into<String>) -> Self {
        ControlReply {
            ok: false,
            error: Some(reason.into()),
            ..ControlReply::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_format() {
        let request = ControlRequest::LogLevel {
            level: "debug".into(),
        };
        let line = serde_json::to_string(&request).expect("json");
        assert_eq!(line, r#"{"command":"log-level","level":"debug"}"#);
        assert_eq!(
            serde_json::from_str::<ControlRequest>(r#"{"command":"reopen-logs"}"#).expect("parse"),
            ControlRequest::ReopenLogs
        );
        assert_eq!(
            serde_json::to_string(&ControlReply::done()).expect("json"),
            r#"{"ok":true}"#
        );
    }
}
