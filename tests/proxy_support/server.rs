//! The real binary as a child process with private directories and
//! SWITCHYARD_* overrides: start it on 127.0.0.1:0, find its address through
//! the control socket, signal it, run its commands.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

use switchyard::ops::control_client;
use switchyard::ops::control_protocol::{ControlReply, ControlRequest};

use super::{eventually, temp_dir};

pub const BIN: &str = env!("CARGO_BIN_EXE_switchyard");

/// A server process with private directories.
pub struct Server {
    pub child: Child,
    pub dirs: Dirs,
    pub addr: SocketAddr,
}

#[derive(Clone)]
pub struct Dirs {
    pub config: PathBuf,
    pub log: PathBuf,
    pub run: PathBuf,
}

impl Dirs {
    pub fn new(name: &str) -> Dirs {
        let base = temp_dir(name);
        Dirs {
            config: base.join("config"),
            log: base.join("log"),
            run: base.join("run"),
        }
    }

    pub fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(BIN);
        command
            .args(args)
            .env("SWITCHYARD_CONFIG_DIR", &self.config)
            .env("SWITCHYARD_LOG_DIR", &self.log)
            .env("SWITCHYARD_RUN_DIR", &self.run)
            .env_remove("SWITCHYARD_LISTEN")
            .env_remove("SWITCHYARD_UPSTREAM");
        command
    }

    pub fn run(&self, args: &[&str]) -> Output {
        self.command(args).output().expect("run command")
    }
}

impl Server {
    pub fn start(dirs: Dirs, upstream: SocketAddr) -> Server {
        let child = dirs
            .command(&["serve"])
            .env("SWITCHYARD_LISTEN", "127.0.0.1:0")
            .env("SWITCHYARD_UPSTREAM", upstream.to_string())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn server");
        let mut reply = None;
        eventually("the control socket answers", || {
            reply =
                control_client::send(&dirs.run, &ControlRequest::Status, Duration::from_secs(5))
                    .ok();
            reply.is_some()
        });
        let reply = reply.expect("status");
        let addr = reply.listen[0].parse().expect("listen address");
        Server { child, dirs, addr }
    }

    pub fn status(&self) -> ControlReply {
        control_client::send(
            &self.dirs.run,
            &ControlRequest::Status,
            Duration::from_secs(5),
        )
        .expect("status")
    }

    pub fn signal(&self, name: &str) {
        let status = Command::new("kill")
            .arg(format!("-{name}"))
            .arg(self.child.id().to_string())
            .status()
            .expect("kill");
        assert!(status.success());
    }

    pub fn wait(&mut self) -> std::process::ExitStatus {
        for _ in 0..400 {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                return status;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("server did not exit");
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
