//! Test origins: in-process HTTP servers on port 80 of the origin namespace,
//! which record what reached them, count connections, and misbehave on purpose
//! when a test asks (slow, chunked, hop-by-hop headers, websocket, raw bytes).

use std::convert::Infallible;
use std::future::Future;
use std::net::Ipv4Addr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::{BodyExt, Full, StreamBody};
use hyper::body::{Frame, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use sha2::{Digest, Sha256};
use tokio::net::TcpStream;
use tokio::task::JoinHandle;

use crate::namespace;
use crate::pattern::{Pattern, hex};
use crate::websocket;
use crate::world::World;

type Body = UnsyncBoxBody<Bytes, std::io::Error>;

/// One request as the origin received it.
#[derive(Debug, Clone)]
pub struct Seen {
    /// The method.
    pub method: String,
    /// The request target as received (origin-form expected).
    pub uri: String,
    /// Header names (lower case) and values, every line, in received order per name.
    pub headers: Vec<(String, String)>,
    /// Body length.
    pub body_len: u64,
    /// Body sha256, hex.
    pub body_sha256: String,
    /// The first 64 KiB of the body.
    pub body_start: Vec<u8>,
}

impl Seen {
    /// Every value of a header (name in any case).
    pub fn all(&self, name: &str) -> Vec<&str> {
        self.headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
            .collect()
    }

    /// The only value of a header, or None when absent.
    pub fn header(&self, name: &str) -> Option<&str> {
        let all = self.all(name);
        assert!(
            all.len() <= 1,
            "header {name} arrived {} times: {all:?}",
            all.len()
        );
        all.first().copied()
    }
}

/// What the origin shares with the test.
#[derive(Default)]
pub struct OriginState {
    /// TCP connections accepted so far.
    pub connections: AtomicUsize,
    /// Requests received so far (recorded once the body was read).
    pub requests: Mutex<Vec<Seen>>,
    /// Requests whose head arrived (recorded before the body is read).
    pub started: AtomicUsize,
    tasks: Mutex<Vec<JoinHandle<()>>>,
}

/// How the standard origin behaves beyond its per-path behaviours.
#[derive(Debug, Clone, Copy, Default)]
pub struct Options {
    /// Answer every response with `Connection: close` (one request per connection).
    pub close_each: bool,
}

/// A running origin; stopped (listener and every connection closed) on drop.
pub struct Origin {
    /// Counters and records.
    pub state: Arc<OriginState>,
    accept: Option<JoinHandle<()>>,
    rt: tokio::runtime::Handle,
}

impl Origin {
    /// The standard origin on `ip:80` (see `respond` for its per-path behaviours).
    pub fn start(world: &World, name: &'static str, ip: Ipv4Addr) -> Origin {
        Origin::start_with(world, name, ip, Options::default())
    }

    /// The standard origin, with options.
    pub fn start_with(world: &World, name: &'static str, ip: Ipv4Addr, options: Options) -> Origin {
        Origin::start_raw(world, name, ip, move |stream, state| {
            serve_http(stream, state, name, options)
        })
    }

    /// An origin that runs `conn` for each accepted connection (for raw,
    /// deliberately broken behaviours).
    pub fn start_raw<F, Fut>(world: &World, name: &'static str, ip: Ipv4Addr, conn: F) -> Origin
    where
        F: Fn(TcpStream, Arc<OriginState>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let listener =
            namespace::bind_in_origin(ip, 80).unwrap_or_else(|e| panic!("origin {name}: {e}"));
        let state = Arc::new(OriginState::default());
        let shared = state.clone();
        let accept = world.rt.spawn(async move {
            let listener = match tokio::net::TcpListener::from_std(listener) {
                Ok(l) => l,
                Err(e) => {
                    eprintln!("origin {name}: {e}");
                    return;
                }
            };
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let _ = stream.set_nodelay(true);
                shared.connections.fetch_add(1, Ordering::SeqCst);
                let task = tokio::spawn(conn(stream, shared.clone()));
                if let Ok(mut tasks) = shared.tasks.lock() {
                    tasks.retain(|t| !t.is_finished());
                    tasks.push(task);
                }
            }
        });
        Origin {
            state,
            accept: Some(accept),
            rt: world.rt.handle().clone(),
        }
    }

    /// Connections accepted so far.
    pub fn connections(&self) -> usize {
        self.state.connections.load(Ordering::SeqCst)
    }

    /// The requests recorded so far.
    pub fn requests(&self) -> Vec<Seen> {
        self.state
            .requests
            .lock()
            .map(|r| r.clone())
            .unwrap_or_default()
    }

    /// Waits until `n` request heads have arrived (at most `limit`).
    pub fn wait_started(&self, n: usize, limit: Duration) -> bool {
        let deadline = Instant::now() + limit;
        while Instant::now() < deadline {
            if self.state.started.load(Ordering::SeqCst) >= n {
                return true;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        false
    }

    /// Closes the listener and every connection, and waits until they are gone.
    pub fn stop(mut self) {
        self.shutdown();
    }

    fn shutdown(&mut self) {
        let mut handles: Vec<JoinHandle<()>> = self
            .state
            .tasks
            .lock()
            .map(|mut t| t.drain(..).collect())
            .unwrap_or_default();
        handles.extend(self.accept.take());
        for handle in &handles {
            handle.abort();
        }
        let rt = self.rt.clone();
        // Waiting from a plain thread: the tasks' sockets are closed once this returns.
        let _ = std::thread::spawn(move || {
            rt.block_on(async move {
                for handle in handles {
                    let _ = tokio::time::timeout(Duration::from_secs(5), handle).await;
                }
            })
        })
        .join();
    }
}

impl Drop for Origin {
    fn drop(&mut self) {
        self.shutdown();
    }
}

async fn serve_http(
    stream: TcpStream,
    state: Arc<OriginState>,
    name: &'static str,
    options: Options,
) {
    let service = service_fn(move |req| respond(req, state.clone(), name, options));
    // Generous limits: the proxy's, not the origin's, are under test.
    let _ = http1::Builder::new()
        .keep_alive(true)
        .max_buf_size(4 << 20)
        .max_headers(1000)
        .serve_connection(TokioIo::new(stream), service)
        .with_upgrades()
        .await;
}

fn full(text: impl Into<Bytes>) -> Body {
    Full::new(text.into())
        .map_err(|never: Infallible| match never {})
        .boxed_unsync()
}

/// The standard origin's behaviours, by path:
/// `/slow/MS` waits MS milliseconds before answering; `/download/N` sends N
/// pattern bytes (seed N); `/chunked` streams five chunks with no length;
/// `/hop` answers with hop-by-hop headers that must not reach the client;
/// `/status/N` answers N; `/cookies` sets two cookies; `/stall-upload/MS` waits MS milliseconds before reading the body; `/ws` is a websocket echo; anything else answers
/// `origin NAME METHOD URI`. Every answer carries `Server: contract-origin`, `X-Origin`,
/// `X-Body-Sha256` and `X-Body-Len` of the request body received.
async fn respond(
    mut req: Request<Incoming>,
    state: Arc<OriginState>,
    name: &'static str,
    options: Options,
) -> Result<Response<Body>, Infallible> {
    state.started.fetch_add(1, Ordering::SeqCst);
    let path = req.uri().path().to_owned();
    let upgrade = (path == "/ws").then(|| hyper::upgrade::on(&mut req));
    let (parts, mut body) = req.into_parts();
    if let Some(ms) = path
        .strip_prefix("/stall-upload/")
        .and_then(|ms| ms.parse().ok())
    {
        // Let the upload pile up in front of us before reading a byte of it.
        tokio::time::sleep(Duration::from_millis(ms)).await;
    }
    let mut hasher = Sha256::new();
    let mut body_len = 0u64;
    let mut body_start = Vec::new();
    while let Some(frame) = body.frame().await {
        let Ok(frame) = frame else { break };
        if let Ok(data) = frame.into_data() {
            body_len += data.len() as u64;
            hasher.update(&data);
            if body_start.len() < 64 * 1024 {
                body_start.extend_from_slice(&data[..data.len().min(64 * 1024 - body_start.len())]);
            }
        }
    }
    let seen = Seen {
        method: parts.method.to_string(),
        uri: parts.uri.to_string(),
        headers: parts
            .headers
            .iter()
            .map(|(n, v)| {
                (
                    n.as_str().to_owned(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect(),
        body_len,
        body_sha256: hex(&hasher.finalize()),
        body_start,
    };
    if let Ok(mut requests) = state.requests.lock() {
        requests.push(seen.clone());
    }
    let mut builder = Response::builder()
        .header("X-Origin", name)
        .header("Server", "contract-origin")
        .header("X-Body-Sha256", &seen.body_sha256)
        .header("X-Body-Len", seen.body_len.to_string());
    if options.close_each {
        builder = builder.header("Connection", "close");
    }
    let mut segments = path.trim_start_matches('/').splitn(2, '/');
    let first = segments.next().unwrap_or("");
    let arg = segments.next().unwrap_or("");
    let response = match first {
        "slow" => {
            let ms: u64 = arg.parse().unwrap_or(1000);
            tokio::time::sleep(Duration::from_millis(ms)).await;
            builder.body(full("slow done\n"))
        }
        "download" => {
            let len: u64 = arg.parse().unwrap_or(0);
            builder
                .header("Content-Length", len.to_string())
                .body(pattern_body(len, len))
        }
        "chunked" => builder.body(chunked_body()),
        "hop" => builder
            .header("Connection", "X-Resp-Drop")
            .header("X-Resp-Drop", "must not reach the client")
            .header("Keep-Alive", "timeout=99, max=1000")
            .header("Proxy-Connection", "keep-alive")
            .header("Trailer", "X-Resp-Trailer")
            .header("Upgrade", "example/1")
            .header("X-Resp-Keep", "end-to-end")
            .body(full("hop\n")),
        // For the response phase: a `Location` the app writes with plain
        // HTTP, and answers typed by the path (`/typed/image_png`), with
        // or without the app's own `Cache-Control`.
        "redirect" => builder
            .status(StatusCode::FOUND)
            .header("Location", format!("http://example.com/{arg}"))
            .body(full("moved\n")),
        "typed" | "typed-no-store" => {
            let builder = builder.header("Content-Type", arg.replace('_', "/"));
            let builder = if first == "typed-no-store" {
                builder.header("Cache-Control", "no-store")
            } else {
                builder
            };
            builder.body(full("typed\n"))
        }
        "cookies" => builder
            .header("Set-Cookie", "a=1; Path=/; HttpOnly")
            .header("Set-Cookie", "b=2; Expires=Wed, 21 Oct 2037 07:28:00 GMT")
            .body(full("cookies\n")),
        "status" => {
            let code = arg
                .parse()
                .ok()
                .and_then(|c| StatusCode::from_u16(c).ok())
                .unwrap_or(StatusCode::OK);
            builder
                .status(code)
                .body(full(format!("status {}\n", code.as_u16())))
        }
        "ws" => match (upgrade, seen.header("sec-websocket-key")) {
            (Some(on_upgrade), Some(key)) => {
                let accept = websocket::accept_key(key);
                tokio::spawn(async move {
                    if let Ok(upgraded) = on_upgrade.await {
                        websocket::echo(TokioIo::new(upgraded)).await;
                    }
                });
                builder
                    .status(StatusCode::SWITCHING_PROTOCOLS)
                    .header("Upgrade", "websocket")
                    .header("Connection", "Upgrade")
                    .header("Sec-WebSocket-Accept", accept)
                    .body(full(""))
            }
            _ => builder
                .status(StatusCode::BAD_REQUEST)
                .body(full("not a websocket handshake\n")),
        },
        _ => builder.body(full(format!(
            "origin {name} {} {}\n",
            seen.method, seen.uri
        ))),
    };
    Ok(response.unwrap_or_else(|_| Response::new(full("bad response\n"))))
}

fn pattern_body(seed: u64, len: u64) -> Body {
    let stream = futures_util::stream::unfold(
        (Pattern::new(seed), len),
        |(mut pattern, left)| async move {
            if left == 0 {
                return None;
            }
            let n = left.min(64 * 1024) as usize;
            let mut buf = vec![0u8; n];
            pattern.fill(&mut buf);
            Some((
                Ok::<_, std::io::Error>(Frame::data(Bytes::from(buf))),
                (pattern, left - n as u64),
            ))
        },
    );
    StreamBody::new(stream).boxed_unsync()
}

/// The body `/chunked` streams: five pieces, 20 ms apart, no length.
pub const CHUNKED_BODY: &str = "chunk 0\nchunk 1\nchunk 2\nchunk 3\nchunk 4\n";

fn chunked_body() -> Body {
    let stream = futures_util::stream::unfold(0u32, |i| async move {
        if i == 5 {
            return None;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
        Some((
            Ok::<_, std::io::Error>(Frame::data(Bytes::from(format!("chunk {i}\n")))),
            i + 1,
        ))
    });
    StreamBody::new(stream).boxed_unsync()
}
