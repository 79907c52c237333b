//! Deterministic byte streams for the large-body tests, so the origin and the
//! test can agree on a sha256 without either holding 50 MiB.

use sha2::{Digest, Sha256};

/// An endless deterministic byte stream (xorshift64), seeded.
pub struct Pattern {
    state: u64,
}

impl Pattern {
    /// A stream; the same seed always gives the same bytes.
    pub fn new(seed: u64) -> Pattern {
        Pattern {
            state: seed ^ 0x9E37_79B9_7F4A_7C15,
        }
    }

    /// Fills `buf` with the next bytes of the stream.
    pub fn fill(&mut self, buf: &mut [u8]) {
        for chunk in buf.chunks_mut(8) {
            self.state ^= self.state << 13;
            self.state ^= self.state >> 7;
            self.state ^= self.state << 17;
            let bytes = self.state.to_le_bytes();
            chunk.copy_from_slice(&bytes[..chunk.len()]);
        }
    }

    /// The sha256 (hex) of the first `len` bytes of the stream for `seed`.
    pub fn sha256(seed: u64, len: u64) -> String {
        let mut pattern = Pattern::new(seed);
        let mut hasher = Sha256::new();
        let mut buf = vec![0u8; 64 * 1024];
        let mut left = len;
        while left > 0 {
            let n = left.min(buf.len() as u64) as usize;
            pattern.fill(&mut buf[..n]);
            hasher.update(&buf[..n]);
            left -= n as u64;
        }
        hex(&hasher.finalize())
    }
}

/// Lower-case hex of some bytes.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The sha256 (hex) of a file, read in pieces.
pub fn sha256_file(path: &std::path::Path) -> String {
    use std::io::Read;
    let mut file = std::fs::File::open(path).expect("open file to hash");
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = file.read(&mut buf).expect("read file to hash");
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    hex(&hasher.finalize())
}
