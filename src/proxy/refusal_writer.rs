//! A refusal the socket wrapper writes itself (the framing check's, or the
//! header timer's 408), written until all of it is out or the socket fails,
//! never in part with the rest dropped, and recorded as far as it got.

use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::io::AsyncWrite;

use super::conn_state::Rejected;
use super::rejection::Rejection;

/// A refusal being written: the whole response, and how much is out.
#[derive(Debug)]
pub(crate) struct RefusalWriter {
    rejection: Rejection,
    wire: Vec<u8>,
    written: usize,
}

impl RefusalWriter {
    /// Starts writing `rejection`'s response.
    pub(crate) fn new(rejection: Rejection) -> Self {
        RefusalWriter {
            rejection,
            wire: rejection.wire(),
            written: 0,
        }
    }

    /// Which refusal it is.
    pub(crate) fn rejection(&self) -> Rejection {
        self.rejection
    }

    /// Writes what is left; `Ready` once all of it is out or the socket
    /// failed (the client went away).
    pub(crate) fn poll_write_all<W: AsyncWrite + Unpin>(
        &mut self,
        io: &mut W,
        cx: &mut Context<'_>,
    ) -> Poll<()> {
        while self.written < self.wire.len() {
            match Pin::new(&mut *io).poll_write(cx, &self.wire[self.written..]) {
                Poll::Ready(Ok(0)) | Poll::Ready(Err(_)) => break,
                Poll::Ready(Ok(n)) => self.written += n,
                Poll::Pending => return Poll::Pending,
            }
        }
        Poll::Ready(())
    }

    /// What the access log records of it: the body bytes that went out.
    pub(crate) fn outcome(&self) -> Rejected {
        let head = self.wire.len() - self.rejection.body().len();
        Rejected {
            rejection: self.rejection,
            body_bytes: self.written.saturating_sub(head) as u64,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::AsyncReadExt;

    #[tokio::test]
    async fn written_whole_through_a_narrow_pipe() {
        // A pipe that takes 7 bytes at a time: the writer goes on until
        // the whole response is out.
        let (mut server, mut client) = tokio::io::duplex(7);
        let reader = tokio::spawn(async move {
            let mut got = Vec::new();
            let _ = client.read_to_end(&mut got).await;
            got
        });
        let mut writer = RefusalWriter::new(Rejection::Malformed);
        std::future::poll_fn(|cx| writer.poll_write_all(&mut server, cx)).await;
        drop(server);
        assert_eq!(reader.await.expect("reader"), Rejection::Malformed.wire());
        assert_eq!(
            writer.outcome(),
            Rejected {
                rejection: Rejection::Malformed,
                body_bytes: 16
            }
        );
    }

    #[tokio::test]
    async fn a_client_gone_midway_is_recorded_as_far_as_it_got() {
        let (mut server, client) = tokio::io::duplex(7);
        drop(client);
        let mut writer = RefusalWriter::new(Rejection::HeadTimeout);
        std::future::poll_fn(|cx| writer.poll_write_all(&mut server, cx)).await;
        assert_eq!(writer.outcome().body_bytes, 0);
    }
}
