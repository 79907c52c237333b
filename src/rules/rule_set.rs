//! The compiled, immutable rule set that the data plane runs and a reload swaps.

use super::action::Action;
use super::condition::Condition;
use super::settings::Settings;

/// Everything `proxy.conf` says, ready to run: shared read-only by every request.
#[derive(Debug, Clone, Default)]
pub struct RuleSet {
    /// The settings block (defaults where absent).
    pub settings: Settings,
    /// The rules, in file order.
    pub rules: Vec<Rule>,
    /// Hex SHA-256 of the `proxy.conf` bytes it was compiled from (of the empty
    /// string when there was no file), so `reload` can confirm what is served.
    pub source_hash: String,
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
}
