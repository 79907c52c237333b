//! Running-server operations: logs, signals, reload, control of a running server.

pub mod access_log;
pub mod access_record;
pub mod background;
pub mod control_client;
pub mod control_protocol;
pub mod controller;
pub mod error_log;
pub mod log_time;
pub mod rotation;
pub mod run_dir;
pub mod server;
