//! The diagnostics of `*.test` files (spec §16): reading them, their syntax,
//! the requests they describe, and tests that fail.

use crate::config::diagnostic::{Code, Diagnostic, did_you_mean};
use crate::config::span::Span;

/// A `.test` file over its size cap; nothing in it is read.
pub(crate) fn file_too_large(name: &str, size: u64, limit_mib: u64) -> Diagnostic {
    Diagnostic::whole_file(
        Code::FileTooLarge,
        format!("{name} is {size} bytes; a test file may be at most {limit_mib} MiB"),
    )
    .with_help("split the tests into several `.test` files")
}

/// A `.test` file that is not UTF-8; `span` covers the bad byte.
pub(crate) fn not_utf8(name: &str, byte: u8, at: usize, span: Span) -> Diagnostic {
    Diagnostic::error(
        Code::NotUtf8,
        format!("{name} is not valid UTF-8: byte 0x{byte:02X} at offset {at}"),
        span,
        "invalid byte",
    )
    .with_help("save the file as UTF-8")
}

/// The grammar stopped: what it expected, in words, and what it found.
pub(crate) fn syntax(expected: &str, found: &str, span: Span, label: &str) -> Diagnostic {
    Diagnostic::error(
        Code::Syntax,
        format!("expected {expected}, found {found}"),
        span,
        format!("expected {label}"),
    )
}

/// A word where a test's line belongs that is close to one of its keywords.
pub(crate) fn unknown_line(word: &str, span: Span, suggestion: String) -> Diagnostic {
    Diagnostic::error(
        Code::Syntax,
        format!("`{word}` does not start a line of a test"),
        span,
        "not a test line",
    )
    .with_help(suggestion)
}

/// A test block whose first line is not `request`.
pub(crate) fn request_not_first(found: &str, span: Span) -> Diagnostic {
    Diagnostic::error(
        Code::Syntax,
        format!("a test starts with its request, found {found}"),
        span,
        "expected `request`",
    )
    .with_help("write `request GET \"/path\"` as the test's first line")
}

/// A `{` never closed, at the end of the file or before the next test.
pub(crate) fn missing_brace(found: Option<&str>, span: Span, open: Option<Span>) -> Diagnostic {
    let (message, label) = match found {
        None => (
            "missing `}` at the end of the file".to_owned(),
            "the file ends here",
        ),
        Some(found) => (
            format!("missing `}}` before `{found}`"),
            "expected `}` before this",
        ),
    };
    let diagnostic = Diagnostic::error(Code::MissingBrace, message, span, label)
        .with_help("close the test with `}`");
    match open {
        Some(open) => diagnostic.with_related(open, "this `{` is never closed"),
        None => diagnostic,
    }
}

/// A method that is not an HTTP token.
pub(crate) fn invalid_method(text: &str, span: Span) -> Diagnostic {
    Diagnostic::error(
        Code::InvalidTestRequest,
        format!("`{text}` is not an HTTP method"),
        span,
        "not a method",
    )
    .with_help("write a method such as `GET`, `POST` or `DELETE`")
}

/// A URL that is neither absolute `http(s)://…` nor a path.
pub(crate) fn invalid_url(span: Span) -> Diagnostic {
    Diagnostic::error(
        Code::InvalidTestRequest,
        "this is not a URL a client can request",
        span,
        "not a URL",
    )
    .with_help(
        "write an absolute URL (`\"https://example.com/a?b=1\"`) or a path \
         (`\"/a?b=1\"`, which means http://example.test)",
    )
}

/// An absolute URL whose scheme is neither `http` nor `https`.
pub(crate) fn invalid_url_scheme(span: Span) -> Diagnostic {
    Diagnostic::error(
        Code::InvalidTestRequest,
        "a test's URL is `http://…` or `https://…`",
        span,
        "unsupported scheme",
    )
    .with_help("the scheme sets X-Forwarded-Proto: write `http` or `https`")
}

/// A `client_ip` that is not one IP address.
pub(crate) fn invalid_client_ip(text: &str, span: Span) -> Diagnostic {
    Diagnostic::error(
        Code::InvalidTestRequest,
        format!("`{text}` is not an IP address"),
        span,
        "not an address",
    )
    .with_help("write one IPv4 or IPv6 address, such as \"203.0.113.7\" or \"2001:db8::7\"")
}

/// A status code out of shape or out of its line's range.
pub(crate) fn invalid_status(text: &str, span: Span, low: u16, high: u16) -> Diagnostic {
    Diagnostic::error(
        Code::InvalidStatus,
        format!("`{text}` is not a status code from {low} to {high}"),
        span,
        "invalid status",
    )
    .with_help(format!("write a three-digit status from {low} to {high}"))
}

/// A header name that is not an RFC 9110 token.
pub(crate) fn invalid_header_name(text: &str, span: Span) -> Diagnostic {
    Diagnostic::error(
        Code::InvalidHeaderName,
        format!("`{text}` is not a valid header name"),
        span,
        "invalid header name",
    )
    .with_help(
        "header names are letters, digits and `-` (RFC 9110 tokens), such as `X-Api-Version`",
    )
}

/// A header value holding a control character (CR, LF, NUL …).
pub(crate) fn invalid_header_value(span: Span) -> Diagnostic {
    Diagnostic::error(
        Code::InvalidHeaderValue,
        "a header value cannot hold a line break or another control character",
        span,
        "invalid header value",
    )
    .with_help("write the value on one line, without `\\n` or other control characters")
}

/// A second test with a name already used in the same file.
pub(crate) fn duplicate_test(name: &str, span: Span, first: Span) -> Diagnostic {
    Diagnostic::error(
        Code::DuplicateTest,
        format!("two tests are named \"{name}\""),
        span,
        "second test with this name",
    )
    .with_related(first, "first defined here")
    .with_help("give each test its own name: failures are reported by name")
}

/// A second test with a name already used in another `.test` file.
pub(crate) fn duplicate_test_elsewhere(name: &str, span: Span, first_at: &str) -> Diagnostic {
    Diagnostic::error(
        Code::DuplicateTest,
        format!("two tests are named \"{name}\""),
        span,
        format!("first defined at {first_at}"),
    )
    .with_help("test names are unique across all `.test` files; rename one of them")
}

/// A line that a test may hold once (`client_ip`, `upstream STATUS`), twice.
pub(crate) fn duplicate_line(what: &str, span: Span, first: Span) -> Diagnostic {
    Diagnostic::error(
        Code::DuplicateTestLine,
        format!("`{what}` is given twice in one test"),
        span,
        "given again here",
    )
    .with_related(first, "first given here")
    .with_help(format!("keep one `{what}` line"))
}

/// A test naming a rule that `proxy.conf` does not have.
pub(crate) fn unknown_rule<'a>(
    name: &str,
    span: Span,
    rules: impl IntoIterator<Item = &'a str>,
) -> Diagnostic {
    let diagnostic = Diagnostic::error(
        Code::UnknownTestRule,
        format!("proxy.conf has no rule named \"{name}\""),
        span,
        "unknown rule",
    );
    match did_you_mean(name, rules) {
        Some(suggestion) => diagnostic.with_help(suggestion),
        None => diagnostic.with_help("name a rule of proxy.conf, as written after `rule`"),
    }
}

/// A failing expectation: what was expected, what happened, and which rules
/// fired (names in file order).
pub(crate) fn test_failed(
    test: &str,
    span: Span,
    expected: &str,
    actual: &str,
    fired: &[&str],
) -> Diagnostic {
    let help = if fired.is_empty() {
        "no rule fired; `switchyard explain` shows why each one did not".to_owned()
    } else {
        format!(
            "rules that fired: {}; `switchyard explain` shows why",
            fired.join(", ")
        )
    };
    Diagnostic::error(
        Code::TestFailed,
        format!("test \"{test}\" failed: expected {expected}, got {actual}"),
        span,
        "this expectation does not hold",
    )
    .with_help(help)
}

/// `expect redirect` with a status that no `redirect` action can have.
pub(crate) fn invalid_redirect_status(text: &str, span: Span) -> Diagnostic {
    Diagnostic::error(
        Code::InvalidStatus,
        format!("`{text}` is not a redirect status"),
        span,
        "invalid redirect status",
    )
    .with_help("a redirect is 301, 302, 303, 307 or 308")
}

/// `expect header …` without saying which side of the proxy.
pub(crate) fn header_without_side(span: Span) -> Diagnostic {
    Diagnostic::error(
        Code::Syntax,
        "`expect header` does not say which headers",
        span,
        "request or response?",
    )
    .with_help(
        "write `expect request header NAME \"value\"` (what goes upstream) or \
         `expect response header NAME \"value\"` (what the client gets)",
    )
}
