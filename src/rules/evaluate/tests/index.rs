//! The rule index keeps file order exactly.

use super::*;

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
    assert_eq!(set.index().sets.len(), 1);
    let d = run_on(&set, "/old-31/page", &[]);
    assert_eq!(d.fired, vec![10, 32]);
    assert_eq!(location(&d), Some((301, "/new-31/page")));
    let d = run_on(&set, "/old-5/x?y", &[]);
    assert_eq!(d.fired, vec![5]);
    assert_eq!(location(&d), Some((301, "/new-5/x?y")));
    assert!(run_on(&set, "/nothing", &[]).fired.is_empty());
}

#[test]
fn the_served_form_has_its_index_from_the_start() {
    // `prepare` is the only way to a `ServedRules`, and it builds the index:
    // one plan per rule, nothing left to build on the first request.
    let set = mixed_rules();
    assert_eq!(set.index().plans.len(), set.rules.len());
    let pending: Vec<_> = set
        .rules
        .iter()
        .zip(&set.index().plans)
        .filter(|(_, plan)| plan.gate.is_none())
        .filter_map(|(rule, _)| rule.condition.as_ref())
        .collect();
    assert!(!pending.is_empty(), "the mix has ungated rules");
}

/// A mixed rule set: gated leaves, gated `and`s, ungated regexes (`or`, `not`,
/// other fields), plain rules, terminal and non-terminal, interleaved.
fn mixed_rules() -> ServedRules {
    let mut list = Vec::new();
    for n in 0..12 {
        let gated = regex(Field::Path, &format!("^/s{}/(?<rest>.*)$", n % 4), 0);
        let (name, condition) = match n % 6 {
            0 => ("leaf", gated),
            1 => (
                "and",
                Condition::All(vec![
                    test(Field::Method, TestOp::Equals("GET".into())),
                    gated,
                ]),
            ),
            2 => (
                "or",
                Condition::Any(vec![
                    gated,
                    test(Field::Query, TestOp::Contains("x".into())),
                ]),
            ),
            3 => ("not", Condition::Not(Box::new(gated))),
            4 => ("uri", regex(Field::Uri, &format!("s{}", n % 3), 0)),
            _ => ("plain", test(Field::Path, TestOp::EndsWith(format!("{n}")))),
        };
        let action = if n % 5 == 4 {
            respond(200 + n as u16, "stop")
        } else {
            resp_set(&format!("X-R{n}"), "1")
        };
        list.push(rule(&format!("{name}-{n}"), Some(condition), vec![action]));
    }
    list.insert(
        3,
        rule(
            "host-and-path",
            Some(Condition::All(vec![
                regex(Field::Host, "^shop\\.", 0),
                regex(Field::Path, "^/s1/", 1),
            ])),
            vec![resp_set("X-Shop", "1")],
        ),
    );
    rules(list)
}

#[test]
fn indexed_and_unindexed_evaluation_agree() {
    let set = mixed_rules();
    assert_eq!(set.index().sets.len(), 3, "path, uri and host");
    let reference = RuleIndex::build_unindexed(&set.rules);
    let prebuilt = set
        .index()
        .plans
        .iter()
        .filter(|plan| plan.literal_edits.is_some());
    assert!(prebuilt.count() >= 2, "rules whose edits are built once");
    let paths = [
        "/",
        "/s0/a",
        "/s1/b?x=1",
        "/s2/",
        "/s3/zz",
        "/s4/no",
        "/t/s1",
        "/s0/5",
        "/a11",
        "/s2/x?y",
    ];
    let mut fired_somewhere = std::collections::BTreeSet::new();
    for path in paths {
        for host in ["shop.example", "other.example"] {
            let parts = request(path, &[("host", host)]);
            let facts = RequestFacts::from_parts(&parts, IpAddr::from([127, 0, 0, 1])).unwrap();
            let indexed = evaluate(&set, &facts);
            let unindexed = run_with(&set, &reference, &facts, &mut NoTrace);
            assert_eq!(
                format!("{indexed:?}"),
                format!("{unindexed:?}"),
                "{host}{path}"
            );
            fired_somewhere.extend(indexed.fired);
        }
    }
    assert!(
        fired_somewhere.len() >= 10,
        "the cases exercise most rules: {fired_somewhere:?}"
    );
}

#[test]
fn candidates_are_in_file_order_and_the_set_runs_late() {
    let set = mixed_rules();
    let index = set.index();
    let parts = request("/s1/x", &[]);
    let facts = RequestFacts::from_parts(&parts, IpAddr::from([127, 0, 0, 1])).unwrap();
    let reader = FieldReader::new(&facts);
    let mut candidates = index.candidates(&reader);
    // Rule 0 is gated: the set runs at once.
    assert_eq!(candidates.next(), Some(1));
    let all: Vec<usize> = index.candidates(&reader).collect();
    let mut expected: Vec<usize> = index.ungated.clone();
    // Rule 1 gates on `^/s1/` (0, 7, 8 on s0, s2, s3); 5 and 11 on `uri ~ "s1"`.
    // Rule 3 is gated on host (no host here), so it is not a candidate.
    expected.extend([1, 5, 11]);
    expected.sort_unstable();
    assert_eq!(all, expected);

    let late = rules(vec![
        rule("first", None, vec![respond(200, "")]),
        rule(
            "gated",
            Some(regex(Field::Path, "^/a", 0)),
            vec![respond(201, "")],
        ),
    ]);
    let parts = request("/a", &[]);
    let facts = RequestFacts::from_parts(&parts, IpAddr::from([127, 0, 0, 1])).unwrap();
    let reader = FieldReader::new(&facts);
    let mut candidates = late.index().candidates(&reader);
    assert_eq!(candidates.next(), Some(0));
    assert!(
        candidates.is_set_pending(),
        "the set has not run before a gated rule is reached"
    );
    assert_eq!(candidates.next(), Some(1));
    assert!(!candidates.is_set_pending());
}

/// The regex of a rule whose whole condition is one `~` or `!~` test.
fn only_regex(rule: &Rule) -> &crate::rules::RuleRegex {
    match &rule.condition {
        Some(Condition::Test(Test {
            op: TestOp::Matches { regex, .. } | TestOp::NotMatches(regex),
            ..
        })) => regex,
        other => panic!("not a one-regex condition: {other:?}"),
    }
}

#[test]
fn gated_regexes_are_built_when_their_gate_first_matches_and_the_rest_with_the_index() {
    let compiled = crate::config::compile_source(
        "proxy.conf",
        b"rule not-pdf {\n    when path !~ \"\\\\.pdf$\"\n    response header set X-Not-Pdf \"1\"\n}\n\
          rule old-a {\n    when path ~ \"^/old-a/(.*)$\"\n    redirect 301 \"/new-a/{1}\"\n}\n\
          rule old-b {\n    when path ~ \"^/old-b/(.*)$\"\n    redirect 301 \"/new-b/{1}\"\n}\n",
    )
    .expect("valid config");
    let set = compiled.rule_set;
    let [not_pdf, old_a, old_b] = [0, 1, 2].map(|at| only_regex(&set.rules[at]).clone());
    assert!(
        !not_pdf.is_built() && !old_a.is_built(),
        "compiling keeps patterns only"
    );
    let set = set.prepare();
    assert!(
        not_pdf.is_built(),
        "an ungated rule's regex runs on every request"
    );
    assert!(!old_a.is_built() && !old_b.is_built(), "gated ones wait");
    let d = run_on(&set, "/elsewhere", &[]);
    assert_eq!(d.fired, vec![0]);
    assert!(!old_a.is_built() && !old_b.is_built(), "no gate matched");
    let d = run_on(&set, "/old-b/page", &[]);
    assert_eq!(d.fired, vec![0, 2]);
    assert_eq!(location(&d), Some((301, "/new-b/page")));
    assert!(old_b.is_built() && !old_a.is_built());
}
