//! What an accept loop does when `accept` fails: retry at once when only that
//! one connection was lost, pause when the process is out of a resource
//! (EMFILE, ENFILE, ENOBUFS, ENOMEM — the pending connection stays queued, so
//! retrying at once would spin), and keep the error log readable while it
//! lasts: one line on entering, one summary per [`SUMMARY_EVERY`], one line on
//! recovery.

use std::fmt;
use std::io;
use std::time::{Duration, Instant};

/// How long to pause accepting after a failure that leaves the connection queued.
pub(crate) const ACCEPT_BACKOFF: Duration = Duration::from_millis(75);
/// How often a run of failures is summarised in the error log.
pub(crate) const SUMMARY_EVERY: Duration = Duration::from_secs(10);

/// The accept loop's memory of a run of failures.
#[derive(Debug, Default)]
pub(crate) struct AcceptBackoff {
    failing: Option<FailingRun>,
}

#[derive(Debug)]
struct FailingRun {
    since: Instant,
    failures: u64,
    last_report: Instant,
    failures_at_last_report: u64,
}

/// What the loop does after one failed `accept`.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct AfterFailure {
    /// How long to wait before calling `accept` again (zero: at once).
    pub(crate) pause: Duration,
    /// A line for the error log, if one is due.
    pub(crate) report: Option<Report>,
}

/// A line about accepting for the error log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Report {
    /// The first failure of a run.
    Failing {
        /// The error.
        error: String,
    },
    /// Failures go on; at most one of these per [`SUMMARY_EVERY`].
    StillFailing {
        /// Failures since the previous report.
        recent: u64,
        /// Failures since the run began.
        total: u64,
        /// How long the run has lasted.
        lasted: Duration,
        /// The latest error.
        error: String,
    },
    /// A connection was accepted again.
    Recovered {
        /// Failures in the whole run.
        total: u64,
        /// How long the run lasted.
        lasted: Duration,
    },
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Report::Failing { error } => write!(
                f,
                "accept failed: {error}; pausing {} ms between attempts until it succeeds \
                 (a summary every {} s)",
                ACCEPT_BACKOFF.as_millis(),
                SUMMARY_EVERY.as_secs()
            ),
            Report::StillFailing {
                recent,
                total,
                lasted,
                error,
            } => write!(
                f,
                "accept still failing: {recent} failures since the last report, \
                 {total} in {} s: {error}",
                lasted.as_secs()
            ),
            Report::Recovered { total, lasted } => write!(
                f,
                "accepting again after {total} failures in {} ms",
                lasted.as_millis()
            ),
        }
    }
}

impl Report {
    /// Writes the line to the error log. Recovery is a `warn` too, so that an
    /// operator who filters on warnings sees every run close.
    pub(crate) fn log(&self, listener: &str) {
        tracing::warn!(%listener, "{self}");
    }
}

/// Whether an accept error cost only the connection being accepted (the
/// kernel already dropped it from the queue, so the next `accept` is a new
/// attempt and cannot spin). Linux's accept(2) says to treat these like EAGAIN.
fn lost_one_connection(err: &io::Error) -> bool {
    use io::ErrorKind::*;
    if matches!(
        err.kind(),
        ConnectionAborted | ConnectionReset | Interrupted | WouldBlock
    ) {
        return true;
    }
    err.raw_os_error()
        .is_some_and(|code| ONE_CONNECTION_LOST.contains(&code))
}

/// The `accept` errors that stand for one connection lost before it was
/// accepted (Linux's accept(2) passes on the pending socket's network
/// errors); the list differs by platform only by what the platform has.
const ONE_CONNECTION_LOST: &[i32] = &[
    libc::EPROTO,
    libc::EPERM,
    libc::ENETDOWN,
    libc::ENOPROTOOPT,
    libc::EHOSTDOWN,
    #[cfg(target_os = "linux")]
    libc::ENONET,
    libc::EHOSTUNREACH,
    libc::EOPNOTSUPP,
    libc::ENETUNREACH,
];

impl AcceptBackoff {
    /// Records a failed `accept` at `now`. Anything that is not the loss of a
    /// single connection (out of descriptors or memory, or an error nobody
    /// expected) pauses, since the same call would fail again at once.
    pub(crate) fn failed(&mut self, err: &io::Error, now: Instant) -> AfterFailure {
        if lost_one_connection(err) {
            tracing::debug!("accept lost a connection: {err}");
            return AfterFailure {
                pause: Duration::ZERO,
                report: None,
            };
        }
        let report = match &mut self.failing {
            None => {
                self.failing = Some(FailingRun {
                    since: now,
                    failures: 1,
                    last_report: now,
                    failures_at_last_report: 1,
                });
                Some(Report::Failing {
                    error: err.to_string(),
                })
            }
            Some(run) => {
                run.failures += 1;
                if now.duration_since(run.last_report) >= SUMMARY_EVERY {
                    let recent = run.failures - run.failures_at_last_report;
                    run.last_report = now;
                    run.failures_at_last_report = run.failures;
                    Some(Report::StillFailing {
                        recent,
                        total: run.failures,
                        lasted: now.duration_since(run.since),
                        error: err.to_string(),
                    })
                } else {
                    None
                }
            }
        };
        AfterFailure {
            pause: ACCEPT_BACKOFF,
            report,
        }
    }

    /// Records an accepted connection at `now`; ends a run of failures.
    pub(crate) fn accepted(&mut self, now: Instant) -> Option<Report> {
        self.failing.take().map(|run| Report::Recovered {
            total: run.failures,
            lasted: now.duration_since(run.since),
        })
    }

    /// For the accept loop of `listener`: logs what is due and waits as long
    /// as [`failed`](Self::failed) says.
    pub(crate) async fn after_error(&mut self, err: &io::Error, listener: &str) {
        let after = self.failed(err, Instant::now());
        if let Some(report) = after.report {
            report.log(listener);
        }
        if !after.pause.is_zero() {
            tokio::time::sleep(after.pause).await;
        }
    }

    /// For the accept loop of `listener`: logs the end of a run of failures.
    pub(crate) fn after_accept(&mut self, listener: &str) {
        if let Some(report) = self.accepted(Instant::now()) {
            report.log(listener);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn emfile() -> io::Error {
        io::Error::from_raw_os_error(libc::EMFILE)
    }

    #[test]
    fn a_run_of_exhaustion_logs_once_then_summaries_then_recovery() {
        let start = Instant::now();
        let mut backoff = AcceptBackoff::default();
        let first = backoff.failed(&emfile(), start);
        assert_eq!(first.pause, ACCEPT_BACKOFF);
        assert!(
            matches!(&first.report, Some(Report::Failing { error }) if error.contains("Too many open files")),
            "{first:?}"
        );
        // A failure every 75 ms for just under the summary period: silent.
        let mut at = start;
        let mut lines = 0;
        for _ in 0..130 {
            at += ACCEPT_BACKOFF;
            let after = backoff.failed(&emfile(), at);
            assert_eq!(after.pause, ACCEPT_BACKOFF);
            lines += usize::from(after.report.is_some());
        }
        assert_eq!(lines, 0, "no line within {SUMMARY_EVERY:?} of the first");
        let summary = backoff.failed(&emfile(), start + SUMMARY_EVERY);
        assert_eq!(
            summary.report,
            Some(Report::StillFailing {
                recent: 131,
                total: 132,
                lasted: SUMMARY_EVERY,
                error: emfile().to_string(),
            })
        );
        // The next summary counts from the previous one.
        let later = start + SUMMARY_EVERY * 2;
        assert!(
            backoff
                .failed(&emfile(), later - Duration::from_millis(1))
                .report
                .is_none()
        );
        assert_eq!(
            backoff.failed(&emfile(), later).report,
            Some(Report::StillFailing {
                recent: 2,
                total: 134,
                lasted: later - start,
                error: emfile().to_string(),
            })
        );
        let end = later + Duration::from_millis(500);
        assert_eq!(
            backoff.accepted(end),
            Some(Report::Recovered {
                total: 134,
                lasted: end - start
            })
        );
        assert_eq!(backoff.accepted(end), None, "recovery is reported once");
        // A new run starts with a new first line.
        assert!(matches!(
            backoff.failed(&emfile(), end).report,
            Some(Report::Failing { .. })
        ));
    }

    #[test]
    fn losing_one_connection_neither_pauses_nor_starts_a_run() {
        let mut backoff = AcceptBackoff::default();
        let now = Instant::now();
        for err in [
            io::Error::from(io::ErrorKind::ConnectionAborted),
            io::Error::from_raw_os_error(libc::EPROTO),
            io::Error::from_raw_os_error(libc::ENETUNREACH),
        ] {
            assert_eq!(
                backoff.failed(&err, now),
                AfterFailure {
                    pause: Duration::ZERO,
                    report: None
                },
                "{err}"
            );
        }
        assert_eq!(backoff.accepted(now), None);
    }

    #[test]
    fn every_exhaustion_error_and_unknown_errors_pause() {
        for code in [
            libc::EMFILE,
            libc::ENFILE,
            libc::ENOBUFS,
            libc::ENOMEM,
            libc::EBADF,
        ] {
            let mut backoff = AcceptBackoff::default();
            let after = backoff.failed(&io::Error::from_raw_os_error(code), Instant::now());
            assert_eq!(after.pause, ACCEPT_BACKOFF, "errno {code}");
        }
    }

    #[test]
    fn lines_read_well() {
        assert_eq!(
            Report::StillFailing {
                recent: 133,
                total: 400,
                lasted: Duration::from_secs(30),
                error: "Too many open files (os error 24)".into(),
            }
            .to_string(),
            "accept still failing: 133 failures since the last report, 400 in 30 s: \
             Too many open files (os error 24)"
        );
        assert_eq!(
            Report::Recovered {
                total: 7,
                lasted: Duration::from_millis(525)
            }
            .to_string(),
            "accepting again after 7 failures in 525 ms"
        );
        assert!(
            Report::Failing { error: "x".into() }
                .to_string()
                .starts_with("accept failed: x; pausing 75 ms")
        );
    }
}
