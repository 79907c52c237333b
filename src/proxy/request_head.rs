//! The request head as it goes to the next hop, written into the
//! connection's one reused buffer: the request line in HTTP/1.1, the fields
//! as they are (names lower-case), and the body's framing decided as hyper's
//! client decided it — the client's `Transfer-Encoding: chunked` (set by
//! `forward`) wins, then its `Content-Length`, then a length the body knows.

use std::io::Write;

use http::header::{CONTENT_LENGTH, TRANSFER_ENCODING};
use http::{HeaderMap, Method, Uri};

/// How the request body goes out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RequestFraming {
    /// No body.
    Empty,
    /// This many bytes, as they come.
    Length(u64),
    /// In chunks, ended by a last empty chunk.
    Chunked,
}

/// The body to be sent: none, or one whose length is `Some` when known.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BodyShape {
    /// No body at all.
    None,
    /// A body, with its exact length when known.
    Streamed(Option<u64>),
}

/// Writes the head of a request into `out` (cleared first) and says how
/// its body must be framed.
pub(crate) fn encode(
    out: &mut Vec<u8>,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: BodyShape,
) -> RequestFraming {
    out.clear();
    out.extend_from_slice(method.as_str().as_bytes());
    out.push(b' ');
    match (uri.scheme(), uri.path_and_query()) {
        (None, Some(target)) => out.extend_from_slice(target.as_str().as_bytes()),
        // Writing into a vector cannot fail.
        _ => {
            let _ = write!(out, "{uri}");
        }
    }
    out.extend_from_slice(b" HTTP/1.1\r\n");
    let framing = framing(headers, body);
    for (name, value) in headers {
        // A bodiless request drops a stray coding; a chunked one its length.
        let skip = match framing {
            RequestFraming::Empty => name == TRANSFER_ENCODING,
            RequestFraming::Chunked => name == CONTENT_LENGTH,
            RequestFraming::Length(_) => false,
        };
        if !skip {
            field(out, name.as_str().as_bytes(), value.as_bytes());
        }
    }
    match (framing, body) {
        (RequestFraming::Length(n), _) if !headers.contains_key(CONTENT_LENGTH) => {
            out.extend_from_slice(b"content-length: ");
            let _ = write!(out, "{n}");
            out.extend_from_slice(b"\r\n");
        }
        (RequestFraming::Chunked, _) if !headers.contains_key(TRANSFER_ENCODING) => {
            field(out, b"transfer-encoding", b"chunked");
        }
        _ => {}
    }
    out.extend_from_slice(b"\r\n");
    framing
}

fn field(out: &mut Vec<u8>, name: &[u8], value: &[u8]) {
    out.extend_from_slice(name);
    out.extend_from_slice(b": ");
    out.extend_from_slice(value);
    out.extend_from_slice(b"\r\n");
}

fn framing(headers: &HeaderMap, body: BodyShape) -> RequestFraming {
    let BodyShape::Streamed(exact) = body else {
        return RequestFraming::Empty;
    };
    if headers.contains_key(TRANSFER_ENCODING) {
        return RequestFraming::Chunked;
    }
    let declared = headers
        .get(CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.trim().parse::<u64>().ok());
    match declared.or(exact) {
        Some(n) => RequestFraming::Length(n),
        None => RequestFraming::Chunked,
    }
}

/// The size line of a chunk of `len` bytes, written into `out`.
pub(crate) fn chunk_size(out: &mut Vec<u8>, len: usize) {
    let _ = write!(out, "{len:X}\r\n");
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    fn written(
        method: Method,
        uri: &str,
        fields: &[(&str, &str)],
        body: BodyShape,
    ) -> (String, RequestFraming) {
        let mut headers = HeaderMap::new();
        for (name, value) in fields {
            headers.append(
                http::HeaderName::from_bytes(name.as_bytes()).expect("name"),
                HeaderValue::from_str(value).expect("value"),
            );
        }
        let mut out = b"left over".to_vec();
        let uri: Uri = uri.parse().expect("uri");
        let framing = encode(&mut out, &method, &uri, &headers, body);
        (String::from_utf8(out).expect("text"), framing)
    }

    #[test]
    fn a_bodiless_request_is_its_line_and_fields() {
        let (head, framing) = written(
            Method::GET,
            "/a/b?c=d",
            &[("host", "example.com"), ("x-a", "1"), ("x-a", "2")],
            BodyShape::None,
        );
        assert_eq!(
            head,
            "GET /a/b?c=d HTTP/1.1\r\nhost: example.com\r\nx-a: 1\r\nx-a: 2\r\n\r\n"
        );
        assert_eq!(framing, RequestFraming::Empty);
        let (head, _) = written(Method::OPTIONS, "*", &[("host", "h")], BodyShape::None);
        assert!(head.starts_with("OPTIONS * HTTP/1.1\r\n"), "{head}");
    }

    #[test]
    fn the_body_framing_is_the_clients_else_the_bodys() {
        let (head, framing) = written(
            Method::POST,
            "/",
            &[("host", "h"), ("content-length", "3")],
            BodyShape::Streamed(Some(3)),
        );
        assert_eq!(
            head,
            "POST / HTTP/1.1\r\nhost: h\r\ncontent-length: 3\r\n\r\n"
        );
        assert_eq!(framing, RequestFraming::Length(3));
        let (head, framing) = written(
            Method::POST,
            "/",
            &[
                ("host", "h"),
                ("transfer-encoding", "chunked"),
                ("content-length", "3"),
            ],
            BodyShape::Streamed(None),
        );
        assert_eq!(
            head,
            "POST / HTTP/1.1\r\nhost: h\r\ntransfer-encoding: chunked\r\n\r\n"
        );
        assert_eq!(framing, RequestFraming::Chunked);
        let (head, framing) = written(
            Method::PUT,
            "/",
            &[("host", "h")],
            BodyShape::Streamed(Some(9)),
        );
        assert_eq!(
            head,
            "PUT / HTTP/1.1\r\nhost: h\r\ncontent-length: 9\r\n\r\n"
        );
        assert_eq!(framing, RequestFraming::Length(9));
        let (head, framing) = written(
            Method::PUT,
            "/",
            &[("host", "h")],
            BodyShape::Streamed(None),
        );
        assert_eq!(
            head,
            "PUT / HTTP/1.1\r\nhost: h\r\ntransfer-encoding: chunked\r\n\r\n"
        );
        assert_eq!(framing, RequestFraming::Chunked);
        let (head, framing) = written(
            Method::GET,
            "/",
            &[("host", "h"), ("transfer-encoding", "chunked")],
            BodyShape::None,
        );
        assert_eq!(head, "GET / HTTP/1.1\r\nhost: h\r\n\r\n");
        assert_eq!(framing, RequestFraming::Empty);
    }

    #[test]
    fn chunk_sizes_are_hex() {
        let mut out = Vec::new();
        chunk_size(&mut out, 255);
        assert_eq!(out, b"FF\r\n");
    }
}
