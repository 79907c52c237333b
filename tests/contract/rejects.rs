//! Contract §2 and `proxy-conf.md` §8/§10, requests the proxy refuses: malformed
//! (400), header sections over `max_request_header_bytes` (431), CONNECT (405),
//! other target forms (400). None may reach the next hop; each is logged and
//! answered with a short `text/plain` body.

use std::time::Duration;

use crate::Case;
use crate::client::{self, Conn, get, raw_exchange};
use crate::namespace::ORIGIN_A;
use crate::origin::Origin;
use crate::proxy::Proxy;
use crate::world::World;

/// The refusal cases.
pub fn cases() -> Vec<Case> {
    vec![
        Case::new(
            "malformed_requests_get_400_and_never_reach_origin",
            malformed,
        ),
        Case::new("oversized_header_section_gets_431", header_too_large),
        Case::new("max_request_header_bytes_setting", header_limit_setting),
        Case::new(
            "header_limits_are_the_settings_bytes",
            header_limits_in_bytes,
        ),
        Case::new(
            "huge_header_section_gets_a_generated_431",
            huge_header_section,
        ),
        Case::new("connect_gets_405", connect_method),
        Case::new("asterisk_and_authority_form_get_400", other_target_forms),
    ]
}

fn malformed(world: &World) {
    let origin = Origin::start(world, "a", ORIGIN_A);
    let proxy = Proxy::start();
    // Smuggling shapes (conflicting lengths and the like) are in hostile.rs.
    let cases: [&[u8]; 7] = [
        b"GET /x HTTP/1.1\r\nHost: m.test\r\nThis is not a header\r\n\r\n",
        b"NOT A REQUEST LINE AT ALL\r\n\r\n",
        b"GET /x HTTP/1.1\r\nHost: m.test\r\nContent-Length: nope\r\n\r\n",
        b"GET x/no/slash HTTP/1.1\r\nHost: m.test\r\n\r\n",
        b"GET /x HTTP/9.9\r\nHost: m.test\r\n\r\n",
        b"GET /x HTTP/1.1\r\nHost: m.test\r\nX-Nul: a\x00b\r\n\r\n",
        b"G\xffT /x HTTP/1.1\r\nHost: m.test\r\n\r\n",
    ];
    let mut answers = Vec::new();
    for raw in cases {
        let answer = String::from_utf8_lossy(&raw_exchange(raw)).into_owned();
        assert!(
            answer.starts_with("HTTP/1.1 400"),
            "{:?} got {answer:?}",
            String::from_utf8_lossy(raw)
        );
        answers.push(answer);
    }
    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(
        origin.requests().len(),
        0,
        "a malformed request reached the origin: {:?}",
        origin.requests()
    );
    // The server still serves.
    assert_eq!(get("/fine", &[]).status, 200);
    proxy.stop();
    let lines = crate::logs::read_json_log(crate::logs::ACCESS_LOG);
    let rejected = lines
        .iter()
        .filter(|l| l.get("status").map(String::as_str) == Some("400"))
        .count();
    assert_eq!(
        rejected,
        cases.len(),
        "one access-log line per rejected request: {lines:?}"
    );
    // Contract §2: errors the proxy generates have a short text/plain body.
    for answer in &answers {
        assert_generated_raw(answer, 400);
    }
}

fn header_too_large(world: &World) {
    let origin = Origin::start(world, "a", ORIGIN_A);
    let proxy = Proxy::start();
    let big = "v".repeat(40 * 1024);
    let request = format!("GET /big HTTP/1.1\r\nHost: big.test\r\nX-Big: {big}\r\n\r\n");
    let text = String::from_utf8_lossy(&raw_exchange(request.as_bytes())).into_owned();
    assert!(
        text.starts_with("HTTP/1.1 431"),
        "a 40 KiB header section (limit 32 KiB) got: {:.200}",
        text
    );
    assert_generated_raw(&text, 431);
    assert_eq!(origin.requests().len(), 0);
    // Just under the default limit passes.
    let fits = "v".repeat(30 * 1024);
    let got = get("/fits", &["-H", &format!("X-Big: {fits}")]);
    assert_eq!(got.status, 200);
    proxy.stop();
    assert_logged_once(431);
}

fn header_limit_setting(world: &World) {
    world.write_config("settings {\n    max_request_header_bytes 2KiB\n}\n");
    let origin = Origin::start(world, "a", ORIGIN_A);
    let proxy = Proxy::start();
    let request = format!(
        "GET /big HTTP/1.1\r\nHost: big.test\r\nX-Big: {}\r\n\r\n",
        "v".repeat(3 * 1024)
    );
    let text = String::from_utf8_lossy(&raw_exchange(request.as_bytes())).into_owned();
    assert!(
        text.starts_with("HTTP/1.1 431"),
        "3 KiB of headers with a 2 KiB limit got: {text:.200}"
    );
    assert_eq!(
        get("/small", &["-H", &format!("X-Small: {}", "v".repeat(512))]).status,
        200
    );
    assert_eq!(origin.requests().len(), 1);
    proxy.stop();
}

fn header_limits_in_bytes(world: &World) {
    // Many small headers, well under 32 KiB: served, all of them forwarded.
    let origin = Origin::start(world, "a", ORIGIN_A);
    let proxy = Proxy::start();
    let request = client::request_with_fields("/many", "many.test", 150);
    let mut conn = Conn::open().expect("connect");
    let got = conn.roundtrip(&request).expect("response");
    assert_eq!(
        got.status, 200,
        "150 headers in 3 KiB are within max_request_header_bytes:\n{}",
        got.head
    );
    let seen = origin.requests().pop().expect("seen");
    assert_eq!(
        seen.headers
            .iter()
            .filter(|(n, _)| n.starts_with("x-many-"))
            .count(),
        150
    );
    proxy.stop();
    drop(origin);

    // The largest setting admits what it says.
    crate::world::World::reset(world);
    world.write_config("settings {\n    max_request_header_bytes 1MiB\n}\n");
    let origin = Origin::start(world, "a", ORIGIN_A);
    let proxy = Proxy::start();
    let big = format!(
        "GET /big HTTP/1.1\r\nHost: b.test\r\nX-Big: {}\r\n\r\n",
        "v".repeat(600 * 1024)
    );
    let mut conn = Conn::open().expect("connect");
    let got = conn.roundtrip(&big).expect("response");
    assert_eq!(
        got.status, 200,
        "600 KiB of headers under max_request_header_bytes 1MiB:\n{}",
        got.head
    );
    assert_eq!(
        origin
            .requests()
            .pop()
            .expect("seen")
            .header("x-big")
            .map(str::len),
        Some(600 * 1024)
    );
    proxy.stop();
}

fn huge_header_section(world: &World) {
    let origin = Origin::start(world, "a", ORIGIN_A);
    let proxy = Proxy::start();
    let heads = [
        // Far over the default limit (and over hyper's own read buffer).
        (
            "500 KiB of headers",
            format!(
                "GET /huge HTTP/1.1\r\nHost: h.test\r\nX-Huge: {}\r\n\r\n",
                "v".repeat(500 * 1024)
            ),
        ),
        // Still arriving (no end of head yet): refused once past what the
        // parser reads, without waiting for the rest.
        (
            "100 KiB of an unfinished head",
            format!(
                "GET /unfinished HTTP/1.1\r\nHost: h.test\r\nX-Huge: {}",
                "v".repeat(100 * 1024)
            ),
        ),
    ];
    for (what, head) in &heads {
        let text = String::from_utf8_lossy(&raw_exchange(head.as_bytes())).into_owned();
        assert!(text.starts_with("HTTP/1.1 431"), "{what} got {text:.200}");
        assert_generated_raw(&text, 431);
    }
    assert_eq!(origin.requests().len(), 0);
    proxy.stop();
    let lines = crate::logs::read_json_log(crate::logs::ACCESS_LOG);
    let n = lines
        .iter()
        .filter(|l| l.get("status").map(String::as_str) == Some("431"))
        .count();
    assert_eq!(n, heads.len(), "one access-log line per 431: {lines:?}");
}

fn connect_method(world: &World) {
    let origin = Origin::start(world, "a", ORIGIN_A);
    let proxy = Proxy::start();
    let text = String::from_utf8_lossy(&raw_exchange(
        b"CONNECT example.test:443 HTTP/1.1\r\nHost: example.test:443\r\n\r\n",
    ))
    .into_owned();
    assert!(text.starts_with("HTTP/1.1 405"), "CONNECT got {text:?}");
    assert_generated_raw(&text, 405);
    assert_eq!(origin.requests().len(), 0);
    proxy.stop();
    assert_logged_once(405);
}

fn other_target_forms(world: &World) {
    let origin = Origin::start(world, "a", ORIGIN_A);
    let proxy = Proxy::start();
    for raw in [
        &b"OPTIONS * HTTP/1.1\r\nHost: t.test\r\n\r\n"[..],
        &b"GET t.test:80 HTTP/1.1\r\nHost: t.test\r\n\r\n"[..],
    ] {
        let text = String::from_utf8_lossy(&raw_exchange(raw)).into_owned();
        assert!(
            text.starts_with("HTTP/1.1 400"),
            "proxy-conf.md §8: only origin- and absolute-form (and CONNECT, 405); {:?} got {text:?}",
            String::from_utf8_lossy(raw)
        );
    }
    assert_eq!(origin.requests().len(), 0);
    proxy.stop();
}

/// A response the proxy generated: `text/plain` with a short, non-empty body.
fn assert_generated_raw(text: &str, status: u16) {
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((text, ""));
    assert!(
        head.to_ascii_lowercase()
            .contains("content-type: text/plain"),
        "{status} should be text/plain:\n{head}"
    );
    assert!(
        !body.is_empty() && body.len() < 1024,
        "{status} should have a short body: {body:?}"
    );
}

/// The access log holds exactly one line with this status.
fn assert_logged_once(status: u16) {
    let lines = crate::logs::read_json_log(crate::logs::ACCESS_LOG);
    let n = lines
        .iter()
        .filter(|l| l.get("status").map(String::as_str) == Some(status.to_string().as_str()))
        .count();
    assert_eq!(n, 1, "one access-log line for the {status}: {lines:?}");
}
