//! Sending a request to the next hop: an origin-form target,
//! `Host` kept, hop-by-hop headers dropped both ways, bodies streamed, and a
//! WebSocket upgrade tunnelled byte for byte once both sides agreed.

use std::time::Duration;

use bytes::BytesMut;
use http::header::{CONTENT_LENGTH, EXPECT, HOST, TRANSFER_ENCODING};
use http::{HeaderValue, Request, Response, StatusCode, Uri, Version};
use hyper::body::{Body, Incoming};
use hyper::upgrade::OnUpgrade;
use hyper_util::rt::TokioIo;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

use super::drain::DrainToken;
use super::error::ProxyError;
use super::hop_by_hop;
use super::next_hop_body::NextHopBody;
use super::service::ConnectionContext;

/// Forwards the request; returns the upstream response (headers already
/// stripped of hop-by-hop fields; its body carries the connection) and the
/// milliseconds its head took.
///
/// `Expect` is not forwarded: the proxy answers `100 Continue` itself when
/// the body is first read, which happens once the upstream connection is up
/// and the request head is sent.
pub(crate) async fn forward(
    ctx: &ConnectionContext,
    mut parts: http::request::Parts,
    body: Incoming,
    target: Option<String>,
    client_upgrade: Option<OnUpgrade>,
    response_timeout: Duration,
) -> Result<(Response<NextHopBody>, u64), ProxyError> {
    // The target goes out in origin-form (`None`: the request's own, already
    // origin-form); `Host` is the client's.
    if let Some(target) = target {
        parts.uri =
            Uri::try_from(target.as_str()).map_err(|_| ProxyError::InvalidUpstreamUri(target))?;
    }
    if client_upgrade.is_some() {
        hop_by_hop::strip_keeping_upgrade(&mut parts.headers);
    } else {
        hop_by_hop::strip(&mut parts.headers);
    }
    parts.headers.remove(EXPECT);
    // An HTTP/1.0 client may omit Host, but the request goes on as HTTP/1.1,
    // which must carry one: empty, as RFC 9112 §3.2 says for a target
    // without an authority.
    if !parts.headers.contains_key(HOST) {
        parts.headers.insert(HOST, HeaderValue::from_static(""));
    }
    parts.version = Version::HTTP_11;
    // Any hyper extensions (the upgrade handle was already taken) stay behind.
    parts.extensions = http::Extensions::new();
    let body = if body.is_end_stream() {
        None
    } else {
        if body.size_hint().exact().is_none() {
            // A chunked body goes on chunked, whatever the method: hyper
            // would send a GET or HEAD without it and drop its bytes.
            parts
                .headers
                .insert(TRANSFER_ENCODING, HeaderValue::from_static("chunked"));
        }
        Some(body)
    };
    let sent = ctx
        .plane
        .upstream
        .send(Request::from_parts(parts, body), response_timeout)
        .await?;
    let mut response = sent.response;
    let upstream_ms = u64::try_from(sent.elapsed.as_millis()).unwrap_or(u64::MAX);
    match client_upgrade {
        Some(client) if response.status() == StatusCode::SWITCHING_PROTOCOLS => {
            // Before the 101 is written: what the client sends next is the tunnel's.
            ctx.state.mark_upgraded();
            hop_by_hop::strip_keeping_upgrade(response.headers_mut());
            // The connection is the tunnel's now, never the pool's.
            if let Some(upstream) = response.body_mut().take_tunnel() {
                tokio::spawn(tunnel(client, upstream, ctx.drain.clone()));
            }
        }
        // 101 to a request that did not ask to upgrade: the client has no
        // way to follow (and hyper would send it a bare 101), so it is a
        // broken next hop.
        None if response.status() == StatusCode::SWITCHING_PROTOCOLS => {
            return Err(ProxyError::UnexpectedUpgrade);
        }
        _ => {
            if let Some(codings) = unsupported_transfer_coding(response.headers()) {
                return Err(ProxyError::UpstreamTransferCoding(codings));
            }
            response_head_for_client(response.headers_mut())
        }
    }
    Ok((response, upstream_ms))
}

/// The next hop's response fields as the client gets them: hop-by-hop
/// fields dropped, and a received `Content-Length` dropped when the body
/// was framed by chunking — it is read by the chunks, so the length
/// goes (RFC 9112 §6.3), else the client would take a prefix of the body
/// for all of it. The fuzz target that compares the client's reading with
/// the next-hop parser's calls this too.
pub fn response_head_for_client(headers: &mut http::HeaderMap) {
    if hop_by_hop::has_transfer_encoding(headers) {
        headers.remove(CONTENT_LENGTH);
    }
    hop_by_hop::strip(headers);
}

/// The response's `Transfer-Encoding` values, when any coding in them is
/// not `chunked`: such a body is framed by the connection's close and the
/// coded bytes would pass on as they are.
fn unsupported_transfer_coding(headers: &http::HeaderMap) -> Option<String> {
    let values: Vec<&[u8]> = headers
        .get_all(TRANSFER_ENCODING)
        .iter()
        .map(HeaderValue::as_bytes)
        .collect();
    let unsupported = values.iter().any(|value| {
        value
            .split(|&byte| byte == b',')
            .map(<[u8]>::trim_ascii)
            .any(|coding| !coding.is_empty() && !coding.eq_ignore_ascii_case(b"chunked"))
    });
    unsupported.then(|| {
        values
            .iter()
            .map(|value| String::from_utf8_lossy(value))
            .collect::<Vec<_>>()
            .join(", ")
    })
}

/// Copies bytes both ways between the upgraded client connection and the
/// next hop's (first what the next hop sent after its 101 head) until
/// either side closes.
async fn tunnel(client: OnUpgrade, upstream: (TcpStream, BytesMut), _drain: DrainToken) {
    let client = match client.await {
        Ok(client) => client,
        Err(err) => {
            tracing::warn!("websocket upgrade failed: {err}");
            return;
        }
    };
    let (mut upstream, early) = upstream;
    let mut client = TokioIo::new(client);
    if !early.is_empty()
        && let Err(err) = client.write_all(&early).await
    {
        tracing::debug!("websocket tunnel ended: {err}");
        return;
    }
    match tokio::io::copy_bidirectional(&mut client, &mut upstream).await {
        Ok((up, down)) => tracing::debug!(up, down, "websocket tunnel closed"),
        Err(err) => tracing::debug!("websocket tunnel ended: {err}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(values: &[&str]) -> http::HeaderMap {
        let mut map = http::HeaderMap::new();
        for value in values {
            map.append(
                TRANSFER_ENCODING,
                HeaderValue::from_str(value).expect("value"),
            );
        }
        map
    }

    #[test]
    fn only_chunked_is_a_transfer_coding_the_proxy_passes_on() {
        assert_eq!(unsupported_transfer_coding(&headers(&[])), None);
        assert_eq!(unsupported_transfer_coding(&headers(&["chunked"])), None);
        assert_eq!(unsupported_transfer_coding(&headers(&["Chunked"])), None);
        assert_eq!(
            unsupported_transfer_coding(&headers(&["gzip"])).as_deref(),
            Some("gzip")
        );
        assert_eq!(
            unsupported_transfer_coding(&headers(&["gzip, chunked"])).as_deref(),
            Some("gzip, chunked")
        );
        assert_eq!(
            unsupported_transfer_coding(&headers(&["chunked", "identity"])).as_deref(),
            Some("chunked, identity")
        );
    }
}
