//! Every error the data plane answers itself, with the side it comes from, and
//! the one place that maps it to a status and a short `text/plain` body.

use std::fmt;
use std::time::Duration;

use bytes::Bytes;
use http::header::{CONNECTION, CONTENT_TYPE};
use http::{HeaderMap, HeaderValue, StatusCode};

use super::rejection::Rejection;

/// Which side of the proxy an error comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    /// The client sent something the proxy will not forward.
    Downstream,
    /// The next hop could not be reached or did not answer.
    Upstream,
    /// The proxy itself could not build the request.
    Internal,
}

/// An error the proxy answers itself.
#[derive(Debug)]
pub enum ProxyError {
    /// A request refused before any rule runs (CONNECT, `Host`, the target,
    /// the head's size): the one refusal type, shared with the framing check.
    Rejected(Rejection),
    /// 400: the client's request body broke while it was being sent to the
    /// next hop (an invalid chunk size, a connection closed mid-body), before
    /// any response began: the client is at fault, and the connection closes.
    ClientBody(hyper::Error),
    /// 502: the next hop switched protocols (101) for a request that did
    /// not ask to upgrade; the client could not make sense of it.
    UnexpectedUpgrade,
    /// 502: the next hop's response uses a transfer coding other than
    /// `chunked` (`gzip`, say): the proxy does not implement it, and
    /// stripping it would hand the client coded bytes it cannot tell apart
    /// from the content (RFC 9112 §6.1), so the answer is refused, as nginx
    /// does.
    UpstreamTransferCoding(String),
    /// 502: no connection to the next hop (resolution, refusal, connect timeout).
    UpstreamConnect(super::upstream::ConnectError),
    /// 502: the connection broke before a whole, valid response head arrived.
    UpstreamFailed(super::next_hop_error::NextHopError),
    /// 504: no response head within `upstream_response_timeout`.
    UpstreamTimeout(Duration),
    /// 500: a rewritten target that cannot form a URI.
    InvalidUpstreamUri(String),
}

impl ProxyError {
    /// Where the fault lies.
    pub fn side(&self) -> Side {
        match self {
            ProxyError::Rejected(_) | ProxyError::ClientBody(_) => Side::Downstream,
            ProxyError::UnexpectedUpgrade
            | ProxyError::UpstreamTransferCoding(_)
            | ProxyError::UpstreamConnect(_)
            | ProxyError::UpstreamFailed(_)
            | ProxyError::UpstreamTimeout(_) => Side::Upstream,
            ProxyError::InvalidUpstreamUri(_) => Side::Internal,
        }
    }

    /// The status sent to the client.
    pub fn status(&self) -> StatusCode {
        match self {
            ProxyError::Rejected(rejection) => rejection.status(),
            ProxyError::ClientBody(_) => StatusCode::BAD_REQUEST,
            ProxyError::UnexpectedUpgrade
            | ProxyError::UpstreamTransferCoding(_)
            | ProxyError::UpstreamConnect(_)
            | ProxyError::UpstreamFailed(_) => StatusCode::BAD_GATEWAY,
            ProxyError::UpstreamTimeout(_) => StatusCode::GATEWAY_TIMEOUT,
            ProxyError::InvalidUpstreamUri(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The short body sent to the client: the status's reason phrase.
    pub fn body(&self) -> String {
        super::rejection::status_body(self.status())
    }

    /// The proxy's own answer to this error — status, a `text/plain` head
    /// (with `Connection: close` when the connection ends) and the short
    /// body — logged once here, so every path that answers an error (before
    /// the rules, or through the response phase) sends the same thing.
    pub(crate) fn answer(&self, method: &str, uri: &str) -> (StatusCode, HeaderMap, Bytes) {
        self.log(method, uri);
        let mut headers = HeaderMap::new();
        headers.insert(
            CONTENT_TYPE,
            HeaderValue::from_static(crate::rules::TEXT_PLAIN),
        );
        if self.closes_connection() {
            headers.insert(CONNECTION, HeaderValue::from_static("close"));
        }
        (self.status(), headers, Bytes::from(self.body()))
    }

    /// Whether the connection closes after the answer: after CONNECT the
    /// client's next bytes were meant for a tunnel, and after a broken body
    /// the rest of the stream cannot be framed.
    pub fn closes_connection(&self) -> bool {
        match self {
            ProxyError::Rejected(rejection) => rejection.closes_connection(),
            ProxyError::ClientBody(_) => true,
            _ => false,
        }
    }

    /// Writes the error to the error log at a level fitting its side.
    pub fn log(&self, method: &str, uri: &str) {
        match self.side() {
            Side::Downstream => {
                tracing::info!(%method, %uri, status = self.status().as_u16(), "rejected: {self}")
            }
            Side::Upstream => {
                tracing::warn!(%method, %uri, status = self.status().as_u16(), "upstream: {self}")
            }
            Side::Internal => {
                tracing::error!(%method, %uri, status = self.status().as_u16(), "internal: {self}")
            }
        }
    }
}

impl fmt::Display for ProxyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ProxyError::Rejected(rejection) => rejection.fmt(f),
            ProxyError::ClientBody(err) => {
                write!(f, "the request body from the client failed: {}", chain(err))
            }
            ProxyError::UnexpectedUpgrade => {
                f.write_str("the next hop answered 101 to a request that did not ask to upgrade")
            }
            ProxyError::UpstreamTransferCoding(codings) => write!(
                f,
                "the next hop's response has a transfer coding the proxy does not implement: Transfer-Encoding: {codings}"
            ),
            ProxyError::UpstreamConnect(err) => {
                write!(f, "cannot connect to the next hop: {}", chain(err))
            }
            ProxyError::UpstreamFailed(err) => write!(f, "the next hop failed: {}", chain(err)),
            ProxyError::UpstreamTimeout(after) => {
                write!(
                    f,
                    "no response head from the next hop within {} ms",
                    after.as_millis()
                )
            }
            ProxyError::InvalidUpstreamUri(uri) => {
                write!(f, "cannot build the upstream URI {uri:?}")
            }
        }
    }
}

impl std::error::Error for ProxyError {}

/// An error and its sources on one line, since hyper's outer errors are terse.
fn chain(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(inner) = source {
        text.push_str(": ");
        text.push_str(&inner.to_string());
        source = inner.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_and_bodies() {
        let cases = [
            (
                ProxyError::Rejected(Rejection::MissingHost),
                400,
                "400 Bad Request\n",
            ),
            (
                ProxyError::Rejected(Rejection::ConnectNotAllowed),
                405,
                "405 Method Not Allowed\n",
            ),
            (
                ProxyError::Rejected(Rejection::HeaderSectionTooLarge { size: 9, limit: 8 }),
                431,
                "431 Request Header Fields Too Large\n",
            ),
            (
                ProxyError::UpstreamTimeout(Duration::from_secs(1)),
                504,
                "504 Gateway Timeout\n",
            ),
        ];
        for (err, status, body) in cases {
            assert_eq!(err.status().as_u16(), status);
            assert_eq!(err.body(), body);
        }
        assert_eq!(
            ProxyError::Rejected(Rejection::ConnectNotAllowed).side(),
            Side::Downstream
        );
        assert_eq!(
            ProxyError::UpstreamTimeout(Duration::ZERO).side(),
            Side::Upstream
        );
    }
}
