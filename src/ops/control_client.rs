//! The commands' side of the control socket: send one request to the running
//! server, wait for its reply, and tell "no server running" apart from faults.

use std::io::{self, BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::time::Duration;

use super::control_protocol::{ControlReply, ControlRequest, SOCKET_NAME};

/// Why a request could not get a reply.
#[derive(Debug)]
pub enum ControlError {
    /// No socket, or nobody listening on it (a stale socket of a killed server).
    NoServer,
    /// Connecting, writing or reading failed.
    Io(io::Error),
    /// The server did not answer within the time allowed.
    TimedOut,
    /// The reply was not the protocol's JSON.
    BadReply(String),
}

impl std::fmt::Display for ControlError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ControlError::NoServer => f.write_str("no server is running"),
            ControlError::Io(err) => write!(f, "cannot talk to the server: {err}"),
            ControlError::TimedOut => f.write_str("the server did not answer in time"),
            ControlError::BadReply(text) => {
                write!(f, "the server's reply is not understood: {text}")
            }
        }
    }
}

impl std::error::Error for ControlError {}

/// Sends `request` to the server whose run directory is `run_dir` and waits
/// at most `timeout` for its reply.
pub fn send(
    run_dir: &Path,
    request: &ControlRequest,
    timeout: Duration,
) -> Result<ControlReply, ControlError> {
    let path = run_dir.join(SOCKET_NAME);
    let mut stream = match UnixStream::connect(&path) {
        Ok(stream) => stream,
        Err(err)
            if matches!(
                err.kind(),
                io::ErrorKind::NotFound | io::ErrorKind::ConnectionRefused
            ) =>
        {
            return Err(ControlError::NoServer);
        }
        Err(err) => return Err(ControlError::Io(err)),
    };
    stream
        .set_read_timeout(Some(timeout))
        .map_err(ControlError::Io)?;
    stream
        .set_write_timeout(Some(timeout))
        .map_err(ControlError::Io)?;
    let mut line =
        serde_json::to_string(request).map_err(|err| ControlError::BadReply(err.to_string()))?;
    line.push('\n');
    stream
        .write_all(line.as_bytes())
        .map_err(ControlError::Io)?;
    let mut reply = String::new();
    match BufReader::new(stream).read_line(&mut reply) {
        Ok(_) => {}
        Err(err)
            if matches!(
                err.kind(),
                io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
            ) =>
        {
            return Err(ControlError::TimedOut);
        }
        Err(err) => return Err(ControlError::Io(err)),
    }
    serde_json::from_str(reply.trim()).map_err(|_| ControlError::BadReply(reply.trim().to_owned()))
}
