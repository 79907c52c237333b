//! `proxy.conf` text → checked, compiled `RuleSet`, or every diagnostic at once.
//!
//! The pipeline, one file per stage: `lexical` (a quick pass for slips and
//! limits) → `parse` with `grammar/proxy.pest` (syntax errors converted in
//! `syntax`) → `ast` → `compile` (analysis and compilation together, every
//! fault collected) → `rules::RuleSet`; `lint` adds the warnings of `check`;
//! `render` draws diagnostics for people.

pub(crate) mod ast;
pub(crate) mod compile;
pub(crate) mod diagnostic;
pub(crate) mod faults;
pub(crate) mod lexical;
pub(crate) mod lint;
pub(crate) mod parse;
pub mod render;
pub mod span;
pub(crate) mod string_literal;
pub(crate) mod syntax;
pub(crate) mod template_lexeme;

use std::fmt;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use sha2::{Digest, Sha256};

use crate::rules::RuleSet;
pub use diagnostic::{Code, Diagnostic, Level};
pub(crate) use render::{Report, SourceFile, stderr_wants_color};
use span::Span;

/// The file name the platform's config directory holds.
pub const CONFIG_FILE: &str = "proxy.conf";

/// The largest `proxy.conf` accepted; larger files are refused unread.
pub(crate) const MAX_FILE_BYTES: u64 = 4 * 1024 * 1024;

/// A successfully compiled configuration, with the warnings `check` shows.
#[derive(Debug)]
pub struct Compiled {
    /// What the data plane runs.
    pub rule_set: RuleSet,
    /// Warnings (never shown by `validate`); `render` draws them.
    pub warnings: Report,
}

/// Why a configuration could not be loaded.
#[derive(Debug)]
pub(crate) enum LoadError {
    /// The file exists but could not be read (exit 2 in `validate`).
    Io {
        /// The path that failed.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// The file was read but is invalid; every diagnostic.
    Invalid(Invalid),
}

/// The diagnostics of an invalid configuration.
#[derive(Debug, Clone)]
pub struct Invalid {
    /// Every fault, with the file they point into.
    pub(crate) report: Report,
}

impl Invalid {
    /// All diagnostics as one text, for stderr or the error log.
    pub fn render(&self, color: bool) -> String {
        self.report.render(color)
    }

    /// The faults.
    pub fn diagnostics(&self) -> &[Diagnostic] {
        self.report.diagnostics()
    }
}

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LoadError::Io { path, source } => write!(f, "cannot read {}: {source}", path.display()),
            LoadError::Invalid(invalid) => write!(f, "{}", invalid.render(false)),
        }
    }
}

impl std::error::Error for LoadError {}

/// Reads and compiles `DIR/proxy.conf`; a missing directory or file is the
/// empty configuration, which forwards everything unchanged.
pub(crate) fn load_dir(dir: &Path) -> Result<Compiled, LoadError> {
    let path = dir.join(CONFIG_FILE);
    let io = |source| LoadError::Io {
        path: path.clone(),
        source,
    };
    let file = match std::fs::File::open(&path) {
        Ok(file) => file,
        Err(err)
            if matches!(
                err.kind(),
                std::io::ErrorKind::NotFound | std::io::ErrorKind::NotADirectory
            ) =>
        {
            return compile_source(CONFIG_FILE, b"").map_err(LoadError::Invalid);
        }
        Err(err) => return Err(io(err)),
    };
    let mut bytes = Vec::new();
    file.take(MAX_FILE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(io)?;
    compile_source(CONFIG_FILE, &bytes).map_err(LoadError::Invalid)
}

/// Compiles the bytes of one `proxy.conf`; `name` is what diagnostics show.
pub fn compile_source(name: &str, bytes: &[u8]) -> Result<Compiled, Invalid> {
    let source_hash = hex_sha256(bytes);
    if bytes.len() as u64 > MAX_FILE_BYTES {
        let source = Arc::new(SourceFile {
            name: name.to_owned(),
            text: String::new(),
        });
        let diagnostic = faults::file_size::file_too_large(name, MAX_FILE_BYTES / (1024 * 1024));
        return Err(invalid(source, vec![diagnostic]));
    }
    let text = match std::str::from_utf8(bytes) {
        Ok(text) => text.to_owned(),
        Err(error) => return Err(not_utf8(name, bytes, &error)),
    };
    let source = Arc::new(SourceFile {
        name: name.to_owned(),
        text,
    });
    let text = source.text.as_str();
    let scan = lexical::scan(text);
    if !scan.faults.is_empty() {
        return Err(invalid(source.clone(), scan.faults));
    }
    let file = match parse::parse(text, &scan.unclosed_braces) {
        Ok(file) => file,
        Err(diagnostic) => return Err(invalid(source.clone(), vec![diagnostic])),
    };
    match compile::compile(&file, source_hash) {
        Ok(rule_set) => {
            let warnings = lint::warnings(&file, &rule_set);
            Ok(Compiled {
                rule_set,
                warnings: Report::new(source, warnings),
            })
        }
        Err(faults) => Err(invalid(source.clone(), faults)),
    }
}

fn invalid(source: Arc<SourceFile>, mut diagnostics: Vec<Diagnostic>) -> Invalid {
    diagnostics.sort_by_key(|d| d.primary.as_ref().map_or(0, |label| label.span.start));
    Invalid {
        report: Report::new(source, diagnostics),
    }
}

fn not_utf8(name: &str, bytes: &[u8], error: &std::str::Utf8Error) -> Invalid {
    let at = error.valid_up_to();
    let text = String::from_utf8_lossy(bytes).into_owned();
    let byte = bytes.get(at).copied().unwrap_or(0);
    // The lossy text equals the input up to `at`, where U+FFFD (3 bytes) stands.
    let span = Span::new(at, at + '\u{FFFD}'.len_utf8());
    let diagnostic = faults::files::not_utf8(name, byte, at, span);
    let source = Arc::new(SourceFile {
        name: name.to_owned(),
        text,
    });
    invalid(source, vec![diagnostic])
}

fn hex_sha256(bytes: &[u8]) -> String {
    let digest = Sha256::digest(bytes);
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_input_hash_is_that_of_the_empty_string() {
        let compiled = compile_source(CONFIG_FILE, b"").map_err(|e| e.render(false));
        assert_eq!(
            compiled.map(|c| c.rule_set.source_hash).as_deref(),
            Ok("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        );
    }

    #[test]
    fn missing_directory_is_the_empty_configuration() {
        let compiled = load_dir(Path::new("/nonexistent/switchyard/test"));
        assert!(matches!(compiled, Ok(c) if c.rule_set.rules.is_empty()));
    }

    #[test]
    fn non_utf8_reports_the_byte_offset() {
        let Err(invalid) = compile_source(CONFIG_FILE, b"rule a {\xff}") else {
            panic!("accepted invalid UTF-8");
        };
        assert_eq!(invalid.diagnostics()[0].code, Code::NotUtf8);
        assert!(invalid.diagnostics()[0].message.contains("offset 8"));
    }

    #[test]
    fn oversized_input_is_refused() {
        let big = vec![b' '; (MAX_FILE_BYTES + 1) as usize];
        let Err(invalid) = compile_source(CONFIG_FILE, &big) else {
            panic!("accepted an oversized file");
        };
        assert_eq!(invalid.diagnostics()[0].code, Code::FileTooLarge);
    }

    #[test]
    fn all_semantic_faults_are_reported_at_once() {
        let text =
            "rule a {\n when paht == \"/\"\n redirect 300 \"/x\"\n}\nrule a {\n respond 200\n}\n";
        let Err(invalid) = compile_source(CONFIG_FILE, text.as_bytes()) else {
            panic!("accepted");
        };
        let codes: Vec<Code> = invalid.diagnostics().iter().map(|d| d.code).collect();
        assert_eq!(
            codes,
            vec![Code::UnknownField, Code::InvalidStatus, Code::DuplicateRule]
        );
    }
}
