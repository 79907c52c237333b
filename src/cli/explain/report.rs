//! What `explain` shows, as data (serialized for `--json`) and as text: the
//! request's fields, each rule's fate, and the outcome.

use std::fmt;
use std::net::IpAddr;

use http::{HeaderMap, HeaderName, HeaderValue, Method};
use serde::Serialize;

use crate::rules::exchange::Exchange;
use crate::rules::trace::{RuleStatus, RuleTrace};
use crate::rules::{
    Decision, HeaderEdit, Outcome, Phase, RequestFacts, RuleSet, TargetError, UpstreamAnswer,
    apply_edits, simulate_traced,
};

/// Everything `explain` says about one request.
#[derive(Debug, Serialize)]
pub struct Report {
    /// The request as rules see it.
    pub request: RequestView,
    /// Each rule in file order.
    pub rules: Vec<RuleView>,
    /// What the proxy does.
    pub outcome: OutcomeView,
    /// What the client gets after the response phase (section 17): shown
    /// when the config has response rules or a next-hop answer was described.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub response: Option<ResponseView>,
}

/// The answer the client gets, after the response rules.
#[derive(Debug, Serialize)]
pub struct ResponseView {
    /// The status.
    pub status: u16,
    /// Who answered: `upstream`, `request rule NAME` or `response rule NAME`.
    pub from: String,
    /// The headers, every edit applied.
    pub headers: Vec<(String, String)>,
    /// A generated answer's body.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
    /// The response rules' header changes, in order (after the request
    /// phase's `response header_changes`).
    pub response_rule_changes: Vec<EditView>,
}

/// The request's fields (spec §4).
#[derive(Debug, Serialize)]
pub struct RequestView {
    /// As given on the command line.
    pub url: String,
    /// The method.
    pub method: String,
    /// `http` or `https`; absent when the target was refused.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scheme: Option<String>,
    /// Lower-cased, without port.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    /// Normalized.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// Without `?`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub query: Option<String>,
    /// The address rules see.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_ip: Option<String>,
    /// The headers the client sends (from `-H`, the URL's authority and scheme).
    pub headers: Vec<(String, String)>,
}

/// One rule's fate, numbered from 1 as in the file.
#[derive(Debug, Serialize)]
pub struct RuleView {
    /// Position in the file, from 1.
    pub number: usize,
    /// Whether it is an `on response` rule.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub on_response: bool,
    /// What happened.
    #[serde(flatten)]
    pub trace: RuleTrace,
}

/// A header change, as text.
#[derive(Debug, Serialize)]
pub struct EditView {
    /// `set`, `add` or `remove`.
    pub op: &'static str,
    /// The header name.
    pub name: String,
    /// The value (absent for `remove`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
}

/// What the client gets, or what goes upstream.
#[derive(Debug, Serialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum OutcomeView {
    /// Sent upstream.
    Forward {
        /// The method.
        method: String,
        /// The origin-form target sent.
        target: String,
        /// Whether a rewrite changed it.
        rewritten: bool,
        /// The headers sent upstream, after the changes (before hop-by-hop
        /// headers are dropped).
        headers: Vec<(String, String)>,
        /// The request-header changes, in order.
        request_header_changes: Vec<EditView>,
        /// The changes made to the upstream's response, in order.
        response_header_changes: Vec<EditView>,
    },
    /// Answered with a redirect.
    Redirect {
        /// The status.
        status: u16,
        /// The `Location`.
        location: String,
        /// Changes to the generated response's headers.
        response_header_changes: Vec<EditView>,
    },
    /// Answered with a body.
    Respond {
        /// The status.
        status: u16,
        /// The body.
        body: String,
        /// Its `Content-Type` before any rule's edit.
        content_type: String,
        /// Changes to the generated response's headers.
        response_header_changes: Vec<EditView>,
    },
    /// Refused before rules run.
    Error {
        /// The status.
        status: u16,
        /// Why.
        reason: String,
    },
}

impl Report {
    /// Evaluates the request (and, when described or generated, the answer)
    /// with the server's evaluator and describes it; `fired_only` keeps the
    /// rules that fired (`--fired`).
    pub fn build(
        rule_set: &RuleSet,
        parts: &http::request::Parts,
        url: &str,
        peer: IpAddr,
        upstream: Option<&UpstreamAnswer>,
        fired_only: bool,
    ) -> Report {
        let mut request = RequestView {
            url: url.to_owned(),
            method: parts.method.to_string(),
            scheme: None,
            host: None,
            path: None,
            query: None,
            client_ip: None,
            headers: edited_in_place(&parts.headers, &[]),
        };
        let refused = |status: u16, reason: String| Report {
            request: request.clone_shallow(),
            rules: Vec::new(),
            outcome: OutcomeView::Error { status, reason },
            response: None,
        };
        if parts.method == Method::CONNECT {
            return refused(405, "CONNECT is not supported".to_owned());
        }
        let facts = match RequestFacts::from_parts(parts, peer) {
            Ok(facts) => facts,
            Err(error @ (TargetError::UnsupportedForm | TargetError::InvalidEscape(_))) => {
                return refused(400, error.to_string());
            }
        };
        let (exchange, trace) = simulate_traced(rule_set, &facts, upstream);
        request.scheme = Some(facts.scheme.as_str().to_owned());
        request.host = Some(facts.host.clone());
        request.path = Some(facts.path.clone());
        request.query = facts.query.clone();
        request.client_ip = Some(facts.client_ip.to_string());
        let rules = trace
            .rules
            .into_iter()
            .enumerate()
            .map(|(at, trace)| RuleView {
                number: at + 1,
                on_response: rule_set
                    .rules
                    .get(at)
                    .is_some_and(|rule| rule.phase == Phase::Response),
                trace,
            })
            .filter(|view| !fired_only || view.trace.status == RuleStatus::Fired)
            .collect();
        let shows_response = upstream.is_some() || !rule_set.index().response_rules.is_empty();
        Report {
            request,
            rules,
            outcome: outcome_view(&exchange.request, &facts, parts),
            response: shows_response
                .then(|| response_view(rule_set, &exchange))
                .flatten(),
        }
    }
}

/// The client's answer, when the response phase ran.
fn response_view(rule_set: &RuleSet, exchange: &Exchange) -> Option<ResponseView> {
    let client = exchange.client.as_ref()?;
    let response = exchange.response.as_ref()?;
    let name = |at: Option<&usize>| {
        at.and_then(|&at| rule_set.rules.get(at))
            .map_or_else(String::new, |rule| rule.name.clone())
    };
    let from = if response.replaced.is_some() {
        format!("response rule {}", name(response.fired.last()))
    } else if client.generated.is_some() {
        format!("request rule {}", name(exchange.request.fired.last()))
    } else {
        "upstream".to_owned()
    };
    Some(ResponseView {
        status: client.status.as_u16(),
        from,
        headers: client
            .headers
            .iter()
            .map(|(name, value)| {
                (
                    name.to_string(),
                    String::from_utf8_lossy(value.as_bytes()).into_owned(),
                )
            })
            .collect(),
        body: client
            .body
            .as_ref()
            .map(|body| String::from_utf8_lossy(body).into_owned()),
        response_rule_changes: edits_view(&response.edits),
    })
}

impl RequestView {
    fn clone_shallow(&self) -> RequestView {
        RequestView {
            url: self.url.clone(),
            method: self.method.clone(),
            scheme: None,
            host: None,
            path: None,
            query: None,
            client_ip: None,
            headers: self.headers.clone(),
        }
    }
}

fn outcome_view(
    decision: &Decision,
    facts: &RequestFacts<'_>,
    parts: &http::request::Parts,
) -> OutcomeView {
    let response_header_changes = edits_view(&decision.response_headers);
    match &decision.outcome {
        Outcome::Redirect { status, location } => OutcomeView::Redirect {
            status: status.as_u16(),
            location: String::from_utf8_lossy(location.as_bytes()).into_owned(),
            response_header_changes,
        },
        Outcome::Respond {
            status,
            body,
            content_type,
        } => OutcomeView::Respond {
            status: status.as_u16(),
            body: String::from_utf8_lossy(body).into_owned(),
            content_type: String::from_utf8_lossy(content_type.as_bytes()).into_owned(),
            response_header_changes,
        },
        Outcome::Forward { target } => OutcomeView::Forward {
            method: parts.method.to_string(),
            target: target.clone().unwrap_or_else(|| facts.target()),
            rewritten: target.is_some(),
            headers: edited_in_place(&parts.headers, &decision.request_headers),
            request_header_changes: edits_view(&decision.request_headers),
            response_header_changes,
        },
    }
}

/// The headers after the edits, in the order a reader expects: a `set`
/// takes the place of the first header it replaces, an `add` goes last.
/// (The data plane applies the same edits to a `HeaderMap`; only the order
/// in which the lines are shown is chosen here.)
fn edited_in_place(headers: &HeaderMap, edits: &[HeaderEdit]) -> Vec<(String, String)> {
    let mut lines: Vec<(HeaderName, HeaderValue)> = headers
        .iter()
        .map(|(name, value)| (name.clone(), value.clone()))
        .collect();
    for edit in edits {
        match edit {
            HeaderEdit::Set(name, value) => match lines.iter().position(|(line, _)| line == name) {
                Some(first) => {
                    lines[first].1 = value.clone();
                    let mut at = 0;
                    lines.retain(|(line, _)| {
                        at += 1;
                        at - 1 == first || line != name
                    });
                }
                None => lines.push((name.clone(), value.clone())),
            },
            HeaderEdit::Add(name, value) => lines.push((name.clone(), value.clone())),
            HeaderEdit::Remove(name) => lines.retain(|(line, _)| line != name),
            HeaderEdit::Default(name, value) => {
                if !lines.iter().any(|(line, _)| line == name) {
                    lines.push((name.clone(), value.clone()));
                }
            }
        }
    }
    let mut check = headers.clone();
    apply_edits(edits, &mut check);
    debug_assert_eq!(
        check.len(),
        lines.len(),
        "explain shows what the data plane sends"
    );
    lines
        .into_iter()
        .map(|(name, value)| {
            (
                name.to_string(),
                String::from_utf8_lossy(value.as_bytes()).into_owned(),
            )
        })
        .collect()
}

fn edits_view(edits: &[HeaderEdit]) -> Vec<EditView> {
    edits
        .iter()
        .map(|edit| {
            let (op, name, value) = match edit {
                HeaderEdit::Set(name, value) => ("set", name, Some(value)),
                HeaderEdit::Add(name, value) => ("add", name, Some(value)),
                HeaderEdit::Remove(name) => ("remove", name, None),
                HeaderEdit::Default(name, value) => ("default", name, Some(value)),
            };
            EditView {
                op,
                name: name.to_string(),
                value: value.map(|value| String::from_utf8_lossy(value.as_bytes()).into_owned()),
            }
        })
        .collect()
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let request = &self.request;
        writeln!(f, "request: {} {}", request.method, request.url)?;
        let fields = [
            ("scheme", &request.scheme),
            ("host", &request.host),
            ("path", &request.path),
            ("query", &request.query),
            ("client_ip", &request.client_ip),
        ];
        for (name, value) in fields {
            if let Some(value) = value {
                writeln!(f, "  {name:<10} {value:?}")?;
            }
        }
        if !request.headers.is_empty() {
            writeln!(f, "  headers:")?;
        }
        for (name, value) in &request.headers {
            writeln!(f, "    {name}: {value}")?;
        }
        if !self.rules.is_empty() {
            writeln!(f, "\nrules:")?;
            let width = self
                .rules
                .iter()
                .map(|rule| rule.trace.name.len())
                .max()
                .unwrap_or(0);
            for rule in &self.rules {
                write_rule(f, rule, width)?;
            }
        }
        writeln!(f)?;
        write_outcome(f, &self.outcome)?;
        if let Some(response) = &self.response {
            writeln!(f)?;
            write_response(f, response)?;
        }
        Ok(())
    }
}

fn write_response(f: &mut fmt::Formatter<'_>, response: &ResponseView) -> fmt::Result {
    writeln!(
        f,
        "client gets: {} (from {})",
        response.status, response.from
    )?;
    for (name, value) in &response.headers {
        writeln!(f, "    {name}: {value}")?;
    }
    if let Some(body) = &response.body {
        writeln!(f, "  body: {body:?}")?;
    }
    write_edits(f, "response rule changes", &response.response_rule_changes)
}

fn write_rule(f: &mut fmt::Formatter<'_>, rule: &RuleView, width: usize) -> fmt::Result {
    let trace = &rule.trace;
    write!(f, "  {:>2}. {:<width$}  ", rule.number, trace.name)?;
    if rule.on_response {
        write!(f, "(on response) ")?;
    }
    match (trace.status, &trace.failed) {
        (RuleStatus::Fired, _) => writeln!(f, "fired")?,
        (RuleStatus::DependsOnResponse, _) => writeln!(
            f,
            "depends on the response (describe it with --status and --response-header)"
        )?,
        (RuleStatus::NotReached, _) => {
            writeln!(f, "not reached (an earlier rule answered or stopped)")?
        }
        (RuleStatus::NotFired, Some(failed)) if failed.comparison.contains("exists ") => writeln!(
            f,
            "not fired: `{}` was false ({} is {})",
            failed.comparison, failed.field, failed.value
        )?,
        (RuleStatus::NotFired, Some(failed)) => writeln!(
            f,
            "not fired: `{}` was false for {} {:?}",
            failed.comparison, failed.field, failed.value
        )?,
        (RuleStatus::NotFired, None) => writeln!(f, "not fired")?,
    }
    let several_regexes = trace.captures.iter().any(|capture| capture.slot > 0);
    for capture in &trace.captures {
        write!(f, "        ")?;
        if several_regexes {
            write!(f, "regex {}: ", capture.slot + 1)?;
        }
        write!(f, "{{{}}}", capture.group)?;
        if let Some(name) = &capture.name {
            write!(f, " {{{name}}}")?;
        }
        match &capture.value {
            Some(value) => writeln!(f, " = {value:?}")?,
            None => writeln!(f, " took no part (expands to \"\")")?,
        }
    }
    for lookup in &trace.lookups {
        writeln!(
            f,
            "        {{${}}} = {:?}  (key {:?})",
            lookup.map, lookup.value, lookup.key
        )?;
    }
    for skipped in &trace.skipped_headers {
        writeln!(f, "        skipped header (invalid value): {skipped}")?;
    }
    Ok(())
}

fn write_outcome(f: &mut fmt::Formatter<'_>, outcome: &OutcomeView) -> fmt::Result {
    match outcome {
        OutcomeView::Forward {
            method,
            target,
            rewritten,
            headers,
            request_header_changes,
            response_header_changes,
        } => {
            let note = if *rewritten { "  (rewritten)" } else { "" };
            writeln!(f, "outcome: forward upstream")?;
            writeln!(f, "  {method} {target}{note}")?;
            for (name, value) in headers {
                writeln!(f, "    {name}: {value}")?;
            }
            write_edits(f, "request header changes", request_header_changes)?;
            write_edits(f, "response header changes", response_header_changes)
        }
        OutcomeView::Redirect {
            status,
            location,
            response_header_changes,
        } => {
            writeln!(f, "outcome: redirect {status}")?;
            writeln!(f, "  location: {location}")?;
            write_edits(f, "response header changes", response_header_changes)
        }
        OutcomeView::Respond {
            status,
            body,
            content_type,
            response_header_changes,
        } => {
            writeln!(f, "outcome: respond {status}")?;
            writeln!(f, "  content-type: {content_type}")?;
            writeln!(f, "  body: {body:?}")?;
            write_edits(f, "response header changes", response_header_changes)
        }
        OutcomeView::Error { status, reason } => writeln!(f, "outcome: error {status} ({reason})"),
    }
}

fn write_edits(f: &mut fmt::Formatter<'_>, title: &str, edits: &[EditView]) -> fmt::Result {
    if edits.is_empty() {
        return Ok(());
    }
    writeln!(f, "{title}:")?;
    for edit in edits {
        match &edit.value {
            Some(value) => writeln!(f, "  {} {}: {}", edit.op, edit.name, value)?,
            None => writeln!(f, "  {} {}", edit.op, edit.name)?,
        }
    }
    Ok(())
}
