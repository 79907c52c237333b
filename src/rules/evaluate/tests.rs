//! Evaluation against spec §4–§9, one test per row: the helpers that build
//! rule sets by hand and run requests through them, then one module per topic.

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
            regex: Regex::new(pattern).unwrap().into(),
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
        phase: crate::rules::Phase::Request,
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

fn rules(rules: Vec<Rule>) -> ServedRules {
    RuleSet::new(Settings::default(), rules, String::new()).prepare()
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

fn run_on(rule_set: &ServedRules, target: &str, headers: &[(&str, &str)]) -> Decision {
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

fn force_https() -> ServedRules {
    rules(vec![rule(
        "force-https",
        Some(test(Field::Scheme, TestOp::Equals("http".into()))),
        vec![redirect(
            301,
            vec![lit("https://"), field(Field::Host), field(Field::Uri)],
        )],
    )])
}

fn admin_only_inside() -> ServedRules {
    let inside = ValueSet {
        strings: vec!["127.0.0.1".into()],
        networks: vec![
            "10.0.0.0/8".parse::<IpNet>().unwrap(),
            "2001:db8::/32".parse().unwrap(),
        ],
        list: None,
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

mod compiled;
mod conditions;
mod index;
mod order;
mod response;
mod response_gate;
mod strings;
mod targets;
mod trace;
