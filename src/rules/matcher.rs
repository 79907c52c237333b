//! Decides a rule's condition (spec §5) over the original request's fields,
//! keeping the capture positions of the regexes whose groups a template reads.

use std::borrow::Cow;

use regex::CaptureLocations;

use super::condition::{Condition, Field, Test, TestOp, ValueSet};
use super::field::FieldReader;
use super::trace::{Leaf, Observer};

/// The groups of one matched `~`, with the text they index.
pub(crate) struct Captured<'v> {
    /// The field value the regex ran on.
    pub(crate) haystack: Cow<'v, str>,
    /// Group positions in `haystack`.
    pub(crate) locations: CaptureLocations,
}

impl Captured<'_> {
    /// The text of one group; `""` when the group took no part in the match
    /// or does not exist.
    pub(crate) fn group(&self, group: usize) -> &str {
        self.locations
            .get(group)
            .and_then(|(start, end)| self.haystack.get(start..end))
            .unwrap_or("")
    }
}

/// One rule's capture slots, indexed by `CaptureRef::slot`.
pub(crate) type Slots<'v> = Vec<Option<Captured<'v>>>;

/// What the matcher works with for one rule.
pub(crate) struct Matcher<'v, 'o, O: Observer> {
    /// The request's fields.
    pub(crate) reader: &'v FieldReader<'v>,
    /// Which slots must keep capture positions.
    pub(crate) wanted: &'v [bool],
    /// Where they are kept: empty until the first capture is kept, then
    /// long enough for it.
    pub(crate) slots: Slots<'v>,
    /// Who is told about each step.
    pub(crate) observer: &'o mut O,
}

impl<'v, O: Observer> Matcher<'v, '_, O> {
    /// Whether the condition holds; `negated` is true under an odd number of
    /// `not`s (for the trace only).
    pub(crate) fn holds(&mut self, condition: &Condition, negated: bool) -> bool {
        match condition {
            Condition::All(members) => {
                let mark = self.observer.mark();
                let held = members.iter().all(|member| self.holds(member, negated));
                self.settle(mark, held, negated)
            }
            Condition::Any(members) => {
                let mark = self.observer.mark();
                let held = members.iter().any(|member| self.holds(member, negated));
                self.settle(mark, held, negated)
            }
            Condition::Not(inner) => !self.holds(inner, !negated),
            Condition::Exists(field) => {
                let held = self.reader.exists(field);
                let shown = if held { "present" } else { "absent" };
                self.observer
                    .leaf(Leaf::Exists(field), shown, held, negated, false);
                held
            }
            Condition::Test(test) => self.test(test, negated),
        }
    }

    /// A group that did not make the condition false keeps none of the
    /// failures inside it in the trace.
    fn settle(&mut self, mark: usize, held: bool, negated: bool) -> bool {
        if held != negated {
            self.observer.rollback(mark);
        }
        held
    }

    fn test(&mut self, test: &Test, negated: bool) -> bool {
        let value = self.reader.value(&test.field);
        let held = match &test.op {
            TestOp::Equals(text) => *value == **text,
            TestOp::NotEquals(text) => *value != **text,
            TestOp::StartsWith(text) => value.starts_with(text.as_str()),
            TestOp::EndsWith(text) => value.ends_with(text.as_str()),
            TestOp::Contains(text) => value.contains(text.as_str()),
            TestOp::In(set) => self.member(&test.field, &value, set),
            TestOp::NotIn(set) => !self.member(&test.field, &value, set),
            TestOp::Ordered(order, bound) => self
                .reader
                .status()
                .is_some_and(|status| order.holds(status, *bound)),
            TestOp::InMap(map) => {
                let held = map.contains(&value);
                if O::RECORDS && held {
                    self.observer.looked_up(map, &value);
                }
                held
            }
            TestOp::NotInMap(map) => !map.contains(&value),
            TestOp::NotMatches(regex) => regex.get().is_some_and(|regex| !regex.is_match(&value)),
            // An empty value (an absent header, say) needs no search when
            // the regex cannot match `""`.
            TestOp::Matches { regex, .. } if value.is_empty() && !regex.matches_empty() => false,
            TestOp::Matches { regex, slot } => {
                let wanted = O::RECORDS || self.wanted.get(*slot).copied().unwrap_or(false);
                match regex.get() {
                    Some(regex) if wanted => {
                        let mut locations = regex.capture_locations();
                        let held = regex.captures_read(&mut locations, &value).is_some();
                        self.observer
                            .leaf(Leaf::Test(test), &value, held, negated, false);
                        if held {
                            self.observer.captured(*slot, regex, &value, &locations);
                            if self.slots.len() <= *slot {
                                self.slots.resize_with(*slot + 1, || None);
                            }
                            if let Some(entry) = self.slots.get_mut(*slot) {
                                *entry = Some(Captured {
                                    haystack: value,
                                    locations,
                                });
                            }
                        }
                        return held;
                    }
                    built => built.is_some_and(|regex| regex.is_match(&value)),
                }
            }
        };
        self.observer
            .leaf(Leaf::Test(test), &value, held, negated, false);
        held
    }

    /// `in`: one of the strings, or for `client_ip` inside one of the networks.
    fn member(&self, field: &Field, value: &str, set: &ValueSet) -> bool {
        if set.strings.iter().any(|text| text == value) {
            return true;
        }
        match field {
            Field::ClientIp => {
                let address = self.reader.facts().client_ip;
                set.networks
                    .iter()
                    .any(|network| network.contains(&address))
            }
            _ => false,
        }
    }
}
