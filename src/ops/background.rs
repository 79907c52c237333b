//! Work the server does beside serving (compiling a reloaded config), run on
//! a thread of the lowest CPU priority: on a busy core the scheduler then
//! gives the serving threads the CPU first, so a reload of a large config
//! adds little to request latency. On an idle core the work runs at full
//! speed.

use std::io;

use tokio::sync::oneshot;

/// The nice value of background threads (the lowest priority).
const BACKGROUND_NICE: i32 = 19;

/// Runs `work` on a new low-priority thread and waits for its result
/// without blocking the runtime.
pub async fn run<T, F>(name: &str, work: F) -> io::Result<T>
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

/// Lowers the calling thread's CPU priority; a failure only means the work
/// runs at normal priority, so it is logged and otherwise ignored.
fn lower_own_priority() {
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

#[cfg(test)]
mod tests {
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

    #[tokio::test]
    async fn work_runs_at_the_lowest_priority_and_its_result_comes_back() {
        let before = own_nice();
        let (answer, nice) = run("test-background", || (6 * 7, own_nice()))
            .await
            .expect("ran");
        assert_eq!(answer, 42);
        assert_eq!(nice, BACKGROUND_NICE);
        assert_eq!(own_nice(), before, "the caller's priority is untouched");
    }
}
