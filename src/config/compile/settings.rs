//! The `settings` block (§10): each value typed and range-checked, every fault
//! reported, defaults for what is not given.

use crate::config::faults;
use std::collections::HashMap;
use std::time::Duration;

use super::super::ast::{SettingEntry, SettingsBlock};
use super::super::diagnostic::Diagnostic;
use super::super::span::Span;
use crate::rules::{AccessLogFormat, Settings};

/// What kind of value a setting takes, with its range.
#[derive(Debug, Clone, Copy)]
enum Kind {
    AccessLog,
    Duration { min: Duration, max: Duration },
    Size { min: u64, max: u64 },
}

const fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

const KIB: u64 = 1024;
const MIB: u64 = 1024 * 1024;

/// Every setting, its kind and range, in the spec's order.
const TABLE: [(&str, Kind); 7] = [
    ("access_log", Kind::AccessLog),
    (
        "upstream_connect_timeout",
        Kind::Duration {
            min: ms(100),
            max: ms(60_000),
        },
    ),
    (
        "upstream_response_timeout",
        Kind::Duration {
            min: ms(1_000),
            max: ms(600_000),
        },
    ),
    (
        "client_header_timeout",
        Kind::Duration {
            min: ms(1_000),
            max: ms(300_000),
        },
    ),
    (
        "keepalive_timeout",
        Kind::Duration {
            min: ms(1_000),
            max: ms(3_600_000),
        },
    ),
    (
        "max_request_header_bytes",
        Kind::Size { min: KIB, max: MIB },
    ),
    (
        "shutdown_grace",
        Kind::Duration {
            min: ms(0),
            max: ms(600_000),
        },
    ),
];

/// A typed value.
enum Typed {
    AccessLog(AccessLogFormat),
    Duration(Duration),
    Size(u64),
}

/// Compiles every settings block (more than one is itself a fault).
pub(crate) fn compile(blocks: &[SettingsBlock], out: &mut Vec<Diagnostic>) -> Settings {
    let mut settings = Settings::default();
    if let Some(first) = blocks.first() {
        for extra in &blocks[1..] {
            out.push(faults::settings::second_block(extra.keyword, first.keyword));
        }
    }
    let mut seen: HashMap<&str, Span> = HashMap::new();
    for entry in blocks.iter().flat_map(|block| block.entries.iter()) {
        let Some(&(name, kind)) = TABLE.iter().find(|(name, _)| *name == entry.name.text) else {
            let known: Vec<&str> = TABLE.iter().map(|(n, _)| *n).collect();
            out.push(faults::settings::unknown(
                &entry.name.text,
                entry.name.span,
                &known,
            ));
            continue;
        };
        if let Some(&first) = seen.get(name) {
            out.push(faults::settings::set_twice(name, entry.name.span, first));
            continue;
        }
        seen.insert(name, entry.name.span);
        match typed(entry, kind) {
            Ok(value) => apply(&mut settings, name, value),
            Err(diagnostic) => out.push(diagnostic),
        }
    }
    settings
}

fn apply(settings: &mut Settings, name: &str, value: Typed) {
    match (name, value) {
        (_, Typed::AccessLog(format)) => settings.access_log = format,
        ("max_request_header_bytes", Typed::Size(bytes)) => {
            settings.max_request_header_bytes = usize::try_from(bytes).unwrap_or(usize::MAX);
        }
        ("upstream_connect_timeout", Typed::Duration(d)) => settings.upstream_connect_timeout = d,
        ("upstream_response_timeout", Typed::Duration(d)) => settings.upstream_response_timeout = d,
        ("client_header_timeout", Typed::Duration(d)) => settings.client_header_timeout = d,
        ("keepalive_timeout", Typed::Duration(d)) => settings.keepalive_timeout = d,
        ("shutdown_grace", Typed::Duration(d)) => settings.shutdown_grace = d,
        _ => {}
    }
}

fn typed(entry: &SettingEntry, kind: Kind) -> Result<Typed, Diagnostic> {
    let text = entry.value.text.as_str();
    let span = entry.value.span;
    let name = &entry.name.text;
    match kind {
        Kind::AccessLog => match text {
            "json" => Ok(Typed::AccessLog(AccessLogFormat::Json)),
            "ltsv" => Ok(Typed::AccessLog(AccessLogFormat::Ltsv)),
            "off" => Ok(Typed::AccessLog(AccessLogFormat::Off)),
            _ => Err(faults::settings::not_a_log_format(text, span)),
        },
        Kind::Duration { min, max } => {
            let value =
                parse_duration(text).ok_or_else(|| faults::settings::not_a_duration(name, span))?;
            match value {
                Some(d) if d >= min && d <= max => Ok(Typed::Duration(d)),
                _ => Err(out_of_range(
                    name,
                    span,
                    &show_duration(min),
                    &show_duration(max),
                )),
            }
        }
        Kind::Size { min, max } => {
            let value = parse_size(text).ok_or_else(|| faults::settings::not_a_size(name, span))?;
            match value {
                Some(bytes) if bytes >= min && bytes <= max => Ok(Typed::Size(bytes)),
                _ => Err(out_of_range(name, span, &show_size(min), &show_size(max))),
            }
        }
    }
}

fn out_of_range(name: &str, span: Span, min: &str, max: &str) -> Diagnostic {
    faults::settings::out_of_range(name, span, min, max)
}

/// Splits `250ms` into digits and unit; `None` when it is not that shape.
fn split_number(text: &str) -> Option<(&str, &str)> {
    let digits = text.bytes().take_while(u8::is_ascii_digit).count();
    (digits > 0).then(|| text.split_at(digits))
}

/// `Some(None)` is a well-formed duration too large to represent.
pub(crate) fn parse_duration(text: &str) -> Option<Option<Duration>> {
    let (digits, unit) = split_number(text)?;
    let factor_ms: u64 = match unit {
        "ms" => 1,
        "s" => 1_000,
        "m" => 60_000,
        "h" => 3_600_000,
        _ => return None,
    };
    Some(
        digits
            .parse::<u64>()
            .ok()
            .and_then(|n| n.checked_mul(factor_ms))
            .map(Duration::from_millis),
    )
}

/// `Some(None)` is a well-formed size too large to represent.
pub(crate) fn parse_size(text: &str) -> Option<Option<u64>> {
    let (digits, unit) = split_number(text)?;
    let factor: u64 = match unit {
        "B" => 1,
        "KiB" => KIB,
        "MiB" => MIB,
        _ => return None,
    };
    Some(
        digits
            .parse::<u64>()
            .ok()
            .and_then(|n| n.checked_mul(factor)),
    )
}

fn show_duration(d: Duration) -> String {
    let ms = d.as_millis();
    if !ms.is_multiple_of(1000) {
        format!("{ms}ms")
    } else {
        format!("{}s", ms / 1000)
    }
}

fn show_size(bytes: u64) -> String {
    if bytes.is_multiple_of(MIB) {
        format!("{}MiB", bytes / MIB)
    } else if bytes.is_multiple_of(KIB) {
        format!("{}KiB", bytes / KIB)
    } else {
        format!("{bytes}B")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("250ms"), Some(Some(ms(250))));
        assert_eq!(parse_duration("5s"), Some(Some(ms(5_000))));
        assert_eq!(parse_duration("2m"), Some(Some(ms(120_000))));
        assert_eq!(parse_duration("1h"), Some(Some(ms(3_600_000))));
        assert_eq!(parse_duration("0s"), Some(Some(ms(0))));
        assert_eq!(parse_duration("5"), None);
        assert_eq!(parse_duration("5sec"), None);
        assert_eq!(parse_duration("s"), None);
        assert_eq!(parse_duration("1.5s"), None);
        assert_eq!(parse_duration("99999999999999999999h"), Some(None));
    }

    #[test]
    fn sizes() {
        assert_eq!(parse_size("32KiB"), Some(Some(32 * 1024)));
        assert_eq!(parse_size("1MiB"), Some(Some(1024 * 1024)));
        assert_eq!(parse_size("512B"), Some(Some(512)));
        assert_eq!(parse_size("32kb"), None);
        assert_eq!(parse_size("99999999999999999999MiB"), Some(None));
    }

    #[test]
    fn shows_limits_in_their_natural_unit() {
        assert_eq!(show_duration(ms(100)), "100ms");
        assert_eq!(show_duration(ms(60_000)), "60s");
        assert_eq!(show_duration(ms(0)), "0s");
        assert_eq!(show_size(KIB), "1KiB");
        assert_eq!(show_size(MIB), "1MiB");
    }
}
