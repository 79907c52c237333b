//! The real binary with SWITCHYARD_* overrides: control socket, reload,
//! rotate-logs, message, and graceful shutdown with a request in flight or
//! a connection parked.

mod proxy_support;

use std::io::{Read, Write};
use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use proxy_support::server::{Dirs, Server};
use proxy_support::*;
use switchyard::proxy::parking::PARK_AFTER;

fn get(addr: SocketAddr, path: &str) -> Wire {
    let mut conn = connect(addr);
    exchange(
        &mut conn,
        format!("GET {path} HTTP/1.1\r\nHost: h\r\n\r\n").as_bytes(),
    )
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
}

#[test]
fn serves_writes_pid_and_cleans_up_on_sigterm_with_a_request_in_flight() {
    let origin = Origin::start();
    let dirs = Dirs::new("sigterm");
    let mut server = Server::start(dirs.clone(), origin.addr);
    let pid_file = dirs.run.join("switchyard.pid");
    assert_eq!(read(&pid_file).trim(), server.child.id().to_string());
    assert_eq!(get(server.addr, "/x").status, 200);
    // `status` shows how far the access-log writer is behind (not at all).
    let backlog = server
        .status()
        .access_log
        .expect("status reports the access log");
    assert_eq!((backlog.lines_behind, backlog.times_behind), (0, 0));
    // A request that takes 3 s at the origin, in flight when SIGTERM arrives.
    let addr = server.addr;
    let in_flight = std::thread::spawn(move || get(addr, "/slow"));
    eventually("the slow request reached the origin", || {
        origin.requests.load(std::sync::atomic::Ordering::SeqCst) >= 2
    });
    server.signal("TERM");
    let wire = in_flight.join().expect("client thread");
    assert_eq!(wire.status, 200);
    assert_eq!(wire.text(), "slow");
    assert!(server.wait().success());
    assert!(!pid_file.exists());
    assert!(!dirs.run.join("control.sock").exists());
    let lines = read(&dirs.log.join("access.log"));
    assert_eq!(lines.lines().count(), 2, "{lines}");
    assert!(read(&dirs.log.join("error.log")).contains("shutting down"));
}

#[test]
fn sigterm_closes_a_parked_connection_at_once() {
    let origin = Origin::start();
    let dirs = Dirs::new("sigterm-parked");
    let mut server = Server::start(dirs.clone(), origin.addr);
    let mut conn = connect(server.addr);
    let request = b"GET /x HTTP/1.1\r\nHost: h\r\n\r\n";
    assert_eq!(exchange(&mut conn, request).status, 200);
    std::thread::sleep(PARK_AFTER + Duration::from_millis(400));
    // shutdown_grace is 30 s: a parked connection must not hold it up.
    let signalled = std::time::Instant::now();
    server.signal("TERM");
    let mut rest = Vec::new();
    assert_eq!(conn.read_to_end(&mut rest).expect("eof"), 0);
    assert!(server.wait().success());
    let took = signalled.elapsed();
    assert!(took < Duration::from_secs(3), "shut down after {took:?}");
    assert_eq!(read(&dirs.log.join("access.log")).lines().count(), 1);
}

#[test]
fn a_reload_applies_to_a_parked_connection_when_it_wakes() {
    let origin = Origin::start();
    let dirs = Dirs::new("reload-parked");
    let server = Server::start(dirs.clone(), origin.addr);
    let mut conn = connect(server.addr);
    let request = b"GET /x HTTP/1.1\r\nHost: h\r\n\r\n";
    assert_eq!(exchange(&mut conn, request).status, 200);
    std::thread::sleep(PARK_AFTER + Duration::from_millis(400));
    // Accepted under the default 10 s header timeout, parked, then 1 s.
    std::fs::create_dir_all(&dirs.config).expect("config dir");
    std::fs::write(
        dirs.config.join("proxy.conf"),
        "settings {\n    client_header_timeout 1s\n}\n",
    )
    .expect("write");
    let out = dirs.run(&["reload"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    conn.get_mut()
        .write_all(b"GET /slow-head HTTP/1.1\r\n")
        .expect("half a head");
    let started = std::time::Instant::now();
    let wire = read_response(&mut conn, false);
    assert_eq!(wire.status, 408);
    let took = started.elapsed();
    assert!(took < Duration::from_secs(3), "408 after {took:?}");
}

#[test]
fn reload_with_no_server_and_with_one() {
    let origin = Origin::start();
    let dirs = Dirs::new("reload");
    // No server: valid config → exit 0, quietly.
    let out = dirs.run(&["reload"]);
    assert_eq!(out.status.code(), Some(0));
    assert!(out.stdout.is_empty() && out.stderr.is_empty());
    let server = Server::start(dirs.clone(), origin.addr);
    let before = server.status();
    assert_eq!(before.generation, Some(1));
    let out = dirs.run(&["reload"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let after = server.status();
    assert_eq!(after.generation, Some(2));
    assert_eq!(after.source_hash, before.source_hash);
    // SIGHUP reloads too.
    server.signal("HUP");
    eventually("generation 3", || server.status().generation == Some(3));
    // Invalid config: exit 1, diagnostics on stderr, server untouched.
    std::fs::create_dir_all(&dirs.config).expect("config dir");
    std::fs::write(dirs.config.join("proxy.conf"), "rule broken {\n").expect("write");
    let out = dirs.run(&["reload"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(!out.stderr.is_empty());
    assert_eq!(server.status().generation, Some(3));
    assert_eq!(get(server.addr, "/still").status, 200);
    // The message form behaves the same.
    let out = dirs.run(&["message", "reload", ""]);
    assert_eq!(out.status.code(), Some(1));
    std::fs::remove_file(dirs.config.join("proxy.conf")).expect("rm");
    let out = dirs.run(&["message", "reload", ""]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(server.status().generation, Some(4));
}

#[test]
fn messages() {
    let origin = Origin::start();
    let dirs = Dirs::new("message");
    for (args, code) in [
        (&["message", "frobnicate", ""][..], 1),
        (&["message", "log-level", "loud"][..], 1),
        (&["message", "log-level", ""][..], 1),
        (&["message", "reopen-logs", "extra"][..], 1),
        (&["message", "reopen-logs", ""][..], 0),
        (&["message", "log-level", "debug"][..], 0),
    ] {
        let out = dirs.run(args);
        assert_eq!(out.status.code(), Some(code), "no server: {args:?}");
    }
    let server = Server::start(dirs.clone(), origin.addr);
    let out = dirs.run(&["message", "frobnicate", ""]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown message `frobnicate`"));
    let out = dirs.run(&["message", "log-level", "debug"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let _ = get(server.addr, "/after-debug");
    eventually("debug events reach error.log", || {
        read(&dirs.log.join("error.log")).contains("DEBUG")
    });
    let out = dirs.run(&["message", "log-level", "error"]);
    assert_eq!(out.status.code(), Some(0));
    let out = dirs.run(&["message", "reopen-logs"]);
    assert_eq!(out.status.code(), Some(0));
}

#[test]
fn rotate_logs_under_load_loses_and_duplicates_nothing() {
    let origin = Origin::start();
    let dirs = Dirs::new("rotate");
    // No server: still rotates, exit 0.
    std::fs::create_dir_all(&dirs.log).expect("log dir");
    std::fs::write(dirs.log.join("access.log"), "old\n").expect("seed");
    let out = dirs.run(&["rotate-logs"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(read(&dirs.log.join("access.log.1")), "old\n");
    std::fs::remove_file(dirs.log.join("access.log.1")).expect("rm");

    let server = Server::start(dirs.clone(), origin.addr);
    let addr = server.addr;
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let clients: Vec<_> = (0..4)
        .map(|t| {
            let stop = stop.clone();
            std::thread::spawn(move || {
                let mut conn = connect(addr);
                let mut sent = 0;
                while !stop.load(std::sync::atomic::Ordering::SeqCst) {
                    let wire = exchange(
                        &mut conn,
                        format!("GET /id/{t}-{sent} HTTP/1.1\r\nHost: h\r\n\r\n").as_bytes(),
                    );
                    assert_eq!(wire.status, 200);
                    sent += 1;
                }
                sent
            })
        })
        .collect();
    for _ in 0..5 {
        std::thread::sleep(Duration::from_millis(100));
        let out = dirs.run(&["rotate-logs"]);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    stop.store(true, std::sync::atomic::Ordering::SeqCst);
    let mut expected = Vec::new();
    for (t, client) in clients.into_iter().enumerate() {
        let sent = client.join().expect("client");
        expected.extend((0..sent).map(|i| format!("/id/{t}-{i}")));
    }
    // One more rotation after the load stopped.
    let out = dirs.run(&["rotate-logs"]);
    assert_eq!(out.status.code(), Some(0));
    let collect = || {
        let mut seen = Vec::new();
        for name in std::iter::once("access.log".to_owned())
            .chain((1..=7).map(|i| format!("access.log.{i}")))
        {
            for line in read(&dirs.log.join(&name)).lines() {
                let value: serde_json::Value = serde_json::from_str(line).expect("whole JSON line");
                seen.push(value["uri"].as_str().expect("uri").to_owned());
            }
        }
        seen
    };
    // Lines are queued as each response body ends; wait until all are on disk.
    eventually("every request logged", || collect().len() >= expected.len());
    let mut seen = collect();
    seen.sort();
    expected.sort();
    assert!(expected.len() > 20, "only {} requests", expected.len());
    assert_eq!(seen, expected);
    assert!(dirs.log.join("error.log.1").exists());
}

#[test]
fn invalid_config_at_start_up_exits_1() {
    let dirs = Dirs::new("badstart");
    std::fs::create_dir_all(&dirs.config).expect("config dir");
    std::fs::write(dirs.config.join("proxy.conf"), "rule broken {\n").expect("write");
    let out = dirs
        .command(&["serve"])
        .env("SWITCHYARD_LISTEN", "127.0.0.1:0")
        .output()
        .expect("serve");
    assert_eq!(out.status.code(), Some(1));
    assert!(!out.stderr.is_empty());
    let _ = std::io::stderr().flush();
}

/// The server's peak resident set, from /proc (kB).
fn peak_rss_kb(pid: u32) -> u64 {
    read(Path::new(&format!("/proc/{pid}/status")))
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmHWM")
}

#[test]
fn large_transfers_keep_memory_bounded() {
    let origin = Origin::start();
    let dirs = Dirs::new("rss");
    let server = Server::start(dirs, origin.addr);
    let size = 256 * 1024 * 1024;
    let mut conn = connect(server.addr);
    conn.get_mut()
        .write_all(
            format!("POST /upload HTTP/1.1\r\nHost: h\r\nContent-Length: {size}\r\n\r\n")
                .as_bytes(),
        )
        .expect("head");
    let piece = vec![b'z'; 1024 * 1024];
    for _ in 0..256 {
        conn.get_mut().write_all(&piece).expect("piece");
    }
    let wire = read_response(&mut conn, false);
    assert_eq!(wire.text(), format!("received {size}"));
    let wire = exchange(
        &mut conn,
        format!("GET /download?n={size} HTTP/1.1\r\nHost: h\r\n\r\n").as_bytes(),
    );
    assert_eq!(wire.body.len(), size);
    let peak = peak_rss_kb(server.child.id());
    eprintln!("peak RSS after 256 MiB up and down: {peak} kB");
    assert!(peak < 64 * 1024, "peak RSS {peak} kB");
}

#[test]
fn thirty_reloads_under_keep_alive_load_fail_nothing() {
    let origin = Origin::start();
    let dirs = Dirs::new("reload-load");
    let server = Server::start(dirs.clone(), origin.addr);
    let addr = server.addr;
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let clients: Vec<_> = (0..4)
        .map(|_| {
            let stop = stop.clone();
            std::thread::spawn(move || {
                let mut conn = connect(addr);
                let mut ok = 0;
                while !stop.load(std::sync::atomic::Ordering::SeqCst) {
                    let wire = exchange(&mut conn, b"GET /load HTTP/1.1\r\nHost: h\r\n\r\n");
                    assert_eq!(wire.status, 200);
                    ok += 1;
                }
                ok
            })
        })
        .collect();
    for _ in 0..30 {
        let out = dirs.run(&["reload"]);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    stop.store(true, std::sync::atomic::Ordering::SeqCst);
    let total: usize = clients.into_iter().map(|c| c.join().expect("client")).sum();
    assert!(total > 0);
    assert_eq!(server.status().generation, Some(31));
    eprintln!("{total} requests on 4 keep-alive connections during 30 reloads, none failed");
}

#[test]
fn sigusr1_reopens_the_logs_by_name() {
    let origin = Origin::start();
    let dirs = Dirs::new("usr1");
    let server = Server::start(dirs.clone(), origin.addr);
    assert_eq!(get(server.addr, "/before").status, 200);
    eventually("first line written", || {
        read(&dirs.log.join("access.log")).contains("/before")
    });
    std::fs::rename(dirs.log.join("access.log"), dirs.log.join("moved.log")).expect("rename");
    std::fs::rename(dirs.log.join("error.log"), dirs.log.join("moved-error.log")).expect("rename");
    server.signal("USR1");
    eventually("access.log reopened", || {
        dirs.log.join("access.log").exists()
    });
    eventually("error.log reopened", || dirs.log.join("error.log").exists());
    assert_eq!(get(server.addr, "/after").status, 200);
    eventually("second line in the new file", || {
        read(&dirs.log.join("access.log")).contains("/after")
    });
    assert!(!read(&dirs.log.join("moved.log")).contains("/after"));
    assert!(read(&dirs.log.join("error.log")).contains("reopened the log files"));
}

#[test]
fn a_stale_socket_of_a_killed_server_means_no_server() {
    let origin = Origin::start();
    let dirs = Dirs::new("stale");
    let mut server = Server::start(dirs.clone(), origin.addr);
    server.signal("KILL");
    server.wait();
    assert!(
        dirs.run.join("control.sock").exists(),
        "SIGKILL leaves the socket behind"
    );
    let out = dirs.run(&["reload"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.stderr.is_empty());
    let out = dirs.run(&["rotate-logs"]);
    assert_eq!(out.status.code(), Some(0));
    // A new server takes the run directory over.
    let again = Server::start(dirs.clone(), origin.addr);
    assert_eq!(again.status().pid, Some(again.child.id()));
    // While it runs, a second server refuses to start (exit 2).
    let out = dirs
        .command(&["serve"])
        .env("SWITCHYARD_LISTEN", "127.0.0.1:0")
        .output()
        .expect("second serve");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("another server is running"));
}
