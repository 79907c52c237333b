//! Issue 6, broken upstreams: a scripted next hop that resets mid-body,
//! sends truncated or invalid responses, trickles, drops a pooled connection
//! just as it is reused, or switches protocols unasked. The client gets a
//! correct status or a cleanly closed connection, the failure is logged, and
//! the proxy keeps serving.

mod proxy_support;

use std::io::{BufRead, BufReader, ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use proxy_support::server::{Dirs, Server};
use proxy_support::*;
use switchyard::rules::Settings;

/// A next hop that answers each request as its path says.
struct ScriptedOrigin {
    addr: SocketAddr,
    /// Every request line received, in order.
    seen: Arc<Mutex<Vec<String>>>,
    connections: Arc<AtomicUsize>,
}

impl ScriptedOrigin {
    fn start() -> ScriptedOrigin {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let addr = listener.local_addr().expect("addr");
        let seen = Arc::new(Mutex::new(Vec::new()));
        let connections = Arc::new(AtomicUsize::new(0));
        let (log, count) = (seen.clone(), connections.clone());
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { return };
                count.fetch_add(1, Ordering::SeqCst);
                let log = log.clone();
                std::thread::spawn(move || serve_scripted(stream, &log));
            }
        });
        ScriptedOrigin {
            addr,
            seen,
            connections,
        }
    }

    fn seen(&self) -> Vec<String> {
        self.seen.lock().expect("seen").clone()
    }
}

/// Reads one request head (and a Content-Length body); `None` at EOF.
fn read_request(reader: &mut BufReader<TcpStream>) -> Option<String> {
    let mut line = String::new();
    if reader.read_line(&mut line).ok()? == 0 {
        return None;
    }
    let mut length = 0usize;
    loop {
        let mut field = String::new();
        if reader.read_line(&mut field).ok()? == 0 {
            return None;
        }
        if field == "\r\n" {
            break;
        }
        if let Some((name, value)) = field.split_once(':')
            && name.eq_ignore_ascii_case("content-length")
        {
            length = value.trim().parse().unwrap_or(0);
        }
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body).ok()?;
    Some(line.trim_end().to_owned())
}

/// Closes with a TCP reset instead of a FIN.
fn reset(stream: TcpStream) {
    let _ = socket2::SockRef::from(&stream).set_linger(Some(Duration::ZERO));
    drop(stream);
}

fn serve_scripted(stream: TcpStream, log: &Mutex<Vec<String>>) {
    let mut reader = BufReader::new(stream.try_clone().expect("clone"));
    let mut out = stream;
    let mut on_this_connection = 0;
    while let Some(line) = read_request(&mut reader) {
        on_this_connection += 1;
        log.lock().expect("log").push(line.clone());
        let path = line.split(' ').nth(1).unwrap_or("/").to_owned();
        let ok =
            |out: &mut TcpStream| out.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
        let result = match path.as_str() {
            "/reset-mid-body" => {
                let _ = out.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n");
                let _ = out.write_all(&[b'x'; 1000]);
                std::thread::sleep(Duration::from_millis(100));
                return reset(out);
            }
            "/truncated-head" => {
                let _ = out.write_all(b"HTTP/1.1 200 OK\r\nContent-Le");
                return;
            }
            "/invalid" => {
                let _ = out.write_all(b"SSH-2.0-OpenSSH_9.6\r\n\r\n");
                return;
            }
            "/bad-status" => {
                let _ = out.write_all(b"HTTP/1.1 2000 Huge\r\nContent-Length: 0\r\n\r\n");
                return;
            }
            "/trickle-body" => (|| {
                out.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 20\r\n\r\n")?;
                for byte in b"abcdefghijklmnopqrst" {
                    out.write_all(std::slice::from_ref(byte))?;
                    std::thread::sleep(Duration::from_millis(50));
                }
                Ok(())
            })(),
            "/trickle-head" => (|| {
                for byte in b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nX-Slow: yes\r\n\r\nok" {
                    out.write_all(std::slice::from_ref(byte))?;
                    std::thread::sleep(Duration::from_millis(50));
                }
                Ok(())
            })(),
            "/switch" => out.write_all(
                b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: foo\r\nConnection: upgrade\r\n\r\n",
            ),
            // Served once per connection; the second request on the same
            // connection is read and then answered with a reset.
            p if p.starts_with("/reuse") && on_this_connection > 1 => return reset(out),
            _ => ok(&mut out),
        };
        if result.is_err() {
            return;
        }
    }
}

fn get(addr: SocketAddr, path: &str) -> Wire {
    let mut conn = connect(addr);
    exchange(
        &mut conn,
        format!("GET {path} HTTP/1.1\r\nHost: h\r\n\r\n").as_bytes(),
    )
}

fn still_serves(proxy_addr: SocketAddr) {
    let wire = get(proxy_addr, "/ok");
    assert_eq!(wire.status, 200);
    assert_eq!(wire.text(), "ok");
}

fn statuses(proxy: &Proxy) -> Vec<u64> {
    json_lines(&proxy.access_lines())
        .iter()
        .map(|l| l["status"].as_u64().expect("status"))
        .collect()
}

#[test]
fn a_reset_mid_body_ends_the_client_connection_cleanly() {
    let origin = ScriptedOrigin::start();
    let proxy = Proxy::start(origin.addr, Settings::default());
    let mut conn = connect(proxy.addr);
    conn.get_mut()
        .write_all(b"GET /reset-mid-body HTTP/1.1\r\nHost: h\r\n\r\n")
        .expect("write");
    let mut head = String::new();
    while !head.ends_with("\r\n\r\n") {
        assert!(conn.read_line(&mut head).expect("head") > 0, "{head}");
    }
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    // The head promised 100000 bytes: the client must see the connection end
    // early rather than wait, or get a wrong body.
    let mut body = Vec::new();
    match conn.read_to_end(&mut body) {
        Ok(_) => {}
        Err(err) => assert_eq!(err.kind(), ErrorKind::ConnectionReset),
    }
    assert!(body.len() < 100_000, "{} bytes", body.len());
    still_serves(proxy.addr);
    eventually("two lines", || proxy.access_lines().len() == 2);
    let first = &json_lines(&proxy.access_lines())[0];
    assert_eq!(first["uri"], "/reset-mid-body");
    assert!(first["bytes_sent"].as_u64().expect("bytes") < 100_000);
}

#[test]
fn truncated_or_invalid_responses_are_502_and_logged() {
    let origin = ScriptedOrigin::start();
    let proxy = Proxy::start(origin.addr, Settings::default());
    for path in ["/truncated-head", "/invalid", "/bad-status"] {
        // POST is never replayed, so each reaches the next hop exactly once.
        let mut conn = connect(proxy.addr);
        let wire = exchange(
            &mut conn,
            format!("POST {path} HTTP/1.1\r\nHost: h\r\nContent-Length: 1\r\n\r\nx").as_bytes(),
        );
        assert_eq!(wire.status, 502, "{path}: {}", wire.head);
        assert_eq!(wire.text(), "502 Bad Gateway\n");
        assert_eq!(
            wire.header("content-type"),
            Some("text/plain; charset=utf-8")
        );
    }
    still_serves(proxy.addr);
    assert_eq!(statuses(&proxy), [502, 502, 502, 200]);
    let lines = json_lines(&proxy.access_lines());
    assert!(lines[..3].iter().all(|l| l["action"] == "error"));
    assert_eq!(
        origin.seen(),
        [
            "POST /truncated-head HTTP/1.1",
            "POST /invalid HTTP/1.1",
            "POST /bad-status HTTP/1.1",
            "GET /ok HTTP/1.1"
        ]
    );
}

#[test]
fn a_trickling_next_hop_is_waited_for_until_the_head_timeout() {
    let origin = ScriptedOrigin::start();
    let proxy = Proxy::start(
        origin.addr,
        Settings {
            upstream_response_timeout: Duration::from_millis(1000),
            ..Settings::default()
        },
    );
    // A body trickled over a second, after a prompt head: delivered whole
    // (the response timeout bounds the head only).
    let wire = get(proxy.addr, "/trickle-body");
    assert_eq!(wire.status, 200);
    assert_eq!(wire.text(), "abcdefghijklmnopqrst");
    // A head trickled over 2.5 s: 504 after the timeout.
    let wire = get(proxy.addr, "/trickle-head");
    assert_eq!(wire.status, 504);
    assert_eq!(wire.text(), "504 Gateway Timeout\n");
    still_serves(proxy.addr);
    assert_eq!(statuses(&proxy), [200, 504, 200]);
}

#[test]
fn a_pooled_connection_reset_on_reuse_is_retried_for_get_only() {
    let origin = ScriptedOrigin::start();
    let proxy = Proxy::start(origin.addr, Settings::default());
    let mut conn = connect(proxy.addr);
    // First request opens the pooled connection; the second goes out on it
    // and is answered with a reset: GET is replayed on a fresh connection.
    for _ in 0..2 {
        let wire = exchange(&mut conn, b"GET /reuse HTTP/1.1\r\nHost: h\r\n\r\n");
        assert_eq!(wire.status, 200);
        assert_eq!(wire.text(), "ok");
    }
    assert_eq!(origin.seen().len(), 3, "{:?}", origin.seen());
    assert_eq!(origin.connections.load(Ordering::SeqCst), 2);
    // POST with a body: not replayed, 502, and the next hop saw it once.
    let wire = exchange(
        &mut conn,
        b"POST /reuse-post HTTP/1.1\r\nHost: h\r\nContent-Length: 4\r\n\r\nbody",
    );
    assert_eq!(wire.status, 200, "first on a fresh pooled connection");
    let wire = exchange(
        &mut conn,
        b"POST /reuse-post HTTP/1.1\r\nHost: h\r\nContent-Length: 4\r\n\r\nbody",
    );
    assert_eq!(wire.status, 502);
    let posts = origin
        .seen()
        .iter()
        .filter(|l| l.starts_with("POST"))
        .count();
    assert_eq!(posts, 2, "a POST was replayed: {:?}", origin.seen());
    still_serves(proxy.addr);
}

#[test]
fn an_unasked_101_is_502_and_the_connection_stays_usable() {
    let origin = ScriptedOrigin::start();
    let proxy = Proxy::start(origin.addr, Settings::default());
    let mut conn = connect(proxy.addr);
    let wire = exchange(&mut conn, b"GET /switch HTTP/1.1\r\nHost: h\r\n\r\n");
    assert_eq!(wire.status, 502, "{}", wire.head);
    assert_eq!(wire.text(), "502 Bad Gateway\n");
    let wire = exchange(&mut conn, b"GET /ok HTTP/1.1\r\nHost: h\r\n\r\n");
    assert_eq!(wire.status, 200);
    still_serves(proxy.addr);
    assert_eq!(statuses(&proxy), [502, 200, 200]);
}

#[test]
fn the_real_binary_logs_upstream_failures_to_error_log() {
    let origin = ScriptedOrigin::start();
    let dirs = Dirs::new("upstream-errlog");
    let server = Server::start(dirs.clone(), origin.addr);
    let mut conn = connect(server.addr);
    let wire = exchange(
        &mut conn,
        b"POST /invalid HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\n\r\n",
    );
    assert_eq!(wire.status, 502);
    let error_log = dirs.log.join("error.log");
    eventually("the failure reaches error.log", || {
        std::fs::read_to_string(&error_log)
            .unwrap_or_default()
            .lines()
            .any(|l| l.contains("upstream") && l.contains("/invalid"))
    });
    still_serves(server.addr);
}
