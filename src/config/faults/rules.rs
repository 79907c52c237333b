//! Faults of a rule's shape: its name, its `when`, its actions, and the two
//! warnings `check` shows about rules (unreachable, redirect loop).

use crate::config::diagnostic::{Code, Diagnostic};
use crate::config::span::Span;

/// A rule name that breaks the naming rule.
pub(crate) fn invalid_name(name: &str, span: Span) -> Diagnostic {
    Diagnostic::error(
        Code::InvalidRuleName,
        format!("`{name}` is not a valid rule name"),
        span,
        "invalid name",
    )
    .with_help(
        "a rule name starts with a letter and holds letters, digits, `-` and `_`, such as `force-https`",
    )
}

/// A second rule named `name`.
pub(crate) fn duplicate(name: &str, span: Span, first: Span) -> Diagnostic {
    Diagnostic::error(
        Code::DuplicateRule,
        format!("two rules are named `{name}`"),
        span,
        "defined again here",
    )
    .with_related(first, "first defined here")
    .with_help("rule names are unique across all the files of the config; rename one of them")
}

/// A second `when` in one rule.
pub(crate) fn duplicate_when(keyword: Span, first: Span) -> Diagnostic {
    Diagnostic::error(
        Code::DuplicateWhen,
        "a rule has at most one `when`",
        keyword,
        "second `when`",
    )
    .with_related(first, "first `when`")
    .with_help("combine the conditions with `and` or `or` in one `when`")
}

/// `when` after an action.
pub(crate) fn when_not_first(keyword: Span, first_action: Span) -> Diagnostic {
    Diagnostic::error(
        Code::WhenNotFirst,
        "`when` must come before the actions",
        keyword,
        "`when` after an action",
    )
    .with_related(first_action, "first action")
    .with_help("move the `when` line to the top of the rule")
}

/// An action after the terminal one; `terminal_again` when it is a second
/// `redirect`, `respond` or `stop`.
pub(crate) fn after_terminal(terminal_again: bool, keyword: Span, end: Span) -> Diagnostic {
    let (code, message) = if terminal_again {
        (
            Code::DuplicateTerminal,
            "a rule has at most one `redirect`, `respond` or `stop`",
        )
    } else {
        (
            Code::ActionAfterTerminal,
            "an action after `redirect`, `respond` or `stop` never runs",
        )
    };
    Diagnostic::error(code, message, keyword, "after the terminal action")
        .with_related(end, "evaluation ends here")
        .with_help("`redirect`, `respond` and `stop` end the rule: put other actions before them, or move this one to a rule of its own")
}

/// A rule with no action.
pub(crate) fn no_action(name: &str, span: Span) -> Diagnostic {
    Diagnostic::error(
        Code::NoAction,
        format!("rule `{name}` has no action"),
        span,
        "does nothing",
    )
    .with_help("add an action such as `redirect`, `respond`, `rewrite`, `query remove` or `response header set`")
}

/// Warning: rule `name` sits below `blocker`, which ends every request
/// (`why` says how, under the blocker).
pub(crate) fn unreachable(
    name: &str,
    span: Span,
    blocker: &str,
    blocker_span: Span,
    why: &str,
) -> Diagnostic {
    Diagnostic::error(
        Code::UnreachableRule,
        format!("rule `{name}` can never fire"),
        span,
        "never reached",
    )
    .with_related(blocker_span, why)
    .with_help(format!(
        "move it above `{blocker}`, or give `{blocker}` a `when` line"
    ))
    .warning()
}

/// Warning: rule `name` redirects to a URL its own condition matches.
pub(crate) fn redirect_loop(name: &str, target: Span, when: Option<Span>) -> Diagnostic {
    let diagnostic = Diagnostic::error(
        Code::RedirectLoop,
        format!("rule `{name}` redirects to a URL that matches it again"),
        target,
        "the client is sent here, and this rule fires again",
    )
    .with_help("the browser would loop until it gives up; make the condition exclude the target")
    .warning();
    match when {
        Some(when) => diagnostic.with_related(when, "still true for the target"),
        None => diagnostic,
    }
}
