//! Reads the fields of spec §4 out of `RequestFacts` (and, for response
//! rules, §12's out of `ResponseFacts`) for one evaluation, lazily: a header,
//! cookie or query argument is only looked up when a reached rule asks for
//! it, and borrowed from the request wherever possible.

use std::borrow::Cow;
use std::cell::OnceCell;
use std::fmt::Write as _;

use http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use percent_encoding::percent_decode_str;

use super::condition::Field;
use super::function::Call;
use super::request::RequestFacts;

/// The response as response rules see it (section 12): its status and
/// headers before any rule touched them.
#[derive(Debug, Clone, Copy)]
pub struct ResponseFacts<'r> {
    /// The status the next hop (or the generated answer) has.
    pub status: StatusCode,
    /// Its headers.
    pub headers: &'r HeaderMap,
}

/// How many distinct function calls (`lower(path)` …) a request keeps the
/// value of; a rule set with more computes the others at each use.
pub const CACHED_CALLS: usize = 8;

/// The fields of one request, with the derived texts (`uri`, `client_ip`,
/// function calls) built once on first use.
pub struct FieldReader<'f> {
    facts: &'f RequestFacts<'f>,
    response: Option<ResponseFacts<'f>>,
    uri: OnceCell<String>,
    client_ip: OnceCell<String>,
    /// The response's media type, read with the response (a cell would
    /// tie the reader to one lifetime): borrowed from the header when it is
    /// already lower-case, as most are; UTF-8, kept as bytes so the
    /// response gate compares it without checking that again.
    content_type: Cow<'f, [u8]>,
    /// Function values by call id: `None` when the function left its input
    /// as it was (then the input is read again, which costs nothing).
    calls: [OnceCell<Option<String>>; CACHED_CALLS],
}

impl<'f> FieldReader<'f> {
    /// A reader over one request's facts.
    pub(crate) fn new(facts: &'f RequestFacts<'f>) -> Self {
        FieldReader {
            facts,
            response: None,
            uri: OnceCell::new(),
            client_ip: OnceCell::new(),
            content_type: Cow::Borrowed(b""),
            calls: Default::default(),
        }
    }

    /// A reader over one request and the response to it, for response rules.
    pub fn with_response(facts: &'f RequestFacts<'f>, response: ResponseFacts<'f>) -> Self {
        let content_type = response
            .headers
            .get(header::CONTENT_TYPE)
            .map_or(Cow::Borrowed(&b""[..]), media_type);
        FieldReader {
            response: Some(response),
            content_type,
            ..FieldReader::new(facts)
        }
    }

    /// The response's status, when the reader has a response.
    pub fn status(&self) -> Option<u16> {
        self.response.map(|response| response.status.as_u16())
    }

    /// The response's status as a code, when the reader has a response.
    pub fn status_code(&self) -> Option<StatusCode> {
        self.response.map(|response| response.status)
    }

    /// The response's media type (`content_type`) as UTF-8 bytes: empty
    /// without one.
    pub(crate) fn content_type(&self) -> &[u8] {
        &self.content_type
    }

    /// The facts read.
    pub(crate) fn facts(&self) -> &'f RequestFacts<'f> {
        self.facts
    }

    /// The field's value as conditions compare it and templates insert it.
    pub(crate) fn value(&self, field: &Field) -> Cow<'_, str> {
        let facts = self.facts;
        match field {
            Field::Scheme => Cow::Borrowed(facts.scheme.as_str()),
            Field::Host => Cow::Borrowed(&facts.host),
            Field::Method => Cow::Borrowed(facts.method),
            Field::Path => Cow::Borrowed(&facts.path),
            Field::Query => Cow::Borrowed(facts.query.as_deref().unwrap_or("")),
            Field::Uri => Cow::Borrowed(self.uri.get_or_init(|| facts.target())),
            Field::ClientIp => {
                Cow::Borrowed(self.client_ip.get_or_init(|| facts.client_ip.to_string()))
            }
            Field::Header(name) => {
                header_value(facts.headers, name.name()).unwrap_or(Cow::Borrowed(""))
            }
            Field::Cookie(name) => {
                cookie_value(facts.headers, name).map_or(Cow::Borrowed(""), Cow::Borrowed)
            }
            Field::Arg(name) => {
                arg_value(facts.query.as_deref(), name).unwrap_or(Cow::Borrowed(""))
            }
            Field::Status => Cow::Borrowed(
                self.response
                    .as_ref()
                    .map_or("", |response| response.status.as_str()),
            ),
            Field::ResponseHeader(name) => self
                .response
                .and_then(|r| header_value(r.headers, name))
                .unwrap_or(Cow::Borrowed("")),
            // Always UTF-8 (`media_type`): the fallback never runs.
            Field::ContentType => {
                Cow::Borrowed(std::str::from_utf8(&self.content_type).unwrap_or(""))
            }
            Field::Call(call) => self.call(call),
        }
    }

    /// A function's value, computed at most once per request for each call
    /// id below [`CACHED_CALLS`] (and allocated only when the function
    /// changed its input).
    fn call(&self, call: &Call) -> Cow<'_, str> {
        let Some(cell) = self.calls.get(call.id) else {
            return call.function.apply(self.value(&call.input));
        };
        let cached = cell.get_or_init(|| match call.function.apply(self.value(&call.input)) {
            Cow::Owned(changed) => Some(changed),
            Cow::Borrowed(_) => None,
        });
        match cached {
            Some(changed) => Cow::Borrowed(changed),
            None => self.value(&call.input),
        }
    }

    /// `exists field`: present, even if empty. Only headers, cookies and
    /// query arguments can be absent; the other fields always exist.
    pub(crate) fn exists(&self, field: &Field) -> bool {
        let facts = self.facts;
        match field {
            Field::Header(name) => facts.headers.contains_key(name.name()),
            Field::Cookie(name) => cookie_value(facts.headers, name).is_some(),
            Field::Arg(name) => arg_value(facts.query.as_deref(), name).is_some(),
            Field::ResponseHeader(name) => {
                self.response.is_some_and(|r| r.headers.contains_key(name))
            }
            _ => true,
        }
    }

    /// Appends the field's value to a template's output.
    pub(crate) fn write_value(&self, field: &Field, out: &mut String) {
        match field {
            Field::ClientIp if self.client_ip.get().is_none() => {
                // Formatting into a String cannot fail.
                let _ = write!(out, "{}", self.facts.client_ip);
            }
            _ => out.push_str(&self.value(field)),
        }
    }
}

/// A `Content-Type` value's media type as UTF-8 bytes: lower-cased,
/// parameters and blanks dropped (`Text/HTML; charset=utf-8` →
/// `text/html`); borrowed from the header when it is ASCII without upper
/// case, as most are. Every response goes through here when response
/// rules test `content_type`: that case is one pass to the `;`, and no
/// UTF-8 check (a rule that reads the text makes it).
pub fn media_type(value: &HeaderValue) -> Cow<'_, [u8]> {
    let bytes = value.as_bytes();
    // The first byte that ends the media type or needs the slow path.
    let stop = bytes
        .iter()
        .position(|&byte| byte == b';' || !byte.is_ascii() || byte.is_ascii_uppercase())
        .unwrap_or(bytes.len());
    if bytes.get(stop).is_none_or(|&byte| byte == b';') {
        return Cow::Borrowed(bytes.get(..stop).unwrap_or_default().trim_ascii());
    }
    let end = bytes
        .iter()
        .position(|&byte| byte == b';')
        .unwrap_or(bytes.len());
    let essence = String::from_utf8_lossy(bytes.get(..end).unwrap_or_default());
    Cow::Owned(essence.trim().to_ascii_lowercase().into_bytes())
}

/// Every line of a header joined with `", "` (borrowed when there is one
/// line); `None` when absent. Bytes that are not UTF-8 become U+FFFD.
fn header_value<'h>(headers: &'h HeaderMap, name: &HeaderName) -> Option<Cow<'h, str>> {
    let mut lines = headers.get_all(name).iter();
    let first = String::from_utf8_lossy(lines.next()?.as_bytes());
    let mut joined: Option<String> = None;
    for line in lines {
        let text = joined.get_or_insert_with(|| first.to_string());
        text.push_str(", ");
        text.push_str(&String::from_utf8_lossy(line.as_bytes()));
    }
    Some(joined.map_or(first, Cow::Owned))
}

/// The first cookie of that name in the `Cookie` header lines; surrounding
/// double quotes of the value are removed (RFC 6265 allows them).
fn cookie_value<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|line| line.to_str().ok())
        .flat_map(|line| line.split(';'))
        .find_map(|pair| {
            let (key, value) = pair.split_once('=')?;
            if key.trim() != name {
                return None;
            }
            let value = value.trim();
            let unquoted = value
                .strip_prefix('"')
                .and_then(|v| v.strip_suffix('"'))
                .unwrap_or(value);
            Some(unquoted)
        })
}

/// The first value of that query parameter, percent-decoded (`+` stays `+`:
/// the spec says percent-decoded, and a path-style query has no `+` rule).
/// A parameter written without `=` is present with the empty value.
fn arg_value<'q>(query: Option<&'q str>, name: &str) -> Option<Cow<'q, str>> {
    query?.split('&').find_map(|pair| {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        let key_matches = if key.contains('%') {
            percent_decode_str(key).decode_utf8_lossy() == name
        } else {
            key == name
        };
        key_matches.then(|| percent_decode_str(value).decode_utf8_lossy())
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use std::net::IpAddr;

    fn parts(target: &str, headers: &[(&str, &str)]) -> http::request::Parts {
        let mut builder = http::Request::builder().uri(target);
        for (name, value) in headers {
            builder = builder.header(*name, *value);
        }
        builder.body(()).unwrap().into_parts().0
    }

    fn with_reader(target: &str, headers: &[(&str, &str)], check: impl Fn(&FieldReader<'_>)) {
        let p = parts(target, headers);
        let facts = RequestFacts::from_parts(&p, IpAddr::from([127, 0, 0, 1])).unwrap();
        check(&FieldReader::new(&facts));
    }

    fn header(name: &str) -> Field {
        Field::Header(HeaderName::from_bytes(name.as_bytes()).unwrap().into())
    }

    #[test]
    fn headers_join_lines_and_exist_when_empty() {
        let headers = [("x-a", "1"), ("x-a", "2"), ("x-empty", "")];
        with_reader("/", &headers, |reader| {
            assert_eq!(reader.value(&header("X-A")), "1, 2");
            assert_eq!(reader.value(&header("x-empty")), "");
            assert!(reader.exists(&header("x-empty")));
            assert_eq!(reader.value(&header("x-none")), "");
            assert!(!reader.exists(&header("x-none")));
        });
    }

    #[test]
    fn cookies_are_found_by_exact_name() {
        let headers = [("cookie", "a=1; session=\"abc\"; flag="), ("cookie", "b=2")];
        with_reader("/", &headers, |reader| {
            assert_eq!(reader.value(&Field::Cookie("session".into())), "abc");
            assert_eq!(reader.value(&Field::Cookie("b".into())), "2");
            assert_eq!(reader.value(&Field::Cookie("Session".into())), "");
            assert!(reader.exists(&Field::Cookie("flag".into())));
            assert!(!reader.exists(&Field::Cookie("nope".into())));
        });
    }

    #[test]
    fn args_take_the_first_value_percent_decoded() {
        with_reader(
            "/?q=a%20b&q=second&flag&e=&n%61me=x&plus=a+b",
            &[],
            |reader| {
                assert_eq!(reader.value(&Field::Arg("q".into())), "a b");
                assert_eq!(reader.value(&Field::Arg("name".into())), "x");
                assert_eq!(reader.value(&Field::Arg("plus".into())), "a+b");
                assert!(reader.exists(&Field::Arg("flag".into())));
                assert!(reader.exists(&Field::Arg("e".into())));
                assert!(!reader.exists(&Field::Arg("missing".into())));
                assert_eq!(reader.value(&Field::Arg("missing".into())), "");
            },
        );
        with_reader("/", &[], |reader| {
            assert!(!reader.exists(&Field::Arg("q".into())));
        });
    }

    #[test]
    fn response_fields_read_the_response() {
        let p = parts("/", &[]);
        let facts = RequestFacts::from_parts(&p, IpAddr::from([127, 0, 0, 1])).unwrap();
        let mut headers = HeaderMap::new();
        headers.insert("content-type", "Text/HTML ; charset=utf-8".parse().unwrap());
        headers.append("x-a", "1".parse().unwrap());
        headers.append("x-a", "2".parse().unwrap());
        let response = ResponseFacts {
            status: StatusCode::BAD_GATEWAY,
            headers: &headers,
        };
        let reader = FieldReader::with_response(&facts, response);
        assert_eq!(reader.value(&Field::Status), "502");
        assert_eq!(reader.value(&Field::ContentType), "text/html");
        let media = |bytes: &[u8]| {
            let value = HeaderValue::from_bytes(bytes).unwrap();
            let media = media_type(&value);
            let text = String::from_utf8(media.to_vec()).unwrap();
            (text, matches!(media, Cow::Borrowed(_)))
        };
        let borrowed = |text: &str| (text.to_owned(), true);
        let lowered = |text: &str| (text.to_owned(), false);
        assert_eq!(media(b"text/plain ; charset=utf-8"), borrowed("text/plain"));
        assert_eq!(media(b" text/html ; q=\"A\""), borrowed("text/html"));
        assert_eq!(media(b"a b;"), borrowed("a b"));
        assert_eq!(media(b"\t;x"), borrowed(""));
        assert_eq!(media(b""), borrowed(""));
        assert_eq!(media(b"Image/PNG"), lowered("image/png"));
        assert_eq!(media(b"TEXT/\xff"), lowered("text/\u{fffd}"));
        assert_eq!(media("\u{a0}Text/X\u{a0};".as_bytes()), lowered("text/x"));
        assert_eq!(media(b"text/x; q=\xff"), borrowed("text/x"));
        let x_a = Field::ResponseHeader(HeaderName::from_static("x-a"));
        assert_eq!(reader.value(&x_a), "1, 2");
        assert!(reader.exists(&x_a));
        assert!(!reader.exists(&Field::ResponseHeader(HeaderName::from_static("x-b"))));
        let request_only = FieldReader::new(&facts);
        assert_eq!(request_only.value(&Field::ContentType), "");
        assert_eq!(request_only.status(), None);
    }

    #[test]
    fn uri_query_and_client_ip() {
        with_reader("/p?x=1", &[("x-forwarded-for", "10.0.0.7")], |reader| {
            assert_eq!(reader.value(&Field::Uri), "/p?x=1");
            assert_eq!(reader.value(&Field::Query), "x=1");
            assert_eq!(reader.value(&Field::ClientIp), "10.0.0.7");
            let mut out = String::new();
            reader.write_value(&Field::ClientIp, &mut out);
            assert_eq!(out, "10.0.0.7");
        });
        with_reader("/p", &[], |reader| {
            assert_eq!(reader.value(&Field::Uri), "/p");
            assert_eq!(reader.value(&Field::Query), "");
        });
    }
}
