//! Faults of actions: rewrite targets, header actions and their names and
//! values, redirect and respond statuses.

use crate::config::diagnostic::{Code, Diagnostic};
use crate::config::span::Span;

/// A rewrite target that does not start with `/`.
pub(crate) fn rewrite_not_absolute(target: Span) -> Diagnostic {
    Diagnostic::error(
        Code::RewriteNotAbsolute,
        "a rewrite target must start with `/`",
        target,
        "does not start with `/`",
    )
    .with_help("rewrite changes the path sent upstream, such as `rewrite \"/v2{path}\"`; to send the client elsewhere use `redirect`")
}

/// `header remove` with a value.
pub(crate) fn remove_takes_no_value(value: Span) -> Diagnostic {
    Diagnostic::error(
        Code::HeaderValueArity,
        "`header remove` takes no value",
        value,
        "remove this value",
    )
    .with_help("to replace the header's value use `header set`")
}

/// `header set`, `header add` or `header default` (`verb`) without a value
/// after `name`.
pub(crate) fn header_needs_value(verb: &str, name: &str, span: Span) -> Diagnostic {
    Diagnostic::error(
        Code::HeaderValueArity,
        format!("`header {verb}` needs a value"),
        span,
        "no value after this name",
    )
    .with_help(format!("write `header {verb} {name} \"value\"`"))
}

/// A redirect status that is not 301, 302, 303, 307 or 308; `a_status`
/// when it is a status `respond` could send, which the help then offers.
pub(crate) fn not_a_redirect_status(status: &str, span: Span, a_status: bool) -> Diagnostic {
    let help = if a_status {
        "redirect takes 301, 302, 303, 307 or 308; to answer with another status use `respond`"
    } else {
        "redirect takes 301, 302, 303, 307 or 308"
    };
    Diagnostic::error(
        Code::InvalidStatus,
        format!("`{status}` is not a redirect status"),
        span,
        "not 301, 302, 303, 307 or 308",
    )
    .with_help(help)
}

/// A `respond` status outside 200–599.
pub(crate) fn not_a_respond_status(status: &str, span: Span) -> Diagnostic {
    Diagnostic::error(
        Code::InvalidStatus,
        format!("`{status}` is not a status `respond` can send"),
        span,
        "not between 200 and 599",
    )
    .with_help("respond takes a three-digit status from 200 to 599; redirects use `redirect`")
}

/// A header name in an action that is not an RFC 9110 token.
pub(crate) fn invalid_header_name(name: &str, span: Span) -> Diagnostic {
    Diagnostic::error(
        Code::InvalidHeaderName,
        format!("`{name}` is not a valid header name"),
        span,
        "not an RFC 9110 token",
    )
    .with_help("header names are letters, digits and `-`, such as `X-Frame-Options`")
}

/// A header the proxy manages itself.
pub(crate) fn managed_header(name: &str, span: Span) -> Diagnostic {
    Diagnostic::error(
        Code::ManagedHeader,
        format!("`{name}` is managed by the proxy"),
        span,
        "cannot be changed by a rule",
    )
    .with_help("the proxy sets Connection, Keep-Alive, Proxy-Connection, Transfer-Encoding, TE, Trailer, Upgrade and Content-Length itself; remove this action")
}

/// CR, LF or NUL in `what` (a header value, a redirect target).
pub(crate) fn line_break(what: &str, span: Span) -> Diagnostic {
    Diagnostic::error(
        Code::HeaderValueLineBreak,
        format!("{what} cannot hold a line break"),
        span,
        "line break",
    )
    .with_help("remove the `\\n`; a header is a single line")
}

/// Another control character in a header value.
pub(crate) fn control_character(span: Span) -> Diagnostic {
    Diagnostic::error(
        Code::InvalidHeaderValue,
        "a header value cannot hold control characters",
        span,
        "control character",
    )
    .with_help("only visible characters, spaces and tabs may appear in a header value")
}
