//! Which request headers the response rules read (issue 12's cost): the
//! response phase keeps a copy of only those once the request's head has
//! gone upstream, instead of every header of every request.

use http::HeaderName;
use http::header::COOKIE;

use super::condition::{Condition, Field};
use super::index::template_of;
use super::rule_set::Rule;
use super::template::TemplatePart;

/// The request headers the rules at `at` read, in their conditions or their
/// templates (`header(…)`, `cookie(…)` and functions of them), each once.
pub(crate) fn request_headers_read(rules: &[Rule], at: &[usize]) -> Vec<HeaderName> {
    let mut names = Vec::new();
    for rule in at.iter().filter_map(|&at| rules.get(at)) {
        if let Some(condition) = &rule.condition {
            in_condition(condition, &mut names);
        }
        for template in rule.actions.iter().filter_map(template_of) {
            for part in &template.parts {
                in_part(part, &mut names);
            }
        }
    }
    names
}

fn in_condition(condition: &Condition, names: &mut Vec<HeaderName>) {
    match condition {
        Condition::All(members) | Condition::Any(members) => {
            for member in members {
                in_condition(member, names);
            }
        }
        Condition::Not(inner) => in_condition(inner, names),
        Condition::Exists(field) => in_field(field, names),
        Condition::Test(test) => in_field(&test.field, names),
    }
}

fn in_part(part: &TemplatePart, names: &mut Vec<HeaderName>) {
    match part {
        TemplatePart::Field(field) | TemplatePart::MapValue { field, .. } => in_field(field, names),
        TemplatePart::Call(_, inner) => in_part(inner, names),
        TemplatePart::Literal(_) | TemplatePart::Capture(_) => {}
    }
}

fn in_field(field: &Field, names: &mut Vec<HeaderName>) {
    let name = match field {
        Field::Header(header) => header.name().clone(),
        Field::Cookie(_) => COOKIE,
        Field::Call(call) => return in_field(&call.input, names),
        _ => return,
    };
    if !names.contains(&name) {
        names.push(name);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_come_from_conditions_templates_and_functions_once() {
        let text = r#"
            rule a on request {
                when header("X-Request-Only") == "1"
                response header set X-A "1"
            }
            rule b on response {
                when exists header("Origin") and lower(header("X-Mode")) == "on"
                response header set X-B "{header.Origin} {cookie.session}"
            }
            rule c on response {
                when status == 200
                response header set X-C "{status}"
            }
        "#;
        let set = match crate::config::compile_source("proxy.conf", text.as_bytes()) {
            Ok(compiled) => compiled.rule_set.prepare(),
            Err(invalid) => panic!("{}", invalid.render(false)),
        };
        let names: Vec<&str> = set
            .index()
            .response_reads
            .iter()
            .map(HeaderName::as_str)
            .collect();
        assert_eq!(names, ["origin", "x-mode", "cookie"]);
    }
}
