//! Templates pre-split at compile time into literal and variable parts, so that
//! expanding one per request is a walk over a short vector.

use std::sync::Arc;

use super::condition::Field;
use super::function::Function;
use super::map::Map;

/// A compiled template: the parts, in order.
#[derive(Debug, Clone, PartialEq)]
pub struct Template {
    /// Literal text and the variables between it.
    pub parts: Vec<TemplatePart>,
}

/// One piece of a template.
#[derive(Debug, Clone, PartialEq)]
pub enum TemplatePart {
    /// Text copied as is (`{{`/`}}` already turned into single braces).
    Literal(String),
    /// A request field (`{host}`, `{header.X-Id}`, `{arg.page}` …).
    Field(Field),
    /// A capture group of one of the rule's regular expressions.
    Capture(CaptureRef),
    /// `{$NAME}`: the value the map holds for the field that its `in $NAME`
    /// tested (certain to be a key when the rule fires).
    MapValue {
        /// The map.
        map: Arc<Map>,
        /// The field its `in` tested.
        field: Field,
    },
    /// A function of a capture group (`{lower(1)}`); a function of a field
    /// is a `Field::Call`, whose value a request computes once.
    Call(Function, Box<TemplatePart>),
}

/// Where a capture group lives: which regex of the rule (its slot) and which group.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CaptureRef {
    /// Index of the regex among the rule's `~` tests, numbered in source order.
    pub slot: usize,
    /// Group index within that regex (0 is the whole match); names are resolved
    /// to indices at compile time.
    pub group: usize,
}

impl Template {
    /// A template that is only literal text.
    pub fn literal(text: impl Into<String>) -> Self {
        Template {
            parts: vec![TemplatePart::Literal(text.into())],
        }
    }

    /// The text when the template has no variable part, so callers can
    /// pre-build header values once.
    pub fn as_literal(&self) -> Option<&str> {
        match self.parts.as_slice() {
            [] => Some(""),
            [TemplatePart::Literal(text)] => Some(text),
            _ => None,
        }
    }
}
