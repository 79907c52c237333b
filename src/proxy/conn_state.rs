//! What the requests of one connection tell its socket wrapper, shared
//! between the service (which starts and finishes requests) and `ClientIo`
//! (which reads the socket): how many are in flight, when the last one
//! finished, whether the connection became a tunnel, and the refusal that
//! ended it. The reader waiting on a request's end is woken through an
//! `AtomicWaker`, without a lock.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::task::Waker;

use futures_util::task::AtomicWaker;
use tokio::time::Instant;

use super::rejection::Rejection;

/// What a request in flight tells the socket wrapper (shared per connection).
#[derive(Debug)]
pub struct ConnState {
    active: AtomicUsize,
    finished: AtomicU64,
    head_started: AtomicBool,
    upgraded: AtomicBool,
    rejected: Mutex<Option<Rejected>>,
    reader: AtomicWaker,
    /// When the connection began: `finished_at` counts from it.
    epoch: Instant,
    /// When the last request finished, in nanoseconds after `epoch` plus
    /// one (0: none yet). The keep-alive period counts from there, however
    /// late the socket wrapper looks.
    finished_at: AtomicU64,
}

impl Default for ConnState {
    fn default() -> Self {
        ConnState {
            active: AtomicUsize::new(0),
            finished: AtomicU64::new(0),
            head_started: AtomicBool::new(false),
            upgraded: AtomicBool::new(false),
            rejected: Mutex::new(None),
            reader: AtomicWaker::new(),
            epoch: Instant::now(),
            finished_at: AtomicU64::new(0),
        }
    }
}

/// A refusal the socket wrapper wrote itself, as far as it got.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rejected {
    /// Why.
    pub(crate) rejection: Rejection,
    /// The bytes of its body that reached the socket (all of them, unless
    /// the client went away first).
    pub(crate) body_bytes: u64,
}

impl ConnState {
    /// A request head was parsed and handed to the service.
    pub(crate) fn request_started(&self) {
        self.active.fetch_add(1, Ordering::SeqCst);
    }

    /// A response body finished or was dropped: the connection may be idle now.
    pub(crate) fn request_finished(&self) {
        let since = Instant::now().saturating_duration_since(self.epoch);
        let nanos = u64::try_from(since.as_nanos()).unwrap_or(u64::MAX - 1);
        self.finished_at.store(nanos + 1, Ordering::SeqCst);
        self.active.fetch_sub(1, Ordering::SeqCst);
        self.finished.fetch_add(1, Ordering::SeqCst);
        self.reader.wake();
    }

    /// A `101 Switching Protocols` is going to the client: from now on the
    /// connection is a tunnel, neither checked nor timed.
    pub(crate) fn mark_upgraded(&self) {
        self.upgraded.store(true, Ordering::SeqCst);
    }

    /// Whether the connection became a tunnel.
    pub(crate) fn upgraded(&self) -> bool {
        self.upgraded.load(Ordering::SeqCst)
    }

    /// Whether bytes of a request head had arrived when the connection ended
    /// (so a failure is a rejected request, not a quiet close).
    pub fn head_started(&self) -> bool {
        self.head_started.load(Ordering::SeqCst)
    }

    /// The head refused by the framing check or the header timer, and how
    /// much of its body was written, if the connection ended that way.
    pub(crate) fn rejected(&self) -> Option<Rejected> {
        *self.rejected.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// How many requests finished on this connection.
    pub(crate) fn finished(&self) -> u64 {
        self.finished.load(Ordering::SeqCst)
    }

    /// Whether a request is in flight.
    pub(crate) fn in_flight(&self) -> bool {
        self.active.load(Ordering::SeqCst) > 0
    }

    /// When the last request finished, if one has.
    pub(crate) fn finished_at(&self) -> Option<Instant> {
        match self.finished_at.load(Ordering::SeqCst) {
            0 => None,
            nanos => Some(self.epoch + std::time::Duration::from_nanos(nanos - 1)),
        }
    }

    /// Records whether a head is under way.
    pub(crate) fn set_head_started(&self, started: bool) {
        self.head_started.store(started, Ordering::SeqCst);
    }

    /// Records the refusal that ends the connection.
    pub(crate) fn set_rejected(&self, rejected: Rejected) {
        *self.rejected.lock().unwrap_or_else(|p| p.into_inner()) = Some(rejected);
    }

    /// The reader to wake when a request ends (or hyper flushes).
    pub(crate) fn register_reader(&self, waker: &Waker) {
        self.reader.register(waker);
    }

    /// Wakes the reader waiting on a request's end or a flush.
    pub(crate) fn wake_reader(&self) {
        self.reader.wake();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn the_end_of_a_request_is_kept_and_wakes_the_reader() {
        let state = ConnState::default();
        assert_eq!(state.finished_at(), None);
        state.request_started();
        assert!(state.in_flight());
        let woken = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let flag = woken.clone();
        let waker = Waker::from(std::sync::Arc::new(Flag(flag)));
        state.register_reader(&waker);
        tokio::time::advance(std::time::Duration::from_secs(3)).await;
        let now = Instant::now();
        state.request_finished();
        assert!(!state.in_flight());
        assert_eq!(state.finished(), 1);
        assert_eq!(state.finished_at(), Some(now));
        assert!(woken.load(Ordering::SeqCst));
    }

    struct Flag(std::sync::Arc<AtomicBool>);

    impl std::task::Wake for Flag {
        fn wake(self: std::sync::Arc<Self>) {
            self.0.store(true, Ordering::SeqCst);
        }
    }
}
