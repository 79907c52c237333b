//! Builds a `rules::Map` from a `map { … }` block or a CSV map file, with a
//! diagnostic in the right file for every bad record (spec section 14).

use std::collections::HashMap;

use super::super::csv::{CsvFault, CsvField, CsvReader};
use super::super::diagnostic::Diagnostic;
use super::super::faults::maps::{self as faults, QuoteFault};
use super::super::span::Span;
use super::super::string_literal::StringLiteral;
use crate::rules::Map;

/// A broken map file reports at most this many records; the rest would only
/// repeat the same mistake.
pub const MAX_FAULTS_PER_MAP: usize = 20;

/// A map from its block's entries.
pub fn inline(
    name: &str,
    entries: &[(StringLiteral, StringLiteral)],
    out: &mut Vec<Diagnostic>,
) -> Option<Map> {
    let mut map = Map::with_capacity(name, entries.len(), 0);
    let mut first: HashMap<&str, Span> = HashMap::new();
    let mut ok = true;
    for (key, value) in entries {
        if key.value.is_empty() {
            ok = false;
            out.push(faults::empty_entry(name, true, key.span));
            continue;
        }
        if value.value.is_empty() {
            ok = false;
            out.push(faults::empty_entry(name, false, value.span));
            continue;
        }
        if let Some(&earlier) = first.get(key.value.as_str()) {
            ok = false;
            out.push(faults::duplicate_key(name, &key.value, key.span, earlier));
            continue;
        }
        first.insert(&key.value, key.span);
        map.insert(&key.value, &value.value);
    }
    map.shrink();
    ok.then_some(map)
}

/// A map from the text of a CSV file placed at `base`.
pub fn from_csv(name: &str, text: &str, base: usize, out: &mut Vec<Diagnostic>) -> Option<Map> {
    let lines = text.bytes().filter(|&b| b == b'\n').count() + 1;
    let mut map = Map::with_capacity(name, lines, text.len() / 2);
    let mut faults_seen = 0;
    let mut duplicates: Vec<(String, Span)> = Vec::new();
    let mut report = |diagnostic: Diagnostic, out: &mut Vec<Diagnostic>| {
        faults_seen += 1;
        if faults_seen <= MAX_FAULTS_PER_MAP {
            out.push(diagnostic);
        }
    };
    let at = |offset: usize| Span::new(base + offset, base + offset + 1);
    for record in CsvReader::new(text) {
        let record = match record {
            Ok(record) => record,
            Err(fault) => {
                let (kind, offset) = match fault {
                    CsvFault::QuoteInField(offset) => (QuoteFault::InField, offset),
                    CsvFault::AfterQuote(offset) => (QuoteFault::AfterQuote, offset),
                    CsvFault::Unclosed(offset) => (QuoteFault::Unclosed, offset),
                };
                report(faults::csv_quote(kind, at(offset)), out);
                break;
            }
        };
        let [key, value] = record.fields.as_slice() else {
            // The first line, up to 120 bytes: a 4 MiB line gets a caret,
            // not 4 MiB of them.
            let (start, end) = record.first_line(text, 120);
            let span = Span::new(base + start, base + end);
            report(faults::field_count(record.fields.len(), span), out);
            continue;
        };
        if key.value.is_empty() {
            report(faults::empty_entry(name, true, field_span(base, key)), out);
            continue;
        }
        if value.value.is_empty() {
            report(
                faults::empty_entry(name, false, field_span(base, value)),
                out,
            );
            continue;
        }
        if !map.insert(&key.value, &value.value) {
            duplicates.push((key.value.to_string(), field_span(base, key)));
        }
    }
    if !duplicates.is_empty() {
        let firsts = first_records(text, base, &duplicates);
        for (key, span) in &duplicates {
            let first = firsts.get(key.as_str()).copied().unwrap_or(*span);
            report(faults::duplicate_key(name, key, *span, first), out);
        }
    }
    if faults_seen > 0 {
        return None;
    }
    map.shrink();
    Some(map)
}

/// Where the first record of each duplicated key starts.
fn first_records<'k>(
    text: &str,
    base: usize,
    duplicates: &'k [(String, Span)],
) -> HashMap<&'k str, Span> {
    let mut wanted: HashMap<&str, Option<Span>> = duplicates
        .iter()
        .map(|(key, _)| (key.as_str(), None))
        .collect();
    for record in CsvReader::new(text).flatten() {
        if let Some(key) = record.fields.first()
            && let Some(slot @ None) = wanted.get_mut(&*key.value)
        {
            *slot = Some(field_span(base, key));
        }
    }
    wanted
        .into_iter()
        .filter_map(|(key, span)| span.map(|span| (key, span)))
        .collect()
}

/// The span of a field as written (quotes included; empty for an empty
/// unquoted field).
fn field_span(base: usize, field: &CsvField<'_>) -> Span {
    Span::new(base + field.start, base + field.end)
}

#[cfg(test)]
mod tests {
    use super::super::super::diagnostic::Code;
    use super::*;

    fn codes(text: &str) -> Vec<Code> {
        let mut out = Vec::new();
        from_csv("m", text, 0, &mut out);
        out.into_iter().map(|d| d.code).collect()
    }

    #[test]
    fn good_files_build_maps() {
        let mut out = Vec::new();
        let map = from_csv("m", "\u{FEFF}/a,/b\r\n\"/c,d\",\"/e\"\n", 0, &mut out);
        assert!(out.is_empty());
        let map = map.unwrap_or_default();
        assert_eq!(map.get("/a"), Some("/b"));
        assert_eq!(map.get("/c,d"), Some("/e"));
    }

    #[test]
    fn bad_records_are_faults() {
        assert_eq!(codes("/a,/b,/c\n"), vec![Code::CsvFieldCount]);
        assert_eq!(codes("/a\n"), vec![Code::CsvFieldCount]);
        assert_eq!(codes(",/b\n"), vec![Code::EmptyMapEntry]);
        assert_eq!(codes("/a,\n"), vec![Code::EmptyMapEntry]);
        assert_eq!(codes("/a,/b\n/a,/c\n"), vec![Code::DuplicateMapKey]);
        assert_eq!(codes("/a,b\"\n"), vec![Code::CsvQuote]);
        assert_eq!(codes("\"/a,/b\n"), vec![Code::CsvQuote]);
        assert!(codes("").is_empty());
    }

    #[test]
    fn duplicates_point_at_both_records() {
        let mut out = Vec::new();
        from_csv("m", "/x,/y\n/a,/b\n/a,/c\n", 100, &mut out);
        let primary = out[0].primary.as_ref().map(|l| l.span);
        assert_eq!(primary, Some(Span::new(112, 114)));
        assert_eq!(out[0].related[0].span, Span::new(106, 108));
    }

    #[test]
    fn faults_are_capped() {
        let text = "/a\n".repeat(1000);
        assert_eq!(codes(&text).len(), MAX_FAULTS_PER_MAP);
    }
}
