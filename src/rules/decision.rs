//! What evaluation decides for one request: the outcome and the header edits,
//! with every template already expanded, ready for the data plane to apply.

use bytes::Bytes;
use http::header::{CONTENT_TYPE, Entry, LOCATION};
use http::{HeaderMap, HeaderName, HeaderValue, StatusCode};

/// The `Content-Type` of a string body and of the proxy's own answers.
pub const TEXT_PLAIN: &str = "text/plain; charset=utf-8";

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
    /// Answer with a body: a string's (`text/plain; charset=utf-8`) or a
    /// file's (its type by extension).
    Respond {
        /// 200–599.
        status: StatusCode,
        /// The expanded body, or the file's bytes.
        body: Bytes,
        /// The body's `Content-Type` before any rule's edit.
        content_type: HeaderValue,
    },
}

impl Outcome {
    /// A generated answer's status, headers (before the rules' edits) and
    /// body; `None` for `Forward`. `Content-Type` is there, so a rule's
    /// `set` replaces it and a `default` leaves it (section 13).
    pub fn answer(&self) -> Option<(StatusCode, HeaderMap, Bytes)> {
        let mut headers = HeaderMap::new();
        match self {
            Outcome::Forward { .. } => None,
            Outcome::Redirect { status, location } => {
                headers.insert(LOCATION, location.clone());
                headers.insert(CONTENT_TYPE, HeaderValue::from_static(TEXT_PLAIN));
                Some((*status, headers, Bytes::new()))
            }
            Outcome::Respond {
                status,
                body,
                content_type,
            } => {
                headers.insert(CONTENT_TYPE, content_type.clone());
                Some((*status, headers, body.clone()))
            }
        }
    }
}

/// What the response rules decide for one response (section 12).
#[derive(Debug, Clone, Default)]
pub struct ResponseDecision {
    /// Indices into `RuleSet::rules` of the response rules that fired, in order.
    pub fired: Vec<usize>,
    /// The response rules' header edits, in order; they apply after the
    /// request phase's `response header` edits.
    pub edits: Vec<HeaderEdit>,
    /// The answer a `respond` or `redirect` put in the response's place.
    pub replaced: Option<Outcome>,
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
    /// Set it only when the headers, as edited so far, have none.
    Default(HeaderName, HeaderValue),
}

impl HeaderEdit {
    /// Applies the edit to a header map, moving its name and value in.
    pub(crate) fn apply(self, headers: &mut HeaderMap) {
        match self {
            HeaderEdit::Set(name, value) => {
                headers.insert(name, value);
            }
            HeaderEdit::Add(name, value) => {
                headers.append(name, value);
            }
            HeaderEdit::Remove(name) => {
                headers.remove(name);
            }
            // One lookup, not a test and then an insert.
            HeaderEdit::Default(name, value) => {
                if let Entry::Vacant(slot) = headers.entry(name) {
                    slot.insert(value);
                }
            }
        }
    }
}

/// Applies edits in order (copies of them: the list stays as it is).
pub fn apply_edits(edits: &[HeaderEdit], headers: &mut HeaderMap) {
    for edit in edits {
        edit.clone().apply(headers);
    }
}

/// Applies edits in order, moving their names and values into the map: the
/// data plane's way, which has no use for the list afterwards.
pub fn apply_owned_edits(edits: Vec<HeaderEdit>, headers: &mut HeaderMap) {
    for edit in edits {
        edit.apply(headers);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edits_apply_in_order_the_same_copied_or_moved() {
        let name = |text: &'static str| HeaderName::from_static(text);
        let value = |text: &'static str| HeaderValue::from_static(text);
        let edits = vec![
            HeaderEdit::Default(name("x-kept"), value("rule")),
            HeaderEdit::Default(name("x-new"), value("1")),
            HeaderEdit::Default(name("x-new"), value("2")),
            HeaderEdit::Add(name("x-new"), value("3")),
            HeaderEdit::Set(name("x-set"), value("4")),
            HeaderEdit::Remove(name("x-gone")),
            HeaderEdit::Default(name("x-gone"), value("5")),
        ];
        let mut start = HeaderMap::new();
        start.insert(name("x-kept"), value("origin"));
        start.insert(name("x-set"), value("origin"));
        start.insert(name("x-gone"), value("origin"));
        let mut copied = start.clone();
        apply_edits(&edits, &mut copied);
        let mut moved = start;
        apply_owned_edits(edits, &mut moved);
        assert_eq!(copied, moved);
        let all = |name: &str| -> Vec<_> { moved.get_all(name).iter().collect() };
        assert_eq!(all("x-kept"), ["origin"]);
        assert_eq!(all("x-new"), ["1", "3"]);
        assert_eq!(all("x-set"), ["4"]);
        assert_eq!(all("x-gone"), ["5"]);
    }
}
