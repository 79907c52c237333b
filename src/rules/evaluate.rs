//! Runs the rule set over one request (spec §7): rules top to bottom, every
//! rule whose condition holds applies its actions in order, effects
//! accumulate, and the first terminal action (or `stop`, §15) ends evaluation.
//!
//! One evaluator serves both the data plane (`evaluate`) and `explain`
//! (`evaluate_traced`); they differ only in the `Observer` they pass. The
//! response phase (section 12, `run_response`) decides each rule and applies
//! its actions with the same two steps, `decide` and `Actions::apply_all`.

use bytes::Bytes;
use http::{HeaderName, HeaderValue};

use super::action::{Action, HeaderAction};
use super::decision::{Decision, HeaderEdit, Outcome, TEXT_PLAIN};
use super::expand::{carry_query, escape_uri, expand, split_rewrite};
use super::field::{FieldReader, ResponseFacts};
use super::function::MAX_EXPANSION;
use super::index::{RuleIndex, RulePlan};
use super::matcher::{Matcher, Slots};
use super::query_edit::{self, QueryAction};
use super::request::RequestFacts;
use super::response_gate::Verdict;
use super::rule_set::{Phase, Rule, RuleSet, ServedRules};
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

/// Runs the response rules over one response (section 12) for the server;
/// `outgoing_query` is the query that was (or would have been) sent
/// upstream, which a response-phase `redirect` carries over. The rules
/// that fire and their header edits are appended to `lists` (the server
/// passes the request phase's: one list of fired rules for the log, one
/// of edits in the order they apply); the answer a `respond` or
/// `redirect` put in the response's place is returned.
pub fn evaluate_response(
    rule_set: &ServedRules,
    facts: &RequestFacts<'_>,
    response: ResponseFacts<'_>,
    outgoing_query: Option<&str>,
    lists: &mut PhaseLists,
) -> Option<Outcome> {
    let reader = FieldReader::with_response(facts, response);
    run_response(rule_set, &reader, outgoing_query, &mut NoTrace, lists)
}

/// The lists a phase adds to: the rules that fired and the response-header
/// edits, each in order.
#[derive(Debug, Default)]
pub struct PhaseLists {
    /// Indices into `RuleSet::rules` of the rules that fired.
    pub fired: Vec<usize>,
    /// The edits to the response's headers, in the order they apply.
    pub edits: Vec<HeaderEdit>,
}

/// Runs the response rules (section 12) over one response, with the same
/// matcher and actions as the request phase: file order, accumulation, and
/// conditions that see the response as it came. The first `respond` or
/// `redirect` that fires ends the phase with an answer; `stop` ends it
/// without one.
pub(crate) fn run_response<O: Observer>(
    rule_set: &ServedRules,
    reader: &FieldReader<'_>,
    outgoing_query: Option<&str>,
    observer: &mut O,
    lists: &mut PhaseLists,
) -> Option<Outcome> {
    run_response_with(
        rule_set,
        rule_set.index(),
        reader,
        outgoing_query,
        observer,
        lists,
    )
}

/// The response phase proper, over any index of `rule_set`'s rules (the
/// tests pass one without the gate to prove it never changes a result).
fn run_response_with<O: Observer>(
    rule_set: &RuleSet,
    index: &RuleIndex,
    reader: &FieldReader<'_>,
    outgoing_query: Option<&str>,
    observer: &mut O,
    lists: &mut PhaseLists,
) -> Option<Outcome> {
    // The phase's scratch decision, over the lists it adds to (moved, not
    // copied): response rules hold no request action, and a `respond` or
    // `redirect` sets its outcome.
    let mut decision = Decision {
        fired: std::mem::take(&mut lists.fired),
        outcome: Outcome::Forward { target: None },
        request_headers: Vec::new(),
        response_headers: std::mem::take(&mut lists.edits),
    };
    // A redirect carries over the outgoing query; `Some("")` is "none".
    let mut target = Target {
        path: None,
        query: Some(outgoing_query.unwrap_or("").to_owned()),
    };
    let mut replaced = None;
    // What the head (status, media type) already decides; `explain` does
    // not use it, and visits every rule to show why.
    let verdicts = match &index.response_gate {
        Some(gate) if !O::RECORDS => gate.verdicts(reader),
        _ => None,
    };
    for (nth, &at) in index.response_rules.iter().enumerate() {
        let verdict = verdicts.and_then(|row| row.get(nth).copied());
        if verdict == Some(Verdict::Never) {
            continue;
        }
        let (Some(rule), Some(plan)) = (rule_set.rules.get(at), index.plans.get(at)) else {
            break;
        };
        let slots = if verdict == Some(Verdict::Always) {
            Vec::new()
        } else {
            let Some(slots) = decide(at, rule, plan, reader, observer) else {
                continue;
            };
            slots
        };
        decision.fired.push(at);
        let mut actions = Actions {
            reader,
            slots: &slots,
            plan,
            observer: &mut *observer,
        };
        match actions.apply_all(&rule.actions, &mut decision, &mut target) {
            Flow::Next => {}
            Flow::Answered => {
                replaced = Some(decision.outcome);
                break;
            }
            Flow::Stop => break,
        }
    }
    lists.fired = decision.fired;
    lists.edits = decision.response_headers;
    replaced
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
        slots: Vec::new(),
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

pub(crate) fn run<O: Observer>(
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
    let mut target = Target::default();
    let mut unvisited = 0;
    let mut stopped = false;

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
        let mut actions = Actions {
            reader: &reader,
            slots: &slots,
            plan,
            observer: &mut *observer,
        };
        match actions.apply_all(&rule.actions, &mut decision, &mut target) {
            Flow::Next => {}
            Flow::Answered => {
                decision.request_headers.clear();
                return decision;
            }
            Flow::Stop => {
                stopped = true;
                break;
            }
        }
    }
    if O::RECORDS && !stopped {
        report_gated(
            rule_set,
            index,
            unvisited..rule_set.rules.len(),
            &reader,
            observer,
        );
    }
    decision.outcome = Outcome::Forward {
        target: target.forwarded(facts),
    };
    decision
}

/// What the request phase says goes upstream, beside the headers: the
/// rewritten path and the outgoing query (§15), each `None` while unchanged.
#[derive(Debug, Default)]
pub struct Target {
    /// The last `rewrite`'s path, escaped.
    path: Option<String>,
    /// The outgoing query without `?` (`""` for none), once a rewrite or a
    /// query edit changed it.
    query: Option<String>,
}

impl Target {
    /// The outgoing query: the request's until something changed it.
    pub fn query<'q>(&'q self, facts: &'q RequestFacts<'_>) -> Option<&'q str> {
        self.query.as_deref().or(facts.query.as_deref())
    }

    /// The origin-form target to send, or `None` to send the normalized one.
    fn forwarded(self, facts: &RequestFacts<'_>) -> Option<String> {
        if self.path.is_none() && self.query.is_none() {
            return None;
        }
        let query = self.query(facts).filter(|query| !query.is_empty());
        let path = self.path.as_deref().unwrap_or(&facts.path);
        let mut out = String::with_capacity(path.len() + query.map_or(0, |q| q.len() + 1));
        out.push_str(path);
        if let Some(query) = query {
            out.push('?');
            out.push_str(query);
        }
        Some(out)
    }
}

/// How evaluation goes on after a rule's actions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flow {
    /// To the next rule.
    Next,
    /// A `redirect` or `respond` answered: the decision's outcome is set.
    Answered,
    /// `stop`: no later rule of the phase; the request goes on as it is.
    Stop,
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
    /// Applies one fired rule's actions in order, and says how evaluation
    /// goes on; both phases run their actions through this.
    #[inline]
    fn apply_all(
        &mut self,
        actions: &[Action],
        decision: &mut Decision,
        target: &mut Target,
    ) -> Flow {
        // Literal response-header edits only: built once, added as they are
        // (exactly what the loop below would build).
        if let Some(edits) = &self.plan.literal_edits {
            decision.response_headers.extend(edits.iter().cloned());
            return Flow::Next;
        }
        for (action_at, action) in actions.iter().enumerate() {
            match action {
                Action::RequestHeader(header) => {
                    if let Some(edit) = self.header_edit(action_at, header) {
                        decision.request_headers.push(edit);
                    }
                }
                Action::ResponseHeader(header) => {
                    if let Some(edit) = self.header_edit(action_at, header) {
                        decision.response_headers.push(edit);
                    }
                }
                Action::Rewrite { target: template } => {
                    let Some(text) = self.expand_bounded(template, "rewrite") else {
                        continue;
                    };
                    let mut text = escape_uri(text);
                    // Only a function of `path` can lose the leading `/`
                    // (compile checks the rest): the target stays origin-form.
                    if !text.starts_with('/') {
                        text.insert(0, '/');
                    }
                    let (path, query) = split_rewrite(&text);
                    if let Some(query) = query {
                        target.query = Some(query.to_owned());
                    }
                    target.path = Some(path.to_owned());
                }
                Action::Query(edit) => {
                    if let Some(query) = self.query_edit(edit, target.query(self.reader.facts())) {
                        target.query = Some(query);
                    }
                }
                Action::Redirect {
                    status,
                    target: template,
                } => {
                    let Some(text) = self.expand_bounded(template, "redirect") else {
                        continue;
                    };
                    let location = carry_query(escape_uri(text), target.query(self.reader.facts()));
                    // `escape_uri` left only visible ASCII, and the carried
                    // query came from a valid request target: always a valid
                    // header value, so the fallback never runs.
                    decision.outcome = Outcome::Redirect {
                        status: *status,
                        location: HeaderValue::from_maybe_shared(Bytes::from(location))
                            .unwrap_or_else(|_| HeaderValue::from_static("/")),
                    };
                    return Flow::Answered;
                }
                Action::Respond { status, body } => {
                    let Some(body) = self.expand_bounded(body, "respond") else {
                        continue;
                    };
                    decision.outcome = Outcome::Respond {
                        status: *status,
                        body: Bytes::from(body),
                        content_type: HeaderValue::from_static(TEXT_PLAIN),
                    };
                    return Flow::Answered;
                }
                Action::RespondFile { status, file } => {
                    decision.outcome = Outcome::Respond {
                        status: *status,
                        body: file.bytes.clone(),
                        content_type: file.content_type.clone(),
                    };
                    return Flow::Answered;
                }
                Action::Stop => return Flow::Stop,
            }
        }
        Flow::Next
    }

    /// The expanded template, or `None` (with a warning) when it is longer
    /// than [`MAX_EXPANSION`]: the action is skipped.
    fn expand_bounded(&mut self, template: &Template, action: &str) -> Option<String> {
        let text = expand(template, self.reader, self.slots);
        if text.len() <= MAX_EXPANSION {
            return Some(text);
        }
        tracing::warn!(
            action,
            bytes = text.len(),
            "action skipped: its template expanded past 64 KiB"
        );
        self.observer
            .skipped(action, &format!("{} bytes", text.len()));
        None
    }

    /// The outgoing query after one edit; `None` when the edit was skipped.
    fn query_edit(&mut self, edit: &QueryAction, query: Option<&str>) -> Option<String> {
        let query = query.unwrap_or("");
        Some(match edit {
            QueryAction::Set(name, value) => {
                query_edit::set(query, name, &self.expand_bounded(value, "query set")?)
            }
            QueryAction::Add(name, value) => {
                query_edit::add(query, name, &self.expand_bounded(value, "query add")?)
            }
            QueryAction::Remove(patterns) => query_edit::filter(query, patterns, false),
            QueryAction::Keep(patterns) => query_edit::filter(query, patterns, true),
            QueryAction::Sort => query_edit::sort(query),
        })
    }

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
        let text = self.expand_bounded(template, "header")?;
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
}

#[cfg(test)]
mod tests;
