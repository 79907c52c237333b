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
