//! The listening sockets: port 80 on every IPv4 interface (required) and on
//! every IPv6 interface (when the host has IPv6), or the addresses given by
//! `--listen`; and the accept loop that hands connections to the data plane.

use std::io;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use socket2::{Domain, Protocol, Socket, Type};
use tokio::net::TcpListener;
use tokio::sync::watch;

use super::accept_backoff::AcceptBackoff;
use super::connection;
use super::data_plane::DataPlane;
use super::drain::{DrainToken, stopping};

/// The backlog of each listening socket.
const BACKLOG: i32 = 1024;

/// Where to listen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ListenSpec {
    /// The platform's: `0.0.0.0:80` and, if available, `[::]:80`.
    Platform,
    /// Exactly these addresses (all required).
    Addresses(Vec<SocketAddr>),
}

/// A `--listen` value that is not a comma-separated list of socket addresses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadListen(pub String);

impl std::fmt::Display for BadListen {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "`{}` is not a socket address such as 127.0.0.1:8080 or [::1]:80",
            self.0
        )
    }
}

impl std::error::Error for BadListen {}

impl std::str::FromStr for ListenSpec {
    type Err = BadListen;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let addresses = text
            .split(',')
            .map(str::trim)
            .filter(|part| !part.is_empty())
            .map(|part| part.parse().map_err(|_| BadListen(part.to_owned())))
            .collect::<Result<Vec<SocketAddr>, _>>()?;
        if addresses.is_empty() {
            return Err(BadListen(text.to_owned()));
        }
        Ok(ListenSpec::Addresses(addresses))
    }
}

/// Why a listening socket could not be opened.
#[derive(Debug)]
pub struct BindError {
    /// The address.
    pub(crate) address: SocketAddr,
    /// The OS error.
    pub(crate) source: io::Error,
}

impl std::fmt::Display for BindError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "cannot listen on {}: {}", self.address, self.source)
    }
}

impl std::error::Error for BindError {}

/// Opens the listening sockets (call inside the runtime).
pub fn bind(spec: &ListenSpec) -> Result<Vec<TcpListener>, BindError> {
    match spec {
        ListenSpec::Platform => {
            let v4 = bind_one(SocketAddr::from(([0, 0, 0, 0], 80)))?;
            let mut listeners = vec![v4];
            match bind_one(SocketAddr::from(([0u16; 8], 80))) {
                Ok(v6) => listeners.push(v6),
                Err(err) => tracing::info!("no IPv6 listener: {err}"),
            }
            Ok(listeners)
        }
        ListenSpec::Addresses(addresses) => addresses.iter().map(|&a| bind_one(a)).collect(),
    }
}

fn bind_one(address: SocketAddr) -> Result<TcpListener, BindError> {
    let wrap = |source| BindError { address, source };
    let domain = Domain::for_address(address);
    let socket = Socket::new(domain, Type::STREAM, Some(Protocol::TCP)).map_err(wrap)?;
    socket.set_reuse_address(true).map_err(wrap)?;
    if address.is_ipv6() {
        socket.set_only_v6(true).map_err(wrap)?;
    }
    socket.set_nonblocking(true).map_err(wrap)?;
    socket.bind(&address.into()).map_err(wrap)?;
    socket.listen(BACKLOG).map_err(wrap)?;
    TcpListener::from_std(socket.into()).map_err(wrap)
}

/// A v4-mapped IPv6 peer (`::ffff:a.b.c.d`) is the IPv4 client it stands for.
pub(crate) fn canonical_peer(address: SocketAddr) -> IpAddr {
    address.ip().to_canonical()
}

/// Accepts connections until `shutdown` turns true, spawning one task each.
pub async fn accept_loop(
    listener: TcpListener,
    plane: Arc<DataPlane>,
    mut shutdown: watch::Receiver<bool>,
    drain: DrainToken,
) {
    let address = listener
        .local_addr()
        .map_or_else(|_| "?".to_owned(), |a| a.to_string());
    let mut backoff = AcceptBackoff::default();
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            () = stopping(&mut shutdown) => return,
        };
        match accepted {
            Ok((stream, peer)) => {
                backoff.after_accept(&address);
                let _ = stream.set_nodelay(true);
                tokio::spawn(connection::serve(
                    stream,
                    canonical_peer(peer),
                    plane.clone(),
                    shutdown.clone(),
                    drain.clone(),
                ));
            }
            Err(err) => {
                backoff.after_error(&err, &address).await;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listen_lists() {
        assert_eq!(
            "127.0.0.1:0, [::1]:8080".parse::<ListenSpec>(),
            Ok(ListenSpec::Addresses(vec![
                "127.0.0.1:0".parse().expect("v4"),
                "[::1]:8080".parse().expect("v6")
            ]))
        );
        assert!("localhost:80".parse::<ListenSpec>().is_err());
        assert!("".parse::<ListenSpec>().is_err());
    }

    #[test]
    fn v4_mapped_peers_become_v4() {
        let mapped: SocketAddr = "[::ffff:192.0.2.1]:5000".parse().expect("addr");
        assert_eq!(canonical_peer(mapped).to_string(), "192.0.2.1");
        let v6: SocketAddr = "[2001:db8::1]:5000".parse().expect("addr");
        assert_eq!(canonical_peer(v6).to_string(), "2001:db8::1");
    }
}
