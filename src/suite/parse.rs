//! A `.test` file's text → its tests, checked: the grammar
//! (`grammar/test.pest`) runs first, then every line is typed (methods, URLs,
//! status codes, header names and values, addresses), collecting every fault.
//! Rule names are checked later, against the compiled rule set (`run`).

use std::net::IpAddr;

use http::{HeaderMap, HeaderName, HeaderValue, Method};
use pest::Parser as _;
use pest::iterators::Pair;

use super::case::{Expect, Expectation, RuleRef, TestCase, UpstreamAnswer};
use super::request::{DEFAULT_PEER, TestRequest, UrlProblem};
use crate::config::diagnostic::Diagnostic;
use crate::config::faults::test_files as faults;
use crate::config::span::Span;
use crate::config::string_literal::StringLiteral;

mod grammar {
    //! The parser pest derives from the grammar file.
    #![allow(missing_docs)]

    /// The pest parser for `.test` files.
    #[derive(pest_derive::Parser)]
    #[grammar = "../grammar/test.pest"]
    pub(crate) struct TestFileParser;
}

pub(crate) use grammar::Rule;

/// Parses and checks one file's text: its tests, or every fault found.
pub(crate) fn parse(text: &str) -> Result<Vec<TestCase>, Vec<Diagnostic>> {
    let scan = crate::config::lexical::scan(text);
    if !scan.faults.is_empty() {
        return Err(scan.faults);
    }
    let mut pairs = grammar::TestFileParser::parse(Rule::test_file, text)
        .map_err(|error| vec![super::syntax::convert(&error, text, &scan.unclosed_braces)])?;
    let mut cases = Vec::new();
    let mut faults = Vec::new();
    if let Some(root) = pairs.next() {
        for block in root.into_inner() {
            if block.as_rule() == Rule::test_block {
                match test_block(block) {
                    Ok(case) => cases.push(case),
                    Err(found) => faults.extend(found),
                }
            }
        }
    }
    if faults.is_empty() {
        Ok(cases)
    } else {
        Err(faults)
    }
}

/// The lines of one test, as written, before the request is built.
#[derive(Default)]
struct Lines {
    method: Option<Method>,
    url: Option<StringLiteral>,
    headers: HeaderMap,
    client_ip: Option<(IpAddr, Span)>,
    upstream: UpstreamAnswer,
    upstream_status: Option<Span>,
    expectations: Vec<Expectation>,
    faults: Vec<Diagnostic>,
}

fn test_block(pair: Pair<'_, Rule>) -> Result<TestCase, Vec<Diagnostic>> {
    let mut name = None;
    let mut lines = Lines::default();
    for inner in pair.into_inner() {
        match inner.as_rule() {
            Rule::string => name = Some(string(inner)),
            Rule::request_line => lines.request(inner),
            Rule::header_line => {
                let (name, value) = header_pair(inner, &mut lines.faults);
                if let Some((name, value)) = name.zip(value) {
                    lines.headers.append(name, value);
                }
            }
            Rule::client_ip_line => lines.client_ip(inner),
            Rule::upstream_header_line => {
                let (name, value) = header_pair(inner, &mut lines.faults);
                if let Some((name, value)) = name.zip(value) {
                    lines.upstream.headers.append(name, value);
                }
            }
            Rule::upstream_line => lines.upstream_status(inner),
            Rule::expect_line => lines.expect(inner),
            _ => {}
        }
    }
    let name = name.unwrap_or_else(|| StringLiteral::unescape("", 0, Span::default()));
    let peer = lines.client_ip.map_or(DEFAULT_PEER, |(ip, _)| ip);
    // The URL is checked even when the method is not, so both faults show.
    let request = lines.url.as_ref().and_then(|url| {
        let method = lines.method.clone().unwrap_or(Method::GET);
        match TestRequest::new(method, &url.value, lines.headers.clone(), peer) {
            Ok(request) => Some(request),
            Err(UrlProblem::NotAUrl) => {
                lines.faults.push(faults::invalid_url(url.span));
                None
            }
            Err(UrlProblem::Scheme) => {
                lines.faults.push(faults::invalid_url_scheme(url.span));
                None
            }
        }
    });
    match request {
        Some(request) if lines.faults.is_empty() && lines.method.is_some() => Ok(TestCase {
            name: name.value,
            name_span: name.span,
            request,
            upstream: lines.upstream,
            expectations: lines.expectations,
        }),
        _ => Err(lines.faults),
    }
}

impl Lines {
    fn request(&mut self, pair: Pair<'_, Rule>) {
        for inner in pair.into_inner() {
            match inner.as_rule() {
                Rule::method => match Method::from_bytes(inner.as_str().as_bytes()) {
                    Ok(method) => self.method = Some(method),
                    Err(_) => self.faults.push(faults::invalid_method(
                        inner.as_str(),
                        Span::of(inner.as_span()),
                    )),
                },
                Rule::string => self.url = Some(string(inner)),
                _ => {}
            }
        }
    }

    fn client_ip(&mut self, pair: Pair<'_, Rule>) {
        let span = tight(&pair);
        let Some(literal) = pair.into_inner().find(|p| p.as_rule() == Rule::string) else {
            return;
        };
        let literal = string(literal);
        if let Some((_, first)) = self.client_ip {
            self.faults
                .push(faults::duplicate_line("client_ip", span, first));
            return;
        }
        match literal.value.trim().parse::<IpAddr>() {
            Ok(ip) => self.client_ip = Some((ip.to_canonical(), span)),
            Err(_) => self
                .faults
                .push(faults::invalid_client_ip(&literal.value, literal.span)),
        }
    }

    fn upstream_status(&mut self, pair: Pair<'_, Rule>) {
        let span = tight(&pair);
        if let Some(first) = self.upstream_status {
            self.faults
                .push(faults::duplicate_line("upstream STATUS", span, first));
            return;
        }
        self.upstream_status = Some(span);
        let Some(word) = pair.into_inner().find(|p| p.as_rule() == Rule::status) else {
            return;
        };
        if let Some(code) = status(&word, 200, 599, &mut self.faults)
            .and_then(|code| http::StatusCode::from_u16(code).ok())
        {
            self.upstream.status = code;
        }
    }

    fn expect(&mut self, pair: Pair<'_, Rule>) {
        let span = tight(&pair);
        let Some(inner) = pair.into_inner().find(|p| p.as_rule() != Rule::kw_expect) else {
            return;
        };
        let rule = inner.as_rule();
        let parts: Vec<Pair<'_, Rule>> = inner.into_inner().collect();
        let strings: Vec<StringLiteral> = parts
            .iter()
            .filter(|p| p.as_rule() == Rule::string)
            .map(|p| string(p.clone()))
            .collect();
        let word = |wanted: Rule| parts.iter().find(|p| p.as_rule() == wanted);
        let text = |at: usize| strings.get(at).map(|s| s.value.clone());
        let kind = match rule {
            Rule::expect_status => word(Rule::status)
                .and_then(|w| status(w, 100, 599, &mut self.faults))
                .map(Expect::Status),
            Rule::expect_redirect => word(Rule::status)
                .and_then(|w| redirect_status(w, &mut self.faults))
                .zip(text(0))
                .map(|(status, location)| Expect::Redirect { status, location }),
            Rule::expect_respond => word(Rule::status)
                .and_then(|w| status(w, 200, 599, &mut self.faults))
                .map(|status| Expect::Respond {
                    status,
                    body: text(0),
                }),
            Rule::expect_forward => Some(Expect::Forward(text(0))),
            Rule::expect_header | Rule::expect_no_header => {
                let is_request = word(Rule::header_side)
                    .is_some_and(|side| side.as_str().starts_with("request"));
                let value = if rule == Rule::expect_header {
                    text(0)
                } else {
                    None
                };
                word(Rule::header_name)
                    .and_then(|w| header_name(w, &mut self.faults))
                    .map(|name| {
                        if is_request {
                            Expect::RequestHeader { name, value }
                        } else {
                            Expect::ResponseHeader { name, value }
                        }
                    })
            }
            Rule::expect_rules => Some(Expect::Rules(strings.iter().map(rule_ref).collect())),
            Rule::expect_rule => strings.first().map(|s| Expect::Rule(rule_ref(s))),
            _ => None,
        };
        if let Some(kind) = kind {
            self.expectations.push(Expectation { span, kind });
        }
    }
}

fn rule_ref(literal: &StringLiteral) -> RuleRef {
    RuleRef {
        name: literal.value.clone(),
        span: literal.span,
    }
}

/// `header NAME "value"` or `upstream header NAME "value"`, checked.
fn header_pair(
    pair: Pair<'_, Rule>,
    faults: &mut Vec<Diagnostic>,
) -> (Option<HeaderName>, Option<HeaderValue>) {
    let mut name = None;
    let mut value = None;
    for inner in pair.into_inner() {
        match inner.as_rule() {
            Rule::header_name => name = header_name(&inner, faults),
            Rule::string => {
                let literal = string(inner);
                value = header_value(&literal.value);
                if value.is_none() {
                    faults.push(faults::invalid_header_value(literal.span));
                }
            }
            _ => {}
        }
    }
    (name, value)
}

fn header_name(pair: &Pair<'_, Rule>, faults: &mut Vec<Diagnostic>) -> Option<HeaderName> {
    let name = HeaderName::from_bytes(pair.as_str().as_bytes()).ok();
    if name.is_none() {
        faults.push(faults::invalid_header_name(
            pair.as_str(),
            Span::of(pair.as_span()),
        ));
    }
    name
}

/// A value a client could send: visible text and tabs, UTF-8 allowed.
fn header_value(text: &str) -> Option<HeaderValue> {
    let visible = text
        .bytes()
        .all(|byte| byte == b'\t' || (byte >= b' ' && byte != 0x7f));
    visible
        .then(|| HeaderValue::from_bytes(text.as_bytes()).ok())
        .flatten()
}

fn status(pair: &Pair<'_, Rule>, low: u16, high: u16, faults: &mut Vec<Diagnostic>) -> Option<u16> {
    let text = pair.as_str();
    let code = text
        .parse::<u16>()
        .ok()
        .filter(|code| text.len() == 3 && (low..=high).contains(code));
    if code.is_none() {
        faults.push(faults::invalid_status(
            text,
            Span::of(pair.as_span()),
            low,
            high,
        ));
    }
    code
}

/// The statuses a `redirect` action may have (spec §6).
fn redirect_status(pair: &Pair<'_, Rule>, faults: &mut Vec<Diagnostic>) -> Option<u16> {
    let code = status(pair, 300, 399, faults)?;
    if matches!(code, 301 | 302 | 303 | 307 | 308) {
        Some(code)
    } else {
        faults.push(faults::invalid_redirect_status(
            pair.as_str(),
            Span::of(pair.as_span()),
        ));
        None
    }
}

/// The pair's span without the whitespace and comments pest skipped after
/// its last token.
fn tight(pair: &Pair<'_, Rule>) -> Span {
    let start = pair.as_span().start();
    match pair.clone().into_inner().last() {
        Some(last) => Span::new(start, tight(&last).end),
        None => Span::of(pair.as_span()),
    }
}

fn string(pair: Pair<'_, Rule>) -> StringLiteral {
    let span = Span::of(pair.as_span());
    // The grammar guarantees the quotes; the body is what lies between them.
    let body = pair
        .as_str()
        .strip_prefix('"')
        .and_then(|t| t.strip_suffix('"'))
        .unwrap_or("");
    StringLiteral::unescape(body, span.start + 1, span)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::diagnostic::Code;

    fn faults(text: &str) -> Vec<Code> {
        match parse(text) {
            Ok(_) => Vec::new(),
            Err(faults) => faults.iter().map(|d| d.code).collect(),
        }
    }

    #[test]
    fn reads_every_line_kind() {
        let text = r#"
test "all" {
    request POST "https://Example.com/a?b=1"   # the request
    header Cookie "beta=1"
    client_ip "10.1.2.3"
    upstream 404
    upstream header Content-Type "text/html"
    expect status 404
    expect redirect 301 "/x"
    expect respond 403
    expect respond 403 "Forbidden\n"
    expect forward
    expect forward "/v2/a?b=1"
    expect request header X-A "1"
    expect no request header X-B
    expect response header X-C "2"
    expect no response header Server
    expect rules []
    expect rules ["a", "b",]
    expect rule "a"
}
"#;
        let cases = parse(text)
            .map_err(|f| format!("{f:?}"))
            .unwrap_or_default();
        assert_eq!(cases.len(), 1);
        let case = &cases[0];
        assert_eq!(case.name, "all");
        assert_eq!(case.request.method, Method::POST);
        assert_eq!(case.request.headers["cookie"], "beta=1");
        assert_eq!(case.request.peer.to_string(), "10.1.2.3");
        assert_eq!(case.upstream.status, 404);
        assert_eq!(case.upstream.headers["content-type"], "text/html");
        assert_eq!(case.expectations.len(), 13);
        assert_eq!(
            case.expectations[3].kind,
            Expect::Respond {
                status: 403,
                body: Some("Forbidden\n".into())
            }
        );
        assert_eq!(
            &text[case.expectations[0].span.start..case.expectations[0].span.end],
            "expect status 404"
        );
        assert!(matches!(&case.expectations[11].kind, Expect::Rules(names) if names.len() == 2));
    }

    #[test]
    fn every_fault_of_a_file_is_reported() {
        let text = "test \"a\" {\n request G@T \"/\"\n upstream 700\n expect status 1000\n}\n\
                    test \"b\" {\n request GET \"ftp://x/\"\n header X\\y \"1\"\n}\n";
        assert_eq!(
            faults(text),
            vec![
                Code::InvalidTestRequest,
                Code::InvalidStatus,
                Code::InvalidStatus,
                Code::InvalidHeaderName,
                Code::InvalidTestRequest,
            ]
        );
    }

    #[test]
    fn lines_given_once_cannot_be_given_twice() {
        let text = "test \"a\" {\n request GET \"/\"\n client_ip \"10.0.0.1\"\n client_ip \"10.0.0.2\"\n upstream 200\n upstream 502\n}\n";
        assert_eq!(
            faults(text),
            vec![Code::DuplicateTestLine, Code::DuplicateTestLine]
        );
    }

    #[test]
    fn syntax_errors_are_in_words() {
        let Err(faults) = parse("test \"a\" {\n request GET \"/\"\n expct status 200\n}\n") else {
            panic!("parsed");
        };
        assert_eq!(faults[0].code, Code::Syntax);
        assert_eq!(faults[0].help.as_deref(), Some("did you mean `expect`?"));
        let Err(faults) = parse("test \"a\" {\n expect status 200\n}\n") else {
            panic!("parsed");
        };
        assert!(
            faults[0].message.contains("starts with its request"),
            "{}",
            faults[0].message
        );
        let Err(faults) = parse("test \"a\" {\n request GET \"/\"\n") else {
            panic!("parsed");
        };
        assert_eq!(faults[0].code, Code::MissingBrace);
    }

    #[test]
    fn an_empty_file_holds_no_test() {
        assert!(parse("# nothing yet\n").is_ok_and(|cases| cases.is_empty()));
    }
}
