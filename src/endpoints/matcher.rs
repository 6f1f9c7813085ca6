//! The path-segment trie and the request matcher.

use std::collections::HashMap;
use std::hash::BuildHasherDefault;

use crate::fasthash::{FxHasher, FxMap};

use super::EndpointTable;
use crate::model::{Interner, OpId, StrId};

/// An HTTP method an OpenAPI operation can have.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Method {
    Get = 0,
    Put = 1,
    Post = 2,
    Delete = 3,
    Options = 4,
    Head = 5,
    Patch = 6,
}

impl Method {
    /// Parses an HTTP method name (any case).
    pub fn parse(s: &str) -> Option<Method> {
        const ALL: [(&str, Method); 7] = [
            ("GET", Method::Get),
            ("PUT", Method::Put),
            ("POST", Method::Post),
            ("DELETE", Method::Delete),
            ("OPTIONS", Method::Options),
            ("HEAD", Method::Head),
            ("PATCH", Method::Patch),
        ];
        ALL.iter()
            .find(|(name, _)| name.eq_ignore_ascii_case(s))
            .map(|&(_, m)| m)
    }

    /// The HTTP method the API server served a request with, from the audit verb.
    ///
    /// The API server derives the verb from the method: GET gives `get`, `list` (on a
    /// collection) or `watch`; POST `create`; PUT `update`; PATCH `patch`; DELETE `delete` or
    /// `deletecollection`; HEAD also logs `get` for resources. Connect subresources
    /// (`exec`, `attach`, `portforward`, `proxy`) log the verb of their method, and
    /// non-resource paths log the lower-case method (`get`, `post`, `head`, `options`, …).
    pub fn from_verb(verb: &str) -> Option<Method> {
        const VERBS: [(&str, Method); 12] = [
            ("get", Method::Get),
            ("list", Method::Get),
            ("watch", Method::Get),
            ("create", Method::Post),
            ("update", Method::Put),
            ("patch", Method::Patch),
            ("delete", Method::Delete),
            ("deletecollection", Method::Delete),
            ("post", Method::Post),
            ("put", Method::Put),
            ("head", Method::Head),
            ("options", Method::Options),
        ];
        VERBS
            .iter()
            .find(|(name, _)| name.eq_ignore_ascii_case(verb))
            .map(|&(_, m)| m)
    }

    /// The HTTP method of an audited request, from its verb and `requestURI`: as
    /// [`Method::from_verb`], with the two cases the verb alone does not tell (as APISnoop
    /// reads them). A HEAD call through a proxy logs the verb `get`; the e2e proxy tests put
    /// the method as the URI's last word (`…/proxy?method=HEAD`, `…/proxy/some/path/with/HEAD`),
    /// so `get` on a URI ending in `HEAD` is HEAD. A method that maps to no verb (OPTIONS) logs
    /// an empty verb, so an empty verb is OPTIONS.
    pub fn from_request(verb: &str, request_uri: &str) -> Option<Method> {
        if verb.is_empty() {
            return Some(Method::Options);
        }
        if verb == "get" && request_uri.ends_with("HEAD") {
            return Some(Method::Head);
        }
        Method::from_verb(verb)
    }

    /// The method's name in upper case.
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Put => "PUT",
            Method::Post => "POST",
            Method::Delete => "DELETE",
            Method::Options => "OPTIONS",
            Method::Head => "HEAD",
            Method::Patch => "PATCH",
        }
    }
}

type FxBuild = BuildHasherDefault<FxHasher>;

/// One trie node: the operations whose template ends here, by method.
#[derive(Debug, Clone, Default)]
struct Node {
    literal: HashMap<Box<str>, u32, FxBuild>,
    param: Option<u32>,
    ops: [Option<OpId>; 7],
    /// Operations whose template ends here with a trailing `{path}` parameter that takes
    /// one or more further segments.
    rest: [Option<OpId>; 7],
}

/// Path templates by segment.
#[derive(Debug, Clone, Default)]
pub(super) struct Trie {
    nodes: Vec<Node>,
}

fn segments(path: &str) -> impl Iterator<Item = &str> + Clone {
    Segments { rest: path }
}

/// The non-empty segments of a path, split at `/` by a plain scan of its bytes: segments are a
/// few bytes long, and `str::split` started a `memchr` search for each `/` (that search was
/// the most sampled part of matching a run's requests).
#[derive(Clone)]
struct Segments<'a> {
    rest: &'a str,
}

impl<'a> Iterator for Segments<'a> {
    type Item = &'a str;

    fn next(&mut self) -> Option<&'a str> {
        while !self.rest.is_empty() {
            let end = self
                .rest
                .bytes()
                .position(|b| b == b'/')
                .unwrap_or(self.rest.len());
            let (segment, after) = self.rest.split_at(end);
            // `after` is empty or starts with the `/`, one byte.
            self.rest = after.get(1..).unwrap_or("");
            if !segment.is_empty() {
                return Some(segment);
            }
        }
        None
    }
}

fn is_param(seg: &str) -> bool {
    seg.len() >= 2 && seg.starts_with('{') && seg.ends_with('}')
}

/// A trailing parameter that stands for a path of its own (`{path}` of proxies,
/// `{logpath}` of `/logs/`).
fn is_rest_param(seg: &str) -> bool {
    is_param(seg) && seg.ends_with("path}")
}

impl Trie {
    fn root(&mut self) -> u32 {
        if self.nodes.is_empty() {
            self.nodes.push(Node::default());
        }
        0
    }

    /// Adds a template; the first operation for a method and template is kept.
    pub(super) fn insert(&mut self, template: &str, method: Method, op: OpId) {
        let mut node = self.root();
        let mut segs = segments(template).peekable();
        while let Some(seg) = segs.next() {
            let last = segs.peek().is_none();
            if last && is_rest_param(seg) {
                let slot = &mut self.nodes[node as usize].rest[method as usize];
                slot.get_or_insert(op);
                return;
            }
            let next = self.nodes.len() as u32;
            let current = &mut self.nodes[node as usize];
            let child = if is_param(seg) {
                *current.param.get_or_insert(next)
            } else {
                *current.literal.entry(seg.into()).or_insert(next)
            };
            if child == next {
                self.nodes.push(Node::default());
            }
            node = child;
        }
        self.nodes[node as usize].ops[method as usize].get_or_insert(op);
    }

    /// The operation already registered for exactly this template and method.
    pub(super) fn exact(&self, template: &str, method: Method) -> Option<OpId> {
        let mut node = self.nodes.first()?;
        let mut segs = segments(template).peekable();
        while let Some(seg) = segs.next() {
            if segs.peek().is_none() && is_rest_param(seg) {
                return node.rest[method as usize];
            }
            let child = if is_param(seg) {
                node.param?
            } else {
                *node.literal.get(seg)?
            };
            node = self.nodes.get(child as usize)?;
        }
        node.ops[method as usize]
    }

    /// The operation a request path (no query string) is served by.
    pub(super) fn lookup(&self, path: &str, method: Method) -> Option<OpId> {
        if self.nodes.is_empty() {
            return None;
        }
        self.walk(0, segments(path), method)
    }

    // Recursion depth is bounded by the trie's depth: we only descend into existing nodes.
    fn walk<'a>(
        &self,
        node: u32,
        mut segs: impl Iterator<Item = &'a str> + Clone,
        method: Method,
    ) -> Option<OpId> {
        let n = self.nodes.get(node as usize)?;
        let Some(seg) = segs.next() else {
            return n.ops[method as usize];
        };
        // A literal segment wins; fall back to the parameter when the literal branch has no
        // operation for this method (e.g. a namespace called `status`).
        if let Some(&child) = n.literal.get(seg)
            && let Some(op) = self.walk(child, segs.clone(), method)
        {
            return Some(op);
        }
        if let Some(child) = n.param
            && let Some(op) = self.walk(child, segs, method)
        {
            return Some(op);
        }
        n.rest[method as usize]
    }
}

/// Splits a request URI into its path and whether its query asks for a watch
/// (`watch=true` or `watch=1`). A fragment is dropped.
pub fn split_uri(uri: &str) -> (&str, bool) {
    // One search for whichever comes first: a `#` ends the path and leaves no query, a `?`
    // ends the path and starts the query, up to a `#`.
    let Some(at) = memchr::memchr2(b'?', b'#', uri.as_bytes()) else {
        return (uri, false);
    };
    let (path, rest) = uri.split_at(at);
    match rest.strip_prefix('?') {
        None => (path, false),
        Some(query) => {
            let query = query.split('#').next().unwrap_or("");
            let watch = query
                .split('&')
                .any(|kv| kv == "watch=true" || kv == "watch=1");
            (path, watch)
        }
    }
}

/// A matcher that remembers its answers: a run of a million requests has only tens of
/// thousands of distinct paths. One per thread; it borrows the table.
pub struct CachedMatcher<'t> {
    table: &'t EndpointTable,
    cache: HashMap<Box<str>, Option<OpId>, FxBuild>,
    key: String,
    /// Lookups answered from the cache.
    pub hits: u64,
    /// Lookups that went to the trie.
    pub misses: u64,
}

impl<'t> CachedMatcher<'t> {
    /// Entries kept at most, so a log of unique garbage paths cannot exhaust memory.
    pub const MAX_ENTRIES: usize = 1 << 20;

    /// A matcher over `table` with an empty cache.
    pub fn new(table: &'t EndpointTable) -> CachedMatcher<'t> {
        CachedMatcher {
            table,
            cache: HashMap::default(),
            key: String::with_capacity(256),
            hits: 0,
            misses: 0,
        }
    }

    /// Same answer as [`EndpointTable::match_request`], cached by
    /// `(method, path without query, watch flag)`.
    pub fn match_request(&mut self, verb: &str, request_uri: &str) -> Option<OpId> {
        let (path, watch) = split_uri(request_uri);
        let method = Method::from_request(verb, request_uri)?;
        self.key.clear();
        self.key.push(char::from(b'0' + method as u8));
        self.key.push('\n');
        self.key.push_str(path);
        self.key.push('\n');
        self.key.push(if watch { '1' } else { '0' });
        if let Some(&answer) = self.cache.get(self.key.as_str()) {
            self.hits += 1;
            return answer;
        }
        self.misses += 1;
        let answer = self.table.trie.lookup(path, method);
        if self.cache.len() < Self::MAX_ENTRIES {
            self.cache.insert(self.key.as_str().into(), answer);
        }
        answer
    }

    /// The operation of every request given as `(verb, requestURI)` string ids, in order: the
    /// same answers as [`CachedMatcher::match_request`] on their texts.
    ///
    /// A run repeats its pairs (a few hundred thousand requests have a third as many distinct
    /// pairs), so each distinct pair is matched once, by id and without building a text key
    /// per request, and the distinct pairs are shared out to rayon's threads.
    pub fn match_ids(
        table: &EndpointTable,
        strings: &Interner,
        pairs: impl IntoIterator<Item = (StrId, StrId)>,
    ) -> Vec<Option<OpId>> {
        use rayon::prelude::*;
        let mut slot_of: FxMap<u64, u32> = FxMap::default();
        let mut distinct: Vec<(StrId, StrId)> = Vec::new();
        let slots: Vec<u32> = pairs
            .into_iter()
            .map(|(verb, uri)| {
                let key = (u64::from(verb) << 32) | u64::from(uri);
                *slot_of.entry(key).or_insert_with(|| {
                    distinct.push((verb, uri));
                    (distinct.len() - 1) as u32
                })
            })
            .collect();
        drop(slot_of);
        // Straight to the trie, no cache: the pairs are distinct already, and their paths
        // mostly so (a fifth repeat with another query string), so a cache saved few walks
        // and held a key per path (4 MB at 38k paths, at the run's peak of memory).
        let answers: Vec<Option<OpId>> = distinct
            .par_iter()
            .with_min_len(4096)
            .map(|&(verb, uri)| table.match_request(strings.get(verb), strings.get(uri)))
            .collect();
        slots
            .iter()
            .map(|&slot| answers.get(slot as usize).copied().flatten())
            .collect()
    }

    /// Number of distinct keys cached.
    pub fn len(&self) -> usize {
        self.cache.len()
    }

    /// True when nothing has been cached yet.
    pub fn is_empty(&self) -> bool {
        self.cache.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The splitting as it was written first, with `str` methods: the reference.
    fn split_uri_reference(uri: &str) -> (&str, bool) {
        let uri = uri.split('#').next().unwrap_or("");
        match uri.split_once('?') {
            None => (uri, false),
            Some((path, query)) => (
                path,
                query
                    .split('&')
                    .any(|kv| kv == "watch=true" || kv == "watch=1"),
            ),
        }
    }

    fn segments_reference(path: &str) -> Vec<&str> {
        path.split('/').filter(|s| !s.is_empty()).collect()
    }

    #[test]
    fn uris_split_as_before() {
        let cases = [
            ("", ("", false)),
            ("/api/v1/pods", ("/api/v1/pods", false)),
            ("/api/v1/pods?watch=true", ("/api/v1/pods", true)),
            ("/api/v1/pods?limit=5&watch=1", ("/api/v1/pods", true)),
            ("/api/v1/pods?watch=true#x", ("/api/v1/pods", true)),
            ("/api/v1/pods?x#watch=true", ("/api/v1/pods", false)),
            ("/api/v1/pods#frag?watch=true", ("/api/v1/pods", false)),
            ("/a?b?watch=1", ("/a", false)),
            ("?watch=true", ("", true)),
            ("#?watch=true", ("", false)),
        ];
        for (uri, expected) in cases {
            assert_eq!(split_uri(uri), expected, "{uri}");
            assert_eq!(split_uri_reference(uri), expected, "{uri}");
        }
        let segs: Vec<&str> = segments("//api//v1/namespaces/é/pods/").collect();
        assert_eq!(segs, ["api", "v1", "namespaces", "é", "pods"]);
        assert_eq!(segments("").count(), 0);
        assert_eq!(segments("///").count(), 0);
    }

    proptest! {
        #[test]
        fn splitting_matches_the_reference(
            uri in "(/|[a-zé]{1,3}|[?#&=]|watch=true|watch=1|HEAD){0,14}"
        ) {
            prop_assert_eq!(split_uri(&uri), split_uri_reference(&uri));
            prop_assert_eq!(segments(&uri).collect::<Vec<_>>(), segments_reference(&uri));
        }
    }
}
