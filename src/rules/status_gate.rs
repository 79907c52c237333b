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
pub struct StatusGate {
    bits: [u64; STATUSES / 64 + 1],
}

/// The gates of the rules at `at` (the response rules), in that order.
pub fn gates_of(rules: &[Rule], at: &[usize]) -> Vec<StatusGate> {
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
    pub fn admits(&self, status: Option<StatusCode>) -> bool {
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
