//! A second reading of the client's byte stream, ahead of hyper, that refuses
//! request heads whose framing could be read two ways (request smuggling):
//! `Content-Length` together with `Transfer-Encoding`, differing or invalid
//! lengths, a `Transfer-Encoding` other than one final `chunked` (a coding
//! the proxy does not implement is 501), `Transfer-Encoding` on HTTP/1.0,
//! bare LF line endings, and any head the HTTP parser refuses.
//!
//! hyper already refuses most of these, but answers with an empty body, and
//! for `Content-Length` + `Transfer-Encoding` it silently drops the length and
//! forwards the request. To know where each head starts, this follows the
//! request framing exactly as hyper does (head, then a fixed-length or chunked
//! body). After a request that asks to upgrade (`Upgrade`, `CONNECT`) the
//! bytes that follow are either a tunnel or the next request, depending on
//! the answer: the follower holds them (`Verdict::Hold`) until the caller
//! says which (`upgraded` or `resume`). A chunked body is followed exactly
//! as hyper's decoder reads it (`chunked.rs`); where it breaks (a byte hyper
//! refuses, or a bare LF), the bytes before it go to hyper and the read
//! then fails (`Verdict::Break`), so hyper fails that body and closes the
//! connection after the request.

use std::mem::MaybeUninit;

use super::chunked::{ChunkedBody, Progress};
use super::rejection::Rejection;
use super::request_line::RequestLine;

/// Most header fields in a head (the same limit hyper is given).
pub const MAX_HEADERS: usize = 512;

/// Longest request target hyper accepts (its `MAX_URI_LEN`).
const MAX_TARGET: usize = (u16::MAX - 1) as usize;

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
        rejection: Rejection,
    },
    /// The chunked body of a request already handed over breaks at byte
    /// `at` of this piece: the bytes before it may be handed over, then the
    /// read must fail, so that hyper fails the body and closes.
    Break {
        /// Offset in the piece of the first byte that breaks the body.
        at: usize,
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

#[derive(Debug, Clone)]
enum State {
    Head,
    Body(u64),
    Chunked(ChunkedBody),
    /// An upgrade: stop looking.
    Passthrough,
    /// A head was refused or a body broke; nothing after it matters.
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
    /// The request line of the head being read, checked as it arrives.
    line: RequestLine,
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
            line: RequestLine::default(),
        }
    }

    /// Whether bytes are held after a request that asked to upgrade.
    pub fn awaiting_upgrade(&self) -> bool {
        self.upgrade_asked && matches!(self.state, State::Head)
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

    /// Whether the follower is between requests or inside a head (not in a
    /// body, a tunnel, or past a refusal).
    pub fn in_head(&self) -> bool {
        matches!(self.state, State::Head)
    }

    /// Between requests with nothing of the next one seen: every byte passed
    /// so far belongs to a complete request, so hyper has nothing buffered.
    pub fn at_rest(&self) -> bool {
        matches!(self.state, State::Head) && self.pending.is_empty() && !self.upgrade_asked
    }

    /// The largest head accepted.
    pub fn limit(&self) -> usize {
        self.limit
    }

    /// How many heads were passed to hyper before the refused one (or so far).
    pub fn heads(&self) -> u64 {
        self.heads
    }

    /// Follows the next piece of the stream. A minor version above 1 in a
    /// request line is rewritten to 1 in place (RFC 9110 §2.5).
    pub fn feed(&mut self, piece: &mut [u8]) -> Verdict {
        let mut pos = 0;
        while pos < piece.len() {
            match &mut self.state {
                State::Passthrough | State::Refused => return Verdict::Pass,
                State::Head if self.upgrade_asked => return Verdict::Hold { at: pos },
                State::Head => {
                    let head_start = pos;
                    let already = self.pending.len();
                    if self.line.check(&mut piece[pos..]).is_err() {
                        // As the parser would say of the same bytes in one piece.
                        return self.refuse(head_start, already, Rejection::Malformed);
                    }
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
                                let rejection = too_large(&self.pending, self.limit);
                                return self.refuse(head_start, already, rejection);
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
                            self.state = match next {
                                Framing::None => State::Head,
                                Framing::Length(n) => State::Body(n),
                                Framing::Chunked => {
                                    State::Chunked(ChunkedBody::new(self.limit + 1, MAX_HEADERS))
                                }
                            };
                            self.upgrade_asked = upgrade;
                            self.heads += 1;
                            self.line = RequestLine::default();
                        }
                        Ok(None) => {
                            if already == 0 {
                                self.pending.extend_from_slice(take);
                            }
                            if self.pending.len() > self.limit {
                                let rejection = too_large(&self.pending, self.limit);
                                return self.refuse(head_start, already, rejection);
                            }
                            return Verdict::Pass;
                        }
                        Err(rejection) => return self.refuse(head_start, already, rejection),
                    }
                }
                State::Body(left) => {
                    let left = *left;
                    let n = left.min((piece.len() - pos) as u64);
                    pos += n as usize;
                    self.state = if left == n {
                        State::Head
                    } else {
                        State::Body(left - n)
                    };
                }
                State::Chunked(body) => match body.feed(&piece[pos..]) {
                    Progress::More => return Verdict::Pass,
                    Progress::Ended(n) => {
                        pos += n;
                        self.state = State::Head;
                    }
                    Progress::Broken(n) => {
                        self.state = State::Refused;
                        return Verdict::Break { at: pos + n };
                    }
                },
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

    fn refuse(&mut self, head_start: usize, already: usize, rejection: Rejection) -> Verdict {
        self.state = State::Refused;
        self.pending = Vec::new();
        // A head begun in an earlier piece: refuse from the start of this one.
        let at = if already > 0 { 0 } else { head_start };
        Verdict::Refuse { at, rejection }
    }
}

/// How the body after a head is framed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Framing {
    None,
    Length(u64),
    Chunked,
}

/// Parses the head at the start of `bytes`: its length, how its body is
/// framed, and whether it asks to upgrade.
fn parse_head(bytes: &[u8], limit: usize) -> Result<Option<(usize, Framing, bool)>, Rejection> {
    // Uninitialized slots: zeroing 512 of them cost more than the parse.
    let mut fields = [const { MaybeUninit::<httparse::Header<'_>>::uninit() }; MAX_HEADERS];
    let mut request = httparse::Request::new(&mut []);
    let len = match request.parse_with_uninit_headers(bytes, &mut fields) {
        Ok(httparse::Status::Complete(len)) => len,
        Ok(httparse::Status::Partial) => return Ok(None),
        Err(httparse::Error::TooManyHeaders) => return Err(Rejection::TooLarge),
        Err(_) => return Err(Rejection::Malformed),
    };
    if len > limit {
        return Err(too_large(bytes, limit));
    }
    if has_bare_lf(&bytes[..len]) {
        return Err(Rejection::Malformed);
    }
    // The target checks hyper makes after the parser, so that its
    // empty-bodied 400 and 414 are never the answer.
    let target = request.path.unwrap_or("");
    if target.len() > MAX_TARGET {
        return Err(Rejection::UriTooLong);
    }
    if http::Uri::try_from(target).is_err() {
        return Err(Rejection::Malformed);
    }
    let http_11 = request.version == Some(1);
    let mut length: Option<u64> = None;
    let mut codings: Option<&[u8]> = None;
    let mut upgrade = request.method == Some("CONNECT");
    for field in request.headers.iter() {
        if field.name.eq_ignore_ascii_case("content-length") {
            let value = parse_length(field.value).ok_or(Rejection::BadContentLength)?;
            if length.is_some_and(|seen| seen != value) {
                return Err(Rejection::BadContentLength);
            }
            length = Some(value);
        } else if field.name.eq_ignore_ascii_case("transfer-encoding") {
            // Not on HTTP/1.0 (RFC 9112 §6.1), and in one field only: a
            // second one is how a coding is hidden from one reader.
            if !http_11 || codings.is_some() {
                return Err(Rejection::BadTransferEncoding);
            }
            codings = Some(field.value);
        } else if field.name.eq_ignore_ascii_case("upgrade") && http_11 {
            upgrade = true;
        }
    }
    let framing = match (codings, length) {
        (Some(_), Some(_)) => return Err(Rejection::LengthAndTransferEncoding),
        (Some(codings), None) => {
            check_codings(codings)?;
            Framing::Chunked
        }
        (None, Some(0)) | (None, None) => Framing::None,
        (None, Some(n)) => Framing::Length(n),
    };
    Ok(Some((len, framing, upgrade)))
}

/// A `Transfer-Encoding` value the proxy can forward as it means: exactly
/// one `chunked`, last. `identity` (no longer a coding, RFC 9112 §7) and a
/// repeated `chunked` are 400, as is a list not ending in `chunked` (RFC
/// 9112 §6.3); any other coding is one the proxy does not implement, 501
/// (RFC 9112 §6.1), since stripping it would corrupt the content.
fn check_codings(value: &[u8]) -> Result<(), Rejection> {
    let mut codings = value
        .split(|&b| b == b',')
        .map(<[u8]>::trim_ascii)
        .filter(|coding| !coding.is_empty());
    let Some(last) = codings.next_back() else {
        return Err(Rejection::BadTransferEncoding);
    };
    if !last.eq_ignore_ascii_case(b"chunked") {
        return Err(Rejection::BadTransferEncoding);
    }
    let mut unknown = false;
    for coding in codings {
        if coding.eq_ignore_ascii_case(b"chunked") || coding.eq_ignore_ascii_case(b"identity") {
            return Err(Rejection::BadTransferEncoding);
        }
        unknown = true;
    }
    if unknown {
        return Err(Rejection::UnknownTransferCoding);
    }
    Ok(())
}

/// 414 when the request line alone is over the configured limit, else 431.
fn too_large(head: &[u8], limit: usize) -> Rejection {
    let line = head.iter().position(|&b| b == b'\n').unwrap_or(head.len());
    if line > limit / 2 {
        Rejection::UriTooLong
    } else {
        Rejection::TooLarge
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

/// `Content-Length` as hyper reads it: digits only.
fn parse_length(value: &[u8]) -> Option<u64> {
    if value.is_empty() || value.len() > 19 || !value.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(value).ok()?.parse().ok()
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
        RequestFraming::new(1024).feed(&mut bytes.to_vec())
    }

    fn refused(bytes: &[u8]) -> Option<Rejection> {
        match verdict(bytes) {
            Verdict::Refuse { rejection, .. } => Some(rejection),
            Verdict::Pass | Verdict::Hold { .. } | Verdict::Break { .. } => None,
        }
    }

    /// Feeds a piece that the caller keeps (as `ClientIo` does its buffer).
    fn feed(framing: &mut RequestFraming, bytes: &[u8]) -> Verdict {
        framing.feed(&mut bytes.to_vec())
    }

    #[test]
    fn at_rest_only_between_whole_requests() {
        let mut framing = RequestFraming::new(1024);
        assert!(framing.at_rest());
        feed(&mut framing, b"POST / HTTP/1.1\r\nHost: a\r\nContent-");
        assert!(!framing.at_rest(), "inside a head");
        feed(&mut framing, b"Length: 5\r\n\r\nhel");
        assert!(!framing.at_rest(), "inside a body");
        feed(&mut framing, b"lo");
        assert!(framing.at_rest());
        feed(
            &mut framing,
            b"GET /ws HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: upgrade\r\n\r\n",
        );
        assert!(!framing.at_rest(), "after an upgrade request");
    }

    #[test]
    fn ordinary_requests_pass_one_after_another() {
        let stream = b"GET / HTTP/1.1\r\nHost: a\r\n\r\n\
POST /u HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello\
POST /c HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3;ext=1\r\nabc\r\n0\r\nX-T: 1\r\n\r\n\
GET /last HTTP/1.0\r\n\r\n";
        let mut framing = RequestFraming::new(1024);
        // Byte by byte, and all at once, give the same answer.
        for byte in stream.iter() {
            assert_eq!(
                feed(&mut framing, std::slice::from_ref(byte)),
                Verdict::Pass
            );
        }
        assert!(matches!(framing.state, State::Head));
        assert_eq!(verdict(stream), Verdict::Pass);
    }

    #[test]
    fn smuggling_shapes_are_refused() {
        use Rejection::*;
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
                b"POST / HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
                UnknownTransferCoding,
            ),
            (
                b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked, chunked\r\n\r\n",
                BadTransferEncoding,
            ),
            (
                b"POST / HTTP/1.1\r\nTransfer-Encoding: identity\r\n\r\n",
                BadTransferEncoding,
            ),
            (
                b"POST / HTTP/1.1\r\nTransfer-Encoding: identity, chunked\r\n\r\n",
                BadTransferEncoding,
            ),
            (
                b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n",
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
        assert_eq!(refused(b"NOT A REQUEST\r\n"), Some(Rejection::Malformed));
        // Found by the request_framing fuzz target: leading empty lines, then
        // a line that is no request line, split byte by byte.
        let stream = b"\r\n\n\n2*x\r\na/@HTTP/1.1\r\nA HTTabbc\r\nabc\r\n\r\n";
        let mut framing = RequestFraming::new(2048);
        let verdicts: Vec<Verdict> = stream
            .iter()
            .map(|byte| feed(&mut framing, std::slice::from_ref(byte)))
            .collect();
        assert!(
            verdicts.iter().any(|v| matches!(
                v,
                Verdict::Refuse {
                    rejection: Rejection::Malformed,
                    ..
                }
            )),
            "{verdicts:?}"
        );
        assert_eq!(refused(stream), Some(Rejection::Malformed));
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
                rejection: Rejection::LengthAndTransferEncoding
            }
        );
    }

    #[test]
    fn oversized_and_crowded_heads() {
        let big = format!("GET / HTTP/1.1\r\nX: {}\r\n", "a".repeat(2000));
        assert_eq!(refused(big.as_bytes()), Some(Rejection::TooLarge));
        let long = format!("GET /{} HTTP/1.1\r\n", "a".repeat(2000));
        assert_eq!(refused(long.as_bytes()), Some(Rejection::UriTooLong));
        let mut many = String::from("GET / HTTP/1.1\r\n");
        for i in 0..=MAX_HEADERS {
            many.push_str(&format!("X-{i}: 1\r\n"));
        }
        many.push_str("\r\n");
        let mut framing = RequestFraming::new(1 << 20);
        assert!(matches!(
            feed(&mut framing, many.as_bytes()),
            Verdict::Refuse {
                rejection: Rejection::TooLarge,
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
        assert_eq!(feed(&mut framing, ask), Verdict::Pass);
        assert!(framing.awaiting_upgrade());
        assert_eq!(feed(&mut framing, tunnel), Verdict::Hold { at: 0 });
        framing.upgraded();
        assert!(!framing.awaiting_upgrade());
        assert_eq!(feed(&mut framing, tunnel), Verdict::Pass);
        // It did not (no 101): the held bytes are checked as the next head,
        // so a smuggling shape behind a refused upgrade is still refused.
        let smuggled =
            b"POST / HTTP/1.1\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n";
        let mut stream = ask.to_vec();
        stream.extend_from_slice(smuggled);
        let mut framing = RequestFraming::new(1024);
        assert_eq!(feed(&mut framing, &stream), Verdict::Hold { at: ask.len() });
        framing.resume();
        assert_eq!(
            feed(&mut framing, smuggled),
            Verdict::Refuse {
                at: 0,
                rejection: Rejection::LengthAndTransferEncoding
            }
        );
        // An upgrade request with a body: held only once the body is over.
        let mut framing = RequestFraming::new(1024);
        let with_body = b"POST /u HTTP/1.1\r\nUpgrade: x\r\nContent-Length: 3\r\n\r\nabcGET";
        assert_eq!(
            feed(&mut framing, with_body),
            Verdict::Hold {
                at: with_body.len() - 3
            }
        );
        // CONNECT asks to switch too (and is answered 405): held, then resumed.
        let mut framing = RequestFraming::new(1024);
        assert_eq!(
            feed(
                &mut framing,
                b"CONNECT a:443 HTTP/1.1\r\nHost: a:443\r\n\r\nGET / HTTP/1.1\r\n"
            ),
            Verdict::Hold { at: 39 }
        );
    }

    #[test]
    fn a_broken_chunked_body_breaks_where_hyper_would_fail_it() {
        let head = b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n";
        // Issue 17: the bare-LF end of the trailer section, with a request
        // behind it that hyper would read as trailer fields.
        for body in [
            &b"0\r\n\nGET /hidden HTTP/1.1\r\nHost: a\r\n\r\n"[..],
            b"zz\r\n",
            b"3\nabc\r\n0\r\n\r\n",
        ] {
            let mut stream = head.to_vec();
            stream.extend_from_slice(body);
            let at = match verdict(&stream) {
                Verdict::Break { at } => at,
                other => panic!("{other:?} for {body:?}"),
            };
            assert!(at >= head.len(), "{body:?}");
            // Split at any byte, the body breaks at the same place.
            for split in 1..stream.len() {
                let mut framing = RequestFraming::new(1024);
                let first = feed(&mut framing, &stream[..split]);
                let second = feed(&mut framing, &stream[split..]);
                let broken_at = match (first, second) {
                    (Verdict::Break { at }, _) => at,
                    (Verdict::Pass, Verdict::Break { at }) => split + at,
                    other => panic!("{other:?} split at {split} for {body:?}"),
                };
                assert_eq!(broken_at, at, "split at {split} for {body:?}");
            }
        }
        // After a break nothing more is looked at.
        let mut framing = RequestFraming::new(1024);
        let mut stream = head.to_vec();
        stream.extend_from_slice(b"zz\r\n");
        assert!(matches!(feed(&mut framing, &stream), Verdict::Break { .. }));
        assert_eq!(feed(&mut framing, b"GET / HTTP/1.1\r\n\r\n"), Verdict::Pass);
        assert_eq!(framing.heads(), 1);
    }

    #[test]
    fn a_request_line_split_across_pieces_is_refused_as_soon_as_whole() {
        let mut framing = RequestFraming::new(1024);
        assert_eq!(feed(&mut framing, b"GET / HT"), Verdict::Pass);
        assert_eq!(
            feed(&mut framing, b"XP/1.1\r\n"),
            Verdict::Refuse {
                at: 0,
                rejection: Rejection::Malformed
            }
        );
    }

    #[test]
    fn http_1_2_is_read_as_1_1() {
        let mut piece = b"GET / HTTP/1.2\r\nHost: a\r\n\r\n".to_vec();
        assert_eq!(RequestFraming::new(1024).feed(&mut piece), Verdict::Pass);
        assert_eq!(piece, b"GET / HTTP/1.1\r\nHost: a\r\n\r\n");
        let mut framing = RequestFraming::new(1024);
        let mut first = b"GET / HTTP/1.".to_vec();
        let mut second = b"7\r\nHost: a\r\n\r\n".to_vec();
        assert_eq!(framing.feed(&mut first), Verdict::Pass);
        assert_eq!(framing.feed(&mut second), Verdict::Pass);
        assert_eq!(second[0], b'1');
        assert_eq!(framing.heads(), 1);
    }
}
