//! §7 order, accumulation and terminal actions.

use super::*;

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
            Some(Condition::Exists(Field::Header(header("X-A").into()))),
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
        Outcome::Respond { status, body, .. } => {
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
