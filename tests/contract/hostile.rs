//! Issue 6, hostile clients at the real paths: request-smuggling shapes
//! (with a complete second request behind each, which the origin must never
//! see), invalid chunk sizes, field-count and request-line limits, `Host`
//! rules, an upgrade the origin refuses (the framing check must go on), a
//! tunnel that outlives the client timers, and 2,000 garbage or truncated
//! requests. Header-section size, CONNECT and target forms are in
//! `rejects.rs`; slow heads and idle keep-alive floods in `timeouts.rs`.

use std::io::{ErrorKind, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::time::Duration;

use crate::Case;
use crate::client::{self, Conn, get};
use crate::logs::{ACCESS_LOG, ERROR_LOG, read_json_log};
use crate::namespace::ORIGIN_A;
use crate::origin::Origin;
use crate::proxy::Proxy;
use crate::websocket::{self, Frame};
use crate::world::World;

/// The hostile-client cases.
pub fn cases() -> Vec<Case> {
    vec![
        Case::new(
            "hostile_smuggling_shapes_get_400_and_smuggle_nothing",
            smuggling_shapes,
        ),
        Case::new(
            "hostile_smuggled_head_behind_a_good_request",
            smuggled_behind_good,
        ),
        Case::new("hostile_invalid_chunk_sizes_get_400", invalid_chunk_sizes),
        Case::new(
            "hostile_too_many_fields_and_long_request_lines",
            fields_and_request_lines,
        ),
        Case::new("hostile_host_must_be_one_valid_authority", host_rules),
        Case::new(
            "hostile_refused_upgrade_keeps_the_framing_check",
            refused_upgrade,
        ),
        Case::new(
            "hostile_websocket_tunnel_outlives_client_timers",
            tunnel_outlives_timers,
        ),
        Case::new(
            "hostile_2000_garbage_requests_then_a_normal_one",
            garbage_flood,
        ),
    ]
}

/// A complete second request that the origin must never receive.
pub const SMUGGLED: &str = "GET /smuggled HTTP/1.1\r\nHost: s.test\r\n\r\n";

/// What came back on a connection until the proxy closed it (or 10 s passed).
pub struct Answer {
    /// Everything read, as text.
    pub text: String,
    /// Whether the proxy closed the connection.
    pub closed: bool,
}

impl Answer {
    /// How many responses the text holds.
    pub fn responses(&self) -> usize {
        self.text.matches("HTTP/1.1 ").count()
    }
}

/// Sends `bytes` on a fresh connection and reads until the proxy closes it.
pub fn exchange_until_closed(bytes: &[u8]) -> Answer {
    let mut stream = TcpStream::connect(client::PROXY).expect("connect to the proxy");
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("read timeout");
    stream.write_all(bytes).expect("send");
    read_until_closed(&mut stream)
}

pub fn read_until_closed(stream: &mut impl Read) -> Answer {
    let mut out = Vec::new();
    let mut buf = [0u8; 8192];
    let closed = loop {
        match stream.read(&mut buf) {
            Ok(0) => break true,
            Ok(n) => out.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == ErrorKind::ConnectionReset => break true,
            Err(_) => break false,
        }
    };
    Answer {
        text: String::from_utf8_lossy(&out).into_owned(),
        closed,
    }
}

/// One generated answer with this status and its short text body, and
/// nothing after it on a closed connection.
pub fn assert_one_generated_then_closed(what: &str, answer: &Answer, status: u16) {
    assert!(
        answer.text.starts_with(&format!("HTTP/1.1 {status} ")),
        "{what}: expected {status}, got {:?}",
        answer.text
    );
    assert_generated(what, &answer.text);
    assert_eq!(answer.responses(), 1, "{what}: {:?}", answer.text);
    assert!(answer.closed, "{what}: the connection stayed open");
}

/// A response the proxy wrote itself: `text/plain`, body `STATUS Reason\n`.
fn assert_generated(what: &str, text: &str) {
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((text, ""));
    assert!(
        head.to_ascii_lowercase()
            .contains("content-type: text/plain"),
        "{what}: not text/plain:\n{head}"
    );
    let status = head.get(9..12).unwrap_or("?");
    assert!(
        body.starts_with(status) && body.ends_with('\n') && body.len() < 64,
        "{what}: body {body:?}"
    );
}

/// How many access-log lines have this status.
pub fn logged(status: u16) -> usize {
    let status = status.to_string();
    read_json_log(ACCESS_LOG)
        .iter()
        .filter(|l| l.get("status") == Some(&status))
        .count()
}

/// The targets the origin received.
pub fn targets(origin: &Origin) -> Vec<String> {
    origin.requests().into_iter().map(|s| s.uri).collect()
}

/// A normal request, on a new connection, is still served.
pub fn still_serves() {
    let got = get("/after", &[]);
    assert_eq!(got.status, 200, "{}", got.raw_heads);
    assert_eq!(got.header("x-origin"), Some("a"));
}

fn smuggling_shapes(world: &World) {
    let origin = Origin::start(world, "a", ORIGIN_A);
    let proxy = Proxy::start();
    let n = SMUGGLED.len();
    let cases: Vec<(&str, String)> = vec![
        (
            "Content-Length then Transfer-Encoding",
            format!(
                "POST /cl-te HTTP/1.1\r\nHost: s.test\r\nContent-Length: {}\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n{SMUGGLED}",
                n + 5
            ),
        ),
        (
            "Transfer-Encoding then Content-Length",
            format!(
                "POST /te-cl HTTP/1.1\r\nHost: s.test\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n0\r\n\r\n{SMUGGLED}"
            ),
        ),
        (
            "two different Content-Lengths",
            format!(
                "POST /cl-cl HTTP/1.1\r\nHost: s.test\r\nContent-Length: 0\r\nContent-Length: {n}\r\n\r\n{SMUGGLED}"
            ),
        ),
        (
            "Transfer-Encoding not ending in chunked",
            format!(
                "POST /te-identity HTTP/1.1\r\nHost: s.test\r\nTransfer-Encoding: chunked, identity\r\n\r\n0\r\n\r\n{SMUGGLED}"
            ),
        ),
        (
            "a second Transfer-Encoding line not chunked",
            format!(
                "POST /te-te HTTP/1.1\r\nHost: s.test\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: x\r\n\r\n0\r\n\r\n{SMUGGLED}"
            ),
        ),
        (
            "obs-fold hiding Transfer-Encoding",
            format!(
                "POST /fold HTTP/1.1\r\nHost: s.test\r\nContent-Length: 0\r\nX-Folded: a\r\n Transfer-Encoding: chunked\r\n\r\n{SMUGGLED}"
            ),
        ),
        (
            "bare LF line endings",
            format!("POST /lf HTTP/1.1\nHost: s.test\nContent-Length: {n}\n\n{SMUGGLED}"),
        ),
        (
            "space before the colon",
            format!(
                "POST /space HTTP/1.1\r\nHost: s.test\r\nTransfer-Encoding : chunked\r\nContent-Length: {n}\r\n\r\n{SMUGGLED}"
            ),
        ),
        (
            "Transfer-Encoding on HTTP/1.0",
            format!(
                "POST /te-10 HTTP/1.0\r\nHost: s.test\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n{SMUGGLED}"
            ),
        ),
        (
            "Content-Length with a sign",
            format!(
                "POST /plus HTTP/1.1\r\nHost: s.test\r\nContent-Length: +{n}\r\n\r\n{SMUGGLED}"
            ),
        ),
    ];
    for (what, request) in &cases {
        let answer = exchange_until_closed(request.as_bytes());
        assert_one_generated_then_closed(what, &answer, 400);
    }
    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(
        targets(&origin),
        Vec::<String>::new(),
        "a refused head, or the request smuggled behind it, reached the origin"
    );
    still_serves();
    proxy.stop();
    assert_eq!(logged(400), cases.len(), "one access-log line per refusal");
}

fn smuggled_behind_good(world: &World) {
    // Pipelined: the first request is served in full, the second (CL+TE) is
    // refused once the first response is out, the third is never read.
    let origin = Origin::start(world, "a", ORIGIN_A);
    let proxy = Proxy::start();
    let stream = format!(
        "POST /first HTTP/1.1\r\nHost: s.test\r\nContent-Length: 3\r\n\r\nabc\
         POST /second HTTP/1.1\r\nHost: s.test\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n{SMUGGLED}"
    );
    let mut conn = Conn::open().expect("connect");
    conn.send(stream.as_bytes()).expect("send");
    let first = conn.read_response(false).expect("first response");
    assert_eq!(first.status, 200, "{}", first.head);
    assert_eq!(first.header("x-body-len"), Some("3"));
    let second = conn.read_response(false).expect("second response");
    assert_eq!(second.status, 400, "{}", second.head);
    assert_eq!(second.body, b"400 Bad Request\n");
    let rest = read_until_closed(conn.stream());
    assert!(rest.closed && rest.text.is_empty(), "{:?}", rest.text);
    assert_eq!(targets(&origin), ["/first"]);
    still_serves();
    proxy.stop();
}

fn invalid_chunk_sizes(world: &World) {
    let origin = Origin::start(world, "a", ORIGIN_A);
    let proxy = Proxy::start();
    let bodies = [
        "zz\r\nabc\r\n0\r\n\r\n",
        "-1\r\nabc\r\n0\r\n\r\n",
        "3\r\nabcdef\r\n0\r\n\r\n",
        "ffffffffffffffffff\r\nabc\r\n0\r\n\r\n",
        "3\r\nabc\r\n2 x\r\nde\r\n0\r\n\r\n",
    ];
    for body in bodies {
        let request = format!(
            "POST /chunky HTTP/1.1\r\nHost: c.test\r\nTransfer-Encoding: chunked\r\n\r\n{body}{SMUGGLED}"
        );
        // The head is sound, so it may reach the origin; its body then fails,
        // which is the client's fault: 400, and nothing after it is read.
        let answer = exchange_until_closed(request.as_bytes());
        assert_one_generated_then_closed(&format!("chunks {body:?}"), &answer, 400);
    }
    let seen = targets(&origin);
    assert!(
        seen.iter().all(|t| t == "/chunky"),
        "smuggled past a broken chunk: {seen:?}"
    );
    still_serves();
    proxy.stop();
    assert_eq!(logged(400), bodies.len(), "logged as the client's 400");
    assert_eq!(logged(502), 0, "not the next hop's fault");
    let errors = std::fs::read_to_string(ERROR_LOG).unwrap_or_default();
    assert!(
        errors.contains("request body from the client failed"),
        "error.log says why:\n{errors}"
    );
}

fn fields_and_request_lines(world: &World) {
    let origin = Origin::start(world, "a", ORIGIN_A);
    let proxy = Proxy::start();
    // 600 small fields: 11 KiB, far under 32 KiB, but more than 512 fields.
    let many = client::request_with_fields("/many", "l.test", 600);
    let answer = exchange_until_closed(many.as_bytes());
    assert_one_generated_then_closed("600 header fields", &answer, 431);
    // A request line over max_request_header_bytes (32 KiB) but within what
    // the parser reads (64 KiB): the service answers 414.
    let long = format!(
        "GET /{} HTTP/1.1\r\nHost: l.test\r\n\r\n",
        "p".repeat(40 * 1024)
    );
    let mut conn = Conn::open().expect("connect");
    let got = conn.roundtrip(&long).expect("response");
    assert_eq!(got.status, 414, "a 40 KiB request line: {}", got.head);
    assert_eq!(got.body, b"414 URI Too Long\n");
    // Longer than the parser reads: refused unread, 414 and closed.
    let longer = format!(
        "GET /{} HTTP/1.1\r\nHost: l.test\r\n\r\n",
        "p".repeat(70 * 1024)
    );
    let answer = exchange_until_closed(longer.as_bytes());
    assert_one_generated_then_closed("a 70 KiB request line", &answer, 414);
    assert_eq!(targets(&origin), Vec::<String>::new());
    still_serves();
    proxy.stop();
    assert_eq!((logged(431), logged(414)), (1, 2));
}

fn host_rules(world: &World) {
    let origin = Origin::start(world, "a", ORIGIN_A);
    let proxy = Proxy::start();
    let refused = [
        "GET /no-host HTTP/1.1\r\nUser-Agent: x\r\n\r\n",
        "GET http://abs.test/no-host HTTP/1.1\r\n\r\n",
        "GET /two HTTP/1.1\r\nHost: a.test\r\nHost: b.test\r\n\r\n",
        "GET /space HTTP/1.1\r\nHost: exa mple.test\r\n\r\n",
        "GET /userinfo HTTP/1.1\r\nHost: user@h.test\r\n\r\n",
        "GET /port HTTP/1.1\r\nHost: h.test:99999\r\n\r\n",
        "GET /port HTTP/1.1\r\nHost: h.test:8o\r\n\r\n",
        "GET /path HTTP/1.1\r\nHost: h.test/p\r\n\r\n",
        "GET /v6 HTTP/1.1\r\nHost: [::1\r\n\r\n",
    ];
    for request in refused {
        let mut conn = Conn::open().expect("connect");
        let got = conn.roundtrip(request).expect("response");
        assert_eq!(got.status, 400, "{request:?}: {}", got.head);
        assert_eq!(got.body, b"400 Bad Request\n", "{request:?}");
        assert!(
            got.header("content-type")
                .is_some_and(|v| v.starts_with("text/plain")),
            "{}",
            got.head
        );
    }
    assert_eq!(targets(&origin), Vec::<String>::new());
    // HTTP/1.0 predates Host: served without one.
    let mut conn = Conn::open().expect("connect");
    let got = conn
        .roundtrip("GET /old HTTP/1.0\r\n\r\n")
        .expect("response");
    assert_eq!(got.status, 200, "{}", got.head);
    // Absolute-form: its authority (port and case kept) replaces Host, and
    // the target goes on in origin-form (RFC 9112 §3.2.2).
    let mut conn = Conn::open().expect("connect");
    let got = conn
        .roundtrip("GET http://Origin.Example:8080/p?q=1 HTTP/1.1\r\nHost: other.test\r\n\r\n")
        .expect("response");
    assert_eq!(got.status, 200, "{}", got.head);
    let seen = origin.requests().pop().expect("seen");
    assert_eq!(seen.uri, "/p?q=1");
    assert_eq!(seen.header("host"), Some("Origin.Example:8080"));
    assert_eq!(targets(&origin), ["/old", "/p?q=1"]);
    proxy.stop();
    assert_eq!(logged(400), refused.len());
    let errors = std::fs::read_to_string(ERROR_LOG).unwrap_or_default();
    assert!(
        errors.contains("without Host") && errors.contains("more than one Host"),
        "error.log says why:\n{errors}"
    );
}

/// A websocket handshake the origin refuses (`/ws` without a key: 400).
const REFUSED_UPGRADE: &str =
    "GET /ws HTTP/1.1\r\nHost: u.test\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n";

/// A head that only the framing check refuses (hyper reads bare LF).
fn bare_lf_then_smuggled() -> String {
    format!(
        "POST /lf HTTP/1.1\nHost: u.test\nContent-Length: {}\n\n{SMUGGLED}",
        SMUGGLED.len()
    )
}

fn refused_upgrade(world: &World) {
    let origin = Origin::start(world, "a", ORIGIN_A);
    let proxy = Proxy::start();
    // All in one write: the bytes behind the upgrade request wait for its
    // outcome (no 101), then are checked as the next head.
    let mut conn = Conn::open().expect("connect");
    conn.send(format!("{REFUSED_UPGRADE}{}", bare_lf_then_smuggled()).as_bytes())
        .expect("send");
    let refused = conn.read_response(false).expect("origin's answer");
    assert_eq!(refused.status, 400, "{}", refused.head);
    assert_eq!(refused.header("x-origin"), Some("a"), "the origin's 400");
    let checked = conn.read_response(false).expect("the proxy's answer");
    assert_eq!(checked.status, 400, "{}", checked.head);
    assert_eq!(checked.body, b"400 Bad Request\n");
    assert!(read_until_closed(conn.stream()).closed);
    // One after the other: a good request is served, the bad one refused.
    let mut conn = Conn::open().expect("connect");
    let refused = conn.roundtrip(REFUSED_UPGRADE).expect("origin's answer");
    assert_eq!(refused.header("x-origin"), Some("a"));
    let fine = conn
        .roundtrip(&client::get_request("/fine", "u.test"))
        .expect("response");
    assert_eq!(fine.status, 200);
    let checked = conn
        .roundtrip(&bare_lf_then_smuggled())
        .expect("the proxy's answer");
    assert_eq!(checked.status, 400);
    assert_eq!(checked.body, b"400 Bad Request\n");
    assert!(read_until_closed(conn.stream()).closed);
    assert_eq!(targets(&origin), ["/ws", "/ws", "/fine"]);
    proxy.stop();
}

fn tunnel_outlives_timers(world: &World) {
    world.write_config("settings {\n    client_header_timeout 1s\n    keepalive_timeout 1s\n}\n");
    let _origin = Origin::start(world, "a", ORIGIN_A);
    let proxy = Proxy::start();
    let mut conn = Conn::open().expect("connect");
    let key = "aG9zdGlsZS10dW5uZWwtMDE=";
    let handshake = websocket::handshake(key);
    let response = conn.roundtrip(&handshake).expect("handshake");
    assert_eq!(response.status, 101, "{}", response.head);
    let stream = conn.stream();
    for round in 0..3u8 {
        let frame = Frame {
            opcode: 1,
            payload: format!("round {round}").into_bytes(),
        };
        websocket::send(stream.get_mut(), &frame, [round, 1, 2, 3]).expect("send frame");
        let echo = websocket::receive(stream).expect("echo: the tunnel was cut");
        assert_eq!(echo, frame);
        // Longer than both client timers: they are about request heads, not
        // about a tunnel's messages.
        std::thread::sleep(Duration::from_millis(1500));
    }
    proxy.stop();
}

/// A small deterministic generator, so a failure replays.
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
        (self.next() % n.max(1) as u64) as usize
    }
}

/// A sound request; its head is cut short or spoiled, never sent whole.
const VALID: &[u8] =
    b"POST /g?x=1 HTTP/1.1\r\nHost: g.test\r\nContent-Length: 5\r\nX-A: b\r\n\r\nhello";

/// Where `VALID`'s head ends (before its blank line).
fn valid_head_len() -> usize {
    VALID
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or(VALID.len())
}

/// One garbage or truncated request. None holds a complete head that could
/// be forwarded: heads are cut before they end, and the HTTP-looking pieces
/// have no `Host` (which HTTP/1.1 requires).
fn garbage(rng: &mut Lcg) -> Vec<u8> {
    const PIECES: [&[u8]; 12] = [
        b"GET ",
        b"/",
        b" HTTP/1.1",
        b"\r\n",
        b"\n",
        b":",
        b" ",
        b"X-A: b",
        b"\r\n\r\n",
        b"Transfer-Encoding: chunked",
        b"Content-Length: 3",
        b"\x00\xff",
    ];
    let head = valid_head_len();
    match rng.below(4) {
        // A sound request cut short inside its head.
        0 => VALID[..rng.below(head)].to_vec(),
        // Random bytes.
        1 => (0..rng.below(300)).map(|_| rng.next() as u8).collect(),
        // A few bytes spoiled, then cut inside the head.
        2 => {
            let mut bytes = VALID[..head].to_vec();
            for _ in 0..1 + rng.below(4) {
                let at = rng.below(bytes.len());
                bytes[at] = rng.next() as u8;
            }
            bytes.truncate(1 + rng.below(head));
            bytes
        }
        // HTTP-looking pieces in random order.
        _ => (0..rng.below(20))
            .flat_map(|_| PIECES[rng.below(PIECES.len())].iter().copied())
            .collect(),
    }
}

fn garbage_flood(world: &World) {
    world.write_config("settings {\n    client_header_timeout 1s\n}\n");
    let origin = Origin::start(world, "a", ORIGIN_A);
    let proxy = Proxy::start();
    let workers: Vec<_> = (0..4u64)
        .map(|worker| {
            std::thread::spawn(move || {
                let mut rng = Lcg(0x5eed + worker);
                let mut answered = 0usize;
                for _ in 0..500 {
                    let bytes = garbage(&mut rng);
                    let mut stream = TcpStream::connect(client::PROXY).expect("connect");
                    stream
                        .set_read_timeout(Some(Duration::from_secs(20)))
                        .expect("timeout");
                    // A reset (the proxy closing with bytes unread) is fine.
                    let _ = stream.write_all(&bytes);
                    let _ = stream.shutdown(Shutdown::Write);
                    let answer = read_until_closed(&mut stream);
                    assert!(answer.closed, "no close after {bytes:?}");
                    assert!(
                        answer.text.is_empty()
                            || answer.text.starts_with("HTTP/1.1 400 ")
                            || answer.text.starts_with("HTTP/1.1 408 ")
                            || answer.text.starts_with("HTTP/1.1 414 ")
                            || answer.text.starts_with("HTTP/1.1 431 "),
                        "{bytes:?} got {:?}",
                        answer.text
                    );
                    if !answer.text.is_empty() {
                        answered += 1;
                    }
                }
                answered
            })
        })
        .collect();
    let answered: usize = workers
        .into_iter()
        .map(|w| w.join().expect("a garbage worker failed"))
        .sum();
    println!("    2000 garbage or truncated requests: {answered} answered, all closed");
    still_serves();
    assert_eq!(
        targets(&origin),
        ["/after"],
        "only the normal request reached the origin"
    );
    proxy.stop();
}
