//! The error log: diagnostics through `tracing` to `error.log` (reopenable for
//! rotation) and, one line each, to stderr; its level can change at run time.

use std::fs::File;
use std::io::{self, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::{Arc, Mutex, MutexGuard};

use tracing_subscriber::filter::LevelFilter;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{Registry, reload};

use super::access_log::open_append;

/// The running server's error log: reopen it, change its level.
#[derive(Clone)]
pub(crate) struct ErrorLog {
    file: ReopenableFile,
    level: Option<reload::Handle<LevelFilter, Registry>>,
}

impl std::fmt::Debug for ErrorLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ErrorLog")
            .field("path", &self.file.path)
            .finish()
    }
}

/// A log level name the `log-level` message accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Level(pub LevelFilter);

/// A level name that is not one of error, warn, info, debug, trace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownLevel(pub String);

impl std::fmt::Display for UnknownLevel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "unknown log level `{}` (expected error, warn, info, debug or trace)",
            self.0
        )
    }
}

impl std::error::Error for UnknownLevel {}

impl FromStr for Level {
    type Err = UnknownLevel;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text {
            "error" => Ok(Level(LevelFilter::ERROR)),
            "warn" => Ok(Level(LevelFilter::WARN)),
            "info" => Ok(Level(LevelFilter::INFO)),
            "debug" => Ok(Level(LevelFilter::DEBUG)),
            "trace" => Ok(Level(LevelFilter::TRACE)),
            other => Err(UnknownLevel(other.to_owned())),
        }
    }
}

impl ErrorLog {
    /// Opens `path` and installs the process-wide subscriber (level `info`).
    /// When a subscriber is already installed (tests running several servers
    /// in one process) the file is kept but events go to the first one.
    pub(crate) fn install(path: &Path) -> io::Result<ErrorLog> {
        let file = ReopenableFile::open(path)?;
        let (level_layer, handle) = reload::Layer::new(LevelFilter::INFO);
        let stderr_layer = tracing_subscriber::fmt::layer()
            .with_writer(io::stderr)
            .with_ansi(io::stderr().is_terminal())
            .with_target(false);
        let file_layer = tracing_subscriber::fmt::layer()
            .with_writer(file.clone())
            .with_ansi(false)
            .with_target(false);
        let installed = tracing_subscriber::registry()
            .with(level_layer)
            .with(stderr_layer)
            .with(file_layer)
            .try_init()
            .is_ok();
        Ok(ErrorLog {
            file,
            level: installed.then_some(handle),
        })
    }

    /// Reopens `error.log` by name (after rotation renamed it).
    pub(crate) fn reopen(&self) -> io::Result<()> {
        self.file.reopen()
    }

    /// Changes the level of both outputs.
    pub(crate) fn set_level(&self, level: Level) -> Result<(), reload::Error> {
        match &self.level {
            Some(handle) => handle.reload(level.0),
            None => Ok(()),
        }
    }
}

/// Logs multi-line text (rendered diagnostics) as one error event per line,
/// so every line of the error log and of stderr stands alone and carets stay
/// aligned under the same prefix.
pub(crate) fn each_line(text: &str) {
    for line in text.lines() {
        tracing::error!("{line}");
    }
}

/// `error.log` behind a mutex so an event is written whole and the file can
/// be swapped by name at any point between two events.
#[derive(Clone)]
struct ReopenableFile {
    path: PathBuf,
    file: Arc<Mutex<File>>,
}

impl ReopenableFile {
    fn open(path: &Path) -> io::Result<Self> {
        Ok(ReopenableFile {
            path: path.to_owned(),
            file: Arc::new(Mutex::new(open_append(path)?)),
        })
    }

    fn reopen(&self) -> io::Result<()> {
        let fresh = open_append(&self.path)?;
        let mut guard = self
            .file
            .lock()
            .unwrap_or_else(|poison| poison.into_inner());
        *guard = fresh;
        Ok(())
    }
}

/// The writer of one event: holds the lock for the event's single `write_all`.
struct EventWriter<'a>(MutexGuard<'a, File>);

impl Write for EventWriter<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.write(buf)
    }

    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        self.0.write_all(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.0.flush()
    }
}

impl<'a> MakeWriter<'a> for ReopenableFile {
    type Writer = EventWriter<'a>;

    fn make_writer(&'a self) -> Self::Writer {
        EventWriter(
            self.file
                .lock()
                .unwrap_or_else(|poison| poison.into_inner()),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn level_names() {
        assert_eq!("debug".parse::<Level>(), Ok(Level(LevelFilter::DEBUG)));
        assert_eq!(
            "loud".parse::<Level>().map_err(|e| e.to_string()),
            Err("unknown log level `loud` (expected error, warn, info, debug or trace)".into())
        );
        assert!("INFO".parse::<Level>().is_err());
    }

    #[test]
    fn reopen_follows_the_name() {
        let dir = std::env::temp_dir().join(format!("switchyard-el-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("dir");
        let path = dir.join("error.log");
        let file = ReopenableFile::open(&path).expect("open");
        file.make_writer().write_all(b"one\n").expect("write");
        std::fs::rename(&path, dir.join("error.log.1")).expect("rename");
        file.reopen().expect("reopen");
        file.make_writer().write_all(b"two\n").expect("write");
        assert_eq!(
            std::fs::read_to_string(dir.join("error.log.1")).expect("old"),
            "one\n"
        );
        assert_eq!(std::fs::read_to_string(&path).expect("new"), "two\n");
    }
}
