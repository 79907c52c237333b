//! Evaluation against spec §4–§9, one test per row, on rule sets built by hand.

#![allow(clippy::unwrap_used)]

use std::net::IpAddr;

use http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use ipnet::IpNet;
use regex::Regex;

use super::*;
use crate::rules::{
    CaptureRef, Condition, Field, Rule, RuleStatus, Settings, Template, TemplatePart, Test, TestOp,
    ValueSet, apply_edits,
};

// ---- building rule sets by hand -------------------------------------------------

fn test(field: Field, op: TestOp) -> Condition {
    Condition::Test(Test { field, op })
}

fn regex(field: Field, pattern: &str, slot: usize) -> Condition {
    test(
        field,
        TestOp::Matches {
            regex: Regex::new(pattern).unwrap(),
            slot,
        },
    )
}

fn header(name: &str) -> HeaderName {
    HeaderName::from_bytes(name.as_bytes()).unwrap()
}

fn lit(text: &str) -> TemplatePart {
    TemplatePart::Literal(text.into())
}

fn field(field: Field) -> TemplatePart {
    TemplatePart::Field(field)
}

fn cap(slot: usize, group: usize) -> TemplatePart {
    TemplatePart::Capture(CaptureRef { slot, group })
}

fn template(parts: Vec<TemplatePart>) -> Template {
    Template { parts }
}

fn rule(name: &str, condition: Option<Condition>, actions: Vec<Action>) -> Rule {
    let regex_slots = condition.as_ref().map_or(0, count_slots);
    Rule {
        name: name.into(),
        condition,
        actions,
        regex_slots,
    }
}

fn count_slots(condition: &Condition) -> usize {
    match condition {
        Condition::All(members) | Condition::Any(members) => members.iter().map(count_slots).sum(),
        Condition::Not(inner) => count_slots(inner),
        Condition::Test(Test {
            op: TestOp::Matches { .. },
            ..
        }) => 1,
        _ => 0,
    }
}

fn rules(rules: Vec<Rule>) -> RuleSet {
    RuleSet::new(Settings::default(), rules, String::new())
}

fn redirect(status: u16, parts: Vec<TemplatePart>) -> Action {
    Action::Redirect {
        status: StatusCode::from_u16(status).unwrap(),
        target: template(parts),
    }
}

fn respond(status: u16, body: &str) -> Action {
    Action::Respond {
        status: StatusCode::from_u16(status).unwrap(),
        body: Template::literal(body),
    }
}

fn rewrite(parts: Vec<TemplatePart>) -> Action {
    Action::Rewrite {
        target: template(parts),
    }
}

fn req_set(name: &str, parts: Vec<TemplatePart>) -> Action {
    Action::RequestHeader(HeaderAction::Set(header(name), template(parts)))
}

fn req_add(name: &str, value: &str) -> Action {
    Action::RequestHeader(HeaderAction::Add(header(name), Template::literal(value)))
}

fn req_remove(name: &str) -> Action {
    Action::RequestHeader(HeaderAction::Remove(header(name)))
}

fn resp_set(name: &str, value: &str) -> Action {
    Action::ResponseHeader(HeaderAction::Set(header(name), Template::literal(value)))
}

fn resp_remove(name: &str) -> Action {
    Action::ResponseHeader(HeaderAction::Remove(header(name)))
}

// ---- running them ---------------------------------------------------------------

fn request(target: &str, headers: &[(&str, &str)]) -> http::request::Parts {
    let mut builder = http::Request::builder().uri(target);
    for (name, value) in headers {
        builder = builder.header(*name, *value);
    }
    builder.body(()).unwrap().into_parts().0
}

fn run_on(rule_set: &RuleSet, target: &str, headers: &[(&str, &str)]) -> Decision {
    let parts = request(target, headers);
    let facts = RequestFacts::from_parts(&parts, IpAddr::from([192, 0, 2, 1])).unwrap();
    let decision = evaluate(rule_set, &facts);
    let (traced, _) = evaluate_traced(rule_set, &facts);
    assert_eq!(
        format!("{decision:?}"),
        format!("{traced:?}"),
        "traced evaluation differs"
    );
    decision
}

fn location(decision: &Decision) -> Option<(u16, &str)> {
    match &decision.outcome {
        Outcome::Redirect { status, location } => {
            Some((status.as_u16(), location.to_str().unwrap()))
        }
        _ => None,
    }
}

fn forwarded_target(decision: &Decision) -> Option<Option<&str>> {
    match &decision.outcome {
        Outcome::Forward { target } => Some(target.as_deref()),
        _ => None,
    }
}

fn edited(edits: &[HeaderEdit], start: &[(&str, &str)]) -> HeaderMap {
    let mut headers = HeaderMap::new();
    for (name, value) in start {
        headers.append(header(name), HeaderValue::from_str(value).unwrap());
    }
    apply_edits(edits, &mut headers);
    headers
}

fn force_https() -> RuleSet {
    rules(vec![rule(
        "force-https",
        Some(test(Field::Scheme, TestOp::Equals("http".into()))),
        vec![redirect(
            301,
            vec![lit("https://"), field(Field::Host), field(Field::Uri)],
        )],
    )])
}

// ---- §4 fields and §5 conditions -------------------------------------------------

#[test]
fn scheme_http_redirects_and_https_forwards() {
    let set = force_https();
    let d = run_on(&set, "/a?x=1", &[("host", "Example.com:80")]);
    assert_eq!(location(&d), Some((301, "https://example.com/a?x=1")));
    assert_eq!(d.fired, vec![0]);
    let d = run_on(
        &set,
        "/a",
        &[("host", "example.com"), ("x-forwarded-proto", "HTTPS")],
    );
    assert_eq!(forwarded_target(&d), Some(None));
    assert!(d.fired.is_empty());
    let d = run_on(
        &set,
        "/a",
        &[("host", "example.com"), ("x-forwarded-proto", "ftp")],
    );
    assert_eq!(location(&d), Some((301, "https://example.com/a")));
}

#[test]
fn numbered_and_named_captures_expand() {
    let set = rules(vec![rule(
        "old-blog",
        Some(regex(Field::Path, "^/blog/(?<year>[0-9]{4})/([^/]+)/?$", 0)),
        vec![redirect(
            308,
            vec![lit("/articles/"), cap(0, 1), lit("/"), cap(0, 2)],
        )],
    )]);
    let d = run_on(&set, "/blog/2024/hello/?ref=x", &[]);
    assert_eq!(location(&d), Some((308, "/articles/2024/hello?ref=x")));
    let d = run_on(&set, "/blog/24/hello", &[]);
    assert_eq!(forwarded_target(&d), Some(None));
}

#[test]
fn group_that_took_no_part_expands_to_nothing() {
    let set = rules(vec![rule(
        "optional",
        Some(regex(Field::Path, "^/p(/(x))?$", 0)),
        vec![rewrite(vec![lit("/q"), cap(0, 2), lit("/"), cap(0, 0)])],
    )]);
    let d = run_on(&set, "/p", &[]);
    assert_eq!(forwarded_target(&d), Some(Some("/q//p")));
    let d = run_on(&set, "/p/x", &[]);
    assert_eq!(forwarded_target(&d), Some(Some("/qx//p/x")));
}

#[test]
fn captures_of_the_second_regex_use_their_slot() {
    let set = rules(vec![rule(
        "two",
        Some(Condition::All(vec![
            regex(Field::Host, "^([a-z]+)\\.example\\.com$", 0),
            regex(Field::Path, "^/(\\d+)$", 1),
        ])),
        vec![rewrite(vec![lit("/"), cap(0, 1), lit("/"), cap(1, 1)])],
    )]);
    let d = run_on(&set, "/42", &[("host", "shop.example.com")]);
    assert_eq!(forwarded_target(&d), Some(Some("/shop/42")));
}

#[test]
fn cookie_arg_and_header_fields() {
    let set = rules(vec![
        rule(
            "beta",
            Some(test(
                Field::Cookie("beta".into()),
                TestOp::Equals("1".into()),
            )),
            vec![req_set("X-Beta", vec![lit("yes")])],
        ),
        rule(
            "page",
            Some(test(
                Field::Arg("page".into()),
                TestOp::Equals("a b".into()),
            )),
            vec![req_set("X-Page", vec![field(Field::Arg("page".into()))])],
        ),
        rule(
            "agent",
            Some(test(
                Field::Header(header("User-Agent")),
                TestOp::Contains("bot".into()),
            )),
            vec![req_set(
                "X-Seen",
                vec![
                    field(Field::Header(header("X-Multi"))),
                    lit("|"),
                    field(Field::Cookie("beta".into())),
                ],
            )],
        ),
    ]);
    let d = run_on(
        &set,
        "/?page=a%20b&page=2",
        &[
            ("cookie", "a=1; beta=1"),
            ("user-agent", "googlebot"),
            ("x-multi", "1"),
            ("x-multi", "2"),
        ],
    );
    assert_eq!(d.fired, vec![0, 1, 2]);
    let headers = edited(&d.request_headers, &[]);
    assert_eq!(headers["x-beta"], "yes");
    assert_eq!(headers["x-page"], "a b");
    assert_eq!(headers["x-seen"], "1, 2|1");
    let d = run_on(&set, "/?page=2", &[("cookie", "beta=0")]);
    assert!(d.fired.is_empty());
}

#[test]
fn exists_is_true_even_for_empty_values() {
    let set = rules(vec![
        rule(
            "h",
            Some(Condition::Exists(Field::Header(header("X-Debug")))),
            vec![resp_set("X-H", "1")],
        ),
        rule(
            "c",
            Some(Condition::Exists(Field::Cookie("sid".into()))),
            vec![resp_set("X-C", "1")],
        ),
        rule(
            "a",
            Some(Condition::Exists(Field::Arg("preview".into()))),
            vec![resp_set("X-A", "1")],
        ),
    ]);
    let d = run_on(&set, "/?preview", &[("x-debug", ""), ("cookie", "sid=")]);
    assert_eq!(d.fired, vec![0, 1, 2]);
    let d = run_on(&set, "/?other=1", &[("cookie", "sidx=1")]);
    assert!(d.fired.is_empty());
}

fn admin_only_inside() -> RuleSet {
    let inside = ValueSet {
        strings: vec!["127.0.0.1".into()],
        networks: vec![
            "10.0.0.0/8".parse::<IpNet>().unwrap(),
            "2001:db8::/32".parse().unwrap(),
        ],
    };
    rules(vec![rule(
        "admin-only-inside",
        Some(Condition::All(vec![
            test(Field::Path, TestOp::StartsWith("/admin".into())),
            Condition::Not(Box::new(test(Field::ClientIp, TestOp::In(inside)))),
        ])),
        vec![respond(403, "Forbidden\n")],
    )])
}

#[test]
fn in_with_networks_reads_true_client_ip_and_forwarded_for() {
    let set = admin_only_inside();
    let forbidden =
        |d: &Decision| matches!(d.outcome, Outcome::Respond { status, .. } if status == 403);
    assert!(forbidden(&run_on(&set, "/admin", &[])));
    assert!(!forbidden(&run_on(
        &set,
        "/admin",
        &[("true-client-ip", "10.2.3.4")]
    )));
    assert!(!forbidden(&run_on(
        &set,
        "/admin",
        &[("x-forwarded-for", "bogus, 2001:db8::5")]
    )));
    assert!(!forbidden(&run_on(
        &set,
        "/admin",
        &[("x-forwarded-for", "127.0.0.1")]
    )));
    assert!(forbidden(&run_on(
        &set,
        "/admin",
        &[
            ("true-client-ip", "203.0.113.1"),
            ("x-forwarded-for", "10.0.0.1")
        ]
    )));
    assert!(!forbidden(&run_on(&set, "/public", &[])));
}

#[test]
fn not_in_is_the_negation_of_in() {
    let set = rules(vec![rule(
        "odd-method",
        Some(test(
            Field::Method,
            TestOp::NotIn(ValueSet {
                strings: vec!["GET".into(), "HEAD".into()],
                networks: Vec::new(),
            }),
        )),
        vec![respond(405, "")],
    )]);
    let parts = http::Request::post("/").body(()).unwrap().into_parts().0;
    let facts = RequestFacts::from_parts(&parts, IpAddr::from([127, 0, 0, 1])).unwrap();
    assert_eq!(evaluate(&set, &facts).fired, vec![0]);
    assert!(run_on(&set, "/", &[]).fired.is_empty());
}

#[test]
fn not_binds_tighter_than_and_than_or() {
    // `method == "GET" or path ^= "/a" and not host == "x"` as the parser builds it.
    let condition = Condition::Any(vec![
        test(Field::Method, TestOp::Equals("POST".into())),
        Condition::All(vec![
            test(Field::Path, TestOp::StartsWith("/a".into())),
            Condition::Not(Box::new(test(Field::Host, TestOp::Equals("x".into())))),
        ]),
    ]);
    let set = rules(vec![rule("p", Some(condition), vec![resp_set("X-P", "1")])]);
    assert_eq!(run_on(&set, "/a", &[("host", "y")]).fired, vec![0]);
    assert!(run_on(&set, "/a", &[("host", "X")]).fired.is_empty());
    assert!(run_on(&set, "/b", &[("host", "y")]).fired.is_empty());
}

#[test]
fn comparison_operators() {
    let cases: Vec<(TestOp, bool)> = vec![
        (TestOp::Equals("/docs/x.pdf".into()), true),
        (TestOp::NotEquals("/docs/x.pdf".into()), false),
        (TestOp::StartsWith("/docs/".into()), true),
        (TestOp::EndsWith(".pdf".into()), true),
        (TestOp::Contains("/x.".into()), true),
        (TestOp::Contains("/y.".into()), false),
        (
            TestOp::NotMatches(Regex::new("(?i)\\.PDF$").unwrap()),
            false,
        ),
        (TestOp::NotMatches(Regex::new("\\.PDF$").unwrap()), true),
    ];
    for (op, expected) in cases {
        let label = format!("{op:?}");
        let set = rules(vec![rule(
            "t",
            Some(test(Field::Path, op)),
            vec![resp_set("X", "1")],
        )]);
        assert_eq!(
            !run_on(&set, "/docs/x.pdf", &[]).fired.is_empty(),
            expected,
            "{label}"
        );
    }
}

#[test]
fn host_equality_reads_the_lower_cased_host() {
    let set = rules(vec![rule(
        "host",
        Some(test(Field::Host, TestOp::Equals("example.com".into()))),
        vec![resp_set("X", "1")],
    )]);
    assert_eq!(
        run_on(&set, "/", &[("host", "EXAMPLE.com:8080")]).fired,
        vec![0]
    );
}

// ---- §7 order, accumulation, terminal ---------------------------------------------

#[test]
fn conditions_see_the_original_request_and_effects_accumulate() {
    let set = rules(vec![
        rule(
            "set",
            None,
            vec![req_set("X-A", vec![lit("1")]), rewrite(vec![lit("/first")])],
        ),
        rule(
            "sees-original-path",
            Some(test(Field::Path, TestOp::Equals("/orig".into()))),
            vec![
                req_set("X-A", vec![lit("2")]),
                req_add("X-B", "b1"),
                rewrite(vec![lit("/second")]),
            ],
        ),
        rule(
            "remove",
            None,
            vec![req_add("X-B", "b2"), req_remove("X-C")],
        ),
        rule(
            "does-not-see-set-header",
            Some(Condition::Exists(Field::Header(header("X-A")))),
            vec![req_set("X-Never", vec![lit("1")])],
        ),
    ]);
    let d = run_on(&set, "/orig?q=1", &[("x-c", "gone")]);
    assert_eq!(d.fired, vec![0, 1, 2]);
    assert_eq!(forwarded_target(&d), Some(Some("/second?q=1")));
    let headers = edited(&d.request_headers, &[("x-c", "gone"), ("x-keep", "k")]);
    assert_eq!(headers["x-a"], "2");
    let b: Vec<_> = headers.get_all("x-b").iter().collect();
    assert_eq!(b, ["b1", "b2"]);
    assert!(!headers.contains_key("x-c"));
    assert_eq!(headers["x-keep"], "k");
    assert!(!headers.contains_key("x-never"));
}

#[test]
fn remove_after_set_removes() {
    let set = rules(vec![
        rule("set", None, vec![resp_set("Server", "switchyard")]),
        rule("remove", None, vec![resp_remove("Server")]),
    ]);
    let d = run_on(&set, "/", &[]);
    let headers = edited(&d.response_headers, &[("server", "origin")]);
    assert!(!headers.contains_key("server"));
}

#[test]
fn first_terminal_action_stops_evaluation_and_keeps_response_headers() {
    let set = rules(vec![
        rule(
            "hsts",
            None,
            vec![
                resp_set("Strict-Transport-Security", "max-age=1"),
                req_set("X-Up", vec![lit("1")]),
            ],
        ),
        rule(
            "gone",
            Some(test(Field::Path, TestOp::StartsWith("/old".into()))),
            vec![resp_set("X-Why", "moved"), respond(410, "gone\n")],
        ),
        rule(
            "later",
            None,
            vec![resp_set("X-Later", "1"), respond(500, "never")],
        ),
    ]);
    let d = run_on(&set, "/old/x", &[]);
    assert_eq!(d.fired, vec![0, 1]);
    match &d.outcome {
        Outcome::Respond { status, body } => {
            assert_eq!(status.as_u16(), 410);
            assert_eq!(&body[..], b"gone\n");
        }
        other => panic!("{other:?}"),
    }
    let headers = edited(&d.response_headers, &[]);
    assert_eq!(headers["strict-transport-security"], "max-age=1");
    assert_eq!(headers["x-why"], "moved");
    assert!(!headers.contains_key("x-later"));
    assert!(d.request_headers.is_empty(), "nothing goes upstream");
    let d = run_on(&set, "/new", &[]);
    assert_eq!(d.fired, vec![0, 2]);
}

// ---- §6 query carry-over, §8 normalization, CR/LF ----------------------------------

#[test]
fn rewrite_carries_the_query_and_a_lone_question_mark_drops_it() {
    let set = rules(vec![
        rule(
            "api",
            Some(test(Field::Path, TestOp::StartsWith("/api/".into()))),
            vec![rewrite(vec![lit("/v2"), field(Field::Path)])],
        ),
        rule(
            "drop",
            Some(test(Field::Path, TestOp::Equals("/search".into()))),
            vec![rewrite(vec![lit("/find?")])],
        ),
        rule(
            "own-query",
            Some(test(Field::Path, TestOp::Equals("/own".into()))),
            vec![redirect(
                302,
                vec![lit("/there?x="), field(Field::Arg("y".into()))],
            )],
        ),
    ]);
    let d = run_on(&set, "/api/users?page=2", &[]);
    assert_eq!(forwarded_target(&d), Some(Some("/v2/api/users?page=2")));
    let d = run_on(&set, "/api/users", &[]);
    assert_eq!(forwarded_target(&d), Some(Some("/v2/api/users")));
    let d = run_on(&set, "/search?q=1", &[]);
    assert_eq!(forwarded_target(&d), Some(Some("/find")));
    let d = run_on(&set, "/own?y=7&z=1", &[]);
    assert_eq!(location(&d), Some((302, "/there?x=7")));
}

#[test]
fn rules_see_the_normalized_path() {
    let set = rules(vec![rule(
        "admin",
        Some(test(Field::Path, TestOp::StartsWith("/admin".into()))),
        vec![respond(403, "no")],
    )]);
    for target in [
        "/%61dmin",
        "/x/../admin",
        "/%2e%2e/admin/",
        "/./ADMIN/../admin",
    ] {
        assert_eq!(run_on(&set, target, &[]).fired, vec![0], "{target}");
    }
    let set = rules(vec![rule(
        "slash",
        Some(test(Field::Path, TestOp::Equals("/a%2Fb".into()))),
        vec![resp_set("X", "1")],
    )]);
    assert_eq!(run_on(&set, "/a%2fb", &[]).fired, vec![0]);
}

#[test]
fn header_value_with_cr_or_lf_is_skipped() {
    let set = rules(vec![rule(
        "echo",
        None,
        vec![
            req_set("X-Echo", vec![field(Field::Arg("v".into()))]),
            req_set("X-Other", vec![lit("kept")]),
        ],
    )]);
    let d = run_on(&set, "/?v=a%0D%0ASet-Cookie:%20x", &[]);
    assert_eq!(d.fired, vec![0]);
    let headers = edited(&d.request_headers, &[]);
    assert!(!headers.contains_key("x-echo"));
    assert_eq!(headers["x-other"], "kept");
    let d = run_on(&set, "/?v=%00", &[]);
    assert!(!edited(&d.request_headers, &[]).contains_key("x-echo"));
    let d = run_on(&set, "/?v=caf%C3%A9", &[]);
    assert_eq!(
        edited(&d.request_headers, &[])["x-echo"].as_bytes(),
        "café".as_bytes()
    );
}

#[test]
fn decoded_text_in_a_redirect_target_is_escaped() {
    let set = rules(vec![rule(
        "next",
        Some(Condition::Exists(Field::Arg("next".into()))),
        vec![redirect(
            302,
            vec![lit("/go/"), field(Field::Arg("next".into())), lit("?")],
        )],
    )]);
    let d = run_on(&set, "/?next=a%0D%0Ab%20c", &[]);
    assert_eq!(location(&d), Some((302, "/go/a%0D%0Ab%20c")));
}

// ---- the rule index keeps file order exactly ----------------------------------------

#[test]
fn path_index_skips_only_rules_that_cannot_fire() {
    let mut list: Vec<Rule> = (0..50)
        .map(|n| {
            rule(
                &format!("r{n}"),
                Some(regex(Field::Path, &format!("^/old-{n}/(.*)$"), 0)),
                vec![redirect(301, vec![lit(&format!("/new-{n}/")), cap(0, 1)])],
            )
        })
        .collect();
    list.insert(
        10,
        rule(
            "gated-and",
            Some(Condition::All(vec![
                test(Field::Method, TestOp::Equals("GET".into())),
                regex(Field::Path, "^/old-3[0-9]/", 0),
            ])),
            vec![resp_set("X-Gated", "1")],
        ),
    );
    let set = rules(list);
    assert!(set.index().path_set.is_some());
    let d = run_on(&set, "/old-31/page", &[]);
    assert_eq!(d.fired, vec![10, 32]);
    assert_eq!(location(&d), Some((301, "/new-31/page")));
    let d = run_on(&set, "/old-5/x?y", &[]);
    assert_eq!(d.fired, vec![5]);
    assert_eq!(location(&d), Some((301, "/new-5/x?y")));
    assert!(run_on(&set, "/nothing", &[]).fired.is_empty());
}

#[test]
fn a_clone_whose_rules_change_gets_a_fresh_index() {
    let set = force_https();
    let mut changed = set.clone();
    changed
        .rules
        .push(rule("all", None, vec![resp_set("X", "1")]));
    let d = run_on(&changed, "/", &[("x-forwarded-proto", "https")]);
    assert_eq!(d.fired, vec![1]);
    // Mutating after the index was built is also caught.
    changed
        .rules
        .push(rule("more", None, vec![resp_set("Y", "1")]));
    let d = run_on(&changed, "/", &[("x-forwarded-proto", "https")]);
    assert_eq!(d.fired, vec![1, 2]);
}

// ---- the trace explain renders ------------------------------------------------------

#[test]
fn trace_names_the_first_failed_comparison() {
    let mut list = admin_only_inside().rules;
    list.push(rule("after", None, vec![resp_set("X", "1")]));
    list.push(rule(
        "gated",
        Some(regex(Field::Path, "^/blog/(?<slug>.+)$", 0)),
        vec![resp_set("X", "2")],
    ));
    let set = rules(list);
    let parts = request("/x", &[("true-client-ip", "10.0.0.1")]);
    let facts = RequestFacts::from_parts(&parts, IpAddr::from([127, 0, 0, 1])).unwrap();
    let (_, trace) = evaluate_traced(&set, &facts);
    let first = &trace.rules[0];
    assert_eq!(first.status, RuleStatus::NotFired);
    let failed = first.failed.as_ref().unwrap();
    assert_eq!(failed.comparison, "path ^= \"/admin\"");
    assert_eq!(
        (failed.field.as_str(), failed.value.as_str()),
        ("path", "/x")
    );
    assert_eq!(trace.rules[1].status, RuleStatus::Fired);
    let gated = trace.rules[2].failed.as_ref().unwrap();
    assert!(gated.by_index);
    assert_eq!(gated.comparison, "path ~ \"^/blog/(?<slug>.+)$\"");

    let parts = request("/admin", &[("true-client-ip", "10.0.0.1")]);
    let facts = RequestFacts::from_parts(&parts, IpAddr::from([127, 0, 0, 1])).unwrap();
    let (_, trace) = evaluate_traced(&set, &facts);
    let failed = trace.rules[0].failed.as_ref().unwrap();
    assert_eq!(
        failed.comparison,
        "not client_ip in [\"127.0.0.1\", \"10.0.0.0/8\", \"2001:db8::/32\"]"
    );
    assert_eq!(failed.value, "10.0.0.1");

    let parts = request("/admin", &[]);
    let facts = RequestFacts::from_parts(&parts, IpAddr::from([127, 0, 0, 9])).unwrap();
    let (_, trace) = evaluate_traced(&set, &facts);
    assert_eq!(trace.rules[0].status, RuleStatus::Fired);
    assert_eq!(trace.rules[1].status, RuleStatus::NotReached);
}

#[test]
fn trace_lists_captures_with_names() {
    let set = rules(vec![rule(
        "blog",
        Some(regex(Field::Path, "^/blog/(?<year>\\d{4})/(x)?", 0)),
        vec![resp_set("X", "1")],
    )]);
    let parts = request("/blog/2024/", &[]);
    let facts = RequestFacts::from_parts(&parts, IpAddr::from([127, 0, 0, 1])).unwrap();
    let (_, trace) = evaluate_traced(&set, &facts);
    let captures: Vec<_> = trace.rules[0]
        .captures
        .iter()
        .map(|c| (c.group, c.name.as_deref(), c.value.as_deref()))
        .collect();
    assert_eq!(
        captures,
        [
            (0, None, Some("/blog/2024/")),
            (1, Some("year"), Some("2024")),
            (2, None, None)
        ]
    );
}
