//! `switchyard test --json`: the run as one JSON object for CI systems —
//! counts, each test with its position, fired rules and failures (expected
//! and actual in words), the rules no test made fire, and file errors.

use serde::Serialize;

use crate::config::Diagnostic;
use crate::config::render::Report;
use crate::rules::RuleSet;
use crate::suite::run::{FailureKind, case_diagnostics, fired};
use crate::suite::{self, Run, Suite};

/// The whole run.
#[derive(Debug, Serialize)]
struct RunView<'a> {
    passed: usize,
    failed: usize,
    tests: Vec<TestView<'a>>,
    unfired_rules: Vec<&'a str>,
    errors: Vec<ErrorView>,
}

/// One test.
#[derive(Debug, Serialize)]
struct TestView<'a> {
    name: &'a str,
    file: &'a str,
    line: usize,
    passed: bool,
    fired: Vec<&'a str>,
    failures: Vec<FailureView>,
}

/// One failed expectation.
#[derive(Debug, Serialize)]
struct FailureView {
    line: usize,
    column: usize,
    code: &'static str,
    message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    expected: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    actual: Option<String>,
}

/// A fault of a file (`proxy.conf` or a `.test` file).
#[derive(Debug, Serialize)]
struct ErrorView {
    file: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    line: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    column: Option<usize>,
    code: &'static str,
    message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    help: Option<String>,
}

/// The run as JSON text.
pub(crate) fn report(suite: &Suite, run: &Run, rule_set: &RuleSet) -> String {
    let (passed, failed) = run.counts();
    let mut tests = Vec::new();
    for result in &run.cases {
        let Some(file) = suite.files.get(result.file) else {
            continue;
        };
        let Some(case) = file.cases.get(result.case) else {
            continue;
        };
        let diagnostics = case_diagnostics(result, file, rule_set);
        let failures = result
            .failures
            .iter()
            .zip(diagnostics)
            .map(|(failure, diagnostic)| {
                let (line, column) = file.line_column(failure.span.start);
                let (expected, actual) = match &failure.kind {
                    FailureKind::Miss(miss) => {
                        (Some(miss.expected.clone()), Some(miss.actual.clone()))
                    }
                    FailureKind::UnknownRule(_) => (None, None),
                };
                FailureView {
                    line,
                    column,
                    code: diagnostic.code.as_str(),
                    message: diagnostic.message,
                    expected,
                    actual,
                }
            })
            .collect();
        tests.push(TestView {
            name: &case.name,
            file: &file.source.name,
            line: file.line_column(case.name_span.start).0,
            passed: result.passed(),
            fired: fired(result, rule_set),
            failures,
        });
    }
    let view = RunView {
        passed,
        failed,
        tests,
        unfired_rules: run
            .unfired
            .iter()
            .filter_map(|&at| rule_set.rules.get(at).map(|rule| rule.name.as_str()))
            .collect(),
        errors: suite.faults.iter().flat_map(errors).collect(),
    };
    to_text(&view)
}

/// A configuration that did not compile: no test ran.
pub(crate) fn config_invalid(report: &Report) -> String {
    to_text(&RunView {
        passed: 0,
        failed: 0,
        tests: Vec::new(),
        unfired_rules: Vec::new(),
        errors: errors(report),
    })
}

fn errors(report: &Report) -> Vec<ErrorView> {
    report
        .diagnostics()
        .iter()
        .map(|diagnostic: &Diagnostic| {
            let at = diagnostic
                .primary
                .as_ref()
                .map(|label| suite::line_column(report.source_text(), label.span.start));
            ErrorView {
                file: report.source_name().to_owned(),
                line: at.map(|(line, _)| line),
                column: at.map(|(_, column)| column),
                code: diagnostic.code.as_str(),
                message: diagnostic.message.clone(),
                help: diagnostic.help.clone(),
            }
        })
        .collect()
}

fn to_text(view: &RunView<'_>) -> String {
    // Every field is a string, number, bool or list of them: serializing cannot fail.
    serde_json::to_string_pretty(view)
        .unwrap_or_else(|error| format!("{{\"error\": {:?}}}", error.to_string()))
}
