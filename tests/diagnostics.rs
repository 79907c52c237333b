//! The product's face: every fixture config under `tests/fixtures/` compiled,
//! and its diagnostics compared WHOLE (carets included) with the expected text.
//!
//! - `invalid/NAME.conf` must fail; its rendering must equal `NAME.stderr`.
//! - `warnings/NAME.conf` must compile with warnings equal to `NAME.stderr`.
//! - `valid/NAME.conf` must compile with no warning; a `valid/NAME.test`
//!   beside it must pass against it.
//! - A directory `KIND/NAME/` holding a `proxy.conf` is a whole config
//!   directory (includes, map files), loaded as the server loads one; its
//!   expected text is `KIND/NAME.stderr`.
//! - `test_files/NAME/` holds `.test` files for the spec's example config
//!   (`valid/spec_example.conf`), or for the config directory's own
//!   `proxy.conf` when it has one: what `validate` prints about them must
//!   equal `test_files/NAME.stderr`.
//!
//! `SWITCHYARD_BLESS=1 cargo test --test diagnostics` rewrites the expected
//! files; review every change by eye before committing it.

use std::fs;
use std::path::{Path, PathBuf};

use switchyard::config::{
    CONFIG_FILE, Compiled, Invalid, LoadError, compile_source, compile_source_in, load_dir,
};

mod fixture_files;
use fixture_files::files_dir;
use switchyard::suite::{self, Suite, TestSource};

/// Every fixture of a kind: `.conf` files and config directories.
fn fixtures(kind: &str) -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(kind);
    let mut paths: Vec<PathBuf> = fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|path| {
            path.extension().is_some_and(|ext| ext == "conf") || path.join(CONFIG_FILE).is_file()
        })
        .collect();
    paths.sort();
    paths
}

/// Compiles a fixture: a lone file without a directory, or a directory as
/// the server would.
fn compile(fixture: &Path) -> Result<Compiled, Invalid> {
    if fixture.is_dir() {
        return match load_dir(fixture) {
            Ok(compiled) => Ok(compiled),
            Err(LoadError::Invalid(invalid)) => Err(invalid),
            Err(error) => panic!("{}: {error}", fixture.display()),
        };
    }
    let bytes = fs::read(fixture).unwrap_or_else(|e| panic!("{}: {e}", fixture.display()));
    compile_source_in(CONFIG_FILE, &bytes, Some(&files_dir()))
}

fn bless() -> bool {
    std::env::var_os("SWITCHYARD_BLESS").is_some_and(|v| v == "1")
}

/// Compares `actual` with the `.stderr` file beside `conf`; returns a failure line.
fn compare(conf: &Path, actual: &str) -> Option<String> {
    let expected_path = if conf.is_dir() {
        let name = conf
            .file_name()
            .map(|n| n.to_os_string())
            .unwrap_or_default();
        conf.with_file_name(format!("{}.stderr", name.to_string_lossy()))
    } else {
        conf.with_extension("stderr")
    };
    compare_with(&expected_path, conf, actual)
}

fn compare_with(expected_path: &Path, conf: &Path, actual: &str) -> Option<String> {
    if bless() {
        fs::write(expected_path, actual)
            .unwrap_or_else(|e| panic!("{}: {e}", expected_path.display()));
        return None;
    }
    let expected = fs::read_to_string(expected_path).unwrap_or_default();
    (expected != actual).then(|| {
        format!(
            "{}: rendered output differs\n--- expected ---\n{expected}--- actual ---\n{actual}",
            conf.display()
        )
    })
}

#[test]
fn invalid_fixtures_render_exactly_as_expected() {
    let paths = fixtures("invalid");
    assert!(paths.len() >= 40, "only {} invalid fixtures", paths.len());
    let mut failures = Vec::new();
    for conf in &paths {
        match compile(conf) {
            Ok(_) => failures.push(format!("{}: compiled, but must fail", conf.display())),
            Err(invalid) => failures.extend(compare(conf, &invalid.render(false))),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn warning_fixtures_compile_and_warn_exactly_as_expected() {
    let paths = fixtures("warnings");
    assert!(!paths.is_empty());
    let mut failures = Vec::new();
    for conf in &paths {
        match compile(conf) {
            Err(invalid) => failures.push(format!(
                "{}: invalid\n{}",
                conf.display(),
                invalid.render(false)
            )),
            Ok(compiled) if compiled.warnings.is_empty() => {
                failures.push(format!("{}: no warning", conf.display()));
            }
            Ok(compiled) => failures.extend(compare(conf, &compiled.warnings.render(false))),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn valid_fixtures_compile_without_warnings() {
    let paths = fixtures("valid");
    assert!(!paths.is_empty());
    let mut failures = Vec::new();
    for conf in &paths {
        match compile(conf) {
            Err(invalid) => failures.push(format!(
                "{}: invalid\n{}",
                conf.display(),
                invalid.render(false)
            )),
            Ok(compiled) if !compiled.warnings.is_empty() => failures.push(format!(
                "{}: unexpected warnings\n{}",
                conf.display(),
                compiled.warnings.render(false)
            )),
            Ok(compiled) => {
                let tests = conf.with_extension("test");
                if let Ok(bytes) = fs::read(&tests) {
                    let suite = Suite::load(vec![TestSource {
                        name: tests
                            .file_name()
                            .map(|name| name.to_string_lossy().into_owned())
                            .unwrap_or_default(),
                        bytes,
                        too_large: None,
                    }]);
                    let served = compiled.rule_set.prepare();
                    let run = suite::run(&served, &suite);
                    let mut reports = suite.faults.clone();
                    reports.extend(run.reports(&suite, &served));
                    if !reports.is_empty() || suite.is_empty() {
                        failures.push(format!(
                            "{}: tests do not pass\n{}",
                            tests.display(),
                            suite::render(&reports, false)
                        ));
                    }
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

fn test_file_cases() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/test_files");
    let mut cases: Vec<PathBuf> = fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|path| path.is_dir())
        .collect();
    cases.sort();
    cases
}

/// What `validate` prints about a directory of `.test` files run against
/// its own `proxy.conf` (loaded as the server loads one), or else the
/// spec's example config.
fn validate_tests(case: &Path) -> String {
    let compiled = if case.join(CONFIG_FILE).is_file() {
        load_dir(case).unwrap_or_else(|e| panic!("{}: {e:?}", case.display()))
    } else {
        let config =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/valid/spec_example.conf");
        let bytes = fs::read(&config).unwrap_or_else(|e| panic!("{}: {e}", config.display()));
        compile_source(CONFIG_FILE, &bytes).unwrap_or_else(|e| panic!("{e:?}"))
    };
    let gate = suite::gate(&compiled.rule_set, case).unwrap_or_else(|e| panic!("{e}"));
    suite::render(&gate.reports, false)
}

#[test]
fn test_file_fixtures_render_exactly_as_expected() {
    let cases = test_file_cases();
    assert!(cases.len() >= 10, "only {} test-file fixtures", cases.len());
    let mut failures = Vec::new();
    for case in &cases {
        let actual = validate_tests(case);
        if actual.is_empty() {
            failures.push(format!("{}: passed, but must fail", case.display()));
        }
        failures.extend(compare_with(&case.with_extension("stderr"), case, &actual));
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn an_oversized_test_file_is_named_with_its_size() {
    let dir = std::env::temp_dir().join(format!("switchyard-big-test-{}", std::process::id()));
    fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{e}"));
    let size = suite::MAX_TEST_FILE_BYTES as usize + 1;
    fs::write(dir.join("big.test"), vec![b'#'; size]).unwrap_or_else(|e| panic!("{e}"));
    let actual = validate_tests(&dir);
    let _ = fs::remove_dir_all(&dir);
    assert_eq!(
        actual,
        "switchyard::file_too_large\n\n  x big.test is 4194305 bytes; a test file may be at most 4 MiB\n  help: split the tests into several `.test` files\n"
    );
}

#[test]
fn rendered_lines_fit_behind_the_git_remote_prefix() {
    for conf in fixtures("invalid") {
        if let Err(invalid) = compile(&conf) {
            for line in invalid.render(false).lines() {
                // Source lines and the carets under them follow the source;
                // the message, labels' wrapping and help must fit.
                let trimmed = line.trim_start();
                if trimmed.starts_with(':') || line.contains(" | ") || trimmed.starts_with(',') {
                    continue;
                }
                assert!(
                    line.chars().count() <= 72,
                    "{}: line too long: {line}",
                    conf.display()
                );
            }
        }
    }
}

#[test]
fn plain_rendering_has_no_escape_sequences() {
    for conf in fixtures("invalid") {
        if let Err(invalid) = compile(&conf) {
            assert!(
                !invalid.render(false).contains('\u{1b}'),
                "{}",
                conf.display()
            );
        }
    }
}
