//! Field names (§4), shared by conditions (`header("X")`) and templates
//! (`{header.X}`): one table, so both accept and suggest the same names.

use http::HeaderName;

use super::super::diagnostic::{Code, Diagnostic, did_you_mean};
use super::super::span::Span;
use crate::rules::{Field, HeaderField};

/// The fields that take no argument.
pub const PLAIN_FIELDS: [&str; 7] = [
    "scheme",
    "host",
    "method",
    "path",
    "query",
    "uri",
    "client_ip",
];
/// The fields that take a name.
pub const NAMED_FIELDS: [&str; 4] = ["header", "cookie", "arg", "response_header"];
/// The fields of the response without an argument (section 12).
pub const RESPONSE_FIELDS: [&str; 2] = ["status", "content_type"];

/// The plain field called `name`.
pub fn plain(name: &str) -> Option<Field> {
    Some(match name {
        "scheme" => Field::Scheme,
        "host" => Field::Host,
        "method" => Field::Method,
        "path" => Field::Path,
        "query" => Field::Query,
        "uri" => Field::Uri,
        "client_ip" => Field::ClientIp,
        "status" => Field::Status,
        "content_type" => Field::ContentType,
        _ => return None,
    })
}

/// Whether `name` is any field's name.
pub fn is_field_name(name: &str) -> bool {
    PLAIN_FIELDS.contains(&name) || NAMED_FIELDS.contains(&name) || RESPONSE_FIELDS.contains(&name)
}

/// The named field `kind("arg")`; `arg_span` is where the argument is written.
pub fn named(kind: &str, arg: &str, arg_span: Span) -> Result<Field, Diagnostic> {
    match kind {
        "header" | "response_header" => HeaderName::from_bytes(arg.as_bytes())
            .map(|name| {
                if kind == "header" {
                    Field::Header(HeaderField::new(name, arg))
                } else {
                    Field::ResponseHeader(name)
                }
            })
            .map_err(|_| {
                Diagnostic::error(
                    Code::InvalidHeaderName,
                    format!("`{arg}` is not a valid header name"),
                    arg_span,
                    "not an RFC 9110 token",
                )
                .with_help("header names are letters, digits and `-`, such as `X-Request-Id`")
            }),
        _ if arg.is_empty() => Err(Diagnostic::error(
            Code::FieldArgument,
            format!("`{kind}` needs a name"),
            arg_span,
            "empty name",
        )
        .with_help(format!(
            "write the {kind}'s name, such as `{kind}(\"session\")`"
        ))),
        "cookie" => Ok(Field::Cookie(arg.to_owned())),
        _ => Ok(Field::Arg(arg.to_owned())),
    }
}

/// The diagnostic for a field name that does not exist.
pub fn unknown(name: &str, span: Span) -> Diagnostic {
    let candidates = PLAIN_FIELDS
        .iter()
        .chain(NAMED_FIELDS.iter())
        .chain(RESPONSE_FIELDS.iter())
        .copied();
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolves_named_fields() {
        let span = Span::new(0, 1);
        assert_eq!(
            named("header", "X-Id", span).ok(),
            Some(Field::Header(HeaderName::from_static("x-id").into()))
        );
        assert_eq!(
            named("cookie", "s", span).ok(),
            Some(Field::Cookie("s".into()))
        );
        assert_eq!(
            named("header", "a b", span).err().map(|d| d.code),
            Some(Code::InvalidHeaderName)
        );
        assert_eq!(
            named("arg", "", span).err().map(|d| d.code),
            Some(Code::FieldArgument)
        );
    }
}
