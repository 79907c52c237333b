//! The words of the diagnostics of §15 (functions, query edits, `stop`, the
//! operators other proxies have) and of the habits other configuration
//! languages leave: their variables and placeholders in templates.

use super::super::diagnostic::{Code, Diagnostic, did_you_mean};
use super::super::span::Span;
use crate::rules::function::FUNCTION_NAMES;

/// The help for a string that runs to the end of its line: how to write a
/// long header value (the usual reason for wanting a line break).
pub(crate) const SPLIT_STRING_HELP: &str = "close it with `\"` on the same line: a string cannot span lines, so a long header value (a Content-Security-Policy, say) is written on one line, however long";

/// A function name that does not exist.
pub(crate) fn unknown_function(name: &str, span: Span) -> Diagnostic {
    let diagnostic = Diagnostic::error(
        Code::UnknownFunction,
        format!("unknown function `{name}`"),
        span,
        "not a function",
    );
    match did_you_mean(name, FUNCTION_NAMES) {
        Some(suggestion) => diagnostic.with_help(suggestion),
        None => diagnostic.with_help(
            "the functions are lower, upper, url_decode, url_encode and replace(x, \"REGEX\", \"WITH\")",
        ),
    }
}

/// `lower("x")`: a function given a string where a field belongs.
pub(crate) fn function_of_string(name: &str, span: Span) -> Diagnostic {
    Diagnostic::error(
        Code::FunctionArguments,
        format!("`{name}` takes a field, not a string"),
        span,
        "a string",
    )
    .with_help(format!(
        "write the field it applies to, such as `{name}(path)` or `{name}(header(\"X-Country\"))`"
    ))
}

/// A function called with the wrong number of string arguments.
pub(crate) fn function_arity(name: &str, given: usize, span: Span) -> Diagnostic {
    let (wanted, example) = if name == "replace" {
        (
            "two strings after the field",
            "replace(path, \"/{2,}\", \"/\")",
        )
    } else {
        ("only a field", "lower(path)")
    };
    Diagnostic::error(
        Code::FunctionArguments,
        format!(
            "`{name}` takes {wanted}, not {given} string{}",
            if given == 1 { "" } else { "s" }
        ),
        span,
        "wrong arguments",
    )
    .with_help(format!("write it as `{example}`"))
}

/// `exists lower(header("X"))`: a function's value always exists.
pub(crate) fn exists_on_call(span: Span) -> Diagnostic {
    Diagnostic::error(
        Code::ExistsOnPlainField,
        "`exists` applies to `header`, `cookie` and `arg` only, not to a function",
        span,
        "a function of a field",
    )
    .with_help("test the field itself, such as `exists header(\"X-Country\")`")
}

/// nginx's `~*`.
pub(crate) fn case_insensitive_operator(span: Span) -> Diagnostic {
    Diagnostic::error(
        Code::CaseInsensitiveOperator,
        "`~*` is nginx's case-insensitive match; it is not an operator here",
        span,
        "not an operator",
    )
    .with_help(
        "write `~ \"(?i)…\"` (the regex flag), or compare `lower(FIELD)` with a lower-case pattern",
    )
}

/// `!^=`, `!$=`, `!*=`.
pub(crate) fn negated_operator(operator: &str, field: &str, span: Span) -> Diagnostic {
    let positive = &operator[1..];
    Diagnostic::error(
        Code::NegatedOperator,
        format!("`{operator}` is not an operator"),
        span,
        "not an operator",
    )
    .with_help(format!(
        "negate the test with `not`: `not {field} {positive} …`"
    ))
}

/// `query set "" …`, `query remove ""`.
pub(crate) fn empty_query_name(span: Span) -> Diagnostic {
    Diagnostic::error(
        Code::EmptyQueryName,
        "a query parameter name cannot be empty",
        span,
        "empty",
    )
    .with_help("write the parameter's name, such as `\"page\"`, or a pattern such as `\"utm_*\"`")
}

/// Warning: `method == "post"` never matches.
pub(crate) fn method_case(value: &str, span: Span) -> Diagnostic {
    Diagnostic::error(
        Code::MethodCase,
        format!("`{value}` is not an upper-case method: it never matches"),
        span,
        "methods are case-sensitive",
    )
    .with_help(format!(
        "write `\"{}\"`; clients send methods in upper case",
        value.to_ascii_uppercase()
    ))
    .warning()
}

/// Warning: `$request_uri` or `:splat` left as literal text in a template.
pub(crate) fn foreign_variable(written: &str, instead: &str, span: Span) -> Diagnostic {
    Diagnostic::error(
        Code::ForeignVariable,
        format!("`{written}` is sent as it is written: it is not a variable here"),
        span,
        "literal text",
    )
    .with_help(format!("write {instead}"))
    .warning()
}

/// What to write instead of another proxy's variable or placeholder name,
/// as it would appear between the braces of a template (`remote_addr`,
/// `http.request.uri`, `:splat`); `None` when the name is not one of theirs.
pub(crate) fn foreign_name(name: &str) -> Option<String> {
    let plain = |field: &str| Some(format!("`{{{field}}}`"));
    let name = name.strip_prefix('$').unwrap_or(name);
    match name {
        // nginx
        "remote_addr" | "realip_remote_addr" | "binary_remote_addr" => plain("client_ip"),
        "request_uri" => plain("uri"),
        "document_uri" => plain("path"),
        "args" | "query_string" | "is_args" => plain("query"),
        "http_host" | "server_name" | "host_name" => plain("host"),
        "request_method" => plain("method"),
        // Caddy and Cloudflare Rules
        "http.request.uri" | "http.request.orig_uri" => plain("uri"),
        "http.request.uri.path" | "http.request.orig_uri.path" => plain("path"),
        "http.request.uri.query" => plain("query"),
        "http.request.host" | "http.host" => plain("host"),
        "http.request.scheme" => plain("scheme"),
        "http.request.method" => plain("method"),
        "http.request.remote.host" | "remote_host" | "remote" | "client_ip_address" | "ip.src" => {
            plain("client_ip")
        }
        "ip.src.country" | "ip.geoip.country" => plain("header.CF-IPCountry"),
        // Netlify
        ":splat" | "splat" => Some(
            "a regex group: `when path ~ \"^/blog/(.*)$\"` and `{1}` (Netlify's `*` and `:splat`)"
                .to_owned(),
        ),
        _ => prefixed(name),
    }
}

/// nginx's `$http_x_name`, `$cookie_x`, `$arg_x`; Caddy's
/// `http.request.header.X`, `http.request.cookie.x`, `http.request.uri.query.x`;
/// Netlify's `:name`.
fn prefixed(name: &str) -> Option<String> {
    if let Some(header) = name.strip_prefix("http_") {
        return Some(format!("`{{header.{}}}`", header.replace('_', "-")));
    }
    for (prefix, kind) in [
        ("cookie_", "cookie"),
        ("arg_", "arg"),
        ("http.request.header.", "header"),
        ("http.request.cookie.", "cookie"),
        ("http.request.uri.query.", "arg"),
        ("query.", "arg"),
    ] {
        if let Some(rest) = name.strip_prefix(prefix).filter(|rest| !rest.is_empty()) {
            return Some(format!("`{{{kind}.{rest}}}`"));
        }
    }
    let placeholder = name.strip_prefix(':')?;
    (!placeholder.is_empty() && placeholder.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_'))
        .then(|| format!("a named regex group: `(?<{placeholder}>[^/]+)` in `when path ~ …`, and `{{{placeholder}}}`"))
}

/// A function call in a template that cannot be read past `span`.
pub(crate) fn unreadable_call(span: Span) -> Diagnostic {
    Diagnostic::error(
        Code::FunctionArguments,
        "cannot read this function call",
        span,
        "unexpected here",
    )
    .with_help("write a function as `{lower(path)}` or `{replace(path, \"REGEX\", \"WITH\")}`")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn other_proxies_names_have_equivalents() {
        assert_eq!(
            foreign_name("remote_addr").as_deref(),
            Some("`{client_ip}`")
        );
        assert_eq!(foreign_name("$request_uri").as_deref(), Some("`{uri}`"));
        assert_eq!(foreign_name("http.request.uri").as_deref(), Some("`{uri}`"));
        assert_eq!(
            foreign_name("http_x_forwarded_for").as_deref(),
            Some("`{header.x-forwarded-for}`")
        );
        assert_eq!(
            foreign_name("http.request.header.User-Agent").as_deref(),
            Some("`{header.User-Agent}`")
        );
        assert!(foreign_name(":splat").is_some_and(|help| help.contains("{1}")));
        assert!(foreign_name(":slug").is_some_and(|help| help.contains("(?<slug>")));
        assert_eq!(foreign_name("year"), None);
        assert_eq!(foreign_name("host"), None);
    }
}
