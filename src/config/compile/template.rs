//! Templates (§9, §15): a string split once into literal text, fields,
//! capture references and functions of them, with every name resolved
//! against the rule's condition.

use super::super::diagnostic::{Code, Diagnostic, did_you_mean};
use super::super::faults::maps::{self as map_faults, Kind};
use super::super::faults::response as response_faults;
use super::super::faults::strings as faults;
use super::super::span::Span;
use super::super::string_literal::StringLiteral;
use super::super::template_lexeme::{inner_string_end, placeholder_end};
use super::condition::{MapBinding, RegexInfo, Uncertainty};
use super::declarations::Declarations;
use super::field;
use super::function::CallTable;
use crate::rules::{CaptureRef, Phase, Template, TemplatePart};

/// The regexes of the rule's condition, as templates see them.
#[derive(Debug, Clone, Copy)]
pub struct Scope<'a> {
    /// Every regex that compiled, in source order.
    pub regexes: &'a [RegexInfo],
    /// A regex failed to compile: group references cannot be checked.
    pub broken: bool,
    /// Every `in $NAME` of the condition, in source order.
    pub bindings: &'a [MapBinding],
    /// The config's lists and maps.
    pub declarations: &'a Declarations,
    /// The rule's phase: response fields need `on response`.
    pub phase: Phase,
    /// The rule's name, for the "mark the rule `on response`" help.
    pub rule: &'a str,
}

/// Splits and resolves a template; every fault goes into `out`.
pub fn compile(
    literal: &StringLiteral,
    scope: Scope<'_>,
    calls: &mut CallTable,
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
                let Some(close) = placeholder_end(bytes, i) else {
                    out.push(
                        Diagnostic::error(
                            Code::TemplateBrace,
                            "`{` without a closing `}` in a template",
                            literal.inner_span(i, i + 1),
                            "opened here",
                        )
                        .with_help("close the name with `}`, or write `{{` for a literal `{`"),
                    );
                    return None;
                };
                let mut reader = Placeholder {
                    literal,
                    at: i + 1,
                    end: close - 1,
                };
                let content = &text[i + 1..close - 1];
                let is_call = content
                    .find('(')
                    .is_some_and(|at| is_function_name(content[..at].trim_end()));
                let expression = if is_call {
                    reader.expression()
                } else {
                    reader.at = reader.end;
                    Ok(Expression::Name(content, i + 1, close - 1))
                };
                let part = expression
                    .and_then(|expression| {
                        reader.finish()?;
                        Ok(expression)
                    })
                    .and_then(|expression| expression.resolve(literal, scope, calls));
                match part {
                    Ok(part) => {
                        if !pending.is_empty() {
                            parts.push(TemplatePart::Literal(std::mem::take(&mut pending)));
                        }
                        parts.push(part);
                    }
                    Err(mut diagnostics) => {
                        ok = false;
                        out.append(&mut diagnostics);
                    }
                }
                i = close;
            }
            b'}' => {
                ok = false;
                out.push(
                    Diagnostic::error(
                        Code::TemplateBrace,
                        "`}` without an opening `{` in a template",
                        literal.inner_span(i, i + 1),
                        "lone `}`",
                    )
                    .with_help("write `}}` for a literal `}`"),
                );
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

/// Whether `word` is written like a function name (`lower`, `url_decode`):
/// a `{…}` that starts with one and `(` is read as a call.
fn is_function_name(word: &str) -> bool {
    word.starts_with(|c: char| c.is_ascii_alphabetic())
        && word.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// What a `{…}` holds: a name, or a function of an expression.
enum Expression<'t> {
    /// `host`, `header.X-Id`, `1`, `year`, with its value bytes.
    Name(&'t str, usize, usize),
    /// `lower(…)`, `replace(…, "REGEX", "WITH")`.
    Call {
        name: &'t str,
        name_at: (usize, usize),
        input: Box<Expression<'t>>,
        args: Vec<StringLiteral>,
        whole: (usize, usize),
    },
}

/// Reads the text of one `{…}` (value bytes `at..end`, kept as written by
/// `StringLiteral::unescape_template`, so each byte is one file byte).
struct Placeholder<'t> {
    literal: &'t StringLiteral,
    at: usize,
    end: usize,
}

type Faults = Vec<Diagnostic>;

impl<'t> Placeholder<'t> {
    fn text(&self) -> &'t str {
        &self.literal.value[..self.end]
    }

    fn skip_blanks(&mut self) {
        while self.text().as_bytes().get(self.at) == Some(&b' ') {
            self.at += 1;
        }
    }

    fn peek(&self) -> Option<u8> {
        self.text().as_bytes().get(self.at).copied()
    }

    fn expression(&mut self) -> Result<Expression<'t>, Faults> {
        self.skip_blanks();
        let start = self.at;
        let text = self.text();
        let word_end = text[start..]
            .find(['(', ')', ',', ' ', '"'])
            .map_or(self.end, |at| start + at);
        let word = &text[start..word_end];
        self.at = word_end;
        self.skip_blanks();
        if self.peek() != Some(b'(') {
            return Ok(Expression::Name(word, start, word_end));
        }
        self.at += 1;
        let input = self.expression()?;
        let mut args = Vec::new();
        loop {
            self.skip_blanks();
            match self.peek() {
                Some(b')') => {
                    self.at += 1;
                    break;
                }
                Some(b',') => {
                    self.at += 1;
                    self.skip_blanks();
                    args.push(self.string()?);
                }
                _ => return Err(vec![self.unreadable()]),
            }
        }
        Ok(Expression::Call {
            name: word,
            name_at: (start, word_end),
            input: Box::new(input),
            args,
            whole: (start, self.at),
        })
    }

    /// A double-quoted argument, unescaped with its own file positions.
    fn string(&mut self) -> Result<StringLiteral, Faults> {
        let bytes = self.text().as_bytes();
        if self.peek() != Some(b'"') {
            return Err(vec![self.unreadable()]);
        }
        let open = self.at;
        let close = inner_string_end(bytes, open).ok_or_else(|| vec![self.unreadable()])?;
        self.at = close;
        let span = self.literal.inner_span(open, close);
        let body = &self.text()[open + 1..close - 1];
        Ok(StringLiteral::unescape(body, span.start + 1, span))
    }

    fn finish(&mut self) -> Result<(), Faults> {
        self.skip_blanks();
        if self.at < self.end {
            return Err(vec![self.unreadable()]);
        }
        Ok(())
    }

    fn unreadable(&self) -> Diagnostic {
        let at = self.at.min(self.end);
        Diagnostic::error(
            Code::FunctionArguments,
            "cannot read this function call",
            self.literal.inner_span(at, (at + 1).min(self.end.max(at))),
            "unexpected here",
        )
        .with_help("write a function as `{lower(path)}` or `{replace(path, \"REGEX\", \"WITH\")}`")
    }
}

impl Expression<'_> {
    fn resolve(
        self,
        literal: &StringLiteral,
        scope: Scope<'_>,
        calls: &mut CallTable,
    ) -> Result<TemplatePart, Faults> {
        match self {
            Expression::Name(name, start, end) => {
                // A name alone between braces is shown with them.
                let bytes = literal.value.as_bytes();
                let braced = start > 0
                    && bytes.get(start - 1) == Some(&b'{')
                    && bytes.get(end) == Some(&b'}');
                let span = if braced {
                    literal.inner_span(start - 1, end + 1)
                } else {
                    literal.inner_span(start, end)
                };
                resolve_name(name, span, scope).map_err(|d| vec![d])
            }
            Expression::Call {
                name,
                name_at,
                input,
                args,
                whole,
            } => {
                let mut faults = Vec::new();
                let function = calls.function(
                    name,
                    literal.inner_span(name_at.0, name_at.1),
                    &args,
                    literal.inner_span(whole.0, whole.1),
                    &mut faults,
                );
                let input = input.resolve(literal, scope, calls);
                let (function, input) = match (function, input) {
                    (Some(function), Ok(input)) if faults.is_empty() => (function, input),
                    (_, Err(mut more)) => {
                        faults.append(&mut more);
                        return Err(faults);
                    }
                    _ => return Err(faults),
                };
                Ok(match input {
                    TemplatePart::Field(field) => TemplatePart::Field(calls.call(function, field)),
                    TemplatePart::Literal(text) => {
                        TemplatePart::Literal(function.apply(text.into()).into_owned())
                    }
                    other => TemplatePart::Call(function, Box::new(other)),
                })
            }
        }
    }
}

/// One name between braces: checked for its bytes, then resolved.
fn resolve_name(name: &str, span: Span, scope: Scope<'_>) -> Result<TemplatePart, Diagnostic> {
    let plain = name.strip_prefix('$').unwrap_or(name);
    let header_token = name.starts_with("header.") || name.starts_with("response_header.");
    if !header_token && !plain.bytes().all(is_name_byte) {
        if let Some(instead) = faults::foreign_name(name) {
            return Err(unknown_name(name, span, Some(instead)));
        }
        return Err(Diagnostic::error(
            Code::TemplateBrace,
            "braces in a template enclose a name",
            span,
            "not a name",
        )
        .with_help("write `{{` and `}}` for literal braces"));
    }
    resolve(name, span, scope)
}

fn resolve(name: &str, span: Span, scope: Scope<'_>) -> Result<TemplatePart, Diagnostic> {
    if let Some(map) = name.strip_prefix('$') {
        return map_value(map, span, scope);
    }
    let regexes = scope.regexes;
    let resolved = if let Some(plain) = field::plain(name) {
        Some(Ok(plain))
    } else if let Some((kind, arg)) = name.split_once('.')
        && field::NAMED_FIELDS.contains(&kind)
    {
        Some(field::named(kind, arg, span))
    } else {
        None
    };
    if let Some(resolved) = resolved {
        let field = resolved?;
        if field.is_response() && scope.phase == Phase::Request {
            let shown = name.split('.').next().unwrap_or(name);
            return Err(response_faults::response_field_in_request_rule(
                shown, span, scope.rule,
            ));
        }
        return Ok(TemplatePart::Field(field));
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

/// `{$NAME}`: the value for the key that the rule's one certain
/// `in $NAME` found.
fn map_value(name: &str, span: Span, scope: Scope<'_>) -> Result<TemplatePart, Diagnostic> {
    let bound: Vec<&MapBinding> = scope.bindings.iter().filter(|b| b.name == name).collect();
    match bound.as_slice() {
        [one] => {
            if let Some(reason) = one.uncertain {
                return Err(map_faults::uncertain_map(
                    name,
                    span,
                    one.test,
                    reason == Uncertainty::UnderNot,
                ));
            }
            match (&one.map, &one.field) {
                (Some(map), Some(field)) => Ok(TemplatePart::MapValue {
                    map: map.clone(),
                    field: field.clone(),
                }),
                // The map or the field is already reported.
                _ => Ok(TemplatePart::Literal(String::new())),
            }
        }
        [] => match scope.declarations.lookup(name) {
            None => Err(map_faults::unknown_name(
                name,
                span,
                scope.declarations.suggest(name),
            )),
            Some(declared) if declared.kind() == Kind::List => {
                Err(map_faults::not_a_map(name, span, declared.name))
            }
            Some(_) => Err(map_faults::unbound_map(name, span, 0, &[])),
        },
        many => {
            let tests: Vec<Span> = many.iter().map(|b| b.test).collect();
            Err(map_faults::unbound_map(name, span, many.len(), &tests))
        }
    }
}

fn numbered(name: &str, span: Span, regexes: &[RegexInfo]) -> Result<TemplatePart, Diagnostic> {
    let matching: Vec<&RegexInfo> = regexes.iter().filter(|info| info.slot.is_some()).collect();
    let [info] = matching.as_slice() else {
        let count = matching.len();
        let message = if count == 0 {
            format!("`{{{name}}}` refers to a regex group, but the condition has no `~`")
        } else {
            format!("`{{{name}}}` is ambiguous: the condition has {count} `~`")
        };
        let mut diagnostic =
            Diagnostic::error(Code::AmbiguousGroupNumber, message, span, "which regex?").with_help(
                if count == 0 {
                    "numbered groups need `when FIELD ~ \"regex\"` in this rule"
                } else {
                    "name the group, `(?<name>…)`, and write `{name}`"
                },
            );
        for other in matching {
            diagnostic = diagnostic.with_related(other.literal, "a `~` regex");
        }
        return Err(diagnostic);
    };
    let group = name.parse::<usize>().unwrap_or(usize::MAX);
    if let Some(reason) = info.uncertain {
        return Err(uncertain(name, span, info, reason.describe()));
    }
    if group >= info.group_count {
        let has = info.group_count.saturating_sub(1);
        let plural = if has == 1 { "group" } else { "groups" };
        return Err(Diagnostic::error(
            Code::NoSuchGroup,
            format!("the regex has no group {name}"),
            span,
            format!("the regex has {has} {plural}"),
        )
        .with_related(info.literal, "this regex")
        .with_help("count the `(` of capturing groups; `{0}` is the whole match"));
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
    let candidates: Vec<&str> = field::PLAIN_FIELDS
        .iter()
        .chain(field::RESPONSE_FIELDS.iter())
        .copied()
        .chain(groups)
        .collect();
    Err(unknown_name(
        name,
        span,
        faults::foreign_name(name).or_else(|| did_you_mean(name, candidates.iter().copied())),
    ))
}

fn unknown_name(name: &str, span: Span, suggestion: Option<String>) -> Diagnostic {
    let diagnostic = Diagnostic::error(
        Code::UnknownTemplateName,
        format!("unknown template name `{{{name}}}`"),
        span,
        "not a field or group",
    );
    match suggestion {
        Some(help) if help.starts_with("did you mean") => diagnostic.with_help(help),
        Some(instead) => {
            diagnostic.with_help(format!("this is another proxy's name; write {instead}"))
        }
        None if name.is_empty() => diagnostic.with_help("write a name between the braces, or `{{}}` for literal braces"),
        None => diagnostic.with_help(
            "use a field ({host}, {path}, {header.Name} …), a named group of the condition's regex, or {{ for a literal brace",
        ),
    }
}

fn uncertain(name: &str, span: Span, info: &RegexInfo, reason: &str) -> Diagnostic {
    Diagnostic::error(
        Code::UncertainGroup,
        format!("group `{name}` may not have matched when this rule fires"),
        span,
        "may be unset",
    )
    .with_related(info.literal, reason.to_string())
    .with_help("use groups of a `~` that must match for the rule to fire: not under `not`, not inside `or`")
}

#[cfg(test)]
mod tests {
    use super::super::condition::Uncertainty;
    use super::*;
    use crate::rules::Field;

    fn literal(value: &str) -> StringLiteral {
        StringLiteral::unescape_template(value, 1, Span::new(0, value.len() + 2))
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
        // Leaked once per call: tests only.
        let declarations: &'static Declarations = Box::leak(Box::default());
        Scope {
            regexes,
            broken: false,
            bindings: &[],
            declarations,
            phase: Phase::Request,
            rule: "r",
        }
    }

    fn codes(value: &str, regexes: &[RegexInfo]) -> Vec<Code> {
        let mut out = Vec::new();
        compile(
            &literal(value),
            scope(regexes),
            &mut CallTable::default(),
            &mut out,
        );
        out.into_iter().map(|d| d.code).collect()
    }

    #[test]
    fn splits_literals_fields_and_braces() {
        let mut out = Vec::new();
        let template = compile(
            &literal("https://{host}{{x}}{header.X-Id}"),
            scope(&[]),
            &mut CallTable::default(),
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
        let template = compile(
            &literal("/a/{year}/{2}"),
            scope(&regexes),
            &mut CallTable::default(),
            &mut out,
        );
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
        let template = compile(
            &literal("{b}"),
            scope(&regexes),
            &mut CallTable::default(),
            &mut out,
        );
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
