//! §6 query carry-over, §8 normalization, header values that cannot be sent.

use super::*;

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
