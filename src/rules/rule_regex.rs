//! A rule's regular expression, checked when the config is compiled and
//! built for matching only when a request first needs it. A config of a
//! thousand regex redirects keeps a thousand patterns, not a thousand
//! compiled programs: the rule index's `RegexSet` tells which rule can
//! match, and only a rule that matched builds its own regex (for its
//! captures). The regexes that every request runs (those of rules without
//! an index gate) are built with the rule set, off the serving path.

use std::fmt;
use std::sync::{Arc, OnceLock};

use regex::{Regex, RegexBuilder};
use regex_automata::nfa::thompson::{self, WhichCaptures};
use regex_automata::util::look::LookMatcher;
use regex_automata::util::primitives::PatternID;
use regex_automata::util::syntax;

/// The largest compiled program one regex may have (bytes), so no pattern can
/// make the proxy slow to load or large in memory.
pub(crate) const REGEX_SIZE_LIMIT: usize = 1 << 20;
/// The deepest nesting a pattern may have.
pub(crate) const REGEX_NEST_LIMIT: u32 = 64;

/// The one way a rule's regex is built, so the pattern checked at compile
/// time is the program that later runs.
pub(crate) fn build_regex(pattern: &str) -> Result<Regex, regex::Error> {
    RegexBuilder::new(pattern)
        .size_limit(REGEX_SIZE_LIMIT)
        .dfa_size_limit(REGEX_SIZE_LIMIT)
        .nest_limit(REGEX_NEST_LIMIT)
        .build()
}

/// Why `RegexChecker` refuses a pattern.
#[derive(Debug)]
pub(crate) enum RegexFault {
    /// The pattern does not parse (the error says where).
    Syntax(Box<regex_syntax::Error>),
    /// A compiled program would pass the size limit (the limit, in bytes).
    TooBig(usize),
    /// Any other refusal of the program builder.
    Other(String),
}

/// Refuses exactly the patterns `build_regex` refuses, without building a
/// matcher: the parse under the same syntax options, then the forward NFA
/// (with its groups) and the reverse one, the two programs that carry
/// `REGEX_SIZE_LIMIT` (every other engine of the regex crate is optional and
/// skipped when it cannot be built). Checking is what `validate` does for
/// every regex of a file, and a full build costs four times as much: the
/// one-pass DFA, the prefilters and the lazy DFA's set-up are left for the
/// first request that needs them. One checker is reused for a whole file
/// so that the compilers' scratch (a 10,000-entry UTF-8 cache each) is
/// made once, not once per pattern.
pub(crate) struct RegexChecker {
    syntax: syntax::Config,
    forward: thompson::Compiler,
    reverse: thompson::Compiler,
}

impl Default for RegexChecker {
    fn default() -> Self {
        // The regex crate's defaults for a `Regex` (UTF-8, Unicode, `\n` as
        // the line terminator), with our limits.
        let syntax = syntax::Config::new().nest_limit(REGEX_NEST_LIMIT);
        let mut look = LookMatcher::new();
        look.set_line_terminator(b'\n');
        let config = thompson::Config::new()
            .utf8(true)
            .nfa_size_limit(Some(REGEX_SIZE_LIMIT))
            .shrink(false)
            .look_matcher(look);
        let mut forward = thompson::Compiler::new();
        forward.configure(config.clone().which_captures(WhichCaptures::All));
        let mut reverse = thompson::Compiler::new();
        reverse.configure(config.which_captures(WhichCaptures::None).reverse(true));
        RegexChecker {
            syntax,
            forward,
            reverse,
        }
    }
}

impl RegexChecker {
    /// The names of the pattern's groups (`None` for unnamed ones, group 0
    /// first) when `build_regex` would accept it.
    pub(crate) fn check(&self, pattern: &str) -> Result<Vec<Option<String>>, RegexFault> {
        let hir = syntax::parse_with(pattern, &self.syntax)
            .map_err(|err| RegexFault::Syntax(Box::new(err)))?;
        let programs = match self.forward.build_from_hir(&hir) {
            Ok(forward) => self.reverse.build_from_hir(&hir).ok().map(|_| forward),
            Err(_) => None,
        };
        match programs {
            Some(forward) => Ok(forward
                .group_info()
                .pattern_names(PatternID::ZERO)
                .map(|name| name.map(str::to_owned))
                .collect()),
            // Rare, and not always final: a large alternation of plain
            // literals is matched without an NFA. The builder decides.
            None => match build_regex(pattern) {
                Ok(regex) => Ok(regex
                    .capture_names()
                    .map(|name| name.map(str::to_owned))
                    .collect()),
                Err(regex::Error::CompiledTooBig(limit)) => Err(RegexFault::TooBig(limit)),
                Err(err) => Err(RegexFault::Other(err.to_string())),
            },
        }
    }
}

/// A checked pattern and, once needed, its compiled regex; clones share both.
#[derive(Clone)]
pub struct RuleRegex(Arc<Inner>);

struct Inner {
    pattern: Box<str>,
    built: OnceLock<Option<Regex>>,
    /// Whether the regex matches the empty string, known after the first
    /// empty value (an absent header, say) so later ones skip the search.
    matches_empty: OnceLock<bool>,
}

impl RuleRegex {
    /// A pattern that `build_regex` has accepted; its program is built again
    /// on first use.
    pub(crate) fn checked(pattern: &str) -> Self {
        RuleRegex(Arc::new(Inner {
            pattern: pattern.into(),
            built: OnceLock::new(),
            matches_empty: OnceLock::new(),
        }))
    }

    /// The pattern as written (after string escapes).
    pub(crate) fn as_str(&self) -> &str {
        &self.0.pattern
    }

    /// The compiled regex, built on the first call. `None` only if building
    /// a pattern that was accepted before fails now (it cannot with the
    /// same limits; then neither `~` nor `!~` holds, and the error is logged).
    pub(crate) fn get(&self) -> Option<&Regex> {
        self.0
            .built
            .get_or_init(|| match build_regex(&self.0.pattern) {
                Ok(regex) => Some(regex),
                Err(err) => {
                    tracing::error!(pattern = %self.0.pattern, "a checked regex failed to build: {err}");
                    None
                }
            })
            .as_ref()
    }

    /// Whether the regex matches `""` (`false` when it failed to build,
    /// like every match), worked out once.
    pub(crate) fn matches_empty(&self) -> bool {
        *self
            .0
            .matches_empty
            .get_or_init(|| self.get().is_some_and(|regex| regex.is_match("")))
    }

    /// Whether the program has been built (for the tests).
    #[cfg(test)]
    pub(crate) fn is_built(&self) -> bool {
        self.0.built.get().is_some()
    }
}

impl From<Regex> for RuleRegex {
    /// A regex built already (tests, and `explain`'s ad-hoc patterns).
    fn from(regex: Regex) -> Self {
        RuleRegex(Arc::new(Inner {
            pattern: regex.as_str().into(),
            built: OnceLock::from(Some(regex)),
            matches_empty: OnceLock::new(),
        }))
    }
}

impl fmt::Debug for RuleRegex {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("RuleRegex").field(&self.as_str()).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_checked_pattern_is_built_on_first_use_and_shared_by_clones() {
        let regex = RuleRegex::checked("^/old/(.*)$");
        let clone = regex.clone();
        assert!(!regex.is_built());
        assert!(clone.get().is_some_and(|built| built.is_match("/old/x")));
        assert!(regex.is_built(), "clones share the built program");
        assert!(regex.get().is_some_and(|built| !built.is_match("/new/x")));
        assert_eq!(regex.as_str(), "^/old/(.*)$");
        assert!(!regex.matches_empty());
        assert!(RuleRegex::checked("^(x?)$").matches_empty());
        assert!(RuleRegex::checked("").matches_empty());
    }

    /// The checker and the builder agree: on what they refuse, on why, and
    /// on the groups of what they accept.
    #[test]
    fn the_checker_refuses_what_the_builder_refuses() {
        let checker = RegexChecker::default();
        let nested = format!("{}a{}", "(".repeat(100), ")".repeat(100));
        // Literals only: the builder matches them without an NFA, so their
        // NFA's size does not count.
        let big_alternation = (0..40_000)
            .map(|i| format!("literal-{i}"))
            .collect::<Vec<_>>()
            .join("|");
        let patterns = [
            "^/old/(.*)$",
            "^/a/(?P<rest>.*)$",
            r"(?i)^/(?<year>\d{4})/(\w+)-(?:x|y)?$",
            r"\bword\b|^$",
            "a{1000}{1000}",
            r"(\w{100}){100}",
            r"\w{200}",
            r"\p{Greek}+[^\pL]{50}",
            "(",
            "[z-a]",
            r"\p{NotAClass}",
            &nested,
            "",
            "(?m)^x$",
            &big_alternation,
        ];
        for pattern in patterns {
            let built = build_regex(pattern);
            let checked = checker.check(pattern);
            match (&built, &checked) {
                (Ok(regex), Ok(names)) => {
                    let expected: Vec<Option<String>> = regex
                        .capture_names()
                        .map(|n| n.map(str::to_owned))
                        .collect();
                    assert_eq!(names, &expected, "{pattern}");
                }
                (Err(regex::Error::CompiledTooBig(a)), Err(RegexFault::TooBig(b))) => {
                    assert_eq!(a, b, "{pattern}");
                }
                (Err(regex::Error::Syntax(_)), Err(RegexFault::Syntax(_))) => {}
                _ => panic!("{pattern}: built {built:?}, checked {checked:?}"),
            }
        }
    }

    /// The one case where the NFAs' size is not the builder's verdict.
    #[test]
    fn a_literal_alternation_past_the_nfa_limit_is_accepted_as_the_builder_does() {
        let checker = RegexChecker::default();
        let pattern = (0..30_000u64)
            .map(|i| format!("{:x}", i.wrapping_mul(0x9e37_79b9_7f4a_7c15)))
            .collect::<Vec<_>>()
            .join("|");
        let hir = syntax::parse_with(&pattern, &checker.syntax).expect("parses");
        assert!(
            checker.forward.build_from_hir(&hir).is_err(),
            "past the NFA limit"
        );
        assert!(build_regex(&pattern).is_ok());
        assert!(checker.check(&pattern).is_ok());
    }

    #[test]
    fn the_limits_are_the_compile_checks() {
        assert!(build_regex("a{1000}{1000}").is_err(), "over the size limit");
        let nested = format!("{}a{}", "(".repeat(100), ")".repeat(100));
        assert!(build_regex(&nested).is_err(), "over the nest limit");
        assert!(build_regex("^/a/(?P<rest>.*)$").is_ok());
    }
}
