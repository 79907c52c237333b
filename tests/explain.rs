//! `switchyard explain` snapshot tests: each `tests/fixtures/explain/cases/NAME.args`
//! (one argument per line, after `explain DIR`) is run against the config in
//! `tests/fixtures/explain/site/`, and its whole stdout is compared with
//! `NAME.stdout`. Run with `SWITCHYARD_BLESS=1` to rewrite the expected files
//! after a deliberate change (then read the diff).

#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::Command;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/explain")
}

fn explain(dir: &Path, args: &[String]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_switchyard"))
        .arg("explain")
        .arg(dir)
        .args(args)
        .env_remove("SWITCHYARD_CONFIG_DIR")
        .env("NO_COLOR", "1")
        .output()
        .unwrap()
}

#[test]
fn every_case_prints_exactly_its_snapshot() {
    snapshots("site", "cases", 8);
}

/// The response phase (section 17): `--status`, `--response-header` and
/// `--fired` against a config with `on response` rules and a file body.
#[test]
fn every_response_case_prints_exactly_its_snapshot() {
    snapshots("response_site", "response_cases", 5);
}

fn snapshots(site: &str, cases: &str, at_least: usize) {
    let cases = fixtures().join(cases);
    let mut names: Vec<PathBuf> = std::fs::read_dir(&cases)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "args"))
        .collect();
    names.sort();
    assert!(names.len() >= at_least, "the snapshot cases are missing");
    let bless = std::env::var_os("SWITCHYARD_BLESS").is_some();
    let mut failures = Vec::new();
    for args_file in names {
        let args: Vec<String> = std::fs::read_to_string(&args_file)
            .unwrap()
            .lines()
            .map(str::to_owned)
            .collect();
        let output = explain(&fixtures().join(site), &args);
        assert!(
            output.status.success(),
            "{}: {output:?}",
            args_file.display()
        );
        let actual = String::from_utf8(output.stdout).unwrap();
        let expected_file = args_file.with_extension("stdout");
        if bless {
            std::fs::write(&expected_file, &actual).unwrap();
            continue;
        }
        let expected = std::fs::read_to_string(&expected_file).unwrap_or_default();
        if actual != expected {
            failures.push(format!(
                "{}:\n--- expected\n{expected}\n--- actual\n{actual}",
                expected_file.display()
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn invalid_config_prints_diagnostics_and_exits_1() {
    let output = explain(
        &fixtures().join("invalid"),
        &["GET".to_owned(), "/x".to_owned()],
    );
    assert_eq!(output.status.code(), Some(1));
    assert!(output.stdout.is_empty());
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(stderr.contains("proxy.conf:2:"), "{stderr}");
    assert!(stderr.contains("=="), "{stderr}");
}

#[test]
fn missing_config_forwards_unchanged() {
    let output = explain(
        &fixtures().join("no-such-dir"),
        &["GET".to_owned(), "https://example.com/a?b".to_owned()],
    );
    assert!(output.status.success());
    let stdout = String::from_utf8(output.stdout).unwrap();
    assert!(stdout.ends_with("outcome: forward upstream\n  GET /a?b\n    host: example.com\n    x-forwarded-proto: https\n"), "{stdout}");
}

#[test]
fn bad_arguments_exit_2() {
    let output = explain(&fixtures().join("site"), &["GET".to_owned()]);
    assert_eq!(output.status.code(), Some(2));
    let output = explain(
        &fixtures().join("site"),
        &[
            "-H".to_owned(),
            "no colon".to_owned(),
            "GET".to_owned(),
            "/".to_owned(),
        ],
    );
    assert_eq!(output.status.code(), Some(2));
}

#[test]
fn map_lookups_are_shown_with_their_key_and_value() {
    let site = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/valid/include_tree");
    let args = ["GET".to_owned(), "https://example.test/old?x=1".to_owned()];
    let output = explain(&site, &args);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{stdout}");
    assert!(
        stdout.contains("legacy-urls") && stdout.contains(r#"{$legacy} = "/new"  (key "/old")"#),
        "{stdout}"
    );
    assert!(stdout.contains("location: /new?x=1"), "{stdout}");
    let json = explain(
        &site,
        &["--json".to_owned(), args[0].clone(), args[1].clone()],
    );
    let json = String::from_utf8_lossy(&json.stdout);
    let compact: String = json.split_whitespace().collect();
    assert!(
        compact.contains(r#""lookups":[{"map":"legacy","key":"/old","value":"/new"}]"#),
        "{json}"
    );
}
