//! The response gate never changes a result (issue 12's cost): generated
//! response rules over generated responses, each decided with the gate and
//! with an index without it (every rule evaluated, every action built), must
//! agree on the rules that fired, the edits and the answer.

use super::*;
use crate::rules::index::RuleIndex;
use crate::rules::response_gate::Verdict;

/// xorshift64: deterministic, so a failure replays from its seed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }
}

const STATUSES: [&str; 10] = [
    "200", "204", "301", "302", "404", "418", "500", "502", "503", "599",
];
const BOUNDS: [&str; 9] = ["0", "100", "200", "204", "300", "400", "500", "600", "999"];
const MEDIA: [&str; 8] = [
    "text/html",
    "text/plain",
    "image/",
    "image/png",
    "application/json",
    "text",
    "html",
    "",
];

/// One leaf: tests the gate decides (`status`, `content_type`) and tests
/// it leaves open (other fields, regexes, `exists`).
fn leaf(rng: &mut Rng) -> String {
    match rng.below(10) {
        0 | 1 => format!("status {} {}", rng.pick(&["==", "!="]), rng.pick(&STATUSES)),
        2 => format!(
            "status {} {}",
            rng.pick(&["<", "<=", ">", ">="]),
            rng.pick(&BOUNDS)
        ),
        3 => {
            let first = rng.below(5);
            format!(
                "status {} [{}, {}]",
                rng.pick(&["in", "not in"]),
                STATUSES[first],
                STATUSES[5 + rng.below(5)]
            )
        }
        4 | 5 => format!(
            "content_type {} \"{}\"",
            rng.pick(&["==", "!=", "^=", "$=", "*="]),
            rng.pick(&MEDIA)
        ),
        6 => format!(
            "content_type {} [\"{}\", \"{}\"]",
            rng.pick(&["in", "not in"]),
            MEDIA[rng.below(4)],
            MEDIA[4 + rng.below(4)]
        ),
        7 => format!(
            "content_type {} \"{}\"",
            rng.pick(&["~", "!~"]),
            rng.pick(&["^(text|image)/", "json$", "^$"])
        ),
        8 => rng
            .pick(&[
                "response_header(\"X-A\") == \"1\"",
                "exists response_header(\"X-A\")",
                "response_header(\"X-A\") ~ \"^$\"",
            ])
            .to_owned(),
        _ => rng
            .pick(&[
                "header(\"X-R\") == \"1\"",
                "path ^= \"/a\"",
                "status == 200",
            ])
            .to_owned(),
    }
}

fn condition(rng: &mut Rng, depth: usize) -> String {
    if depth == 0 || rng.below(3) == 0 {
        return leaf(rng);
    }
    match rng.below(3) {
        0 => format!(
            "({} and {})",
            condition(rng, depth - 1),
            condition(rng, depth - 1)
        ),
        1 => format!(
            "({} or {})",
            condition(rng, depth - 1),
            condition(rng, depth - 1)
        ),
        _ => format!("not ({})", condition(rng, depth - 1)),
    }
}

/// A rule set of response rules (and one request rule) in `proxy.conf` text.
fn rule_set_text(rng: &mut Rng) -> String {
    let mut text = String::from("rule mark {\n    response header set X-Req \"1\"\n}\n");
    for n in 0..2 + rng.below(8) {
        text.push_str(&format!("rule r{n} on response {{\n"));
        let groups = rng.below(6) == 0;
        match (groups, rng.below(8)) {
            (true, _) => text.push_str(&format!(
                "    when content_type ~ \"^(?<kind>[a-z]+)/\" and {}\n",
                condition(rng, 2)
            )),
            (false, 0) => {}
            (false, _) => text.push_str(&format!("    when {}\n", condition(rng, 3))),
        }
        let value = if groups {
            "{kind}".to_owned()
        } else {
            rng.pick(&["v", "{status} {content_type}", "{path}"])
                .to_owned()
        };
        let verb = rng.pick(&["set", "add", "default"]);
        text.push_str(&format!("    response header {verb} X-R{n} \"{value}\"\n"));
        match rng.below(12) {
            0 => text.push_str(&format!("    respond 503 \"r{n}\"\n")),
            1 => text.push_str(&format!("    redirect 302 \"/r{n}\"\n")),
            2 => text.push_str("    stop\n"),
            _ => {}
        }
        text.push_str("}\n");
    }
    text
}

fn response_headers(rng: &mut Rng) -> HeaderMap {
    let mut headers = HeaderMap::new();
    let content_type: &[u8] = match rng.below(10) {
        0 => return headers,
        1 => b"Text/HTML; charset=utf-8",
        2 => b" image/png ",
        3 => b"TEXT/plain;x=y",
        4 => b"text/\xff",
        _ => rng.pick(&MEDIA).as_bytes(),
    };
    headers.insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_bytes(content_type).unwrap(),
    );
    if rng.below(2) == 0 {
        headers.insert("x-a", HeaderValue::from_static("1"));
    }
    headers
}

fn status(rng: &mut Rng) -> StatusCode {
    let code = match rng.below(3) {
        0 => 100 + rng.below(900) as u16,
        _ => rng.pick(&STATUSES).parse().unwrap(),
    };
    StatusCode::from_u16(code).unwrap()
}

#[test]
fn the_gate_decides_exactly_as_evaluating_every_rule() {
    let mut rng = Rng(0x5eed_2026_1202);
    let (mut skipped, mut fired_unread, mut runs, mut prebuilt) = (0, 0, 0, 0);
    for round in 0..150 {
        let text = rule_set_text(&mut rng);
        let set = match crate::config::compile_source("proxy.conf", text.as_bytes()) {
            Ok(compiled) => compiled.rule_set.prepare(),
            Err(invalid) => panic!("{}\n{text}", invalid.render(false)),
        };
        let reference = RuleIndex::build_unindexed(&set.rules);
        prebuilt += set
            .index()
            .plans
            .iter()
            .filter(|plan| plan.literal_edits.is_some())
            .count();
        let gate = set.index().response_gate.as_ref().unwrap();
        for _ in 0..60 {
            let headers = response_headers(&mut rng);
            let status = status(&mut rng);
            let target = rng.pick(&["/a", "/b?x=1"]);
            let x_r = rng.pick(&["1", "0"]);
            let parts = request(target, &[("host", "h.test"), ("x-r", x_r)]);
            let facts = RequestFacts::from_parts(&parts, IpAddr::from([192, 0, 2, 1])).unwrap();
            let reader = FieldReader::with_response(
                &facts,
                ResponseFacts {
                    status,
                    headers: &headers,
                },
            );
            let run = |index: &RuleIndex| {
                let mut lists = PhaseLists {
                    fired: vec![0],
                    edits: Vec::new(),
                };
                let replaced =
                    run_response_with(&set, index, &reader, Some("q=1"), &mut NoTrace, &mut lists);
                (lists.fired, lists.edits, replaced)
            };
            assert_eq!(
                run(set.index()),
                run(&reference),
                "round {round}: {status} {headers:?}\n{text}"
            );
            let verdicts = gate.verdicts(&reader).unwrap();
            skipped += verdicts.iter().filter(|v| **v == Verdict::Never).count();
            fired_unread += verdicts.iter().filter(|v| **v == Verdict::Always).count();
            runs += verdicts.len();
        }
    }
    // The comparison means something only if the gate decided many rules
    // (and some fired rules added edits built once, `RulePlan::literal_edits`).
    assert!(prebuilt > 100, "{prebuilt} rules with edits built once");
    assert!(
        skipped * 5 > runs && fired_unread * 10 > runs,
        "{skipped} never, {fired_unread} always of {runs}"
    );
}
