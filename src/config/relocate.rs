//! Moves one file's syntax tree into the config's single offset space.
//!
//! Every file of a config (`proxy.conf`, the files it includes, map files)
//! gets a base offset in one global space (`sources::SourceMap`); spans stay
//! plain `(start, end)` pairs, and the renderer finds the file a span falls
//! in. A file is parsed on its own text, then its tree is shifted by its base
//! here, once, so the compiler and linter never need to know which file a
//! node came from. The impls destructure exhaustively: a field or variant
//! added to the AST fails to compile here until it is shifted too.

use super::ast::{
    Expr, FieldRef, File, FunctionCall, Include, ListDecl, ListItem, MapDecl, MapSource, QueryEdit,
    RuleBlock, SettingEntry, SettingsBlock, Statement, StatementKind, TestExpr, Value, Word,
};
use super::diagnostic::{Diagnostic, Label};
use super::span::Span;
use super::string_literal::StringLiteral;

/// Something holding spans of one file, which can be moved by that file's base.
pub(crate) trait Relocate {
    /// Adds `base` to every offset held.
    fn relocate(&mut self, base: usize);
}

impl Relocate for Span {
    fn relocate(&mut self, base: usize) {
        self.start += base;
        self.end += base;
    }
}

impl Relocate for Word {
    fn relocate(&mut self, base: usize) {
        let Word { text: _, span } = self;
        span.relocate(base);
    }
}

impl Relocate for StringLiteral {
    fn relocate(&mut self, base: usize) {
        self.shift(base);
    }
}

impl<T: Relocate> Relocate for Vec<T> {
    fn relocate(&mut self, base: usize) {
        for item in self {
            item.relocate(base);
        }
    }
}

impl<T: Relocate> Relocate for Option<T> {
    fn relocate(&mut self, base: usize) {
        if let Some(item) = self {
            item.relocate(base);
        }
    }
}

impl Relocate for File {
    fn relocate(&mut self, base: usize) {
        let File {
            settings,
            rules,
            lists,
            maps,
            includes,
        } = self;
        settings.relocate(base);
        rules.relocate(base);
        lists.relocate(base);
        maps.relocate(base);
        includes.relocate(base);
    }
}

impl Relocate for SettingsBlock {
    fn relocate(&mut self, base: usize) {
        let SettingsBlock { keyword, entries } = self;
        keyword.relocate(base);
        entries.relocate(base);
    }
}

impl Relocate for SettingEntry {
    fn relocate(&mut self, base: usize) {
        let SettingEntry { name, value } = self;
        name.relocate(base);
        value.relocate(base);
    }
}

impl Relocate for RuleBlock {
    fn relocate(&mut self, base: usize) {
        let RuleBlock {
            name,
            phase,
            statements,
        } = self;
        name.relocate(base);
        phase.relocate(base);
        statements.relocate(base);
    }
}

impl Relocate for Statement {
    fn relocate(&mut self, base: usize) {
        let Statement {
            kind,
            span,
            keyword,
        } = self;
        span.relocate(base);
        keyword.relocate(base);
        match kind {
            StatementKind::When(expr) => expr.relocate(base),
            StatementKind::Redirect { status, target } => {
                status.relocate(base);
                target.relocate(base);
            }
            StatementKind::Respond { status, body, file } => {
                status.relocate(base);
                body.relocate(base);
                file.relocate(base);
            }
            StatementKind::Rewrite { target } => target.relocate(base),
            StatementKind::Query(edit) => edit.relocate(base),
            StatementKind::Stop => {}
            StatementKind::Header {
                side: _,
                op: _,
                name,
                value,
            } => {
                name.relocate(base);
                value.relocate(base);
            }
        }
    }
}

impl Relocate for Expr {
    fn relocate(&mut self, base: usize) {
        match self {
            Expr::Or(members, span) | Expr::And(members, span) => {
                members.relocate(base);
                span.relocate(base);
            }
            Expr::Not(inner, span) => {
                inner.relocate(base);
                span.relocate(base);
            }
            Expr::Exists(field, span) => {
                field.relocate(base);
                span.relocate(base);
            }
            Expr::Test(test) => test.relocate(base),
        }
    }
}

impl Relocate for Box<Expr> {
    fn relocate(&mut self, base: usize) {
        (**self).relocate(base);
    }
}

impl Relocate for TestExpr {
    fn relocate(&mut self, base: usize) {
        let TestExpr {
            field,
            op,
            value,
            span,
        } = self;
        field.relocate(base);
        op.1.relocate(base);
        value.relocate(base);
        span.relocate(base);
    }
}

impl Relocate for FieldRef {
    fn relocate(&mut self, base: usize) {
        let FieldRef {
            name,
            arg,
            span,
            calls,
        } = self;
        name.relocate(base);
        arg.relocate(base);
        span.relocate(base);
        calls.relocate(base);
    }
}

impl Relocate for FunctionCall {
    fn relocate(&mut self, base: usize) {
        let FunctionCall { name, args, span } = self;
        name.relocate(base);
        args.relocate(base);
        span.relocate(base);
    }
}

impl Relocate for QueryEdit {
    fn relocate(&mut self, base: usize) {
        match self {
            QueryEdit::Set(name, value) | QueryEdit::Add(name, value) => {
                name.relocate(base);
                value.relocate(base);
            }
            QueryEdit::Remove(patterns) | QueryEdit::Keep(patterns) => patterns.relocate(base),
            QueryEdit::Sort => {}
        }
    }
}

impl Relocate for Value {
    fn relocate(&mut self, base: usize) {
        match self {
            Value::Single(literal) => literal.relocate(base),
            Value::List(items, span) => {
                items.relocate(base);
                span.relocate(base);
            }
            Value::Reference(word) | Value::Number(word) => word.relocate(base),
            Value::Numbers {
                numbers,
                strings,
                span,
            } => {
                numbers.relocate(base);
                strings.relocate(base);
                span.relocate(base);
            }
        }
    }
}

impl Relocate for ListDecl {
    fn relocate(&mut self, base: usize) {
        let ListDecl {
            keyword,
            name,
            items,
            brackets,
        } = self;
        keyword.relocate(base);
        name.relocate(base);
        items.relocate(base);
        brackets.relocate(base);
    }
}

impl Relocate for ListItem {
    fn relocate(&mut self, base: usize) {
        match self {
            ListItem::Text(literal) => literal.relocate(base),
            ListItem::Integer(word) => word.relocate(base),
        }
    }
}

impl Relocate for MapDecl {
    fn relocate(&mut self, base: usize) {
        let MapDecl {
            keyword,
            name,
            source,
        } = self;
        keyword.relocate(base);
        name.relocate(base);
        match source {
            MapSource::Inline(entries) => {
                for (key, value) in entries {
                    key.relocate(base);
                    value.relocate(base);
                }
            }
            MapSource::File(path) => path.relocate(base),
        }
    }
}

impl Relocate for Include {
    fn relocate(&mut self, base: usize) {
        let Include {
            keyword,
            pattern,
            position: _,
        } = self;
        keyword.relocate(base);
        pattern.relocate(base);
    }
}

impl Relocate for Label {
    fn relocate(&mut self, base: usize) {
        let Label { span, text: _ } = self;
        span.relocate(base);
    }
}

impl Relocate for Diagnostic {
    fn relocate(&mut self, base: usize) {
        let Diagnostic {
            code: _,
            level: _,
            message: _,
            primary,
            related,
            help: _,
        } = self;
        primary.relocate(base);
        related.relocate(base);
    }
}

#[cfg(test)]
mod tests {
    use super::super::parse::parse_whole;
    use super::*;

    #[test]
    fn every_span_moves_by_the_base() {
        let text = "rule a {\n when path in $m and host == \"x\"\n redirect 301 \"{$m}\"\n}\nmap m { \"a\" \"b\" }\n";
        let Ok(mut file) = parse_whole(text, &[]) else {
            panic!("did not parse");
        };
        file.relocate(1000);
        assert_eq!(file.rules[0].name.span, Span::new(1005, 1006));
        let StatementKind::Redirect { target, .. } = &file.rules[0].statements[1].kind else {
            panic!("expected a redirect");
        };
        assert_eq!(
            target.inner_span(0, 1).start,
            text.find("{$m}").unwrap_or(0) + 1000
        );
        assert_eq!(
            file.maps[0].name.span.start,
            text.find("m {").unwrap_or(0) + 1000
        );
    }
}
