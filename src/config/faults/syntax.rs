//! Faults of the text before it is a tree: the lexical slips (quotes,
//! nesting) and the syntax errors converted from pest's.

use crate::config::diagnostic::{Code, Diagnostic};
use crate::config::span::Span;

/// A string that runs to the end of its line.
pub(crate) fn unterminated_string(span: Span) -> Diagnostic {
    Diagnostic::error(
        Code::UnterminatedString,
        "unterminated string",
        span,
        "this string is never closed",
    )
    .with_help(super::strings::SPLIT_STRING_HELP)
}

/// A string in single quotes.
pub(crate) fn single_quotes(span: Span) -> Diagnostic {
    Diagnostic::error(
        Code::SingleQuotes,
        "strings are written in double quotes",
        span,
        "single quote",
    )
    .with_help("write \"…\" instead of '…'")
}

/// Parentheses or `not` nested past `max` levels.
pub(crate) fn too_deep(max: usize, span: Span) -> Diagnostic {
    Diagnostic::error(
        Code::TooDeep,
        format!("condition nested more than {max} levels deep"),
        span,
        "too deep",
    )
    .with_help("split the condition or remove redundant parentheses and `not`")
}

/// `=` where an operator belongs.
pub(crate) fn single_equals(span: Span) -> Diagnostic {
    Diagnostic::error(
        Code::SingleEquals,
        "`=` is not an operator",
        span,
        "single `=`",
    )
    .with_help("use `==` to compare")
}

/// `&&` or `||` (`slip`) where `and` or `or` (`word`) belongs.
pub(crate) fn c_operator(slip: &str, word: &str, span: Span) -> Diagnostic {
    Diagnostic::error(
        Code::Syntax,
        format!("`{slip}` is not an operator"),
        span,
        format!("write `{word}`"),
    )
    .with_help(format!(
        "conditions are joined with `and` and `or`; write `{word}`"
    ))
}

/// A word close to an action keyword where an action belongs.
pub(crate) fn unknown_action(found: &str, span: Span, suggestion: String) -> Diagnostic {
    Diagnostic::error(
        Code::UnknownAction,
        format!("unknown action `{found}`"),
        span,
        "not an action",
    )
    .with_help(suggestion)
}

/// A block not closed before the end of the file.
pub(crate) fn missing_brace_at_end(last_token: Span) -> Diagnostic {
    Diagnostic::error(
        Code::MissingBrace,
        "missing `}` at the end of the file",
        last_token,
        "the file ends here",
    )
    .with_help("close the block with `}`")
}

/// A block that runs into the next one (`found` is `rule` or `settings`).
pub(crate) fn missing_brace_before(found: &str, span: Span) -> Diagnostic {
    Diagnostic::error(
        Code::MissingBrace,
        format!("missing `}}` before `{found}`"),
        span,
        "expected `}` before this",
    )
    .with_help("close the block with `}`")
}

/// The related label of a missing `}`: the `{` it would close.
pub(crate) fn never_closed(diagnostic: Diagnostic, open: Span) -> Diagnostic {
    diagnostic.with_related(open, "this `{` is never closed")
}

/// A word close to `rule` or `settings` where a block belongs.
pub(crate) fn not_a_block_keyword(
    expected: &str,
    found: &str,
    span: Span,
    suggestion: String,
) -> Diagnostic {
    Diagnostic::error(
        Code::Syntax,
        format!("expected {expected}, found {found}"),
        span,
        "not a block keyword",
    )
    .with_help(suggestion)
}

/// Something else where a block's `{` belongs.
pub(crate) fn expected_open_brace(found: &str, span: Span) -> Diagnostic {
    Diagnostic::error(
        Code::MissingBrace,
        format!("expected `{{`, found {found}"),
        span,
        "expected `{` here",
    )
    .with_help("a block opens with `{` after `rule NAME` or `settings`")
}

/// Any other syntax error: what the grammar expected, in words.
pub(crate) fn expected(expected: &str, found: &str, span: Span, short: &str) -> Diagnostic {
    Diagnostic::error(
        Code::Syntax,
        format!("expected {expected}, found {found}"),
        span,
        format!("expected {short}"),
    )
}
