//! The response phase (section 12) on compiled configs, through the one
//! exchange simulation that `explain` and shipped tests use: file order,
//! accumulation after the request phase's edits, conditions that see the
//! response as it came, and the first answer ending the phase.

use super::*;
use crate::rules::exchange::{Exchange, UpstreamAnswer, simulate, simulate_traced};

fn compiled(text: &str) -> RuleSet {
    match crate::config::compile_source("proxy.conf", text.as_bytes()) {
        Ok(compiled) => compiled.rule_set,
        Err(invalid) => panic!("{}", invalid.render(false)),
    }
}

fn upstream(status: u16, headers: &[(&str, &str)]) -> UpstreamAnswer {
    UpstreamAnswer {
        status: http::StatusCode::from_u16(status).unwrap(),
        headers: edited(&[], headers),
    }
}

fn exchange(set: &RuleSet, target: &str, answer: Option<&UpstreamAnswer>) -> Exchange {
    let parts = request(target, &[("host", "example.test")]);
    let facts = RequestFacts::from_parts(&parts, IpAddr::from([192, 0, 2, 1])).unwrap();
    let plain = simulate(set, &facts, answer);
    let (traced, _) = simulate_traced(set, &facts, answer);
    assert_eq!(
        format!("{plain:?}"),
        format!("{traced:?}"),
        "traced simulation differs"
    );
    plain
}

fn names(set: &RuleSet, exchange: &Exchange) -> Vec<String> {
    exchange
        .fired()
        .map(|at| set.rules[at].name.clone())
        .collect()
}

const SITE: &str = r#"
rule hsts {
    response header set Strict-Transport-Security "max-age=63072000"
}
rule api {
    when path ^= "/api/"
    rewrite "/v2{path}?via=rewrite"
}
rule old {
    when path == "/old"
    redirect 301 "/new"
}
rule cache-images on response {
    when status == 200 and content_type ^= "image/"
    response header default Cache-Control "public, max-age=86400"
}
rule https-locations on response {
    when response_header("Location") ~ "^http://(?<rest>.*)$"
    response header set Location "https://{rest}"
}
rule server-errors on response {
    when status >= 500 and status < 600
    response header set X-Failed "{status} {content_type}"
}
rule friendly-errors on response {
    when status in [502, 503, 504]
    respond 503 "down\n"
    }
rule never-after-answer on response {
    when status == 503
    response header set X-Seen "yes"
}
"#;

#[test]
fn cache_default_keeps_the_upstreams_own_header() {
    let set = compiled(SITE);
    let own = upstream(
        200,
        &[("content-type", "Image/PNG"), ("cache-control", "no-store")],
    );
    let client = exchange(&set, "/a.png", Some(&own)).client.unwrap();
    assert_eq!(client.headers["cache-control"], "no-store");
    let bare = upstream(200, &[("content-type", "image/png")]);
    let done = exchange(&set, "/a.png", Some(&bare));
    let client = done.client.as_ref().unwrap();
    assert_eq!(client.headers["cache-control"], "public, max-age=86400");
    assert_eq!(
        client.headers["strict-transport-security"],
        "max-age=63072000"
    );
    assert_eq!(names(&set, &done), ["hsts", "cache-images"]);
}

#[test]
fn location_is_rewritten_from_the_captured_group() {
    let set = compiled(SITE);
    let answer = upstream(302, &[("location", "http://example.test/next")]);
    let client = exchange(&set, "/", Some(&answer)).client.unwrap();
    assert_eq!(client.headers["location"], "https://example.test/next");
}

#[test]
fn an_error_page_replaces_the_answer_with_the_edits_so_far() {
    let set = compiled(SITE);
    let answer = upstream(502, &[("content-type", "text/html"), ("x-upstream", "1")]);
    let done = exchange(&set, "/", Some(&answer));
    let client = done.client.as_ref().unwrap();
    assert_eq!(client.status, 503);
    assert_eq!(client.body.as_deref(), Some(&b"down\n"[..]));
    // The next hop's headers are dropped; the edits accumulated so far
    // (request phase, then earlier response rules) are on the answer.
    assert!(!client.headers.contains_key("x-upstream"));
    assert_eq!(client.headers["content-type"], TEXT_PLAIN);
    assert_eq!(client.headers["x-failed"], "502 text/html");
    assert_eq!(
        client.headers["strict-transport-security"],
        "max-age=63072000"
    );
    // The answer is not fed back: the rule on 503 below never runs.
    assert!(!client.headers.contains_key("x-seen"));
    assert_eq!(
        names(&set, &done),
        ["hsts", "server-errors", "friendly-errors"]
    );
}

#[test]
fn request_phase_answers_see_the_response_rules() {
    let set = compiled(SITE);
    let done = exchange(&set, "/old?x=1", None);
    let client = done.client.as_ref().unwrap();
    assert_eq!(client.status, 301);
    assert_eq!(client.headers["location"], "/new?x=1");
    assert_eq!(
        client.headers["strict-transport-security"],
        "max-age=63072000"
    );
    assert_eq!(names(&set, &done), ["hsts", "old"]);
}

#[test]
fn without_an_answer_the_response_phase_waits() {
    let set = compiled(SITE);
    let done = exchange(&set, "/", None);
    assert!(done.response.is_none() && done.client.is_none());
    let parts = request("/", &[]);
    let facts = RequestFacts::from_parts(&parts, IpAddr::from([192, 0, 2, 1])).unwrap();
    let (_, trace) = simulate_traced(&set, &facts, None);
    assert_eq!(trace.rules[0].status, RuleStatus::Fired);
    assert_eq!(trace.rules[3].status, RuleStatus::DependsOnResponse);
}

#[test]
fn a_response_redirect_carries_the_outgoing_query() {
    let set = compiled(
        r#"
rule api {
    when path ^= "/api/"
    rewrite "/v2{path}?via=rewrite"
}
rule moved on response {
    when status == 404
    redirect 302 "/missing"
}
"#,
    );
    let answer = upstream(404, &[]);
    let client = exchange(&set, "/api/x?orig=1", Some(&answer))
        .client
        .unwrap();
    assert_eq!(client.headers["location"], "/missing?via=rewrite");
    let client = exchange(&set, "/other?orig=1", Some(&answer))
        .client
        .unwrap();
    assert_eq!(client.headers["location"], "/missing?orig=1");
}

#[test]
fn set_content_type_wins_over_a_generated_body_and_default_does_not() {
    let set = compiled(
        r#"
rule page {
    when path == "/page"
    response header set Content-Type "text/html; charset=utf-8"
    respond 200 "<p>hi</p>"
}
rule keep {
    when path == "/keep"
    response header default Content-Type "text/html"
    respond 200 "plain"
}
"#,
    );
    let client = exchange(&set, "/page", None).client.unwrap();
    assert_eq!(client.headers["content-type"], "text/html; charset=utf-8");
    let client = exchange(&set, "/keep", None).client.unwrap();
    assert_eq!(client.headers["content-type"], TEXT_PLAIN);
}

#[test]
fn conditions_see_the_response_as_it_came() {
    let set = compiled(
        r#"
rule first on response {
    response header set X-Kind "changed"
    response header remove Content-Type
}
rule second on response {
    when response_header("X-Kind") == "original" and content_type == "text/css"
    response header add X-Saw "original"
}
"#,
    );
    let answer = upstream(200, &[("x-kind", "original"), ("content-type", "text/css")]);
    let client = exchange(&set, "/", Some(&answer)).client.unwrap();
    assert_eq!(client.headers["x-kind"], "changed");
    assert_eq!(client.headers["x-saw"], "original");
    assert!(!client.headers.contains_key("content-type"));
}

#[test]
fn informational_answers_are_not_seen() {
    let set = compiled("rule all on response {\n response header set X-A \"1\"\n}\n");
    let answer = upstream(101, &[]);
    let done = exchange(&set, "/", Some(&answer));
    assert!(done.response.as_ref().unwrap().fired.is_empty());
}

#[test]
fn request_rules_never_run_response_rules_in_their_phase() {
    let set = compiled(SITE);
    let d = run_on(&set, "/", &[]);
    assert_eq!(d.fired, vec![0]);
}

#[test]
fn stop_ends_the_response_phase_without_an_answer() {
    let set = compiled(
        r#"
rule first on response {
    response header set X-First "1"
    stop
}
rule second on response {
    response header set X-Second "1"
}
"#,
    );
    let answer = upstream(200, &[]);
    let done = exchange(&set, "/", Some(&answer));
    let client = done.client.as_ref().unwrap();
    assert_eq!(client.status, 200);
    assert_eq!(client.headers["x-first"], "1");
    assert!(!client.headers.contains_key("x-second"));
    assert_eq!(names(&set, &done), ["first"]);
}

#[test]
fn a_response_redirect_carries_the_query_after_query_edits() {
    let set = compiled(
        r#"
rule clean {
    query remove "utm_*"
}
rule gone on response {
    when status == 410
    redirect 301 "/elsewhere"
}
"#,
    );
    let answer = upstream(410, &[]);
    let client = exchange(&set, "/x?utm_source=a&page=2", Some(&answer))
        .client
        .unwrap();
    assert_eq!(client.headers["location"], "/elsewhere?page=2");
}
