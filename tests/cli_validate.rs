//! `switchyard validate` and `switchyard check` as the platform and people run
//! them: the real binary, real directories, exit codes and both streams.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use switchyard::config::{CONFIG_FILE, compile_source};

/// A fresh directory under the system temp dir, removed when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> Self {
        let path =
            std::env::temp_dir().join(format!("switchyard-cli-{}-{name}", std::process::id()));
        let _ = fs::remove_dir_all(&path);
        fs::create_dir_all(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        TempDir(path)
    }

    fn with_config(name: &str, text: &[u8]) -> Self {
        let dir = TempDir::new(name);
        fs::write(dir.0.join(CONFIG_FILE), text).unwrap_or_else(|e| panic!("{e}"));
        dir
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

fn run(command: &str, dir: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_switchyard"))
        .arg(command)
        .arg(dir)
        .env_remove("SWITCHYARD_CONFIG_DIR")
        .output()
        .unwrap_or_else(|e| panic!("cannot run switchyard: {e}"))
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

const VALID: &str = "rule force-https {\n    when scheme == \"http\"\n    redirect 301 \"https://{host}{uri}\"\n}\n";
const INVALID: &str = "rule a {\n    when paht == \"/\"\n    redirect 300 \"/x\"\n}\n";
const LOOPING: &str =
    "rule a {\n    when scheme == \"http\"\n    redirect 301 \"http://{host}{uri}\"\n}\n";

#[test]
fn validate_valid_is_silent_with_exit_0() {
    let dir = TempDir::with_config("valid", VALID.as_bytes());
    let out = run("validate", &dir.0);
    assert_eq!(out.status.code(), Some(0));
    assert!(
        out.stdout.is_empty() && out.stderr.is_empty(),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn validate_missing_dir_or_file_is_valid() {
    let dir = TempDir::new("empty");
    let out = run("validate", &dir.0);
    assert_eq!(out.status.code(), Some(0));
    assert!(out.stdout.is_empty() && out.stderr.is_empty());
    let out = run("validate", &dir.0.join("does-not-exist"));
    assert_eq!(out.status.code(), Some(0));
    assert!(out.stdout.is_empty() && out.stderr.is_empty());
}

#[test]
fn validate_invalid_prints_every_diagnostic_with_exit_1() {
    let dir = TempDir::with_config("invalid", INVALID.as_bytes());
    let out = run("validate", &dir.0);
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty());
    let expected = match compile_source(CONFIG_FILE, INVALID.as_bytes()) {
        Err(invalid) => invalid.render(false),
        Ok(_) => panic!("fixture compiled"),
    };
    assert_eq!(text(&out.stderr), expected);
    let stderr = text(&out.stderr);
    assert!(stderr.contains("[proxy.conf:2:10]"), "{stderr}");
    assert!(
        stderr.contains("switchyard::unknown_field")
            && stderr.contains("switchyard::invalid_status")
    );
    assert!(!stderr.contains('\u{1b}'), "colour codes on a pipe");
}

#[test]
fn validate_unreadable_file_exits_2_with_one_line() {
    let dir = TempDir::new("unreadable");
    // A directory where the file should be: it exists but cannot be read.
    fs::create_dir_all(dir.0.join(CONFIG_FILE)).unwrap_or_else(|e| panic!("{e}"));
    let out = run("validate", &dir.0);
    assert_eq!(out.status.code(), Some(2));
    let stderr = text(&out.stderr);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.starts_with("switchyard validate: cannot read "),
        "{stderr}"
    );
}

#[test]
fn validate_never_shows_warnings() {
    let dir = TempDir::with_config("loop-validate", LOOPING.as_bytes());
    let out = run("validate", &dir.0);
    assert_eq!(out.status.code(), Some(0));
    assert!(out.stdout.is_empty() && out.stderr.is_empty());
}

#[test]
fn check_valid_prints_a_summary() {
    let dir = TempDir::with_config("check-valid", VALID.as_bytes());
    let out = run("check", &dir.0);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(text(&out.stdout), "proxy.conf: 1 rule, 0 warnings\n");
    assert!(out.stderr.is_empty());
}

#[test]
fn check_shows_warnings_and_still_exits_0() {
    let dir = TempDir::with_config("check-loop", LOOPING.as_bytes());
    let out = run("check", &dir.0);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(text(&out.stdout), "proxy.conf: 1 rule, 1 warning\n");
    assert!(text(&out.stderr).contains("switchyard::redirect_loop"));
}

#[test]
fn check_invalid_exits_1_with_a_count() {
    let dir = TempDir::with_config("check-invalid", INVALID.as_bytes());
    let out = run("check", &dir.0);
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    assert!(stderr.ends_with("proxy.conf: 2 errors\n"), "{stderr}");
}

#[test]
fn help_explains_the_exit_codes() {
    let out = Command::new(env!("CARGO_BIN_EXE_switchyard"))
        .args(["validate", "--help"])
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    let help = text(&out.stdout);
    assert!(
        help.contains("exit 0") && help.contains("exit 1") && help.contains("exit 2"),
        "{help}"
    );
}
