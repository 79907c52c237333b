//! What evaluation can report as it runs, for `explain`: the one evaluator
//! takes an `Observer`; the server passes `NoTrace` (every call compiles to
//! nothing) and `evaluate_traced` passes a `Recorder` that keeps, per rule,
//! whether it fired, the first comparison that failed, and the captures.

use std::fmt;

use http::HeaderName;
use regex::{CaptureLocations, Regex};
use serde::Serialize;

use super::condition::{Field, Test, TestOp};
use super::map::Map;

/// A leaf of a condition that was evaluated.
#[derive(Debug, Clone, Copy)]
pub enum Leaf<'c> {
    /// `field op value`.
    Test(&'c Test),
    /// `exists field`.
    Exists(&'c Field),
}

/// Receives the steps of one evaluation.
pub trait Observer {
    /// Whether the observer records anything. When it does, every regex of a
    /// reached rule reports its groups (not only those a template reads) and
    /// the rules the index ruled out are reported too; when it does not, the
    /// evaluator compiles to the plain fast path.
    const RECORDS: bool;
    /// A rule is about to be evaluated.
    fn rule_start(&mut self, rule: usize);
    /// A leaf was evaluated on `value`; `negated` when it sits under an odd
    /// number of `not`s. `by_index` when the rule index decided it.
    fn leaf(&mut self, leaf: Leaf<'_>, value: &str, held: bool, negated: bool, by_index: bool);
    /// A position in the failures recorded so far, taken before an `and` or
    /// `or` is decided.
    fn mark(&mut self) -> usize;
    /// Forgets the failures recorded since `mark`: the group they were in
    /// did not make the condition false (an `or` that held, say).
    fn rollback(&mut self, mark: usize);
    /// A `~` matched: its groups.
    fn captured(
        &mut self,
        slot: usize,
        regex: &Regex,
        haystack: &str,
        locations: &CaptureLocations,
    );
    /// The rule's condition was decided.
    fn rule_end(&mut self, rule: usize, fired: bool);
    /// A header action was skipped because its value was not a valid header value.
    fn header_skipped(&mut self, name: &HeaderName, text: &str);
    /// An action was skipped because its template expanded past 64 KiB.
    fn skipped(&mut self, action: &str, why: &str);
    /// An `in $MAP` found `key` among the map's keys.
    #[inline(always)]
    fn looked_up(&mut self, _map: &Map, _key: &str) {}
}

/// The observer of the server: records nothing.
pub struct NoTrace;

impl Observer for NoTrace {
    const RECORDS: bool = false;
    #[inline(always)]
    fn rule_start(&mut self, _: usize) {}
    #[inline(always)]
    fn leaf(&mut self, _: Leaf<'_>, _: &str, _: bool, _: bool, _: bool) {}
    #[inline(always)]
    fn mark(&mut self) -> usize {
        0
    }
    #[inline(always)]
    fn rollback(&mut self, _: usize) {}
    #[inline(always)]
    fn captured(&mut self, _: usize, _: &Regex, _: &str, _: &CaptureLocations) {}
    #[inline(always)]
    fn rule_end(&mut self, _: usize, _: bool) {}
    #[inline(always)]
    fn header_skipped(&mut self, _: &HeaderName, _: &str) {}
    #[inline(always)]
    fn skipped(&mut self, _: &str, _: &str) {}
}

/// What happened to each rule of one evaluation, in file order.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Trace {
    /// One entry per rule of the rule set.
    pub rules: Vec<RuleTrace>,
}

/// What happened to one rule.
#[derive(Debug, Clone, Serialize)]
pub struct RuleTrace {
    /// The rule's name.
    pub name: String,
    /// Fired, not fired, or not reached.
    pub status: RuleStatus,
    /// For a rule whose condition was decided false: the first comparison
    /// that made it so (one inside an `or` that held does not count).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failed: Option<FailedComparison>,
    /// The groups of each `~` that matched, in order.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub captures: Vec<CaptureTrace>,
    /// Header actions skipped because their value expanded to invalid text.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub skipped_headers: Vec<String>,
    /// The keys each `in $MAP` found, and their values, in order.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub lookups: Vec<MapLookup>,
}

/// One key an `in $MAP` found, and what `{$MAP}` expands to.
#[derive(Debug, Clone, Serialize)]
pub struct MapLookup {
    /// The map's name.
    pub map: String,
    /// The key (the field's value).
    pub key: String,
    /// The key's value.
    pub value: String,
}

/// Whether a rule fired.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RuleStatus {
    /// The condition held; its actions applied.
    Fired,
    /// The condition did not hold.
    NotFired,
    /// An earlier rule answered the request; this one was never evaluated.
    NotReached,
    /// An `on response` rule, not run: the next hop's answer was not given.
    DependsOnResponse,
}

/// A comparison that was false.
#[derive(Debug, Clone, Serialize)]
pub struct FailedComparison {
    /// The comparison as written (`path ^= "/api/"`, `not client_ip in […]`).
    pub comparison: String,
    /// The field it read (`path`).
    pub field: String,
    /// The field's value for this request.
    pub value: String,
    /// Whether the rule index ruled the rule out (its regex ran in the
    /// shared `RegexSet`, not on its own).
    pub by_index: bool,
}

/// One capture group of a matched regex.
#[derive(Debug, Clone, Serialize)]
pub struct CaptureTrace {
    /// The regex's slot in its rule.
    pub slot: usize,
    /// The group number (0 is the whole match).
    pub group: usize,
    /// The group's name, when it has one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The text, or `None` when the group took no part in the match.
    pub value: Option<String>,
}

/// The observer of `explain`: builds a `Trace`.
pub struct Recorder {
    trace: Trace,
    current: Option<usize>,
    /// The false comparisons of the current rule that still count.
    failures: Vec<FailedComparison>,
}

impl Recorder {
    /// A recorder for a rule set whose rule names are given in order; every
    /// rule starts as not reached.
    pub fn new<'n>(names: impl Iterator<Item = &'n str>) -> Self {
        let rules = names
            .map(|name| RuleTrace {
                name: name.to_owned(),
                status: RuleStatus::NotReached,
                failed: None,
                captures: Vec::new(),
                skipped_headers: Vec::new(),
                lookups: Vec::new(),
            })
            .collect();
        Recorder {
            trace: Trace { rules },
            current: None,
            failures: Vec::new(),
        }
    }

    /// Marks the given rules as depending on a response that was not
    /// described (`explain` without `--status`).
    pub fn depends_on_response(&mut self, rules: &[usize]) {
        for &at in rules {
            if let Some(entry) = self.trace.rules.get_mut(at) {
                entry.status = RuleStatus::DependsOnResponse;
            }
        }
    }

    /// The trace recorded.
    pub fn finish(self) -> Trace {
        self.trace
    }

    fn rule(&mut self) -> Option<&mut RuleTrace> {
        self.current.and_then(|at| self.trace.rules.get_mut(at))
    }
}

impl Observer for Recorder {
    const RECORDS: bool = true;

    fn rule_start(&mut self, rule: usize) {
        self.current = Some(rule);
        self.failures.clear();
    }

    fn leaf(&mut self, leaf: Leaf<'_>, value: &str, held: bool, negated: bool, by_index: bool) {
        if held != negated {
            return;
        }
        let (field, text) = match leaf {
            Leaf::Test(test) => (&test.field, TestText(test).to_string()),
            Leaf::Exists(field) => (field, format!("exists {}", FieldText(field))),
        };
        self.failures.push(FailedComparison {
            comparison: if negated { format!("not {text}") } else { text },
            field: FieldText(field).to_string(),
            value: value.to_owned(),
            by_index,
        });
    }

    fn mark(&mut self) -> usize {
        self.failures.len()
    }

    fn rollback(&mut self, mark: usize) {
        self.failures.truncate(mark);
    }

    fn captured(
        &mut self,
        slot: usize,
        regex: &Regex,
        haystack: &str,
        locations: &CaptureLocations,
    ) {
        let Some(rule) = self.rule() else { return };
        for (group, name) in regex.capture_names().enumerate() {
            rule.captures.push(CaptureTrace {
                slot,
                group,
                name: name.map(str::to_owned),
                value: locations
                    .get(group)
                    .and_then(|(start, end)| haystack.get(start..end))
                    .map(str::to_owned),
            });
        }
    }

    fn rule_end(&mut self, rule: usize, fired: bool) {
        let first_failure = std::mem::take(&mut self.failures).into_iter().next();
        if let Some(entry) = self.trace.rules.get_mut(rule) {
            entry.status = if fired {
                entry.failed = None;
                RuleStatus::Fired
            } else {
                entry.failed = first_failure;
                entry.captures.clear();
                entry.lookups.clear();
                RuleStatus::NotFired
            };
        }
    }

    fn header_skipped(&mut self, name: &HeaderName, text: &str) {
        if let Some(rule) = self.rule() {
            rule.skipped_headers.push(format!("{name}: {text:?}"));
        }
    }

    fn skipped(&mut self, action: &str, why: &str) {
        if let Some(rule) = self.rule() {
            rule.skipped_headers.push(format!("{action}: {why}"));
        }
    }

    fn looked_up(&mut self, map: &Map, key: &str) {
        if let Some(rule) = self.rule() {
            rule.lookups.push(MapLookup {
                map: map.name().to_owned(),
                key: key.to_owned(),
                value: map.get(key).unwrap_or_default().to_owned(),
            });
        }
    }
}

/// A field as written in `proxy.conf`.
pub struct FieldText<'a>(pub &'a Field);

impl fmt::Display for FieldText<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Field::Scheme => f.write_str("scheme"),
            Field::Host => f.write_str("host"),
            Field::Method => f.write_str("method"),
            Field::Path => f.write_str("path"),
            Field::Query => f.write_str("query"),
            Field::Uri => f.write_str("uri"),
            Field::ClientIp => f.write_str("client_ip"),
            Field::Header(name) => write!(f, "header({})", Quoted(name.written())),
            Field::Cookie(name) => write!(f, "cookie({})", Quoted(name)),
            Field::Arg(name) => write!(f, "arg({})", Quoted(name)),
            Field::Call(call) => write!(f, "{call}"),
            Field::Status => f.write_str("status"),
            Field::ResponseHeader(name) => write!(f, "response_header({})", Quoted(name.as_str())),
            Field::ContentType => f.write_str("content_type"),
        }
    }
}

/// A comparison as written in `proxy.conf`.
pub struct TestText<'a>(pub &'a Test);

impl fmt::Display for TestText<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let field = FieldText(&self.0.field);
        if self.0.field == Field::Status {
            // A number: written bare, as in `proxy.conf`.
            match &self.0.op {
                TestOp::Equals(text) => return write!(f, "{field} == {text}"),
                TestOp::NotEquals(text) => return write!(f, "{field} != {text}"),
                TestOp::In(set) | TestOp::NotIn(set) => {
                    let op = if matches!(self.0.op, TestOp::In(_)) {
                        "in"
                    } else {
                        "not in"
                    };
                    return write!(f, "{field} {op} [{}]", set.strings.join(", "));
                }
                _ => {}
            }
        }
        match &self.0.op {
            TestOp::Equals(text) => write!(f, "{field} == {}", Quoted(text)),
            TestOp::NotEquals(text) => write!(f, "{field} != {}", Quoted(text)),
            TestOp::Matches { regex, .. } => write!(f, "{field} ~ {}", Quoted(regex.as_str())),
            TestOp::NotMatches(regex) => write!(f, "{field} !~ {}", Quoted(regex.as_str())),
            TestOp::StartsWith(text) => write!(f, "{field} ^= {}", Quoted(text)),
            TestOp::EndsWith(text) => write!(f, "{field} $= {}", Quoted(text)),
            TestOp::Contains(text) => write!(f, "{field} *= {}", Quoted(text)),
            TestOp::Ordered(order, bound) => write!(f, "{field} {} {bound}", order.symbol()),
            TestOp::InMap(map) => write!(f, "{field} in ${}", map.name()),
            TestOp::NotInMap(map) => write!(f, "{field} not in ${}", map.name()),
            TestOp::In(set) | TestOp::NotIn(set) => {
                let op = if matches!(self.0.op, TestOp::In(_)) {
                    "in"
                } else {
                    "not in"
                };
                if let Some(list) = &set.list {
                    return write!(f, "{field} {op} ${list}");
                }
                write!(f, "{field} {op} [")?;
                let networks = set.networks.iter().map(ToString::to_string);
                let entries: Vec<String> = set.strings.iter().cloned().chain(networks).collect();
                for (at, entry) in entries.iter().enumerate() {
                    if at > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{}", Quoted(entry))?;
                }
                f.write_str("]")
            }
        }
    }
}

/// A string literal as `proxy.conf` writes it (backslashes are kept as they
/// are, like the language does).
pub struct Quoted<'a>(pub &'a str);

impl fmt::Display for Quoted<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("\"")?;
        for ch in self.0.chars() {
            match ch {
                '"' => f.write_str("\\\"")?,
                '\n' => f.write_str("\\n")?,
                '\t' => f.write_str("\\t")?,
                other if other.is_control() => write!(f, "\\u{{{:x}}}", u32::from(other))?,
                other => write!(f, "{other}")?,
            }
        }
        f.write_str("\"")
    }
}
