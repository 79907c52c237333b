//! `switchyard test` and the tests `validate` and `check` run, as people and
//! CI systems see them: the real binary over real directories, both streams
//! and the exit code (spec §16, contract §5).

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// A config directory under the system temp dir, removed when dropped.
struct ConfigDir(PathBuf);

impl ConfigDir {
    fn new(name: &str, files: &[(&str, &str)]) -> Self {
        let path =
            std::env::temp_dir().join(format!("switchyard-test-{}-{name}", std::process::id()));
        let _ = fs::remove_dir_all(&path);
        fs::create_dir_all(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        for (file, text) in files {
            let file = path.join(file);
            if let Some(parent) = file.parent() {
                fs::create_dir_all(parent).unwrap_or_else(|e| panic!("{e}"));
            }
            fs::write(file, text).unwrap_or_else(|e| panic!("{e}"));
        }
        ConfigDir(path)
    }
}

impl Drop for ConfigDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

fn run(args: &[&str], dir: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_switchyard"))
        .args(args)
        .arg(dir)
        .env_remove("SWITCHYARD_CONFIG_DIR")
        .env("NO_COLOR", "1")
        .output()
        .unwrap_or_else(|e| panic!("cannot run switchyard: {e}"))
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

const CONFIG: &str = r#"rule force-https {
    when scheme == "http"
    redirect 301 "https://{host}{uri}"
}

rule old-blog {
    when path ~ "^/blog/(?<year>[0-9]{4})/([^/]+)/?$"
    redirect 308 "/articles/{year}/{2}"
}

rule admin-only-inside {
    when path ^= "/admin" and not client_ip in ["10.0.0.0/8"]
    respond 403 "Forbidden\n"
}
"#;

const PASSING: &str = r#"test "old blog posts move" {
    request GET "https://example.test/blog/2019/hello"
    expect redirect 308 "/articles/2019/hello"
}
"#;

const FAILING: &str = r#"test "old blog posts move" {
    request GET "https://example.test/blog/2019/hello"
    expect redirect 301 "/articles/2019/hello"
}

test "home page is forwarded" {
    request GET "https://example.test/"
    expect forward "/"
    expect rules []
}
"#;

#[test]
fn test_prints_a_line_a_test_the_failures_the_counts_and_the_unfired_rules() {
    let dir = ConfigDir::new("failing", &[("proxy.conf", CONFIG), ("site.test", FAILING)]);
    let out = run(&["test"], &dir.0);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert_eq!(text(&out.stderr), "");
    let expected = r#"FAIL  site.test:1:6  old blog posts move
ok    site.test:6:6  home page is forwarded

failures:

switchyard::test_failed

  x test "old blog posts move" failed: expected a redirect 301 to
  | "/articles/2019/hello", got a redirect 308 to
  | "/articles/2019/hello"
   ,-[site.test:3:5]
 2 |     request GET "https://example.test/blog/2019/hello"
 3 |     expect redirect 301 "/articles/2019/hello"
   :     ^^^^^^^^^^^^^^^^^^^^^|^^^^^^^^^^^^^^^^^^^^
   :                          `-- this expectation does not hold
 4 | }
   `----
  help: rules that fired: old-blog; `switchyard explain` shows why

1 passed, 1 failed
rules no test made fire (2): force-https, admin-only-inside
"#;
    assert_eq!(text(&out.stdout), expected);
}

const RESPONSE_CONFIG: &str = r#"rule security-headers {
    response header set X-Content-Type-Options "nosniff"
}

rule friendly-errors on response {
    when status in [502, 503, 504]
    respond 503 file "errors/down.html"
}
"#;

const RESPONSE_TESTS: &str = r#"test "down page when the upstream fails" {
    request GET "https://example.test/"
    upstream 502
    expect status 503
    expect response header Content-Type "text/html; charset=utf-8"
    expect forward "/"
    expect rules ["security-headers", "friendly-errors"]
}

test "the app's 504 reaches the client" {
    request GET "/"
    upstream 504
    expect status 504
}
"#;

#[test]
fn test_runs_response_rules_on_the_upstream_lines_answer() {
    let dir = ConfigDir::new(
        "response",
        &[
            ("proxy.conf", RESPONSE_CONFIG),
            ("errors/down.html", "<h1>down</h1>\n"),
            ("site.test", RESPONSE_TESTS),
        ],
    );
    let out = run(&["test"], &dir.0);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert_eq!(text(&out.stderr), "");
    let expected = r#"ok    site.test:1:6   down page when the upstream fails
FAIL  site.test:10:6  the app's 504 reaches the client

failures:

switchyard::test_failed

  x test "the app's 504 reaches the client" failed: expected status
  | 504, got 503 from a rule's `respond`
    ,-[site.test:13:5]
 12 |     upstream 504
 13 |     expect status 504
    :     ^^^^^^^^|^^^^^^^^
    :             `-- this expectation does not hold
 14 | }
    `----
  help: rules that fired: security-headers, friendly-errors;
        `switchyard explain` shows why

1 passed, 1 failed
every rule fired in at least one test
"#;
    assert_eq!(text(&out.stdout), expected);
}

#[test]
fn test_passes_with_exit_0_and_no_test_file_is_zero_tests() {
    let dir = ConfigDir::new("passing", &[("proxy.conf", CONFIG), ("site.test", PASSING)]);
    let out = run(&["test"], &dir.0);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
    assert!(text(&out.stdout).contains("\n1 passed, 0 failed\n"));

    let empty = ConfigDir::new("none", &[("proxy.conf", CONFIG)]);
    let out = run(&["test"], &empty.0);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(
        text(&out.stdout),
        "0 passed, 0 failed\nrules no test made fire (3): force-https, old-blog, admin-only-inside\n"
    );
}

#[test]
fn test_json_is_one_object_for_ci() {
    let dir = ConfigDir::new("json", &[("proxy.conf", CONFIG), ("site.test", FAILING)]);
    let out = run(&["test", "--json"], &dir.0);
    assert_eq!(out.status.code(), Some(1));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", text(&out.stdout)));
    assert_eq!(json["passed"], 1);
    assert_eq!(json["failed"], 1);
    assert_eq!(json["tests"][0]["name"], "old blog posts move");
    assert_eq!(json["tests"][0]["file"], "site.test");
    assert_eq!(json["tests"][0]["line"], 1);
    assert_eq!(json["tests"][0]["passed"], false);
    assert_eq!(json["tests"][0]["fired"], serde_json::json!(["old-blog"]));
    let failure = &json["tests"][0]["failures"][0];
    assert_eq!(failure["line"], 3);
    assert_eq!(failure["column"], 5);
    assert_eq!(failure["code"], "switchyard::test_failed");
    assert_eq!(
        failure["expected"],
        "a redirect 301 to \"/articles/2019/hello\""
    );
    assert_eq!(
        failure["actual"],
        "a redirect 308 to \"/articles/2019/hello\""
    );
    assert_eq!(json["tests"][1]["passed"], true);
    assert_eq!(
        json["unfired_rules"],
        serde_json::json!(["force-https", "admin-only-inside"])
    );
    assert_eq!(json["errors"], serde_json::json!([]));
}

#[test]
fn test_reports_a_config_that_does_not_compile_and_a_broken_test_file() {
    let dir = ConfigDir::new(
        "invalid",
        &[(
            "proxy.conf",
            "rule a {\n  when paht == \"/\"\n  respond 200\n}\n",
        )],
    );
    let out = run(&["test"], &dir.0);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("switchyard::unknown_field"));
    let out = run(&["test", "--json"], &dir.0);
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
    assert_eq!(json["errors"][0]["code"], "switchyard::unknown_field");
    assert_eq!(json["errors"][0]["file"], "proxy.conf");
    assert_eq!(json["errors"][0]["line"], 2);

    let dir = ConfigDir::new(
        "broken",
        &[
            ("proxy.conf", CONFIG),
            ("a.test", "test \"x\" {\n  requets GET \"/\"\n}\n"),
            ("b.test", PASSING),
        ],
    );
    let out = run(&["test"], &dir.0);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("[a.test:2:3]"),
        "{}",
        text(&out.stderr)
    );
    assert!(text(&out.stdout).contains("1 passed, 0 failed"));
}

#[test]
fn validate_refuses_a_failing_test_and_is_silent_when_tests_pass() {
    let dir = ConfigDir::new(
        "validate",
        &[("proxy.conf", CONFIG), ("site.test", FAILING)],
    );
    let out = run(&["validate"], &dir.0);
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty());
    let stderr = text(&out.stderr);
    assert!(stderr.contains("switchyard::test_failed"), "{stderr}");
    assert!(stderr.contains("[site.test:3:5]"), "{stderr}");

    let dir = ConfigDir::new(
        "validate-ok",
        &[("proxy.conf", CONFIG), ("site.test", PASSING)],
    );
    let out = run(&["validate"], &dir.0);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(out.stdout.is_empty() && out.stderr.is_empty());
}

#[test]
fn check_counts_the_tests_in_its_summary() {
    let dir = ConfigDir::new("check", &[("proxy.conf", CONFIG), ("site.test", PASSING)]);
    let out = run(&["check"], &dir.0);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(
        text(&out.stdout),
        "proxy.conf: 3 rules, 0 warnings; 1 test passed\n"
    );

    let dir = ConfigDir::new(
        "check-fail",
        &[("proxy.conf", CONFIG), ("site.test", FAILING)],
    );
    let out = run(&["check"], &dir.0);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).ends_with("*.test: 1 error\n"),
        "{}",
        text(&out.stderr)
    );
}
