//! The release-aware endpoint catalog: every operation of every Kubernetes release we have
//! data for (1.17 to 1.37), in one table where each row says which releases have it.
//!
//! A row is an operation with all its fields (path, level, description, …); when a field
//! changes between releases (a reworded description, a kind promoted), the operation has
//! several rows with disjoint release sets. The embedded text
//! (`assets/endpoints/k8s-releases.tsv`) is written by
//!
//! ```text
//! cargo run --example gen_endpoints > assets/endpoints/k8s-releases.tsv
//! ```
//!
//! from the sources in [`SOURCES`]: Kubernetes' OpenAPI specs where we have them (1.28–1.36),
//! and APISnoop's published coverage files for the other releases (which list every
//! operation except the deprecated `/watch/` ones). A test checks the embedded file equals the
//! generator's output.

use std::collections::HashMap;
use std::sync::OnceLock;

use serde::Deserialize;

use super::{EndpointError, EndpointTable, Operation, tsv};
use crate::model::release::{Release, ReleaseSet};

/// The embedded catalog, in the text form of [`Catalog::to_tsv`].
pub const EMBEDDED_CATALOG_TSV: &str = include_str!("../../assets/endpoints/k8s-releases.tsv");

/// Where each release's operations come from, relative to the repository root.
pub const SOURCES: &[(&str, SourceKind, &str)] = &[
    (
        "1.17",
        SourceKind::ApisnoopCoverage,
        "tests/fixtures/apisnoop-coverage-1.17.0.json.gz",
    ),
    (
        "1.18",
        SourceKind::ApisnoopCoverage,
        "tests/fixtures/apisnoop-coverage-1.18.0.json.gz",
    ),
    (
        "1.19",
        SourceKind::ApisnoopCoverage,
        "tests/fixtures/apisnoop-coverage-1.19.0.json.gz",
    ),
    (
        "1.20",
        SourceKind::ApisnoopCoverage,
        "tests/fixtures/apisnoop-coverage-1.20.0.json.gz",
    ),
    (
        "1.21",
        SourceKind::ApisnoopCoverage,
        "tests/fixtures/apisnoop-coverage-1.21.0.json.gz",
    ),
    (
        "1.22",
        SourceKind::ApisnoopCoverage,
        "tests/fixtures/apisnoop-coverage-1.22.0.json.gz",
    ),
    (
        "1.23",
        SourceKind::ApisnoopCoverage,
        "tests/fixtures/apisnoop-coverage-1.23.0.json.gz",
    ),
    (
        "1.24",
        SourceKind::ApisnoopCoverage,
        "tests/fixtures/apisnoop-coverage-1.24.0.json.gz",
    ),
    (
        "1.25",
        SourceKind::ApisnoopCoverage,
        "tests/fixtures/apisnoop-coverage-1.25.0.json.gz",
    ),
    (
        "1.26",
        SourceKind::ApisnoopCoverage,
        "tests/fixtures/apisnoop-coverage-1.26.0.json.gz",
    ),
    (
        "1.27",
        SourceKind::ApisnoopCoverage,
        "tests/fixtures/apisnoop-coverage-1.27.0.json.gz",
    ),
    (
        "1.28",
        SourceKind::OpenApi,
        "assets/openapi/k8s-v1.28-swagger.json.gz",
    ),
    (
        "1.29",
        SourceKind::OpenApi,
        "assets/openapi/k8s-v1.29-swagger.json.gz",
    ),
    (
        "1.30",
        SourceKind::OpenApi,
        "assets/openapi/k8s-v1.30-swagger.json.gz",
    ),
    (
        "1.31",
        SourceKind::OpenApi,
        "assets/openapi/k8s-v1.31-swagger.json.gz",
    ),
    (
        "1.32",
        SourceKind::OpenApi,
        "assets/openapi/k8s-v1.32-swagger.json.gz",
    ),
    (
        "1.33",
        SourceKind::OpenApi,
        "assets/openapi/k8s-v1.33-swagger.json.gz",
    ),
    (
        "1.34",
        SourceKind::OpenApi,
        "assets/openapi/k8s-v1.34-swagger.json.gz",
    ),
    (
        "1.35",
        SourceKind::OpenApi,
        "assets/openapi/k8s-v1.35-swagger.json.gz",
    ),
    (
        "1.36",
        SourceKind::OpenApi,
        "assets/openapi/k8s-v1.36-swagger.json.gz",
    ),
    (
        "1.37",
        SourceKind::ApisnoopCoverage,
        "tests/fixtures/apisnoop-coverage-1.37.0.json.gz",
    ),
];

/// What a source file of [`SOURCES`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SourceKind {
    /// A Kubernetes OpenAPI v2 spec (`swagger.json`).
    OpenApi,
    /// APISnoop's `resources/coverage/X.Y.Z.json`.
    ApisnoopCoverage,
}

/// Every operation of every release, with per-release membership.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Catalog {
    rows: Vec<(ReleaseSet, Operation)>,
}

impl Catalog {
    /// The embedded catalog (parsed once per process).
    pub fn embedded() -> &'static Catalog {
        static CATALOG: OnceLock<Catalog> = OnceLock::new();
        // The embedded text is generated and checked by a test, so it always parses; an
        // empty catalog rather than a panic if someone breaks it by hand.
        CATALOG.get_or_init(|| Catalog::from_tsv(EMBEDDED_CATALOG_TSV).unwrap_or_default())
    }

    /// The table of `release` in the embedded catalog, built once per process and release.
    pub fn embedded_table(release: Release) -> Option<&'static EndpointTable> {
        static TABLES: [OnceLock<Option<EndpointTable>>; 64] = [const { OnceLock::new() }; 64];
        if release.major != 1 {
            return None;
        }
        TABLES
            .get(usize::from(release.minor))?
            .get_or_init(|| Catalog::embedded().table(release))
            .as_ref()
    }

    /// Builds the catalog from each release's operations (the generator's work).
    pub fn build(releases: Vec<(Release, Vec<Operation>)>) -> Catalog {
        let mut index: HashMap<String, usize> = HashMap::new();
        let mut rows: Vec<(ReleaseSet, Operation)> = Vec::new();
        for (release, ops) in releases {
            for op in ops {
                let key = tsv::write_rows(&[(ReleaseSet::EMPTY, op.clone())], false);
                let at = *index.entry(key).or_insert_with(|| {
                    rows.push((ReleaseSet::EMPTY, op));
                    rows.len() - 1
                });
                rows[at].0.insert(release);
            }
        }
        rows.sort_by(|(sa, a), (sb, b)| {
            (&a.path, &a.method, &a.id, sa.iter().next()).cmp(&(
                &b.path,
                &b.method,
                &b.id,
                sb.iter().next(),
            ))
        });
        Catalog { rows }
    }

    /// Reads the text form written by [`Catalog::to_tsv`].
    pub fn from_tsv(text: &str) -> Result<Catalog, EndpointError> {
        Ok(Catalog {
            rows: tsv::parse(text)?,
        })
    }

    /// Writes the catalog as text: a comment, a header row, then one tab-separated row per
    /// operation and field variant (see `assets/endpoints/README.md`).
    pub fn to_tsv(&self) -> String {
        tsv::write_rows(&self.rows, true)
    }

    /// Every row: the releases that have it, and the operation.
    pub fn rows(&self) -> &[(ReleaseSet, Operation)] {
        &self.rows
    }

    /// Every release the catalog knows, oldest first.
    pub fn releases(&self) -> Vec<Release> {
        self.rows
            .iter()
            .fold(ReleaseSet::EMPTY, |acc, (set, _)| acc.union(*set))
            .iter()
            .collect()
    }

    /// The newest release the catalog knows (1.37 in the embedded one).
    pub fn latest(&self) -> Option<Release> {
        self.releases().last().copied()
    }

    /// True when the catalog has operations of `release`.
    pub fn has(&self, release: Release) -> bool {
        self.rows.iter().any(|(set, _)| set.contains(release))
    }

    /// The operations of `release`, in catalog order (path, then method).
    pub fn operations(&self, release: Release) -> impl Iterator<Item = &Operation> {
        self.rows
            .iter()
            .filter(move |(set, _)| set.contains(release))
            .map(|(_, op)| op)
    }

    /// The endpoint table of `release` (its [`crate::model::OpId`]s are positions in
    /// [`Catalog::operations`]); `None` when the catalog does not know the release.
    pub fn table(&self, release: Release) -> Option<EndpointTable> {
        let ops: Vec<Operation> = self.operations(release).cloned().collect();
        (!ops.is_empty()).then(|| EndpointTable::from_operations(ops))
    }

    /// The release to use for a requested or detected `release` the catalog may not have:
    /// itself when known, else the nearest known one (the oldest for older releases, the
    /// newest for newer ones).
    pub fn nearest(&self, release: Release) -> Option<Release> {
        let all = self.releases();
        if all.contains(&release) {
            return Some(release);
        }
        all.iter()
            .copied()
            .find(|r| *r > release)
            .or_else(|| all.last().copied())
    }
}

/// The per-release tables, built on demand, for telling which releases match a request.
#[derive(Debug, Default)]
pub struct ReleaseTables {
    tables: Vec<(Release, EndpointTable)>,
}

impl ReleaseTables {
    /// A table per release of `catalog`.
    pub fn new(catalog: &Catalog) -> ReleaseTables {
        ReleaseTables {
            tables: catalog
                .releases()
                .into_iter()
                .filter_map(|r| catalog.table(r).map(|t| (r, t)))
                .collect(),
        }
    }

    /// The releases whose table has an operation for `verb` and `request_uri`.
    pub fn matching(&self, verb: &str, request_uri: &str) -> ReleaseSet {
        let mut set = ReleaseSet::EMPTY;
        for (release, table) in &self.tables {
            if table.match_request(verb, request_uri).is_some() {
                set.insert(*release);
            }
        }
        set
    }
}

/// The operations listed in an APISnoop coverage file (`resources/coverage/X.Y.Z.json`).
pub fn operations_from_apisnoop(json: &[u8]) -> Result<Vec<Operation>, EndpointError> {
    #[derive(Deserialize)]
    struct File {
        endpoints: Vec<Endpoint>,
    }
    #[derive(Deserialize)]
    struct Endpoint {
        endpoint: String,
        path: String,
        level: String,
        category: String,
        kind: Option<String>,
        group: Option<String>,
        version: Option<String>,
        action: Option<String>,
        description: Option<String>,
    }
    let file: File = serde_json::from_slice(json)?;
    let mut ops = Vec::with_capacity(file.endpoints.len());
    for e in file.endpoints {
        let action = e.action.unwrap_or_default();
        let method = method_of(&action, &e.endpoint).ok_or_else(|| {
            EndpointError::Spec(format!(
                "no HTTP method for {} (action {action:?})",
                e.endpoint
            ))
        })?;
        let description = e.description.unwrap_or_default();
        ops.push(Operation {
            method: method.to_string(),
            path: e.path,
            has_gvk: e.kind.is_some(),
            kind: e.kind.unwrap_or_default(),
            group: e.group.unwrap_or_default(),
            version: e.version.unwrap_or_default(),
            deprecated: description.to_ascii_lowercase().contains("deprecated"),
            description,
            level: e.level,
            category: e.category,
            action,
            id: e.endpoint,
        });
    }
    Ok(ops)
}

/// The HTTP method of an operation from its `x-kubernetes-action` and, for `connect` and
/// operations without an action, from its operationId (`connectCoreV1HeadNodeProxy`,
/// `getCoreAPIVersions`, `logFileHandler`).
pub fn method_of(action: &str, op_id: &str) -> Option<&'static str> {
    Some(match action {
        "get" | "list" | "watch" | "watchlist" => "GET",
        "post" => "POST",
        "put" => "PUT",
        "patch" => "PATCH",
        "delete" | "deletecollection" => "DELETE",
        "connect" => {
            // connect<Group><Version><Method><Resource>: the first method word after the
            // version (group names never spell one).
            const WORDS: [(&str, &str); 7] = [
                ("Options", "OPTIONS"),
                ("Delete", "DELETE"),
                ("Patch", "PATCH"),
                ("Head", "HEAD"),
                ("Post", "POST"),
                ("Get", "GET"),
                ("Put", "PUT"),
            ];
            let rest = op_id.strip_prefix("connect")?;
            return WORDS
                .iter()
                .filter_map(|(w, m)| rest.find(w).map(|at| (at, *m)))
                .min_by_key(|(at, _)| *at)
                .map(|(_, m)| m);
        }
        _ => {
            const PREFIXES: [(&str, &str); 6] = [
                ("get", "GET"),
                ("log", "GET"),
                ("list", "GET"),
                ("create", "POST"),
                ("replace", "PUT"),
                ("delete", "DELETE"),
            ];
            return PREFIXES
                .iter()
                .find(|(p, _)| op_id.starts_with(p))
                .map(|(_, m)| *m);
        }
    })
}

/// Builds the catalog from the files of [`SOURCES`] under `root` (the repository root): what
/// `cargo run --example gen_endpoints` writes and the drift test compares.
pub fn build_from_sources(root: &str) -> Result<Catalog, String> {
    let mut releases = Vec::with_capacity(SOURCES.len());
    for &(release, kind, path) in SOURCES {
        let full = std::path::Path::new(root).join(path);
        let full = full.to_string_lossy();
        let bytes = crate::ingest::source::read_to_vec(&full).map_err(|e| e.to_string())?;
        let ops = match kind {
            SourceKind::OpenApi => super::openapi::parse(&bytes),
            SourceKind::ApisnoopCoverage => operations_from_apisnoop(&bytes),
        }
        .map_err(|e| format!("{full}: {e}"))?;
        let release = Release::parse(release).ok_or_else(|| format!("bad release {release}"))?;
        releases.push((release, ops));
    }
    Ok(Catalog::build(releases))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn methods_follow_action_and_operation_id() {
        assert_eq!(
            method_of("connect", "connectCoreV1HeadNodeProxyWithPath"),
            Some("HEAD")
        );
        assert_eq!(
            method_of("connect", "connectCoreV1OptionsNamespacedServiceProxy"),
            Some("OPTIONS")
        );
        assert_eq!(
            method_of("connect", "connectCoreV1PostNamespacedPodPortforward"),
            Some("POST")
        );
        assert_eq!(
            method_of("connect", "connectCoreV1GetNamespacedPodExec"),
            Some("GET")
        );
        assert_eq!(method_of("deletecollection", "x"), Some("DELETE"));
        assert_eq!(method_of("", "getCoreAPIVersions"), Some("GET"));
        assert_eq!(method_of("", "logFileListHandler"), Some("GET"));
        assert_eq!(method_of("", "whatever"), None);
    }
}
