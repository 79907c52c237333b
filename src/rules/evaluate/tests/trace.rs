//! The trace that `explain` renders.

use super::*;

#[test]
fn trace_names_the_first_failed_comparison() {
    let mut list = admin_only_inside().rules.clone();
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

#[test]
fn a_false_comparison_inside_an_or_that_held_is_not_the_reason() {
    // (method == "POST" or method == "GET") and path == "/x"
    let set = rules(vec![rule(
        "r",
        Some(Condition::All(vec![
            Condition::Any(vec![
                test(Field::Method, TestOp::Equals("POST".into())),
                test(Field::Method, TestOp::Equals("GET".into())),
            ]),
            test(Field::Path, TestOp::Equals("/x".into())),
        ])),
        vec![resp_set("X", "1")],
    )]);
    let parts = request("/y", &[]);
    let facts = RequestFacts::from_parts(&parts, IpAddr::from([127, 0, 0, 1])).unwrap();
    let (_, trace) = evaluate_traced(&set, &facts);
    let failed = trace.rules[0].failed.as_ref().unwrap();
    assert_eq!(failed.comparison, "path == \"/x\"");

    // Both members of an `or` false: the first one is named.
    let parts = http::Request::put("/x").body(()).unwrap().into_parts().0;
    let facts = RequestFacts::from_parts(&parts, IpAddr::from([127, 0, 0, 1])).unwrap();
    let (_, trace) = evaluate_traced(&set, &facts);
    let failed = trace.rules[0].failed.as_ref().unwrap();
    assert_eq!(failed.comparison, "method == \"POST\"");
    assert_eq!(failed.value, "PUT");
}
