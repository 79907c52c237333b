//! Issue 6, broken upstreams, at the real paths: a next hop that resets or
//! dies mid-body, sends a truncated or invalid head, trickles, closes a pooled
//! connection just as it is reused, or switches protocols unasked. The client
//! gets a correct status or a cleanly cut connection, the failure is logged,
//! and the server serves the next request.

use std::time::Duration;

use crate::Case;
use crate::broken_origin::{
    self, CHUNKED_UNDER_LENGTH, FRESH_BODY, HUNG_UP, OK_BODY, PROMISED, TRICKLED_BODY,
};
use crate::client::{self, Conn, Curl, get};
use crate::failures::assert_generated;
use crate::lifecycle::eventually;
use crate::logs::{ACCESS_LOG, ERROR_LOG, Line, read_json_log};
use crate::namespace::ORIGIN_A;
use crate::origin::Origin;
use crate::proxy::Proxy;
use crate::world::World;

/// The broken-upstream cases.
pub fn cases() -> Vec<Case> {
    vec![
        Case::new(
            "broken_next_hop_reset_mid_body_cuts_the_client_short",
            reset_mid_body,
        ),
        Case::new(
            "broken_next_hop_dying_mid_body_never_looks_complete",
            dying_mid_body,
        ),
        Case::new(
            "broken_next_hop_chunked_and_length_is_framed_by_the_chunks",
            chunked_and_length,
        ),
        Case::new(
            "broken_next_hop_transfer_coding_other_than_chunked_gives_502",
            unsupported_transfer_coding,
        ),
        Case::new(
            "broken_next_hop_framing_broken_after_the_head_closes_and_is_logged_as_a_failure",
            framing_broken_after_head,
        ),
        Case::new(
            "broken_next_hop_truncated_or_invalid_head_gives_502_and_is_logged",
            invalid_heads,
        ),
        Case::new(
            "broken_next_hop_trickling_is_waited_for_until_the_head_timeout",
            trickling,
        ),
        Case::new(
            "broken_next_hop_closing_a_pooled_connection_retries_get_once",
            stale_pooled_connection,
        ),
        Case::new(
            "broken_next_hop_closing_a_pooled_connection_never_replays_post",
            no_replay,
        ),
        Case::new(
            "broken_next_hop_unasked_101_gives_502_and_the_connection_stays_usable",
            unasked_upgrade,
        ),
    ]
}

fn start(world: &World) -> (Origin, Proxy) {
    let origin = Origin::start_raw(world, "broken", ORIGIN_A, broken_origin::serve);
    (origin, Proxy::start())
}

/// A normal request right after a failure is served as usual.
fn still_serves(after: &str) {
    let got = get("/ok", &[]);
    assert_eq!(
        (got.status, got.text().as_str()),
        (200, OK_BODY),
        "the server did not serve a normal request after {after}: {got:?}"
    );
}

/// The access-log lines of one URI (read after the server stopped, so flushed).
fn logged(uri: &str) -> Vec<Line> {
    read_json_log(ACCESS_LOG)
        .into_iter()
        .filter(|l| l.get("uri").map(String::as_str) == Some(uri))
        .collect()
}

/// The error-log lines that mention `needle`.
fn error_lines(needle: &str) -> Vec<String> {
    std::fs::read_to_string(ERROR_LOG)
        .unwrap_or_default()
        .lines()
        .filter(|l| l.contains(needle))
        .map(str::to_owned)
        .collect()
}

/// The client saw a 200 head, then the connection ended before the promised
/// body: curl fails (never a short body taken for a whole one).
fn assert_cut_short(got: &Curl, promised: usize, what: &str) {
    assert_ne!(
        got.exit,
        0,
        "{what}: curl took a truncated upstream body for a complete one: status {}, {} bytes",
        got.status,
        got.body.len()
    );
    assert!(
        got.body.len() < promised,
        "{what}: {} bytes of {promised}",
        got.body.len()
    );
}

fn reset_mid_body(world: &World) {
    let (origin, proxy) = start(world);
    let got = get("/reset-mid-body", &[]);
    assert_eq!(got.status, 200, "the head was already forwarded: {got:?}");
    assert_cut_short(&got, PROMISED, "reset mid-body");
    println!(
        "    next hop reset after 1000 of {PROMISED} bytes: curl exit {}, {} bytes",
        got.exit,
        got.body.len()
    );
    still_serves("a reset mid-body");
    proxy.stop();
    let line = &logged("/reset-mid-body")[..];
    assert_eq!(line.len(), 1, "one access-log line: {line:?}");
    assert_eq!(line[0]["status"], "200");
    let sent: usize = line[0]["bytes_sent"].parse().expect("bytes_sent");
    assert!(
        sent < PROMISED,
        "bytes_sent says what was really sent: {sent}"
    );
    assert!(
        !error_lines("mid-stream").is_empty(),
        "the reset is in error.log"
    );
    assert_eq!(origin.requests().len(), 2);
}

fn dying_mid_body(world: &World) {
    let (_origin, proxy) = start(world);
    for (path, promised) in [("/die-mid-chunked", usize::MAX), ("/die-mid-length", 100)] {
        let got = get(path, &[]);
        assert_eq!(got.status, 200, "{path}: {got:?}");
        assert_cut_short(&got, promised, path);
        still_serves(path);
    }
    proxy.stop();
}

fn chunked_and_length(world: &World) {
    // Issue 17: RFC 9112 §6.3, the received length goes and the chunking
    // frames the body; never five bytes that look complete.
    let (origin, proxy) = start(world);
    let got = get("/te-and-cl", &[]);
    assert_eq!((got.status, got.exit), (200, 0), "{got:?}");
    assert_eq!(got.text(), CHUNKED_UNDER_LENGTH, "the whole chunked body");
    assert_ne!(got.header("content-length"), Some("5"), "{got:?}");
    still_serves("a chunked response with a length");
    proxy.stop();
    let line = &logged("/te-and-cl")[..];
    assert_eq!(line.len(), 1, "{line:?}");
    assert_eq!(line[0]["status"], "200");
    assert_eq!(
        line[0]["bytes_sent"],
        CHUNKED_UNDER_LENGTH.len().to_string()
    );
    assert_eq!(origin.requests().len(), 2);
}

fn unsupported_transfer_coding(world: &World) {
    // The response twin of issue 17's class 4: a coding the proxy does not
    // implement is never stripped and passed on as plain content (RFC 9112
    // §6.1); the client gets the proxy's own 502, as from nginx.
    let (_origin, proxy) = start(world);
    let got = get("/te-gzip", &[]);
    assert_generated(&got, 502);
    assert!(!got.text().contains("not really gzip"), "{got:?}");
    still_serves("a gzip transfer coding");
    proxy.stop();
    let line = &logged("/te-gzip")[..];
    assert_eq!(line.len(), 1, "{line:?}");
    assert_eq!(
        (line[0]["status"].as_str(), line[0]["action"].as_str()),
        ("502", "error"),
        "{line:?}"
    );
    assert!(
        error_lines("/te-gzip")
            .iter()
            .any(|l| l.contains("Transfer-Encoding: gzip")),
        "{:?}",
        error_lines("/te-gzip")
    );
}

fn framing_broken_after_head(world: &World) {
    // Issue 17: once the head went out the status cannot change, but the
    // client connection closes (never a complete-looking response) and the
    // access log says the request failed.
    let (_origin, proxy) = start(world);
    for path in ["/bad-chunk-size", "/die-mid-chunked", "/die-mid-length"] {
        let got = get(path, &[]);
        assert_ne!(
            got.exit, 0,
            "{path}: curl took it for a whole response: {got:?}"
        );
        still_serves(path);
    }
    proxy.stop();
    for (path, status, sent) in [
        ("/bad-chunk-size", "502", "0"),
        ("/die-mid-chunked", "200", "5"),
        ("/die-mid-length", "200", "50"),
    ] {
        let line = &logged(path)[..];
        assert_eq!(line.len(), 1, "{path}: {line:?}");
        assert_eq!(
            (line[0]["status"].as_str(), line[0]["action"].as_str()),
            (status, "error"),
            "{path}: {line:?}"
        );
        assert_eq!(line[0]["bytes_sent"], sent, "{path}");
        assert!(
            !error_lines(path).is_empty(),
            "{path}: the failure is in error.log"
        );
    }
}

fn invalid_heads(world: &World) {
    let (origin, proxy) = start(world);
    let broken = ["/truncated-head", "/invalid", "/bad-status"];
    for path in broken {
        // POST is never replayed, so each reaches the next hop exactly once.
        let got = get(path, &["-X", "POST", "--data-binary", "x"]);
        assert_generated(&got, 502);
        assert_eq!(got.text(), "502 Bad Gateway\n", "{path}");
        still_serves(path);
    }
    // A GET may be retried once on a fresh connection, never more.
    let got = get("/truncated-head?get", &[]);
    assert_generated(&got, 502);
    still_serves("a truncated head to a GET");
    proxy.stop();
    let seen = origin.requests();
    for path in broken {
        let times = seen.iter().filter(|s| s.uri == path).count();
        assert_eq!(times, 1, "{path} reached the next hop {times} times");
    }
    let gets = seen
        .iter()
        .filter(|s| s.uri == "/truncated-head?get")
        .count();
    println!("    GET with a truncated response head reached the next hop {gets} time(s)");
    assert!((1..=2).contains(&gets), "{gets}");
    for path in broken.into_iter().chain(["/truncated-head?get"]) {
        let lines = logged(path);
        assert_eq!(lines.len(), 1, "{path}: one access-log line: {lines:?}");
        assert_eq!(lines[0]["status"], "502", "{path}");
        assert_eq!(lines[0]["action"], "error", "{path}");
        let errors = error_lines(path);
        assert!(
            errors.iter().any(|l| l.contains("upstream")),
            "{path} should be in error.log as an upstream failure: {errors:?}"
        );
    }
}

fn trickling(world: &World) {
    // With the default 60 s for the head: a head or a body trickled over a
    // couple of seconds arrives whole.
    let (_origin, proxy) = start(world);
    for path in ["/trickle-head/40", "/trickle-body/100"] {
        let got = get(path, &[]);
        assert_eq!(got.status, 200, "{path}: {got:?}");
        assert_eq!(got.text(), TRICKLED_BODY, "{path} arrived incomplete");
        if path.starts_with("/trickle-head") {
            assert_eq!(got.header("x-trickled"), Some("yes"), "{path}");
        }
    }
    proxy.stop();

    // The response timeout bounds the head only: a prompt head with a body
    // trickled over 2 s is streamed whole; a head trickled over 5 s is 504.
    world.write_config("settings {\n    upstream_response_timeout 1s\n}\n");
    let proxy = Proxy::start();
    let got = get("/trickle-body/100", &[]);
    assert_eq!(got.status, 200, "{got:?}");
    assert_eq!(got.text(), TRICKLED_BODY);
    let got = get("/trickle-head/100", &[]);
    assert_generated(&got, 504);
    assert_eq!(got.text(), "504 Gateway Timeout\n");
    still_serves("a 504");
    proxy.stop();
    let statuses: Vec<String> = read_json_log(ACCESS_LOG)
        .iter()
        .map(|l| l["status"].clone())
        .collect();
    assert_eq!(statuses, ["200", "200", "200", "504", "200"]);
}

fn stale_pooled_connection(world: &World) {
    let (origin, proxy) = start(world);
    // Alternate a FIN and an RST from the next hop.
    let paths: Vec<String> = (0..6)
        .map(|i| format!("/reuse/{}/{i}", if i % 2 == 0 { "fin" } else { "rst" }))
        .collect();
    for path in &paths {
        let got = get(path, &[]);
        assert_eq!(
            (got.status, got.text().as_str()),
            (200, FRESH_BODY),
            "GET {path}: a pooled connection that turned out closed must be retried on a fresh one"
        );
    }
    still_serves("the retries");
    proxy.stop();
    let connections = origin.connections();
    println!(
        "    6 GETs needed {connections} upstream connections (each reused one was closed by the origin)"
    );
    assert!(
        connections >= 3,
        "the test did not exercise a stale pooled connection ({connections} connections)"
    );
    let seen = origin.requests();
    for path in &paths {
        let times = seen.iter().filter(|s| &s.uri == path).count();
        assert!(
            (1..=2).contains(&times),
            "GET {path} reached the next hop {times} times: retried more than once"
        );
    }
    let lines = read_json_log(ACCESS_LOG);
    assert_eq!(lines.len(), 7);
    assert!(lines.iter().all(|l| l["status"] == "200"), "{lines:?}");
}

fn no_replay(world: &World) {
    let (origin, proxy) = start(world);
    for round in 0..2 {
        assert_eq!(get("/ok", &[]).status, 200, "a GET pools the connection");
        let got = get("/reuse-post", &["-X", "POST", "--data-binary", "pay once"]);
        let posts = origin
            .requests()
            .iter()
            .filter(|s| s.method == "POST")
            .count();
        println!(
            "    POST on a pooled connection the origin dropped: status {}, origin saw {posts} POST(s) in all",
            got.status
        );
        assert_eq!(
            posts,
            round + 1,
            "a POST whose connection died after it was sent must not be sent again"
        );
        assert_generated(&got, 502);
        still_serves("a POST that was not replayed");
    }
    proxy.stop();
    let lines = logged("/reuse-post");
    assert!(lines.iter().all(|l| l["status"] == "502"), "{lines:?}");
}

fn unasked_upgrade(world: &World) {
    let (origin, proxy) = start(world);
    let mut conn = Conn::open().expect("connect");
    let got = conn
        .roundtrip(&client::get_request("/switch", "switch.test"))
        .expect("an answer to /switch");
    assert_eq!(got.status, 502, "{}", got.head);
    assert_eq!(got.body, b"502 Bad Gateway\n");
    assert!(
        !got.closes(),
        "a broken next hop is no reason to close the client's connection: {}",
        got.head
    );
    let next = conn
        .roundtrip(&client::get_request("/ok", "switch.test"))
        .expect("the same connection serves on");
    assert_eq!(
        (next.status, next.body.as_slice()),
        (200, OK_BODY.as_bytes())
    );
    still_serves("an unasked 101");
    // The switched upstream connection is closed, not leaked.
    let hung_up = eventually(Duration::from_secs(10), || {
        origin.requests().iter().any(|s| s.method == HUNG_UP)
    });
    assert!(
        hung_up,
        "the proxy kept the upstream connection that answered 101"
    );
    proxy.stop();
    assert_eq!(logged("/switch")[0]["status"], "502");
    assert!(
        !error_lines("101").is_empty(),
        "the unasked 101 is in error.log"
    );
    assert_eq!(
        origin.requests().len(),
        4,
        "/switch, /ok twice, the hang-up"
    );
}
