//! Contract §2 and `proxy-conf.md` §10, client-side timers: a client too slow
//! to send its headers is cut off with a 408, and a flood of idle kept-alive
//! (and silent) connections is closed after `keepalive_timeout`.

use std::io::{Read, Write};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use crate::Case;
use crate::client::{self, Conn};
use crate::namespace::ORIGIN_A;
use crate::origin::Origin;
use crate::proxy::Proxy;
use crate::world::World;

/// The timer cases.
pub fn cases() -> Vec<Case> {
    vec![
        Case::new("slow_header_client_is_cut_off", slow_headers),
        Case::new(
            "idle_keepalive_connections_are_closed",
            idle_keepalive_flood,
        ),
    ]
}

/// Reads until EOF/reset or the socket's read timeout; returns what came and
/// whether the server ended the connection.
fn read_until_closed(stream: &mut std::net::TcpStream) -> (String, bool) {
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match stream.read(&mut buf) {
            Ok(0) => return (String::from_utf8_lossy(&out).into_owned(), true),
            Ok(n) => out.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => {
                return (String::from_utf8_lossy(&out).into_owned(), true);
            }
            Err(_) => return (String::from_utf8_lossy(&out).into_owned(), false),
        }
    }
}

fn slow_headers(world: &World) {
    world.write_config("settings {\n    client_header_timeout 1s\n}\n");
    let origin = Origin::start(world, "a", ORIGIN_A);
    let proxy = Proxy::start();
    let stream = std::net::TcpStream::connect(client::PROXY).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(12)))
        .expect("timeout");
    let mut writer = stream.try_clone().expect("clone");
    // A slowloris: one header byte every 200 ms for up to 20 s. A timer that
    // restarts on every read would never fire before the trickle ends.
    let done = Arc::new(AtomicBool::new(false));
    let trickle_done = done.clone();
    let trickle = std::thread::spawn(move || {
        if writer
            .write_all(b"GET /slow-headers HTTP/1.1\r\nHost: s.test\r\nX-Pad: ")
            .is_err()
        {
            return;
        }
        for _ in 0..100 {
            if trickle_done.load(Ordering::SeqCst) || writer.write_all(b"a").is_err() {
                return;
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    });
    let mut reader = stream;
    let (answer, closed) = read_until_closed(&mut reader);
    done.store(true, Ordering::SeqCst);
    let _ = trickle.join();
    assert!(
        closed,
        "the connection was not closed while the headers trickled in (client_header_timeout 1s)"
    );
    // A head was under way: the client is told why, in the generated form.
    assert!(
        answer.starts_with("HTTP/1.1 408"),
        "a 408 before the close: {answer:?}"
    );
    assert!(
        answer.ends_with("\r\n\r\n408 Request Timeout\n")
            && answer
                .to_ascii_lowercase()
                .contains("content-type: text/plain"),
        "{answer:?}"
    );
    assert_eq!(origin.requests().len(), 0);
    assert_eq!(crate::client::get("/ok", &[]).status, 200);
    proxy.stop();
}

fn idle_keepalive_flood(world: &World) {
    world.write_config("settings {\n    keepalive_timeout 1s\n    client_header_timeout 1s\n}\n");
    let origin = Origin::start(world, "a", ORIGIN_A);
    let proxy = Proxy::start();
    // 150 connections that made one request each, 150 that never spoke.
    let mut used = Vec::new();
    for i in 0..150 {
        let mut conn = Conn::open().expect("connect");
        let got = conn
            .roundtrip(&client::get_request(&format!("/k/{i}"), "k.test"))
            .expect("response");
        assert_eq!(got.status, 200);
        used.push(conn);
    }
    let mut silent: Vec<std::net::TcpStream> = (0..150)
        .map(|_| std::net::TcpStream::connect(client::PROXY).expect("connect"))
        .collect();
    for (i, conn) in used.iter_mut().enumerate() {
        let stream = conn.stream().get_mut();
        stream
            .set_read_timeout(Some(Duration::from_secs(12)))
            .expect("timeout");
        let (rest, closed) = read_until_closed(stream);
        assert!(
            closed,
            "kept-alive connection {i} outlived keepalive_timeout 1s by 12 s"
        );
        assert!(
            rest.is_empty(),
            "nothing should be sent on an idle close: {rest:?}"
        );
    }
    for (i, stream) in silent.iter_mut().enumerate() {
        stream
            .set_read_timeout(Some(Duration::from_secs(12)))
            .expect("timeout");
        let (rest, closed) = read_until_closed(stream);
        assert!(closed, "silent connection {i} was never closed");
        assert!(rest.is_empty(), "closed quietly: {rest:?}");
    }
    assert_eq!(crate::client::get("/ok", &[]).status, 200);
    assert_eq!(origin.requests().len(), 151);
    proxy.stop();
    let lines = crate::logs::read_json_log(crate::logs::ACCESS_LOG);
    assert_eq!(lines.len(), 151, "idle closes are not requests");
}
