//! The request line checked byte by byte as it arrives, so that a line
//! split across writes is refused as soon as the same bytes in one write
//! would be (the whole head is parsed again only once it is complete), and
//! so that `HTTP/1.2`…`HTTP/1.9` can be read as `HTTP/1.1` (RFC 9110 §2.5:
//! a higher minor version is processed as the highest one supported) by
//! rewriting the digit before hyper, which knows only 1.0 and 1.1, sees it.
//!
//! It refuses only what the HTTP parser (httparse, for hyper and for the
//! framing check alike) refuses too, or what the framing check refuses once
//! the head is complete (a bare LF).

/// Where the checker is in the request line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Part {
    /// Empty lines before the request line (the parser skips CRLFs).
    Lead,
    /// The LF of an empty CRLF line.
    LeadLf,
    /// The rest of the method, up to a space.
    Method,
    /// The target's first byte.
    TargetStart,
    /// The rest of the target, up to a space.
    Target,
    /// `HTTP/1.` matched up to this many bytes.
    Version(usize),
    /// The minor version digit.
    Minor,
    /// The CR after the version.
    Cr,
    /// The LF that ends the line.
    Lf,
    /// The line is complete (the full parse takes over).
    Done,
}

/// Checks one request line, however it is split.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RequestLine {
    part: Part,
}

impl Default for RequestLine {
    fn default() -> Self {
        RequestLine { part: Part::Lead }
    }
}

/// A byte the HTTP parser would refuse in a request line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct BadRequestLine;

/// The version prefix every request line must carry.
const VERSION: &[u8] = b"HTTP/1.";

impl RequestLine {
    /// Checks the next bytes of a head (those past the line are left
    /// alone), rewriting a minor version above 1 to 1; `Err` at the first
    /// byte the parser would refuse.
    pub(crate) fn check(&mut self, bytes: &mut [u8]) -> Result<(), BadRequestLine> {
        for byte in bytes.iter_mut() {
            self.part = match (self.part, *byte) {
                (Part::Done, _) => return Ok(()),
                (Part::Lead, b'\r') => Part::LeadLf,
                (Part::Lead | Part::LeadLf, b'\n') => Part::Lead,
                (Part::Lead, b) if is_token(b) => Part::Method,
                (Part::Method, b' ') => Part::TargetStart,
                (Part::Method, b) if is_token(b) => Part::Method,
                (Part::TargetStart | Part::Target, b) if is_target(b) => Part::Target,
                (Part::Target, b' ') => Part::Version(0),
                (Part::Version(n), b) if b == VERSION[n] => match n + 1 {
                    done if done == VERSION.len() => Part::Minor,
                    next => Part::Version(next),
                },
                (Part::Minor, b'0' | b'1') => Part::Cr,
                (Part::Minor, b'2'..=b'9') => {
                    *byte = b'1';
                    Part::Cr
                }
                (Part::Cr, b'\r') => Part::Lf,
                (Part::Lf, b'\n') => Part::Done,
                _ => return Err(BadRequestLine),
            };
        }
        Ok(())
    }
}

/// A `tchar` (RFC 9110 §5.6.2), what the parser takes in a method.
fn is_token(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&byte)
}

/// A byte the parser takes in a request target.
fn is_target(byte: u8) -> bool {
    matches!(byte, b'!'..=0x7e | 0x80..=0xff)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(line: &[u8]) -> Result<Vec<u8>, BadRequestLine> {
        let mut bytes = line.to_vec();
        RequestLine::default().check(&mut bytes)?;
        // The same bytes one at a time give the same answer.
        let mut split = line.to_vec();
        let mut checker = RequestLine::default();
        for byte in split.iter_mut() {
            checker.check(std::slice::from_mut(byte))?;
        }
        assert_eq!(split, bytes);
        Ok(bytes)
    }

    #[test]
    fn sound_lines_and_their_beginnings_pass() {
        for line in [
            &b"GET / HTTP/1.1\r\nHost: a\r\n\r\n"[..],
            b"\r\n\r\nPOST /a?b HTTP/1.0\r\n",
            b"GET http://a.example?x=1 HTTP/1.1\r\n",
            b"OPTIONS * HTTP/1.1\r\n",
            b"GET /\xc3\xa9 HTTP/1.1",
            b"GET / HT",
            b"",
        ] {
            assert_eq!(check(line).as_deref(), Ok(line), "{line:?}");
        }
    }

    #[test]
    fn a_higher_minor_version_becomes_1_1() {
        assert_eq!(
            check(b"GET / HTTP/1.2\r\nHost: a\r\n").as_deref(),
            Ok(&b"GET / HTTP/1.1\r\nHost: a\r\n"[..])
        );
        assert_eq!(
            check(b"GET / HTTP/1.9").as_deref(),
            Ok(&b"GET / HTTP/1.1"[..])
        );
    }

    #[test]
    fn what_the_parser_refuses_is_refused_at_once() {
        for line in [
            &b"G\x01T"[..],
            b"GET  /",
            b"GET /a\x01",
            b"GET / HTTP/2.0",
            b"GET / HTTP/1.1 ",
            b"GET / HTTP/1.12",
            b"GET / XTTP",
            b"\r\r",
            b" GET",
            b"GET / HTTP/1.1\r\r",
        ] {
            assert_eq!(check(line), Err(BadRequestLine), "{line:?}");
        }
    }
}
