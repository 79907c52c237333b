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

    #[test]
    fn the_limits_are_the_compile_checks() {
        assert!(build_regex("a{1000}{1000}").is_err(), "over the size limit");
        let nested = format!("{}a{}", "(".repeat(100), ")".repeat(100));
        assert!(build_regex(&nested).is_err(), "over the nest limit");
        assert!(build_regex("^/a/(?P<rest>.*)$").is_ok());
    }
}
