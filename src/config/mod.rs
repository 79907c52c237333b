//! `proxy.conf` text → checked, compiled `RuleSet`, or every diagnostic at once.
//!
//! The pipeline, one file per stage: `load` reads `proxy.conf`, its
//! includes and map files (`files` holds the path rules) into one offset
//! space (`sources`), running `lexical` (a quick pass for slips and limits)
//! and `parse` with `grammar/proxy.pest` (syntax errors converted in
//! `syntax`) on each → `ast` (moved into that space by `relocate`) →
//! `compile` (analysis and compilation together, every fault collected) →
//! `rules::RuleSet`; `lint` adds the warnings of `check`; `render` draws
//! diagnostics for people, each against its own file.

pub(crate) mod ast;
pub mod compile;
pub mod csv;
pub(crate) mod diagnostic;
pub(crate) mod faults;
pub mod files;
pub(crate) mod found;
pub(crate) mod lexical;
pub(crate) mod lint;
pub(crate) mod load;
pub(crate) mod map_chains;
pub(crate) mod parse;
pub(crate) mod parse_parts;
pub(crate) mod relocate;
pub mod render;
pub mod sources;
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
pub use render::Report;
pub(crate) use render::stderr_wants_color;
pub use sources::{SourceFile, SourceMap};

/// The file name the platform's config directory holds.
pub const CONFIG_FILE: &str = "proxy.conf";

/// The largest file of a config (`proxy.conf`, an included file, a map
/// file); larger files are refused unread.
pub(crate) const MAX_FILE_BYTES: u64 = 4 * 1024 * 1024;

/// The largest config, counting every included and map file.
pub const MAX_CONFIG_BYTES: u64 = 64 * 1024 * 1024;

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
pub enum LoadError {
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

/// Reads and compiles `DIR/proxy.conf` with the files it includes and its
/// map files; a missing directory or file is the empty configuration, which
/// forwards everything unchanged.
pub fn load_dir(dir: &Path) -> Result<Compiled, LoadError> {
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
    let size = file.metadata().map_err(io)?.len();
    if size > MAX_FILE_BYTES {
        let fault = faults::file_size::file_too_large(CONFIG_FILE, size, MAX_FILE_BYTES);
        return Err(LoadError::Invalid(invalid(
            SourceMap::default(),
            vec![fault],
        )));
    }
    let mut bytes = Vec::new();
    file.take(MAX_FILE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(io)?;
    compile_in(CONFIG_FILE, &bytes, Some(&files::ConfigDir::new(dir))).map_err(LoadError::Invalid)
}

/// Compiles the bytes of one `proxy.conf` with no config directory (tests,
/// fuzzing, the docs' examples); `name` is what diagnostics show. An
/// `include` then matches nothing and a map file is missing.
pub fn compile_source(name: &str, bytes: &[u8]) -> Result<Compiled, Invalid> {
    compile_in(name, bytes, None)
}

/// Compiles the bytes of one `proxy.conf` whose file bodies, includes and
/// map files are read from `dir`.
pub fn compile_source_in(
    name: &str,
    bytes: &[u8],
    dir: Option<&Path>,
) -> Result<Compiled, Invalid> {
    compile_in(name, bytes, dir.map(files::ConfigDir::new).as_ref())
}

/// Compiles `bytes` (the file `name`) with the files it names from `dir`.
/// The rule set's hash covers the file bodies of `respond … file` too, so a
/// reload that only changed a page is confirmed as a change.
pub fn compile_in(
    name: &str,
    bytes: &[u8],
    dir: Option<&files::ConfigDir>,
) -> Result<Compiled, Invalid> {
    let loaded = match load::load(name, bytes, dir) {
        Ok(loaded) => loaded,
        Err((sources, faults)) => return Err(invalid(sources, faults)),
    };
    let sources = Arc::new(loaded.sources);
    let map_files = compile::MapFiles {
        sources: &sources,
        bases: &loaded.map_files,
    };
    let body_dir = dir.map(files::ConfigDir::root);
    match compile::compile(&loaded.file, loaded.hash, &map_files, body_dir) {
        Ok((mut rule_set, mut warnings)) => {
            if let Some(hash) = hash_with_file_bodies(&rule_set) {
                rule_set.source_hash = hash;
            }
            warnings.extend(lint::warnings(&loaded.file, &rule_set, &sources));
            warnings.sort_by_key(|d| d.primary.as_ref().map_or(0, |label| label.span.start));
            Ok(Compiled {
                rule_set,
                warnings: Report::new(sources, warnings),
            })
        }
        Err(faults) => Err(invalid_shared(sources, faults)),
    }
}

/// The hash of the config's own hash and, in file order, each file body's
/// path and bytes; `None` when there is no file body (the hash stays the
/// config's).
fn hash_with_file_bodies(rule_set: &RuleSet) -> Option<String> {
    let mut bodies = rule_set
        .rules
        .iter()
        .flat_map(|rule| &rule.actions)
        .filter_map(|action| match action {
            crate::rules::Action::RespondFile { file, .. } => Some(file),
            _ => None,
        })
        .peekable();
    bodies.peek()?;
    let mut hasher = Sha256::new();
    hasher.update(rule_set.source_hash.as_bytes());
    for body in bodies {
        hasher.update(b"\0file\0");
        hasher.update(body.path.as_bytes());
        hasher.update((body.bytes.len() as u64).to_be_bytes());
        hasher.update(&body.bytes);
    }
    Some(
        hasher
            .finalize()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect(),
    )
}

fn invalid(sources: SourceMap, diagnostics: Vec<Diagnostic>) -> Invalid {
    invalid_shared(Arc::new(sources), diagnostics)
}

fn invalid_shared(sources: Arc<SourceMap>, mut diagnostics: Vec<Diagnostic>) -> Invalid {
    diagnostics.sort_by_key(|d| d.primary.as_ref().map_or(0, |label| label.span.start));
    Invalid {
        report: Report::new(sources, diagnostics),
    }
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
