//! Issue 6, clients that attack resources rather than parsing, at the real
//! paths: running out of file descriptors makes accept back off (little CPU,
//! a few error-log lines) and the server serves again once descriptors come
//! back; a client that stops reading a large response holds the server's
//! memory to a few buffers, not the response.

use std::io::{BufRead, Read};
use std::net::TcpStream;
use std::process::Command;
use std::time::Duration;

use crate::Case;
use crate::client::{self, Conn, PROXY, get};
use crate::lifecycle::eventually;
use crate::logs::ERROR_LOG;
use crate::namespace::ORIGIN_A;
use crate::origin::Origin;
use crate::pattern::Pattern;
use crate::proxy::Proxy;
use crate::world::World;

/// The resource cases.
pub fn cases() -> Vec<Case> {
    vec![
        Case::new(
            "out_of_file_descriptors_accept_backs_off_and_recovers",
            out_of_descriptors,
        ),
        Case::long(
            "stalled_reader_of_a_large_response_holds_bounded_memory",
            stalled_reader,
        ),
    ]
}

/// User plus system CPU time of every thread of a process, in clock ticks.
fn cpu_ticks(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).expect("read /proc/PID/stat");
    // The fields after the command name, which is in parentheses.
    let (_, after) = stat.rsplit_once(')').expect("a stat line");
    let fields: Vec<&str> = after.split_whitespace().collect();
    let utime: u64 = fields[11].parse().expect("utime");
    let stime: u64 = fields[12].parse().expect("stime");
    utime + stime
}

fn clock_ticks_per_second() -> u64 {
    let out = Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .expect("run getconf");
    String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse()
        .expect("CLK_TCK")
}

fn open_fds(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd"))
        .expect("read /proc/PID/fd")
        .count()
}

/// The error-log lines about accepting on port 80.
fn accept_lines() -> Vec<String> {
    std::fs::read_to_string(ERROR_LOG)
        .unwrap_or_default()
        .lines()
        .filter(|l| l.contains("accept") && !l.contains("control socket"))
        .map(str::to_owned)
        .collect()
}

fn out_of_descriptors(world: &World) {
    let _origin = Origin::start(world, "a", ORIGIN_A);
    let proxy = Proxy::start();
    assert_eq!(get("/before", &[]).status, 200);
    // Leave the server a handful of descriptors above what it holds now.
    let limit = open_fds(proxy.pid) + 6;
    let nofile = format!("--nofile={limit}:{limit}");
    let status = Command::new("prlimit")
        .args(["--pid", &proxy.pid.to_string(), &nofile])
        .status()
        .expect("run prlimit");
    assert!(status.success(), "prlimit {nofile} failed");
    // Far more connections than descriptors: the rest wait in the backlog,
    // where every accept fails with EMFILE and leaves them queued.
    let held: Vec<TcpStream> = (0..64)
        .map(|_| TcpStream::connect(PROXY).expect("connect (the backlog holds it)"))
        .collect();
    assert!(
        eventually(Duration::from_secs(10), || accept_lines()
            .iter()
            .any(|l| l.contains("accept failed"))),
        "running out of descriptors is not in error.log: {:?}",
        accept_lines()
    );
    let ticks = clock_ticks_per_second();
    let window = Duration::from_secs(3);
    let lines_before = accept_lines().len();
    let before = cpu_ticks(proxy.pid);
    std::thread::sleep(window);
    let used = cpu_ticks(proxy.pid) - before;
    let lines = accept_lines().len() - lines_before;
    println!(
        "    fd limit {limit}, 64 connections: {used} CPU ticks ({ticks}/s) in {window:?} \
         while out of descriptors; {lines} error-log line(s) about it in that time"
    );
    // A spinning accept loop burns the whole window on one core; backing off
    // costs next to nothing. A fifth leaves room for a slow, shared machine.
    assert!(
        used * 5 < ticks * window.as_secs(),
        "{used} ticks of CPU in {window:?}: accept spins"
    );
    // One line on entering, then at most one summary per 10 s: a 3 s window
    // holds at most one (the failures happen every 75 ms).
    assert!(
        lines <= 1,
        "{lines} accept lines in {window:?}: the error log is flooded, e.g. {:?}",
        accept_lines()
            .iter()
            .skip(lines_before)
            .take(3)
            .collect::<Vec<_>>()
    );
    // Descriptors come back when clients leave; the server serves again.
    drop(held);
    assert!(
        eventually(Duration::from_secs(20), || get("/after", &[]).status == 200),
        "the server did not serve again once descriptors were free"
    );
    let mut conn = Conn::open().expect("connect after recovery");
    let again = conn
        .roundtrip(&client::get_request("/again", "fd.test"))
        .expect("a keep-alive request after recovery");
    assert_eq!(again.status, 200);
    proxy.stop();
    let all = accept_lines();
    assert!(
        all.iter().any(|l| l.contains("accepting again after")),
        "recovery is not in error.log: {all:?}"
    );
}

/// 128 MiB: a proxy that buffered it would grow by that much.
const LARGE: u64 = 128 * 1024 * 1024;

fn stalled_reader(world: &World) {
    let origin = Origin::start(world, "a", ORIGIN_A);
    let proxy = Proxy::start();
    assert_eq!(get("/warm", &[]).status, 200);
    let baseline = proxy.status_kib("VmHWM");
    let mut conn = Conn::open().expect("connect");
    conn.send(client::get_request(&format!("/download/{LARGE}"), "stall.test").as_bytes())
        .expect("send");
    // Read the head and the first bytes, then stop reading.
    let reader = conn.stream();
    let mut head = String::new();
    loop {
        let mut line = String::new();
        reader.read_line(&mut line).expect("the response head");
        if line == "\r\n" || line.is_empty() {
            break;
        }
        head.push_str(&line);
    }
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    let mut pattern = Pattern::new(LARGE);
    let mut got = vec![0u8; 64 * 1024];
    let mut want = vec![0u8; 64 * 1024];
    reader.read_exact(&mut got).expect("the first bytes");
    pattern.fill(&mut want);
    assert_eq!(got, want, "the first 64 KiB");
    // The origin could send all of it in this time if the proxy kept reading.
    let mut samples = Vec::new();
    for _ in 0..6 {
        std::thread::sleep(Duration::from_millis(500));
        samples.push(proxy.status_kib("VmRSS"));
    }
    let peak = proxy.status_kib("VmHWM");
    println!(
        "    stalled {} MiB download: peak RSS {baseline} KiB before, RSS {samples:?} KiB while stalled, peak {peak} KiB",
        LARGE >> 20
    );
    assert!(
        peak < baseline + 32 * 1024,
        "peak RSS grew from {baseline} to {peak} KiB with a reader that stopped: the proxy buffers"
    );
    // Others are served meanwhile.
    assert_eq!(get("/meanwhile", &[]).status, 200);
    // The reader resumes and gets every byte, in order.
    let mut left = LARGE - got.len() as u64;
    while left > 0 {
        let n = left.min(got.len() as u64) as usize;
        reader
            .read_exact(&mut got[..n])
            .expect("the rest, read late");
        pattern.fill(&mut want[..n]);
        assert!(
            got[..n] == want[..n],
            "bytes differ {} bytes into the body",
            LARGE - left
        );
        left -= n as u64;
    }
    assert_eq!(get("/after", &[]).status, 200);
    proxy.stop();
    assert_eq!(origin.requests().len(), 4);
}
