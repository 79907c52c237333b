//! The analyzer and compiler: the AST checked as a whole (every fault
//! collected, not just the first) and turned into the `rules` types.

pub mod action;
pub mod condition;
pub mod declarations;
pub mod field;
pub mod file_body;
pub mod function;
pub mod map_build;
pub mod regex;
pub mod settings;
pub mod template;

use std::collections::HashMap;
use std::path::Path;

use super::ast::{File, HeaderSide, RuleBlock, StatementKind};
use super::diagnostic::{Code, Diagnostic};
use super::faults::response as faults;
use super::sources::SourceMap;
use super::span::Span;
use crate::rules::{Phase, Rule, RuleSet};
use condition::ConditionCompiler;
use declarations::Declarations;

/// The map files the loader read: where each one's text sits in `sources`.
#[derive(Debug, Clone, Copy)]
pub struct MapFiles<'a> {
    /// Every file of the config.
    pub sources: &'a SourceMap,
    /// The start of a `map … from "FILE"` path literal → the file's base.
    pub bases: &'a HashMap<usize, usize>,
}

/// Compiles the config (every file already in `file`; file bodies read
/// from `dir`, and a fault when there is none); `Ok` carries the
/// rule set and the warnings found on the way (unused lists and maps),
/// `Err` every fault found.
pub fn compile(
    file: &File,
    source_hash: String,
    map_files: &MapFiles<'_>,
    dir: Option<&Path>,
) -> Result<(RuleSet, Vec<Diagnostic>), Vec<Diagnostic>> {
    let mut out = Vec::new();
    let settings = settings::compile(&file.settings, &mut out);
    let declarations = Declarations::build(file, map_files, &mut out);
    let mut names: HashMap<&str, Span> = HashMap::new();
    let mut rules = Vec::with_capacity(file.rules.len());
    let mut cache = regex::RegexCache::default();
    let mut calls = function::CallTable::default();
    for block in &file.rules {
        check_name(block, &mut names, &mut out);
        if let Some(rule) =
            compile_rule(block, &mut cache, &mut calls, &declarations, dir, &mut out)
        {
            rules.push(rule);
        }
    }
    if out.is_empty() {
        let warnings = declarations.unused();
        Ok((
            RuleSet {
                settings,
                rules,
                source_hash,
                // Built on first use (`RuleSet::index`), so `validate` never pays
                // for the evaluation index.
                index: Default::default(),
            },
            warnings,
        ))
    } else {
        Err(out)
    }
}

fn check_name<'a>(
    block: &'a RuleBlock,
    names: &mut HashMap<&'a str, Span>,
    out: &mut Vec<Diagnostic>,
) {
    let name = block.name.text.as_str();
    let valid = name.starts_with(|c: char| c.is_ascii_alphabetic())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if !valid {
        out.push(
            Diagnostic::error(
                Code::InvalidRuleName,
                format!("`{name}` is not a valid rule name"),
                block.name.span,
                "invalid name",
            )
            .with_help("a rule name starts with a letter and holds letters, digits, `-` and `_`, such as `force-https`"),
        );
        return;
    }
    if let Some(&first) = names.get(name) {
        out.push(
            Diagnostic::error(
                Code::DuplicateRule,
                format!("two rules are named `{name}`"),
                block.name.span,
                "defined again here",
            )
            .with_related(first, "first defined here")
            .with_help(
                "rule names are unique across all the files of the config; rename one of them",
            ),
        );
    } else {
        names.insert(name, block.name.span);
    }
}

/// The rule's phase from `on WORD`; `None` (reported) for an unknown word.
fn phase_of(block: &RuleBlock, out: &mut Vec<Diagnostic>) -> Option<Phase> {
    match block.phase.as_ref().map(|word| word.text.as_str()) {
        None | Some("request") => Some(Phase::Request),
        Some("response") => Some(Phase::Response),
        Some(other) => {
            let span = block.phase.as_ref().map_or(block.name.span, |w| w.span);
            out.push(faults::unknown_phase(other, span));
            None
        }
    }
}

/// A request action in a response rule: what to call it in the message.
fn request_action(kind: &StatementKind) -> Option<&'static str> {
    match kind {
        StatementKind::Rewrite { .. } => Some("rewrite"),
        StatementKind::Query(_) => Some("query"),
        StatementKind::Header {
            side: HeaderSide::Request,
            ..
        } => Some("request header"),
        _ => None,
    }
}

fn compile_rule(
    block: &RuleBlock,
    cache: &mut regex::RegexCache,
    calls: &mut function::CallTable,
    declarations: &Declarations,
    dir: Option<&Path>,
    out: &mut Vec<Diagnostic>,
) -> Option<Rule> {
    let errors_before = out.len();
    let phase = phase_of(block, out);
    let mut when: Option<Span> = None;
    let mut terminal: Option<Span> = None;
    let mut first_action: Option<Span> = None;
    let mut condition = None;
    let mut compiler_out = Vec::new();
    let mut compiler = ConditionCompiler::new(&mut compiler_out, cache, declarations, calls);
    // An unknown phase is reported; the rest is checked as a response rule's
    // so that its fields are not reported a second time.
    compiler.phase = phase.unwrap_or(Phase::Response);
    compiler.rule = block.name.text.clone();
    for statement in &block.statements {
        let StatementKind::When(expr) = &statement.kind else {
            continue;
        };
        if let Some(first) = when {
            out.push(
                Diagnostic::error(
                    Code::DuplicateWhen,
                    "a rule has at most one `when`",
                    statement.keyword,
                    "second `when`",
                )
                .with_related(first, "first `when`")
                .with_help("combine the conditions with `and` or `or` in one `when`"),
            );
            continue;
        }
        when = Some(statement.keyword);
        condition = compiler.compile(expr);
    }
    let slots = compiler.slots();
    let regexes = std::mem::take(&mut compiler.regexes);
    let bindings = std::mem::take(&mut compiler.bindings);
    let broken = compiler.broken;
    let scope = template::Scope {
        regexes: &regexes,
        broken,
        bindings: &bindings,
        declarations,
        phase: phase.unwrap_or(Phase::Response),
        rule: &block.name.text,
    };
    out.append(&mut compiler_out);

    let mut actions = Vec::new();
    for statement in &block.statements {
        if let StatementKind::When(_) = statement.kind {
            if let (Some(action), Some(first_when)) = (first_action, when)
                && first_when == statement.keyword
            {
                out.push(
                    Diagnostic::error(
                        Code::WhenNotFirst,
                        "`when` must come before the actions",
                        statement.keyword,
                        "`when` after an action",
                    )
                    .with_related(action, "first action")
                    .with_help("move the `when` line to the top of the rule"),
                );
            }
            continue;
        }
        first_action.get_or_insert(statement.keyword);
        if let Some(end) = terminal {
            let (code, message) = if statement.kind.ends_rule() {
                (
                    Code::DuplicateTerminal,
                    "a rule has at most one `redirect`, `respond` or `stop`",
                )
            } else {
                (
                    Code::ActionAfterTerminal,
                    "an action after `redirect`, `respond` or `stop` never runs",
                )
            };
            out.push(
                Diagnostic::error(code, message, statement.keyword, "after the terminal action")
                    .with_related(end, "evaluation ends here")
                    .with_help("`redirect`, `respond` and `stop` end the rule: put other actions before them, or move this one to a rule of its own"),
            );
        } else if statement.kind.ends_rule() {
            terminal = Some(statement.keyword);
        }
        if phase == Some(Phase::Response)
            && let Some(name) = request_action(&statement.kind)
        {
            let on = block.phase.as_ref().map_or(block.name.span, |w| w.span);
            out.push(faults::request_action_in_response_rule(
                name,
                statement.keyword.to(statement.span),
                on,
            ));
            continue;
        }
        if let Some(action) = action::compile(&statement.kind, scope, calls, dir, out) {
            actions.push(action);
        }
    }
    if first_action.is_none() {
        out.push(
            Diagnostic::error(
                Code::NoAction,
                format!("rule `{}` has no action", block.name.text),
                block.name.span,
                "does nothing",
            )
            .with_help(
                "add an action such as `redirect`, `respond`, `rewrite`, `query remove` or `response header set`",
            ),
        );
    }
    if out.len() > errors_before {
        return None;
    }
    Some(Rule {
        name: block.name.text.clone(),
        condition,
        actions,
        regex_slots: slots,
        phase: phase?,
    })
}
