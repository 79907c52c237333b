//! The analyzer and compiler: the AST checked as a whole (every fault
//! collected, not just the first) and turned into the `rules` types.

pub(crate) mod action;
pub(crate) mod condition;
pub(crate) mod field;
pub(crate) mod function;
pub(crate) mod regex;
pub(crate) mod settings;
pub(crate) mod template;

use crate::config::faults;
use std::collections::HashMap;

use super::ast::{File, RuleBlock, StatementKind};
use super::diagnostic::Diagnostic;
use super::span::Span;
use crate::rules::{Rule, RuleSet};
use condition::ConditionCompiler;

/// Compiles the file; `Err` carries every fault found.
pub(crate) fn compile(file: &File, source_hash: String) -> Result<RuleSet, Vec<Diagnostic>> {
    let mut out = Vec::new();
    let settings = settings::compile(&file.settings, &mut out);
    let mut names: HashMap<&str, Span> = HashMap::new();
    let mut rules = Vec::with_capacity(file.rules.len());
    let mut cache = regex::RegexCache::default();
    let mut calls = function::CallTable::default();
    for block in &file.rules {
        check_name(block, &mut names, &mut out);
        if let Some(rule) = compile_rule(block, &mut cache, &mut calls, &mut out) {
            rules.push(rule);
        }
    }
    if out.is_empty() {
        // The checked form only: the server builds the index
        // (`RuleSet::prepare`), so `validate` never pays for it.
        Ok(RuleSet::new(settings, rules, source_hash))
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

fn compile_rule(
    block: &RuleBlock,
    cache: &mut regex::RegexCache,
    calls: &mut function::CallTable,
    out: &mut Vec<Diagnostic>,
) -> Option<Rule> {
    let errors_before = out.len();
    let mut when: Option<Span> = None;
    let mut terminal: Option<Span> = None;
    let mut first_action: Option<Span> = None;
    let mut condition = None;
    let mut compiler_out = Vec::new();
    let mut compiler = ConditionCompiler::new(&mut compiler_out, cache, calls);
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
    let broken = compiler.broken;
    let scope = template::Scope {
        regexes: &regexes,
        broken,
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
        if let Some(action) = action::compile(&statement.kind, scope, calls, out) {
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
    })
}
