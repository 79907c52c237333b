//! The warnings `check` shows (never `validate`): rules that can never fire,
//! redirects that would send the client back into their own rule, methods
//! compared in lower case, and other proxies' variables left as text.

use super::ast::{Expr, File, Operator, StatementKind, Value};
use super::diagnostic::{Code, Diagnostic};
use super::faults::strings as faults;
use super::sources::SourceMap;
use super::string_literal::StringLiteral;
use crate::rules::{
    Action, Condition, Field, Phase, Rule, RuleSet, Template, TemplatePart, TestOp,
};

/// Every warning for a config that compiled; `file` and `rule_set` list the
/// same rules; `sources` holds its files (for map files' records).
pub fn warnings(file: &File, rule_set: &RuleSet, sources: &SourceMap) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    unreachable_rules(file, rule_set, &mut out);
    redirect_loops(file, rule_set, &mut out);
    for block in &file.rules {
        for statement in &block.statements {
            match &statement.kind {
                StatementKind::When(expr) => method_case(expr, &mut out),
                StatementKind::Redirect { target, .. } | StatementKind::Rewrite { target } => {
                    foreign_variables(target, &mut out);
                }
                StatementKind::Respond {
                    body: Some(value), ..
                }
                | StatementKind::Header {
                    value: Some(value), ..
                } => foreign_variables(value, &mut out),
                _ => {}
            }
        }
    }
    out.extend(super::map_chains::warnings(file, rule_set, sources));
    out
}

/// `method == "post"`: methods are case-sensitive, clients send upper case.
fn method_case(expr: &Expr, out: &mut Vec<Diagnostic>) {
    match expr {
        Expr::Or(members, _) | Expr::And(members, _) => {
            for member in members {
                method_case(member, out);
            }
        }
        Expr::Not(inner, _) => method_case(inner, out),
        Expr::Exists(..) => {}
        Expr::Test(test) => {
            let plain_method = test.field.name.text == "method" && test.field.calls.is_empty();
            let exact = matches!(
                test.op.0,
                Operator::Eq | Operator::Ne | Operator::In | Operator::NotIn
            );
            if !plain_method || !exact {
                return;
            }
            let literals: &[StringLiteral] = match &test.value {
                Value::Single(literal) => std::slice::from_ref(literal),
                Value::List(items, _) => items,
                // A declared list is checked where it is declared, not here.
                Value::Reference(_) => return,
                Value::Number(_) | Value::Numbers { .. } => &[],
            };
            for literal in literals {
                if literal.value.bytes().any(|b| b.is_ascii_lowercase()) {
                    out.push(faults::method_case(&literal.value, literal.span));
                }
            }
        }
    }
}

/// `$request_uri`, `$host`, `:splat` in a template: nginx's and Netlify's
/// variables are plain text here.
fn foreign_variables(literal: &StringLiteral, out: &mut Vec<Diagnostic>) {
    let text = literal.value.as_bytes();
    let mut at = 0;
    while at < text.len() {
        let sigil = text[at];
        if !matches!(sigil, b'$' | b':')
            || text.get(at + 1).is_none_or(|b| !b.is_ascii_alphabetic())
        {
            at += 1;
            continue;
        }
        let end = text[at + 1..]
            .iter()
            .position(|b| !(b.is_ascii_alphanumeric() || *b == b'_'))
            .map_or(text.len(), |n| at + 1 + n);
        let written = &literal.value[at..end];
        let known = if sigil == b'$' {
            faults::foreign_name(written).or_else(|| {
                let name = &written[1..];
                matches!(name, "host" | "uri" | "scheme" | "request_method" | "args")
                    .then(|| format!("`{{{}}}`", if name == "args" { "query" } else { name }))
            })
        } else {
            // `:splat` and `:name` after a `/` (Netlify's placeholders); a
            // `:` elsewhere (`https://`, `a:b`) is text.
            let after_slash = at > 0 && text[at - 1] == b'/';
            after_slash.then(|| faults::foreign_name(written)).flatten()
        };
        if let Some(instead) = known {
            out.push(faults::foreign_variable(
                written,
                &instead,
                literal.inner_span(at, end),
            ));
        }
        at = end;
    }
}

/// An unconditional terminal rule shadows the later rules of its own phase
/// only: response rules still see a request rule's answer (section 12).
fn unreachable_rules(file: &File, rule_set: &RuleSet, out: &mut Vec<Diagnostic>) {
    for phase in [Phase::Request, Phase::Response] {
        unreachable_in_phase(file, rule_set, phase, out);
    }
}

fn unreachable_in_phase(file: &File, rule_set: &RuleSet, phase: Phase, out: &mut Vec<Diagnostic>) {
    let blocking = rule_set.rules.iter().position(|rule| {
        rule.phase == phase
            && rule.condition.is_none()
            && rule.actions.last().is_some_and(Action::ends_evaluation)
    });
    let Some(blocking) = blocking else {
        return;
    };
    let stops = rule_set.rules[blocking]
        .actions
        .last()
        .is_some_and(|action| matches!(action, Action::Stop));
    let why = if stops {
        "this rule stops evaluation for every request"
    } else {
        "this rule answers every request"
    };
    let blocker = &file.rules[blocking].name;
    let later_rules = file
        .rules
        .iter()
        .zip(&rule_set.rules)
        .skip(blocking + 1)
        .filter(|(_, rule)| rule.phase == phase);
    for (later, _) in later_rules {
        out.push(
            Diagnostic::error(
                Code::UnreachableRule,
                format!("rule `{}` can never fire", later.name.text),
                later.name.span,
                "never reached",
            )
            .with_related(blocker.span, why)
            .with_help(format!(
                "move it above `{}`, or give `{}` a `when` line",
                blocker.text, blocker.text
            ))
            .warning(),
        );
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
        let mut diagnostic = Diagnostic::error(
            Code::RedirectLoop,
            format!(
                "rule `{}` redirects to a URL that matches it again",
                block.name.text
            ),
            target_span,
            "the client is sent here, and this rule fires again",
        )
        .with_help(
            "the browser would loop until it gives up; make the condition exclude the target",
        )
        .warning();
        if let Some(when_span) = when_span {
            diagnostic = diagnostic.with_related(when_span, "still true for the target");
        }
        out.push(diagnostic);
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
            // `https://other.example.com{uri}`: a path field ends the host.
            let path_follows = matches!(
                target.parts.get(1),
                Some(TemplatePart::Field(Field::Path | Field::Uri))
            );
            let host = match end {
                Some(end) => Fact::Known(strip_port(&after[..end]).to_lowercase()),
                None if whole || (path_follows && !after.is_empty()) => {
                    Fact::Known(strip_port(after).to_lowercase())
                }
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
            Field::Status | Field::ResponseHeader(_) | Field::ContentType => Fact::Unknown,
            Field::Call(call) => match self.fact(&call.input) {
                Fact::Known(value) => Fact::Known(
                    call.function
                        .apply(std::borrow::Cow::Borrowed(&value))
                        .into_owned(),
                ),
                other => other,
            },
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
///
/// A target on another host (an absolute URL) loops only when the condition
/// tests the host and holds for that one: with no host test, the rule fires
/// again only if this proxy also serves that host, which the file cannot tell.
fn loops(rule: &Rule, facts: &TargetFacts) -> bool {
    let other_host = matches!(facts.host, Fact::Known(_));
    match &rule.condition {
        None => !other_host,
        Some(condition) if other_host && !reads_host(condition) => false,
        Some(condition) => holds(condition, facts, true) == Some(true),
    }
}

/// Whether a condition reads `host` (bare or through a function).
fn reads_host(condition: &Condition) -> bool {
    fn is_host(field: &Field) -> bool {
        match field {
            Field::Host => true,
            Field::Call(call) => is_host(&call.input),
            _ => false,
        }
    }
    match condition {
        Condition::All(members) | Condition::Any(members) => members.iter().any(reads_host),
        Condition::Not(inner) => reads_host(inner),
        Condition::Exists(field) => is_host(field),
        Condition::Test(test) => is_host(&test.field),
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
        TestOp::InMap(map) => map.contains(value),
        TestOp::NotInMap(map) => !map.contains(value),
        TestOp::Ordered(order, bound) => order.holds(value.parse().ok()?, *bound),
    })
}
