//! The words for a `proxy.conf` past the size cap, in one place so that the
//! help changes with what the language offers (it may say "split" only once
//! `include` exists).

use super::super::diagnostic::{Code, Diagnostic};

/// The file `name` is larger than `limit_mib` MiB.
pub(crate) fn file_too_large(name: &str, limit_mib: u64) -> Diagnostic {
    Diagnostic::whole_file(
        Code::FileTooLarge,
        format!("{name} is larger than {limit_mib} MiB"),
    )
    .with_help(
        "write long runs of similar rules as one rule with a regex group (`when path ~ \"^/old/(.*)$\"` and `redirect 301 \"/new/{1}\"`), and remove rules that are no longer needed",
    )
}
