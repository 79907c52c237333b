//! The compiled, immutable rule set that the data plane runs and a reload swaps.

use super::action::Action;
use super::condition::Condition;
use super::index::IndexCell;
use super::settings::Settings;

/// Everything `proxy.conf` says, ready to run: shared read-only by every request.
///
/// Treat it as immutable once evaluated: its index is built from `rules` on
/// first use (see `RuleSet::index`).
#[derive(Debug, Clone, Default)]
pub struct RuleSet {
    /// The settings block (defaults where absent).
    pub settings: Settings,
    /// The rules, in file order.
    pub rules: Vec<Rule>,
    /// Hex SHA-256 of the `proxy.conf` bytes it was compiled from (of the empty
    /// string when there was no file), so `reload` can confirm what is served.
    pub source_hash: String,
    /// What evaluation prepares once per rule set (built lazily; construct
    /// with `RuleSet::new` or `..RuleSet::default()`).
    pub index: IndexCell,
}

impl RuleSet {
    /// A rule set with its index built, so no request pays for building it.
    pub fn new(settings: Settings, rules: Vec<Rule>, source_hash: String) -> Self {
        let rule_set = RuleSet {
            settings,
            rules,
            source_hash,
            index: IndexCell::default(),
        };
        rule_set.index();
        rule_set
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
