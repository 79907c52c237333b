//! A chunked request body (RFC 9112 §7.1), followed byte for byte exactly as
//! hyper's decoder reads it, so that the framing check and hyper can never
//! disagree about where the body, and so the request, ends.
//!
//! Where hyper's decoder fails a body, this fails it at the same byte. It is
//! stricter in one place only: hyper ends a trailer line at CRLF alone and
//! takes a bare LF as part of it, while nginx and HAProxy end the line (and
//! the trailer section) there. Such a body could be read two ways by the
//! hops in front, so a bare LF anywhere in the chunked framing fails it
//! (RFC 9112 §2.2 lets a recipient refuse a bare LF).

/// Most bytes of chunk extensions in one body (hyper's limit).
const EXTENSIONS_LIMIT: u64 = 16 * 1024;

/// Where the follower is in a chunked body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    /// The first hex digit of a chunk size.
    Start,
    /// More hex digits, or what ends them.
    Size,
    /// Whitespace after the size.
    SizeWhitespace,
    /// A chunk extension, up to its CR.
    Extension,
    /// The LF of the size line.
    SizeLf,
    /// Chunk data.
    Data,
    /// The CR after chunk data.
    DataCr,
    /// The LF after chunk data.
    DataLf,
    /// After the last chunk's size line: CR of the final CRLF, or a trailer.
    EndCr,
    /// A trailer line, up to its CR.
    Trailer,
    /// The LF of a trailer line.
    TrailerLf,
    /// The LF of the final CRLF.
    EndLf,
}

/// A byte at which hyper's decoder fails the body (or a bare LF).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Broken;

/// What one piece of a chunked body came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Progress {
    /// Every byte belongs to the body; it goes on.
    More,
    /// The body ended after the first `n` bytes of the piece.
    Ended(usize),
    /// The body is broken at byte `n` of the piece (hyper would fail it
    /// there, or it holds a bare LF).
    Broken(usize),
}

/// What [`ChunkedBody::frame`] found in a piece of a body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Framed {
    /// `framing` bytes of framing, then `data` bytes of chunk data.
    Data {
        /// Bytes of chunk sizes, extensions and line ends to drop first.
        framing: usize,
        /// Bytes of chunk data after them.
        data: usize,
    },
    /// Every byte was framing; the body goes on.
    More,
    /// The body ended after the first `n` bytes of the piece.
    Ended(usize),
    /// The body is broken at byte `n` of the piece.
    Broken(usize),
}

/// Follows one chunked body.
#[derive(Debug, Clone)]
pub(crate) struct ChunkedBody {
    step: Step,
    size: u64,
    extensions: u64,
    /// The trailer section as hyper collects it (checked when it ends).
    trailers: Option<Vec<u8>>,
    /// The checked trailer section of the body that ended.
    ended_trailers: Option<Vec<u8>>,
    trailer_lines: usize,
    /// hyper's limits for the trailer section: bytes and lines.
    trailer_limit: usize,
    max_trailers: usize,
}

impl ChunkedBody {
    /// A body whose trailer section may hold `trailer_limit` bytes and
    /// `max_trailers` fields (the limits hyper is given for heads).
    pub(crate) fn new(trailer_limit: usize, max_trailers: usize) -> Self {
        ChunkedBody {
            step: Step::Start,
            size: 0,
            extensions: 0,
            trailers: None,
            ended_trailers: None,
            trailer_lines: 0,
            trailer_limit,
            max_trailers,
        }
    }

    /// Follows the next piece of the body.
    pub(crate) fn feed(&mut self, piece: &[u8]) -> Progress {
        let mut pos = 0;
        while pos < piece.len() {
            if self.step == Step::Data {
                let left = piece.len() - pos;
                let n = usize::try_from(self.size).map_or(left, |size| size.min(left));
                pos += n;
                self.size -= n as u64;
                if self.size == 0 {
                    self.step = Step::DataCr;
                }
                continue;
            }
            let byte = piece[pos];
            match self.step(byte) {
                Ok(true) => return Progress::Ended(pos + 1),
                Ok(false) => pos += 1,
                Err(Broken) => return Progress::Broken(pos),
            }
        }
        Progress::More
    }

    /// Reads the next piece of a body to be decoded (the next hop's
    /// response): framing bytes up to the next run of chunk data, that run,
    /// or the end. The caller drops `framing` bytes, then passes on `data`
    /// bytes, and calls again with what is left.
    pub(crate) fn frame(&mut self, piece: &[u8]) -> Framed {
        let mut pos = 0;
        while pos < piece.len() {
            if self.step == Step::Data {
                let left = piece.len() - pos;
                let n = usize::try_from(self.size).map_or(left, |size| size.min(left));
                self.size -= n as u64;
                if self.size == 0 {
                    self.step = Step::DataCr;
                }
                return Framed::Data {
                    framing: pos,
                    data: n,
                };
            }
            match self.step(piece[pos]) {
                Ok(true) => return Framed::Ended(pos + 1),
                Ok(false) => pos += 1,
                Err(Broken) => return Framed::Broken(pos),
            }
        }
        Framed::More
    }

    /// The trailer section of a body that ended (`None` when it had none).
    pub(crate) fn take_trailers(&mut self) -> Option<Vec<u8>> {
        self.ended_trailers.take()
    }

    /// One byte outside chunk data: `Ok(true)` when it ends the body.
    fn step(&mut self, byte: u8) -> Result<bool, Broken> {
        self.step = match (self.step, byte) {
            (Step::Start, _) => {
                self.size = hex(byte).ok_or(Broken)?;
                Step::Size
            }
            (Step::Size, b'\t' | b' ') => Step::SizeWhitespace,
            (Step::Size | Step::SizeWhitespace, b';') => Step::Extension,
            (Step::Size | Step::SizeWhitespace | Step::Extension, b'\r') => Step::SizeLf,
            (Step::Size, _) => {
                let digit = hex(byte).ok_or(Broken)?;
                self.size = self
                    .size
                    .checked_mul(16)
                    .and_then(|size| size.checked_add(digit))
                    .ok_or(Broken)?;
                Step::Size
            }
            (Step::SizeWhitespace, b'\t' | b' ') => Step::SizeWhitespace,
            (Step::Extension, b'\n') => return Err(Broken),
            (Step::Extension, _) => {
                self.extensions += 1;
                if self.extensions >= EXTENSIONS_LIMIT {
                    return Err(Broken);
                }
                Step::Extension
            }
            (Step::SizeLf, b'\n') if self.size == 0 => Step::EndCr,
            (Step::SizeLf, b'\n') => Step::Data,
            (Step::DataCr, b'\r') => Step::DataLf,
            (Step::DataLf, b'\n') => Step::Start,
            (Step::EndCr, b'\r') => {
                self.collect(byte)?;
                Step::EndLf
            }
            (Step::EndCr, _) => {
                self.trailers.get_or_insert_with(Vec::new);
                self.collect(byte)?;
                self.trailer_byte(byte)?
            }
            (Step::Trailer, _) => {
                self.collect(byte)?;
                self.trailer_byte(byte)?
            }
            (Step::TrailerLf, b'\n') => {
                if self.trailer_lines >= self.max_trailers {
                    return Err(Broken);
                }
                self.trailer_lines += 1;
                self.collect(byte)?;
                Step::EndCr
            }
            (Step::EndLf, b'\n') => {
                self.collect(byte)?;
                self.check_trailers()?;
                self.step = Step::Start;
                return Ok(true);
            }
            // Anything else where hyper expects one byte: it fails the body.
            (
                Step::SizeWhitespace
                | Step::SizeLf
                | Step::DataCr
                | Step::DataLf
                | Step::TrailerLf
                | Step::EndLf
                | Step::Data,
                _,
            ) => return Err(Broken),
        };
        Ok(false)
    }

    /// A byte of a trailer line: its CR ends it; a bare LF breaks the body
    /// (where hyper would read on, the hops in front end the section).
    fn trailer_byte(&self, byte: u8) -> Result<Step, Broken> {
        match byte {
            b'\r' => Ok(Step::TrailerLf),
            b'\n' => Err(Broken),
            _ => Ok(Step::Trailer),
        }
    }

    /// Keeps a byte of the trailer section, within hyper's limit.
    fn collect(&mut self, byte: u8) -> Result<(), Broken> {
        if let Some(trailers) = &mut self.trailers {
            trailers.push(byte);
            if trailers.len() >= self.trailer_limit {
                return Err(Broken);
            }
        }
        Ok(())
    }

    /// The trailer section parses as header fields, as hyper requires.
    fn check_trailers(&mut self) -> Result<(), Broken> {
        let Some(trailers) = self.trailers.take() else {
            return Ok(());
        };
        let mut fields = vec![httparse::EMPTY_HEADER; self.trailer_lines];
        let valid = match httparse::parse_headers(&trailers, &mut fields) {
            Ok(httparse::Status::Complete((_, fields))) => fields.iter().all(|field| {
                http::HeaderName::from_bytes(field.name.as_bytes()).is_ok()
                    && http::HeaderValue::from_bytes(field.value).is_ok()
            }),
            _ => false,
        };
        if !valid {
            return Err(Broken);
        }
        self.ended_trailers = Some(trailers);
        Ok(())
    }
}

fn hex(byte: u8) -> Option<u64> {
    char::from(byte).to_digit(16).map(u64::from)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn follow(bytes: &[u8]) -> Progress {
        ChunkedBody::new(1024, 16).feed(bytes)
    }

    #[test]
    fn bodies_end_where_hyper_ends_them() {
        for body in [
            &b"0\r\n\r\n"[..],
            b"3\r\nabc\r\n0\r\n\r\n",
            b"3;ext=1\r\nabc\r\n0\r\n\r\n",
            b"3 \t;x\r\nabc\r\n0\r\nX-T: 1\r\nY: 2\r\n\r\n",
            b"A\r\n0123456789\r\n00\r\n\r\n",
        ] {
            assert_eq!(follow(body), Progress::Ended(body.len()), "{body:?}");
            let mut split = ChunkedBody::new(1024, 16);
            let (last, rest) = body.split_last().expect("bytes");
            for byte in rest {
                assert_eq!(split.feed(std::slice::from_ref(byte)), Progress::More);
            }
            assert_eq!(split.feed(&[*last]), Progress::Ended(1));
        }
        assert_eq!(follow(b"0\r\n\r\nGET"), Progress::Ended(5));
    }

    #[test]
    fn bare_lf_anywhere_breaks_the_body() {
        for (body, at) in [
            (&b"3\nabc"[..], 1),
            (b"3;x\nabc", 3),
            (b"3\r\nabc\n", 6),
            (b"3\r\nabc\r\n0\n", 9),
            (b"0\r\n\n", 3),
            (b"0\r\nX: 1\n\r\n", 7),
            (b"0\r\nX: 1\r\n\n", 9),
            (b"0\r\n\r\r", 4),
        ] {
            assert_eq!(follow(body), Progress::Broken(at), "{body:?}");
        }
    }

    #[test]
    fn what_hyper_refuses_breaks_the_body() {
        for body in [
            &b"zz\r\n"[..],
            b"-1\r\n",
            b"3\r\nabcdef",
            b"ffffffffffffffffff\r\n",
            b"2 x\r\n",
            b"0\r\nnot a field\r\n\r\n",
        ] {
            assert!(
                matches!(follow(body), Progress::Broken(_)),
                "{}",
                String::from_utf8_lossy(body)
            );
        }
        // Too many trailer fields, or too many bytes of them.
        let mut many = b"0\r\n".to_vec();
        for _ in 0..17 {
            many.extend_from_slice(b"X: 1\r\n");
        }
        assert!(matches!(follow(&many), Progress::Broken(_)));
        let big = format!("0\r\nX: {}\r\n\r\n", "a".repeat(2000));
        assert!(matches!(follow(big.as_bytes()), Progress::Broken(_)));
    }
}
