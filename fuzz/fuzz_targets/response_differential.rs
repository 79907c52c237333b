//! Differential fuzzing of the response side (issue 17): any bytes a next
//! hop may answer are read by the next-hop decoder the proxy uses (its
//! head parser and body decoder, issue 16), the head goes through the
//! proxy's own response-head handling (`forward::response_head_for_client`),
//! and hyper's server writes the response to a client, all over in-memory
//! pipes. An independent reading of what the client received (httparse and
//! RFC 9112 §6.3 framing) must agree with the next-hop parser: a body the
//! next hop completed arrives whole and framed, with nothing after it; a
//! body that failed never looks complete to the client.
#![no_main]

use std::convert::Infallible;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use std::collections::VecDeque;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::{Bytes, BytesMut};
use http_body_util::BodyExt;
use hyper::body::{Body, Frame, Incoming, SizeHint};
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use libfuzzer_sys::fuzz_target;
use switchyard::proxy::forward::response_head_for_client;
use switchyard::proxy::next_hop_error::NextHopError;
use switchyard::proxy::response_body::{BodyDecoder, Piece};
use switchyard::proxy::response_head::{self, BodyFraming, FieldNames};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// What the next-hop parser made of the answer.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Upstream {
    /// No usable head (the proxy answers 502 itself; not followed here).
    NoHead,
    /// A head with this status and a body read to its end.
    Complete(u16, Vec<u8>),
    /// A head, then the body failed after these bytes.
    Broken(u16, Vec<u8>),
}

/// What the client made of what it received.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Client {
    /// A complete response: status, body, and bytes left after it.
    Complete(u16, Vec<u8>, usize),
    /// Nothing, or a response cut short.
    Incomplete,
}

fuzz_target!(|data: &[u8]| {
    let Some((upstream, client)) = run(data) else {
        return;
    };
    match (&upstream, &client) {
        (Upstream::NoHead, _) => {}
        (Upstream::Complete(status, body), Client::Complete(got, got_body, extra)) => {
            assert_eq!(status, got, "status: {upstream:?} vs {client:?}");
            assert_eq!(body, got_body, "body: {upstream:?} vs {client:?}");
            assert_eq!(*extra, 0, "bytes after the response: {client:?}");
        }
        (Upstream::Complete(..), Client::Incomplete) => {
            panic!("a complete upstream response arrived incomplete: {upstream:?}")
        }
        (Upstream::Broken(..), Client::Complete(..)) => {
            panic!("a broken upstream body looked complete to the client: {upstream:?} vs {client:?}")
        }
        (Upstream::Broken(..), Client::Incomplete) => {}
    }
});

/// Runs one exchange; `None` when the answer is out of scope (a status the
/// proxy answers itself, such as an unasked 101).
fn run(answer: &[u8]) -> Option<(Upstream, Client)> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .start_paused(true)
        .build()
        .expect("runtime");
    let answer = answer.to_vec();
    runtime.block_on(async move {
        // The next hop's answer, read by the proxy's next-hop decoder (the
        // head parser and the body decoder the connection runs) as if it
        // then closed the connection.
        let mut buf = BytesMut::from(&answer[..]);
        let Ok(Some(head)) = response_head::parse(&mut buf, false, &mut FieldNames::default()) else {
            return Some((Upstream::NoHead, Client::Incomplete));
        };
        let status = head.status.as_u16();
        if status == 101 || status < 200 {
            return None;
        }
        let mut decoder = BodyDecoder::new(head.framing);
        let mut frames = VecDeque::new();
        let mut closed = false;
        loop {
            match decoder.decode(&mut buf) {
                Ok(Piece::Data(data)) => frames.push_back(Ok(Frame::data(data))),
                Ok(Piece::End(Some(trailers))) => {
                    frames.push_back(Ok(Frame::trailers(trailers)));
                    break;
                }
                Ok(Piece::End(None)) => break,
                Ok(Piece::NeedMore) if !closed => closed = true,
                Ok(Piece::NeedMore) => match decoder.closed() {
                    Ok(()) => {}
                    Err(err) => {
                        frames.push_back(Err(err));
                        break;
                    }
                },
                Err(err) => {
                    frames.push_back(Err(err));
                    break;
                }
            }
        }
        let mut response = Response::new(Replay {
            frames,
            remaining: decoder_length(head.framing),
        });
        *response.status_mut() = head.status;
        *response.version_mut() = head.version;
        *response.headers_mut() = head.headers;
        response_head_for_client(response.headers_mut());
        // The body goes to the client as the proxy sends it; a copy of what
        // the next-hop parser read, and whether it ended, is kept.
        let seen: Arc<Mutex<(Vec<u8>, Option<bool>)>> = Arc::default();
        let record = seen.clone();
        let (parts, body) = response.into_parts();
        let body = body.map_frame(move |frame| {
            if let (Some(data), Ok(mut seen)) = (frame.data_ref(), record.lock()) {
                seen.0.extend_from_slice(data);
            }
            frame
        });
        let response = Mutex::new(Some(Response::from_parts(parts, body)));
        let service = service_fn(move |_request: Request<Incoming>| {
            let response = response.lock().ok().and_then(|mut r| r.take());
            async move {
                match response {
                    Some(response) => Ok::<_, Infallible>(response),
                    None => Err::<_, Infallible>(unreachable_second_request()),
                }
            }
        });
        let (mut client, server) = tokio::io::duplex(1 << 20);
        let served = tokio::spawn(
            hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(server), service),
        );
        client
            .write_all(b"GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
            .await
            .ok()?;
        let mut received = Vec::new();
        let _ = tokio::time::timeout(Duration::from_secs(3600), client.read_to_end(&mut received))
            .await;
        let served = served.await.ok().map(|r| r.is_ok());
        let (body, _) = seen.lock().map(|s| s.clone()).unwrap_or_default();
        let upstream = match served {
            Some(true) => Upstream::Complete(status, body),
            _ => Upstream::Broken(status, body),
        };
        Some((upstream, read_response(&received)))
    })
}

/// The decoded body, replayed frame by frame with the size hint the
/// proxy's `NextHopBody` gives (exact for a length).
struct Replay {
    frames: VecDeque<Result<Frame<Bytes>, NextHopError>>,
    remaining: Option<u64>,
}

impl Body for Replay {
    type Data = Bytes;
    type Error = NextHopError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, NextHopError>>> {
        let frame = self.frames.pop_front();
        if let (Some(Ok(frame)), Some(remaining)) = (&frame, &mut self.remaining) {
            let len = frame.data_ref().map_or(0, |data| data.len() as u64);
            *remaining = remaining.saturating_sub(len);
        }
        Poll::Ready(frame)
    }

    fn is_end_stream(&self) -> bool {
        self.remaining == Some(0)
    }

    fn size_hint(&self) -> SizeHint {
        self.remaining.map_or_else(SizeHint::default, SizeHint::with_exact)
    }
}

/// The length a framing promises, as `NextHopBody`'s size hint gives it.
fn decoder_length(framing: BodyFraming) -> Option<u64> {
    match framing {
        BodyFraming::Empty => Some(0),
        BodyFraming::Length(n) => Some(n),
        BodyFraming::Chunked | BodyFraming::UntilClose => None,
    }
}

/// The service is asked once only (`Connection: close`).
fn unreachable_second_request() -> Infallible {
    panic!("hyper asked for a second response on a closed connection")
}

/// The client's independent reading of the bytes it received.
fn read_response(bytes: &[u8]) -> Client {
    let mut fields = [httparse::EMPTY_HEADER; 128];
    let mut response = httparse::Response::new(&mut fields);
    let Ok(httparse::Status::Complete(head_len)) = response.parse(bytes) else {
        return Client::Incomplete;
    };
    let status = response.code.unwrap_or(0);
    let rest = &bytes[head_len..];
    let field = |name: &str| {
        response
            .headers
            .iter()
            .filter(|f| f.name.eq_ignore_ascii_case(name))
            .map(|f| String::from_utf8_lossy(f.value).into_owned())
            .collect::<Vec<_>>()
    };
    if status == 204 || status == 304 {
        return Client::Complete(status, Vec::new(), rest.len());
    }
    let codings = field("transfer-encoding");
    let lengths = field("content-length");
    if !codings.is_empty() {
        assert!(lengths.is_empty(), "chunked and a length sent to the client");
        return match dechunk(rest) {
            Some((body, used)) => Client::Complete(status, body, rest.len() - used),
            None => Client::Incomplete,
        };
    }
    if let Some(length) = lengths.first() {
        assert_eq!(lengths.len(), 1, "two lengths sent to the client");
        let length: usize = length.trim().parse().expect("a length the client can read");
        if rest.len() < length {
            return Client::Incomplete;
        }
        return Client::Complete(status, rest[..length].to_vec(), rest.len() - length);
    }
    // Delimited by the close: complete only if the connection was closed
    // cleanly, which this reading cannot tell from a cut; the proxy sends
    // a length or chunks for every body it knows the end of.
    Client::Complete(status, rest.to_vec(), 0)
}

/// A chunked body: its data and the bytes it took, or `None` if cut short.
fn dechunk(bytes: &[u8]) -> Option<(Vec<u8>, usize)> {
    let mut body = Vec::new();
    let mut pos = 0;
    loop {
        let line_end = pos + bytes[pos..].windows(2).position(|w| w == b"\r\n")?;
        let line = std::str::from_utf8(&bytes[pos..line_end]).ok()?;
        let size = usize::from_str_radix(line.split(';').next()?.trim(), 16).ok()?;
        pos = line_end + 2;
        if size == 0 {
            // Trailer fields, then the final CRLF.
            loop {
                let end = pos + bytes[pos..].windows(2).position(|w| w == b"\r\n")?;
                let empty = end == pos;
                pos = end + 2;
                if empty {
                    return Some((body, pos));
                }
            }
        }
        if bytes.len() < pos + size + 2 {
            return None;
        }
        body.extend_from_slice(&bytes[pos..pos + size]);
        pos += size;
        if &bytes[pos..pos + 2] != b"\r\n" {
            return None;
        }
        pos += 2;
    }
}
