//! One HTTP/1.1 connection to the next hop, driven by the task of the
//! request that holds it — no task of its own and no channel to one: the
//! request writes its head (and streams its body) and reads the response
//! head here; the response body is then read by [`NextHopBody`] as the
//! client takes it, and the connection goes back to the pool from there.
//!
//! [`NextHopBody`]: super::next_hop_body::NextHopBody

use std::future::poll_fn;
use std::io;
use std::task::{Context, Poll, Waker, ready};

use bytes::BytesMut;
use http::Method;
use http_body_util::BodyExt;
use hyper::body::{Body, Incoming};
use tokio::net::TcpStream;

use super::next_hop_error::NextHopError;
use super::request_head::{self, BodyShape, RequestFraming};
use super::response_head::{self, FieldNames, ResponseHead};

/// Room kept free in the read buffer for each read.
const READ_SPARE: usize = 1024;

/// How much the read buffer grows by when it is nearly full: how far a
/// response body is read ahead of the client, at most.
const READ_CHUNK: usize = 16 * 1024;

/// An open connection to the next hop with its buffers.
#[derive(Debug)]
pub(crate) struct Connection {
    stream: TcpStream,
    /// What was read and not yet used: the rest of a head, body bytes.
    read: BytesMut,
    /// The request head (and chunk framing) being written; reused.
    write: Vec<u8>,
    /// The field names of the last response head.
    names: FieldNames,
}

/// A response head received, and the connection its body follows on.
#[derive(Debug)]
pub(crate) struct Exchanged {
    /// The final response head (or a 101).
    pub(crate) head: ResponseHead,
    /// The connection, positioned at the body.
    pub(crate) connection: Connection,
    /// Whether the whole request went out (else the connection is not
    /// reused: the next hop answered before the body was sent).
    pub(crate) request_sent: bool,
}

/// Why an exchange failed.
#[derive(Debug)]
pub(crate) enum ExchangeError {
    /// The client's request body failed while it was being sent.
    ClientBody(hyper::Error),
    /// The connection or the next hop failed.
    NextHop(NextHopError),
}

impl From<NextHopError> for ExchangeError {
    fn from(err: NextHopError) -> Self {
        ExchangeError::NextHop(err)
    }
}

impl Connection {
    /// A connection over a freshly connected stream.
    pub(crate) fn new(stream: TcpStream) -> Self {
        Connection {
            stream,
            read: BytesMut::new(),
            write: Vec::new(),
            names: FieldNames::default(),
        }
    }

    /// Whether an idle connection can carry a request: the next hop has
    /// not closed it, reset it or sent anything unasked. Costs a system
    /// call only when the socket reports something to read.
    pub(crate) fn is_reusable(&self) -> bool {
        if !self.read.is_empty() {
            return false;
        }
        let mut cx = Context::from_waker(Waker::noop());
        match self.stream.poll_read_ready(&mut cx) {
            Poll::Pending => true,
            Poll::Ready(Err(_)) => false,
            Poll::Ready(Ok(())) => {
                let mut byte = [0u8; 1];
                matches!(self.stream.try_read(&mut byte), Err(err) if err.kind() == io::ErrorKind::WouldBlock)
            }
        }
    }

    /// Sends the request (its head, then its body while watching for the
    /// response) and reads the response head; interim 1xx heads are skipped.
    pub(crate) async fn exchange(
        mut self,
        parts: &http::request::Parts,
        body: Option<Incoming>,
    ) -> Result<Exchanged, ExchangeError> {
        let head_request = parts.method == Method::HEAD;
        let shape = match &body {
            None => BodyShape::None,
            Some(body) => BodyShape::Streamed(body.size_hint().exact()),
        };
        let framing = request_head::encode(
            &mut self.write,
            &parts.method,
            &parts.uri,
            &parts.headers,
            shape,
        );
        write_all(&self.stream, &self.write)
            .await
            .map_err(NextHopError::Io)?;
        let (head, request_sent) = match body {
            None => {
                let reading = Reading {
                    stream: &self.stream,
                    read: &mut self.read,
                    names: &mut self.names,
                    head_request,
                };
                (reading.head().await?, true)
            }
            Some(body) => {
                let Connection {
                    stream,
                    read,
                    write,
                    names,
                } = &mut self;
                let reading = Reading {
                    stream,
                    read,
                    names,
                    head_request,
                };
                with_body(reading, write, body, framing).await?
            }
        };
        Ok(Exchanged {
            head,
            connection: self,
            request_sent,
        })
    }

    /// Reads more of the response into the buffer; `Ok(0)` at the end.
    pub(crate) fn poll_fill(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<usize>> {
        fill(&self.stream, &mut self.read, cx)
    }

    /// The buffered bytes not yet used.
    pub(crate) fn buffered(&mut self) -> &mut BytesMut {
        &mut self.read
    }

    /// The stream and what was read past the head, for a tunnel.
    pub(crate) fn into_tunnel(self) -> (TcpStream, BytesMut) {
        (self.stream, self.read)
    }
}

/// Streams the request body while reading the response head; whichever
/// the next hop does first. A head before the whole body went out ends the
/// sending (the connection then closes after the response).
async fn with_body(
    reading: Reading<'_>,
    write: &mut Vec<u8>,
    body: Incoming,
    framing: RequestFraming,
) -> Result<(ResponseHead, bool), ExchangeError> {
    let sending = send_body(reading.stream, write, body, framing);
    let reading = reading.head();
    tokio::pin!(sending, reading);
    let mut sent = None;
    loop {
        tokio::select! {
            biased;
            result = &mut sending, if sent.is_none() => match result {
                Ok(()) => sent = Some(true),
                Err(SendError::Client(err)) => return Err(ExchangeError::ClientBody(err)),
                Err(SendError::Io(err)) => {
                    // The next hop may still have answered (and closed).
                    tracing::debug!("sending the request body to the next hop failed: {err}");
                    sent = Some(false);
                }
            },
            head = &mut reading => return Ok((head?, sent == Some(true))),
        }
    }
}

enum SendError {
    Client(hyper::Error),
    Io(io::Error),
}

/// Writes the client's body as `framing` says, frame by frame.
async fn send_body(
    stream: &TcpStream,
    out: &mut Vec<u8>,
    mut body: Incoming,
    framing: RequestFraming,
) -> Result<(), SendError> {
    let chunked = framing == RequestFraming::Chunked;
    while let Some(frame) = body.frame().await {
        // Trailer fields of the client's body are not passed on.
        let Ok(data) = frame.map_err(SendError::Client)?.into_data() else {
            continue;
        };
        if data.is_empty() {
            continue;
        }
        if chunked {
            out.clear();
            request_head::chunk_size(out, data.len());
            out.extend_from_slice(&data);
            out.extend_from_slice(b"\r\n");
            write_all(stream, out).await.map_err(SendError::Io)?;
        } else {
            write_all(stream, &data).await.map_err(SendError::Io)?;
        }
    }
    if chunked {
        write_all(stream, b"0\r\n\r\n")
            .await
            .map_err(SendError::Io)?;
    }
    Ok(())
}

/// What reading a response head needs of the connection.
struct Reading<'a> {
    stream: &'a TcpStream,
    read: &'a mut BytesMut,
    names: &'a mut FieldNames,
    head_request: bool,
}

impl Reading<'_> {
    /// Reads until a final response head is complete.
    async fn head(self) -> Result<ResponseHead, NextHopError> {
        loop {
            if let Some(head) = response_head::parse(self.read, self.head_request, self.names)? {
                return Ok(head);
            }
            let n = poll_fn(|cx| fill(self.stream, self.read, cx))
                .await
                .map_err(NextHopError::Io)?;
            if n == 0 {
                return Err(NextHopError::ClosedBeforeHead);
            }
        }
    }
}

/// One read from the stream into the buffer's free room.
fn fill(stream: &TcpStream, read: &mut BytesMut, cx: &mut Context<'_>) -> Poll<io::Result<usize>> {
    if read.capacity() - read.len() < READ_SPARE {
        read.reserve(READ_CHUNK);
    }
    loop {
        ready!(stream.poll_read_ready(cx))?;
        match stream.try_read_buf(read) {
            Err(err) if err.kind() == io::ErrorKind::WouldBlock => continue,
            done => return Poll::Ready(done),
        }
    }
}

/// Writes all of `bytes`, waiting when the socket is full.
async fn write_all(stream: &TcpStream, mut bytes: &[u8]) -> io::Result<()> {
    while !bytes.is_empty() {
        match stream.try_write(bytes) {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(n) => bytes = &bytes[n..],
            Err(err) if err.kind() == io::ErrorKind::WouldBlock => stream.writable().await?,
            Err(err) => return Err(err),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proxy::next_hop_body::NextHopBody;
    use crate::proxy::pool::Pool;
    use std::sync::Arc;
    use std::time::Duration;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpListener;

    /// A next hop that answers each request head it reads with the next
    /// of `answers`, then closes.
    async fn next_hop(answers: Vec<&'static [u8]>) -> Connection {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        tokio::spawn(async move {
            let (mut stream, _) = listener.accept().await.expect("accept");
            let mut seen = Vec::new();
            for answer in answers {
                let mut buf = [0u8; 1024];
                while !seen.windows(4).any(|w| w == b"\r\n\r\n") {
                    match stream.read(&mut buf).await {
                        Ok(n) if n > 0 => seen.extend_from_slice(&buf[..n]),
                        _ => return,
                    }
                }
                seen.clear();
                if stream.write_all(answer).await.is_err() {
                    return;
                }
            }
        });
        Connection::new(TcpStream::connect(addr).await.expect("connect"))
    }

    fn get() -> http::request::Parts {
        http::Request::get("/")
            .header("host", "h")
            .body(())
            .expect("request")
            .into_parts()
            .0
    }

    /// Sends a GET and reads the whole response body.
    async fn round_trip(
        connection: Connection,
        pool: &Arc<Pool>,
    ) -> Result<(u16, Vec<u8>), NextHopError> {
        let exchanged = match connection.exchange(&get(), None).await {
            Ok(exchanged) => exchanged,
            Err(ExchangeError::NextHop(err)) => return Err(err),
            Err(ExchangeError::ClientBody(err)) => panic!("no client body: {err}"),
        };
        let status = exchanged.head.status.as_u16();
        let reusable = exchanged.head.keep_alive && exchanged.request_sent;
        let mut body = NextHopBody::new(
            exchanged.connection,
            exchanged.head.framing,
            reusable.then(|| pool.clone()),
        );
        let mut bytes = Vec::new();
        while let Some(frame) = body.frame().await {
            if let Ok(data) = frame?.into_data() {
                bytes.extend_from_slice(&data);
            }
        }
        Ok((status, bytes))
    }

    #[tokio::test]
    async fn a_whole_response_gives_the_connection_back_for_the_next() {
        let pool = Pool::new(4, Duration::from_secs(30));
        let connection = next_hop(vec![
            b"HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\nhello",
            b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\ntransfer-encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n",
        ])
        .await;
        let first = round_trip(connection, &pool).await.expect("first");
        assert_eq!(first, (200, b"hello".to_vec()));
        assert_eq!(pool.idle(), 1, "given back once the body ended");
        let again = pool.take().expect("pooled");
        let second = round_trip(again, &pool).await.expect("second");
        assert_eq!(second, (201, b"ok".to_vec()), "the 100 was skipped");
        assert_eq!(pool.idle(), 1);
    }

    #[tokio::test]
    async fn a_connection_the_next_hop_closes_is_never_given_back() {
        let pool = Pool::new(4, Duration::from_secs(30));
        for answer in [
            &b"HTTP/1.1 200 OK\r\nconnection: close\r\ncontent-length: 2\r\n\r\nok"[..],
            b"HTTP/1.0 200 OK\r\ncontent-length: 2\r\n\r\nok",
            b"HTTP/1.1 200 OK\r\n\r\nok",
            b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nokEXTRA",
        ] {
            let connection = next_hop(vec![answer]).await;
            let got = round_trip(connection, &pool).await.expect("answered");
            assert_eq!(got, (200, b"ok".to_vec()));
            assert_eq!(pool.idle(), 0, "{}", String::from_utf8_lossy(answer));
        }
    }

    #[tokio::test]
    async fn a_close_before_the_head_is_stale_and_a_cut_body_fails() {
        let pool = Pool::new(4, Duration::from_secs(30));
        let connection = next_hop(vec![b"HTTP/1.1 200 OK\r\ncontent-le"]).await;
        let err = round_trip(connection, &pool).await.expect_err("no head");
        assert!(matches!(err, NextHopError::ClosedBeforeHead), "{err:?}");
        assert!(err.is_stale());
        let connection = next_hop(vec![b"HTTP/1.1 200 OK\r\ncontent-length: 9\r\n\r\nshort"]).await;
        let err = round_trip(connection, &pool).await.expect_err("cut short");
        assert!(matches!(err, NextHopError::ClosedMidBody), "{err:?}");
        assert!(!err.is_stale());
        assert_eq!(pool.idle(), 0);
    }
}
