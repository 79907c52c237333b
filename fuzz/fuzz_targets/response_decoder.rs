//! Fuzzes the next-hop response decoder (issue 16): any bytes a next hop
//! may send, through the head parser (`response_head::parse`) and the body
//! decoder (`response_body::BodyDecoder`), fed whole, in three pieces and
//! byte by byte. Nothing may panic, and the reading must not depend on how
//! TCP happened to cut the stream: the same head (or the same refusal), the
//! same body bytes, the same end (complete, with the same trailers, or the
//! same failure) and, for a body that ended well, the same bytes left
//! after it. A body that ended well holds exactly what its framing
//! promised.
//!
//! Input layout: byte 0 says whether the request was HEAD (low bit); bytes
//! 1 and 2 pick two cut points; the rest is what the next hop sent, after
//! which it closes the connection.
#![no_main]

use bytes::BytesMut;
use libfuzzer_sys::fuzz_target;
use switchyard::proxy::response_body::{BodyDecoder, Piece};
use switchyard::proxy::response_head::{self, BodyFraming, FieldNames};

/// What the decoder made of one stream.
#[derive(Debug, PartialEq, Eq)]
enum Reading {
    /// The connection closed before a whole head.
    NoHead,
    /// The head was refused.
    Refused(String),
    /// A head, its body and how it ended, and the bytes after it.
    Response {
        status: u16,
        fields: Vec<(String, Vec<u8>)>,
        framing: BodyFraming,
        keep_alive: bool,
        body: Vec<u8>,
        end: Result<Vec<(String, Vec<u8>)>, String>,
        rest: Vec<u8>,
    },
}

fn fields(map: &http::HeaderMap) -> Vec<(String, Vec<u8>)> {
    map.iter()
        .map(|(name, value)| (name.as_str().to_owned(), value.as_bytes().to_vec()))
        .collect()
}

fn read(pieces: &[&[u8]], head_request: bool, names: &mut FieldNames) -> Reading {
    let mut buf = BytesMut::new();
    let mut pieces = pieces.iter();
    let head = loop {
        match response_head::parse(&mut buf, head_request, names) {
            Ok(Some(head)) => break head,
            Ok(None) => match pieces.next() {
                Some(piece) => buf.extend_from_slice(piece),
                None => return Reading::NoHead,
            },
            Err(err) => return Reading::Refused(format!("{err:?}")),
        }
    };
    let mut decoder = BodyDecoder::new(head.framing);
    let mut body = Vec::new();
    let end = loop {
        match decoder.decode(&mut buf) {
            Ok(Piece::Data(data)) => {
                assert!(!data.is_empty(), "an empty data piece");
                body.extend_from_slice(&data);
            }
            Ok(Piece::End(trailers)) => break Ok(trailers.as_ref().map(fields).unwrap_or_default()),
            Ok(Piece::NeedMore) => match pieces.next() {
                Some(piece) => buf.extend_from_slice(piece),
                None => break decoder.closed().map(|()| Vec::new()).map_err(|e| e.to_string()),
            },
            Err(err) => break Err(err.to_string()),
        }
    };
    if end.is_ok() {
        assert!(decoder.is_done(), "ended but not done");
    }
    // After a failure the connection closes: what was left unread is no
    // one's (and depends on how much of the stream had arrived).
    let mut rest = Vec::new();
    if end.is_ok() {
        rest.extend_from_slice(&buf);
        for piece in pieces {
            rest.extend_from_slice(piece);
        }
    }
    Reading::Response {
        status: head.status.as_u16(),
        fields: fields(&head.headers),
        framing: head.framing,
        keep_alive: head.keep_alive,
        body,
        end,
        rest,
    }
}

fuzz_target!(|data: &[u8]| {
    if data.len() < 3 {
        return;
    }
    let head_request = data[0] & 1 == 1;
    let stream = &data[3..];
    let a = usize::from(data[1]).min(stream.len());
    let b = (a + usize::from(data[2])).min(stream.len());
    // One connection's field names for all three readings: names reused
    // from an earlier head must read as freshly parsed ones.
    let mut names = FieldNames::default();
    let whole = read(&[stream], head_request, &mut names);
    let three = read(&[&stream[..a], &stream[a..b], &stream[b..]], head_request, &mut names);
    assert_eq!(whole, three, "cut at {a} and {b}");
    let bytes: Vec<&[u8]> = stream.chunks(1).collect();
    let single = read(&bytes, head_request, &mut FieldNames::default());
    assert_eq!(whole, single, "byte by byte");
    if let Reading::Response {
        framing,
        body,
        end: Ok(_),
        status,
        ..
    } = &whole
    {
        match framing {
            BodyFraming::Empty => assert!(body.is_empty()),
            BodyFraming::Length(n) => assert_eq!(body.len() as u64, *n),
            BodyFraming::Chunked | BodyFraming::UntilClose => {}
        }
        if head_request || *status == 204 || *status == 304 {
            assert_eq!(*framing, BodyFraming::Empty);
        }
    }
});
