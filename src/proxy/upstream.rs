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

use http::{Method, Request, Response};
use hyper::body::Incoming;
use tokio::net::TcpStream;

use super::error::ProxyError;
use super::next_hop::{Connection, ExchangeError, Exchanged};
use super::next_hop_body::NextHopBody;
use super::pool::Pool;
use crate::rules::Settings;

/// The platform's next hop.
pub(crate) const DEFAULT_NEXT_HOP: &str = "next-hop:80";

/// How long an idle connection to the next hop is kept.
const POOL_IDLE: Duration = Duration::from_secs(30);

/// The most idle connections kept (more are opened under load, then closed).
const POOL_MAX_IDLE: usize = 1024;

/// A request body sent upstream: the client's, or none at all.
pub(crate) type UpstreamBody = Option<Incoming>;

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

/// The next hop's response, with how long its head took.
#[derive(Debug)]
pub(crate) struct UpstreamResponse {
    /// The response, its body still streaming on the connection (which
    /// goes back to the pool from the body once it has ended).
    pub(crate) response: Response<NextHopBody>,
    /// From sending to the response head.
    pub(crate) elapsed: Duration,
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
        }
    }
}

impl StdError for ConnectError {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        match self {
            ConnectError::Resolve(err) | ConnectError::Connect(err) => Some(err),
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
        let (parts, body) = request.into_parts();
        match tokio::time::timeout(response_timeout, self.exchange(&parts, body)).await {
            Err(_) => Err(ProxyError::UpstreamTimeout(response_timeout)),
            Ok(Err(err)) => Err(err),
            Ok(Ok(exchanged)) => Ok(UpstreamResponse {
                response: self.response(exchanged),
                elapsed: started.elapsed(),
            }),
        }
    }

    /// Tries the most recent pooled connection, then a fresh one.
    ///
    /// Pooled connections the next hop closed while idle are passed over
    /// before anything is written. One that broke after the request went
    /// out, before a whole response head, is the next hop closing an idle
    /// connection as it was reused; an idempotent request without a body is
    /// then sent once more on a fresh connection, anything else fails (it
    /// may have been acted on).
    async fn exchange(
        &self,
        parts: &http::request::Parts,
        body: UpstreamBody,
    ) -> Result<Exchanged, ProxyError> {
        let replay = replayable(parts, &body);
        let mut body = body;
        if let Some(connection) = self.pool.take() {
            match connection.exchange(parts, body.take()).await {
                Ok(exchanged) => return Ok(exchanged),
                Err(ExchangeError::NextHop(err)) if replay && err.is_stale() => {
                    tracing::debug!(
                        "pooled connection to the next hop was closed; retrying once: {err}"
                    );
                }
                Err(err) => return Err(failed(err)),
            }
        }
        let connection = self.connect().await.map_err(ProxyError::UpstreamConnect)?;
        connection.exchange(parts, body).await.map_err(failed)
    }

    /// The response as the client side takes it: the head's fields, the
    /// unusual reason phrase kept, and a body that frees the connection.
    fn response(&self, exchanged: Exchanged) -> Response<NextHopBody> {
        let Exchanged {
            head,
            connection,
            request_sent,
        } = exchanged;
        let reusable = head.keep_alive && request_sent;
        let body = NextHopBody::new(
            connection,
            head.framing,
            reusable.then(|| self.pool.clone()),
        );
        let mut response = Response::new(body);
        *response.status_mut() = head.status;
        *response.version_mut() = head.version;
        *response.headers_mut() = head.headers;
        if let Some(reason) = head.reason {
            response.extensions_mut().insert(reason);
        }
        response
    }

    /// A new connection: resolve (getaddrinfo, so `/etc/hosts` is read
    /// anew), connect to each address in turn, all within the connect
    /// timeout.
    async fn connect(&self) -> Result<Connection, ConnectError> {
        let limit = Duration::from_millis(self.connect_timeout_ms.load(Ordering::Relaxed));
        let stream = tokio::time::timeout(limit, open(&self.authority))
            .await
            .map_err(|_| ConnectError::Timeout(limit))??;
        // Requests are written whole; Nagle would only delay them.
        stream.set_nodelay(true).map_err(ConnectError::Connect)?;
        if let Ok(address) = stream.peer_addr() {
            tracing::debug!(next_hop = %self.authority, %address, "new connection to the next hop");
        }
        Ok(Connection::new(stream))
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

/// Whether the request may be sent once more on a fresh connection: an
/// idempotent method and no body.
fn replayable(parts: &http::request::Parts, body: &UpstreamBody) -> bool {
    matches!(
        parts.method,
        Method::GET | Method::HEAD | Method::OPTIONS | Method::TRACE
    ) && body.is_none()
}

/// The error of a request that went out: the client's fault when its body
/// failed, else the next hop's.
fn failed(err: ExchangeError) -> ProxyError {
    match err {
        ExchangeError::ClientBody(err) => ProxyError::ClientBody(err),
        ExchangeError::NextHop(err) => ProxyError::UpstreamFailed(err),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;
    use http::Uri;
    use http_body_util::Empty;
    use hyper::server::conn::http1;
    use hyper_util::rt::TokioIo;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    /// What `send` gave for one client request written as `bytes` and
    /// served by hyper with `upstream` as its next hop, mapped by `seen`
    /// while the service still holds the pool (its idle count included).
    async fn relay<T: Send + 'static>(
        upstream: Arc<Upstream>,
        bytes: &'static [u8],
        seen: fn(Result<UpstreamResponse, ProxyError>, &Upstream) -> T,
    ) -> T {
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
                        Request::from_parts(parts, Some(body)),
                        Duration::from_secs(10),
                    )
                    .await;
                if let Some(tx) = tx {
                    let _ = tx.send(seen(sent, &upstream));
                }
                Ok::<_, std::convert::Infallible>(Response::new(Empty::<Bytes>::new()))
            }
        });
        tokio::spawn(http1::Builder::new().serve_connection(TokioIo::new(server), service));
        client.write_all(bytes).await.expect("write");
        let seen = rx.await.expect("the service ran");
        drop(client);
        seen
    }

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
        let request: &[u8] =
            b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\nzz\r\n";
        let err = relay(upstream, request, |sent, _| sent.err()).await;
        let err = err.expect("an error");
        assert!(matches!(err, ProxyError::ClientBody(_)), "{err:?}");
        assert_eq!(err.status(), http::StatusCode::BAD_REQUEST);
        assert_eq!(err.side(), super::super::error::Side::Downstream);
    }

    /// A next hop that answers as soon as it has the head, before the
    /// body (a 413, say): the answer is passed on, the sending of the body
    /// ends, and the connection, its request cut short, is never pooled.
    #[tokio::test]
    async fn an_answer_before_the_whole_body_ends_the_sending() {
        let next_hop = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let authority = next_hop.local_addr().expect("addr").to_string();
        tokio::spawn(async move {
            if let Ok((mut stream, _)) = next_hop.accept().await {
                let mut head = Vec::new();
                let mut buf = [0u8; 4096];
                while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                    match stream.read(&mut buf).await {
                        Ok(n) if n > 0 => head.extend_from_slice(&buf[..n]),
                        _ => return,
                    }
                }
                let answer = b"HTTP/1.1 413 Payload Too Large\r\ncontent-length: 0\r\n\r\n";
                if stream.write_all(answer).await.is_ok() {
                    while matches!(stream.read(&mut buf).await, Ok(n) if n > 0) {}
                }
            }
        });
        let upstream = Arc::new(Upstream::new(&authority, &Settings::default()));
        // A chunked body that never ends.
        let request: &[u8] =
            b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n";
        let (status, idle) = relay(upstream, request, |sent, upstream| {
            let status = sent.map(|sent| sent.response.status().as_u16());
            (status.ok(), upstream.pool.idle())
        })
        .await;
        assert_eq!(status, Some(413));
        assert_eq!(
            idle, 0,
            "a connection whose request was cut short is not pooled"
        );
    }
}
