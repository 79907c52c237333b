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
                let path = entry.path();
                if path.is_dir() && !path.is_symlink() {
                    let _ = fs::remove_dir_all(&path);
                } else {
                    let _ = fs::remove_file(&path);
                }
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

    /// Writes another file of the config dir (a `.test`, included or map
    /// file), `relative` to it, creating its directories.
    pub fn write_config_file(&self, relative: &str, bytes: impl AsRef<[u8]>) {
        let path = namespace::config_source().join(relative);
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent).expect("create the file's directory");
        }
        fs::write(&path, bytes).unwrap_or_else(|e| panic!("write {relative}: {e}"));
    }
}
