//! Running-server operations: start-up wiring, reload, signals, control of a
//! running server. It sits above `proxy` and `log` and wires them together.

pub mod background;
pub mod control_client;
pub mod control_protocol;
pub mod controller;
pub mod run_dir;
pub mod server;
