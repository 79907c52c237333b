//! Faults of the `settings` block: unknown or repeated settings, values of
//! the wrong type or out of range.

use crate::config::diagnostic::{Code, Diagnostic, did_you_mean};
use crate::config::span::Span;

/// A second `settings` block.
pub(crate) fn second_block(keyword: Span, first: Span) -> Diagnostic {
    Diagnostic::error(
        Code::DuplicateSettingsBlock,
        "a second `settings` block",
        keyword,
        "second block",
    )
    .with_related(first, "first block")
    .with_help("move these settings into the first block")
}

/// A setting that does not exist; `known` are the settings.
pub(crate) fn unknown(name: &str, span: Span, known: &[&str]) -> Diagnostic {
    let diagnostic = Diagnostic::error(
        Code::UnknownSetting,
        format!("unknown setting `{name}`"),
        span,
        "not a setting",
    );
    match did_you_mean(name, known.iter().copied()) {
        Some(suggestion) => diagnostic.with_help(suggestion),
        None => diagnostic.with_help(format!("the settings are {}", known.join(", "))),
    }
}

/// A setting given twice.
pub(crate) fn set_twice(name: &str, span: Span, first: Span) -> Diagnostic {
    Diagnostic::error(
        Code::DuplicateSetting,
        format!("`{name}` is set twice"),
        span,
        "set again here",
    )
    .with_related(first, "first set here")
    .with_help("keep one of them")
}

/// An `access_log` value that is not a format (`text` as written).
pub(crate) fn not_a_log_format(text: &str, span: Span) -> Diagnostic {
    let diagnostic = Diagnostic::error(
        Code::InvalidSettingValue,
        format!("`{text}` is not an access log format"),
        span,
        "expected `json`, `ltsv` or `off`",
    );
    match did_you_mean(text.trim_matches('"'), ["json", "ltsv", "off"]) {
        Some(suggestion) if text.starts_with('"') => {
            diagnostic.with_help(format!("{suggestion} (written bare, without quotes)"))
        }
        Some(suggestion) => diagnostic.with_help(suggestion),
        None => {
            diagnostic.with_help("write `access_log json`, `access_log ltsv` or `access_log off`")
        }
    }
}

/// A duration setting with a value that is not a duration.
pub(crate) fn not_a_duration(name: &str, span: Span) -> Diagnostic {
    Diagnostic::error(
        Code::InvalidSettingValue,
        format!("`{name}` takes a duration"),
        span,
        "not a duration",
    )
    .with_help("write an integer with `ms`, `s`, `m` or `h`, such as `250ms`, `5s` or `2m`")
}

/// A size setting with a value that is not a size.
pub(crate) fn not_a_size(name: &str, span: Span) -> Diagnostic {
    Diagnostic::error(
        Code::InvalidSettingValue,
        format!("`{name}` takes a size"),
        span,
        "not a size",
    )
    .with_help("write an integer with `B`, `KiB` or `MiB`, such as `32KiB`")
}

/// A value outside `min`..=`max` (both as the user writes them).
pub(crate) fn out_of_range(name: &str, span: Span, min: &str, max: &str) -> Diagnostic {
    Diagnostic::error(
        Code::SettingOutOfRange,
        format!("`{name}` is out of range"),
        span,
        format!("must be between {min} and {max}"),
    )
    .with_help(format!("choose a value from {min} to {max}"))
}
