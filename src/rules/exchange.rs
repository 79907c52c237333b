//! The whole exchange without a network (sections 12 and 16): the request
//! phase, then the answer — one a request rule generated, or the next hop's
//! as described (status and headers) — then the response phase, giving what
//! the client gets and which rules fired. `explain` and the tests shipped
//! with a config run it; the server runs the same two phases around a real
//! next hop (`evaluate`, `evaluate_response`).

use bytes::Bytes;
use http::{HeaderMap, StatusCode};

use super::decision::{Decision, HeaderEdit, Outcome, ResponseDecision, apply_edits};
use super::evaluate::{PhaseLists, run, run_response};
use super::field::{FieldReader, ResponseFacts};
use super::request::RequestFacts;
use super::rule_set::ServedRules;
use super::trace::{NoTrace, Observer, Recorder, Trace};

/// The next hop's answer as described: `explain --status/--response-header`,
/// a test's `upstream` lines.
#[derive(Debug, Clone)]
pub struct UpstreamAnswer {
    /// Its status.
    pub status: StatusCode,
    /// Its headers (no `Content-Length` or connection headers needed).
    pub headers: HeaderMap,
}

/// What the client gets.
#[derive(Debug, Clone)]
pub struct ClientResponse {
    /// The status.
    pub status: StatusCode,
    /// The headers, every rule's edits applied.
    pub(crate) headers: HeaderMap,
    /// A generated answer's body; `None` when the next hop's body goes
    /// through (it is never described).
    pub body: Option<Bytes>,
    /// The answer a rule generated (`redirect` or `respond`, either phase),
    /// if one did.
    pub generated: Option<Outcome>,
}

/// One simulated exchange.
#[derive(Debug, Clone)]
pub struct Exchange {
    /// The request phase's decision: forward (with its request edits) or answer.
    pub request: Decision,
    /// The response phase's; `None` when it did not run (the request was
    /// forwarded and no next-hop answer was described).
    pub response: Option<ResponseDecision>,
    /// What the client gets; `None` in the same case.
    pub client: Option<ClientResponse>,
}

impl Exchange {
    /// The rules that fired: request rules in file order, then response
    /// rules in file order (as the access log's `rules` lists them).
    pub fn fired(&self) -> impl Iterator<Item = usize> + '_ {
        let response = self.response.iter().flat_map(|r| r.fired.iter());
        self.request.fired.iter().chain(response).copied()
    }
}

/// Simulates one exchange; `upstream` is what the next hop answers if the
/// request is forwarded.
pub fn simulate(
    rule_set: &ServedRules,
    facts: &RequestFacts<'_>,
    upstream: Option<&UpstreamAnswer>,
) -> Exchange {
    simulate_with(rule_set, facts, upstream, &mut NoTrace)
}

/// `simulate`, with a trace of every rule of both phases (for `explain`).
/// Response rules that did not run for want of a described answer are
/// marked as depending on the response.
pub fn simulate_traced(
    rule_set: &ServedRules,
    facts: &RequestFacts<'_>,
    upstream: Option<&UpstreamAnswer>,
) -> (Exchange, Trace) {
    let mut recorder = Recorder::new(rule_set.rules.iter().map(|rule| rule.name.as_str()));
    let exchange = simulate_with(rule_set, facts, upstream, &mut recorder);
    if exchange.response.is_none() {
        recorder.depends_on_response(&rule_set.index().response_rules);
    }
    (exchange, recorder.finish())
}

/// The query that goes (or would go) upstream: a rewrite's, else the
/// request's. A response-phase `redirect` carries it over.
pub(crate) fn outgoing_query<'a>(
    decision: &'a Decision,
    facts: &'a RequestFacts<'_>,
) -> Option<&'a str> {
    match &decision.outcome {
        Outcome::Forward {
            target: Some(target),
        } => target.split_once('?').map(|(_, query)| query),
        _ => facts.query.as_deref(),
    }
}

/// The client's head: the answer's own headers, then the request phase's
/// `response header` edits, then the response rules' (section 12's order).
pub(crate) fn edit_head(
    headers: &mut HeaderMap,
    request_edits: &[HeaderEdit],
    response: &[HeaderEdit],
) {
    apply_edits(request_edits, headers);
    apply_edits(response, headers);
}

fn simulate_with<O: Observer>(
    rule_set: &ServedRules,
    facts: &RequestFacts<'_>,
    upstream: Option<&UpstreamAnswer>,
    observer: &mut O,
) -> Exchange {
    let request = run(rule_set, facts, observer);
    let (status, headers, body, generated) = match request.outcome.answer() {
        Some((status, headers, body)) => {
            (status, headers, Some(body), Some(request.outcome.clone()))
        }
        None => match upstream {
            Some(answer) => (answer.status, answer.headers.clone(), None, None),
            None => {
                return Exchange {
                    request,
                    response: None,
                    client: None,
                };
            }
        },
    };
    // 1xx answers are not seen by response rules (section 12).
    let response = if rule_set.index().response_rules.is_empty() || status.is_informational() {
        ResponseDecision::default()
    } else {
        let reader = FieldReader::with_response(
            facts,
            ResponseFacts {
                status,
                headers: &headers,
            },
        );
        let mut lists = PhaseLists::default();
        let replaced = run_response(
            rule_set,
            &reader,
            outgoing_query(&request, facts),
            observer,
            &mut lists,
        );
        ResponseDecision {
            fired: lists.fired,
            edits: lists.edits,
            replaced,
        }
    };
    let client = match response.replaced.as_ref().and_then(|answer| {
        answer
            .answer()
            .map(|(status, headers, body)| (status, headers, body, answer.clone()))
    }) {
        Some((status, mut headers, body, answer)) => {
            edit_head(&mut headers, &request.response_headers, &response.edits);
            ClientResponse {
                status,
                headers,
                body: Some(body),
                generated: Some(answer),
            }
        }
        None => {
            let mut headers = headers;
            edit_head(&mut headers, &request.response_headers, &response.edits);
            ClientResponse {
                status,
                headers,
                body,
                generated,
            }
        }
    };
    Exchange {
        request,
        response: Some(response),
        client: Some(client),
    }
}
