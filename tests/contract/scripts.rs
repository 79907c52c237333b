//! Contract §4 through the real `/opt/section/*.sh`: validate.sh, update.sh
//! (with and without a server, swaps under load), messagehandler.sh.

use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc;
use std::time::Duration;

use crate::Case;
use crate::client::{self, Conn, get};
use crate::logs::ACCESS_LOG;
use crate::namespace::{self, ORIGIN_A};
use crate::origin::Origin;
use crate::proxy::{IMAGE_PATH, Proxy};
use crate::world::World;

/// The script cases.
pub fn cases() -> Vec<Case> {
    vec![
        Case::new("validate_sh_exit_codes_and_output", validate_sh),
        Case::new("update_sh_without_a_server", update_without_server),
        Case::new(
            "logrotate_sh_without_a_server_keeps_24",
            logrotate_without_server,
        ),
        Case::new("update_sh_new_rules_serve_the_next_request", update_swaps),
        Case::new("update_sh_invalid_config_keeps_old_rules", update_invalid),
        Case::long(
            "update_sh_30_reloads_under_keepalive_load",
            reloads_under_load,
        ),
        Case::new(
            "update_sh_request_in_flight_keeps_its_rule_set",
            in_flight_keeps_rule_set,
        ),
        Case::new(
            "update_sh_fails_when_the_server_does_not_confirm",
            update_unconfirmed,
        ),
        Case::new("settings_take_effect_on_reload", settings_on_reload),
        Case::new("messagehandler_sh_reload", message_reload),
        Case::new("messagehandler_sh_reopen_logs", message_reopen_logs),
        Case::new("messagehandler_sh_log_level", message_log_level),
        Case::new(
            "messagehandler_sh_unknown_message_changes_nothing",
            message_unknown,
        ),
    ]
}

/// What a script did.
#[derive(Debug)]
pub struct ScriptOutput {
    /// Exit code (None: killed by a signal).
    pub code: Option<i32>,
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
}

/// Runs `/opt/section/NAME ARGS…` as the platform does (PATH only), at most 30 s.
pub fn run_script(name: &str, args: &[&str]) -> ScriptOutput {
    let path = format!("/opt/section/{name}");
    let child = Command::new(&path)
        .args(args)
        .env_clear()
        .env("PATH", IMAGE_PATH)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("run {path}: {e}"));
    let pid = child.id();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    match rx.recv_timeout(Duration::from_secs(30)) {
        Ok(Ok(out)) => ScriptOutput {
            code: out.status.code(),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        },
        Ok(Err(e)) => panic!("{path}: {e}"),
        Err(_) => {
            crate::proxy::send_signal(pid, "KILL");
            panic!("{path} {args:?} did not finish within 30 s");
        }
    }
}

/// A config with one rule that stamps every response with its generation.
pub fn generation_config(generation: usize) -> String {
    format!(
        "# generation {generation}\nrule generation {{\n    response header set X-Generation \"{generation}\"\n}}\n"
    )
}

/// A config the compiler must reject (an unknown field on line 3).
pub const INVALID_CONFIG: &str = "# broken on purpose\nrule broken {\n    when nosuchfield == \"x\"\n    respond 200 \"never\"\n}\n";

fn assert_quiet_success(out: &ScriptOutput, what: &str) {
    assert_eq!(out.code, Some(0), "{what}: {out:?}");
    assert_eq!(out.stdout, "", "{what}: stdout must be empty");
    assert_eq!(out.stderr, "", "{what}: stderr must be empty");
}

fn validate_sh(world: &World) {
    namespace::remove_config_dir().expect("remove /opt/proxy_config");
    assert_quiet_success(
        &run_script("validate.sh", &[]),
        "validate.sh with no /opt/proxy_config",
    );
    namespace::mount_config_dir().expect("mount /opt/proxy_config again");
    assert_quiet_success(
        &run_script("validate.sh", &[]),
        "validate.sh with no proxy.conf",
    );

    world.write_config(
        "settings {\n    access_log json\n    upstream_connect_timeout 2s\n}\n\n\
         rule force-https {\n    when scheme == \"http\" and not path ^= \"/health\"\n    redirect 301 \"https://{host}{uri}\"\n}\n\n\
         rule old-blog {\n    when path ~ \"^/blog/(?<year>[0-9]{4})/([^/]+)/?$\"\n    redirect 308 \"/articles/{year}/{2}\"\n}\n",
    );
    assert_quiet_success(
        &run_script("validate.sh", &[]),
        "validate.sh with a valid proxy.conf",
    );

    world.write_config(INVALID_CONFIG);
    let out = run_script("validate.sh", &[]);
    assert_eq!(out.code, Some(1), "invalid config: {out:?}");
    assert!(
        out.stderr.contains("proxy.conf"),
        "the diagnostic names the file:\n{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("proxy.conf:3:"),
        "the diagnostic gives line 3 and a column:\n{}",
        out.stderr
    );
    assert!(
        out.stderr.contains('^'),
        "a caret under the fault:\n{}",
        out.stderr
    );
    assert!(
        !out.stderr.contains('\x1b'),
        "no colour codes when stderr is not a terminal:\n{}",
        out.stderr
    );

    // Every semantic error of the file in one run.
    world.write_config(
        "rule one {\n    when nosuchfield == \"x\"\n    respond 200\n}\n\nrule two {\n    redirect 999 \"/x\"\n}\n",
    );
    let out = run_script("validate.sh", &[]);
    assert_eq!(out.code, Some(1), "{out:?}");
    assert!(
        out.stderr.contains("proxy.conf:2:") && out.stderr.contains("proxy.conf:7:"),
        "both errors (lines 2 and 7) in one run:\n{}",
        out.stderr
    );
}

fn update_without_server(world: &World) {
    world.write_config(&generation_config(1));
    assert_quiet_success(
        &run_script("update.sh", &[]),
        "update.sh with a valid config and no server",
    );
    world.write_config(INVALID_CONFIG);
    let out = run_script("update.sh", &[]);
    assert_eq!(
        out.code,
        Some(1),
        "update.sh validates first, even with no server: {out:?}"
    );
    assert!(out.stderr.contains("proxy.conf"), "{}", out.stderr);
}

fn generation_of(got: &client::Curl) -> Option<String> {
    got.header("x-generation").map(str::to_owned)
}

fn update_swaps(world: &World) {
    world.write_config(&generation_config(1));
    let _origin = Origin::start(world, "a", ORIGIN_A);
    let proxy = Proxy::start();
    assert_eq!(generation_of(&get("/gen", &[])).as_deref(), Some("1"));
    // A kept-alive connection must see the new rules too, on its next request.
    let mut conn = Conn::open().expect("connect");
    for generation in 2..=6 {
        world.write_config(&generation_config(generation));
        let out = run_script("update.sh", &[]);
        assert_eq!(
            out.code,
            Some(0),
            "update.sh to generation {generation}: {out:?}"
        );
        let got = get("/gen", &[]);
        assert_eq!(
            generation_of(&got),
            Some(generation.to_string()),
            "the very next request after update.sh"
        );
        let kept = conn
            .roundtrip(&client::get_request("/gen", "gen.test"))
            .expect("kept-alive request");
        assert_eq!(
            kept.header("x-generation"),
            Some(generation.to_string().as_str()),
            "kept-alive connection"
        );
    }
    proxy.stop();
}

fn update_invalid(world: &World) {
    world.write_config(&generation_config(1));
    let _origin = Origin::start(world, "a", ORIGIN_A);
    let mut proxy = Proxy::start();
    world.write_config(INVALID_CONFIG);
    let out = run_script("update.sh", &[]);
    assert_eq!(out.code, Some(1), "{out:?}");
    assert!(
        out.stderr.contains("proxy.conf"),
        "the reason is on stderr: {}",
        out.stderr
    );
    assert!(proxy.alive());
    let got = get("/gen", &[]);
    assert_eq!(got.status, 200);
    assert_eq!(
        generation_of(&got).as_deref(),
        Some("1"),
        "old rules are still served"
    );
    // A valid one afterwards still goes in.
    world.write_config(&generation_config(2));
    assert_eq!(run_script("update.sh", &[]).code, Some(0));
    assert_eq!(generation_of(&get("/gen", &[])).as_deref(), Some("2"));
    proxy.stop();
}

fn reloads_under_load(world: &World) {
    world.write_config(&generation_config(0));
    let _origin = Origin::start(world, "a", ORIGIN_A);
    let proxy = Proxy::start();
    let stop = Arc::new(AtomicBool::new(false));
    let (ok, failed, conn_errors, stale) = (
        Arc::new(AtomicUsize::new(0)),
        Arc::new(AtomicUsize::new(0)),
        Arc::new(AtomicUsize::new(0)),
        Arc::new(AtomicUsize::new(0)),
    );
    // The generation the last update.sh confirmed: a request sent after that
    // must be answered by that generation or a newer one.
    let confirmed = Arc::new(AtomicUsize::new(0));
    let mut threads = Vec::new();
    for t in 0..4 {
        let (stop, ok, failed, conn_errors, stale, confirmed) = (
            stop.clone(),
            ok.clone(),
            failed.clone(),
            conn_errors.clone(),
            stale.clone(),
            confirmed.clone(),
        );
        threads.push(std::thread::spawn(move || {
            let mut conn = Conn::open().expect("connect");
            let mut n = 0;
            while !stop.load(Ordering::SeqCst) && n < 50_000 {
                n += 1;
                let at_least = confirmed.load(Ordering::SeqCst);
                match conn.roundtrip(&client::get_request(
                    &format!("/load?t={t}&n={n}"),
                    "load.test",
                )) {
                    Ok(r) if r.status == 200 && r.header("x-generation").is_some() => {
                        ok.fetch_add(1, Ordering::SeqCst);
                        let served: usize = r
                            .header("x-generation")
                            .and_then(|g| g.parse().ok())
                            .unwrap_or(0);
                        if served < at_least {
                            eprintln!(
                                "t{t} n{n}: generation {served} after {at_least} was confirmed"
                            );
                            stale.fetch_add(1, Ordering::SeqCst);
                        }
                        if r.closes() {
                            conn_errors.fetch_add(1, Ordering::SeqCst);
                            conn = Conn::open().expect("reconnect");
                        }
                    }
                    Ok(r) => {
                        eprintln!("t{t} n{n}: {}", r.head);
                        failed.fetch_add(1, Ordering::SeqCst);
                    }
                    Err(e) => {
                        eprintln!("t{t} n{n}: {e}");
                        conn_errors.fetch_add(1, Ordering::SeqCst);
                        conn = Conn::open().expect("reconnect");
                    }
                }
            }
        }));
    }
    let mut reload_failures = Vec::new();
    for generation in 1..=30 {
        world.write_config(&generation_config(generation));
        let out = run_script("update.sh", &[]);
        if out.code == Some(0) {
            confirmed.store(generation, Ordering::SeqCst);
        } else {
            reload_failures.push((generation, out));
        }
    }
    stop.store(true, Ordering::SeqCst);
    for t in threads {
        t.join().expect("client thread");
    }
    let last = get("/after", &[]);
    println!(
        "    30 reloads ({} failed) under 4 keep-alive clients: {} requests ok, {} failed, {} connection errors, {} served by an older rule set after update.sh returned",
        reload_failures.len(),
        ok.load(Ordering::SeqCst),
        failed.load(Ordering::SeqCst),
        conn_errors.load(Ordering::SeqCst),
        stale.load(Ordering::SeqCst)
    );
    assert!(
        reload_failures.is_empty(),
        "update.sh failed: {reload_failures:?}"
    );
    assert_eq!(
        failed.load(Ordering::SeqCst),
        0,
        "failed requests during reloads"
    );
    assert_eq!(
        conn_errors.load(Ordering::SeqCst),
        0,
        "connections dropped during reloads"
    );
    assert_eq!(
        stale.load(Ordering::SeqCst),
        0,
        "requests started after update.sh returned were served by an older rule set"
    );
    assert!(ok.load(Ordering::SeqCst) > 30, "the load did not run");
    assert_eq!(generation_of(&last).as_deref(), Some("30"));
    proxy.stop();
}

fn message_reload(world: &World) {
    world.write_config(&generation_config(1));
    let _origin = Origin::start(world, "a", ORIGIN_A);
    let proxy = Proxy::start();
    world.write_config(&generation_config(2));
    let out = run_script("messagehandler.sh", &["reload", ""]);
    assert_eq!(out.code, Some(0), "{out:?}");
    assert_eq!(generation_of(&get("/gen", &[])).as_deref(), Some("2"));
    world.write_config(&generation_config(3));
    let out = run_script("messagehandler.sh", &["reload"]);
    assert_eq!(out.code, Some(0), "reload with no $2 at all: {out:?}");
    assert_eq!(generation_of(&get("/gen", &[])).as_deref(), Some("3"));
    world.write_config(INVALID_CONFIG);
    let out = run_script("messagehandler.sh", &["reload", ""]);
    assert_eq!(
        out.code,
        Some(1),
        "reload of an invalid config fails like update.sh: {out:?}"
    );
    assert_eq!(generation_of(&get("/gen", &[])).as_deref(), Some("3"));
    proxy.stop();
}

fn message_reopen_logs(world: &World) {
    let _origin = Origin::start(world, "a", ORIGIN_A);
    let proxy = Proxy::start();
    assert_eq!(get("/before", &[]).status, 200);
    let moved = format!("{ACCESS_LOG}.moved");
    std::fs::rename(ACCESS_LOG, &moved).expect("move access.log away");
    let out = run_script("messagehandler.sh", &["reopen-logs", ""]);
    assert_eq!(out.code, Some(0), "{out:?}");
    assert_eq!(get("/after", &[]).status, 200);
    proxy.stop();
    let old = std::fs::read_to_string(&moved).expect("moved log");
    let new = std::fs::read_to_string(ACCESS_LOG).expect("a new access.log after reopen-logs");
    assert!(
        old.contains("/before") && !old.contains("/after"),
        "old file: {old:?}"
    );
    assert!(
        new.contains("/after") && !new.contains("/before"),
        "new file: {new:?}"
    );
}

fn message_log_level(world: &World) {
    let _origin = Origin::start(world, "a", ORIGIN_A);
    let mut proxy = Proxy::start();
    for level in ["debug", "trace", "warn", "error", "info"] {
        let out = run_script("messagehandler.sh", &["log-level", level]);
        assert_eq!(out.code, Some(0), "log-level {level}: {out:?}");
    }
    for bad in [
        vec!["log-level", "loud"],
        vec!["log-level", ""],
        vec!["log-level"],
    ] {
        let out = run_script("messagehandler.sh", &bad);
        assert_eq!(out.code, Some(1), "{bad:?}: {out:?}");
        assert!(
            !out.stderr.trim().is_empty(),
            "{bad:?}: the reason goes to stderr"
        );
    }
    assert!(proxy.alive());
    assert_eq!(get("/still", &[]).status, 200);

    // The level really changes: debug lines appear only while it is debug.
    let debug_lines = || {
        std::fs::read_to_string(crate::logs::ERROR_LOG)
            .unwrap_or_default()
            .lines()
            .filter(|l| l.contains("DEBUG"))
            .count()
    };
    activity();
    let at_info = debug_lines();
    assert_eq!(at_info, 0, "no DEBUG lines at level info");
    assert_eq!(
        run_script("messagehandler.sh", &["log-level", "debug"]).code,
        Some(0)
    );
    activity();
    let at_debug = debug_lines();
    assert!(
        at_debug > 0,
        "log-level debug did not make the server log at debug"
    );
    assert_eq!(
        run_script("messagehandler.sh", &["log-level", "info"]).code,
        Some(0)
    );
    activity();
    assert_eq!(debug_lines(), at_debug, "back at info, no new DEBUG lines");
    proxy.stop();
}

/// Things the server notes at debug level: a connection that ends in an
/// error, a websocket tunnel that closes.
fn activity() {
    let _ =
        crate::client::raw_exchange(b"GET /x HTTP/1.1\r\nHost: d.test\r\nbroken header\r\n\r\n");
    let mut conn = Conn::open().expect("connect");
    let handshake = "GET /ws HTTP/1.1\r\nHost: ws.test\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
        Sec-WebSocket-Key: Y29udHJhY3QtdGVzdHMtMDE=\r\nSec-WebSocket-Version: 13\r\n\r\n";
    conn.send(handshake.as_bytes()).expect("handshake");
    let response = conn.read_response(false).expect("101");
    assert_eq!(response.status, 101);
    let close = crate::websocket::Frame {
        opcode: 8,
        payload: vec![3, 232],
    };
    crate::websocket::send(conn.stream().get_mut(), &close, [1, 2, 3, 4]).expect("close");
    let _ = crate::websocket::receive(conn.stream());
    drop(conn);
    std::thread::sleep(Duration::from_millis(300));
}

fn message_unknown(world: &World) {
    world.write_config(&generation_config(1));
    let _origin = Origin::start(world, "a", ORIGIN_A);
    let mut proxy = Proxy::start();
    assert_eq!(generation_of(&get("/gen", &[])).as_deref(), Some("1"));
    // A new config is on disk but nobody asked for a reload.
    world.write_config(&generation_config(2));
    for message in [
        vec!["frobnicate", "now"],
        vec!["frobnicate"],
        vec!["", ""],
        vec!["reopen-logs-please", ""],
    ] {
        let out = run_script("messagehandler.sh", &message);
        assert_eq!(out.code, Some(1), "{message:?}: {out:?}");
        assert!(
            !out.stderr.trim().is_empty(),
            "{message:?}: the reason goes to stderr"
        );
    }
    assert!(proxy.alive());
    assert_eq!(
        generation_of(&get("/gen", &[])).as_deref(),
        Some("1"),
        "an unknown message must not reload"
    );
    assert!(
        !std::path::Path::new(&format!("{ACCESS_LOG}.1")).exists(),
        "nor rotate"
    );
    proxy.stop();
}

fn logrotate_without_server(_world: &World) {
    std::fs::create_dir_all("/var/log/switchyard").expect("log dir");
    for i in 0..26 {
        std::fs::write(ACCESS_LOG, format!("access {i}\n")).expect("write access.log");
        std::fs::write(crate::logs::ERROR_LOG, format!("error {i}\n")).expect("write error.log");
        let out = run_script("logrotate.sh", &[]);
        assert_eq!(out.code, Some(0), "rotation {i} with no server: {out:?}");
    }
    let read = |p: String| std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{p}: {e}"));
    assert_eq!(read(format!("{ACCESS_LOG}.1")), "access 25\n");
    assert_eq!(read(format!("{ACCESS_LOG}.2")), "access 24\n");
    assert_eq!(read(format!("{ACCESS_LOG}.24")), "access 2\n");
    assert_eq!(read(format!("{}.24", crate::logs::ERROR_LOG)), "error 2\n");
    assert!(
        !std::path::Path::new(&format!("{ACCESS_LOG}.25")).exists(),
        "only 24 are kept"
    );
    assert!(!std::path::Path::new(&format!("{}.25", crate::logs::ERROR_LOG)).exists());
}

fn in_flight_keeps_rule_set(world: &World) {
    world.write_config(&generation_config(1));
    let origin = Origin::start(world, "a", ORIGIN_A);
    let proxy = Proxy::start();
    let slow = std::thread::spawn(|| get("/slow/3000", &[]));
    assert!(
        origin.wait_started(1, Duration::from_secs(10)),
        "the slow request never arrived"
    );
    world.write_config(&generation_config(2));
    let out = run_script("update.sh", &[]);
    assert_eq!(out.code, Some(0), "{out:?}");
    assert_eq!(generation_of(&get("/new", &[])).as_deref(), Some("2"));
    let got = slow.join().expect("slow client");
    assert_eq!(got.status, 200);
    assert_eq!(
        generation_of(&got).as_deref(),
        Some("1"),
        "a request in flight finishes under the rule set it started with"
    );
    proxy.stop();
}

fn update_unconfirmed(world: &World) {
    world.write_config(&generation_config(1));
    let _origin = Origin::start(world, "a", ORIGIN_A);
    let proxy = Proxy::start();
    world.write_config(&generation_config(2));
    proxy.signal("STOP");
    let started = std::time::Instant::now();
    let out = run_script("update.sh", &[]);
    let took = started.elapsed();
    proxy.signal("CONT");
    println!(
        "    update.sh against a stopped server: exit {:?} after {took:?}",
        out.code
    );
    assert_ne!(
        out.code,
        Some(0),
        "update.sh must not claim success the server did not confirm: {out:?}"
    );
    assert!(!out.stderr.trim().is_empty(), "the reason goes to stderr");
    proxy.stop();
}

fn settings_on_reload(world: &World) {
    world.write_config("rule tag {\n    response header set X-Tag \"json\"\n}\n");
    let origin = Origin::start(world, "a", ORIGIN_A);
    let proxy = Proxy::start();
    assert_eq!(get("/before", &[]).status, 200);
    world.write_config(
        "settings {\n    access_log ltsv\n    upstream_response_timeout 1s\n}\n\nrule tag {\n    response header set X-Tag \"ltsv\"\n}\n",
    );
    let out = run_script("update.sh", &[]);
    assert_eq!(out.code, Some(0), "{out:?}");
    let got = get("/after", &[]);
    assert_eq!(got.header("x-tag"), Some("ltsv"));
    let slow = get("/slow/4000", &[]);
    assert_eq!(
        slow.status, 504,
        "upstream_response_timeout from the reloaded config"
    );
    assert!(origin.wait_started(3, Duration::from_secs(5)));
    proxy.stop();
    let text = std::fs::read_to_string(ACCESS_LOG).expect("access.log");
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 3, "{text}");
    assert!(
        lines[0].starts_with('{') && lines[0].contains("/before"),
        "JSON before the reload: {}",
        lines[0]
    );
    assert!(
        lines[1].contains("uri:/after") && lines[1].contains('\t') && !lines[1].starts_with('{'),
        "LTSV after the reload, without a restart: {}",
        lines[1]
    );
    assert!(lines[2].contains("status:504"), "{}", lines[2]);
}
