//! `diff` between runs of two releases, rebuilt from APISnoop's published 1.33 and 1.34
//! coverage files, must give exactly the endpoint differences the two files show, also with the
//! 1.33 file itself as OLD; and the gate passes one way and fails the other.
//!
//! The runs are rebuilt here in memory: the release's endpoint table from the embedded catalog,
//! one spec per test named in the file, and one request attributed by user agent for every
//! (endpoint, test) pair of the file. So this checks the release tables, the one coverage
//! function and the comparison; `tests/apisnoop_repro.rs` does the same through the binary on
//! logs written by `synth::apisnoop` and correlated with `--release`.

mod common;

use std::collections::{BTreeMap, BTreeSet};

use auditscope::diff::{Side, SideKind, SideOptions, compare, load_side};
use auditscope::endpoints::Catalog;
use auditscope::model::Release;
use auditscope::run::{
    Attribution, OpId, ReleaseSource, Request, Run, RunRelease, Spec, SpecId, Stage,
};
use common::apisnoop::{self, tested_by_endpoint};
use common::{fixture, fixture_bytes};
use serde_json::Value;

const V133: &str = "apisnoop-coverage-1.33.0.json.gz";
const V134: &str = "apisnoop-coverage-1.34.0.json.gz";

/// A published file's endpoints: operationId → tested.
fn published(name: &str) -> BTreeMap<String, bool> {
    tested_by_endpoint(&serde_json::from_slice(&fixture_bytes(name)).unwrap())
}

/// (added, removed, newly tested, no longer tested) between two published files.
fn published_differences(
    old: &str,
    new: &str,
) -> (Vec<String>, Vec<String>, Vec<String>, Vec<String>) {
    let read = |name: &str| -> Value { serde_json::from_slice(&fixture_bytes(name)).unwrap() };
    let [added, removed, newly, lost] = apisnoop::published_differences(&read(old), &read(new));
    (added, removed, newly, lost)
}

/// A run of the file's release in which every test of each endpoint's `tests[]` called it.
fn rebuilt_run(name: &str) -> Run {
    let v: Value = serde_json::from_slice(&fixture_bytes(name)).unwrap();
    let release = Release::parse(v["release"].as_str().unwrap()).unwrap();
    let operations: Vec<_> = Catalog::embedded().operations(release).cloned().collect();
    assert!(!operations.is_empty(), "no table for {release}");
    let mut run = Run {
        operations,
        release: Some(RunRelease {
            release,
            source: ReleaseSource::Flag,
            evidence: release.to_string(),
            detected: None,
        }),
        ..Run::default()
    };
    let conformance: BTreeMap<&str, bool> = v["tests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                t["test"].as_str().unwrap(),
                t["conformance_test"].as_bool().unwrap_or(false),
            )
        })
        .collect();
    let mut specs: BTreeMap<String, SpecId> = BTreeMap::new();
    for e in v["endpoints"].as_array().unwrap() {
        let id = e["endpoint"].as_str().unwrap();
        let op = run
            .operations
            .iter()
            .position(|o| o.id == id)
            .unwrap_or_else(|| panic!("{id} not in the {release} table"));
        for t in e["tests"].as_array().unwrap() {
            let Some(t) = t.as_str() else { continue };
            let spec = *specs.entry(t.to_string()).or_insert_with(|| {
                run.specs.push(Spec {
                    name: run.strings.intern(t),
                    conformance: conformance.get(t).copied().unwrap_or(false),
                    ..Spec::default()
                });
                SpecId::from_index(run.specs.len() - 1)
            });
            let n = run.requests.len() as i64;
            run.requests.push(Request {
                audit_id: format!("id-{n}").into(),
                verb: run.strings.intern("get"),
                uri: run.strings.intern("/"),
                code: 200,
                stage: Stage::ResponseComplete,
                stage_events: 1,
                received: 1_700_000_000_000_000 + n * 1000,
                completed: 1_700_000_000_000_000 + n * 1000 + 5000,
                spec: Some(spec),
                attribution: Attribution::Ua,
                endpoint: Some(OpId::from_index(op)),
                ..Request::default()
            });
        }
    }
    run
}

fn side(name: &str) -> Side {
    Side::from_run(
        &rebuilt_run(name),
        name.to_string(),
        SideKind::Run,
        &SideOptions::default(),
    )
    .unwrap()
}

#[test]
fn rebuilt_runs_give_the_published_differences() {
    let (r133, r134) = (side(V133), side(V134));
    // The rebuilt runs list exactly the files' endpoints, tested where the files say.
    for (s, file) in [(&r133, V133), (&r134, V134)] {
        let listed: BTreeMap<String, bool> = s
            .coverage
            .endpoints
            .iter()
            .map(|e| (e.endpoint.clone(), e.tested))
            .collect();
        assert_eq!(listed, published(file), "{file}");
    }
    for (old, new, o, n) in [(&r133, &r134, V133, V134), (&r134, &r133, V134, V133)] {
        let d = compare(old, new);
        let (added, removed, newly, lost) = published_differences(o, n);
        assert_eq!(d.endpoints.added, added, "{o} → {n}");
        assert_eq!(d.endpoints.removed, removed, "{o} → {n}");
        assert_eq!(d.endpoints.newly_tested, newly, "{o} → {n}");
        assert_eq!(d.endpoints.no_longer_tested, lost, "{o} → {n}");
        assert!(d.releases_differ);
    }
    assert!(compare(&r133, &r134).gate().is_ok());
    let back = compare(&r134, &r133);
    assert_eq!(back.endpoints.no_longer_tested.len(), 12);
    assert!(back.gate().is_err());
}

#[test]
fn the_published_file_as_old_against_a_rebuilt_run() {
    let file133 = load_side(&[fixture(V133)], "old", &SideOptions::default()).unwrap();
    let file134 = load_side(&[fixture(V134)], "old", &SideOptions::default()).unwrap();
    let (r133, r134) = (side(V133), side(V134));
    let d = compare(&file133, &r134);
    let (added, removed, newly, lost) = published_differences(V133, V134);
    assert_eq!(d.endpoints.added, added);
    assert_eq!(d.endpoints.removed, removed);
    assert_eq!(d.endpoints.newly_tested, newly);
    assert_eq!(d.endpoints.no_longer_tested, lost);
    assert!(d.gate().is_ok());
    let back = compare(&file134, &r133);
    let (_, _, _, lost) = published_differences(V134, V133);
    assert_eq!(back.endpoints.no_longer_tested, lost);
    assert!(back.gate().is_err());
    // The eligible ones among them come from the run's release table and the one rule set.
    let eligible: BTreeSet<&String> = back.endpoints.eligible.iter().collect();
    let msg = back.gate().unwrap_err().to_string();
    if let Some(first) = back
        .endpoints
        .no_longer_tested
        .iter()
        .find(|e| eligible.contains(e))
    {
        assert!(msg.contains(&format!("listed first): {first}")), "{msg}");
    }
}
