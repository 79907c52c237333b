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

/// Why a request target cannot be turned into facts (the data plane answers 400).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TargetError {
    /// Not origin-form (or absolute-form already reduced to it by the caller).
    UnsupportedForm,
}

impl<'a> RequestFacts<'a> {
    /// Computes the fields of spec §4 from a request head, normalizing the
    /// target (§8). The caller has already answered CONNECT and moved an
    /// absolute-form authority into `Host`.
    ///
    /// PLACEHOLDER (to be replaced by the evaluation work): no normalization.
    pub fn from_parts(parts: &'a http::request::Parts, peer: IpAddr) -> Result<Self, TargetError> {
        let path = parts.uri.path();
        if !path.starts_with('/') {
            return Err(TargetError::UnsupportedForm);
        }
        let host = parts
            .headers
            .get(http::header::HOST)
            .and_then(|v| v.to_str().ok())
            .map(|h| {
                h.rsplit_once(':')
                    .map_or(h, |(name, _)| name)
                    .to_ascii_lowercase()
            })
            .unwrap_or_default();
        Ok(RequestFacts {
            scheme: Scheme::Http,
            host,
            method: parts.method.as_str(),
            path: path.to_owned(),
            query: parts.uri.query().map(str::to_owned),
            client_ip: peer,
            headers: &parts.headers,
        })
    }

    /// The normalized origin-form target (`/path?query`) that is forwarded
    /// when no rewrite fires.
    pub fn target(&self) -> String {
        match &self.query {
            Some(query) => format!("{}?{}", self.path, query),
            None => self.path.clone(),
        }
    }
}
