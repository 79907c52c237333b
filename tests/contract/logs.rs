//! Contract §3: one access-log line per request with every field (JSON and
//! LTSV), and rotation under load without losing or duplicating a line.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use serde_json::Value;

use crate::Case;
use crate::client::{self, Conn, get, raw_exchange};
use crate::namespace::ORIGIN_A;
use crate::origin::Origin;
use crate::proxy::Proxy;
use crate::scripts::run_script;
use crate::world::World;

/// The log cases.
pub fn cases() -> Vec<Case> {
    vec![
        Case::new(
            "access_log_has_one_json_line_per_request_with_every_field",
            access_log_fields,
        ),
        Case::new("access_log_ltsv", access_log_ltsv),
        Case::new("access_log_off", access_log_off),
        Case::new("start_up_creates_log_and_run_dirs", start_up_dirs),
        Case::long(
            "logrotate_under_load_loses_and_duplicates_nothing",
            rotation_under_load,
        ),
    ]
}

/// The access log's path.
pub const ACCESS_LOG: &str = "/var/log/switchyard/access.log";
/// The error log's path.
pub const ERROR_LOG: &str = "/var/log/switchyard/error.log";

/// The fields of contract §3 that every line carries.
pub const FIELDS: [&str; 14] = [
    "time",
    "client_ip",
    "method",
    "host",
    "uri",
    "status",
    "bytes_sent",
    "duration_ms",
    "upstream_ms",
    "scheme",
    "user_agent",
    "referer",
    "action",
    "rules",
];

/// One access-log line, format-neutral: field name → text (`rules` joined by `,`).
pub type Line = BTreeMap<String, String>;

/// Parses a JSON access-log line, failing on anything that is not one object.
pub fn parse_json_line(text: &str) -> Line {
    let value: Value = serde_json::from_str(text)
        .unwrap_or_else(|e| panic!("access-log line is not JSON ({e}): {text:?}"));
    let object = value
        .as_object()
        .unwrap_or_else(|| panic!("access-log line is not an object: {text:?}"));
    object
        .iter()
        .map(|(k, v)| {
            let text = match v {
                Value::String(s) => s.clone(),
                Value::Array(items) => items
                    .iter()
                    .map(|i| {
                        i.as_str()
                            .map(str::to_owned)
                            .unwrap_or_else(|| i.to_string())
                    })
                    .collect::<Vec<_>>()
                    .join(","),
                Value::Null => "-".to_owned(),
                other => other.to_string(),
            };
            (k.clone(), text)
        })
        .collect()
}

/// Reads every JSON line of a log file (missing file: none).
pub fn read_json_log(path: &str) -> Vec<Line> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(parse_json_line)
        .collect()
}

/// Checks the fields every line must have and their shapes.
pub fn check_common_fields(line: &Line) {
    for field in FIELDS {
        if field == "upstream_ms" {
            continue;
        }
        assert!(
            line.contains_key(field),
            "field {field} missing from {line:?}"
        );
    }
    let time = &line["time"];
    let b = time.as_bytes();
    assert!(
        time.len() >= 24
            && b[4] == b'-'
            && b[10] == b'T'
            && b[19] == b'.'
            && b[20..23].iter().all(u8::is_ascii_digit)
            && (time.ends_with('Z') || time.ends_with("+00:00")),
        "time is not RFC 3339 UTC with milliseconds: {time}"
    );
    for numeric in ["status", "bytes_sent", "duration_ms"] {
        assert!(
            line[numeric].parse::<f64>().is_ok(),
            "{numeric} is not a number: {line:?}"
        );
    }
    // A request too malformed to parse has no scheme (nor method, host) to log.
    let unparsed = line["status"] == "400" && line["action"] == "error";
    assert!(
        ["http", "https"].contains(&line["scheme"].as_str()) || (unparsed && line["scheme"] == "-"),
        "{line:?}"
    );
    assert!(
        ["forward", "redirect", "respond", "error"].contains(&line["action"].as_str()),
        "{line:?}"
    );
}

/// Finds the only line whose field has the value.
pub fn only<'a>(lines: &'a [Line], field: &str, value: &str) -> &'a Line {
    let found: Vec<&Line> = lines
        .iter()
        .filter(|l| l.get(field).map(String::as_str) == Some(value))
        .collect();
    assert_eq!(
        found.len(),
        1,
        "expected one line with {field}={value}, got {found:?} in {lines:?}"
    );
    found[0]
}

fn is_absent_upstream(line: &Line) -> bool {
    line.get("upstream_ms")
        .is_none_or(|v| v == "-" || v.is_empty())
}

fn access_log_fields(world: &World) {
    let origin = Origin::start(world, "a", ORIGIN_A);
    let proxy = Proxy::start();
    let ok = get(
        "/logged/path?q=1",
        &[
            "-A",
            "contract-agent/2.0",
            "-e",
            "http://referer.test/page",
            "-H",
            "Host: logs.test",
        ],
    );
    assert_eq!(ok.status, 200);
    let bad = raw_exchange(b"GET /x HTTP/1.1\r\nHost: logs.test\r\nno colon here\r\n\r\n");
    assert!(bad.starts_with(b"HTTP/1.1 400"));
    origin.stop();
    let down = get(
        "/unreachable",
        &["-H", "Host: logs.test", "-H", "X-Forwarded-Proto: https"],
    );
    assert_eq!(down.status, 502);
    proxy.stop();

    let lines = read_json_log(ACCESS_LOG);
    assert_eq!(lines.len(), 3, "exactly one line per request: {lines:#?}");
    for line in &lines {
        check_common_fields(line);
    }
    let forwarded = only(&lines, "status", "200");
    assert_eq!(forwarded["method"], "GET");
    assert_eq!(forwarded["host"], "logs.test");
    assert_eq!(forwarded["uri"], "/logged/path?q=1");
    assert_eq!(forwarded["client_ip"], "127.0.0.1");
    assert_eq!(
        forwarded["bytes_sent"],
        ok.body.len().to_string(),
        "bytes_sent counts body bytes"
    );
    assert_eq!(forwarded["scheme"], "http");
    assert_eq!(forwarded["user_agent"], "contract-agent/2.0");
    assert_eq!(forwarded["referer"], "http://referer.test/page");
    assert_eq!(forwarded["action"], "forward");
    assert_eq!(forwarded["rules"], "", "no rules fired");
    assert!(
        forwarded
            .get("upstream_ms")
            .is_some_and(|v| v.parse::<f64>().is_ok()),
        "a forwarded request has upstream_ms: {forwarded:?}"
    );

    let malformed = only(&lines, "status", "400");
    assert_eq!(malformed["action"], "error");
    assert!(
        is_absent_upstream(malformed),
        "nothing went upstream for a 400: {malformed:?}"
    );

    let failed = only(&lines, "status", "502");
    assert_eq!(failed["action"], "error");
    assert_eq!(failed["uri"], "/unreachable");
    assert_eq!(failed["scheme"], "https");
    assert_eq!(failed["bytes_sent"], down.body.len().to_string());

    let error_log = std::fs::read_to_string(ERROR_LOG).unwrap_or_default();
    assert!(
        !error_log.trim().is_empty(),
        "the upstream failure should be in error.log"
    );
}

fn access_log_ltsv(world: &World) {
    world.write_config("settings {\n    access_log ltsv\n}\n");
    let _origin = Origin::start(world, "a", ORIGIN_A);
    let proxy = Proxy::start();
    let got = get("/ltsv?x=1", &["-A", "ltsv-agent", "-H", "Host: ltsv.test"]);
    assert_eq!(got.status, 200);
    proxy.stop();
    let text = std::fs::read_to_string(ACCESS_LOG).expect("access.log");
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 1, "{text:?}");
    let line: Line = lines[0]
        .split('\t')
        .map(|pair| {
            let (k, v) = pair
                .split_once(':')
                .unwrap_or_else(|| panic!("not label:value: {pair:?} in {text:?}"));
            (k.to_owned(), v.to_owned())
        })
        .collect();
    for field in FIELDS {
        assert!(
            line.contains_key(field),
            "LTSV label {field} missing: {text:?}"
        );
    }
    check_common_fields(&line);
    assert_eq!(line["uri"], "/ltsv?x=1");
    assert_eq!(line["host"], "ltsv.test");
    assert_eq!(line["user_agent"], "ltsv-agent");
    assert_eq!(line["status"], "200");
    assert_eq!(line["action"], "forward");
}

fn start_up_dirs(_world: &World) {
    assert!(!std::path::Path::new("/var/log/switchyard").exists());
    assert!(!std::path::Path::new("/run/switchyard").exists());
    let proxy = Proxy::start();
    assert!(
        std::path::Path::new(ACCESS_LOG).exists()
            || std::path::Path::new("/var/log/switchyard").is_dir()
    );
    assert!(
        std::path::Path::new(ERROR_LOG).exists(),
        "error.log is created at start-up"
    );
    let error_log = std::fs::read_to_string(ERROR_LOG).unwrap_or_default();
    assert!(
        !error_log.trim().is_empty(),
        "start-up is logged to error.log"
    );
    assert!(
        !proxy.stderr().trim().is_empty(),
        "start-up is logged to stderr too"
    );
    let pid = proxy.pid.to_string();
    let has_pid = std::fs::read_dir("/run/switchyard")
        .expect("/run/switchyard created at start-up")
        .flatten()
        .any(|e| std::fs::read_to_string(e.path()).is_ok_and(|t| t.trim() == pid));
    assert!(has_pid, "no pid file holding {pid} in /run/switchyard");
    proxy.stop();
}

fn rotation_under_load(world: &World) {
    let _origin = Origin::start(world, "a", ORIGIN_A);
    let proxy = Proxy::start();
    let stop = Arc::new(AtomicBool::new(false));
    let failures = Arc::new(AtomicUsize::new(0));
    let mut threads = Vec::new();
    for t in 0..4 {
        let stop = stop.clone();
        let failures = failures.clone();
        threads.push(std::thread::spawn(move || {
            let mut sent = Vec::new();
            let mut conn = Conn::open().expect("connect");
            let mut n = 0;
            while !stop.load(Ordering::SeqCst) && n < 20_000 {
                let id = format!("t{t}-{n}");
                n += 1;
                match conn.roundtrip(&client::get_request(&format!("/rot?id={id}"), "rot.test")) {
                    Ok(r) if r.status == 200 => sent.push(id),
                    Ok(r) => {
                        eprintln!("{id}: status {}", r.status);
                        failures.fetch_add(1, Ordering::SeqCst);
                    }
                    Err(e) => {
                        eprintln!("{id}: {e}");
                        failures.fetch_add(1, Ordering::SeqCst);
                        conn = Conn::open().expect("reconnect");
                    }
                }
            }
            sent
        }));
    }
    std::thread::sleep(Duration::from_millis(300));
    for i in 0..5 {
        let out = run_script("logrotate.sh", &[]);
        assert_eq!(out.code, Some(0), "logrotate.sh run {i}: {out:?}");
        std::thread::sleep(Duration::from_millis(200));
    }
    stop.store(true, Ordering::SeqCst);
    let mut sent: Vec<String> = Vec::new();
    for t in threads {
        sent.extend(t.join().expect("client thread"));
    }
    proxy.stop();

    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    let mut files = 0;
    for suffix in ["".to_owned()]
        .into_iter()
        .chain((1..=24).map(|i| format!(".{i}")))
    {
        let path = format!("{ACCESS_LOG}{suffix}");
        if !std::path::Path::new(&path).exists() {
            continue;
        }
        files += 1;
        for line in read_json_log(&path) {
            let uri = line.get("uri").cloned().unwrap_or_default();
            if let Some(id) = uri.strip_prefix("/rot?id=") {
                *counts.entry(id.to_owned()).or_default() += 1;
            }
        }
    }
    println!(
        "    {} requests by 4 clients across 5 rotations; {} access-log files; {} failed requests",
        sent.len(),
        files,
        failures.load(Ordering::SeqCst)
    );
    assert_eq!(
        failures.load(Ordering::SeqCst),
        0,
        "requests failed during rotation"
    );
    assert!(
        files >= 6,
        "5 rotations should leave access.log and access.log.1 … .5, found {files} files"
    );
    for i in 1..=5 {
        assert!(
            std::path::Path::new(&format!("{ERROR_LOG}.{i}")).exists(),
            "error.log.{i} missing: error.log rotates too"
        );
    }
    let missing: Vec<&String> = sent
        .iter()
        .filter(|id| !counts.contains_key(*id))
        .take(10)
        .collect();
    assert!(
        missing.is_empty(),
        "ids missing from every log file (first 10): {missing:?}"
    );
    let duplicated: Vec<(&String, &usize)> =
        counts.iter().filter(|(_, n)| **n > 1).take(10).collect();
    assert!(
        duplicated.is_empty(),
        "ids logged more than once: {duplicated:?}"
    );
    assert_eq!(counts.len(), sent.len());
}

fn access_log_off(world: &World) {
    world.write_config("settings {\n    access_log off\n}\n");
    let _origin = Origin::start(world, "a", ORIGIN_A);
    let proxy = Proxy::start();
    assert_eq!(get("/quiet", &[]).status, 200);
    assert_eq!(get("/status/404", &[]).status, 404);
    proxy.stop();
    let text = std::fs::read_to_string(ACCESS_LOG).unwrap_or_default();
    assert_eq!(text, "", "access_log off writes no lines");
}
