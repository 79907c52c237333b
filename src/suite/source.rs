//! Finding a config directory's `*.test` files (spec §16): regular files at
//! its top level (links followed), not hidden, read with a size cap, in byte
//! order of their names so every run reports in the same order.

use std::io::Read;
use std::path::{Path, PathBuf};

/// The extension that marks a test file.
pub(crate) const TEST_EXTENSION: &str = ".test";

/// The largest `.test` file read; larger ones are a diagnostic.
pub const MAX_TEST_FILE_BYTES: u64 = 4 * 1024 * 1024;

/// One `.test` file's name and bytes.
#[derive(Debug, Clone)]
pub struct TestSource {
    /// The file name, as diagnostics show it (`redirects.test`).
    pub name: String,
    /// Its bytes: at most one past the cap, so an oversized file is known
    /// without reading all of it.
    pub bytes: Vec<u8>,
    /// The file's size when it is over the cap.
    pub too_large: Option<u64>,
}

/// A `.test` file that exists but cannot be read.
#[derive(Debug)]
pub struct ReadError {
    /// The file or directory.
    pub(crate) path: PathBuf,
    /// The OS error.
    pub(crate) source: std::io::Error,
}

impl std::fmt::Display for ReadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "cannot read {}: {}", self.path.display(), self.source)
    }
}

impl std::error::Error for ReadError {}

/// The directory's test files; none when the directory does not exist.
pub fn read_dir(dir: &Path) -> Result<Vec<TestSource>, ReadError> {
    let error = |path: &Path, source| ReadError {
        path: path.to_owned(),
        source,
    };
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(err)
            if matches!(
                err.kind(),
                std::io::ErrorKind::NotFound | std::io::ErrorKind::NotADirectory
            ) =>
        {
            return Ok(Vec::new());
        }
        Err(err) => return Err(error(dir, err)),
    };
    let mut names = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|err| error(dir, err))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if is_test_name(&name) {
            names.push(name);
        }
    }
    names.sort();
    let mut sources = Vec::new();
    for name in names {
        let path = dir.join(&name);
        // Links are followed; a directory or device named `x.test` is not a test file.
        match std::fs::metadata(&path) {
            Ok(meta) if meta.is_file() => {}
            Ok(_) => continue,
            Err(err) => return Err(error(&path, err)),
        }
        let file = std::fs::File::open(&path).map_err(|err| error(&path, err))?;
        let size = file.metadata().map(|meta| meta.len()).unwrap_or(0);
        let mut bytes = Vec::new();
        file.take(MAX_TEST_FILE_BYTES + 1)
            .read_to_end(&mut bytes)
            .map_err(|err| error(&path, err))?;
        let too_large = (bytes.len() as u64 > MAX_TEST_FILE_BYTES).then_some(size);
        sources.push(TestSource {
            name,
            bytes,
            too_large,
        });
    }
    Ok(sources)
}

/// `NAME.test`, with a name, not hidden (as a shell's `*.test` matches).
fn is_test_name(name: &str) -> bool {
    name.len() > TEST_EXTENSION.len() && name.ends_with(TEST_EXTENSION) && !name.starts_with('.')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_visible_names_ending_in_dot_test() {
        assert!(is_test_name("redirects.test"));
        assert!(!is_test_name(".test"));
        assert!(!is_test_name(".hidden.test"));
        assert!(!is_test_name("proxy.conf"));
        assert!(!is_test_name("a.tests"));
    }

    #[test]
    fn reads_test_files_in_name_order_and_skips_what_is_not_one() {
        let dir = std::env::temp_dir().join(format!("switchyard-source-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("sub.test")).unwrap_or_else(|e| panic!("{e}"));
        for name in ["b.test", "a.test", ".hidden.test", "proxy.conf"] {
            std::fs::write(dir.join(name), name).unwrap_or_else(|e| panic!("{e}"));
        }
        std::os::unix::fs::symlink(dir.join("a.test"), dir.join("c.test"))
            .unwrap_or_else(|e| panic!("{e}"));
        let sources = read_dir(&dir).unwrap_or_else(|e| panic!("{e}"));
        let _ = std::fs::remove_dir_all(&dir);
        let names: Vec<&str> = sources.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["a.test", "b.test", "c.test"]);
        assert_eq!(sources[2].bytes, b"a.test");
        assert!(sources.iter().all(|s| s.too_large.is_none()));
    }

    #[test]
    fn a_missing_directory_has_no_tests() {
        assert!(
            read_dir(Path::new("/nonexistent/switchyard/tests"))
                .is_ok_and(|sources| sources.is_empty())
        );
    }
}
