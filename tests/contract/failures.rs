//! Contract §2, when the next hop fails or moves: 502 and recovery, 504, the
//! one retry of a stale pooled connection, and re-resolution of `next-hop`
//! after `/etc/hosts` changes.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

use crate::Case;
use crate::client::get;
use crate::namespace::{ORIGIN_A, ORIGIN_B, point_next_hop};
use crate::origin::{Options, Origin, OriginState, Seen};
use crate::proxy::Proxy;
use crate::world::World;

/// The failure cases.
pub fn cases() -> Vec<Case> {
    vec![
        Case::new(
            "next_hop_down_gives_502_then_recovers",
            bad_gateway_then_recovery,
        ),
        Case::new("next_hop_too_slow_gives_504", gateway_timeout),
        Case::new(
            "stale_pooled_connection_is_retried_for_idempotent_requests",
            stale_pooled_connection,
        ),
        Case::new(
            "next_hop_is_resolved_again_after_hosts_change",
            re_resolution,
        ),
        Case::new("non_idempotent_request_is_never_replayed", no_replay),
        Case::new(
            "next_hop_unreachable_or_unresolvable_gives_502",
            unreachable,
        ),
        Case::new("origin_dying_mid_body_never_looks_complete", truncated_body),
    ]
}

fn assert_generated(got: &crate::client::Curl, status: u16) {
    assert_eq!(got.status, status, "{got:?}");
    assert_eq!(
        got.header("x-origin"),
        None,
        "{status} must be the proxy's own answer"
    );
    assert!(
        got.header("content-type")
            .is_some_and(|v| v.starts_with("text/plain")),
        "{status} should be text/plain: {:?}",
        got.headers
    );
    assert!(
        !got.body.is_empty() && got.body.len() < 1024,
        "{status} should have a short body: {:?}",
        got.text()
    );
}

fn bad_gateway_then_recovery(world: &World) {
    let proxy = Proxy::start();
    for round in 0..2 {
        assert_generated(&get("/down", &[]), 502);
        let origin = Origin::start(world, "a", ORIGIN_A);
        for _ in 0..3 {
            let got = get("/up", &[]);
            assert_eq!(
                got.status, 200,
                "round {round}: the proxy did not recover once the origin came back"
            );
            assert_eq!(got.header("x-origin"), Some("a"));
        }
        origin.stop();
    }
    assert_generated(&get("/down-again", &[]), 502);
    proxy.stop();
}

fn gateway_timeout(world: &World) {
    world.write_config("settings {\n    upstream_response_timeout 1s\n}\n");
    let origin = Origin::start(world, "a", ORIGIN_A);
    let proxy = Proxy::start();
    assert_generated(&get("/slow/4000", &[]), 504);
    assert!(origin.wait_started(1, std::time::Duration::from_secs(5)));
    let fast = get("/fast", &[]);
    assert_eq!(fast.status, 200, "the proxy serves on after a 504");
    proxy.stop();
}

/// Answers the first request of each connection, then reads the next request
/// and closes without answering: what a next hop does when its keep-alive
/// timer fires just as the proxy reuses the pooled connection.
async fn answer_once_then_drop(stream: TcpStream, state: Arc<OriginState>) {
    let mut reader = BufReader::new(stream);
    for answered in [true, false] {
        let mut request_line = String::new();
        loop {
            let mut line = String::new();
            match reader.read_line(&mut line).await {
                Ok(0) | Err(_) => return,
                Ok(_) if line == "\r\n" => break,
                Ok(_) if request_line.is_empty() => request_line = line,
                Ok(_) => {}
            }
        }
        state.started.fetch_add(1, Ordering::SeqCst);
        let mut words = request_line.split_whitespace();
        let seen = Seen {
            method: words.next().unwrap_or("").to_owned(),
            uri: words.next().unwrap_or("").to_owned(),
            headers: Vec::new(),
            body_len: 0,
            body_sha256: String::new(),
            body_start: Vec::new(),
        };
        if let Ok(mut requests) = state.requests.lock() {
            requests.push(seen);
        }
        if answered {
            let reply = b"HTTP/1.1 200 OK\r\nContent-Length: 6\r\nX-Origin: stale\r\n\r\nfresh\n";
            if reader.get_mut().write_all(reply).await.is_err() {
                return;
            }
        }
    }
}

fn stale_pooled_connection(world: &World) {
    let origin = Origin::start_raw(world, "stale", ORIGIN_A, answer_once_then_drop);
    let proxy = Proxy::start();
    for i in 0..6 {
        let got = get(&format!("/idempotent/{i}"), &[]);
        assert_eq!(
            got.status, 200,
            "GET {i}: a pooled connection that turned out closed must be retried on a fresh one"
        );
        assert_eq!(got.text(), "fresh\n");
    }
    let connections = origin.connections();
    println!(
        "    6 GETs needed {connections} upstream connections (each reused one was closed by the origin)"
    );
    assert!(
        connections >= 2,
        "the test did not exercise a stale pooled connection"
    );
    proxy.stop();
}

fn re_resolution(world: &World) {
    let closing = Options { close_each: true };
    let _a = Origin::start_with(world, "a", ORIGIN_A, closing);
    let _b = Origin::start_with(world, "b", ORIGIN_B, closing);
    let proxy = Proxy::start();
    for _ in 0..3 {
        assert_eq!(get("/where", &[]).header("x-origin"), Some("a"));
    }
    point_next_hop(ORIGIN_B).expect("edit /etc/hosts");
    for i in 0..5 {
        let got = get("/where", &[]);
        assert_eq!(got.status, 200);
        assert_eq!(
            got.header("x-origin"),
            Some("b"),
            "request {i} after next-hop moved to {ORIGIN_B} still went to the old address"
        );
    }
    point_next_hop(ORIGIN_A).expect("edit /etc/hosts");
    assert_eq!(
        get("/where", &[]).header("x-origin"),
        Some("a"),
        "and back again"
    );
    proxy.stop();
}

fn no_replay(world: &World) {
    let origin = Origin::start_raw(world, "stale", ORIGIN_A, answer_once_then_drop);
    let proxy = Proxy::start();
    assert_eq!(get("/first", &[]).status, 200, "a GET pools the connection");
    let got = get("/post-once", &["-X", "POST", "--data-binary", "pay once"]);
    let posts = origin
        .requests()
        .iter()
        .filter(|s| s.method == "POST")
        .count();
    println!(
        "    POST on a pooled connection the origin dropped: status {}, origin saw it {posts} time(s)",
        got.status
    );
    assert_eq!(
        posts, 1,
        "a POST whose connection died after it was sent must not be sent again"
    );
    assert_ne!(got.status, 200);
    proxy.stop();
}

/// Starts a chunked response, sends one chunk, then dies.
async fn die_mid_chunked(stream: TcpStream, _state: Arc<OriginState>) {
    let mut reader = BufReader::new(stream);
    loop {
        let mut line = String::new();
        match reader.read_line(&mut line).await {
            Ok(0) | Err(_) => return,
            Ok(_) if line == "\r\n" => break,
            Ok(_) => {}
        }
    }
    let reply = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n";
    let _ = reader.get_mut().write_all(reply).await;
    let _ = reader.get_mut().flush().await;
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
}

/// Promises 100 bytes, sends 50, then dies.
async fn die_mid_length(stream: TcpStream, _state: Arc<OriginState>) {
    let mut reader = BufReader::new(stream);
    loop {
        let mut line = String::new();
        match reader.read_line(&mut line).await {
            Ok(0) | Err(_) => return,
            Ok(_) if line == "\r\n" => break,
            Ok(_) => {}
        }
    }
    let mut reply = b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n".to_vec();
    reply.extend_from_slice(&[b'x'; 50]);
    let _ = reader.get_mut().write_all(&reply).await;
    let _ = reader.get_mut().flush().await;
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
}

fn truncated_body(world: &World) {
    for (name, chunked) in [("chunked", true), ("length", false)] {
        let origin = if chunked {
            Origin::start_raw(world, "dies", ORIGIN_A, die_mid_chunked)
        } else {
            Origin::start_raw(world, "dies", ORIGIN_A, die_mid_length)
        };
        let proxy = Proxy::start();
        let got = get("/truncated", &[]);
        assert_ne!(
            got.exit,
            0,
            "{name}: curl took a truncated upstream body for a complete one: status {}, body {:?}",
            got.status,
            got.text()
        );
        proxy.stop();
        origin.stop();
    }
}

fn unreachable(world: &World) {
    world.write_config("settings {\n    upstream_connect_timeout 500ms\n}\n");
    let proxy = Proxy::start();
    point_next_hop(crate::namespace::BLACK_HOLE).expect("edit /etc/hosts");
    let started = std::time::Instant::now();
    let got = get("/blackhole", &[]);
    println!(
        "    connect to a black hole answered {} after {:?}",
        got.status,
        started.elapsed()
    );
    assert_generated(&got, 502);
    // No hosts entry at all: next-hop does not resolve (no DNS reachable here).
    std::fs::write("/etc/hosts", "127.0.0.1\tlocalhost\n").expect("edit /etc/hosts");
    assert_generated(&get("/unresolvable", &[]), 502);
    point_next_hop(ORIGIN_A).expect("edit /etc/hosts");
    let origin = Origin::start(world, "a", ORIGIN_A);
    assert_eq!(get("/back", &[]).status, 200);
    assert_eq!(origin.requests().len(), 1);
    proxy.stop();
}
