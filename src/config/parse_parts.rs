//! A large `proxy.conf` parsed in parts, one per CPU: parsing is the one
//! step of checking a config that cannot otherwise use a second core, and a
//! 10,000-rule file spends 40 % of `validate` in it.
//!
//! The lexical pass marks where top-level declarations start. The file is
//! cut at such marks into parts of about equal size, each part is parsed as
//! a file of its own, and the trees are joined with their spans moved back
//! to where the part starts. Every declaration ends with a token that
//! delimits itself (`}`, `]` or a string) and the grammar looks neither
//! behind nor past it, so parts that all parse give exactly the tree the
//! whole file gives. When any part fails (a syntax error, or a mark that
//! was not a declaration's start) the file is parsed whole instead, so an
//! error is found and reported exactly as before.

use super::ast::File;
use super::parse::parse_whole;
use super::relocate::Relocate;

/// Files smaller than this are parsed whole: a thread costs more than it
/// saves.
const PARTS_FROM_BYTES: usize = 256 * 1024;

/// The tree of `text` parsed in parts, or `None` when it is small, the
/// process may use one CPU only, or any part fails.
pub(crate) fn parse_in_parts(text: &str, block_starts: &[usize]) -> Option<File> {
    let threads = std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get);
    if text.len() < PARTS_FROM_BYTES || threads < 2 {
        return None;
    }
    parse_parts(text, block_starts, threads)
}

/// The tree of `text` parsed in up to `parts` parts, each on a thread.
fn parse_parts(text: &str, block_starts: &[usize], parts: usize) -> Option<File> {
    let cuts = cuts(text.len(), block_starts, parts);
    if cuts.is_empty() {
        return None;
    }
    let bounds: Vec<(usize, usize)> = std::iter::once(0)
        .chain(cuts.iter().copied())
        .zip(cuts.iter().copied().chain(std::iter::once(text.len())))
        .collect();
    let parts: Vec<Option<File>> = std::thread::scope(|scope| {
        let workers: Vec<_> = bounds
            .iter()
            .map(|&(start, end)| {
                let part = text.get(start..end);
                scope.spawn(move || part.and_then(|part| parse_whole(part, &[]).ok()))
            })
            .collect();
        workers
            .into_iter()
            .map(|worker| worker.join().ok().flatten())
            .collect()
    });
    let mut file = File::default();
    for (part, (start, _)) in parts.into_iter().zip(bounds) {
        let mut part = part?;
        part.relocate(start);
        join(&mut file, part);
    }
    Some(file)
}

/// Up to `threads - 1` cut offsets, increasing, each a declaration start
/// at or after an equal share of the text.
fn cuts(len: usize, block_starts: &[usize], threads: usize) -> Vec<usize> {
    let mut cuts: Vec<usize> = Vec::new();
    for k in 1..threads {
        let target = len / threads * k;
        let at = block_starts.partition_point(|&start| start < target);
        if let Some(&start) = block_starts.get(at)
            && start > 0
            && cuts.last().is_none_or(|&last| start > last)
        {
            cuts.push(start);
        }
    }
    cuts
}

/// Appends `part`'s declarations to `file`'s, keeping file order: an
/// include's position counts the rules of the parts before it too.
fn join(file: &mut File, part: File) {
    let File {
        settings,
        rules,
        lists,
        maps,
        mut includes,
    } = part;
    for include in &mut includes {
        include.position += file.rules.len();
    }
    file.settings.extend(settings);
    file.rules.extend(rules);
    file.lists.extend(lists);
    file.maps.extend(maps);
    file.includes.extend(includes);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::lexical::scan;

    /// A file of every kind of declaration, long enough to be cut.
    fn large_file() -> String {
        let mut text = String::from("settings {\n    access_log ltsv\n}\n");
        let mut i = 0;
        while text.len() < PARTS_FROM_BYTES * 3 {
            text.push_str(&format!(
                "# rule {i} {{ in a comment\nrule r{i} {{\n    when path ~ \"^/old-{i}/(.*)$\" and host == \"rule {{ x\"\n    redirect 301 \"/new/{{1}}\"\n}}\n\
                 list l{i} [\"a\", \"b\"]\nmap m{i} {{\n    \"/a\" \"/b\"\n}}\ninclude \"part-{i}/*.conf\"\n"
            ));
            i += 1;
        }
        text
    }

    #[test]
    fn parts_give_the_tree_the_whole_file_gives() {
        let text = large_file();
        let scan = scan(&text);
        for threads in [2, 3, 8] {
            let cuts = cuts(text.len(), &scan.block_starts, threads);
            assert_eq!(cuts.len(), threads - 1, "{threads}");
        }
        let whole = parse_whole(&text, &[]).expect("parses whole");
        // Cut at every mark for the most joins, through the same code.
        let parts = parse_in_parts(&text, &scan.block_starts).expect("parses in parts");
        assert_eq!(format!("{parts:?}"), format!("{whole:?}"));
        assert_eq!(
            parts.includes.last().map(|i| i.position),
            Some(parts.rules.len())
        );
    }

    #[test]
    fn a_part_that_fails_leaves_the_file_to_be_parsed_whole() {
        let mut text = large_file();
        // A syntax error late in the file, and a mark that is a list's name.
        text.push_str("list rule [\"x\"]\nrule broken {\n    when path ==\n}\n");
        let scan = scan(&text);
        assert!(parse_whole(&text, &[]).is_err());
        for count in [2, 3, 8] {
            assert!(parse_parts(&text, &scan.block_starts, count).is_none());
        }
    }

    #[test]
    fn small_files_are_parsed_whole() {
        let text = "rule a {\n    stop\n}\n";
        assert!(parse_in_parts(text, &scan(text).block_starts).is_none());
    }
}
