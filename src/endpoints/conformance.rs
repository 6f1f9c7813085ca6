//! Kubernetes' conformance lists, as `test/conformance/testdata/` keeps them: which endpoints
//! are ineligible for conformance tests (`ineligible_endpoints.yaml`), which are pending
//! (`pending_eligible_endpoints.yaml`), and the conformance tests (`conformance.yaml`); and
//! APISnoop's release dates (`releases.yaml`). Snapshots are embedded from
//! `assets/conformance/` (see `tests/fixtures/PROVENANCE.md` for where they come from); other
//! copies are read with the `from_*` functions.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde::Deserialize;
use thiserror::Error;

use crate::model::Release;

const INELIGIBLE_YAML: &str = include_str!("../../assets/conformance/ineligible_endpoints.yaml");
const PENDING_YAML: &str = include_str!("../../assets/conformance/pending_eligible_endpoints.yaml");
const CONFORMANCE_YAML: &str = include_str!("../../assets/conformance/conformance.yaml");
const RELEASES_YAML: &str = include_str!("../../assets/conformance/apisnoop-releases.yaml");

/// Why a list could not be read.
#[derive(Debug, Error)]
pub enum ListError {
    /// Not YAML (or JSON) of the expected shape.
    #[error("{path}: {message}")]
    Format { path: String, message: String },
}

/// One entry of the ineligible list.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Ineligible {
    /// The operationId.
    pub endpoint: String,
    #[serde(default)]
    pub reason: String,
    #[serde(default)]
    pub link: String,
}

/// The operations that do not count as conformance eligible, and those pending.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Eligibility {
    /// operationId → why it is ineligible.
    pub ineligible: BTreeMap<String, Ineligible>,
    /// operationIds eligible but pending (tests are being written); shown apart.
    pub pending: BTreeSet<String>,
    /// Where the ineligible list came from (`embedded` or a path).
    pub source: String,
}

impl Eligibility {
    /// The embedded snapshots of Kubernetes' lists (99 ineligible, 13 pending).
    pub fn embedded() -> Eligibility {
        // Both are embedded and checked by tests, so they parse; empty lists rather than a
        // panic if someone breaks them by hand.
        Eligibility {
            ineligible: parse_ineligible(INELIGIBLE_YAML.as_bytes(), "embedded")
                .unwrap_or_default(),
            pending: parse_pending(PENDING_YAML.as_bytes(), "embedded").unwrap_or_default(),
            source: "embedded ineligible_endpoints.yaml".to_string(),
        }
    }

    /// Replaces the ineligible list by the one in `bytes`: Kubernetes'
    /// `ineligible_endpoints.yaml` or APISnoop's `ineligible_endpoints.json` (the same
    /// entries as a JSON array).
    pub fn with_ineligible(mut self, bytes: &[u8], path: &str) -> Result<Eligibility, ListError> {
        self.ineligible = parse_ineligible(bytes, path)?;
        self.source = path.to_string();
        Ok(self)
    }

    /// True when the list names `op_id` ineligible.
    pub fn is_ineligible(&self, op_id: &str) -> bool {
        self.ineligible.contains_key(op_id)
    }

    /// True when `op_id` is pending.
    pub fn is_pending(&self, op_id: &str) -> bool {
        self.pending.contains(op_id)
    }
}

fn format_error(path: &str, message: impl std::fmt::Display) -> ListError {
    ListError::Format {
        path: path.to_string(),
        message: message.to_string(),
    }
}

fn parse_ineligible(bytes: &[u8], path: &str) -> Result<BTreeMap<String, Ineligible>, ListError> {
    // JSON is read by serde_json (exact numbers and escapes), YAML by serde_norway.
    let first = bytes.iter().find(|b| !b.is_ascii_whitespace());
    let list: Vec<Ineligible> = if first == Some(&b'[') {
        serde_json::from_slice(bytes).map_err(|e| format_error(path, e))?
    } else {
        serde_norway::from_slice(bytes).map_err(|e| format_error(path, e))?
    };
    Ok(list.into_iter().map(|e| (e.endpoint.clone(), e)).collect())
}

fn parse_pending(bytes: &[u8], path: &str) -> Result<BTreeSet<String>, ListError> {
    let list: Vec<String> = serde_norway::from_slice(bytes).map_err(|e| format_error(path, e))?;
    Ok(list.into_iter().collect())
}

/// One conformance test of `conformance.yaml`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct ConformanceTest {
    /// The short name (`Proxy, validate Proxy responses`).
    pub testname: String,
    /// The full spec text, as the e2e user agent carries it.
    pub codename: String,
    #[serde(default)]
    pub description: String,
    /// When it was promoted to conformance, as written (`v1.9`, `v1.17, v1.21, v1.27`).
    #[serde(default)]
    pub release: String,
    /// The source file (`test/e2e/network/proxy.go`).
    #[serde(default)]
    pub file: String,
}

impl ConformanceTest {
    /// The release it was first promoted in (`v1.17, v1.21` → 1.17).
    pub fn promotion_release(&self) -> Option<Release> {
        self.release.split(',').filter_map(Release::parse).min()
    }

    /// The promotion release APISnoop's files give it: the last of the list (a test changed
    /// and promoted again: `v1.17, v1.21, v1.27` → 1.27), and 1.9 when the list is empty.
    pub fn apisnoop_promotion_release(&self) -> Option<Release> {
        if self.release.trim().is_empty() {
            return Some(Release::new(1, 9));
        }
        self.release
            .split(',')
            .filter_map(Release::parse)
            .next_back()
    }
}

/// The conformance tests by spec text.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ConformanceTests {
    by_codename: HashMap<String, ConformanceTest>,
    /// Where the list came from (`embedded` or a path).
    pub source: String,
}

impl ConformanceTests {
    /// The embedded snapshot of Kubernetes' `conformance.yaml` (402 tests).
    pub fn embedded() -> ConformanceTests {
        Self::from_yaml(CONFORMANCE_YAML.as_bytes(), "embedded conformance.yaml")
            .unwrap_or_default()
    }

    /// Reads a `conformance.yaml`.
    pub fn from_yaml(bytes: &[u8], path: &str) -> Result<ConformanceTests, ListError> {
        let list: Vec<ConformanceTest> =
            serde_norway::from_slice(bytes).map_err(|e| format_error(path, e))?;
        Ok(ConformanceTests {
            by_codename: list.into_iter().map(|t| (t.codename.clone(), t)).collect(),
            source: path.to_string(),
        })
    }

    /// The test whose spec text is `name`.
    pub fn get(&self, name: &str) -> Option<&ConformanceTest> {
        self.by_codename.get(name)
    }

    /// Number of tests.
    pub fn len(&self) -> usize {
        self.by_codename.len()
    }

    /// True when there is none.
    pub fn is_empty(&self) -> bool {
        self.by_codename.is_empty()
    }
}

/// The release date APISnoop gives `release` (`2025-04-23`), from its `releases.yaml`;
/// `None` for a release it lists without one (the one in development).
pub fn release_date(release: Release) -> Option<String> {
    #[derive(Deserialize)]
    struct Entry {
        version: String,
        #[serde(default)]
        release_date: String,
    }
    let list: Vec<Entry> = serde_norway::from_str(RELEASES_YAML).ok()?;
    list.into_iter()
        .find(|e| Release::parse(&e.version) == Some(release))
        .map(|e| e.release_date)
        .filter(|d| !d.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_lists_parse() {
        let e = Eligibility::embedded();
        assert_eq!((e.ineligible.len(), e.pending.len()), (99, 13));
        assert!(e.is_ineligible("connectCoreV1DeleteNodeProxy"));
        assert!(e.is_pending("createCoreV1Node"));
        let c = ConformanceTests::embedded();
        assert_eq!(c.len(), 402);
        let t = c
            .get("[sig-api-machinery] Aggregator Should be able to support the 1.17 Sample API Server using the current Aggregator [Conformance]")
            .unwrap();
        assert_eq!(t.promotion_release(), Some(Release::new(1, 17)));
        assert_eq!(
            release_date(Release::new(1, 33)).as_deref(),
            Some("2025-04-23")
        );
        assert_eq!(release_date(Release::new(1, 37)), None);
    }

    #[test]
    fn ineligible_json_or_yaml() {
        let json = br#"[{"link": "l", "reason": "r", "endpoint": "a"}, {"endpoint": "b"}]"#;
        let e = Eligibility::embedded()
            .with_ineligible(json, "x.json")
            .unwrap();
        assert_eq!(e.ineligible.keys().collect::<Vec<_>>(), ["a", "b"]);
        let err = Eligibility::embedded()
            .with_ineligible(b"- {", "bad.yaml")
            .unwrap_err();
        assert!(err.to_string().starts_with("bad.yaml: "), "{err}");
    }
}
