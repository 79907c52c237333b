//! The two client timeouts as pure deadline logic, apart from any socket or
//! sleep: `keepalive_timeout` for an idle connection (hyper has no idle
//! timeout for HTTP/1) and `client_header_timeout` counted from the first
//! byte of a request head (hyper's own header timer also runs while the
//! connection is idle, which would cut keep-alive short). `ClientIo` asks
//! when its alarm should ring and what a ring means; a connection that may
//! be parked (see `parking`) also gets an alarm for the end of its grace
//! period, which parking does not restart: the keep-alive period still
//! counts from the end of the last request.

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
    /// The connection has been quiet for the grace period then: park it
    /// (it stays open; the `Idle` deadline still stands).
    Park(Instant),
}

impl Alarm {
    /// When it rings.
    pub(crate) fn at(self) -> Instant {
        match self {
            Alarm::LookAgain(at) | Alarm::Idle(at) | Alarm::Head(at) | Alarm::Park(at) => at,
        }
    }
}

/// What a parked connection keeps of its timers.
#[derive(Debug, Clone, Copy)]
pub(crate) struct IdleSince {
    /// When it went idle (accepted, or its last request ended).
    at: Instant,
    /// Whether a request has ended on it.
    served: bool,
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
    /// Whether a request has ended on the connection (until then the idle
    /// connection gets the header timeout).
    served: bool,
    /// How long a quiet connection waits before it is parked, if it may be.
    park_after: Option<Duration>,
}

impl ClientTimers {
    /// Timers for a connection accepted at `accepted`.
    pub(crate) fn new(timeouts: ClientTimeouts, accepted: Instant) -> Self {
        ClientTimers {
            timeouts,
            idle_since: accepted,
            head_since: None,
            seen_finished: 0,
            served: false,
            park_after: None,
        }
    }

    /// Lets the connection be parked once quiet for `grace`.
    pub(crate) fn allow_parking(&mut self, grace: Duration) {
        self.park_after = Some(grace);
    }

    /// What a parked connection keeps of its timers (after a last look with
    /// `idle`, so a request that ended since counts), and when its idle
    /// period ends.
    pub(crate) fn park(&self) -> (IdleSince, Instant) {
        let idle = IdleSince {
            at: self.idle_since,
            served: self.served,
        };
        let period = if self.served {
            self.timeouts.keepalive
        } else {
            self.timeouts.header
        };
        (idle, self.idle_since + period)
    }

    /// The timers of a parked connection served again: `timeouts` as now
    /// configured, the idle time still counted from where it was, and the
    /// requests counted afresh (a new `ConnState`).
    pub(crate) fn resume(timeouts: ClientTimeouts, idle: IdleSince) -> Self {
        ClientTimers {
            timeouts,
            idle_since: idle.at,
            head_since: None,
            seen_finished: 0,
            served: idle.served,
            park_after: None,
        }
    }

    /// The alarm while a request is in flight. Its end does not wake the
    /// reader (that would cost a poll of the whole connection for every
    /// request): instead the alarm looks again a keep-alive period from
    /// now (or a parking grace period, when shorter), and then counts the
    /// idle time from when the request finished. `current` is the alarm
    /// already set; it is kept while it is ahead and no later than that.
    pub(crate) fn in_flight(&self, now: Instant, current: Instant) -> Alarm {
        let period = self.park_after.map_or(self.timeouts.keepalive, |grace| {
            grace.min(self.timeouts.keepalive)
        });
        let again = now + period;
        if current <= now || current > again {
            Alarm::LookAgain(again)
        } else {
            Alarm::LookAgain(current)
        }
    }

    /// The alarm while no request is in flight, `finished` requests having
    /// ended (the last at `finished_at`); `true` in the second place when a
    /// request ended since the last look (no head is under way then). With
    /// `parking` (and parking allowed), a connection with no head under way
    /// gets a `Park` alarm a grace period after it went idle, when that
    /// comes before its `Idle` one.
    pub(crate) fn idle(
        &mut self,
        finished: u64,
        finished_at: Option<Instant>,
        now: Instant,
        parking: bool,
    ) -> (Alarm, bool) {
        let ended = finished != self.seen_finished;
        if ended {
            self.served = true;
            self.seen_finished = finished;
            self.idle_since = finished_at.unwrap_or(now);
            self.head_since = None;
        }
        let alarm = match self.head_since {
            Some(since) => Alarm::Head(since + self.timeouts.header),
            // Until the first byte, a new connection gets the header timeout.
            None if !self.served => Alarm::Idle(self.idle_since + self.timeouts.header),
            None => Alarm::Idle(self.idle_since + self.timeouts.keepalive),
        };
        let park_after = self.park_after.filter(|_| parking);
        let alarm = match (alarm, park_after) {
            (Alarm::Idle(closing), Some(grace)) if self.idle_since + grace < closing => {
                Alarm::Park(self.idle_since + grace)
            }
            _ => alarm,
        };
        (alarm, ended)
    }

    /// Bytes arrived with no request in flight, `finished` having ended:
    /// `true` when they start a new head (its timer starts now).
    pub(crate) fn bytes_arrived(&mut self, finished: u64, now: Instant) -> bool {
        if finished != self.seen_finished {
            self.seen_finished = finished;
            self.served = true;
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
            timers.idle(0, None, t0, false),
            (Alarm::Idle(t0 + TIMEOUTS.header), false)
        );
        // A head starts at 2 s: 408 at 12 s, wherever the bytes trickle.
        let t2 = t0 + Duration::from_secs(2);
        assert!(timers.bytes_arrived(0, t2));
        assert!(!timers.bytes_arrived(0, t2 + Duration::from_secs(1)));
        assert_eq!(
            timers.idle(0, None, t2, false).0,
            Alarm::Head(t2 + TIMEOUTS.header)
        );
        // It ended at 5 s: idle from then, keep-alive long.
        let t5 = t0 + Duration::from_secs(5);
        let (alarm, ended) = timers.idle(1, Some(t5), t0 + Duration::from_secs(9), false);
        assert_eq!((alarm, ended), (Alarm::Idle(t5 + TIMEOUTS.keepalive), true));
        // The next bytes start the next head's timer.
        let t30 = t0 + Duration::from_secs(30);
        assert!(timers.bytes_arrived(1, t30));
        assert_eq!(
            timers.idle(1, Some(t5), t30, false).0,
            Alarm::Head(t30 + TIMEOUTS.header)
        );
    }

    #[tokio::test(start_paused = true)]
    async fn in_flight_the_alarm_only_looks_again() {
        let t0 = Instant::now();
        let mut timers = ClientTimers::new(TIMEOUTS, t0);
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
        // A connection that may be parked looks again a grace period on, so
        // that it is parked about a grace period after its last request.
        let grace = Duration::from_secs(1);
        timers.allow_parking(grace);
        assert_eq!(timers.in_flight(t0, soon), Alarm::LookAgain(t0 + grace));
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
            timers.idle(1, Some(t0), t1, false).0,
            Alarm::Head(t1 + TIMEOUTS.header)
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_quiet_connection_is_parked_after_the_grace_and_closed_on_time() {
        let t0 = Instant::now();
        let mut timers = ClientTimers::new(TIMEOUTS, t0);
        timers.allow_parking(Duration::from_secs(1));
        // Before the first byte too: a connection opened and never used.
        assert_eq!(
            timers.idle(0, None, t0, true).0,
            Alarm::Park(t0 + Duration::from_secs(1))
        );
        let t5 = t0 + Duration::from_secs(5);
        assert_eq!(
            timers.idle(1, Some(t5), t5, true),
            (Alarm::Park(t5 + Duration::from_secs(1)), true)
        );
        // Parked (no grace asked for), the keep-alive period still counts
        // from the end of the request: parking restarts nothing.
        let t20 = t0 + Duration::from_secs(20);
        assert_eq!(
            timers.idle(1, Some(t5), t20, false).0,
            Alarm::Idle(t5 + TIMEOUTS.keepalive)
        );
        // Parked and served again (a new connection state with no request
        // finished, settings read again): still a served connection, idle
        // since the request ended.
        let (idle, closing) = timers.park();
        assert_eq!(closing, t5 + TIMEOUTS.keepalive);
        let shorter = ClientTimeouts {
            keepalive: Duration::from_secs(30),
            ..TIMEOUTS
        };
        let mut resumed = ClientTimers::resume(shorter, idle);
        assert_eq!(
            resumed.idle(0, None, t20, false).0,
            Alarm::Idle(t5 + shorter.keepalive)
        );
        // Parked before any request, it keeps the header timeout.
        let (_, closing) = ClientTimers::new(TIMEOUTS, t0).park();
        assert_eq!(closing, t0 + TIMEOUTS.header);
        // A head under way is timed, never parked.
        assert!(timers.bytes_arrived(1, t20));
        assert_eq!(
            timers.idle(1, Some(t5), t20, true).0,
            Alarm::Head(t20 + TIMEOUTS.header)
        );
        // A grace as long as the keep-alive period: the connection closes
        // instead.
        let mut timers = ClientTimers::new(TIMEOUTS, t0);
        timers.allow_parking(TIMEOUTS.keepalive);
        let (alarm, _) = timers.idle(1, Some(t5), t5, true);
        assert_eq!(alarm, Alarm::Idle(t5 + TIMEOUTS.keepalive));
    }
}
