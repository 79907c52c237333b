//! The `check` warning for redirect maps (spec section 14): a map that a
//! `redirect` uses on `path` or `uri` whose value is itself a key of the same
//! map sends the client on a second hop (`/a → /b`, `/b → /c`), or round in a
//! loop. Both records are named, in the file they are in.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use super::ast::{File, MapSource};
use super::csv::CsvReader;
use super::diagnostic::Diagnostic;
use super::faults::maps as faults;
use super::sources::SourceMap;
use super::span::Span;
use crate::rules::{Action, Field, Map, RuleSet, TemplatePart};

/// A map reports at most this many chains and loops; the first ones show
/// what to fix.
pub const MAX_WARNINGS_PER_MAP: usize = 20;

/// The chain and loop warnings of every redirect map.
pub fn warnings(file: &File, rule_set: &RuleSet, sources: &SourceMap) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    let mut seen: HashSet<*const Map> = HashSet::new();
    for rule in &rule_set.rules {
        for action in &rule.actions {
            let Action::Redirect { target, .. } = action else {
                continue;
            };
            let [TemplatePart::MapValue { map, field }] = target.parts.as_slice() else {
                continue;
            };
            if matches!(field, Field::Path | Field::Uri) && seen.insert(Arc::as_ptr(map)) {
                out.extend(map_warnings(map, file, sources));
            }
        }
    }
    out
}

/// What one record leads to.
enum Finding {
    Chain,
    Loop,
}

fn map_warnings(map: &Map, file: &File, sources: &SourceMap) -> Vec<Diagnostic> {
    let mut found: Vec<(&str, &str, Finding)> = Vec::new();
    for (key, value) in map.entries() {
        let next = path_of(value);
        if !map.contains(next) {
            continue;
        }
        match cycle_of(map, key) {
            // Each loop is reported once, at its smallest key.
            Some(members) if members.iter().min() == Some(&key) => {
                found.push((key, next, Finding::Loop));
            }
            Some(_) => {}
            None => found.push((key, next, Finding::Chain)),
        }
    }
    if found.is_empty() {
        return Vec::new();
    }
    let wanted: HashSet<&str> = found.iter().flat_map(|(a, b, _)| [*a, *b]).collect();
    let places = key_places(map.name(), &wanted, file, sources);
    let place = |key: &str| places.get(key).copied().unwrap_or_default();
    let mut diagnostics: Vec<Diagnostic> = found
        .iter()
        .map(|(key, next, finding)| {
            let from = (*key, place(key));
            let via = (*next, place(next));
            match finding {
                Finding::Chain => faults::redirect_chain(map.name(), from, via),
                Finding::Loop if key == next => faults::redirect_to_itself(map.name(), key, from.1),
                Finding::Loop => faults::redirect_loop(map.name(), from, via),
            }
        })
        .collect();
    diagnostics.sort_by_key(|d| d.primary.as_ref().map_or(0, |label| label.span.start));
    diagnostics.truncate(MAX_WARNINGS_PER_MAP);
    diagnostics
}

/// The path a redirect to `value` asks for next: without its query and
/// fragment. Absolute URLs lead elsewhere and end the chain.
fn path_of(value: &str) -> &str {
    if !value.starts_with('/') || value.starts_with("//") {
        return "";
    }
    value.split(['?', '#']).next().unwrap_or(value)
}

/// The keys of the loop `key` is on, if it is on one.
fn cycle_of<'m>(map: &'m Map, key: &'m str) -> Option<Vec<&'m str>> {
    let mut members = vec![key];
    let mut at = key;
    for _ in 0..map.len() {
        let next = path_of(map.get(at)?);
        let next = map.entries_key(next)?;
        if next == key {
            return Some(members);
        }
        if members.contains(&next) {
            // A loop further on, which `key` only leads into.
            return None;
        }
        members.push(next);
        at = next;
    }
    None
}

/// Where each wanted key's record is written.
fn key_places(
    name: &str,
    wanted: &HashSet<&str>,
    file: &File,
    sources: &SourceMap,
) -> HashMap<String, Span> {
    let mut places = HashMap::new();
    let Some(decl) = file.maps.iter().find(|decl| decl.name.text == name) else {
        return places;
    };
    match &decl.source {
        MapSource::Inline(entries) => {
            for (key, _) in entries {
                if wanted.contains(key.value.as_str()) {
                    places.entry(key.value.clone()).or_insert(key.span);
                }
            }
        }
        MapSource::File(path) => {
            let Some(source) = sources.named(&path.value) else {
                return places;
            };
            for record in CsvReader::new(&source.text).flatten() {
                let Some(key) = record.fields.first() else {
                    continue;
                };
                if wanted.contains(&*key.value) {
                    let (start, end) = record.first_line(&source.text, 120);
                    places
                        .entry(key.value.to_string())
                        .or_insert(Span::new(source.base + start, source.base + end));
                }
            }
        }
    }
    places
}
