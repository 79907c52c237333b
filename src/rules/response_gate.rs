//! The response rules' gate on the response head (issue 12's cost): what
//! each response rule's condition comes to once the response's `status` and
//! `content_type` are known, worked out when the rule set is prepared for
//! every kind of head, so the response phase skips a rule that cannot fire
//! (`status >= 500` on a 200, `content_type == "text/html"` on a
//! `text/plain` answer), fires one that must (`status < 400` on a 200)
//! without reading a field, and evaluates only the rest.
//!
//! A kind of status is a set of statuses on which every `status` test of the
//! response rules agrees; a kind of media type is the set of `content_type`
//! tests it passes (one bit each, decided per response by the matcher). The
//! verdicts come from three-valued logic over the condition (a test on any
//! other field is unknown), which is sound: a verdict of "never" or "always"
//! holds whatever the other fields are. `explain` (a recording observer)
//! does not use the gate: it visits every rule to say why.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr};

use http::{HeaderMap, StatusCode};

use super::condition::{Condition, Field, TestOp};
use super::field::{FieldReader, ResponseFacts};
use super::matcher::Matcher;
use super::request::{RequestFacts, Scheme};
use super::rule_set::Rule;
use super::trace::NoTrace;

/// The statuses `StatusCode` can carry: 100 to 999 (below 100 unused).
const STATUSES: u16 = 1000;
/// At most this many `content_type` tests are decided by the gate; later
/// ones are left to evaluation.
const MEDIA_TESTS: usize = 8;
/// The most entries (kinds of status × kinds of media type) the table holds.
const TABLE_CAP: usize = 4096;
/// The most verdicts worked out when the rule set is prepared (table
/// entries × response rules), so a large rule set stays quick to load:
/// fewer `content_type` tests are decided by the gate instead.
const FOLD_CAP: usize = 1 << 20;

/// What the response phase does with one rule for one kind of head.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Verdict {
    /// The condition cannot hold: the rule is skipped.
    Never,
    /// The condition holds whatever the other fields are: the rule fires
    /// without evaluating it (never given to a rule whose templates read
    /// regex groups, which only evaluation fills).
    Always,
    /// It depends on other fields: the condition is evaluated.
    Evaluate,
}

/// The verdicts of every response rule for every kind of head.
#[derive(Debug, Clone)]
pub(crate) struct ResponseGate {
    /// Each status's kind, by status.
    status_kinds: Box<[u16]>,
    /// The `content_type` tests the gate decides, each one bit of the media
    /// type's kind (copies of the rules' comparisons).
    media_tests: Vec<TestOp>,
    /// By `status kind << media_tests.len() | media kind`: a row of `rows`.
    table: Box<[u16]>,
    /// Verdicts by response rule, in `response_rules` order; rows repeat
    /// across kinds, so each distinct one is kept once.
    rows: Vec<Box<[Verdict]>>,
}

impl ResponseGate {
    /// The gate of the rules at `at` (the response rules, in file order);
    /// `reads_groups(at)` says whether a rule's templates read regex groups.
    pub(crate) fn build(
        rules: &[Rule],
        at: &[usize],
        reads_groups: impl Fn(usize) -> bool,
    ) -> Self {
        let mut leaves = Leaves::default();
        let shapes: Vec<Option<Shape>> = at
            .iter()
            .map(|&at| {
                let condition = rules.get(at)?.condition.as_ref()?;
                Some(leaves.shape(condition))
            })
            .collect();
        let (status_kinds, kind_keys) = status_kinds(&leaves.status);
        let kinds = kind_keys.len().max(1);
        let rule_count = at.len().max(1);
        let mut bits = leaves.media.len();
        while bits > 0 && (kinds << bits > TABLE_CAP || (kinds << bits) * rule_count > FOLD_CAP) {
            bits -= 1;
        }
        leaves.media.truncate(bits);
        let mut rows: Vec<Box<[Verdict]>> = Vec::new();
        let mut row_of: HashMap<Box<[Verdict]>, u16> = HashMap::new();
        let mut table = Vec::with_capacity(kinds << bits);
        for key in &kind_keys {
            for media in 0..1u32 << bits {
                let head = Head {
                    status: key,
                    media,
                    media_bits: bits,
                };
                let row: Box<[Verdict]> = shapes
                    .iter()
                    .zip(at)
                    .map(|(shape, &at)| {
                        let known = shape.as_ref().map_or(Known::Yes, |shape| head.fold(shape));
                        match known {
                            Known::No => Verdict::Never,
                            Known::Yes if !reads_groups(at) => Verdict::Always,
                            Known::Yes | Known::Open => Verdict::Evaluate,
                        }
                    })
                    .collect();
                let next = u16::try_from(rows.len()).unwrap_or(u16::MAX);
                let id = *row_of.entry(row.clone()).or_insert_with(|| {
                    rows.push(row);
                    next
                });
                table.push(id);
            }
        }
        ResponseGate {
            status_kinds,
            media_tests: leaves.media,
            table: table.into(),
            rows,
        }
    }

    /// The verdicts for the response `reader` reads, in `response_rules`
    /// order; `None` (evaluate every rule) for a reader without a response.
    pub(crate) fn verdicts(&self, reader: &FieldReader<'_>) -> Option<&[Verdict]> {
        let status = reader.status()?;
        let kind = usize::from(*self.status_kinds.get(usize::from(status))?);
        let media_type = reader.content_type();
        let mut media = 0;
        for (bit, op) in self.media_tests.iter().enumerate() {
            if media_holds(op, media_type) {
                media |= 1 << bit;
            }
        }
        let row = *self.table.get((kind << self.media_tests.len()) | media)?;
        self.rows.get(usize::from(row)).map(|row| &row[..])
    }
}

/// The `status` and `content_type` leaves of the response rules' conditions.
#[derive(Default)]
struct Leaves {
    status: Vec<Condition>,
    media: Vec<TestOp>,
}

/// A condition with each leaf resolved to what decides it.
enum Shape {
    All(Vec<Shape>),
    Any(Vec<Shape>),
    Not(Box<Shape>),
    /// The status test at this number in `Leaves::status`.
    Status(usize),
    /// The `content_type` test at this number in `Leaves::media`.
    Media(usize),
    /// Decided per response only (any other field, `exists`, a regex
    /// whose groups a template reads).
    Open,
}

impl Leaves {
    fn shape(&mut self, condition: &Condition) -> Shape {
        let test = match condition {
            Condition::All(members) => {
                return Shape::All(members.iter().map(|m| self.shape(m)).collect());
            }
            Condition::Any(members) => {
                return Shape::Any(members.iter().map(|m| self.shape(m)).collect());
            }
            Condition::Not(inner) => return Shape::Not(Box::new(self.shape(inner))),
            Condition::Exists(_) => return Shape::Open,
            Condition::Test(test) => test,
        };
        // A regex that captures is evaluated, whatever its field: a
        // template may read its groups (the matcher keeps them only then).
        if matches!(test.op, TestOp::Matches { .. }) {
            return Shape::Open;
        }
        match test.field {
            Field::Status => {
                self.status.push(condition.clone());
                Shape::Status(self.status.len() - 1)
            }
            Field::ContentType if is_media_op(&test.op) && self.media.len() < MEDIA_TESTS => {
                self.media.push(test.op.clone());
                Shape::Media(self.media.len() - 1)
            }
            _ => Shape::Open,
        }
    }
}

/// The comparisons of a `content_type` test that the gate decides itself:
/// those that read nothing but the value.
fn is_media_op(op: &TestOp) -> bool {
    matches!(
        op,
        TestOp::Equals(_)
            | TestOp::NotEquals(_)
            | TestOp::StartsWith(_)
            | TestOp::EndsWith(_)
            | TestOp::Contains(_)
            | TestOp::In(_)
            | TestOp::NotIn(_)
            | TestOp::InMap(_)
            | TestOp::NotInMap(_)
    )
}

/// Whether a media type (UTF-8 bytes) passes one of those comparisons, as
/// the matcher decides it on the text for a field other than `client_ip`
/// (the property tests compare the two); any other comparison is never
/// asked.
fn media_holds(op: &TestOp, value: &[u8]) -> bool {
    let text = || std::str::from_utf8(value).unwrap_or("");
    match op {
        TestOp::Equals(operand) => value == operand.as_bytes(),
        TestOp::NotEquals(operand) => value != operand.as_bytes(),
        TestOp::StartsWith(operand) => value.starts_with(operand.as_bytes()),
        TestOp::EndsWith(operand) => value.ends_with(operand.as_bytes()),
        TestOp::Contains(operand) => text().contains(operand.as_str()),
        TestOp::In(set) => set.strings.iter().any(|s| s.as_bytes() == value),
        TestOp::NotIn(set) => !set.strings.iter().any(|s| s.as_bytes() == value),
        TestOp::InMap(map) => map.contains(text()),
        TestOp::NotInMap(map) => !map.contains(text()),
        _ => false,
    }
}

/// Each status's kind, and for each kind the results of the status tests
/// (decided by the matcher itself, on a response with that status).
fn status_kinds(tests: &[Condition]) -> (Box<[u16]>, Vec<Vec<bool>>) {
    let headers = HeaderMap::new();
    let facts = RequestFacts {
        scheme: Scheme::Http,
        host: String::new(),
        method: "GET",
        path: "/".into(),
        query: None,
        client_ip: IpAddr::V4(Ipv4Addr::UNSPECIFIED),
        headers: &headers,
    };
    let mut keys: Vec<Vec<bool>> = Vec::new();
    let mut kind_of: HashMap<Vec<bool>, u16> = HashMap::new();
    let kinds = (0..STATUSES)
        .map(|status| {
            let key: Vec<bool> = match StatusCode::from_u16(status) {
                Ok(status) => {
                    let response = ResponseFacts {
                        status,
                        headers: &headers,
                    };
                    let reader = FieldReader::with_response(&facts, response);
                    let mut matcher = Matcher {
                        reader: &reader,
                        wanted: &[],
                        slots: Vec::new(),
                        observer: &mut NoTrace,
                    };
                    tests
                        .iter()
                        .map(|test| matcher.holds(test, false))
                        .collect()
                }
                // Below 100: no response has it; any kind will do.
                Err(_) => vec![false; tests.len()],
            };
            let next = u16::try_from(keys.len()).unwrap_or(u16::MAX);
            *kind_of.entry(key.clone()).or_insert_with(|| {
                keys.push(key);
                next
            })
        })
        .collect();
    (kinds, keys)
}

/// A condition's value with some leaves known (Kleene's logic).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Known {
    Yes,
    No,
    Open,
}

/// One kind of head: the status tests' results and the media type's bits.
struct Head<'k> {
    status: &'k [bool],
    media: u32,
    media_bits: usize,
}

impl Head<'_> {
    fn fold(&self, shape: &Shape) -> Known {
        match shape {
            Shape::All(members) => {
                let mut all = Known::Yes;
                for member in members {
                    match self.fold(member) {
                        Known::No => return Known::No,
                        Known::Open => all = Known::Open,
                        Known::Yes => {}
                    }
                }
                all
            }
            Shape::Any(members) => {
                let mut any = Known::No;
                for member in members {
                    match self.fold(member) {
                        Known::Yes => return Known::Yes,
                        Known::Open => any = Known::Open,
                        Known::No => {}
                    }
                }
                any
            }
            Shape::Not(inner) => match self.fold(inner) {
                Known::Yes => Known::No,
                Known::No => Known::Yes,
                Known::Open => Known::Open,
            },
            Shape::Status(at) => match self.status.get(*at) {
                Some(true) => Known::Yes,
                Some(false) => Known::No,
                None => Known::Open,
            },
            Shape::Media(bit) if *bit < self.media_bits => match self.media >> bit & 1 {
                1 => Known::Yes,
                _ => Known::No,
            },
            Shape::Media(_) | Shape::Open => Known::Open,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::ServedRules;

    fn served(text: &str) -> ServedRules {
        match crate::config::compile_source("proxy.conf", text.as_bytes()) {
            Ok(compiled) => compiled.rule_set.prepare(),
            Err(invalid) => panic!("{}", invalid.render(false)),
        }
    }

    /// The verdicts for a response with this status and `Content-Type`.
    fn verdicts(set: &ServedRules, status: u16, content_type: Option<&str>) -> Vec<Verdict> {
        let request = http::Request::get("/")
            .header("host", "h.test")
            .body(())
            .expect("request")
            .into_parts()
            .0;
        let facts =
            RequestFacts::from_parts(&request, IpAddr::V4(Ipv4Addr::LOCALHOST)).expect("facts");
        let mut headers = HeaderMap::new();
        if let Some(value) = content_type {
            headers.insert(
                http::header::CONTENT_TYPE,
                value.parse().expect("a header value"),
            );
        }
        let response = ResponseFacts {
            status: StatusCode::from_u16(status).expect("a status"),
            headers: &headers,
        };
        let reader = FieldReader::with_response(&facts, response);
        let gate = set.index().response_gate.as_ref().expect("a gate");
        gate.verdicts(&reader).expect("verdicts").to_vec()
    }

    use Verdict::{Always, Evaluate, Never};

    #[test]
    fn status_tests_decide_by_kind_of_status() {
        let set = served(
            r#"
            rule errors on response {
                when status >= 500 and status < 600
                response header set X-Error "{status}"
            }
            rule listed on response {
                when status in [502, 504] or status == 404
                response header set X-A "1"
            }
            rule unrelated on response {
                when response_header("X-B") == "1" or not status == 200
                response header set X-C "1"
            }
            rule always on response {
                response header set X-D "1"
            }
            "#,
        );
        assert_eq!(verdicts(&set, 200, None), [Never, Never, Evaluate, Always]);
        assert_eq!(verdicts(&set, 502, None), [Always, Always, Always, Always]);
        assert_eq!(verdicts(&set, 503, None), [Always, Never, Always, Always]);
        assert_eq!(verdicts(&set, 404, None), [Never, Always, Always, Always]);
        assert_eq!(verdicts(&set, 600, None), [Never, Never, Always, Always]);
        assert_eq!(verdicts(&set, 499, None), [Never, Never, Always, Always]);
    }

    #[test]
    fn media_type_tests_decide_by_kind_of_media_type() {
        // The bench's ten response rules (bench/conf/response_rules.conf).
        let set = served(include_str!("../../bench/conf/response_rules.conf"));
        // For its 200 text/plain answers only `https-locations` (a response
        // header) is evaluated; three fire unread; six are skipped.
        assert_eq!(
            verdicts(&set, 200, Some("text/plain")),
            [
                Never, Always, Evaluate, Never, Never, Never, Never, Always, Never, Always
            ]
        );
        assert_eq!(
            verdicts(&set, 200, Some("Image/PNG; q=1")),
            [
                Always, Never, Evaluate, Never, Never, Never, Never, Always, Never, Always
            ]
        );
        // `cors-json` reads a request header as well.
        assert_eq!(
            verdicts(&set, 503, Some("application/json")),
            [
                Never, Never, Evaluate, Always, Always, Never, Evaluate, Always, Never, Never
            ]
        );
        assert_eq!(
            verdicts(&set, 404, None),
            [
                Never, Never, Evaluate, Never, Never, Always, Never, Always, Never, Never
            ]
        );
    }

    #[test]
    fn a_rule_whose_templates_read_groups_is_evaluated_not_fired_unread() {
        let set = served(
            r#"
            rule kind on response {
                when content_type ~ "^(?<kind>[a-z]+)/" and status == 200
                response header set X-Kind "{kind}"
            }
            rule typed on response {
                when content_type !~ "^image/" and status == 200
                response header set X-Typed "1"
            }
            "#,
        );
        assert_eq!(verdicts(&set, 200, Some("text/html")), [Evaluate, Evaluate]);
        assert_eq!(verdicts(&set, 201, Some("text/html")), [Never, Never]);
    }

    #[test]
    fn media_tests_past_the_limit_are_left_to_evaluation() {
        let mut text = String::new();
        for n in 0..MEDIA_TESTS + 2 {
            text.push_str(&format!(
                "rule r{n} on response {{\n when content_type == \"t/{n}\"\n response header set X-R \"{n}\"\n}}\n"
            ));
        }
        let set = served(&text);
        let row = verdicts(&set, 200, Some("t/1"));
        let decided: Vec<Verdict> = (0..MEDIA_TESTS)
            .map(|n| if n == 1 { Always } else { Never })
            .collect();
        assert_eq!(row[..MEDIA_TESTS], decided[..]);
        assert_eq!(row[MEDIA_TESTS..], [Evaluate, Evaluate]);
    }

    #[test]
    fn a_large_rule_set_keeps_the_table_and_its_build_bounded() {
        // 300 rules, 40 kinds of status, eight media tests: 40 × 256 × 300
        // verdicts would pass the build's limit, so fewer media tests are
        // decided by the gate.
        let mut text = String::new();
        for n in 0..300 {
            let status = 200 + (n % 40) * 5;
            let media = n % 8;
            text.push_str(&format!(
                "rule r{n} on response {{\n when status == {status} and content_type == \"t/{media}\"\n response header set X-R \"{n}\"\n}}\n"
            ));
        }
        let set = served(&text);
        let gate = set.index().response_gate.as_ref().expect("a gate");
        assert!(gate.table.len() <= TABLE_CAP);
        assert!(gate.table.len() * 300 <= FOLD_CAP);
        assert!(gate.media_tests.len() < MEDIA_TESTS);
        let row = verdicts(&set, 200, Some("t/0"));
        assert_eq!(row.first(), Some(&Always));
        assert!(row.iter().skip(1).all(|v| *v != Always));
    }
}
