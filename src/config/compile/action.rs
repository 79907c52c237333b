//! Actions (§6): status codes, header names and values, and targets checked;
//! templates compiled against the rule's regexes.

use crate::config::faults;
use http::{HeaderName, StatusCode};

use super::super::ast::{HeaderOp, HeaderSide, StatementKind, Word};
use super::super::diagnostic::Diagnostic;
use super::super::string_literal::StringLiteral;
use super::template::{self, Scope};
use crate::rules::{Action, HeaderAction, Template, TemplatePart};

/// Headers the proxy manages itself (§6); no action may name them.
pub(crate) const MANAGED_HEADERS: [&str; 8] = [
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
pub(crate) fn compile(
    kind: &StatementKind,
    scope: Scope<'_>,
    out: &mut Vec<Diagnostic>,
) -> Option<Action> {
    match kind {
        StatementKind::When(_) => None,
        StatementKind::Redirect { status, target } => {
            let status = redirect_status(status).map_err(|d| out.push(d)).ok();
            let clean = no_line_break(target, "a redirect target", out);
            let target = template::compile(target, scope, out);
            Some(Action::Redirect {
                status: status?,
                target: target.filter(|_| clean)?,
            })
        }
        StatementKind::Respond { status, body } => {
            let status = respond_status(status).map_err(|d| out.push(d)).ok();
            let body = match body {
                Some(body) => template::compile(body, scope, out),
                None => Some(Template { parts: Vec::new() }),
            };
            Some(Action::Respond {
                status: status?,
                body: body?,
            })
        }
        StatementKind::Rewrite { target } => {
            let clean = no_line_break(target, "a rewrite target", out);
            let compiled = template::compile(target, scope, out)?;
            if !starts_with_slash(&compiled) {
                out.push(faults::actions::rewrite_not_absolute(target.span));
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
                    out.push(faults::actions::remove_takes_no_value(value.span));
                    None
                }
                (HeaderOp::Set | HeaderOp::Add, None) => {
                    let verb = if *op == HeaderOp::Set { "set" } else { "add" };
                    out.push(faults::actions::header_needs_value(
                        verb, &name.text, name.span,
                    ));
                    None
                }
                (HeaderOp::Set | HeaderOp::Add, Some(value)) => {
                    let clean = header_value_clean(value, out);
                    let compiled = template::compile(value, scope, out);
                    let (header, compiled) = (header?, compiled?);
                    if !clean {
                        return None;
                    }
                    Some(if *op == HeaderOp::Set {
                        HeaderAction::Set(header, compiled)
                    } else {
                        HeaderAction::Add(header, compiled)
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
    let a_status = parse_status(status).is_some_and(|code| (200..=599).contains(&code));
    faults::actions::not_a_redirect_status(&status.text, status.span, a_status)
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
    faults::actions::not_a_respond_status(&status.text, status.span)
}

fn header_name(name: &Word) -> Result<HeaderName, Diagnostic> {
    let header = HeaderName::from_bytes(name.text.as_bytes())
        .map_err(|_| faults::actions::invalid_header_name(&name.text, name.span))?;
    if MANAGED_HEADERS.contains(&header.as_str()) {
        return Err(faults::actions::managed_header(&name.text, name.span));
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
    out.push(faults::actions::line_break(
        what,
        literal.inner_span(at, at + 1),
    ));
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
    out.push(faults::actions::control_character(
        literal.inner_span(at, at + 1),
    ));
    false
}

fn starts_with_slash(template: &Template) -> bool {
    match template.parts.first() {
        Some(TemplatePart::Literal(text)) => text.starts_with('/'),
        Some(TemplatePart::Field(crate::rules::Field::Path | crate::rules::Field::Uri)) => true,
        _ => false,
    }
}
