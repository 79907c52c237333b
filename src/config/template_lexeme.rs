//! Where a template's `{…}` ends (§15): the one definition, in Rust, of the
//! `template` token of `grammar/proxy.pest`. The lexical pass uses it to find
//! where a template string ends, the string map to keep a `{…}` as written
//! (its inner strings are unescaped by the template compiler, not here), and
//! the template compiler to split the value.

/// For a `{` at `open` that is not the first of `{{`: the offset after the
/// `}` that closes it, skipping strings inside (`{replace(path, "/{2,}",
/// "/")}`). `None` when no `}` closes it on the line, or another `{` comes
/// first outside a string: then the `{` is plain text.
pub(crate) fn placeholder_end(bytes: &[u8], open: usize) -> Option<usize> {
    let mut i = open + 1;
    loop {
        match *bytes.get(i)? {
            b'}' => return Some(i + 1),
            b'{' | b'\n' => return None,
            b'"' => i = inner_string_end(bytes, i)?,
            _ => i += 1,
        }
    }
}

/// For a `"` at `open` inside a `{…}`: the offset after its closing quote,
/// with the escapes of §2; `None` when the line ends first.
pub(crate) fn inner_string_end(bytes: &[u8], open: usize) -> Option<usize> {
    let mut i = open + 1;
    loop {
        match *bytes.get(i)? {
            b'"' => return Some(i + 1),
            b'\n' => return None,
            b'\\' if bytes.get(i + 1).is_some_and(|&b| b != b'\n') => i += 2,
            _ => i += 1,
        }
    }
}

/// For a template's opening `"` at `open`: `Ok(offset after the closing
/// quote)`, or `Err(end of line)` when it is not closed on its line.
pub(crate) fn template_end(bytes: &[u8], open: usize) -> Result<usize, usize> {
    let mut i = open + 1;
    while i < bytes.len() {
        match bytes[i] {
            b'"' => return Ok(i + 1),
            b'\n' => return Err(i),
            b'{' if bytes.get(i + 1) == Some(&b'{') => i += 2,
            b'{' => i = placeholder_end(bytes, i).unwrap_or(i + 1),
            b'\\' if bytes.get(i + 1).is_some_and(|&b| b != b'\n') => i += 2,
            _ => i += 1,
        }
    }
    Err(bytes.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_skip_inner_strings() {
        let text = br#"{replace(path, "/{2,}", "/")}x"#;
        assert_eq!(placeholder_end(text, 0), Some(text.len() - 1));
        assert_eq!(placeholder_end(b"{host}", 0), Some(6));
        assert_eq!(placeholder_end(b"{a{b}", 0), None);
        assert_eq!(placeholder_end(b"{a\n}", 0), None);
        assert_eq!(placeholder_end(br#"{f("a\"}")}"#, 0), Some(11));
    }

    #[test]
    fn a_template_ends_at_the_first_quote_outside_braces() {
        let text = br#""{replace(path, "/{2,}", "/")}" rest"#;
        assert_eq!(template_end(text, 0), Ok(text.len() - 5));
        assert_eq!(template_end(br#""a{" "b""#, 0), Ok(4));
        assert_eq!(template_end(br#""{{"a"}}""#, 0), Ok(4));
        assert_eq!(template_end(b"\"abc\n\"", 0), Err(4));
        assert_eq!(template_end(br#""a\"b""#, 0), Ok(6));
    }
}
