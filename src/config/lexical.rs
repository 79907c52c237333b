//! A quick pass over the raw text before the grammar runs: it finds the slips
//! a parser explains badly (an unterminated string, single quotes) and refuses
//! nesting deep enough to strain the recursive-descent parser.
//!
//! It follows the keywords far enough to know which strings are templates
//! (§15: a template's string ends at the first `"` outside every `{…}`), as
//! the grammar does: the strings of actions are templates, those of `when`
//! conditions and of query names and patterns are not.

use super::diagnostic::Diagnostic;
use super::span::Span;
use super::template_lexeme::template_end;
use crate::config::faults;

/// The deepest nesting of parentheses and `not` a condition may have.
pub(crate) const MAX_NESTING: usize = 32;

/// What the pass learnt: faults, and the `{` left open at the end of the file.
#[derive(Debug, Default)]
pub(crate) struct Scan {
    /// Faults found; when any, the grammar is not run.
    pub(crate) faults: Vec<Diagnostic>,
    /// Offsets of `{` that no `}` closes, innermost last.
    pub(crate) unclosed_braces: Vec<usize>,
    /// Offsets of the words that start a top-level declaration (`rule`,
    /// `settings`, `list`, `map`, `include`) outside every brace: where a
    /// large file may be cut to be parsed in parts (`parse_parts`). A word
    /// found here that is not a block's start (a list named `rule`) only
    /// makes a part fail, and the file is then parsed whole.
    pub(crate) block_starts: Vec<usize>,
}

/// Scans the text outside comments for strings, quotes, braces and parentheses.
pub(crate) fn scan(text: &str) -> Scan {
    let bytes = text.as_bytes();
    let mut scan = Scan::default();
    let mut paren_depth = 0usize;
    let mut mode = Mode::Plain;
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'#' => i = line_end(bytes, i),
            b'"' => match mode.string_end(bytes, i) {
                Ok(end) => {
                    mode = mode.after_string();
                    i = end;
                }
                Err(end) => {
                    let end = trim_cr(bytes, i, end);
                    scan.faults
                        .push(faults::syntax::unterminated_string(Span::new(i, end)));
                    i = end;
                }
            },
            b'\'' => {
                let end = line_end(bytes, i);
                let close = bytes[i + 1..end].iter().position(|&b| b == b'\'');
                let span_end = close.map_or(i + 1, |at| i + 1 + at + 1);
                scan.faults
                    .push(faults::syntax::single_quotes(Span::new(i, span_end)));
                i = span_end;
            }
            b'(' => {
                paren_depth += 1;
                if paren_depth > MAX_NESTING {
                    scan.faults.push(too_deep(Span::new(i, i + 1)));
                    return scan;
                }
                i += 1;
            }
            b')' => {
                paren_depth = paren_depth.saturating_sub(1);
                i += 1;
            }
            b'{' => {
                scan.unclosed_braces.push(i);
                i += 1;
            }
            b'}' => {
                scan.unclosed_braces.pop();
                i += 1;
            }
            byte if byte.is_ascii_alphabetic() => {
                let end = bytes[i..]
                    .iter()
                    .position(|&b| !(b.is_ascii_alphanumeric() || b == b'_' || b == b'-'))
                    .map_or(bytes.len(), |at| i + at);
                let word = &bytes[i..end];
                if scan.unclosed_braces.is_empty()
                    && paren_depth == 0
                    && matches!(word, b"rule" | b"settings" | b"list" | b"map" | b"include")
                {
                    scan.block_starts.push(i);
                }
                mode = mode.after_word(word);
                i = end;
            }
            _ => i += 1,
        }
    }
    scan
}

/// Which kind of string comes next, as far as the keywords tell.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// Condition strings (and anything before the first keyword).
    Plain,
    /// Action strings: templates.
    Template,
    /// After `query`, before its verb.
    Query,
    /// After `query set|add`: the name (plain), then the value (template).
    QueryName,
    /// After `query remove|keep`: patterns, plain.
    QueryPatterns,
}

impl Mode {
    fn after_word(self, word: &[u8]) -> Mode {
        match (self, word) {
            (Mode::Query, b"set" | b"add") => Mode::QueryName,
            (Mode::Query, b"remove" | b"keep") => Mode::QueryPatterns,
            (_, b"when") => Mode::Plain,
            (_, b"query") => Mode::Query,
            (
                _,
                b"redirect" | b"respond" | b"rewrite" | b"request" | b"response" | b"stop"
                | b"rule" | b"settings",
            )
            | (Mode::Query, _) => Mode::Template,
            (other, _) => other,
        }
    }

    fn after_string(self) -> Mode {
        match self {
            Mode::QueryName | Mode::Query => Mode::Template,
            other => other,
        }
    }

    fn string_end(self, bytes: &[u8], open: usize) -> Result<usize, usize> {
        match self {
            Mode::Template | Mode::Query => template_end(bytes, open),
            _ => string_end(bytes, open),
        }
    }
}

/// The diagnostic for nesting beyond [`MAX_NESTING`].
pub(crate) fn too_deep(span: Span) -> Diagnostic {
    faults::syntax::too_deep(MAX_NESTING, span)
}

fn line_end(bytes: &[u8], from: usize) -> usize {
    bytes[from..]
        .iter()
        .position(|&b| b == b'\n')
        .map_or(bytes.len(), |at| from + at)
}

/// The offset after the closing quote, or `Err(end of line)` when the string
/// is not closed on its line.
fn string_end(bytes: &[u8], open: usize) -> Result<usize, usize> {
    let mut i = open + 1;
    while i < bytes.len() {
        match bytes[i] {
            b'"' => return Ok(i + 1),
            b'\n' => return Err(i),
            b'\\' if bytes.get(i + 1).is_some_and(|&b| b != b'\n') => i += 2,
            _ => i += 1,
        }
    }
    Err(bytes.len())
}

fn trim_cr(bytes: &[u8], open: usize, end: usize) -> usize {
    if end > open + 1 && bytes[end - 1] == b'\r' {
        end - 1
    } else {
        end
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::diagnostic::Code;

    #[test]
    fn finds_an_unterminated_string_on_its_line() {
        let scan = scan("rule a {\n  rewrite \"/x\n}\n");
        assert_eq!(scan.faults.len(), 1);
        assert_eq!(scan.faults[0].code, Code::UnterminatedString);
        assert_eq!(
            scan.faults[0].primary.as_ref().map(|l| l.span),
            Some(Span::new(19, 22))
        );
    }

    #[test]
    fn ignores_quotes_and_braces_in_comments_and_strings() {
        let scan = scan("# it's { fine\nrule a { rewrite \"/{{'}}\" }\n");
        assert!(scan.faults.is_empty());
        assert!(scan.unclosed_braces.is_empty());
    }

    #[test]
    fn escaped_quote_does_not_close() {
        assert!(scan(r#"x "a\"b" y"#).faults.is_empty());
        assert_eq!(scan(r#"x "a\" y"#).faults.len(), 1);
    }

    #[test]
    fn reports_single_quotes_and_open_braces() {
        let scan = scan("rule a {\n when path == '/x'\n");
        assert_eq!(scan.faults[0].code, Code::SingleQuotes);
        assert_eq!(scan.unclosed_braces, vec![7]);
    }

    #[test]
    fn template_strings_hold_quoted_arguments() {
        let text = "rule a {\n when path ~ \"x{\"\n redirect 301 \"{replace(path, \"/{2,}\", \"/\")}\"\n query remove \"a{\" \"b\"\n}\n";
        let scan = scan(text);
        assert!(scan.faults.is_empty(), "{:?}", scan.faults);
        assert!(scan.unclosed_braces.is_empty());
    }

    #[test]
    fn caps_parenthesis_depth() {
        let deep = "(".repeat(MAX_NESTING + 1);
        assert_eq!(scan(&deep).faults[0].code, Code::TooDeep);
        let fine = "(".repeat(MAX_NESTING);
        assert!(scan(&fine).faults.is_empty());
    }
}
