//! The diagnostics of the response phase (section 12) and of file bodies
//! (section 13): what is wrong, what goes under the caret, and what to write
//! instead.

use super::super::diagnostic::{Code, Diagnostic, did_you_mean};
use super::super::span::Span;

/// `rule NAME on WORD` where WORD is not a phase.
pub(crate) fn unknown_phase(word: &str, span: Span) -> Diagnostic {
    let diagnostic = Diagnostic::error(
        Code::UnknownPhase,
        format!("unknown phase `{word}`"),
        span,
        "not a phase",
    );
    match did_you_mean(word, ["response", "request"]) {
        Some(suggestion) => diagnostic.with_help(suggestion),
        None => diagnostic.with_help(
            "write `rule NAME on response { … }` for a rule that sees the response, or leave `on …` out",
        ),
    }
}

/// A response field (`status`, `response_header`, `content_type`) in a
/// rule that runs on the request.
pub(crate) fn response_field_in_request_rule(field: &str, span: Span, rule: &str) -> Diagnostic {
    Diagnostic::error(
        Code::ResponseFieldInRequestRule,
        format!("`{field}` is a field of the response; mark the rule `on response`"),
        span,
        "only known once the response is",
    )
    .with_help(format!(
        "write `rule {rule} on response {{ … }}` so the rule runs when the response is known"
    ))
}

/// A request action in an `on response` rule; `action` names it as written.
pub(crate) fn request_action_in_response_rule(action: &str, span: Span, on: Span) -> Diagnostic {
    Diagnostic::error(
        Code::RequestActionInResponseRule,
        format!("`{action}` changes the request, which has gone upstream before `on response` rules run"),
        span,
        "a request action",
    )
    .with_related(on, "this rule runs on the response")
    .with_help("move this action to a rule without `on response`; response rules can use `response header …`, `respond`, `redirect` and `stop`")
}

/// `status` compared with a string.
pub(crate) fn status_with_string(span: Span, example: &str) -> Diagnostic {
    Diagnostic::error(
        Code::StatusValue,
        "`status` is a number; it is compared with integers, not strings",
        span,
        "a string",
    )
    .with_help(format!(
        "write the status without quotes, such as `{example}`"
    ))
}

/// `status` with an operator that compares text (`~`, `^=` …).
pub(crate) fn status_operator(symbol: &str, span: Span) -> Diagnostic {
    Diagnostic::error(
        Code::StatusValue,
        format!("`{symbol}` compares text; `status` is a number"),
        span,
        "not an operator for `status`",
    )
    .with_help("compare `status` with `==`, `!=`, `<`, `<=`, `>`, `>=` or `in [ … ]`, such as `status >= 500 and status < 600`")
}

/// A status outside its range: 100–599 for `==`, `!=` and lists, 0–999
/// for the ordering operators.
pub(crate) fn status_out_of_range(text: &str, span: Span, ordering: bool) -> Diagnostic {
    let (range, label, example) = if ordering {
        ("0 to 999", "not between 0 and 999", "status >= 500")
    } else {
        ("100 to 599", "not between 100 and 599", "status == 503")
    };
    Diagnostic::error(
        Code::StatusOutOfRange,
        format!("`{text}` is not a status code"),
        span,
        label,
    )
    .with_help(format!(
        "status codes here run from {range}, such as `{example}`"
    ))
}

/// A bare integer compared with a field that holds text.
pub(crate) fn integer_for_text(field: &str, span: Span, text: &str) -> Diagnostic {
    Diagnostic::error(
        Code::IntegerForText,
        format!("`{field}` is text; it is compared with strings, not integers"),
        span,
        "an integer",
    )
    .with_help(format!(
        "quote the value, such as `\"{text}\"`; only `status` takes integers"
    ))
}

/// `<`, `<=`, `>`, `>=` on a field other than `status`.
pub(crate) fn ordering_on_text(symbol: &str, field: &str, span: Span) -> Diagnostic {
    Diagnostic::error(
        Code::IntegerForText,
        format!("`{symbol}` compares numbers; `{field}` is text"),
        span,
        "only for `status`",
    )
    .with_help("compare text with `==`, `^=`, `$=`, `*=`, `~` or `in [ … ]`")
}

/// A file body with an absolute path, a `..` component, or one that leads
/// outside the config directory through a link.
pub(crate) fn file_outside(path: &str, span: Span, why: OutsideReason) -> Diagnostic {
    let (message, label) = match why {
        OutsideReason::Absolute => (
            format!("`{path}` is an absolute path; file bodies come from the config directory"),
            "absolute path",
        ),
        OutsideReason::ParentComponent => (
            format!("`{path}` climbs out with `..`; file bodies come from the config directory"),
            "`..` in the path",
        ),
        OutsideReason::LinkOut => (
            format!("`{path}` leads outside the config directory through a link"),
            "resolves outside",
        ),
    };
    Diagnostic::error(Code::FileBodyOutside, message, span, label).with_help(
        "put the file in the config directory (beside proxy.conf) and write its path relative to it, such as `file \"errors/down.html\"`",
    )
}

/// Why a file body's path leaves the config directory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum OutsideReason {
    /// It starts with `/`.
    Absolute,
    /// It holds a `..` component.
    ParentComponent,
    /// It resolves, through a link, outside the directory.
    LinkOut,
}

/// A file body that does not exist (or, with no config directory, cannot).
pub(crate) fn file_missing(path: &str, span: Span, has_dir: bool) -> Diagnostic {
    let help = if has_dir {
        "create the file in the config directory, or correct the path (it is relative to the directory of proxy.conf)"
    } else {
        "file bodies are read from the config directory; compile the configuration from its directory"
    };
    Diagnostic::error(
        Code::FileBodyMissing,
        format!("file `{path}` does not exist in the config directory"),
        span,
        "no such file",
    )
    .with_help(help)
}

/// A file body that is a directory, a device or another non-regular file.
pub(crate) fn file_not_regular(path: &str, span: Span) -> Diagnostic {
    Diagnostic::error(
        Code::FileBodyNotRegular,
        format!("`{path}` is not a regular file"),
        span,
        "a directory or a special file",
    )
    .with_help("name a regular file, such as `file \"errors/down.html\"`")
}

/// A file body over the limit.
pub(crate) fn file_too_large(path: &str, span: Span, size: u64, limit: u64) -> Diagnostic {
    Diagnostic::error(
        Code::FileBodyTooLarge,
        format!(
            "`{path}` is {size} bytes; a file body is at most {} MiB",
            limit / (1024 * 1024)
        ),
        span,
        "too large",
    )
    .with_help(
        "serve a smaller page (inline its images, or link to them) — the body is held in memory",
    )
}

/// A file body that exists but cannot be read.
pub(crate) fn file_unreadable(path: &str, span: Span, error: &std::io::Error) -> Diagnostic {
    Diagnostic::error(
        Code::FileBodyUnreadable,
        format!("cannot read `{path}`: {error}"),
        span,
        "unreadable",
    )
    .with_help("make the file readable by the proxy's user")
}
