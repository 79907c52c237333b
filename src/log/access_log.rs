//! The access log: each request's line is formatted on the thread that
//! served it, straight into a shared batch of whole lines, and one OS thread
//! owns the `O_APPEND` file and writes the batch out, so no line is ever split
//! or lost; between two batches it reopens the file by name when asked (log
//! rotation). Records never wait in a queue, so nothing of a finished request
//! (its header bytes, its read buffer) outlives it.
//!
//! Recording never blocks the serving thread, even when the writer is stuck
//! (a full disk, a FIFO nobody reads): past `MAX_PENDING` bytes the batch
//! keeps growing in memory instead, and the backlog is counted (`Backlog`,
//! shown by the `status` control command) and said once in the error log
//! each time it starts and ends. A slow log costs memory, never a blocked
//! runtime thread and never a lost or split line.

use std::cell::RefCell;
use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::mem;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread;
use std::time::Duration;

use super::access_record::AccessRecord;
use crate::rules::AccessLogFormat;

/// How many bytes of lines may wait for the writer before the log counts
/// itself behind and says so in the error log (lines past it are still kept:
/// a request thread never waits for the disk, and no line is dropped).
const MAX_PENDING: usize = 4 * 1024 * 1024;
/// How long the busy writer sleeps between two batches: the longest a line
/// waits in memory under load. Each wake-up is two context switches on the
/// proxy's core, which a competing process turns into waits for the core
/// (issue 16): at 20 ms that is 50 a second whatever the load, 0.001 per
/// request at 50,000 requests a second (2 ms gave 0.01, twice nginx's
/// switches per request from the log alone).
const TICK: Duration = Duration::from_millis(20);
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
    /// Lines recorded while `MAX_PENDING` bytes were already waiting, since
    /// the log was opened (read without the lock by `status`).
    lines_behind: AtomicU64,
    /// How many times the writer fell behind, since the log was opened.
    times_behind: AtomicU64,
}

/// How far the writer is behind, for the `status` control command.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Backlog {
    /// Bytes of whole lines waiting for the writer now.
    pub(crate) pending_bytes: u64,
    /// Lines recorded while `MAX_PENDING` bytes were already waiting.
    pub(crate) lines_behind: u64,
    /// How many times the writer fell that far behind.
    pub(crate) times_behind: u64,
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
    /// More than `MAX_PENDING` bytes have waited since the error log last
    /// said the writer caught up.
    behind: bool,
    /// Lines recorded past `MAX_PENDING` in the present spell of `behind`.
    behind_lines: u64,
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
            lines_behind: AtomicU64::new(0),
            times_behind: AtomicU64::new(0),
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
    /// batch. Never waits for the writer: the lock is held for a copy.
    pub(crate) fn record(&self, record: AccessRecord, format: AccessLogFormat) {
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
            if pending.writer_gone {
                drop(pending);
                tracing::error!("access log writer is gone; a line was dropped");
                return;
            }
            let fell_behind =
                pending.lines.len() >= MAX_PENDING && shared.count_behind(&mut pending);
            pending.lines.extend_from_slice(line);
            shared.wake_writer(&mut pending);
            drop(pending);
            if fell_behind {
                tracing::error!(
                    "the access log writer is more than {} MiB behind (is the disk full or \
                     slow?); lines are kept in memory until it catches up",
                    MAX_PENDING / (1024 * 1024)
                );
            }
            // A line that grew the scratch past the usual keeps no memory.
            if line.capacity() > 16 * 1024 {
                *line = Vec::with_capacity(1024);
            }
        });
    }

    /// How far the writer is behind now and has been since the log opened.
    pub(crate) fn backlog(&self) -> Backlog {
        let shared = &self.sender.shared;
        let pending_bytes = shared.lock().lines.len() as u64;
        Backlog {
            pending_bytes,
            lines_behind: shared.lines_behind.load(Ordering::Relaxed),
            times_behind: shared.times_behind.load(Ordering::Relaxed),
        }
    }

    /// Writes everything recorded so far, then reopens the file by name;
    /// returns once done (blocking: call from a blocking context).
    pub(crate) fn reopen_blocking(&self) -> io::Result<()> {
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

    /// Counts a line recorded past `MAX_PENDING`; true for the first of a
    /// spell (the one whose thread says so in the error log).
    fn count_behind(&self, pending: &mut Pending) -> bool {
        self.lines_behind.fetch_add(1, Ordering::Relaxed);
        pending.behind_lines += 1;
        if pending.behind {
            return false;
        }
        pending.behind = true;
        self.times_behind.fetch_add(1, Ordering::Relaxed);
        true
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

/// Marks the writer gone however its thread ends, so `round_trip` callers
/// get an error and later lines are not kept for nobody.
struct GoneOnDrop(Arc<Shared>);

impl Drop for GoneOnDrop {
    fn drop(&mut self) {
        self.0.lock().writer_gone = true;
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
            let (asks, closed, caught_up) = {
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
                // A spell behind ends when the writer takes a batch under
                // the limit: everything before it has been written.
                let caught_up = (pending.behind && pending.lines.len() < MAX_PENDING)
                    .then(|| mem::take(&mut pending.behind_lines));
                if caught_up.is_some() {
                    pending.behind = false;
                }
                mem::swap(&mut pending.lines, &mut self.batch);
                (mem::take(&mut pending.asks), pending.closed, caught_up)
            };
            if let Some(lines) = caught_up {
                tracing::warn!(
                    "the access log writer caught up; {lines} lines waited past the limit, none lost"
                );
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
pub(crate) fn open_append(path: &Path) -> io::Result<File> {
    OpenOptions::new().create(true).append(true).open(path)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::log::access_record::{FiredRules, LogAction, LogText};
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

    /// A log that cannot be written (a pipe nobody reads) never holds the
    /// recording thread back: the backlog is counted, and once the pipe is
    /// read every line arrives, whole and once.
    #[test]
    fn a_stalled_writer_never_blocks_a_sender_and_loses_no_line() {
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
        // Well over MAX_PENDING bytes while nothing reads the pipe: the
        // sender finishes all the same.
        let finished = (0..1000).any(|_| {
            std::thread::sleep(Duration::from_millis(10));
            sender.is_finished()
        });
        assert!(finished, "the sender never waits for the writer");
        sender.join().expect("sender");
        let backlog = log.backlog();
        assert!(backlog.pending_bytes >= MAX_PENDING as u64, "{backlog:?}");
        assert!(backlog.lines_behind > 0, "{backlog:?}");
        assert_eq!(backlog.times_behind, 1, "{backlog:?}");
        start_reading.send(()).expect("reader");
        log.flush_blocking().expect("flush");
        assert_eq!(log.backlog().pending_bytes, 0);
        drop(log);
        let all = reader.join().expect("reader");
        assert_eq!(all.lines().count(), LINES);
        assert!(all.lines().all(|l| l.starts_with('{') && l.ends_with('}')));
        let mut uris: Vec<String> = all
            .lines()
            .map(|line| {
                let value: serde_json::Value = serde_json::from_str(line).expect("whole JSON line");
                value["uri"].as_str().expect("uri").to_owned()
            })
            .collect();
        uris.sort();
        uris.dedup();
        assert_eq!(uris.len(), LINES, "no line twice");
    }

    /// The recording runs on a runtime worker: with the writer stalled, a
    /// single-threaded runtime still serves its other tasks at once.
    #[test]
    fn a_stalled_writer_never_blocks_a_runtime_thread() {
        let dir = temp_dir("runtime");
        let path = dir.join("access.log");
        let made = std::process::Command::new("mkfifo").arg(&path).status();
        assert!(made.is_ok_and(|s| s.success()), "mkfifo");
        // A reader that opens the pipe and never reads: the writer blocks
        // in `write` once the pipe's buffer is full.
        let reader_path = path.clone();
        let (done_tx, done_rx) = mpsc::channel::<()>();
        let reader = std::thread::spawn(move || {
            let pipe = File::open(&reader_path).expect("open the pipe");
            done_rx.recv().ok();
            drop(pipe);
        });
        let log = AccessLog::open(&path).expect("open");
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .expect("runtime");
        let started = std::time::Instant::now();
        runtime.block_on(async {
            let ticker = tokio::spawn(async {
                tokio::time::sleep(Duration::from_millis(1)).await;
            });
            for i in 0..60_000 {
                log.record(
                    record(&format!("/{i}/{}", "x".repeat(100))),
                    AccessLogFormat::Json,
                );
                if i % 1000 == 0 {
                    tokio::task::yield_now().await;
                }
            }
            ticker.await.expect("the other task ran");
        });
        assert!(started.elapsed() < Duration::from_secs(20));
        assert!(log.backlog().lines_behind > 0);
        done_tx.send(()).expect("reader");
        reader.join().expect("reader");
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
