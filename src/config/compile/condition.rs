//! `when` conditions: the AST's expression tree checked and compiled into
//! `rules::Condition`, recording every regex so templates can resolve captures.

use std::net::IpAddr;
use std::sync::Arc;

use ipnet::IpNet;

use super::super::ast::{Expr, FieldRef, Operator, TestExpr, Value, Word};
use super::super::diagnostic::{Code, Diagnostic};
use super::super::faults::maps as map_faults;
use super::super::faults::response as response_faults;
use super::super::faults::strings as faults;
use super::super::span::Span;
use super::super::string_literal::StringLiteral;
use super::declarations::{Body, Declarations};
use super::field;
use super::function::CallTable;
use super::regex;
use crate::rules::{Condition, Field, Map, Ordering, Phase, Test, TestOp, ValueSet};

/// Why a regex's groups may not have matched when the rule fires.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Uncertainty {
    /// The `~` sits under `not`.
    UnderNot,
    /// The `~` sits inside an `or`.
    InsideOr,
    /// It is `!~`: it holds when the regex does not match.
    NegatedMatch,
}

impl Uncertainty {
    /// Words for a diagnostic: "its regex …".
    pub fn describe(self) -> &'static str {
        match self {
            Uncertainty::UnderNot => "its `~` sits under `not`",
            Uncertainty::InsideOr => "its `~` sits inside an `or`",
            Uncertainty::NegatedMatch => "it belongs to a `!~`, which holds when nothing matched",
        }
    }
}

/// What templates need to know about one regex of a rule's condition.
#[derive(Debug, Clone)]
pub struct RegexInfo {
    /// The capture slot (`~` only, numbered in source order).
    pub slot: Option<usize>,
    /// Why its groups may be unset when the rule fires, if they may.
    pub uncertain: Option<Uncertainty>,
    /// Named groups and their indices.
    pub names: Vec<(String, usize)>,
    /// Groups including group 0.
    pub group_count: usize,
    /// The regex's string literal.
    pub literal: Span,
}

/// What templates need to know about one `FIELD in $MAP` of a rule's condition.
#[derive(Debug, Clone)]
pub struct MapBinding {
    /// The map's name as written.
    pub name: String,
    /// The map; `None` when it is unknown or broken (already reported).
    pub map: Option<Arc<Map>>,
    /// The field whose value is the key.
    pub field: Option<Field>,
    /// Why the test may not have held when the rule fires, if it may.
    pub uncertain: Option<Uncertainty>,
    /// The whole test.
    pub test: Span,
}

/// Compiles one condition, collecting every fault into `out`.
pub struct ConditionCompiler<'a> {
    out: &'a mut Vec<Diagnostic>,
    cache: &'a mut regex::RegexCache,
    declarations: &'a Declarations,
    calls: &'a mut CallTable,
    /// The regexes seen so far, in source order.
    pub regexes: Vec<RegexInfo>,
    /// Every `in $NAME` seen so far, in source order.
    pub bindings: Vec<MapBinding>,
    slots: usize,
    /// Whether a regex failed to compile, so its groups are unknown and
    /// templates must not report them as missing.
    pub broken: bool,
    /// The rule's phase: response fields need `on response`.
    pub phase: Phase,
    /// The rule's name, for the "mark the rule `on response`" help.
    pub rule: String,
}

impl<'a> ConditionCompiler<'a> {
    /// A compiler that reports into `out`.
    pub fn new(
        out: &'a mut Vec<Diagnostic>,
        cache: &'a mut regex::RegexCache,
        declarations: &'a Declarations,
        calls: &'a mut CallTable,
    ) -> Self {
        ConditionCompiler {
            out,
            cache,
            declarations,
            calls,
            regexes: Vec::new(),
            bindings: Vec::new(),
            slots: 0,
            broken: false,
            phase: Phase::Request,
            rule: String::new(),
        }
    }

    /// The number of `~` regexes seen: the rule's `regex_slots`.
    pub fn slots(&self) -> usize {
        self.slots
    }

    /// Compiles `expr`; `None` when it has a fault (already reported).
    pub fn compile(&mut self, expr: &Expr) -> Option<Condition> {
        self.expr(expr, None)
    }

    fn expr(&mut self, expr: &Expr, context: Option<Uncertainty>) -> Option<Condition> {
        match expr {
            Expr::And(members, _) => self.members(members, context).map(Condition::All),
            Expr::Or(members, _) => self
                .members(members, context.or(Some(Uncertainty::InsideOr)))
                .map(Condition::Any),
            Expr::Not(inner, _) => self
                .expr(inner, context.or(Some(Uncertainty::UnderNot)))
                .map(|c| Condition::Not(Box::new(c))),
            Expr::Exists(field_ref, _) => self.exists(field_ref),
            Expr::Test(test) => self.test(test, context),
        }
    }

    fn members(
        &mut self,
        members: &[Expr],
        context: Option<Uncertainty>,
    ) -> Option<Vec<Condition>> {
        let compiled: Vec<Option<Condition>> =
            members.iter().map(|m| self.expr(m, context)).collect();
        compiled.into_iter().collect()
    }

    fn report(&mut self, diagnostic: Diagnostic) {
        self.out.push(diagnostic);
    }

    /// Resolves a field reference as written in a condition, with the
    /// functions around it, refusing a response field in a request rule.
    fn field(&mut self, field_ref: &FieldRef) -> Option<Field> {
        let field = self.any_field(field_ref)?;
        if field.is_response() && self.phase == Phase::Request {
            let diagnostic = response_faults::response_field_in_request_rule(
                &field_ref.name.text,
                field_ref.span,
                &self.rule,
            );
            self.report(diagnostic);
            return None;
        }
        Some(field)
    }

    fn any_field(&mut self, field_ref: &FieldRef) -> Option<Field> {
        let name = field_ref.name.text.as_str();
        // `lower("x")` reads as a field named `lower` with an argument.
        if field_ref.arg.is_some() && crate::rules::function::FUNCTION_NAMES.contains(&name) {
            self.report(faults::function_of_string(name, field_ref.span));
            return None;
        }
        let mut functions = Vec::with_capacity(field_ref.calls.len());
        for call in field_ref.calls.iter().rev() {
            functions.push(self.calls.function(
                &call.name.text,
                call.name.span,
                &call.args,
                call.span,
                self.out,
            ));
        }
        let mut field = self.bare_field(field_ref)?;
        for function in functions {
            field = self.calls.call(function?, field);
        }
        Some(field)
    }

    fn bare_field(&mut self, field_ref: &FieldRef) -> Option<Field> {
        let name = field_ref.name.text.as_str();
        if let Some(plain) = field::plain(name) {
            if let Some(arg) = &field_ref.arg {
                self.report(
                    Diagnostic::error(
                        Code::FieldArgument,
                        format!("`{name}` takes no argument"),
                        Span::new(
                            field_ref.name.span.end,
                            field_ref.span.end.max(arg.span.end),
                        ),
                        "remove this",
                    )
                    .with_help(format!("write `{name}` alone")),
                );
                return None;
            }
            return Some(plain);
        }
        if field::NAMED_FIELDS.contains(&name) {
            let Some(arg) = &field_ref.arg else {
                self.report(
                    Diagnostic::error(
                        Code::FieldArgument,
                        format!("`{name}` needs a name"),
                        field_ref.name.span,
                        "which one?",
                    )
                    .with_help(format!(
                        "write `{name}(\"…\")`, such as `{}`",
                        example(name)
                    )),
                );
                return None;
            };
            return field::named(name, &arg.value, arg.span)
                .map_err(|d| self.report(d))
                .ok();
        }
        self.report(field::unknown(name, field_ref.name.span));
        None
    }

    fn exists(&mut self, field_ref: &FieldRef) -> Option<Condition> {
        if let Some(outer) = field_ref.calls.first() {
            self.report(faults::exists_on_call(outer.span));
            return None;
        }
        let field = self.field(field_ref)?;
        if matches!(
            field,
            Field::Header(_) | Field::Cookie(_) | Field::Arg(_) | Field::ResponseHeader(_)
        ) {
            return Some(Condition::Exists(field));
        }
        let name = &field_ref.name.text;
        self.report(
            Diagnostic::error(
                Code::ExistsOnPlainField,
                "`exists` applies to `header`, `cookie`, `arg` and `response_header` only",
                field_ref.span,
                format!("`{name}` is always present"),
            )
            .with_help(format!("compare it instead, such as `{name} != \"\"`")),
        );
        None
    }

    fn test(&mut self, test: &TestExpr, context: Option<Uncertainty>) -> Option<Condition> {
        let field = self.field(&test.field);
        let (operator, op_span) = test.op;
        // `status` in a request rule is reported as such; its value is
        // still checked as a status's.
        let is_status = test.field.name.text == "status"
            && test.field.arg.is_none()
            && test.field.calls.is_empty();
        if is_status {
            let op = self.status_op(operator, op_span, &test.value);
            return Some(Condition::Test(Test {
                field: field?,
                op: op?,
            }));
        }
        let misfit = self.integers_for_text(operator, op_span, &test.value, &test.field);
        if let Some(found) = misfit {
            self.report(found);
            if matches!(operator, Operator::Match | Operator::NotMatch) {
                self.broken = true;
            }
            return None;
        }
        let op = match (operator, &test.value) {
            (Operator::MatchIgnoringCase, _) => {
                self.report(faults::case_insensitive_operator(op_span));
                return None;
            }
            (Operator::NotPrefix | Operator::NotSuffix | Operator::NotContains, _) => {
                self.report(faults::negated_operator(
                    symbol(operator),
                    &field_text(&test.field),
                    op_span,
                ));
                return None;
            }
            (Operator::In | Operator::NotIn, Value::Reference(word)) => {
                self.reference_op(operator, word, test, field.as_ref(), context)
            }
            (_, Value::Reference(word)) => {
                self.report(map_faults::reference_operator(
                    &word.text,
                    symbol(operator),
                    word.span,
                    op_span,
                ));
                if matches!(operator, Operator::Match | Operator::NotMatch) {
                    self.broken = true;
                }
                return None;
            }
            (Operator::In | Operator::NotIn, _) => {
                self.list_op(operator, op_span, &test.value, field.as_ref())
            }
            (Operator::Match | Operator::NotMatch, _) => {
                let Some(literal) = self.single(operator, op_span, &test.value) else {
                    // Its groups are unknown: templates must not report them.
                    self.broken = true;
                    return None;
                };
                self.regex_op(operator, literal, context)
            }
            _ => {
                let literal = self.single(operator, op_span, &test.value)?;
                self.string_op(operator, literal, field.as_ref())
            }
        };
        Some(Condition::Test(Test {
            field: field?,
            op: op?,
        }))
    }

    /// A bare integer or an ordering operator where the field is text.
    fn integers_for_text(
        &self,
        operator: Operator,
        op_span: Span,
        value: &Value,
        field_ref: &FieldRef,
    ) -> Option<Diagnostic> {
        let field = field_ref.name.text.as_str();
        if ordering(operator).is_some() {
            return Some(response_faults::ordering_on_text(
                symbol(operator),
                field,
                op_span,
            ));
        }
        match value {
            Value::Number(word) => Some(response_faults::integer_for_text(
                field, word.span, &word.text,
            )),
            Value::Numbers { numbers, .. } => numbers
                .first()
                .map(|word| response_faults::integer_for_text(field, word.span, &word.text)),
            _ => None,
        }
    }

    /// `status` compared (section 12): integers with `==`, `!=`, the
    /// ordering operators and `in`/`not in`; anything else is a fault.
    fn status_op(&mut self, operator: Operator, op_span: Span, value: &Value) -> Option<TestOp> {
        if let Some(order) = ordering(operator) {
            return match value {
                Value::Number(word) => {
                    let status = self.status_number(word, true)?;
                    Some(TestOp::Ordered(order, status))
                }
                other => {
                    let example = format!("status {} 500", symbol(operator));
                    self.report(response_faults::status_with_string(other.span(), &example));
                    None
                }
            };
        }
        match (operator, value) {
            (Operator::Eq | Operator::Ne, Value::Number(word)) => {
                let status = self.status_number(word, false)?.to_string();
                Some(if operator == Operator::Eq {
                    TestOp::Equals(status)
                } else {
                    TestOp::NotEquals(status)
                })
            }
            (
                Operator::In | Operator::NotIn,
                Value::Numbers {
                    numbers, strings, ..
                },
            ) => {
                if let Some(string) = strings.first() {
                    self.report(response_faults::status_with_string(
                        string.span,
                        "status in [502, 503, 504]",
                    ));
                    return None;
                }
                let mut set = ValueSet::default();
                for word in numbers {
                    set.strings
                        .push(self.status_number(word, false)?.to_string());
                }
                Some(if operator == Operator::In {
                    TestOp::In(set)
                } else {
                    TestOp::NotIn(set)
                })
            }
            (Operator::In | Operator::NotIn, Value::Reference(word)) => {
                self.status_list(operator, word)
            }
            (Operator::In | Operator::NotIn, Value::List(items, span)) if items.is_empty() => {
                self.list_op(operator, op_span, &Value::List(Vec::new(), *span), None)
            }
            (Operator::In | Operator::NotIn, Value::List(items, _)) => {
                let at = items.first().map_or(op_span, |item| item.span);
                self.report(response_faults::status_with_string(
                    at,
                    "status in [502, 503, 504]",
                ));
                None
            }
            (Operator::In | Operator::NotIn, Value::Number(word)) => {
                let word_text = if operator == Operator::In {
                    "in"
                } else {
                    "not in"
                };
                self.report(
                    Diagnostic::error(
                        Code::ValueShape,
                        format!("`{word_text}` takes a list"),
                        word.span,
                        "one integer",
                    )
                    .with_related(op_span, "this operator")
                    .with_help(format!("write `{word_text} [{}]`, or use `==`", word.text)),
                );
                None
            }
            (Operator::Eq | Operator::Ne, Value::Numbers { span, .. }) => {
                self.report(
                    Diagnostic::error(
                        Code::ValueShape,
                        format!(
                            "`{}` compares with one integer, not a list",
                            symbol(operator)
                        ),
                        *span,
                        "a list",
                    )
                    .with_related(op_span, "this operator")
                    .with_help("use `in [ … ]` to compare with several statuses"),
                );
                None
            }
            (Operator::Eq | Operator::Ne, other) => {
                let example = format!("status {} 503", symbol(operator));
                self.report(response_faults::status_with_string(other.span(), &example));
                None
            }
            _ => {
                self.report(response_faults::status_operator(symbol(operator), op_span));
                None
            }
        }
    }

    /// `status in $NAME`: a declared list of integers (section 14), each a
    /// status of 100–599.
    fn status_list(&mut self, operator: Operator, word: &Word) -> Option<TestOp> {
        let declarations = self.declarations;
        let Some(declared) = declarations.lookup(&word.text) else {
            self.report(map_faults::unknown_name(
                &word.text,
                word.span,
                declarations.suggest(&word.text),
            ));
            return None;
        };
        let items = match &declared.body {
            Body::Integers(items) => items,
            Body::Broken(_) => return None,
            _ => {
                self.report(map_faults::list_kind(
                    &word.text,
                    "status",
                    false,
                    word.span,
                    declared.name,
                ));
                return None;
            }
        };
        let mut set = ValueSet::default();
        for code in items {
            if !(100..=599).contains(code) {
                self.report(response_faults::status_out_of_range(
                    &code.to_string(),
                    word.span,
                    false,
                ));
                return None;
            }
            set.strings.push(code.to_string());
        }
        set.list = Some(word.text.clone());
        Some(if operator == Operator::In {
            TestOp::In(set)
        } else {
            TestOp::NotIn(set)
        })
    }

    /// A status as written: 100–599, or 0–999 after an ordering operator.
    fn status_number(&mut self, word: &Word, ordering: bool) -> Option<u16> {
        let range = if ordering { 0..=999 } else { 100..=599 };
        match word.text.parse::<i64>() {
            Ok(number) if range.contains(&number) => u16::try_from(number).ok(),
            _ => {
                self.report(response_faults::status_out_of_range(
                    &word.text, word.span, ordering,
                ));
                None
            }
        }
    }

    fn single<'v>(
        &mut self,
        operator: Operator,
        op_span: Span,
        value: &'v Value,
    ) -> Option<&'v StringLiteral> {
        match value {
            Value::Single(literal) => Some(literal),
            // Refused before (`integers_for_text`), or reported by `test`.
            Value::Number(_) | Value::Numbers { .. } | Value::Reference(_) => None,
            Value::List(_, span) => {
                let symbol = symbol(operator);
                self.report(
                    Diagnostic::error(
                        Code::ValueShape,
                        format!("`{symbol}` compares with one string, not a list"),
                        *span,
                        "a list",
                    )
                    .with_related(op_span, "this operator")
                    .with_help(
                        if matches!(operator, Operator::Match | Operator::NotMatch) {
                            "join the patterns with `|` in one regex, such as \"^/(old|older)/\""
                        } else {
                            "use `in [ … ]` to compare with several strings"
                        },
                    ),
                );
                None
            }
        }
    }

    fn string_op(
        &mut self,
        operator: Operator,
        literal: &StringLiteral,
        field: Option<&Field>,
    ) -> Option<TestOp> {
        let text = match field {
            Some(Field::Host) => literal.value.to_lowercase(),
            Some(Field::ClientIp) if matches!(operator, Operator::Eq | Operator::Ne) => {
                self.address(literal)?
            }
            _ => literal.value.clone(),
        };
        Some(match operator {
            Operator::Eq => TestOp::Equals(text),
            Operator::Ne => TestOp::NotEquals(text),
            Operator::Prefix => TestOp::StartsWith(text),
            Operator::Suffix => TestOp::EndsWith(text),
            _ => TestOp::Contains(text),
        })
    }

    /// A client_ip compared with `==`/`!=`: one address, in canonical form.
    fn address(&mut self, literal: &StringLiteral) -> Option<String> {
        match literal.value.parse::<IpAddr>() {
            Ok(ip) => Some(ip.to_string()),
            Err(_) => {
                let (message, help) = if literal.value.contains('/') {
                    (
                        format!(
                            "`{}` is a network; `==` compares one address",
                            literal.value
                        ),
                        "use `client_ip in [\"10.0.0.0/8\"]` to match a network",
                    )
                } else {
                    (
                        format!("`{}` is not an IP address", literal.value),
                        "write an IPv4 or IPv6 address, such as \"192.0.2.1\"",
                    )
                };
                self.report(
                    Diagnostic::error(Code::InvalidCidr, message, literal.span, "not an address")
                        .with_help(help),
                );
                None
            }
        }
    }

    fn list_op(
        &mut self,
        operator: Operator,
        op_span: Span,
        value: &Value,
        field: Option<&Field>,
    ) -> Option<TestOp> {
        let items = match value {
            Value::List(items, span) if items.is_empty() => {
                self.report(
                    Diagnostic::error(
                        Code::EmptyList,
                        "empty list",
                        *span,
                        "nothing to compare with",
                    )
                    .with_help("put at least one string in the list"),
                );
                return None;
            }
            Value::List(items, _) => items,
            // Refused before (`integers_for_text`), or reported by `test`.
            Value::Number(_) | Value::Numbers { .. } | Value::Reference(_) => return None,
            Value::Single(literal) => {
                let word = if operator == Operator::In {
                    "in"
                } else {
                    "not in"
                };
                self.report(
                    Diagnostic::error(
                        Code::ValueShape,
                        format!("`{word}` takes a list"),
                        literal.span,
                        "one string",
                    )
                    .with_related(op_span, "this operator")
                    .with_help(format!(
                        "write `{word} [{}]`, or use `==`",
                        quoted(&literal.value)
                    )),
                );
                return None;
            }
        };
        let set = self.value_set(items, field)?;
        Some(if operator == Operator::In {
            TestOp::In(set)
        } else {
            TestOp::NotIn(set)
        })
    }

    /// `in $NAME` / `not in $NAME`: a declared list (as if written here) or
    /// a map (its keys; `in` binds `{$NAME}` for the templates).
    fn reference_op(
        &mut self,
        operator: Operator,
        word: &Word,
        test: &TestExpr,
        field: Option<&Field>,
        context: Option<Uncertainty>,
    ) -> Option<TestOp> {
        let name = word.text.as_str();
        let declarations = self.declarations;
        let Some(declared) = declarations.lookup(name) else {
            self.report(map_faults::unknown_name(
                name,
                word.span,
                declarations.suggest(name),
            ));
            if operator == Operator::In {
                self.bind(name, None, field, context, test.span);
            }
            return None;
        };
        match &declared.body {
            Body::Broken(_) => {
                if operator == Operator::In {
                    self.bind(name, None, field, context, test.span);
                }
                None
            }
            Body::Map(map) => {
                if operator == Operator::In {
                    self.bind(name, Some(map.clone()), field, context, test.span);
                    Some(TestOp::InMap(map.clone()))
                } else {
                    Some(TestOp::NotInMap(map.clone()))
                }
            }
            Body::Integers(_) => {
                self.report(map_faults::list_kind(
                    name,
                    &test.field.name.text,
                    true,
                    word.span,
                    declared.name,
                ));
                None
            }
            Body::Strings(items) => {
                let mut set = self.value_set(items, field)?;
                set.list = Some(name.to_owned());
                Some(if operator == Operator::In {
                    TestOp::In(set)
                } else {
                    TestOp::NotIn(set)
                })
            }
        }
    }

    fn bind(
        &mut self,
        name: &str,
        map: Option<Arc<Map>>,
        field: Option<&Field>,
        uncertain: Option<Uncertainty>,
        test: Span,
    ) {
        self.bindings.push(MapBinding {
            name: name.to_owned(),
            map,
            field: field.cloned(),
            uncertain,
            test,
        });
    }

    /// The members of a list, checked for the field they are compared with.
    fn value_set(&mut self, items: &[StringLiteral], field: Option<&Field>) -> Option<ValueSet> {
        let mut set = ValueSet::default();
        let mut ok = true;
        for item in items {
            match field {
                Some(Field::ClientIp) => match network(&item.value) {
                    Some(net) => set.networks.push(net),
                    None => {
                        ok = false;
                        self.report(
                            Diagnostic::error(
                                Code::InvalidCidr,
                                format!("`{}` is not an IP address or CIDR block", item.value),
                                item.span,
                                "not an address or network",
                            )
                            .with_help("write an address (\"192.0.2.1\") or a block (\"10.0.0.0/8\", \"2001:db8::/32\")"),
                        );
                    }
                },
                Some(Field::Host) => set.strings.push(item.value.to_lowercase()),
                _ => set.strings.push(item.value.clone()),
            }
        }
        ok.then_some(set)
    }

    fn regex_op(
        &mut self,
        operator: Operator,
        literal: &StringLiteral,
        context: Option<Uncertainty>,
    ) -> Option<TestOp> {
        let compiled = match self.cache.compile(literal) {
            Ok(compiled) => compiled,
            Err(diagnostic) => {
                self.report(diagnostic);
                self.broken = true;
                if operator == Operator::Match {
                    self.slots += 1;
                }
                return None;
            }
        };
        let names: Vec<(String, usize)> = compiled
            .group_names
            .iter()
            .enumerate()
            .filter_map(|(index, name)| name.clone().map(|n| (n, index)))
            .collect();
        let mut ok = true;
        for (name, _) in &names {
            let at = regex::group_name_position(&literal.value, name)
                .map_or(literal.span, |(start, end)| literal.inner_span(start, end));
            if field::is_field_name(name) {
                ok = false;
                self.report(
                    Diagnostic::error(
                        Code::GroupShadowsField,
                        format!("group name `{name}` is also a field name"),
                        at,
                        "rename this group",
                    )
                    .with_help(format!("`{{{name}}}` in a template means the field; call the group something else, such as `{name}_part`")),
                );
            }
            let earlier = self
                .regexes
                .iter()
                .find(|info| info.names.iter().any(|(other, _)| other == name));
            if let Some(earlier) = earlier {
                let first = earlier.literal;
                ok = false;
                self.report(
                    Diagnostic::error(
                        Code::DuplicateGroup,
                        format!(
                            "group `{name}` is defined by two regular expressions of this rule"
                        ),
                        at,
                        "defined again here",
                    )
                    .with_related(first, "first defined in this regex")
                    .with_help("give each group a name of its own"),
                );
            }
        }
        let slot = (operator == Operator::Match).then(|| {
            self.slots += 1;
            self.slots - 1
        });
        let uncertain = if operator == Operator::NotMatch {
            Some(Uncertainty::NegatedMatch)
        } else {
            context
        };
        self.regexes.push(RegexInfo {
            slot,
            uncertain,
            names,
            group_count: compiled.group_names.len(),
            literal: literal.span,
        });
        if !ok {
            return None;
        }
        Some(match slot {
            Some(slot) => TestOp::Matches {
                regex: compiled.regex,
                slot,
            },
            None => TestOp::NotMatches(compiled.regex),
        })
    }
}

/// An address (a one-host network) or a CIDR block.
fn network(text: &str) -> Option<IpNet> {
    if text.contains('/') {
        text.parse::<IpNet>().ok()
    } else {
        text.parse::<IpAddr>().ok().map(IpNet::from)
    }
}

fn symbol(operator: Operator) -> &'static str {
    match operator {
        Operator::Eq => "==",
        Operator::Ne => "!=",
        Operator::Match => "~",
        Operator::NotMatch => "!~",
        Operator::Prefix => "^=",
        Operator::Suffix => "$=",
        Operator::Contains => "*=",
        Operator::In => "in",
        Operator::NotIn => "not in",
        Operator::MatchIgnoringCase => "~*",
        Operator::NotPrefix => "!^=",
        Operator::NotSuffix => "!$=",
        Operator::NotContains => "!*=",
        Operator::Less => "<",
        Operator::LessEq => "<=",
        Operator::Greater => ">",
        Operator::GreaterEq => ">=",
    }
}

/// The ordering of `<`, `<=`, `>`, `>=`; `None` for the other operators.
fn ordering(operator: Operator) -> Option<Ordering> {
    match operator {
        Operator::Less => Some(Ordering::Less),
        Operator::LessEq => Some(Ordering::LessEq),
        Operator::Greater => Some(Ordering::Greater),
        Operator::GreaterEq => Some(Ordering::GreaterEq),
        _ => None,
    }
}

/// A field as written, functions included, for help texts.
fn field_text(field_ref: &FieldRef) -> String {
    let mut text = field_ref.name.text.clone();
    if let Some(arg) = &field_ref.arg {
        text = format!("{text}({})", quoted(&arg.value));
    }
    for call in field_ref.calls.iter().rev() {
        let mut args = String::new();
        for arg in &call.args {
            args.push_str(", ");
            args.push_str(&quoted(&arg.value));
        }
        text = format!("{}({text}{args})", call.name.text);
    }
    text
}

fn quoted(text: &str) -> String {
    format!("\"{}\"", text.replace('\\', "\\\\").replace('"', "\\\""))
}

fn example(name: &str) -> &'static str {
    match name {
        "header" => "header(\"User-Agent\")",
        "cookie" => "cookie(\"session\")",
        _ => "arg(\"page\")",
    }
}
