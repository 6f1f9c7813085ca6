//! The OpenAPI endpoint table and the matcher from `(verb, requestURI)` to an operation.
//!
//! The tables ship embedded, one per Kubernetes release from 1.17 to 1.37, held in one
//! [`Catalog`] where each row says which releases have it (`assets/endpoints/k8s-releases.tsv`,
//! written by `cargo run --example gen_endpoints` and checked by a test). Further specs (an
//! aggregated API, the CRDs of a cluster from its `/openapi/v2`) are read with
//! [`EndpointTable::from_openapi`] and added with [`EndpointTable::merge`].
//!
//! Matching ([`EndpointTable::match_request`]) walks a trie of path segments: a literal
//! segment wins over a `{param}`, and a trailing `{path}` parameter takes the rest of a proxy
//! path. The audit verb picks the HTTP method the API server served the request with.
//! [`CachedMatcher`] remembers answers per distinct `(verb, path, watch)`.

pub mod catalog;
pub mod choose;
pub mod conformance;
mod matcher;
mod openapi;
mod tsv;

pub use crate::model::release::{self, Release, ReleaseSet};
pub use catalog::{Catalog, ReleaseTables};
pub use choose::{ReleaseEvidence, choose_release};
pub use matcher::{CachedMatcher, Method};

use thiserror::Error;

pub use crate::model::{OpId, Operation};

/// Why an endpoint table could not be built.
#[derive(Debug, Error)]
pub enum EndpointError {
    /// The OpenAPI document is not JSON.
    #[error("OpenAPI spec is not valid JSON: {0}")]
    Json(#[from] serde_json::Error),
    /// The document is JSON but not an OpenAPI v2 spec we can read.
    #[error("OpenAPI spec: {0}")]
    Spec(String),
    /// A line of the text table is malformed.
    #[error("endpoint table line {line}: {message}")]
    Tsv { line: usize, message: String },
}

/// All operations of one or more specs, with the trie that matches requests to them.
#[derive(Debug, Clone, Default)]
pub struct EndpointTable {
    ops: Vec<Operation>,
    trie: matcher::Trie,
}

impl EndpointTable {
    /// Builds a table from operations (in order: [`OpId`] `i` is `ops[i]`). When two
    /// operations share method and path, the first one is matched.
    pub fn from_operations(ops: Vec<Operation>) -> EndpointTable {
        let mut table = EndpointTable {
            ops: Vec::with_capacity(ops.len()),
            trie: matcher::Trie::default(),
        };
        for op in ops {
            table.push(op);
        }
        table
    }

    /// The embedded table of the newest release the catalog knows (see [`Catalog`]).
    pub fn embedded() -> EndpointTable {
        Catalog::embedded()
            .latest()
            .and_then(Self::for_release)
            .unwrap_or_default()
    }

    /// The embedded table of `release`, if the catalog knows it.
    pub fn for_release(release: Release) -> Option<EndpointTable> {
        Catalog::embedded_table(release).cloned()
    }

    /// Reads a table from an OpenAPI v2 document (JSON bytes).
    pub fn from_openapi(json: &[u8]) -> Result<EndpointTable, EndpointError> {
        openapi::parse(json).map(Self::from_operations)
    }

    /// Adds the operations of `other` that this table lacks (same method and path template
    /// means the same operation; the one already here is kept).
    pub fn merge(&mut self, other: EndpointTable) {
        for op in other.ops {
            if let Some(method) = Method::parse(&op.method)
                && self.trie.exact(&op.path, method).is_some()
            {
                continue;
            }
            self.push(op);
        }
    }

    fn push(&mut self, op: Operation) {
        let id = OpId::from_index(self.ops.len());
        if let Some(method) = Method::parse(&op.method) {
            self.trie.insert(&op.path, method, id);
        }
        self.ops.push(op);
    }

    /// Every operation, indexed by [`OpId`].
    pub fn operations(&self) -> &[Operation] {
        &self.ops
    }

    /// Gives the operations away (for [`crate::run::Run::operations`]).
    pub fn into_operations(self) -> Vec<Operation> {
        self.ops
    }

    /// The operation with id `op`.
    pub fn get(&self, op: OpId) -> Option<&Operation> {
        self.ops.get(op.index())
    }

    /// The first operation whose `operationId` is `id`.
    pub fn find(&self, id: &str) -> Option<OpId> {
        self.ops
            .iter()
            .position(|o| o.id == id)
            .map(OpId::from_index)
    }

    /// Number of operations.
    pub fn len(&self) -> usize {
        self.ops.len()
    }

    /// True when the table holds no operation.
    pub fn is_empty(&self) -> bool {
        self.ops.is_empty()
    }

    /// The operation an audit event with `verb` and `requestURI` was served by, if the
    /// table has it. Never panics, whatever the input.
    pub fn match_request(&self, verb: &str, request_uri: &str) -> Option<OpId> {
        let method = Method::from_request(verb, request_uri)?;
        let (path, _) = matcher::split_uri(request_uri);
        self.trie.lookup(path, method)
    }
}

/// `alpha`, `beta` or `stable` for a version such as `v2beta1`.
pub fn level_of_version(version: &str) -> &'static str {
    if version.contains("alpha") {
        "alpha"
    } else if version.contains("beta") {
        "beta"
    } else {
        "stable"
    }
}

/// Group and version from a path template: `/api/v1/…` is the core group, `/apis/g/v/…`
/// group `g` version `v`; other paths have neither.
pub fn group_version_of_path(path: &str) -> (String, String) {
    let mut segs = path.split('/').filter(|s| !s.is_empty());
    match segs.next() {
        Some("api") => ("".into(), segs.next().unwrap_or("").into()),
        Some("apis") => {
            let group = segs.next().unwrap_or("");
            let version = segs.next().unwrap_or("");
            (group.into(), version.into())
        }
        _ => (String::new(), String::new()),
    }
}

/// APISnoop's category for an operation without tags, from its path: the group with
/// `.k8s.io` dropped and dots turned into camel case (`rbac.authorization.k8s.io` →
/// `rbacAuthorization`), `core` for `/api`, else the first path segment.
pub fn category_of_path(path: &str) -> String {
    let mut segs = path.split('/').filter(|s| !s.is_empty());
    match segs.next() {
        None => String::new(),
        Some("api") => "core".into(),
        Some("apis") => match segs.next() {
            None => "apis".into(),
            Some(group) => camel_group(group),
        },
        Some(".well-known") => "WellKnown".into(),
        Some(first) => first.into(),
    }
}

fn camel_group(group: &str) -> String {
    let trimmed = group.strip_suffix(".k8s.io").unwrap_or(group);
    let mut out = String::with_capacity(trimmed.len());
    for (i, part) in trimmed.split(['.', '-']).enumerate() {
        let mut chars = part.chars();
        if i > 0 {
            if let Some(c) = chars.next() {
                out.extend(c.to_uppercase());
            }
            out.push_str(chars.as_str());
        } else {
            out.push_str(part);
        }
    }
    out
}
