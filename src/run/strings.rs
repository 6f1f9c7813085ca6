//! The string table every other table points into.

use foldhash::HashMap;
use foldhash::HashMapExt;
use std::sync::Arc;

/// Index into an [`Interner`]. Id 0 is always the empty string, used for "absent".
pub type StrId = u32;

/// A table of distinct strings, each stored once.
#[derive(Debug, Clone)]
pub struct Interner {
    strings: Vec<Arc<str>>,
    index: HashMap<Arc<str>, StrId>,
}

impl Default for Interner {
    fn default() -> Self {
        let mut interner = Interner {
            strings: Vec::new(),
            index: HashMap::new(),
        };
        interner.intern("");
        interner
    }
}

impl PartialEq for Interner {
    fn eq(&self, other: &Self) -> bool {
        self.strings == other.strings
    }
}

impl Interner {
    /// Returns the id of `s`, adding it if it is new.
    pub fn intern(&mut self, s: &str) -> StrId {
        if let Some(&id) = self.index.get(s) {
            return id;
        }
        let id = self.strings.len() as StrId;
        let shared: Arc<str> = Arc::from(s);
        self.strings.push(shared.clone());
        self.index.insert(shared, id);
        id
    }

    /// The id of `s` if it is in the table.
    pub fn lookup(&self, s: &str) -> Option<StrId> {
        self.index.get(s).copied()
    }

    /// The text of `id`; the empty string for an id out of range.
    #[inline]
    pub fn get(&self, id: StrId) -> &str {
        self.strings.get(id as usize).map(|s| &**s).unwrap_or("")
    }

    /// Number of distinct strings (the empty string included).
    pub fn len(&self) -> usize {
        self.strings.len()
    }

    /// True when only the empty string is present.
    pub fn is_empty(&self) -> bool {
        self.strings.len() <= 1
    }

    /// All strings in id order.
    pub fn iter(&self) -> impl Iterator<Item = &str> {
        self.strings.iter().map(|s| &**s)
    }

    /// Builds a table from strings in id order (as stored in `RUN.json`).
    /// The first string must be empty; duplicates keep their first id.
    pub fn from_strings(list: Vec<String>) -> Interner {
        let mut interner = Interner {
            strings: Vec::with_capacity(list.len()),
            index: HashMap::with_capacity(list.len()),
        };
        for s in list {
            let shared: Arc<str> = Arc::from(s);
            let id = interner.strings.len() as StrId;
            interner.strings.push(shared.clone());
            interner.index.entry(shared).or_insert(id);
        }
        if interner.strings.is_empty() {
            interner.intern("");
        }
        interner
    }
}
