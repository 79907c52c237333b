//! Fuzzes the whole exchange through both phases (sections 12 and 13): any
//! request head and any described next-hop answer (status and headers) go
//! through `rules::exchange::simulate` over real configurations with
//! response rules, file bodies and `default`. It must never panic, the traced
//! simulation must agree with the plain one, and what the client gets must
//! be sendable: a status of 100–599, and, when a rule generated the answer,
//! a body and a `Content-Type` unless a rule removed it.
//!
//! Input layout: byte 0 picks the configuration, bytes 1–2 the next hop's
//! status (big-endian, taken modulo 500, plus 100); the rest is lines —
//! method, target, then `name: value` request headers, then an empty line,
//! then the next hop's `name: value` headers (invalid lines are skipped).
#![no_main]

use std::net::{IpAddr, Ipv4Addr};
use std::path::Path;
use std::sync::OnceLock;

use http::{HeaderMap, HeaderName, HeaderValue, Method, Request, StatusCode, Uri};
use libfuzzer_sys::fuzz_target;
use switchyard::config::{CONFIG_FILE, compile_source_in};
use switchyard::rules::{RequestFacts, RuleSet, UpstreamAnswer, simulate, simulate_traced};

const CONFIGS: [&[u8]; 3] = [
    include_bytes!("../../tests/fixtures/valid/response_phase.conf"),
    include_bytes!("../../tests/fixtures/explain/response_site/proxy.conf"),
    include_bytes!("../../tests/fixtures/valid/every_feature.conf"),
];

fn rule_sets() -> &'static [RuleSet] {
    static SETS: OnceLock<Vec<RuleSet>> = OnceLock::new();
    SETS.get_or_init(|| {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let dirs = [
            root.join("tests/fixtures/files"),
            root.join("tests/fixtures/explain/response_site"),
            root.join("tests/fixtures/files"),
        ];
        CONFIGS
            .iter()
            .zip(&dirs)
            .map(|(source, dir)| {
                compile_source_in(CONFIG_FILE, source, Some(dir))
                    .map(|compiled| compiled.rule_set)
                    .unwrap_or_else(|invalid| panic!("{}", invalid.render(false)))
            })
            .collect()
    })
}

fn header_lines<'a>(lines: impl Iterator<Item = &'a [u8]>, headers: &mut HeaderMap) {
    for line in lines {
        let Some(colon) = line.iter().position(|&b| b == b':') else {
            continue;
        };
        if let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(&line[..colon]),
            HeaderValue::from_bytes(line[colon + 1..].trim_ascii()),
        ) {
            headers.append(name, value);
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let [pick, high, low, rest @ ..] = data else {
        return;
    };
    let rule_set = &rule_sets()[usize::from(*pick) % CONFIGS.len()];
    let code = 100 + u16::from_be_bytes([*high, *low]) % 500;
    let Ok(status) = StatusCode::from_u16(code) else {
        return;
    };
    let (request_part, response_part) = match rest.windows(2).position(|w| w == b"\n\n") {
        Some(at) => (&rest[..at], &rest[at + 2..]),
        None => (rest, &[][..]),
    };
    let mut lines = request_part.split(|&b| b == b'\n');
    let (Some(method), Some(target)) = (lines.next(), lines.next()) else {
        return;
    };
    let (Ok(method), Ok(uri)) = (Method::from_bytes(method), Uri::try_from(target)) else {
        return;
    };
    if method == Method::CONNECT || uri.authority().is_some() {
        return; // refused or rewritten before the rules; see request_rules
    }
    let Ok(request) = Request::builder().method(method).uri(uri).body(()) else {
        return;
    };
    let (mut parts, ()) = request.into_parts();
    header_lines(lines, &mut parts.headers);
    let mut upstream_headers = HeaderMap::new();
    header_lines(response_part.split(|&b| b == b'\n'), &mut upstream_headers);
    let upstream = UpstreamAnswer {
        status,
        headers: upstream_headers,
    };
    let peer = IpAddr::V4(Ipv4Addr::new(203, 0, 113, 9));
    let Ok(facts) = RequestFacts::from_parts(&parts, peer) else {
        return;
    };
    let plain = simulate(rule_set, &facts, Some(&upstream));
    let (traced, trace) = simulate_traced(rule_set, &facts, Some(&upstream));
    assert_eq!(format!("{plain:?}"), format!("{traced:?}"), "traced simulation differs");
    assert_eq!(trace.rules.len(), rule_set.rules.len());
    let fired: Vec<usize> = plain.fired().collect();
    let Some(client) = plain.client.as_ref() else {
        panic!("an answer was described, so the client gets one");
    };
    assert!((100..=599).contains(&client.status.as_u16()));
    if client.generated.is_some() {
        assert!(client.body.is_some(), "a generated answer has a body");
    }
    // Request rules come first in `fired`, each phase in file order.
    let response = plain.response.as_ref().map_or(&[][..], |r| &r.fired[..]);
    assert!(plain.request.fired.windows(2).all(|w| w[0] < w[1]));
    assert!(response.windows(2).all(|w| w[0] < w[1]));
    assert_eq!(fired.len(), plain.request.fired.len() + response.len());
    // Without a described answer a forwarded request stops before the
    // response phase, and nothing else changes.
    let waiting = simulate(rule_set, &facts, None);
    assert_eq!(
        format!("{:?}", waiting.request),
        format!("{:?}", plain.request)
    );
});
