//! Tests that ship with the config (spec §16): `*.test` files beside
//! `proxy.conf` say what should happen to a request, and `validate`, `check`
//! and `switchyard test` hold the compiled rules to them.
//!
//! The pipeline, one file per stage: `source` finds and reads the files →
//! `parse` (over `grammar/test.pest`, syntax errors in `syntax`) checks them
//! into `case::TestCase`s → `run` simulates each exchange (`exchange`, on the
//! server's own evaluator) and checks each expectation (`expect`).
//!
//! Serving never reads a `.test` file: only `validate`, `check` and `test`
//! call into this module, so a broken test cannot change what is served.

pub mod case;
pub mod exchange;
pub mod expect;
pub mod parse;
pub mod request;
pub mod run;
pub mod source;
mod syntax;

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use crate::config::diagnostic::Diagnostic;
use crate::config::faults::test_files as faults;
use crate::config::render::Report;
use crate::config::span::Span;
use crate::config::{SourceFile, SourceMap};
use crate::rules::RuleSet;
use case::TestCase;
pub use run::{CaseResult, Failure, FailureKind, Run, run};
pub use source::{MAX_TEST_FILE_BYTES, ReadError, TestSource, read_dir};

/// One `.test` file and the tests read from it.
#[derive(Debug, Clone)]
pub struct TestFile {
    /// Its name and text, which diagnostics point into.
    pub source: Arc<SourceFile>,
    /// Its tests, in file order (none when the file has faults).
    pub cases: Vec<TestCase>,
    /// Where each line starts, so a thousand positions cost a thousand
    /// binary searches rather than a thousand scans of the file.
    line_starts: Vec<usize>,
}

impl TestFile {
    fn new(source: Arc<SourceFile>, cases: Vec<TestCase>) -> Self {
        let line_starts = std::iter::once(0)
            .chain(source.text.match_indices('\n').map(|(at, _)| at + 1))
            .collect();
        TestFile {
            source,
            cases,
            line_starts,
        }
    }

    /// The 1-based line and column (in characters) of a byte offset.
    pub fn line_column(&self, offset: usize) -> (usize, usize) {
        let line = self
            .line_starts
            .partition_point(|&start| start <= offset)
            .max(1);
        let start = self.line_starts.get(line - 1).copied().unwrap_or(0);
        let column = self
            .source
            .text
            .get(start..offset)
            .map_or(1, |text| text.chars().count() + 1);
        (line, column)
    }

    /// `name.test:LINE:COLUMN` of a span's start, as people read positions.
    pub fn position(&self, span: Span) -> String {
        let (line, column) = self.line_column(span.start);
        format!("{}:{line}:{column}", self.source.name)
    }
}

/// Every `.test` file of a directory, read and checked.
#[derive(Debug, Clone, Default)]
pub struct Suite {
    /// The files, in byte order of their names.
    pub files: Vec<TestFile>,
    /// Faults of the files themselves (syntax, limits, duplicate names), one
    /// report per file that has any.
    pub faults: Vec<Report>,
}

impl Suite {
    /// Parses and checks the sources; faults are collected, not returned early.
    pub fn load(sources: Vec<TestSource>) -> Suite {
        let mut suite = Suite::default();
        let mut names: HashMap<String, (usize, Span)> = HashMap::new();
        for test_source in sources {
            let (source, parsed) = read_source(test_source);
            let file_at = suite.files.len();
            let (cases, mut diagnostics) = match parsed {
                Ok(cases) => (cases, Vec::new()),
                Err(diagnostics) => (Vec::new(), diagnostics),
            };
            for case in &cases {
                match names.get(&case.name) {
                    Some(&(first_file, first)) if first_file == file_at => {
                        diagnostics.push(faults::duplicate_test(&case.name, case.name_span, first));
                    }
                    Some(&(first_file, first)) => {
                        let at = suite
                            .files
                            .get(first_file)
                            .map(|file| file.position(first))
                            .unwrap_or_default();
                        diagnostics.push(faults::duplicate_test_elsewhere(
                            &case.name,
                            case.name_span,
                            &at,
                        ));
                    }
                    None => {
                        names.insert(case.name.clone(), (file_at, case.name_span));
                    }
                }
            }
            if !diagnostics.is_empty() {
                diagnostics.sort_by_key(|d| d.primary.as_ref().map_or(0, |label| label.span.start));
                suite.faults.push(report(&source, diagnostics));
            }
            suite.files.push(TestFile::new(source, cases));
        }
        suite
    }

    /// How many tests the suite holds.
    pub fn len(&self) -> usize {
        self.files.iter().map(|file| file.cases.len()).sum()
    }

    /// Whether it holds none.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// What `validate` and `check` add to a valid configuration.
#[derive(Debug, Clone, Default)]
pub struct Gate {
    /// Every fault of the `.test` files and every failing test, one report
    /// per file, in name order; empty when every test passes.
    pub reports: Vec<Report>,
    /// How many tests ran.
    pub tests: usize,
    /// How many of them failed.
    pub failed: usize,
}

impl Gate {
    /// Whether the tests let the configuration through.
    pub fn passed(&self) -> bool {
        self.reports.is_empty()
    }
}

/// Runs the directory's `.test` files against a compiled rule set; with no
/// `.test` file it reads nothing more and lets everything through.
pub fn gate(rule_set: &RuleSet, dir: &Path) -> Result<Gate, ReadError> {
    let sources = read_dir(dir)?;
    if sources.is_empty() {
        return Ok(Gate::default());
    }
    let suite = Suite::load(sources);
    let run = run(rule_set, &suite);
    let mut reports = suite.faults.clone();
    reports.extend(run.reports(&suite, rule_set));
    // One file's faults and failures together, files in name order.
    reports.sort_by(|a, b| a.source_name().cmp(b.source_name()));
    let (_, failed) = run.counts();
    Ok(Gate {
        reports,
        tests: run.cases.len(),
        failed,
    })
}

/// Several reports drawn one after another, as `validate` prints them.
pub fn render(reports: &[Report], color: bool) -> String {
    let mut text = String::new();
    for report in reports {
        if !text.is_empty() {
            text.push('\n');
        }
        text.push_str(&report.render(color));
    }
    text
}

/// The 1-based line and column (in characters) of a byte offset, for a text
/// read once (a `TestFile` answers faster for many positions).
pub fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let before = text.get(..offset).unwrap_or(text);
    let line_start = before.rfind('\n').map_or(0, |at| at + 1);
    let line = before.matches('\n').count() + 1;
    let column = before[line_start..].chars().count() + 1;
    (line, column)
}

/// Diagnostics drawn against one `.test` file on its own.
pub(crate) fn report(source: &SourceFile, diagnostics: Vec<Diagnostic>) -> Report {
    Report::new(
        Arc::new(SourceMap::single(&source.name, source.text.clone())),
        diagnostics,
    )
}

/// A source's text and tests, or the faults that stopped it being read.
fn read_source(
    test_source: TestSource,
) -> (Arc<SourceFile>, Result<Vec<TestCase>, Vec<Diagnostic>>) {
    let TestSource {
        name,
        bytes,
        too_large,
    } = test_source;
    if let Some(size) = too_large {
        let source = Arc::new(SourceFile {
            text: String::new(),
            name: name.clone(),
            base: 0,
        });
        let fault = faults::file_too_large(&name, size, MAX_TEST_FILE_BYTES / (1024 * 1024));
        return (source, Err(vec![fault]));
    }
    match String::from_utf8(bytes) {
        Ok(text) => {
            let parsed = parse::parse(&text);
            (
                Arc::new(SourceFile {
                    name,
                    text,
                    base: 0,
                }),
                parsed,
            )
        }
        Err(error) => {
            let at = error.utf8_error().valid_up_to();
            let bytes = error.into_bytes();
            let byte = bytes.get(at).copied().unwrap_or(0);
            // The lossy text equals the input up to `at`, where U+FFFD (3 bytes) stands.
            let span = Span::new(at, at + '\u{FFFD}'.len_utf8());
            let fault = faults::not_utf8(&name, byte, at, span);
            let text = String::from_utf8_lossy(&bytes).into_owned();
            (
                Arc::new(SourceFile {
                    name,
                    text,
                    base: 0,
                }),
                Err(vec![fault]),
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_agree_with_a_scan_of_the_text() {
        let text = "a\nbé\n\ncd\n";
        let file = TestFile::new(
            Arc::new(SourceFile {
                name: "x.test".into(),
                text: text.into(),
                base: 0,
            }),
            Vec::new(),
        );
        for offset in 0..=text.len() {
            if text.is_char_boundary(offset) {
                assert_eq!(
                    file.line_column(offset),
                    line_column(text, offset),
                    "{offset}"
                );
            }
        }
        assert_eq!(file.position(Span::new(8, 9)), "x.test:4:2");
    }
}
