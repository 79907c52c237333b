//! One request, start to end: check it, run the rules, then answer it
//! (redirect, respond, error) or forward it, and attach its access-log line.

use std::convert::Infallible;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::{Instant, SystemTime};

use http::header::{HOST, REFERER, USER_AGENT};
use http::{HeaderMap, HeaderValue, Method, Request, Response, Uri, Version};
use hyper::body::Incoming;

use super::authority::is_valid_authority;
use super::body::{PendingLog, ProxyBody, RequestEnd};
use super::client_io::ConnState;
use super::data_plane::DataPlane;
use super::error::{ProxyError, Side};
use super::forward::forward;
use super::hop_by_hop;
use super::rejection::Rejection;
use super::response_phase::{self, ResponseStage};
use crate::log::access_record::{AccessRecord, FiredRules, LogAction, LogText};
use crate::rules::{self, Outcome, RequestFacts, apply_owned_edits};

/// What the service knows about the connection a request arrived on.
#[derive(Debug, Clone)]
pub(crate) struct ConnectionContext {
    /// The shared data plane.
    pub(crate) plane: Arc<DataPlane>,
    /// The peer's address (v4-mapped addresses already made v4).
    pub(crate) peer: IpAddr,
    /// The connection's timers and request count.
    pub(crate) state: Arc<ConnState>,
    /// Held by upgraded tunnels so shutdown waits for them.
    pub(crate) drain: super::drain::DrainToken,
}

/// Handles one request; never fails (errors become responses). The request
/// counts as in progress on its connection until its response body ends.
/// (One future, not two nested: moving a nested future into its parent
/// cost a memcpy of its whole state per request.)
pub(crate) async fn handle(
    ctx: ConnectionContext,
    request: Request<Incoming>,
) -> Result<Response<ProxyBody>, Infallible> {
    let end = RequestEnd::start(ctx.state.clone());
    let started = Instant::now();
    let rule_set = ctx.plane.rules();
    let mut pending = PendingLog {
        record: base_record(&request, ctx.peer),
        format: rule_set.settings.access_log,
        started,
        log: Some(ctx.plane.access_log.clone()),
    };
    let mut request = request;
    // The upgrade handle must be taken from the request itself, before it is split.
    let on_upgrade =
        hop_by_hop::wants_websocket(request.headers()).then(|| hyper::upgrade::on(&mut request));
    let (mut parts, body) = request.into_parts();
    if let Err(err) = check(&mut parts, rule_set.settings.max_request_header_bytes) {
        return Ok(error_response(err, pending, end));
    }
    let (stage, outcome, request_headers, target) = {
        let facts = match RequestFacts::from_parts(&parts, ctx.peer) {
            Ok(facts) => facts,
            Err(err) => {
                return Ok(error_response(
                    ProxyError::Rejected(Rejection::Target(err)),
                    pending,
                    end,
                ));
            }
        };
        pending.record.client_ip = facts.client_ip;
        let mut decision = rules::evaluate(&rule_set, &facts);
        let target = match &decision.outcome {
            Outcome::Forward {
                target: Some(rewritten),
            } => Some(rewritten.clone()),
            // The usual case: the target needs no normalizing, so the
            // parsed URI is sent as it came.
            _ if facts.path == parts.uri.path() && facts.query.as_deref() == parts.uri.query() => {
                None
            }
            _ => Some(facts.target()),
        };
        let stage = ResponseStage::new(rule_set.clone(), facts, &parts.method, &mut decision);
        (stage, decision.outcome, decision.request_headers, target)
    };
    match outcome {
        Outcome::Redirect { .. } | Outcome::Respond { .. } => {
            Ok(stage.generated(&outcome, pending, end))
        }
        Outcome::Forward { .. } => {
            apply_owned_edits(request_headers, &mut parts.headers);
            let forwarded = forward(
                &ctx,
                parts,
                body,
                target,
                on_upgrade,
                rule_set.settings.upstream_response_timeout,
            )
            .await;
            match forwarded {
                Ok((response, upstream_ms)) => {
                    pending.record.upstream_ms = Some(upstream_ms);
                    Ok(stage.forwarded(response, pending, end))
                }
                // The proxy's own 502 and 504 reached the rules: they get
                // the response phase (section 12).
                Err(err) if err.side() == Side::Upstream => {
                    Ok(stage.upstream_error(&err, pending, end))
                }
                Err(err) => Ok(error_response(err, pending, end)),
            }
        }
    }
}

/// The checks made before rules run: CONNECT, the header-section size,
/// `Host`, and absolute-form targets (their authority, checked like `Host`,
/// moved into `Host`). Framing (lengths, codings) was checked before hyper
/// parsed the head, by the framing check.
fn check(parts: &mut http::request::Parts, limit: usize) -> Result<(), ProxyError> {
    if parts.method == Method::CONNECT {
        return Err(ProxyError::Rejected(Rejection::ConnectNotAllowed));
    }
    let line = request_line_size(parts);
    if line > limit {
        return Err(ProxyError::Rejected(Rejection::RequestLineTooLong {
            size: line,
            limit,
        }));
    }
    let size = head_size(parts);
    if size > limit {
        return Err(ProxyError::Rejected(Rejection::HeaderSectionTooLarge {
            size,
            limit,
        }));
    }
    check_host(&parts.headers, parts.version)?;
    if let Some(authority) = parts.uri.authority().cloned() {
        // Absolute-form (RFC 9112 §3.2.2) has a scheme; authority-form
        // (`host:port`) is only for CONNECT, answered above: 400.
        let absolute = matches!(parts.uri.scheme_str(), Some(s)
            if s.eq_ignore_ascii_case("http") || s.eq_ignore_ascii_case("https"));
        if !absolute {
            return Err(ProxyError::Rejected(Rejection::Target(
                rules::TargetError::UnsupportedForm,
            )));
        }
        // The authority replaces Host, so it passes the same check: no user
        // info, a port that fits, only what a host can hold.
        if !is_valid_authority(authority.as_str().as_bytes()) {
            return Err(ProxyError::Rejected(Rejection::InvalidHost));
        }
        let value = HeaderValue::from_str(authority.as_str())
            .map_err(|_| ProxyError::Rejected(Rejection::InvalidHost))?;
        parts.headers.insert(HOST, value);
        // `http://a.example?x=1` has an empty path: origin-form `/?x=1`.
        let path = match parts.uri.path() {
            "" => "/",
            path => path,
        };
        let origin_form = match parts.uri.query() {
            Some(query) => format!("{path}?{query}"),
            None => path.to_owned(),
        };
        parts.uri = Uri::try_from(origin_form).map_err(|_| {
            ProxyError::Rejected(Rejection::Target(rules::TargetError::UnsupportedForm))
        })?;
    }
    Ok(())
}

/// Exactly one `Host` on HTTP/1.1 (at most one on HTTP/1.0, which predates
/// it), holding a valid authority without user info (RFC 9112 §3.2). An
/// empty one is allowed by RFC 9110 §7.2 for targets without an authority.
fn check_host(headers: &HeaderMap, version: Version) -> Result<(), ProxyError> {
    let mut hosts = headers.get_all(HOST).iter();
    let (Some(host), None) = (hosts.next(), hosts.next()) else {
        return match headers.contains_key(HOST) {
            true => Err(ProxyError::Rejected(Rejection::InvalidHost)),
            false if matches!(version, Version::HTTP_09 | Version::HTTP_10) => Ok(()),
            false => Err(ProxyError::Rejected(Rejection::MissingHost)),
        };
    };
    if is_valid_authority(host.as_bytes()) {
        Ok(())
    } else {
        Err(ProxyError::Rejected(Rejection::InvalidHost))
    }
}

/// The length of the request line as it was on the wire.
fn request_line_size(parts: &http::request::Parts) -> usize {
    parts.method.as_str().len() + 1 + target_len(&parts.uri) + " HTTP/1.1\r\n".len()
}

/// The length of the request target as written (what `Uri`'s `Display`
/// prints), without building the string on every request.
fn target_len(uri: &Uri) -> usize {
    uri.scheme_str()
        .map_or(0, |scheme| scheme.len() + "://".len())
        + uri
            .authority()
            .map_or(0, |authority| authority.as_str().len())
        + uri.path_and_query().map_or(0, |pq| pq.as_str().len())
}

/// The size of the request line and header fields as they were on the wire
/// (give or take optional whitespace).
fn head_size(parts: &http::request::Parts) -> usize {
    let line = request_line_size(parts);
    let fields: usize = parts
        .headers
        .iter()
        .map(|(name, value)| name.as_str().len() + 2 + value.len() + 2)
        .sum();
    line + fields + 2
}

/// The log record as far as the request head tells; it shares the head's
/// bytes rather than copying them.
fn base_record(request: &Request<Incoming>, peer: IpAddr) -> AccessRecord {
    let headers = request.headers();
    let scheme = match headers.get("x-forwarded-proto") {
        Some(value) if value.as_bytes().eq_ignore_ascii_case(b"https") => "https",
        _ => "http",
    };
    AccessRecord {
        time: SystemTime::now(),
        client_ip: peer,
        method: LogText::Method(request.method().clone()),
        host: LogText::header(headers.get(HOST)),
        uri: LogText::Target(request.uri().clone()),
        status: 0,
        bytes_sent: 0,
        duration_ms: 0,
        upstream_ms: None,
        scheme: LogText::Static(scheme),
        user_agent: LogText::header(headers.get(USER_AGENT)),
        referer: LogText::header(headers.get(REFERER)),
        action: LogAction::Error,
        rules: FiredRules::default(),
    }
}

/// The one path from a refusal before the rules (or a fault after them
/// that is not the next hop's) to what the client sees and the logs say:
/// no rule's edits (section 12).
fn error_response(
    err: ProxyError,
    mut pending: PendingLog,
    end: RequestEnd,
) -> Response<ProxyBody> {
    let (status, headers, body) =
        err.answer(&pending.record.method.text(), &pending.record.uri.text());
    pending.record.action = LogAction::Error;
    response_phase::build(status, headers, body, pending, end)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::{TEXT_PLAIN, apply_edits};
    use bytes::Bytes;
    use http::StatusCode;
    use http::header::CONTENT_TYPE;
    use http::header::LOCATION;

    /// A response the proxy writes itself, with the rules' response-header edits.
    fn generated(
        status: StatusCode,
        mut headers: HeaderMap,
        body: Bytes,
        edits: &[rules::HeaderEdit],
        pending: PendingLog,
        end: RequestEnd,
    ) -> Response<ProxyBody> {
        headers.insert(CONTENT_TYPE, HeaderValue::from_static(TEXT_PLAIN));
        apply_edits(edits, &mut headers);
        response_phase::build(status, headers, body, pending, end)
    }

    fn parts(request: Request<()>) -> http::request::Parts {
        request.into_parts().0
    }

    #[test]
    fn target_len_is_the_length_of_the_target_as_written() {
        for target in [
            "/",
            "/a/b?c=d",
            "/?",
            "*",
            "http://example.com:8080/a?b",
            "https://h",
            "example.com:443",
        ] {
            let uri: Uri = target.parse().expect("uri");
            assert_eq!(target_len(&uri), uri.to_string().len(), "{target}");
        }
    }

    #[test]
    fn absolute_form_moves_authority_into_host() {
        let mut p = parts(
            Request::get("http://example.com:8080/a/b?c=d")
                .header(HOST, "ignored")
                .body(())
                .expect("request"),
        );
        check(&mut p, 32 * 1024).expect("valid");
        assert_eq!(p.uri.to_string(), "/a/b?c=d");
        assert_eq!(p.headers[HOST], "example.com:8080");
    }

    #[test]
    fn rejects_connect() {
        let mut p = parts(
            Request::connect("example.com:443")
                .body(())
                .expect("request"),
        );
        assert!(matches!(
            check(&mut p, 32 * 1024),
            Err(ProxyError::Rejected(Rejection::ConnectNotAllowed))
        ));
        assert!(ProxyError::Rejected(Rejection::ConnectNotAllowed).closes_connection());
    }

    #[test]
    fn absolute_form_authority_is_checked_like_host() {
        let absolute = |target: &str| {
            let mut p = parts(
                Request::get(target)
                    .header(HOST, "x")
                    .body(())
                    .expect("request"),
            );
            check(&mut p, 32 * 1024).map(|()| p)
        };
        for bad in [
            "http://x@admin.example/p",
            "http://a:b@admin.example/p",
            "http://admin.example:99999/p",
        ] {
            assert!(
                matches!(
                    absolute(bad),
                    Err(ProxyError::Rejected(Rejection::InvalidHost))
                ),
                "{bad}"
            );
        }
        let p = absolute("http://a.example?x=1").expect("valid");
        assert_eq!(p.uri.to_string(), "/?x=1");
        assert_eq!(p.headers[HOST], "a.example");
        let p = absolute("http://A.example:8080").expect("valid");
        assert_eq!(p.uri.to_string(), "/");
        assert_eq!(p.headers[HOST], "A.example:8080");
    }

    #[test]
    fn host_must_be_one_valid_authority() {
        let with_hosts = |hosts: &[&str]| {
            let mut builder = Request::get("/");
            for host in hosts {
                builder = builder.header(HOST, *host);
            }
            let mut p = parts(builder.body(()).expect("request"));
            check(&mut p, 32 * 1024)
        };
        for ok in [
            &["example.com"][..],
            &["example.com:8080"],
            &["[::1]:80"],
            &["a.example:"],
            &["a.example:65535"],
            &["a%2Eexample"],
            &[""],
        ] {
            assert!(with_hosts(ok).is_ok(), "{ok:?}");
        }
        for bad in [
            &["a.example", "b.example"][..],
            &["exa mple.com"],
            &["a.example/p"],
            &["user@a.example"],
            &["[::1"],
            &["a.example:99999"],
            &["a.example:8o"],
            &["[::1]:70000"],
        ] {
            assert!(
                matches!(
                    with_hosts(bad),
                    Err(ProxyError::Rejected(Rejection::InvalidHost))
                ),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn http_11_needs_a_host_and_http_10_does_not() {
        let mut p = parts(Request::get("/").body(()).expect("request"));
        assert!(matches!(
            check(&mut p, 32 * 1024),
            Err(ProxyError::Rejected(Rejection::MissingHost))
        ));
        // Absolute-form does not excuse a missing Host (RFC 9112 §3.2).
        let mut p = parts(Request::get("http://a.example/").body(()).expect("request"));
        assert!(matches!(
            check(&mut p, 32 * 1024),
            Err(ProxyError::Rejected(Rejection::MissingHost))
        ));
        let mut p = parts(
            Request::get("/")
                .version(Version::HTTP_10)
                .body(())
                .expect("request"),
        );
        assert!(check(&mut p, 32 * 1024).is_ok());
        let mut p = parts(
            Request::get("/")
                .version(Version::HTTP_10)
                .header(HOST, "a")
                .header(HOST, "b")
                .body(())
                .expect("request"),
        );
        assert!(matches!(
            check(&mut p, 32 * 1024),
            Err(ProxyError::Rejected(Rejection::InvalidHost))
        ));
    }

    #[test]
    fn a_long_request_line_is_414() {
        let target = format!("/{}", "a".repeat(2000));
        let mut p = parts(Request::get(target.as_str()).body(()).expect("request"));
        assert!(matches!(
            check(&mut p, 1024),
            Err(ProxyError::Rejected(Rejection::RequestLineTooLong {
                limit: 1024,
                ..
            }))
        ));
    }

    #[test]
    fn header_section_limit() {
        let mut p = parts(
            Request::get("/")
                .header(HOST, "h")
                .header("x-big", "a".repeat(2000))
                .body(())
                .expect("request"),
        );
        assert!(matches!(
            check(&mut p, 1024),
            Err(ProxyError::Rejected(Rejection::HeaderSectionTooLarge {
                limit: 1024,
                ..
            }))
        ));
        assert!(check(&mut p, 4096).is_ok());
    }

    #[test]
    fn generated_responses_carry_the_rules_response_headers_and_one_log_line() {
        use crate::log::access_log::AccessLog;
        use http::HeaderName;
        let dir = std::env::temp_dir().join(format!("switchyard-svc-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let path = dir.join("access.log");
        let _ = std::fs::remove_file(&path);
        let log = AccessLog::open(&path).expect("log");
        let conn = Arc::new(ConnState::default());
        let end = RequestEnd::start(conn.clone());
        let request = Request::get("/old").body(()).expect("request");
        let mut record = crate::log::access_record::AccessRecord::placeholder();
        record.method = LogText::Method(request.method().clone());
        record.uri = LogText::Target(request.uri().clone());
        record.action = LogAction::Redirect;
        let pending = PendingLog {
            record,
            format: crate::rules::AccessLogFormat::Json,
            started: Instant::now(),
            log: Some(log.clone()),
        };
        let mut headers = HeaderMap::new();
        headers.insert(LOCATION, HeaderValue::from_static("/new"));
        let edits = [
            rules::HeaderEdit::Set(
                HeaderName::from_static("x-a"),
                HeaderValue::from_static("1"),
            ),
            rules::HeaderEdit::Add(
                HeaderName::from_static("x-a"),
                HeaderValue::from_static("2"),
            ),
        ];
        let response = generated(
            StatusCode::PERMANENT_REDIRECT,
            headers,
            Bytes::new(),
            &edits,
            pending,
            end,
        );
        assert_eq!(response.status(), StatusCode::PERMANENT_REDIRECT);
        assert_eq!(response.headers()[LOCATION], "/new");
        assert_eq!(response.headers()[CONTENT_TYPE], TEXT_PLAIN);
        let values: Vec<_> = response.headers().get_all("x-a").iter().collect();
        assert_eq!(values, ["1", "2"]);
        drop(response);
        log.flush_blocking().expect("flush");
        let text = std::fs::read_to_string(&path).expect("read");
        assert_eq!(text.lines().count(), 1);
        assert!(
            text.contains("\"status\":308") && text.contains("\"action\":\"redirect\""),
            "{text}"
        );
        assert_eq!(conn.finished(), 1);
    }
}
