//! The request a test sends, built from its `request`, `header` and
//! `client_ip` lines as spec §16 says: a URL without scheme and host means
//! `http://example.test`; the URL's scheme sets `X-Forwarded-Proto` and its
//! authority sets `Host`, unless a `header` line gives them.

use std::net::{IpAddr, Ipv4Addr};

use http::uri::Scheme;
use http::{HeaderMap, HeaderName, HeaderValue, Method, Uri, header};

/// The host of a URL written without one.
pub const DEFAULT_HOST: &str = "example.test";

/// The TCP peer when no `client_ip` line gives one (TEST-NET-1, RFC 5737).
pub const DEFAULT_PEER: IpAddr = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1));

const X_FORWARDED_PROTO: HeaderName = HeaderName::from_static("x-forwarded-proto");

/// The request head a test sends, as the data plane would receive it.
#[derive(Debug, Clone)]
pub struct TestRequest {
    /// The method.
    pub method: Method,
    /// The URL as written in the test, for messages.
    pub url: String,
    /// The origin-form target (`/path?query`) the client sends.
    pub target: Uri,
    /// The client's headers: the `header` lines, then `Host` and
    /// `X-Forwarded-Proto` from the URL where no line gave them.
    pub headers: HeaderMap,
    /// The TCP peer address.
    pub peer: IpAddr,
}

/// Why a test's URL cannot be sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UrlProblem {
    /// Neither an absolute `http(s)://` URL nor a path starting with `/`.
    NotAUrl,
    /// An absolute URL whose scheme is not `http` or `https`.
    Scheme,
}

impl TestRequest {
    /// Builds the request; `headers` are the test's `header` lines in order.
    pub fn new(
        method: Method,
        url: &str,
        mut headers: HeaderMap,
        peer: IpAddr,
    ) -> Result<Self, UrlProblem> {
        let (scheme, authority, target) = if url.starts_with('/') {
            let target: Uri = url.parse().map_err(|_| UrlProblem::NotAUrl)?;
            if target.scheme().is_some() || target.authority().is_some() {
                return Err(UrlProblem::NotAUrl);
            }
            ("http", DEFAULT_HOST.to_owned(), target)
        } else {
            let uri: Uri = url.parse().map_err(|_| UrlProblem::NotAUrl)?;
            let scheme = match uri.scheme() {
                Some(scheme) if *scheme == Scheme::HTTP => "http",
                Some(scheme) if *scheme == Scheme::HTTPS => "https",
                Some(_) => return Err(UrlProblem::Scheme),
                None => return Err(UrlProblem::NotAUrl),
            };
            let authority = uri
                .authority()
                .map(|authority| authority.as_str().to_owned())
                .filter(|authority| !authority.is_empty())
                .ok_or(UrlProblem::NotAUrl)?;
            let target = match uri.path_and_query() {
                Some(target) if target.as_str().starts_with('/') => target.as_str().parse(),
                Some(target) => format!("/{}", target.as_str()).parse(),
                None => "/".parse(),
            }
            .map_err(|_| UrlProblem::NotAUrl)?;
            (scheme, authority, target)
        };
        if !headers.contains_key(header::HOST) {
            let host = HeaderValue::from_str(&authority).map_err(|_| UrlProblem::NotAUrl)?;
            headers.insert(header::HOST, host);
        }
        if !headers.contains_key(&X_FORWARDED_PROTO) {
            headers.insert(X_FORWARDED_PROTO, HeaderValue::from_static(scheme));
        }
        Ok(TestRequest {
            method,
            url: url.to_owned(),
            target,
            headers,
            peer,
        })
    }

    /// The request head, as the server's service hands it to the rules.
    pub fn parts(&self) -> http::request::Parts {
        let mut parts = http::Request::new(()).into_parts().0;
        parts.method = self.method.clone();
        parts.uri = self.target.clone();
        parts.headers = self.headers.clone();
        parts
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn build(url: &str, lines: &[(&str, &str)]) -> Result<TestRequest, UrlProblem> {
        let mut headers = HeaderMap::new();
        for (name, value) in lines {
            headers.append(
                HeaderName::from_bytes(name.as_bytes()).unwrap(),
                HeaderValue::from_str(value).unwrap(),
            );
        }
        TestRequest::new(Method::GET, url, headers, DEFAULT_PEER)
    }

    #[test]
    fn a_path_alone_means_http_example_test() {
        let request = build("/a?b=1", &[]).unwrap();
        assert_eq!(request.target, "/a?b=1");
        assert_eq!(request.headers["host"], "example.test");
        assert_eq!(request.headers["x-forwarded-proto"], "http");
    }

    #[test]
    fn the_url_sets_host_and_scheme_unless_a_header_line_does() {
        let request = build("https://Shop.example.com:8443/x", &[]).unwrap();
        assert_eq!(request.headers["host"], "Shop.example.com:8443");
        assert_eq!(request.headers["x-forwarded-proto"], "https");
        assert_eq!(request.target, "/x");
        let request = build(
            "http://www.example.com/blog",
            &[("X-Forwarded-Proto", "https"), ("Host", "other.test")],
        )
        .unwrap();
        assert_eq!(request.headers["x-forwarded-proto"], "https");
        assert_eq!(request.headers["host"], "other.test");
    }

    #[test]
    fn an_absolute_url_without_a_path_asks_for_slash() {
        assert_eq!(build("https://example.com", &[]).unwrap().target, "/");
    }

    #[test]
    fn what_cannot_be_sent_is_refused() {
        assert_eq!(build("example.com/a", &[]).err(), Some(UrlProblem::NotAUrl));
        assert_eq!(
            build("ftp://example.com/", &[]).err(),
            Some(UrlProblem::Scheme)
        );
        assert_eq!(build("/a b", &[]).err(), Some(UrlProblem::NotAUrl));
        assert_eq!(build("", &[]).err(), Some(UrlProblem::NotAUrl));
    }
}
