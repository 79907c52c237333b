//! The one place where a test's request meets the server's evaluator: both
//! phases run through `rules::exchange::simulate`, the same simulation
//! `explain` uses, with the next hop's answer as the test's `upstream` lines
//! say. No network, no clock; this file only shapes the result for the
//! expectations.

use bytes::Bytes;
use http::header::{CONTENT_LENGTH, CONTENT_TYPE, DATE, EXPECT};
use http::{HeaderMap, HeaderValue, Method};

use super::case::UpstreamAnswer;
use super::request::TestRequest;
use crate::proxy::hop_by_hop;
use crate::rules::{self, Outcome, RequestFacts, RuleSet, apply_edits};

/// The content type of every answer the proxy generates (as the data plane's).
const TEXT_PLAIN: &str = "text/plain; charset=utf-8";

/// What happened to one test's request, as the client and the next hop see it.
#[derive(Debug, Clone)]
pub struct Exchange {
    /// Indices into `RuleSet::rules` of the rules that fired, in order.
    pub fired: Vec<usize>,
    /// Who answered.
    pub answer: Answer,
    /// The status the client gets.
    pub status: u16,
    /// The headers the client gets (not `Date`, `Content-Length` or the
    /// connection's own headers).
    pub response_headers: HeaderMap,
    /// The origin-form target and headers sent upstream, when the request
    /// went upstream — whatever a response rule then did with the answer.
    pub forwarded: Option<(String, HeaderMap)>,
}

/// Who answered the client.
#[derive(Debug, Clone)]
pub enum Answer {
    /// A rule's `redirect`.
    Redirect {
        /// The `Location` sent.
        location: String,
    },
    /// A rule's `respond`.
    Respond {
        /// The body sent.
        body: Bytes,
    },
    /// The request went upstream; the next hop's answer came back.
    Forward {
        /// The origin-form target sent upstream.
        target: String,
        /// The headers sent upstream (before hop-by-hop headers are dropped).
        headers: HeaderMap,
    },
    /// Refused before any rule ran (CONNECT, a target with no normal form).
    Refused {
        /// Why, in words.
        reason: String,
    },
}

/// Runs one exchange through `rules::exchange::simulate` — the request
/// phase, the generated answer or the described upstream answer, then the
/// response phase (spec §12) — with the headers as the data plane passes
/// them on: hop-by-hop headers dropped both ways, framing and the clock
/// left out (spec §16).
pub fn simulate(rule_set: &RuleSet, request: &TestRequest, upstream: &UpstreamAnswer) -> Exchange {
    let parts = request.parts();
    let mut refused_headers = HeaderMap::new();
    refused_headers.insert(CONTENT_TYPE, HeaderValue::from_static(TEXT_PLAIN));
    if parts.method == Method::CONNECT {
        return refused(405, "CONNECT is not supported", refused_headers);
    }
    let facts = match RequestFacts::from_parts(&parts, request.peer) {
        Ok(facts) => facts,
        Err(error) => return refused(400, &error.to_string(), refused_headers),
    };
    let mut next_hop = upstream.headers.clone();
    hop_by_hop::strip(&mut next_hop);
    next_hop.remove(CONTENT_LENGTH);
    next_hop.remove(DATE);
    let described = rules::UpstreamAnswer {
        status: upstream.status,
        headers: next_hop,
    };
    let whole = rules::simulate(rule_set, &facts, Some(&described));
    let forwarded = match &whole.request.outcome {
        Outcome::Forward { target } => {
            let mut headers = parts.headers.clone();
            apply_edits(&whole.request.request_headers, &mut headers);
            hop_by_hop::strip(&mut headers);
            headers.remove(EXPECT);
            Some((target.clone().unwrap_or_else(|| facts.target()), headers))
        }
        _ => None,
    };
    let fired = whole.fired().collect();
    let Some(client) = whole.client else {
        // A described answer always reaches the client.
        return refused(502, "no answer", refused_headers);
    };
    let answer = match (&client.generated, &forwarded) {
        (Some(Outcome::Redirect { location, .. }), _) => Answer::Redirect {
            location: String::from_utf8_lossy(location.as_bytes()).into_owned(),
        },
        (Some(Outcome::Respond { body, .. }), _) => Answer::Respond { body: body.clone() },
        (_, Some((target, headers))) => Answer::Forward {
            target: target.clone(),
            headers: headers.clone(),
        },
        _ => Answer::Refused {
            reason: "no answer".to_owned(),
        },
    };
    Exchange {
        fired,
        answer,
        status: client.status.as_u16(),
        response_headers: client.headers,
        forwarded,
    }
}

fn refused(status: u16, reason: &str, response_headers: HeaderMap) -> Exchange {
    Exchange {
        fired: Vec::new(),
        answer: Answer::Refused {
            reason: reason.to_owned(),
        },
        status,
        response_headers,
        forwarded: None,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use http::{HeaderName, StatusCode};

    use super::*;
    use crate::config::{CONFIG_FILE, compile_source};
    use crate::suite::request::DEFAULT_PEER;

    const CONFIG: &str = "rule api {\n  when path ^= \"/api/\"\n  request header set X-Api \"2\"\n  response header set X-Seen \"{path}\"\n  rewrite \"/v2{path}\"\n}\n\
        rule closed {\n  when path == \"/closed\"\n  respond 410 \"gone\"\n}\n";

    fn exchange(
        url: &str,
        headers: &[(&'static str, &'static str)],
        upstream: UpstreamAnswer,
    ) -> Exchange {
        let rule_set = compile_source(CONFIG_FILE, CONFIG.as_bytes())
            .unwrap()
            .rule_set;
        let mut map = HeaderMap::new();
        for (name, value) in headers {
            map.append(
                HeaderName::from_static(name),
                HeaderValue::from_static(value),
            );
        }
        let request = TestRequest::new(Method::GET, url, map, DEFAULT_PEER).unwrap();
        simulate(&rule_set, &request, &upstream)
    }

    #[test]
    fn a_forwarded_request_gets_the_next_hops_answer_with_the_rules_edits() {
        let mut upstream = UpstreamAnswer {
            status: StatusCode::NOT_FOUND,
            headers: HeaderMap::new(),
        };
        for (name, value) in [
            ("server", "o"),
            ("connection", "close"),
            ("content-length", "3"),
            ("date", "x"),
        ] {
            upstream.headers.append(
                HeaderName::from_static(name),
                HeaderValue::from_static(value),
            );
        }
        let got = exchange(
            "/api/a?b=1",
            &[("connection", "x-hop"), ("x-hop", "1")],
            upstream,
        );
        let Answer::Forward { target, headers } = &got.answer else {
            panic!("{got:?}");
        };
        assert_eq!(target, "/v2/api/a?b=1");
        assert_eq!(headers["x-api"], "2");
        assert!(!headers.contains_key("connection") && !headers.contains_key("x-hop"));
        assert_eq!(got.status, 404);
        assert_eq!(got.response_headers["server"], "o");
        assert_eq!(got.response_headers["x-seen"], "/api/a");
        for gone in ["connection", "content-length", "date"] {
            assert!(!got.response_headers.contains_key(gone), "{gone}");
        }
        assert_eq!(got.fired, vec![0]);
    }

    #[test]
    fn a_generated_answer_ignores_the_next_hop() {
        let got = exchange(
            "https://example.test/closed",
            &[],
            UpstreamAnswer {
                status: StatusCode::BAD_GATEWAY,
                headers: HeaderMap::new(),
            },
        );
        assert!(matches!(&got.answer, Answer::Respond { body } if body == "gone"));
        assert_eq!(got.status, 410);
        assert_eq!(got.response_headers[CONTENT_TYPE], TEXT_PLAIN);
        assert_eq!(got.fired, vec![1]);
    }

    #[test]
    fn a_target_without_a_normal_form_is_refused_before_the_rules() {
        let got = exchange("/api/%zz", &[], UpstreamAnswer::default());
        assert!(matches!(got.answer, Answer::Refused { .. }));
        assert_eq!(got.status, 400);
        assert!(got.fired.is_empty());
    }
}
