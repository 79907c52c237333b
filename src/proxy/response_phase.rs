//! The response phase in the data plane (section 12): every answer to a
//! request that reached the rules — the next hop's, one a request rule
//! generated, the proxy's own 502 and 504 — gets the request phase's
//! `response header` edits and then the response rules. A response rule
//! decides on the head; the body streams through untouched unless a
//! `respond` or `redirect` replaced it, and then the next hop's body is
//! dropped unread (its connection goes back to the pool only when that body
//! had already ended, else it closes).

use std::net::IpAddr;
use std::sync::Arc;

use bytes::Bytes;
use http::{HeaderMap, HeaderName, Method, Response, StatusCode};

use super::body::{PendingLog, ProxyBody, RequestEnd};
use super::error::ProxyError;
use super::next_hop_body::NextHopBody;
use crate::log::access_record::{FiredRules, LogAction};
use crate::rules::exchange::outgoing_query;
use crate::rules::{
    Decision, Outcome, PhaseLists, RequestFacts, ResponseFacts, Scheme, ServedRules,
    apply_owned_edits, evaluate_response,
};

/// What the response phase needs to know about one request once its
/// request phase is over.
pub(crate) struct ResponseStage {
    rule_set: Arc<ServedRules>,
    /// The request's facts as the request phase saw them, kept only when
    /// the rule set has response rules (their conditions read the request's
    /// fields too): normalized once, not again.
    saved: Option<SavedRequest>,
    /// The query that went (or would have gone) upstream.
    outgoing_query: Option<String>,
    /// The request phase's fired rules and `response header` edits; the
    /// response phase appends its own (the vectors were sized for both).
    lists: PhaseLists,
}

impl ResponseStage {
    /// The stage after the request phase decided `decision` for the request
    /// `facts` describes; the facts are kept only when response rules exist,
    /// so a config without them pays nothing more, and of the headers only
    /// those the response rules read are copied.
    pub(crate) fn new(
        rule_set: Arc<ServedRules>,
        facts: RequestFacts<'_>,
        method: &Method,
        decision: &mut Decision,
    ) -> Self {
        let has_rules = !rule_set.index().response_rules.is_empty();
        let outgoing_query = if has_rules {
            outgoing_query(decision, &facts).map(str::to_owned)
        } else {
            None
        };
        let saved =
            has_rules.then(|| SavedRequest::keep(facts, method, &rule_set.index().response_reads));
        ResponseStage {
            rule_set,
            saved,
            outgoing_query,
            lists: PhaseLists {
                fired: std::mem::take(&mut decision.fired),
                edits: std::mem::take(&mut decision.response_headers),
            },
        }
    }

    /// Runs the response rules over a response head (none for 1xx): their
    /// fired rules and edits join the request phase's; the answer a
    /// `respond` or `redirect` put in the response's place.
    fn decide(&mut self, status: StatusCode, headers: &HeaderMap) -> Option<Outcome> {
        let saved = self.saved.take()?;
        if status.is_informational() {
            return None;
        }
        let SavedRequest {
            scheme,
            host,
            method,
            path,
            query,
            client_ip,
            headers: request_headers,
        } = saved;
        let facts = RequestFacts {
            scheme,
            host,
            method: method.as_str(),
            path,
            query,
            client_ip,
            headers: &request_headers,
        };
        evaluate_response(
            &self.rule_set,
            &facts,
            ResponseFacts { status, headers },
            self.outgoing_query.as_deref(),
            &mut self.lists,
        )
    }

    /// Records the rules that fired, request rules then response rules
    /// (one list, moved: no copy).
    fn log_rules(&mut self, pending: &mut PendingLog) {
        let fired = std::mem::take(&mut self.lists.fired);
        pending.record.rules = FiredRules::new(self.rule_set.clone(), fired);
    }

    /// An answer the request phase generated (`redirect` or `respond`).
    pub(crate) fn generated(
        self,
        outcome: &Outcome,
        mut pending: PendingLog,
        end: RequestEnd,
    ) -> Response<ProxyBody> {
        pending.record.action = log_action(outcome);
        match outcome.answer() {
            Some((status, headers, body)) => self.answer(status, headers, body, pending, end),
            None => self.answer(StatusCode::OK, HeaderMap::new(), Bytes::new(), pending, end),
        }
    }

    /// The proxy's own answer to a next hop that failed (502, 504).
    pub(crate) fn upstream_error(
        self,
        err: &ProxyError,
        mut pending: PendingLog,
        end: RequestEnd,
    ) -> Response<ProxyBody> {
        let (status, headers, body) =
            err.answer(&pending.record.method.text(), &pending.record.uri.text());
        pending.record.action = LogAction::Error;
        self.answer(status, headers, body, pending, end)
    }

    /// A generated answer through the response phase.
    fn answer(
        mut self,
        status: StatusCode,
        headers: HeaderMap,
        body: Bytes,
        mut pending: PendingLog,
        end: RequestEnd,
    ) -> Response<ProxyBody> {
        let replaced = self.decide(status, &headers);
        self.log_rules(&mut pending);
        let (status, mut headers, body) = match replacement(replaced.as_ref(), &mut pending) {
            Some(answer) => answer,
            None => (status, headers, body),
        };
        apply_owned_edits(std::mem::take(&mut self.lists.edits), &mut headers);
        build(status, headers, body, pending, end)
    }

    /// The next hop's response through the response phase: streamed on,
    /// or replaced (its body dropped unread).
    pub(crate) fn forwarded(
        mut self,
        response: Response<NextHopBody>,
        mut pending: PendingLog,
        end: RequestEnd,
    ) -> Response<ProxyBody> {
        pending.record.action = LogAction::Forward;
        let replaced = self.decide(response.status(), response.headers());
        self.log_rules(&mut pending);
        if let Some((status, mut headers, body)) = replacement(replaced.as_ref(), &mut pending) {
            // The body is dropped unread: its connection goes back to the
            // pool only if nothing of it was left (else it closes).
            drop(response);
            apply_owned_edits(std::mem::take(&mut self.lists.edits), &mut headers);
            return build(status, headers, body, pending, end);
        }
        let (mut parts, body) = response.into_parts();
        apply_owned_edits(std::mem::take(&mut self.lists.edits), &mut parts.headers);
        pending.record.status = parts.status.as_u16();
        Response::from_parts(parts, ProxyBody::upstream(body, pending, end))
    }
}

/// The answer a response rule put in place, with the log's action set.
fn replacement(
    replaced: Option<&Outcome>,
    pending: &mut PendingLog,
) -> Option<(StatusCode, HeaderMap, Bytes)> {
    let outcome = replaced?;
    pending.record.action = log_action(outcome);
    outcome.answer()
}

fn log_action(outcome: &Outcome) -> LogAction {
    match outcome {
        Outcome::Redirect { .. } => LogAction::Redirect,
        Outcome::Respond { .. } => LogAction::Respond,
        Outcome::Forward { .. } => LogAction::Forward,
    }
}

/// A response the proxy writes itself, its head final.
pub(crate) fn build(
    status: StatusCode,
    headers: HeaderMap,
    body: Bytes,
    mut pending: PendingLog,
    end: RequestEnd,
) -> Response<ProxyBody> {
    pending.record.status = status.as_u16();
    let mut response = Response::new(ProxyBody::generated(body, pending, end));
    *response.status_mut() = status;
    *response.headers_mut() = headers;
    response
}

/// The request's facts, owned: what the response rules read of the request
/// once its head has gone upstream.
struct SavedRequest {
    scheme: Scheme,
    host: String,
    method: Method,
    path: String,
    query: Option<String>,
    client_ip: IpAddr,
    headers: HeaderMap,
}

impl SavedRequest {
    /// `method`: the request's, which `facts.method` reads; `reads`: the
    /// request headers the response rules read (no other is copied; none
    /// at all, and no allocation, for most configs).
    fn keep(facts: RequestFacts<'_>, method: &Method, reads: &[HeaderName]) -> Self {
        let mut headers = HeaderMap::new();
        for name in reads {
            for value in facts.headers.get_all(name) {
                headers.append(name.clone(), value.clone());
            }
        }
        SavedRequest {
            scheme: facts.scheme,
            method: method.clone(),
            host: facts.host,
            path: facts.path,
            query: facts.query,
            client_ip: facts.client_ip,
            headers,
        }
    }
}
