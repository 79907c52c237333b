//! The next hop: HTTP/1.1 connections from a pool, each new one resolved
//! through the system resolver (so `/etc/hosts` changes are followed) and
//! bounded by the connect timeout; the response head is bounded by the
//! response timeout, and a request that a reused connection could not carry
//! is sent once more on a fresh one when that is safe.

use std::error::Error as StdError;
use std::fmt;
use std::io;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{Method, Request, Response};
use http_body_util::{Either, Empty};
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

use super::error::ProxyError;
use super::pool::{Lent, Pool, Sender};
use crate::rules::Settings;

/// The platform's next hop.
pub const DEFAULT_NEXT_HOP: &str = "next-hop:80";

/// How long an idle connection to the next hop is kept.
const POOL_IDLE: Duration = Duration::from_secs(30);

/// The most idle connections kept (more are opened under load, then closed).
const POOL_MAX_IDLE: usize = 1024;

/// A request body sent upstream: the client's, or none at all.
pub type UpstreamBody = Either<Incoming, Empty<Bytes>>;

/// The platform's next hop and the connections that reach it; `configure`
/// applies a reload's connect timeout to new connections.
pub struct Upstream {
    authority: String,
    connect_timeout_ms: AtomicU64,
    pool: Arc<Pool>,
}

impl fmt::Debug for Upstream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Upstream")
            .field("authority", &self.authority)
            .finish()
    }
}

/// The next hop's response, with how long its head took and the connection
/// that carries its body.
#[derive(Debug)]
pub struct UpstreamResponse {
    /// The response, body still streaming.
    pub response: Response<Incoming>,
    /// From sending to the response head.
    pub elapsed: Duration,
    /// The connection, to give back once the body has ended.
    pub connection: Lent,
}

/// Why no connection to the next hop could be made.
#[derive(Debug)]
pub enum ConnectError {
    /// The name did not resolve.
    Resolve(io::Error),
    /// The name resolved to no address.
    NoAddress,
    /// Every address refused or failed.
    Connect(io::Error),
    /// Resolution and connection took longer than `upstream_connect_timeout`.
    Timeout(Duration),
    /// The connection was made but could not be set up for HTTP.
    Handshake(hyper::Error),
}

impl fmt::Display for ConnectError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConnectError::Resolve(err) => write!(f, "cannot resolve: {err}"),
            ConnectError::NoAddress => f.write_str("the name has no address"),
            ConnectError::Connect(err) => write!(f, "{err}"),
            ConnectError::Timeout(after) => {
                write!(f, "no connection within {} ms", after.as_millis())
            }
            ConnectError::Handshake(err) => write!(f, "handshake failed: {err}"),
        }
    }
}

impl StdError for ConnectError {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        match self {
            ConnectError::Resolve(err) | ConnectError::Connect(err) => Some(err),
            ConnectError::Handshake(err) => Some(err),
            ConnectError::NoAddress | ConnectError::Timeout(_) => None,
        }
    }
}

impl Upstream {
    /// The next hop at `authority` (`host:port`) with the settings' connect timeout.
    pub fn new(authority: &str, settings: &Settings) -> Self {
        Upstream {
            authority: authority.to_owned(),
            connect_timeout_ms: AtomicU64::new(millis(settings.upstream_connect_timeout)),
            pool: Pool::new(POOL_MAX_IDLE, POOL_IDLE),
        }
    }

    /// The `host:port` requests are sent to.
    pub fn authority(&self) -> &str {
        &self.authority
    }

    /// Applies new settings: the connect timeout holds for new connections.
    pub fn configure(&self, settings: &Settings) {
        self.connect_timeout_ms
            .store(millis(settings.upstream_connect_timeout), Ordering::Relaxed);
    }

    /// How many idle connections are pooled now.
    pub fn idle_connections(&self) -> usize {
        self.pool.idle()
    }

    /// Sends the request; waits at most `response_timeout` for the response head.
    pub async fn send(
        &self,
        request: Request<UpstreamBody>,
        response_timeout: Duration,
    ) -> Result<UpstreamResponse, ProxyError> {
        let started = Instant::now();
        match tokio::time::timeout(response_timeout, self.exchange(request)).await {
            Err(_) => Err(ProxyError::UpstreamTimeout(response_timeout)),
            Ok(Err(err)) => Err(err),
            Ok(Ok((response, connection))) => Ok(UpstreamResponse {
                response,
                elapsed: started.elapsed(),
                connection,
            }),
        }
    }

    /// Tries pooled connections, then a fresh one.
    ///
    /// A pooled connection found closed before the request was written costs
    /// nothing: the request is taken back and the next one tried. One that
    /// broke after the request went out, before any response byte, is the
    /// next hop closing an idle connection as it was reused; an idempotent
    /// request without a body is then sent once more on a fresh connection,
    /// anything else fails (it may have been acted on).
    async fn exchange(
        &self,
        mut request: Request<UpstreamBody>,
    ) -> Result<(Response<Incoming>, Lent), ProxyError> {
        while let Some(mut sender) = self.pool.take() {
            if sender.ready().await.is_err() {
                continue;
            }
            let again = replayable(&request);
            match sender.try_send_request(request).await {
                Ok(response) => return Ok((response, Lent::new(self.pool.clone(), sender))),
                Err(mut failed) => {
                    if let Some(unsent) = failed.take_message() {
                        request = unsent;
                        continue;
                    }
                    let err = failed.into_error();
                    match again {
                        Some(copy) if connection_was_stale(&err) => {
                            tracing::debug!(
                                "pooled connection to the next hop was closed; retrying once: {err}"
                            );
                            request = copy;
                            break;
                        }
                        _ => return Err(ProxyError::UpstreamFailed(err)),
                    }
                }
            }
        }
        let mut sender = self.connect().await.map_err(ProxyError::UpstreamConnect)?;
        match sender.send_request(request).await {
            Ok(response) => Ok((response, Lent::new(self.pool.clone(), sender))),
            Err(err) => Err(ProxyError::UpstreamFailed(err)),
        }
    }

    /// A new connection: resolve (getaddrinfo, so `/etc/hosts` is read
    /// anew), connect to each address in turn, all within the connect
    /// timeout; the connection is driven by a task of its own.
    async fn connect(&self) -> Result<Sender, ConnectError> {
        let limit = Duration::from_millis(self.connect_timeout_ms.load(Ordering::Relaxed));
        let stream = tokio::time::timeout(limit, open(&self.authority))
            .await
            .map_err(|_| ConnectError::Timeout(limit))??;
        // Requests are written whole; Nagle would only delay them.
        stream.set_nodelay(true).map_err(ConnectError::Connect)?;
        let (sender, connection) = hyper::client::conn::http1::Builder::new()
            .handshake(TokioIo::new(stream))
            .await
            .map_err(ConnectError::Handshake)?;
        tokio::spawn(async move {
            if let Err(err) = connection.with_upgrades().await {
                tracing::debug!("connection to the next hop ended: {err}");
            }
        });
        Ok(sender)
    }
}

/// Resolves `authority` and connects to the first address that accepts.
async fn open(authority: &str) -> Result<TcpStream, ConnectError> {
    let addresses = tokio::net::lookup_host(authority)
        .await
        .map_err(ConnectError::Resolve)?;
    let mut last = None;
    for address in addresses {
        match TcpStream::connect(address).await {
            Ok(stream) => return Ok(stream),
            Err(err) => last = Some(err),
        }
    }
    Err(last.map_or(ConnectError::NoAddress, ConnectError::Connect))
}

fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

/// A copy of an idempotent, bodiless request, to send again on a fresh
/// connection; `None` when the request must not be replayed.
fn replayable(request: &Request<UpstreamBody>) -> Option<Request<UpstreamBody>> {
    let idempotent = matches!(
        *request.method(),
        Method::GET | Method::HEAD | Method::OPTIONS | Method::TRACE
    );
    if !idempotent || matches!(request.body(), Either::Left(_)) {
        return None;
    }
    let mut copy = Request::new(Either::Right(Empty::new()));
    *copy.method_mut() = request.method().clone();
    *copy.uri_mut() = request.uri().clone();
    *copy.version_mut() = request.version();
    *copy.headers_mut() = request.headers().clone();
    Some(copy)
}

/// Whether the error means a reused connection was already closed by the
/// next hop before any response byte (so replaying is safe for idempotent
/// requests).
fn connection_was_stale(err: &hyper::Error) -> bool {
    if err.is_incomplete_message() || err.is_canceled() {
        return true;
    }
    let mut source: Option<&(dyn StdError + 'static)> = err.source();
    while let Some(inner) = source {
        if let Some(io_err) = inner.downcast_ref::<io::Error>() {
            use std::io::ErrorKind::*;
            if matches!(
                io_err.kind(),
                ConnectionReset | ConnectionAborted | BrokenPipe | UnexpectedEof
            ) {
                return true;
            }
        }
        source = inner.source();
    }
    false
}
