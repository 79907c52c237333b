//! The product's face: every fixture config under `tests/fixtures/` compiled,
//! and its diagnostics compared WHOLE (carets included) with the expected text.
//!
//! - `invalid/NAME.conf` must fail; its rendering must equal `NAME.stderr`.
//! - `warnings/NAME.conf` must compile with warnings equal to `NAME.stderr`.
//! - `valid/NAME.conf` must compile with no warning.
//! - A directory `KIND/NAME/` holding a `proxy.conf` is a whole config
//!   directory (includes, map files), loaded as the server loads one; its
//!   expected text is `KIND/NAME.stderr`.
//!
//! `SWITCHYARD_BLESS=1 cargo test --test diagnostics` rewrites the expected
//! files; review every change by eye before committing it.

use std::fs;
use std::path::{Path, PathBuf};

use switchyard::config::{CONFIG_FILE, Compiled, Invalid, LoadError, compile_source, load_dir};

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
    compile_source(CONFIG_FILE, &bytes)
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
    if bless() {
        fs::write(&expected_path, actual)
            .unwrap_or_else(|e| panic!("{}: {e}", expected_path.display()));
        return None;
    }
    let expected = fs::read_to_string(&expected_path).unwrap_or_default();
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
            Ok(_) => {}
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
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
