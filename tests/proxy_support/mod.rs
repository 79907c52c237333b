//! Shared test harness: an in-process data plane on 127.0.0.1:0, a test origin
//! on 127.0.0.1:0, the real binary with SWITCHYARD_* overrides, and a raw
//! HTTP/1.1 client that shows what is on the wire.
#![allow(dead_code)]

pub mod server;

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, StreamBody};
use hyper::body::{Frame, Incoming};
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use switchyard::log::access_log::AccessLog;
use switchyard::proxy::DataPlane;
use switchyard::proxy::drain::Drain;
use switchyard::proxy::listener::{self, ListenSpec};
use switchyard::proxy::upstream::Upstream;
use switchyard::rules::{RuleSet, Settings};

/// A fresh temporary directory for one test.
pub fn temp_dir(name: &str) -> PathBuf {
    static COUNTER: AtomicUsize = AtomicUsize::new(0);
    let dir = std::env::temp_dir().join(format!(
        "switchyard-test-{name}-{}-{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::SeqCst)
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

/// The test origin: counts connections; routes by path.
pub struct Origin {
    pub addr: SocketAddr,
    pub connections: Arc<AtomicUsize>,
    pub requests: Arc<AtomicUsize>,
    /// The request targets seen, in arrival order.
    pub targets: Arc<std::sync::Mutex<Vec<String>>>,
    _runtime: tokio::runtime::Runtime,
}

impl Origin {
    pub fn start() -> Origin {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("runtime");
        let listener = runtime
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let connections = Arc::new(AtomicUsize::new(0));
        let requests = Arc::new(AtomicUsize::new(0));
        let targets = Arc::new(std::sync::Mutex::new(Vec::new()));
        let count = connections.clone();
        let seen = requests.clone();
        let recorded = targets.clone();
        runtime.spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                count.fetch_add(1, Ordering::SeqCst);
                let seen = seen.clone();
                let recorded = recorded.clone();
                tokio::spawn(async move {
                    let service = service_fn(move |request: Request<Incoming>| {
                        seen.fetch_add(1, Ordering::SeqCst);
                        if let Ok(mut targets) = recorded.lock() {
                            targets.push(request.uri().to_string());
                        }
                        route(request)
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .with_upgrades()
                        .await;
                });
            }
        });
        Origin {
            addr,
            connections,
            requests,
            targets,
            _runtime: runtime,
        }
    }
}

type OriginBody = http_body_util::combinators::BoxBody<Bytes, Infallible>;

fn full(text: impl Into<Bytes>) -> OriginBody {
    Full::new(text.into()).boxed()
}

async fn route(request: Request<Incoming>) -> Result<Response<OriginBody>, Infallible> {
    let path = request.uri().path().to_owned();
    let query = request.uri().query().unwrap_or("").to_owned();
    match path.as_str() {
        "/slow" => {
            tokio::time::sleep(Duration::from_secs(3)).await;
            Ok(Response::new(full("slow")))
        }
        "/hop" => {
            let mut response = Response::new(full("hop"));
            for (name, value) in [
                ("connection", "x-origin-hop"),
                ("x-origin-hop", "1"),
                ("keep-alive", "timeout=5"),
                ("x-origin-end", "kept"),
            ] {
                response
                    .headers_mut()
                    .append(name, value.parse().expect("value"));
            }
            Ok(response)
        }
        "/download" => {
            // n bytes streamed in 64 KiB chunks, never materialized whole.
            let total: usize = query
                .strip_prefix("n=")
                .and_then(|n| n.split('&').next()?.parse().ok())
                .unwrap_or(0);
            let chunk = Bytes::from(vec![b'x'; 64 * 1024]);
            let count = total / chunk.len();
            let stream = futures_util::stream::iter(
                (0..count).map(move |_| Ok::<_, Infallible>(Frame::data(chunk.clone()))),
            );
            Ok(Response::new(StreamBody::new(stream).boxed()))
        }
        "/upload" => {
            let mut body = request.into_body();
            let mut total = 0usize;
            while let Some(Ok(frame)) = body.frame().await {
                if let Some(data) = frame.data_ref() {
                    total += data.len();
                }
            }
            Ok(Response::new(full(format!("received {total}"))))
        }
        "/ws" => {
            let mut request = request;
            let upgrade = hyper::upgrade::on(&mut request);
            tokio::spawn(async move {
                if let Ok(upgraded) = upgrade.await {
                    let (mut read, mut write) = tokio::io::split(TokioIo::new(upgraded));
                    let _ = tokio::io::copy(&mut read, &mut write).await;
                }
            });
            let mut response = Response::new(full(""));
            *response.status_mut() = hyper::StatusCode::SWITCHING_PROTOCOLS;
            response
                .headers_mut()
                .insert("upgrade", "websocket".parse().expect("v"));
            response
                .headers_mut()
                .insert("connection", "upgrade".parse().expect("v"));
            Ok(response)
        }
        _ => {
            // Echo: request line, headers (sorted, one per line), blank line, body.
            let mut text = format!(
                "{} {} {:?}\n",
                request.method(),
                request.uri(),
                request.version()
            );
            let mut headers: Vec<String> = request
                .headers()
                .iter()
                .map(|(n, v)| format!("{n}: {}", String::from_utf8_lossy(v.as_bytes())))
                .collect();
            headers.sort();
            for line in headers {
                text.push_str(&line);
                text.push('\n');
            }
            text.push('\n');
            let body = request
                .into_body()
                .collect()
                .await
                .map(|b| b.to_bytes())
                .unwrap_or_default();
            text.push_str(&String::from_utf8_lossy(&body));
            Ok(Response::new(full(text)))
        }
    }
}

/// An in-process proxy with its own runtime, serving `rules`.
pub struct Proxy {
    pub addr: SocketAddr,
    pub log_dir: PathBuf,
    pub plane: Arc<DataPlane>,
    runtime: tokio::runtime::Runtime,
}

impl Proxy {
    pub fn start(upstream: SocketAddr, settings: Settings) -> Proxy {
        let log_dir = temp_dir("proxy");
        let access_log = AccessLog::open(&log_dir.join("access.log")).expect("access log");
        let rules = RuleSet::new(settings.clone(), Vec::new(), String::new()).prepare();
        let plane = Arc::new(DataPlane::new(
            rules,
            Upstream::new(&upstream.to_string(), &settings),
            access_log,
        ));
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("runtime");
        let spec: ListenSpec = "127.0.0.1:0".parse().expect("spec");
        let listeners = runtime
            .block_on(async { listener::bind(&spec) })
            .expect("bind");
        let addr = listeners[0].local_addr().expect("addr");
        let (tx, rx) = tokio::sync::watch::channel(false);
        std::mem::forget(tx);
        let drain = Drain::new();
        for l in listeners {
            runtime.spawn(listener::accept_loop(
                l,
                plane.clone(),
                rx.clone(),
                drain.token(),
            ));
        }
        std::mem::forget(drain);
        Proxy {
            addr,
            log_dir,
            plane,
            runtime,
        }
    }

    /// The access-log lines written so far.
    pub fn access_lines(&self) -> Vec<String> {
        self.plane.access_log.flush_blocking().expect("flush");
        std::fs::read_to_string(self.log_dir.join("access.log"))
            .expect("read")
            .lines()
            .map(str::to_owned)
            .collect()
    }

    pub fn runtime(&self) -> &tokio::runtime::Runtime {
        &self.runtime
    }
}

/// A response as read off the wire.
#[derive(Debug)]
pub struct Wire {
    pub status: u16,
    pub head: String,
    pub headers: BTreeMap<String, Vec<String>>,
    pub body: Vec<u8>,
}

impl Wire {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .get(name)
            .and_then(|v| v.first())
            .map(String::as_str)
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

pub fn connect(addr: SocketAddr) -> BufReader<TcpStream> {
    let stream = TcpStream::connect(addr).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(20)))
        .expect("timeout");
    BufReader::new(stream)
}

/// Writes `request` and reads one response (`head_only` for HEAD/1xx-less reads).
pub fn exchange(conn: &mut BufReader<TcpStream>, request: &[u8]) -> Wire {
    conn.get_mut().write_all(request).expect("write");
    read_response(conn, request.starts_with(b"HEAD "))
}

pub fn read_response(conn: &mut BufReader<TcpStream>, head_only: bool) -> Wire {
    let mut head = String::new();
    loop {
        let mut line = String::new();
        let n = conn.read_line(&mut line).expect("read head");
        assert!(n > 0, "connection closed; head so far: {head:?}");
        head.push_str(&line);
        if line == "\r\n" {
            break;
        }
    }
    let status: u16 = head[9..12].parse().expect("status");
    let mut headers: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for line in head.lines().skip(1).filter(|l| !l.is_empty()) {
        let (name, value) = line.split_once(':').expect("header");
        headers
            .entry(name.to_ascii_lowercase())
            .or_default()
            .push(value.trim().to_owned());
    }
    let mut body = Vec::new();
    if !head_only && status != 204 && status != 304 && status >= 200 {
        if let Some(length) = headers
            .get("content-length")
            .and_then(|v| v[0].parse::<usize>().ok())
        {
            body.resize(length, 0);
            conn.read_exact(&mut body).expect("body");
        } else if headers.contains_key("transfer-encoding") {
            loop {
                let mut size = String::new();
                conn.read_line(&mut size).expect("chunk size");
                let size = usize::from_str_radix(size.trim(), 16).expect("hex");
                let mut chunk = vec![0; size + 2];
                conn.read_exact(&mut chunk).expect("chunk");
                if size == 0 {
                    break;
                }
                body.extend_from_slice(&chunk[..size]);
            }
        } else {
            conn.read_to_end(&mut body).expect("body to close");
        }
    }
    Wire {
        status,
        head,
        headers,
        body,
    }
}

/// Parses the access-log JSON lines.
pub fn json_lines(lines: &[String]) -> Vec<serde_json::Value> {
    lines
        .iter()
        .map(|l| serde_json::from_str(l).expect("json line"))
        .collect()
}

/// Polls `check` (up to 10 s) until it holds.
pub fn eventually(what: &str, mut check: impl FnMut() -> bool) {
    for _ in 0..200 {
        if check() {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("never happened: {what}");
}

pub fn exists(path: &Path) -> bool {
    path.exists()
}
