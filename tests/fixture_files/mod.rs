//! The config directory the fixtures' and the docs' examples read their
//! files from (`respond … file`, `map … from`, `include`): shared by the
//! diagnostics and docs tests.

use std::path::{Path, PathBuf};

/// `tests/fixtures/files`, with the one file too large to commit made here:
/// a sparse file just over the 1 MiB limit of a file body.
pub fn files_dir() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/files");
    let big = dir.join("too-large.bin");
    if !big.exists() {
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&big)
            .unwrap_or_else(|e| panic!("{}: {e}", big.display()));
        file.set_len(1024 * 1024 + 1)
            .unwrap_or_else(|e| panic!("{}: {e}", big.display()));
    }
    dir
}
