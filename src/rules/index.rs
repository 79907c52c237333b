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
}

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
        let (gated, ungated) = (0..plans.len()).partition(|&at| plans[at].path_gate.is_some());
        RuleIndex {
            path_set,
            plans,
            ungated,
            gated,
        }
    }

    /// The rules that can fire for this path, in file order: every ungated
    /// rule, and the gated ones whose regex matches. The path is run through
    /// the set once (`is_match` first: usually nothing matches, and that
    /// answer is cheaper than the list of matches).
    pub fn candidates(&self, path: &str) -> Candidates<'_> {
        let matched = match &self.path_set {
            Some(set) if set.is_match(path) => set.matches(path).into_iter().collect(),
            _ => Vec::new(),
        };
        Candidates {
            index: self,
            ungated: 0,
            matched,
            next_matched: 0,
        }
    }
}

/// The candidate rules of one request, ascending; see `RuleIndex::candidates`.
pub struct Candidates<'i> {
    index: &'i RuleIndex,
    ungated: usize,
    matched: Vec<usize>,
    next_matched: usize,
}

impl Iterator for Candidates<'_> {
    type Item = usize;

    fn next(&mut self) -> Option<usize> {
        let ungated = self.index.ungated.get(self.ungated).copied();
        let gated = self
            .matched
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
