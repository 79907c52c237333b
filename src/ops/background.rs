//! Work the server does beside serving (compiling a reloaded config, freeing
//! the rule set it replaced), run on a thread of the lowest CPU priority and
//! the shortest time slice: on a busy core the scheduler then gives the
//! serving threads the CPU first, and when it does run the background thread
//! it takes the CPU back after 0.1 ms (the default slice here is 1.4 ms, and
//! every request waiting on that core waited out all of it), so a reload of
//! a large config adds little to request latency. On an idle core the work
//! runs at full speed.

use std::io;

use tokio::sync::oneshot;

/// Runs `work` on a new low-priority thread and waits for its result
/// without blocking the runtime.
pub(crate) async fn run<T, F>(name: &str, work: F) -> io::Result<T>
where
    T: Send + 'static,
    F: FnOnce() -> T + Send + 'static,
{
    let (done, result) = oneshot::channel();
    std::thread::Builder::new()
        .name(name.to_owned())
        .spawn(move || {
            lower_own_priority();
            let _ = done.send(work());
        })?;
    result
        .await
        .map_err(|_| io::Error::other("the background thread ended without a result"))
}

/// Drops `value` on a new low-priority thread, without waiting: freeing a
/// large rule set then costs the serving threads nothing. If no thread can
/// be started, the value is dropped here.
pub(crate) fn retire<T: Send + 'static>(name: &str, value: T) {
    let started = std::thread::Builder::new()
        .name(name.to_owned())
        .spawn(move || {
            lower_own_priority();
            drop(value);
        });
    if let Err(err) = started {
        tracing::debug!("cannot start a thread to free memory, freeing it here: {err}");
    }
}

/// Lowers the calling thread's CPU priority and shortens its time slice; a
/// failure only means the work runs at normal priority, so it is logged and
/// otherwise ignored. `reload` calls it too: it compiles the config on the
/// CPU the server serves from.
pub(crate) fn lower_own_priority() {
    thread_priority::lower();
}

/// Elsewhere (a developer's laptop running `validate` or `explain`) there is
/// no `sched_setattr`; the work simply runs at normal priority.
#[cfg(not(target_os = "linux"))]
mod thread_priority {
    pub(super) fn lower() {}
}

/// Linux's per-thread scheduling calls (`sched_setattr`, `setpriority`).
#[cfg(target_os = "linux")]
mod thread_priority {
    use std::io;

    /// The nice value of background threads (the lowest priority).
    pub(super) const BACKGROUND_NICE: i32 = 19;
    /// The time slice background threads ask for: the shortest Linux grants a
    /// normal thread (honoured since Linux 6.12's EEVDF; older kernels ignore it).
    pub(super) const BACKGROUND_SLICE_NS: u64 = 100_000;

    /// The shortest slice first; a lower nice value when that is refused.
    pub(super) fn lower() {
        let attr = libc::sched_attr {
            size: std::mem::size_of::<libc::sched_attr>() as u32,
            sched_policy: libc::SCHED_OTHER as u32,
            sched_flags: 0,
            sched_nice: BACKGROUND_NICE,
            sched_priority: 0,
            sched_runtime: BACKGROUND_SLICE_NS,
            sched_deadline: 0,
            sched_period: 0,
        };
        // Thread id 0 is the calling thread alone.
        #[allow(unsafe_code)]
        // SAFETY: the kernel reads `attr.size` bytes of `attr`, a live, fully
        // initialised `sched_attr` of exactly that size, and writes nothing.
        let status = unsafe {
            libc::syscall(
                libc::SYS_sched_setattr,
                0,
                &attr as *const libc::sched_attr,
                0,
            )
        };
        if status == 0 {
            return;
        }
        let refused = io::Error::last_os_error();
        tracing::debug!("cannot shorten the background thread's time slice: {refused}");
        // On Linux, PRIO_PROCESS with id 0 applies to the calling thread alone.
        #[allow(unsafe_code)]
        // SAFETY: setpriority takes plain integers and touches no memory of ours.
        let status = unsafe { libc::setpriority(libc::PRIO_PROCESS, 0, BACKGROUND_NICE) };
        if status != 0 {
            tracing::debug!(
                "cannot lower the background thread's priority: {}",
                io::Error::last_os_error()
            );
        }
    }
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::thread_priority::{BACKGROUND_NICE, BACKGROUND_SLICE_NS};
    use super::*;

    fn own_nice() -> i32 {
        // Field 19 of /proc/thread-self/stat is the nice value.
        let stat = std::fs::read_to_string("/proc/thread-self/stat").expect("stat");
        let after_name = &stat[stat.rfind(')').expect("comm") + 2..];
        after_name
            .split_whitespace()
            .nth(16)
            .expect("nice field")
            .parse()
            .expect("number")
    }

    #[test]
    fn a_retired_value_is_dropped_on_a_low_priority_thread() {
        struct Probe(std::sync::mpsc::Sender<(String, i32)>);
        impl Drop for Probe {
            fn drop(&mut self) {
                let name = std::thread::current().name().unwrap_or("").to_owned();
                let _ = self.0.send((name, own_nice()));
            }
        }
        let (tx, rx) = std::sync::mpsc::channel();
        retire("test-retire", Probe(tx));
        let (name, nice) = rx
            .recv_timeout(std::time::Duration::from_secs(10))
            .expect("dropped");
        assert_eq!(name, "test-retire");
        assert_eq!(nice, BACKGROUND_NICE);
    }

    /// The slice the scheduler gives the calling thread (`se.slice` of
    /// /proc/thread-self/sched, in ns), where the kernel shows it.
    fn own_slice() -> Option<u64> {
        let sched = std::fs::read_to_string("/proc/thread-self/sched").ok()?;
        let line = sched.lines().find(|line| line.starts_with("se.slice"))?;
        line.split(':').nth(1)?.trim().parse().ok()
    }

    /// Whether the running kernel is `major.minor` or later.
    fn kernel_at_least(major: u32, minor: u32) -> bool {
        let release = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
        let mut parts = release
            .split(|c: char| !c.is_ascii_digit())
            .map(|part| part.parse::<u32>().unwrap_or(0));
        (parts.next().unwrap_or(0), parts.next().unwrap_or(0)) >= (major, minor)
    }

    #[tokio::test]
    async fn work_runs_at_the_lowest_priority_and_its_result_comes_back() {
        let before = own_nice();
        let slice_before = own_slice();
        let (answer, nice, slice) = run("test-background", || (6 * 7, own_nice(), own_slice()))
            .await
            .expect("ran");
        assert_eq!(answer, 42);
        assert_eq!(nice, BACKGROUND_NICE);
        assert_eq!(own_nice(), before, "the caller's priority is untouched");
        // Kernels that honour a thread's own slice (6.12 and later) show it.
        if slice_before.is_some() && kernel_at_least(6, 12) {
            assert_eq!(slice, Some(BACKGROUND_SLICE_NS));
        }
        assert_eq!(own_slice(), slice_before, "the caller's slice is untouched");
    }
}
