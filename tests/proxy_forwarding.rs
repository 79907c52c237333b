//! The data plane as a plain forwarder, in-process: pass-through, hop-by-hop,
//! keep-alive reuse, streaming, chunked, 100-continue, WebSocket, 502/504,
//! and the access-log line of every request.

mod proxy_support;

use std::io::{BufRead, Read, Write};
use std::sync::atomic::Ordering;
use std::time::Duration;

use proxy_support::*;
use switchyard::rules::{AccessLogFormat, Settings};

fn settings() -> Settings {
    Settings::default()
}

#[test]
fn passes_method_target_host_forwarded_headers_and_body() {
    let origin = Origin::start();
    let proxy = Proxy::start(origin.addr, settings());
    let mut conn = connect(proxy.addr);
    let wire = exchange(
        &mut conn,
        b"PUT /a/b?x=1&y=%20 HTTP/1.1\r\nHost: Example.COM:8080\r\nX-Forwarded-For: 192.0.2.9, 10.0.0.1\r\n\
X-Forwarded-Proto: https\r\nX-Custom: one\r\nX-Custom: two\r\nContent-Length: 5\r\n\r\nhello",
    );
    assert_eq!(wire.status, 200);
    let text = wire.text();
    assert!(text.starts_with("PUT /a/b?x=1&y=%20 HTTP/1.1\n"), "{text}");
    for line in [
        "host: Example.COM:8080",
        "x-forwarded-for: 192.0.2.9, 10.0.0.1",
        "x-forwarded-proto: https",
        "x-custom: one",
        "x-custom: two",
        "content-length: 5",
    ] {
        assert!(
            text.lines().any(|l| l == line),
            "missing {line:?} in {text}"
        );
    }
    assert!(text.ends_with("\n\nhello"), "{text}");
    let lines = json_lines(&proxy.access_lines());
    assert_eq!(lines.len(), 1);
    let line = &lines[0];
    assert_eq!(line["method"], "PUT");
    assert_eq!(line["host"], "Example.COM:8080");
    assert_eq!(line["uri"], "/a/b?x=1&y=%20");
    assert_eq!(line["status"], 200);
    assert_eq!(line["bytes_sent"], wire.body.len() as u64);
    assert_eq!(line["scheme"], "https");
    assert_eq!(line["action"], "forward");
    assert_eq!(line["rules"], serde_json::json!([]));
    assert_eq!(line["user_agent"], "-");
    assert!(line["upstream_ms"].is_u64());
    assert!(line["duration_ms"].is_u64());
    assert!(
        line["time"]
            .as_str()
            .is_some_and(|t| t.len() == 24 && t.ends_with('Z'))
    );
}

#[test]
fn strips_hop_by_hop_headers_both_ways() {
    let origin = Origin::start();
    let proxy = Proxy::start(origin.addr, settings());
    let mut conn = connect(proxy.addr);
    let wire = exchange(
        &mut conn,
        b"GET /echo HTTP/1.1\r\nHost: h\r\nConnection: keep-alive, X-Hop\r\nX-Hop: 1\r\nKeep-Alive: timeout=5\r\n\
Proxy-Connection: keep-alive\r\nTE: trailers\r\nTrailer: X-T\r\nUpgrade: h2c\r\nX-End: kept\r\n\r\n",
    );
    let text = wire.text();
    for gone in [
        "x-hop",
        "keep-alive",
        "proxy-connection",
        "te:",
        "trailer",
        "upgrade",
    ] {
        assert!(
            !text.lines().any(|l| l.starts_with(gone)),
            "{gone} forwarded: {text}"
        );
    }
    assert!(text.lines().any(|l| l == "x-end: kept"), "{text}");
    let wire = exchange(&mut conn, b"GET /hop HTTP/1.1\r\nHost: h\r\n\r\n");
    assert_eq!(wire.header("x-origin-end"), Some("kept"));
    assert_eq!(wire.header("x-origin-hop"), None);
    assert_eq!(wire.header("keep-alive"), None);
}

#[test]
fn keep_alive_reuses_client_and_upstream_connections() {
    let origin = Origin::start();
    let proxy = Proxy::start(origin.addr, settings());
    let mut conn = connect(proxy.addr);
    for i in 0..200 {
        let wire = exchange(
            &mut conn,
            format!("GET /n/{i} HTTP/1.1\r\nHost: h\r\n\r\n").as_bytes(),
        );
        assert_eq!(wire.status, 200);
    }
    let upstream = origin.connections.load(Ordering::SeqCst);
    assert!(
        upstream <= 2,
        "200 requests used {upstream} upstream connections"
    );
    assert_eq!(proxy.access_lines().len(), 200);
}

#[test]
fn streams_large_bodies_both_ways_and_chunked() {
    let origin = Origin::start();
    let proxy = Proxy::start(origin.addr, settings());
    let size = 64 * 1024 * 1024;
    // Download: counted as it arrives, never held whole by the test either.
    let mut conn = connect(proxy.addr);
    conn.get_mut()
        .write_all(format!("GET /download?n={size} HTTP/1.1\r\nHost: h\r\n\r\n").as_bytes())
        .expect("write");
    let mut head = String::new();
    while !head.ends_with("\r\n\r\n") {
        conn.read_line(&mut head).expect("head");
    }
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert!(
        head.to_ascii_lowercase()
            .contains("transfer-encoding: chunked"),
        "{head}"
    );
    let mut total = 0usize;
    loop {
        let mut line = String::new();
        conn.read_line(&mut line).expect("size");
        let n = usize::from_str_radix(line.trim(), 16).expect("hex");
        let mut chunk = vec![0; n + 2];
        conn.read_exact(&mut chunk).expect("chunk");
        if n == 0 {
            break;
        }
        total += n;
    }
    assert_eq!(total, size);
    // Upload, chunked, in 1 MiB pieces.
    let mut conn = connect(proxy.addr);
    conn.get_mut()
        .write_all(b"POST /upload HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n")
        .expect("head");
    let piece = vec![b'y'; 1024 * 1024];
    for _ in 0..64 {
        conn.get_mut().write_all(b"100000\r\n").expect("size");
        conn.get_mut().write_all(&piece).expect("piece");
        conn.get_mut().write_all(b"\r\n").expect("crlf");
    }
    conn.get_mut().write_all(b"0\r\n\r\n").expect("end");
    let wire = read_response(&mut conn, false);
    assert_eq!(wire.text(), format!("received {size}"));
    let lines = json_lines(&proxy.access_lines());
    assert_eq!(lines[0]["bytes_sent"], size as u64);
}

#[test]
fn expect_100_continue() {
    let origin = Origin::start();
    let proxy = Proxy::start(origin.addr, settings());
    let mut conn = connect(proxy.addr);
    conn.get_mut()
        .write_all(b"POST /upload HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\n")
        .expect("head");
    let interim = read_response(&mut conn, true);
    assert_eq!(interim.status, 100);
    conn.get_mut().write_all(b"data").expect("body");
    let wire = read_response(&mut conn, false);
    assert_eq!(wire.text(), "received 4");
}

#[test]
fn websocket_is_tunnelled() {
    let origin = Origin::start();
    let proxy = Proxy::start(origin.addr, settings());
    let mut conn = connect(proxy.addr);
    let wire = exchange(
        &mut conn,
        b"GET /ws HTTP/1.1\r\nHost: h\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\
Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
    );
    assert_eq!(wire.status, 101, "{}", wire.head);
    assert_eq!(wire.header("upgrade"), Some("websocket"));
    for message in ["ping", "second frame"] {
        conn.get_mut().write_all(message.as_bytes()).expect("send");
        let mut back = vec![0; message.len()];
        conn.read_exact(&mut back).expect("echo");
        assert_eq!(back, message.as_bytes());
    }
}

#[test]
fn unreachable_next_hop_is_502_then_recovers() {
    // Reserve a port, then free it: nothing listens there.
    let spare = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = spare.local_addr().expect("addr");
    drop(spare);
    let proxy = Proxy::start(addr, settings());
    let mut conn = connect(proxy.addr);
    let wire = exchange(&mut conn, b"GET / HTTP/1.1\r\nHost: h\r\n\r\n");
    assert_eq!(wire.status, 502);
    assert_eq!(
        wire.header("content-type"),
        Some("text/plain; charset=utf-8")
    );
    assert_eq!(wire.text(), "502 Bad Gateway\n");
    // The next hop comes up on that port.
    let listener = std::net::TcpListener::bind(addr).expect("rebind");
    let server = std::thread::spawn(move || {
        let (mut stream, _) = listener.accept().expect("accept");
        let mut buf = [0; 1024];
        let _ = stream.read(&mut buf).expect("read");
        stream
            .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
            .expect("write");
    });
    let wire = exchange(&mut conn, b"GET / HTTP/1.1\r\nHost: h\r\n\r\n");
    assert_eq!(wire.status, 200);
    assert_eq!(wire.text(), "ok");
    server.join().expect("origin thread");
    let lines = json_lines(&proxy.access_lines());
    assert_eq!(lines[0]["status"], 502);
    assert_eq!(lines[0]["action"], "error");
    assert_eq!(lines[1]["status"], 200);
}

#[test]
fn slow_next_hop_is_504() {
    let origin = Origin::start();
    let proxy = Proxy::start(
        origin.addr,
        Settings {
            upstream_response_timeout: Duration::from_millis(300),
            ..settings()
        },
    );
    let mut conn = connect(proxy.addr);
    let wire = exchange(&mut conn, b"GET /slow HTTP/1.1\r\nHost: h\r\n\r\n");
    assert_eq!(wire.status, 504);
    assert_eq!(wire.text(), "504 Gateway Timeout\n");
    let lines = json_lines(&proxy.access_lines());
    assert_eq!(lines[0]["status"], 504);
    assert!(lines[0].get("upstream_ms").is_none());
}

#[test]
fn closed_pooled_connection_is_retried_not_502() {
    // A next hop that closes every connection after one response, without
    // saying so: closed while the proxy thinks it is reusable.
    let addr = one_answer_origin(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok".to_vec());
    let proxy = Proxy::start(addr, settings());
    let mut conn = connect(proxy.addr);
    for _ in 0..10 {
        let wire = exchange(&mut conn, b"GET / HTTP/1.1\r\nHost: h\r\n\r\n");
        assert_eq!(wire.status, 200);
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn rejected_requests_are_logged_once_each() {
    let origin = Origin::start();
    let proxy = Proxy::start(
        origin.addr,
        Settings {
            access_log: AccessLogFormat::Ltsv,
            max_request_header_bytes: 1024,
            ..settings()
        },
    );
    let mut conn = connect(proxy.addr);
    let wire = exchange(
        &mut conn,
        b"CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n",
    );
    assert_eq!(wire.status, 405);
    // Issue 17: what follows CONNECT was meant for a tunnel; the 405 closes.
    assert_eq!(wire.header("connection"), Some("close"));
    let mut conn = connect(proxy.addr);
    let big = format!(
        "GET / HTTP/1.1\r\nHost: h\r\nX-Big: {}\r\n\r\n",
        "a".repeat(1500)
    );
    let wire = exchange(&mut conn, big.as_bytes());
    assert_eq!(wire.status, 431);
    assert_eq!(
        wire.header("content-type"),
        Some("text/plain; charset=utf-8")
    );
    // Transfer-Encoding on HTTP/1.0: hyper's parser answers 400 and closes.
    let mut conn = connect(proxy.addr);
    let wire = exchange(
        &mut conn,
        b"POST / HTTP/1.0\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
    );
    assert_eq!(wire.status, 400);
    // Not HTTP at all: hyper's parser answers 400 and closes.
    let mut conn = connect(proxy.addr);
    let wire = exchange(&mut conn, b"GARBAGE\x01 / HTTP/1.1\r\n\r\n");
    assert_eq!(wire.status, 400);
    eventually("four lines", || proxy.access_lines().len() == 4);
    let lines = proxy.access_lines();
    let statuses: Vec<&str> = lines
        .iter()
        .map(|l| {
            l.split('\t')
                .find_map(|f| f.strip_prefix("status:"))
                .expect("status")
        })
        .collect();
    assert_eq!(statuses, ["405", "431", "400", "400"]);
    assert!(
        lines.iter().all(|l| l.contains("\taction:error\t")),
        "{lines:?}"
    );
    assert!(lines[3].contains("\tmethod:-\t"), "{}", lines[3]);
    assert!(
        lines
            .iter()
            .all(|l| l.contains("\tupstream_ms:-\t") && l.ends_with("\trules:-"))
    );
}

#[test]
fn slow_header_gets_408_and_a_line() {
    let origin = Origin::start();
    let proxy = Proxy::start(
        origin.addr,
        Settings {
            client_header_timeout: Duration::from_millis(300),
            ..settings()
        },
    );
    let mut conn = connect(proxy.addr);
    conn.get_mut()
        .write_all(b"GET / HTTP/1.1\r\nHost: h\r\n")
        .expect("partial");
    let wire = read_response(&mut conn, false);
    assert_eq!(wire.status, 408);
    eventually("one 408 line", || proxy.access_lines().len() == 1);
    assert_eq!(json_lines(&proxy.access_lines())[0]["status"], 408);
}

#[test]
fn idle_keep_alive_outlives_header_timeout_then_closes() {
    let origin = Origin::start();
    let proxy = Proxy::start(
        origin.addr,
        Settings {
            client_header_timeout: Duration::from_millis(200),
            keepalive_timeout: Duration::from_millis(1500),
            ..settings()
        },
    );
    let mut conn = connect(proxy.addr);
    assert_eq!(
        exchange(&mut conn, b"GET / HTTP/1.1\r\nHost: h\r\n\r\n").status,
        200
    );
    std::thread::sleep(Duration::from_millis(600));
    // Idle longer than the header timeout: still open.
    assert_eq!(
        exchange(&mut conn, b"GET / HTTP/1.1\r\nHost: h\r\n\r\n").status,
        200
    );
    // Idle past keepalive_timeout: closed quietly, no log line.
    let mut rest = Vec::new();
    let n = conn.read_to_end(&mut rest).expect("eof");
    assert_eq!(n, 0);
    assert_eq!(proxy.access_lines().len(), 2);
}

#[test]
fn length_and_chunked_together_are_refused_and_the_connection_closes() {
    // Issue 6: ambiguous framing is a smuggling attempt; the framing check
    // answers 400 before hyper would have dropped Content-Length and forwarded.
    let origin = Origin::start();
    let proxy = Proxy::start(origin.addr, settings());
    let mut conn = connect(proxy.addr);
    let wire = exchange(
        &mut conn,
        b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 100\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
    );
    assert_eq!(wire.status, 400);
    assert_eq!(wire.text(), "400 Bad Request\n");
    let mut rest = Vec::new();
    assert_eq!(conn.read_to_end(&mut rest).expect("eof"), 0);
    assert_eq!(origin.requests.load(Ordering::SeqCst), 0);
}

#[test]
fn head_keeps_the_upstream_length_and_sends_no_body() {
    let origin = Origin::start();
    let proxy = Proxy::start(origin.addr, settings());
    let mut conn = connect(proxy.addr);
    let wire = exchange(&mut conn, b"HEAD /x HTTP/1.1\r\nHost: h\r\n\r\n");
    assert_eq!(wire.status, 200);
    assert!(wire.header("content-length").is_some(), "{}", wire.head);
    // The connection is still in step: the next response is read cleanly.
    let wire = exchange(&mut conn, b"GET /y HTTP/1.1\r\nHost: h\r\n\r\n");
    assert!(wire.text().starts_with("GET /y HTTP/1.1\n"));
    let lines = json_lines(&proxy.access_lines());
    assert_eq!(lines[0]["method"], "HEAD");
    assert_eq!(lines[0]["bytes_sent"], 0);
}

#[test]
fn a_client_that_leaves_before_the_response_still_gets_a_line() {
    let origin = Origin::start();
    let proxy = Proxy::start(origin.addr, settings());
    let mut conn = connect(proxy.addr);
    conn.get_mut()
        .write_all(b"GET /slow HTTP/1.1\r\nHost: h\r\n\r\n")
        .expect("write");
    eventually("the request reached the origin", || {
        origin.requests.load(Ordering::SeqCst) == 1
    });
    drop(conn);
    eventually("one line", || proxy.access_lines().len() == 1);
    let line = &json_lines(&proxy.access_lines())[0];
    assert_eq!(line["status"], 499);
    assert_eq!(line["uri"], "/slow");
}

#[test]
fn absolute_form_target_becomes_host_and_origin_form() {
    let origin = Origin::start();
    let proxy = Proxy::start(origin.addr, settings());
    let mut conn = connect(proxy.addr);
    let wire = exchange(
        &mut conn,
        b"GET http://example.org/p?q=1 HTTP/1.1\r\nHost: other\r\n\r\n",
    );
    let text = wire.text();
    assert!(text.starts_with("GET /p?q=1 HTTP/1.1\n"), "{text}");
    assert!(text.lines().any(|l| l == "host: example.org"), "{text}");
}

#[test]
fn header_timeout_counts_from_the_first_byte_of_each_head() {
    let origin = Origin::start();
    let proxy = Proxy::start(
        origin.addr,
        Settings {
            client_header_timeout: Duration::from_millis(1000),
            ..settings()
        },
    );
    let mut conn = connect(proxy.addr);
    assert_eq!(
        exchange(&mut conn, b"GET /1 HTTP/1.1\r\nHost: h\r\n\r\n").status,
        200
    );
    std::thread::sleep(Duration::from_millis(700));
    conn.get_mut()
        .write_all(b"GET /2 HTTP/1.1\r\n")
        .expect("first half");
    std::thread::sleep(Duration::from_millis(700));
    // 1.4 s after the first request, 0.7 s into this head: within the timeout.
    let wire = exchange(&mut conn, b"Host: h\r\n\r\n");
    assert_eq!(wire.status, 200);
}

#[test]
fn http_10_client_without_host_is_forwarded_with_an_empty_host() {
    let origin = Origin::start();
    let proxy = Proxy::start(origin.addr, settings());
    let mut conn = connect(proxy.addr);
    let wire = exchange(&mut conn, b"GET /old HTTP/1.0\r\n\r\n");
    assert_eq!(wire.status, 200);
    assert!(wire.head.starts_with("HTTP/1.0 200") || wire.head.starts_with("HTTP/1.1 200"));
    let text = wire.text();
    assert!(text.starts_with("GET /old HTTP/1.1\n"), "{text}");
    // Forwarded as HTTP/1.1, which must carry Host (RFC 9112 §3.2): empty,
    // since the client named no authority; nothing else is invented.
    let hosts: Vec<&str> = text.lines().filter(|l| l.starts_with("host:")).collect();
    assert_eq!(hosts, ["host: "], "{text}");
}

/// A next hop that answers the first request of each connection with
/// `response`, then closes the connection.
fn one_answer_origin(response: Vec<u8>) -> std::net::SocketAddr {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            let mut buf = [0; 2048];
            if stream.read(&mut buf).unwrap_or(0) > 0 {
                let _ = stream.write_all(&response);
            }
        }
    });
    addr
}

/// A next hop that answers with a head of `cookie` bytes of `Set-Cookie`
/// and a 2-byte body.
fn origin_with_head_of(cookie: usize) -> std::net::SocketAddr {
    let head = format!(
        "HTTP/1.1 200 OK\r\nSet-Cookie: c={}\r\nContent-Length: 2\r\n\r\nok",
        "x".repeat(cookie)
    );
    one_answer_origin(head.into_bytes())
}

#[test]
fn response_heads_of_64_kib_pass_and_far_larger_ones_are_502() {
    let proxy = Proxy::start(origin_with_head_of(60 * 1024), settings());
    let mut conn = connect(proxy.addr);
    let wire = exchange(&mut conn, b"GET / HTTP/1.1\r\nHost: h\r\n\r\n");
    assert_eq!(wire.status, 200);
    assert_eq!(wire.header("set-cookie").map(str::len), Some(2 + 60 * 1024));
    assert_eq!(wire.text(), "ok");

    let proxy = Proxy::start(origin_with_head_of(200 * 1024), settings());
    let mut conn = connect(proxy.addr);
    let wire = exchange(&mut conn, b"GET / HTTP/1.1\r\nHost: h\r\n\r\n");
    assert_eq!(wire.status, 502);
    let lines = json_lines(&proxy.access_lines());
    assert_eq!(lines[0]["status"], 502);
}
