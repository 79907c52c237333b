//! The grammar (`grammar/proxy.pest`) run over the text, and its parse tree
//! turned into the AST with spans. Syntax errors are converted in `syntax`.

use pest::Parser as _;
use pest::iterators::Pair;

use super::ast::{
    Expr, FieldRef, File, FunctionCall, HeaderOp, HeaderSide, Include, ListDecl, ListItem, MapDecl,
    MapSource, Operator, QueryEdit, RuleBlock, SettingEntry, SettingsBlock, Statement,
    StatementKind, TestExpr, Value, Word,
};
use super::diagnostic::Diagnostic;
use super::lexical::{MAX_NESTING, Scan, too_deep};
use super::span::Span;
use super::string_literal::StringLiteral;

mod grammar {
    //! The parser pest derives from the grammar file.
    #![allow(missing_docs)]

    /// The pest parser for `proxy.conf`.
    #[derive(pest_derive::Parser)]
    #[grammar = "../grammar/proxy.pest"]
    pub(crate) struct ProxyConfParser;
}

pub(crate) use grammar::Rule;

/// Parses the text into the AST, or the one syntax error that stopped it.
/// A large file is parsed in parts on several threads when it can be
/// (`parse_parts`); the result is the same.
pub(crate) fn parse(text: &str, scan: &Scan) -> Result<File, Diagnostic> {
    if let Some(file) = super::parse_parts::parse_in_parts(text, &scan.block_starts) {
        return Ok(file);
    }
    parse_whole(text, &scan.unclosed_braces)
}

/// Parses the text on this thread, whatever its size.
pub(crate) fn parse_whole(text: &str, unclosed_braces: &[usize]) -> Result<File, Diagnostic> {
    let mut pairs = grammar::ProxyConfParser::parse(Rule::file, text)
        .map_err(|error| super::syntax::convert(&error, text, unclosed_braces))?;
    let mut file = File::default();
    let Some(root) = pairs.next() else {
        return Ok(file);
    };
    for block in root.into_inner() {
        match block.as_rule() {
            Rule::settings_block => file.settings.push(settings_block(block)),
            Rule::rule_block => file.rules.push(rule_block(block)?),
            Rule::list_decl => file.lists.push(list_decl(block)),
            Rule::map_decl => file.maps.push(map_decl(block)),
            Rule::include_decl => {
                let position = file.rules.len();
                file.includes.push(include_decl(block, position));
            }
            _ => {}
        }
    }
    Ok(file)
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

fn word(pair: &Pair<'_, Rule>) -> Word {
    Word {
        text: pair.as_str().to_owned(),
        span: Span::of(pair.as_span()),
    }
}

/// A `string` or a `template` token (a template keeps its `{…}` as written).
fn string(pair: Pair<'_, Rule>) -> StringLiteral {
    let span = Span::of(pair.as_span());
    // The grammar guarantees the quotes; the body is what lies between them.
    let text = pair.as_str();
    let body = text
        .strip_prefix('"')
        .and_then(|t| t.strip_suffix('"'))
        .unwrap_or("");
    if pair.as_rule() == Rule::template {
        StringLiteral::unescape_template(body, span.start + 1, span)
    } else {
        StringLiteral::unescape(body, span.start + 1, span)
    }
}

fn settings_block(pair: Pair<'_, Rule>) -> SettingsBlock {
    let mut keyword = Span::of(pair.as_span());
    let mut entries = Vec::new();
    for inner in pair.into_inner() {
        match inner.as_rule() {
            Rule::kw_settings => keyword = Span::of(inner.as_span()),
            Rule::setting => {
                let mut parts = inner.into_inner();
                if let (Some(name), Some(value)) = (parts.next(), parts.next()) {
                    entries.push(SettingEntry {
                        name: word(&name),
                        value: word(&value),
                    });
                }
            }
            _ => {}
        }
    }
    SettingsBlock { keyword, entries }
}

fn list_decl(pair: Pair<'_, Rule>) -> ListDecl {
    let mut keyword = Span::of(pair.as_span());
    let mut name = empty_word(keyword);
    let mut items = Vec::new();
    let mut brackets = keyword;
    for inner in pair.into_inner() {
        match inner.as_rule() {
            Rule::kw_list => keyword = Span::of(inner.as_span()),
            Rule::decl_name => name = word(&inner),
            Rule::lbracket => brackets = Span::of(inner.as_span()),
            Rule::rbracket => brackets = brackets.to(Span::of(inner.as_span())),
            Rule::string => items.push(ListItem::Text(string(inner))),
            Rule::integer => items.push(ListItem::Integer(word(&inner))),
            _ => {}
        }
    }
    ListDecl {
        keyword,
        name,
        items,
        brackets,
    }
}

fn map_decl(pair: Pair<'_, Rule>) -> MapDecl {
    let mut keyword = Span::of(pair.as_span());
    let mut name = empty_word(keyword);
    let mut source = MapSource::Inline(Vec::new());
    for inner in pair.into_inner() {
        match inner.as_rule() {
            Rule::kw_map => keyword = Span::of(inner.as_span()),
            Rule::decl_name => name = word(&inner),
            Rule::map_from => {
                if let Some(path) = inner.into_inner().find(|p| p.as_rule() == Rule::string) {
                    source = MapSource::File(string(path));
                }
            }
            Rule::map_body => {
                let entries = inner
                    .into_inner()
                    .filter(|p| p.as_rule() == Rule::map_entry)
                    .filter_map(|entry| {
                        let mut strings = entry.into_inner().map(string);
                        Some((strings.next()?, strings.next()?))
                    })
                    .collect();
                source = MapSource::Inline(entries);
            }
            _ => {}
        }
    }
    MapDecl {
        keyword,
        name,
        source,
    }
}

fn include_decl(pair: Pair<'_, Rule>, position: usize) -> Include {
    let mut keyword = Span::of(pair.as_span());
    let mut pattern = None;
    for inner in pair.into_inner() {
        match inner.as_rule() {
            Rule::kw_include => keyword = Span::of(inner.as_span()),
            Rule::string => pattern = Some(string(inner)),
            _ => {}
        }
    }
    let pattern = pattern.unwrap_or_else(|| {
        StringLiteral::unescape("", keyword.end, Span::new(keyword.end, keyword.end))
    });
    Include {
        keyword,
        pattern,
        position,
    }
}

fn empty_word(span: Span) -> Word {
    Word {
        text: String::new(),
        span,
    }
}

fn rule_block(pair: Pair<'_, Rule>) -> Result<RuleBlock, Diagnostic> {
    let mut name = None;
    let mut phase = None;
    let mut statements = Vec::new();
    for inner in pair.into_inner() {
        match inner.as_rule() {
            Rule::rule_name => name = Some(word(&inner)),
            Rule::rule_phase => {
                phase = inner
                    .into_inner()
                    .find(|p| p.as_rule() == Rule::phase_name)
                    .map(|p| word(&p));
            }
            Rule::when_line
            | Rule::redirect
            | Rule::respond
            | Rule::rewrite
            | Rule::header_action
            | Rule::query_action
            | Rule::stop => {
                statements.push(statement(inner)?);
            }
            _ => {}
        }
    }
    let name = name.unwrap_or_else(|| Word {
        text: String::new(),
        span: Span::default(),
    });
    Ok(RuleBlock {
        name,
        phase,
        statements,
    })
}

fn statement(pair: Pair<'_, Rule>) -> Result<Statement, Diagnostic> {
    let span = tight(&pair);
    let rule = pair.as_rule();
    let mut inner: Vec<Pair<'_, Rule>> = pair.into_inner().collect();
    let keyword = inner
        .first()
        .map_or(span, |first| Span::of(first.as_span()));
    let kind = match rule {
        Rule::when_line => {
            let condition = inner.pop().map(|c| expr(c, 0)).transpose()?;
            StatementKind::When(condition.unwrap_or(Expr::And(Vec::new(), span)))
        }
        Rule::redirect => {
            let target = string(inner.remove(2));
            StatementKind::Redirect {
                status: word(&inner[1]),
                target,
            }
        }
        Rule::respond => {
            let (mut body, mut file) = (None, None);
            if let Some(third) = inner.get(2).cloned() {
                if third.as_rule() == Rule::file_body {
                    file = third
                        .into_inner()
                        .find(|p| p.as_rule() == Rule::string)
                        .map(string);
                } else {
                    body = Some(string(third));
                }
            }
            StatementKind::Respond {
                status: word(&inner[1]),
                body,
                file,
            }
        }
        Rule::rewrite => StatementKind::Rewrite {
            target: string(inner.remove(1)),
        },
        Rule::stop => StatementKind::Stop,
        Rule::query_action => StatementKind::Query(query_edit(inner)),
        _ => header_action(inner),
    };
    Ok(Statement {
        kind,
        span,
        keyword,
    })
}

fn header_action(inner: Vec<Pair<'_, Rule>>) -> StatementKind {
    let mut side = HeaderSide::Request;
    let mut op = HeaderOp::Set;
    let mut name = None;
    let mut value = None;
    for pair in inner {
        match pair.as_rule() {
            Rule::header_side if pair.as_str() == "response" => {
                side = HeaderSide::Response;
            }
            Rule::header_op => {
                op = match pair.as_str() {
                    "add" => HeaderOp::Add,
                    "remove" => HeaderOp::Remove,
                    "default" => HeaderOp::Default,
                    _ => HeaderOp::Set,
                }
            }
            Rule::header_name => name = Some(word(&pair)),
            Rule::template => value = Some(string(pair)),
            _ => {}
        }
    }
    let name = name.unwrap_or_else(|| Word {
        text: String::new(),
        span: Span::default(),
    });
    StatementKind::Header {
        side,
        op,
        name,
        value,
    }
}

fn query_edit(inner: Vec<Pair<'_, Rule>>) -> QueryEdit {
    let verb = inner
        .get(1)
        .map(|p| p.as_str().to_owned())
        .unwrap_or_default();
    let mut strings: Vec<StringLiteral> = inner
        .into_iter()
        .filter(|p| matches!(p.as_rule(), Rule::string | Rule::template))
        .map(string)
        .collect();
    match verb.as_str() {
        "set" | "add" if strings.len() == 2 => {
            let value = strings.remove(1);
            let name = strings.remove(0);
            if verb == "set" {
                QueryEdit::Set(name, value)
            } else {
                QueryEdit::Add(name, value)
            }
        }
        "remove" => QueryEdit::Remove(strings),
        "keep" => QueryEdit::Keep(strings),
        _ => QueryEdit::Sort,
    }
}

/// Builds a condition node; `depth` counts the parentheses and `not` around it.
fn expr(pair: Pair<'_, Rule>, depth: usize) -> Result<Expr, Diagnostic> {
    // Expression spans are never drawn, so pest's span (which may hold the
    // blanks after the last token) is good enough and cheap.
    let span = Span::of(pair.as_span());
    match pair.as_rule() {
        Rule::condition | Rule::and_expr => {
            let is_or = pair.as_rule() == Rule::condition;
            let mut members = Vec::new();
            for inner in pair.into_inner() {
                if !matches!(inner.as_rule(), Rule::kw_or | Rule::kw_and) {
                    members.push(expr(inner, depth)?);
                }
            }
            Ok(match (members.len(), is_or) {
                (1, _) => members.remove(0),
                (_, true) => Expr::Or(members, span),
                (_, false) => Expr::And(members, span),
            })
        }
        Rule::unary => {
            let mut nots = Vec::new();
            let mut primary = None;
            for inner in pair.into_inner() {
                if inner.as_rule() == Rule::not_prefix {
                    nots.push(tight(&inner));
                } else {
                    primary = Some(inner);
                }
            }
            if depth + nots.len() > MAX_NESTING {
                let at = nots
                    .get(MAX_NESTING.saturating_sub(depth))
                    .copied()
                    .unwrap_or(span);
                return Err(too_deep(at));
            }
            let Some(primary) = primary else {
                return Ok(Expr::And(Vec::new(), span));
            };
            let mut node = expr(primary, depth + nots.len())?;
            for not in nots.into_iter().rev() {
                let covered = not.to(node.span());
                node = Expr::Not(Box::new(node), covered);
            }
            Ok(node)
        }
        Rule::group => {
            if depth + 1 > MAX_NESTING {
                return Err(too_deep(span));
            }
            match pair.into_inner().find(|p| p.as_rule() == Rule::condition) {
                Some(inner) => expr(inner, depth + 1),
                None => Ok(Expr::And(Vec::new(), span)),
            }
        }
        Rule::exists_test => {
            let field = pair
                .into_inner()
                .find(|p| p.as_rule() == Rule::operand)
                .map(operand)
                .unwrap_or_else(|| empty_field(span));
            Ok(Expr::Exists(field, span))
        }
        _ => Ok(Expr::Test(test(pair))),
    }
}

fn test(pair: Pair<'_, Rule>) -> TestExpr {
    let span = Span::of(pair.as_span());
    let mut field = None;
    let mut op = (Operator::Eq, span);
    let mut value = Value::List(Vec::new(), span);
    for inner in pair.into_inner() {
        match inner.as_rule() {
            Rule::operand => field = Some(operand(inner)),
            Rule::op => op = operator(inner),
            Rule::value => value = value_of(inner),
            _ => {}
        }
    }
    TestExpr {
        field: field.unwrap_or_else(|| empty_field(span)),
        op,
        value,
        span,
    }
}

fn empty_field(span: Span) -> FieldRef {
    FieldRef {
        name: Word {
            text: String::new(),
            span,
        },
        arg: None,
        span,
        calls: Vec::new(),
    }
}

/// A field, or functions around one: the field with its calls, outermost first.
fn operand(pair: Pair<'_, Rule>) -> FieldRef {
    let span = tight(&pair);
    let Some(inner) = pair.into_inner().next() else {
        return empty_field(span);
    };
    if inner.as_rule() == Rule::field {
        return field_ref(inner);
    }
    let mut name = None;
    let mut args = Vec::new();
    let mut field = None;
    for part in inner.into_inner() {
        match part.as_rule() {
            Rule::function_name => name = Some(word(&part)),
            Rule::operand => field = Some(operand(part)),
            Rule::string => args.push(string(part)),
            _ => {}
        }
    }
    let mut field = field.unwrap_or_else(|| empty_field(span));
    let call = FunctionCall {
        name: name.unwrap_or_else(|| Word {
            text: String::new(),
            span,
        }),
        args,
        span,
    };
    field.calls.insert(0, call);
    field
}

fn field_ref(pair: Pair<'_, Rule>) -> FieldRef {
    let mut span = Span::of(pair.as_span());
    let mut name = Word {
        text: String::new(),
        span,
    };
    let mut arg = None;
    // The field ends with its name or its `)`, not with the blanks after it.
    span.end = span.start;
    for inner in pair.into_inner() {
        span.end = span.end.max(inner.as_span().end());
        match inner.as_rule() {
            Rule::field_name => name = word(&inner),
            Rule::field_arg => {
                arg = inner
                    .into_inner()
                    .find(|p| p.as_rule() == Rule::string)
                    .map(string)
            }
            _ => {}
        }
    }
    FieldRef {
        name,
        arg,
        span,
        calls: Vec::new(),
    }
}

fn operator(pair: Pair<'_, Rule>) -> (Operator, Span) {
    let span = Span::of(pair.as_span());
    let text = pair.as_str();
    let kind = match text {
        "==" => Operator::Eq,
        "!=" => Operator::Ne,
        "~" => Operator::Match,
        "!~" => Operator::NotMatch,
        "^=" => Operator::Prefix,
        "$=" => Operator::Suffix,
        "*=" => Operator::Contains,
        "in" => Operator::In,
        "<" => Operator::Less,
        "<=" => Operator::LessEq,
        ">" => Operator::Greater,
        ">=" => Operator::GreaterEq,
        "~*" => Operator::MatchIgnoringCase,
        "!^=" => Operator::NotPrefix,
        "!$=" => Operator::NotSuffix,
        "!*=" => Operator::NotContains,
        // `not` and `in` with anything (blanks, comments) between them.
        _ => Operator::NotIn,
    };
    (kind, span)
}

fn value_of(pair: Pair<'_, Rule>) -> Value {
    let span = Span::of(pair.as_span());
    match pair.into_inner().next() {
        Some(inner) if inner.as_rule() == Rule::string => Value::Single(string(inner)),
        Some(inner) if inner.as_rule() == Rule::reference => Value::Reference(Word {
            text: inner.as_str().trim_start_matches('$').to_owned(),
            span: Span::of(inner.as_span()),
        }),
        Some(inner) if inner.as_rule() == Rule::number => Value::Number(word(&inner)),
        Some(list) => {
            let (mut strings, mut numbers) = (Vec::new(), Vec::new());
            for item in list.into_inner() {
                match item.as_rule() {
                    Rule::string => strings.push(string(item)),
                    Rule::number => numbers.push(word(&item)),
                    _ => {}
                }
            }
            if numbers.is_empty() {
                Value::List(strings, span)
            } else {
                Value::Numbers {
                    numbers,
                    strings,
                    span,
                }
            }
        }
        None => Value::List(Vec::new(), span),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_ok(text: &str) -> File {
        match parse_whole(text, &[]) {
            Ok(file) => file,
            Err(diagnostic) => panic!("did not parse: {diagnostic}"),
        }
    }

    #[test]
    fn empty_and_comment_only_files_parse() {
        assert!(parse_ok("").rules.is_empty());
        assert!(parse_ok("# nothing\n\n").rules.is_empty());
    }

    #[test]
    fn precedence_is_not_then_and_then_or() {
        let file = parse_ok(
            r#"rule a { when not path == "/a" and host == "x" or method == "GET" respond 200 }"#,
        );
        let StatementKind::When(Expr::Or(members, _)) = &file.rules[0].statements[0].kind else {
            panic!("expected or at the top");
        };
        assert!(matches!(&members[0], Expr::And(inner, _) if matches!(inner[0], Expr::Not(..))));
        assert!(matches!(&members[1], Expr::Test(_)));
    }

    #[test]
    fn statements_need_no_newlines() {
        let file = parse_ok(r#"rule a{when path=="/"redirect 301 "/x"}rule b{respond 404}"#);
        assert_eq!(file.rules.len(), 2);
        assert_eq!(file.rules[0].statements.len(), 2);
    }

    #[test]
    fn keywords_need_a_word_boundary() {
        // `notice` is a field name (unknown, but a field), not `not` + `ice`.
        let file = parse_ok(r#"rule a { when notice == "x" respond 200 }"#);
        let StatementKind::When(Expr::Test(test)) = &file.rules[0].statements[0].kind else {
            panic!("expected a test");
        };
        assert_eq!(test.field.name.text, "notice");
    }

    #[test]
    fn not_in_is_an_operator_and_lists_take_a_trailing_comma() {
        let file = parse_ok(r#"rule a { when method not in ["GET", "HEAD",] respond 405 }"#);
        let StatementKind::When(Expr::Test(test)) = &file.rules[0].statements[0].kind else {
            panic!("expected a test");
        };
        assert_eq!(test.op.0, Operator::NotIn);
        assert!(matches!(&test.value, Value::List(items, _) if items.len() == 2));
    }

    #[test]
    fn functions_wrap_fields_and_templates_hold_inner_strings() {
        let file = parse_ok(
            r#"rule a { when lower(url_decode(header("X"))) ~* "a" redirect 301 "{replace(path, "/{2,}", "/")}" query remove "utm_*" "x" stop }"#,
        );
        let statements = &file.rules[0].statements;
        let StatementKind::When(Expr::Test(test)) = &statements[0].kind else {
            panic!("expected a test");
        };
        let calls: Vec<&str> = test
            .field
            .calls
            .iter()
            .map(|c| c.name.text.as_str())
            .collect();
        assert_eq!(calls, ["lower", "url_decode"]);
        assert_eq!(test.field.name.text, "header");
        assert_eq!(test.op.0, Operator::MatchIgnoringCase);
        let StatementKind::Redirect { target, .. } = &statements[1].kind else {
            panic!("expected a redirect");
        };
        assert_eq!(target.value, r#"{replace(path, "/{2,}", "/")}"#);
        assert!(
            matches!(&statements[2].kind, StatementKind::Query(QueryEdit::Remove(p)) if p.len() == 2)
        );
        assert!(matches!(statements[3].kind, StatementKind::Stop));
    }

    #[test]
    fn long_runs_of_not_are_refused_without_recursion() {
        let text = format!(
            r#"rule a {{ when {} path == "/" respond 200 }}"#,
            "not ".repeat(10_000)
        );
        let error = parse_whole(&text, &[]).err().map(|d| d.code);
        assert_eq!(error, Some(super::super::diagnostic::Code::TooDeep));
    }
}
