//! The compiled rule set and its evaluation: it never sees the AST, only the
//! checked, typed form that `config` produces.

pub mod action;
pub mod candidates;
pub mod condition;
pub mod decision;
pub mod evaluate;
pub mod exchange;
pub mod expand;
pub mod field;
pub mod function;
pub mod index;
pub mod map;
pub mod matcher;
pub mod normalize;
pub mod query_edit;
pub mod request;
pub mod request_reads;
pub mod response_gate;
pub mod rule_regex;
pub mod rule_set;
pub mod settings;
pub mod template;
pub mod trace;

pub use action::{Action, FileBody, HeaderAction};
pub use condition::{Condition, Field, HeaderField, Ordering, Test, TestOp, ValueSet};
pub use decision::{
    Decision, HeaderEdit, Outcome, ResponseDecision, TEXT_PLAIN, apply_edits, apply_owned_edits,
};
pub use evaluate::{PhaseLists, evaluate, evaluate_response, evaluate_traced};
pub use exchange::{ClientResponse, Exchange, UpstreamAnswer, simulate, simulate_traced};
pub use field::ResponseFacts;
pub use function::{Call, Function, MAX_EXPANSION};
pub use index::RuleIndex;
pub use map::Map;
pub use query_edit::{NamePattern, QueryAction, QueryName};
pub use request::{RequestFacts, Scheme, TargetError};
pub use rule_regex::RuleRegex;
pub use rule_set::{Phase, Rule, RuleSet, ServedRules};
pub use settings::{AccessLogFormat, Settings};
pub use template::{CaptureRef, Template, TemplatePart};
pub use trace::{RuleStatus, RuleTrace, Trace};
