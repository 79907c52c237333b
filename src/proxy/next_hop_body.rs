//! The next hop's response body as the client's connection reads it: cut
//! from the connection's buffer by the framing, read from the socket as the
//! client takes it (so at most one buffer ahead), and the connection given
//! back to the pool the moment the body has ended — when the response and
//! the request were both whole and the next hop keeps the connection open.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};

use bytes::{Bytes, BytesMut};
use hyper::body::{Body, Frame, SizeHint};
use tokio::net::TcpStream;

use super::next_hop::Connection;
use super::next_hop_error::NextHopError;
use super::pool::Pool;
use super::response_body::{BodyDecoder, Piece};
use super::response_head::BodyFraming;

/// A response body streaming from the next hop.
#[derive(Debug)]
pub struct NextHopBody {
    /// The connection, until the body ends (or fails).
    connection: Option<Connection>,
    decoder: BodyDecoder,
    /// Where the connection goes once the body has ended; `None` when it
    /// must not be reused.
    pool: Option<Arc<Pool>>,
}

impl NextHopBody {
    /// The body framed by `framing` on `connection`; `pool` when the
    /// connection may serve another request after it.
    pub(crate) fn new(
        connection: Connection,
        framing: BodyFraming,
        pool: Option<Arc<Pool>>,
    ) -> Self {
        let mut body = NextHopBody {
            connection: Some(connection),
            decoder: BodyDecoder::new(framing),
            pool,
        };
        if body.decoder.is_done() && body.pool.is_some() {
            body.release();
        }
        body
    }

    /// The connection of a 101, for the tunnel: the stream and what the
    /// next hop sent after the head.
    pub(crate) fn take_tunnel(&mut self) -> Option<(TcpStream, BytesMut)> {
        self.pool = None;
        self.connection.take().map(Connection::into_tunnel)
    }

    /// The body has ended: the connection goes back to the pool if it may
    /// (nothing unasked left in its buffer), else it closes.
    fn release(&mut self) {
        if let (Some(mut connection), Some(pool)) = (self.connection.take(), self.pool.take())
            && connection.buffered().is_empty()
        {
            pool.give_back(connection);
        }
    }
}

impl Body for NextHopBody {
    type Data = Bytes;
    type Error = NextHopError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, NextHopError>>> {
        let this = &mut *self;
        loop {
            let piece = match this.connection.as_mut() {
                Some(connection) => this.decoder.decode(connection.buffered()),
                None => return Poll::Ready(None),
            };
            match piece {
                Ok(Piece::Data(data)) => {
                    if this.decoder.is_done() {
                        this.release();
                    }
                    return Poll::Ready(Some(Ok(Frame::data(data))));
                }
                Ok(Piece::End(trailers)) => {
                    this.release();
                    this.connection = None;
                    return Poll::Ready(trailers.map(|fields| Ok(Frame::trailers(fields))));
                }
                Ok(Piece::NeedMore) => {}
                Err(err) => {
                    this.connection = None;
                    return Poll::Ready(Some(Err(err)));
                }
            }
            let Some(connection) = this.connection.as_mut() else {
                return Poll::Ready(None);
            };
            match ready!(connection.poll_fill(cx)) {
                Ok(0) => {
                    // Closed: the end of a body delimited by the close
                    // (never reused), else a body cut short.
                    this.pool = None;
                    if let Err(err) = this.decoder.closed() {
                        this.connection = None;
                        return Poll::Ready(Some(Err(err)));
                    }
                }
                Ok(_) => {}
                Err(err) => {
                    this.connection = None;
                    return Poll::Ready(Some(Err(NextHopError::Io(err))));
                }
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.decoder.is_done()
    }

    fn size_hint(&self) -> SizeHint {
        match self.decoder.remaining() {
            Some(n) => SizeHint::with_exact(n),
            None => SizeHint::default(),
        }
    }
}

impl Drop for NextHopBody {
    /// A body that ended but was never polled to its end (HEAD, 304, a
    /// replaced response) still frees its connection.
    fn drop(&mut self) {
        if self.decoder.is_done() {
            self.release();
        }
    }
}
