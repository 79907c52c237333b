//! Syntax errors of `.test` files in words, never grammar rule names: what
//! the parser expected (a test line, an expectation, a string …) and what it
//! found, with a "did you mean" for a misspelt keyword.

use pest::error::{Error, ErrorVariant, InputLocation};

use super::parse::Rule;
use crate::config::diagnostic::{Diagnostic, did_you_mean};
use crate::config::faults::test_files as faults;
use crate::config::found::{Found, join_or};
use crate::config::span::Span;

/// The words that start a line of a test.
const LINE_WORDS: [&str; 5] = ["request", "header", "client_ip", "upstream", "expect"];

/// The words that may follow `expect`.
const EXPECT_WORDS: [&str; 9] = [
    "status", "redirect", "respond", "forward", "request", "response", "no", "rules", "rule",
];

/// Converts a pest failure into one diagnostic at the offending token.
pub(crate) fn convert(error: &Error<Rule>, text: &str, unclosed_braces: &[usize]) -> Diagnostic {
    let at = match error.location {
        InputLocation::Pos(at) => at,
        InputLocation::Span((start, _)) => start,
    };
    let positives: Vec<Rule> = match &error.variant {
        ErrorVariant::ParsingError { positives, .. } => positives.clone(),
        ErrorVariant::CustomError { .. } => Vec::new(),
    };
    let expects = |rule: Rule| positives.contains(&rule);
    let found = Found::at(text, at);

    if expects(Rule::rbrace) && (found.is_end || found.text == "test") {
        let span = if found.is_end {
            last_token(text)
        } else {
            found.span
        };
        let open = unclosed_braces
            .last()
            .map(|&open| Span::new(open, open + 1));
        return faults::missing_brace((!found.is_end).then_some(found.text), span, open);
    }
    if expects(Rule::kw_request) && !expects(Rule::kw_expect) {
        return faults::request_not_first(&found.describe(), found.span);
    }
    if expects(Rule::kw_forward) && found.text == "header" {
        return faults::header_without_side(found.span);
    }
    let (words, expected, label) = if expects(Rule::kw_expect) {
        (
            &LINE_WORDS[..],
            "a line such as `header`, `upstream` or `expect`, or `}`".to_owned(),
            "a test line",
        )
    } else if expects(Rule::kw_forward) {
        (
            &EXPECT_WORDS[..],
            "an expectation such as `status 200`, `redirect 301 \"/new\"` or `rule \"NAME\"`"
                .to_owned(),
            "an expectation",
        )
    } else {
        (&[][..], expected_words(&positives), short(&positives))
    };
    if found.is_word
        && let Some(suggestion) = did_you_mean(found.text, words.iter().copied())
    {
        return faults::unknown_line(found.text, found.span, suggestion);
    }
    faults::syntax(&expected, &found.describe(), found.span, label)
}

/// The last non-blank character of the file, where "it ends here" points.
fn last_token(text: &str) -> Span {
    let trimmed = text.trim_end();
    let start = trimmed.char_indices().last().map_or(0, |(i, _)| i);
    Span::new(start, trimmed.len().max(start))
}

/// Every expected thing, in words, joined "a, b or c".
fn expected_words(positives: &[Rule]) -> String {
    let mut words: Vec<&str> = Vec::new();
    for word in positives.iter().filter_map(|rule| describe(*rule)) {
        if !words.contains(&word) {
            words.push(word);
        }
    }
    join_or(&words)
}

/// The first expected thing, for the label under the caret.
fn short(positives: &[Rule]) -> &'static str {
    positives
        .iter()
        .find_map(|rule| describe(*rule))
        .unwrap_or("something else")
}

/// Human words for a grammar rule, or `None` for rules that never surface.
fn describe(rule: Rule) -> Option<&'static str> {
    Some(match rule {
        Rule::kw_test | Rule::test_block | Rule::EOI => "`test \"NAME\" {`",
        Rule::string => "a double-quoted string",
        Rule::status => "a status code such as `200`",
        Rule::method => "a method such as `GET`",
        Rule::header_name => "a header name such as `X-Api-Version`",
        Rule::kw_header => "`header`",
        Rule::header_side | Rule::kw_request | Rule::kw_response => "`request` or `response`",
        Rule::lbrace => "`{`",
        Rule::lbracket => "`[`",
        Rule::comma => "`,`",
        Rule::rbracket => "`]`",
        Rule::rbrace => "`}`",
        _ => return None,
    })
}
