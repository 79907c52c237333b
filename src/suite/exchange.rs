//! The one place where a test's request meets the server's evaluator: the
//! request phase runs through `rules::evaluate`, exactly as for a served
//! request, and the next hop's answer is what the test's `upstream` lines
//! say. No network, no clock.
//!
//! Until the response phase (spec §12) provides a whole-exchange simulation
//! in `rules`, `simulate` is the glue: swapping it for that simulation is a
//! change to this one function.

use bytes::Bytes;
use http::header::{CONTENT_TYPE, LOCATION};
use http::{HeaderMap, HeaderValue, Method};

use super::case::UpstreamAnswer;
use super::request::TestRequest;
use crate::rules::{Outcome, RequestFacts, RuleSet, apply_edits, evaluate};

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

/// Runs one exchange: the request phase of the server's evaluator, then the
/// generated answer or the described upstream answer with the rules'
/// response-header edits.
pub fn simulate(rule_set: &RuleSet, request: &TestRequest, upstream: &UpstreamAnswer) -> Exchange {
    let parts = request.parts();
    let mut response_headers = HeaderMap::new();
    response_headers.insert(CONTENT_TYPE, HeaderValue::from_static(TEXT_PLAIN));
    if parts.method == Method::CONNECT {
        return refused(405, "CONNECT is not supported", response_headers);
    }
    let facts = match RequestFacts::from_parts(&parts, request.peer) {
        Ok(facts) => facts,
        Err(error) => return refused(400, &error.to_string(), response_headers),
    };
    let decision = evaluate(rule_set, &facts);
    let (status, answer) = match decision.outcome {
        Outcome::Redirect { status, location } => {
            response_headers.insert(LOCATION, location.clone());
            let location = String::from_utf8_lossy(location.as_bytes()).into_owned();
            (status.as_u16(), Answer::Redirect { location })
        }
        Outcome::Respond { status, body } => (status.as_u16(), Answer::Respond { body }),
        Outcome::Forward { target } => {
            let mut headers = parts.headers.clone();
            apply_edits(&decision.request_headers, &mut headers);
            response_headers = upstream.headers.clone();
            let target = target.unwrap_or_else(|| facts.target());
            (
                upstream.status.as_u16(),
                Answer::Forward { target, headers },
            )
        }
    };
    apply_edits(&decision.response_headers, &mut response_headers);
    Exchange {
        fired: decision.fired,
        answer,
        status,
        response_headers,
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
    }
}
