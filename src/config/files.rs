//! The path rules for files a config names (spec sections 13 and 14): map
//! files and includes — and file bodies, when those land — are relative to
//! the config directory, never absolute, never through `..`, never resolving
//! (through links) outside the directory, and regular files. One module owns
//! these rules so every kind of file follows the same ones.

use std::fs;
use std::io::Read;
use std::path::{Component, Path, PathBuf};

/// Why a path named in the config cannot be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PathFault {
    /// The path is empty.
    Empty,
    /// `/etc/passwd`.
    Absolute,
    /// A `..` component.
    Parent,
    /// It resolves, through a link, outside the config directory.
    Outside,
    /// Nothing is there (or the config has no directory).
    Missing,
    /// A directory, device, socket …
    NotRegular,
    /// Larger than the limit; the size in bytes.
    TooLarge(u64),
    /// The OS refused to read it.
    Unreadable(String),
}

/// The directory a config was loaded from.
#[derive(Debug, Clone)]
pub struct ConfigDir {
    root: PathBuf,
    canonical: Option<PathBuf>,
}

impl ConfigDir {
    /// The directory at `root` (which may not exist).
    pub fn new(root: &Path) -> Self {
        ConfigDir {
            root: root.to_owned(),
            canonical: fs::canonicalize(root).ok(),
        }
    }

    /// The directory as given (file bodies are resolved against it).
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Reads the file at `relative`, at most `limit` bytes, after checking
    /// every path rule.
    pub fn read(&self, relative: &str, limit: u64) -> Result<Vec<u8>, PathFault> {
        check_relative(relative)?;
        let canonical = self.inside(relative)?;
        let meta = fs::metadata(&canonical).map_err(|e| unreadable(&e))?;
        if !meta.is_file() {
            return Err(PathFault::NotRegular);
        }
        if meta.len() > limit {
            return Err(PathFault::TooLarge(meta.len()));
        }
        let file = fs::File::open(&canonical).map_err(|e| unreadable(&e))?;
        let mut bytes = Vec::with_capacity(meta.len() as usize);
        file.take(limit + 1)
            .read_to_end(&mut bytes)
            .map_err(|e| unreadable(&e))?;
        if bytes.len() as u64 > limit {
            return Err(PathFault::TooLarge(bytes.len() as u64));
        }
        Ok(bytes)
    }

    /// The canonical path of `relative`, which must exist inside the directory.
    fn inside(&self, relative: &str) -> Result<PathBuf, PathFault> {
        let Some(root) = &self.canonical else {
            return Err(PathFault::Missing);
        };
        let canonical = match fs::canonicalize(self.root.join(relative)) {
            Ok(path) => path,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(PathFault::Missing),
            Err(e) if e.kind() == std::io::ErrorKind::NotADirectory => {
                return Err(PathFault::Missing);
            }
            Err(e) => return Err(unreadable(&e)),
        };
        if canonical.starts_with(root) {
            Ok(canonical)
        } else {
            Err(PathFault::Outside)
        }
    }

    /// The paths `pattern` matches, relative to the directory, in byte
    /// order. `*` and `?` match within one segment and never a leading `.`;
    /// only regular files (after links) match a wildcard.
    pub fn glob(&self, pattern: &str) -> Result<Vec<String>, PathFault> {
        check_relative(pattern)?;
        if self.canonical.is_none() {
            return Ok(Vec::new());
        }
        let segments: Vec<&str> = pattern
            .split('/')
            .filter(|s| !s.is_empty() && *s != ".")
            .collect();
        let mut found = vec![String::new()];
        for (at, segment) in segments.iter().enumerate() {
            let last = at + 1 == segments.len();
            let mut next = Vec::new();
            for prefix in &found {
                let joined = |name: &str| {
                    if prefix.is_empty() {
                        name.to_owned()
                    } else {
                        format!("{prefix}/{name}")
                    }
                };
                if !has_wildcard(segment) {
                    next.push(joined(segment));
                    continue;
                }
                let Ok(entries) = fs::read_dir(self.root.join(prefix)) else {
                    continue;
                };
                for entry in entries.flatten() {
                    let Some(name) = entry.file_name().to_str().map(str::to_owned) else {
                        continue;
                    };
                    if !matches(segment, &name) {
                        continue;
                    }
                    let path = self.root.join(prefix).join(&name);
                    let wanted = if last { path.is_file() } else { path.is_dir() };
                    if wanted {
                        next.push(joined(&name));
                    }
                }
            }
            found = next;
        }
        // A literal path is a match only when something is there; what is
        // there is checked when it is read.
        found.retain(|path| !path.is_empty() && fs::symlink_metadata(self.root.join(path)).is_ok());
        found.sort_unstable_by(|a, b| a.as_bytes().cmp(b.as_bytes()));
        Ok(found)
    }
}

/// Relative, not empty, no `..`.
pub fn check_relative(path: &str) -> Result<(), PathFault> {
    if path.is_empty() {
        return Err(PathFault::Empty);
    }
    let path = Path::new(path);
    let mut components = path.components();
    if path.is_absolute() || path.has_root() {
        return Err(PathFault::Absolute);
    }
    if components.any(|c| matches!(c, Component::ParentDir | Component::Prefix(_))) {
        return Err(PathFault::Parent);
    }
    Ok(())
}

fn unreadable(error: &std::io::Error) -> PathFault {
    PathFault::Unreadable(error.to_string())
}

fn has_wildcard(segment: &str) -> bool {
    segment.contains(['*', '?'])
}

/// Whether one path segment matches a pattern segment of `*` and `?`; a
/// wildcard never matches a leading `.`.
pub fn matches(pattern: &str, name: &str) -> bool {
    if name.starts_with('.') && !pattern.starts_with('.') {
        return false;
    }
    let pattern: Vec<char> = pattern.chars().collect();
    let name: Vec<char> = name.chars().collect();
    // Iterative wildcard matching with one backtrack point for the last `*`.
    let (mut p, mut n) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while n < name.len() {
        match pattern.get(p) {
            Some('*') => {
                star = Some((p, n));
                p += 1;
            }
            Some(&c) if c == '?' || c == name[n] => {
                p += 1;
                n += 1;
            }
            _ => match star {
                Some((sp, sn)) => {
                    p = sp + 1;
                    n = sn + 1;
                    star = Some((sp, sn + 1));
                }
                None => return false,
            },
        }
    }
    pattern[p..].iter().all(|&c| c == '*')
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn wildcards_stay_in_one_segment_and_skip_dot_files() {
        assert!(matches("*.conf", "a.conf"));
        assert!(matches("?.conf", "a.conf"));
        assert!(!matches("?.conf", "ab.conf"));
        assert!(!matches("*.conf", ".hidden.conf"));
        assert!(matches(".*.conf", ".hidden.conf"));
        assert!(matches("a*b*c", "axxbyyc"));
        assert!(!matches("a*b*c", "axxbyy"));
        assert!(matches("*", "x"));
    }

    #[test]
    fn paths_must_stay_relative() {
        assert_eq!(check_relative("/etc/passwd"), Err(PathFault::Absolute));
        assert_eq!(check_relative("a/../../b"), Err(PathFault::Parent));
        assert_eq!(check_relative(""), Err(PathFault::Empty));
        assert_eq!(check_relative("rules/a.conf"), Ok(()));
    }

    #[test]
    fn links_out_of_the_directory_are_refused() {
        let dir = std::env::temp_dir().join(format!("switchyard-files-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(dir.join("conf/rules")).unwrap();
        fs::write(dir.join("secret"), "x").unwrap();
        fs::write(dir.join("conf/rules/b.conf"), "b").unwrap();
        fs::write(dir.join("conf/rules/a.conf"), "a").unwrap();
        std::os::unix::fs::symlink(dir.join("secret"), dir.join("conf/out.csv")).unwrap();
        std::os::unix::fs::symlink("rules/a.conf", dir.join("conf/in.csv")).unwrap();
        let conf = ConfigDir::new(&dir.join("conf"));
        assert_eq!(conf.read("out.csv", 10), Err(PathFault::Outside));
        assert_eq!(conf.read("in.csv", 10), Ok(b"a".to_vec()));
        assert_eq!(conf.read("rules", 10), Err(PathFault::NotRegular));
        assert_eq!(conf.read("rules/a.conf", 0), Err(PathFault::TooLarge(1)));
        assert_eq!(conf.read("nothing", 10), Err(PathFault::Missing));
        assert_eq!(
            conf.glob("rules/*.conf"),
            Ok(vec!["rules/a.conf".to_owned(), "rules/b.conf".to_owned()])
        );
        assert_eq!(conf.glob("*/?.conf").map(|v| v.len()), Ok(2));
        assert_eq!(conf.glob("none/*.conf"), Ok(Vec::new()));
        let _ = fs::remove_dir_all(&dir);
    }
}
