//! The compiled rule set and its evaluation: it never sees the AST, only the
//! checked, typed form that `config` produces.

pub(crate) mod action;
pub(crate) mod candidates;
pub(crate) mod condition;
pub(crate) mod decision;
pub(crate) mod evaluate;
pub(crate) mod expand;
pub(crate) mod field;
pub(crate) mod index;
pub(crate) mod matcher;
pub mod normalize;
pub(crate) mod request;
pub(crate) mod rule_regex;
pub(crate) mod rule_set;
pub(crate) mod settings;
pub(crate) mod template;
pub(crate) mod trace;

pub use action::{Action, HeaderAction};
pub use condition::{Condition, Field, Test, TestOp, ValueSet};
pub use decision::{Decision, HeaderEdit, Outcome, apply_edits};
pub use evaluate::{evaluate, evaluate_traced};
pub use index::RuleIndex;
pub use request::{RequestFacts, Scheme, TargetError};
pub use rule_regex::RuleRegex;
pub use rule_set::{Rule, RuleSet, ServedRules};
pub use settings::{AccessLogFormat, Settings};
pub use template::{CaptureRef, Template, TemplatePart};
pub use trace::{RuleStatus, RuleTrace, Trace};
