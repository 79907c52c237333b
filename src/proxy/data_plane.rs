//! What every request shares: the rule set being served (swapped atomically by
//! a reload), its generation, the next hop and the access log.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use arc_swap::ArcSwap;

use super::upstream::Upstream;
use crate::log::access_log::AccessLog;
use crate::rules::ServedRules;

/// The state of the data plane, shared by every connection.
#[derive(Debug)]
pub struct DataPlane {
    rules: ArcSwap<ServedRules>,
    generation: AtomicU64,
    /// The next hop.
    pub(crate) upstream: Upstream,
    /// Where access-log lines go.
    pub access_log: AccessLog,
}

impl DataPlane {
    /// A data plane serving `rules` as generation 1.
    pub fn new(rules: ServedRules, upstream: Upstream, access_log: AccessLog) -> Self {
        DataPlane {
            rules: ArcSwap::from_pointee(rules),
            generation: AtomicU64::new(1),
            upstream,
            access_log,
        }
    }

    /// The rule set a new request runs under; the request keeps this `Arc`
    /// until it ends, whatever reloads happen meanwhile.
    pub(crate) fn rules(&self) -> Arc<ServedRules> {
        self.rules.load_full()
    }

    /// How many rule sets have been served (1 at start-up).
    pub(crate) fn generation(&self) -> u64 {
        self.generation.load(Ordering::SeqCst)
    }

    /// Serves `rules` from the next request on; returns the new generation
    /// and the rule set it replaces (requests in flight may still hold it).
    pub(crate) fn swap(&self, rules: ServedRules) -> (u64, Arc<ServedRules>) {
        self.upstream.configure(&rules.settings);
        let old = self.rules.swap(Arc::new(rules));
        (self.generation.fetch_add(1, Ordering::SeqCst) + 1, old)
    }
}
