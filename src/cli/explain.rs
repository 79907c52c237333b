//! `switchyard explain [DIR] [-H 'Name: value']… METHOD URL`: shows, for one
//! request, which rules fire and why, and what the proxy would do — computed by
//! the server's own evaluator (`rules::evaluate_traced`), never a copy of it.

mod report;

use std::net::IpAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, Uri, header};

use super::DEFAULT_CONFIG_DIR;
use crate::config::{self, LoadError};
use crate::rules::UpstreamAnswer;
use report::Report;

/// Arguments of `switchyard explain`.
#[derive(Debug, Args)]
#[command(
    override_usage = "switchyard explain [DIR] [-H 'Name: value']... [--status N] [--response-header 'Name: value']... [--fired] [--json] [--peer ADDR] METHOD URL",
    after_help = "Shows which rules of DIR/proxy.conf fire for one request and what the proxy would do: \
the redirect or response the client gets, or the request that goes upstream with every header \
change, plus the response-header changes. For a rule that did not fire, the first comparison \
that was false; for one that fired, its captures.\n\n\
--status and --response-header describe the next hop's answer (a --response-header alone means \
status 200); the `on response` rules then run on it and explain shows what the client gets. \
Without them, response rules are listed as depending on the response, unless a request rule \
answered by itself. --fired lists only the rules that fired.\n\n\
URL is absolute (https://example.com/a?b=1) or origin-form (/a?b=1). An absolute URL's scheme \
sets X-Forwarded-Proto and its authority sets Host, unless -H gives those headers.\n\
DIR defaults to $SWITCHYARD_CONFIG_DIR, else /opt/proxy_config.\n\n\
Exit 0 after explaining; 1 when the configuration is invalid (diagnostics on stderr); 2 for bad \
arguments or an unreadable file.\n\n\
Example: switchyard explain ./conf -H 'Cookie: beta=1' GET https://example.com/blog/2024/hello"
)]
pub struct ExplainArgs {
    /// `[DIR] METHOD URL`: the config directory (optional), the method and the URL.
    #[arg(value_name = "[DIR] METHOD URL", num_args = 1.., required = true, action = clap::ArgAction::Append)]
    pub positional: Vec<String>,
    /// A request header, `Name: value` (repeatable).
    #[arg(short = 'H', long = "header", value_name = "NAME: VALUE")]
    pub headers: Vec<String>,
    /// The TCP peer address the request comes from.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1")]
    pub peer: IpAddr,
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
    /// The next hop's status, for the response rules.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(100..=599))]
    pub status: Option<u16>,
    /// A header of the next hop's answer, `Name: value` (repeatable).
    #[arg(long = "response-header", value_name = "NAME: VALUE")]
    pub response_headers: Vec<String>,
    /// Show only the rules that fired.
    #[arg(long)]
    pub fired: bool,
}

/// Why the arguments do not describe a request.
#[derive(Debug)]
pub enum ArgumentError {
    /// The method is not an HTTP token.
    Method(String),
    /// The URL cannot be parsed.
    Url(String),
    /// A `-H` value is not `Name: value` with a valid name and value.
    Header(String),
}

impl std::fmt::Display for ArgumentError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ArgumentError::Method(text) => write!(f, "`{text}` is not an HTTP method"),
            ArgumentError::Url(text) => write!(f, "`{text}` is not a URL or an origin-form target"),
            ArgumentError::Header(text) => {
                write!(f, "`{text}` is not a header; write it as 'Name: value'")
            }
        }
    }
}

/// Runs the command.
pub fn run(args: ExplainArgs) -> ExitCode {
    let (dir, method, url) = match args.positional.as_slice() {
        [dir, method, url] => (PathBuf::from(dir), method, url),
        [method, url] => (default_dir(), method, url),
        _ => {
            eprintln!("switchyard explain: expected [DIR] METHOD URL");
            return ExitCode::from(2);
        }
    };
    let parts = match build_request(method, url, &args.headers) {
        Ok(parts) => parts,
        Err(error) => {
            eprintln!("switchyard explain: {error}");
            return ExitCode::from(2);
        }
    };
    let compiled = match config::load_dir(&dir) {
        Ok(compiled) => compiled,
        Err(LoadError::Invalid(invalid)) => {
            eprint!("{}", invalid.render(config::stderr_wants_color()));
            return ExitCode::from(1);
        }
        Err(error @ LoadError::Io { .. }) => {
            eprintln!("switchyard explain: {error}");
            return ExitCode::from(2);
        }
    };
    let upstream = match upstream_answer(args.status, &args.response_headers) {
        Ok(upstream) => upstream,
        Err(error) => {
            eprintln!("switchyard explain: {error}");
            return ExitCode::from(2);
        }
    };
    let report = Report::build(
        &compiled.rule_set,
        &parts,
        url,
        args.peer,
        upstream.as_ref(),
        args.fired,
    );
    if args.json {
        match serde_json::to_string_pretty(&report) {
            Ok(text) => println!("{text}"),
            Err(error) => {
                eprintln!("switchyard explain: {error}");
                return ExitCode::from(2);
            }
        }
    } else {
        print!("{report}");
    }
    ExitCode::SUCCESS
}

fn default_dir() -> PathBuf {
    std::env::var_os("SWITCHYARD_CONFIG_DIR")
        .map_or_else(|| PathBuf::from(DEFAULT_CONFIG_DIR), PathBuf::from)
}

/// The next hop's answer `--status` and `--response-header` describe;
/// `None` when neither is given.
pub fn upstream_answer(
    status: Option<u16>,
    headers: &[String],
) -> Result<Option<UpstreamAnswer>, ArgumentError> {
    if status.is_none() && headers.is_empty() {
        return Ok(None);
    }
    let status = StatusCode::from_u16(status.unwrap_or(200))
        .map_err(|_| ArgumentError::Header(format!("{status:?}")))?;
    let mut map = HeaderMap::new();
    for line in headers {
        let (name, value) = header_line(line)?;
        map.append(name, value);
    }
    Ok(Some(UpstreamAnswer {
        status,
        headers: map,
    }))
}

/// One `Name: value` argument.
fn header_line(line: &str) -> Result<(HeaderName, HeaderValue), ArgumentError> {
    let (name, value) = line
        .split_once(':')
        .ok_or_else(|| ArgumentError::Header(line.to_owned()))?;
    let name = HeaderName::from_bytes(name.trim().as_bytes())
        .map_err(|_| ArgumentError::Header(line.to_owned()))?;
    let value =
        HeaderValue::from_str(value.trim()).map_err(|_| ArgumentError::Header(line.to_owned()))?;
    Ok((name, value))
}

/// The request head the arguments describe, as the data plane would see it
/// after moving an absolute-form authority into `Host`.
pub fn build_request(
    method: &str,
    url: &str,
    headers: &[String],
) -> Result<http::request::Parts, ArgumentError> {
    let method = Method::from_bytes(method.as_bytes())
        .map_err(|_| ArgumentError::Method(method.to_owned()))?;
    let uri: Uri = url
        .parse()
        .map_err(|_| ArgumentError::Url(url.to_owned()))?;
    let mut parts = http::Request::new(()).into_parts().0;
    parts.method = method;
    for line in headers {
        let (name, value) = header_line(line)?;
        parts.headers.append(name, value);
    }
    if let Some(authority) = uri.authority()
        && !parts.headers.contains_key(header::HOST)
    {
        let value = HeaderValue::from_str(authority.as_str())
            .map_err(|_| ArgumentError::Url(url.to_owned()))?;
        parts.headers.insert(header::HOST, value);
    }
    if let Some(scheme) = uri.scheme_str()
        && !parts.headers.contains_key("x-forwarded-proto")
    {
        let value =
            HeaderValue::from_str(scheme).map_err(|_| ArgumentError::Url(url.to_owned()))?;
        parts
            .headers
            .insert(HeaderName::from_static("x-forwarded-proto"), value);
    }
    parts.uri = match uri.path_and_query() {
        Some(target) if uri.authority().is_some() => target
            .as_str()
            .parse()
            .map_err(|_| ArgumentError::Url(url.to_owned()))?,
        _ => uri,
    };
    Ok(parts)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn absolute_url_sets_host_and_forwarded_proto() {
        let parts = build_request("GET", "https://Example.com:8443/a?b=1", &[]).unwrap();
        assert_eq!(parts.headers["host"], "Example.com:8443");
        assert_eq!(parts.headers["x-forwarded-proto"], "https");
        assert_eq!(parts.uri, "/a?b=1");
    }

    #[test]
    fn explicit_headers_win_over_the_url() {
        let headers = [
            "Host: other.test".to_owned(),
            "X-Forwarded-Proto: http".to_owned(),
        ];
        let parts = build_request("POST", "https://example.com/", &headers).unwrap();
        assert_eq!(parts.headers["host"], "other.test");
        assert_eq!(parts.headers["x-forwarded-proto"], "http");
        assert_eq!(parts.method, Method::POST);
    }

    #[test]
    fn origin_form_sets_no_scheme() {
        let parts = build_request("GET", "/x", &["X-A: 1".to_owned()]).unwrap();
        assert!(!parts.headers.contains_key("x-forwarded-proto"));
        assert_eq!(parts.headers["x-a"], "1");
    }

    #[test]
    fn bad_arguments_are_reported() {
        assert!(matches!(
            build_request("G T", "/", &[]),
            Err(ArgumentError::Method(_))
        ));
        assert!(matches!(
            build_request("GET", "/", &["nocolon".into()]),
            Err(ArgumentError::Header(_))
        ));
        assert!(matches!(
            build_request("GET", "http://a b/", &[]),
            Err(ArgumentError::Url(_))
        ));
    }
}
