//! The rules one request visits, in file order: every ungated rule, and the
//! gated rules whose regex matched when the index's sets ran. The sets run
//! once, and only when evaluation reaches the first gated rule (a redirect
//! that fires above it never pays for them).

use super::field::FieldReader;
use super::index::RuleIndex;

/// The candidate rules of one request, ascending; see `RuleIndex::candidates`.
pub(crate) struct Candidates<'p> {
    index: &'p RuleIndex,
    reader: &'p FieldReader<'p>,
    next_ungated: usize,
    matched: Option<Vec<usize>>,
    next_matched: usize,
}

impl<'p> Candidates<'p> {
    /// Candidates over an index for the request the reader reads.
    pub(crate) fn new(index: &'p RuleIndex, reader: &'p FieldReader<'p>) -> Self {
        Candidates {
            index,
            reader,
            next_ungated: 0,
            matched: None,
            next_matched: 0,
        }
    }

    /// Whether the sets have not run yet (for tests).
    #[cfg(test)]
    pub(crate) fn is_set_pending(&self) -> bool {
        self.matched.is_none()
    }

    /// The gated rules whose regex matches, ascending. `is_match` first:
    /// usually nothing matches, and that answer is cheaper than the list.
    fn run_sets(index: &RuleIndex, reader: &FieldReader<'_>) -> Vec<usize> {
        let mut rules = Vec::new();
        for gates in &index.sets {
            let value = reader.value(&gates.field);
            if gates.set.is_match(&value) {
                let matched = gates.set.matches(&value);
                rules.extend(
                    matched
                        .iter()
                        .filter_map(|pattern| gates.rules.get(pattern)),
                );
            }
        }
        if index.sets.len() > 1 {
            rules.sort_unstable();
        }
        rules
    }
}

impl Iterator for Candidates<'_> {
    type Item = usize;

    fn next(&mut self) -> Option<usize> {
        let ungated = self.index.ungated.get(self.next_ungated).copied();
        let gated_reached = match (self.index.first_gated, ungated) {
            (Some(gated), Some(ungated)) => gated < ungated,
            (Some(_), None) => true,
            (None, _) => false,
        };
        if ungated.is_some() && !gated_reached && self.matched.is_none() {
            self.next_ungated += 1;
            return ungated;
        }
        let (index, reader) = (self.index, self.reader);
        let matched = self
            .matched
            .get_or_insert_with(|| Self::run_sets(index, reader));
        let gated = matched.get(self.next_matched).copied();
        match (ungated, gated) {
            (Some(a), Some(b)) if a < b => {
                self.next_ungated += 1;
                Some(a)
            }
            (_, Some(b)) => {
                self.next_matched += 1;
                Some(b)
            }
            (Some(a), None) => {
                self.next_ungated += 1;
                Some(a)
            }
            (None, None) => None,
        }
    }
}
