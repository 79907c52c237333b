//! Running every test of a suite against a compiled rule set: each test's
//! exchange is simulated once (`exchange`), each expectation checked
//! (`expect`), and the rules that fired are counted so that the rules no test
//! made fire can be named.

use std::collections::HashSet;

use super::case::{Expect, RuleRef};
use super::exchange::simulate;
use super::expect::{Miss, check};
use super::{Suite, TestFile};
use crate::config::diagnostic::Diagnostic;
use crate::config::faults::test_files as faults;
use crate::config::render::Report;
use crate::config::span::Span;
use crate::rules::RuleSet;

/// The outcome of every test, in file order.
#[derive(Debug, Clone)]
pub struct Run {
    /// One result per test, files in name order, tests in file order.
    pub cases: Vec<CaseResult>,
    /// Indices of the rules that no test made fire, in file order.
    pub unfired: Vec<usize>,
}

/// One test's outcome.
#[derive(Debug, Clone)]
pub struct CaseResult {
    /// Index into `Suite::files`.
    pub file: usize,
    /// Index into that file's tests.
    pub case: usize,
    /// The rules that fired, in order.
    pub fired: Vec<usize>,
    /// Every expectation that did not hold; empty when the test passed.
    pub failures: Vec<Failure>,
}

impl CaseResult {
    /// Whether every expectation held.
    pub fn passed(&self) -> bool {
        self.failures.is_empty()
    }
}

/// One expectation that did not hold.
#[derive(Debug, Clone)]
pub struct Failure {
    /// The `expect` line, or the unknown rule's name.
    pub span: Span,
    /// Why.
    pub kind: FailureKind,
}

/// Why an expectation did not hold.
#[derive(Debug, Clone)]
pub enum FailureKind {
    /// The exchange differs from what was expected.
    Miss(Miss),
    /// The expectation names a rule `proxy.conf` does not have.
    UnknownRule(String),
}

/// Runs every test of the suite.
pub fn run(rule_set: &RuleSet, suite: &Suite) -> Run {
    let names: HashSet<&str> = rule_set.rules.iter().map(|r| r.name.as_str()).collect();
    let mut fired_any = vec![false; rule_set.rules.len()];
    let mut cases = Vec::new();
    for (file_at, file) in suite.files.iter().enumerate() {
        for (case_at, case) in file.cases.iter().enumerate() {
            let exchange = simulate(rule_set, &case.request, &case.upstream);
            for &at in &exchange.fired {
                if let Some(slot) = fired_any.get_mut(at) {
                    *slot = true;
                }
            }
            let mut failures = Vec::new();
            for expectation in &case.expectations {
                let unknown: Vec<&RuleRef> = match &expectation.kind {
                    Expect::Rules(rules) => rules.iter().collect(),
                    Expect::Rule(rule) => vec![rule],
                    _ => Vec::new(),
                }
                .into_iter()
                .filter(|rule| !names.contains(rule.name.as_str()))
                .collect();
                if !unknown.is_empty() {
                    failures.extend(unknown.into_iter().map(|rule| Failure {
                        span: rule.span,
                        kind: FailureKind::UnknownRule(rule.name.clone()),
                    }));
                    continue;
                }
                if let Err(miss) = check(&expectation.kind, &exchange, rule_set) {
                    failures.push(Failure {
                        span: expectation.span,
                        kind: FailureKind::Miss(miss),
                    });
                }
            }
            cases.push(CaseResult {
                file: file_at,
                case: case_at,
                fired: exchange.fired,
                failures,
            });
        }
    }
    let unfired = fired_any
        .iter()
        .enumerate()
        .filter(|(_, fired)| !**fired)
        .map(|(at, _)| at)
        .collect();
    Run { cases, unfired }
}

impl Run {
    /// How many tests passed and how many failed.
    pub fn counts(&self) -> (usize, usize) {
        let passed = self.cases.iter().filter(|case| case.passed()).count();
        (passed, self.cases.len() - passed)
    }

    /// The failures as diagnostics, one report per `.test` file that has any.
    pub fn reports(&self, suite: &Suite, rule_set: &RuleSet) -> Vec<Report> {
        suite
            .files
            .iter()
            .enumerate()
            .filter_map(|(file_at, file)| {
                let mut diagnostics: Vec<Diagnostic> = self
                    .cases
                    .iter()
                    .filter(|result| result.file == file_at)
                    .flat_map(|result| case_diagnostics(result, file, rule_set))
                    .collect();
                diagnostics.sort_by_key(|d| d.primary.as_ref().map_or(0, |label| label.span.start));
                (!diagnostics.is_empty()).then(|| super::report(&file.source, diagnostics))
            })
            .collect()
    }
}

/// One test's failures as diagnostics.
pub fn case_diagnostics(
    result: &CaseResult,
    file: &TestFile,
    rule_set: &RuleSet,
) -> Vec<Diagnostic> {
    let Some(case) = file.cases.get(result.case) else {
        return Vec::new();
    };
    let fired = fired(result, rule_set);
    result
        .failures
        .iter()
        .map(|failure| match &failure.kind {
            FailureKind::Miss(miss) => faults::test_failed(
                &case.name,
                failure.span,
                &miss.expected,
                &miss.actual,
                &fired,
            ),
            FailureKind::UnknownRule(name) => faults::unknown_rule(
                name,
                failure.span,
                rule_set.rules.iter().map(|rule| rule.name.as_str()),
            ),
        })
        .collect()
}

/// The names of a result's fired rules.
pub fn fired<'a>(result: &CaseResult, rule_set: &'a RuleSet) -> Vec<&'a str> {
    result
        .fired
        .iter()
        .filter_map(|&at| rule_set.rules.get(at).map(|rule| rule.name.as_str()))
        .collect()
}
