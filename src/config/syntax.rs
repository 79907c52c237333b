//! Syntax errors in human words: pest's "expected one of these grammar rules"
//! becomes "expected an action such as `redirect` …", and the common slips
//! (`=` for `==`, a misspelt action, a missing `}`) get their own message and fix.

use pest::error::{Error, ErrorVariant, InputLocation};

use super::diagnostic::{Code, Diagnostic, did_you_mean};
use super::parse::Rule;
use super::span::Span;

/// The action keywords, for "did you mean".
const ACTION_WORDS: [&str; 5] = ["redirect", "respond", "rewrite", "request", "response"];

/// Converts a pest failure into one diagnostic pointing at the offending token.
pub fn convert(error: &Error<Rule>, text: &str, unclosed_braces: &[usize]) -> Diagnostic {
    let at = match error.location {
        InputLocation::Pos(at) => at,
        InputLocation::Span((start, _)) => start,
    };
    let positives: Vec<Rule> = match &error.variant {
        ErrorVariant::ParsingError { positives, .. } => positives.clone(),
        ErrorVariant::CustomError { .. } => Vec::new(),
    };
    let found = Found::at(text, at);
    let expected = expected_words(&positives);
    let expects = |rule: Rule| positives.contains(&rule);

    if (expects(Rule::op) || expects(Rule::op_eq)) && found.text.starts_with('=') {
        return Diagnostic::error(
            Code::SingleEquals,
            "`=` is not an operator",
            Span::new(at, at + 1),
            "single `=`",
        )
        .with_help("use `==` to compare");
    }
    let expects_action = expects(Rule::kw_redirect) || expects(Rule::kw_rewrite);
    if expects_action
        && found.is_word
        && !matches!(found.text, "rule" | "settings")
        && let Some(suggestion) = did_you_mean(found.text, ACTION_WORDS)
    {
        return Diagnostic::error(
            Code::UnknownAction,
            format!("unknown action `{}`", found.text),
            found.span,
            "not an action",
        )
        .with_help(suggestion);
    }
    if expects(Rule::rbrace) && (found.is_end || matches!(found.text, "rule" | "settings")) {
        let message = if found.is_end {
            "missing `}` at the end of the file".to_owned()
        } else {
            format!("missing `}}` before `{}`", found.text)
        };
        let mut diagnostic = Diagnostic::error(
            Code::MissingBrace,
            message,
            found.span,
            format!("expected {expected}"),
        )
        .with_help("close the block with `}`");
        if let Some(&open) = unclosed_braces.last() {
            diagnostic =
                diagnostic.with_related(Span::new(open, open + 1), "this `{` is never closed");
        }
        return diagnostic;
    }
    if expects(Rule::lbrace) && !expects(Rule::kw_rule) {
        return Diagnostic::error(
            Code::MissingBrace,
            format!("expected `{{`, found {}", found.describe()),
            found.span,
            "expected `{` here",
        )
        .with_help("a block opens with `{` after `rule NAME` or `settings`");
    }
    Diagnostic::error(
        Code::Syntax,
        format!("expected {expected}, found {}", found.describe()),
        found.span,
        format!("expected {}", short_expected(&positives)),
    )
}

/// The token the parser stopped at.
struct Found<'a> {
    text: &'a str,
    span: Span,
    is_word: bool,
    is_end: bool,
}

impl<'a> Found<'a> {
    fn at(text: &'a str, at: usize) -> Self {
        let rest = text.get(at..).unwrap_or("");
        let word_len = rest
            .char_indices()
            .find(|&(_, c)| !(c.is_ascii_alphanumeric() || c == '_' || c == '-'))
            .map_or(rest.len(), |(i, _)| i);
        if rest.is_empty() {
            return Found {
                text: "",
                span: Span::new(at, at),
                is_word: false,
                is_end: true,
            };
        }
        let len = if word_len > 0 {
            word_len
        } else {
            rest.chars().next().map_or(1, char::len_utf8)
        };
        Found {
            text: &rest[..len],
            span: Span::new(at, at + len),
            is_word: word_len > 0 && rest.starts_with(|c: char| c.is_ascii_alphabetic()),
            is_end: false,
        }
    }

    fn describe(&self) -> String {
        if self.is_end {
            "the end of the file".to_owned()
        } else if self.text.trim().is_empty() {
            "a line break".to_owned()
        } else {
            format!("`{}`", self.text)
        }
    }
}

/// Every expected thing, in words, joined "a, b or c".
fn expected_words(positives: &[Rule]) -> String {
    let mut words: Vec<&str> = Vec::new();
    for rule in positives {
        if let Some(word) = describe(*rule)
            && !words.contains(&word)
        {
            words.push(word);
        }
    }
    match words.as_slice() {
        [] => "something else".to_owned(),
        [one] => (*one).to_owned(),
        [init @ .., last] => format!("{} or {last}", init.join(", ")),
    }
}

/// A short form for the label under the caret.
fn short_expected(positives: &[Rule]) -> &'static str {
    positives
        .iter()
        .find_map(|rule| describe(*rule))
        .map_or("something else", |word| {
            word.split(" such as").next().unwrap_or(word)
        })
}

/// Human words for a grammar rule, or `None` for rules that never surface.
fn describe(rule: Rule) -> Option<&'static str> {
    Some(match rule {
        Rule::kw_rule | Rule::kw_settings | Rule::EOI => "`rule NAME {` or `settings {`",
        Rule::rule_name => "a rule name",
        Rule::lbrace => "`{`",
        Rule::rbrace => "`}`",
        Rule::kw_when => "`when`",
        Rule::kw_redirect
        | Rule::kw_respond
        | Rule::kw_rewrite
        | Rule::kw_request
        | Rule::kw_response
        | Rule::header_action
        | Rule::redirect
        | Rule::respond
        | Rule::rewrite => "an action such as `redirect` or `response header set`",
        Rule::kw_and | Rule::kw_or => "`and` or `or`",
        Rule::kw_not
        | Rule::not_prefix
        | Rule::kw_exists
        | Rule::lparen
        | Rule::field_name
        | Rule::field => "a condition such as `path == \"/\"`",
        Rule::op
        | Rule::op_eq
        | Rule::op_ne
        | Rule::op_match
        | Rule::op_not_match
        | Rule::op_prefix
        | Rule::op_suffix
        | Rule::op_contains
        | Rule::op_in
        | Rule::op_not_in => "an operator such as `==`, `~` or `in`",
        Rule::value | Rule::list | Rule::lbracket => "a string or a list such as `[\"a\", \"b\"]`",
        Rule::string | Rule::quote => "a double-quoted string",
        Rule::comma | Rule::rbracket => "`,` or `]`",
        Rule::rparen => "`)`",
        Rule::status => "a status code such as `301`",
        Rule::kw_header => "`header`",
        Rule::header_op | Rule::kw_set | Rule::kw_add | Rule::kw_remove => {
            "`set`, `add` or `remove`"
        }
        Rule::header_name => "a header name such as `X-Frame-Options`",
        Rule::setting_name | Rule::setting => "a setting such as `access_log json`",
        Rule::setting_value => "a value",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::super::parse::parse;
    use super::*;

    fn fault(text: &str) -> Diagnostic {
        match parse(text, &[]) {
            Ok(_) => panic!("parsed: {text}"),
            Err(diagnostic) => diagnostic,
        }
    }

    #[test]
    fn single_equals_gets_its_own_help() {
        let d = fault("rule a {\n  when path = \"/\"\n  respond 200\n}\n");
        assert_eq!(d.code, Code::SingleEquals);
        assert_eq!(d.help.as_deref(), Some("use `==` to compare"));
    }

    #[test]
    fn misspelt_action_is_named() {
        let d = fault("rule a {\n  redirct 301 \"/\"\n}\n");
        assert_eq!(d.code, Code::UnknownAction);
        assert_eq!(d.help.as_deref(), Some("did you mean `redirect`?"));
    }

    #[test]
    fn expected_words_never_show_grammar_names() {
        let d = fault("rule a {\n  when path == \"/\"\n  123\n}\n");
        assert_eq!(d.code, Code::Syntax);
        assert!(
            d.message
                .contains("an action such as `redirect` or `response header set`"),
            "{}",
            d.message
        );
        assert!(!d.message.contains("kw_"), "{}", d.message);
    }

    #[test]
    fn missing_close_brace_before_next_rule() {
        let d = fault("rule a {\n  respond 200\nrule b {\n  respond 404\n}\n");
        assert_eq!(d.code, Code::MissingBrace);
    }
}
