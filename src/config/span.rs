//! Byte ranges into `proxy.conf`: every AST node carries one, so every
//! diagnostic can point at exactly what was written.

/// A half-open byte range `start..end` of the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Span {
    /// First byte.
    pub(crate) start: usize,
    /// One past the last byte.
    pub(crate) end: usize,
}

impl Span {
    /// The range `start..end`.
    pub(crate) fn new(start: usize, end: usize) -> Self {
        Span { start, end }
    }

    /// The span of a pest pair or token.
    pub(crate) fn of(span: pest::Span<'_>) -> Self {
        Span::new(span.start(), span.end())
    }

    /// The smallest span covering both.
    pub(crate) fn to(self, other: Span) -> Self {
        Span::new(self.start.min(other.start), self.end.max(other.end))
    }

    /// The length in bytes.
    pub(crate) fn len(self) -> usize {
        self.end.saturating_sub(self.start)
    }

    /// Whether the span covers nothing.
    pub(crate) fn is_empty(self) -> bool {
        self.len() == 0
    }
}

impl From<Span> for miette::SourceSpan {
    fn from(span: Span) -> Self {
        miette::SourceSpan::new(span.start.into(), span.len())
    }
}
