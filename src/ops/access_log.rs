//! The access-log writer: one OS thread owns the `O_APPEND` file and writes
//! only whole lines, in batches, so no line is ever split or lost, and reopens
//! the file by name between two lines when asked (log rotation).

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, Receiver, SyncSender, TryRecvError};
use std::thread;
use std::time::Duration;

use super::access_record::AccessRecord;
use crate::rules::AccessLogFormat;

/// How many records may wait for the writer before senders block (back
/// pressure instead of unbounded memory or dropped lines).
const QUEUE_DEPTH: usize = 16 * 1024;
/// How long the busy writer sleeps between two drains of the queue: the
/// longest a line waits in memory under load.
const TICK: Duration = Duration::from_millis(2);
/// Write a batch out once it grows past this many bytes.
const BATCH_BYTES: usize = 64 * 1024;

/// The sending side of the access log; cheap to clone, one per request path.
#[derive(Debug, Clone)]
pub struct AccessLog {
    tx: SyncSender<Message>,
}

#[derive(Debug)]
enum Message {
    Record(Box<AccessRecord>, AccessLogFormat),
    Reopen(mpsc::Sender<io::Result<()>>),
    Flush(mpsc::Sender<io::Result<()>>),
}

impl AccessLog {
    /// Opens (creating) `path` for appending and starts the writer thread.
    pub fn open(path: &Path) -> io::Result<AccessLog> {
        let file = open_append(path)?;
        let (tx, rx) = mpsc::sync_channel(QUEUE_DEPTH);
        let writer = Writer {
            path: path.to_owned(),
            file,
            batch: Vec::with_capacity(BATCH_BYTES),
        };
        thread::Builder::new()
            .name("access-log".into())
            .spawn(move || writer.run(rx))?;
        Ok(AccessLog { tx })
    }

    /// Queues one record, written in `format` (nothing for `Off`).
    pub fn record(&self, record: AccessRecord, format: AccessLogFormat) {
        if format == AccessLogFormat::Off {
            return;
        }
        if self
            .tx
            .send(Message::Record(Box::new(record), format))
            .is_err()
        {
            tracing::error!("access log writer is gone; a line was dropped");
        }
    }

    /// Writes everything queued so far, then reopens the file by name; returns
    /// once done (blocking: call from a blocking context).
    pub fn reopen_blocking(&self) -> io::Result<()> {
        self.round_trip(Message::Reopen)
    }

    /// Writes everything queued so far; returns once it is on disk's page cache.
    pub fn flush_blocking(&self) -> io::Result<()> {
        self.round_trip(Message::Flush)
    }

    fn round_trip(&self, make: fn(mpsc::Sender<io::Result<()>>) -> Message) -> io::Result<()> {
        let (ack_tx, ack_rx) = mpsc::channel();
        self.tx
            .send(make(ack_tx))
            .map_err(|_| io::Error::other("access log writer is gone"))?;
        ack_rx
            .recv()
            .map_err(|_| io::Error::other("access log writer is gone"))?
    }
}

struct Writer {
    path: PathBuf,
    file: File,
    batch: Vec<u8>,
}

impl Writer {
    /// Blocks only while the log is idle. Under load it wakes on its own
    /// every `TICK` and drains the queue, so senders never have to wake it:
    /// a wake-up per request (a futex call and a context switch on the
    /// proxy's core) cost more than the rest of the log line.
    fn run(mut self, rx: Receiver<Message>) {
        'idle: while let Ok(first) = rx.recv() {
            self.handle(first);
            loop {
                thread::sleep(TICK);
                let mut drained = 0usize;
                loop {
                    match rx.try_recv() {
                        Ok(next) => {
                            self.handle(next);
                            drained += 1;
                        }
                        Err(TryRecvError::Empty) => break,
                        Err(TryRecvError::Disconnected) => break 'idle,
                    }
                }
                self.write_batch();
                if drained == 0 {
                    continue 'idle;
                }
            }
        }
        self.write_batch();
    }

    fn handle(&mut self, message: Message) {
        match message {
            Message::Record(record, format) => {
                record.write_line(format, &mut self.batch);
                if self.batch.len() >= BATCH_BYTES {
                    self.write_batch();
                }
            }
            Message::Reopen(ack) => {
                self.write_batch();
                let result = open_append(&self.path).map(|file| self.file = file);
                let _ = ack.send(result);
            }
            Message::Flush(ack) => {
                let result = self.write_batch_result();
                let _ = ack.send(result);
            }
        }
    }

    fn write_batch(&mut self) {
        if let Err(err) = self.write_batch_result() {
            tracing::error!(path = %self.path.display(), "cannot write the access log: {err}");
        }
    }

    /// One `write_all` of whole lines; the batch is cleared either way so a
    /// failing disk cannot grow memory without bound.
    fn write_batch_result(&mut self) -> io::Result<()> {
        if self.batch.is_empty() {
            return Ok(());
        }
        let result = self.file.write_all(&self.batch);
        self.batch.clear();
        result
    }
}

/// Opens a log file for appending, creating it (mode 0644) when absent.
pub fn open_append(path: &Path) -> io::Result<File> {
    OpenOptions::new().create(true).append(true).open(path)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::access_record::{FiredRules, LogAction, LogText};
    use std::time::SystemTime;

    fn record(uri: &str) -> AccessRecord {
        AccessRecord {
            time: SystemTime::now(),
            client_ip: std::net::Ipv4Addr::LOCALHOST.into(),
            method: LogText::Method(http::Method::GET),
            host: "h".into(),
            uri: LogText::Owned(uri.to_owned()),
            status: 200,
            bytes_sent: 0,
            duration_ms: 0,
            upstream_ms: None,
            scheme: "http".into(),
            user_agent: LogText::Absent,
            referer: LogText::Absent,
            action: LogAction::Forward,
            rules: FiredRules::default(),
        }
    }

    fn temp_dir(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("switchyard-al-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("temp dir");
        dir
    }

    #[test]
    fn reopen_moves_later_lines_to_the_new_file_and_loses_none() {
        let dir = temp_dir("reopen");
        let path = dir.join("access.log");
        let log = AccessLog::open(&path).expect("open");
        for i in 0..500 {
            log.record(record(&format!("/{i}")), AccessLogFormat::Json);
        }
        std::fs::rename(&path, dir.join("access.log.1")).expect("rename");
        log.reopen_blocking().expect("reopen");
        for i in 500..1000 {
            log.record(record(&format!("/{i}")), AccessLogFormat::Ltsv);
        }
        log.flush_blocking().expect("flush");
        let old = std::fs::read_to_string(dir.join("access.log.1")).expect("old");
        let new = std::fs::read_to_string(&path).expect("new");
        assert_eq!(old.lines().count(), 500);
        assert_eq!(new.lines().count(), 500);
        assert!(old.lines().all(|l| l.starts_with('{') && l.ends_with('}')));
        assert!(new.lines().all(|l| l.starts_with("time:")));
        for i in 0..1000 {
            let needle = if i < 500 {
                format!("\"uri\":\"/{i}\"")
            } else {
                format!("uri:/{i}\t")
            };
            let hay = if i < 500 { &old } else { &new };
            assert_eq!(hay.matches(&needle).count(), 1, "{needle}");
        }
    }

    #[test]
    fn off_format_writes_nothing() {
        let dir = temp_dir("off");
        let path = dir.join("access.log");
        let log = AccessLog::open(&path).expect("open");
        log.record(record("/"), AccessLogFormat::Off);
        log.flush_blocking().expect("flush");
        assert_eq!(std::fs::read_to_string(&path).expect("read"), "");
    }
}
