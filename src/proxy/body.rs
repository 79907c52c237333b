//! The response body sent to the client: streams the upstream body (or a
//! generated one), counts the bytes actually sent, and when the body ends or
//! is dropped writes the request's one access-log line and, apart from it,
//! tells the connection the request is over (its keep-alive timer starts).

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Instant;

use bytes::Bytes;
use hyper::body::{Body, Frame, SizeHint};

use super::client_io::ConnState;
use super::next_hop_body::NextHopBody;
use super::next_hop_error::NextHopError;
use crate::log::access_log::AccessLog;
use crate::log::access_record::{AccessRecord, LogAction};
use crate::rules::AccessLogFormat;

/// The access-log line of a request, waiting for its body to end.
#[derive(Debug)]
pub(crate) struct PendingLog {
    /// The record, complete but for `bytes_sent` and `duration_ms`.
    pub(crate) record: AccessRecord,
    /// The format of the rule set the request started with.
    pub(crate) format: AccessLogFormat,
    /// When the request started.
    pub(crate) started: Instant,
    /// Where the line goes; `None` once written.
    pub(crate) log: Option<AccessLog>,
}

/// A request in progress on its connection: made when the service starts it,
/// and ended (once) when its response body ends or is dropped, so the
/// connection's keep-alive timer follows the response, not its log line.
#[derive(Debug)]
pub(crate) struct RequestEnd {
    conn: Option<Arc<ConnState>>,
}

impl RequestEnd {
    /// Counts a request as started on `conn`; it ends when this is dropped.
    pub(crate) fn start(conn: Arc<ConnState>) -> Self {
        conn.request_started();
        RequestEnd { conn: Some(conn) }
    }

    fn end(&mut self) {
        if let Some(conn) = self.conn.take() {
            conn.request_finished();
        }
    }
}

impl Drop for RequestEnd {
    /// A request abandoned before its response existed ends too.
    fn drop(&mut self) {
        self.end();
    }
}

/// The status logged for a response whose upstream body failed before any
/// byte of it reached the client.
const BAD_GATEWAY: u16 = 502;

/// The status logged for a request whose client went away before a response
/// was ready (nginx's convention).
pub(crate) const CLIENT_CLOSED: u16 = 499;

impl PendingLog {
    fn finish(&mut self, bytes_sent: u64) {
        let Some(log) = self.log.take() else {
            return;
        };
        self.record.bytes_sent = bytes_sent;
        self.record.duration_ms =
            u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX);
        if self.record.status == 0 {
            self.record.status = CLIENT_CLOSED;
        }
        let record = std::mem::replace(&mut self.record, AccessRecord::placeholder());
        log.record(record, self.format);
    }
}

impl Drop for PendingLog {
    /// A request abandoned before its response existed (the client closed the
    /// connection while the next hop was still answering) still gets its line.
    fn drop(&mut self) {
        self.finish(0);
    }
}

enum Source {
    Generated(Option<Bytes>),
    /// The next hop's body (which frees its connection when it ends).
    Upstream(NextHopBody),
}

/// The body type of every response the proxy sends.
pub(crate) struct ProxyBody {
    source: Source,
    sent: u64,
    pending: Option<PendingLog>,
    /// Ended after the log line is written (so a client that sends its next
    /// request at once finds the line of this one already in the batch).
    end: Option<RequestEnd>,
}

impl std::fmt::Debug for ProxyBody {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProxyBody")
            .field("sent", &self.sent)
            .finish()
    }
}

impl ProxyBody {
    /// A body the proxy generated (redirect, respond, error); `end` ends
    /// with it.
    pub(crate) fn generated(bytes: Bytes, pending: PendingLog, end: RequestEnd) -> Self {
        ProxyBody {
            source: Source::Generated((!bytes.is_empty()).then_some(bytes)),
            sent: 0,
            pending: Some(pending),
            end: Some(end),
        }
    }

    /// The next hop's body, streamed.
    pub(crate) fn upstream(body: NextHopBody, pending: PendingLog, end: RequestEnd) -> Self {
        ProxyBody {
            source: Source::Upstream(body),
            sent: 0,
            pending: Some(pending),
            end: Some(end),
        }
    }

    fn finish(&mut self) {
        if let Some(mut pending) = self.pending.take() {
            pending.finish(self.sent);
        }
        if let Some(mut end) = self.end.take() {
            end.end();
        }
    }
}

impl Body for ProxyBody {
    type Data = Bytes;
    type Error = NextHopError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let this = &mut *self;
        let polled = match &mut this.source {
            Source::Generated(bytes) => Poll::Ready(bytes.take().map(|b| Ok(Frame::data(b)))),
            Source::Upstream(body) => Pin::new(body).poll_frame(cx),
        };
        match &polled {
            Poll::Ready(Some(Ok(frame))) => {
                if let Some(data) = frame.data_ref() {
                    this.sent += data.len() as u64;
                }
            }
            Poll::Ready(Some(Err(err))) => {
                // The head is committed; hyper closes the client connection
                // on this error. The log says the request failed: with the
                // status sent, or 502 when not one body byte went out (the
                // client got no usable response).
                if let Some(pending) = &mut this.pending {
                    let record = &mut pending.record;
                    tracing::warn!(
                        method = %record.method.text(),
                        uri = %record.uri.text(),
                        status = record.status,
                        "upstream body failed mid-stream: {err}"
                    );
                    record.action = LogAction::Error;
                    if this.sent == 0 {
                        record.status = BAD_GATEWAY;
                    }
                }
                this.finish();
            }
            Poll::Ready(None) => this.finish(),
            Poll::Pending => {}
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        match &self.source {
            Source::Generated(bytes) => bytes.is_none(),
            Source::Upstream(body) => body.is_end_stream(),
        }
    }

    fn size_hint(&self) -> SizeHint {
        match &self.source {
            Source::Generated(bytes) => {
                SizeHint::with_exact(bytes.as_ref().map_or(0, |b| b.len() as u64))
            }
            Source::Upstream(body) => body.size_hint(),
        }
    }
}

impl Drop for ProxyBody {
    fn drop(&mut self) {
        self.finish();
    }
}
