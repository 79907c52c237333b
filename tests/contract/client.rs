//! Real clients for the tests: `curl` (what people and platforms use) and a
//! raw HTTP/1.1 connection over `TcpStream` for exact bytes and keep-alive.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use crate::namespace::SCRATCH;

/// The proxy's address as clients reach it.
pub const PROXY: &str = "127.0.0.1:80";

/// What curl got back.
#[derive(Debug)]
pub struct Curl {
    /// Final status (0 when no response).
    pub status: u16,
    /// Header lines of the final response, names lower-cased.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Vec<u8>,
    /// Every header block curl saw (interim 1xx first), raw.
    pub raw_heads: String,
    /// curl's exit code.
    pub exit: i32,
    /// curl's stderr.
    pub stderr: String,
    /// Connections curl opened (`%{num_connects}` summed over transfers).
    pub connects: u64,
}

impl Curl {
    /// The only value of a header, if present.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The body as text.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

static SCRATCH_FILES: AtomicUsize = AtomicUsize::new(0);

/// A fresh scratch file path (in the namespace's tmpfs).
pub fn scratch_file(what: &str) -> PathBuf {
    let n = SCRATCH_FILES.fetch_add(1, Ordering::SeqCst);
    PathBuf::from(format!("{SCRATCH}/{what}-{n}"))
}

/// Runs curl against the proxy with extra arguments; the URL must be among them.
pub fn curl(args: &[&str]) -> Curl {
    let head = scratch_file("curl-head");
    let body = scratch_file("curl-body");
    let out = Command::new("curl")
        .args(["-sS", "--max-time", "60", "--http1.1", "-D"])
        .arg(&head)
        .arg("-o")
        .arg(&body)
        .args(["-w", "%{http_code} %{num_connects}\\n"])
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("run curl");
    let raw_heads = std::fs::read_to_string(&head).unwrap_or_default();
    let body_bytes = std::fs::read(&body).unwrap_or_default();
    let _ = std::fs::remove_file(&head);
    let _ = std::fs::remove_file(&body);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let mut status = 0;
    let mut connects = 0;
    for line in stdout.lines() {
        let mut parts = line.split_whitespace();
        status = parts.next().and_then(|s| s.parse().ok()).unwrap_or(0);
        connects += parts
            .next()
            .and_then(|s| s.parse::<u64>().ok())
            .unwrap_or(0);
    }
    let last_block = raw_heads
        .split("\r\n\r\n")
        .filter(|b| !b.trim().is_empty())
        .last()
        .unwrap_or("");
    let headers = last_block
        .lines()
        .skip(1)
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    Curl {
        status,
        headers,
        body: body_bytes,
        raw_heads,
        exit: out.status.code().unwrap_or(-1),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        connects,
    }
}

/// `curl http://127.0.0.1{path}` with extra arguments before the URL.
pub fn get(path: &str, args: &[&str]) -> Curl {
    let url = format!("http://{PROXY}{path}");
    let mut all: Vec<&str> = args.to_vec();
    all.push(&url);
    curl(&all)
}

/// One response read off a raw connection.
#[derive(Debug, Clone)]
pub struct Response {
    /// Status code.
    pub status: u16,
    /// The status line and header lines, as received.
    pub head: String,
    /// Header names (lower-cased) and values.
    pub headers: Vec<(String, String)>,
    /// The decoded body.
    pub body: Vec<u8>,
}

impl Response {
    /// The first value of a header.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Whether the server will close the connection after this response.
    pub fn closes(&self) -> bool {
        self.header("connection")
            .is_some_and(|v| v.eq_ignore_ascii_case("close"))
    }
}

/// A raw client connection to the proxy.
pub struct Conn {
    reader: BufReader<TcpStream>,
}

impl Conn {
    /// Connects to the proxy (with read/write timeouts).
    pub fn open() -> std::io::Result<Conn> {
        let addr: SocketAddr = PROXY.parse().map_err(std::io::Error::other)?;
        let stream = TcpStream::connect_timeout(&addr, Duration::from_secs(5))?;
        stream.set_read_timeout(Some(Duration::from_secs(30)))?;
        stream.set_write_timeout(Some(Duration::from_secs(30)))?;
        stream.set_nodelay(true)?;
        Ok(Conn {
            reader: BufReader::new(stream),
        })
    }

    /// Sends raw bytes.
    pub fn send(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        let stream = self.reader.get_mut();
        stream.write_all(bytes)?;
        stream.flush()
    }

    /// The underlying stream (for websocket frames after a 101).
    pub fn stream(&mut self) -> &mut BufReader<TcpStream> {
        &mut self.reader
    }

    /// Reads one response (an interim 1xx is returned on its own).
    /// `head_request` says the response to a HEAD has no body.
    pub fn read_response(&mut self, head_request: bool) -> std::io::Result<Response> {
        let mut head = String::new();
        loop {
            let mut line = String::new();
            let n = self.reader.read_line(&mut line)?;
            if n == 0 {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::UnexpectedEof,
                    format!("connection closed after {:?}", head),
                ));
            }
            if line == "\r\n" || line == "\n" {
                break;
            }
            head.push_str(&line);
        }
        let status: u16 = head
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| std::io::Error::other(format!("bad status line in {head:?}")))?;
        let headers: Vec<(String, String)> = head
            .lines()
            .skip(1)
            .filter_map(|l| l.split_once(':'))
            .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_owned()))
            .collect();
        let mut response = Response {
            status,
            head,
            headers,
            body: Vec::new(),
        };
        if head_request || (100..200).contains(&status) || status == 204 || status == 304 {
            return Ok(response);
        }
        let chunked = response
            .header("transfer-encoding")
            .is_some_and(|v| v.to_ascii_lowercase().contains("chunked"));
        if chunked {
            response.body = self.read_chunked()?;
        } else if let Some(len) = response.header("content-length") {
            let len: usize = len.parse().map_err(std::io::Error::other)?;
            let mut body = vec![0u8; len];
            self.reader.read_exact(&mut body)?;
            response.body = body;
        } else {
            self.reader.read_to_end(&mut response.body)?;
        }
        Ok(response)
    }

    fn read_chunked(&mut self) -> std::io::Result<Vec<u8>> {
        let mut body = Vec::new();
        loop {
            let mut size_line = String::new();
            self.reader.read_line(&mut size_line)?;
            let size = usize::from_str_radix(size_line.trim().split(';').next().unwrap_or(""), 16)
                .map_err(|e| std::io::Error::other(format!("bad chunk size {size_line:?}: {e}")))?;
            if size == 0 {
                // trailers until the empty line
                loop {
                    let mut line = String::new();
                    self.reader.read_line(&mut line)?;
                    if line == "\r\n" || line.is_empty() {
                        return Ok(body);
                    }
                }
            }
            let start = body.len();
            body.resize(start + size, 0);
            self.reader.read_exact(&mut body[start..])?;
            let mut crlf = [0u8; 2];
            self.reader.read_exact(&mut crlf)?;
        }
    }

    /// Sends a request and reads its response.
    pub fn roundtrip(&mut self, request: &str) -> std::io::Result<Response> {
        self.send(request.as_bytes())?;
        let head = request.starts_with("HEAD ");
        self.read_response(head)
    }
}

/// A simple GET for a raw connection, keep-alive.
pub fn get_request(path: &str, host: &str) -> String {
    format!("GET {path} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: contract-raw\r\n\r\n")
}

/// A GET whose head carries `count` small fields `X-Many-I: vI`.
pub fn request_with_fields(path: &str, host: &str, count: usize) -> String {
    let mut request = format!("GET {path} HTTP/1.1\r\nHost: {host}\r\n");
    for i in 0..count {
        request.push_str(&format!("X-Many-{i}: v{i}\r\n"));
    }
    request.push_str("\r\n");
    request
}

/// Sends raw bytes on a fresh connection and returns everything until the
/// server closes (or 10 s pass).
pub fn raw_exchange(bytes: &[u8]) -> Vec<u8> {
    let mut conn = Conn::open().expect("connect to the proxy");
    let _ = conn
        .reader
        .get_mut()
        .set_read_timeout(Some(Duration::from_secs(10)));
    conn.send(bytes).expect("send raw request");
    let mut out = Vec::new();
    let _ = conn.reader.read_to_end(&mut out);
    out
}
