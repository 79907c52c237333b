//! The two client timeouts as pure deadline logic, apart from any socket or
//! sleep: `keepalive_timeout` for an idle connection (hyper has no idle
//! timeout for HTTP/1) and `client_header_timeout` counted from the first
//! byte of a request head (hyper's own header timer also runs while the
//! connection is idle, which would cut keep-alive short). `ClientIo` asks
//! when its alarm should ring and what a ring means.

use std::time::Duration;

use tokio::time::Instant;

/// The two client timeouts, taken from the settings when the connection was accepted.
#[derive(Debug, Clone, Copy)]
pub struct ClientTimeouts {
    /// Idle time allowed between requests.
    pub(crate) keepalive: Duration,
    /// Time allowed from the first byte of a head to its end (and from accept
    /// to the first byte).
    pub(crate) header: Duration,
}

/// When the alarm rings, and what that means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Alarm {
    /// A request is in flight: no timer runs; look again then.
    LookAgain(Instant),
    /// The connection has been idle too long then: a quiet close.
    Idle(Instant),
    /// A head that began has not ended by then: 408.
    Head(Instant),
}

impl Alarm {
    /// When it rings.
    pub(crate) fn at(self) -> Instant {
        match self {
            Alarm::LookAgain(at) | Alarm::Idle(at) | Alarm::Head(at) => at,
        }
    }
}

/// The timers of one connection.
#[derive(Debug, Clone)]
pub(crate) struct ClientTimers {
    timeouts: ClientTimeouts,
    /// Since when the connection has been idle (accept, or the end of the
    /// last request).
    idle_since: Instant,
    /// Since when the current head has been arriving, if one is.
    head_since: Option<Instant>,
    /// How many requests had finished when last looked.
    seen_finished: u64,
}

impl ClientTimers {
    /// Timers for a connection accepted at `accepted`.
    pub(crate) fn new(timeouts: ClientTimeouts, accepted: Instant) -> Self {
        ClientTimers {
            timeouts,
            idle_since: accepted,
            head_since: None,
            seen_finished: 0,
        }
    }

    /// The alarm while a request is in flight. Its end does not wake the
    /// reader (that would cost a poll of the whole connection for every
    /// request): instead the alarm looks again a keep-alive period from
    /// now, and then counts the idle time from when the request finished.
    /// `current` is the alarm already set; it is kept while it is ahead and
    /// no later than that.
    pub(crate) fn in_flight(&self, now: Instant, current: Instant) -> Alarm {
        let again = now + self.timeouts.keepalive;
        if current <= now || current > again {
            Alarm::LookAgain(again)
        } else {
            Alarm::LookAgain(current)
        }
    }

    /// The alarm while no request is in flight, `finished` requests having
    /// ended (the last at `finished_at`); `true` in the second place when a
    /// request ended since the last look (no head is under way then).
    pub(crate) fn idle(
        &mut self,
        finished: u64,
        finished_at: Option<Instant>,
        now: Instant,
    ) -> (Alarm, bool) {
        let ended = finished != self.seen_finished;
        if ended {
            self.seen_finished = finished;
            self.idle_since = finished_at.unwrap_or(now);
            self.head_since = None;
        }
        let alarm = match self.head_since {
            Some(since) => Alarm::Head(since + self.timeouts.header),
            // Until the first byte, a new connection gets the header timeout.
            None if finished == 0 => Alarm::Idle(self.idle_since + self.timeouts.header),
            None => Alarm::Idle(self.idle_since + self.timeouts.keepalive),
        };
        (alarm, ended)
    }

    /// Bytes arrived with no request in flight, `finished` having ended:
    /// `true` when they start a new head (its timer starts now).
    pub(crate) fn bytes_arrived(&mut self, finished: u64, now: Instant) -> bool {
        if finished != self.seen_finished {
            self.seen_finished = finished;
            self.head_since = None;
        }
        if self.head_since.is_some() {
            return false;
        }
        self.head_since = Some(now);
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TIMEOUTS: ClientTimeouts = ClientTimeouts {
        keepalive: Duration::from_secs(75),
        header: Duration::from_secs(10),
    };

    #[tokio::test(start_paused = true)]
    async fn a_new_connection_gets_the_header_timeout_then_keep_alive() {
        let t0 = Instant::now();
        let mut timers = ClientTimers::new(TIMEOUTS, t0);
        assert_eq!(
            timers.idle(0, None, t0),
            (Alarm::Idle(t0 + TIMEOUTS.header), false)
        );
        // A head starts at 2 s: 408 at 12 s, wherever the bytes trickle.
        let t2 = t0 + Duration::from_secs(2);
        assert!(timers.bytes_arrived(0, t2));
        assert!(!timers.bytes_arrived(0, t2 + Duration::from_secs(1)));
        assert_eq!(
            timers.idle(0, None, t2).0,
            Alarm::Head(t2 + TIMEOUTS.header)
        );
        // It ended at 5 s: idle from then, keep-alive long.
        let t5 = t0 + Duration::from_secs(5);
        let (alarm, ended) = timers.idle(1, Some(t5), t0 + Duration::from_secs(9));
        assert_eq!((alarm, ended), (Alarm::Idle(t5 + TIMEOUTS.keepalive), true));
        // The next bytes start the next head's timer.
        let t30 = t0 + Duration::from_secs(30);
        assert!(timers.bytes_arrived(1, t30));
        assert_eq!(
            timers.idle(1, Some(t5), t30).0,
            Alarm::Head(t30 + TIMEOUTS.header)
        );
    }

    #[tokio::test(start_paused = true)]
    async fn in_flight_the_alarm_only_looks_again() {
        let t0 = Instant::now();
        let timers = ClientTimers::new(TIMEOUTS, t0);
        let later = t0 + TIMEOUTS.keepalive;
        // An alarm in the past, or beyond a keep-alive period, moves.
        assert_eq!(timers.in_flight(t0, t0), Alarm::LookAgain(later));
        assert_eq!(
            timers.in_flight(t0, later + Duration::from_secs(1)),
            Alarm::LookAgain(later)
        );
        // One already set within the period stays, so polls do not push it.
        let soon = t0 + Duration::from_secs(3);
        assert_eq!(timers.in_flight(t0, soon), Alarm::LookAgain(soon));
    }

    #[tokio::test(start_paused = true)]
    async fn bytes_after_a_request_ended_start_a_new_head() {
        let t0 = Instant::now();
        let mut timers = ClientTimers::new(TIMEOUTS, t0);
        assert!(timers.bytes_arrived(0, t0));
        // The request ended unseen; pipelined bytes are a new head.
        let t1 = t0 + Duration::from_secs(1);
        assert!(timers.bytes_arrived(1, t1));
        assert_eq!(
            timers.idle(1, Some(t0), t1).0,
            Alarm::Head(t1 + TIMEOUTS.header)
        );
    }
}
