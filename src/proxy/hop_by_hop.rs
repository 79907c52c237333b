//! Hop-by-hop headers (RFC 9110 §7.6.1): they describe one connection, so the
//! proxy removes them in both directions before forwarding.

use http::header::{
    CONNECTION, HeaderMap, HeaderName, HeaderValue, TE, TRAILER, TRANSFER_ENCODING, UPGRADE,
};

/// `Keep-Alive` (no constant in `http`).
static KEEP_ALIVE: HeaderName = HeaderName::from_static("keep-alive");
/// `Proxy-Connection`, a pre-standard `Connection` some clients still send.
static PROXY_CONNECTION: HeaderName = HeaderName::from_static("proxy-connection");

/// Whether `name` is hop-by-hop whatever `Connection` says.
fn always_hop_by_hop(name: &HeaderName) -> bool {
    name == CONNECTION
        || name == TE
        || name == TRAILER
        || name == TRANSFER_ENCODING
        || name == UPGRADE
        || name == KEEP_ALIVE
        || name == PROXY_CONNECTION
}

/// Removes `Connection`, every header it names, and the fixed hop-by-hop set.
///
/// Runs twice per proxied request, so the usual case (no hop-by-hop field
/// at all) costs one pass over the names and no hashing.
pub(crate) fn strip(headers: &mut HeaderMap) {
    if !headers.keys().any(always_hop_by_hop) {
        return;
    }
    // Only the names present are removed (usually `Connection` alone),
    // so no lookup is spent on the absent ones.
    let doomed: Vec<HeaderName> = {
        let listed: Vec<&str> = headers
            .get_all(CONNECTION)
            .iter()
            .filter_map(|value| value.to_str().ok())
            .flat_map(|value| value.split(','))
            .map(str::trim)
            .collect();
        headers
            .keys()
            .filter(|name| {
                always_hop_by_hop(name)
                    || listed
                        .iter()
                        .any(|token| token.eq_ignore_ascii_case(name.as_str()))
            })
            .cloned()
            .collect()
    };
    for name in doomed {
        headers.remove(name);
    }
    debug_assert!(!headers.keys().any(always_hop_by_hop));
}

/// Whether the request asks to switch to the WebSocket protocol
/// (`Upgrade: websocket` and `Connection: upgrade`).
pub(crate) fn wants_websocket(headers: &HeaderMap) -> bool {
    let upgrade = headers
        .get_all(UPGRADE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|token| token.trim().eq_ignore_ascii_case("websocket"));
    upgrade && connection_has(headers, "upgrade")
}

/// Whether a `Connection` header lists `token`.
pub(crate) fn connection_has(headers: &HeaderMap, token: &str) -> bool {
    headers
        .get_all(CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|t| t.trim().eq_ignore_ascii_case(token))
}

/// Strips hop-by-hop headers but keeps the WebSocket handshake pair
/// (`Upgrade: websocket`, `Connection: upgrade`) that must reach the other side.
pub(crate) fn strip_keeping_upgrade(headers: &mut HeaderMap) {
    let upgrade: Vec<HeaderValue> = headers.get_all(UPGRADE).iter().cloned().collect();
    strip(headers);
    for value in upgrade {
        headers.append(UPGRADE, value);
    }
    headers.insert(CONNECTION, HeaderValue::from_static("upgrade"));
}

/// Whether a message carries `Transfer-Encoding`.
pub(crate) fn has_transfer_encoding(headers: &HeaderMap) -> bool {
    headers.contains_key(TRANSFER_ENCODING)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for (name, value) in pairs {
            headers.append(
                HeaderName::from_bytes(name.as_bytes()).expect("name"),
                HeaderValue::from_str(value).expect("value"),
            );
        }
        headers
    }

    #[test]
    fn strips_fixed_set_and_connection_named() {
        let mut headers = map(&[
            ("connection", "close, X-Hop"),
            ("connection", "x-other"),
            ("x-hop", "1"),
            ("x-other", "2"),
            ("keep-alive", "timeout=5"),
            ("proxy-connection", "keep-alive"),
            ("te", "trailers"),
            ("trailer", "x"),
            ("transfer-encoding", "chunked"),
            ("upgrade", "h2c"),
            ("x-end", "kept"),
            ("x-forwarded-for", "192.0.2.1"),
        ]);
        strip(&mut headers);
        // The order of different names carries no meaning (RFC 9110 §5.3).
        let mut names: Vec<&str> = headers.keys().map(HeaderName::as_str).collect();
        names.sort_unstable();
        assert_eq!(names, ["x-end", "x-forwarded-for"]);
    }

    #[test]
    fn websocket_detection_and_kept_pair() {
        let mut headers = map(&[
            ("connection", "keep-alive, Upgrade"),
            ("upgrade", "WebSocket"),
            ("keep-alive", "1"),
        ]);
        assert!(wants_websocket(&headers));
        strip_keeping_upgrade(&mut headers);
        assert_eq!(
            headers.get(UPGRADE).map(HeaderValue::as_bytes),
            Some(&b"WebSocket"[..])
        );
        assert_eq!(
            headers.get(CONNECTION).map(HeaderValue::as_bytes),
            Some(&b"upgrade"[..])
        );
        assert!(!headers.contains_key("keep-alive"));
        assert!(!wants_websocket(&map(&[("upgrade", "websocket")])));
    }
}
