//! The client connection's socket as hyper reads it: every byte passes the
//! framing check first (refused heads are answered here, with the
//! `Rejection`'s bytes), the client timers ring here (see `client_timers`),
//! bytes after an upgrade request are held until its answer (see
//! `held_bytes`), once upgraded the socket is a plain tunnel, and a quiet
//! connection is parked after its grace period (see `parking`). Each of
//! those jobs lives in its own type; this file only wires them to the
//! socket's reads and hyper's flushes.

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::time::{Instant, Sleep};

pub use super::client_timers::ClientTimeouts;
use super::client_timers::{Alarm, ClientTimers};
pub use super::conn_state::{ConnState, Rejected};
use super::framing::{RequestFraming, Verdict};
use super::held_bytes::HeldBytes;
pub use super::parking::Parked;
use super::refusal_writer::RefusalWriter;
use super::rejection::Rejection;

/// The socket plus the framing check, the timers and the held bytes.
#[derive(Debug)]
pub struct ClientIo {
    inner: TcpStream,
    state: Arc<ConnState>,
    timers: ClientTimers,
    /// The timers' alarm, and what its ringing means.
    sleep: Pin<Box<Sleep>>,
    alarm: Alarm,
    framing: RequestFraming,
    /// A refused head waiting for the connection to be quiet (no request in
    /// flight, hyper's writes flushed) before its response is written.
    refusal: Option<Rejection>,
    /// The refusal being written (the head refused, or the header timer).
    writing: Option<RefusalWriter>,
    /// A chunked body broke: the next read fails, so hyper fails the body.
    broken: bool,
    /// How many requests had finished when hyper last flushed (hyper flushes
    /// only with its own buffer empty, so those responses are fully written).
    flushed_through: u64,
    /// Bytes read after a request that asked to upgrade, not yet given to
    /// hyper: a tunnel's or the next request's, depending on the answer.
    held: HeldBytes,
    /// The grace period passed while a response was still being written:
    /// hyper's flush of it wakes the reader to park then.
    park_due: bool,
    /// Parked: the read ended with no bytes so that hyper lets go of the
    /// connection; the socket is quiet and hyper's buffers are empty.
    parked: bool,
}

impl ClientIo {
    /// Wraps an accepted socket.
    ///
    /// Heads larger than `head_limit` bytes are refused with 431.
    pub fn new(
        inner: TcpStream,
        state: Arc<ConnState>,
        timeouts: ClientTimeouts,
        head_limit: usize,
    ) -> Self {
        let now = Instant::now();
        let alarm = Alarm::Idle(now + timeouts.header);
        Self::with(
            inner,
            state,
            ClientTimers::new(timeouts, now),
            alarm,
            head_limit,
        )
    }

    /// A wrapper with nothing read, written or refused yet: what `new` and
    /// `resume` share.
    fn with(
        inner: TcpStream,
        state: Arc<ConnState>,
        timers: ClientTimers,
        alarm: Alarm,
        head_limit: usize,
    ) -> Self {
        ClientIo {
            inner,
            state,
            timers,
            sleep: Box::pin(tokio::time::sleep_until(alarm.at())),
            alarm,
            framing: RequestFraming::new(head_limit),
            refusal: None,
            writing: None,
            broken: false,
            flushed_through: 0,
            held: HeldBytes::default(),
            park_due: false,
            parked: false,
        }
    }

    /// Lets a read that finds the connection quiet for `grace` end the
    /// hyper connection (see `parking`): hyper lets go of the wrapper,
    /// which the caller turns `into_parked`.
    pub fn allow_parking(&mut self, grace: Duration) {
        self.timers.allow_parking(grace);
    }

    /// Whether the last read parked the connection.
    pub fn parked(&self) -> bool {
        self.parked
    }

    /// The largest head accepted.
    pub(crate) fn head_limit(&self) -> usize {
        self.framing.limit()
    }

    /// The state the requests of this connection share with it.
    pub(crate) fn conn_state(&self) -> &Arc<ConnState> {
        &self.state
    }

    /// What a parked connection keeps: the socket and since when it has
    /// been idle; and when its keep-alive period ends. Everything else is at
    /// rest (see `quiet`).
    pub fn into_parked(self: Box<Self>) -> (Parked, Instant) {
        let mut this = *self;
        // A last look, so that a request that ended since counts.
        let _ = this.timers.idle(
            this.state.finished(),
            this.state.finished_at(),
            Instant::now(),
            false,
        );
        let (idle, closing) = this.timers.park();
        (
            Parked {
                inner: this.inner,
                idle,
            },
            closing,
        )
    }

    /// A parked connection with bytes to read, served again under the
    /// settings as they are now (a reload applies), with a fresh request
    /// count.
    pub fn resume(parked: Parked, timeouts: ClientTimeouts, head_limit: usize) -> Box<Self> {
        let Parked { inner, idle } = parked;
        let timers = ClientTimers::resume(timeouts, idle);
        let (_, closing) = timers.park();
        let alarm = Alarm::Idle(closing);
        let state = Arc::new(ConnState::default());
        Box::new(Self::with(inner, state, timers, alarm, head_limit))
    }

    /// Nothing in flight, every request answered and flushed, no byte of
    /// the next one read, not a tunnel: hyper holds nothing worth keeping.
    fn quiet(&self) -> bool {
        let finished = self.state.finished();
        !self.state.in_flight()
            && !self.state.upgraded()
            && finished == self.framing.heads()
            && self.flushed_through == finished
            && self.framing.at_rest()
            && self.held.is_empty()
            && self.refusal.is_none()
            && self.writing.is_none()
            && !self.broken
    }

    /// Ends hyper's read on a quiet connection: hyper sees the end of the
    /// stream and lets go without writing (`poll_shutdown` keeps the socket).
    fn park(&mut self) {
        self.parked = true;
        self.park_due = false;
    }

    /// After a request that asked to upgrade: `Ready` once its outcome is
    /// known (the framing check told which), `Pending` while it runs.
    fn poll_upgrade_outcome(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        if self.state.upgraded() {
            self.framing.upgraded();
            return Poll::Ready(());
        }
        self.state.register_reader(cx.waker());
        if self.state.in_flight() || self.state.finished() < self.framing.heads() {
            // Its end (`request_finished`) wakes this read again.
            return Poll::Pending;
        }
        // The 101 is marked before its request finishes: check again.
        if self.state.upgraded() {
            self.framing.upgraded();
        } else {
            self.framing.resume();
        }
        Poll::Ready(())
    }

    /// Answers a refused head once nothing else can be written before it,
    /// then ends the connection; `Pending` until then.
    fn poll_refusal(&mut self, refusal: Rejection, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if self.writing.is_none() {
            self.state.register_reader(cx.waker());
            let finished = self.state.finished();
            if self.state.in_flight()
                || finished < self.framing.heads()
                || self.flushed_through != finished
            {
                // Requests before it are still being answered (pipelining):
                // their end, or hyper's next flush, wakes this read again.
                return Poll::Pending;
            }
            self.writing = Some(RefusalWriter::new(refusal));
        }
        self.poll_refused(io::ErrorKind::InvalidData, cx)
    }

    /// Writes the refusal under way until all of it is out (or the client
    /// is gone), records it, then ends the read with an error of `kind`.
    fn poll_refused(&mut self, kind: io::ErrorKind, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let Some(writer) = self.writing.as_mut() else {
            return Poll::Ready(Err(io::Error::from(kind)));
        };
        if writer.poll_write_all(&mut self.inner, cx).is_pending() {
            return Poll::Pending;
        }
        let outcome = writer.outcome();
        self.state.set_rejected(outcome);
        Poll::Ready(Err(io::Error::new(kind, outcome.rejection.to_string())))
    }

    /// Sets the alarm (re-arming the sleep only when it moved).
    fn arm(&mut self, alarm: Alarm) {
        self.alarm = alarm;
        if self.sleep.deadline() != alarm.at() {
            self.sleep.as_mut().reset(alarm.at());
        }
    }

    /// Checks the timers while hyper waits for bytes; `Some` ends the read:
    /// `Ok` with the connection parked or to be closed quietly, an error
    /// after a 408.
    fn poll_timers(&mut self, cx: &mut Context<'_>) -> Option<io::Result<()>> {
        self.park_due = false;
        // A request in flight, or one whose whole head hyper has been given
        // (its head timer has nothing left to time; leaving the alarm where
        // it is spares a re-arm per request).
        if self.state.in_flight() || self.framing.heads() > self.state.finished() {
            let alarm = self.timers.in_flight(Instant::now(), self.sleep.deadline());
            self.arm(alarm);
            let _ = self.sleep.as_mut().poll(cx);
            return None;
        }
        // At most twice: a grace alarm that rings is decided on at once.
        loop {
            let now = Instant::now();
            let finished = self.state.finished();
            let finished_at = self.state.finished_at();
            let (mut alarm, ended) = self.timers.idle(finished, finished_at, now, true);
            if ended {
                self.state.set_head_started(false);
            }
            if let Alarm::Park(at) = alarm
                && at <= now
            {
                if self.quiet() {
                    self.park();
                    return Some(Ok(()));
                }
                // A response is still being written: its flush looks again,
                // and meanwhile the keep-alive period runs.
                self.park_due = true;
                self.state.register_reader(cx.waker());
                alarm = self.timers.idle(finished, finished_at, now, false).0;
            }
            self.arm(alarm);
            if self.sleep.as_mut().poll(cx).is_pending() {
                return None;
            }
            return match self.alarm {
                Alarm::Park(_) => continue,
                // Idle too long: end of stream, a quiet close.
                Alarm::Idle(_) | Alarm::LookAgain(_) => Some(Ok(())),
                Alarm::Head(_) => {
                    self.writing = Some(RefusalWriter::new(Rejection::HeadTimeout));
                    match self.poll_refused(io::ErrorKind::TimedOut, cx) {
                        Poll::Ready(result) => Some(result),
                        Poll::Pending => None,
                    }
                }
            };
        }
    }
}

impl AsyncRead for ClientIo {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = &mut *self;
        loop {
            if let Some(writer) = &this.writing
                && writer.rejection() == Rejection::HeadTimeout
            {
                return this.poll_refused(io::ErrorKind::TimedOut, cx);
            }
            if this.broken {
                return Poll::Ready(Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    "broken chunked request body",
                )));
            }
            if let Some(refusal) = this.refusal {
                return this.poll_refusal(refusal, cx);
            }
            if this.state.upgraded() && !this.framing.awaiting_upgrade() {
                // A tunnel: bytes pass untouched, and the client timers
                // (which are about request heads) no longer apply.
                if !this.held.is_empty() {
                    this.held.release_into(buf);
                    return Poll::Ready(Ok(()));
                }
                return Pin::new(&mut this.inner).poll_read(cx, buf);
            }
            if this.framing.awaiting_upgrade() {
                if this.poll_upgrade_outcome(cx).is_pending() {
                    return Poll::Pending;
                }
                continue;
            }
            let before = buf.filled().len();
            if this.held.is_empty() {
                match Pin::new(&mut this.inner).poll_read(cx, buf) {
                    Poll::Ready(Ok(())) => {}
                    Poll::Ready(Err(err)) => return Poll::Ready(Err(err)),
                    Poll::Pending => {
                        return match this.poll_timers(cx) {
                            Some(result) => Poll::Ready(result),
                            None => Poll::Pending,
                        };
                    }
                }
            } else {
                this.held.release_into(buf);
            }
            match this.framing.feed(&mut buf.filled_mut()[before..]) {
                Verdict::Pass => {}
                Verdict::Refuse { at, rejection } => {
                    // Only the bytes of earlier requests reach hyper.
                    buf.set_filled(before + at);
                    this.refusal = Some(rejection);
                    if at == 0 {
                        return this.poll_refusal(rejection, cx);
                    }
                }
                Verdict::Break { at } => {
                    // The body's bytes before the break reach hyper, then
                    // the read fails: hyper fails the body (400) and closes.
                    buf.set_filled(before + at);
                    this.broken = true;
                    if at == 0 {
                        continue;
                    }
                }
                Verdict::Hold { at } => {
                    // Keep what follows the upgrade request (ahead of any
                    // bytes already held) until its outcome is known.
                    this.held.hold_in_front(&buf.filled()[before + at..]);
                    buf.set_filled(before + at);
                    if at == 0 {
                        continue;
                    }
                }
            }
            if buf.filled().len() > before
                && !this.state.in_flight()
                && this
                    .timers
                    .bytes_arrived(this.state.finished(), Instant::now())
            {
                // The first bytes after a finished request start a new head.
                this.state.set_head_started(true);
            }
            return Poll::Ready(Ok(()));
        }
    }
}

impl AsyncWrite for ClientIo {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let flushed = Pin::new(&mut self.inner).poll_flush(cx);
        let finished = self.state.finished();
        if flushed.is_ready() && self.flushed_through != finished {
            self.flushed_through = finished;
            if self.refusal.is_some() || self.park_due {
                self.state.wake_reader();
            }
        }
        flushed
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if self.parked {
            // hyper closing after a parking read: the socket stays open.
            return Poll::Ready(Ok(()));
        }
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    const ASK: &[u8] =
        b"GET /ws HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: upgrade\r\n\r\n";

    /// A loopback pair: the client's end, and the server's wrapped in `ClientIo`.
    async fn pair() -> (TcpStream, ClientIo, Arc<ConnState>) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let client = TcpStream::connect(listener.local_addr().expect("addr"))
            .await
            .expect("connect");
        let (server, _) = listener.accept().await.expect("accept");
        let state = Arc::new(ConnState::default());
        let timeouts = ClientTimeouts {
            keepalive: Duration::from_secs(60),
            header: Duration::from_secs(60),
        };
        let io = ClientIo::new(server, state.clone(), timeouts, 4096);
        (client, io, state)
    }

    /// Reads what `io` hands over, until it has `n` bytes or stops for
    /// `quiet` (long when bytes are expected, short to show none come).
    async fn read_within(io: &mut ClientIo, n: usize, quiet: Duration) -> io::Result<Vec<u8>> {
        let mut out = Vec::new();
        let mut buf = [0u8; 1024];
        while out.len() < n {
            match tokio::time::timeout(quiet, io.read(&mut buf)).await {
                Ok(Ok(0)) | Err(_) => break,
                Ok(Ok(got)) => out.extend_from_slice(&buf[..got]),
                Ok(Err(err)) => return Err(err),
            }
        }
        Ok(out)
    }

    /// The next `n` bytes `io` hands over (fewer if it stops for 5 s).
    async fn read_some(io: &mut ClientIo, n: usize) -> io::Result<Vec<u8>> {
        read_within(io, n, Duration::from_secs(5)).await
    }

    /// Whether `io` holds everything back for a while.
    async fn holds_back(io: &mut ClientIo) -> bool {
        matches!(read_within(io, 1, Duration::from_millis(100)).await, Ok(v) if v.is_empty())
    }

    /// A quiet connection parks a grace period after its request ended:
    /// hyper sees the end of the stream, its close keeps the socket, and
    /// what is parked closes when the keep-alive period ends.
    #[tokio::test]
    async fn a_quiet_connection_parks_after_its_grace_and_keeps_the_socket() {
        let (mut client, io, state) = pair().await;
        let mut io = Box::new(io);
        io.allow_parking(Duration::from_millis(300));
        client
            .write_all(b"GET / HTTP/1.1\r\nHost: h\r\n\r\n")
            .await
            .expect("write");
        assert_eq!(read_some(&mut io, 27).await.expect("read").len(), 27);
        state.request_started();
        // In flight, or answered but not yet flushed: never parked.
        assert!(holds_back(&mut io).await);
        state.request_finished();
        let ended = Instant::now();
        // Past the grace, but the response is not flushed yet.
        let _ = read_within(&mut io, 1, Duration::from_millis(500)).await;
        assert!(!io.parked());
        io.flush().await.expect("flush");
        let mut buf = [0u8; 16];
        assert_eq!(io.read(&mut buf).await.expect("parked read"), 0);
        assert!(io.parked());
        assert!(ended.elapsed() >= Duration::from_millis(300));
        io.shutdown().await.expect("kept open");
        let (parked, closing) = io.into_parked();
        assert!(closing >= ended + Duration::from_secs(59));
        // The socket is still the client's: its bytes are there to read.
        client.write_all(b"GET /").await.expect("write");
        std::future::poll_fn(|cx| parked.poll_readable(cx)).await;
    }

    /// A request that takes longer than the keep-alive period is not cut,
    /// and the idle time after it counts from when it finished, though its
    /// end wakes nothing.
    #[tokio::test(start_paused = true)]
    async fn keep_alive_counts_from_the_end_of_a_long_request() {
        let (mut client, mut io, state) = pair().await;
        client
            .write_all(b"GET / HTTP/1.1\r\nHost: h\r\n\r\n")
            .await
            .expect("write");
        assert_eq!(read_some(&mut io, 27).await.expect("read").len(), 27);
        state.request_started();
        let read = tokio::spawn(async move {
            let mut buf = [0u8; 64];
            let started = Instant::now();
            let got = io.read(&mut buf).await;
            (got.map_err(|e| e.kind()), started.elapsed())
        });
        // In flight for longer than the keep-alive period: the connection stays.
        tokio::time::sleep(Duration::from_secs(100)).await;
        assert!(!read.is_finished(), "cut while a request was in flight");
        state.request_finished();
        let (got, after) = read.await.expect("read task");
        assert_eq!(got, Ok(0), "a quiet close once idle too long");
        // 100 s in flight, then 60 s idle: the alarm looked at 60 s (still
        // in flight) and at 120 s, and counted from the end at 100 s.
        assert!(
            after >= Duration::from_secs(160) && after < Duration::from_secs(161),
            "closed after {after:?}"
        );
    }

    #[tokio::test]
    async fn bytes_after_a_refused_upgrade_are_checked_as_the_next_head() {
        let (mut client, mut io, state) = pair().await;
        let mut stream = ASK.to_vec();
        stream.extend_from_slice(b"GET /next HTTP/1.1\nHost: h\n\n");
        client.write_all(&stream).await.expect("write");
        // Only the upgrade request reaches hyper while it runs.
        assert_eq!(read_some(&mut io, ASK.len()).await.expect("read"), ASK);
        state.request_started();
        assert!(holds_back(&mut io).await);
        // No 101: once the response is out (hyper flushes), the held head
        // (bare LF) is refused with its 400.
        state.request_finished();
        io.flush().await.expect("flush");
        let err = read_some(&mut io, 1).await.expect_err("refused");
        assert_eq!(err.kind(), io::ErrorKind::InvalidData);
        let wire = Rejection::Malformed.wire();
        assert_eq!(
            state.rejected(),
            Some(Rejected {
                rejection: Rejection::Malformed,
                body_bytes: 16
            })
        );
        let mut answer = vec![0u8; wire.len()];
        client.read_exact(&mut answer).await.expect("answer");
        assert_eq!(answer, wire);
    }

    #[tokio::test]
    async fn bytes_after_an_accepted_upgrade_pass_unchecked() {
        let (mut client, mut io, state) = pair().await;
        client.write_all(ASK).await.expect("write");
        assert_eq!(read_some(&mut io, ASK.len()).await.expect("read"), ASK);
        state.request_started();
        let frames = b"\x81\x05hello\n\n\nnot http at all\r\n\r\n";
        client.write_all(frames).await.expect("write");
        assert!(holds_back(&mut io).await);
        // The 101 is marked before its (empty) response ends.
        state.mark_upgraded();
        state.request_finished();
        assert_eq!(
            read_some(&mut io, frames.len()).await.expect("read"),
            frames
        );
        client.write_all(b"more\n\n").await.expect("write");
        assert_eq!(read_some(&mut io, 6).await.expect("read"), b"more\n\n");
        assert_eq!(state.rejected(), None);
    }
}
