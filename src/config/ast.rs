//! The syntax tree: what was written, with a span on every node. Nothing here
//! is checked beyond the grammar; `compile` decides what it means.

use super::span::Span;
use super::string_literal::StringLiteral;

/// A bare word (rule name, setting name, field name, status, header name).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Word {
    /// The text as written.
    pub text: String,
    /// Where.
    pub span: Span,
}

/// The whole file, blocks in file order.
#[derive(Debug, Clone, Default)]
pub struct File {
    /// Every `settings { … }` block (more than one is an error).
    pub settings: Vec<SettingsBlock>,
    /// Every `rule NAME { … }` block.
    pub rules: Vec<RuleBlock>,
    /// Every `list NAME [ … ]`.
    pub lists: Vec<ListDecl>,
    /// Every `map NAME …`.
    pub maps: Vec<MapDecl>,
    /// Every `include "PATTERN"`, with where it stands among the rules.
    pub includes: Vec<Include>,
}

/// `list NAME [ … ]`: strings, or bare integers (for `status`).
#[derive(Debug, Clone)]
pub struct ListDecl {
    /// The `list` keyword.
    pub keyword: Span,
    /// The name as written.
    pub name: Word,
    /// The items in order.
    pub items: Vec<ListItem>,
    /// The brackets and what lies between them.
    pub brackets: Span,
}

/// One item of a declared list.
#[derive(Debug, Clone)]
pub enum ListItem {
    /// A double-quoted string.
    Text(StringLiteral),
    /// A bare integer (`502`).
    Integer(Word),
}

impl ListItem {
    /// Where the item was written.
    pub fn span(&self) -> Span {
        match self {
            ListItem::Text(literal) => literal.span,
            ListItem::Integer(word) => word.span,
        }
    }
}

/// `map NAME { "key" "value" … }` or `map NAME from "FILE"`.
#[derive(Debug, Clone)]
pub struct MapDecl {
    /// The `map` keyword.
    pub keyword: Span,
    /// The name as written.
    pub name: Word,
    /// Where the entries come from.
    pub source: MapSource,
}

/// The entries of a map, as written.
#[derive(Debug, Clone)]
pub enum MapSource {
    /// Key and value pairs between braces.
    Inline(Vec<(StringLiteral, StringLiteral)>),
    /// A CSV file of the config directory.
    File(StringLiteral),
}

/// `include "PATTERN"` at the top level.
#[derive(Debug, Clone)]
pub struct Include {
    /// The `include` keyword.
    pub keyword: Span,
    /// The pattern, relative to the config directory.
    pub pattern: StringLiteral,
    /// How many of this file's rules stand before it: the included rules
    /// go between those and the rest.
    pub position: usize,
}

/// `settings { … }`.
#[derive(Debug, Clone)]
pub struct SettingsBlock {
    /// The `settings` keyword.
    pub keyword: Span,
    /// The entries in order.
    pub entries: Vec<SettingEntry>,
}

/// `name value` inside `settings`.
#[derive(Debug, Clone)]
pub struct SettingEntry {
    /// The setting's name.
    pub name: Word,
    /// Its value, unparsed.
    pub value: Word,
}

/// `rule NAME { … }`.
#[derive(Debug, Clone)]
pub struct RuleBlock {
    /// The name as written.
    pub name: Word,
    /// The word after `on` (`rule NAME on response { … }`), when written.
    pub phase: Option<Word>,
    /// The statements in order.
    pub statements: Vec<Statement>,
}

/// One line of a rule: `when …` or an action.
#[derive(Debug, Clone)]
pub struct Statement {
    /// What it says.
    pub kind: StatementKind,
    /// The whole statement.
    pub span: Span,
    /// The keyword that starts it (`when`, `redirect`, `request` …).
    pub keyword: Span,
}

/// The statement kinds.
#[derive(Debug, Clone)]
pub enum StatementKind {
    /// `when CONDITION`.
    When(Expr),
    /// `redirect STATUS "target"`.
    Redirect {
        /// The status as written.
        status: Word,
        /// The target template.
        target: StringLiteral,
    },
    /// `respond STATUS ["body"]` or `respond STATUS file "PATH"`.
    Respond {
        /// The status as written.
        status: Word,
        /// The body template, if any.
        body: Option<StringLiteral>,
        /// The file body's path (section 13), if any; never with `body`.
        file: Option<StringLiteral>,
    },
    /// `rewrite "target"`.
    Rewrite {
        /// The target template.
        target: StringLiteral,
    },
    /// `request|response header set|add|remove NAME ["value"]`.
    Header {
        /// Request or response.
        side: HeaderSide,
        /// Set, add or remove.
        op: HeaderOp,
        /// The header name as written.
        name: Word,
        /// The value template (required for set/add, refused for remove).
        value: Option<StringLiteral>,
    },
    /// `query set|add "NAME" "value"`, `query remove|keep "PATTERN"…`, `query sort`.
    Query(QueryEdit),
    /// `stop`.
    Stop,
}

/// A query edit as written (§15).
#[derive(Debug, Clone)]
pub enum QueryEdit {
    /// `query set "NAME" "value"`.
    Set(StringLiteral, StringLiteral),
    /// `query add "NAME" "value"`.
    Add(StringLiteral, StringLiteral),
    /// `query remove "PATTERN"…`.
    Remove(Vec<StringLiteral>),
    /// `query keep "PATTERN"…`.
    Keep(Vec<StringLiteral>),
    /// `query sort`.
    Sort,
}

impl StatementKind {
    /// Whether this is `redirect` or `respond`.
    pub fn is_terminal(&self) -> bool {
        matches!(
            self,
            StatementKind::Redirect { .. } | StatementKind::Respond { .. }
        )
    }

    /// Whether this ends the rule's actions: a terminal action or `stop`.
    pub fn ends_rule(&self) -> bool {
        self.is_terminal() || matches!(self, StatementKind::Stop)
    }
}

/// Which headers a header action changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HeaderSide {
    /// Those sent upstream.
    Request,
    /// Those sent to the client.
    Response,
}

/// What a header action does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HeaderOp {
    /// Replace.
    Set,
    /// Append.
    Add,
    /// Delete.
    Remove,
    /// Set only when absent (section 12).
    Default,
}

/// A condition expression.
#[derive(Debug, Clone)]
pub enum Expr {
    /// `a or b or …`.
    Or(Vec<Expr>, Span),
    /// `a and b and …`.
    And(Vec<Expr>, Span),
    /// `not a` (the span covers the keyword and the operand).
    Not(Box<Expr>, Span),
    /// `exists field`.
    Exists(FieldRef, Span),
    /// `field op value`.
    Test(TestExpr),
}

/// `field op value`.
#[derive(Debug, Clone)]
pub struct TestExpr {
    /// What is read.
    pub field: FieldRef,
    /// How it is compared, and where the operator is.
    pub op: (Operator, Span),
    /// What it is compared with.
    pub value: Value,
    /// The whole test.
    pub span: Span,
}

/// A field as written: `path`, `header("X-Id")`.
#[derive(Debug, Clone)]
pub struct FieldRef {
    /// The field's name.
    pub name: Word,
    /// The parenthesised argument, if any.
    pub arg: Option<StringLiteral>,
    /// The whole field, functions included.
    pub span: Span,
    /// The functions around it, outermost first: `lower(url_decode(path))`
    /// has `lower`, then `url_decode`.
    pub calls: Vec<FunctionCall>,
}

/// A function around a field in a condition (§15).
#[derive(Debug, Clone)]
pub struct FunctionCall {
    /// The function's name.
    pub name: Word,
    /// The string arguments after the field (`replace`'s two).
    pub args: Vec<StringLiteral>,
    /// The whole call.
    pub span: Span,
}

/// The comparison operators of §5.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operator {
    /// `==`.
    Eq,
    /// `!=`.
    Ne,
    /// `~`.
    Match,
    /// `!~`.
    NotMatch,
    /// `^=`.
    Prefix,
    /// `$=`.
    Suffix,
    /// `*=`.
    Contains,
    /// `in`.
    In,
    /// `not in`.
    NotIn,
    /// `<` (integers only).
    Less,
    /// `<=`.
    LessEq,
    /// `>`.
    Greater,
    /// `>=`.
    GreaterEq,
    /// nginx's `~*`: refused, with what to write instead.
    MatchIgnoringCase,
    /// `!^=`: refused.
    NotPrefix,
    /// `!$=`: refused.
    NotSuffix,
    /// `!*=`: refused.
    NotContains,
}

/// The right-hand side of a test.
#[derive(Debug, Clone)]
pub enum Value {
    /// One string.
    Single(StringLiteral),
    /// `[ … ]`, with the span of the brackets.
    List(Vec<StringLiteral>, Span),
    /// A bare integer (`status >= 500`).
    Number(Word),
    /// `[ … ]` holding at least one bare integer, with any strings in it
    /// kept apart (a list mixing the two is an error).
    Numbers {
        /// The integers, in order.
        numbers: Vec<Word>,
        /// The strings, in order.
        strings: Vec<StringLiteral>,
        /// The brackets.
        span: Span,
    },
    /// `$NAME`: a declared list or map (the word holds the name without `$`;
    /// its span covers the `$`).
    Reference(Word),
}

impl Value {
    /// The whole value's span.
    pub fn span(&self) -> Span {
        match self {
            Value::Single(literal) => literal.span,
            Value::List(_, span) | Value::Numbers { span, .. } => *span,
            Value::Number(word) | Value::Reference(word) => word.span,
        }
    }
}

impl Expr {
    /// The expression's span.
    pub fn span(&self) -> Span {
        match self {
            Expr::Or(_, span) | Expr::And(_, span) | Expr::Not(_, span) | Expr::Exists(_, span) => {
                *span
            }
            Expr::Test(test) => test.span,
        }
    }
}
