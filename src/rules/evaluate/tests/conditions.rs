//! §4 fields and §5 conditions.

use super::*;

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
                Field::Header(header("User-Agent").into()),
                TestOp::Contains("bot".into()),
            )),
            vec![req_set(
                "X-Seen",
                vec![
                    field(Field::Header(header("X-Multi").into())),
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
            Some(Condition::Exists(Field::Header(header("X-Debug").into()))),
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
                list: None,
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
            TestOp::NotMatches(Regex::new("(?i)\\.PDF$").unwrap().into()),
            false,
        ),
        (
            TestOp::NotMatches(Regex::new("\\.PDF$").unwrap().into()),
            true,
        ),
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
