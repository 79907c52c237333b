//! The rule index: what evaluation needs to know about each rule that can be
//! worked out once per rule set instead of once per request — which regex
//! gates a rule (the gating regexes of one field run together as one
//! `RegexSet`), which capture slots its templates read, and its literal header
//! values pre-built.
//!
//! The index never changes the result: a rule is skipped only when a regex its
//! condition requires (`field ~ re`, alone or as a member of the top-level
//! `and`) does not match, and then that rule could not have fired.

use http::{HeaderName, HeaderValue};
use regex::{RegexSet, RegexSetBuilder};

use super::action::{Action, HeaderAction};
use super::candidates::Candidates;
use super::condition::{Condition, Field, Test, TestOp};
use super::decision::HeaderEdit;
use super::field::FieldReader;
use super::query_edit::QueryAction;
use super::request_reads::request_headers_read;
use super::response_gate::ResponseGate;
use super::rule_set::{Phase, Rule};
use super::template::{Template, TemplatePart};

/// Compiled-program size limit of one combined `RegexSet` (its regexes each
/// compiled alone already; together they need more room than one).
const SET_SIZE_LIMIT: usize = 256 * 1024 * 1024;
/// Per-thread lazy-DFA cache of one `RegexSet`: large enough that a thousand
/// patterns do not keep clearing it.
const SET_DFA_LIMIT: usize = 32 * 1024 * 1024;
/// No decision starts with room for more than this many entries per vector.
const CAPACITY_CAP: usize = 32;
/// Nor with vectors of header edits past 1 KiB: the allocator's fast path
/// for small objects ends there (a 15-edit vector cost about 170 more
/// instructions a request than a 12-edit one).
const EDITS_CAP: usize = 1024 / std::mem::size_of::<HeaderEdit>();

/// Everything about a rule set that evaluation prepares once.
#[derive(Debug, Clone)]
pub struct RuleIndex {
    /// One set per field that gates rules (`path`, `uri`, `host`, `query`).
    pub(crate) sets: Vec<GateSet>,
    /// One plan per rule, by index.
    pub(crate) plans: Vec<RulePlan>,
    /// The rules without a gate, in order: always visited.
    pub(crate) ungated: Vec<usize>,
    /// The first gated rule: the sets run when evaluation gets there.
    pub(crate) first_gated: Option<usize>,
    /// The `on response` rules, in file order: never candidates of the
    /// request phase; the response phase visits each (empty for most
    /// configs, which then pay nothing for the response phase).
    pub(crate) response_rules: Vec<usize>,
    /// What each response rule's condition comes to for each kind of
    /// response head (`None` without response rules, and in the tests'
    /// reference index: every rule is evaluated).
    pub(crate) response_gate: Option<ResponseGate>,
    /// The request headers response rules read: all the response phase keeps.
    pub(crate) response_reads: Vec<HeaderName>,
    /// Capacities that let a typical decision be built without growing its
    /// vectors.
    pub(crate) capacity: DecisionCapacity,
}

/// The gating regexes on one field.
#[derive(Debug, Clone)]
pub(crate) struct GateSet {
    /// The field the regexes read.
    pub(crate) field: Field,
    /// The regexes, in rule order.
    pub(crate) set: RegexSet,
    /// For each pattern, the rule it gates (ascending).
    pub(crate) rules: Vec<usize>,
}

/// How large the vectors of a `Decision` start (the counts of the ungated
/// rules and of their header actions, capped).
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct DecisionCapacity {
    /// For `Decision::fired`.
    pub(crate) fired: usize,
    /// For `Decision::request_headers`.
    pub(crate) request_headers: usize,
    /// For `Decision::response_headers`.
    pub(crate) response_headers: usize,
}

/// What is prepared for one rule.
#[derive(Debug, Clone)]
pub(crate) struct RulePlan {
    /// The regex that must match for the rule to fire, if it is indexed.
    pub(crate) gate: Option<Gate>,
    /// For each capture slot of the rule, whether a template reads it (only
    /// those regexes run with capture positions; the rest use `is_match`).
    pub(crate) capture_slots: Vec<bool>,
    /// Per action: the header value when the action's template is literal.
    pub(crate) literal_values: Vec<Option<HeaderValue>>,
    /// When every action is a `response header` edit with a literal value
    /// (`hsts`, `nosniff`, `served-by` …): the edits, built once, which the
    /// rule adds as they are each time it fires.
    pub(crate) literal_edits: Option<Box<[HeaderEdit]>>,
}

/// A rule's gating regex: where it is in the index, and where the test sits
/// in the condition (for `explain`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Gate {
    /// The set's number in `RuleIndex::sets`.
    pub(crate) set: usize,
    /// The pattern's number in that set.
    pub(crate) pattern: usize,
    /// `None` when the whole condition is the test, else its position in the
    /// top-level `All`.
    pub(crate) member: Option<usize>,
}

impl Gate {
    /// The gating test inside the rule's condition.
    pub(crate) fn test<'r>(&self, condition: &'r Condition) -> Option<&'r Test> {
        let leaf = match (self.member, condition) {
            (None, leaf) => leaf,
            (Some(member), Condition::All(members)) => members.get(member)?,
            _ => return None,
        };
        match leaf {
            Condition::Test(test) => Some(test),
            _ => None,
        }
    }
}

/// The fields whose regexes are indexed: read without parsing, and the
/// ones rules test with regexes in practice.
const GATE_FIELDS: [Field; 4] = [Field::Path, Field::Uri, Field::Host, Field::Query];

impl RuleIndex {
    /// Prepares a rule list.
    pub fn build(rules: &[Rule]) -> Self {
        let mut plans: Vec<RulePlan> = rules
            .iter()
            .map(|rule| {
                let literal_values: Vec<_> = rule.actions.iter().map(literal_value).collect();
                RulePlan {
                    gate: None,
                    capture_slots: capture_slots(rule),
                    literal_edits: literal_edits(rule, &literal_values),
                    literal_values,
                }
            })
            .collect();
        let mut sets = Vec::new();
        for field in GATE_FIELDS {
            let gated: Vec<(usize, &str, Option<usize>)> = rules
                .iter()
                .enumerate()
                .filter(|(_, rule)| rule.phase == Phase::Request)
                .filter_map(|(at, rule)| {
                    let (regex, member) = gate_of(rule.condition.as_ref()?, &field)?;
                    Some((at, regex, member))
                })
                .collect();
            if gated.is_empty() {
                continue;
            }
            let built = RegexSetBuilder::new(gated.iter().map(|(_, regex, _)| *regex))
                .size_limit(SET_SIZE_LIMIT)
                .dfa_size_limit(SET_DFA_LIMIT)
                .build();
            // A set too large to build leaves its rules ungated: correct, slower.
            let Ok(set) = built else { continue };
            for (pattern, &(at, _, member)) in gated.iter().enumerate() {
                plans[at].gate = Some(Gate {
                    set: sets.len(),
                    pattern,
                    member,
                });
            }
            sets.push(GateSet {
                field,
                set,
                rules: gated.iter().map(|(at, _, _)| *at).collect(),
            });
        }
        let in_phase =
            |phase: Phase| move |at: &usize| rules.get(*at).is_some_and(|rule| rule.phase == phase);
        let ungated: Vec<usize> = (0..plans.len())
            .filter(|&at| plans[at].gate.is_none())
            .filter(in_phase(Phase::Request))
            .collect();
        let response_rules: Vec<usize> =
            (0..plans.len()).filter(in_phase(Phase::Response)).collect();
        // Every request that reaches an ungated rule runs its regexes: build
        // them now, off the serving path. A gated rule's regexes wait until
        // its gate first matches (most never do).
        let always_visited = ungated.iter().chain(&response_rules);
        for rule in always_visited.filter_map(|&at| rules.get(at)) {
            if let Some(condition) = &rule.condition {
                build_regexes(condition);
            }
        }
        let first_gated = (0..plans.len()).find(|&at| plans[at].gate.is_some());
        let capacity = capacity_of(rules, &ungated, &response_rules);
        let response_gate = (!response_rules.is_empty()).then(|| {
            ResponseGate::build(rules, &response_rules, |at| {
                plans
                    .get(at)
                    .is_some_and(|plan| plan.capture_slots.contains(&true))
            })
        });
        RuleIndex {
            sets,
            plans,
            ungated,
            first_gated,
            response_gate,
            response_reads: request_headers_read(rules, &response_rules),
            response_rules,
            capacity,
        }
    }

    /// The same preparation without the sets, the response gate and the
    /// pre-built edits, so every rule is visited and every action built
    /// (the reference that tests compare the index against).
    #[cfg(test)]
    pub(crate) fn build_unindexed(rules: &[Rule]) -> Self {
        let mut index = RuleIndex::build(rules);
        index.sets.clear();
        for plan in &mut index.plans {
            plan.gate = None;
            plan.literal_edits = None;
        }
        index.first_gated = None;
        index.response_gate = None;
        index.ungated = (0..rules.len())
            .filter(|&at| rules[at].phase == Phase::Request)
            .collect();
        index
    }

    /// The rules that can fire for this request, in file order: every
    /// ungated rule, and the gated ones whose regex matches.
    pub(crate) fn candidates<'p>(&'p self, reader: &'p FieldReader<'p>) -> Candidates<'p> {
        Candidates::new(self, reader)
    }
}

/// Builds every regex of the condition.
fn build_regexes(condition: &Condition) {
    match condition {
        Condition::All(members) | Condition::Any(members) => {
            members.iter().for_each(build_regexes);
        }
        Condition::Not(inner) => build_regexes(inner),
        Condition::Test(Test {
            op: TestOp::Matches { regex, .. } | TestOp::NotMatches(regex),
            ..
        }) => {
            regex.get();
        }
        Condition::Test(_) | Condition::Exists(_) => {}
    }
}

/// The indexed `field ~ re` test that the whole condition requires, if any.
fn gate_of<'c>(condition: &'c Condition, field: &Field) -> Option<(&'c str, Option<usize>)> {
    let regex_on = |leaf: &'c Condition| match leaf {
        Condition::Test(Test {
            field: tested,
            op: TestOp::Matches { regex, .. },
        }) if tested == field => Some(regex.as_str()),
        _ => None,
    };
    let indexed = |leaf: &Condition| {
        matches!(leaf, Condition::Test(Test { field: tested, op: TestOp::Matches { .. } })
            if GATE_FIELDS.contains(tested))
    };
    match condition {
        // The first indexed regex of an `and` gates it, whatever its field.
        Condition::All(members) => {
            let (at, member) = members
                .iter()
                .enumerate()
                .find(|(_, member)| indexed(member))?;
            regex_on(member).map(|regex| (regex, Some(at)))
        }
        leaf => regex_on(leaf).map(|regex| (regex, None)),
    }
}

/// The vectors also hold the response phase's additions (the server keeps
/// one list of fired rules and one of response-header edits for both).
fn capacity_of(rules: &[Rule], ungated: &[usize], response_rules: &[usize]) -> DecisionCapacity {
    let mut capacity = DecisionCapacity {
        fired: (ungated.len() + response_rules.len()).min(CAPACITY_CAP),
        ..DecisionCapacity::default()
    };
    for action in ungated
        .iter()
        .chain(response_rules)
        .filter_map(|&at| rules.get(at))
        .flat_map(|rule| &rule.actions)
    {
        match action {
            Action::RequestHeader(_) => capacity.request_headers += 1,
            Action::ResponseHeader(_) => capacity.response_headers += 1,
            _ => {}
        }
    }
    capacity.request_headers = capacity.request_headers.min(EDITS_CAP);
    capacity.response_headers = capacity.response_headers.min(EDITS_CAP);
    capacity
}

fn capture_slots(rule: &Rule) -> Vec<bool> {
    let mut slots = vec![false; rule.regex_slots];
    for template in rule.actions.iter().filter_map(template_of) {
        for part in &template.parts {
            mark_captures(part, &mut slots);
        }
    }
    slots
}

fn mark_captures(part: &TemplatePart, slots: &mut [bool]) {
    match part {
        TemplatePart::Capture(capture) => {
            if let Some(slot) = slots.get_mut(capture.slot) {
                *slot = true;
            }
        }
        TemplatePart::Call(_, inner) => mark_captures(inner, slots),
        TemplatePart::Literal(_) | TemplatePart::Field(_) | TemplatePart::MapValue { .. } => {}
    }
}

pub(super) fn template_of(action: &Action) -> Option<&Template> {
    match action {
        Action::Redirect { target, .. } | Action::Rewrite { target } => Some(target),
        Action::Respond { body, .. } => Some(body),
        Action::RespondFile { .. } => None,
        Action::RequestHeader(header) | Action::ResponseHeader(header) => match header {
            HeaderAction::Set(_, value)
            | HeaderAction::Add(_, value)
            | HeaderAction::Default(_, value) => Some(value),
            HeaderAction::Remove(_) => None,
        },
        Action::Query(QueryAction::Set(_, value) | QueryAction::Add(_, value)) => Some(value),
        Action::Query(_) | Action::Stop => None,
    }
}

/// The rule's edits when all its actions are `response header` edits whose
/// values are literal (or removals): what `Actions::apply_all` would build.
fn literal_edits(rule: &Rule, values: &[Option<HeaderValue>]) -> Option<Box<[HeaderEdit]>> {
    rule.actions
        .iter()
        .zip(values)
        .map(|(action, value)| {
            let Action::ResponseHeader(header) = action else {
                return None;
            };
            Some(match (header, value) {
                (HeaderAction::Remove(name), _) => HeaderEdit::Remove(name.clone()),
                (HeaderAction::Set(name, _), Some(value)) => {
                    HeaderEdit::Set(name.clone(), value.clone())
                }
                (HeaderAction::Add(name, _), Some(value)) => {
                    HeaderEdit::Add(name.clone(), value.clone())
                }
                (HeaderAction::Default(name, _), Some(value)) => {
                    HeaderEdit::Default(name.clone(), value.clone())
                }
                (_, None) => return None,
            })
        })
        .collect()
}

fn literal_value(action: &Action) -> Option<HeaderValue> {
    match action {
        Action::RequestHeader(
            HeaderAction::Set(_, value)
            | HeaderAction::Add(_, value)
            | HeaderAction::Default(_, value),
        )
        | Action::ResponseHeader(
            HeaderAction::Set(_, value)
            | HeaderAction::Add(_, value)
            | HeaderAction::Default(_, value),
        ) => HeaderValue::from_bytes(value.as_literal()?.as_bytes()).ok(),
        _ => None,
    }
}
