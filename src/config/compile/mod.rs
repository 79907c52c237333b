//! The analyzer and compiler: the AST checked as a whole (every fault
//! collected, not just the first) and turned into the `rules` types.

pub(crate) mod action;
pub(crate) mod condition;
pub(crate) mod declarations;
pub(crate) mod field;
pub(crate) mod file_body;
pub(crate) mod function;
pub mod map_build;
pub(crate) mod regex;
pub(crate) mod settings;
pub(crate) mod template;

use crate::config::faults;
use std::collections::HashMap;
use std::path::Path;

use super::ast::{File, HeaderSide, RuleBlock, StatementKind};
use super::diagnostic::Diagnostic;
use super::faults::response as response_faults;
use super::sources::SourceMap;
use super::span::Span;
use crate::rules::{Phase, Rule, RuleSet};
use condition::ConditionCompiler;
use declarations::Declarations;

/// The map files the loader read: where each one's text sits in `sources`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct MapFiles<'a> {
    /// Every file of the config.
    pub(crate) sources: &'a SourceMap,
    /// The start of a `map … from "FILE"` path literal → the file's base.
    pub(crate) bases: &'a HashMap<usize, usize>,
}

/// Compiles the config (every file already in `file`; file bodies read
/// from `dir`, and a fault when there is none); `Ok` carries the
/// rule set and the warnings found on the way (unused lists and maps),
/// `Err` every fault found.
pub(crate) fn compile(
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
    let mut cache = regex::RegexCache::prechecked(file);
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
        // The checked form only: the server builds the index
        // (`RuleSet::prepare`), so `validate` never pays for it.
        Ok((RuleSet::new(settings, rules, source_hash), warnings))
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
        out.push(faults::rules::invalid_name(name, block.name.span));
        return;
    }
    if let Some(&first) = names.get(name) {
        out.push(faults::rules::duplicate(name, block.name.span, first));
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
            out.push(response_faults::unknown_phase(other, span));
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
            out.push(faults::rules::duplicate_when(statement.keyword, first));
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
                out.push(faults::rules::when_not_first(statement.keyword, action));
            }
            continue;
        }
        first_action.get_or_insert(statement.keyword);
        if let Some(end) = terminal {
            out.push(faults::rules::after_terminal(
                statement.kind.ends_rule(),
                statement.keyword,
                end,
            ));
        } else if statement.kind.ends_rule() {
            terminal = Some(statement.keyword);
        }
        if phase == Some(Phase::Response)
            && let Some(name) = request_action(&statement.kind)
        {
            let on = block.phase.as_ref().map_or(block.name.span, |w| w.span);
            out.push(response_faults::request_action_in_response_rule(
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
        out.push(faults::rules::no_action(&block.name.text, block.name.span));
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
