//! The warnings `check` shows (never `validate`): rules that can never fire,
//! and redirects that would send the client back into their own rule.

use super::ast::{File, StatementKind};
use super::diagnostic::Diagnostic;
use crate::config::faults;
use crate::rules::{Action, Condition, Field, Rule, RuleSet, Template, TemplatePart, TestOp};

/// Every warning for a file that compiled; `file` and `rule_set` list the same rules.
pub(crate) fn warnings(file: &File, rule_set: &RuleSet) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    unreachable_rules(file, rule_set, &mut out);
    redirect_loops(file, rule_set, &mut out);
    out
}

fn unreachable_rules(file: &File, rule_set: &RuleSet, out: &mut Vec<Diagnostic>) {
    let blocking = rule_set.rules.iter().position(|rule| {
        rule.condition.is_none() && rule.actions.last().is_some_and(Action::is_terminal)
    });
    let Some(blocking) = blocking else {
        return;
    };
    let blocker = &file.rules[blocking].name;
    for later in file.rules.iter().skip(blocking + 1) {
        out.push(faults::rules::unreachable(
            &later.name.text,
            later.name.span,
            &blocker.text,
            blocker.span,
        ));
    }
}

fn redirect_loops(file: &File, rule_set: &RuleSet, out: &mut Vec<Diagnostic>) {
    for (block, rule) in file.rules.iter().zip(&rule_set.rules) {
        let Some((status, target)) = rule.actions.iter().find_map(|action| match action {
            Action::Redirect { status, target } => Some((status.as_u16(), target)),
            _ => None,
        }) else {
            continue;
        };
        let Some(facts) = TargetFacts::of(target, status) else {
            continue;
        };
        if !loops(rule, &facts) {
            continue;
        }
        let target_span = block.statements.iter().find_map(|s| match &s.kind {
            StatementKind::Redirect { target, .. } => Some(target.span),
            _ => None,
        });
        let when_span = block.statements.iter().find_map(|s| match s.kind {
            StatementKind::When(_) => Some(s.span),
            _ => None,
        });
        let Some(target_span) = target_span else {
            continue;
        };
        out.push(faults::rules::redirect_loop(
            &block.name.text,
            target_span,
            when_span,
        ));
    }
}

/// What is known of one field of the request the redirect leads to.
#[derive(Debug, Clone, PartialEq)]
enum Fact {
    /// Exactly this text.
    Known(String),
    /// Whatever the original request had (a condition on it held then).
    Preserved,
    /// Cannot tell.
    Unknown,
}

/// The follow-up request, as far as a redirect target reveals it.
struct TargetFacts {
    scheme: Fact,
    host: Fact,
    path: Fact,
    query: Fact,
    method: Fact,
}

impl TargetFacts {
    fn of(target: &Template, status: u16) -> Option<Self> {
        let (prefix, whole) = match target.parts.as_slice() {
            [] => (String::new(), true),
            [TemplatePart::Literal(text)] => (text.clone(), true),
            [TemplatePart::Literal(text), ..] => (text.clone(), false),
            _ => return None,
        };
        let method = if matches!(status, 307 | 308) {
            Fact::Preserved
        } else {
            Fact::Unknown
        };
        let (scheme, host, rest) = if let Some((scheme, after)) =
            ["https://", "http://"].iter().find_map(|s| {
                prefix
                    .strip_prefix(s)
                    .map(|after| (s.trim_end_matches("://"), after))
            }) {
            let end = after.find(['/', '?']);
            let host = match end {
                Some(end) => Fact::Known(strip_port(&after[..end]).to_lowercase()),
                None if whole => Fact::Known(strip_port(after).to_lowercase()),
                None => Fact::Unknown,
            };
            let rest = end.map_or("", |end| &after[end..]);
            (Fact::Known(scheme.to_owned()), host, rest.to_owned())
        } else if prefix.starts_with('/') && !prefix.starts_with("//") {
            (Fact::Preserved, Fact::Preserved, prefix.clone())
        } else {
            return None;
        };
        let (path, query) = match rest.split_once('?') {
            Some((path, query)) => (
                Fact::Known(path.to_owned()),
                if whole {
                    Fact::Known(query.to_owned())
                } else {
                    Fact::Unknown
                },
            ),
            None if whole => (
                Fact::Known(if rest.is_empty() {
                    "/".to_owned()
                } else {
                    rest
                }),
                Fact::Preserved,
            ),
            None => (Fact::Unknown, Fact::Unknown),
        };
        Some(TargetFacts {
            scheme,
            host,
            path,
            query,
            method,
        })
    }

    fn fact(&self, field: &Field) -> Fact {
        match field {
            Field::Scheme => self.scheme.clone(),
            Field::Host => self.host.clone(),
            Field::Path => self.path.clone(),
            Field::Query => self.query.clone(),
            Field::Method => self.method.clone(),
            Field::Uri => match (&self.path, &self.query) {
                (Fact::Known(path), Fact::Known(query)) if query.is_empty() => {
                    Fact::Known(path.clone())
                }
                (Fact::Known(path), Fact::Known(query)) => Fact::Known(format!("{path}?{query}")),
                _ => Fact::Unknown,
            },
            Field::ClientIp | Field::Header(_) | Field::Cookie(_) => Fact::Preserved,
            Field::Arg(_) if self.query == Fact::Preserved => Fact::Preserved,
            Field::Arg(_) => Fact::Unknown,
        }
    }
}

fn strip_port(authority: &str) -> &str {
    match authority.rsplit_once(':') {
        Some((host, port)) if !host.is_empty() && port.bytes().all(|b| b.is_ascii_digit()) => host,
        _ => authority,
    }
}

/// Whether the rule certainly fires again for the redirect's target.
fn loops(rule: &Rule, facts: &TargetFacts) -> bool {
    match &rule.condition {
        None => true,
        Some(condition) => holds(condition, facts, true) == Some(true),
    }
}

/// Three-valued evaluation; `conjunct` is true for the top-level `and` members,
/// which held for the original request, so a preserved field keeps them true.
fn holds(condition: &Condition, facts: &TargetFacts, conjunct: bool) -> Option<bool> {
    match condition {
        Condition::All(members) => {
            let results: Vec<Option<bool>> =
                members.iter().map(|m| holds(m, facts, conjunct)).collect();
            if results.contains(&Some(false)) {
                Some(false)
            } else if results.iter().all(|r| *r == Some(true)) {
                Some(true)
            } else {
                None
            }
        }
        Condition::Any(members) => {
            let results: Vec<Option<bool>> =
                members.iter().map(|m| holds(m, facts, false)).collect();
            if results.contains(&Some(true)) {
                Some(true)
            } else if results.iter().all(|r| *r == Some(false)) {
                Some(false)
            } else {
                None
            }
        }
        Condition::Not(inner) => holds(inner, facts, false).map(|b| !b),
        Condition::Exists(field) => match facts.fact(field) {
            Fact::Preserved if conjunct => Some(true),
            _ => None,
        },
        Condition::Test(test) => match facts.fact(&test.field) {
            Fact::Known(value) => known_test(&test.op, &value),
            Fact::Preserved if conjunct => Some(true),
            _ => None,
        },
    }
}

fn known_test(op: &TestOp, value: &str) -> Option<bool> {
    Some(match op {
        TestOp::Equals(text) => value == text,
        TestOp::NotEquals(text) => value != text,
        TestOp::Matches { regex, .. } => regex.get()?.is_match(value),
        TestOp::NotMatches(regex) => !regex.get()?.is_match(value),
        TestOp::StartsWith(text) => value.starts_with(text.as_str()),
        TestOp::EndsWith(text) => value.ends_with(text.as_str()),
        TestOp::Contains(text) => value.contains(text.as_str()),
        TestOp::In(set) => set.strings.iter().any(|s| s == value),
        TestOp::NotIn(set) => !set.strings.iter().any(|s| s == value),
    })
}
