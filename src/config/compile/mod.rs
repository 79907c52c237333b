//! The analyzer and compiler: the AST checked as a whole (every fault
//! collected, not just the first) and turned into the `rules` types.

pub mod action;
pub mod condition;
pub mod field;
pub mod regex;
pub mod settings;
pub mod template;

use std::collections::HashMap;

use super::ast::{File, RuleBlock, StatementKind};
use super::diagnostic::{Code, Diagnostic};
use super::span::Span;
use crate::rules::{Rule, RuleSet};
use condition::ConditionCompiler;

/// Compiles the file; `Err` carries every fault found.
pub fn compile(file: &File, source_hash: String) -> Result<RuleSet, Vec<Diagnostic>> {
    let mut out = Vec::new();
    let settings = settings::compile(&file.settings, &mut out);
    let mut names: HashMap<&str, Span> = HashMap::new();
    let mut rules = Vec::with_capacity(file.rules.len());
    for block in &file.rules {
        check_name(block, &mut names, &mut out);
        if let Some(rule) = compile_rule(block, &mut out) {
            rules.push(rule);
        }
    }
    if out.is_empty() {
        Ok(RuleSet {
            settings,
            rules,
            source_hash,
            // Built on first use (`RuleSet::index`), so `validate` never pays
            // for the evaluation index.
            index: Default::default(),
        })
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
            .with_help("rule names are unique in the file; rename one of them"),
        );
    } else {
        names.insert(name, block.name.span);
    }
}

fn compile_rule(block: &RuleBlock, out: &mut Vec<Diagnostic>) -> Option<Rule> {
    let errors_before = out.len();
    let mut when: Option<Span> = None;
    let mut terminal: Option<Span> = None;
    let mut first_action: Option<Span> = None;
    let mut condition = None;
    let mut compiler_out = Vec::new();
    let mut compiler = ConditionCompiler::new(&mut compiler_out);
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
    let scope = template::Scope {
        regexes: &regexes,
        broken: compiler.broken,
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
            let (code, message) = if statement.kind.is_terminal() {
                (
                    Code::DuplicateTerminal,
                    "a rule has at most one `redirect` or `respond`",
                )
            } else {
                (
                    Code::ActionAfterTerminal,
                    "an action after `redirect` or `respond` never runs",
                )
            };
            out.push(
                Diagnostic::error(code, message, statement.keyword, "after the terminal action")
                    .with_related(end, "evaluation ends here")
                    .with_help("`redirect` and `respond` end the rule: put other actions before them, or move this one to a rule of its own"),
            );
        } else if statement.kind.is_terminal() {
            terminal = Some(statement.keyword);
        }
        if let Some(action) = action::compile(&statement.kind, scope, out) {
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
                "add an action such as `redirect`, `respond`, `rewrite` or `response header set`",
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
    })
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::super::{CONFIG_FILE, compile_source};
    use crate::rules::{
        AccessLogFormat, Action, CaptureRef, Condition, Field, HeaderAction, RuleSet, TemplatePart,
        TestOp,
    };

    fn compiled(text: &str) -> RuleSet {
        match compile_source(CONFIG_FILE, text.as_bytes()) {
            Ok(compiled) => compiled.rule_set,
            Err(invalid) => panic!("{}", invalid.render(false)),
        }
    }

    fn tests_of(condition: &Condition) -> Vec<&TestOp> {
        match condition {
            Condition::All(members) | Condition::Any(members) => {
                members.iter().flat_map(tests_of).collect()
            }
            Condition::Not(inner) => tests_of(inner),
            Condition::Exists(_) => Vec::new(),
            Condition::Test(test) => vec![&test.op],
        }
    }

    #[test]
    fn captures_resolve_to_slots_and_groups() {
        let set = compiled(
            r#"rule r {
                when host ~ "^(?<sub>[a-z]+)\." and path ~ "^/blog/(?<year>[0-9]{4})/([^/]+)$"
                redirect 308 "/{sub}/{year}"
            }
            rule s {
                when path ~ "^/blog/(?<year>[0-9]{4})/([^/]+)$"
                redirect 308 "/articles/{year}/{2}/{0}"
            }"#,
        );
        assert_eq!(set.rules[0].regex_slots, 2);
        let Action::Redirect { target, .. } = &set.rules[0].actions[0] else {
            panic!("expected a redirect");
        };
        assert_eq!(
            target.parts[1],
            TemplatePart::Capture(CaptureRef { slot: 0, group: 1 })
        );
        assert_eq!(
            target.parts[3],
            TemplatePart::Capture(CaptureRef { slot: 1, group: 1 })
        );
        let Action::Redirect { target, .. } = &set.rules[1].actions[0] else {
            panic!("expected a redirect");
        };
        let captures: Vec<&TemplatePart> = target
            .parts
            .iter()
            .filter(|p| matches!(p, TemplatePart::Capture(_)))
            .collect();
        assert_eq!(
            captures,
            vec![
                &TemplatePart::Capture(CaptureRef { slot: 0, group: 1 }),
                &TemplatePart::Capture(CaptureRef { slot: 0, group: 2 }),
                &TemplatePart::Capture(CaptureRef { slot: 0, group: 0 }),
            ]
        );
    }

    #[test]
    fn not_match_takes_no_slot() {
        let set =
            compiled(r#"rule r { when path !~ "^/a" and path ~ "^/(b)" redirect 302 "/{1}" }"#);
        assert_eq!(set.rules[0].regex_slots, 1);
        let Some(condition) = &set.rules[0].condition else {
            panic!("expected a condition");
        };
        let ops = tests_of(condition);
        assert!(matches!(ops[0], TestOp::NotMatches(_)));
        assert!(matches!(ops[1], TestOp::Matches { slot: 0, .. }));
    }

    #[test]
    fn host_literals_are_lower_cased_and_ips_parsed() {
        let set = compiled(
            r#"rule r {
                when host == "WWW.Example.COM" and host in ["A.example"] and client_ip in ["10.0.0.0/8", "2001:DB8::1"] and client_ip == "2001:DB8::2"
                respond 204
            }"#,
        );
        let Some(condition) = &set.rules[0].condition else {
            panic!("expected a condition");
        };
        let ops = tests_of(condition);
        assert!(matches!(ops[0], TestOp::Equals(s) if s == "www.example.com"));
        assert!(matches!(ops[1], TestOp::In(set) if set.strings == ["a.example"]));
        let TestOp::In(networks) = ops[2] else {
            panic!("expected in");
        };
        assert_eq!(networks.networks.len(), 2);
        assert!(
            networks.networks[1].contains(
                &"2001:db8::1"
                    .parse::<std::net::IpAddr>()
                    .unwrap_or(std::net::IpAddr::from([0, 0, 0, 0]))
            )
        );
        assert!(matches!(ops[3], TestOp::Equals(s) if s == "2001:db8::2"));
    }

    #[test]
    fn settings_and_headers_are_typed() {
        let set = compiled(
            r#"settings { access_log off shutdown_grace 0s max_request_header_bytes 1MiB }
            rule r {
                request header set host "backend"
                response header remove Server
                request header add X-Id "{header.X-Request-Id}"
            }"#,
        );
        assert_eq!(set.settings.access_log, AccessLogFormat::Off);
        assert_eq!(set.settings.shutdown_grace, Duration::ZERO);
        assert_eq!(set.settings.max_request_header_bytes, 1024 * 1024);
        assert_eq!(set.settings.keepalive_timeout, Duration::from_secs(75));
        let Action::RequestHeader(HeaderAction::Set(name, value)) = &set.rules[0].actions[0] else {
            panic!("expected a header set");
        };
        assert_eq!(name.as_str(), "host");
        assert_eq!(value.as_literal(), Some("backend"));
        let Action::RequestHeader(HeaderAction::Add(_, value)) = &set.rules[0].actions[2] else {
            panic!("expected a header add");
        };
        assert!(
            matches!(&value.parts[0], TemplatePart::Field(Field::Header(h)) if h.as_str() == "x-request-id")
        );
    }

    #[test]
    fn respond_without_body_is_an_empty_template() {
        let set = compiled("rule r { respond 204 }");
        let Action::Respond { status, body } = &set.rules[0].actions[0] else {
            panic!("expected respond");
        };
        assert_eq!(status.as_u16(), 204);
        assert_eq!(body.as_literal(), Some(""));
        assert!(set.rules[0].condition.is_none());
    }
}
