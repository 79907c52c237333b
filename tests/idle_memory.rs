//! What an idle keep-alive client connection costs in heap, measured with a
//! counting allocator around the in-process proxy (issue 16): the live bytes
//! each connection adds once it has been answered and parked (quiet past the
//! grace period), and the allocation sizes that make them up. `cargo test
//! --release --test idle_memory -- --nocapture` prints the breakdown;
//! bench/idle.py measures the whole process beside nginx and HAProxy.
// A global allocator is unsafe to implement; this one only counts.
#![allow(unsafe_code)]

mod proxy_support;

use std::alloc::{GlobalAlloc, Layout, System};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use proxy_support::{Origin, Proxy};
use switchyard::proxy::parking::PARK_AFTER;
use switchyard::rules::Settings;

/// Allocation sizes counted one by one; larger ones share the last slot.
const SIZES: usize = 40 * 1024;

struct Counting;

static LIVE_BYTES: AtomicI64 = AtomicI64::new(0);
static LIVE_BY_SIZE: [AtomicI64; SIZES + 1] = [const { AtomicI64::new(0) }; SIZES + 1];

fn slot(size: usize) -> &'static AtomicI64 {
    &LIVE_BY_SIZE[size.min(SIZES)]
}

// SAFETY: every call is passed to the system allocator unchanged; the
// counters only observe sizes.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE_BYTES.fetch_add(layout.size() as i64, Ordering::Relaxed);
        slot(layout.size()).fetch_add(1, Ordering::Relaxed);
        // SAFETY: the caller's layout, as GlobalAlloc requires.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE_BYTES.fetch_sub(layout.size() as i64, Ordering::Relaxed);
        slot(layout.size()).fetch_sub(1, Ordering::Relaxed);
        // SAFETY: `ptr` came from `alloc` with this layout.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        LIVE_BYTES.fetch_add(new_size as i64 - layout.size() as i64, Ordering::Relaxed);
        slot(layout.size()).fetch_sub(1, Ordering::Relaxed);
        slot(new_size).fetch_add(1, Ordering::Relaxed);
        // SAFETY: as `dealloc`, and the caller's new size.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

struct Snapshot {
    bytes: i64,
    by_size: Vec<i64>,
}

/// The live bytes (less the snapshot's own table, allocated first) and
/// the live allocations of each size.
fn snapshot() -> Snapshot {
    let mut by_size = Vec::with_capacity(LIVE_BY_SIZE.len());
    let table = i64::try_from(by_size.capacity() * std::mem::size_of::<i64>()).expect("size");
    let bytes = LIVE_BYTES.load(Ordering::SeqCst) - table;
    by_size.extend(LIVE_BY_SIZE.iter().map(|c| c.load(Ordering::SeqCst)));
    Snapshot { bytes, by_size }
}

/// One request on a fresh connection, its response read with a stack
/// buffer (the client's own heap would be counted too).
fn answered_connection(addr: std::net::SocketAddr) -> TcpStream {
    let mut stream = TcpStream::connect(addr).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(20)))
        .expect("timeout");
    stream
        .write_all(b"GET /x HTTP/1.1\r\nHost: h\r\n\r\n")
        .expect("write");
    let mut buf = [0u8; 2048];
    let mut got = 0;
    // The test origin answers "/x" with a short body; the whole response
    // fits the buffer and ends with it.
    loop {
        let n = stream.read(&mut buf[got..]).expect("read");
        assert!(n > 0, "closed early");
        got += n;
        let text = &buf[..got];
        if let Some(end) = text.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&text[..end]).to_ascii_lowercase();
            assert!(head.starts_with("http/1.1 200"), "{head}");
            let length: usize = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .and_then(|v| v.trim().parse().ok())
                .expect("content-length");
            if got >= end + 4 + length {
                return stream;
            }
        }
    }
}

fn settle() {
    std::thread::sleep(Duration::from_millis(300));
}

#[test]
fn an_idle_keep_alive_connection_holds_little_heap() {
    const CONNS: usize = 200;
    let origin = Origin::start();
    let proxy = Proxy::start(origin.addr, Settings::default());
    // Warm up: the upstream pool, the log writer's buffers, lazily built
    // statics, grown by as many connections as are measured.
    let warm: Vec<TcpStream> = (0..CONNS)
        .map(|_| answered_connection(proxy.addr))
        .collect();
    drop(warm);
    settle();
    // The test origin records every target it serves: not the proxy's.
    let forget_targets = || origin.targets.lock().expect("targets").clear();
    forget_targets();
    let before = snapshot();
    let conns: Vec<TcpStream> = (0..CONNS)
        .map(|_| answered_connection(proxy.addr))
        .collect();
    // Past the grace period: every connection is parked.
    std::thread::sleep(PARK_AFTER);
    settle();
    forget_targets();
    let after = snapshot();
    // `before`'s table is still live.
    let table = (before.by_size.capacity() * std::mem::size_of::<i64>()) as i64;
    let per_conn = (after.bytes - table - before.bytes) as f64 / CONNS as f64;
    println!("heap per idle connection: {per_conn:.0} B over {CONNS} connections");
    for (size, (a, b)) in after.by_size.iter().zip(&before.by_size).enumerate() {
        let count = a - b;
        if count * size as i64 >= 8 * CONNS as i64 {
            println!(
                "  {count} live allocations of {size}{} B: {:.1} per connection",
                if size == SIZES { "+" } else { "" },
                count as f64 / CONNS as f64
            );
        }
    }
    drop(conns);
    // Regression guard (issue 16): 25.7 KiB before idle connections were
    // parked; parked, the task (640 B) and tokio's registration of the
    // socket (256 B).
    assert!(
        per_conn < IDLE_HEAP_LIMIT,
        "{per_conn:.0} B per idle connection"
    );
}

/// Bytes of heap an idle connection may hold in this test.
const IDLE_HEAP_LIMIT: f64 = 1024.0 + 128.0;
