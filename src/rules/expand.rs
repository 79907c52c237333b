//! Template expansion (spec §9) and what happens to an expanded redirect or
//! rewrite target before it is used: query carry-over (§6) and escaping of
//! characters that a URI cannot hold.

use std::borrow::Cow;
use std::fmt::Write as _;

use super::field::FieldReader;
use super::matcher::Slots;
use super::template::{Template, TemplatePart};

/// Appends the template's text: literals as they are, fields as §4 reads
/// them, captures from the rule's matched regexes (`""` for a group that took
/// no part in the match).
pub fn expand_into(
    template: &Template,
    reader: &FieldReader<'_>,
    slots: &Slots<'_>,
    out: &mut String,
) {
    for part in &template.parts {
        expand_part(part, reader, slots, out);
    }
}

fn expand_part(part: &TemplatePart, reader: &FieldReader<'_>, slots: &Slots<'_>, out: &mut String) {
    match part {
        TemplatePart::Literal(text) => out.push_str(text),
        TemplatePart::Field(field) => reader.write_value(field, out),
        TemplatePart::MapValue { map, field } => {
            if let Some(value) = map.get(&reader.value(field)) {
                out.push_str(value);
            }
        }
        TemplatePart::Capture(capture) => {
            if let Some(Some(captured)) = slots.get(capture.slot) {
                out.push_str(captured.group(capture.group));
            }
        }
        TemplatePart::Call(function, inner) => {
            let mut text = String::new();
            expand_part(inner, reader, slots, &mut text);
            out.push_str(&function.apply(Cow::Owned(text)));
        }
    }
}

/// The template's text as a new string.
pub fn expand(template: &Template, reader: &FieldReader<'_>, slots: &Slots<'_>) -> String {
    let mut out = String::new();
    expand_into(template, reader, slots, &mut out);
    out
}

/// Query carry-over for `redirect` (§6, §15): a target without `?` gets `?`
/// and the outgoing query when it is not empty, placed before a `#fragment`;
/// a target whose only `?` ends it (or comes right before its `#`) loses
/// that `?`, and so the query. Any other target is used as it is.
pub fn carry_query(mut target: String, query: Option<&str>) -> String {
    let end = target.find('#').unwrap_or(target.len());
    match target[..end].find('?') {
        None => {
            if let Some(query) = query.filter(|query| !query.is_empty()) {
                target.insert(end, '?');
                target.insert_str(end + 1, query);
            }
        }
        Some(at) if at + 1 == end => {
            target.remove(at);
        }
        Some(_) => {}
    }
    target
}

/// A rewrite target split into its path and, when it has a `?`, its own
/// query (empty for a lone `?`, which drops the query).
pub fn split_rewrite(target: &str) -> (&str, Option<&str>) {
    match target.split_once('?') {
        Some((path, query)) => (path, Some(query)),
        None => (target, None),
    }
}

/// Percent-encodes the bytes a URI may not hold (controls, space, non-ASCII,
/// `"<>\^`{|}`), leaving existing escapes and every other character alone, so
/// a target built from decoded arguments or header text is still one URI.
pub fn escape_uri(target: String) -> String {
    if !target.bytes().any(needs_escape) {
        return target;
    }
    let mut out = String::with_capacity(target.len() + 16);
    for byte in target.bytes() {
        if needs_escape(byte) {
            // Formatting into a String cannot fail.
            let _ = write!(out, "%{byte:02X}");
        } else {
            out.push(char::from(byte));
        }
    }
    out
}

fn needs_escape(byte: u8) -> bool {
    byte <= b' '
        || byte >= 0x7f
        || matches!(
            byte,
            b'"' | b'<' | b'>' | b'\\' | b'^' | b'`' | b'{' | b'|' | b'}'
        )
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn query_is_carried_over_when_target_has_none() {
        assert_eq!(carry_query("/new".into(), Some("a=1")), "/new?a=1");
        assert_eq!(carry_query("/new".into(), None), "/new");
        assert_eq!(carry_query("/new".into(), Some("")), "/new");
    }

    #[test]
    fn target_query_replaces_the_original() {
        assert_eq!(carry_query("/new?b=2".into(), Some("a=1")), "/new?b=2");
    }

    #[test]
    fn lone_trailing_question_mark_drops_the_query() {
        assert_eq!(carry_query("/new?".into(), Some("a=1")), "/new");
        assert_eq!(carry_query("https://x/?".into(), None), "https://x/");
        assert_eq!(carry_query("/new?b=2?".into(), Some("a=1")), "/new?b=2?");
    }

    #[test]
    fn the_query_goes_before_the_fragment() {
        assert_eq!(
            carry_query("/page#top".into(), Some("a=1")),
            "/page?a=1#top"
        );
        assert_eq!(carry_query("/page?#top".into(), Some("a=1")), "/page#top");
        assert_eq!(
            carry_query("/page?b=2#top".into(), Some("a=1")),
            "/page?b=2#top"
        );
        assert_eq!(
            carry_query("/page#a?b".into(), Some("a=1")),
            "/page?a=1#a?b"
        );
    }

    #[test]
    fn a_rewrite_splits_at_its_first_question_mark() {
        assert_eq!(split_rewrite("/a?b=1"), ("/a", Some("b=1")));
        assert_eq!(split_rewrite("/a?"), ("/a", Some("")));
        assert_eq!(split_rewrite("/a"), ("/a", None));
    }

    #[test]
    fn uri_escaping_keeps_escapes_and_encodes_the_rest() {
        assert_eq!(escape_uri("/a%2Fb?x=1".into()), "/a%2Fb?x=1");
        assert_eq!(escape_uri("/a b\r\n".into()), "/a%20b%0D%0A");
        assert_eq!(escape_uri("/é{".into()), "/%C3%A9%7B");
    }
}
