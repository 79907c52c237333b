//! The same behaviour on rule sets compiled from real `proxy.conf` text.

use super::*;

fn compiled(text: &str) -> RuleSet {
    match crate::config::compile_source("proxy.conf", text.as_bytes()) {
        Ok(compiled) => compiled.rule_set,
        Err(invalid) => panic!("{}", invalid.render(false)),
    }
}

/// The complete example of `proxy-conf.md` §1.
const SPEC_EXAMPLE: &str = include_str!("../../../../tests/fixtures/valid/spec_example.conf");

#[test]
fn spec_example_behaves_as_described() {
    let set = compiled(SPEC_EXAMPLE);
    let https = ("x-forwarded-proto", "https");
    let host = ("host", "Shop.Example.com");

    let d = run_on(&set, "/blog/2024/x?y=1", &[host]);
    assert_eq!(
        location(&d),
        Some((301, "https://shop.example.com/blog/2024/x?y=1"))
    );
    assert_eq!(d.fired, vec![0]);

    let d = run_on(&set, "/blog/2024/hello/", &[host, https]);
    assert_eq!(location(&d), Some((308, "/articles/2024/hello")));
    let headers = edited(&d.response_headers, &[("server", "origin")]);
    assert_eq!(headers["x-content-type-options"], "nosniff");
    assert!(headers.contains_key("strict-transport-security"));
    assert!(!headers.contains_key("server"));

    let d = run_on(&set, "/api/users?page=2", &[host, https]);
    assert_eq!(d.fired, vec![1, 2, 4]);
    assert_eq!(forwarded_target(&d), Some(Some("/v2/api/users?page=2")));
    assert_eq!(edited(&d.request_headers, &[])["x-api-version"], "2");

    let d = run_on(
        &set,
        "/%61dmin/x",
        &[host, https, ("x-forwarded-for", "192.168.1.1")],
    );
    assert_eq!(d.fired, vec![1, 2]);
    let d = run_on(
        &set,
        "/%61dmin/x",
        &[host, https, ("x-forwarded-for", "203.0.113.1")],
    );
    assert_eq!(d.fired, vec![1, 2, 5]);
    assert!(matches!(d.outcome, Outcome::Respond { status, .. } if status == 403));
}

#[test]
fn compiled_templates_read_headers_cookies_args_and_named_groups() {
    let set = compiled(
        r#"
rule tag {
    when host ~ "^(?<tenant>[a-z]+)\." and path ~ "^/u/(?<user>[0-9]+)$" and exists cookie("sid")
    request header set X-Route "{tenant}/{user}/{cookie.sid}/{arg.lang}/{header.X-Id}/{{literal}}"
    response header add X-Seen "{method} {client_ip}"
}
rule host-literal {
    when host == "ACME.example.com"
    response header set X-Host "{host}"
}
"#,
    );
    let d = run_on(
        &set,
        "/u/42?lang=d%C3%A9",
        &[
            ("host", "acme.example.com"),
            ("cookie", "sid=s1"),
            ("x-id", "a"),
            ("x-id", "b"),
            ("true-client-ip", "2001:db8::1"),
        ],
    );
    assert_eq!(d.fired, vec![0, 1]);
    let request = edited(&d.request_headers, &[]);
    assert_eq!(
        request["x-route"].as_bytes(),
        "acme/42/s1/dé/a, b/{literal}".as_bytes()
    );
    let response = edited(&d.response_headers, &[]);
    assert_eq!(response["x-seen"], "GET 2001:db8::1");
    assert_eq!(response["x-host"], "acme.example.com");
    assert!(run_on(&set, "/u/42", &[("host", "acme.example.com")]).fired == vec![1]);
}

#[test]
fn host_override_and_empty_respond_body() {
    let set = compiled(
        r#"
rule backend-host {
    request header set Host "backend.internal"
}
rule ping {
    when path == "/ping"
    respond 204
}
"#,
    );
    let d = run_on(&set, "/x", &[("host", "example.com")]);
    let headers = edited(&d.request_headers, &[("host", "example.com")]);
    assert_eq!(headers["host"], "backend.internal");
    let d = run_on(&set, "/ping", &[]);
    match &d.outcome {
        Outcome::Respond { status, body, .. } => {
            assert_eq!(status.as_u16(), 204);
            assert!(body.is_empty());
        }
        other => panic!("{other:?}"),
    }
    assert!(d.request_headers.is_empty());
}

#[test]
fn maps_redirect_tag_tenants_and_lists_gate_networks() {
    let set = compiled(include_str!(
        "../../../../tests/fixtures/valid/lists_and_maps.conf"
    ));
    let host = ("host", "Shop.Example.com");

    let d = run_on(&set, "/old?utm=1", &[host]);
    assert_eq!(location(&d), Some((301, "/new?utm=1")));
    assert_eq!(d.fired, vec![0]);

    // A key with a comma, and a value with its own query: sent as written.
    let d = run_on(&set, "/a,b?utm=1", &[host]);
    assert_eq!(location(&d), Some((301, "https://elsewhere.example/x?y=1")));

    // Inside the office, and a tenant: `not-static` wants other hosts.
    let d = run_on(&set, "/admin", &[host, ("x-forwarded-for", "192.168.1.9")]);
    assert_eq!(d.fired, vec![1]);
    assert_eq!(edited(&d.request_headers, &[])["x-tenant"], "shop");

    let d = run_on(
        &set,
        "/admin",
        &[
            ("host", "other.example"),
            ("x-forwarded-for", "203.0.113.1"),
        ],
    );
    assert_eq!(d.fired, vec![2]);
    assert!(matches!(d.outcome, Outcome::Respond { status, .. } if status == 403));

    let d = run_on(&set, "/x?type=.css", &[("host", "other.example")]);
    assert!(d.fired.is_empty());
    let d = run_on(&set, "/x?type=.gif", &[("host", "other.example")]);
    assert_eq!(d.fired, vec![3]);
}

#[test]
fn a_map_lookup_is_exact_and_independent_of_the_index() {
    let mut text = String::from("map big {\n");
    for n in 0..5_000 {
        text.push_str(&format!("    \"/p/{n}\" \"/q/{n}\"\n"));
    }
    text.push_str("}\nrule r { when path ~ \"^/x\" respond 200 }\nrule m { when path in $big\n redirect 301 \"{$big}\" }\n");
    let set = compiled(&text);
    assert_eq!(
        location(&run_on(&set, "/p/4999", &[])),
        Some((301, "/q/4999"))
    );
    assert!(run_on(&set, "/p/5000", &[]).fired.is_empty());
    assert!(run_on(&set, "/P/1", &[]).fired.is_empty());
}
