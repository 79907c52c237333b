//! Contract §2, when the next hop is down, slow or moves: 502 and recovery,
//! 504, a black hole or an unresolvable name, and re-resolution of `next-hop`
//! after `/etc/hosts` changes. A next hop that answers badly is in
//! `broken_upstreams.rs`.

use crate::Case;
use crate::client::get;
use crate::namespace::{ORIGIN_A, ORIGIN_B, point_next_hop};
use crate::origin::{Options, Origin};
use crate::proxy::Proxy;
use crate::world::World;

/// The failure cases.
pub fn cases() -> Vec<Case> {
    vec![
        Case::new(
            "next_hop_down_gives_502_then_recovers",
            bad_gateway_then_recovery,
        ),
        Case::new("next_hop_too_slow_gives_504", gateway_timeout),
        Case::new(
            "next_hop_is_resolved_again_after_hosts_change",
            re_resolution,
        ),
        Case::new(
            "next_hop_unreachable_or_unresolvable_gives_502",
            unreachable,
        ),
    ]
}

/// Asserts the proxy answered `status` itself: no origin header, a short
/// `text/plain` body.
pub fn assert_generated(got: &crate::client::Curl, status: u16) {
    assert_eq!(got.status, status, "{got:?}");
    assert_eq!(
        got.header("x-origin"),
        None,
        "{status} must be the proxy's own answer"
    );
    assert!(
        got.header("content-type")
            .is_some_and(|v| v.starts_with("text/plain")),
        "{status} should be text/plain: {:?}",
        got.headers
    );
    assert!(
        !got.body.is_empty() && got.body.len() < 1024,
        "{status} should have a short body: {:?}",
        got.text()
    );
}

fn bad_gateway_then_recovery(world: &World) {
    let proxy = Proxy::start();
    for round in 0..2 {
        assert_generated(&get("/down", &[]), 502);
        let origin = Origin::start(world, "a", ORIGIN_A);
        for _ in 0..3 {
            let got = get("/up", &[]);
            assert_eq!(
                got.status, 200,
                "round {round}: the proxy did not recover once the origin came back"
            );
            assert_eq!(got.header("x-origin"), Some("a"));
        }
        origin.stop();
    }
    assert_generated(&get("/down-again", &[]), 502);
    proxy.stop();
}

fn gateway_timeout(world: &World) {
    world.write_config("settings {\n    upstream_response_timeout 1s\n}\n");
    let origin = Origin::start(world, "a", ORIGIN_A);
    let proxy = Proxy::start();
    assert_generated(&get("/slow/4000", &[]), 504);
    assert!(origin.wait_started(1, std::time::Duration::from_secs(5)));
    let fast = get("/fast", &[]);
    assert_eq!(fast.status, 200, "the proxy serves on after a 504");
    proxy.stop();
}

fn re_resolution(world: &World) {
    let closing = Options { close_each: true };
    let _a = Origin::start_with(world, "a", ORIGIN_A, closing);
    let _b = Origin::start_with(world, "b", ORIGIN_B, closing);
    let proxy = Proxy::start();
    for _ in 0..3 {
        assert_eq!(get("/where", &[]).header("x-origin"), Some("a"));
    }
    point_next_hop(ORIGIN_B).expect("edit /etc/hosts");
    for i in 0..5 {
        let got = get("/where", &[]);
        assert_eq!(got.status, 200);
        assert_eq!(
            got.header("x-origin"),
            Some("b"),
            "request {i} after next-hop moved to {ORIGIN_B} still went to the old address"
        );
    }
    point_next_hop(ORIGIN_A).expect("edit /etc/hosts");
    assert_eq!(
        get("/where", &[]).header("x-origin"),
        Some("a"),
        "and back again"
    );
    proxy.stop();
}

fn unreachable(world: &World) {
    world.write_config("settings {\n    upstream_connect_timeout 500ms\n}\n");
    let proxy = Proxy::start();
    point_next_hop(crate::namespace::BLACK_HOLE).expect("edit /etc/hosts");
    let started = std::time::Instant::now();
    let got = get("/blackhole", &[]);
    println!(
        "    connect to a black hole answered {} after {:?}",
        got.status,
        started.elapsed()
    );
    assert_generated(&got, 502);
    // No hosts entry at all: next-hop does not resolve (no DNS reachable here).
    std::fs::write("/etc/hosts", "127.0.0.1\tlocalhost\n").expect("edit /etc/hosts");
    assert_generated(&get("/unresolvable", &[]), 502);
    point_next_hop(ORIGIN_A).expect("edit /etc/hosts");
    let origin = Origin::start(world, "a", ORIGIN_A);
    assert_eq!(get("/back", &[]).status, 200);
    assert_eq!(origin.requests().len(), 1);
    proxy.stop();
}
