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
pub(crate) const DEFAULT_NEXT_HOP: &str = "next-hop:80";

/// How long an idle connection to the next hop is kept.
const POOL_IDLE: Duration = Duration::from_secs(30);

/// The most idle connections kept (more are opened under load, then closed).
const POOL_MAX_IDLE: usize = 1024;

/// How much a connection to the next hop buffers of what it reads: how far
/// a response body is read ahead of the client, and the response head it
/// can hold (a 64 KiB head always passes; past about twice that, 502 —
/// nginx's default is 4 or 8 KiB, HAProxy's 16 KiB). hyper's default,
/// about 400 KiB, let 64 clients downloading large files hold 60 MiB.
const UPSTREAM_READ_BUFFER: usize = 64 * 1024;

/// A request body sent upstream: the client's, or none at all.
pub(crate) type UpstreamBody = Either<Incoming, Empty<Bytes>>;

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
pub(crate) struct UpstreamResponse {
    /// The response, body still streaming.
    pub(crate) response: Response<Incoming>,
    /// From sending to the response head.
    pub(crate) elapsed: Duration,
    /// The connection, to give back once the body has ended.
    pub(crate) connection: Lent,
}

/// Why no connection to the next hop could be made.
#[derive(Debug)]
pub(crate) enum ConnectError {
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

    /// Applies new settings: the connect timeout holds for new connections.
    pub(crate) fn configure(&self, settings: &Settings) {
        self.connect_timeout_ms
            .store(millis(settings.upstream_connect_timeout), Ordering::Relaxed);
    }

    /// Sends the request; waits at most `response_timeout` for the response head.
    pub(crate) async fn send(
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
                Err(mut refused) => {
                    if let Some(unsent) = refused.take_message() {
                        request = unsent;
                        continue;
                    }
                    let err = refused.into_error();
                    match again {
                        Some(copy) if connection_was_stale(&err) => {
                            tracing::debug!(
                                "pooled connection to the next hop was closed; retrying once: {err}"
                            );
                            request = copy;
                            break;
                        }
                        _ => return Err(failed(err)),
                    }
                }
            }
        }
        let mut sender = self.connect().await.map_err(ProxyError::UpstreamConnect)?;
        match sender.send_request(request).await {
            Ok(response) => Ok((response, Lent::new(self.pool.clone(), sender))),
            Err(err) => Err(failed(err)),
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
        if let Ok(address) = stream.peer_addr() {
            tracing::debug!(next_hop = %self.authority, %address, "new connection to the next hop");
        }
        let (sender, connection) = client_builder()
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

/// hyper's client as every connection to the next hop runs it (the
/// response-side fuzz target reads next-hop answers with it too).
pub fn client_builder() -> hyper::client::conn::http1::Builder {
    let mut builder = hyper::client::conn::http1::Builder::new();
    builder.max_buf_size(UPSTREAM_READ_BUFFER);
    builder
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

/// The error of a request that went out: the client's fault when its body
/// failed, else the next hop's.
fn failed(err: hyper::Error) -> ProxyError {
    if client_body_failed(&err) {
        ProxyError::ClientBody(err)
    } else {
        ProxyError::UpstreamFailed(err)
    }
}

/// Whether the request failed because the body being sent (the client's,
/// the only fallible body sent upstream) failed: hyper reports it as a user
/// body error whose source is the client connection's own `hyper::Error`.
fn client_body_failed(err: &hyper::Error) -> bool {
    err.is_user() && err.source().is_some_and(|cause| cause.is::<hyper::Error>())
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

#[cfg(test)]
mod tests {
    use super::*;
    use http::Uri;
    use hyper::server::conn::http1;
    use hyper_util::rt::TokioIo;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    /// A client request whose chunked body is broken, relayed to a next hop
    /// that reads everything and never answers: the failure is the client's.
    #[tokio::test]
    async fn a_broken_client_body_is_a_client_error() {
        let next_hop = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let authority = next_hop.local_addr().expect("addr").to_string();
        tokio::spawn(async move {
            if let Ok((mut stream, _)) = next_hop.accept().await {
                let mut sink = [0u8; 4096];
                while matches!(stream.read(&mut sink).await, Ok(n) if n > 0) {}
            }
        });
        let upstream = Arc::new(Upstream::new(&authority, &Settings::default()));
        let (mut client, server) = tokio::io::duplex(4096);
        let (tx, rx) = tokio::sync::oneshot::channel();
        let tx = std::sync::Mutex::new(Some(tx));
        let service = hyper::service::service_fn(move |request: Request<Incoming>| {
            let upstream = upstream.clone();
            let tx = tx.lock().ok().and_then(|mut t| t.take());
            async move {
                let (mut parts, body) = request.into_parts();
                parts.uri = Uri::from_static("/");
                let sent = upstream
                    .send(
                        Request::from_parts(parts, Either::Left(body)),
                        Duration::from_secs(10),
                    )
                    .await;
                if let Some(tx) = tx {
                    let _ = tx.send(sent.err());
                }
                Ok::<_, std::convert::Infallible>(Response::new(Empty::<Bytes>::new()))
            }
        });
        tokio::spawn(http1::Builder::new().serve_connection(TokioIo::new(server), service));
        client
            .write_all(b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\nzz\r\n")
            .await
            .expect("write");
        let err = rx.await.expect("the service ran").expect("an error");
        assert!(matches!(err, ProxyError::ClientBody(_)), "{err:?}");
        assert_eq!(err.status(), http::StatusCode::BAD_REQUEST);
        assert_eq!(err.side(), super::super::error::Side::Downstream);
    }
}
