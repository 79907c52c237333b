//! The one type for a request the proxy refuses at the edge, before any rule
//! runs: why, the status, the short `text/plain` body, and the exact bytes
//! written on the wire. The framing check, the client timers, hyper's own
//! parse errors and the service's head checks all answer through it, so the
//! status, the body and the length the access log records cannot drift apart.

use std::fmt;

use http::StatusCode;

use crate::rules::TargetError;

/// Why a request is refused at the edge.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rejection {
    /// The head is not HTTP/1.x (parser error, bare LF, bad field or target).
    Malformed,
    /// Both `Content-Length` and `Transfer-Encoding` (RFC 9112 §6.1).
    LengthAndTransferEncoding,
    /// `Content-Length` invalid, or given twice with different values.
    BadContentLength,
    /// `Transfer-Encoding` not ending in `chunked`, with `chunked` twice,
    /// `identity`, in two fields, or on HTTP/1.0.
    BadTransferEncoding,
    /// A transfer coding other than `chunked`, which the proxy does not
    /// implement (RFC 9112 §6.1: 501).
    UnknownTransferCoding,
    /// The head is larger than the parser limit, or has too many fields.
    TooLarge,
    /// The request line alone is longer than the limit.
    UriTooLong,
    /// The head did not arrive within `client_header_timeout`.
    HeadTimeout,
    /// hyper refused the head itself (a shape the framing check let pass);
    /// hyper wrote its own, empty-bodied answer.
    ParserRefused,
    /// hyper refused the head as too large; hyper wrote its own answer.
    ParserTooLarge,
    /// `CONNECT`: the proxy tunnels nothing (405, and the connection
    /// closes: what follows was meant for a tunnel).
    ConnectNotAllowed,
    /// The header section exceeds `max_request_header_bytes` (431).
    HeaderSectionTooLarge {
        /// The size of the header section received.
        size: usize,
        /// The configured limit.
        limit: usize,
    },
    /// The request line alone exceeds `max_request_header_bytes` (414).
    RequestLineTooLong {
        /// The length of the request line.
        size: usize,
        /// The configured limit.
        limit: usize,
    },
    /// An HTTP/1.1 request without `Host` (RFC 9112 §3.2: 400).
    MissingHost,
    /// More than one `Host`, or a `Host` or absolute-form authority that is
    /// not a valid authority (RFC 9112 §3.2: 400).
    InvalidHost,
    /// A target that is neither origin-form nor absolute-form, or a path
    /// that cannot be normalized (400).
    Target(TargetError),
}

impl Rejection {
    /// The status answered (and logged).
    pub(crate) fn status(self) -> StatusCode {
        match self {
            Rejection::TooLarge
            | Rejection::ParserTooLarge
            | Rejection::HeaderSectionTooLarge { .. } => {
                StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE
            }
            Rejection::UriTooLong | Rejection::RequestLineTooLong { .. } => {
                StatusCode::URI_TOO_LONG
            }
            Rejection::ConnectNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Rejection::HeadTimeout => StatusCode::REQUEST_TIMEOUT,
            Rejection::UnknownTransferCoding => StatusCode::NOT_IMPLEMENTED,
            Rejection::Malformed
            | Rejection::LengthAndTransferEncoding
            | Rejection::BadContentLength
            | Rejection::BadTransferEncoding
            | Rejection::ParserRefused
            | Rejection::MissingHost
            | Rejection::InvalidHost
            | Rejection::Target(_) => StatusCode::BAD_REQUEST,
        }
    }

    /// The body the proxy writes: `STATUS Reason\n`, like every body it
    /// generates; empty when hyper answered itself.
    pub(crate) fn body(self) -> String {
        if self.answered_by_parser() {
            return String::new();
        }
        status_body(self.status())
    }

    /// Whether the connection closes after the answer: always for what is
    /// refused before hyper parses a head (the stream cannot be trusted past
    /// it) and after CONNECT; the service's other refusals keep it.
    pub(crate) fn closes_connection(self) -> bool {
        !matches!(
            self,
            Rejection::HeaderSectionTooLarge { .. }
                | Rejection::RequestLineTooLong { .. }
                | Rejection::MissingHost
                | Rejection::InvalidHost
                | Rejection::Target(_)
        )
    }

    /// The whole response as the socket wrapper writes it, before the
    /// connection closes; empty when hyper answered itself. (The service's
    /// refusals go out through hyper, with the same status and body.)
    pub(crate) fn wire(self) -> Vec<u8> {
        if self.answered_by_parser() {
            return Vec::new();
        }
        let status = self.status();
        let body = status_body(status);
        let close = if self.closes_connection() {
            "connection: close\r\n"
        } else {
            ""
        };
        format!(
            "HTTP/1.1 {} {}\r\ncontent-type: text/plain; charset=utf-8\r\n\
             content-length: {}\r\n{close}\r\n{body}",
            status.as_u16(),
            status.canonical_reason().unwrap_or("Error"),
            body.len()
        )
        .into_bytes()
    }

    /// The refusal of a connection-level hyper error, classified by hyper's
    /// own predicates; `None` when it was no refused head.
    pub(crate) fn of_parser_error(err: &hyper::Error) -> Option<Rejection> {
        if err.is_parse_too_large() {
            Some(Rejection::ParserTooLarge)
        } else if err.is_parse() {
            Some(Rejection::ParserRefused)
        } else {
            None
        }
    }

    /// Whether hyper, not the proxy, wrote the answer.
    fn answered_by_parser(self) -> bool {
        matches!(self, Rejection::ParserRefused | Rejection::ParserTooLarge)
    }
}

/// The short body of every response the proxy generates.
pub(crate) fn status_body(status: StatusCode) -> String {
    format!(
        "{} {}\n",
        status.as_u16(),
        status.canonical_reason().unwrap_or("Error")
    )
}

impl fmt::Display for Rejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Rejection::HeaderSectionTooLarge { size, limit } => {
                return write!(
                    f,
                    "header section of {size} bytes exceeds the limit of {limit}"
                );
            }
            Rejection::RequestLineTooLong { size, limit } => {
                return write!(
                    f,
                    "request line of {size} bytes exceeds the limit of {limit}"
                );
            }
            _ => {}
        }
        f.write_str(match self {
            Rejection::Malformed => "malformed request head",
            Rejection::LengthAndTransferEncoding => "both Content-Length and Transfer-Encoding",
            Rejection::BadContentLength => "invalid or conflicting Content-Length",
            Rejection::BadTransferEncoding => {
                "Transfer-Encoding not exactly one final chunked, or on HTTP/1.0"
            }
            Rejection::UnknownTransferCoding => "a transfer coding other than chunked",
            Rejection::TooLarge => "request head too large",
            Rejection::UriTooLong => "request line too long",
            Rejection::HeadTimeout => "client header timeout",
            Rejection::ParserRefused => "the HTTP parser refused the head",
            Rejection::ParserTooLarge => "the HTTP parser found the head too large",
            Rejection::ConnectNotAllowed => "CONNECT is not supported",
            Rejection::MissingHost => "an HTTP/1.1 request without Host",
            Rejection::InvalidHost => "more than one Host, or an invalid one",
            Rejection::Target(_) => "unsupported request-target form",
            Rejection::HeaderSectionTooLarge { .. } | Rejection::RequestLineTooLong { .. } => {
                "request head too large"
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_wire_bytes_carry_the_body_and_its_length() {
        let wire = Rejection::Malformed.wire();
        assert_eq!(
            wire,
            b"HTTP/1.1 400 Bad Request\r\ncontent-type: text/plain; charset=utf-8\r\n\
content-length: 16\r\nconnection: close\r\n\r\n400 Bad Request\n"
        );
        for rejection in [
            Rejection::TooLarge,
            Rejection::UriTooLong,
            Rejection::HeadTimeout,
            Rejection::UnknownTransferCoding,
        ] {
            let wire = String::from_utf8(rejection.wire()).expect("ascii");
            let body = rejection.body();
            assert!(wire.ends_with(&format!("\r\n\r\n{body}")), "{wire}");
            assert!(wire.contains(&format!("content-length: {}\r\n", body.len())));
            assert!(wire.starts_with(&format!("HTTP/1.1 {} ", rejection.status().as_u16())));
        }
        assert_eq!(Rejection::HeadTimeout.body(), "408 Request Timeout\n");
        assert_eq!(Rejection::UnknownTransferCoding.status().as_u16(), 501);
        assert!(Rejection::ParserRefused.wire().is_empty());
    }
}
