//! The data plane: listener, per-request service, upstream client, error mapping.
//!
//! A request flows listener → connection (client timeouts, hyper) → service
//! (checks, rules) → forward (upstream, hop-by-hop) → body (streaming, access log).

pub mod accept_backoff;
pub mod authority;
pub mod body;
pub mod chunked;
pub mod client_io;
pub mod client_timers;
pub mod conn_state;
pub mod connection;
pub mod data_plane;
pub mod drain;
pub(crate) mod error;
pub mod forward;
pub mod framing;
pub mod held_bytes;
pub mod hop_by_hop;
pub mod listener;
pub mod next_hop;
pub mod next_hop_body;
pub mod next_hop_error;
pub mod parking;
pub mod pool;
pub mod refusal_writer;
pub mod rejection;
pub mod request_head;
pub mod request_line;
pub mod response_body;
pub mod response_head;
pub mod response_phase;
pub mod service;
pub mod upstream;

pub use data_plane::DataPlane;
