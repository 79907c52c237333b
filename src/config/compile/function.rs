//! Functions (§15) checked and built: their names, their arguments, the
//! regex of `replace`; and one id per distinct call in the file, so that a
//! request computes `lower(path)` once however many rules read it.

use std::collections::HashMap;
use std::sync::Arc;

use super::super::diagnostic::Diagnostic;
use super::super::faults::strings as faults;
use super::super::span::Span;
use super::super::string_literal::StringLiteral;
use super::regex::RegexCache;
use crate::rules::{Call, Field, Function};

/// The calls of one file by their text, and the regexes of `replace`.
#[derive(Debug, Default)]
pub(crate) struct CallTable {
    ids: HashMap<String, usize>,
    regexes: RegexCache,
}

impl CallTable {
    /// The function `name` with its string arguments; faults go into `out`.
    /// `span` covers the whole call.
    pub(crate) fn function(
        &mut self,
        name: &str,
        name_span: Span,
        args: &[StringLiteral],
        span: Span,
        out: &mut Vec<Diagnostic>,
    ) -> Option<Function> {
        let simple = match name {
            "lower" => Some(Function::Lower),
            "upper" => Some(Function::Upper),
            "url_decode" => Some(Function::UrlDecode),
            "url_encode" => Some(Function::UrlEncode),
            "replace" => None,
            _ => {
                out.push(faults::unknown_function(name, name_span));
                return None;
            }
        };
        if let Some(function) = simple {
            if !args.is_empty() {
                out.push(faults::function_arity(name, args.len(), span));
                return None;
            }
            return Some(function);
        }
        let [pattern, with] = args else {
            out.push(faults::function_arity(name, args.len(), span));
            return None;
        };
        let checked = self
            .regexes
            .compile(pattern)
            .map_err(|d| out.push(d))
            .ok()?;
        Some(Function::Replace {
            regex: checked.regex,
            with: with.value.as_str().into(),
        })
    }

    /// The call of `function` on `input`, with the id every identical call
    /// of the file shares.
    pub(crate) fn call(&mut self, function: Function, input: Field) -> Field {
        let mut call = Call {
            id: 0,
            function,
            input,
        };
        let next = self.ids.len();
        call.id = *self.ids.entry(call.to_string()).or_insert(next);
        Field::Call(Arc::new(call))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identical_calls_share_an_id() {
        let mut table = CallTable::default();
        let a = table.call(Function::Lower, Field::Path);
        let b = table.call(Function::Upper, Field::Path);
        let c = table.call(Function::Lower, Field::Path);
        let id = |field: &Field| match field {
            Field::Call(call) => call.id,
            _ => usize::MAX,
        };
        assert_eq!((id(&a), id(&b), id(&c)), (0, 1, 0));
    }
}
