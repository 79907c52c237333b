//! The `switchyard` binary: a thin shell over the library's command line.

/// mimalloc rather than glibc's malloc: a proxied request makes a few dozen
/// small, short-lived allocations (header maps, bodies, log records), and
/// glibc spent about 11k instructions a request on them (callgrind).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    switchyard::cli::main()
}
