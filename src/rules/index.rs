//! The rule index: what evaluation needs to know about each rule that can be
//! worked out once per rule set instead of once per request — which path regex
//! gates a rule (all such regexes are run together as one `RegexSet`), which
//! capture slots its templates read, and its literal header values pre-built.
//!
//! The index never changes the result: a rule is skipped only when a regex its
//! condition requires (`path ~ re`, alone or as a member of the top-level
//! `and`) does not match the path, and then that rule could not have fired.

use std::sync::OnceLock;

use http::HeaderValue;
use regex::{RegexSet, RegexSetBuilder};

use super::action::{Action, HeaderAction};
use super::condition::{Condition, Field, Test, TestOp};
use super::rule_set::{Rule, RuleSet};
use super::template::{Template, TemplatePart};

/// Compiled-program size limit of the combined path `RegexSet` (its regexes
/// each compiled alone already; together they need more room than one).
const SET_SIZE_LIMIT: usize = 256 * 1024 * 1024;
/// Per-thread lazy-DFA cache of the path `RegexSet`: large enough that a
/// thousand patterns do not keep clearing it.
const SET_DFA_LIMIT: usize = 32 * 1024 * 1024;

/// Everything about a rule set that evaluation prepares once.
#[derive(Debug, Clone)]
pub struct RuleIndex {
    /// All gating path regexes, in rule order; `None` when no rule has one,
    /// or when the set could not be built (then every rule is evaluated).
    pub path_set: Option<RegexSet>,
    /// One plan per rule, by index.
    pub plans: Vec<RulePlan>,
    /// The rules without a gate, in order: always evaluated.
    pub ungated: Vec<usize>,
    /// For each pattern of `path_set`, the rule it gates (ascending).
    pub gated: Vec<usize>,
    /// Capacities that let a typical decision be built without growing its
    /// vectors: fired rules, request and response header edits.
    pub capacity: DecisionCapacity,
}

/// How large the vectors of a `Decision` start (the counts of the ungated
/// rules and of their header actions, capped).
#[derive(Debug, Clone, Copy, Default)]
pub struct DecisionCapacity {
    /// For `Decision::fired`.
    pub fired: usize,
    /// For `Decision::request_headers`.
    pub request_headers: usize,
    /// For `Decision::response_headers`.
    pub response_headers: usize,
}

/// No decision starts with room for more than this many entries per vector.
const CAPACITY_CAP: usize = 32;

/// What is prepared for one rule.
#[derive(Debug, Clone)]
pub struct RulePlan {
    /// The path regex that must match for the rule to fire.
    pub path_gate: Option<PathGate>,
    /// For each capture slot of the rule, whether a template reads it (only
    /// those regexes run with capture positions; the rest use `is_match`).
    pub capture_slots: Vec<bool>,
    /// Per action: the header value when the action's template is literal.
    pub literal_values: Vec<Option<HeaderValue>>,
}

/// A rule's gating regex: its pattern number in `RuleIndex::path_set`, and
/// where the test sits in the condition (for `explain`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PathGate {
    /// The pattern's number in the set.
    pub pattern: usize,
    /// `None` when the whole condition is the test, else its position in the
    /// top-level `All`.
    pub member: Option<usize>,
}

impl PathGate {
    /// The gating test inside the rule's condition.
    pub fn test<'r>(&self, condition: &'r Condition) -> Option<&'r Test> {
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

/// A cell for the index inside `RuleSet`, filled on first use. Cloning a rule
/// set gives an empty cell, so a clone whose rules are then changed never
/// runs with a stale index.
#[derive(Debug, Default)]
pub struct IndexCell(OnceLock<RuleIndex>);

impl Clone for IndexCell {
    fn clone(&self) -> Self {
        IndexCell::default()
    }
}

impl IndexCell {
    /// The index, built from `rules` on the first call.
    pub fn get_or_build(&self, rules: &[Rule]) -> &RuleIndex {
        self.0.get_or_init(|| RuleIndex::build(rules))
    }
}

impl RuleIndex {
    /// Prepares a rule list.
    pub fn build(rules: &[Rule]) -> Self {
        let mut patterns: Vec<&str> = Vec::new();
        let mut plans: Vec<RulePlan> = rules
            .iter()
            .map(|rule| {
                let path_gate = rule
                    .condition
                    .as_ref()
                    .and_then(gate_of)
                    .map(|(regex, member)| {
                        patterns.push(regex);
                        PathGate {
                            pattern: patterns.len() - 1,
                            member,
                        }
                    });
                RulePlan {
                    path_gate,
                    capture_slots: capture_slots(rule),
                    literal_values: rule.actions.iter().map(literal_value).collect(),
                }
            })
            .collect();
        let path_set = if patterns.is_empty() {
            None
        } else {
            RegexSetBuilder::new(&patterns)
                .size_limit(SET_SIZE_LIMIT)
                .dfa_size_limit(SET_DFA_LIMIT)
                .build()
                .ok()
        };
        if path_set.is_none() {
            for plan in &mut plans {
                plan.path_gate = None;
            }
        }
        let (gated, ungated): (Vec<usize>, Vec<usize>) =
            (0..plans.len()).partition(|&at| plans[at].path_gate.is_some());
        let mut capacity = DecisionCapacity {
            fired: ungated.len().min(CAPACITY_CAP),
            ..DecisionCapacity::default()
        };
        for action in ungated
            .iter()
            .filter_map(|&at| rules.get(at))
            .flat_map(|rule| &rule.actions)
        {
            match action {
                Action::RequestHeader(_) => capacity.request_headers += 1,
                Action::ResponseHeader(_) => capacity.response_headers += 1,
                _ => {}
            }
        }
        capacity.request_headers = capacity.request_headers.min(CAPACITY_CAP);
        capacity.response_headers = capacity.response_headers.min(CAPACITY_CAP);
        RuleIndex {
            path_set,
            plans,
            ungated,
            gated,
            capacity,
        }
    }

    /// The same preparation without the path set, so every rule is visited
    /// (the reference that tests compare the index against).
    #[cfg(test)]
    pub fn build_unindexed(rules: &[Rule]) -> Self {
        let mut index = RuleIndex::build(rules);
        index.path_set = None;
        for plan in &mut index.plans {
            plan.path_gate = None;
        }
        index.gated.clear();
        index.ungated = (0..rules.len()).collect();
        index
    }

    /// The rules that can fire for this path, in file order: every ungated
    /// rule, and the gated ones whose regex matches. The path runs through
    /// the set once, when the first gated rule is reached (`is_match` first:
    /// usually nothing matches, and that answer is cheaper than the list).
    pub fn candidates<'p>(&'p self, path: &'p str) -> Candidates<'p> {
        Candidates {
            index: self,
            path,
            ungated: 0,
            matched: None,
            next_matched: 0,
        }
    }

    fn matching_patterns(&self, path: &str) -> Vec<usize> {
        match &self.path_set {
            Some(set) if set.is_match(path) => set.matches(path).into_iter().collect(),
            _ => Vec::new(),
        }
    }
}

/// The candidate rules of one request, ascending; see `RuleIndex::candidates`.
pub struct Candidates<'p> {
    index: &'p RuleIndex,
    path: &'p str,
    ungated: usize,
    matched: Option<Vec<usize>>,
    next_matched: usize,
}

impl Candidates<'_> {
    /// Whether the path set has not run yet (for tests).
    #[cfg(test)]
    pub fn is_set_pending(&self) -> bool {
        self.matched.is_none()
    }
}

impl Iterator for Candidates<'_> {
    type Item = usize;

    fn next(&mut self) -> Option<usize> {
        let ungated = self.index.ungated.get(self.ungated).copied();
        let first_gated = self.index.gated.first().copied();
        let gated_reached = match (first_gated, ungated) {
            (Some(gated), Some(ungated)) => gated < ungated,
            (Some(_), None) => true,
            (None, _) => false,
        };
        if ungated.is_some() && !gated_reached && self.matched.is_none() {
            self.ungated += 1;
            return ungated;
        }
        let (index, path) = (self.index, self.path);
        let matched = self
            .matched
            .get_or_insert_with(|| index.matching_patterns(path));
        let gated = matched
            .get(self.next_matched)
            .and_then(|&pattern| self.index.gated.get(pattern).copied());
        match (ungated, gated) {
            (Some(a), Some(b)) if a < b => {
                self.ungated += 1;
                Some(a)
            }
            (_, Some(b)) => {
                self.next_matched += 1;
                Some(b)
            }
            (Some(a), None) => {
                self.ungated += 1;
                Some(a)
            }
            (None, None) => None,
        }
    }
}

impl RuleSet {
    /// The rule set's index, built on the first call. The server should call
    /// it once after compiling and before swapping the rule set in, so that no
    /// request pays for building it.
    pub fn index(&self) -> &RuleIndex {
        self.index.get_or_build(&self.rules)
    }
}

/// The `path ~ re` test that the whole condition requires, if any.
fn gate_of(condition: &Condition) -> Option<(&str, Option<usize>)> {
    fn path_regex(leaf: &Condition) -> Option<&str> {
        match leaf {
            Condition::Test(Test {
                field: Field::Path,
                op: TestOp::Matches { regex, .. },
            }) => Some(regex.as_str()),
            _ => None,
        }
    }
    match condition {
        Condition::All(members) => members
            .iter()
            .enumerate()
            .find_map(|(at, member)| path_regex(member).map(|regex| (regex, Some(at)))),
        leaf => path_regex(leaf).map(|regex| (regex, None)),
    }
}

fn capture_slots(rule: &Rule) -> Vec<bool> {
    let mut slots = vec![false; rule.regex_slots];
    for template in rule.actions.iter().filter_map(template_of) {
        for part in &template.parts {
            if let TemplatePart::Capture(capture) = part
                && let Some(slot) = slots.get_mut(capture.slot)
            {
                *slot = true;
            }
        }
    }
    slots
}

fn template_of(action: &Action) -> Option<&Template> {
    match action {
        Action::Redirect { target, .. } | Action::Rewrite { target } => Some(target),
        Action::Respond { body, .. } => Some(body),
        Action::RequestHeader(header) | Action::ResponseHeader(header) => match header {
            HeaderAction::Set(_, value) | HeaderAction::Add(_, value) => Some(value),
            HeaderAction::Remove(_) => None,
        },
    }
}

fn literal_value(action: &Action) -> Option<HeaderValue> {
    match action {
        Action::RequestHeader(HeaderAction::Set(_, value) | HeaderAction::Add(_, value))
        | Action::ResponseHeader(HeaderAction::Set(_, value) | HeaderAction::Add(_, value)) => {
            HeaderValue::from_bytes(value.as_literal()?.as_bytes()).ok()
        }
        _ => None,
    }
}
