//! Contract §2, shutdown: SIGTERM/SIGINT stop accepting, let requests in
//! flight finish, flush the logs and exit 0.

use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use crate::Case;
use crate::client::get;
use crate::logs::{ACCESS_LOG, ERROR_LOG, read_json_log};
use crate::namespace::ORIGIN_A;
use crate::origin::Origin;
use crate::proxy::Proxy;
use crate::world::World;

/// The shutdown cases.
pub fn cases() -> Vec<Case> {
    vec![
        Case::new(
            "sigterm_finishes_the_request_in_flight_and_exits_0",
            sigterm_in_flight,
        ),
        Case::new("sigint_exits_0", sigint_idle),
        Case::new("sigterm_gives_up_after_shutdown_grace", shutdown_grace),
        Case::new("sigusr1_reopens_both_logs", sigusr1_reopen),
        Case::new(
            "restart_after_a_crash_with_stale_run_dir",
            restart_after_crash,
        ),
        Case::new("sighup_reloads_and_rejects_invalid_config", sighup_reload),
    ]
}

fn refuses_connections() -> bool {
    let addr: SocketAddr = ([127, 0, 0, 1], 80).into();
    TcpStream::connect_timeout(&addr, Duration::from_millis(300)).is_err()
}

fn sigterm_in_flight(world: &World) {
    let origin = Origin::start(world, "a", ORIGIN_A);
    let mut proxy = Proxy::start();
    let slow = std::thread::spawn(|| get("/slow/6000", &[]));
    assert!(
        origin.wait_started(1, Duration::from_secs(10)),
        "the slow request never reached the origin"
    );
    proxy.signal("TERM");
    // It stops accepting while the slow request is still running.
    let deadline = Instant::now() + Duration::from_secs(4);
    let mut refused = false;
    while Instant::now() < deadline {
        if refuses_connections() {
            refused = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let got = slow.join().expect("slow client");
    assert_eq!(
        got.status, 200,
        "the request in flight must complete: {got:?}"
    );
    assert_eq!(got.text(), "slow done\n");
    match proxy.wait_exit(Duration::from_secs(30)) {
        Some(status) => assert_eq!(
            status.code(),
            Some(0),
            "exit code after SIGTERM; stderr:\n{}",
            proxy.stderr()
        ),
        None => panic!("no exit within 30 s after the request in flight finished"),
    }
    assert!(
        refused,
        "the server kept accepting new connections after SIGTERM"
    );
    let lines = read_json_log(ACCESS_LOG);
    assert!(
        lines.iter().any(|l| l.get("uri").map(String::as_str) == Some("/slow/6000") && l["status"] == "200"),
        "the finished request was logged and flushed before exit: {lines:?}"
    );
}

fn sigint_idle(world: &World) {
    let _origin = Origin::start(world, "a", ORIGIN_A);
    let mut proxy = Proxy::start();
    assert_eq!(get("/x", &[]).status, 200);
    proxy.signal("INT");
    match proxy.wait_exit(Duration::from_secs(30)) {
        Some(status) => assert_eq!(status.code(), Some(0), "exit code after SIGINT"),
        None => panic!("no exit within 30 s of SIGINT"),
    }
    assert_eq!(
        read_json_log(ACCESS_LOG).len(),
        1,
        "the line was flushed at exit"
    );
}

fn shutdown_grace(world: &World) {
    world.write_config("settings {\n    shutdown_grace 1s\n}\n");
    let origin = Origin::start(world, "a", ORIGIN_A);
    let mut proxy = Proxy::start();
    let slow = std::thread::spawn(|| get("/slow/40000", &[]));
    assert!(origin.wait_started(1, Duration::from_secs(10)));
    proxy.signal("TERM");
    match proxy.wait_exit(Duration::from_secs(20)) {
        Some(status) => assert_eq!(status.code(), Some(0), "exit 0 after the grace period"),
        None => panic!("still running 20 s after SIGTERM with shutdown_grace 1s"),
    }
    let got = slow.join().expect("slow client");
    assert_ne!(got.status, 200, "the 40 s request cannot have completed");
}

/// Waits until `check` holds, at most `limit`.
pub fn eventually(limit: Duration, mut check: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if check() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    false
}

fn sigusr1_reopen(world: &World) {
    let _origin = Origin::start(world, "a", ORIGIN_A);
    let proxy = Proxy::start();
    assert_eq!(get("/before", &[]).status, 200);
    let access_moved = format!("{ACCESS_LOG}.moved");
    let error_moved = format!("{ERROR_LOG}.moved");
    std::fs::rename(ACCESS_LOG, &access_moved).expect("move access.log");
    std::fs::rename(ERROR_LOG, &error_moved).expect("move error.log");
    proxy.signal("USR1");
    assert!(
        eventually(Duration::from_secs(10), || {
            std::path::Path::new(ACCESS_LOG).exists() && std::path::Path::new(ERROR_LOG).exists()
        }),
        "SIGUSR1 did not reopen access.log and error.log by name"
    );
    assert_eq!(get("/after", &[]).status, 200);
    proxy.stop();
    let old = std::fs::read_to_string(&access_moved).expect("old access log");
    let new = std::fs::read_to_string(ACCESS_LOG).expect("new access log");
    assert!(
        old.contains("/before") && !old.contains("/after"),
        "{old:?}"
    );
    assert!(
        new.contains("/after") && !new.contains("/before"),
        "{new:?}"
    );
}

fn generation(got: &crate::client::Curl) -> Option<String> {
    got.header("x-generation").map(str::to_owned)
}

fn sighup_reload(world: &World) {
    world.write_config(&crate::scripts::generation_config(1));
    let _origin = Origin::start(world, "a", ORIGIN_A);
    let mut proxy = Proxy::start();
    assert_eq!(generation(&get("/g", &[])).as_deref(), Some("1"));
    world.write_config(crate::scripts::INVALID_CONFIG);
    let error_before = std::fs::read_to_string(ERROR_LOG).unwrap_or_default().len();
    proxy.signal("HUP");
    assert!(
        eventually(Duration::from_secs(10), || {
            let log = std::fs::read_to_string(ERROR_LOG).unwrap_or_default();
            log.len() > error_before && log[error_before..].contains("proxy.conf")
        }),
        "the rejected config's diagnostics should reach error.log"
    );
    assert!(proxy.alive());
    assert_eq!(
        generation(&get("/g", &[])).as_deref(),
        Some("1"),
        "an invalid config changes nothing"
    );
    world.write_config(&crate::scripts::generation_config(2));
    proxy.signal("HUP");
    assert!(
        eventually(Duration::from_secs(10), || generation(&get("/g", &[]))
            .as_deref()
            == Some("2")),
        "SIGHUP did not load the new config"
    );
    proxy.stop();
}

fn restart_after_crash(world: &World) {
    world.write_config(&crate::scripts::generation_config(1));
    let _origin = Origin::start(world, "a", ORIGIN_A);
    let mut proxy = Proxy::start();
    assert_eq!(get("/x", &[]).status, 200);
    proxy.signal("KILL");
    assert!(proxy.wait_exit(Duration::from_secs(10)).is_some());
    // What the dead server left in /run/switchyard must not confuse anyone.
    world.write_config(&crate::scripts::generation_config(2));
    let out = crate::scripts::run_script("update.sh", &[]);
    assert_eq!(
        out.code,
        Some(0),
        "update.sh with no server running (stale run dir): {out:?}"
    );
    assert_eq!(out.stderr, "", "quietly");
    let out = crate::scripts::run_script("logrotate.sh", &[]);
    assert_eq!(
        out.code,
        Some(0),
        "logrotate.sh with no server running (stale run dir): {out:?}"
    );
    let proxy = Proxy::start();
    assert_eq!(generation(&get("/x", &[])).as_deref(), Some("2"));
    world.write_config(&crate::scripts::generation_config(3));
    let out = crate::scripts::run_script("update.sh", &[]);
    assert_eq!(
        out.code,
        Some(0),
        "update.sh reaches the new server: {out:?}"
    );
    assert_eq!(generation(&get("/x", &[])).as_deref(), Some("3"));
    proxy.stop();
}
