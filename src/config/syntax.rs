//! Syntax errors in human words: pest's "expected one of these grammar rules"
//! becomes "expected an action such as `redirect` …", and the common slips
//! (`=` for `==`, a misspelt action, a missing `}`) get their own message and fix.

use crate::config::faults;
use pest::error::{Error, ErrorVariant, InputLocation};

use super::diagnostic::{Diagnostic, did_you_mean};
use super::found::{Found, join_or};
use super::parse::Rule;
use super::span::Span;

/// The action keywords, for "did you mean".
const ACTION_WORDS: [&str; 7] = [
    "redirect", "respond", "rewrite", "request", "response", "query", "stop",
];

/// Converts a pest failure into one diagnostic pointing at the offending token.
pub(crate) fn convert(error: &Error<Rule>, text: &str, unclosed_braces: &[usize]) -> Diagnostic {
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

    if expects(Rule::op) && found.text.starts_with('=') {
        return faults::syntax::single_equals(Span::new(at, at + 1));
    }
    for (slip, word) in [("&&", "and"), ("||", "or")] {
        if found.text.starts_with(&slip[..1])
            && text.get(at..).is_some_and(|rest| rest.starts_with(slip))
        {
            return faults::syntax::c_operator(slip, word, Span::new(at, at + 2));
        }
    }
    let expects_action = expects(Rule::kw_redirect) || expects(Rule::kw_rewrite);
    if expects_action
        && found.is_word
        && !matches!(found.text, "rule" | "settings" | "list" | "map" | "include")
        && let Some(suggestion) = did_you_mean(found.text, ACTION_WORDS)
    {
        return faults::syntax::unknown_action(found.text, found.span, suggestion);
    }
    if expects(Rule::rbrace)
        && (found.is_end || matches!(found.text, "rule" | "settings" | "list" | "map" | "include"))
    {
        let diagnostic = if found.is_end {
            faults::syntax::missing_brace_at_end(last_token(text))
        } else {
            faults::syntax::missing_brace_before(found.text, found.span)
        };
        return match unclosed_braces.last() {
            Some(&open) => faults::syntax::never_closed(diagnostic, Span::new(open, open + 1)),
            None => diagnostic,
        };
    }
    let expects_block = positives
        .iter()
        .any(|r| describe(*r).is_some_and(|(rank, _)| rank == 10));
    if expects_block
        && found.is_word
        && let Some(suggestion) =
            did_you_mean(found.text, ["rule", "settings", "list", "map", "include"])
    {
        return faults::syntax::not_a_block_keyword(
            &expected,
            &found.describe(),
            found.span,
            suggestion,
        );
    }
    if expects(Rule::lbrace) && !expects(Rule::kw_rule) {
        return faults::syntax::expected_open_brace(&found.describe(), found.span);
    }
    faults::syntax::expected(
        &expected,
        &found.describe(),
        found.span,
        short_expected(&positives),
    )
}

/// The last non-blank character of the file, where "it ends here" points.
fn last_token(text: &str) -> Span {
    let trimmed = text.trim_end();
    let start = trimmed.char_indices().last().map_or(0, |(i, _)| i);
    Span::new(start, trimmed.len().max(start))
}

/// Every expected thing, in words, joined "a, b or c".
fn expected_words(positives: &[Rule]) -> String {
    let mut words: Vec<(u8, &str)> = Vec::new();
    for rule in positives {
        if let Some(word) = describe(*rule)
            && !words.iter().any(|(_, w)| *w == word.1)
        {
            words.push(word);
        }
    }
    words.sort_by_key(|(rank, _)| *rank);
    let words: Vec<&str> = words.into_iter().map(|(_, w)| w).collect();
    join_or(&words)
}

/// A short form for the label under the caret.
fn short_expected(positives: &[Rule]) -> &'static str {
    positives
        .iter()
        .filter_map(|rule| describe(*rule))
        // `and`/`or` can always continue a condition: name what else would do.
        .min_by_key(|(rank, _)| if matches!(rank, 6 | 7) { 20 } else { *rank })
        .map(|(_, word)| word)
        .map_or("something else", |word| {
            word.split(" such as").next().unwrap_or(word)
        })
}

/// Human words for a grammar rule, with a rank that orders them in a
/// message (most helpful first), or `None` for rules that never surface.
fn describe(rule: Rule) -> Option<(u8, &'static str)> {
    Some(match rule {
        Rule::kw_redirect
        | Rule::kw_respond
        | Rule::kw_rewrite
        | Rule::kw_request
        | Rule::kw_response
        | Rule::header_action
        | Rule::redirect
        | Rule::respond
        | Rule::rewrite
        | Rule::kw_query
        | Rule::query_action
        | Rule::kw_stop
        | Rule::stop => (0, "an action such as `redirect` or `response header set`"),
        Rule::kw_when | Rule::when_line => (1, "`when`"),
        Rule::kw_not
        | Rule::not_prefix
        | Rule::kw_exists
        | Rule::exists_test
        | Rule::lparen
        | Rule::group
        | Rule::field_name
        | Rule::field
        | Rule::operand
        | Rule::call
        | Rule::function_name
        | Rule::test
        | Rule::unary
        | Rule::condition
        | Rule::and_expr => (2, "a condition such as `path == \"/\"`"),
        Rule::op => (3, "an operator such as `==`, `~` or `in`"),
        Rule::number => (5, "an integer such as `500`"),
        Rule::file_body | Rule::kw_file => (5, "`file \"PATH\"`"),
        Rule::rule_phase | Rule::kw_on => (5, "`on response`"),
        Rule::phase_name => (5, "`response`"),
        Rule::value | Rule::list | Rule::lbracket | Rule::reference => {
            (4, "a string, `$NAME` or a list such as `[\"a\", \"b\"]`")
        }
        Rule::integer => (5, "an integer such as `502`"),
        Rule::decl_name => (5, "a name"),
        Rule::map_body | Rule::map_from | Rule::kw_from => (5, "`{` or `from \"FILE.csv\"`"),
        Rule::map_entry => (5, "a key and a value, each a double-quoted string"),
        Rule::string | Rule::template => (5, "a double-quoted string"),
        Rule::status => (5, "a status code such as `301`"),
        Rule::kw_header => (5, "`header`"),
        Rule::header_op | Rule::kw_set | Rule::kw_add | Rule::kw_remove | Rule::kw_default => {
            (5, "`set`, `add`, `remove` or `default`")
        }
        Rule::header_name => (5, "a header name such as `X-Frame-Options`"),
        Rule::rule_name => (5, "a rule name"),
        Rule::setting_name | Rule::setting => (5, "a setting such as `access_log json`"),
        Rule::setting_value => (5, "a value"),
        Rule::lbrace => (5, "`{`"),
        Rule::kw_and => (6, "`and`"),
        Rule::kw_or => (7, "`or`"),
        Rule::comma => (8, "`,`"),
        Rule::rbracket => (8, "`]`"),
        Rule::rparen => (8, "`)`"),
        Rule::rbrace => (9, "`}`"),
        Rule::kw_rule
        | Rule::kw_settings
        | Rule::rule_block
        | Rule::settings_block
        | Rule::kw_list
        | Rule::kw_map
        | Rule::kw_include
        | Rule::list_decl
        | Rule::map_decl
        | Rule::include_decl
        | Rule::file
        | Rule::EOI => (
            10,
            "`rule NAME {`, `settings {`, `list`, `map` or `include`",
        ),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::super::parse::parse_whole;
    use super::*;
    use crate::config::diagnostic::Code;

    fn fault(text: &str) -> Diagnostic {
        match parse_whole(text, &[]) {
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
