//! Idle keep-alive connections parked after their grace period (issue 16):
//! the timers still count as if nothing happened, no byte is lost, the log
//! is as it was, a connection parks and wakes any number of times, and a
//! tunnel never parks. (Shutdown and reload with parked connections: in
//! `proxy_ops.rs`, which runs the real binary.)

mod proxy_support;

use std::io::{Read, Write};
use std::time::{Duration, Instant};

use proxy_support::*;
use switchyard::proxy::parking::PARK_AFTER;
use switchyard::rules::Settings;

const GET: &[u8] = b"GET /p HTTP/1.1\r\nHost: h\r\n\r\n";

/// Long enough to be parked, with a margin.
fn until_parked() {
    std::thread::sleep(PARK_AFTER + Duration::from_millis(400));
}

#[test]
fn keep_alive_timeout_counts_from_the_last_request_not_from_parking() {
    let origin = Origin::start();
    let proxy = Proxy::start(
        origin.addr,
        Settings {
            keepalive_timeout: Duration::from_millis(2000),
            ..Settings::default()
        },
    );
    let mut conn = connect(proxy.addr);
    assert_eq!(exchange(&mut conn, GET).status, 200);
    let answered = Instant::now();
    // Parked after 1 s, closed 2 s after the request, not 1 + 2 s.
    let mut rest = Vec::new();
    assert_eq!(conn.read_to_end(&mut rest).expect("eof"), 0);
    let idle = answered.elapsed();
    assert!(
        idle >= Duration::from_millis(1900) && idle < Duration::from_millis(2700),
        "closed after {idle:?}"
    );
    assert_eq!(proxy.access_lines().len(), 1);
}

#[test]
fn header_timeout_applies_to_a_head_that_starts_after_parking() {
    let origin = Origin::start();
    let proxy = Proxy::start(
        origin.addr,
        Settings {
            client_header_timeout: Duration::from_millis(500),
            ..Settings::default()
        },
    );
    let mut conn = connect(proxy.addr);
    assert_eq!(exchange(&mut conn, GET).status, 200);
    until_parked();
    conn.get_mut()
        .write_all(b"GET /slow-head HTTP/1.1\r\n")
        .expect("half a head");
    let started = Instant::now();
    let wire = read_response(&mut conn, false);
    assert_eq!(wire.status, 408);
    let took = started.elapsed();
    assert!(
        took >= Duration::from_millis(400) && took < Duration::from_millis(1500),
        "408 after {took:?}"
    );
    eventually("two lines", || proxy.access_lines().len() == 2);
    let lines = json_lines(&proxy.access_lines());
    assert_eq!(lines[1]["status"], 408);
}

#[test]
fn parked_and_woken_many_times_with_pipelined_and_split_requests() {
    let origin = Origin::start();
    let proxy = Proxy::start(origin.addr, Settings::default());
    let mut conn = connect(proxy.addr);
    assert_eq!(exchange(&mut conn, GET).status, 200);
    let mut expected_lines = 1;
    for round in 0..3 {
        until_parked();
        // Three requests at once wake it: all answered, in order.
        let pipelined: Vec<u8> = (0..3)
            .flat_map(|i| format!("GET /r{round}-{i} HTTP/1.1\r\nHost: h\r\n\r\n").into_bytes())
            .collect();
        conn.get_mut().write_all(&pipelined).expect("pipelined");
        for i in 0..3 {
            let wire = read_response(&mut conn, false);
            assert_eq!(wire.status, 200);
            let text = wire.text();
            assert!(
                text.starts_with(&format!("GET /r{round}-{i} HTTP/1.1\n")),
                "{text}"
            );
        }
        expected_lines += 3;
        until_parked();
        // A head split across two writes, the second after a pause: the
        // first bytes wake it, the rest arrive on the woken connection.
        conn.get_mut()
            .write_all(b"POST /split HTTP/1.1\r\nHost: h\r\nContent-")
            .expect("first half");
        std::thread::sleep(Duration::from_millis(200));
        let wire = exchange(&mut conn, b"Length: 5\r\n\r\nhello");
        assert_eq!(wire.status, 200);
        assert!(wire.text().ends_with("hello"), "{}", wire.text());
        expected_lines += 1;
    }
    // One line per request, as without parking; parking writes none.
    eventually("every line", || {
        proxy.access_lines().len() == expected_lines
    });
    let lines = json_lines(&proxy.access_lines());
    assert!(lines.iter().all(|l| l["status"] == 200), "{lines:?}");
    assert_eq!(lines[1]["uri"], "/r0-0");
    assert_eq!(lines[4]["uri"], "/split");
}

#[test]
fn requests_sent_around_the_moment_of_parking_are_answered() {
    let origin = Origin::start();
    let proxy = Proxy::start(origin.addr, Settings::default());
    let mut conn = connect(proxy.addr);
    // Each request comes just before, at, or just after the grace period
    // ends: whichever side of parking its bytes land on, none is lost.
    for offset_ms in [-20i64, -5, 0, 5, 20] {
        assert_eq!(exchange(&mut conn, GET).status, 200);
        let pause = PARK_AFTER.as_millis() as i64 + offset_ms;
        std::thread::sleep(Duration::from_millis(pause as u64));
    }
    assert_eq!(exchange(&mut conn, GET).status, 200);
}

#[test]
fn a_tunnel_never_parks() {
    let origin = Origin::start();
    let proxy = Proxy::start(origin.addr, Settings::default());
    let mut conn = connect(proxy.addr);
    let wire = exchange(
        &mut conn,
        b"GET /ws HTTP/1.1\r\nHost: h\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\
Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
    );
    assert_eq!(wire.status, 101, "{}", wire.head);
    for message in ["before the grace period", "after it: still a tunnel"] {
        conn.get_mut().write_all(message.as_bytes()).expect("send");
        let mut back = vec![0; message.len()];
        conn.read_exact(&mut back).expect("echo");
        assert_eq!(back, message.as_bytes());
        until_parked();
    }
    // Not HTTP, and not checked as such: the bytes pass through.
    conn.get_mut().write_all(b"\n\n\r\n").expect("send");
    let mut back = [0u8; 4];
    conn.read_exact(&mut back).expect("echo");
    assert_eq!(&back, b"\n\n\r\n");
}
