//! Runs the rule set over one request (spec §7): rules top to bottom, every
//! rule whose condition holds applies its actions in order, effects
//! accumulate, and the first terminal action ends evaluation.
//!
//! One evaluator serves both the data plane (`evaluate`) and `explain`
//! (`evaluate_traced`); they differ only in the `Observer` they pass. The
//! response phase (section 12, `run_response`) decides each rule and applies
//! its actions with the same two functions, `decide` and `apply`.

use bytes::Bytes;
use http::{HeaderName, HeaderValue};

use super::action::{Action, HeaderAction};
use super::decision::{Decision, HeaderEdit, Outcome, ResponseDecision, TEXT_PLAIN};
use super::expand::{carry_query, escape_uri, expand, expand_into};
use super::field::{FieldReader, ResponseFacts};
use super::index::{RuleIndex, RulePlan};
use super::matcher::{Matcher, Slots};
use super::request::RequestFacts;
use super::rule_set::{Phase, Rule, RuleSet};
use super::template::Template;
use super::trace::{Leaf, NoTrace, Observer, Recorder, Trace};

/// Decides what happens to one request.
pub fn evaluate(rule_set: &RuleSet, facts: &RequestFacts<'_>) -> Decision {
    run(rule_set, facts, &mut NoTrace)
}

/// Decides what happens to one request and reports, rule by rule, why (for
/// `explain`). The decision is exactly the one `evaluate` returns.
pub fn evaluate_traced(rule_set: &RuleSet, facts: &RequestFacts<'_>) -> (Decision, Trace) {
    let mut recorder = Recorder::new(rule_set.rules.iter().map(|rule| rule.name.as_str()));
    let decision = run(rule_set, facts, &mut recorder);
    (decision, recorder.finish())
}

/// Runs the response rules over one response (section 12) for the server;
/// `outgoing_query` is the query that was (or would have been) sent
/// upstream, which a response-phase `redirect` carries over.
pub fn evaluate_response(
    rule_set: &RuleSet,
    facts: &RequestFacts<'_>,
    response: ResponseFacts<'_>,
    outgoing_query: Option<&str>,
) -> ResponseDecision {
    let reader = FieldReader::with_response(facts, response);
    run_response(rule_set, &reader, outgoing_query, &mut NoTrace)
}

pub(crate) fn run<O: Observer>(
    rule_set: &RuleSet,
    facts: &RequestFacts<'_>,
    observer: &mut O,
) -> Decision {
    let cached = rule_set.index();
    // A rule set whose rules were changed after its index was built is run
    // with a fresh index rather than a stale one.
    if cached.plans.len() == rule_set.rules.len() {
        run_with(rule_set, cached, facts, observer)
    } else {
        run_with(
            rule_set,
            &RuleIndex::build(&rule_set.rules),
            facts,
            observer,
        )
    }
}

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
        let Some(slots) = decide(at, rule, plan, &reader, observer) else {
            continue;
        };
        decision.fired.push(at);
        let mut effects = Effects {
            request_headers: &mut decision.request_headers,
            response_headers: &mut decision.response_headers,
            rewrite: &mut rewrite,
            carried_query: facts.query.as_deref(),
        };
        let mut actions = Actions {
            reader: &reader,
            slots: &slots,
            plan,
            observer: &mut *observer,
        };
        if let Flow::Answer(outcome) = apply(rule, &mut actions, &mut effects) {
            decision.outcome = outcome;
            decision.request_headers.clear();
            return decision;
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

/// Runs the response rules (section 12) over one response, with the same
/// matcher and actions as the request phase: file order, accumulation, and
/// conditions that see the response as it came. `outgoing_query` is what a
/// response-phase `redirect` carries over (the query that was, or would
/// have been, sent upstream). The first `respond` or `redirect` that fires
/// ends the phase.
pub(crate) fn run_response<O: Observer>(
    rule_set: &RuleSet,
    reader: &FieldReader<'_>,
    outgoing_query: Option<&str>,
    observer: &mut O,
) -> ResponseDecision {
    let index = rule_set.index();
    let mut decision = ResponseDecision::default();
    // Response rules cannot hold request actions; these stay empty.
    let (mut request_headers, mut rewrite) = (Vec::new(), None);
    for &at in &index.response_rules {
        let (Some(rule), Some(plan)) = (rule_set.rules.get(at), index.plans.get(at)) else {
            break;
        };
        let Some(slots) = decide(at, rule, plan, reader, observer) else {
            continue;
        };
        decision.fired.push(at);
        let mut effects = Effects {
            request_headers: &mut request_headers,
            response_headers: &mut decision.edits,
            rewrite: &mut rewrite,
            carried_query: outgoing_query,
        };
        let mut actions = Actions {
            reader,
            slots: &slots,
            plan,
            observer: &mut *observer,
        };
        match apply(rule, &mut actions, &mut effects) {
            Flow::Continue => {}
            // Where section 15's `stop` will end the phase without an answer.
            Flow::Answer(outcome) => {
                decision.replaced = Some(outcome);
                break;
            }
        }
    }
    decision
}

/// Decides one rule's condition; the capture slots when it fired.
#[inline]
fn decide<'v, O: Observer>(
    at: usize,
    rule: &Rule,
    plan: &'v RulePlan,
    reader: &'v FieldReader<'v>,
    observer: &mut O,
) -> Option<Slots<'v>> {
    observer.rule_start(at);
    let mut matcher = Matcher {
        reader,
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
    fired.then_some(slots)
}

/// Where a fired rule's actions accumulate.
struct Effects<'e> {
    request_headers: &'e mut Vec<HeaderEdit>,
    response_headers: &'e mut Vec<HeaderEdit>,
    rewrite: &'e mut Option<String>,
    /// The query a `redirect` target without `?` carries over.
    carried_query: Option<&'e str>,
}

/// Whether evaluation of the phase goes on after a rule.
enum Flow {
    /// On to the next rule.
    Continue,
    /// A terminal action answered.
    Answer(Outcome),
}

/// Applies one fired rule's actions in order (section 7), in either phase.
#[inline]
fn apply<O: Observer>(
    rule: &Rule,
    actions: &mut Actions<'_, '_, O>,
    effects: &mut Effects<'_>,
) -> Flow {
    for (action_at, action) in rule.actions.iter().enumerate() {
        match action {
            Action::RequestHeader(header) => {
                if let Some(edit) = actions.header_edit(action_at, header) {
                    effects.request_headers.push(edit);
                }
            }
            Action::ResponseHeader(header) => {
                if let Some(edit) = actions.header_edit(action_at, header) {
                    effects.response_headers.push(edit);
                }
            }
            Action::Rewrite { target } => {
                *effects.rewrite =
                    Some(actions.target(target, actions.reader.facts().query.as_deref()));
            }
            Action::Redirect { status, target } => {
                let location = actions.target(target, effects.carried_query);
                // `target` escaped everything but visible ASCII, which is
                // always a valid header value: the fallback never runs.
                return Flow::Answer(Outcome::Redirect {
                    status: *status,
                    location: HeaderValue::from_maybe_shared(Bytes::from(location))
                        .unwrap_or_else(|_| HeaderValue::from_static("/")),
                });
            }
            Action::Respond { status, body } => {
                return Flow::Answer(Outcome::Respond {
                    status: *status,
                    body: Bytes::from(expand(body, actions.reader, actions.slots)),
                    content_type: HeaderValue::from_static(TEXT_PLAIN),
                });
            }
            Action::RespondFile { status, file } => {
                return Flow::Answer(Outcome::Respond {
                    status: *status,
                    body: file.bytes.clone(),
                    content_type: file.content_type.clone(),
                });
            }
        }
    }
    Flow::Continue
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
        if rule_set
            .rules
            .get(at)
            .is_some_and(|rule| rule.phase != Phase::Request)
        {
            continue;
        }
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
            HeaderAction::Default(name, template) => (name, template, HeaderEdit::Default),
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

    /// A redirect or rewrite target: expanded, `query` carried over, escaped.
    fn target(&self, template: &Template, query: Option<&str>) -> String {
        let mut text = String::new();
        expand_into(template, self.reader, self.slots, &mut text);
        escape_uri(carry_query(text, query))
    }
}

#[cfg(test)]
mod tests;
