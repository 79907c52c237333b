//! What evaluation decides for one request: the outcome and the header edits,
//! with every template already expanded, ready for the data plane to apply.

use bytes::Bytes;
use http::{HeaderMap, HeaderName, HeaderValue, StatusCode};

/// The result of running the rule set over one request.
#[derive(Debug, Clone)]
pub struct Decision {
    /// Indices into `RuleSet::rules` of the rules that fired, in order.
    pub fired: Vec<usize>,
    /// Forward, or answer directly.
    pub outcome: Outcome,
    /// Edits to the headers sent upstream, in order (empty unless forwarding).
    pub request_headers: Vec<HeaderEdit>,
    /// Edits to the headers sent to the client, in order (also for generated
    /// responses).
    pub response_headers: Vec<HeaderEdit>,
}

/// Where the request goes.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// Send upstream; `target` is the rewritten origin-form target
    /// (`/path?query`) when a rewrite fired, else the normalized one is sent.
    Forward {
        /// The rewritten target, query carry-over already applied.
        target: Option<String>,
    },
    /// Answer with a redirect.
    Redirect {
        /// 301, 302, 303, 307 or 308.
        status: StatusCode,
        /// The `Location`, query carry-over already applied.
        location: HeaderValue,
    },
    /// Answer with a `text/plain; charset=utf-8` body.
    Respond {
        /// 200–599.
        status: StatusCode,
        /// The expanded body.
        body: Bytes,
    },
}

/// One expanded header change.
#[derive(Debug, Clone, PartialEq)]
pub enum HeaderEdit {
    /// Replace every header of that name.
    Set(HeaderName, HeaderValue),
    /// Append one more.
    Add(HeaderName, HeaderValue),
    /// Remove every header of that name.
    Remove(HeaderName),
}

impl HeaderEdit {
    /// Applies the edit to a header map.
    pub(crate) fn apply(&self, headers: &mut HeaderMap) {
        match self {
            HeaderEdit::Set(name, value) => {
                headers.insert(name.clone(), value.clone());
            }
            HeaderEdit::Add(name, value) => {
                headers.append(name.clone(), value.clone());
            }
            HeaderEdit::Remove(name) => {
                headers.remove(name);
            }
        }
    }
}

/// Applies edits in order.
pub fn apply_edits(edits: &[HeaderEdit], headers: &mut HeaderMap) {
    for edit in edits {
        edit.apply(headers);
    }
}
