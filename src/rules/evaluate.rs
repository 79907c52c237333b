//! Runs the rule set over one request (spec §7): rules top to bottom, every
//! rule whose condition holds applies its actions in order, effects
//! accumulate, and the first terminal action ends evaluation.
//!
//! One evaluator serves both the data plane (`evaluate`) and `explain`
//! (`evaluate_traced`); they differ only in the `Observer` they pass.

use bytes::Bytes;
use http::{HeaderName, HeaderValue};

use super::action::{Action, HeaderAction};
use super::decision::{Decision, HeaderEdit, Outcome};
use super::expand::{carry_query, escape_uri, expand, expand_into};
use super::field::FieldReader;
use super::index::{RuleIndex, RulePlan};
use super::matcher::{Matcher, Slots};
use super::request::RequestFacts;
use super::rule_set::{RuleSet, ServedRules};
use super::template::Template;
use super::trace::{Leaf, NoTrace, Observer, Recorder, Trace};

/// Decides what happens to one request.
pub fn evaluate(rule_set: &ServedRules, facts: &RequestFacts<'_>) -> Decision {
    run(rule_set, facts, &mut NoTrace)
}

/// Decides what happens to one request and reports, rule by rule, why (for
/// `explain`). The decision is exactly the one `evaluate` returns.
pub fn evaluate_traced(rule_set: &ServedRules, facts: &RequestFacts<'_>) -> (Decision, Trace) {
    let mut recorder = Recorder::new(rule_set.rules.iter().map(|rule| rule.name.as_str()));
    let decision = run(rule_set, facts, &mut recorder);
    (decision, recorder.finish())
}

fn run<O: Observer>(
    rule_set: &ServedRules,
    facts: &RequestFacts<'_>,
    observer: &mut O,
) -> Decision {
    run_with(rule_set, rule_set.index(), facts, observer)
}

/// The evaluator proper, over any index of `rule_set`'s rules (the tests
/// pass one without gates to prove the index never changes a result).
fn run_with<O: Observer>(
    rule_set: &RuleSet,
    index: &RuleIndex,
    facts: &RequestFacts<'_>,
    observer: &mut O,
) -> Decision {
    let reader = FieldReader::new(facts);
    let mut decision = Decision {
        fired: Vec::with_capacity(index.capacity.fired),
        outcome: Outcome::Forward { target: None },
        request_headers: Vec::with_capacity(index.capacity.request_headers),
        response_headers: Vec::with_capacity(index.capacity.response_headers),
    };
    let mut rewrite: Option<String> = None;
    let mut unvisited = 0;

    for at in index.candidates(&reader) {
        if O::RECORDS {
            report_gated(rule_set, index, unvisited..at, &reader, observer);
        }
        unvisited = at + 1;
        let (Some(rule), Some(plan)) = (rule_set.rules.get(at), index.plans.get(at)) else {
            break;
        };
        observer.rule_start(at);
        let mut matcher = Matcher {
            reader: &reader,
            wanted: &plan.capture_slots,
            slots: if O::RECORDS || plan.capture_slots.contains(&true) {
                (0..rule.regex_slots).map(|_| None).collect()
            } else {
                Vec::new()
            },
            observer: &mut *observer,
        };
        let fired = match &rule.condition {
            None => true,
            Some(condition) => matcher.holds(condition, false),
        };
        let slots = matcher.slots;
        observer.rule_end(at, fired);
        if !fired {
            continue;
        }
        decision.fired.push(at);
        let mut actions = Actions {
            reader: &reader,
            slots: &slots,
            plan,
            observer: &mut *observer,
        };
        for (action_at, action) in rule.actions.iter().enumerate() {
            match action {
                Action::RequestHeader(header) => {
                    if let Some(edit) = actions.header_edit(action_at, header) {
                        decision.request_headers.push(edit);
                    }
                }
                Action::ResponseHeader(header) => {
                    if let Some(edit) = actions.header_edit(action_at, header) {
                        decision.response_headers.push(edit);
                    }
                }
                Action::Rewrite { target } => rewrite = Some(actions.target(target)),
                Action::Redirect { status, target } => {
                    let location = actions.target(target);
                    // `target` escaped everything but visible ASCII, which is
                    // always a valid header value: the fallback never runs.
                    decision.outcome = Outcome::Redirect {
                        status: *status,
                        location: HeaderValue::from_maybe_shared(Bytes::from(location))
                            .unwrap_or_else(|_| HeaderValue::from_static("/")),
                    };
                    decision.request_headers.clear();
                    return decision;
                }
                Action::Respond { status, body } => {
                    decision.outcome = Outcome::Respond {
                        status: *status,
                        body: Bytes::from(expand(body, &reader, &slots)),
                    };
                    decision.request_headers.clear();
                    return decision;
                }
            }
        }
    }
    if O::RECORDS {
        report_gated(
            rule_set,
            index,
            unvisited..rule_set.rules.len(),
            &reader,
            observer,
        );
    }
    decision.outcome = Outcome::Forward { target: rewrite };
    decision
}

/// For the trace: the rules the index ruled out (their gating regex did not
/// match) between two candidates.
fn report_gated<O: Observer>(
    rule_set: &RuleSet,
    index: &RuleIndex,
    skipped: std::ops::Range<usize>,
    reader: &FieldReader<'_>,
    observer: &mut O,
) {
    for at in skipped {
        let gate = index.plans.get(at).and_then(|plan| plan.gate);
        let condition = rule_set
            .rules
            .get(at)
            .and_then(|rule| rule.condition.as_ref());
        observer.rule_start(at);
        if let Some(test) = gate
            .zip(condition)
            .and_then(|(gate, condition)| gate.test(condition))
        {
            observer.leaf(
                Leaf::Test(test),
                &reader.value(&test.field),
                false,
                false,
                true,
            );
        }
        observer.rule_end(at, false);
    }
}
/// Applies the actions of one fired rule.
struct Actions<'a, 'v, O: Observer> {
    reader: &'a FieldReader<'v>,
    slots: &'a Slots<'a>,
    plan: &'a RulePlan,
    observer: &'a mut O,
}

impl<O: Observer> Actions<'_, '_, O> {
    /// The expanded edit, or `None` (with a warning) when the value is not a
    /// valid header value: it holds a CR, LF, NUL or another control byte.
    fn header_edit(&mut self, action_at: usize, header: &HeaderAction) -> Option<HeaderEdit> {
        let (name, template, make): (
            &HeaderName,
            &Template,
            fn(HeaderName, HeaderValue) -> HeaderEdit,
        ) = match header {
            HeaderAction::Remove(name) => return Some(HeaderEdit::Remove(name.clone())),
            HeaderAction::Set(name, template) => (name, template, HeaderEdit::Set),
            HeaderAction::Add(name, template) => (name, template, HeaderEdit::Add),
        };
        if let Some(Some(value)) = self.plan.literal_values.get(action_at) {
            return Some(make(name.clone(), value.clone()));
        }
        let text = expand(template, self.reader, self.slots);
        let valid = text
            .bytes()
            .all(|byte| byte == b'\t' || (byte >= b' ' && byte != 0x7f));
        if let (true, Ok(value)) = (valid, HeaderValue::from_str(&text)) {
            return Some(make(name.clone(), value));
        }
        if valid {
            // Non-ASCII UTF-8 text is valid header bytes (obs-text).
            if let Ok(value) = HeaderValue::from_maybe_shared(Bytes::from(text.clone())) {
                return Some(make(name.clone(), value));
            }
        }
        tracing::warn!(
            header = %name,
            value = ?text,
            "header action skipped: its value is not a valid header value (CR, LF, NUL or another control character)"
        );
        self.observer.header_skipped(name, &text);
        None
    }

    /// A redirect or rewrite target: expanded, query carried over, escaped.
    fn target(&self, template: &Template) -> String {
        let mut text = String::new();
        expand_into(template, self.reader, self.slots, &mut text);
        escape_uri(carry_query(text, self.reader.facts().query.as_deref()))
    }
}

#[cfg(test)]
mod tests;
