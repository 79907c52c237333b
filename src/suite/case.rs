//! One test of a `.test` file, checked and typed (spec §16): the request it
//! sends, the answer the next hop would give, and what it expects — each
//! expectation with the span of its line, so a failure points at it.

use http::{HeaderMap, HeaderName, StatusCode};

use super::request::TestRequest;
use crate::config::span::Span;

/// One `test "name" { … }` block.
#[derive(Debug, Clone)]
pub(crate) struct TestCase {
    /// The name, unique across every `.test` file of the directory.
    pub(crate) name: String,
    /// The quoted name as written, where duplicate-name faults point.
    pub(crate) name_span: Span,
    /// The request the test sends.
    pub(crate) request: TestRequest,
    /// What the next hop answers if the request is forwarded.
    pub(crate) upstream: UpstreamAnswer,
    /// The `expect` lines, in file order.
    pub(crate) expectations: Vec<Expectation>,
}

/// The next hop's answer as `upstream` lines describe it: no network is used.
#[derive(Debug, Clone)]
pub struct UpstreamAnswer {
    /// `upstream STATUS`; 200 when absent.
    pub(crate) status: StatusCode,
    /// `upstream header NAME "value"` lines, in order.
    pub(crate) headers: HeaderMap,
}

impl Default for UpstreamAnswer {
    fn default() -> Self {
        UpstreamAnswer {
            status: StatusCode::OK,
            headers: HeaderMap::new(),
        }
    }
}

/// One `expect …` line.
#[derive(Debug, Clone)]
pub(crate) struct Expectation {
    /// The whole line, from `expect` to its last token.
    pub(crate) span: Span,
    /// What it asserts.
    pub(crate) kind: Expect,
}

/// What an `expect` line asserts about the exchange.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Expect {
    /// `expect status N`: the status the client gets.
    Status(u16),
    /// `expect redirect N "LOCATION"`: a rule answered with this redirect.
    Redirect {
        /// The redirect's status.
        status: u16,
        /// The `Location` exactly.
        location: String,
    },
    /// `expect respond N ["BODY"]`: a rule answered with this status (and body).
    Respond {
        /// The answer's status.
        status: u16,
        /// The body exactly, when given.
        body: Option<String>,
    },
    /// `expect forward ["URI"]`: the request went upstream (to this target).
    Forward(Option<String>),
    /// `expect [no] request header NAME ["value"]`: what goes upstream.
    RequestHeader {
        /// The header.
        name: HeaderName,
        /// Its lines joined with `", "`; `None` for `no request header`.
        value: Option<String>,
    },
    /// `expect [no] response header NAME ["value"]`: what the client gets.
    ResponseHeader {
        /// The header.
        name: HeaderName,
        /// Its lines joined with `", "`; `None` for `no response header`.
        value: Option<String>,
    },
    /// `expect rules [ … ]`: exactly these rules fired, in this order.
    Rules(Vec<RuleRef>),
    /// `expect rule "NAME"`: at least this rule fired.
    Rule(RuleRef),
}

/// A rule named by a test, with where it is named (for "unknown rule").
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RuleRef {
    /// The rule's name.
    pub(crate) name: String,
    /// The quoted name in the `.test` file.
    pub(crate) span: Span,
}
