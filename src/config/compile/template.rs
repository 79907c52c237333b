//! Templates (§9): a string split once into literal text, fields and capture
//! references, with every name resolved against the rule's condition.

use super::super::diagnostic::Diagnostic;
use super::super::span::Span;
use super::super::string_literal::StringLiteral;
use super::condition::RegexInfo;
use super::field;
use crate::config::faults;
use crate::rules::{CaptureRef, Template, TemplatePart};

/// The regexes of the rule's condition, as templates see them.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Scope<'a> {
    /// Every regex that compiled, in source order.
    pub(crate) regexes: &'a [RegexInfo],
    /// A regex failed to compile: group references cannot be checked.
    pub(crate) broken: bool,
}

/// Splits and resolves a template; every fault goes into `out`.
pub(crate) fn compile(
    literal: &StringLiteral,
    scope: Scope<'_>,
    out: &mut Vec<Diagnostic>,
) -> Option<Template> {
    let text = literal.value.as_str();
    let bytes = text.as_bytes();
    let mut parts = Vec::new();
    let mut pending = String::new();
    let mut ok = true;
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'{' if bytes.get(i + 1) == Some(&b'{') => {
                pending.push('{');
                i += 2;
            }
            b'}' if bytes.get(i + 1) == Some(&b'}') => {
                pending.push('}');
                i += 2;
            }
            b'{' => {
                let close = text[i + 1..].find(['{', '}']).map(|at| i + 1 + at);
                let Some(close) = close.filter(|&at| bytes[at] == b'}') else {
                    out.push(faults::templates::unclosed_brace(
                        literal.inner_span(i, i + 1),
                    ));
                    return None;
                };
                let name = &text[i + 1..close];
                if !name.starts_with("header.") && !name.bytes().all(is_name_byte) {
                    out.push(faults::templates::not_a_name(
                        literal.inner_span(i, close + 1),
                    ));
                    return None;
                }
                let span = literal.inner_span(i, close + 1);
                match resolve(name, span, scope) {
                    Ok(part) => {
                        if !pending.is_empty() {
                            parts.push(TemplatePart::Literal(std::mem::take(&mut pending)));
                        }
                        parts.push(part);
                    }
                    Err(diagnostic) => {
                        ok = false;
                        out.push(diagnostic);
                    }
                }
                i = close + 1;
            }
            b'}' => {
                ok = false;
                out.push(faults::templates::lone_closing_brace(
                    literal.inner_span(i, i + 1),
                ));
                i += 1;
            }
            _ => {
                let next = text[i..].find(['{', '}']).map_or(text.len(), |at| i + at);
                pending.push_str(&text[i..next]);
                i = next;
            }
        }
    }
    if !pending.is_empty() {
        parts.push(TemplatePart::Literal(pending));
    }
    ok.then_some(Template { parts })
}

/// Bytes a template name may hold: field and group names, header names
/// (`{header.X-Id}`), cookie and query parameter names.
fn is_name_byte(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || matches!(byte, b'_' | b'.' | b'-')
}

fn resolve(name: &str, span: Span, scope: Scope<'_>) -> Result<TemplatePart, Diagnostic> {
    let regexes = scope.regexes;
    if let Some(plain) = field::plain(name) {
        return Ok(TemplatePart::Field(plain));
    }
    if let Some((kind, arg)) = name.split_once('.')
        && field::NAMED_FIELDS.contains(&kind)
    {
        return field::named(kind, arg, span).map(TemplatePart::Field);
    }
    let result = if !name.is_empty() && name.bytes().all(|b| b.is_ascii_digit()) {
        numbered(name, span, regexes)
    } else {
        named_group(name, span, regexes)
    };
    match result {
        // The broken regex is already reported; its groups are unknown.
        Err(_) if scope.broken => Ok(TemplatePart::Literal(String::new())),
        other => other,
    }
}

fn numbered(name: &str, span: Span, regexes: &[RegexInfo]) -> Result<TemplatePart, Diagnostic> {
    let matching: Vec<&RegexInfo> = regexes.iter().filter(|info| info.slot.is_some()).collect();
    let [info] = matching.as_slice() else {
        return Err(faults::templates::ambiguous_group_number(
            name,
            span,
            matching.len(),
            matching.iter().map(|other| other.literal),
        ));
    };
    let group = name.parse::<usize>().unwrap_or(usize::MAX);
    if let Some(reason) = info.uncertain {
        return Err(uncertain(name, span, info, reason.describe()));
    }
    if group >= info.group_count {
        let has = info.group_count.saturating_sub(1);
        return Err(faults::templates::no_such_group(
            name,
            span,
            has,
            info.literal,
        ));
    }
    Ok(TemplatePart::Capture(CaptureRef {
        slot: info.slot.unwrap_or(0),
        group,
    }))
}

fn named_group(name: &str, span: Span, regexes: &[RegexInfo]) -> Result<TemplatePart, Diagnostic> {
    for info in regexes {
        let Some(&(_, group)) = info.names.iter().find(|(n, _)| n == name) else {
            continue;
        };
        if let (Some(slot), None) = (info.slot, info.uncertain) {
            return Ok(TemplatePart::Capture(CaptureRef { slot, group }));
        }
        let reason = info
            .uncertain
            .map_or("it may not have matched", |r| r.describe());
        return Err(uncertain(name, span, info, reason));
    }
    let groups = regexes
        .iter()
        .flat_map(|info| info.names.iter().map(|(n, _)| n.as_str()));
    let candidates: Vec<&str> = field::PLAIN_FIELDS.iter().copied().chain(groups).collect();
    Err(faults::templates::unknown_name(
        name,
        span,
        candidates.iter().copied(),
    ))
}

fn uncertain(name: &str, span: Span, info: &RegexInfo, reason: &str) -> Diagnostic {
    faults::templates::uncertain_group(name, span, info.literal, reason)
}

#[cfg(test)]
mod tests {
    use super::super::condition::Uncertainty;
    use super::*;
    use crate::config::diagnostic::Code;
    use crate::rules::Field;

    fn literal(value: &str) -> StringLiteral {
        StringLiteral::unescape(value, 1, Span::new(0, value.len() + 2))
    }

    fn info(
        slot: Option<usize>,
        uncertain: Option<Uncertainty>,
        names: &[(&str, usize)],
        groups: usize,
    ) -> RegexInfo {
        RegexInfo {
            slot,
            uncertain,
            names: names.iter().map(|(n, i)| ((*n).to_owned(), *i)).collect(),
            group_count: groups,
            literal: Span::new(0, 1),
        }
    }

    fn scope(regexes: &[RegexInfo]) -> Scope<'_> {
        Scope {
            regexes,
            broken: false,
        }
    }

    fn codes(value: &str, regexes: &[RegexInfo]) -> Vec<Code> {
        let mut out = Vec::new();
        compile(&literal(value), scope(regexes), &mut out);
        out.into_iter().map(|d| d.code).collect()
    }

    #[test]
    fn splits_literals_fields_and_braces() {
        let mut out = Vec::new();
        let template = compile(
            &literal("https://{host}{{x}}{header.X-Id}"),
            scope(&[]),
            &mut out,
        );
        assert!(out.is_empty());
        let parts = template.map(|t| t.parts).unwrap_or_default();
        assert_eq!(parts.len(), 4);
        assert_eq!(parts[0], TemplatePart::Literal("https://".into()));
        assert_eq!(parts[1], TemplatePart::Field(Field::Host));
        assert_eq!(parts[2], TemplatePart::Literal("{x}".into()));
    }

    #[test]
    fn resolves_named_and_numbered_groups() {
        let regexes = [info(Some(0), None, &[("year", 1)], 3)];
        let mut out = Vec::new();
        let template = compile(&literal("/a/{year}/{2}"), scope(&regexes), &mut out);
        let parts = template.map(|t| t.parts).unwrap_or_default();
        assert_eq!(
            parts[1],
            TemplatePart::Capture(CaptureRef { slot: 0, group: 1 })
        );
        assert_eq!(
            parts[3],
            TemplatePart::Capture(CaptureRef { slot: 0, group: 2 })
        );
    }

    #[test]
    fn named_group_finds_its_slot() {
        let regexes = [
            info(Some(0), None, &[("a", 1)], 2),
            info(Some(1), None, &[("b", 1)], 2),
        ];
        let mut out = Vec::new();
        let template = compile(&literal("{b}"), scope(&regexes), &mut out);
        let parts = template.map(|t| t.parts).unwrap_or_default();
        assert_eq!(
            parts[0],
            TemplatePart::Capture(CaptureRef { slot: 1, group: 1 })
        );
    }

    #[test]
    fn template_faults() {
        assert_eq!(codes("{hots}", &[]), vec![Code::UnknownTemplateName]);
        assert_eq!(codes("{1}", &[]), vec![Code::AmbiguousGroupNumber]);
        assert_eq!(codes("/{host", &[]), vec![Code::TemplateBrace]);
        assert_eq!(codes("/a}", &[]), vec![Code::TemplateBrace]);
        let two = [info(Some(0), None, &[], 2), info(Some(1), None, &[], 2)];
        assert_eq!(codes("{1}", &two), vec![Code::AmbiguousGroupNumber]);
        let one = [info(Some(0), None, &[], 2)];
        assert_eq!(codes("{2}", &one), vec![Code::NoSuchGroup]);
        let under_not = [info(Some(0), Some(Uncertainty::UnderNot), &[("x", 1)], 2)];
        assert_eq!(
            codes("{x}{1}", &under_not),
            vec![Code::UncertainGroup, Code::UncertainGroup]
        );
        let negated = [info(None, Some(Uncertainty::NegatedMatch), &[("x", 1)], 2)];
        assert_eq!(codes("{x}", &negated), vec![Code::UncertainGroup]);
    }
}
