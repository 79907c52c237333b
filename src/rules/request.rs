//! The request as rules see it: fields of spec §4 computed once, after URL
//! normalization (§8), before any rule runs.

use std::net::{IpAddr, SocketAddr};

use http::{HeaderMap, HeaderName, HeaderValue, header};

use super::normalize::{InvalidEscape, normalize_path, normalize_query};

/// `X-Forwarded-Proto` reduced to the two values rules know.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scheme {
    /// Anything but `https`.
    Http,
    /// `X-Forwarded-Proto: https` (ASCII case-insensitive).
    Https,
}

impl Scheme {
    /// The field's text, as conditions compare it.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Scheme::Http => "http",
            Scheme::Https => "https",
        }
    }
}

/// The fields of one request, as conditions and templates read them.
#[derive(Debug, Clone)]
pub struct RequestFacts<'a> {
    /// From `X-Forwarded-Proto`.
    pub(crate) scheme: Scheme,
    /// `Host` lower-cased without port; `""` when absent.
    pub(crate) host: String,
    /// The method as sent.
    pub(crate) method: &'a str,
    /// The normalized path.
    pub path: String,
    /// The query without `?`; `None` when the target had no `?`.
    pub(crate) query: Option<String>,
    /// `True-Client-IP`, else first valid `X-Forwarded-For`, else the peer.
    pub(crate) client_ip: IpAddr,
    /// The request headers as received.
    pub(crate) headers: &'a HeaderMap,
}

/// Why a request target cannot be turned into facts (the data plane answers 400).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TargetError {
    /// Not origin-form (or absolute-form already reduced to it by the caller).
    UnsupportedForm,
    /// The path holds a `%` that is not followed by two hex digits, so it has
    /// no normalized form (spec §8); the byte offset of that `%` in the path.
    InvalidEscape(usize),
}

impl std::fmt::Display for TargetError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TargetError::UnsupportedForm => f.write_str("the request target is not in origin form"),
            TargetError::InvalidEscape(at) => {
                write!(f, "the path holds an invalid percent-escape at byte {at}")
            }
        }
    }
}

impl std::error::Error for TargetError {}

impl From<InvalidEscape> for TargetError {
    fn from(err: InvalidEscape) -> Self {
        TargetError::InvalidEscape(err.at)
    }
}

impl<'a> RequestFacts<'a> {
    /// Computes the fields of spec §4 from a request head, normalizing the
    /// target (§8). The caller has already answered CONNECT and moved an
    /// absolute-form authority into `Host`.
    pub fn from_parts(parts: &'a http::request::Parts, peer: IpAddr) -> Result<Self, TargetError> {
        let raw_path = parts.uri.path();
        if !raw_path.starts_with('/') {
            return Err(TargetError::UnsupportedForm);
        }
        let path = normalize_path(raw_path)?;
        let query = parts
            .uri
            .query()
            .map(|query| normalize_query(query).into_owned());
        let headers = &parts.headers;
        Ok(RequestFacts {
            scheme: scheme_of(headers),
            host: headers.get(header::HOST).map(host_of).unwrap_or_default(),
            method: parts.method.as_str(),
            path,
            query,
            client_ip: client_ip_of(headers, peer),
            headers,
        })
    }

    /// The normalized origin-form target (`/path?query`) that is forwarded
    /// when no rewrite fires.
    pub fn target(&self) -> String {
        match &self.query {
            Some(query) => {
                let mut target = String::with_capacity(self.path.len() + 1 + query.len());
                target.push_str(&self.path);
                target.push('?');
                target.push_str(query);
                target
            }
            None => self.path.clone(),
        }
    }
}

const X_FORWARDED_PROTO: HeaderName = HeaderName::from_static("x-forwarded-proto");
const X_FORWARDED_FOR: HeaderName = HeaderName::from_static("x-forwarded-for");
const TRUE_CLIENT_IP: HeaderName = HeaderName::from_static("true-client-ip");

/// The first element of the first `X-Forwarded-Proto` line decides, as nginx's
/// and Cloudflare's readers of a comma list do: the client-side hop is first.
fn scheme_of(headers: &HeaderMap) -> Scheme {
    let first = headers
        .get(X_FORWARDED_PROTO)
        .map(|value| value.as_bytes())
        .and_then(|bytes| bytes.split(|&b| b == b',').next())
        .map(<[u8]>::trim_ascii);
    match first {
        Some(proto) if proto.eq_ignore_ascii_case(b"https") => Scheme::Https,
        _ => Scheme::Http,
    }
}

/// Lower-cased `Host` without its port; an IPv6 literal keeps its brackets
/// (`[::1]:8080` → `[::1]`) so that `{host}` stays a valid authority.
fn host_of(value: &HeaderValue) -> String {
    let text = String::from_utf8_lossy(value.as_bytes());
    let text = text.trim();
    let name = if text.starts_with('[') {
        text.find(']').map_or(text, |end| &text[..=end])
    } else {
        match text.rsplit_once(':') {
            Some((name, port)) if port.bytes().all(|b| b.is_ascii_digit()) => name,
            _ => text,
        }
    };
    name.to_ascii_lowercase()
}

/// `True-Client-IP` when it is one valid address, else the first valid entry of
/// `X-Forwarded-For` (in header order), else the TCP peer. IPv4-mapped IPv6
/// addresses become IPv4 so that `10.0.0.0/8` matches them.
fn client_ip_of(headers: &HeaderMap, peer: IpAddr) -> IpAddr {
    let true_client = headers
        .get(TRUE_CLIENT_IP)
        .and_then(|value| value.to_str().ok())
        .and_then(parse_address);
    let forwarded = || {
        headers
            .get_all(X_FORWARDED_FOR)
            .iter()
            .filter_map(|value| value.to_str().ok())
            .flat_map(|line| line.split(','))
            .find_map(parse_address)
    };
    true_client
        .or_else(forwarded)
        .unwrap_or(peer)
        .to_canonical()
}

/// An address as proxies write it: bare, or with a port (`1.2.3.4:5678`,
/// `[2001:db8::1]:443`).
fn parse_address(text: &str) -> Option<IpAddr> {
    let text = text.trim();
    text.parse::<IpAddr>()
        .ok()
        .or_else(|| text.parse::<SocketAddr>().ok().map(|addr| addr.ip()))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    const PEER: IpAddr = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 9));

    fn parts(target: &str, headers: &[(&str, &str)]) -> http::request::Parts {
        let mut builder = http::Request::builder().uri(target);
        for (name, value) in headers {
            builder = builder.header(*name, *value);
        }
        builder.body(()).unwrap().into_parts().0
    }

    fn facts_of(parts: &http::request::Parts) -> RequestFacts<'_> {
        RequestFacts::from_parts(parts, PEER).unwrap()
    }

    #[test]
    fn scheme_follows_x_forwarded_proto() {
        let cases = [
            (None, Scheme::Http),
            (Some("https"), Scheme::Https),
            (Some("HTTPS"), Scheme::Https),
            (Some(" HttpS "), Scheme::Https),
            (Some("http"), Scheme::Http),
            (Some("wss"), Scheme::Http),
            (Some("https, http"), Scheme::Https),
            (Some("http, https"), Scheme::Http),
        ];
        for (value, expected) in cases {
            let headers: Vec<_> = value
                .map(|v| ("x-forwarded-proto", v))
                .into_iter()
                .collect();
            let p = parts("/", &headers);
            assert_eq!(facts_of(&p).scheme, expected, "{value:?}");
        }
    }

    #[test]
    fn host_is_lower_cased_without_port() {
        let cases = [
            ("Example.COM", "example.com"),
            ("example.com:8080", "example.com"),
            ("[::1]:80", "[::1]"),
            ("[2001:DB8::1]", "[2001:db8::1]"),
            ("10.0.0.1:80", "10.0.0.1"),
        ];
        for (value, expected) in cases {
            let p = parts("/", &[("host", value)]);
            assert_eq!(facts_of(&p).host, expected);
        }
        let p = parts("/", &[]);
        assert_eq!(facts_of(&p).host, "");
    }

    #[test]
    fn client_ip_prefers_true_client_ip_then_forwarded_for_then_peer() {
        let p = parts(
            "/",
            &[
                ("true-client-ip", "10.1.2.3"),
                ("x-forwarded-for", "10.9.9.9"),
            ],
        );
        assert_eq!(facts_of(&p).client_ip.to_string(), "10.1.2.3");
        let p = parts(
            "/",
            &[
                ("true-client-ip", "garbage"),
                ("x-forwarded-for", "junk, 2001:db8::7, 10.0.0.1"),
            ],
        );
        assert_eq!(facts_of(&p).client_ip.to_string(), "2001:db8::7");
        let p = parts("/", &[("x-forwarded-for", "203.0.113.5:4711")]);
        assert_eq!(facts_of(&p).client_ip.to_string(), "203.0.113.5");
        let p = parts("/", &[("x-forwarded-for", "unknown")]);
        assert_eq!(facts_of(&p).client_ip, PEER);
        let p = parts("/", &[("true-client-ip", "::ffff:10.0.0.1")]);
        assert_eq!(facts_of(&p).client_ip.to_string(), "10.0.0.1");
    }

    #[test]
    fn path_and_query_are_normalized() {
        let p = parts("/x/../%61dmin/%2f?a=%7e&b=%2f&c=100%", &[]);
        let facts = facts_of(&p);
        assert_eq!(facts.path, "/admin/%2F");
        assert_eq!(facts.query.as_deref(), Some("a=~&b=%2F&c=100%"));
        assert_eq!(facts.target(), "/admin/%2F?a=~&b=%2F&c=100%");
    }

    #[test]
    fn absolute_form_is_reduced_to_origin_form() {
        let p = parts("http://Example.com/a/./b?x", &[("host", "example.com")]);
        let facts = facts_of(&p);
        assert_eq!(facts.path, "/a/b");
        assert_eq!(facts.target(), "/a/b?x");
    }

    #[test]
    fn an_empty_query_is_kept_apart_from_none() {
        let p = parts("/a?", &[]);
        assert_eq!(facts_of(&p).query.as_deref(), Some(""));
        let p = parts("/a", &[]);
        assert_eq!(facts_of(&p).query, None);
        assert_eq!(facts_of(&p).target(), "/a");
    }

    #[test]
    fn invalid_path_escape_and_asterisk_form_are_rejected() {
        let p = parts("/a%zz", &[]);
        assert_eq!(
            RequestFacts::from_parts(&p, PEER).unwrap_err(),
            TargetError::InvalidEscape(2)
        );
        let p = parts("*", &[]);
        assert_eq!(
            RequestFacts::from_parts(&p, PEER).unwrap_err(),
            TargetError::UnsupportedForm
        );
    }
}
