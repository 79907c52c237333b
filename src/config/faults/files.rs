//! Faults of the file as a whole: not UTF-8 (too large: `file_size.rs`).

use crate::config::diagnostic::{Code, Diagnostic};
use crate::config::span::Span;

/// The byte at `at` (under `span`) is not UTF-8.
pub(crate) fn not_utf8(name: &str, byte: u8, at: usize, span: Span) -> Diagnostic {
    Diagnostic::error(
        Code::NotUtf8,
        format!("{name} is not valid UTF-8: byte 0x{byte:02X} at offset {at}"),
        span,
        "invalid byte",
    )
    .with_help("save the file as UTF-8")
}
