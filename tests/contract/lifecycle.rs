//! Contract §2, shutdown: SIGTERM/SIGINT stop accepting, let requests in
//! flight finish, flush the logs and exit 0.

use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use crate::Case;
use crate::client::get;
use crate::logs::{ACCESS_LOG, read_json_log};
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
