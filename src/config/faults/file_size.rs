//! The words for a file past the size caps — one file of the config past
//! 4 MiB, or the config with its includes and map files past 64 MiB — in one
//! place, so that the help changes with what the language offers (it says
//! "split" now that `include` exists).

use super::super::diagnostic::{Code, Diagnostic};

/// Sizes in words: `5.2 MiB`, `900 KiB`, `12 bytes`.
pub(crate) fn size(bytes: u64) -> String {
    const MIB: u64 = 1024 * 1024;
    if bytes >= MIB {
        format!("{:.1} MiB", bytes as f64 / MIB as f64)
    } else if bytes >= 1024 {
        format!("{} KiB", bytes / 1024)
    } else {
        format!("{bytes} bytes")
    }
}

/// A file past the per-file cap. The one text for every file of a config.
pub(crate) fn file_too_large(name: &str, bytes: u64, limit: u64) -> Diagnostic {
    Diagnostic::whole_file(
        Code::FileTooLarge,
        format!(
            "{name} is {}; a file may be at most {}",
            size(bytes),
            size(limit)
        ),
    )
    .with_help(
        "split it into several files and `include` them, or move long lists of redirects into a map file (`map NAME from \"FILE.csv\"`)",
    )
}

/// The config with its includes and map files past the total cap.
pub(crate) fn config_too_large(name: &str, bytes: u64, total: u64, limit: u64) -> Diagnostic {
    Diagnostic::whole_file(
        Code::ConfigTooLarge,
        format!(
            "the config with its includes and map files is larger than {}: {name} ({}) brings it to {}",
            size(limit),
            size(bytes),
            size(total)
        ),
    )
    .with_help("remove files the config does not need, or fold repeated rules into a map")
}
