//! A response rule's gate on `status` (issue 12's cost): the statuses for
//! which its condition can hold, worked out once from the `status` tests it
//! must pass, so the response phase skips a rule such as
//! `when status >= 500 and …` on a 200 without reading any field.

use http::StatusCode;

use super::condition::{Condition, Field, Test, TestOp};
use super::rule_set::Rule;

/// The statuses `StatusCode` can carry: 100 to 999.
const STATUSES: usize = 1000;

/// The statuses for which a condition may hold, one bit each; a condition
/// that does not test `status` in a way read here lets every status through.
#[derive(Debug, Clone)]
pub(crate) struct StatusGate {
    bits: [u64; STATUSES / 64 + 1],
}

/// The gates of the rules at `at` (the response rules), in that order.
pub(crate) fn gates_of(rules: &[Rule], at: &[usize]) -> Vec<StatusGate> {
    let texts: Vec<String> = (0..STATUSES).map(|status| status.to_string()).collect();
    at.iter()
        .map(|&at| {
            StatusGate::of(
                rules.get(at).and_then(|rule| rule.condition.as_ref()),
                &texts,
            )
        })
        .collect()
}

impl StatusGate {
    /// The gate of a rule's condition (`None`: the rule always fires);
    /// `texts` holds every status's digits, by status.
    fn of(condition: Option<&Condition>, texts: &[String]) -> Self {
        let mut bits = [0; STATUSES / 64 + 1];
        for (status, text) in texts.iter().enumerate() {
            let open = condition.is_none_or(|condition| {
                may_hold(condition, u16::try_from(status).unwrap_or(u16::MAX), text)
            });
            if open {
                bits[status / 64] |= 1 << (status % 64);
            }
        }
        StatusGate { bits }
    }

    /// Whether the rule's condition can hold for a response with this status.
    #[inline]
    /// (A reader without a response passes every gate.)
    pub(crate) fn admits(&self, status: Option<StatusCode>) -> bool {
        let Some(status) = status else {
            return true;
        };
        let at = usize::from(status.as_u16());
        self.bits
            .get(at / 64)
            .is_none_or(|word| word & (1 << (at % 64)) != 0)
    }
}

/// `false` only when the condition cannot hold for a response with this
/// status, whatever the other fields are; every test that is not on
/// `status` (and `not …`) counts as possibly true.
fn may_hold(condition: &Condition, status: u16, text: &str) -> bool {
    match condition {
        Condition::All(members) => members.iter().all(|m| may_hold(m, status, text)),
        Condition::Any(members) => members.iter().any(|m| may_hold(m, status, text)),
        Condition::Not(_) | Condition::Exists(_) => true,
        Condition::Test(test) => test_may_hold(test, status, text),
    }
}

/// A `status` test decided as the matcher decides it (the field's value is
/// the status's three digits); any other test may hold.
fn test_may_hold(test: &Test, status: u16, text: &str) -> bool {
    if test.field != Field::Status {
        return true;
    }
    match &test.op {
        TestOp::Equals(value) => text == value,
        TestOp::NotEquals(value) => text != value,
        TestOp::StartsWith(value) => text.starts_with(value.as_str()),
        TestOp::EndsWith(value) => text.ends_with(value.as_str()),
        TestOp::Contains(value) => text.contains(value.as_str()),
        TestOp::In(set) => set.strings.iter().any(|value| value == text),
        TestOp::NotIn(set) => !set.strings.iter().any(|value| value == text),
        TestOp::Ordered(order, bound) => order.holds(status, *bound),
        TestOp::Matches { .. } | TestOp::NotMatches(_) | TestOp::InMap(_) | TestOp::NotInMap(_) => {
            true
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gates(text: &str) -> Vec<StatusGate> {
        let set = match crate::config::compile_source("proxy.conf", text.as_bytes()) {
            Ok(compiled) => compiled.rule_set.prepare(),
            Err(invalid) => panic!("{}", invalid.render(false)),
        };
        set.index().response_gates.clone()
    }

    fn admits(gate: &StatusGate, status: u16) -> bool {
        gate.admits(Some(StatusCode::from_u16(status).expect("a status")))
    }

    #[test]
    fn status_tests_close_the_gate_and_others_leave_it_open() {
        let gates = gates(
            r#"
            rule errors on response {
                when status >= 500 and status < 600
                response header set X-Error "{status}"
            }
            rule listed on response {
                when status in [502, 504] or status == 404
                response header set X-A "1"
            }
            rule typed on response {
                when status == 200 and content_type ^= "image/"
                response header set X-B "1"
            }
            rule unrelated on response {
                when content_type == "text/html" or not status == 200
                response header set X-C "1"
            }
            rule always on response {
                response header set X-D "1"
            }
            "#,
        );
        let [errors, listed, typed, unrelated, always] = gates.as_slice() else {
            panic!("five gates: {gates:?}");
        };
        assert!(admits(errors, 502) && admits(errors, 599));
        assert!(!admits(errors, 200) && !admits(errors, 600) && !admits(errors, 499));
        assert!(admits(listed, 502) && admits(listed, 404) && admits(listed, 504));
        assert!(!admits(listed, 503) && !admits(listed, 200));
        assert!(admits(typed, 200) && !admits(typed, 201));
        assert!((100..1000).all(|status| admits(unrelated, status)));
        assert!((100..1000).all(|status| admits(always, status)));
        assert!(errors.admits(None));
    }
}
