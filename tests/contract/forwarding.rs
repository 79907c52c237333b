//! Contract §2, forwarding: what goes through unchanged, what hop-by-hop
//! headers are dropped, keep-alive and pooling, streaming of large bodies,
//! chunked framing, `Expect: 100-continue`, websocket tunnelling, HTTP/1.0,
//! pipelining and framing of HEAD and repeated headers.

use std::time::Duration;

use crate::Case;
use crate::client::{self, Conn, curl, get, raw_exchange, scratch_file};
use crate::namespace::ORIGIN_A;
use crate::origin::{CHUNKED_BODY, Origin};
use crate::pattern::{Pattern, sha256_file};
use crate::proxy::Proxy;
use crate::websocket::{self, Frame};
use crate::world::World;

/// The forwarding cases.
pub fn cases() -> Vec<Case> {
    vec![
        Case::new(
            "forward_passes_method_target_host_and_headers",
            pass_through,
        ),
        Case::new(
            "forward_passes_upstream_status_and_headers_back",
            status_back,
        ),
        Case::new("forward_strips_hop_by_hop_headers_both_ways", hop_by_hop),
        Case::new("forward_keeps_alive_and_pools_upstream", keep_alive),
        Case::long(
            "forward_streams_50mib_both_ways_in_bounded_memory",
            large_bodies,
        ),
        Case::long(
            "forward_backpressure_from_a_stalled_origin_keeps_memory_bounded",
            backpressure,
        ),
        Case::new("forward_many_concurrent_clients", concurrent_clients),
        Case::new("forward_chunked_request_and_response", chunked),
        Case::new("forward_expect_100_continue", expect_continue),
        Case::new("forward_tunnels_websocket", websocket_echo),
        Case::new("http_1_0_clients_are_served", http_1_0),
        Case::new("pipelined_requests_are_answered_in_order", pipelining),
        Case::new("head_and_set_cookie_framing", head_and_set_cookie),
        Case::new("listens_on_every_interface", every_interface),
    ]
}

fn pass_through(world: &World) {
    let origin = Origin::start(world, "a", ORIGIN_A);
    let proxy = Proxy::start();
    let target = "/some/path/a%2Fb?x=1&y=two%20words&x=3";
    for method in ["GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "PURGE"] {
        let body = format!("body of {method}\n");
        let mut args = vec![
            "-X",
            method,
            "-H",
            "Host: example.test:8080",
            "-H",
            "X-Forwarded-For: 203.0.113.7, 198.51.100.2",
            "-H",
            "X-Forwarded-Proto: https",
            "-H",
            "X-Custom: first",
            "-H",
            "X-Custom: second",
            "-H",
            "Cookie: a=1; b=2",
            "-A",
            "contract-agent/1.0",
        ];
        if method != "GET" && method != "OPTIONS" {
            args.extend(["--data-binary", body.as_str()]);
        }
        let got = get(target, &args);
        assert_eq!(got.status, 200, "{method}: {got:?}");
        assert_eq!(
            got.header("x-origin"),
            Some("a"),
            "{method}: the answer came from the origin"
        );
        assert_eq!(got.text(), format!("origin a {method} {target}\n"));
        let seen = origin.requests().pop().expect("the origin saw the request");
        assert_eq!(seen.method, method);
        assert_eq!(
            seen.uri, target,
            "the target goes upstream unchanged (origin-form)"
        );
        assert_eq!(seen.header("host"), Some("example.test:8080"));
        assert_eq!(
            seen.header("x-forwarded-for"),
            Some("203.0.113.7, 198.51.100.2")
        );
        assert_eq!(seen.header("x-forwarded-proto"), Some("https"));
        assert_eq!(
            seen.all("x-custom").join(", "),
            "first, second",
            "repeated header lines, in order"
        );
        assert_eq!(seen.header("cookie"), Some("a=1; b=2"));
        assert_eq!(seen.header("user-agent"), Some("contract-agent/1.0"));
        if method != "GET" && method != "OPTIONS" {
            assert_eq!(seen.body_start, body.as_bytes(), "{method} body");
        } else {
            assert_eq!(seen.body_len, 0);
        }
    }
    // HEAD: no body comes back, but the head does.
    let head = get("/head/check", &["-I"]);
    assert_eq!(head.status, 200);
    assert_eq!(
        origin.requests().pop().map(|s| s.method),
        Some("HEAD".to_owned())
    );
    // A request with no X-Forwarded-* gets none added: passed "as received".
    let plain = get("/plain", &[]);
    assert_eq!(plain.status, 200);
    let seen = origin.requests().pop().expect("seen");
    assert_eq!(
        seen.header("x-forwarded-proto"),
        None,
        "X-Forwarded-Proto is passed as received, not invented"
    );
    assert_eq!(seen.header("host"), Some("127.0.0.1"));
    assert_eq!(
        seen.header("x-forwarded-for"),
        None,
        "X-Forwarded-For is not invented either"
    );
    proxy.stop();
}

fn status_back(world: &World) {
    let _origin = Origin::start(world, "a", ORIGIN_A);
    let proxy = Proxy::start();
    for code in [201, 204, 301, 404, 418, 500, 503] {
        let got = get(&format!("/status/{code}"), &[]);
        assert_eq!(got.status, code);
        assert_eq!(
            got.header("x-origin"),
            Some("a"),
            "status {code} is the origin's, not generated"
        );
        assert_eq!(
            got.header("server"),
            Some("contract-origin"),
            "end-to-end response headers pass"
        );
    }
    proxy.stop();
}

fn hop_by_hop(world: &World) {
    let origin = Origin::start(world, "a", ORIGIN_A);
    let proxy = Proxy::start();
    let mut conn = Conn::open().expect("connect");
    let request = "GET /hop-request HTTP/1.1\r\n\
        Host: hop.test\r\n\
        Connection: keep-alive, X-Drop-Me, X-Drop-Too\r\n\
        X-Drop-Me: 1\r\n\
        X-Drop-Too: 2\r\n\
        Keep-Alive: timeout=5, max=100\r\n\
        Proxy-Connection: keep-alive\r\n\
        TE: trailers\r\n\
        Trailer: X-Some-Trailer\r\n\
        Upgrade: example/1\r\n\
        X-Keep-Me: end-to-end\r\n\
        \r\n";
    let got = conn.roundtrip(request).expect("response");
    assert_eq!(got.status, 200, "{}", got.head);
    let seen = origin.requests().pop().expect("seen");
    for dropped in [
        "x-drop-me",
        "x-drop-too",
        "keep-alive",
        "proxy-connection",
        "te",
        "trailer",
        "upgrade",
    ] {
        assert_eq!(
            seen.all(dropped),
            Vec::<&str>::new(),
            "{dropped} must not be forwarded: {seen:?}"
        );
    }
    for value in seen.all("connection") {
        let lower = value.to_ascii_lowercase();
        assert!(
            !lower.contains("x-drop"),
            "the client's Connection header was forwarded: {value}"
        );
    }
    assert_eq!(seen.header("x-keep-me"), Some("end-to-end"));

    // And the other way: the origin's hop-by-hop headers stop at the proxy.
    let back = conn
        .roundtrip(&client::get_request("/hop", "hop.test"))
        .expect("response");
    assert_eq!(back.status, 200, "{}", back.head);
    assert_eq!(back.header("x-resp-keep"), Some("end-to-end"));
    for dropped in ["x-resp-drop", "proxy-connection", "trailer", "upgrade"] {
        assert_eq!(
            back.header(dropped),
            None,
            "{dropped} reached the client:\n{}",
            back.head
        );
    }
    if let Some(keep_alive) = back.header("keep-alive") {
        assert!(
            !keep_alive.contains("99"),
            "the origin's Keep-Alive reached the client: {keep_alive}"
        );
    }
    if let Some(connection) = back.header("connection") {
        assert!(
            !connection.to_ascii_lowercase().contains("x-resp-drop"),
            "the origin's Connection header reached the client: {connection}"
        );
    }
    proxy.stop();
}

fn keep_alive(world: &World) {
    let origin = Origin::start(world, "a", ORIGIN_A);
    let proxy = Proxy::start();
    let mut conn = Conn::open().expect("connect");
    for i in 0..200 {
        let got = conn
            .roundtrip(&client::get_request(&format!("/ka?i={i}"), "ka.test"))
            .unwrap_or_else(|e| panic!("request {i} on the kept-alive connection: {e}"));
        assert_eq!(got.status, 200, "request {i}");
        assert_eq!(got.body, format!("origin a GET /ka?i={i}\n").as_bytes());
        assert!(
            !got.closes(),
            "request {i}: the proxy asked to close the connection"
        );
    }
    let upstream = origin.connections();
    println!("    200 requests on 1 client connection used {upstream} upstream connection(s)");
    assert_eq!(origin.requests().len(), 200);
    assert!(
        upstream <= 4,
        "upstream connections are not pooled: {upstream} for 200 sequential requests"
    );
    // curl's own view: several URLs on one command line reuse one connection.
    let urls: Vec<String> = (0..5)
        .map(|i| format!("http://127.0.0.1/curl-ka/{i}"))
        .collect();
    let mut args: Vec<&str> = Vec::new();
    for url in &urls {
        args.push(url);
    }
    let got = curl(&args);
    assert_eq!(got.exit, 0, "{}", got.stderr);
    assert_eq!(
        got.connects, 1,
        "curl had to reconnect: the client connection was not kept alive"
    );
    proxy.stop();
}

const FIFTY_MIB: u64 = 50 * 1024 * 1024;

fn large_bodies(world: &World) {
    let origin = Origin::start(world, "a", ORIGIN_A);
    let proxy = Proxy::start();
    // Upload: a 50 MiB file with a known hash.
    let upload = scratch_file("upload");
    {
        use std::io::Write;
        let mut file =
            std::io::BufWriter::new(std::fs::File::create(&upload).expect("create upload file"));
        let mut pattern = Pattern::new(7);
        let mut buf = vec![0u8; 64 * 1024];
        for _ in 0..(FIFTY_MIB / buf.len() as u64) {
            pattern.fill(&mut buf);
            file.write_all(&buf).expect("write upload file");
        }
    }
    let expected_up = Pattern::sha256(7, FIFTY_MIB);
    assert_eq!(sha256_file(&upload), expected_up);
    let data = format!("@{}", upload.display());
    let up = get(
        "/upload",
        &[
            "-X",
            "PUT",
            "--data-binary",
            &data,
            "-H",
            "Content-Type: application/octet-stream",
        ],
    );
    assert_eq!(up.status, 200, "{}", up.stderr);
    assert_eq!(
        up.header("x-body-len"),
        Some(FIFTY_MIB.to_string().as_str())
    );
    assert_eq!(
        up.header("x-body-sha256"),
        Some(expected_up.as_str()),
        "the upload arrived changed"
    );
    let _ = std::fs::remove_file(&upload);
    let after_upload = proxy.status_kib("VmHWM");

    // Download: 50 MiB streamed by the origin.
    let down = get(&format!("/download/{FIFTY_MIB}"), &[]);
    assert_eq!(down.status, 200, "{}", down.stderr);
    assert_eq!(down.body.len() as u64, FIFTY_MIB);
    let got_sha = {
        use sha2::{Digest, Sha256};
        crate::pattern::hex(&Sha256::digest(&down.body))
    };
    assert_eq!(
        got_sha,
        Pattern::sha256(FIFTY_MIB, FIFTY_MIB),
        "the download arrived changed"
    );
    let peak = proxy.status_kib("VmHWM");
    println!(
        "    proxy peak RSS (VmHWM): {after_upload} KiB after the 50 MiB upload, {peak} KiB after the 50 MiB download"
    );
    assert!(
        peak < 64 * 1024,
        "the proxy's peak RSS was {peak} KiB (limit 64 MiB): bodies are being buffered"
    );
    assert_eq!(origin.requests().len(), 2);
    proxy.stop();
    let lines = crate::logs::read_json_log(crate::logs::ACCESS_LOG);
    let download = crate::logs::only(&lines, "uri", &format!("/download/{FIFTY_MIB}"));
    assert_eq!(
        download["bytes_sent"],
        FIFTY_MIB.to_string(),
        "bytes_sent of the download"
    );
}

fn chunked(world: &World) {
    let origin = Origin::start(world, "a", ORIGIN_A);
    let proxy = Proxy::start();
    // Request: curl sends chunked when told to, with no length.
    let body = scratch_file("chunked-upload");
    {
        let mut bytes = vec![0u8; 3 * 1024 * 1024 + 17];
        Pattern::new(11).fill(&mut bytes);
        std::fs::write(&body, &bytes).expect("write body");
    }
    let expected = sha256_file(&body);
    let data = format!("@{}", body.display());
    let up = get(
        "/chunked-upload",
        &["-H", "Transfer-Encoding: chunked", "--data-binary", &data],
    );
    assert_eq!(up.status, 200, "{}", up.stderr);
    assert_eq!(up.header("x-body-sha256"), Some(expected.as_str()));
    let seen = origin.requests().pop().expect("seen");
    assert_eq!(seen.body_len, 3 * 1024 * 1024 + 17);

    // Raw chunked request on a kept-alive connection, then a chunked response
    // on the same connection: the framing must be right for both to work.
    let mut conn = Conn::open().expect("connect");
    let request = "POST /raw-chunked HTTP/1.1\r\nHost: c.test\r\nTransfer-Encoding: chunked\r\n\r\n\
        5\r\nhello\r\n7\r\n, world\r\n0\r\n\r\n";
    let got = conn.roundtrip(request).expect("response");
    assert_eq!(got.status, 200);
    assert_eq!(
        origin.requests().pop().expect("seen").body_start,
        b"hello, world"
    );
    let got = conn
        .roundtrip(&client::get_request("/chunked", "c.test"))
        .expect("response");
    assert_eq!(got.status, 200);
    assert_eq!(String::from_utf8_lossy(&got.body), CHUNKED_BODY);
    assert!(
        got.header("transfer-encoding")
            .is_some_and(|v| v.contains("chunked")),
        "a body of unknown length on a kept-alive connection should be chunked:\n{}",
        got.head
    );
    let again = conn
        .roundtrip(&client::get_request("/after-chunked", "c.test"))
        .expect("the connection still works");
    assert_eq!(again.status, 200);
    proxy.stop();
}

fn expect_continue(world: &World) {
    let origin = Origin::start(world, "a", ORIGIN_A);
    let proxy = Proxy::start();
    // Raw: send the head only, wait for 100 Continue, then the body.
    let mut conn = Conn::open().expect("connect");
    conn.send(b"POST /continue HTTP/1.1\r\nHost: e.test\r\nContent-Length: 11\r\nExpect: 100-continue\r\n\r\n")
        .expect("send head");
    let interim = conn.read_response(false).expect("an interim response");
    assert_eq!(
        interim.status, 100,
        "expected 100 Continue before sending the body, got:\n{}",
        interim.head
    );
    conn.send(b"hello world").expect("send body");
    let last = conn.read_response(false).expect("final response");
    assert_eq!(last.status, 200);
    assert_eq!(last.header("x-body-len"), Some("11"));
    assert_eq!(
        origin.requests().pop().expect("seen").body_start,
        b"hello world"
    );

    // curl with the header and a body: it waits for the 100 before sending.
    let body = scratch_file("continue-body");
    std::fs::write(&body, vec![b'x'; 2 * 1024 * 1024]).expect("write body");
    let data = format!("@{}", body.display());
    let got = get(
        "/continue-curl",
        &[
            "-H",
            "Expect: 100-continue",
            "--expect100-timeout",
            "20",
            "--data-binary",
            &data,
        ],
    );
    assert_eq!(got.status, 200, "{}", got.stderr);
    assert!(
        got.raw_heads.contains(" 100"),
        "curl saw no 100 Continue:\n{}",
        got.raw_heads
    );
    assert_eq!(got.header("x-body-len"), Some("2097152"));
    proxy.stop();
}

fn websocket_echo(world: &World) {
    assert_eq!(
        websocket::accept_key("dGhlIHNhbXBsZSBub25jZQ=="),
        "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=",
        "RFC 6455 example"
    );
    let _origin = Origin::start(world, "a", ORIGIN_A);
    let proxy = Proxy::start();
    let mut conn = Conn::open().expect("connect");
    let key = "Y29udHJhY3QtdGVzdHMtMDE=";
    let handshake = websocket::handshake(key);
    conn.send(handshake.as_bytes()).expect("send handshake");
    let response = conn.read_response(false).expect("handshake response");
    assert_eq!(response.status, 101, "{}", response.head);
    assert!(
        response
            .header("upgrade")
            .is_some_and(|v| v.eq_ignore_ascii_case("websocket")),
        "{}",
        response.head
    );
    assert_eq!(
        response.header("sec-websocket-accept"),
        Some(websocket::accept_key(key).as_str())
    );
    let stream = conn.stream();
    let frames = [
        Frame {
            opcode: 1,
            payload: b"hello through the proxy".to_vec(),
        },
        Frame {
            opcode: 2,
            payload: (0..70_000u32).map(|i| (i % 251) as u8).collect(),
        },
        Frame {
            opcode: 1,
            payload: vec![b'm'; 300],
        },
    ];
    for (i, frame) in frames.iter().enumerate() {
        websocket::send(stream.get_mut(), frame, [1, 2, 3, i as u8]).expect("send frame");
        let echo = websocket::receive(stream).expect("echo frame");
        assert_eq!(&echo, frame, "frame {i} came back changed");
    }
    websocket::send(
        stream.get_mut(),
        &Frame {
            opcode: 9,
            payload: b"ping".to_vec(),
        },
        [9, 9, 9, 9],
    )
    .expect("ping");
    assert_eq!(websocket::receive(stream).expect("pong").opcode, 10);
    websocket::send(
        stream.get_mut(),
        &Frame {
            opcode: 8,
            payload: vec![3, 232],
        },
        [4, 4, 4, 4],
    )
    .expect("close");
    assert_eq!(websocket::receive(stream).expect("close echo").opcode, 8);
    drop(conn);
    proxy.stop();
}

fn http_1_0(world: &World) {
    let origin = Origin::start(world, "a", ORIGIN_A);
    let proxy = Proxy::start();
    let answer = String::from_utf8_lossy(&raw_exchange(
        b"GET /old?x=1 HTTP/1.0\r\nHost: old.test\r\n\r\n",
    ))
    .into_owned();
    assert!(
        answer.starts_with("HTTP/1.") && answer[..12].ends_with(" 200"),
        "HTTP/1.0 client: {answer:?}"
    );
    assert!(answer.ends_with("origin a GET /old?x=1\n"), "{answer:?}");
    let seen = origin.requests().pop().expect("seen");
    assert_eq!(seen.header("host"), Some("old.test"));
    let got = get("/curl10", &["--http1.0"]);
    assert_eq!(got.status, 200);
    // HTTP/1.0 may omit Host; the request goes on as HTTP/1.1, which must
    // carry one (RFC 9112 §3.2): empty, since the client named no authority.
    let answer =
        String::from_utf8_lossy(&raw_exchange(b"GET /no-host HTTP/1.0\r\n\r\n")).into_owned();
    assert!(
        answer[..12].ends_with(" 200"),
        "HTTP/1.0 without Host: {answer:?}"
    );
    let seen = origin.requests().pop().expect("seen");
    assert_eq!(seen.header("host"), Some(""), "{seen:?}");
    proxy.stop();
}

fn every_interface(world: &World) {
    let _origin = Origin::start(world, "a", ORIGIN_A);
    let proxy = Proxy::start();
    // IPv6 loopback, where the host has IPv6.
    let v6 = crate::client::curl(&["-g", "http://[::1]/v6"]);
    assert_eq!(
        v6.status, 200,
        "[::]:80 should be served too: {}",
        v6.stderr
    );
    // Another interface: the veth address, from the other namespace.
    let addr = std::net::SocketAddr::from((crate::namespace::PROXY_SIDE_A, 80));
    let mut stream =
        crate::namespace::connect_from_origin(addr).expect("port 80 on the veth address");
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    use std::io::{Read, Write};
    stream
        .write_all(b"GET /veth HTTP/1.1\r\nHost: veth.test\r\nConnection: close\r\n\r\n")
        .expect("send");
    let mut answer = String::new();
    let _ = stream.read_to_string(&mut answer);
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer:?}");
    proxy.stop();
}

fn pipelining(world: &World) {
    let origin = Origin::start(world, "a", ORIGIN_A);
    let proxy = Proxy::start();
    let mut conn = Conn::open().expect("connect");
    let mut batch = String::new();
    for i in 0..5 {
        batch.push_str(&client::get_request(&format!("/pipe/{i}"), "pipe.test"));
    }
    conn.send(batch.as_bytes())
        .expect("send five requests at once");
    for i in 0..5 {
        let got = conn.read_response(false).expect("pipelined response");
        assert_eq!(got.status, 200);
        assert_eq!(
            got.body,
            format!("origin a GET /pipe/{i}\n").as_bytes(),
            "responses in request order"
        );
    }
    assert_eq!(origin.requests().len(), 5);
    proxy.stop();
}

fn head_and_set_cookie(world: &World) {
    let _origin = Origin::start(world, "a", ORIGIN_A);
    let proxy = Proxy::start();
    let mut conn = Conn::open().expect("connect");
    let head = conn
        .roundtrip("HEAD /download/1000 HTTP/1.1\r\nHost: h.test\r\n\r\n")
        .expect("HEAD response");
    assert_eq!(head.status, 200);
    assert_eq!(
        head.header("content-length"),
        Some("1000"),
        "HEAD keeps the length of the GET:\n{}",
        head.head
    );
    // Nothing but the head came back: the next response parses cleanly.
    let next = conn
        .roundtrip(&client::get_request("/cookies", "h.test"))
        .expect("response after HEAD");
    assert_eq!(next.status, 200, "{}", next.head);
    let cookies: Vec<&str> = next
        .headers
        .iter()
        .filter(|(n, _)| n == "set-cookie")
        .map(|(_, v)| v.as_str())
        .collect();
    assert_eq!(
        cookies,
        [
            "a=1; Path=/; HttpOnly",
            "b=2; Expires=Wed, 21 Oct 2037 07:28:00 GMT"
        ],
        "Set-Cookie lines must stay separate lines"
    );
    proxy.stop();
}

fn backpressure(world: &World) {
    let origin = Origin::start(world, "a", ORIGIN_A);
    let proxy = Proxy::start();
    assert_eq!(get("/warm", &[]).status, 200);
    let baseline = proxy.status_kib("VmHWM");
    // Upload to an origin that waits before reading.
    let upload = scratch_file("stalled-upload");
    {
        use std::io::Write;
        let mut file = std::io::BufWriter::new(std::fs::File::create(&upload).expect("create"));
        let mut pattern = Pattern::new(7);
        let mut buf = vec![0u8; 64 * 1024];
        for _ in 0..(FIFTY_MIB / buf.len() as u64) {
            pattern.fill(&mut buf);
            file.write_all(&buf).expect("write");
        }
    }
    let data = format!("@{}", upload.display());
    let up = get("/stall-upload/3000", &["--data-binary", &data]);
    let _ = std::fs::remove_file(&upload);
    assert_eq!(up.status, 200, "{}", up.stderr);
    assert_eq!(
        up.header("x-body-sha256"),
        Some(Pattern::sha256(7, FIFTY_MIB).as_str())
    );
    let peak = proxy.status_kib("VmHWM");
    println!(
        "    proxy peak RSS with an origin that stalls reading a 50 MiB upload: {baseline} KiB before, {peak} KiB after"
    );
    assert!(
        peak < baseline + 24 * 1024,
        "peak RSS grew from {baseline} to {peak} KiB: a stalled origin makes the proxy buffer the upload"
    );
    assert_eq!(origin.requests().len(), 2);
    proxy.stop();
}

fn concurrent_clients(world: &World) {
    let origin = Origin::start(world, "a", ORIGIN_A);
    let proxy = Proxy::start();
    let threads: Vec<_> = (0..64)
        .map(|t| {
            std::thread::spawn(move || {
                let mut conn = Conn::open().expect("connect");
                let mut ok = 0;
                for i in 0..10 {
                    let path = format!("/c/{t}/{i}");
                    match conn.roundtrip(&client::get_request(&path, "cc.test")) {
                        Ok(r)
                            if r.status == 200
                                && r.body == format!("origin a GET {path}\n").as_bytes() =>
                        {
                            ok += 1
                        }
                        Ok(r) => eprintln!("{path}: {}", r.head),
                        Err(e) => eprintln!("{path}: {e}"),
                    }
                }
                ok
            })
        })
        .collect();
    let ok: usize = threads.into_iter().map(|t| t.join().unwrap_or(0)).sum();
    println!(
        "    64 concurrent keep-alive clients x 10 requests: {ok} ok, {} upstream connections",
        origin.connections()
    );
    assert_eq!(ok, 640);
    proxy.stop();
}
