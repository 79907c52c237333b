//! Fuzzes the query editor (`rules::query_edit`, spec §15) against a
//! reference model written differently: the query as a list of parameters,
//! names decoded by a decoder of our own, patterns matched by dynamic
//! programming instead of the editor's piece search. After every edit the
//! editor's text must equal the model's, every parameter no edit touched
//! must come out byte for byte, and the result must make a target that
//! `http::Uri` reads back with exactly that query — what `explain` shows is
//! what the origin parses.
//!
//! Input layout: the query (bytes up to the first 0x00, kept to the bytes a
//! request target's query may hold), then pairs of bytes: an edit and an
//! argument index into small pools of names, patterns and values.
#![no_main]

use http::Uri;
use libfuzzer_sys::fuzz_target;
use switchyard::rules::query_edit::{self, NamePattern, QueryName, raw_name};

const NAMES: [&str; 8] = ["a", "page", "utm_source", "a b", "é", "q=x", "&", "%41"];
const PATTERNS: [&str; 8] = ["a", "utm_*", "*", "*id", "a*b*c", "é*", "", "p*e"];
const VALUES: [&str; 6] = ["1", "", "x y", "a&b=c", "/é?#", "%25"];

/// One parameter of the model: its text, and whether an edit wrote it.
#[derive(Clone)]
struct Param {
    raw: String,
    written: bool,
}

fn decode(raw: &str) -> String {
    let bytes = raw.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        if bytes[i] == b'%'
            && let (Some(h), Some(l)) = (
                bytes.get(i + 1).and_then(|&b| hex(b)),
                bytes.get(i + 2).and_then(|&b| hex(b)),
            )
        {
            out.push((h * 16 + l) as u8);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn encode(text: &str) -> String {
    text.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// Glob with `*` by dynamic programming over characters.
fn glob(pattern: &str, name: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let n: Vec<char> = name.chars().collect();
    let mut row = vec![false; n.len() + 1];
    row[0] = true;
    for &pc in &p {
        let mut next = vec![false; n.len() + 1];
        if pc == '*' {
            let mut seen = false;
            for j in 0..=n.len() {
                seen |= row[j];
                next[j] = seen;
            }
        } else {
            for j in 1..=n.len() {
                next[j] = row[j - 1] && n[j - 1] == pc;
            }
        }
        row = next;
    }
    row[n.len()]
}

fn name_of(param: &Param) -> String {
    decode(raw_name(&param.raw))
}

fn text(model: &[Param]) -> String {
    model.iter().map(|p| p.raw.as_str()).collect::<Vec<_>>().join("&")
}

fuzz_target!(|data: &[u8]| {
    let split = data.iter().position(|&b| b == 0).unwrap_or(data.len());
    // What a normalized request query can hold: visible ASCII but `#`.
    let query: String = data[..split]
        .iter()
        .filter(|&&b| b > b' ' && b < 0x7f && b != b'#')
        .map(|&b| b as char)
        .collect();
    let script = data.get(split + 1..).unwrap_or(&[]);

    let mut model: Vec<Param> = if query.is_empty() {
        Vec::new()
    } else {
        query.split('&').map(|raw| Param { raw: raw.to_owned(), written: false }).collect()
    };
    let original: Vec<String> = model.iter().map(|p| p.raw.clone()).collect();
    let mut current = query.clone();

    for step in script.chunks(2).take(16) {
        let (op, arg) = (step[0] % 5, usize::from(*step.get(1).unwrap_or(&0)));
        match op {
            0 | 1 => {
                let name = NAMES[arg % NAMES.len()];
                let value = VALUES[(arg / NAMES.len()) % VALUES.len()];
                let query_name = QueryName::new(name);
                if op == 0 {
                    current = query_edit::set(&current, &query_name, value);
                    match model.iter().position(|p| name_of(p) == name) {
                        Some(first) => {
                            let raw_name = raw_name(&model[first].raw).to_owned();
                            model[first] =
                                Param { raw: format!("{raw_name}={}", encode(value)), written: true };
                            let mut at = 0;
                            model.retain(|p| {
                                at += 1;
                                at - 1 == first || name_of(p) != name
                            });
                        }
                        None => model.push(Param {
                            raw: format!("{}={}", encode(name), encode(value)),
                            written: true,
                        }),
                    }
                } else {
                    current = query_edit::add(&current, &query_name, value);
                    model.push(Param {
                        raw: format!("{}={}", encode(name), encode(value)),
                        written: true,
                    });
                }
            }
            2 | 3 => {
                let chosen: Vec<&str> = (0..=arg % 3)
                    .map(|k| PATTERNS[(arg / 3 + k) % PATTERNS.len()])
                    .collect();
                let patterns: Vec<NamePattern> = chosen.iter().map(|p| NamePattern::new(p)).collect();
                let keep = op == 3;
                current = query_edit::filter(&current, &patterns, keep);
                model.retain(|p| chosen.iter().any(|c| glob(c, &name_of(p))) == keep);
            }
            _ => {
                current = query_edit::sort(&current);
                model.sort_by(|a, b| raw_name(&a.raw).as_bytes().cmp(raw_name(&b.raw).as_bytes()));
            }
        }
        assert_eq!(current, text(&model), "editor and model differ");
        // An empty query has no parameters (not one empty one): nothing is
        // sent, and the next edit starts from nothing.
        if current.is_empty() {
            model.clear();
        }
    }

    // Untouched parameters are the original bytes, in their relative order.
    let untouched: Vec<&str> = model.iter().filter(|p| !p.written).map(|p| p.raw.as_str()).collect();
    for raw in &untouched {
        assert!(original.iter().any(|o| o == raw), "an untouched parameter changed: {raw:?}");
    }
    // What goes upstream reads back as exactly this query.
    if !current.is_empty() {
        let target = format!("/p?{current}");
        if let Ok(uri) = target.parse::<Uri>() {
            assert_eq!(uri.query(), Some(current.as_str()));
        } else {
            // Only bytes the request already had can make it unreadable.
            assert!(query.parse::<Uri>().is_err() || format!("/p?{query}").parse::<Uri>().is_err());
        }
    }
});
