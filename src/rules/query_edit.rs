//! Query edits (§15): `query set|add|remove|keep|sort` on the outgoing query.
//! The editor works on the query's text, one `&`-separated parameter at a
//! time, and copies every parameter it does not touch byte for byte, so the
//! origin parses exactly what `explain` shows.

use percent_encoding::percent_decode_str;

use super::function::push_url_encoded;
use super::template::Template;

/// One query edit of a rule, names and patterns prepared at compile time.
#[derive(Debug, Clone)]
pub enum QueryAction {
    /// The first `NAME` parameter gets the value in place, the others go;
    /// appended when there is none.
    Set(QueryName, Template),
    /// One more `NAME` parameter at the end.
    Add(QueryName, Template),
    /// Remove the parameters whose name matches one of the patterns.
    Remove(Vec<NamePattern>),
    /// Remove the parameters whose name matches none of the patterns.
    Keep(Vec<NamePattern>),
    /// Order the parameters by their names' bytes as sent (stable).
    Sort,
}

/// A parameter name written by `set` or `add`: matched against decoded
/// names, sent percent-encoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueryName {
    decoded: Box<str>,
    encoded: Box<str>,
}

impl QueryName {
    /// The name as written in `proxy.conf`.
    pub fn new(name: &str) -> Self {
        let mut encoded = String::new();
        push_url_encoded(name, &mut encoded);
        QueryName {
            decoded: name.into(),
            encoded: encoded.into(),
        }
    }

    /// The name as written.
    pub fn as_str(&self) -> &str {
        &self.decoded
    }
}

/// A name pattern of `remove` and `keep`: `*` matches any run of characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NamePattern {
    /// The text between the `*`s, in order (`"utm_*"` is `["utm_", ""]`).
    pieces: Vec<Box<str>>,
}

impl NamePattern {
    /// The pattern as written.
    pub fn new(pattern: &str) -> Self {
        NamePattern {
            pieces: pattern.split('*').map(Into::into).collect(),
        }
    }

    /// Whether the decoded name matches.
    pub(crate) fn matches(&self, name: &str) -> bool {
        let [first, middle @ .., last] = self.pieces.as_slice() else {
            // One piece: no `*`, an exact name.
            return self.pieces.first().is_some_and(|only| **only == *name);
        };
        let Some(mut rest) = name.strip_prefix(&**first) else {
            return false;
        };
        for piece in middle {
            match rest.find(&**piece) {
                Some(at) => rest = &rest[at + piece.len()..],
                None => return false,
            }
        }
        rest.len() >= last.len() && rest.ends_with(&**last)
    }

    /// The pattern as written.
    pub fn to_text(&self) -> String {
        self.pieces.join("*")
    }
}

/// The raw name of one parameter: the text before its first `=`.
pub fn raw_name(parameter: &str) -> &str {
    parameter
        .split_once('=')
        .map_or(parameter, |(name, _)| name)
}

/// The name as `remove`, `keep` and `set` match it: percent-decoded.
fn decoded_name_is(parameter: &str, test: impl Fn(&str) -> bool) -> bool {
    let raw = raw_name(parameter);
    if raw.contains('%') {
        test(&percent_decode_str(raw).decode_utf8_lossy())
    } else {
        test(raw)
    }
}

/// The parameters of a query; none for the empty query.
fn parameters(query: &str) -> impl Iterator<Item = &str> {
    query.split('&').filter(move |_| !query.is_empty())
}

/// The query after `set`: `value` is the expanded template, not yet encoded.
pub fn set(query: &str, name: &QueryName, value: &str) -> String {
    let mut out = Joined::with_capacity(query.len() + value.len() + 8);
    let mut placed = false;
    for parameter in parameters(query) {
        if !decoded_name_is(parameter, |decoded| decoded == &*name.decoded) {
            out.push(parameter);
        } else if !placed {
            placed = true;
            let text = out.start();
            text.push_str(raw_name(parameter));
            text.push('=');
            push_url_encoded(value, text);
        }
    }
    if !placed {
        out.append(name, value);
    }
    out.text
}

/// The query after `add`.
pub fn add(query: &str, name: &QueryName, value: &str) -> String {
    let mut out = Joined::with_capacity(query.len() + value.len() + 8);
    for parameter in parameters(query) {
        out.push(parameter);
    }
    out.append(name, value);
    out.text
}

/// The query without the parameters whose name matches (`remove`), or
/// without those whose name matches none (`keep`, `keep_matching` true).
pub fn filter(query: &str, patterns: &[NamePattern], keep_matching: bool) -> String {
    let mut out = Joined::with_capacity(query.len());
    for parameter in parameters(query) {
        let matched = decoded_name_is(parameter, |decoded| {
            patterns.iter().any(|p| p.matches(decoded))
        });
        if matched == keep_matching {
            out.push(parameter);
        }
    }
    out.text
}

/// The query with its parameters ordered by their raw names' bytes, equal
/// names keeping their order.
pub fn sort(query: &str) -> String {
    let mut all: Vec<&str> = parameters(query).collect();
    all.sort_by(|a, b| raw_name(a).as_bytes().cmp(raw_name(b).as_bytes()));
    all.join("&")
}

/// Parameters joined with `&`; it counts them rather than looking at the
/// text, so an empty parameter (`a=1&&b=2`) survives as it was.
struct Joined {
    text: String,
    count: usize,
}

impl Joined {
    fn with_capacity(capacity: usize) -> Self {
        Joined {
            text: String::with_capacity(capacity),
            count: 0,
        }
    }

    /// Starts one more parameter and hands out the text to write it into.
    fn start(&mut self) -> &mut String {
        if self.count > 0 {
            self.text.push('&');
        }
        self.count += 1;
        &mut self.text
    }

    fn push(&mut self, parameter: &str) {
        self.start().push_str(parameter);
    }

    fn append(&mut self, name: &QueryName, value: &str) {
        let text = self.start();
        text.push_str(&name.encoded);
        text.push('=');
        push_url_encoded(value, text);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn patterns(list: &[&str]) -> Vec<NamePattern> {
        list.iter().map(|p| NamePattern::new(p)).collect()
    }

    #[test]
    fn patterns_match_decoded_names_with_stars() {
        let utm = NamePattern::new("utm_*");
        assert!(utm.matches("utm_source"));
        assert!(utm.matches("utm_"));
        assert!(!utm.matches("UTM_source"));
        assert!(!utm.matches("xutm_a"));
        assert!(NamePattern::new("*id").matches("fbclid"));
        assert!(NamePattern::new("a*b*c").matches("abc"));
        assert!(NamePattern::new("a*b*c").matches("aXbYc"));
        assert!(!NamePattern::new("a*b*c").matches("acb"));
        assert!(!NamePattern::new("ab*ba").matches("aba"));
        assert!(NamePattern::new("*").matches(""));
        assert!(NamePattern::new("page").matches("page"));
        assert!(!NamePattern::new("page").matches("pages"));
    }

    #[test]
    fn remove_strips_tracking_and_keeps_the_rest_byte_for_byte() {
        let query = "q=a%2fb&utm_source=x&fbclid=1&flag&utm%5Fmedium=y&e=";
        let out = filter(query, &patterns(&["utm_*", "fbclid"]), false);
        assert_eq!(out, "q=a%2fb&flag&e=");
        assert_eq!(filter("utm_a=1", &patterns(&["utm_*"]), false), "");
    }

    #[test]
    fn keep_keeps_only_the_named() {
        let out = filter("a=1&q=x&b=2&page=3&q=y", &patterns(&["q", "page"]), true);
        assert_eq!(out, "q=x&page=3&q=y");
    }

    #[test]
    fn set_replaces_the_first_in_place_and_drops_the_others() {
        let name = QueryName::new("page");
        assert_eq!(set("a=1&page=2&b&page=9", &name, "1"), "a=1&page=1&b");
        assert_eq!(set("a=1", &name, "1"), "a=1&page=1");
        assert_eq!(set("", &name, "a b/é"), "page=a%20b%2F%C3%A9");
        // A parameter replaced in place keeps its name's bytes.
        assert_eq!(set("p%61ge=2", &name, "1"), "p%61ge=1");
    }

    #[test]
    fn add_appends_encoded() {
        let name = QueryName::new("tag list");
        assert_eq!(add("a=1", &name, "x&y"), "a=1&tag%20list=x%26y");
        assert_eq!(add("", &name, ""), "tag%20list=");
    }

    #[test]
    fn empty_parameters_survive_untouched() {
        let name = QueryName::new("q=x");
        assert_eq!(set("&&", &name, "1"), "&&&q%3Dx=1");
        assert_eq!(add("&a", &name, ""), "&a&q%3Dx=");
        assert_eq!(filter("&&b=1", &patterns(&["a"]), false), "&&b=1");
        assert_eq!(filter("&&b=1", &patterns(&["*"]), false), "");
    }

    #[test]
    fn sort_is_stable_by_raw_name_bytes() {
        assert_eq!(sort("b=2&a=1&B=0&a=0&c"), "B=0&a=1&a=0&b=2&c");
        assert_eq!(sort(""), "");
    }
}
