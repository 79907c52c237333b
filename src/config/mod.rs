//! `proxy.conf` text → checked, compiled `RuleSet`, or every diagnostic at once.
//!
//! PLACEHOLDER API (to be replaced by the language work): the signatures below
//! are the contract the rest of the crate uses.

use std::fmt;
use std::path::{Path, PathBuf};

use crate::rules::RuleSet;

/// The file name the platform's config directory holds.
pub const CONFIG_FILE: &str = "proxy.conf";

/// A successfully compiled configuration, with the warnings `check` shows.
#[derive(Debug)]
pub struct Compiled {
    /// What the data plane runs.
    pub rule_set: RuleSet,
    /// Rendered warnings (never shown by `validate`).
    pub warnings: Vec<String>,
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
    /// The file was read but is invalid; every diagnostic, rendered.
    Invalid(Invalid),
}

/// The diagnostics of an invalid configuration.
#[derive(Debug)]
pub struct Invalid {
    /// Each diagnostic rendered as plain text with carets.
    pub rendered: Vec<String>,
}

impl Invalid {
    /// All diagnostics as one text, for stderr or the error log.
    pub fn render(&self, _color: bool) -> String {
        self.rendered.join("\n")
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

/// Reads and compiles `DIR/proxy.conf`; a missing directory or file is the
/// empty configuration, which forwards everything unchanged.
pub fn load_dir(dir: &Path) -> Result<Compiled, LoadError> {
    let path = dir.join(CONFIG_FILE);
    match std::fs::read(&path) {
        Ok(bytes) if bytes.iter().all(|b| b.is_ascii_whitespace()) => Ok(empty()),
        Ok(_) => Err(LoadError::Invalid(Invalid {
            rendered: vec!["proxy.conf: the language is not implemented yet".into()],
        })),
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(empty()),
        Err(err) if err.kind() == std::io::ErrorKind::NotADirectory => Ok(empty()),
        Err(source) => Err(LoadError::Io { path, source }),
    }
}

fn empty() -> Compiled {
    Compiled {
        rule_set: RuleSet::default(),
        warnings: Vec::new(),
    }
}
