//! The string functions of spec §15 (`lower`, `upper`, `url_decode`,
//! `url_encode`, `replace`), applied to a field's value in a condition or to
//! a name in a template. Each returns its input untouched (borrowed) when it
//! would not change it, so `lower(path)` on a lower-case path costs no
//! allocation.

use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;

use percent_encoding::percent_decode_str;

use super::condition::Field;
use super::rule_regex::RuleRegex;
use super::trace::{FieldText, Quoted};

/// The most text one template expansion, or one `replace`, may produce
/// (64 KiB): a template past it is skipped with a warning, like a header
/// value with CR/LF, and `replace` stops there.
pub const MAX_EXPANSION: usize = 64 * 1024;

/// One string function, with its arguments prepared at compile time.
#[derive(Debug, Clone)]
pub enum Function {
    /// `lower(x)`: ASCII letters folded to lower case.
    Lower,
    /// `upper(x)`: ASCII letters folded to upper case.
    Upper,
    /// `url_decode(x)`: percent-escapes decoded, invalid ones kept, bytes
    /// that are not UTF-8 turned into U+FFFD.
    UrlDecode,
    /// `url_encode(x)`: every byte outside RFC 3986's unreserved set
    /// percent-encoded with upper-case hex.
    UrlEncode,
    /// `replace(x, "REGEX", "WITH")`: every match replaced by the literal text.
    Replace {
        /// The checked pattern.
        regex: RuleRegex,
        /// The replacement, literal (`$` means nothing).
        with: Box<str>,
    },
}

impl PartialEq for Function {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (
                Function::Replace { regex, with },
                Function::Replace {
                    regex: other_regex,
                    with: other_with,
                },
            ) => regex.as_str() == other_regex.as_str() && with == other_with,
            _ => self.name() == other.name(),
        }
    }
}

/// The function names, for parsing and for suggestions.
pub(crate) const FUNCTION_NAMES: [&str; 5] =
    ["lower", "upper", "url_decode", "url_encode", "replace"];

impl Function {
    /// The name as written.
    pub(crate) fn name(&self) -> &'static str {
        match self {
            Function::Lower => "lower",
            Function::Upper => "upper",
            Function::UrlDecode => "url_decode",
            Function::UrlEncode => "url_encode",
            Function::Replace { .. } => "replace",
        }
    }

    /// The function's value for `input`; borrowed when nothing changes.
    pub(crate) fn apply<'a>(&self, input: Cow<'a, str>) -> Cow<'a, str> {
        match self {
            Function::Lower if input.bytes().any(|b| b.is_ascii_uppercase()) => {
                Cow::Owned(input.to_ascii_lowercase())
            }
            Function::Upper if input.bytes().any(|b| b.is_ascii_lowercase()) => {
                Cow::Owned(input.to_ascii_uppercase())
            }
            Function::UrlDecode if input.contains('%') => {
                Cow::Owned(percent_decode_str(&input).decode_utf8_lossy().into_owned())
            }
            Function::UrlEncode if !input.bytes().all(is_unreserved) => {
                Cow::Owned(url_encode(&input))
            }
            Function::Replace { regex, with } => match regex.get() {
                Some(regex) => replace(regex, input, with),
                None => input,
            },
            _ => input,
        }
    }
}

/// RFC 3986's unreserved characters: `A–Z a–z 0–9 - . _ ~`.
pub(crate) fn is_unreserved(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~')
}

/// Every byte outside the unreserved set as `%XX`, upper-case hex.
pub(crate) fn url_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + text.len() / 2);
    push_url_encoded(text, &mut out);
    out
}

/// Appends `text` with every byte outside the unreserved set as `%XX`.
pub(crate) fn push_url_encoded(text: &str, out: &mut String) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    for byte in text.bytes() {
        if is_unreserved(byte) {
            out.push(char::from(byte));
        } else {
            out.push('%');
            out.push(char::from(HEX[usize::from(byte >> 4)]));
            out.push(char::from(HEX[usize::from(byte & 0xf)]));
        }
    }
}

/// Every match replaced by `with`, left to right, as the regex crate finds
/// them (an empty match next to a previous match is skipped, as in
/// `Regex::replace_all`); the output stops growing past [`MAX_EXPANSION`].
fn replace<'a>(regex: &regex::Regex, input: Cow<'a, str>, with: &str) -> Cow<'a, str> {
    let mut matches = regex.find_iter(&input).peekable();
    if matches.peek().is_none() {
        drop(matches);
        return input;
    }
    let mut out = String::with_capacity(input.len());
    let mut last = 0;
    for found in matches {
        out.push_str(&input[last..found.start()]);
        out.push_str(with);
        last = found.end();
        if out.len() > MAX_EXPANSION {
            return Cow::Owned(out);
        }
    }
    out.push_str(&input[last..]);
    Cow::Owned(out)
}

/// A function applied to a field (possibly itself a call): what a condition
/// reads in `lower(path) ^= "/admin"` and a template in `{lower(path)}`.
#[derive(Debug)]
pub struct Call {
    /// The same expression, written anywhere in the file, has the same id:
    /// a request computes it once (`FieldReader` caches by id).
    pub(crate) id: usize,
    /// The outermost function.
    pub(crate) function: Function,
    /// What it is applied to.
    pub(crate) input: Field,
}

impl Call {
    /// A call shared by every place it is written.
    pub fn new(id: usize, function: Function, input: Field) -> Arc<Self> {
        Arc::new(Call {
            id,
            function,
            input,
        })
    }
}

impl PartialEq for Call {
    fn eq(&self, other: &Self) -> bool {
        self.id == other.id
    }
}

impl Eq for Call {}

impl fmt::Display for Call {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}({}", self.function.name(), FieldText(&self.input))?;
        if let Function::Replace { regex, with } = &self.function {
            write!(f, ", {}, {}", Quoted(regex.as_str()), Quoted(with))?;
        }
        f.write_str(")")
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn apply(function: &Function, input: &str) -> String {
        function.apply(Cow::Borrowed(input)).into_owned()
    }

    fn replace_fn(pattern: &str, with: &str) -> Function {
        Function::Replace {
            regex: RuleRegex::checked(pattern),
            with: with.into(),
        }
    }

    #[test]
    fn case_folding_is_ascii_only_and_borrows_when_unchanged() {
        assert_eq!(apply(&Function::Lower, "/Admin/ÉTÉ"), "/admin/ÉtÉ");
        assert_eq!(apply(&Function::Upper, "de-at"), "DE-AT");
        assert!(matches!(
            Function::Lower.apply(Cow::Borrowed("/already")),
            Cow::Borrowed(_)
        ));
        assert!(matches!(
            Function::Upper.apply(Cow::Borrowed("DE")),
            Cow::Borrowed(_)
        ));
    }

    #[test]
    fn url_decode_keeps_plus_and_invalid_escapes() {
        assert_eq!(apply(&Function::UrlDecode, "/a%2Fb"), "/a/b");
        assert_eq!(apply(&Function::UrlDecode, "a+b%20c"), "a+b c");
        assert_eq!(apply(&Function::UrlDecode, "100%"), "100%");
        assert_eq!(apply(&Function::UrlDecode, "%zz%4"), "%zz%4");
        assert_eq!(apply(&Function::UrlDecode, "%FF%C3"), "\u{FFFD}\u{FFFD}");
        assert_eq!(apply(&Function::UrlDecode, "%C3%A9"), "é");
    }

    #[test]
    fn url_encode_leaves_only_unreserved_bytes() {
        assert_eq!(apply(&Function::UrlEncode, "a-b_c.d~e"), "a-b_c.d~e");
        assert_eq!(
            apply(&Function::UrlEncode, "/a b?c=é"),
            "%2Fa%20b%3Fc%3D%C3%A9"
        );
        assert_eq!(apply(&Function::UrlEncode, "%"), "%25");
    }

    #[test]
    fn replace_is_literal_and_global() {
        assert_eq!(apply(&replace_fn("/{2,}", "/"), "//a///b/c"), "/a/b/c");
        assert_eq!(apply(&replace_fn("a", "$0"), "banana"), "b$0n$0n$0");
        assert_eq!(apply(&replace_fn("x*", "-"), "ab"), "-a-b-");
        assert!(matches!(
            replace_fn("z", "y").apply(Cow::Borrowed("abc")),
            Cow::Borrowed(_)
        ));
    }

    #[test]
    fn replace_output_is_bounded() {
        let input = "a".repeat(10_000);
        let out = apply(&replace_fn("", "0123456789"), &input);
        assert!(out.len() > MAX_EXPANSION);
        assert!(out.len() <= MAX_EXPANSION + 10 + 1);
    }

    #[test]
    fn functions_nest_through_fields() {
        let inner = Call::new(0, Function::UrlDecode, Field::Path);
        let outer = Call::new(1, Function::Lower, Field::Call(inner));
        assert_eq!(outer.to_string(), "lower(url_decode(path))");
        let replace = Call::new(2, replace_fn("/{2,}", "/"), Field::Path);
        assert_eq!(replace.to_string(), r#"replace(path, "/{2,}", "/")"#);
    }
}
