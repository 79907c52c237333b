//! The data plane: listener, per-request service, upstream client, error mapping.
//!
//! A request flows listener → connection (client timeouts, hyper) → service
//! (checks, rules) → forward (upstream, hop-by-hop) → body (streaming, access log).

pub(crate) mod accept_backoff;
pub(crate) mod body;
pub mod client_io;
pub(crate) mod connection;
pub(crate) mod data_plane;
pub mod drain;
pub(crate) mod error;
pub(crate) mod forward;
pub mod framing;
pub(crate) mod hop_by_hop;
pub mod listener;
pub(crate) mod pool;
pub(crate) mod service;
pub mod upstream;

pub use data_plane::DataPlane;
