//! Compiled actions: what a rule does once its condition holds.

use std::sync::Arc;

use bytes::Bytes;
use http::{HeaderName, HeaderValue, StatusCode};

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
    /// Terminal: answer with the bytes of a file read at compile time
    /// (section 13).
    RespondFile {
        /// 200–599.
        status: StatusCode,
        /// The file's bytes and type.
        file: Arc<FileBody>,
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
    /// Set it only when the response has none (section 12).
    Default(HeaderName, Template),
}

/// A file body of `respond STATUS file "PATH"`: read once when the config is
/// compiled, so serving never touches the disk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileBody {
    /// The path as written, relative to the config directory.
    pub path: String,
    /// The bytes (at most 1 MiB).
    pub bytes: Bytes,
    /// From the extension (section 13).
    pub content_type: HeaderValue,
}

impl Action {
    /// Whether the action ends evaluation when it fires.
    pub fn is_terminal(&self) -> bool {
        matches!(
            self,
            Action::Redirect { .. } | Action::Respond { .. } | Action::RespondFile { .. }
        )
    }

    /// Whether the action ends the phase's evaluation: a terminal action or `stop`.
    pub fn ends_evaluation(&self) -> bool {
        self.is_terminal() || matches!(self, Action::Stop)
    }
}
