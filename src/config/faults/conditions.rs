//! Faults of conditions: fields and their arguments, operators and the
//! shape of their values, addresses, regexes and their groups.

use crate::config::diagnostic::{Code, Diagnostic, did_you_mean};
use crate::config::span::Span;

/// A field name that does not exist; `candidates` are the field names.
pub(crate) fn unknown_field<'a>(
    name: &str,
    span: Span,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Diagnostic {
    let diagnostic = Diagnostic::error(
        Code::UnknownField,
        format!("unknown field `{name}`"),
        span,
        "not a field",
    );
    match did_you_mean(name, candidates) {
        Some(suggestion) => diagnostic.with_help(suggestion),
        None => diagnostic.with_help(
            "the fields are scheme, host, method, path, query, uri, client_ip, header(\"Name\"), cookie(\"name\") and arg(\"name\"); `on response` rules also have status, content_type and response_header(\"Name\")",
        ),
    }
}

/// A `header("…")` whose name is not an RFC 9110 token.
pub(crate) fn invalid_header_field(arg: &str, span: Span) -> Diagnostic {
    Diagnostic::error(
        Code::InvalidHeaderName,
        format!("`{arg}` is not a valid header name"),
        span,
        "not an RFC 9110 token",
    )
    .with_help("header names are letters, digits and `-`, such as `X-Request-Id`")
}

/// `cookie("")` or `arg("")`.
pub(crate) fn empty_field_name(kind: &str, span: Span) -> Diagnostic {
    Diagnostic::error(
        Code::FieldArgument,
        format!("`{kind}` needs a name"),
        span,
        "empty name",
    )
    .with_help(format!(
        "write the {kind}'s name, such as `{kind}(\"session\")`"
    ))
}

/// A plain field written with an argument.
pub(crate) fn takes_no_argument(name: &str, span: Span) -> Diagnostic {
    Diagnostic::error(
        Code::FieldArgument,
        format!("`{name}` takes no argument"),
        span,
        "remove this",
    )
    .with_help(format!("write `{name}` alone"))
}

/// `header`, `cookie` or `arg` without its name; `example` shows one.
pub(crate) fn needs_a_name(name: &str, span: Span, example: &str) -> Diagnostic {
    Diagnostic::error(
        Code::FieldArgument,
        format!("`{name}` needs a name"),
        span,
        "which one?",
    )
    .with_help(format!("write `{name}(\"…\")`, such as `{example}`"))
}

/// `exists` on a field that is always present.
pub(crate) fn exists_on_plain_field(name: &str, span: Span) -> Diagnostic {
    Diagnostic::error(
        Code::ExistsOnPlainField,
        "`exists` applies to `header`, `cookie`, `arg` and `response_header` only",
        span,
        format!("`{name}` is always present"),
    )
    .with_help(format!("compare it instead, such as `{name} != \"\"`"))
}

/// A list after an operator (`symbol`) that compares one string; `regex`
/// when the operator is `~` or `!~`.
pub(crate) fn list_for_one_string(symbol: &str, regex: bool, list: Span, op: Span) -> Diagnostic {
    Diagnostic::error(
        Code::ValueShape,
        format!("`{symbol}` compares with one string, not a list"),
        list,
        "a list",
    )
    .with_related(op, "this operator")
    .with_help(if regex {
        "join the patterns with `|` in one regex, such as \"^/(old|older)/\""
    } else {
        "use `in [ … ]` to compare with several strings"
    })
}

/// `in` or `not in` (`word`) with one string (`quoted`) instead of a list.
pub(crate) fn one_string_for_list(word: &str, quoted: &str, span: Span, op: Span) -> Diagnostic {
    Diagnostic::error(
        Code::ValueShape,
        format!("`{word}` takes a list"),
        span,
        "one string",
    )
    .with_related(op, "this operator")
    .with_help(format!("write `{word} [{quoted}]`, or use `==`"))
}

/// `in []`.
pub(crate) fn empty_list(span: Span) -> Diagnostic {
    Diagnostic::error(
        Code::EmptyList,
        "empty list",
        span,
        "nothing to compare with",
    )
    .with_help("put at least one string in the list")
}

/// `client_ip == "10.0.0.0/8"`: a network where one address belongs.
pub(crate) fn network_for_address(value: &str, span: Span) -> Diagnostic {
    Diagnostic::error(
        Code::InvalidCidr,
        format!("`{value}` is a network; `==` compares one address"),
        span,
        "not an address",
    )
    .with_help("use `client_ip in [\"10.0.0.0/8\"]` to match a network")
}

/// `client_ip == "…"` with something that is not an address.
pub(crate) fn not_an_address(value: &str, span: Span) -> Diagnostic {
    Diagnostic::error(
        Code::InvalidCidr,
        format!("`{value}` is not an IP address"),
        span,
        "not an address",
    )
    .with_help("write an IPv4 or IPv6 address, such as \"192.0.2.1\"")
}

/// An item of a `client_ip in [ … ]` list that is neither an address nor a block.
pub(crate) fn not_an_address_or_block(value: &str, span: Span) -> Diagnostic {
    Diagnostic::error(
        Code::InvalidCidr,
        format!("`{value}` is not an IP address or CIDR block"),
        span,
        "not an address or network",
    )
    .with_help("write an address (\"192.0.2.1\") or a block (\"10.0.0.0/8\", \"2001:db8::/32\")")
}

/// A regex whose compiled program exceeds `limit_kib`.
pub(crate) fn regex_too_big(span: Span, limit_kib: usize) -> Diagnostic {
    Diagnostic::error(
        Code::RegexTooBig,
        "regular expression too large",
        span,
        format!("compiles to more than {limit_kib} KiB"),
    )
    .with_help("use smaller repetition counts such as `{1,100}` or split the pattern")
}

/// A regex refused for a reason the regex parser cannot place (`reason`
/// under the whole literal).
pub(crate) fn invalid_regex_unplaced(span: Span, reason: String) -> Diagnostic {
    Diagnostic::error(
        Code::InvalidRegex,
        "invalid regular expression",
        span,
        reason,
    )
}

/// A regex syntax error at `span`; `first` is where a duplicated name was
/// first defined.
pub(crate) fn invalid_regex(span: Span, kind: String, first: Option<Span>) -> Diagnostic {
    let diagnostic =
        Diagnostic::error(Code::InvalidRegex, "invalid regular expression", span, kind).with_help(
            "the syntax is that of Rust's regex crate, see https://docs.rs/regex/#syntax",
        );
    match first {
        Some(first) => diagnostic.with_related(first, "first defined here"),
        None => diagnostic,
    }
}

/// A named group that has a field's name.
pub(crate) fn group_shadows_field(name: &str, span: Span) -> Diagnostic {
    Diagnostic::error(
        Code::GroupShadowsField,
        format!("group name `{name}` is also a field name"),
        span,
        "rename this group",
    )
    .with_help(format!("`{{{name}}}` in a template means the field; call the group something else, such as `{name}_part`"))
}

/// A named group defined by two regexes of one rule.
pub(crate) fn duplicate_group(name: &str, span: Span, first_regex: Span) -> Diagnostic {
    Diagnostic::error(
        Code::DuplicateGroup,
        format!("group `{name}` is defined by two regular expressions of this rule"),
        span,
        "defined again here",
    )
    .with_related(first_regex, "first defined in this regex")
    .with_help("give each group a name of its own")
}
