//! Regular expressions of `~` and `!~`: compiled once with a size cap, and a
//! refused pattern reported at the character the regex crate blames, mapped
//! back through the string's escapes.

use crate::config::faults;
use std::collections::HashMap;

use super::super::ast::{Expr, File, Operator, StatementKind, Value};
use super::super::diagnostic::Diagnostic;
use super::super::string_literal::StringLiteral;
use crate::rules::RuleRegex;
use crate::rules::rule_regex::{RegexChecker, RegexFault};

/// A pattern that compiled, with what the checks of its rule need to know of
/// it; the compiled program itself is not kept (see `RuleRegex`).
#[derive(Debug, Clone)]
pub(crate) struct CheckedRegex {
    /// The pattern, for the rule set.
    pub(crate) regex: RuleRegex,
    /// Each group's name (`None` for unnamed ones), group 0 first.
    pub(crate) group_names: Vec<Option<String>>,
}

/// Regexes checked so far in one file, by pattern: a pattern written in many
/// rules is checked once and shared.
#[derive(Default)]
pub(crate) struct RegexCache {
    checked: HashMap<String, CheckedRegex>,
    checker: RegexChecker,
}

/// Below this many distinct patterns a file's regexes are checked one by
/// one as the compiler meets them: a thread costs more than it saves.
const PARALLEL_FROM: usize = 512;

impl RegexCache {
    /// A cache with the file's `~` and `!~` patterns checked already, on
    /// every CPU the process may use: checking them is most of the time a
    /// large file takes to validate (10,000 regex rules: 0.75G of 1.46G
    /// instructions), and patterns are independent. Only accepted patterns
    /// are kept; a refused one is checked again when the compiler reaches
    /// it, which then reports it in file order as before.
    pub(crate) fn prechecked(file: &File) -> Self {
        let mut cache = RegexCache::default();
        let mut patterns: Vec<&str> = Vec::new();
        let mut seen = std::collections::HashSet::new();
        for block in &file.rules {
            for statement in &block.statements {
                if let StatementKind::When(expr) = &statement.kind {
                    regex_values(expr, &mut |value| {
                        if seen.insert(value) {
                            patterns.push(value);
                        }
                    });
                }
            }
        }
        let threads = std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get);
        if patterns.len() < PARALLEL_FROM || threads < 2 {
            return cache;
        }
        let chunk = patterns.len().div_ceil(threads);
        let checked: Vec<(String, CheckedRegex)> = std::thread::scope(|scope| {
            let workers: Vec<_> = patterns
                .chunks(chunk)
                .map(|part| scope.spawn(move || check_all(part)))
                .collect();
            // A worker that panicked leaves its patterns to the compiler.
            workers
                .into_iter()
                .flat_map(|worker| worker.join().unwrap_or_default())
                .collect()
        });
        cache.checked.extend(checked);
        cache
    }
}

impl std::fmt::Debug for RegexCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RegexCache")
            .field("checked", &self.checked.len())
            .finish_non_exhaustive()
    }
}

impl RegexCache {
    /// The checked regex of the literal, from the cache when seen before.
    pub(crate) fn compile(&mut self, literal: &StringLiteral) -> Result<CheckedRegex, Diagnostic> {
        if let Some(checked) = self.checked.get(&literal.value) {
            return Ok(checked.clone());
        }
        let group_names = check(&self.checker, literal)?;
        let checked = CheckedRegex {
            regex: RuleRegex::checked(&literal.value),
            group_names,
        };
        self.checked.insert(literal.value.clone(), checked.clone());
        Ok(checked)
    }
}

/// The accepted ones of `patterns`, checked by a checker of their own.
fn check_all(patterns: &[&str]) -> Vec<(String, CheckedRegex)> {
    let checker = RegexChecker::default();
    patterns
        .iter()
        .filter_map(|pattern| {
            let group_names = checker.check(pattern).ok()?;
            let regex = RuleRegex::checked(pattern);
            Some(((*pattern).to_owned(), CheckedRegex { regex, group_names }))
        })
        .collect()
}

/// Calls `found` with the value of every `~` and `!~` test in `expr`.
fn regex_values<'a>(expr: &'a Expr, found: &mut impl FnMut(&'a str)) {
    match expr {
        Expr::Or(members, _) | Expr::And(members, _) => {
            members
                .iter()
                .for_each(|member| regex_values(member, found));
        }
        Expr::Not(inner, _) => regex_values(inner, found),
        Expr::Exists(..) => {}
        Expr::Test(test) => {
            if let (Operator::Match | Operator::NotMatch, Value::Single(literal)) =
                (test.op.0, &test.value)
            {
                found(&literal.value);
            }
        }
    }
}

/// Checks the literal's value as a regex: its groups' names, or where and
/// why it is refused.
fn check(
    checker: &RegexChecker,
    literal: &StringLiteral,
) -> Result<Vec<Option<String>>, Diagnostic> {
    checker.check(&literal.value).map_err(|fault| match fault {
        RegexFault::TooBig(limit) => faults::conditions::regex_too_big(literal.span, limit / 1024),
        RegexFault::Syntax(error) => syntax_fault(literal, &error),
        RegexFault::Other(reason) => {
            faults::conditions::invalid_regex_unplaced(literal.span, reason)
        }
    })
}

fn syntax_fault(literal: &StringLiteral, error: &regex_syntax::Error) -> Diagnostic {
    let (kind, span, auxiliary) = match error {
        regex_syntax::Error::Parse(error) => (
            error.kind().to_string(),
            *error.span(),
            error.auxiliary_span().copied(),
        ),
        regex_syntax::Error::Translate(error) => (error.kind().to_string(), *error.span(), None),
        other => {
            return faults::conditions::invalid_regex_unplaced(literal.span, other.to_string());
        }
    };
    let mut at = literal.inner_span(span.start.offset, span.end.offset);
    if at.is_empty() {
        at.end = literal
            .inner_span(span.start.offset, span.start.offset + 1)
            .end;
    }
    let first = auxiliary.map(|first| literal.inner_span(first.start.offset, first.end.offset));
    faults::conditions::invalid_regex(at, kind, first)
}

/// Where the name of group `name` is written in the pattern, as value bytes.
pub(crate) fn group_name_position(pattern: &str, name: &str) -> Option<(usize, usize)> {
    ["(?<", "(?P<"].iter().find_map(|opener| {
        let needle = format!("{opener}{name}>");
        pattern
            .find(&needle)
            .map(|at| (at + opener.len(), at + opener.len() + name.len()))
    })
}

#[cfg(test)]
mod tests {
    use super::super::super::span::Span;
    use super::*;
    use crate::config::diagnostic::Code;

    fn literal(source: &str) -> StringLiteral {
        StringLiteral::unescape(&source[1..source.len() - 1], 1, Span::new(0, source.len()))
    }

    #[test]
    fn caret_points_inside_the_string() {
        // "^/a(" : the unclosed group is at value offset 3, file offset 4.
        let d = check(&RegexChecker::default(), &literal(r#""^/a(""#)).err();
        let span = d.and_then(|d| d.primary).map(|l| l.span);
        assert_eq!(span, Some(Span::new(4, 5)));
    }

    #[test]
    fn caret_survives_escaped_quotes() {
        // value: \"[z-a]  → the bad class range is after an escaped quote.
        let lit = literal(r#""\"[z-a]""#);
        let d = check(&RegexChecker::default(), &lit).err();
        let span = d.and_then(|d| d.primary).map(|l| l.span);
        assert_eq!(span, Some(Span::new(4, 7)));
    }

    #[test]
    fn huge_patterns_are_refused() {
        let d = check(&RegexChecker::default(), &literal(r#""(\w{100}){100}""#)).err();
        assert_eq!(d.map(|d| d.code), Some(Code::RegexTooBig));
    }

    /// A file past `PARALLEL_FROM` patterns is checked on several threads;
    /// what the compiler then reports, and in which order, is unchanged.
    #[test]
    fn prechecked_files_report_as_before_in_file_order() {
        let mut source = String::new();
        for i in 0..(PARALLEL_FROM + 100) {
            let pattern = match i {
                100 => "^/broken-(".to_owned(),
                500 => r"(\\w{100}){100}".to_owned(),
                _ => format!("^/old-{i}/(?<rest>.*)$"),
            };
            let target = if i == 300 {
                "/new/{nope}"
            } else {
                "/new/{rest}"
            };
            source.push_str(&format!(
                "rule r{i} {{\n    when path ~ \"{pattern}\"\n    redirect 301 \"{target}\"\n}}\n"
            ));
        }
        let Err(invalid) = crate::config::compile_source("proxy.conf", source.as_bytes()) else {
            panic!("three faults expected");
        };
        let text = invalid.render(false);
        let order: Vec<usize> = ["broken-(", "{nope}", r"(\\w{100}){100}"]
            .iter()
            .map(|needle| text.find(needle).unwrap_or(usize::MAX))
            .collect();
        assert!(order.windows(2).all(|w| w[0] < w[1]), "{text}");
        assert!(
            text.contains("invalid_regex") && text.contains("regex_too_big"),
            "{text}"
        );
        // The accepted patterns' group names came through: `{rest}`
        // resolves in the 597 other rules (or each would be a fault).
        assert_eq!(text.matches("switchyard::").count(), 3, "{text}");
    }

    #[test]
    fn finds_group_names() {
        assert_eq!(group_name_position("^/(?<year>\\d+)", "year"), Some((5, 9)));
        assert_eq!(group_name_position("(?P<x>a)", "x"), Some((4, 5)));
    }
}
