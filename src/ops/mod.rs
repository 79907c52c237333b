//! Running-server operations: start-up wiring, reload, signals, control of a
//! running server. It sits above `proxy` and `log` and wires them together.

pub(crate) mod background;
pub mod control_client;
pub mod control_protocol;
pub(crate) mod controller;
pub(crate) mod run_dir;
pub(crate) mod server;
