//! APISnoop's published coverage files, as the tests compare runs and diffs with them.
#![allow(dead_code)]

use std::collections::BTreeMap;

use serde_json::Value;

use super::fixture_bytes;

/// The published coverage file `apisnoop-coverage-{release}.json.gz`, parsed.
pub fn published(release: &str) -> Value {
    serde_json::from_slice(&fixture_bytes(&format!(
        "apisnoop-coverage-{release}.json.gz"
    )))
    .expect("a published coverage file is JSON")
}

/// A published file's endpoints: operationId → tested.
pub fn tested_by_endpoint(file: &Value) -> BTreeMap<String, bool> {
    file["endpoints"]
        .as_array()
        .expect("endpoints[]")
        .iter()
        .map(|e| {
            (
                e["endpoint"].as_str().expect("endpoint").to_string(),
                e["tested"].as_bool().expect("tested"),
            )
        })
        .collect()
}

/// What `diff` must find between two published files, computed from their JSON alone:
/// [added, removed, newly tested, no longer tested], each sorted by operationId.
pub fn published_differences(old: &Value, new: &Value) -> [Vec<String>; 4] {
    let (o, n) = (tested_by_endpoint(old), tested_by_endpoint(new));
    let now_tested = |tested: bool| -> Vec<String> {
        n.iter()
            .filter(|(k, t)| **t == tested && o.get(*k) == Some(&!tested))
            .map(|(k, _)| k.clone())
            .collect()
    };
    [
        n.keys().filter(|k| !o.contains_key(*k)).cloned().collect(),
        o.keys().filter(|k| !n.contains_key(*k)).cloned().collect(),
        now_tested(true),
        now_tested(false),
    ]
}
