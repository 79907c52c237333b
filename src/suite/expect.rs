//! One expectation held against one exchange: it holds, or it misses, and
//! a miss says what was expected and what happened, in words.

use http::{HeaderMap, HeaderName};

use super::case::{Expect, RuleRef};
use super::exchange::{Answer, Exchange};
use crate::rules::RuleSet;

/// A failed expectation, in words that follow "expected" and "got".
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Miss {
    /// What the line asks for (`a redirect 308 to "/a"`).
    pub expected: String,
    /// What happened instead (`the request forwarded upstream to "/b"`).
    pub actual: String,
}

/// Checks one expectation; rule names are known to exist (checked before).
pub fn check(expect: &Expect, exchange: &Exchange, rule_set: &RuleSet) -> Result<(), Miss> {
    let miss = |expected: String, actual: String| Err(Miss { expected, actual });
    match expect {
        Expect::Status(status) => {
            if exchange.status == *status {
                Ok(())
            } else {
                miss(format!("status {status}"), status_words(exchange))
            }
        }
        Expect::Redirect { status, location } => match &exchange.answer {
            Answer::Redirect { location: got } if exchange.status == *status && got == location => {
                Ok(())
            }
            _ => miss(
                format!("a redirect {status} to {location:?}"),
                answered(exchange),
            ),
        },
        Expect::Respond { status, body } => {
            let holds = match &exchange.answer {
                Answer::Respond { body: got } => {
                    exchange.status == *status && body.as_ref().is_none_or(|body| got == body)
                }
                _ => false,
            };
            if holds {
                return Ok(());
            }
            let expected = match body {
                Some(body) => format!("a respond {status} with the body {body:?}"),
                None => format!("a respond {status}"),
            };
            miss(expected, answered(exchange))
        }
        // The request went upstream, whatever a response rule then did.
        Expect::Forward(target) => match (&exchange.forwarded, target) {
            (Some(_), None) => Ok(()),
            (Some((got, _)), Some(target)) if got == target => Ok(()),
            (_, None) => miss(
                "the request forwarded upstream".to_owned(),
                answered(exchange),
            ),
            (_, Some(target)) => miss(
                format!("the request forwarded upstream to {target:?}"),
                answered(exchange),
            ),
        },
        Expect::RequestHeader { name, value } => match &exchange.forwarded {
            Some((_, headers)) => header(headers, name, value.as_deref(), "request"),
            _ => miss(
                header_words(name, value.as_deref(), "request"),
                format!("no request upstream: {}", answered(exchange)),
            ),
        },
        Expect::ResponseHeader { name, value } => header(
            &exchange.response_headers,
            name,
            value.as_deref(),
            "response",
        ),
        Expect::Rules(rules) => {
            let fired = fired_names(exchange, rule_set);
            if rules
                .iter()
                .map(|r| r.name.as_str())
                .eq(fired.iter().copied())
            {
                Ok(())
            } else {
                miss(
                    format!("exactly {} to fire", name_list(rules)),
                    if fired.is_empty() {
                        "no rule firing".to_owned()
                    } else {
                        format!("{} firing", quoted_list(&fired))
                    },
                )
            }
        }
        Expect::Rule(rule) => {
            let fired = fired_names(exchange, rule_set);
            if fired.contains(&rule.name.as_str()) {
                Ok(())
            } else {
                miss(
                    format!("rule {:?} to fire", rule.name),
                    if fired.is_empty() {
                        "no rule firing".to_owned()
                    } else {
                        format!("only {} firing", quoted_list(&fired))
                    },
                )
            }
        }
    }
}

/// The names of the rules that fired, in order.
pub fn fired_names<'a>(exchange: &Exchange, rule_set: &'a RuleSet) -> Vec<&'a str> {
    exchange
        .fired
        .iter()
        .filter_map(|&at| rule_set.rules.get(at).map(|rule| rule.name.as_str()))
        .collect()
}

fn header(
    headers: &HeaderMap,
    name: &HeaderName,
    value: Option<&str>,
    side: &str,
) -> Result<(), Miss> {
    let got = joined(headers, name);
    if got.as_deref() == value {
        return Ok(());
    }
    Err(Miss {
        expected: header_words(name, value, side),
        actual: match got {
            Some(got) => format!("{} {got:?}", display_name(name)),
            None => format!("no {} header", display_name(name)),
        },
    })
}

fn header_words(name: &HeaderName, value: Option<&str>, side: &str) -> String {
    match value {
        Some(value) => format!("{side} header {} {value:?}", display_name(name)),
        None => format!("no {side} header {}", display_name(name)),
    }
}

/// Several lines of one header, joined with `", "` in order (spec §16).
fn joined(headers: &HeaderMap, name: &HeaderName) -> Option<String> {
    let mut lines = headers.get_all(name).iter().peekable();
    lines.peek()?;
    let texts: Vec<String> = lines
        .map(|value| String::from_utf8_lossy(value.as_bytes()).into_owned())
        .collect();
    Some(texts.join(", "))
}

/// A header name as people write it (`x-api-version` → `X-Api-Version`).
fn display_name(name: &HeaderName) -> String {
    name.as_str()
        .split('-')
        .map(|part| {
            let mut chars = part.chars();
            match chars.next() {
                Some(first) => first.to_ascii_uppercase().to_string() + chars.as_str(),
                None => String::new(),
            }
        })
        .collect::<Vec<_>>()
        .join("-")
}

/// The status the client got and who gave it, in words that follow "got".
fn status_words(exchange: &Exchange) -> String {
    let status = exchange.status;
    match &exchange.answer {
        Answer::Redirect { location } => format!("{status} from a redirect to {location:?}"),
        Answer::Respond { .. } => format!("{status} from a rule's `respond`"),
        Answer::Forward { target, .. } => {
            format!("{status} from the next hop (the request was forwarded to {target:?})")
        }
        Answer::Refused { reason } => {
            format!("{status} from the proxy before any rule ran ({reason})")
        }
    }
}

/// What the client got, in words that follow "got".
fn answered(exchange: &Exchange) -> String {
    let status = exchange.status;
    match &exchange.answer {
        Answer::Redirect { location } => format!("a redirect {status} to {location:?}"),
        Answer::Respond { body } => format!(
            "a respond {status} with the body {:?}",
            String::from_utf8_lossy(body)
        ),
        Answer::Forward { target, .. } => {
            format!("the request forwarded upstream to {target:?}, answered {status}")
        }
        Answer::Refused { reason } => format!("a {status} before any rule ran ({reason})"),
    }
}

fn name_list(rules: &[RuleRef]) -> String {
    let names: Vec<&str> = rules.iter().map(|rule| rule.name.as_str()).collect();
    quoted_list(&names)
}

fn quoted_list(names: &[&str]) -> String {
    let quoted: Vec<String> = names.iter().map(|name| format!("{name:?}")).collect();
    format!("[{}]", quoted.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_names_are_shown_as_people_write_them() {
        let name = HeaderName::from_static("x-content-type-options");
        assert_eq!(display_name(&name), "X-Content-Type-Options");
    }

    #[test]
    fn several_lines_are_joined_in_order() {
        let mut headers = HeaderMap::new();
        let name = HeaderName::from_static("vary");
        headers.append(&name, "Accept".parse().unwrap_or_else(|_| unreachable!()));
        headers.append(&name, "Cookie".parse().unwrap_or_else(|_| unreachable!()));
        assert_eq!(joined(&headers, &name).as_deref(), Some("Accept, Cookie"));
        assert_eq!(joined(&headers, &HeaderName::from_static("x")), None);
    }
}
