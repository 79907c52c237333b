//! Fuzzes the request path through the rule engine: any request head the
//! HTTP parser could hand over (method, target, headers) goes through the
//! service's absolute-form handling, URL normalization, `rules::evaluate`
//! (conditions, captures, template expansion) and the header edits, over two
//! real configurations that use every feature. It must never panic, and what
//! it decides must be sendable: a forwarded target that builds a URI, and a
//! traced evaluation that agrees with the plain one.
//!
//! Input layout: byte 0 picks the configuration; the rest is lines —
//! method, target, then `name: value` headers (invalid ones are skipped,
//! as hyper would have refused them before the rules).
#![no_main]

use std::net::{IpAddr, Ipv4Addr};
use std::sync::OnceLock;

use http::{HeaderName, HeaderValue, Method, Request, Uri};
use libfuzzer_sys::fuzz_target;
use switchyard::config::{CONFIG_FILE, compile_source};
use switchyard::rules::normalize::normalize_path;
use switchyard::rules::{Outcome, RequestFacts, ServedRules, apply_edits, evaluate, evaluate_traced};

const CONFIGS: [&[u8]; 2] = [
    include_bytes!("../../tests/fixtures/valid/every_feature.conf"),
    include_bytes!("../../tests/fixtures/valid/spec_example.conf"),
];

fn rule_sets() -> &'static [ServedRules] {
    static SETS: OnceLock<Vec<ServedRules>> = OnceLock::new();
    SETS.get_or_init(|| {
        CONFIGS
            .iter()
            .map(|source| {
                compile_source(CONFIG_FILE, source)
                    .map(|compiled| compiled.rule_set.prepare())
                    .unwrap_or_else(|_| panic!("fixture config must compile"))
            })
            .collect()
    })
}

fuzz_target!(|data: &[u8]| {
    let Some((&pick, rest)) = data.split_first() else {
        return;
    };
    let rule_set = &rule_sets()[usize::from(pick) % CONFIGS.len()];
    let mut lines = rest.split(|&b| b == b'\n');
    let (Some(method), Some(target)) = (lines.next(), lines.next()) else {
        return;
    };
    let Ok(method) = Method::from_bytes(method) else {
        return;
    };
    let Ok(uri) = Uri::try_from(target) else {
        return;
    };
    let mut builder = Request::builder().method(method).uri(uri);
    for line in lines {
        let Some(colon) = line.iter().position(|&b| b == b':') else {
            continue;
        };
        let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(&line[..colon]),
            HeaderValue::from_bytes(line[colon + 1..].trim_ascii()),
        ) else {
            continue;
        };
        builder = builder.header(name, value);
    }
    let Ok(request) = builder.body(()) else {
        return;
    };
    let (mut parts, ()) = request.into_parts();
    if parts.method == Method::CONNECT {
        return; // answered 405 before the rules
    }
    // As the service does: an absolute-form authority becomes Host.
    if let Some(authority) = parts.uri.authority().cloned() {
        let Ok(host) = HeaderValue::from_str(authority.as_str()) else {
            return;
        };
        parts.headers.insert(http::header::HOST, host);
        let origin = parts.uri.path_and_query().map_or("/", |pq| pq.as_str());
        let Ok(origin) = Uri::try_from(origin) else {
            return;
        };
        parts.uri = origin;
    }
    let peer = IpAddr::V4(Ipv4Addr::new(203, 0, 113, 9));
    let Ok(facts) = RequestFacts::from_parts(&parts, peer) else {
        return; // answered 400
    };
    // Normalization reaches a fixed point.
    let again = normalize_path(&facts.path)
        .unwrap_or_else(|_| panic!("normalized path {:?} does not normalize again", facts.path));
    assert_eq!(again, facts.path, "normalization is not idempotent");

    let decision = evaluate(rule_set, &facts);
    let (traced, _trace) = evaluate_traced(rule_set, &facts);
    assert_eq!(
        decision.fired, traced.fired,
        "traced evaluation fired other rules"
    );
    assert_eq!(
        decision.outcome, traced.outcome,
        "traced evaluation decided otherwise"
    );
    assert_eq!(decision.request_headers, traced.request_headers);
    assert_eq!(decision.response_headers, traced.response_headers);

    let target = match &decision.outcome {
        Outcome::Forward {
            target: Some(rewritten),
        } => rewritten.clone(),
        _ => facts.target(),
    };
    if matches!(decision.outcome, Outcome::Forward { .. }) {
        // What forward() builds; failing here is a 500 for the client.
        let upstream = format!("http://next-hop:80{target}");
        assert!(
            Uri::try_from(upstream.as_str()).is_ok(),
            "forwarded target {target:?} is not a valid URI"
        );
    }
    let mut headers = parts.headers.clone();
    apply_edits(&decision.request_headers, &mut headers);
    apply_edits(&decision.response_headers, &mut headers);
});
