//! Compiled actions: what a rule does once its condition holds.

use http::{HeaderName, StatusCode};

use super::query_edit::QueryAction;
use super::template::Template;

/// One action of a rule, in the order written.
#[derive(Debug, Clone)]
pub enum Action {
    /// Terminal: answer with a redirect; nothing goes upstream.
    Redirect {
        /// 301, 302, 303, 307 or 308.
        status: StatusCode,
        /// The `Location`, before query carry-over.
        target: Template,
    },
    /// Terminal: answer with a short text body; nothing goes upstream.
    Respond {
        /// 200–599.
        status: StatusCode,
        /// The body (empty template when omitted).
        body: Template,
    },
    /// Change the path (and query) sent upstream.
    Rewrite {
        /// Starts with `/`; query carry-over applies.
        target: Template,
    },
    /// A change to the headers sent upstream.
    RequestHeader(HeaderAction),
    /// A change to the headers sent to the client.
    ResponseHeader(HeaderAction),
    /// A change to the outgoing query (§15).
    Query(QueryAction),
    /// End the phase's evaluation here; the request goes on with the edits
    /// made so far (§15).
    Stop,
}

/// A header change; the name is validated and never a managed header.
#[derive(Debug, Clone)]
pub enum HeaderAction {
    /// Replace every header of that name with this one.
    Set(HeaderName, Template),
    /// Add one more header of that name.
    Add(HeaderName, Template),
    /// Remove every header of that name.
    Remove(HeaderName),
}

impl Action {
    /// Whether the action ends evaluation when it fires.
    pub(crate) fn is_terminal(&self) -> bool {
        matches!(self, Action::Redirect { .. } | Action::Respond { .. })
    }

    /// Whether the action ends the phase's evaluation: a terminal action or `stop`.
    pub fn ends_evaluation(&self) -> bool {
        self.is_terminal() || matches!(self, Action::Stop)
    }
}
