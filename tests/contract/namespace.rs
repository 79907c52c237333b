//! The private world the contract tests run in: mounts over the contract's
//! real paths, and a second network namespace for the origins, joined to the
//! proxy's by two veth pairs. Everything here lives and dies with the private
//! namespaces; nothing is left on the host.

use std::fs;
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4, TcpListener};
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The origin namespace's name (under the private `/run/netns`).
pub const ORIGIN_NETNS: &str = "sy-origin";
/// The proxy side of the first veth pair.
pub const PROXY_SIDE_A: Ipv4Addr = Ipv4Addr::new(10, 231, 0, 1);
/// Origin address A: where `next-hop` points by default.
pub const ORIGIN_A: Ipv4Addr = Ipv4Addr::new(10, 231, 0, 2);
/// The proxy side of the second veth pair.
pub const PROXY_SIDE_B: Ipv4Addr = Ipv4Addr::new(10, 231, 0, 5);
/// Origin address B: where `next-hop` moves in the re-resolution test.
pub const ORIGIN_B: Ipv4Addr = Ipv4Addr::new(10, 231, 0, 6);

/// An address nobody answers (for connect timeouts).
pub const BLACK_HOLE: Ipv4Addr = Ipv4Addr::new(10, 231, 9, 9);

/// Scratch space for the harness itself (config sources, hosts file, bins).
pub const SCRATCH: &str = "/run/contract";

/// Who the harness runs as, which decides how it enters its namespaces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Entry {
    /// Root (CI): private mount, network and pid namespaces directly.
    AsRoot,
    /// A normal user: a user namespace first, in which the user is root
    /// (`--map-root-user`), so the veth pairs, the bind mounts and port 80
    /// all work without privileges on the host.
    AsUser,
}

impl Entry {
    /// The `unshare` options that enter the namespaces this way.
    pub fn unshare_args(self) -> &'static [&'static str] {
        match self {
            Entry::AsRoot => &[],
            Entry::AsUser => &["--user", "--map-root-user"],
        }
    }
}

/// Checks what the harness needs before re-executing under `unshare`, and
/// says how to enter the namespaces. An error is one line: why, and what to do.
pub fn check_prerequisites() -> Result<Entry, String> {
    let uid = fs::read_to_string("/proc/self/status")
        .map_err(|e| format!("cannot read /proc/self/status: {e}"))?
        .lines()
        .find_map(|l| {
            l.strip_prefix("Uid:")
                .map(|v| v.split_whitespace().next().map(str::to_owned))
        })
        .flatten()
        .ok_or("no Uid line in /proc/self/status")?;
    for tool in ["unshare", "ip", "mount", "umount", "curl"] {
        let found = Command::new("sh")
            .args(["-c", &format!("command -v {tool}")])
            .output()
            .map(|o| o.status.success())
            .unwrap_or(false);
        if !found {
            return Err(format!(
                "`{tool}` is not installed (Debian packages: util-linux, iproute2, mount, curl)"
            ));
        }
    }
    if uid == "0" {
        return Ok(Entry::AsRoot);
    }
    user_namespaces_allowed(&uid)?;
    Ok(Entry::AsUser)
}

/// Tries the user namespace the tests will enter; when the kernel refuses,
/// says which switch refuses it (as far as `/proc/sys` tells) and the fix.
fn user_namespaces_allowed(uid: &str) -> Result<(), String> {
    let probe = Command::new("unshare")
        .args([
            "--user",
            "--map-root-user",
            "--mount",
            "--net",
            "--pid",
            "--fork",
            "true",
        ])
        .output()
        .map_err(|e| format!("cannot run unshare: {e}"))?;
    if probe.status.success() {
        return Ok(());
    }
    let sysctl = |name: &str| {
        fs::read_to_string(format!("/proc/sys/{}", name.replace('.', "/")))
            .ok()
            .map(|v| v.trim().to_owned())
    };
    let said = String::from_utf8_lossy(&probe.stderr);
    let switch = if said.contains("No space left on device") {
        "the limit user.max_user_namespaces is reached (`sysctl user.max_user_namespaces`)"
    } else if sysctl("kernel.unprivileged_userns_clone").as_deref() == Some("0") {
        "kernel.unprivileged_userns_clone is 0 (`sysctl -w kernel.unprivileged_userns_clone=1`)"
    } else if sysctl("user.max_user_namespaces").as_deref() == Some("0") {
        "user.max_user_namespaces is 0 (`sysctl -w user.max_user_namespaces=10000`)"
    } else if sysctl("kernel.apparmor_restrict_unprivileged_userns").as_deref() == Some("1") {
        "AppArmor restricts them (`sysctl -w kernel.apparmor_restrict_unprivileged_userns=0`)"
    } else {
        "the kernel or a container runtime refuses them"
    };
    Err(format!(
        "not root (uid {uid}) and unprivileged user namespaces are not available: {switch}; \
         `unshare --user` said: {}; allow them, or run the tests as root",
        said.trim()
    ))
}

/// Runs a command of the set-up and fails with its stderr.
pub fn sh(program: &str, args: &[&str]) -> Result<(), String> {
    let out = Command::new(program)
        .args(args)
        .output()
        .map_err(|e| format!("{program} {args:?}: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{program} {args:?} failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

fn mkdir(path: &str) -> Result<(), String> {
    fs::create_dir_all(path).map_err(|e| format!("mkdir {path}: {e}"))
}

/// Mounts everything over the real paths. Must run inside the private mount
/// namespace (the caller checked the marker).
pub fn mount_paths(binary: &Path, section_dir: &Path) -> Result<(), String> {
    // A tmpfs over /run first: `ip netns add`, /run/switchyard and our scratch
    // then all live in memory of this namespace only.
    sh(
        "mount",
        &["-t", "tmpfs", "-o", "mode=755", "contract-run", "/run"],
    )?;
    mkdir(SCRATCH)?;
    sh(
        "mount",
        &["-t", "tmpfs", "-o", "mode=755", "contract-log", "/var/log"],
    )?;

    // /usr/local/bin: everything that was there, plus our fresh binary.
    let original_bin = format!("{SCRATCH}/original-usr-local-bin");
    let new_bin = format!("{SCRATCH}/usr-local-bin");
    mkdir(&original_bin)?;
    mkdir(&new_bin)?;
    sh("mount", &["--bind", "/usr/local/bin", &original_bin])?;
    for entry in fs::read_dir(&original_bin).map_err(|e| format!("read {original_bin}: {e}"))? {
        let entry = entry.map_err(|e| e.to_string())?;
        let name = entry.file_name();
        if name == "switchyard" {
            continue;
        }
        std::os::unix::fs::symlink(entry.path(), Path::new(&new_bin).join(&name))
            .map_err(|e| format!("symlink {:?}: {e}", name))?;
    }
    std::os::unix::fs::symlink(binary, Path::new(&new_bin).join("switchyard"))
        .map_err(|e| format!("symlink switchyard: {e}"))?;
    sh("mount", &["--bind", &new_bin, "/usr/local/bin"])?;

    // /opt: a tmpfs holding the real scripts and the (read-only) config dir.
    sh(
        "mount",
        &["-t", "tmpfs", "-o", "mode=755", "contract-opt", "/opt"],
    )?;
    mkdir("/opt/section")?;
    // Until the scripts exist in the repo, /opt/section stays empty and every
    // test that runs one fails loudly.
    if section_dir.is_dir() {
        let section = section_dir.to_str().ok_or("non-UTF-8 repo path")?;
        sh("mount", &["--bind", section, "/opt/section"])?;
    }
    mkdir(&config_source().display().to_string())?;
    mount_config_dir()?;

    // /etc/hosts: a scratch file, edited in place from now on.
    let hosts = hosts_file();
    fs::write(&hosts, hosts_text(ORIGIN_A)).map_err(|e| format!("write hosts: {e}"))?;
    sh(
        "mount",
        &["--bind", &hosts.display().to_string(), "/etc/hosts"],
    )?;
    Ok(())
}

/// Where the tests write `proxy.conf`; bind-mounted read-only on
/// `/opt/proxy_config`, as the platform mounts the user's folder.
pub fn config_source() -> PathBuf {
    PathBuf::from(format!("{SCRATCH}/config"))
}

/// Mounts the config source on `/opt/proxy_config`, read-only.
pub fn mount_config_dir() -> Result<(), String> {
    mkdir("/opt/proxy_config")?;
    let source = config_source().display().to_string();
    sh("mount", &["--bind", &source, "/opt/proxy_config"])?;
    sh("mount", &["-o", "remount,bind,ro", "/opt/proxy_config"])
}

/// Removes `/opt/proxy_config` altogether (the "missing directory" case).
pub fn remove_config_dir() -> Result<(), String> {
    sh("umount", &["/opt/proxy_config"])?;
    fs::remove_dir("/opt/proxy_config").map_err(|e| format!("rmdir /opt/proxy_config: {e}"))
}

/// The scratch file bind-mounted over `/etc/hosts`.
pub fn hosts_file() -> PathBuf {
    PathBuf::from(format!("{SCRATCH}/hosts"))
}

/// The hosts file text that maps `next-hop` to `origin`.
pub fn hosts_text(origin: Ipv4Addr) -> String {
    format!("127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost\n{origin}\tnext-hop\n")
}

/// Points `next-hop` at `origin`, editing `/etc/hosts` in place (truncate and
/// write the same inode: a rename would break the bind mount).
pub fn point_next_hop(origin: Ipv4Addr) -> Result<(), String> {
    fs::write("/etc/hosts", hosts_text(origin)).map_err(|e| format!("rewrite /etc/hosts: {e}"))
}

/// Brings up loopback, the origin namespace and both veth pairs.
pub fn build_network() -> Result<(), String> {
    sh("ip", &["link", "set", "lo", "up"])?;
    sh("ip", &["netns", "add", ORIGIN_NETNS])?;
    let n = ORIGIN_NETNS;
    for (ours, theirs, our_ip, their_ip) in [
        ("sy-a0", "sy-a1", PROXY_SIDE_A, ORIGIN_A),
        ("sy-b0", "sy-b1", PROXY_SIDE_B, ORIGIN_B),
    ] {
        sh(
            "ip",
            &[
                "link", "add", ours, "type", "veth", "peer", "name", theirs, "netns", n,
            ],
        )?;
        sh("ip", &["addr", "add", &format!("{our_ip}/30"), "dev", ours])?;
        sh("ip", &["link", "set", ours, "up"])?;
        sh(
            "ip",
            &[
                "-n",
                n,
                "addr",
                "add",
                &format!("{their_ip}/30"),
                "dev",
                theirs,
            ],
        )?;
        sh("ip", &["-n", n, "link", "set", theirs, "up"])?;
    }
    sh("ip", &["-n", n, "link", "set", "lo", "up"])?;
    // A black hole: routed into the origin namespace, which does not forward,
    // so a connection attempt there is never answered.
    sh(
        "ip",
        &[
            "route",
            "add",
            &format!("{BLACK_HOLE}/32"),
            "via",
            &ORIGIN_A.to_string(),
        ],
    )
}

/// Creates a listening socket on `ip:port` inside the origin namespace. The
/// socket stays in that namespace whichever thread uses it afterwards, so the
/// origins can be ordinary tokio servers of this process.
pub fn bind_in_origin(ip: Ipv4Addr, port: u16) -> Result<TcpListener, String> {
    let addr = SocketAddr::V4(SocketAddrV4::new(ip, port));
    std::thread::spawn(move || -> Result<TcpListener, String> {
        enter_origin_netns()?;
        let listener =
            TcpListener::bind(addr).map_err(|e| format!("bind {addr} in origin netns: {e}"))?;
        listener
            .set_nonblocking(true)
            .map_err(|e| format!("nonblocking: {e}"))?;
        Ok(listener)
    })
    .join()
    .map_err(|_| "the origin-namespace thread panicked".to_owned())?
}

/// Moves the calling thread (only) into the origin network namespace.
#[allow(unsafe_code)]
fn enter_origin_netns() -> Result<(), String> {
    let path = format!("/run/netns/{ORIGIN_NETNS}");
    let file = fs::File::open(&path).map_err(|e| format!("open {path}: {e}"))?;
    // SAFETY: setns(2) with a valid namespace fd only changes this thread's
    // network namespace; the fd outlives the call.
    let rc = unsafe { libc::setns(file.as_raw_fd(), libc::CLONE_NEWNET) };
    if rc == 0 {
        Ok(())
    } else {
        Err(format!(
            "setns({path}): {}",
            std::io::Error::last_os_error()
        ))
    }
}

/// Connects to `addr` from inside the origin namespace (to reach the proxy
/// through the veth, as another host on the network would).
pub fn connect_from_origin(addr: SocketAddr) -> Result<std::net::TcpStream, String> {
    std::thread::spawn(move || -> Result<std::net::TcpStream, String> {
        enter_origin_netns()?;
        std::net::TcpStream::connect_timeout(&addr, std::time::Duration::from_secs(5))
            .map_err(|e| format!("connect {addr} from the origin netns: {e}"))
    })
    .join()
    .map_err(|_| "the origin-namespace thread panicked".to_owned())?
}
