//! The request as rules see it: fields of spec §4 computed once, after URL
//! normalization (§8), before any rule runs.

use std::net::IpAddr;

use http::HeaderMap;

/// `X-Forwarded-Proto` reduced to the two values rules know.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scheme {
    /// Anything but `https`.
    Http,
    /// `X-Forwarded-Proto: https` (ASCII case-insensitive).
    Https,
}

/// The fields of one request, as conditions and templates read them.
#[derive(Debug, Clone)]
pub struct RequestFacts<'a> {
    /// From `X-Forwarded-Proto`.
    pub scheme: Scheme,
    /// `Host` lower-cased without port; `""` when absent.
    pub host: String,
    /// The method as sent.
    pub method: &'a str,
    /// The normalized path.
    pub path: String,
    /// The query without `?`; `None` when the target had no `?`.
    pub query: Option<String>,
    /// `True-Client-IP`, else first valid `X-Forwarded-For`, else the peer.
    pub client_ip: IpAddr,
    /// The request headers as received.
    pub headers: &'a HeaderMap,
}
