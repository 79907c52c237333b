//! Diagnostics of lists, maps, map files, includes and the size limits of a
//! config's files (spec section 14): every message, label and help here.

use super::super::diagnostic::{Code, Diagnostic};
use super::super::files::PathFault;
use super::super::span::Span;

/// Which declaration a name belongs to, in words.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `list NAME [ … ]`.
    List,
    /// `map NAME …`.
    Map,
}

impl Kind {
    fn word(self) -> &'static str {
        match self {
            Kind::List => "list",
            Kind::Map => "map",
        }
    }
}

/// What a path names, for messages about it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FileRole {
    /// `map NAME from "FILE"`.
    MapFile,
    /// `include "PATTERN"`.
    Include,
}

impl FileRole {
    fn word(self) -> &'static str {
        match self {
            FileRole::MapFile => "map file",
            FileRole::Include => "included file",
        }
    }
}

/// A path that may not be used, or a file that is not there.
pub(crate) fn path_fault(role: FileRole, path: &str, span: Span, fault: &PathFault) -> Diagnostic {
    let what = role.word();
    let (code, message, label, help) = match fault {
        PathFault::Empty => (
            Code::FileNotFound,
            format!("the {what} path is empty"),
            "empty path",
            "name a file relative to the config directory, such as \"redirects.csv\"".to_owned(),
        ),
        PathFault::Absolute => (
            Code::PathOutsideConfig,
            format!("the {what} path `{path}` is absolute"),
            "absolute path",
            "write the path relative to the config directory, such as \"redirects.csv\"".to_owned(),
        ),
        PathFault::Parent => (
            Code::PathOutsideConfig,
            format!("the {what} path `{path}` climbs out with `..`"),
            "`..` is not allowed",
            "keep the file inside the config directory and name it from there".to_owned(),
        ),
        PathFault::Outside => (
            Code::PathOutsideConfig,
            format!("the {what} `{path}` resolves outside the config directory"),
            "a link leads out of the directory",
            "copy the file into the config directory instead of linking to it".to_owned(),
        ),
        PathFault::Missing => (
            Code::FileNotFound,
            format!("the {what} `{path}` does not exist"),
            "no such file",
            "check the spelling; the path is relative to the config directory".to_owned(),
        ),
        PathFault::NotRegular => (
            Code::FileNotFound,
            format!("the {what} `{path}` is not a regular file"),
            "not a file",
            "name a file, not a directory".to_owned(),
        ),
        PathFault::TooLarge(bytes) => {
            return super::file_size::file_too_large(path, *bytes, super::super::MAX_FILE_BYTES);
        }
        PathFault::Unreadable(reason) => (
            Code::FileNotFound,
            format!("the {what} `{path}` cannot be read: {reason}"),
            "unreadable",
            "make the file readable by the proxy".to_owned(),
        ),
    };
    Diagnostic::error(code, message, span, label).with_help(help)
}

/// `include` that matched nothing.
pub(crate) fn include_no_match(pattern: &str, span: Span) -> Diagnostic {
    Diagnostic::error(
        Code::IncludeNoMatch,
        format!("`include \"{pattern}\"` matches no file"),
        span,
        "nothing matches",
    )
    .with_help("check the pattern: it is relative to the config directory, and `*` never matches a leading `.`; remove the `include` if the files are gone")
}

/// A file that includes itself through others.
pub(crate) fn include_cycle(path: &str, span: Span, chain: &str) -> Diagnostic {
    Diagnostic::error(
        Code::IncludeCycle,
        format!("`{path}` includes itself: {chain}"),
        span,
        "includes a file that includes this one",
    )
    .with_help("remove one `include` of the cycle; each file is read once")
}

/// One file included a second time.
pub(crate) fn include_twice(path: &str, span: Span, first: Span) -> Diagnostic {
    Diagnostic::error(
        Code::IncludeTwice,
        format!("`{path}` is included twice"),
        span,
        "included again here",
    )
    .with_related(first, "first included here")
    .with_help("include each file once: narrow one of the patterns, or remove one `include`")
}

/// A list or map name that breaks the naming rule.
pub(crate) fn invalid_name(kind: Kind, name: &str, span: Span) -> Diagnostic {
    let word = kind.word();
    Diagnostic::error(
        Code::InvalidListName,
        format!("`{name}` is not a valid {word} name"),
        span,
        "invalid name",
    )
    .with_help(format!(
        "a {word} name starts with a letter and holds letters, digits, `-` and `_`, such as `office-networks`"
    ))
}

/// Two lists or maps with one name.
pub(crate) fn duplicate_name(name: &str, span: Span, first: Span) -> Diagnostic {
    Diagnostic::error(
        Code::DuplicateList,
        format!("two lists or maps are named `{name}`"),
        span,
        "defined again here",
    )
    .with_related(first, "first defined here")
    .with_help("lists and maps share one namespace across all files; rename one of them")
}

/// A list mixing strings and integers.
pub(crate) fn mixed_list(name: &str, span: Span, first: Span) -> Diagnostic {
    Diagnostic::error(
        Code::MixedList,
        format!("list `{name}` mixes strings and bare integers"),
        span,
        "not like the first item",
    )
    .with_related(first, "the first item sets the kind")
    .with_help("a list holds strings (\"/a\") or status codes (502), not both; make two lists")
}

/// `list NAME []`.
pub(crate) fn empty_declared_list(name: &str, span: Span) -> Diagnostic {
    Diagnostic::error(
        Code::EmptyList,
        format!("list `{name}` is empty"),
        span,
        "nothing to compare with",
    )
    .with_help("put at least one item in the list, or remove it")
}

/// An integer in a list that is no status code.
pub(crate) fn list_status(text: &str, span: Span) -> Diagnostic {
    Diagnostic::error(
        Code::InvalidStatus,
        format!("`{text}` is not a status code"),
        span,
        "not between 100 and 599",
    )
    .with_help("integer lists hold status codes from 100 to 599, for `status`")
}

/// `$NAME` that names nothing.
pub(crate) fn unknown_name(name: &str, span: Span, suggestion: Option<String>) -> Diagnostic {
    Diagnostic::error(
        Code::UnknownList,
        format!("no list or map is named `{name}`"),
        span,
        "unknown name",
    )
    .with_help(suggestion.unwrap_or_else(|| {
        format!(
            "declare it with `list {name} [ … ]` or `map {name} {{ … }}`, in any file of the config"
        )
    }))
}

/// `{$NAME}` where NAME is a list.
pub(crate) fn not_a_map(name: &str, span: Span, declared: Span) -> Diagnostic {
    Diagnostic::error(
        Code::NotAMap,
        format!("`{{${name}}}` needs a map, but `{name}` is a list"),
        span,
        "a list has no values",
    )
    .with_related(declared, "declared as a list here")
    .with_help(format!(
        "declare `map {name} {{ \"key\" \"value\" … }}` to look values up, or leave `{{${name}}}` out"
    ))
}

/// An integer list where strings are compared, or the reverse.
pub(crate) fn list_kind(
    name: &str,
    field: &str,
    integers: bool,
    span: Span,
    declared: Span,
) -> Diagnostic {
    let (message, help) = if integers {
        (
            format!("`{name}` is a list of integers, but `{field}` is compared with strings"),
            "integer lists are for `status`; write the items as strings (\"502\") for other fields",
        )
    } else {
        (
            format!("`{name}` holds strings, but `{field}` is compared with integers"),
            "write the status codes as bare integers: `list NAME [502, 503]`",
        )
    };
    Diagnostic::error(Code::ListKind, message, span, "the wrong kind of list")
        .with_related(declared, "declared here")
        .with_help(help)
}

/// `$NAME` after `==`, `~` and the like.
pub(crate) fn reference_operator(name: &str, symbol: &str, span: Span, op: Span) -> Diagnostic {
    Diagnostic::error(
        Code::ReferenceOperator,
        format!("`{symbol}` compares with one string, not `${name}`"),
        span,
        "a list or map",
    )
    .with_related(op, "this operator")
    .with_help(format!("use `in ${name}` or `not in ${name}`"))
}

/// `{$NAME}` without an `in $NAME`, or with several.
pub(crate) fn unbound_map(name: &str, span: Span, count: usize, tests: &[Span]) -> Diagnostic {
    let message = if count == 0 {
        format!("`{{${name}}}` needs `in ${name}` in this rule's condition")
    } else {
        format!("`{{${name}}}` is ambiguous: the condition has {count} `in ${name}`")
    };
    let mut diagnostic = Diagnostic::error(Code::UnboundMap, message, span, "which key?")
        .with_help(if count == 0 {
            format!(
                "add `when FIELD in ${name}` to the rule; the value is the one for the field's key"
            )
        } else {
            format!(
                "keep one `in ${name}` in the rule; use a second map or a second rule for the other"
            )
        });
    for test in tests {
        diagnostic = diagnostic.with_related(*test, format!("an `in ${name}`"));
    }
    diagnostic
}

/// `{$NAME}` whose `in $NAME` may not have held.
pub(crate) fn uncertain_map(name: &str, span: Span, test: Span, under_not: bool) -> Diagnostic {
    let reason = if under_not {
        "this `in` sits under `not`"
    } else {
        "this `in` sits inside an `or`"
    };
    Diagnostic::error(
        Code::UncertainMap,
        format!("`in ${name}` may not have held when this rule fires"),
        span,
        "may have no value",
    )
    .with_related(test, reason.to_owned())
    .with_help(format!(
        "use `{{${name}}}` only when `in ${name}` must hold for the rule to fire: not under `not`, not inside `or`"
    ))
}

/// A key given twice.
pub(crate) fn duplicate_key(map: &str, key: &str, span: Span, first: Span) -> Diagnostic {
    Diagnostic::error(
        Code::DuplicateMapKey,
        format!("map `{map}` has the key `{key}` twice"),
        span,
        "given again here",
    )
    .with_related(first, "first given here")
    .with_help("keep one of the two records")
}

/// An empty key or value.
pub(crate) fn empty_entry(map: &str, is_key: bool, span: Span) -> Diagnostic {
    let what = if is_key { "key" } else { "value" };
    Diagnostic::error(
        Code::EmptyMapEntry,
        format!("map `{map}` has an empty {what}"),
        span,
        format!("empty {what}"),
    )
    .with_help(if is_key {
        "every record needs a key; remove the record if it is not needed"
    } else {
        "every key needs a value; remove the record, or write the target it should lead to"
    })
}

/// A record without exactly two fields.
pub(crate) fn field_count(count: usize, span: Span) -> Diagnostic {
    let plural = if count == 1 { "field" } else { "fields" };
    Diagnostic::error(
        Code::CsvFieldCount,
        format!("a record has {count} {plural}; a map file's records have two, `key,value`"),
        span,
        format!("{count} {plural}"),
    )
    .with_help("quote a field that holds a comma: `\"/a,b\",/new`")
}

/// The ways a quote can be out of place in CSV.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum QuoteFault {
    /// A quote inside an unquoted field.
    InField,
    /// Text after a closing quote.
    AfterQuote,
    /// A quoted field that never closes.
    Unclosed,
}

/// A quote out of place.
pub(crate) fn csv_quote(fault: QuoteFault, span: Span) -> Diagnostic {
    let (message, label, help) = match fault {
        QuoteFault::InField => (
            "a quote inside an unquoted field",
            "stray quote",
            "quote the whole field and double the quotes inside it: `\"say \"\"hi\"\"\"`",
        ),
        QuoteFault::AfterQuote => (
            "text after a closing quote",
            "expected `,` or the end of the line",
            "a quote inside a quoted field is written twice: `\"say \"\"hi\"\"\"`",
        ),
        QuoteFault::Unclosed => (
            "a quoted field that never closes",
            "opened here",
            "close the field with `\"`; a quote inside it is written twice (`\"\"`)",
        ),
    };
    Diagnostic::error(Code::CsvQuote, message, span, label).with_help(help)
}

/// A list or map that nothing uses.
pub(crate) fn unused(kind: Kind, name: &str, span: Span) -> Diagnostic {
    let word = kind.word();
    Diagnostic::error(
        Code::UnusedList,
        format!("{word} `{name}` is never used"),
        span,
        "declared here",
    )
    .with_help(format!("use it with `in ${name}`, or remove it"))
    .warning()
}

/// A redirect map whose value is itself a key: two hops for the client.
pub(crate) fn redirect_chain(map: &str, from: (&str, Span), via: (&str, Span)) -> Diagnostic {
    Diagnostic::error(
        Code::MapRedirectChain,
        format!(
            "map `{map}` sends `{}` to `{}`, which it redirects again",
            from.0, via.0
        ),
        from.1,
        "redirected here first",
    )
    .with_related(via.1, "and again here")
    .with_help("point the first record at the final target, so the client makes one hop")
    .warning()
}

/// A redirect map record that sends a key to itself.
pub(crate) fn redirect_to_itself(map: &str, key: &str, span: Span) -> Diagnostic {
    Diagnostic::error(
        Code::MapRedirectLoop,
        format!("map `{map}` redirects `{key}` to itself"),
        span,
        "this record",
    )
    .with_help("the browser would loop until it gives up; fix or remove the record")
    .warning()
}

/// A redirect map whose records lead back to where they started.
pub(crate) fn redirect_loop(map: &str, from: (&str, Span), via: (&str, Span)) -> Diagnostic {
    Diagnostic::error(
        Code::MapRedirectLoop,
        format!(
            "map `{map}` redirects `{}` and `{}` in a loop",
            from.0, via.0
        ),
        from.1,
        "this record",
    )
    .with_related(via.1, "leads back through this one")
    .with_help("the browser would loop until it gives up; fix or remove one of the records")
    .warning()
}
