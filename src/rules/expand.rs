//! Template expansion (spec §9) and what happens to an expanded redirect or
//! rewrite target before it is used: query carry-over (§6) and escaping of
//! characters that a URI cannot hold.

use std::fmt::Write as _;

use super::field::FieldReader;
use super::matcher::Slots;
use super::template::{Template, TemplatePart};

/// Appends the template's text: literals as they are, fields as §4 reads
/// them, captures from the rule's matched regexes (`""` for a group that took
/// no part in the match).
pub(crate) fn expand_into(
    template: &Template,
    reader: &FieldReader<'_>,
    slots: &Slots<'_>,
    out: &mut String,
) {
    for part in &template.parts {
        match part {
            TemplatePart::Literal(text) => out.push_str(text),
            TemplatePart::Field(field) => reader.write_value(field, out),
            TemplatePart::Capture(capture) => {
                if let Some(Some(captured)) = slots.get(capture.slot) {
                    out.push_str(captured.group(capture.group));
                }
            }
        }
    }
}

/// The template's text as a new string.
pub(crate) fn expand(template: &Template, reader: &FieldReader<'_>, slots: &Slots<'_>) -> String {
    let mut out = String::new();
    expand_into(template, reader, slots, &mut out);
    out
}

/// Query carry-over for `redirect` and `rewrite`: a target without `?` gets
/// `?` and the request's query when the request had a non-empty one; a target
/// whose only `?` is its last character loses that `?` (and so the query).
/// Any other target is used as it is.
pub(crate) fn carry_query(mut target: String, query: Option<&str>) -> String {
    match target.find('?') {
        None => {
            if let Some(query) = query.filter(|query| !query.is_empty()) {
                target.push('?');
                target.push_str(query);
            }
        }
        Some(at) if at + 1 == target.len() => {
            target.truncate(at);
        }
        Some(_) => {}
    }
    target
}

/// Percent-encodes the bytes a URI may not hold (controls, space, non-ASCII,
/// `"<>\^`{|}`), leaving existing escapes and every other character alone, so
/// a target built from decoded arguments or header text is still one URI.
pub(crate) fn escape_uri(target: String) -> String {
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
    fn uri_escaping_keeps_escapes_and_encodes_the_rest() {
        assert_eq!(escape_uri("/a%2Fb?x=1".into()), "/a%2Fb?x=1");
        assert_eq!(escape_uri("/a b\r\n".into()), "/a%20b%0D%0A");
        assert_eq!(escape_uri("/é{".into()), "/%C3%A9%7B");
    }
}
