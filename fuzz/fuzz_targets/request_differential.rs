//! Differential fuzzing of the framing check against hyper's server parser
//! (issue 17): the same bytes go to the framing check, fed one byte at a
//! time, and — as far as the framing check hands them over, exactly as
//! `ClientIo` does — to hyper's server, built as every client connection
//! builds it, over an in-memory pipe. The two must agree on every request:
//! how many heads there are and where each one starts (its method and
//! target). A disagreement is a request one of them sees and the other does
//! not, which is how a request is smuggled.
//!
//! The service reads each body to its end and answers 200, so hyper goes
//! on to the next request. Bytes after a request that asks to upgrade are
//! not handed over (that path is `request_framing`'s). Time is paused:
//! once every task is idle the clock jumps, so "hyper has read all it can"
//! is exact and costs no waiting.
#![no_main]

use std::convert::Infallible;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use libfuzzer_sys::fuzz_target;
use switchyard::proxy::connection::http1_builder;
use switchyard::proxy::framing::{RequestFraming, Verdict};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// The framing check's head limit (hyper gets one byte more, as in the server).
const LIMIT: usize = 2048;

/// One request as a parser saw its head: method and target.
type Head = (String, String);

/// What the framing check makes of the stream: the bytes it hands to hyper
/// (with `HTTP/1.2`… rewritten) and the heads in them.
fn framing_check(stream: &[u8]) -> (Vec<u8>, Vec<Head>) {
    let mut framing = RequestFraming::new(LIMIT);
    let mut handed = Vec::with_capacity(stream.len());
    let mut heads = Vec::new();
    let mut head_start = 0;
    for &byte in stream {
        let mut piece = [byte];
        let was_in_head = framing.in_head();
        let before = framing.heads();
        match framing.feed(&mut piece) {
            Verdict::Pass => handed.push(piece[0]),
            Verdict::Refuse { .. } | Verdict::Break { .. } | Verdict::Hold { .. } => break,
        }
        let end = handed.len();
        if framing.heads() > before {
            heads.push(head_of(&handed[head_start..end]));
        }
        if framing.in_head() && (framing.heads() > before || !was_in_head) {
            head_start = end;
        }
        if framing.awaiting_upgrade() {
            break;
        }
    }
    (handed, heads)
}

/// The method and target of a complete head.
fn head_of(bytes: &[u8]) -> Head {
    let mut fields = [httparse::EMPTY_HEADER; 600];
    let mut request = httparse::Request::new(&mut fields);
    match request.parse(bytes) {
        Ok(httparse::Status::Complete(_)) => (
            request.method.unwrap_or("").to_owned(),
            request.path.unwrap_or("").to_owned(),
        ),
        other => panic!("the framing check passed a head httparse does not: {other:?}"),
    }
}

/// The heads hyper's server dispatches when given `bytes` and nothing more,
/// and whether it then closed the connection without an error (after a
/// request that does not keep it alive, such as HTTP/1.0 without
/// `Connection: keep-alive`: what follows is never read, by either side).
fn hyper_heads(bytes: Vec<u8>) -> (Vec<Head>, bool) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .start_paused(true)
        .build()
        .expect("runtime");
    runtime.block_on(async move {
        let seen: Arc<Mutex<Vec<Head>>> = Arc::default();
        let (mut client, server) = tokio::io::duplex(1 << 20);
        let record = seen.clone();
        let service = service_fn(move |request: Request<Incoming>| {
            let record = record.clone();
            async move {
                let head = (request.method().to_string(), request.uri().to_string());
                if let Ok(mut seen) = record.lock() {
                    seen.push(head);
                }
                // Read the body to its end (or its failure) before answering.
                let _ = request.into_body().collect().await;
                Ok::<_, Infallible>(Response::new(Full::new(Bytes::from_static(b"ok"))))
            }
        });
        let connection = http1_builder(LIMIT)
            .serve_connection(TokioIo::new(server), service)
            .with_upgrades();
        let served = tokio::spawn(connection);
        client.write_all(&bytes).await.expect("write");
        let drain = tokio::spawn(async move {
            let mut sink = vec![0u8; 1 << 16];
            while matches!(client.read(&mut sink).await, Ok(n) if n > 0) {}
        });
        // Paused time: this returns once hyper can make no more progress.
        tokio::time::sleep(Duration::from_secs(3600)).await;
        let closed = served.is_finished();
        let cleanly = closed && matches!(served.await, Ok(Ok(())));
        drain.abort();
        let heads = seen.lock().map(|s| s.clone()).unwrap_or_default();
        (heads, cleanly)
    })
}

fuzz_target!(|data: &[u8]| {
    let (handed, mut ours) = framing_check(data);
    let (theirs, closed) = hyper_heads(handed);
    if closed && ours.len() > theirs.len() {
        // hyper closed the connection after a request that does not keep it
        // alive; the server reads nothing after it either.
        ours.truncate(theirs.len());
    }
    assert_eq!(
        ours.len(),
        theirs.len(),
        "the framing check and hyper disagree on the number of requests:\n ours {ours:?}\n hyper {theirs:?}\n input {:?}",
        String::from_utf8_lossy(data)
    );
    for (mine, hypers) in ours.iter().zip(&theirs) {
        assert_eq!(mine.0, hypers.0, "method: {ours:?} vs {theirs:?}");
        // hyper prints an absolute-form target as it parsed it (`http://a`
        // becomes `http://a/`); an origin-form one is the text as sent, but
        // for a fragment, which `http::Uri` drops.
        if mine.1.starts_with('/') {
            let sent = mine.1.split('#').next().unwrap_or("");
            assert_eq!(sent, hypers.1, "target: {ours:?} vs {theirs:?}");
        }
    }
});
