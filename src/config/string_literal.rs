//! Double-quoted strings: their escapes (§2) and a map from every byte of the
//! unescaped value back to the file, so a fault found inside a string (a regex
//! error, a bad template name) is shown at the right character.

use super::span::Span;

/// A string literal as written and as meant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StringLiteral {
    /// The value with escapes resolved.
    pub value: String,
    /// The literal with its quotes.
    pub span: Span,
    /// For each byte of `value`, the file offset of the character that
    /// produced it; one extra entry for the end (the closing quote).
    offsets: Vec<usize>,
}

impl StringLiteral {
    /// Resolves the escapes of `body`, the text between the quotes, which
    /// starts at file offset `body_start`; `span` covers the quotes too.
    pub fn unescape(body: &str, body_start: usize, span: Span) -> Self {
        let mut value = String::with_capacity(body.len());
        let mut offsets = Vec::with_capacity(body.len() + 1);
        let mut chars = body.char_indices().peekable();
        while let Some((at, ch)) = chars.next() {
            let resolved = if ch == '\\' {
                match chars.peek().map(|&(_, next)| next) {
                    Some('"') => Some('"'),
                    Some('\\') => Some('\\'),
                    Some('n') => Some('\n'),
                    Some('t') => Some('\t'),
                    _ => None,
                }
            } else {
                None
            };
            let produced = match resolved {
                Some(escaped) => {
                    chars.next();
                    escaped
                }
                None => ch,
            };
            value.push(produced);
            for _ in 0..produced.len_utf8() {
                offsets.push(body_start + at);
            }
        }
        offsets.push(body_start + body.len());
        StringLiteral {
            value,
            span,
            offsets,
        }
    }

    /// The file span of the value's bytes `start..end` (a regex or template
    /// position), widened to whole source characters.
    pub fn inner_span(&self, start: usize, end: usize) -> Span {
        let last = self.offsets.len() - 1;
        let from = self.offsets[start.min(last)];
        let to = if end > start {
            // The end of the last byte's source character: the start of the
            // next value byte's source, or the closing quote.
            let next = self.offsets[end.min(last)];
            next.max(from + 1)
        } else {
            from
        };
        Span::new(from, to)
    }

    /// The span of the text between the quotes.
    pub fn body_span(&self) -> Span {
        Span::new(
            self.span.start + 1,
            self.span.end.saturating_sub(1).max(self.span.start + 1),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn literal(source: &str) -> StringLiteral {
        let body = &source[1..source.len() - 1];
        StringLiteral::unescape(body, 1, Span::new(0, source.len()))
    }

    #[test]
    fn resolves_the_four_escapes() {
        assert_eq!(literal(r#""a\"b\\c\nd\te""#).value, "a\"b\\c\nd\te");
    }

    #[test]
    fn keeps_other_backslashes() {
        assert_eq!(literal(r#""^/img/\d+\.png$""#).value, r"^/img/\d+\.png$");
        assert_eq!(literal(r#""\x""#).value, r"\x");
    }

    #[test]
    fn maps_value_bytes_back_to_the_file() {
        // value: a " b ; source: " a \ " b "
        let lit = literal(r#""a\"b""#);
        assert_eq!(lit.value, "a\"b");
        assert_eq!(lit.inner_span(0, 1), Span::new(1, 2));
        assert_eq!(lit.inner_span(1, 2), Span::new(2, 4));
        assert_eq!(lit.inner_span(2, 3), Span::new(4, 5));
        assert_eq!(lit.inner_span(3, 3), Span::new(5, 5));
    }

    #[test]
    fn maps_multibyte_characters() {
        let lit = literal("\"é(\"");
        assert_eq!(lit.inner_span(2, 3), Span::new(3, 4));
        assert_eq!(lit.inner_span(0, 2), Span::new(1, 3));
    }
}
