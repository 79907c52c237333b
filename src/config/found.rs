//! The token a parser stopped at, in words: shared by the syntax errors of
//! `proxy.conf` and of `.test` files, which read the same lexical rules.

use super::span::Span;

/// The token a parser stopped at, as a syntax error names and points at it.
pub(crate) struct Found<'a> {
    /// The token's text (a word, a whole string, or one character).
    pub(crate) text: &'a str,
    /// Where it stands.
    pub(crate) span: Span,
    /// Whether it is a word starting with a letter (a keyword slip).
    pub(crate) is_word: bool,
    /// Whether the file ended there.
    pub(crate) is_end: bool,
}

impl<'a> Found<'a> {
    /// The token at byte `at` of `text`.
    pub(crate) fn at(text: &'a str, at: usize) -> Self {
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
        let line = rest.find('\n').map_or(rest.len(), |end| end);
        let len = if word_len > 0 {
            word_len
        } else if rest.starts_with('"') {
            rest[1..line].find('"').map_or(line, |close| close + 2)
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

    /// The token in words: `` `when` ``, "a string", "the end of the file".
    pub(crate) fn describe(&self) -> String {
        if self.is_end {
            "the end of the file".to_owned()
        } else if self.text.starts_with('"') {
            "a string".to_owned()
        } else if self.text.trim().is_empty() {
            "a line break".to_owned()
        } else {
            format!("`{}`", self.text)
        }
    }
}

/// Expected things in words, joined "a, b or c" ("something else" for none).
pub(crate) fn join_or(words: &[&str]) -> String {
    match words {
        [] => "something else".to_owned(),
        [one] => (*one).to_owned(),
        [init @ .., last] => format!("{} or {last}", init.join(", ")),
    }
}
