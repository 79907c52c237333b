//! Section 15 on compiled rule sets: functions in conditions and templates,
//! query edits on the outgoing query, fragments and `stop`.

use super::*;

fn compiled(text: &str) -> RuleSet {
    match crate::config::compile_source("proxy.conf", text.as_bytes()) {
        Ok(compiled) => compiled.rule_set,
        Err(invalid) => panic!("{}", invalid.render(false)),
    }
}

#[test]
fn functions_wrap_fields_in_conditions() {
    let set = compiled(
        r#"
rule admin {
    when lower(url_decode(path)) ^= "/admin"
    respond 403
}
rule host-exact {
    when upper(host) == "A.COM"
    respond 200 "upper"
}
rule host-literal-not-folded {
    when upper(host) == "a.com"
    respond 200 "never"
}
"#,
    );
    assert_eq!(location_or_status(&run_on(&set, "/ADMIN/x", &[])), 403);
    assert_eq!(location_or_status(&run_on(&set, "/%41dmin", &[])), 403);
    assert_eq!(location_or_status(&run_on(&set, "/Admin%2Fx", &[])), 403);
    let d = run_on(&set, "/x", &[("host", "A.com")]);
    assert!(matches!(d.outcome, Outcome::Respond { ref body, .. } if body == "upper"));
}

fn location_or_status(decision: &Decision) -> u16 {
    match &decision.outcome {
        Outcome::Redirect { status, .. } | Outcome::Respond { status, .. } => status.as_u16(),
        Outcome::Forward { .. } => 0,
    }
}

#[test]
fn functions_in_templates_nest_and_read_groups() {
    let set = compiled(
        r#"
rule country {
    when path == "/"
    redirect 302 "/locales/{lower(header.CF-IPCountry)}.json"
}
rule slashes {
    when path ~ "^/s/(?<rest>.*)$"
    redirect 301 "/t/{upper(replace(rest, "/{2,}", "/"))}{url_encode(arg.q)}"
}
"#,
    );
    let d = run_on(&set, "/", &[("cf-ipcountry", "DE")]);
    assert_eq!(location(&d), Some((302, "/locales/de.json")));
    let d = run_on(&set, "/s/a//b///c?q=x%20y", &[]);
    assert_eq!(location(&d), Some((301, "/t/A/B/Cx%20y?q=x%20y")));
}

#[test]
fn query_edits_change_what_goes_upstream_only() {
    let set = compiled(
        r#"
rule tracking {
    query remove "utm_*" "fbclid"
}
rule sees-original {
    when query *= "utm_source"
    request header set X-Had-Utm "{arg.utm_source}"
}
rule page {
    when path == "/list"
    query set "page" "1"
}
"#,
    );
    let d = run_on(&set, "/a?utm_source=x&b=%2f&fbclid=1", &[]);
    assert_eq!(forwarded_target(&d), Some(Some("/a?b=%2F")));
    assert_eq!(edited(&d.request_headers, &[])["x-had-utm"], "x");
    let d = run_on(&set, "/list", &[]);
    assert_eq!(forwarded_target(&d), Some(Some("/list?page=1")));
    let d = run_on(&set, "/a?utm_source=x", &[]);
    assert_eq!(forwarded_target(&d), Some(Some("/a")));
}

#[test]
fn rewrite_and_query_edits_share_the_outgoing_query() {
    let set = compiled(
        r#"
rule one {
    when path == "/one"
    query add "a" "1"
    rewrite "/two?b=2"
    query add "c" "3"
}
rule keep {
    when path == "/keep"
    rewrite "/kept"
    query keep "x"
}
rule redirect-carries-edits {
    when path == "/r"
    query set "from" "r"
    redirect 302 "/dest#frag"
}
"#,
    );
    let d = run_on(&set, "/one?z=0", &[]);
    assert_eq!(forwarded_target(&d), Some(Some("/two?b=2&c=3")));
    let d = run_on(&set, "/keep?y=1&x=2", &[]);
    assert_eq!(forwarded_target(&d), Some(Some("/kept?x=2")));
    let d = run_on(&set, "/r", &[]);
    assert_eq!(location(&d), Some((302, "/dest?from=r#frag")));
}

#[test]
fn stop_ends_evaluation_and_forwards_with_the_edits() {
    let set = compiled(
        r#"
rule spa {
    when path ^= "/app/"
    request header set X-Spa "1"
    rewrite "/index.html"
    stop
}
rule after {
    when path ^= "/app/"
    respond 404
}
"#,
    );
    let d = run_on(&set, "/app/x?q=1", &[]);
    assert_eq!(d.fired, vec![0]);
    assert_eq!(forwarded_target(&d), Some(Some("/index.html?q=1")));
    assert_eq!(edited(&d.request_headers, &[])["x-spa"], "1");
    let facts_parts = request("/app/x", &[]);
    let facts = RequestFacts::from_parts(&facts_parts, IpAddr::from([127, 0, 0, 1])).unwrap();
    let (_, trace) = evaluate_traced(&set, &facts);
    assert_eq!(trace.rules[1].status, RuleStatus::NotReached);
}

#[test]
fn a_template_past_64_kib_skips_its_action() {
    let set = compiled(
        r#"
rule big {
    when path ^= "/big"
    response header set X-Big "{replace(path, "", "0123456789abcdef")}"
    redirect 302 "/{replace(path, "", "0123456789abcdef")}"
}
rule next {
    respond 200 "next"
}
"#,
    );
    let long = format!("/big{}", "a".repeat(5000));
    let d = run_on(&set, &long, &[]);
    assert!(edited(&d.response_headers, &[]).get("x-big").is_none());
    assert!(matches!(d.outcome, Outcome::Respond { ref body, .. } if body == "next"));
    let d = run_on(&set, "/big", &[]);
    assert_eq!(edited(&d.response_headers, &[]).len(), 1);
}

#[test]
fn explain_shows_header_names_and_functions_as_written() {
    let set = compiled(
        r#"
rule language {
    when lower(header("Accept-Language")) ^= "de"
    respond 200
}
"#,
    );
    let parts = request("/", &[("accept-language", "EN-us")]);
    let facts = RequestFacts::from_parts(&parts, IpAddr::from([127, 0, 0, 1])).unwrap();
    let (_, trace) = evaluate_traced(&set, &facts);
    let failed = trace.rules[0].failed.as_ref().unwrap();
    assert_eq!(
        failed.comparison,
        r#"lower(header("Accept-Language")) ^= "de""#
    );
    assert_eq!(failed.value, "en-us");
}
