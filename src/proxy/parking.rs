//! Parking an idle keep-alive connection: once every request on it is
//! answered and no byte of the next one has arrived, the socket wrapper ends
//! hyper's read (`ClientIo::quiet`), hyper lets go of the connection without
//! writing a byte, and its buffers (8 KiB to read, 8 KiB to write) are freed.
//! The connection then waits for bytes holding only its socket, its timers
//! and its framing state, and a new hyper connection takes over when bytes
//! arrive. This file hands the socket wrapper back from hyper when it does.

use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use super::client_io::ClientIo;

/// Where a parked socket wrapper waits for the connection task to take it
/// (boxed only on its way there, so the spot itself stays a few bytes).
pub type ParkingSpot = Arc<Mutex<Option<Box<ClientIo>>>>;

/// The socket wrapper as one hyper connection owns it: dropped parked, it
/// leaves the wrapper in its spot instead of closing the socket.
#[derive(Debug)]
pub struct Parkable {
    io: Option<ClientIo>,
    spot: ParkingSpot,
}

impl Parkable {
    /// Lends `io` to one hyper connection.
    pub fn new(mut io: ClientIo, spot: ParkingSpot) -> Self {
        io.unpark();
        io.allow_parking();
        Parkable { io: Some(io), spot }
    }

    fn io(&mut self) -> io::Result<Pin<&mut ClientIo>> {
        match self.io.as_mut() {
            Some(io) => Ok(Pin::new(io)),
            None => Err(io::ErrorKind::NotConnected.into()),
        }
    }
}

impl Drop for Parkable {
    fn drop(&mut self) {
        if let Some(io) = self.io.take_if(|io| io.parked())
            && let Ok(mut spot) = self.spot.lock()
        {
            *spot = Some(Box::new(io));
        }
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
        self.io.as_ref().is_some_and(ClientIo::is_write_vectored)
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
