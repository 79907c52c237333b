//! The run directory of a server: its pid file and control socket, created at
//! start-up (a stale socket of a killed server is replaced) and removed at exit.

use std::io;
use std::path::{Path, PathBuf};

use tokio::net::UnixListener;

use super::control_protocol::{PID_NAME, SOCKET_NAME};

/// Why the run directory could not be claimed.
#[derive(Debug)]
pub(crate) enum RunDirError {
    /// Another server answers on the control socket.
    AlreadyRunning(PathBuf),
    /// A file-system fault.
    Io(PathBuf, io::Error),
}

impl std::fmt::Display for RunDirError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RunDirError::AlreadyRunning(path) => {
                write!(
                    f,
                    "another server is running (it answers on {})",
                    path.display()
                )
            }
            RunDirError::Io(path, err) => write!(f, "{}: {err}", path.display()),
        }
    }
}

impl std::error::Error for RunDirError {}

/// The claimed run directory; dropping it removes the pid file and socket.
#[derive(Debug)]
pub(crate) struct RunDir {
    pid: PathBuf,
    socket: PathBuf,
}

impl RunDir {
    /// Creates `dir`, writes the pid file and binds the control socket (call
    /// inside the runtime).
    pub(crate) fn claim(dir: &Path) -> Result<(RunDir, UnixListener), RunDirError> {
        let io_err = |path: &Path| {
            let path = path.to_owned();
            move |err| RunDirError::Io(path, err)
        };
        std::fs::create_dir_all(dir).map_err(io_err(dir))?;
        let socket = dir.join(SOCKET_NAME);
        if std::os::unix::net::UnixStream::connect(&socket).is_ok() {
            return Err(RunDirError::AlreadyRunning(socket));
        }
        match std::fs::remove_file(&socket) {
            Ok(()) => {}
            Err(err) if err.kind() == io::ErrorKind::NotFound => {}
            Err(err) => return Err(RunDirError::Io(socket, err)),
        }
        let listener = UnixListener::bind(&socket).map_err(io_err(&socket))?;
        let pid = dir.join(PID_NAME);
        std::fs::write(&pid, format!("{}\n", std::process::id())).map_err(io_err(&pid))?;
        Ok((RunDir { pid, socket }, listener))
    }
}

impl Drop for RunDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.socket);
        let _ = std::fs::remove_file(&self.pid);
    }
}
