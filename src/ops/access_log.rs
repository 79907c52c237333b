//! The access log: each request's line is formatted on the thread that
//! served it, straight into a shared batch of whole lines, and one OS thread
//! owns the `O_APPEND` file and writes the batch out, so no line is ever split
//! or lost; between two batches it reopens the file by name when asked (log
//! rotation). Records never wait in a queue, so nothing of a finished request
//! (its header bytes, its read buffer) outlives it.

use std::cell::RefCell;
use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::mem;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread;
use std::time::Duration;

use super::access_record::AccessRecord;
use crate::rules::AccessLogFormat;

/// How many bytes of lines may wait for the writer before request threads
/// wait (back pressure instead of unbounded memory or dropped lines).
const MAX_PENDING: usize = 4 * 1024 * 1024;
/// How long the busy writer sleeps between two batches: the longest a line
/// waits in memory under load.
const TICK: Duration = Duration::from_millis(2);
/// The room a batch starts with (it grows as needed, and keeps what it grew
/// to for the next batch).
const BATCH_BYTES: usize = 64 * 1024;

/// The sending side of the access log; cheap to clone, one per request path.
/// When the last clone is dropped the writer writes what is left and ends.
#[derive(Debug, Clone)]
pub struct AccessLog {
    sender: Arc<Sender>,
}

#[derive(Debug)]
struct Sender {
    shared: Arc<Shared>,
}

/// What the request threads and the writer share.
#[derive(Debug)]
struct Shared {
    pending: Mutex<Pending>,
    /// The idle writer waits here for a line or a request.
    work: Condvar,
    /// Request threads wait here while `MAX_PENDING` bytes are waiting.
    room: Condvar,
}

#[derive(Debug, Default)]
struct Pending {
    /// Whole lines, in the order their requests finished.
    lines: Vec<u8>,
    /// Reopen and flush requests, each after the lines appended before it.
    asks: Vec<Ask>,
    /// The writer is waiting on `work` (a line must wake it).
    writer_idle: bool,
    /// Every sender is gone: write what is left and end.
    closed: bool,
    /// The writer thread has ended (lines can no longer be written).
    writer_gone: bool,
}

#[derive(Debug)]
enum Ask {
    Reopen(mpsc::Sender<io::Result<()>>),
    Flush(mpsc::Sender<io::Result<()>>),
}

thread_local! {
    /// Where a line is formatted before it joins the batch, so the lock is
    /// held for a copy, not for the formatting.
    static SCRATCH: RefCell<Vec<u8>> = RefCell::new(Vec::with_capacity(1024));
}

impl AccessLog {
    /// Opens (creating) `path` for appending and starts the writer thread.
    pub fn open(path: &Path) -> io::Result<AccessLog> {
        let file = open_append(path)?;
        let shared = Arc::new(Shared {
            pending: Mutex::new(Pending {
                lines: Vec::with_capacity(BATCH_BYTES),
                ..Pending::default()
            }),
            work: Condvar::new(),
            room: Condvar::new(),
        });
        let writer = Writer {
            path: path.to_owned(),
            file,
            batch: Vec::with_capacity(BATCH_BYTES),
            shared: shared.clone(),
        };
        thread::Builder::new()
            .name("access-log".into())
            .spawn(move || writer.run())?;
        Ok(AccessLog {
            sender: Arc::new(Sender { shared }),
        })
    }

    /// Writes one record's line in `format` (nothing for `Off`) into the
    /// batch; waits only while the writer is `MAX_PENDING` bytes behind.
    pub fn record(&self, record: AccessRecord, format: AccessLogFormat) {
        if format == AccessLogFormat::Off {
            return;
        }
        let shared = &self.sender.shared;
        SCRATCH.with_borrow_mut(|line| {
            line.clear();
            record.write_line(format, line);
            // The record (and the request bytes it holds) goes now.
            drop(record);
            let mut pending = shared.lock();
            while pending.lines.len() >= MAX_PENDING && !pending.writer_gone {
                pending = shared.room.wait(pending).unwrap_or_else(|p| p.into_inner());
            }
            if pending.writer_gone {
                drop(pending);
                tracing::error!("access log writer is gone; a line was dropped");
                return;
            }
            pending.lines.extend_from_slice(line);
            shared.wake_writer(&mut pending);
            drop(pending);
            // A line that grew the scratch past the usual keeps no memory.
            if line.capacity() > 16 * 1024 {
                *line = Vec::with_capacity(1024);
            }
        });
    }

    /// Writes everything recorded so far, then reopens the file by name;
    /// returns once done (blocking: call from a blocking context).
    pub fn reopen_blocking(&self) -> io::Result<()> {
        self.round_trip(Ask::Reopen)
    }

    /// Writes everything recorded so far; returns once it is in the page cache.
    pub fn flush_blocking(&self) -> io::Result<()> {
        self.round_trip(Ask::Flush)
    }

    fn round_trip(&self, make: fn(mpsc::Sender<io::Result<()>>) -> Ask) -> io::Result<()> {
        let (ack_tx, ack_rx) = mpsc::channel();
        {
            let shared = &self.sender.shared;
            let mut pending = shared.lock();
            if pending.writer_gone {
                return Err(io::Error::other("access log writer is gone"));
            }
            pending.asks.push(make(ack_tx));
            shared.wake_writer(&mut pending);
        }
        ack_rx
            .recv()
            .map_err(|_| io::Error::other("access log writer is gone"))?
    }
}

impl Drop for Sender {
    fn drop(&mut self) {
        let mut pending = self.shared.lock();
        pending.closed = true;
        self.shared.wake_writer(&mut pending);
    }
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Pending> {
        // The batch holds whole lines whatever a panicking holder did.
        self.pending.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Wakes the writer if it is waiting; a busy writer comes back on its
    /// own within `TICK`, so under load no request pays for a wake-up.
    fn wake_writer(&self, pending: &mut Pending) {
        if pending.writer_idle {
            pending.writer_idle = false;
            self.work.notify_one();
        }
    }
}

struct Writer {
    path: PathBuf,
    file: File,
    /// The batch being written (swapped with the shared one each round).
    batch: Vec<u8>,
    shared: Arc<Shared>,
}

/// Marks the writer gone however its thread ends, so request threads stop
/// waiting for room and `round_trip` callers get an error.
struct GoneOnDrop(Arc<Shared>);

impl Drop for GoneOnDrop {
    fn drop(&mut self) {
        let mut pending = self.0.lock();
        pending.writer_gone = true;
        drop(pending);
        self.0.room.notify_all();
    }
}

impl Writer {
    /// Blocks only while the log is idle. Under load it wakes on its own
    /// every `TICK` and takes the whole batch at once, so requests never
    /// have to wake it: a wake-up per request (a futex call and a context
    /// switch on the proxy's core) cost more than the rest of the log line.
    fn run(mut self) {
        let _gone = GoneOnDrop(self.shared.clone());
        loop {
            let (asks, closed, was_full) = {
                let mut pending = self.shared.lock();
                while pending.lines.is_empty() && pending.asks.is_empty() && !pending.closed {
                    pending.writer_idle = true;
                    pending = self
                        .shared
                        .work
                        .wait(pending)
                        .unwrap_or_else(|p| p.into_inner());
                }
                pending.writer_idle = false;
                // Only a full batch can have request threads waiting.
                let was_full = pending.lines.len() >= MAX_PENDING;
                mem::swap(&mut pending.lines, &mut self.batch);
                (mem::take(&mut pending.asks), pending.closed, was_full)
            };
            if was_full {
                self.shared.room.notify_all();
            }
            let written = self.write_batch();
            for ask in asks {
                self.answer(ask, &written);
            }
            if closed {
                // Lines recorded after the last take (none can come now
                // that every sender is gone) were taken with it.
                return;
            }
            thread::sleep(TICK);
        }
    }

    /// Answers a reopen or flush asked before the lines just written, whose
    /// write ended as `written`.
    fn answer(&mut self, ask: Ask, written: &io::Result<()>) {
        let copy = || match written {
            Ok(()) => Ok(()),
            Err(err) => Err(io::Error::new(err.kind(), err.to_string())),
        };
        match ask {
            Ask::Reopen(ack) => {
                let result = open_append(&self.path).map(|file| self.file = file);
                let _ = ack.send(result);
            }
            Ask::Flush(ack) => {
                let _ = ack.send(copy());
            }
        }
    }

    fn write_batch(&mut self) -> io::Result<()> {
        let result = self.write_batch_result();
        if let Err(err) = &result {
            tracing::error!(path = %self.path.display(), "cannot write the access log: {err}");
        }
        result
    }

    /// One `write_all` of whole lines; the batch is cleared either way so a
    /// failing disk cannot grow memory without bound.
    fn write_batch_result(&mut self) -> io::Result<()> {
        if self.batch.is_empty() {
            return Ok(());
        }
        let result = self.file.write_all(&self.batch);
        self.batch.clear();
        if self.batch.capacity() > MAX_PENDING {
            self.batch = Vec::with_capacity(BATCH_BYTES);
        }
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
    fn lines_from_many_threads_are_whole_and_none_is_lost() {
        let dir = temp_dir("threads");
        let path = dir.join("access.log");
        let log = AccessLog::open(&path).expect("open");
        let threads: Vec<_> = (0..4)
            .map(|t| {
                let log = log.clone();
                std::thread::spawn(move || {
                    for i in 0..2000 {
                        log.record(record(&format!("/{t}/{i}")), AccessLogFormat::Json);
                    }
                })
            })
            .collect();
        for thread in threads {
            thread.join().expect("thread");
        }
        log.flush_blocking().expect("flush");
        let text = std::fs::read_to_string(&path).expect("read");
        let mut uris: Vec<String> = text
            .lines()
            .map(|line| {
                let value: serde_json::Value = serde_json::from_str(line).expect("whole JSON line");
                value["uri"].as_str().expect("uri").to_owned()
            })
            .collect();
        assert_eq!(uris.len(), 8000);
        uris.sort();
        uris.dedup();
        assert_eq!(uris.len(), 8000, "no line twice");
    }

    #[test]
    fn the_last_sender_gone_writes_what_is_left_and_ends_the_writer() {
        let dir = temp_dir("close");
        let path = dir.join("access.log");
        let log = AccessLog::open(&path).expect("open");
        let shared = log.sender.shared.clone();
        for i in 0..100 {
            log.record(record(&format!("/{i}")), AccessLogFormat::Json);
        }
        drop(log);
        for _ in 0..500 {
            if shared.lock().writer_gone {
                break;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        assert!(shared.lock().writer_gone, "the writer ended");
        let text = std::fs::read_to_string(&path).expect("read");
        assert_eq!(text.lines().count(), 100);
    }

    /// A log that cannot be written (a pipe nobody reads) holds request
    /// threads back once `MAX_PENDING` bytes wait, and loses no line.
    #[test]
    fn a_stalled_writer_holds_senders_back_and_loses_no_line() {
        use std::io::Read;
        let dir = temp_dir("pressure");
        let path = dir.join("access.log");
        let made = std::process::Command::new("mkfifo").arg(&path).status();
        assert!(made.is_ok_and(|s| s.success()), "mkfifo");
        let (start_reading, go) = mpsc::channel::<()>();
        let reader_path = path.clone();
        let reader = std::thread::spawn(move || {
            let mut pipe = File::open(&reader_path).expect("open the pipe");
            go.recv().expect("told to read");
            let mut all = String::new();
            pipe.read_to_string(&mut all).expect("read");
            all
        });
        let log = AccessLog::open(&path).expect("open");
        let shared = log.sender.shared.clone();
        const LINES: usize = 40_000;
        let sender_log = log.clone();
        let sender = std::thread::spawn(move || {
            for i in 0..LINES {
                sender_log.record(
                    record(&format!("/{i}/{}", "x".repeat(100))),
                    AccessLogFormat::Json,
                );
            }
        });
        let full = (0..1000).any(|_| {
            std::thread::sleep(Duration::from_millis(10));
            shared.lock().lines.len() >= MAX_PENDING
        });
        assert!(full, "lines pile up while the pipe is full");
        std::thread::sleep(Duration::from_millis(100));
        assert!(!sender.is_finished(), "the sender waits for room");
        start_reading.send(()).expect("reader");
        sender.join().expect("sender");
        log.flush_blocking().expect("flush");
        drop(log);
        let all = reader.join().expect("reader");
        assert_eq!(all.lines().count(), LINES);
        assert!(all.lines().all(|l| l.starts_with('{') && l.ends_with('}')));
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
