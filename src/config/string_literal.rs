//! Double-quoted strings: their escapes (§2) and a map from every byte of the
//! unescaped value back to the file, so a fault found inside a string (a regex
//! error, a bad template name) is shown at the right character.

use super::span::Span;
use super::template_lexeme::placeholder_end;

/// A string literal as written and as meant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StringLiteral {
    /// The value with escapes resolved.
    pub value: String,
    /// The literal with its quotes.
    pub span: Span,
    /// Where the value's first byte comes from in the file.
    body_start: usize,
    /// For each byte of `value`, the file offset of the character that
    /// produced it, plus one entry for the end (the closing quote); `None`
    /// when no escape was resolved, so value byte `i` is at `body_start + i`.
    offsets: Option<Vec<usize>>,
}

impl StringLiteral {
    /// Resolves the escapes of `body`, the text between the quotes, which
    /// starts at file offset `body_start`; `span` covers the quotes too.
    pub fn unescape(body: &str, body_start: usize, span: Span) -> Self {
        Self::resolve(body, body_start, span, false)
    }

    /// Like `unescape`, for a template (§15): the text of each `{…}` is kept
    /// as written, so the strings inside it keep their escapes for the
    /// template compiler, which unescapes them with their own file positions.
    pub fn unescape_template(body: &str, body_start: usize, span: Span) -> Self {
        Self::resolve(body, body_start, span, true)
    }

    fn resolve(body: &str, body_start: usize, span: Span, template: bool) -> Self {
        if !body.contains('\\') {
            return StringLiteral {
                value: body.to_owned(),
                span,
                body_start,
                offsets: None,
            };
        }
        let mut value = String::with_capacity(body.len());
        let mut offsets = Vec::with_capacity(body.len() + 1);
        let mut chars = body.char_indices().peekable();
        let mut raw_until = 0;
        while let Some((at, ch)) = chars.next() {
            if template && at >= raw_until && ch == '{' {
                let bytes = body.as_bytes();
                if bytes.get(at + 1) == Some(&b'{') {
                    raw_until = at + 2;
                } else if let Some(end) = placeholder_end(bytes, at) {
                    raw_until = end;
                }
            }
            let resolved = if ch == '\\' && at >= raw_until {
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
        let offsets = (value.len() != body.len()).then_some(offsets);
        StringLiteral {
            value,
            span,
            body_start,
            offsets,
        }
    }

    /// Moves the literal by `base` bytes: its file's place in the config's
    /// single offset space (see `relocate`).
    pub fn shift(&mut self, base: usize) {
        self.span = Span::new(self.span.start + base, self.span.end + base);
        self.body_start += base;
        if let Some(offsets) = &mut self.offsets {
            for offset in offsets {
                *offset += base;
            }
        }
    }

    /// The file span of the value's bytes `start..end` (a regex or template
    /// position), widened to whole source characters.
    pub fn inner_span(&self, start: usize, end: usize) -> Span {
        let last = self.value.len();
        let at = |i: usize| match &self.offsets {
            Some(offsets) => offsets[i],
            None => self.body_start + i,
        };
        // Snap to whole characters of the value, so the span never splits one.
        let mut start = start.min(last);
        while !self.value.is_char_boundary(start) {
            start -= 1;
        }
        let mut end = end.clamp(start, last);
        while !self.value.is_char_boundary(end) {
            end += 1;
        }
        // The end of the last character's source: where the next value
        // character comes from, or the closing quote.
        Span::new(at(start), at(end))
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
    fn a_template_keeps_its_placeholders_as_written() {
        let source = r#""a\"{replace(path, "\"", "x")}\t""#;
        let body = &source[1..source.len() - 1];
        let lit = StringLiteral::unescape_template(body, 1, Span::new(0, source.len()));
        assert_eq!(lit.value, r#"a"{replace(path, "\"", "x")}	"#);
        // The `{` is value byte 2 and file byte 4 (after `"a\"`).
        assert_eq!(lit.inner_span(2, 3), Span::new(4, 5));
        // Inside the placeholder, value and file advance together.
        assert_eq!(lit.inner_span(19, 21), Span::new(21, 23));
    }

    #[test]
    fn maps_multibyte_characters() {
        let lit = literal("\"é(\"");
        assert_eq!(lit.inner_span(2, 3), Span::new(3, 4));
        assert_eq!(lit.inner_span(0, 2), Span::new(1, 3));
        // A span that would split `é` is widened to the whole character.
        assert_eq!(lit.inner_span(0, 1), Span::new(1, 3));
        assert_eq!(lit.inner_span(1, 1), Span::new(1, 3));
        let escaped = literal("\"\\té\"");
        assert_eq!(escaped.value, "\té");
        assert_eq!(escaped.inner_span(1, 2), Span::new(3, 5));
    }
}
