//! Faults of templates: braces, names that name nothing, and capture
//! groups that are ambiguous, missing or may be unset.

use crate::config::diagnostic::{Code, Diagnostic};
use crate::config::span::Span;

/// `{` without a closing `}`.
pub(crate) fn unclosed_brace(span: Span) -> Diagnostic {
    Diagnostic::error(
        Code::TemplateBrace,
        "`{` without a closing `}` in a template",
        span,
        "opened here",
    )
    .with_help("close the name with `}`, or write `{{` for a literal `{`")
}

/// A `}` without an opening `{`.
pub(crate) fn lone_closing_brace(span: Span) -> Diagnostic {
    Diagnostic::error(
        Code::TemplateBrace,
        "`}` without an opening `{` in a template",
        span,
        "lone `}`",
    )
    .with_help("write `}}` for a literal `}`")
}

/// `{N}` when the condition has `count` `~` regexes (not exactly one), at
/// `regexes`.
pub(crate) fn ambiguous_group_number(
    name: &str,
    span: Span,
    count: usize,
    regexes: impl IntoIterator<Item = Span>,
) -> Diagnostic {
    let message = if count == 0 {
        format!("`{{{name}}}` refers to a regex group, but the condition has no `~`")
    } else {
        format!("`{{{name}}}` is ambiguous: the condition has {count} `~`")
    };
    let mut diagnostic =
        Diagnostic::error(Code::AmbiguousGroupNumber, message, span, "which regex?").with_help(
            if count == 0 {
                "numbered groups need `when FIELD ~ \"regex\"` in this rule"
            } else {
                "name the group, `(?<name>…)`, and write `{name}`"
            },
        );
    for other in regexes {
        diagnostic = diagnostic.with_related(other, "a `~` regex");
    }
    diagnostic
}

/// `{N}` past the `has` groups of the regex at `regex`.
pub(crate) fn no_such_group(name: &str, span: Span, has: usize, regex: Span) -> Diagnostic {
    let plural = if has == 1 { "group" } else { "groups" };
    Diagnostic::error(
        Code::NoSuchGroup,
        format!("the regex has no group {name}"),
        span,
        format!("the regex has {has} {plural}"),
    )
    .with_related(regex, "this regex")
    .with_help("count the `(` of capturing groups; `{0}` is the whole match")
}

/// `{name}` that is neither a field nor a group; `suggestion` is a
/// did-you-mean or, for another proxy's variable, what to write instead.
pub(crate) fn unknown_name(name: &str, span: Span, suggestion: Option<String>) -> Diagnostic {
    let diagnostic = Diagnostic::error(
        Code::UnknownTemplateName,
        format!("unknown template name `{{{name}}}`"),
        span,
        "not a field or group",
    );
    match suggestion {
        Some(help) if help.starts_with("did you mean") => diagnostic.with_help(help),
        Some(instead) => {
            diagnostic.with_help(format!("this is another proxy's name; write {instead}"))
        }
        None if name.is_empty() => diagnostic.with_help("write a name between the braces, or `{{}}` for literal braces"),
        None => diagnostic.with_help(
            "use a field ({host}, {path}, {header.Name} …), a named group of the condition's regex, or {{ for a literal brace",
        ),
    }
}

/// A group of a regex (at `regex`) that may not have matched, for `reason`.
pub(crate) fn uncertain_group(name: &str, span: Span, regex: Span, reason: &str) -> Diagnostic {
    Diagnostic::error(
        Code::UncertainGroup,
        format!("group `{name}` may not have matched when this rule fires"),
        span,
        "may be unset",
    )
    .with_related(regex, reason.to_string())
    .with_help("use groups of a `~` that must match for the rule to fire: not under `not`, not inside `or`")
}

/// Braces in a template around something that is not a name.
pub(crate) fn brace_not_a_name(span: Span) -> Diagnostic {
    Diagnostic::error(
        Code::TemplateBrace,
        "braces in a template enclose a name",
        span,
        "not a name",
    )
    .with_help("write `{{` and `}}` for literal braces")
}
