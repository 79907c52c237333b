//! URL normalization of spec §8 (RFC 3986 §6.2.2): one canonical spelling of
//! the request target, so that `/%61dmin` and `/x/../admin` meet the rules
//! written for `/admin`.

use std::borrow::Cow;

/// Why a path cannot be normalized.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InvalidEscape {
    /// Byte offset of the `%` that does not start a valid escape.
    pub(crate) at: usize,
}

/// Normalizes a path: percent-escapes of unreserved characters decoded, the
/// hex digits of the other escapes upper-cased, then dot segments removed
/// (also those that were spelt `%2e`, since decoding comes first). A `%` not
/// followed by two hex digits is an error: the request is answered 400.
pub fn normalize_path(path: &str) -> Result<String, InvalidEscape> {
    let decoded = normalize_escapes(path, Strictness::Strict)?;
    Ok(remove_dot_segments(&decoded))
}

/// Normalizes a query string's escapes the same way as the path's, but keeps
/// an invalid escape as it was sent: queries carry all kinds of client data
/// and the proxy forwards them untouched where it cannot improve them.
pub(crate) fn normalize_query(query: &str) -> Cow<'_, str> {
    match normalize_escapes(query, Strictness::Lenient) {
        Ok(text) => text,
        // Lenient mode never fails; keep the text as sent if it ever did.
        Err(_) => Cow::Borrowed(query),
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Strictness {
    Strict,
    Lenient,
}

fn is_unreserved(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~')
}

fn hex_value(byte: u8) -> Option<u8> {
    match byte {
        b'0'..=b'9' => Some(byte - b'0'),
        b'a'..=b'f' => Some(byte - b'a' + 10),
        b'A'..=b'F' => Some(byte - b'A' + 10),
        _ => None,
    }
}

fn normalize_escapes(text: &str, strictness: Strictness) -> Result<Cow<'_, str>, InvalidEscape> {
    let bytes = text.as_bytes();
    let Some(first) = bytes.iter().position(|&b| b == b'%') else {
        return Ok(Cow::Borrowed(text));
    };
    let mut out = String::with_capacity(text.len());
    out.push_str(&text[..first]);
    let mut i = first;
    while i < bytes.len() {
        let byte = bytes[i];
        if byte != b'%' {
            // Copy the run up to the next `%` whole (keeps UTF-8 intact).
            let end = bytes[i..]
                .iter()
                .position(|&b| b == b'%')
                .map_or(bytes.len(), |n| i + n);
            out.push_str(&text[i..end]);
            i = end;
            continue;
        }
        let escape = (
            bytes.get(i + 1).copied().and_then(hex_value),
            bytes.get(i + 2).copied().and_then(hex_value),
        );
        match escape {
            (Some(high), Some(low)) => {
                let value = high * 16 + low;
                if is_unreserved(value) {
                    out.push(char::from(value));
                } else {
                    out.push('%');
                    out.push(char::from(bytes[i + 1].to_ascii_uppercase()));
                    out.push(char::from(bytes[i + 2].to_ascii_uppercase()));
                }
                i += 3;
            }
            _ if strictness == Strictness::Strict => return Err(InvalidEscape { at: i }),
            _ => {
                out.push('%');
                i += 1;
            }
        }
    }
    Ok(Cow::Owned(out))
}

/// RFC 3986 §5.2.4 for an absolute path: `.` segments vanish, `..` removes the
/// segment before it (never above the root), and a path that ended in a dot
/// segment keeps its trailing slash.
pub(crate) fn remove_dot_segments(path: &str) -> String {
    let has_dot_segment = path
        .split('/')
        .any(|segment| segment == "." || segment == "..");
    if !has_dot_segment {
        return path.to_owned();
    }
    let rooted = path.strip_prefix('/').unwrap_or(path);
    let mut kept: Vec<&str> = Vec::new();
    let mut segments = rooted.split('/').peekable();
    while let Some(segment) = segments.next() {
        let last = segments.peek().is_none();
        match segment {
            "." => {}
            ".." => {
                kept.pop();
            }
            other => kept.push(other),
        }
        if last && (segment == "." || segment == "..") {
            kept.push("");
        }
    }
    let mut out = String::with_capacity(path.len());
    for segment in kept {
        out.push('/');
        out.push_str(segment);
    }
    if out.is_empty() {
        out.push('/');
    }
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn unreserved_escapes_are_decoded() {
        assert_eq!(normalize_path("/%61dmin").unwrap(), "/admin");
        assert_eq!(normalize_path("/%7Euser/%2D%5F").unwrap(), "/~user/-_");
    }

    #[test]
    fn reserved_escapes_get_upper_case_hex() {
        assert_eq!(normalize_path("/a%2fb").unwrap(), "/a%2Fb");
        assert_eq!(normalize_path("/%c3%a9t%c3%A9").unwrap(), "/%C3%A9t%C3%A9");
    }

    #[test]
    fn dot_segments_are_removed() {
        assert_eq!(normalize_path("/a/./b/../c").unwrap(), "/a/c");
        assert_eq!(normalize_path("/a/b/..").unwrap(), "/a/");
        assert_eq!(normalize_path("/a/.").unwrap(), "/a/");
        assert_eq!(normalize_path("/../../etc").unwrap(), "/etc");
        assert_eq!(normalize_path("/..").unwrap(), "/");
        assert_eq!(normalize_path("/a/..b/.c").unwrap(), "/a/..b/.c");
    }

    #[test]
    fn encoded_dot_segments_are_removed_after_decoding() {
        assert_eq!(normalize_path("/x/%2e%2e/admin").unwrap(), "/admin");
        assert_eq!(normalize_path("/x/%2E/y").unwrap(), "/x/y");
        assert_eq!(normalize_path("/x/.%2e/%2e./y").unwrap(), "/y");
    }

    #[test]
    fn encoded_slashes_do_not_make_segments() {
        assert_eq!(normalize_path("/a%2F..%2Fb").unwrap(), "/a%2F..%2Fb");
    }

    #[test]
    fn empty_segments_are_kept() {
        assert_eq!(normalize_path("//a//b/").unwrap(), "//a//b/");
        assert_eq!(normalize_path("/").unwrap(), "/");
    }

    #[test]
    fn invalid_path_escape_is_an_error() {
        assert_eq!(normalize_path("/a%zz"), Err(InvalidEscape { at: 2 }));
        assert_eq!(normalize_path("/a%4"), Err(InvalidEscape { at: 2 }));
        assert_eq!(normalize_path("/100%"), Err(InvalidEscape { at: 4 }));
    }

    #[test]
    fn query_escapes_are_normalized_and_invalid_ones_kept() {
        assert_eq!(normalize_query("a=%7e&b=%2f"), "a=~&b=%2F");
        assert_eq!(normalize_query("q=100%&r=%zz"), "q=100%&r=%zz");
        assert_eq!(normalize_query("a=./../b"), "a=./../b");
        assert!(matches!(normalize_query("plain=1"), Cow::Borrowed(_)));
    }
}
