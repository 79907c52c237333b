//! The shared state of one contract-test run: the origins' tokio runtime and
//! the per-test reset of the real paths.

use std::fs;
use std::path::Path;
use std::sync::Mutex;

use crate::namespace::{self, ORIGIN_A};

/// What every test gets: a runtime for in-process origins, set-up done.
pub struct World {
    /// Runs the origins (their listeners live in the origin namespace).
    pub rt: tokio::runtime::Runtime,
}

/// Pids of every server the tests started, so a test that panicked or hung
/// cannot leave one holding port 80 for the next.
static STARTED: Mutex<Vec<u32>> = Mutex::new(Vec::new());

/// Remembers a started server's pid.
pub fn track(pid: u32) {
    if let Ok(mut pids) = STARTED.lock() {
        pids.push(pid);
    }
}

impl World {
    /// Mounts the real paths and builds the network. Runs once, inside the
    /// private namespaces.
    pub fn build() -> Result<World, String> {
        let binary = Path::new(env!("CARGO_BIN_EXE_switchyard"));
        let section = Path::new(env!("CARGO_MANIFEST_DIR")).join("opt/section");
        namespace::mount_paths(binary, &section)?;
        namespace::build_network()?;
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .map_err(|e| format!("tokio runtime: {e}"))?;
        Ok(World { rt })
    }

    /// Gives the next test fresh state at the real paths: an empty config
    /// dir (mounted read-only), no log dir, no run dir, `next-hop` → origin A.
    pub fn reset(&self) {
        let source = namespace::config_source();
        if let Ok(entries) = fs::read_dir(&source) {
            for entry in entries.flatten() {
                let _ = fs::remove_file(entry.path());
            }
        }
        if !Path::new("/opt/proxy_config").exists()
            && let Err(e) = namespace::mount_config_dir()
        {
            eprintln!("reset: {e}");
        }
        let _ = fs::remove_dir_all("/var/log/switchyard");
        let _ = fs::remove_dir_all("/run/switchyard");
        if let Err(e) = namespace::point_next_hop(ORIGIN_A) {
            eprintln!("reset: {e}");
        }
    }

    /// Kills any server a finished (or hung) test left running.
    pub fn stop_leftovers(&self) {
        let pids: Vec<u32> = STARTED
            .lock()
            .map(|mut p| p.drain(..).collect())
            .unwrap_or_default();
        for pid in pids {
            if Path::new(&format!("/proc/{pid}")).exists() {
                crate::proxy::send_signal(pid, "KILL");
            }
        }
    }

    /// Writes `/opt/proxy_config/proxy.conf` (through its writable source).
    pub fn write_config(&self, text: &str) {
        self.write_config_file("proxy.conf", text);
    }

    /// Writes another file of `/opt/proxy_config/` (a `.test` file, say).
    pub fn write_config_file(&self, name: &str, text: &str) {
        fs::write(namespace::config_source().join(name), text)
            .unwrap_or_else(|e| panic!("write {name}: {e}"));
    }
}
