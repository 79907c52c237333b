//! Contract tests: the real `switchyard` binary and the real `opt/section/`
//! scripts, at the real paths of `shared/spec/contract.md` §1, inside private
//! mount, network and pid namespaces, against in-process origins that live in a
//! second network namespace joined by veth pairs.
//!
//! Run as root with `cargo test --test contract [FILTER] [--list]`. The binary
//! re-executes itself under `unshare`; it fails loudly (never passes silently)
//! when it is not root or `unshare`/`ip`/`mount`/`curl` are missing.

mod broken_origin;
mod broken_upstreams;
mod client;
mod failures;
mod forwarding;
mod framing_holes;
mod hostile;
mod lifecycle;
mod logs;
mod maps;
mod namespace;
mod origin;
mod pattern;
mod proxy;
mod rejects;
mod resources;
mod response_phase;
mod rules;
mod scripts;
mod shipped_tests;
mod strings;
mod timeouts;
mod websocket;
mod world;

use std::io::Write;
use std::process::{Command, ExitCode};
use std::sync::mpsc;
use std::time::Duration;

use world::World;

/// One contract test: a name, the function, and how long it may take at most.
pub struct Case {
    /// The name printed and matched by the filter.
    pub name: &'static str,
    /// The test body; it panics to fail.
    pub run: fn(&World),
    /// Upper bound on the test's run time; past it the test fails.
    pub limit: Duration,
}

impl Case {
    /// A test with the default limit (two minutes).
    pub const fn new(name: &'static str, run: fn(&World)) -> Case {
        Case {
            name,
            run,
            limit: Duration::from_secs(120),
        }
    }

    /// A test that may need longer (large transfers, many reloads).
    pub const fn long(name: &'static str, run: fn(&World)) -> Case {
        Case {
            name,
            run,
            limit: Duration::from_secs(400),
        }
    }
}

/// The environment variable that says we already run inside the namespaces.
/// Deliberately not `SWITCHYARD_*`: the proxy must see none of those.
const INSIDE_MARKER: &str = "CONTRACT_TESTS_INSIDE_NAMESPACE";

fn all_cases() -> Vec<Case> {
    let mut cases = Vec::new();
    cases.extend(forwarding::cases());
    cases.extend(rejects::cases());
    cases.extend(hostile::cases());
    cases.extend(framing_holes::cases());
    cases.extend(failures::cases());
    cases.extend(broken_upstreams::cases());
    cases.extend(resources::cases());
    cases.extend(logs::cases());
    cases.extend(lifecycle::cases());
    cases.extend(shipped_tests::cases());
    cases.extend(maps::cases());
    cases.extend(timeouts::cases());
    cases.extend(scripts::cases());
    cases.extend(rules::cases());
    cases.extend(response_phase::cases());
    cases.extend(strings::cases());
    cases
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let list = args.iter().any(|a| a == "--list");
    let filters: Vec<&String> = args.iter().filter(|a| !a.starts_with("--")).collect();
    let cases: Vec<Case> = all_cases()
        .into_iter()
        .filter(|c| filters.is_empty() || filters.iter().any(|f| c.name.contains(f.as_str())))
        .collect();
    if list {
        for case in &cases {
            println!("{}: test", case.name);
        }
        return ExitCode::SUCCESS;
    }
    if std::env::var_os(INSIDE_MARKER).is_none() {
        return reexec_inside_namespaces(&args);
    }
    run_inside(cases)
}

/// Re-runs this binary under `unshare`; returns its exit code.
fn reexec_inside_namespaces(args: &[String]) -> ExitCode {
    if let Err(reason) = namespace::check_prerequisites() {
        eprintln!("contract tests cannot run: {reason}");
        println!("0 passed, 1 failed");
        return ExitCode::FAILURE;
    }
    // `/proc/self/exe` would name `unshare` itself once it execs, so pass the
    // resolved path of this test binary.
    let exe = match std::env::current_exe() {
        Ok(exe) => exe,
        Err(err) => {
            eprintln!("contract tests cannot find their own binary: {err}");
            return ExitCode::FAILURE;
        }
    };
    // --pid with --mount-proc is a safety net: when the test process (pid 1
    // there) ends, the kernel kills every proxy and origin it left behind.
    let status = Command::new("unshare")
        .args([
            "--mount",
            "--net",
            "--pid",
            "--fork",
            "--kill-child",
            "--mount-proc",
            "--propagation",
            "private",
            "--",
        ])
        .arg(exe)
        .args(args)
        .env(INSIDE_MARKER, "1")
        .status();
    match status {
        Ok(status) if status.success() => ExitCode::SUCCESS,
        Ok(status) => {
            eprintln!("contract tests (inside the namespaces) ended with {status}");
            ExitCode::FAILURE
        }
        Err(err) => {
            eprintln!("contract tests could not run unshare: {err}");
            println!("0 passed, 1 failed");
            ExitCode::FAILURE
        }
    }
}

fn run_inside(cases: Vec<Case>) -> ExitCode {
    let world: &'static World = match World::build() {
        Ok(world) => Box::leak(Box::new(world)),
        Err(reason) => {
            eprintln!("contract tests: setting up the namespaces failed: {reason}");
            println!("0 passed, 1 failed");
            return ExitCode::FAILURE;
        }
    };
    // One short line per failure; a backtrace says nothing a test's message does not.
    std::panic::set_hook(Box::new(|info| {
        let message = info
            .payload()
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| info.payload().downcast_ref::<&str>().copied())
            .unwrap_or("(no message)");
        let place = info
            .location()
            .map(|l| format!("{}:{}", l.file(), l.line()))
            .unwrap_or_default();
        let thread = std::thread::current();
        eprintln!(
            "--- {} failed at {place}:\n{message}",
            thread.name().unwrap_or("?")
        );
    }));
    println!("running {} contract tests", cases.len());
    let started = std::time::Instant::now();
    let (mut passed, mut failed) = (0usize, Vec::new());
    for case in cases {
        world.reset();
        let (tx, rx) = mpsc::channel();
        let run = case.run;
        let spawned = std::thread::Builder::new()
            .name(case.name.to_owned())
            .spawn(move || {
                let outcome = std::panic::catch_unwind(|| run(world));
                let _ = tx.send(outcome.is_ok());
            });
        let ok = match spawned {
            Ok(_) => match rx.recv_timeout(case.limit) {
                Ok(ok) => ok,
                Err(_) => {
                    eprintln!("{}: did not finish within {:?}", case.name, case.limit);
                    false
                }
            },
            Err(err) => {
                eprintln!("{}: could not start its thread: {err}", case.name);
                false
            }
        };
        world.stop_leftovers();
        println!(
            "test {} ... {}",
            case.name,
            if ok { "ok" } else { "FAILED" }
        );
        let _ = std::io::stdout().flush();
        if ok {
            passed += 1;
        } else {
            failed.push(case.name);
        }
    }
    if !failed.is_empty() {
        println!("\nfailures:");
        for name in &failed {
            println!("    {name}");
        }
    }
    println!(
        "\ncontract tests ran in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    println!("\n{} passed, {} failed", passed, failed.len());
    if failed.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
