//! Issue 6, hostile and broken clients, against an in-process data plane:
//! request smuggling shapes, header limits, odd targets, slow and garbage
//! clients. Every case checks the answer (a status, or a closed
//! connection), that nothing smuggled reached the origin, and that the
//! proxy still serves a normal request afterwards.

mod proxy_support;

use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::Ordering;
use std::time::Duration;

use proxy_support::*;
use switchyard::rules::Settings;

/// A normal request on a fresh connection still gets the origin's answer.
fn still_serves(proxy: &Proxy) {
    let mut conn = connect(proxy.addr);
    let wire = exchange(&mut conn, b"GET /after HTTP/1.1\r\nHost: h\r\n\r\n");
    assert_eq!(wire.status, 200, "{}", wire.head);
    assert!(wire.text().starts_with("GET /after HTTP/1.1\n"));
}

/// Reads until the proxy closes the connection (a reset counts as closed).
fn read_until_closed(conn: &mut std::io::BufReader<TcpStream>) -> Vec<u8> {
    let mut rest = Vec::new();
    match conn.read_to_end(&mut rest) {
        Ok(_) => {}
        Err(err) if err.kind() == ErrorKind::ConnectionReset => {}
        Err(err) => panic!("connection neither answered nor closed: {err}"),
    }
    rest
}

/// The status line and body of whatever the proxy wrote before closing.
fn answer_then_close(addr: SocketAddr, request: &[u8]) -> Option<(u16, String)> {
    let mut conn = connect(addr);
    conn.get_mut().write_all(request).expect("write");
    let all = read_until_closed(&mut conn);
    let text = String::from_utf8_lossy(&all).into_owned();
    if text.is_empty() {
        return None;
    }
    let status = text
        .get(9..12)
        .and_then(|s| s.parse().ok())
        .expect("status line");
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    Some((status, body))
}

/// A pipelined second request the origin must never see.
const SMUGGLED: &str = "GET /smuggled HTTP/1.1\r\nHost: h\r\n\r\n";

#[test]
fn smuggling_shapes_are_refused_with_400_and_nothing_smuggled_arrives() {
    let origin = Origin::start();
    let proxy = Proxy::start(origin.addr, Settings::default());
    let cases: [(&str, String); 10] = [
        (
            "CL then TE",
            format!(
                "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 6\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n{SMUGGLED}"
            ),
        ),
        (
            "TE then CL",
            format!(
                "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\nContent-Length: 40\r\n\r\n0\r\n\r\n{SMUGGLED}"
            ),
        ),
        (
            "two Content-Lengths",
            format!(
                "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\nContent-Length: 37\r\n\r\n{SMUGGLED}"
            ),
        ),
        (
            "TE not ending in chunked",
            format!(
                "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked, identity\r\n\r\n0\r\n\r\n{SMUGGLED}"
            ),
        ),
        (
            "TE chunked twice spelt oddly",
            format!(
                "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: x\r\n\r\n0\r\n\r\n{SMUGGLED}"
            ),
        ),
        (
            "obs-fold",
            format!(
                "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\nX-Folded: a\r\n Transfer-Encoding: chunked\r\n\r\n{SMUGGLED}"
            ),
        ),
        (
            "bare LF",
            format!("GET / HTTP/1.1\nHost: h\nContent-Length: 37\n\n{SMUGGLED}"),
        ),
        (
            "space before the colon",
            format!(
                "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding : chunked\r\nContent-Length: 37\r\n\r\n{SMUGGLED}"
            ),
        ),
        (
            "TE on HTTP/1.0",
            format!(
                "POST / HTTP/1.0\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n{SMUGGLED}"
            ),
        ),
        (
            "Content-Length with a sign",
            format!("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: +37\r\n\r\n{SMUGGLED}"),
        ),
    ];
    for (name, request) in &cases {
        let answer = answer_then_close(proxy.addr, request.as_bytes());
        assert_eq!(
            answer,
            Some((400, "400 Bad Request\n".to_owned())),
            "{name}: one text 400, then the connection closed"
        );
    }
    assert_eq!(
        origin.requests.load(Ordering::SeqCst),
        0,
        "the origin saw {:?}",
        origin.targets.lock().expect("targets")
    );
    still_serves(&proxy);
    let lines = json_lines(&proxy.access_lines());
    let refused = lines.iter().filter(|l| l["status"] == 400).count();
    assert_eq!(refused, cases.len(), "one access-log line per refused head");
    assert!(
        lines
            .iter()
            .all(|l| l["action"] == "error" || l["status"] == 200)
    );
}

#[test]
fn a_smuggled_head_behind_a_good_request_gets_the_good_answer_then_400() {
    // Pipelined: the first request is served in full, the second (CL+TE) is
    // refused once the first response is out, and the third never runs.
    let origin = Origin::start();
    let proxy = Proxy::start(origin.addr, Settings::default());
    let mut conn = connect(proxy.addr);
    let stream = format!(
        "POST /first HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\nabc\
POST /second HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n{SMUGGLED}"
    );
    conn.get_mut().write_all(stream.as_bytes()).expect("write");
    let first = read_response(&mut conn, false);
    assert_eq!(first.status, 200);
    assert!(first.text().starts_with("POST /first HTTP/1.1\n"));
    let second = read_response(&mut conn, false);
    assert_eq!(second.status, 400);
    assert_eq!(second.text(), "400 Bad Request\n");
    read_until_closed(&mut conn);
    assert_eq!(*origin.targets.lock().expect("targets"), ["/first"]);
    still_serves(&proxy);
}

#[test]
fn invalid_chunk_sizes_close_the_connection_and_smuggle_nothing() {
    let origin = Origin::start();
    let proxy = Proxy::start(origin.addr, Settings::default());
    for body in [
        "zz\r\nabc\r\n0\r\n\r\n",
        "-1\r\nabc\r\n0\r\n\r\n",
        "3\r\nabcdef\r\n0\r\n\r\n",
        "ffffffffffffffffff\r\nabc\r\n0\r\n\r\n",
    ] {
        let request = format!(
            "POST /chunky HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n{body}{SMUGGLED}"
        );
        // The head is sound, so the request may start upstream; its body then
        // fails. The client gets an error status or a closed connection.
        if let Some((status, _)) = answer_then_close(proxy.addr, request.as_bytes()) {
            assert!(matches!(status, 400 | 502), "{body:?}: {status}");
        }
    }
    let targets = origin.targets.lock().expect("targets").clone();
    assert!(
        targets.iter().all(|t| t == "/chunky"),
        "smuggled: {targets:?}"
    );
    still_serves(&proxy);
}

#[test]
fn header_limits() {
    let origin = Origin::start();
    let proxy = Proxy::start(
        origin.addr,
        Settings {
            max_request_header_bytes: 4096,
            ..Settings::default()
        },
    );
    let text_431 = Some((431, "431 Request Header Fields Too Large\n".to_owned()));
    // Over the limit (answered by the service).
    let big = format!(
        "GET / HTTP/1.1\r\nHost: h\r\nX-Big: {}\r\n\r\n",
        "a".repeat(5000)
    );
    assert_eq!(answer_then_close_or_keep(proxy.addr, &big), text_431);
    // Far over it (refused before the parser), also while still arriving.
    let huge = format!("GET / HTTP/1.1\r\nHost: h\r\nX-Big: {}", "a".repeat(20_000));
    assert_eq!(answer_then_close(proxy.addr, huge.as_bytes()), text_431);
    // Too many fields.
    let mut many = String::from("GET / HTTP/1.1\r\nHost: h\r\n");
    for i in 0..600 {
        many.push_str(&format!("X-{i}: 1\r\n"));
    }
    many.push_str("\r\n");
    let proxy_roomy = Proxy::start(origin.addr, Settings::default());
    assert_eq!(
        answer_then_close(proxy_roomy.addr, many.as_bytes()),
        text_431
    );
    // A hundred fields are fine (the test origin, hyper with its defaults,
    // takes no more).
    let mut hundred = String::from("GET /hundred HTTP/1.1\r\nHost: h\r\n");
    for i in 0..99 {
        hundred.push_str(&format!("X-{i}: 1\r\n"));
    }
    hundred.push_str("\r\n");
    let mut conn = connect(proxy.addr);
    assert_eq!(exchange(&mut conn, hundred.as_bytes()).status, 200);
    // A very long request line.
    let long = format!("GET /{} HTTP/1.1\r\nHost: h\r\n\r\n", "p".repeat(6000));
    let answer = answer_then_close_or_keep(proxy.addr, &long).expect("an answer");
    assert_eq!(answer.0, 414, "{answer:?}");
    let longer = format!("GET /{} HTTP/1.1\r\nHost: h\r\n\r\n", "p".repeat(70_000));
    let answer = answer_then_close(proxy.addr, longer.as_bytes()).expect("an answer");
    assert_eq!(answer.0, 414, "{answer:?}");
    assert!(
        !origin
            .targets
            .lock()
            .expect("t")
            .iter()
            .any(|t| t.len() > 5000)
    );
    still_serves(&proxy);
}

/// One response, whether or not the proxy keeps the connection.
fn answer_then_close_or_keep(addr: SocketAddr, request: &str) -> Option<(u16, String)> {
    let mut conn = connect(addr);
    let wire = exchange(&mut conn, request.as_bytes());
    Some((wire.status, wire.text()))
}

#[test]
fn invalid_host_connect_and_absolute_form() {
    let origin = Origin::start();
    let proxy = Proxy::start(origin.addr, Settings::default());
    for request in [
        "GET / HTTP/1.1\r\nHost: exa mple.com\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: a.example\r\nHost: b.example\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: a.example/path\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: user@a.example\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: [::1\r\n\r\n",
    ] {
        let answer = answer_then_close_or_keep(proxy.addr, request);
        assert_eq!(
            answer,
            Some((400, "400 Bad Request\n".to_owned())),
            "{request:?}"
        );
    }
    let answer = answer_then_close_or_keep(
        proxy.addr,
        "CONNECT origin.example:443 HTTP/1.1\r\nHost: origin.example:443\r\n\r\n",
    );
    assert_eq!(answer, Some((405, "405 Method Not Allowed\n".to_owned())));
    // RFC 9112 §3.2.2: the authority of an absolute-form target replaces Host.
    let mut conn = connect(proxy.addr);
    let wire = exchange(
        &mut conn,
        b"GET http://Origin.Example:8080/p?q=1 HTTP/1.1\r\nHost: other\r\n\r\n",
    );
    let text = wire.text();
    assert!(text.starts_with("GET /p?q=1 HTTP/1.1\n"), "{text}");
    assert!(
        text.lines().any(|l| l == "host: Origin.Example:8080"),
        "{text}"
    );
    assert_eq!(*origin.targets.lock().expect("targets"), ["/p?q=1"]);
    still_serves(&proxy);
}

#[test]
fn a_head_sent_one_byte_at_a_time_is_cut_off_at_the_header_timeout() {
    let origin = Origin::start();
    let proxy = Proxy::start(
        origin.addr,
        Settings {
            client_header_timeout: Duration::from_millis(800),
            ..Settings::default()
        },
    );
    let mut conn = connect(proxy.addr);
    let mut writer = conn.get_ref().try_clone().expect("clone");
    let head = b"GET /trickle HTTP/1.1\r\nHost: h\r\nX-Padding: aaaaaaaaaaaaaaaaaaaaaa\r\n\r\n";
    let trickler = std::thread::spawn(move || {
        for (sent, byte) in head.iter().enumerate() {
            if writer.write_all(std::slice::from_ref(byte)).is_err() {
                return sent;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        head.len()
    });
    // Every byte arrives well within the timeout of the one before: only a
    // timer counted from the first byte can stop this client.
    let wire = read_response(&mut conn, false);
    assert_eq!(wire.status, 408);
    assert_eq!(wire.text(), "408 Request Timeout\n");
    read_until_closed(&mut conn);
    let sent = trickler.join().expect("trickler");
    assert!(
        sent < head.len(),
        "the whole head went through ({sent} bytes)"
    );
    assert_eq!(origin.requests.load(Ordering::SeqCst), 0);
    still_serves(&proxy);
}

/// A tiny deterministic generator, so failures replay.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        self.0 >> 33
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

fn garbage(rng: &mut Lcg) -> Vec<u8> {
    const VALID: &[u8] =
        b"POST /g?x=1 HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\nX-A: b\r\n\r\nhello";
    const PIECES: [&[u8]; 12] = [
        b"GET ",
        b"/",
        b" HTTP/1.1",
        b"\r\n",
        b"\n",
        b":",
        b" ",
        b"Host: h",
        b"\r\n\r\n",
        b"Transfer-Encoding: chunked",
        b"Content-Length: 3",
        b"\x00\xff",
    ];
    match rng.below(4) {
        // A valid request cut short.
        0 => VALID[..rng.below(VALID.len())].to_vec(),
        // Random bytes.
        1 => (0..rng.below(300)).map(|_| rng.next() as u8).collect(),
        // A valid request with a few bytes flipped.
        2 => {
            let mut bytes = VALID.to_vec();
            for _ in 0..1 + rng.below(4) {
                let at = rng.below(bytes.len());
                bytes[at] = rng.next() as u8;
            }
            bytes
        }
        // HTTP-looking pieces in random order.
        _ => (0..rng.below(20))
            .flat_map(|_| PIECES[rng.below(PIECES.len())].iter().copied())
            .collect(),
    }
}

#[test]
fn two_thousand_garbage_or_truncated_requests_then_a_normal_one() {
    let origin = Origin::start();
    let proxy = Proxy::start(
        origin.addr,
        Settings {
            client_header_timeout: Duration::from_millis(500),
            ..Settings::default()
        },
    );
    let addr = proxy.addr;
    let workers: Vec<_> = (0..4u64)
        .map(|worker| {
            std::thread::spawn(move || {
                let mut rng = Lcg(0x5eed + worker);
                let mut answered = 0;
                for _ in 0..500 {
                    let bytes = garbage(&mut rng);
                    let stream = TcpStream::connect(addr).expect("connect");
                    stream
                        .set_read_timeout(Some(Duration::from_secs(20)))
                        .expect("timeout");
                    let mut stream = stream;
                    let _ = stream.write_all(&bytes);
                    let _ = stream.shutdown(std::net::Shutdown::Write);
                    let mut reply = Vec::new();
                    match stream.read_to_end(&mut reply) {
                        Ok(_) => {}
                        Err(err) => assert!(
                            matches!(err.kind(), ErrorKind::ConnectionReset),
                            "no close after {bytes:?}: {err}"
                        ),
                    }
                    if !reply.is_empty() {
                        answered += 1;
                    }
                }
                answered
            })
        })
        .collect();
    let answered: usize = workers.into_iter().map(|w| w.join().expect("worker")).sum();
    eprintln!("2000 garbage or truncated requests, {answered} answered, all closed");
    still_serves(&proxy);
    // Flipped bytes can still make a valid request; nothing else got through.
    let targets = origin.targets.lock().expect("targets").clone();
    assert!(targets.len() <= 2001, "{} requests upstream", targets.len());
    assert!(targets.iter().all(|t| t.starts_with('/')), "{targets:?}");
}

#[test]
fn idle_keep_alive_flood_is_closed_after_keepalive_timeout() {
    let origin = Origin::start();
    let proxy = Proxy::start(
        origin.addr,
        Settings {
            keepalive_timeout: Duration::from_millis(700),
            client_header_timeout: Duration::from_millis(700),
            ..Settings::default()
        },
    );
    // 150 connections that made one request each, 150 that never spoke.
    let mut used = Vec::new();
    for i in 0..150 {
        let mut conn = connect(proxy.addr);
        let wire = exchange(
            &mut conn,
            format!("GET /k/{i} HTTP/1.1\r\nHost: h\r\n\r\n").as_bytes(),
        );
        assert_eq!(wire.status, 200);
        used.push(conn);
    }
    let silent: Vec<_> = (0..150).map(|_| connect(proxy.addr)).collect();
    for mut conn in used {
        assert!(read_until_closed(&mut conn).is_empty());
    }
    for mut conn in silent {
        assert!(read_until_closed(&mut conn).is_empty(), "closed quietly");
    }
    still_serves(&proxy);
    assert_eq!(
        proxy.access_lines().len(),
        151,
        "idle closes are not requests"
    );
}

#[test]
fn every_malformed_head_gets_a_text_400_and_one_log_line() {
    // hyper answers its own parse errors with an empty body; the framing
    // check answers first, with the contract's short text/plain body.
    let origin = Origin::start();
    let proxy = Proxy::start(origin.addr, Settings::default());
    let cases: [&[u8]; 7] = [
        b"GET /x HTTP/1.1\r\nHost: m\r\nThis is not a header\r\n\r\n",
        b"NOT A REQUEST LINE AT ALL\r\n\r\n",
        b"GET /x HTTP/1.1\r\nHost: m\r\nContent-Length: nope\r\n\r\n",
        b"GET x/no/slash HTTP/1.1\r\nHost: m\r\n\r\n",
        b"GET /x HTTP/9.9\r\nHost: m\r\n\r\n",
        b"GET /x HTTP/1.1\r\nHost: m\r\nX-Nul: a\x00b\r\n\r\n",
        b"G\xffT /x HTTP/1.1\r\nHost: m\r\n\r\n",
    ];
    for raw in cases {
        let answer = answer_then_close(proxy.addr, raw);
        assert_eq!(
            answer,
            Some((400, "400 Bad Request\n".to_owned())),
            "{:?}",
            String::from_utf8_lossy(raw)
        );
    }
    assert_eq!(origin.requests.load(Ordering::SeqCst), 0);
    still_serves(&proxy);
    let lines = json_lines(&proxy.access_lines());
    assert_eq!(
        lines.iter().filter(|l| l["status"] == 400).count(),
        cases.len()
    );
}
