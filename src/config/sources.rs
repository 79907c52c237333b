//! The files of one config in a single offset space: `proxy.conf`, the files
//! it includes and its map files, each at a base offset of its own, so a
//! `Span` anywhere in the config is still one `(start, end)` pair and the
//! renderer finds the file it falls in.

use std::sync::Arc;

/// One file of the config, as diagnostics draw it.
#[derive(Debug)]
pub struct SourceFile {
    /// The name shown in reports, relative to the config directory
    /// (`proxy.conf`, `rules/legacy.conf`, `redirects.csv`).
    pub name: String,
    /// The text (for a non-UTF-8 file, with the bad bytes replaced).
    pub text: String,
    /// Where the file's first byte sits in the config's offset space.
    pub base: usize,
}

impl SourceFile {
    /// Whether the global offset falls in this file (its end included, where
    /// "the file ends here" points).
    pub fn holds(&self, offset: usize) -> bool {
        offset >= self.base && offset <= self.base + self.text.len()
    }
}

/// Every file of a config, in the order they were read.
#[derive(Debug, Default)]
pub struct SourceMap {
    files: Vec<Arc<SourceFile>>,
    next_base: usize,
}

impl SourceMap {
    /// A map holding one file at base 0.
    pub fn single(name: &str, text: String) -> Self {
        let mut map = SourceMap::default();
        map.add(name, text);
        map
    }

    /// Adds a file after the others and returns its base. One byte is left
    /// between files, so a span at one file's end never touches the next.
    pub fn add(&mut self, name: &str, text: String) -> usize {
        let base = self.next_base;
        self.next_base = base + text.len() + 1;
        self.files.push(Arc::new(SourceFile {
            name: name.to_owned(),
            text,
            base,
        }));
        base
    }

    /// The file a global offset falls in.
    pub fn locate(&self, offset: usize) -> Option<&Arc<SourceFile>> {
        let after = self.files.partition_point(|file| file.base <= offset);
        self.files[..after].last().filter(|file| file.holds(offset))
    }

    /// The first file (`proxy.conf`).
    pub fn root(&self) -> Option<&Arc<SourceFile>> {
        self.files.first()
    }

    /// The files, in the order they were read.
    pub fn files(&self) -> &[Arc<SourceFile>] {
        &self.files
    }

    /// The file with this name.
    pub fn named(&self, name: &str) -> Option<&Arc<SourceFile>> {
        self.files.iter().find(|file| file.name == name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_find_their_file() {
        let mut map = SourceMap::default();
        assert_eq!(map.add("proxy.conf", "abc".into()), 0);
        assert_eq!(map.add("empty.conf", String::new()), 4);
        assert_eq!(map.add("b.csv", "xy".into()), 5);
        let name = |at| map.locate(at).map(|f| f.name.as_str());
        assert_eq!(name(0), Some("proxy.conf"));
        assert_eq!(name(3), Some("proxy.conf"));
        assert_eq!(name(4), Some("empty.conf"));
        assert_eq!(name(6), Some("b.csv"));
        assert_eq!(name(7), Some("b.csv"));
        assert_eq!(name(8), None);
    }
}
