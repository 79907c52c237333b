//! Issue 17, the framing holes found by external smuggling suites, at the
//! real paths: a bare LF in chunked framing, an absolute-form authority that
//! skipped the `Host` check, transfer codings the proxy does not implement,
//! chunked bodies on GET and HEAD, and the valid requests it was stricter
//! with than the RFC (`HTTP/1.2`, an empty path before a query, a
//! percent-encoded host), CONNECT's 405 followed by more bytes, and a
//! request line split across writes. Each case checks what the client gets,
//! what the origin receives (nothing smuggled, nothing dropped), the
//! access-log line, and a normal request on a fresh connection afterwards.
//! The response side (chunked plus a length, framing broken after the head)
//! is in `broken_upstreams.rs`.

use std::io::Write;
use std::net::TcpStream;
use std::time::{Duration, Instant};

use crate::Case;
use crate::client::{self, Conn};
use crate::hostile::{
    SMUGGLED, assert_one_generated_then_closed, exchange_until_closed, logged, read_until_closed,
    still_serves, targets,
};
use crate::logs::{ACCESS_LOG, read_json_log};
use crate::namespace::ORIGIN_A;
use crate::origin::Origin;
use crate::proxy::Proxy;
use crate::world::World;

/// The issue-17 cases.
pub fn cases() -> Vec<Case> {
    vec![
        Case::new(
            "framing_bare_lf_in_chunked_framing_gets_400_and_smuggles_nothing",
            bare_lf_in_chunks,
        ),
        Case::new(
            "framing_absolute_form_authority_is_checked_like_host",
            absolute_form_authority,
        ),
        Case::new(
            "framing_unknown_transfer_codings_get_501_and_repeated_ones_400",
            transfer_codings,
        ),
        Case::new(
            "framing_chunked_bodies_on_get_and_head_are_forwarded",
            chunked_get_and_head,
        ),
        Case::new(
            "framing_valid_requests_the_rfc_allows_are_served",
            rfc_allows,
        ),
        Case::new("framing_connect_405_closes_the_connection", connect_closes),
        Case::new(
            "framing_a_split_request_line_is_refused_at_once",
            split_request_line,
        ),
    ]
}

/// The access-log lines with this URI.
fn lines_for(uri: &str) -> Vec<crate::logs::Line> {
    read_json_log(ACCESS_LOG)
        .into_iter()
        .filter(|l| l.get("uri").map(String::as_str) == Some(uri))
        .collect()
}

fn bare_lf_in_chunks(world: &World) {
    let origin = Origin::start(world, "a", ORIGIN_A);
    let proxy = Proxy::start();
    let chunked = |path: &str| {
        format!("POST {path} HTTP/1.1\r\nHost: s.test\r\nTransfer-Encoding: chunked\r\n\r\n")
    };
    let cases: Vec<(&str, &str, String)> = vec![
        (
            // The example: every other parser sees POST /cover with
            // a body; hyper read GET /hidden-admin as the next request.
            "bare-LF end of the trailer section, a request hidden behind it",
            "/lf-trailer",
            format!(
                "{}0\r\n\nPOST /cover HTTP/1.1\r\nHost: s.test\r\nContent-Length: 39\r\n\r\n\
                 GET /hidden-admin HTTP/1.1\r\nHost: s.test\r\n\r\n",
                chunked("/lf-trailer")
            ),
        ),
        (
            "bare-LF end of the trailer section, Content-Length and chunked behind it",
            "/lf-cl-te",
            format!(
                "{}0\r\n\nPOST /cl-te HTTP/1.1\r\nHost: s.test\r\nContent-Length: 5\r\n\
                 Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n{SMUGGLED}",
                chunked("/lf-cl-te")
            ),
        ),
        (
            "bare-LF end of the trailer section, the next request swallowed",
            "/lf-swallow",
            format!("{}0\r\n\n{SMUGGLED}", chunked("/lf-swallow")),
        ),
        (
            "bare LF after a trailer field",
            "/lf-field",
            format!("{}0\r\nX-T: 1\n\r\n{SMUGGLED}", chunked("/lf-field")),
        ),
        (
            "bare LF ending a chunk size",
            "/lf-size",
            format!("{}3\nabc\r\n0\r\n\r\n{SMUGGLED}", chunked("/lf-size")),
        ),
        (
            "bare LF ending a chunk extension",
            "/lf-ext",
            format!("{}3;x=1\nabc\r\n0\r\n\r\n{SMUGGLED}", chunked("/lf-ext")),
        ),
        (
            "bare LF after chunk data",
            "/lf-data",
            format!("{}3\r\nabc\n0\r\n\r\n{SMUGGLED}", chunked("/lf-data")),
        ),
    ];
    for (what, _, request) in &cases {
        let answer = exchange_until_closed(request.as_bytes());
        assert_one_generated_then_closed(what, &answer, 400);
    }
    std::thread::sleep(Duration::from_millis(200));
    // The refused request's head may have gone on (its body then broke);
    // nothing behind it ever does.
    let firsts: Vec<&str> = cases.iter().map(|(_, path, _)| *path).collect();
    let seen = targets(&origin);
    assert!(
        seen.iter().all(|t| firsts.contains(&t.as_str())),
        "smuggled past a bare LF: {seen:?}"
    );
    for request in origin.requests() {
        assert!(
            !String::from_utf8_lossy(&request.body_start).contains("HTTP/1.1"),
            "a hidden request arrived as a body: {request:?}"
        );
    }
    still_serves();
    proxy.stop();
    for (what, path, _) in &cases {
        let lines = lines_for(path);
        assert_eq!(lines.len(), 1, "{what}: one access-log line: {lines:?}");
        assert_eq!(lines[0]["status"], "400", "{what}");
        assert_eq!(lines[0]["action"], "error", "{what}");
    }
    assert_eq!(logged(200), 1, "only the normal request was a 200");
}

fn absolute_form_authority(world: &World) {
    world.write_config(
        "rule admin {\n    when host == \"admin.example\"\n    respond 403 \"Forbidden\\n\"\n}\n",
    );
    let origin = Origin::start(world, "a", ORIGIN_A);
    let proxy = Proxy::start();
    let refused = [
        "GET http://x@admin.example/p HTTP/1.1\r\nHost: x\r\n\r\n",
        "GET http://user:pw@admin.example/p HTTP/1.1\r\nHost: admin.example\r\n\r\n",
        "GET http://admin.example:99999/p HTTP/1.1\r\nHost: x\r\n\r\n",
        "GET http://admin.example:8o/p HTTP/1.1\r\nHost: x\r\n\r\n",
        "GET http://adm!n.example%zz/p HTTP/1.1\r\nHost: x\r\n\r\n",
    ];
    for request in refused {
        let answer = exchange_until_closed(request.as_bytes());
        assert!(
            answer.text.starts_with("HTTP/1.1 400 "),
            "{request:?} got {:?}",
            answer.text
        );
        assert!(
            answer.text.ends_with("400 Bad Request\n"),
            "{:?}",
            answer.text
        );
    }
    // The host the rules see is the one the origin would receive: the rule
    // fires on the authority, whatever Host said.
    let mut conn = Conn::open().expect("connect");
    let got = conn
        .roundtrip("GET http://ADMIN.example:8080/p HTTP/1.1\r\nHost: x\r\n\r\n")
        .expect("response");
    assert_eq!(got.status, 403, "{}", got.head);
    assert_eq!(targets(&origin), Vec::<String>::new(), "nothing forwarded");
    still_serves();
    proxy.stop();
    assert_eq!(
        logged(400),
        refused.len(),
        "one access-log line per refusal"
    );
    assert_eq!(logged(403), 1);
}

fn transfer_codings(world: &World) {
    let origin = Origin::start(world, "a", ORIGIN_A);
    let proxy = Proxy::start();
    let with = |path: &str, fields: &str| {
        format!("POST {path} HTTP/1.1\r\nHost: t.test\r\n{fields}\r\n0\r\n\r\n{SMUGGLED}")
    };
    let cases = [
        (
            "an unknown coding before chunked",
            with("/gzip", "Transfer-Encoding: gzip, chunked\r\n"),
            501,
        ),
        (
            "chunked twice",
            with("/twice", "Transfer-Encoding: chunked, chunked\r\n"),
            400,
        ),
        (
            "two Transfer-Encoding fields",
            with(
                "/two",
                "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n",
            ),
            400,
        ),
        (
            "identity",
            with("/identity", "Transfer-Encoding: identity\r\n"),
            400,
        ),
        (
            "identity before chunked",
            with(
                "/identity-chunked",
                "Transfer-Encoding: identity, chunked\r\n",
            ),
            400,
        ),
    ];
    for (what, request, status) in &cases {
        let answer = exchange_until_closed(request.as_bytes());
        assert_one_generated_then_closed(what, &answer, *status);
    }
    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(targets(&origin), Vec::<String>::new(), "nothing forwarded");
    still_serves();
    proxy.stop();
    assert_eq!((logged(501), logged(400)), (1, cases.len() - 1));
}

fn chunked_get_and_head(world: &World) {
    let origin = Origin::start(world, "a", ORIGIN_A);
    let proxy = Proxy::start();
    let body = "5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n";
    let mut conn = Conn::open().expect("connect");
    for method in ["GET", "HEAD"] {
        let request = format!(
            "{method} /with-body HTTP/1.1\r\nHost: g.test\r\nTransfer-Encoding: chunked\r\n\r\n{body}"
        );
        let got = conn.roundtrip(&request).expect("response");
        assert_eq!(got.status, 200, "{method}: {}", got.head);
        assert_eq!(
            got.header("x-body-len"),
            Some("11"),
            "{method}: the body arrived whole"
        );
    }
    // The connection goes on: nothing was left behind in it.
    let fine = conn
        .roundtrip(&client::get_request("/next", "g.test"))
        .expect("response");
    assert_eq!(fine.status, 200);
    let seen = origin.requests();
    assert_eq!(seen.len(), 3, "{seen:?}");
    for request in &seen[..2] {
        assert_eq!(request.body_start, b"hello world", "{request:?}");
    }
    // A broken chunked body on a GET is never answered 200.
    let broken = format!(
        "GET /broken-body HTTP/1.1\r\nHost: g.test\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n{SMUGGLED}"
    );
    let answer = exchange_until_closed(broken.as_bytes());
    assert_one_generated_then_closed("a broken chunked GET body", &answer, 400);
    std::thread::sleep(Duration::from_millis(200));
    assert!(
        !targets(&origin).iter().any(|t| t == "/smuggled"),
        "{:?}",
        targets(&origin)
    );
    still_serves();
    proxy.stop();
    let lines = lines_for("/broken-body");
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert_eq!(lines[0]["status"], "400");
    assert_eq!(lines_for("/with-body").len(), 2);
}

fn rfc_allows(world: &World) {
    let origin = Origin::start(world, "a", ORIGIN_A);
    let proxy = Proxy::start();
    let mut conn = Conn::open().expect("connect");
    // RFC 9110 §2.5: a higher minor version is processed as 1.1.
    let got = conn
        .roundtrip("GET /minor HTTP/1.2\r\nHost: v.test\r\n\r\n")
        .expect("response");
    assert_eq!(got.status, 200, "HTTP/1.2: {}", got.head);
    assert!(got.head.starts_with("HTTP/1.1 200"), "{}", got.head);
    // RFC 9112 §3.2.2 / RFC 3986: an empty path before a query.
    let got = conn
        .roundtrip("GET http://q.example?x=1 HTTP/1.1\r\nHost: q.example\r\n\r\n")
        .expect("response");
    assert_eq!(got.status, 200, "empty path and a query: {}", got.head);
    // RFC 3986 §3.2.2: a reg-name may hold percent-escapes.
    let got = conn
        .roundtrip("GET /pct HTTP/1.1\r\nHost: a%2Eexample\r\n\r\n")
        .expect("response");
    assert_eq!(got.status, 200, "percent-encoded host: {}", got.head);
    let seen = origin.requests();
    let summary: Vec<(String, Option<String>)> = seen
        .iter()
        .map(|s| (s.uri.clone(), s.header("host").map(str::to_owned)))
        .collect();
    assert_eq!(
        summary,
        [
            ("/minor".to_owned(), Some("v.test".to_owned())),
            ("/?x=1".to_owned(), Some("q.example".to_owned())),
            ("/pct".to_owned(), Some("a%2Eexample".to_owned())),
        ]
    );
    still_serves();
    proxy.stop();
    assert_eq!(logged(200), 4);
}

fn connect_closes(world: &World) {
    let origin = Origin::start(world, "a", ORIGIN_A);
    let proxy = Proxy::start();
    // What follows CONNECT was meant for a tunnel: never read as a request.
    let answer = exchange_until_closed(
        format!("CONNECT c.test:443 HTTP/1.1\r\nHost: c.test:443\r\n\r\n{SMUGGLED}").as_bytes(),
    );
    assert_one_generated_then_closed("CONNECT", &answer, 405);
    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(targets(&origin), Vec::<String>::new());
    still_serves();
    proxy.stop();
    assert_eq!(logged(405), 1);
}

fn split_request_line(world: &World) {
    // A 5 s header timeout: the refusal must come long before it.
    world.write_config("settings {\n    client_header_timeout 5s\n}\n");
    let origin = Origin::start(world, "a", ORIGIN_A);
    let proxy = Proxy::start();
    let mut stream = TcpStream::connect(client::PROXY).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    stream.set_nodelay(true).expect("nodelay");
    let started = Instant::now();
    stream.write_all(b"GET / HT").expect("first write");
    std::thread::sleep(Duration::from_millis(100));
    stream
        .write_all(b"XP/1.1\r\nHost: s")
        .expect("second write");
    let answer = read_until_closed(&mut stream);
    let took = started.elapsed();
    assert_one_generated_then_closed("a request line split in two", &answer, 400);
    assert!(took < Duration::from_secs(2), "refused after {took:?}");
    assert_eq!(targets(&origin), Vec::<String>::new());
    still_serves();
    proxy.stop();
    assert_eq!((logged(400), logged(408)), (1, 0));
}
