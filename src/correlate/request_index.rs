//! Requests by `auditID`, for merging stage events: which request, if any, an event's ID
//! already has.
//!
//! The sink that merges events is one thread, and this lookup is on its path for every event:
//! a few hundred thousand to millions of requests, filed at random, so most lookups would be
//! cache misses. Two tables keep them few:
//! - [`RecentRequests`], a small direct-mapped table of the requests filed (or found) last:
//!   a request's later stage events mostly come soon after its first one, and find it there,
//!   in cache;
//! - [`IdTable`], every request, as an open-addressing table whose slots hold the hash's tag
//!   beside the index: a lookup reads one cache line of slots (the probe for a new ID, then its
//!   insertion, too), and reads a request only when its tag agrees.
//!
//! Both only point at requests: a candidate is taken only once the caller has compared its
//! `auditID` with the event's, so the answers are exactly those of a map from ID to index.

/// Requests by the hash of their `auditID`; see the module's documentation.
#[derive(Default)]
pub(crate) struct RequestIndex {
    table: IdTable,
    recent: RecentRequests,
}

impl RequestIndex {
    /// Makes room for `requests` requests in all, so the table does not grow step by step.
    /// `rehash` gives the hash of request `i`'s ID (used only when the table is not empty).
    pub(crate) fn reserve(&mut self, requests: usize, rehash: impl Fn(u32) -> u64) {
        self.table.reserve(requests, rehash);
    }

    /// The request filed under `hash` for which `is_it` holds (the caller compares the
    /// request's ID with the one looked up), if any. A request found in the big table is
    /// remembered as recent, for its further stage events.
    pub(crate) fn find(&mut self, hash: u64, is_it: impl Fn(u32) -> bool) -> Option<u32> {
        if let Some(i) = self.recent.candidate(hash)
            && is_it(i)
        {
            return Some(i);
        }
        let i = self.table.find(hash, is_it)?;
        self.recent.remember(hash, i);
        Some(i)
    }

    /// Files request `index`, whose ID hashes to `hash` and was not filed yet. `rehash` gives
    /// the hash of request `i`'s ID (when the table grows).
    pub(crate) fn file(&mut self, hash: u64, index: u32, rehash: impl Fn(u32) -> u64) {
        self.table.insert(hash, index, rehash);
        self.recent.remember(hash, index);
    }
}

/// How many slots [`RecentRequests`] has. A request's stage events mostly come within a few
/// dozen events of its first (in a generated 300k-event log, 90% within 64 events, 99.6%
/// within 4096), and the table must stay in the sink's L2 cache while the events it reads
/// stream through it: 1024 slots of 16 bytes (16 KB) do, where 64 KB was evicted between two
/// visits of a slot (its loads showed as misses in profiles).
const RECENT_SLOTS: usize = 1024;

/// The requests filed last, direct-mapped by hash: the hash picks the one slot an ID can be
/// in, and a newer request takes the slot over. A slot is only a hint (see the module).
#[derive(Default)]
struct RecentRequests {
    /// `(hash, index)`; empty until the first request is remembered.
    slots: Vec<(u64, u32)>,
}

/// A slot of [`RecentRequests`] that holds no request.
const NO_RECENT: (u64, u32) = (0, u32::MAX);

impl RecentRequests {
    /// The request remembered last in `hash`'s slot, if it was remembered under `hash`.
    fn candidate(&self, hash: u64) -> Option<u32> {
        let &(filed, index) = self.slots.get(hash as usize % RECENT_SLOTS)?;
        (filed == hash && index != u32::MAX).then_some(index)
    }

    /// Remembers that request `index` has an ID hashing to `hash`.
    fn remember(&mut self, hash: u64, index: u32) {
        if self.slots.is_empty() {
            self.slots = vec![NO_RECENT; RECENT_SLOTS];
        }
        if let Some(slot) = self.slots.get_mut(hash as usize % RECENT_SLOTS) {
            *slot = (hash, index);
        }
    }
}

/// Every request, by the hash of its ID: open addressing with linear probing over slots of
/// `tag << 32 | (index + 1)` (0: empty), where the tag is the hash's top half. The slot an
/// entry starts looking from is the hash's low bits, so the tag tells apart the entries that
/// meet there; a full hash is only needed again to grow, and `rehash` gives it.
#[derive(Default)]
struct IdTable {
    slots: Vec<u64>,
    /// How many slots are taken.
    len: usize,
}

/// The top half of a hash, kept in a slot of [`IdTable`].
fn tag(hash: u64) -> u64 {
    hash >> 32
}

/// The slot for request `index` filed under `hash`.
fn slot(hash: u64, index: u32) -> u64 {
    (tag(hash) << 32) | (u64::from(index) + 1)
}

/// The index a taken slot holds.
fn index_of(slot: u64) -> u32 {
    ((slot & 0xffff_ffff) as u32).wrapping_sub(1)
}

impl IdTable {
    /// The slots needed for `entries` entries: a power of two, at most three quarters full
    /// (linear probing stays short below that).
    fn capacity_for(entries: usize) -> usize {
        (entries.saturating_mul(4) / 3 + 1)
            .next_power_of_two()
            .max(16)
    }

    /// Makes room for `entries` entries in all.
    fn reserve(&mut self, entries: usize, rehash: impl Fn(u32) -> u64) {
        let capacity = Self::capacity_for(entries);
        if capacity > self.slots.len() {
            self.resize(capacity, rehash);
        }
    }

    /// Moves every entry to a table of `capacity` slots.
    fn resize(&mut self, capacity: usize, rehash: impl Fn(u32) -> u64) {
        // Zeroed memory comes from the allocator untouched (the kernel's zero pages): slots
        // that are never used cost no resident memory.
        let old = std::mem::replace(&mut self.slots, vec![0; capacity]);
        let mask = capacity - 1;
        for filed in old.into_iter().filter(|&s| s != 0) {
            let mut pos = rehash(index_of(filed)) as usize & mask;
            while let Some(taken) = self.slots.get(pos)
                && *taken != 0
            {
                pos = (pos + 1) & mask;
            }
            if let Some(free) = self.slots.get_mut(pos) {
                *free = filed;
            }
        }
    }

    /// The index filed under `hash` for which `is_it` holds, if any.
    fn find(&self, hash: u64, is_it: impl Fn(u32) -> bool) -> Option<u32> {
        let mask = self.slots.len().checked_sub(1)?;
        let want = tag(hash);
        let mut pos = hash as usize & mask;
        loop {
            let filed = *self.slots.get(pos)?;
            if filed == 0 {
                return None;
            }
            if filed >> 32 == want && is_it(index_of(filed)) {
                return Some(index_of(filed));
            }
            pos = (pos + 1) & mask;
        }
    }

    /// Files `index` under `hash` (not filed yet).
    fn insert(&mut self, hash: u64, index: u32, rehash: impl Fn(u32) -> u64) {
        if (self.len + 1) * 4 > self.slots.len() * 3 {
            self.resize(
                Self::capacity_for(self.len + 1).max(self.slots.len() * 2),
                rehash,
            );
        }
        let mask = self.slots.len() - 1;
        let mut pos = hash as usize & mask;
        while let Some(taken) = self.slots.get(pos)
            && *taken != 0
        {
            pos = (pos + 1) & mask;
        }
        if let Some(free) = self.slots.get_mut(pos) {
            *free = slot(hash, index);
            self.len += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::HashMap;

    /// Feeds `ids` through a [`RequestIndex`] as the builder does (find, else file as the next
    /// request), with `hash` as the hash, and checks every answer against a plain map.
    fn check_against_map(ids: &[String], hash: impl Fn(&str) -> u64, reserve: usize) {
        let mut index = RequestIndex::default();
        let mut requests: Vec<String> = Vec::new();
        let rehash = |requests: &Vec<String>, i: u32| hash(&requests[i as usize]);
        index.reserve(reserve, |i| rehash(&requests, i));
        let mut map: HashMap<&str, u32> = HashMap::new();
        for id in ids {
            let h = hash(id);
            let found = index.find(h, |i| requests[i as usize] == *id);
            assert_eq!(found, map.get(id.as_str()).copied(), "{id}");
            if found.is_none() {
                let i = requests.len() as u32;
                requests.push(id.clone());
                index.file(h, i, |i| rehash(&requests, i));
                map.insert(id, i);
            }
        }
        assert_eq!(index.table.len, map.len());
    }

    proptest! {
        /// With the real hash, colliding hashes (a few values: tags and slots shared by many
        /// IDs, recent slots taken over) and a table that grows or was reserved, the answers
        /// are a map's.
        #[test]
        fn answers_are_those_of_a_map(
            picks in proptest::collection::vec(0usize..600, 0..3000),
            reserve in 0usize..2000,
            buckets in 1u64..50,
        ) {
            let ids: Vec<String> = picks.iter().map(|p| format!("id-{p}")).collect();
            check_against_map(&ids, crate::run::strings::hash_str, reserve);
            check_against_map(&ids, |s| crate::run::strings::hash_str(s) % buckets, reserve);
            check_against_map(&ids, |s| (crate::run::strings::hash_str(s) % buckets) << 40, reserve);
        }
    }

    #[test]
    fn a_stage_event_soon_after_its_request_is_found_among_the_recent() {
        let mut index = RequestIndex::default();
        let ids = ["a", "b", "c"];
        let hash = |i: u32| crate::run::strings::hash_str(ids[i as usize]);
        for i in 0..3 {
            index.file(hash(i), i, hash);
        }
        assert_eq!(index.recent.candidate(hash(1)), Some(1));
        assert_eq!(index.find(hash(1), |i| i == 1), Some(1));
        // A candidate whose ID differs is not taken, and the big table answers.
        assert_eq!(index.find(hash(2), |i| i == 7), None);
        assert_eq!(
            index.find(crate::run::strings::hash_str("d"), |_| true),
            None
        );
    }
}
