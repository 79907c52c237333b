//! The server under test: `/usr/local/bin/switchyard serve`, started exactly
//! as the image's entry point starts it (no flags, no `SWITCHYARD_*`).

use std::fs;
use std::net::{SocketAddr, TcpStream};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use crate::namespace::SCRATCH;
use crate::world;

/// The environment every process of the image runs with: a PATH, nothing else.
pub const IMAGE_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// A running `switchyard serve`; killed if a test forgets to stop it.
pub struct Proxy {
    child: Child,
    /// The server's pid, for signals and /proc.
    pub pid: u32,
    stderr_path: String,
    exited: Option<ExitStatus>,
}

impl Proxy {
    /// Starts the server and waits until port 80 accepts connections.
    pub fn start() -> Proxy {
        match Proxy::try_start() {
            Ok(proxy) => proxy,
            Err(reason) => panic!("the server did not start: {reason}"),
        }
    }

    /// Starts the server; an error says why it never listened.
    pub fn try_start() -> Result<Proxy, String> {
        let stderr_path = format!("{SCRATCH}/serve-stderr-{}.log", std::process::id());
        let stderr = fs::File::create(&stderr_path).map_err(|e| e.to_string())?;
        let child = Command::new("/usr/local/bin/switchyard")
            .arg("serve")
            .env_clear()
            .env("PATH", IMAGE_PATH)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(stderr)
            .spawn()
            .map_err(|e| format!("spawn /usr/local/bin/switchyard serve: {e}"))?;
        let pid = child.id();
        world::track(pid);
        let mut proxy = Proxy {
            child,
            pid,
            stderr_path,
            exited: None,
        };
        let deadline = Instant::now() + Duration::from_secs(20);
        let addr: SocketAddr = ([127, 0, 0, 1], 80).into();
        loop {
            if let Some(status) = proxy.try_exit() {
                return Err(format!(
                    "it exited with {status}; stderr:\n{}",
                    proxy.stderr()
                ));
            }
            if TcpStream::connect_timeout(&addr, Duration::from_millis(500)).is_ok() {
                return Ok(proxy);
            }
            if Instant::now() > deadline {
                return Err(format!(
                    "port 80 never answered; stderr:\n{}",
                    proxy.stderr()
                ));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// What the server wrote to stderr so far.
    pub fn stderr(&self) -> String {
        fs::read_to_string(&self.stderr_path).unwrap_or_default()
    }

    /// Sends a signal by name (`TERM`, `USR1`, `HUP`).
    pub fn signal(&self, name: &str) {
        assert!(
            send_signal(self.pid, name),
            "kill -{name} {} failed",
            self.pid
        );
    }

    fn try_exit(&mut self) -> Option<ExitStatus> {
        if self.exited.is_none() {
            self.exited = self.child.try_wait().ok().flatten();
        }
        self.exited
    }

    /// Whether the server is still running.
    pub fn alive(&mut self) -> bool {
        self.try_exit().is_none()
    }

    /// Waits for the server to exit, at most `limit`.
    pub fn wait_exit(&mut self, limit: Duration) -> Option<ExitStatus> {
        let deadline = Instant::now() + limit;
        loop {
            if let Some(status) = self.try_exit() {
                return Some(status);
            }
            if Instant::now() > deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// SIGTERM, then asserts a clean exit 0 (logs flushed).
    pub fn stop(mut self) {
        self.signal("TERM");
        match self.wait_exit(Duration::from_secs(45)) {
            Some(status) => assert_eq!(
                status.code(),
                Some(0),
                "switchyard serve should exit 0 on SIGTERM, got {status}; stderr:\n{}",
                self.stderr()
            ),
            None => panic!("switchyard serve did not exit within 45 s of SIGTERM"),
        }
    }

    /// A field of /proc/PID/status in KiB (`VmHWM`, `VmRSS`).
    pub fn status_kib(&self, field: &str) -> u64 {
        let status = fs::read_to_string(format!("/proc/{}/status", self.pid))
            .expect("read /proc/PID/status");
        status
            .lines()
            .find_map(|l| {
                l.strip_prefix(field)
                    .and_then(|v| v.trim_start_matches(':').split_whitespace().next())
            })
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("no {field} in /proc/{}/status", self.pid))
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        if self.try_exit().is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Sends a signal by name through the shell's `kill` builtin (no procps
/// needed, no unsafe `libc::kill`); true when it was delivered.
pub fn send_signal(pid: u32, name: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("kill -{name} {pid}")])
        .status()
        .is_ok_and(|s| s.success())
}
