//! What can go wrong on an open connection to the next hop, from the first
//! byte of the request to the last byte of the response body, and which of
//! those failures mean a pooled connection had gone stale.

use std::fmt;
use std::io;

/// A failure on a connection to the next hop.
#[derive(Debug)]
pub enum NextHopError {
    /// Writing the request or reading the response failed.
    Io(io::Error),
    /// The next hop closed the connection before the response head was complete.
    ClosedBeforeHead,
    /// The response head is not one the proxy reads.
    Head(HeadError),
    /// The chunked framing of the response body is broken.
    BrokenChunk,
    /// The next hop closed the connection before the body it announced ended.
    ClosedMidBody,
}

/// Why a response head was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HeadError {
    /// Not HTTP/1 syntax (httparse's reading of it).
    Syntax(httparse::Error),
    /// A status code outside 100–999.
    Status(u16),
    /// No complete head within the read limit.
    TooLarge,
    /// A field name the `http` crate refuses (longer than 64 KiB).
    FieldName,
    /// `Content-Length` values that are not one decimal length.
    ContentLength,
    /// `Transfer-Encoding` in an HTTP/1.0 response (RFC 9112 §6.1).
    CodingOnHttp10,
}

impl NextHopError {
    /// Whether the failure is what a reused connection looks like when the
    /// next hop closed it just as the request went out: the connection
    /// closed or reset before a whole response head came (so replaying an
    /// idempotent request is safe).
    pub(crate) fn is_stale(&self) -> bool {
        match self {
            NextHopError::ClosedBeforeHead => true,
            NextHopError::Io(err) => matches!(
                err.kind(),
                io::ErrorKind::ConnectionReset
                    | io::ErrorKind::ConnectionAborted
                    | io::ErrorKind::BrokenPipe
                    | io::ErrorKind::UnexpectedEof
            ),
            _ => false,
        }
    }
}

impl fmt::Display for NextHopError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NextHopError::Io(err) => write!(f, "connection error: {err}"),
            NextHopError::ClosedBeforeHead => {
                f.write_str("connection closed before the response head was complete")
            }
            NextHopError::Head(err) => write!(f, "invalid response head: {err}"),
            NextHopError::BrokenChunk => {
                f.write_str("invalid chunked framing in the response body")
            }
            NextHopError::ClosedMidBody => {
                f.write_str("connection closed before the response body ended")
            }
        }
    }
}

impl fmt::Display for HeadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HeadError::Syntax(err) => write!(f, "{err}"),
            HeadError::Status(code) => write!(f, "status code {code}"),
            HeadError::TooLarge => f.write_str("head too large"),
            HeadError::FieldName => f.write_str("invalid field name"),
            HeadError::ContentLength => f.write_str("invalid Content-Length"),
            HeadError::CodingOnHttp10 => f.write_str("Transfer-Encoding in an HTTP/1.0 response"),
        }
    }
}

impl std::error::Error for NextHopError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            NextHopError::Io(err) => Some(err),
            _ => None,
        }
    }
}

impl From<HeadError> for NextHopError {
    fn from(err: HeadError) -> Self {
        NextHopError::Head(err)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_connection_closed_before_the_head_is_stale() {
        assert!(NextHopError::ClosedBeforeHead.is_stale());
        for kind in [io::ErrorKind::ConnectionReset, io::ErrorKind::BrokenPipe] {
            assert!(NextHopError::Io(kind.into()).is_stale(), "{kind:?}");
        }
        assert!(!NextHopError::Io(io::ErrorKind::TimedOut.into()).is_stale());
        assert!(!NextHopError::Head(HeadError::TooLarge).is_stale());
        assert!(!NextHopError::ClosedMidBody.is_stale());
        assert!(!NextHopError::BrokenChunk.is_stale());
    }
}
