//! The reference page teaches by example, so every example in it is checked:
//! ```` ```proxy-conf ```` blocks must compile without warnings,
//! ```` ```proxy-conf-error CODE ```` blocks must fail with CODE, and
//! ```` ```proxy-conf-warning CODE ```` blocks must compile with that warning.
//! ```` ```proxy-test ```` blocks (test files) must pass against the spec's
//! example config (`tests/fixtures/valid/spec_example.conf`), and
//! ```` ```proxy-test-error CODE ```` blocks must fail against it with CODE.
//! Every diagnostic code must have its own heading in the error reference.
//! The porting guide is checked the same way. Examples that name other files
//! (`respond … file`, `map … from`, `include`) compile against
//! `tests/fixtures/files/`.

use std::path::Path;

use switchyard::config::{CONFIG_FILE, Code, compile_source, compile_source_in};

mod fixture_files;
use fixture_files::files_dir;
use switchyard::suite::{self, Suite, TestSource};

/// One fenced block: its info string, text and starting line.
struct Block {
    info: String,
    text: String,
    line: usize,
}

fn docs() -> String {
    page("docs/proxy-conf.md")
}

fn page(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn blocks(markdown: &str) -> Vec<Block> {
    let mut out = Vec::new();
    let mut open: Option<(usize, Block)> = None;
    for (number, line) in markdown.lines().enumerate() {
        let trimmed = line.trim_start();
        let indent = line.len() - trimmed.len();
        match open.take() {
            None => {
                if let Some(info) = trimmed.strip_prefix("```") {
                    open = Some((
                        indent,
                        Block {
                            info: info.trim().to_owned(),
                            text: String::new(),
                            line: number + 1,
                        },
                    ));
                }
            }
            Some((fence_indent, block)) if trimmed == "```" => {
                let _ = fence_indent;
                out.push(block);
            }
            Some((fence_indent, mut block)) => {
                block
                    .text
                    .push_str(line.get(fence_indent.min(indent)..).unwrap_or(""));
                block.text.push('\n');
                open = Some((fence_indent, block));
            }
        }
    }
    out
}

#[test]
fn every_example_behaves_as_labelled() {
    let checked = check_page("docs/proxy-conf.md");
    assert!(checked >= 50, "only {checked} examples checked");
}

#[test]
fn every_porting_example_behaves_as_labelled() {
    let checked = check_page("docs/porting.md");
    assert!(checked >= 14, "only {checked} examples checked");
}

/// Checks every labelled block of one page; returns how many were checked.
fn check_page(name: &str) -> usize {
    let all = blocks(&page(name));
    let mut checked = 0;
    let mut failures = Vec::new();
    for block in &all {
        let mut words = block.info.split_whitespace();
        let (kind, code) = (words.next().unwrap_or(""), words.next().unwrap_or(""));
        let result = compile_source_in(CONFIG_FILE, block.text.as_bytes(), Some(&files_dir()));
        let at = format!("{name}:{}", block.line);
        match (kind, result) {
            ("proxy-conf", Ok(compiled)) if compiled.warnings.is_empty() => {}
            ("proxy-conf", Ok(compiled)) => {
                failures.push(format!("{at}: warns\n{}", compiled.warnings.render(false)));
            }
            ("proxy-conf", Err(invalid)) => {
                failures.push(format!("{at}: invalid\n{}", invalid.render(false)))
            }
            ("proxy-conf-error", Ok(_)) => {
                failures.push(format!("{at}: compiled, but must fail with {code}"))
            }
            ("proxy-conf-error", Err(invalid)) => {
                if !invalid
                    .diagnostics()
                    .iter()
                    .any(|d| d.code.as_str() == code)
                {
                    failures.push(format!(
                        "{at}: expected {code}, got\n{}",
                        invalid.render(false)
                    ));
                }
            }
            ("proxy-conf-warning", Ok(compiled)) => {
                if !compiled
                    .warnings
                    .diagnostics()
                    .iter()
                    .any(|d| d.code.as_str() == code)
                {
                    failures.push(format!("{at}: expected warning {code}"));
                }
            }
            ("proxy-conf-warning", Err(invalid)) => {
                failures.push(format!("{at}: invalid\n{}", invalid.render(false)));
            }
            ("proxy-test" | "proxy-test-error", _) => {
                let codes = test_codes(&block.text);
                match (kind, codes.as_slice()) {
                    ("proxy-test", []) => {}
                    ("proxy-test", found) => failures.push(format!("{at}: fails with {found:?}")),
                    (_, found) if found.iter().any(|c| c.as_str() == code) => {}
                    (_, found) => failures.push(format!("{at}: expected {code}, got {found:?}")),
                }
            }
            _ => continue,
        }
        checked += 1;
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    checked
}

/// The codes of every diagnostic a test file gets against the spec's example.
fn test_codes(text: &str) -> Vec<Code> {
    let config = std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/valid/spec_example.conf"),
    )
    .unwrap_or_default();
    let Ok(compiled) = compile_source(CONFIG_FILE, &config) else {
        panic!("the spec example does not compile");
    };
    let suite = Suite::load(vec![TestSource {
        name: "example.test".into(),
        bytes: text.as_bytes().to_vec(),
        too_large: None,
    }]);
    let served = compiled.rule_set.prepare();
    let run = suite::run(&served, &suite);
    let mut reports = suite.faults.clone();
    reports.extend(run.reports(&suite, &served));
    reports
        .iter()
        .flat_map(|report| report.diagnostics().iter().map(|d| d.code))
        .collect()
}

#[test]
fn every_code_is_documented() {
    let text = docs();
    let missing: Vec<&str> = Code::ALL
        .iter()
        .map(|code| code.as_str())
        .filter(|code| !text.contains(&format!("### `{code}`")))
        .collect();
    assert!(missing.is_empty(), "undocumented codes: {missing:?}");
}

#[test]
fn the_spec_example_is_in_the_docs() {
    let spec_example = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/valid/spec_example.conf"),
    )
    .unwrap_or_default();
    assert!(!spec_example.is_empty());
    assert!(
        blocks(&docs())
            .iter()
            .any(|b| b.info == "proxy-conf" && b.text == spec_example)
    );
}
