//! Runs the rule set over one request (spec §7).
//!
//! PLACEHOLDER (to be replaced by the evaluation work): forwards unchanged.

use super::{Decision, RequestFacts, RuleSet};

/// Decides what happens to one request.
pub fn evaluate(rule_set: &RuleSet, facts: &RequestFacts<'_>) -> Decision {
    let _ = (rule_set, facts);
    Decision::forward_unchanged()
}
