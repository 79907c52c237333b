//! The typed settings of `proxy.conf` §10: one place for the platform's defaults,
//! so the server, the compiler and the docs agree on them.

use std::time::Duration;

/// Which format the access log is written in, or none at all.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AccessLogFormat {
    /// One JSON object per line (the default).
    #[default]
    Json,
    /// Labelled tab-separated values, `label:value` pairs.
    Ltsv,
    /// No access log lines are written.
    Off,
}

/// The settings block, with every value typed and within its range.
///
/// `Default` gives the values of the spec, used when `proxy.conf` is absent or
/// says nothing about a setting.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// Access log format.
    pub access_log: AccessLogFormat,
    /// How long a new connection to the next hop may take.
    pub upstream_connect_timeout: Duration,
    /// How long the next hop may take to send its response head.
    pub upstream_response_timeout: Duration,
    /// How long a client may take to send a complete header section.
    pub client_header_timeout: Duration,
    /// How long an idle client connection is kept open.
    pub keepalive_timeout: Duration,
    /// The largest request header section accepted (request line included).
    pub max_request_header_bytes: usize,
    /// How long requests in flight may run on after SIGTERM.
    pub shutdown_grace: Duration,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            access_log: AccessLogFormat::Json,
            upstream_connect_timeout: Duration::from_secs(5),
            upstream_response_timeout: Duration::from_secs(60),
            client_header_timeout: Duration::from_secs(10),
            keepalive_timeout: Duration::from_secs(75),
            max_request_header_bytes: 32 * 1024,
            shutdown_grace: Duration::from_secs(30),
        }
    }
}
