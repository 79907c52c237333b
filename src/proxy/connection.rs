//! One client connection: HTTP/1.1 with keep-alive and upgrades, the client
//! timeouts, graceful shutdown, parking while idle (one hyper connection per
//! busy stretch, see `parking`), and one access-log line for each request
//! that was rejected before the service (framing check or hyper: malformed
//! 400, oversized 431, too slow 408).

use std::future::Future;
use std::net::IpAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::Poll;
use std::time::SystemTime;

use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpStream;
use tokio::sync::watch;
use tokio::time::{Instant, Sleep};

use super::client_io::{ClientIo, ClientTimeouts, ConnState, Parked};
use super::data_plane::DataPlane;
use super::drain::{DrainToken, stopping};
use super::parking::{PARK_AFTER, Parkable, ParkingSpot};
use super::rejection::Rejection;
use super::service::{ConnectionContext, handle};
use crate::log::access_record::{AccessRecord, LogAction};

/// Most header fields accepted in one request head (hyper's default is 100);
/// the framing check refuses more with 431 before hyper sees them.
const MAX_HEADERS: usize = super::framing::MAX_HEADERS;

/// Serves the connection until the client leaves, a timeout closes it, or
/// shutdown is requested (then in-flight requests finish first). Between
/// busy stretches the connection is parked (see `parking`); the task then
/// holds little more than the socket. (The socket wrapper is made here,
/// before the task's future, so that the future is not sized for the
/// arguments it would otherwise keep.)
pub(crate) fn serve(
    stream: TcpStream,
    peer: IpAddr,
    plane: Arc<DataPlane>,
    shutdown: watch::Receiver<bool>,
    drain: DrainToken,
) -> impl Future<Output = ()> + Send + 'static {
    let (timeouts, head_limit) = client_limits(&plane);
    let state = Arc::new(ConnState::default());
    let mut io = Box::new(ClientIo::new(stream, state, timeouts, head_limit));
    io.allow_parking(PARK_AFTER);
    serve_stretches(io, peer, plane, shutdown, drain)
}

/// The client timeouts and the framing check's head limit, as configured
/// now: read when a connection is accepted and when it is served again
/// after parking.
fn client_limits(plane: &DataPlane) -> (ClientTimeouts, usize) {
    let settings = &plane.rules().settings;
    let timeouts = ClientTimeouts {
        keepalive: settings.keepalive_timeout,
        header: settings.client_header_timeout,
    };
    // The service answers 431 above the configured limit; heads twice as
    // large are refused by the framing check (and hyper's parser) unread.
    (
        timeouts,
        settings.max_request_header_bytes.saturating_mul(2),
    )
}

/// Busy stretches (each its own hyper connection) and parked waits in
/// turn, until the connection ends.
async fn serve_stretches(
    mut io: Box<ClientIo>,
    peer: IpAddr,
    plane: Arc<DataPlane>,
    mut shutdown: watch::Receiver<bool>,
    drain: DrainToken,
) {
    loop {
        // Boxed: the task of a parked connection is not sized for hyper's.
        let busy = Box::pin(serve_busy(io, peer, &plane, &mut shutdown, &drain));
        let Some((parked, closing)) = busy.await else {
            return;
        };
        let closing = std::pin::pin!(tokio::time::sleep_until(closing));
        if !wait_parked(&parked, closing, &mut shutdown).await {
            return;
        }
        let (timeouts, head_limit) = client_limits(&plane);
        io = ClientIo::resume(parked, timeouts, head_limit);
        io.allow_parking(PARK_AFTER);
    }
}

/// Waits while parked: `true` once the client sends bytes, `false` when
/// its keep-alive period ends (`closing`) or shutdown is requested (a
/// parked connection has nothing in flight: it closes at once). One
/// hand-polled future, `changed` rather than `stopping`: every parked task
/// keeps it, and the smaller it is the smaller the task.
async fn wait_parked(
    parked: &Parked,
    mut closing: Pin<&mut Sleep>,
    shutdown: &mut watch::Receiver<bool>,
) -> bool {
    loop {
        if *shutdown.borrow_and_update() {
            return false;
        }
        let mut changed = std::pin::pin!(shutdown.changed());
        let outcome = std::future::poll_fn(|cx| {
            if parked.poll_readable(cx).is_ready() {
                return Poll::Ready(Some(true));
            }
            if closing.as_mut().poll(cx).is_ready() {
                return Poll::Ready(Some(false));
            }
            match changed.as_mut().poll(cx) {
                // The sender is gone: as good as shutdown.
                Poll::Ready(Err(_)) => Poll::Ready(Some(false)),
                Poll::Ready(Ok(())) => Poll::Ready(None),
                Poll::Pending => Poll::Pending,
            }
        })
        .await;
        if let Some(woken) = outcome {
            return woken;
        }
    }
}

/// One busy stretch: a hyper connection over `io` until the connection ends
/// (`None`) or is parked (what it keeps, to wait for bytes).
async fn serve_busy(
    io: Box<ClientIo>,
    peer: IpAddr,
    plane: &Arc<DataPlane>,
    shutdown: &mut watch::Receiver<bool>,
    drain: &DrainToken,
) -> Option<(Parked, Instant)> {
    let state = io.conn_state().clone();
    let builder = http1_builder(io.head_limit());
    let ctx = ConnectionContext {
        plane: plane.clone(),
        peer,
        state: state.clone(),
        drain: drain.clone(),
    };
    let service = service_fn(move |request| handle(ctx.clone(), request));
    let spot = ParkingSpot::default();
    let result = {
        let connection = builder
            .serve_connection(TokioIo::new(Parkable::new(io, spot.clone())), service)
            .with_upgrades();
        tokio::pin!(connection);
        tokio::select! {
            result = connection.as_mut() => result,
            () = stopping(shutdown) => {
                connection.as_mut().graceful_shutdown();
                connection.await
            }
        }
        // hyper drops the socket wrapper with the connection: a parked one
        // lands in its spot.
    };
    if let Some(io) = spot.take().filter(|_| result.is_ok()) {
        return Some(io.into_parked());
    }
    // A head refused by the framing check ends the connection with a read
    // error that hyper reports as a quiet close when its buffer was empty.
    match &result {
        Err(err) => log_connection_error(Some(err), &state, peer, plane),
        Ok(()) if state.rejected().is_some() => log_connection_error(None, &state, peer, plane),
        Ok(()) => {}
    }
    None
}

/// hyper's server as every client connection runs it, for heads up to
/// `parser_limit` bytes (the framing check's limit). The fuzz target that
/// compares the framing check with hyper builds its server here too.
pub fn http1_builder(parser_limit: usize) -> http1::Builder {
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(None)
        .keep_alive(true)
        .max_headers(MAX_HEADERS)
        // One byte of slack: hyper refuses a partial head *at* its limit, the
        // framing check only *past* it, so the framing check answers first.
        .max_header_size(parser_limit + 1)
        .max_buf_size(parser_limit.max(408 * 1024));
    builder
}

/// Turns a connection-level failure into its access-log line when it was a
/// rejected request, and into an error-log line in any case.
fn log_connection_error(
    err: Option<&hyper::Error>,
    state: &ConnState,
    peer: IpAddr,
    plane: &DataPlane,
) {
    // What the socket wrapper wrote itself comes first: hyper only saw the
    // read fail. Else hyper refused the head (and answered, empty-bodied).
    let (rejection, body_bytes) = match (state.rejected(), err) {
        (Some(rejected), _) => (rejected.rejection, rejected.body_bytes),
        (None, Some(err)) => match Rejection::of_parser_error(err) {
            Some(rejection) => (rejection, 0),
            None => {
                tracing::debug!(%peer, "client connection ended: {err}");
                return;
            }
        },
        (None, None) => return,
    };
    let status = rejection.status().as_u16();
    match err {
        Some(err) if state.rejected().is_none() => {
            tracing::info!(%peer, status, "rejected before the service: {err}")
        }
        _ => tracing::info!(%peer, status, "rejected before the service: {rejection}"),
    }
    let format = plane.rules().settings.access_log;
    // Nothing of the request is known: every text field is `-`.
    let record = AccessRecord {
        time: SystemTime::now(),
        client_ip: peer,
        status,
        bytes_sent: body_bytes,
        action: LogAction::Error,
        ..AccessRecord::placeholder()
    };
    plane.access_log.record(record, format);
}
