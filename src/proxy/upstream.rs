//! The next hop: a pooled HTTP/1.1 client that resolves through the system
//! resolver for every new connection, bounds connect and response-head time,
//! and retries once on a fresh connection when a pooled one turns out closed.

use std::error::Error as StdError;
use std::sync::Arc;
use std::time::{Duration, Instant};

use arc_swap::ArcSwap;
use bytes::Bytes;
use http::{Method, Request, Response};
use http_body_util::{Either, Empty};
use hyper::body::Incoming;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioTimer};

use super::error::ProxyError;
use crate::rules::Settings;

/// The platform's next hop.
pub const DEFAULT_NEXT_HOP: &str = "next-hop:80";

/// How long an idle pooled connection to the next hop is kept.
const POOL_IDLE: Duration = Duration::from_secs(30);

/// A request body sent upstream: the client's, or none at all.
pub type UpstreamBody = Either<Incoming, Empty<Bytes>>;

type HttpClient = Client<HttpConnector, UpstreamBody>;

/// The two clients built from one connect timeout.
struct Clients {
    pooled: HttpClient,
    fresh: HttpClient,
    connect_timeout: Duration,
}

/// The next hop and the clients that reach it; `configure` applies a
/// reload's connect timeout to new connections.
pub struct Upstream {
    authority: String,
    clients: ArcSwap<Clients>,
}

impl std::fmt::Debug for Upstream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Upstream")
            .field("authority", &self.authority)
            .finish()
    }
}

/// The next hop's response, with how long its head took.
#[derive(Debug)]
pub struct UpstreamResponse {
    /// The response, body still streaming.
    pub response: Response<Incoming>,
    /// From sending to the response head.
    pub elapsed: Duration,
}

impl Upstream {
    /// A client for `authority` (`host:port`) with the settings' connect timeout.
    pub fn new(authority: &str, settings: &Settings) -> Self {
        Upstream {
            authority: authority.to_owned(),
            clients: ArcSwap::from_pointee(Clients::build(settings.upstream_connect_timeout)),
        }
    }

    /// The `host:port` requests are sent to.
    pub fn authority(&self) -> &str {
        &self.authority
    }

    /// Applies new settings: a changed connect timeout builds new clients (the
    /// old pool drains as its requests finish).
    pub fn configure(&self, settings: &Settings) {
        if self.clients.load().connect_timeout != settings.upstream_connect_timeout {
            self.clients
                .store(Arc::new(Clients::build(settings.upstream_connect_timeout)));
        }
    }

    /// Sends the request; waits at most `response_timeout` for the response head.
    pub async fn send(
        &self,
        request: Request<UpstreamBody>,
        response_timeout: Duration,
    ) -> Result<UpstreamResponse, ProxyError> {
        let clients = self.clients.load_full();
        let started = Instant::now();
        let retry = replayable(&request);
        let first = tokio::time::timeout(response_timeout, clients.pooled.request(request)).await;
        let outcome = match (first, retry) {
            (Err(_), _) => return Err(ProxyError::UpstreamTimeout(response_timeout)),
            (Ok(Err(err)), Some(again)) if connection_was_stale(&err) => {
                tracing::debug!(
                    "pooled connection to the next hop was closed; retrying once: {err}"
                );
                let left = response_timeout.saturating_sub(started.elapsed());
                match tokio::time::timeout(left, clients.fresh.request(again)).await {
                    Err(_) => return Err(ProxyError::UpstreamTimeout(response_timeout)),
                    Ok(result) => result,
                }
            }
            (Ok(result), _) => result,
        };
        match outcome {
            Ok(response) => Ok(UpstreamResponse {
                response,
                elapsed: started.elapsed(),
            }),
            Err(err) if err.is_connect() => Err(ProxyError::UpstreamConnect(err)),
            Err(err) if client_body_failed(&err) => Err(ProxyError::ClientBody(err)),
            Err(err) => Err(ProxyError::UpstreamFailed(err)),
        }
    }
}

impl Clients {
    fn build(connect_timeout: Duration) -> Self {
        Clients {
            pooled: client(connect_timeout, usize::MAX),
            fresh: client(connect_timeout, 0),
            connect_timeout,
        }
    }
}

fn client(connect_timeout: Duration, max_idle: usize) -> HttpClient {
    // GaiResolver: getaddrinfo per new connection, so /etc/hosts changes are followed.
    let mut connector = HttpConnector::new();
    connector.set_nodelay(true);
    connector.set_connect_timeout(Some(connect_timeout));
    Client::builder(TokioExecutor::new())
        .pool_timer(TokioTimer::new())
        .pool_idle_timeout(POOL_IDLE)
        .pool_max_idle_per_host(max_idle)
        .set_host(false)
        .build(connector)
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

/// Whether the request failed because the body being sent (the client's,
/// the only fallible body sent upstream) failed: hyper reports it as a user
/// body error whose source is the client connection's own `hyper::Error`.
fn client_body_failed(err: &hyper_util::client::legacy::Error) -> bool {
    let mut source: Option<&(dyn StdError + 'static)> = err.source();
    while let Some(inner) = source {
        if let Some(hyper_err) = inner.downcast_ref::<hyper::Error>()
            && hyper_err.is_user()
            && hyper_err
                .source()
                .is_some_and(|cause| cause.is::<hyper::Error>())
        {
            return true;
        }
        source = inner.source();
    }
    false
}

/// Whether the error means a reused connection was already closed by the
/// next hop before any response byte (so replaying is safe for idempotent
/// requests).
fn connection_was_stale(err: &hyper_util::client::legacy::Error) -> bool {
    if err.is_connect() {
        return false;
    }
    let mut source: Option<&(dyn StdError + 'static)> = err.source();
    while let Some(inner) = source {
        if let Some(hyper_err) = inner.downcast_ref::<hyper::Error>()
            && (hyper_err.is_incomplete_message() || hyper_err.is_canceled())
        {
            return true;
        }
        if let Some(io_err) = inner.downcast_ref::<std::io::Error>() {
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
            let authority = authority.clone();
            let tx = tx.lock().ok().and_then(|mut t| t.take());
            async move {
                let (mut parts, body) = request.into_parts();
                parts.uri = format!("http://{authority}/").parse().expect("uri");
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
