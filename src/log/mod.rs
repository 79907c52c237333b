//! The server's two logs: the access log (one line per request, written by
//! its own thread) and the error log (`tracing`), with rotation. A leaf
//! below `proxy` and `ops`: the data plane writes lines here, and the
//! start-up wiring opens, reopens and rotates the files.

pub mod access_log;
pub mod access_record;
pub mod error_log;
pub mod log_time;
pub mod rotation;
