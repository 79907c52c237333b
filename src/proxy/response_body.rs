//! The next hop's response body, cut out of the connection's read buffer by
//! its framing: a length, chunks (followed by [`ChunkedBody`], the same
//! strict reading the request side uses), or the connection's close. No
//! I/O: the connection fills the buffer and asks for the next piece.

use bytes::{Buf, Bytes, BytesMut};
use http::{HeaderMap, HeaderName, HeaderValue};

use super::chunked::{ChunkedBody, Framed};
use super::next_hop_error::NextHopError;
use super::response_head::{BodyFraming, MAX_FIELDS};

/// Most bytes of trailer fields after a chunked body (hyper's limit).
const TRAILER_LIMIT: usize = 16 * 1024;

/// Where a response body is.
#[derive(Debug, Clone)]
pub struct BodyDecoder {
    state: State,
}

#[derive(Debug, Clone)]
enum State {
    /// This many bytes are still to come.
    Length(u64),
    Chunked(ChunkedBody),
    UntilClose,
    /// The body has ended.
    Done,
}

/// The next piece of a body.
#[derive(Debug, PartialEq, Eq)]
pub enum Piece {
    /// Body bytes.
    Data(Bytes),
    /// The body ended, with the trailer fields of a chunked body.
    End(Option<HeaderMap>),
    /// The buffer holds no more of the body: read on.
    NeedMore,
}

impl BodyDecoder {
    /// A decoder for a body delimited by `framing`.
    pub fn new(framing: BodyFraming) -> Self {
        let state = match framing {
            BodyFraming::Empty | BodyFraming::Length(0) => State::Done,
            BodyFraming::Length(n) => State::Length(n),
            BodyFraming::Chunked => State::Chunked(ChunkedBody::new(TRAILER_LIMIT, MAX_FIELDS)),
            BodyFraming::UntilClose => State::UntilClose,
        };
        BodyDecoder { state }
    }

    /// Takes the next piece of the body from the front of `buf`.
    pub fn decode(&mut self, buf: &mut BytesMut) -> Result<Piece, NextHopError> {
        match &mut self.state {
            State::Done => Ok(Piece::End(None)),
            State::Length(left) => {
                if buf.is_empty() {
                    return Ok(Piece::NeedMore);
                }
                let n = usize::try_from(*left).map_or(buf.len(), |left| left.min(buf.len()));
                *left -= n as u64;
                if *left == 0 {
                    self.state = State::Done;
                }
                Ok(Piece::Data(buf.split_to(n).freeze()))
            }
            State::UntilClose if buf.is_empty() => Ok(Piece::NeedMore),
            State::UntilClose => Ok(Piece::Data(buf.split().freeze())),
            State::Chunked(chunks) => loop {
                if buf.is_empty() {
                    return Ok(Piece::NeedMore);
                }
                match chunks.frame(buf) {
                    Framed::Data { framing, data } => {
                        buf.advance(framing);
                        return Ok(Piece::Data(buf.split_to(data).freeze()));
                    }
                    Framed::More => buf.clear(),
                    Framed::Ended(n) => {
                        buf.advance(n);
                        let trailers = chunks.take_trailers();
                        self.state = State::Done;
                        return Ok(Piece::End(trailers.map(|t| trailer_fields(&t))));
                    }
                    Framed::Broken(_) => return Err(NextHopError::BrokenChunk),
                }
            },
        }
    }

    /// The connection closed: the end of a body delimited by the close,
    /// else a body cut short.
    pub fn closed(&mut self) -> Result<(), NextHopError> {
        match self.state {
            State::UntilClose | State::Done => {
                self.state = State::Done;
                Ok(())
            }
            State::Length(_) | State::Chunked(_) => Err(NextHopError::ClosedMidBody),
        }
    }

    /// Whether the body has ended.
    pub fn is_done(&self) -> bool {
        matches!(self.state, State::Done)
    }

    /// The bytes still to come, when the framing says.
    pub fn remaining(&self) -> Option<u64> {
        match self.state {
            State::Length(n) => Some(n),
            State::Done => Some(0),
            State::Chunked(_) | State::UntilClose => None,
        }
    }
}

/// The trailer section (already checked by the chunk follower) as fields.
fn trailer_fields(section: &[u8]) -> HeaderMap {
    let mut fields = [httparse::EMPTY_HEADER; MAX_FIELDS];
    let mut map = HeaderMap::new();
    if let Ok(httparse::Status::Complete((_, fields))) =
        httparse::parse_headers(section, &mut fields)
    {
        for field in fields.iter() {
            if let (Ok(name), Ok(value)) = (
                HeaderName::from_bytes(field.name.as_bytes()),
                HeaderValue::from_bytes(field.value),
            ) {
                map.append(name, value);
            }
        }
    }
    map
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Decodes `wire` fed in pieces of `step` bytes: the body, how it
    /// ended, and what was left after it.
    fn decode(
        framing: BodyFraming,
        wire: &[u8],
        step: usize,
    ) -> (Vec<u8>, Result<Option<HeaderMap>, String>, Vec<u8>) {
        let mut decoder = BodyDecoder::new(framing);
        let mut buf = BytesMut::new();
        let mut body = Vec::new();
        let mut chunks = wire.chunks(step.max(1));
        loop {
            match decoder.decode(&mut buf) {
                Ok(Piece::Data(data)) => body.extend_from_slice(&data),
                Ok(Piece::End(trailers)) => return (body, Ok(trailers), buf.to_vec()),
                Ok(Piece::NeedMore) => match chunks.next() {
                    Some(chunk) => buf.extend_from_slice(chunk),
                    None => {
                        let end = decoder.closed().map(|()| None).map_err(|e| e.to_string());
                        return (body, end, buf.to_vec());
                    }
                },
                Err(err) => return (body, Err(err.to_string()), buf.to_vec()),
            }
        }
    }

    #[test]
    fn a_length_delimits_the_body_in_any_pieces() {
        for step in [1, 2, 5, 100] {
            let (body, end, rest) = decode(BodyFraming::Length(5), b"helloNEXT", step);
            assert_eq!(body, b"hello");
            assert!(end.is_ok());
            assert!(rest.len() <= 4, "{step}: nothing past the length is body");
        }
        let (body, end, _) = decode(BodyFraming::Length(10), b"short", 3);
        assert_eq!(body, b"short");
        assert!(end.is_err(), "a length cut short by the close is a failure");
    }

    #[test]
    fn chunks_are_decoded_in_any_pieces() {
        let wire = b"5\r\nhello\r\n1;ext=1\r\n!\r\n0\r\nX-T: 1\r\n\r\nNEXT";
        for step in [1, 3, 7, wire.len()] {
            let (body, end, rest) = decode(BodyFraming::Chunked, wire, step);
            assert_eq!(body, b"hello!", "{step}");
            let trailers = end.expect("ended").expect("trailers");
            assert_eq!(trailers["x-t"], "1");
            assert!(b"NEXT".starts_with(&rest), "{step}: {rest:?}");
        }
        let (body, end, _) = decode(BodyFraming::Chunked, b"3\r\nabc\r\n0\r\n\r\n", 2);
        assert_eq!((body.as_slice(), end), (&b"abc"[..], Ok(None)));
    }

    #[test]
    fn broken_or_cut_chunks_fail() {
        for wire in [
            &b"zz\r\n"[..],
            b"3\nabc\r\n0\r\n\r\n",
            b"3\r\nabcd\r\n0\r\n\r\n",
            b"0\r\nX: 1\n\r\n",
            b"ffffffffffffffffff\r\n",
        ] {
            let (_, end, _) = decode(BodyFraming::Chunked, wire, 4);
            assert_eq!(end, Err(NextHopError::BrokenChunk.to_string()), "{wire:?}");
        }
        let (body, end, _) = decode(BodyFraming::Chunked, b"5\r\nhel", 2);
        assert_eq!(body, b"hel");
        assert_eq!(end, Err(NextHopError::ClosedMidBody.to_string()));
    }

    #[test]
    fn a_body_until_the_close_ends_with_it() {
        let (body, end, _) = decode(BodyFraming::UntilClose, b"all of it", 4);
        assert_eq!((body.as_slice(), end), (&b"all of it"[..], Ok(None)));
    }

    #[test]
    fn an_empty_body_ends_at_once() {
        for framing in [BodyFraming::Empty, BodyFraming::Length(0)] {
            let decoder = BodyDecoder::new(framing);
            assert!(decoder.is_done());
            assert_eq!(decoder.remaining(), Some(0));
            let (body, end, rest) = decode(framing, b"HTTP/1.1", 3);
            assert!(body.is_empty() && end == Ok(None) && rest.is_empty());
        }
    }
}
