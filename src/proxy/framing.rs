//! A second reading of the client's byte stream, ahead of hyper, that refuses
//! request heads whose framing could be read two ways (request smuggling):
//! `Content-Length` together with `Transfer-Encoding`, differing or invalid
//! lengths, a `Transfer-Encoding` not ending in `chunked`, `Transfer-Encoding`
//! on HTTP/1.0, bare LF line endings, and any head the HTTP parser refuses.
//!
//! hyper already refuses most of these, but answers with an empty body, and
//! for `Content-Length` + `Transfer-Encoding` it silently drops the length and
//! forwards the request. To know where each head starts, this follows the
//! request framing exactly as hyper does (head, then a fixed-length or chunked
//! body). After a request that asks to upgrade (`Upgrade`, `CONNECT`) the
//! bytes that follow are either a tunnel or the next request, depending on
//! the answer: the follower holds them (`Verdict::Hold`) until the caller
//! says which (`upgraded` or `resume`). When it cannot follow a body (an
//! invalid chunk) it stops looking and leaves the connection to hyper, which
//! fails that body and closes the connection after the request.

use std::mem::MaybeUninit;

/// Most header fields in a head (the same limit hyper is given).
pub const MAX_HEADERS: usize = 512;

/// Longest request target hyper accepts (its `MAX_URI_LEN`).
const MAX_TARGET: usize = (u16::MAX - 1) as usize;

/// Longest chunk-size or trailer line followed before giving up.
const MAX_CHUNK_LINE: usize = 4096;

/// Why a head is refused; each maps to a status and a short body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// The head is not HTTP/1.x (parser error, bare LF, bad field).
    Malformed,
    /// Both `Content-Length` and `Transfer-Encoding`.
    LengthAndTransferEncoding,
    /// `Content-Length` invalid, or given twice with different values.
    BadContentLength,
    /// `Transfer-Encoding` whose last coding is not `chunked`, or on HTTP/1.0.
    BadTransferEncoding,
    /// The head is larger than the parser limit, or has too many fields.
    TooLarge,
    /// The request line alone is longer than half the parser limit (the
    /// configured `max_request_header_bytes`).
    UriTooLong,
}

impl Refusal {
    /// The status answered.
    pub fn status(self) -> u16 {
        match self {
            Refusal::TooLarge => 431,
            Refusal::UriTooLong => 414,
            _ => 400,
        }
    }

    /// The whole response written to the client before closing.
    pub fn response(self) -> &'static [u8] {
        match self {
            Refusal::TooLarge => {
                b"HTTP/1.1 431 Request Header Fields Too Large\r\ncontent-type: text/plain; charset=utf-8\r\n\
content-length: 36\r\nconnection: close\r\n\r\n431 Request Header Fields Too Large\n"
            }
            Refusal::UriTooLong => {
                b"HTTP/1.1 414 URI Too Long\r\ncontent-type: text/plain; charset=utf-8\r\n\
content-length: 17\r\nconnection: close\r\n\r\n414 URI Too Long\n"
            }
            _ => {
                b"HTTP/1.1 400 Bad Request\r\ncontent-type: text/plain; charset=utf-8\r\n\
content-length: 16\r\nconnection: close\r\n\r\n400 Bad Request\n"
            }
        }
    }

    /// The length of the body in `response`.
    pub fn body_len(self) -> u64 {
        match self {
            Refusal::TooLarge => 36,
            Refusal::UriTooLong => 17,
            _ => 16,
        }
    }
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Refusal::Malformed => "malformed request head",
            Refusal::LengthAndTransferEncoding => "both Content-Length and Transfer-Encoding",
            Refusal::BadContentLength => "invalid or conflicting Content-Length",
            Refusal::BadTransferEncoding => {
                "Transfer-Encoding not ending in chunked, or on HTTP/1.0"
            }
            Refusal::TooLarge => "request head too large",
            Refusal::UriTooLong => "request line too long",
        })
    }
}

/// What `feed` found in a piece of the stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Nothing wrong so far: hand every byte to hyper.
    Pass,
    /// The head starting at byte `at` of this piece is refused; the bytes
    /// before it belong to earlier requests and may still be handed over.
    Refuse {
        /// Offset in the piece where the refused head begins.
        at: usize,
        /// Why.
        refusal: Refusal,
    },
    /// A request that asked to upgrade ended at byte `at` of this piece:
    /// the bytes from there on must wait until it is known whether the
    /// upgrade happened, then go to `upgraded` (a tunnel, unchecked) or,
    /// after `resume`, back through `feed`.
    Hold {
        /// Offset in the piece where the held bytes begin.
        at: usize,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Chunk {
    /// Reading a chunk-size line.
    Size,
    /// Skipping chunk data, then its line end.
    Data(u64),
    /// After chunk data: the rest of the line.
    DataEnd,
    /// After the last chunk: trailer lines up to an empty one.
    Trailer,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Head,
    Body(u64),
    Chunked(Chunk),
    /// An upgrade, or a body the reader could not follow: stop looking.
    Passthrough,
    /// A head was refused; nothing after it matters.
    Refused,
}

/// The framing follower for one connection.
#[derive(Debug)]
pub struct RequestFraming {
    state: State,
    /// The head (or chunk line) read so far.
    pending: Vec<u8>,
    /// Largest head accepted.
    limit: usize,
    /// Complete heads passed so far (each becomes one request).
    heads: u64,
    /// The last head asked to upgrade; what follows its body is held.
    upgrade_asked: bool,
}

impl RequestFraming {
    /// A follower refusing heads larger than `limit` bytes.
    pub fn new(limit: usize) -> Self {
        RequestFraming {
            state: State::Head,
            pending: Vec::new(),
            limit,
            heads: 0,
            upgrade_asked: false,
        }
    }

    /// Whether bytes are held after a request that asked to upgrade.
    pub fn awaiting_upgrade(&self) -> bool {
        self.upgrade_asked && self.state == State::Head
    }

    /// The upgrade was refused (no 101): the held bytes are the next request
    /// and are checked like any other.
    pub fn resume(&mut self) {
        self.upgrade_asked = false;
    }

    /// The upgrade happened: the rest of the stream is a tunnel.
    pub fn upgraded(&mut self) {
        self.upgrade_asked = false;
        self.state = State::Passthrough;
    }

    /// How many heads were passed to hyper before the refused one (or so far).
    pub fn heads(&self) -> u64 {
        self.heads
    }

    /// Follows the next piece of the stream.
    pub fn feed(&mut self, piece: &[u8]) -> Verdict {
        let mut pos = 0;
        while pos < piece.len() {
            match self.state {
                State::Passthrough | State::Refused => return Verdict::Pass,
                State::Head if self.upgrade_asked => return Verdict::Hold { at: pos },
                State::Head => {
                    let head_start = pos;
                    let already = self.pending.len();
                    let take = &piece[pos..];
                    let parsed = if already == 0 {
                        // The usual case: the head starts in this piece and
                        // is parsed where it lies (garbage is refused at once).
                        parse_head(take, self.limit)
                    } else {
                        // As hyper does: a head begun earlier is parsed again
                        // only when the new bytes (and the three before them)
                        // hold an end of head, so a trickled head is not
                        // parsed over and over.
                        let scan_from = already.saturating_sub(3);
                        self.pending.extend_from_slice(take);
                        if !has_head_end(&self.pending[scan_from..]) {
                            // Past the limit no end can make the head acceptable.
                            if self.pending.len() > self.limit {
                                let refusal = too_large(&self.pending, self.limit);
                                return self.refuse(head_start, already, refusal);
                            }
                            return Verdict::Pass;
                        }
                        parse_head(&self.pending, self.limit)
                    };
                    match parsed {
                        Ok(Some((len, next, upgrade))) => {
                            // Bytes of this piece beyond the head belong to the body.
                            let used = len - already;
                            pos += used;
                            self.forget_pending();
                            self.state = next;
                            self.upgrade_asked = upgrade;
                            self.heads += 1;
                        }
                        Ok(None) => {
                            if already == 0 {
                                self.pending.extend_from_slice(take);
                            }
                            if self.pending.len() > self.limit {
                                let refusal = too_large(&self.pending, self.limit);
                                return self.refuse(head_start, already, refusal);
                            }
                            return Verdict::Pass;
                        }
                        Err(refusal) => return self.refuse(head_start, already, refusal),
                    }
                }
                State::Body(left) => {
                    let n = left.min((piece.len() - pos) as u64);
                    pos += n as usize;
                    self.state = if left == n {
                        State::Head
                    } else {
                        State::Body(left - n)
                    };
                }
                State::Chunked(Chunk::Data(left)) => {
                    let n = left.min((piece.len() - pos) as u64);
                    pos += n as usize;
                    self.state = State::Chunked(if left == n {
                        Chunk::DataEnd
                    } else {
                        Chunk::Data(left - n)
                    });
                }
                State::Chunked(chunk) => {
                    let Some(newline) = piece[pos..].iter().position(|&b| b == b'\n') else {
                        self.pending.extend_from_slice(&piece[pos..]);
                        if self.pending.len() > MAX_CHUNK_LINE {
                            self.state = State::Passthrough;
                        }
                        return Verdict::Pass;
                    };
                    self.pending.extend_from_slice(&piece[pos..pos + newline]);
                    pos += newline + 1;
                    let line = std::mem::take(&mut self.pending);
                    self.state = next_chunk_state(chunk, &line);
                }
            }
        }
        Verdict::Pass
    }

    /// Empties the head buffer; a large one is freed, so an idle
    /// keep-alive connection does not keep its last big head's memory.
    fn forget_pending(&mut self) {
        if self.pending.capacity() > 4096 {
            self.pending = Vec::new();
        } else {
            self.pending.clear();
        }
    }

    fn refuse(&mut self, head_start: usize, already: usize, refusal: Refusal) -> Verdict {
        self.state = State::Refused;
        self.pending = Vec::new();
        // A head begun in an earlier piece: refuse from the start of this one.
        let at = if already > 0 { 0 } else { head_start };
        Verdict::Refuse { at, refusal }
    }
}

/// Parses the head at the start of `bytes`: its length, what follows it,
/// and whether it asks to upgrade.
fn parse_head(bytes: &[u8], limit: usize) -> Result<Option<(usize, State, bool)>, Refusal> {
    // Uninitialized slots: zeroing 512 of them cost more than the parse.
    let mut fields = [const { MaybeUninit::<httparse::Header<'_>>::uninit() }; MAX_HEADERS];
    let mut request = httparse::Request::new(&mut []);
    let len = match request.parse_with_uninit_headers(bytes, &mut fields) {
        Ok(httparse::Status::Complete(len)) => len,
        Ok(httparse::Status::Partial) => return Ok(None),
        Err(httparse::Error::TooManyHeaders) => return Err(Refusal::TooLarge),
        Err(_) => return Err(Refusal::Malformed),
    };
    if len > limit {
        return Err(too_large(bytes, limit));
    }
    if has_bare_lf(&bytes[..len]) {
        return Err(Refusal::Malformed);
    }
    // The target checks hyper makes after the parser, so that its
    // empty-bodied 400 and 414 are never the answer.
    let target = request.path.unwrap_or("");
    if target.len() > MAX_TARGET {
        return Err(Refusal::UriTooLong);
    }
    if http::Uri::try_from(target).is_err() {
        return Err(Refusal::Malformed);
    }
    let http_11 = request.version == Some(1);
    let mut length: Option<u64> = None;
    let mut chunked: Option<bool> = None;
    let mut upgrade = request.method == Some("CONNECT");
    for field in request.headers.iter() {
        if field.name.eq_ignore_ascii_case("content-length") {
            let value = parse_length(field.value).ok_or(Refusal::BadContentLength)?;
            if length.is_some_and(|seen| seen != value) {
                return Err(Refusal::BadContentLength);
            }
            length = Some(value);
        } else if field.name.eq_ignore_ascii_case("transfer-encoding") {
            if !http_11 {
                return Err(Refusal::BadTransferEncoding);
            }
            chunked = Some(last_coding_is_chunked(field.value));
        } else if field.name.eq_ignore_ascii_case("upgrade") && http_11 {
            upgrade = true;
        }
    }
    let body = match (chunked, length) {
        (Some(_), Some(_)) => return Err(Refusal::LengthAndTransferEncoding),
        (Some(false), None) => return Err(Refusal::BadTransferEncoding),
        (Some(true), None) => State::Chunked(Chunk::Size),
        (None, Some(0)) | (None, None) => State::Head,
        (None, Some(n)) => State::Body(n),
    };
    Ok(Some((len, body, upgrade)))
}

/// 414 when the request line alone is over the configured limit, else 431.
fn too_large(head: &[u8], limit: usize) -> Refusal {
    let line = head.iter().position(|&b| b == b'\n').unwrap_or(head.len());
    if line > limit / 2 {
        Refusal::UriTooLong
    } else {
        Refusal::TooLarge
    }
}

/// Whether the bytes hold the end of a head: an empty line, `\n\n` or
/// `\n\r\n` (a bare LF is refused later, by the parse).
fn has_head_end(bytes: &[u8]) -> bool {
    let mut from = 0;
    while let Some(offset) = bytes[from..].iter().position(|&b| b == b'\n') {
        let after = &bytes[from + offset + 1..];
        if after.starts_with(b"\n") || after.starts_with(b"\r\n") {
            return true;
        }
        from += offset + 1;
    }
    false
}

/// The state after one chunk-size, chunk-end or trailer line.
fn next_chunk_state(chunk: Chunk, line: &[u8]) -> State {
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    match chunk {
        Chunk::Size => match chunk_size(line) {
            Some(0) => State::Chunked(Chunk::Trailer),
            Some(size) => State::Chunked(Chunk::Data(size)),
            None => State::Passthrough,
        },
        Chunk::DataEnd if line.is_empty() => State::Chunked(Chunk::Size),
        Chunk::Trailer if line.is_empty() => State::Head,
        Chunk::Trailer => State::Chunked(Chunk::Trailer),
        // Data not followed by a line end: hyper refuses the body.
        Chunk::DataEnd | Chunk::Data(_) => State::Passthrough,
    }
}

/// The hex size at the start of a chunk-size line (extensions ignored).
fn chunk_size(line: &[u8]) -> Option<u64> {
    let digits = line.iter().take_while(|b| b.is_ascii_hexdigit()).count();
    if digits == 0 || digits > 16 {
        return None;
    }
    let rest = &line[digits..];
    if !rest.is_empty() && !matches!(rest[0], b';' | b' ' | b'\t') {
        return None;
    }
    let text = std::str::from_utf8(&line[..digits]).ok()?;
    u64::from_str_radix(text, 16).ok()
}

/// `Content-Length` as hyper reads it: digits only.
fn parse_length(value: &[u8]) -> Option<u64> {
    if value.is_empty() || value.len() > 19 || !value.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(value).ok()?.parse().ok()
}

fn last_coding_is_chunked(value: &[u8]) -> bool {
    let last = value.rsplit(|&b| b == b',').next().unwrap_or(value);
    last.trim_ascii().eq_ignore_ascii_case(b"chunked")
}

/// A line end without its CR (RFC 9112 §2.2 lets a server refuse it).
fn has_bare_lf(head: &[u8]) -> bool {
    head.iter()
        .enumerate()
        .any(|(i, &b)| b == b'\n' && (i == 0 || head[i - 1] != b'\r'))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn verdict(bytes: &[u8]) -> Verdict {
        RequestFraming::new(1024).feed(bytes)
    }

    fn refused(bytes: &[u8]) -> Option<Refusal> {
        match verdict(bytes) {
            Verdict::Refuse { refusal, .. } => Some(refusal),
            Verdict::Pass | Verdict::Hold { .. } => None,
        }
    }

    #[test]
    fn ordinary_requests_pass_one_after_another() {
        let stream = b"GET / HTTP/1.1\r\nHost: a\r\n\r\n\
POST /u HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello\
POST /c HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n3;ext=1\r\nabc\r\n0\r\nX-T: 1\r\n\r\n\
GET /last HTTP/1.0\r\n\r\n";
        let mut framing = RequestFraming::new(1024);
        // Byte by byte, and all at once, give the same answer.
        for byte in stream.iter() {
            assert_eq!(framing.feed(std::slice::from_ref(byte)), Verdict::Pass);
        }
        assert_eq!(framing.state, State::Head);
        assert_eq!(verdict(stream), Verdict::Pass);
    }

    #[test]
    fn smuggling_shapes_are_refused() {
        use Refusal::*;
        for (head, why) in [
            (
                &b"POST / HTTP/1.1\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n"[..],
                LengthAndTransferEncoding,
            ),
            (
                b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nContent-Length: 4\r\n\r\n",
                LengthAndTransferEncoding,
            ),
            (
                b"POST / HTTP/1.1\r\nContent-Length: 4\r\nContent-Length: 5\r\n\r\n",
                BadContentLength,
            ),
            (
                b"POST / HTTP/1.1\r\nContent-Length: +4\r\n\r\n",
                BadContentLength,
            ),
            (
                b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked, gzip\r\n\r\n",
                BadTransferEncoding,
            ),
            (
                b"POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n",
                BadTransferEncoding,
            ),
            (b"GET / HTTP/1.1\r\nX: a\r\n  folded\r\n\r\n", Malformed),
            (b"GET / HTTP/1.1\nHost: a\n\n", Malformed),
            (b"GET / HTTP/1.1\r\nHost : a\r\n\r\n", Malformed),
            (b"GARBAGE\x01 / HTTP/1.1\r\n\r\n", Malformed),
            (b"GET x/no/slash HTTP/1.1\r\n\r\n", Malformed),
        ] {
            assert_eq!(
                refused(head),
                Some(why),
                "{}",
                String::from_utf8_lossy(head)
            );
        }
        // The same value twice is one length (hyper agrees).
        assert_eq!(
            refused(b"POST / HTTP/1.1\r\nContent-Length: 4\r\nContent-Length: 4\r\n\r\nabcd"),
            None
        );
    }

    #[test]
    fn garbage_is_refused_before_its_head_ends() {
        // hyper would answer this (with an empty body) on its first read.
        assert_eq!(refused(b"NOT A REQUEST\r\n"), Some(Refusal::Malformed));
        // Found by the request_framing fuzz target: leading empty lines, then
        // a line that is no request line, split byte by byte.
        let stream = b"\r\n\n\n2*x\r\na/@HTTP/1.1\r\nA HTTabbc\r\nabc\r\n\r\n";
        let mut framing = RequestFraming::new(2048);
        let verdicts: Vec<Verdict> = stream
            .iter()
            .map(|byte| framing.feed(std::slice::from_ref(byte)))
            .collect();
        assert!(
            verdicts.iter().any(|v| matches!(
                v,
                Verdict::Refuse {
                    refusal: Refusal::Malformed,
                    ..
                }
            )),
            "{verdicts:?}"
        );
        assert_eq!(refused(stream), Some(Refusal::Malformed));
    }

    #[test]
    fn a_smuggled_head_after_a_body_is_refused_where_it_starts() {
        let first = b"POST / HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc";
        let second = b"POST / HTTP/1.1\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n";
        let mut stream = first.to_vec();
        stream.extend_from_slice(second);
        assert_eq!(
            verdict(&stream),
            Verdict::Refuse {
                at: first.len(),
                refusal: Refusal::LengthAndTransferEncoding
            }
        );
    }

    #[test]
    fn oversized_and_crowded_heads() {
        let big = format!("GET / HTTP/1.1\r\nX: {}\r\n", "a".repeat(2000));
        assert_eq!(refused(big.as_bytes()), Some(Refusal::TooLarge));
        let long = format!("GET /{} HTTP/1.1\r\n", "a".repeat(2000));
        assert_eq!(refused(long.as_bytes()), Some(Refusal::UriTooLong));
        let mut many = String::from("GET / HTTP/1.1\r\n");
        for i in 0..=MAX_HEADERS {
            many.push_str(&format!("X-{i}: 1\r\n"));
        }
        many.push_str("\r\n");
        let mut framing = RequestFraming::new(1 << 20);
        assert!(matches!(
            framing.feed(many.as_bytes()),
            Verdict::Refuse {
                refusal: Refusal::TooLarge,
                ..
            }
        ));
    }

    #[test]
    fn bytes_after_an_upgrade_request_wait_for_its_outcome() {
        let ask = b"GET /ws HTTP/1.1\r\nUpgrade: websocket\r\nConnection: upgrade\r\n\r\n";
        let tunnel = b"\x81\x05hello\n\n\n";
        // The upgrade happened: the rest is a tunnel, never parsed.
        let mut framing = RequestFraming::new(1024);
        assert_eq!(framing.feed(ask), Verdict::Pass);
        assert!(framing.awaiting_upgrade());
        assert_eq!(framing.feed(tunnel), Verdict::Hold { at: 0 });
        framing.upgraded();
        assert!(!framing.awaiting_upgrade());
        assert_eq!(framing.feed(tunnel), Verdict::Pass);
        // It did not (no 101): the held bytes are checked as the next head,
        // so a smuggling shape behind a refused upgrade is still refused.
        let smuggled =
            b"POST / HTTP/1.1\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n";
        let mut stream = ask.to_vec();
        stream.extend_from_slice(smuggled);
        let mut framing = RequestFraming::new(1024);
        assert_eq!(framing.feed(&stream), Verdict::Hold { at: ask.len() });
        framing.resume();
        assert_eq!(
            framing.feed(smuggled),
            Verdict::Refuse {
                at: 0,
                refusal: Refusal::LengthAndTransferEncoding
            }
        );
        // An upgrade request with a body: held only once the body is over.
        let mut framing = RequestFraming::new(1024);
        let with_body = b"POST /u HTTP/1.1\r\nUpgrade: x\r\nContent-Length: 3\r\n\r\nabcGET";
        assert_eq!(
            framing.feed(with_body),
            Verdict::Hold {
                at: with_body.len() - 3
            }
        );
        // CONNECT asks to switch too (and is answered 405): held, then resumed.
        let mut framing = RequestFraming::new(1024);
        assert_eq!(
            framing.feed(b"CONNECT a:443 HTTP/1.1\r\nHost: a:443\r\n\r\nGET / HTTP/1.1\r\n"),
            Verdict::Hold { at: 39 }
        );
    }

    #[test]
    fn unparsable_bodies_stop_the_follower() {
        let mut framing = RequestFraming::new(1024);
        assert_eq!(
            framing.feed(b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n"),
            Verdict::Pass
        );
        assert_eq!(framing.state, State::Passthrough);
    }
}
