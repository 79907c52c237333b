//! Parking an idle keep-alive connection (issue 16). Once a connection has
//! been quiet for `PARK_AFTER` — every request on it answered and flushed,
//! no byte of the next one read — the socket wrapper ends hyper's read
//! (`ClientIo::quiet`), hyper lets go of the connection without writing a
//! byte, and its state (an 8 KiB read and an 8 KiB write buffer, the parsed
//! head's scratch, the dispatcher) is freed. The connection then waits for
//! bytes holding only its socket, its timers and its framing state, and a
//! new hyper connection takes over when bytes arrive. This file hands the
//! socket wrapper back from hyper when it lets go, and waits while parked.

use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;

use super::client_io::ClientIo;
use super::client_timers::IdleSince;

/// How long a keep-alive connection stays quiet before it is parked. A busy
/// client (a browser fetching a page's resources, a load balancer's or an
/// API client's steady stream) sends its next request well within it, so
/// its connection never rebuilds hyper's state; an idle one spends all but
/// this second of its keep-alive period parked. Rebuilding costs a few
/// thousand instructions once per wake, against a second of quiet.
pub const PARK_AFTER: Duration = Duration::from_secs(1);

/// Where the socket wrapper lands when a hyper connection lets go of it
/// parked; empty otherwise (the socket then closed with hyper).
#[derive(Debug, Clone, Default)]
pub struct ParkingSpot(Arc<Mutex<Option<Box<ClientIo>>>>);

impl ParkingSpot {
    /// The parked socket wrapper, if hyper let go of one.
    pub fn take(&self) -> Option<Box<ClientIo>> {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).take()
    }

    fn put(&self, io: Box<ClientIo>) {
        *self.0.lock().unwrap_or_else(|p| p.into_inner()) = Some(io);
    }
}

/// The socket wrapper as one hyper connection owns it: dropped parked, it
/// leaves the wrapper in its spot instead of closing the socket.
#[derive(Debug)]
pub struct Parkable {
    io: Option<Box<ClientIo>>,
    spot: ParkingSpot,
}

impl Parkable {
    /// Lends `io` to one hyper connection.
    pub fn new(io: Box<ClientIo>, spot: ParkingSpot) -> Self {
        Parkable { io: Some(io), spot }
    }

    fn io(&mut self) -> io::Result<Pin<&mut ClientIo>> {
        match self.io.as_mut() {
            Some(io) => Ok(Pin::new(&mut **io)),
            None => Err(io::ErrorKind::NotConnected.into()),
        }
    }
}

impl Drop for Parkable {
    fn drop(&mut self) {
        if let Some(io) = self.io.take_if(|io| io.parked()) {
            self.spot.put(io);
        }
    }
}

/// A parked connection: its socket and since when it has been idle,
/// nothing else (`ClientIo::into_parked`, `ClientIo::resume`). The task
/// that holds it also holds the alarm for the end of its keep-alive period.
#[derive(Debug)]
pub struct Parked {
    pub(super) inner: TcpStream,
    pub(super) idle: IdleSince,
}

impl Parked {
    /// `Ready` once the client has sent bytes (or closed: hyper finds out).
    pub fn poll_readable(&self, cx: &mut Context<'_>) -> Poll<()> {
        self.inner.poll_read_ready(cx).map(|_| ())
    }
}

impl AsyncRead for Parkable {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.io() {
            Ok(io) => io.poll_read(cx, buf),
            Err(err) => Poll::Ready(Err(err)),
        }
    }
}

impl AsyncWrite for Parkable {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.io() {
            Ok(io) => io.poll_write(cx, buf),
            Err(err) => Poll::Ready(Err(err)),
        }
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        match self.io() {
            Ok(io) => io.poll_write_vectored(cx, bufs),
            Err(err) => Poll::Ready(Err(err)),
        }
    }

    fn is_write_vectored(&self) -> bool {
        self.io.as_ref().is_some_and(|io| io.is_write_vectored())
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.io() {
            Ok(io) => io.poll_flush(cx),
            Err(err) => Poll::Ready(Err(err)),
        }
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.io() {
            Ok(io) => io.poll_shutdown(cx),
            Err(err) => Poll::Ready(Err(err)),
        }
    }
}
