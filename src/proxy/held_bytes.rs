//! Bytes read after a request that asked to upgrade, kept from hyper until
//! the answer says whose they are: a tunnel's (after a 101) or the next
//! request's (checked by the framing check like any other).

use tokio::io::ReadBuf;

/// The held bytes of one connection, oldest first.
#[derive(Debug, Default)]
pub(crate) struct HeldBytes {
    bytes: Vec<u8>,
}

impl HeldBytes {
    /// Whether nothing is held.
    pub(crate) fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }

    /// Holds `newer`, read just now, ahead of what is still held: it was
    /// taken from the front of what was released last.
    pub(crate) fn hold_in_front(&mut self, newer: &[u8]) {
        let mut held = newer.to_vec();
        held.append(&mut self.bytes);
        self.bytes = held;
    }

    /// Moves as many held bytes into `buf` as fit, oldest first; the memory
    /// is freed once all are out.
    pub(crate) fn release_into(&mut self, buf: &mut ReadBuf<'_>) {
        let n = buf.remaining().min(self.bytes.len());
        buf.put_slice(&self.bytes[..n]);
        self.bytes.drain(..n);
        if self.bytes.is_empty() {
            self.bytes = Vec::new();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn released_in_order_as_far_as_the_buffer_goes() {
        let mut held = HeldBytes::default();
        held.hold_in_front(b"cdef");
        held.hold_in_front(b"ab");
        let mut space = [0u8; 3];
        let mut buf = ReadBuf::new(&mut space);
        held.release_into(&mut buf);
        assert_eq!(buf.filled(), b"abc");
        // What the framing check held back from that release goes first again.
        held.hold_in_front(b"c");
        let mut space = [0u8; 16];
        let mut buf = ReadBuf::new(&mut space);
        held.release_into(&mut buf);
        assert_eq!(buf.filled(), b"cdef");
        assert!(held.is_empty());
    }
}
