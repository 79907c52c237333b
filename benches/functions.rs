//! What §15's functions cost per request: the same rule set with and without
//! five rules that read `lower(path)` (one call id, so one value per request),
//! on a path with capitals (the value is allocated once) and on one without
//! (it is borrowed: nothing allocated). Before timing, it prints how many
//! allocations one evaluation makes in each case, counted by a wrapping
//! global allocator — the figure the issue asks for.

use std::alloc::{GlobalAlloc, Layout, System};
use std::hint::black_box;
use std::net::IpAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use switchyard::config::{CONFIG_FILE, compile_source};
use switchyard::rules::{RequestFacts, ServedRules, evaluate};

/// Counts allocations, so a benchmark can say how many one call makes.
struct Counting;

static ALLOCATIONS: AtomicUsize = AtomicUsize::new(0);

// SAFETY: every call is forwarded unchanged to the system allocator; the
// only unsafe code of the benchmarks, to count what one evaluation allocates.
#[allow(unsafe_code)]
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: the caller's contract is passed on as it is.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: as above.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: as above.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

const BASE: &str = r#"
rule force-https {
    when scheme == "http"
    redirect 301 "https://{host}{uri}"
}
rule hsts {
    response header set Strict-Transport-Security "max-age=63072000"
}
rule nosniff {
    response header set X-Content-Type-Options "nosniff"
}
"#;

const WITH_LOWER: &str = r#"
rule admin {
    when lower(path) ^= "/admin"
    respond 403
}
rule wp {
    when lower(path) ^= "/wp-"
    respond 404
}
rule php {
    when lower(path) $= ".php"
    respond 404
}
rule env {
    when lower(path) *= "/.env"
    respond 404
}
rule git {
    when lower(path) *= "/.git/"
    respond 404
}
"#;

fn compiled(text: &str) -> ServedRules {
    compile_source(CONFIG_FILE, text.as_bytes())
        .map(|compiled| compiled.rule_set.prepare())
        .unwrap_or_else(|invalid| panic!("{}", invalid.render(false)))
}

fn request(path: &str) -> http::request::Parts {
    http::Request::get(path)
        .header("host", "shop.example.com")
        .header("x-forwarded-proto", "https")
        .body(())
        .expect("bench request")
        .into_parts()
        .0
}

/// Allocations of one `evaluate` (facts built outside the count).
fn allocations(rule_set: &ServedRules, parts: &http::request::Parts) -> usize {
    let peer = IpAddr::from([127, 0, 0, 1]);
    let facts = RequestFacts::from_parts(parts, peer).expect("bench facts");
    // Warm: the rule set builds its regexes and index on first use.
    black_box(evaluate(rule_set, &facts));
    let before = ALLOCATIONS.load(Ordering::Relaxed);
    black_box(evaluate(rule_set, &facts));
    ALLOCATIONS.load(Ordering::Relaxed) - before
}

fn bench(c: &mut Criterion) {
    let base = compiled(BASE);
    let with_lower = compiled(&format!("{BASE}{WITH_LOWER}"));
    let capitals = request("/Products/Item-42?ref=home");
    let lower = request("/products/item-42?ref=home");
    let cases = [
        ("3_rules", &base, &capitals),
        ("8_rules_5_lower_path_capitals", &with_lower, &capitals),
        ("8_rules_5_lower_path_lower_case", &with_lower, &lower),
    ];
    for (name, rule_set, parts) in cases {
        println!(
            "allocations per evaluate, {name}: {}",
            allocations(rule_set, parts)
        );
    }
    let peer = IpAddr::from([127, 0, 0, 1]);
    let mut group = c.benchmark_group("functions");
    for (name, rule_set, parts) in cases {
        group.bench_function(name, |b| {
            b.iter(|| {
                let facts = RequestFacts::from_parts(black_box(parts), peer).expect("bench facts");
                black_box(evaluate(rule_set, &facts))
            })
        });
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .sample_size(30);
    targets = bench
}
criterion_main!(benches);
