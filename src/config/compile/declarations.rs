//! Lists and maps (spec section 14): every `list` and `map` of the config
//! checked and built once, in one namespace apart from rule names, so a rule
//! may use one declared anywhere — further down or in another file.

use std::cell::Cell;
use std::collections::HashMap;
use std::sync::Arc;

use super::super::ast::{File, ListDecl, ListItem, MapDecl, MapSource};
use super::super::diagnostic::{Diagnostic, did_you_mean};
use super::super::faults::maps::{self as faults, Kind};
use super::super::span::Span;
use super::super::string_literal::StringLiteral;
use super::MapFiles;
use super::map_build;
use crate::rules::Map;

/// What a declared name stands for.
#[derive(Debug)]
pub enum Body {
    /// `list NAME ["…", …]`.
    Strings(Vec<StringLiteral>),
    /// `list NAME [502, …]` (for `status`).
    Integers(Vec<u16>),
    /// `map NAME …`, built.
    Map(Arc<Map>),
    /// A declaration with faults (already reported): uses of it report nothing more.
    Broken(Kind),
}

/// One declared list or map.
#[derive(Debug)]
pub struct Declared {
    /// Where its name is written.
    pub name: Span,
    /// What it holds.
    pub body: Body,
    used: Cell<bool>,
}

impl Declared {
    /// Whether it is a list or a map.
    pub fn kind(&self) -> Kind {
        match &self.body {
            Body::Strings(_) | Body::Integers(_) => Kind::List,
            Body::Map(_) => Kind::Map,
            Body::Broken(kind) => *kind,
        }
    }
}

/// Every list and map of the config, by name.
#[derive(Debug, Default)]
pub struct Declarations {
    by_name: HashMap<String, Declared>,
}

impl Declarations {
    /// Checks and builds every declaration; faults go into `out`.
    pub fn build(file: &File, map_files: &MapFiles<'_>, out: &mut Vec<Diagnostic>) -> Self {
        let mut declarations = Declarations::default();
        for list in &file.lists {
            if declarations.claim(&list.name.text, list.name.span, Kind::List, out) {
                let body = list_body(list, out);
                declarations.insert(&list.name.text, list.name.span, body);
            }
        }
        for map in &file.maps {
            if declarations.claim(&map.name.text, map.name.span, Kind::Map, out) {
                let body = map_body(map, map_files, out);
                declarations.insert(&map.name.text, map.name.span, body);
            }
        }
        declarations
    }

    /// Whether the name is valid and still free (else reported; an invalid
    /// name is still declared, broken, so its uses report nothing more).
    fn claim(&mut self, name: &str, span: Span, kind: Kind, out: &mut Vec<Diagnostic>) -> bool {
        let valid = name.starts_with(|c: char| c.is_ascii_alphabetic())
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
        if !valid {
            out.push(faults::invalid_name(kind, name, span));
            if !self.by_name.contains_key(name) {
                self.insert(name, span, Body::Broken(kind));
            }
            return false;
        }
        if let Some(first) = self.by_name.get(name) {
            let (first, second) = if first.name.start < span.start {
                (first.name, span)
            } else {
                (span, first.name)
            };
            out.push(faults::duplicate_name(name, second, first));
            return false;
        }
        true
    }

    fn insert(&mut self, name: &str, span: Span, body: Body) {
        self.by_name.insert(
            name.to_owned(),
            Declared {
                name: span,
                body,
                used: Cell::new(false),
            },
        );
    }

    /// The declaration of `name`, now counted as used.
    pub fn lookup(&self, name: &str) -> Option<&Declared> {
        let declared = self.by_name.get(name)?;
        declared.used.set(true);
        Some(declared)
    }

    /// "did you mean" among the declared names.
    pub fn suggest(&self, name: &str) -> Option<String> {
        did_you_mean(name, self.by_name.keys().map(String::as_str))
    }

    /// The warnings for lists and maps no rule uses.
    pub fn unused(&self) -> Vec<Diagnostic> {
        self.by_name
            .iter()
            .filter(|(_, declared)| !declared.used.get())
            .map(|(name, declared)| faults::unused(declared.kind(), name, declared.name))
            .collect()
    }
}

fn list_body(list: &ListDecl, out: &mut Vec<Diagnostic>) -> Body {
    let name = &list.name.text;
    let Some(first) = list.items.first() else {
        out.push(faults::empty_declared_list(name, list.brackets));
        return Body::Broken(Kind::List);
    };
    let integers = matches!(first, ListItem::Integer(_));
    let mut strings = Vec::new();
    let mut numbers = Vec::new();
    let mut ok = true;
    for item in &list.items {
        match item {
            ListItem::Text(literal) if !integers => strings.push(literal.clone()),
            ListItem::Integer(word) if integers => match word.text.parse::<u16>() {
                Ok(code) if (100..=599).contains(&code) => numbers.push(code),
                _ => {
                    ok = false;
                    out.push(faults::list_status(&word.text, word.span));
                }
            },
            other => {
                ok = false;
                out.push(faults::mixed_list(name, other.span(), first.span()));
            }
        }
    }
    match (ok, integers) {
        (false, _) => Body::Broken(Kind::List),
        (true, true) => Body::Integers(numbers),
        (true, false) => Body::Strings(strings),
    }
}

fn map_body(map: &MapDecl, map_files: &MapFiles<'_>, out: &mut Vec<Diagnostic>) -> Body {
    let name = &map.name.text;
    let built = match &map.source {
        MapSource::Inline(entries) => map_build::inline(name, entries, out),
        MapSource::File(path) => {
            let file = map_files
                .bases
                .get(&path.span.start)
                .and_then(|base| map_files.sources.locate(*base));
            // A file that could not be read is reported by the loader.
            file.and_then(|file| map_build::from_csv(name, &file.text, file.base, out))
        }
    };
    match built {
        Some(map) => Body::Map(Arc::new(map)),
        None => Body::Broken(Kind::Map),
    }
}
