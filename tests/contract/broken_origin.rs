//! A next hop that is broken on purpose, in raw bytes (run it with
//! `Origin::start_raw`): what it does is chosen by the request path, so one
//! origin serves a whole test and its closing normal request.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

use crate::origin::{OriginState, Seen};

/// The answer to `/ok` (and anything not listed in [`serve`]).
pub const OK_BODY: &str = "ok\n";
/// The answer to a request under `/reuse` that is first on its connection.
pub const FRESH_BODY: &str = "fresh\n";
/// The body `/trickle-body/MS` and `/trickle-head/MS` send.
pub const TRICKLED_BODY: &str = "abcdefghijklmnopqrst";
/// The length `/reset-mid-body` promises (it sends 1,000 bytes of it).
pub const PROMISED: usize = 100_000;
/// The body `/te-and-cl` sends chunked, under a `Content-Length` of 5.
pub const CHUNKED_UNDER_LENGTH: &str = "abcdefghijklmnopqrstuvwxyz";
/// The method of the record `/switch` adds once the proxy closed the
/// connection it had switched.
pub const HUNG_UP: &str = "(hung up)";

/// What to do with the connection once a request was handled.
enum Then {
    /// Read the next request.
    KeepAlive,
    /// Close it (a FIN).
    Close,
    /// Reset it (an RST: linger zero).
    Reset,
    /// Speak another protocol from now on: wait for the peer to close, and
    /// record that as a [`HUNG_UP`] request.
    AwaitHangUp,
}

/// Serves one connection of the broken next hop. By path:
/// `/reset-mid-body` promises [`PROMISED`] bytes, sends 1,000 and resets;
/// `/die-mid-chunked` and `/die-mid-length` send part of a chunked or
/// `Content-Length` body and close; `/te-and-cl` sends
/// [`CHUNKED_UNDER_LENGTH`] chunked under `Content-Length: 5`;
/// `/te-gzip` sends a close-delimited body under `Transfer-Encoding: gzip`;
/// `/bad-chunk-size` sends a head, then an invalid chunk size, and closes; `/truncated-head` closes halfway through
/// the head; `/invalid` answers with something that is not HTTP;
/// `/bad-status` with a four-digit status; `/trickle-body/MS` sends a prompt
/// head, then its body one byte every MS milliseconds; `/trickle-head/MS`
/// sends the whole response that way; `/switch` answers 101 and waits for the
/// proxy to hang up (then records [`HUNG_UP`]); `/reuse/fin/…`, `/reuse/rst/…` and `/reuse-post` answer
/// [`FRESH_BODY`] when they are the first request on the connection, and
/// otherwise read the request and close (FIN, or RST for `rst`) without an
/// answer, as a next hop whose keep-alive timer fires just as the proxy
/// reuses the connection. Anything else answers [`OK_BODY`].
pub async fn serve(stream: TcpStream, state: Arc<OriginState>) {
    let mut reader = BufReader::new(stream);
    let mut on_this_connection = 0;
    while let Some(seen) = read_request(&mut reader).await {
        on_this_connection += 1;
        state.started.fetch_add(1, Ordering::SeqCst);
        let path = seen.uri.clone();
        if let Ok(mut requests) = state.requests.lock() {
            requests.push(seen);
        }
        let then = answer(&path, on_this_connection, reader.get_mut())
            .await
            .unwrap_or(Then::Close);
        match then {
            Then::KeepAlive => {}
            Then::Close => return,
            Then::Reset => return reset(reader.into_inner()),
            Then::AwaitHangUp => {
                let mut rest = Vec::new();
                let closed =
                    tokio::time::timeout(Duration::from_secs(20), reader.read_to_end(&mut rest))
                        .await;
                if closed.is_ok()
                    && let Ok(mut requests) = state.requests.lock()
                {
                    requests.push(hung_up(&path));
                }
                return;
            }
        }
    }
}

async fn answer(path: &str, nth: usize, out: &mut TcpStream) -> std::io::Result<Then> {
    let path = path
        .split('?')
        .next()
        .unwrap_or(path)
        .trim_start_matches('/');
    let (first, arg) = path.split_once('/').unwrap_or((path, ""));
    let per_byte = Duration::from_millis(arg.parse().unwrap_or(50));
    match first {
        "reset-mid-body" => {
            let head = format!("HTTP/1.1 200 OK\r\nContent-Length: {PROMISED}\r\n\r\n");
            out.write_all(head.as_bytes()).await?;
            out.write_all(&[b'x'; 1000]).await?;
            out.flush().await?;
            tokio::time::sleep(Duration::from_millis(100)).await;
            Ok(Then::Reset)
        }
        "die-mid-chunked" => {
            out.write_all(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n")
                .await?;
            linger_then(out, Then::Close).await
        }
        "die-mid-length" => {
            let mut reply = b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n".to_vec();
            reply.extend_from_slice(&[b'x'; 50]);
            out.write_all(&reply).await?;
            linger_then(out, Then::Close).await
        }
        "te-and-cl" => {
            let body = CHUNKED_UNDER_LENGTH;
            let reply = format!(
                "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n\
                 {:x}\r\n{body}\r\n0\r\n\r\n",
                body.len()
            );
            out.write_all(reply.as_bytes()).await?;
            out.flush().await?;
            Ok(Then::KeepAlive)
        }
        "te-gzip" => {
            out.write_all(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\nnot really gzip")
                .await?;
            linger_then(out, Then::Close).await
        }
        "bad-chunk-size" => {
            out.write_all(
                b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n",
            )
            .await?;
            linger_then(out, Then::Close).await
        }
        "truncated-head" => {
            out.write_all(b"HTTP/1.1 200 OK\r\nContent-Le").await?;
            linger_then(out, Then::Close).await
        }
        "invalid" => {
            out.write_all(b"SSH-2.0-OpenSSH_9.6\r\n\r\n").await?;
            linger_then(out, Then::Close).await
        }
        "bad-status" => {
            out.write_all(b"HTTP/1.1 2000 Huge\r\nContent-Length: 0\r\n\r\n")
                .await?;
            linger_then(out, Then::Close).await
        }
        "trickle-body" => {
            let head = format!(
                "HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n",
                TRICKLED_BODY.len()
            );
            out.write_all(head.as_bytes()).await?;
            trickle(out, TRICKLED_BODY.as_bytes(), per_byte).await?;
            Ok(Then::KeepAlive)
        }
        "trickle-head" => {
            let whole = format!(
                "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nX-Trickled: yes\r\n\r\n{TRICKLED_BODY}",
                TRICKLED_BODY.len()
            );
            trickle(out, whole.as_bytes(), per_byte).await?;
            Ok(Then::KeepAlive)
        }
        "switch" => {
            out.write_all(
                b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: foo\r\nConnection: upgrade\r\n\r\n",
            )
            .await?;
            out.flush().await?;
            Ok(Then::AwaitHangUp)
        }
        "reuse" | "reuse-post" if nth > 1 => Ok(if arg.starts_with("rst") {
            Then::Reset
        } else {
            Then::Close
        }),
        "reuse" | "reuse-post" => respond(out, FRESH_BODY).await,
        _ => respond(out, OK_BODY).await,
    }
}

async fn respond(out: &mut TcpStream, body: &str) -> std::io::Result<Then> {
    let reply = format!(
        "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nX-Origin: broken\r\n\r\n{body}",
        body.len()
    );
    out.write_all(reply.as_bytes()).await?;
    out.flush().await?;
    Ok(Then::KeepAlive)
}

/// Flushes, lets the bytes arrive, then ends the connection as `then` says.
async fn linger_then(out: &mut TcpStream, then: Then) -> std::io::Result<Then> {
    out.flush().await?;
    tokio::time::sleep(Duration::from_millis(100)).await;
    Ok(then)
}

async fn trickle(out: &mut TcpStream, bytes: &[u8], per_byte: Duration) -> std::io::Result<()> {
    for byte in bytes {
        out.write_all(std::slice::from_ref(byte)).await?;
        out.flush().await?;
        tokio::time::sleep(per_byte).await;
    }
    Ok(())
}

fn hung_up(path: &str) -> Seen {
    Seen {
        method: HUNG_UP.to_owned(),
        uri: path.to_owned(),
        headers: Vec::new(),
        body_len: 0,
        body_sha256: String::new(),
        body_start: Vec::new(),
    }
}

/// Closes with a TCP reset instead of a FIN.
fn reset(stream: TcpStream) {
    let _ = socket2::SockRef::from(&stream).set_linger(Some(Duration::ZERO));
    drop(stream);
}

/// Reads one request head and its `Content-Length` body; `None` at EOF.
async fn read_request(reader: &mut BufReader<TcpStream>) -> Option<Seen> {
    let mut request_line = String::new();
    if reader.read_line(&mut request_line).await.ok()? == 0 {
        return None;
    }
    let mut headers = Vec::new();
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).await.ok()? == 0 {
            return None;
        }
        if line == "\r\n" {
            break;
        }
        if let Some((name, value)) = line.split_once(':') {
            headers.push((name.trim().to_ascii_lowercase(), value.trim().to_owned()));
        }
    }
    let length: usize = headers
        .iter()
        .find(|(name, _)| name == "content-length")
        .and_then(|(_, value)| value.parse().ok())
        .unwrap_or(0);
    let mut body = vec![0; length];
    reader.read_exact(&mut body).await.ok()?;
    let mut words = request_line.split_whitespace();
    Some(Seen {
        method: words.next().unwrap_or("").to_owned(),
        uri: words.next().unwrap_or("").to_owned(),
        headers,
        body_len: length as u64,
        body_sha256: String::new(),
        body_start: body,
    })
}
