//! One client connection: HTTP/1.1 with keep-alive and upgrades, the client
//! timeouts, graceful shutdown, and one access-log line for each request that
//! was rejected before the service (framing check or hyper: malformed 400,
//! oversized 431, too slow 408).

use std::net::IpAddr;
use std::sync::Arc;
use std::time::SystemTime;

use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpStream;
use tokio::sync::watch;

use super::client_io::{ClientIo, ClientTimeouts, ConnState};
use super::data_plane::DataPlane;
use super::drain::{DrainToken, stopping};
use super::parking::{Parkable, ParkingSpot};
use super::rejection::Rejection;
use super::service::{ConnectionContext, handle};
use crate::ops::access_record::{AccessRecord, LogAction};

/// Most header fields accepted in one request head (hyper's default is 100);
/// the framing check refuses more with 431 before hyper sees them.
const MAX_HEADERS: usize = super::framing::MAX_HEADERS;

/// Serves the connection until the client leaves, a timeout closes it, or
/// shutdown is requested (then in-flight requests finish first).
pub async fn serve(
    stream: TcpStream,
    peer: IpAddr,
    plane: Arc<DataPlane>,
    mut shutdown: watch::Receiver<bool>,
    drain: DrainToken,
) {
    let settings = plane.rules().settings.clone();
    let state = Arc::new(ConnState::default());
    let timeouts = ClientTimeouts {
        keepalive: settings.keepalive_timeout,
        header: settings.client_header_timeout,
    };
    // The service answers 431 above the configured limit; heads twice as
    // large are refused by the framing check (and hyper's parser) unread.
    let parser_limit = settings.max_request_header_bytes.saturating_mul(2);
    let mut io = ClientIo::new(stream, state.clone(), timeouts, parser_limit);
    let builder = http1_builder(parser_limit);
    let ctx = ConnectionContext {
        plane: plane.clone(),
        peer,
        state: state.clone(),
        drain,
    };
    let spot = ParkingSpot::default();
    // One hyper connection per busy stretch: parked between them (see
    // `parking`), the connection holds no hyper buffers.
    let result = loop {
        let ctx = ctx.clone();
        let service = service_fn(move |request| handle(ctx.clone(), request));
        // Boxed, so that the task of a parked connection stays small.
        let mut connection = Box::pin(
            builder
                .serve_connection(TokioIo::new(Parkable::new(io, spot.clone())), service)
                .with_upgrades(),
        );
        let result = tokio::select! {
            result = connection.as_mut() => result,
            () = stopping(&mut shutdown) => {
                connection.as_mut().graceful_shutdown();
                connection.as_mut().await
            }
        };
        // hyper drops the socket wrapper with the connection: a parked one
        // lands in its spot.
        drop(connection);
        let parked = spot.lock().ok().and_then(|mut spot| spot.take());
        match parked {
            Some(mut quiet) if result.is_ok() => {
                let bytes = tokio::select! {
                    bytes = quiet.wait_for_bytes() => bytes,
                    () = stopping(&mut shutdown) => false,
                };
                if !bytes {
                    return;
                }
                io = *quiet;
            }
            _ => break result,
        }
    };
    // A head refused by the framing check ends the connection with a read
    // error that hyper reports as a quiet close when its buffer was empty.
    match &result {
        Err(err) => log_connection_error(Some(err), &state, peer, &plane),
        Ok(()) if state.rejected().is_some() => log_connection_error(None, &state, peer, &plane),
        Ok(()) => {}
    }
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
