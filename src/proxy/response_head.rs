//! The next hop's response head, read from the connection's buffer with
//! httparse the way hyper's client read it (the same parser settings, at most
//! 100 fields, interim 1xx heads skipped, a non-canonical reason phrase kept
//! for the client), and the body framing it announces (RFC 9112 §6.3).
//! No I/O: the connection feeds it its read buffer until a head is complete.

use std::mem::MaybeUninit;

use bytes::{Bytes, BytesMut};
use http::header::{CONNECTION, CONTENT_LENGTH, TRANSFER_ENCODING};
use http::{HeaderMap, HeaderName, HeaderValue, StatusCode, Version};
use hyper::ext::ReasonPhrase;

use super::next_hop_error::HeadError;

/// Most fields in a response head (hyper's default).
pub(crate) const MAX_FIELDS: usize = 100;

/// The most bytes a response head may take: a 64 KiB head always passes
/// (as it did through hyper's 64 KiB read buffer), twice that never does.
pub(crate) const MAX_HEAD: usize = 128 * 1024;

/// How the body after a head is delimited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyFraming {
    /// No body: HEAD, 1xx, 204, 304, or a 101 switching the connection.
    Empty,
    /// Exactly this many bytes.
    Length(u64),
    /// Chunked transfer coding.
    Chunked,
    /// Everything until the next hop closes the connection.
    UntilClose,
}

/// A final response head (or a 101), read and checked.
#[derive(Debug)]
pub struct ResponseHead {
    /// The status.
    pub status: StatusCode,
    /// HTTP/1.0 or HTTP/1.1.
    pub version: Version,
    /// The fields, their values sharing the head's bytes.
    pub headers: HeaderMap,
    /// The reason phrase when it is not the status's usual one.
    pub reason: Option<ReasonPhrase>,
    /// How the body is delimited.
    pub framing: BodyFraming,
    /// Whether the connection may carry another request after this response.
    pub keep_alive: bool,
}

/// The field names of the last head read on a connection, by position: a
/// next hop sends the same names in the same order, so a name is compared
/// with the one read at its place and reused rather than parsed again.
#[derive(Debug, Default)]
pub struct FieldNames {
    names: Vec<(Box<[u8]>, HeaderName)>,
}

impl FieldNames {
    /// The name of the field at `place` written as `raw`.
    fn name(&mut self, place: usize, raw: &[u8]) -> Result<HeaderName, HeadError> {
        if let Some((seen, name)) = self.names.get(place)
            && **seen == *raw
        {
            return Ok(name.clone());
        }
        let name = HeaderName::from_bytes(raw).map_err(|_| HeadError::FieldName)?;
        if place < self.names.len() {
            self.names[place] = (raw.into(), name.clone());
        } else if place == self.names.len() && place < MAX_FIELDS {
            self.names.push((raw.into(), name.clone()));
        }
        Ok(name)
    }
}

/// Reads a response head from the front of `buf`, removing it (and any
/// interim 1xx heads before it); `Ok(None)` until a whole head is there.
/// `head_request`: the request was HEAD, so the response has no body;
/// `names`: the connection's field names so far.
pub fn parse(
    buf: &mut BytesMut,
    head_request: bool,
    names: &mut FieldNames,
) -> Result<Option<ResponseHead>, HeadError> {
    loop {
        if buf.is_empty() {
            return Ok(None);
        }
        let Some(head) = parse_one(buf, head_request, names)? else {
            return Ok(None);
        };
        if head.status.is_informational() && head.status != StatusCode::SWITCHING_PROTOCOLS {
            continue;
        }
        return Ok(Some(head));
    }
}

/// One head, interim or final. The buffer's bytes are frozen first, so
/// that the parsed fields can be sliced out of them without copying and
/// without noting where each lies; what follows the head goes back.
fn parse_one(
    buf: &mut BytesMut,
    head_request: bool,
    names: &mut FieldNames,
) -> Result<Option<ResponseHead>, HeadError> {
    let whole = buf.split().freeze();
    let parsed = parse_frozen(&whole, head_request, names);
    let rest = match &parsed {
        Ok(Some((_, len))) => whole.slice(*len..),
        _ => whole,
    };
    // The buffer is empty now, its free room after the split its own: the
    // bytes after a head (usually the start of the body) fit without
    // allocating.
    buf.extend_from_slice(&rest);
    parsed.map(|head| head.map(|(head, _)| head))
}

/// Parses the head at the front of `whole`; the head and its length.
fn parse_frozen(
    whole: &Bytes,
    head_request: bool,
    names: &mut FieldNames,
) -> Result<Option<(ResponseHead, usize)>, HeadError> {
    let mut fields = [const { MaybeUninit::<httparse::Header<'_>>::uninit() }; MAX_FIELDS];
    let mut response = httparse::Response::new(&mut []);
    let parsed = httparse::ParserConfig::default().parse_response_with_uninit_headers(
        &mut response,
        whole,
        &mut fields,
    );
    let len = match parsed {
        Ok(httparse::Status::Complete(len)) => len,
        Ok(httparse::Status::Partial) if whole.len() >= MAX_HEAD => {
            return Err(HeadError::TooLarge);
        }
        Ok(httparse::Status::Partial) => return Ok(None),
        Err(err) => return Err(HeadError::Syntax(err)),
    };
    let code = response.code.unwrap_or(0);
    let status = StatusCode::from_u16(code).map_err(|_| HeadError::Status(code))?;
    let reason = response
        .reason
        .filter(|reason| Some(*reason) != status.canonical_reason())
        .map(|reason| ReasonPhrase::try_from(reason.as_bytes()))
        .transpose()
        .map_err(|_| HeadError::Syntax(httparse::Error::Status))?;
    let version = match response.version {
        Some(1) => Version::HTTP_11,
        _ => Version::HTTP_10,
    };
    let mut headers = HeaderMap::with_capacity(response.headers.len());
    let mut fields = Fields {
        keep_alive: version == Version::HTTP_11,
        saw_close: false,
        coding: None,
        length: Length::Absent,
    };
    for (place, field) in response.headers.iter().enumerate() {
        let name = names.name(place, field.name.as_bytes())?;
        let value = HeaderValue::from_maybe_shared(whole.slice_ref(field.value))
            .map_err(|_| HeadError::Syntax(httparse::Error::HeaderValue))?;
        if fields.read(&name, &value) {
            headers.append(name, value);
        }
    }
    let framing = framing(status, version, &fields, head_request)?;
    let upgrade = status == StatusCode::SWITCHING_PROTOCOLS;
    let head = ResponseHead {
        status,
        version,
        headers,
        reason,
        framing,
        keep_alive: fields.keep_alive && !upgrade,
    };
    Ok(Some((head, len)))
}

/// What the fields say about the connection and the body's framing,
/// gathered as they are read (so the map is never searched for them).
struct Fields {
    keep_alive: bool,
    saw_close: bool,
    /// Whether the last `Transfer-Encoding` field ends in `chunked`, if any.
    coding: Option<bool>,
    length: Length,
}

/// What the `Content-Length` fields said.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Length {
    Absent,
    /// Every value and list element gave this length.
    One(u64),
    /// Not one decimal length.
    Invalid,
}

impl Fields {
    /// Notes what a field says; `false` when it is not to be kept.
    fn read(&mut self, name: &HeaderName, value: &HeaderValue) -> bool {
        if name == CONNECTION {
            if value.as_bytes().eq_ignore_ascii_case(b"keep-alive") {
                // It names only the hop-by-hop `Keep-Alive` and says only
                // what is noted here: the client would never see it, so it
                // is not kept (which spares the strip of hop-by-hop fields
                // its work on the usual answer).
                if !self.saw_close {
                    self.keep_alive = true;
                }
                return false;
            }
            // Once any `Connection` line asks to close, a later
            // `keep-alive` does not undo it.
            if self.saw_close || has_token(value, "close") {
                self.saw_close = true;
                self.keep_alive = false;
            } else if !self.keep_alive {
                self.keep_alive = has_token(value, "keep-alive");
            }
        } else if name == TRANSFER_ENCODING {
            self.coding = Some(ends_chunked(value));
        } else if name == CONTENT_LENGTH {
            self.length = match (self.length, content_length(value)) {
                (Length::Absent, Some(n)) => Length::One(n),
                (Length::One(seen), Some(n)) if seen == n => Length::One(n),
                _ => Length::Invalid,
            };
        }
        true
    }
}

/// How the body is delimited (RFC 9112 §6.3, as hyper's client decides it).
fn framing(
    status: StatusCode,
    version: Version,
    fields: &Fields,
    head_request: bool,
) -> Result<BodyFraming, HeadError> {
    if status.is_informational()
        || status == StatusCode::NO_CONTENT
        || status == StatusCode::NOT_MODIFIED
        || head_request
    {
        return Ok(BodyFraming::Empty);
    }
    if let Some(chunked) = fields.coding {
        if version == Version::HTTP_10 {
            return Err(HeadError::CodingOnHttp10);
        }
        return Ok(if chunked {
            BodyFraming::Chunked
        } else {
            BodyFraming::UntilClose
        });
    }
    match fields.length {
        Length::Absent => Ok(BodyFraming::UntilClose),
        // hyper kept the two largest lengths as markers.
        Length::One(length) if length <= u64::MAX - 2 => Ok(BodyFraming::Length(length)),
        _ => Err(HeadError::ContentLength),
    }
}

/// Whether a `Transfer-Encoding` value's last coding is `chunked`.
fn ends_chunked(value: &HeaderValue) -> bool {
    value
        .to_str()
        .ok()
        .and_then(|value| value.rsplit(',').next())
        .is_some_and(|coding| coding.trim().eq_ignore_ascii_case("chunked"))
}

/// The one length a `Content-Length` value (a list, perhaps) gives.
fn content_length(value: &HeaderValue) -> Option<u64> {
    let mut length = None;
    for item in value.to_str().ok()?.split(',') {
        let n = digits(item.trim().as_bytes())?;
        if length.is_some_and(|seen| seen != n) {
            return None;
        }
        length = Some(n);
    }
    length
}

/// A decimal number without sign, or `None`.
fn digits(bytes: &[u8]) -> Option<u64> {
    if bytes.is_empty() {
        return None;
    }
    bytes.iter().try_fold(0u64, |n, &b| {
        let digit = char::from(b).to_digit(10)?;
        n.checked_mul(10)?.checked_add(u64::from(digit))
    })
}

/// Whether a comma-separated value holds `token`.
fn has_token(value: &HeaderValue, token: &str) -> bool {
    value.to_str().is_ok_and(|text| {
        text.split(',')
            .any(|t| t.trim().eq_ignore_ascii_case(token))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn head(text: &str) -> Result<Option<ResponseHead>, HeadError> {
        parse(&mut BytesMut::from(text), false, &mut FieldNames::default())
    }

    #[test]
    fn names_read_before_are_reused_only_where_they_match() {
        let mut names = FieldNames::default();
        for text in [
            "HTTP/1.1 200 OK\r\nServer: a\r\nX-Custom: 1\r\nContent-Length: 0\r\n\r\n",
            "HTTP/1.1 200 OK\r\nServer: a\r\nX-Custom: 1\r\nContent-Length: 0\r\n\r\n",
            "HTTP/1.1 200 OK\r\nX-Custom: 2\r\nServer: b\r\nX-Other: 3\r\nContent-Length: 0\r\n\r\n",
        ] {
            let got = parse(&mut BytesMut::from(text), false, &mut names)
                .expect("valid")
                .expect("complete");
            let fresh = head(text).expect("valid").expect("complete");
            assert_eq!(got.headers, fresh.headers, "{text}");
        }
    }

    fn framing_of(text: &str) -> BodyFraming {
        head(text).expect("valid").expect("complete").framing
    }

    #[test]
    fn a_head_is_read_whole_and_its_fields_kept() {
        let mut buf = BytesMut::from(
            "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nX-A: 1\r\nX-A: 2\r\nContent-Length: 3\r\n\r\nabc",
        );
        let got = parse(&mut buf, false, &mut FieldNames::default())
            .expect("valid")
            .expect("complete");
        assert_eq!(got.status, 200);
        assert_eq!(got.version, Version::HTTP_11);
        assert_eq!(got.headers["content-type"], "text/plain");
        let values: Vec<_> = got.headers.get_all("x-a").iter().collect();
        assert_eq!(values, ["1", "2"]);
        assert_eq!(got.framing, BodyFraming::Length(3));
        assert!(got.keep_alive);
        assert!(got.reason.is_none());
        assert_eq!(&buf[..], b"abc", "the body stays in the buffer");
    }

    #[test]
    fn a_partial_head_waits_for_more() {
        for partial in ["", "HTTP/1.1 200", "HTTP/1.1 200 OK\r\nA: b\r\n"] {
            let mut buf = BytesMut::from(partial);
            assert!(
                parse(&mut buf, false, &mut FieldNames::default())
                    .expect("valid")
                    .is_none(),
                "{partial:?}"
            );
            assert_eq!(buf.len(), partial.len());
        }
        let big = format!("HTTP/1.1 200 OK\r\nX: {}\r\n", "a".repeat(MAX_HEAD));
        assert_eq!(head(&big).err(), Some(HeadError::TooLarge));
        let fits = format!(
            "HTTP/1.1 200 OK\r\nX: {}\r\ncontent-length: 0\r\n\r\n",
            "a".repeat(64 * 1024)
        );
        assert!(head(&fits).expect("valid").is_some());
    }

    #[test]
    fn interim_heads_are_skipped_but_101_is_final() {
        let mut buf = BytesMut::from(
            "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n",
        );
        assert!(
            parse(&mut buf, false, &mut FieldNames::default())
                .expect("valid")
                .is_none()
        );
        assert!(buf.is_empty(), "both interim heads are consumed");
        let got = head("HTTP/1.1 102 Processing\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n")
            .expect("valid")
            .expect("complete");
        assert_eq!(got.status, 204);
        let switched = head("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n")
            .expect("valid")
            .expect("complete");
        assert_eq!(switched.status, 101);
        assert_eq!(switched.framing, BodyFraming::Empty);
        assert!(!switched.keep_alive, "the connection is the tunnel's");
    }

    #[test]
    fn framing_follows_rfc_9112_section_6_3() {
        assert_eq!(
            framing_of(
                "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n"
            ),
            BodyFraming::Chunked
        );
        assert_eq!(
            framing_of("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, Chunked\r\n\r\n"),
            BodyFraming::Chunked
        );
        assert_eq!(
            framing_of(
                "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: gzip\r\n\r\n"
            ),
            BodyFraming::UntilClose
        );
        assert_eq!(
            framing_of("HTTP/1.1 200 OK\r\nContent-Length: 7, 7\r\nContent-Length: 7\r\n\r\n"),
            BodyFraming::Length(7)
        );
        assert_eq!(
            framing_of("HTTP/1.1 200 OK\r\n\r\n"),
            BodyFraming::UntilClose
        );
        for empty in [
            "HTTP/1.1 204 No Content\r\nContent-Length: 9\r\n\r\n",
            "HTTP/1.1 304 Not Modified\r\nTransfer-Encoding: chunked\r\n\r\n",
        ] {
            assert_eq!(framing_of(empty), BodyFraming::Empty, "{empty}");
        }
        let mut buf = BytesMut::from("HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\n");
        let got = parse(&mut buf, true, &mut FieldNames::default())
            .expect("valid")
            .expect("complete");
        assert_eq!(
            got.framing,
            BodyFraming::Empty,
            "the answer to HEAD has no body"
        );
    }

    #[test]
    fn malformed_heads_are_refused() {
        for (text, want) in [
            (
                "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
                HeadError::ContentLength,
            ),
            (
                "HTTP/1.1 200 OK\r\nContent-Length: +1\r\n\r\n",
                HeadError::ContentLength,
            ),
            (
                "HTTP/1.1 200 OK\r\nContent-Length: \r\n\r\n",
                HeadError::ContentLength,
            ),
            (
                "HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999999\r\n\r\n",
                HeadError::ContentLength,
            ),
            (
                "HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n",
                HeadError::CodingOnHttp10,
            ),
            ("HTTP/1.1 099 Low\r\n\r\n", HeadError::Status(99)),
            (
                "HTTP/1.1 2000 OK\r\n\r\n",
                HeadError::Syntax(httparse::Error::Status),
            ),
            (
                "HTTP/1.1 200 OK\r\nBad Name: x\r\n\r\n",
                HeadError::Syntax(httparse::Error::HeaderName),
            ),
            (
                "HTTP/1.1 200 OK\r\nX: a\0b\r\n\r\n",
                HeadError::Syntax(httparse::Error::HeaderValue),
            ),
            (
                "HTTP/2 200 OK\r\n\r\n",
                HeadError::Syntax(httparse::Error::Version),
            ),
            (
                "SSH-2.0-OpenSSH\r\n\r\n",
                HeadError::Syntax(httparse::Error::Version),
            ),
        ] {
            assert_eq!(head(text).err(), Some(want), "{text:?}");
        }
        for text in [
            "HTTP/1.1 200 OK\r\nX: a\r\n folded\r\n\r\n",
            "HTTP/1.1 200 OK\r\nX : a\r\n\r\n",
            "HTTP/1.1 200 OK\r\n: a\r\n\r\n",
            "HTTP/1.1 OK\r\n\r\n",
            "HTTP/1.1 2x0 OK\r\n\r\n",
            "\0\0\0\0",
        ] {
            assert!(matches!(head(text), Err(HeadError::Syntax(_))), "{text:?}");
        }
        let mut many = String::from("HTTP/1.1 200 OK\r\n");
        for i in 0..=MAX_FIELDS {
            many.push_str(&format!("X-{i}: v\r\n"));
        }
        many.push_str("\r\n");
        assert_eq!(
            head(&many).err(),
            Some(HeadError::Syntax(httparse::Error::TooManyHeaders))
        );
    }

    #[test]
    fn keep_alive_follows_version_and_connection() {
        let alive = |text: &str| head(text).expect("valid").expect("complete").keep_alive;
        assert!(alive("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"));
        assert!(!alive(
            "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"
        ));
        assert!(!alive(
            "HTTP/1.1 200 OK\r\nConnection: close\r\nConnection: keep-alive\r\nContent-Length: 0\r\n\r\n"
        ));
        assert!(!alive("HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n"));
        assert!(alive(
            "HTTP/1.0 200 OK\r\nConnection: Keep-Alive\r\nContent-Length: 0\r\n\r\n"
        ));
    }

    #[test]
    fn a_connection_keep_alive_field_is_not_kept() {
        let got = head("HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 0\r\n\r\n")
            .expect("valid")
            .expect("complete");
        assert!(got.keep_alive);
        assert!(
            !got.headers.contains_key(CONNECTION),
            "hop-by-hop, and noted"
        );
        let got = head("HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n")
            .expect("valid")
            .expect("complete");
        assert_eq!(
            got.headers[CONNECTION], "close",
            "left for the hop-by-hop strip"
        );
    }

    #[test]
    fn an_unusual_reason_phrase_is_kept_for_the_client() {
        let got = head("HTTP/1.1 200 Fine\r\nContent-Length: 0\r\n\r\n")
            .expect("valid")
            .expect("complete");
        assert_eq!(
            got.reason.as_ref().map(ReasonPhrase::as_bytes),
            Some(&b"Fine"[..])
        );
        let got = head("HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n")
            .expect("valid")
            .expect("complete");
        assert!(got.reason.is_none());
    }
}
