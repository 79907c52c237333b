//! Reads a config's files into one syntax tree: `proxy.conf`, the files its
//! `include`s match (recursively, in place), and its map files, each checked
//! for size, UTF-8, path rules, cycles and duplicates, and placed in one
//! offset space (`sources`) so that every diagnostic names its own file.

use std::collections::HashMap;

use sha2::{Digest, Sha256};

use super::ast::{File, MapSource};
use super::diagnostic::Diagnostic;
use super::faults::file_size;
use super::faults::maps::{self as faults, FileRole};
use super::files::{ConfigDir, PathFault, check_relative};
use super::relocate::Relocate;
use super::sources::SourceMap;
use super::span::Span;
use super::{MAX_CONFIG_BYTES, MAX_FILE_BYTES, lexical, parse};

/// Every file of a config, read and parsed.
#[derive(Debug)]
pub(crate) struct Loaded {
    /// The whole config as one tree: included rules stand where their
    /// `include` stood; spans are in `sources`' offset space.
    pub(crate) file: File,
    /// Every file read, for diagnostics and for the map files' text.
    pub(crate) sources: SourceMap,
    /// For each `map NAME from "FILE"` that could be read: the start of its
    /// path literal → the base of the file's text in `sources`.
    pub(crate) map_files: HashMap<usize, usize>,
    /// Hex SHA-256 that changes when any file of the config changes.
    pub(crate) hash: String,
}

/// Why a config could not be read into one tree: its files so far and every fault.
pub(crate) type LoadFaults = (SourceMap, Vec<Diagnostic>);

/// Reads `bytes` (the root file, `name`) and everything it names from `dir`;
/// without a directory every include matches nothing and every map file is missing.
pub(crate) fn load(
    name: &str,
    bytes: &[u8],
    dir: Option<&ConfigDir>,
) -> Result<Loaded, LoadFaults> {
    let mut loader = Loader {
        dir,
        sources: SourceMap::default(),
        faults: Vec::new(),
        total: 0,
        stack: vec![name.to_owned()],
        seen: HashMap::new(),
        hashes: Vec::new(),
    };
    let root = loader.unit(name, bytes);
    let file = root.map(|file| loader.expand(file));
    let mut map_files = HashMap::new();
    if let Some(file) = &file {
        for map in &file.maps {
            if let MapSource::File(path) = &map.source
                && let Some(base) = loader.map_file(&path.value, path.span)
            {
                map_files.insert(path.span.start, base);
            }
        }
    }
    match file {
        Some(file) if loader.faults.is_empty() => Ok(Loaded {
            file,
            hash: loader.hash(),
            sources: loader.sources,
            map_files,
        }),
        _ => Err((loader.sources, loader.faults)),
    }
}

struct Loader<'d> {
    dir: Option<&'d ConfigDir>,
    sources: SourceMap,
    faults: Vec<Diagnostic>,
    total: u64,
    /// The files being included, outermost first (for cycles).
    stack: Vec<String>,
    /// Every file included so far and where (for duplicates).
    seen: HashMap<String, Span>,
    /// Each file's name and hash, in reading order.
    hashes: Vec<(String, String)>,
}

impl Loader<'_> {
    /// Counts a file against the total, records its hash and checks it is
    /// UTF-8; returns its text.
    fn admit(&mut self, name: &str, bytes: &[u8]) -> Option<String> {
        let size = bytes.len() as u64;
        if size > MAX_FILE_BYTES {
            self.faults
                .push(file_size::file_too_large(name, size, MAX_FILE_BYTES));
            return None;
        }
        self.total += size;
        if self.total > MAX_CONFIG_BYTES {
            self.faults.push(file_size::config_too_large(
                name,
                size,
                self.total,
                MAX_CONFIG_BYTES,
            ));
            return None;
        }
        self.hashes.push((name.to_owned(), hex_sha256(bytes)));
        match std::str::from_utf8(bytes) {
            Ok(text) => Some(text.to_owned()),
            Err(error) => {
                let text = String::from_utf8_lossy(bytes).into_owned();
                let base = self.sources.add(name, text);
                let mut diagnostic = not_utf8(name, bytes, &error);
                diagnostic.relocate(base);
                self.faults.push(diagnostic);
                None
            }
        }
    }

    /// One `.conf` file: admitted, scanned, parsed and moved to its base.
    fn unit(&mut self, name: &str, bytes: &[u8]) -> Option<File> {
        let text = self.admit(name, bytes)?;
        let scan = lexical::scan(&text);
        let parsed = if scan.faults.is_empty() {
            parse::parse(&text, &scan).map_err(|fault| vec![fault])
        } else {
            Err(scan.faults)
        };
        let base = self.sources.add(name, text);
        match parsed {
            Ok(mut file) => {
                file.relocate(base);
                Some(file)
            }
            Err(faults) => {
                for mut fault in faults {
                    fault.relocate(base);
                    self.faults.push(fault);
                }
                None
            }
        }
    }

    /// The file with every include replaced by the files it matches.
    fn expand(&mut self, mut file: File) -> File {
        let includes = std::mem::take(&mut file.includes);
        let mut inserted: Vec<(usize, File)> = Vec::new();
        for include in &includes {
            let span = include.pattern.span;
            let pattern = include.pattern.value.as_str();
            let globbed = match self.dir {
                Some(dir) => dir.glob(pattern),
                None => check_relative(pattern).map(|()| Vec::new()),
            };
            let matched = match globbed {
                Ok(matched) => matched,
                Err(fault) => {
                    self.faults
                        .push(faults::path_fault(FileRole::Include, pattern, span, &fault));
                    continue;
                }
            };
            if matched.is_empty() {
                self.faults.push(faults::include_no_match(pattern, span));
            }
            for path in matched {
                if let Some(at) = self.stack.iter().position(|open| *open == path) {
                    let mut chain: Vec<&str> =
                        self.stack[at..].iter().map(String::as_str).collect();
                    chain.push(&path);
                    let chain = chain.join(" → ");
                    self.faults.push(faults::include_cycle(&path, span, &chain));
                    continue;
                }
                if let Some(&first) = self.seen.get(&path) {
                    self.faults.push(faults::include_twice(&path, span, first));
                    continue;
                }
                self.seen.insert(path.clone(), span);
                let read = self.dir.map_or(Err(PathFault::Missing), |dir| {
                    dir.read(&path, MAX_FILE_BYTES)
                });
                let bytes = match read {
                    Ok(bytes) => bytes,
                    Err(fault) => {
                        self.faults.push(faults::path_fault(
                            FileRole::Include,
                            &path,
                            span,
                            &fault,
                        ));
                        continue;
                    }
                };
                let Some(child) = self.unit(&path, &bytes) else {
                    continue;
                };
                self.stack.push(path);
                let child = self.expand(child);
                self.stack.pop();
                inserted.push((include.position, child));
            }
        }
        file.includes = includes;
        merge(file, inserted)
    }

    /// Reads one map file; its base in `sources`.
    fn map_file(&mut self, path: &str, span: Span) -> Option<usize> {
        let read = match self.dir {
            Some(dir) => dir.read(path, MAX_FILE_BYTES),
            None => check_relative(path).and(Err(PathFault::Missing)),
        };
        match read {
            Ok(bytes) => {
                let text = self.admit(path, &bytes)?;
                Some(self.sources.add(path, text))
            }
            Err(fault) => {
                self.faults
                    .push(faults::path_fault(FileRole::MapFile, path, span, &fault));
                None
            }
        }
    }

    /// One file alone: the hash of its bytes (as before includes existed);
    /// several: the hash of every file's name and hash, in reading order.
    fn hash(&self) -> String {
        match self.hashes.as_slice() {
            [(_, only)] => only.clone(),
            all => {
                let mut hasher = Sha256::new();
                for (name, hash) in all {
                    hasher.update(name.as_bytes());
                    hasher.update(b"\n");
                    hasher.update(hash.as_bytes());
                    hasher.update(b"\n");
                }
                hex(&hasher.finalize())
            }
        }
    }
}

/// Puts each included file's rules where its `include` stood among the
/// rules of `file`; everything else is gathered.
fn merge(mut file: File, inserted: Vec<(usize, File)>) -> File {
    if inserted.is_empty() {
        return file;
    }
    let own = std::mem::take(&mut file.rules);
    let mut rules = Vec::with_capacity(own.len());
    let mut own = own.into_iter().enumerate().peekable();
    for (position, child) in inserted {
        while let Some((_, rule)) = own.next_if(|(at, _)| *at < position) {
            rules.push(rule);
        }
        rules.extend(child.rules);
        file.settings.extend(child.settings);
        file.lists.extend(child.lists);
        file.maps.extend(child.maps);
        file.includes.extend(child.includes);
    }
    rules.extend(own.map(|(_, rule)| rule));
    file.rules = rules;
    file
}

/// The diagnostic for a file that is not UTF-8, in the file's own offsets.
pub(crate) fn not_utf8(name: &str, bytes: &[u8], error: &std::str::Utf8Error) -> Diagnostic {
    let at = error.valid_up_to();
    let byte = bytes.get(at).copied().unwrap_or(0);
    // The lossy text equals the input up to `at`, where U+FFFD (3 bytes) stands.
    let span = Span::new(at, at + '\u{FFFD}'.len_utf8());
    super::faults::files::not_utf8(name, byte, at, span)
}

/// Hex SHA-256 of some bytes.
pub(crate) fn hex_sha256(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

fn hex(digest: &[u8]) -> String {
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::fs;
    use std::path::PathBuf;

    use super::super::{CONFIG_FILE, Code, compile_in, load_dir};
    use super::*;

    fn dir(name: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("switchyard-load-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        dir
    }

    fn codes(dir: &std::path::Path) -> Vec<Code> {
        match load_dir(dir) {
            Ok(_) => Vec::new(),
            Err(super::super::LoadError::Invalid(invalid)) => {
                invalid.diagnostics().iter().map(|d| d.code).collect()
            }
            Err(error) => panic!("{error}"),
        }
    }

    #[test]
    fn an_included_file_past_the_cap_is_named_with_its_size() {
        let dir = dir("big");
        fs::write(dir.join(CONFIG_FILE), "include \"big.conf\"\n").unwrap();
        fs::write(
            dir.join("big.conf"),
            vec![b'#'; MAX_FILE_BYTES as usize + 1],
        )
        .unwrap();
        let Err(super::super::LoadError::Invalid(invalid)) = load_dir(&dir) else {
            panic!("accepted");
        };
        assert_eq!(invalid.diagnostics()[0].code, Code::FileTooLarge);
        let text = invalid.render(false);
        assert!(text.contains("big.conf is 4.0 MiB"), "{text}");
        assert!(text.contains("`include`"), "{text}");
        let _ = fs::remove_dir_all(&dir);
    }

    #[test]
    fn the_whole_config_is_capped_and_the_file_that_passes_it_named() {
        let dir = dir("total");
        // Map files, which the loader reads without parsing: quick to check.
        let mut root = String::new();
        let chunk = vec![b'a'; MAX_FILE_BYTES as usize - 16];
        for n in 0..17 {
            fs::write(dir.join(format!("part{n:02}.csv")), &chunk).unwrap();
            root.push_str(&format!("map m{n} from \"part{n:02}.csv\"\n"));
        }
        fs::write(dir.join(CONFIG_FILE), root).unwrap();
        let Err(super::super::LoadError::Invalid(invalid)) = load_dir(&dir) else {
            panic!("accepted");
        };
        let text = invalid.render(false);
        assert_eq!(
            invalid.diagnostics()[0].code,
            Code::ConfigTooLarge,
            "{text}"
        );
        assert!(text.contains("part16.csv"), "{text}");
        let _ = fs::remove_dir_all(&dir);
    }

    #[test]
    fn rules_of_an_included_file_stand_where_the_include_stood() {
        let dir = dir("order");
        fs::create_dir_all(dir.join("rules")).unwrap();
        fs::write(
            dir.join(CONFIG_FILE),
            "rule a { respond 200 }\ninclude \"rules/*.conf\"\nrule d { respond 200 }\n",
        )
        .unwrap();
        fs::write(dir.join("rules/2.conf"), "rule c { respond 200 }\n").unwrap();
        fs::write(dir.join("rules/1.conf"), "rule b { respond 200 }\n").unwrap();
        let compiled = load_dir(&dir).map_err(|e| e.to_string()).unwrap();
        let names: Vec<&str> = compiled
            .rule_set
            .rules
            .iter()
            .map(|r| r.name.as_str())
            .collect();
        assert_eq!(names, ["a", "b", "c", "d"]);
        let _ = fs::remove_dir_all(&dir);
    }

    #[test]
    fn the_hash_changes_with_any_file_and_stays_that_of_a_lone_file() {
        let dir = dir("hash");
        let text = "map m from \"m.csv\"\nrule a { when path in $m\n redirect 301 \"{$m}\" }\n";
        fs::write(dir.join(CONFIG_FILE), text).unwrap();
        fs::write(dir.join("m.csv"), "/a,/b\n").unwrap();
        let hash = |dir: &std::path::Path| load_dir(dir).map(|c| c.rule_set.source_hash).unwrap();
        let first = hash(&dir);
        fs::write(dir.join("m.csv"), "/a,/c\n").unwrap();
        assert_ne!(hash(&dir), first);
        let lone = compile_in(CONFIG_FILE, b"rule a { respond 200 }", None)
            .map(|c| c.rule_set.source_hash)
            .unwrap();
        assert_eq!(lone, hex_sha256(b"rule a { respond 200 }"));
        let _ = fs::remove_dir_all(&dir);
    }

    #[test]
    fn includes_and_map_files_fail_without_a_directory() {
        let dir = dir("none");
        assert!(codes(&dir).is_empty());
        fs::write(dir.join(CONFIG_FILE), "include \"x/*.conf\"\n").unwrap();
        assert_eq!(codes(&dir), vec![Code::IncludeNoMatch]);
        let _ = fs::remove_dir_all(&dir);
    }
}
