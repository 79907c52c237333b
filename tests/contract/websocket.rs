//! A minimal RFC 6455 websocket: the origin's echo loop and the client's frame
//! codec, enough to prove the proxy tunnels an upgraded connection both ways.
//! SHA-1 and base64 are written out here (a few lines) instead of pulling in a
//! websocket crate for one handshake.

use std::io::{Read, Write};

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

const GUID: &str = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

/// A client's opening handshake for `/ws` with this `Sec-WebSocket-Key`.
pub fn handshake(key: &str) -> String {
    format!(
        "GET /ws HTTP/1.1\r\nHost: ws.test\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
    )
}

/// `Sec-WebSocket-Accept` for a `Sec-WebSocket-Key` (RFC 6455 §4.2.2).
pub fn accept_key(key: &str) -> String {
    base64(&sha1(format!("{}{GUID}", key.trim()).as_bytes()))
}

fn sha1(data: &[u8]) -> [u8; 20] {
    let mut h: [u32; 5] = [
        0x6745_2301,
        0xEFCD_AB89,
        0x98BA_DCFE,
        0x1032_5476,
        0xC3D2_E1F0,
    ];
    let mut msg = data.to_vec();
    let bit_len = (data.len() as u64) * 8;
    msg.push(0x80);
    while msg.len() % 64 != 56 {
        msg.push(0);
    }
    msg.extend_from_slice(&bit_len.to_be_bytes());
    for block in msg.chunks(64) {
        let mut w = [0u32; 80];
        for (i, word) in block.chunks(4).enumerate() {
            w[i] = u32::from_be_bytes([word[0], word[1], word[2], word[3]]);
        }
        for i in 16..80 {
            w[i] = (w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16]).rotate_left(1);
        }
        let [mut a, mut b, mut c, mut d, mut e] = h;
        for (i, wi) in w.iter().enumerate() {
            let (f, k) = match i {
                0..=19 => ((b & c) | (!b & d), 0x5A82_7999),
                20..=39 => (b ^ c ^ d, 0x6ED9_EBA1),
                40..=59 => ((b & c) | (b & d) | (c & d), 0x8F1B_BCDC),
                _ => (b ^ c ^ d, 0xCA62_C1D6),
            };
            let t = a
                .rotate_left(5)
                .wrapping_add(f)
                .wrapping_add(e)
                .wrapping_add(k)
                .wrapping_add(*wi);
            e = d;
            d = c;
            c = b.rotate_left(30);
            b = a;
            a = t;
        }
        for (hi, v) in h.iter_mut().zip([a, b, c, d, e]) {
            *hi = hi.wrapping_add(v);
        }
    }
    let mut out = [0u8; 20];
    for (i, v) in h.iter().enumerate() {
        out[i * 4..i * 4 + 4].copy_from_slice(&v.to_be_bytes());
    }
    out
}

/// Standard base64 with padding.
pub fn base64(data: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in data.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// One websocket frame (FIN always set; no fragmentation in these tests).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    /// 1 text, 2 binary, 8 close, 9 ping, 10 pong.
    pub opcode: u8,
    /// Unmasked payload.
    pub payload: Vec<u8>,
}

fn encode(frame: &Frame, mask: Option<[u8; 4]>) -> Vec<u8> {
    let mut out = vec![0x80 | frame.opcode];
    let mask_bit = if mask.is_some() { 0x80 } else { 0 };
    let len = frame.payload.len();
    if len < 126 {
        out.push(mask_bit | len as u8);
    } else if len <= 0xFFFF {
        out.push(mask_bit | 126);
        out.extend_from_slice(&(len as u16).to_be_bytes());
    } else {
        out.push(mask_bit | 127);
        out.extend_from_slice(&(len as u64).to_be_bytes());
    }
    match mask {
        Some(key) => {
            out.extend_from_slice(&key);
            out.extend(
                frame
                    .payload
                    .iter()
                    .enumerate()
                    .map(|(i, b)| b ^ key[i % 4]),
            );
        }
        None => out.extend_from_slice(&frame.payload),
    }
    out
}

fn decode_len(second: u8, ext: &[u8]) -> u64 {
    match second & 0x7F {
        126 => u64::from(u16::from_be_bytes([ext[0], ext[1]])),
        127 => u64::from_be_bytes(ext[..8].try_into().unwrap_or([0; 8])),
        n => u64::from(n),
    }
}

fn ext_len(second: u8) -> usize {
    match second & 0x7F {
        126 => 2,
        127 => 8,
        _ => 0,
    }
}

/// The origin side: echoes every data frame back unmasked; answers a close.
pub async fn echo<S: AsyncRead + AsyncWrite + Unpin>(mut io: S) {
    loop {
        let mut head = [0u8; 2];
        if io.read_exact(&mut head).await.is_err() {
            return;
        }
        let mut ext = [0u8; 8];
        let n = ext_len(head[1]);
        if io.read_exact(&mut ext[..n]).await.is_err() {
            return;
        }
        let len = decode_len(head[1], &ext[..n]);
        let mut key = [0u8; 4];
        let masked = head[1] & 0x80 != 0;
        if masked && io.read_exact(&mut key).await.is_err() {
            return;
        }
        let mut payload = vec![0u8; len as usize];
        if io.read_exact(&mut payload).await.is_err() {
            return;
        }
        if masked {
            for (i, b) in payload.iter_mut().enumerate() {
                *b ^= key[i % 4];
            }
        }
        let frame = Frame {
            opcode: head[0] & 0x0F,
            payload,
        };
        let reply = match frame.opcode {
            9 => Frame {
                opcode: 10,
                payload: frame.payload,
            },
            _ => frame.clone(),
        };
        if io.write_all(&encode(&reply, None)).await.is_err() || io.flush().await.is_err() {
            return;
        }
        if frame.opcode == 8 {
            let _ = io.shutdown().await;
            return;
        }
    }
}

/// The client side: sends a masked frame.
pub fn send<W: Write>(w: &mut W, frame: &Frame, mask: [u8; 4]) -> std::io::Result<()> {
    w.write_all(&encode(frame, Some(mask)))?;
    w.flush()
}

/// The client side: reads one frame and checks that the server did not mask it.
pub fn receive<R: Read>(r: &mut R) -> std::io::Result<Frame> {
    let mut head = [0u8; 2];
    r.read_exact(&mut head)?;
    assert_eq!(
        head[1] & 0x80,
        0,
        "a server-to-client frame must not be masked"
    );
    let mut ext = [0u8; 8];
    let n = ext_len(head[1]);
    r.read_exact(&mut ext[..n])?;
    let mut payload = vec![0u8; decode_len(head[1], &ext[..n]) as usize];
    r.read_exact(&mut payload)?;
    Ok(Frame {
        opcode: head[0] & 0x0F,
        payload,
    })
}
