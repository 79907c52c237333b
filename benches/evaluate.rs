//! Cost of rule evaluation per request: the 27-rule workload of issue 5 (an
//! HTTP→HTTPS redirect that does not fire, five response-header rules, twenty
//! regex-path redirects that do not match, one request header), the same with
//! 1,000 regex redirects on `path` and on `uri` (both indexed), and 1,000
//! regexes on a header, which the index does not cover, to show what it
//! saves. Facts are built per iteration too, as the data plane does.

use std::hint::black_box;
use std::net::IpAddr;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use http::{HeaderName, StatusCode};
use regex::Regex;
use switchyard::rules::{
    Action, CaptureRef, Condition, Field, HeaderAction, Phase, RequestFacts, Rule, RuleIndex,
    RuleSet, Settings, Template, TemplatePart, Test, TestOp, evaluate,
};

fn rule(name: String, condition: Option<Condition>, action: Action, regex_slots: usize) -> Rule {
    Rule {
        name,
        condition,
        actions: vec![action],
        regex_slots,
        phase: Phase::Request,
    }
}

fn header_action(name: &'static str, value: Option<&str>) -> HeaderAction {
    let name = HeaderName::from_static(name);
    match value {
        Some(value) => HeaderAction::Set(name, Template::literal(value)),
        None => HeaderAction::Remove(name),
    }
}

/// The issue-5 workload with `redirects` regex-path redirect rules on `field`.
fn workload(redirects: usize, field: Field) -> RuleSet {
    let mut rules = vec![rule(
        "force-https".into(),
        Some(Condition::Test(Test {
            field: Field::Scheme,
            op: TestOp::Equals("http".into()),
        })),
        Action::Redirect {
            status: StatusCode::MOVED_PERMANENTLY,
            target: Template {
                parts: vec![
                    TemplatePart::Literal("https://".into()),
                    TemplatePart::Field(Field::Host),
                    TemplatePart::Field(Field::Uri),
                ],
            },
        },
        0,
    )];
    let headers = [
        (
            "strict-transport-security",
            Some("max-age=63072000; includeSubDomains"),
        ),
        ("x-content-type-options", Some("nosniff")),
        ("x-frame-options", Some("DENY")),
        ("server", None),
        ("x-powered-by", None),
    ];
    for (name, value) in headers {
        rules.push(rule(
            format!("header-{name}"),
            None,
            Action::ResponseHeader(header_action(name, value)),
            0,
        ));
    }
    for n in 0..redirects {
        let regex = Regex::new(&format!("^/legacy-{n}/(?<rest>.*)$")).expect("bench regex");
        rules.push(rule(
            format!("legacy-{n}"),
            Some(Condition::Test(Test {
                field: field.clone(),
                op: TestOp::Matches {
                    regex: regex.into(),
                    slot: 0,
                },
            })),
            Action::Redirect {
                status: StatusCode::MOVED_PERMANENTLY,
                target: Template {
                    parts: vec![
                        TemplatePart::Literal(format!("/current-{n}/")),
                        TemplatePart::Capture(CaptureRef { slot: 0, group: 1 }),
                    ],
                },
            },
            1,
        ));
    }
    rules.push(rule(
        "via".into(),
        None,
        Action::RequestHeader(header_action("x-via-switchyard", Some("1"))),
        0,
    ));
    RuleSet::new(Settings::default(), rules, String::new())
}

fn request() -> http::request::Parts {
    http::Request::get("/products/item-42?ref=home")
        .header("host", "shop.example.com")
        .header("x-forwarded-proto", "https")
        .header("x-forwarded-for", "203.0.113.7")
        .header("user-agent", "Mozilla/5.0 (X11; Linux x86_64) bench")
        .header("accept", "text/html,application/xhtml+xml")
        .header("cookie", "session=abc; theme=dark")
        .header("x-original-path", "/products/item-42")
        .body(())
        .expect("bench request")
        .into_parts()
        .0
}

fn bench(c: &mut Criterion) {
    let parts = request();
    let peer = IpAddr::from([127, 0, 0, 1]);
    let cases = [
        ("27_rules", workload(20, Field::Path)),
        ("1006_rules_1000_regex", workload(1000, Field::Path)),
        ("1006_rules_1000_regex_on_uri", workload(1000, Field::Uri)),
        (
            "1006_rules_1000_regex_unindexed_header",
            workload(
                1000,
                Field::Header(HeaderName::from_static("x-original-path").into()),
            ),
        ),
    ];
    let mut group = c.benchmark_group("evaluate");
    group.bench_function("facts_only", |b| {
        b.iter(|| {
            black_box(RequestFacts::from_parts(black_box(&parts), peer).expect("bench facts"))
        })
    });
    for (name, rule_set) in &cases {
        let facts = RequestFacts::from_parts(&parts, peer).expect("bench facts");
        let decision = evaluate(rule_set, &facts);
        assert_eq!(
            decision.fired.len(),
            6,
            "{name}: five header rules and `via` fire"
        );
        group.bench_function(format!("{name}/facts+evaluate"), |b| {
            b.iter(|| {
                let facts = RequestFacts::from_parts(black_box(&parts), peer).expect("bench facts");
                black_box(evaluate(rule_set, &facts))
            })
        });
    }
    group.finish();
    let mut build = c.benchmark_group("index_build");
    build.sample_size(10);
    let thousand = workload(1000, Field::Path);
    build.bench_function("1006_rules", |b| {
        b.iter(|| black_box(RuleIndex::build(black_box(&thousand.rules))))
    });
    build.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .sample_size(30);
    targets = bench
}
criterion_main!(benches);
