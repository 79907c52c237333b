//! Compiled conditions: the boolean tree of a rule's `when` line, with regexes
//! checked (and built on first use), lists turned into sets and CIDR blocks parsed.

use std::sync::Arc;

use super::function::Call;
use super::map::Map;
use super::rule_regex::RuleRegex;
use http::HeaderName;
use ipnet::IpNet;

/// A value of the request that a condition or template can read (spec §4).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Field {
    /// `"https"` or `"http"`, from `X-Forwarded-Proto`.
    Scheme,
    /// The `Host` header, lower-cased, without a port.
    Host,
    /// The request method as sent.
    Method,
    /// The normalized path.
    Path,
    /// The query string without `?`.
    Query,
    /// Path, then `?` and the query when there was one.
    Uri,
    /// The client address as the platform reports it.
    ClientIp,
    /// One request header, lines joined with `", "`.
    Header(HeaderField),
    /// One cookie's value.
    Cookie(String),
    /// The first value of one query parameter, percent-decoded.
    Arg(String),
    /// A function of another field (§15): `lower(path)`.
    Call(Arc<Call>),
    /// The response's status code (response rules only, section 12).
    Status,
    /// One response header, lines joined with `", "` (response rules only).
    ResponseHeader(HeaderName),
    /// The response's media type, lower-cased, without parameters
    /// (response rules only).
    ContentType,
}

impl Field {
    /// Whether the field reads the response, so only `on response` rules
    /// may use it (also through a function: `lower(content_type)`).
    pub fn is_response(&self) -> bool {
        match self {
            Field::Status | Field::ResponseHeader(_) | Field::ContentType => true,
            Field::Call(call) => call.input.is_response(),
            _ => false,
        }
    }
}

/// A compiled `when` condition.
#[derive(Debug, Clone)]
pub enum Condition {
    /// Every member holds (evaluated left to right, short-circuit).
    All(Vec<Condition>),
    /// Some member holds (evaluated left to right, short-circuit).
    Any(Vec<Condition>),
    /// The member does not hold.
    Not(Box<Condition>),
    /// `exists header(…)`, `exists cookie(…)`, `exists arg(…)`.
    Exists(Field),
    /// `field op value`.
    Test(Test),
}

/// One comparison of a field with a value.
#[derive(Debug, Clone)]
pub struct Test {
    /// What is read from the request.
    pub field: Field,
    /// How it is compared.
    pub op: TestOp,
}

/// The comparison of a test, with its operand prepared at compile time.
#[derive(Debug, Clone)]
pub enum TestOp {
    /// `==` (the literal is lower-cased already when the field is `host`).
    Equals(String),
    /// `!=`.
    NotEquals(String),
    /// `~`; `slot` numbers the rule's regexes in source order so templates can
    /// find the captures.
    Matches {
        /// The regex (built on first use).
        regex: RuleRegex,
        /// This regex's slot among the rule's regexes.
        slot: usize,
    },
    /// `!~`.
    NotMatches(RuleRegex),
    /// `^=`.
    StartsWith(String),
    /// `$=`.
    EndsWith(String),
    /// `*=`.
    Contains(String),
    /// `in [ … ]`.
    In(ValueSet),
    /// `not in [ … ]`.
    NotIn(ValueSet),
    /// `in $MAP`: the value is one of the map's keys.
    InMap(Arc<Map>),
    /// `not in $MAP`.
    NotInMap(Arc<Map>),
    /// `status < 500` and the like: the field's value as an integer,
    /// ordered against a bound.
    Ordered(Ordering, u16),
}

/// The ordering operators, for `status`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ordering {
    /// `<`.
    Less,
    /// `<=`.
    LessEq,
    /// `>`.
    Greater,
    /// `>=`.
    GreaterEq,
}

impl Ordering {
    /// Whether `value OP bound` holds.
    pub fn holds(self, value: u16, bound: u16) -> bool {
        match self {
            Ordering::Less => value < bound,
            Ordering::LessEq => value <= bound,
            Ordering::Greater => value > bound,
            Ordering::GreaterEq => value >= bound,
        }
    }

    /// The operator as written.
    pub fn symbol(self) -> &'static str {
        match self {
            Ordering::Less => "<",
            Ordering::LessEq => "<=",
            Ordering::Greater => ">",
            Ordering::GreaterEq => ">=",
        }
    }
}

/// The right-hand side of `in`: strings, plus CIDR blocks for `client_ip`.
#[derive(Debug, Clone, Default)]
pub struct ValueSet {
    /// Exact strings (lower-cased for `host`).
    pub strings: Vec<String>,
    /// Networks, only for `client_ip`; an address inside one is a member.
    pub networks: Vec<IpNet>,
    /// The declared list it came from (`$office`), for `explain`.
    pub list: Option<String>,
}

/// A header's name, compared case-insensitively (as `HeaderName`, lower
/// case) but shown as the author wrote it (`explain` says
/// `header("Accept-Language")`, not `header("accept-language")`).
#[derive(Debug, Clone)]
pub struct HeaderField {
    name: HeaderName,
    written: Box<str>,
}

impl HeaderField {
    /// A header read by a rule, with its name as written.
    pub fn new(name: HeaderName, written: &str) -> Self {
        HeaderField {
            name,
            written: written.into(),
        }
    }

    /// The name for lookups.
    pub fn name(&self) -> &HeaderName {
        &self.name
    }

    /// The name as written in `proxy.conf`.
    pub fn written(&self) -> &str {
        &self.written
    }
}

impl From<HeaderName> for HeaderField {
    /// A header written in lower case (tests and benchmarks).
    fn from(name: HeaderName) -> Self {
        let written = name.as_str().into();
        HeaderField { name, written }
    }
}

impl PartialEq for HeaderField {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name
    }
}

impl Eq for HeaderField {}
