//! Faults of the file as a whole: too large, not UTF-8.

use crate::config::diagnostic::{Code, Diagnostic};
use crate::config::span::Span;

/// The file is over the size cap (whole file: there is nowhere to point).
pub(crate) fn too_large(name: &str, max_mib: usize) -> Diagnostic {
    Diagnostic::whole_file(
        Code::FileTooLarge,
        format!("{name} is larger than {max_mib} MiB"),
    )
    .with_help("split long lists of rules, or generate fewer of them")
}

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
