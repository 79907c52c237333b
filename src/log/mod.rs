//! The server's two logs: the access log (one line per request, written by
//! its own thread) and the error log (`tracing`), with rotation. A leaf
//! below `proxy` and `ops`: the data plane writes lines here, and the
//! start-up wiring opens, reopens and rotates the files.

pub mod access_log;
pub(crate) mod access_record;
pub(crate) mod error_log;
pub(crate) mod log_time;
pub(crate) mod rotation;
