//! Issue 6, the soak: the real binary under mixed load (keep-alive and not,
//! small and 1 MiB bodies both ways, redirects, rule answers and forwards)
//! with a reload every 5 s and a log rotation every 30 s. It checks that no
//! request fails, that every request has exactly one access-log line across
//! the rotated files, and prints the server's RSS curve.
//!
//! Opt-in, so CI stays within its time:
//!
//! ```text
//! SWITCHYARD_SOAK_SECS=600 cargo test --release --test soak -- --ignored --nocapture
//! ```
//!
//! (`SWITCHYARD_SOAK_SECS` defaults to 600.)

mod proxy_support;

use std::collections::HashMap;
use std::io::Write;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use proxy_support::server::{Dirs, Server};
use proxy_support::*;

const MIB: usize = 1024 * 1024;

/// Two rule sets the reloader alternates between, so every reload swaps in
/// a different one.
fn config(version: u32) -> String {
    format!(
        r#"settings {{
    access_log json
}}

rule old-paths {{
    when path ^= "/old/"
    redirect 301 "/new{{path}}"
}}

rule health {{
    when path ^= "/health/"
    respond 200 "healthy v{version}\n"
}}

rule tag {{
    when path ^= "/ka/"
    response header set X-Config "v{version}"
}}
"#
    )
}

/// What one load thread did: the URIs it sent (each unique) and failures.
#[derive(Default)]
struct Tally {
    sent: Vec<String>,
    failures: Vec<String>,
}

/// One kind of traffic: builds the request for sequence number `i`, checks
/// the answer.
#[derive(Clone, Copy)]
enum Kind {
    KeepAliveSmall,
    CloseSmall,
    Upload,
    Download,
    Redirect,
    Respond,
}

impl Kind {
    fn uri(self, t: usize, i: usize) -> String {
        match self {
            Kind::KeepAliveSmall => format!("/ka/{t}-{i}"),
            Kind::CloseSmall => format!("/close/{t}-{i}"),
            Kind::Upload => format!("/upload?id={t}-{i}"),
            Kind::Download => format!("/download?n={MIB}&id={t}-{i}"),
            Kind::Redirect => format!("/old/{t}-{i}"),
            Kind::Respond => format!("/health/{t}-{i}"),
        }
    }

    fn name(self) -> &'static str {
        match self {
            Kind::KeepAliveSmall => "keep-alive GET",
            Kind::CloseSmall => "Connection: close GET",
            Kind::Upload => "1 MiB upload",
            Kind::Download => "1 MiB download",
            Kind::Redirect => "redirect",
            Kind::Respond => "rule answer",
        }
    }

    fn keep_alive(self) -> bool {
        !matches!(self, Kind::CloseSmall)
    }

    /// Sends one request on `conn`; `Err` describes a failure.
    fn run(
        self,
        conn: &mut std::io::BufReader<std::net::TcpStream>,
        uri: &str,
    ) -> Result<(), String> {
        let close = if self.keep_alive() {
            ""
        } else {
            "Connection: close\r\n"
        };
        let wire = match self {
            Kind::Upload => {
                let head =
                    format!("POST {uri} HTTP/1.1\r\nHost: soak\r\nContent-Length: {MIB}\r\n\r\n");
                conn.get_mut()
                    .write_all(head.as_bytes())
                    .map_err(|e| e.to_string())?;
                conn.get_mut()
                    .write_all(&vec![b'u'; MIB])
                    .map_err(|e| e.to_string())?;
                read_response(conn, false)
            }
            _ => exchange(
                conn,
                format!("GET {uri} HTTP/1.1\r\nHost: soak\r\n{close}\r\n").as_bytes(),
            ),
        };
        let ok = match self {
            Kind::KeepAliveSmall | Kind::CloseSmall => {
                wire.status == 200 && wire.text().starts_with(&format!("GET {uri} HTTP/1.1\n"))
            }
            Kind::Upload => wire.status == 200 && wire.text() == format!("received {MIB}"),
            Kind::Download => wire.status == 200 && wire.body.len() == MIB,
            Kind::Redirect => {
                wire.status == 301 && wire.header("location") == Some(&format!("/new{uri}"))
            }
            Kind::Respond => wire.status == 200 && wire.text().starts_with("healthy v"),
        };
        if ok {
            Ok(())
        } else {
            Err(format!("{uri}: {} {:?}", wire.status, wire.head))
        }
    }
}

fn load(addr: SocketAddr, t: usize, kind: Kind, stop: Arc<AtomicBool>) -> Tally {
    let mut tally = Tally::default();
    let mut conn = None;
    let mut i = 0;
    while !stop.load(Ordering::SeqCst) {
        let uri = kind.uri(t, i);
        i += 1;
        let stream = conn.get_or_insert_with(|| connect(addr));
        // A panic in the harness (closed connection) is a failure too.
        let result =
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| kind.run(stream, &uri)))
                .unwrap_or_else(|_| Err(format!("{uri}: connection failed")));
        tally.sent.push(uri);
        if let Err(why) = result {
            tally.failures.push(why);
            conn = None;
        } else if !kind.keep_alive() {
            conn = None;
        }
    }
    tally
}

fn rss_kb(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

/// Every access-log line's URI, across the current file and the rotated ones.
fn logged_uris(log_dir: &Path) -> Vec<String> {
    let mut uris = Vec::new();
    for name in
        std::iter::once("access.log".to_owned()).chain((1..=24).map(|i| format!("access.log.{i}")))
    {
        let text = std::fs::read_to_string(log_dir.join(name)).unwrap_or_default();
        for line in text.lines() {
            let value: serde_json::Value = serde_json::from_str(line).expect("a whole JSON line");
            uris.push(value["uri"].as_str().expect("uri").to_owned());
        }
    }
    uris
}

#[test]
#[ignore = "opt-in soak: SWITCHYARD_SOAK_SECS=600 cargo test --release --test soak -- --ignored"]
fn soak_mixed_load_with_reloads_and_rotations() {
    let secs: u64 = std::env::var("SWITCHYARD_SOAK_SECS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(600);
    let origin = Origin::start();
    let dirs = Dirs::new("soak");
    std::fs::create_dir_all(&dirs.config).expect("config dir");
    std::fs::write(dirs.config.join("proxy.conf"), config(1)).expect("config");
    let server = Server::start(dirs.clone(), origin.addr);
    let pid = server.child.id();
    let stop = Arc::new(AtomicBool::new(false));
    let kinds = [
        Kind::KeepAliveSmall,
        Kind::KeepAliveSmall,
        Kind::CloseSmall,
        Kind::Upload,
        Kind::Download,
        Kind::Redirect,
        Kind::Respond,
    ];
    let workers: Vec<_> = kinds
        .iter()
        .enumerate()
        .map(|(t, &kind)| {
            let stop = stop.clone();
            let addr = server.addr;
            std::thread::spawn(move || load(addr, t, kind, stop))
        })
        .collect();
    let started = Instant::now();
    let mut rss = vec![(0u64, rss_kb(pid))];
    let (mut reloads, mut rotations, mut version) = (0u32, 0u32, 1u32);
    let mut operation_failures = Vec::new();
    let mut next_reload = Duration::from_secs(5);
    let mut next_rotation = Duration::from_secs(30);
    let mut next_sample = Duration::from_secs(10);
    while started.elapsed() < Duration::from_secs(secs) {
        std::thread::sleep(Duration::from_millis(100));
        let now = started.elapsed();
        if now >= next_reload {
            next_reload += Duration::from_secs(5);
            version = 3 - version;
            std::fs::write(dirs.config.join("proxy.conf"), config(version)).expect("config");
            let out = dirs.run(&["reload"]);
            reloads += 1;
            if !out.status.success() {
                operation_failures
                    .push(format!("reload: {}", String::from_utf8_lossy(&out.stderr)));
            }
        }
        if now >= next_rotation {
            next_rotation += Duration::from_secs(30);
            let out = dirs.run(&["rotate-logs"]);
            rotations += 1;
            if !out.status.success() {
                operation_failures
                    .push(format!("rotate: {}", String::from_utf8_lossy(&out.stderr)));
            }
        }
        if now >= next_sample {
            next_sample += Duration::from_secs(10);
            rss.push((now.as_secs(), rss_kb(pid)));
        }
    }
    stop.store(true, Ordering::SeqCst);
    let mut sent = Vec::new();
    let mut failures = Vec::new();
    let mut per_kind = Vec::new();
    for (worker, kind) in workers.into_iter().zip(kinds) {
        let tally = worker.join().expect("load thread");
        per_kind.push(format!("{}: {}", kind.name(), tally.sent.len()));
        sent.extend(tally.sent);
        failures.extend(tally.failures);
    }
    rss.push((started.elapsed().as_secs(), rss_kb(pid)));
    // Lines are written as each response ends; wait for the last ones.
    eventually("every request logged", || {
        logged_uris(&dirs.log).len() >= sent.len()
    });
    std::thread::sleep(Duration::from_millis(500));
    let logged = logged_uris(&dirs.log);
    let mut counts: HashMap<&str, usize> = HashMap::new();
    for uri in &logged {
        *counts.entry(uri.as_str()).or_default() += 1;
    }
    let missing = sent
        .iter()
        .filter(|u| !counts.contains_key(u.as_str()))
        .count();
    let duplicated = counts.values().filter(|&&n| n > 1).count();
    let unexpected = logged.len()
        - (sent.len() - missing)
        - counts.values().map(|n| n.saturating_sub(1)).sum::<usize>();
    eprintln!(
        "soak {secs} s: {} requests, {} failed, {reloads} reloads, {rotations} rotations, \
{} operation failures; {} log lines, {missing} missing, {duplicated} duplicated, {unexpected} unexpected",
        sent.len(),
        failures.len(),
        operation_failures.len(),
        logged.len()
    );
    eprintln!("requests per load thread: {}", per_kind.join(", "));
    eprintln!("RSS curve (s, kB): {rss:?}");
    for failure in failures.iter().take(10) {
        eprintln!("failed: {failure}");
    }
    assert!(failures.is_empty(), "{} requests failed", failures.len());
    assert!(operation_failures.is_empty(), "{operation_failures:?}");
    assert_eq!((missing, duplicated, unexpected), (0, 0, 0));
    let warm = rss.iter().skip(1).map(|&(_, kb)| kb);
    let (low, high) = (warm.clone().min().unwrap_or(0), warm.max().unwrap_or(0));
    assert!(high < low + 32 * 1024, "RSS not flat: {rss:?}");
}
