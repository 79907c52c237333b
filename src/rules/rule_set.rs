//! The compiled rule set in its two forms: `RuleSet`, the checked form that
//! `config` produces and `validate` stops at, and `ServedRules`, the same
//! rules with their evaluation index built, which is what the server swaps
//! in and every request runs. The index exists exactly when the served form
//! does, so nothing is built or rebuilt on the serving path, and `validate`
//! never pays for it.

use std::ops::Deref;

use super::action::Action;
use super::condition::Condition;
use super::index::RuleIndex;
use super::settings::Settings;

/// Everything `proxy.conf` says, checked and typed: what `validate` and
/// `check` need. Read-only once built; its fields are the crate's own.
/// (Cloned only when `validate` runs the config's tests, which need the
/// served form; a clone shares the compiled regexes.)
#[derive(Debug, Clone)]
pub struct RuleSet {
    /// The settings block (defaults where absent).
    pub(crate) settings: Settings,
    /// The rules, in file order.
    pub(crate) rules: Vec<Rule>,
    /// Hex SHA-256 of the `proxy.conf` bytes it was compiled from (of the empty
    /// string when there was no file), so `reload` can confirm what is served.
    pub(crate) source_hash: String,
}

impl RuleSet {
    /// The one way to make a rule set: `config::compile` calls it with what it
    /// checked; tests and benchmarks with rules of their own.
    pub fn new(settings: Settings, rules: Vec<Rule>, source_hash: String) -> Self {
        RuleSet {
            settings,
            rules,
            source_hash,
        }
    }

    /// The rules, in file order.
    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }

    /// Builds the evaluation index (tens of milliseconds for 1,000 regex
    /// rules): the server does it before swapping the rules in, off the
    /// serving threads, so no request ever pays for it.
    pub fn prepare(self) -> ServedRules {
        let index = RuleIndex::build(&self.rules);
        let json_names = self
            .rules
            .iter()
            .map(|rule| {
                // A string always serializes; an empty name stays valid JSON.
                serde_json::to_vec(&rule.name)
                    .unwrap_or_else(|_| b"\"\"".to_vec())
                    .into_boxed_slice()
            })
            .collect();
        ServedRules {
            rule_set: self,
            index,
            json_names,
        }
    }
}

/// A rule set ready to serve: the checked rules and their index, built
/// together and never changed, shared read-only by every request.
#[derive(Debug)]
pub struct ServedRules {
    rule_set: RuleSet,
    index: RuleIndex,
    /// Each rule's name as a JSON string, quotes and escapes included.
    json_names: Box<[Box<[u8]>]>,
}

impl ServedRules {
    /// What evaluation prepared once for these rules.
    pub(crate) fn index(&self) -> &RuleIndex {
        &self.index
    }

    /// The rule at `at`'s name as a JSON string (quoted and escaped once
    /// per rule set: the access log copies it into every line its rule
    /// fired in).
    pub(crate) fn json_name(&self, at: usize) -> Option<&[u8]> {
        self.json_names.get(at).map(|name| &name[..])
    }
}

impl Deref for ServedRules {
    type Target = RuleSet;

    /// The served form reads as the checked form it was built from.
    fn deref(&self) -> &RuleSet {
        &self.rule_set
    }
}

/// One compiled rule.
#[derive(Debug, Clone)]
pub struct Rule {
    /// The rule's name, for logs and `explain`.
    pub name: String,
    /// `None` when the rule has no `when` line and fires for every request.
    pub condition: Option<Condition>,
    /// The actions in order; a terminal action, if any, is last.
    pub actions: Vec<Action>,
    /// How many `~` regexes the condition holds (the capture slots).
    pub regex_slots: usize,
    /// When the rule runs: on the request (the default) or on the response.
    pub phase: Phase,
}

/// The two phases of section 12.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum Phase {
    /// When the request arrives (every rule without `on response`).
    #[default]
    Request,
    /// When the response is known (`rule NAME on response { … }`).
    Response,
}
