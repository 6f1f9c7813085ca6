//! The string table every other table points into.
//!
//! A run holds a few hundred thousand distinct strings (paths, frames, spec names, user agent
//! parts). They are stored one after another in large pages rather than one allocation each,
//! and each string's hash is kept beside it, so the index grows without hashing any text again.

use hashbrown::HashTable;
use serde::de::{Deserialize, Deserializer, SeqAccess, Visitor};

/// Index into an [`Interner`]. Id 0 is always the empty string, used for "absent".
pub type StrId = u32;

/// The hash the interner files strings under: foldhash with a fixed seed, so it is the same in
/// every thread and every run (the audit reader computes it ahead of the interner).
#[inline]
pub fn hash_str(s: &str) -> u64 {
    use std::hash::BuildHasher;
    foldhash::fast::FixedState::with_seed(0x5eed_a0d1_75c0_9e11).hash_one(s)
}

/// Bytes per page of string text; a longer string gets a page of its own.
const PAGE_BYTES: usize = 1 << 20;

/// Where one string's text is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Span {
    page: u32,
    start: u32,
    len: u32,
}

/// A table of distinct strings, each stored once.
#[derive(Debug, Clone)]
pub struct Interner {
    /// The text, in pages that never reallocate: a string never spans two pages.
    pages: Vec<String>,
    /// Where string `id` is.
    spans: Vec<Span>,
    /// [`hash_str`] of string `id`.
    hashes: Vec<u64>,
    /// The ids, filed by hash, each with where its text is: a lookup reads the text straight
    /// away instead of first finding its span in `spans` (one memory access less, at a
    /// million lookups a run).
    index: HashTable<Filed>,
}

/// A string's entry in the index.
#[derive(Debug, Clone, Copy)]
struct Filed {
    id: StrId,
    span: Span,
}

impl Default for Interner {
    fn default() -> Self {
        let mut interner = Interner::empty();
        interner.intern("");
        interner
    }
}

impl PartialEq for Interner {
    fn eq(&self, other: &Self) -> bool {
        self.len() == other.len() && self.iter().eq(other.iter())
    }
}

impl Interner {
    /// A table without even the empty string (for building one in a given id order).
    fn empty() -> Interner {
        Interner {
            pages: Vec::new(),
            spans: Vec::new(),
            hashes: Vec::new(),
            index: HashTable::new(),
        }
    }

    /// Returns the id of `s`, adding it if it is new.
    pub fn intern(&mut self, s: &str) -> StrId {
        // Absent fields are interned all the time (a request's subresource, API group, …):
        // the empty string, id 0 in every table made by `default`, is answered without a hash.
        if s.is_empty() && self.spans.first().is_some_and(|span| span.len == 0) {
            return 0;
        }
        let hash = hash_str(s);
        if let Some(id) = self.find(s, hash) {
            return id;
        }
        let id = self.push(s, hash);
        self.file(id, hash);
        id
    }

    fn find(&self, s: &str, hash: u64) -> Option<StrId> {
        self.index
            .find(hash, |f| {
                f.span.len as usize == s.len() && self.span_bytes(f.span) == Some(s.as_bytes())
            })
            .map(|f| f.id)
    }

    /// The bytes of the text at `span`.
    #[inline]
    fn span_bytes(&self, span: Span) -> Option<&[u8]> {
        let start = span.start as usize;
        self.pages
            .get(span.page as usize)?
            .as_bytes()
            .get(start..start + span.len as usize)
    }

    /// Appends `s` as the next id, without filing it in the index.
    fn push(&mut self, s: &str, hash: u64) -> StrId {
        let fits = self
            .pages
            .last()
            .is_some_and(|p| p.capacity() - p.len() >= s.len());
        if !fits {
            self.pages
                .push(String::with_capacity(PAGE_BYTES.max(s.len())));
        }
        let page_index = self.pages.len() - 1;
        let page = &mut self.pages[page_index];
        let start = page.len();
        page.push_str(s);
        self.spans.push(Span {
            page: page_index as u32,
            start: start as u32,
            len: s.len() as u32,
        });
        self.hashes.push(hash);
        (self.spans.len() - 1) as StrId
    }

    /// Appends `s` as the next id even when it is already present (a RUN.json string list
    /// may repeat a string); lookups then find its first id.
    fn push_listed(&mut self, s: &str) {
        let hash = hash_str(s);
        let first = self.find(s, hash).is_none();
        let id = self.push(s, hash);
        if first {
            self.file(id, hash);
        }
    }

    /// Files string `id`, whose hash is `hash`, in the index.
    fn file(&mut self, id: StrId, hash: u64) {
        let Some(&span) = self.spans.get(id as usize) else {
            return;
        };
        let hashes = &self.hashes;
        self.index.insert_unique(hash, Filed { id, span }, |f| {
            hashes.get(f.id as usize).copied().unwrap_or(0)
        });
    }

    /// The id of `s` if it is in the table.
    pub fn lookup(&self, s: &str) -> Option<StrId> {
        self.find(s, hash_str(s))
    }

    /// The text of `id`; the empty string for an id out of range.
    #[inline]
    pub fn get(&self, id: StrId) -> &str {
        let Some(span) = self.spans.get(id as usize) else {
            return "";
        };
        let start = span.start as usize;
        self.pages
            .get(span.page as usize)
            .and_then(|p| p.get(start..start + span.len as usize))
            .unwrap_or("")
    }

    /// Number of distinct strings (the empty string included).
    pub fn len(&self) -> usize {
        self.spans.len()
    }

    /// True when only the empty string is present.
    pub fn is_empty(&self) -> bool {
        self.spans.len() <= 1
    }

    /// All strings in id order.
    pub fn iter(&self) -> impl Iterator<Item = &str> {
        (0..self.spans.len() as StrId).map(|id| self.get(id))
    }

    /// Builds a table from strings in id order (as stored in `RUN.json`).
    /// The first string must be empty; duplicates keep their first id.
    pub fn from_strings<S: AsRef<str>>(list: impl IntoIterator<Item = S>) -> Interner {
        let mut interner = Interner::empty();
        for s in list {
            interner.push_listed(s.as_ref());
        }
        if interner.spans.is_empty() {
            interner.intern("");
        }
        interner
    }
}

/// Reads a JSON list of strings straight into a table, in id order, without holding the list.
impl<'de> Deserialize<'de> for Interner {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct ListVisitor;
        impl<'de> Visitor<'de> for ListVisitor {
            type Value = Interner;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a list of strings")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Interner, A::Error> {
                let mut interner = Interner::empty();
                while let Some(s) = seq.next_element::<std::borrow::Cow<'de, str>>()? {
                    interner.push_listed(&s);
                }
                if interner.spans.is_empty() {
                    interner.intern("");
                }
                Ok(interner)
            }
        }
        d.deserialize_seq(ListVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interning_gives_each_text_one_id() {
        let mut s = Interner::default();
        let a = s.intern("pods");
        let b = s.intern("nodes");
        assert_eq!(s.intern("pods"), a);
        assert_eq!(
            (s.get(0), s.get(a), s.get(b), s.get(99)),
            ("", "pods", "nodes", "")
        );
        assert_eq!(s.lookup("nodes"), Some(b));
        assert_eq!(s.lookup("services"), None);
        assert_eq!(s.len(), 3);
    }

    #[test]
    fn long_strings_and_many_pages_read_back() {
        let mut s = Interner::default();
        let long = "x".repeat(PAGE_BYTES + 10);
        let ids: Vec<StrId> = (0..3000)
            .map(|i| s.intern(&format!("{i}-{}", "y".repeat(i % 900))))
            .collect();
        let big = s.intern(&long);
        for (i, &id) in ids.iter().enumerate() {
            assert_eq!(s.get(id), format!("{i}-{}", "y".repeat(i % 900)));
        }
        assert_eq!(s.get(big), long);
        assert!(s.pages.len() > 2);
    }

    #[test]
    fn listed_duplicates_keep_their_place_and_lookups_find_the_first() {
        let s = Interner::from_strings(["", "a", "b", "a"]);
        assert_eq!(s.iter().collect::<Vec<_>>(), ["", "a", "b", "a"]);
        assert_eq!(s.lookup("a"), Some(1));
        let json: Interner = serde_json::from_str(r#"["", "a\n", "b", "a\n"]"#).unwrap();
        assert_eq!(json, Interner::from_strings(["", "a\n", "b", "a\n"]));
        assert_eq!(json.lookup("a\n"), Some(1));
    }
}
