//! Actions (§6): status codes, header names and values, and targets checked;
//! templates compiled against the rule's regexes.

use std::path::Path;

use http::{HeaderName, StatusCode};

use super::super::ast::{HeaderOp, HeaderSide, QueryEdit, StatementKind, Word};
use super::super::diagnostic::{Code, Diagnostic};
use super::super::faults::strings as faults;
use super::super::string_literal::StringLiteral;
use super::file_body;
use super::function::CallTable;
use super::template::{self, Scope};
use crate::rules::{
    Action, HeaderAction, NamePattern, QueryAction, QueryName, Template, TemplatePart,
};

/// Headers the proxy manages itself (§6); no action may name them.
pub const MANAGED_HEADERS: [&str; 8] = [
    "connection",
    "keep-alive",
    "proxy-connection",
    "transfer-encoding",
    "te",
    "trailer",
    "upgrade",
    "content-length",
];

/// The statuses `redirect` accepts.
const REDIRECT_STATUSES: [u16; 5] = [301, 302, 303, 307, 308];

/// Compiles one action statement; faults go into `out`.
pub fn compile(
    kind: &StatementKind,
    scope: Scope<'_>,
    calls: &mut CallTable,
    dir: Option<&Path>,
    out: &mut Vec<Diagnostic>,
) -> Option<Action> {
    let mut template = |literal: &StringLiteral, out: &mut Vec<Diagnostic>| {
        template::compile(literal, scope, calls, out)
    };
    match kind {
        StatementKind::When(_) => None,
        StatementKind::Stop => Some(Action::Stop),
        StatementKind::Query(edit) => query_edit(edit, &mut template, out).map(Action::Query),
        StatementKind::Redirect { status, target } => {
            let status = redirect_status(status).map_err(|d| out.push(d)).ok();
            let clean = no_line_break(target, "a redirect target", out);
            let target = template(target, out);
            Some(Action::Redirect {
                status: status?,
                target: target.filter(|_| clean)?,
            })
        }
        StatementKind::Respond {
            status,
            file: Some(path),
            ..
        } => {
            let status = respond_status(status).map_err(|d| out.push(d)).ok();
            let file = file_body::read(path, dir).map_err(|d| out.push(d)).ok();
            Some(Action::RespondFile {
                status: status?,
                file: file?,
            })
        }
        StatementKind::Respond { status, body, .. } => {
            let status = respond_status(status).map_err(|d| out.push(d)).ok();
            let body = match body {
                Some(body) => template(body, out),
                None => Some(Template { parts: Vec::new() }),
            };
            Some(Action::Respond {
                status: status?,
                body: body?,
            })
        }
        StatementKind::Rewrite { target } => {
            let clean = no_line_break(target, "a rewrite target", out);
            let compiled = template(target, out)?;
            if !starts_with_slash(&compiled) {
                out.push(
                    Diagnostic::error(
                        Code::RewriteNotAbsolute,
                        "a rewrite target must start with `/`",
                        target.span,
                        "does not start with `/`",
                    )
                    .with_help("rewrite changes the path sent upstream, such as `rewrite \"/v2{path}\"`; to send the client elsewhere use `redirect`"),
                );
                return None;
            }
            clean.then_some(Action::Rewrite { target: compiled })
        }
        StatementKind::Header {
            side,
            op,
            name,
            value,
        } => {
            let header = header_name(name).map_err(|d| out.push(d)).ok();
            let action = match (op, value) {
                (HeaderOp::Remove, None) => Some(HeaderAction::Remove(header.clone()?)),
                (HeaderOp::Remove, Some(value)) => {
                    out.push(
                        Diagnostic::error(
                            Code::HeaderValueArity,
                            "`header remove` takes no value",
                            value.span,
                            "remove this value",
                        )
                        .with_help("to replace the header's value use `header set`"),
                    );
                    None
                }
                (HeaderOp::Set | HeaderOp::Add | HeaderOp::Default, None) => {
                    let verb = match op {
                        HeaderOp::Set => "set",
                        HeaderOp::Add => "add",
                        _ => "default",
                    };
                    out.push(
                        Diagnostic::error(
                            Code::HeaderValueArity,
                            format!("`header {verb}` needs a value"),
                            name.span,
                            "no value after this name",
                        )
                        .with_help(format!("write `header {verb} {} \"value\"`", name.text)),
                    );
                    None
                }
                (HeaderOp::Set | HeaderOp::Add | HeaderOp::Default, Some(value)) => {
                    let clean = header_value_clean(value, out);
                    let compiled = template(value, out);
                    let (header, compiled) = (header?, compiled?);
                    if !clean {
                        return None;
                    }
                    Some(match op {
                        HeaderOp::Set => HeaderAction::Set(header, compiled),
                        HeaderOp::Add => HeaderAction::Add(header, compiled),
                        _ => HeaderAction::Default(header, compiled),
                    })
                }
            }?;
            Some(match side {
                HeaderSide::Request => Action::RequestHeader(action),
                HeaderSide::Response => Action::ResponseHeader(action),
            })
        }
    }
}

fn parse_status(status: &Word) -> Option<u16> {
    if status.text.len() == 3 {
        status.text.parse::<u16>().ok()
    } else {
        None
    }
}

fn redirect_status(status: &Word) -> Result<StatusCode, Diagnostic> {
    match parse_status(status) {
        Some(code) if REDIRECT_STATUSES.contains(&code) => {
            StatusCode::from_u16(code).map_err(|_| bad_redirect(status))
        }
        _ => Err(bad_redirect(status)),
    }
}

fn bad_redirect(status: &Word) -> Diagnostic {
    let help = if parse_status(status).is_some_and(|code| (200..=599).contains(&code)) {
        "redirect takes 301, 302, 303, 307 or 308; to answer with another status use `respond`"
    } else {
        "redirect takes 301, 302, 303, 307 or 308"
    };
    Diagnostic::error(
        Code::InvalidStatus,
        format!("`{}` is not a redirect status", status.text),
        status.span,
        "not 301, 302, 303, 307 or 308",
    )
    .with_help(help)
}

fn respond_status(status: &Word) -> Result<StatusCode, Diagnostic> {
    match parse_status(status) {
        Some(code) if (200..=599).contains(&code) => {
            StatusCode::from_u16(code).map_err(|_| bad_respond(status))
        }
        _ => Err(bad_respond(status)),
    }
}

fn bad_respond(status: &Word) -> Diagnostic {
    Diagnostic::error(
        Code::InvalidStatus,
        format!("`{}` is not a status `respond` can send", status.text),
        status.span,
        "not between 200 and 599",
    )
    .with_help("respond takes a three-digit status from 200 to 599; redirects use `redirect`")
}

fn header_name(name: &Word) -> Result<HeaderName, Diagnostic> {
    let header = HeaderName::from_bytes(name.text.as_bytes()).map_err(|_| {
        Diagnostic::error(
            Code::InvalidHeaderName,
            format!("`{}` is not a valid header name", name.text),
            name.span,
            "not an RFC 9110 token",
        )
        .with_help("header names are letters, digits and `-`, such as `X-Frame-Options`")
    })?;
    if MANAGED_HEADERS.contains(&header.as_str()) {
        return Err(Diagnostic::error(
            Code::ManagedHeader,
            format!("`{}` is managed by the proxy", name.text),
            name.span,
            "cannot be changed by a rule",
        )
        .with_help("the proxy sets Connection, Keep-Alive, Proxy-Connection, Transfer-Encoding, TE, Trailer, Upgrade and Content-Length itself; remove this action"));
    }
    Ok(header)
}

/// Refuses CR, LF and NUL in text that becomes a header (value or Location).
fn no_line_break(literal: &StringLiteral, what: &str, out: &mut Vec<Diagnostic>) -> bool {
    let Some(at) = literal
        .value
        .bytes()
        .position(|b| matches!(b, b'\r' | b'\n' | 0))
    else {
        return true;
    };
    out.push(
        Diagnostic::error(
            Code::HeaderValueLineBreak,
            format!("{what} cannot hold a line break"),
            literal.inner_span(at, at + 1),
            "line break",
        )
        .with_help("remove the `\\n`; a header is a single line"),
    );
    false
}

fn header_value_clean(literal: &StringLiteral, out: &mut Vec<Diagnostic>) -> bool {
    if !no_line_break(literal, "a header value", out) {
        return false;
    }
    let Some(at) = literal
        .value
        .bytes()
        .position(|b| (b < 0x20 && b != b'\t') || b == 0x7f)
    else {
        return true;
    };
    out.push(
        Diagnostic::error(
            Code::InvalidHeaderValue,
            "a header value cannot hold control characters",
            literal.inner_span(at, at + 1),
            "control character",
        )
        .with_help("only visible characters, spaces and tabs may appear in a header value"),
    );
    false
}

/// A rewrite target starts with `/`, `{path}`, `{uri}`, or a function of
/// them (`{replace(path, "/{2,}", "/")}`; should a function's value not
/// start with `/` at run time, the evaluator puts one in front).
fn starts_with_slash(template: &Template) -> bool {
    fn is_path(field: &crate::rules::Field) -> bool {
        match field {
            crate::rules::Field::Path | crate::rules::Field::Uri => true,
            crate::rules::Field::Call(call) => is_path(&call.input),
            _ => false,
        }
    }
    match template.parts.first() {
        Some(TemplatePart::Literal(text)) => text.starts_with('/'),
        Some(TemplatePart::Field(field)) => is_path(field),
        // `{$MAP}` first: every value of the map must start with `/`.
        Some(TemplatePart::MapValue { map, .. }) => {
            map.entries().all(|(_, value)| value.starts_with('/'))
        }
        _ => false,
    }
}

/// A query edit: names and patterns checked, values compiled as templates.
fn query_edit(
    edit: &QueryEdit,
    template: &mut impl FnMut(&StringLiteral, &mut Vec<Diagnostic>) -> Option<Template>,
    out: &mut Vec<Diagnostic>,
) -> Option<QueryAction> {
    let named = |literal: &StringLiteral, out: &mut Vec<Diagnostic>| {
        if literal.value.is_empty() {
            out.push(faults::empty_query_name(literal.span));
            return false;
        }
        true
    };
    match edit {
        QueryEdit::Set(name, value) | QueryEdit::Add(name, value) => {
            let ok = named(name, out);
            let clean = no_line_break(value, "a query value", out);
            let value = template(value, out);
            let (true, true, Some(value)) = (ok, clean, value) else {
                return None;
            };
            let name = QueryName::new(&name.value);
            Some(if matches!(edit, QueryEdit::Set(..)) {
                QueryAction::Set(name, value)
            } else {
                QueryAction::Add(name, value)
            })
        }
        QueryEdit::Remove(patterns) | QueryEdit::Keep(patterns) => {
            let mut ok = true;
            for pattern in patterns {
                ok &= named(pattern, out);
            }
            let compiled = patterns
                .iter()
                .map(|p| NamePattern::new(&p.value))
                .collect();
            ok.then(|| {
                if matches!(edit, QueryEdit::Remove(_)) {
                    QueryAction::Remove(compiled)
                } else {
                    QueryAction::Keep(compiled)
                }
            })
        }
        QueryEdit::Sort => Some(QueryAction::Sort),
    }
}
