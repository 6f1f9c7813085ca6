//! `report coverage`: APISnoop's coverage JSON, computed from one run.
//!
//! The output has exactly the shape and field names of APISnoop's
//! `resources/coverage/<release>.json` (top-level totals such as `"total endpoints"`, an
//! `endpoints` array and a `tests` array), so tools written for APISnoop's files read ours.
//! Keys are in the order APISnoop's files have them (shortest first, as PostgreSQL's jsonb
//! writes them).
//!
//! What counts, following APISnoop's snoopdb:
//! - An operation is *tested* when a request matched to it is attributed to a spec by its user
//!   agent (`ua`), or also by time window when `count_window` is set; *conf_tested* when one
//!   of those specs is a `[Conformance]` spec. Requests must pass the [`RequestFilter`].
//! - `endpoints` lists every operation of the run's table, tested or not, including the
//!   deprecated ones (APISnoop drops those; we keep them so nothing is hidden), sorted as
//!   APISnoop sorts (`level` descending: stable, beta, alpha; then operationId).
//! - `"total endpoints"` and `"tested endpoints"` count only operations that are not
//!   deprecated (APISnoop's `endpoint_coverage` view: `where deprecated is false`; in the
//!   Kubernetes spec the deprecated ones are the legacy `watch*` operations). Alpha and beta
//!   operations are counted, as in APISnoop's file (874 = 664 stable + 134 beta + 76 alpha).
//! - *Conformance eligible* operations are APISnoop's rule-based set: stable, not deprecated,
//!   path without `volume` or `storage`, kind not `ComponentStatus`, not a `Node` delete or
//!   create, and not `getFlowcontrolApiserverAPIGroup`, `createCoreV1NamespacedServiceAccountToken`,
//!   `getInternalApiserverAPIGroup`; the two service-account-issuer discovery operations,
//!   which APISnoop labels beta, are left out too. (Newer APISnoop subtracts Kubernetes'
//!   `test/conformance/testdata/ineligible_endpoints.yaml` list instead; that list is not
//!   embedded here, so our eligible totals can be somewhat larger.) "tested conformance
//!   eligible" counts eligible operations that are `conf_tested`.
//! - The `new …` totals compare with an earlier release; one run has none, so they are 0.
//! - `tests` lists the specs that tested at least one operation, with `conformance_test`
//!   from the spec and `file` from its location; `testname`, `promotion_release` and
//!   `release` are `null` (they come from Kubernetes' conformance.yaml, which we do not read).
//! - An untested operation has `"tests": []` (APISnoop writes `[null]`).

use std::collections::{BTreeSet, HashMap};

use serde::{Deserialize, Serialize};

use super::filter::RequestFilter;
use crate::endpoints::Operation;
use crate::run::{Attribution, OpId, Run, SpecId};

/// One operation in the coverage file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CoverageEndpoint {
    /// Kind; `null` when the spec names none.
    pub kind: Option<String>,
    pub path: String,
    /// API group (`""` core); `null` when the spec names none.
    pub group: Option<String>,
    pub level: String,
    /// Names of the specs that tested it, sorted. (APISnoop's `[null]` reads as empty.)
    #[serde(deserialize_with = "strings_without_nulls")]
    pub tests: Vec<String>,
    /// `x-kubernetes-action`; `null` when absent.
    pub action: Option<String>,
    pub tested: bool,
    pub release: Option<String>,
    pub version: Option<String>,
    pub category: String,
    /// operationId.
    pub endpoint: String,
    pub conf_tested: bool,
    pub description: Option<String>,
}

/// Reads a list of strings, dropping `null`s (APISnoop writes `[null]` for "no tests").
fn strings_without_nulls<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    let items: Vec<Option<String>> = Deserialize::deserialize(d)?;
    Ok(items.into_iter().flatten().collect())
}

/// One spec in the coverage file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CoverageTest {
    /// Source file of the spec, when known.
    pub file: Option<String>,
    /// The spec's full name.
    pub test: String,
    pub release: Option<String>,
    pub testname: Option<String>,
    pub conformance_test: bool,
    pub promotion_release: Option<String>,
}

/// APISnoop's coverage document.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Coverage {
    /// Where the OpenAPI spec came from; `null` unless the caller sets it.
    pub spec: Option<String>,
    pub tests: Vec<CoverageTest>,
    /// Kubernetes release; `null` unless the caller sets it.
    pub release: Option<String>,
    /// The audit inputs the run was read from.
    pub sources: Vec<String>,
    pub endpoints: Vec<CoverageEndpoint>,
    /// `null` unless the caller sets it.
    pub release_date: Option<String>,
    #[serde(rename = "total endpoints")]
    pub total_endpoints: u64,
    #[serde(rename = "tested endpoints")]
    pub tested_endpoints: u64,
    #[serde(rename = "new conformance eligible endpoints")]
    pub new_conformance_eligible_endpoints: u64,
    #[serde(rename = "total conformance eligible endpoints")]
    pub total_conformance_eligible_endpoints: u64,
    #[serde(rename = "tested conformance eligible endpoints")]
    pub tested_conformance_eligible_endpoints: u64,
    #[serde(rename = "new tested conformance eligible endpoints")]
    pub new_tested_conformance_eligible_endpoints: u64,
}

/// True for operations APISnoop counts as eligible for conformance tests (see the module doc).
pub fn conformance_eligible(op: &Operation) -> bool {
    const EXCLUDED: [&str; 5] = [
        "getFlowcontrolApiserverAPIGroup",
        "createCoreV1NamespacedServiceAccountToken",
        "getInternalApiserverAPIGroup",
        "getServiceAccountIssuerOpenIDConfiguration",
        "getServiceAccountIssuerOpenIDKeyset",
    ];
    op.level == "stable"
        && !op.deprecated
        && !op.path.contains("volume")
        && !op.path.contains("storage")
        && op.kind != "ComponentStatus"
        && !(op.kind == "Node" && (op.action == "delete" || op.action == "post"))
        && !EXCLUDED.contains(&op.id.as_str())
}

fn level_rank(level: &str) -> u8 {
    match level {
        "stable" => 0,
        "beta" => 1,
        "alpha" => 2,
        _ => 3,
    }
}

/// Builds the coverage document of `run` (see the module doc for what counts).
pub fn coverage_report(run: &Run, filter: &RequestFilter, count_window: bool) -> Coverage {
    let mut specs_per_op: HashMap<OpId, BTreeSet<SpecId>> = HashMap::new();
    for req in &run.requests {
        let counted = match req.attribution {
            Attribution::Ua => true,
            Attribution::Window => count_window,
            Attribution::Ambiguous | Attribution::None => false,
        };
        let (Some(op), Some(spec)) = (req.endpoint, req.spec) else {
            continue;
        };
        if !counted
            || run.specs.get(spec.index()).is_none_or(|s| s.suite_node)
            || !filter.matches(run, req)
        {
            continue;
        }
        specs_per_op.entry(op).or_default().insert(spec);
    }
    let spec_name = |s: SpecId| {
        run.specs
            .get(s.index())
            .map(|s| run.str(s.name).to_string())
    };
    let is_conf = |s: &SpecId| run.specs.get(s.index()).is_some_and(|s| s.conformance);
    // APISnoop writes null where the spec has no x-kubernetes-group-version-kind.
    let opt = |s: &str, known: bool| known.then(|| s.to_string());
    let mut all_specs: BTreeSet<SpecId> = BTreeSet::new();
    let mut coverage = Coverage {
        spec: None,
        tests: Vec::new(),
        release: None,
        sources: run
            .inputs
            .iter()
            .filter(|i| i.kind == "audit")
            .map(|i| i.path.clone())
            .collect(),
        endpoints: Vec::with_capacity(run.operations.len()),
        release_date: None,
        total_endpoints: 0,
        tested_endpoints: 0,
        new_conformance_eligible_endpoints: 0,
        total_conformance_eligible_endpoints: 0,
        tested_conformance_eligible_endpoints: 0,
        new_tested_conformance_eligible_endpoints: 0,
    };
    for (i, op) in run.operations.iter().enumerate() {
        let specs = specs_per_op.get(&OpId::from_index(i));
        let tested = specs.is_some_and(|s| !s.is_empty());
        let conf_tested = specs.is_some_and(|s| s.iter().any(is_conf));
        if let Some(specs) = specs {
            all_specs.extend(specs.iter().copied());
        }
        let mut tests: Vec<String> = specs
            .map(|s| s.iter().filter_map(|&s| spec_name(s)).collect())
            .unwrap_or_default();
        tests.sort();
        tests.dedup();
        if !op.deprecated {
            coverage.total_endpoints += 1;
            coverage.tested_endpoints += u64::from(tested);
        }
        if conformance_eligible(op) {
            coverage.total_conformance_eligible_endpoints += 1;
            coverage.tested_conformance_eligible_endpoints += u64::from(conf_tested);
        }
        coverage.endpoints.push(CoverageEndpoint {
            kind: opt(&op.kind, op.has_gvk),
            path: op.path.clone(),
            group: opt(&op.group, op.has_gvk),
            level: op.level.clone(),
            tests,
            action: (!op.action.is_empty()).then(|| op.action.clone()),
            tested,
            release: None,
            version: opt(&op.version, op.has_gvk),
            category: op.category.clone(),
            endpoint: op.id.clone(),
            conf_tested,
            description: (!op.description.is_empty()).then(|| op.description.clone()),
        });
    }
    coverage.endpoints.sort_by(|a, b| {
        level_rank(&a.level)
            .cmp(&level_rank(&b.level))
            .then_with(|| a.endpoint.cmp(&b.endpoint))
    });
    let mut tests: Vec<CoverageTest> = all_specs
        .into_iter()
        .filter_map(|s| {
            let spec = run.specs.get(s.index())?;
            let location = run.str(spec.location);
            let file = location.rsplit_once(':').map_or(location, |(f, _)| f);
            Some(CoverageTest {
                file: (!file.is_empty()).then(|| file.to_string()),
                test: run.str(spec.name).to_string(),
                release: None,
                testname: None,
                conformance_test: spec.conformance,
                promotion_release: None,
            })
        })
        .collect();
    tests.sort_by(|a, b| a.test.cmp(&b.test));
    tests.dedup_by(|a, b| a.test == b.test);
    coverage.tests = tests;
    coverage
}

/// Writes the coverage for people: the totals, then per level the tested share, then the
/// untested conformance-eligible operations (what a reviewer looks for next).
pub fn write_text(c: &Coverage, w: &mut dyn std::io::Write) -> std::io::Result<()> {
    let pct = |n: u64, d: u64| {
        if d == 0 {
            0.0
        } else {
            100.0 * n as f64 / d as f64
        }
    };
    writeln!(
        w,
        "endpoints              {:>5} tested of {:>5} ({:.1}%)",
        c.tested_endpoints,
        c.total_endpoints,
        pct(c.tested_endpoints, c.total_endpoints)
    )?;
    writeln!(
        w,
        "conformance eligible   {:>5} tested of {:>5} ({:.1}%)",
        c.tested_conformance_eligible_endpoints,
        c.total_conformance_eligible_endpoints,
        pct(
            c.tested_conformance_eligible_endpoints,
            c.total_conformance_eligible_endpoints
        )
    )?;
    for level in ["stable", "beta", "alpha"] {
        let all: Vec<&CoverageEndpoint> = c.endpoints.iter().filter(|e| e.level == level).collect();
        let tested = all.iter().filter(|e| e.tested).count();
        let conf = all.iter().filter(|e| e.conf_tested).count();
        writeln!(
            w,
            "  {level:<8} {tested:>5} tested, {conf:>5} by conformance specs, of {:>5}",
            all.len()
        )?;
    }
    let mut untested: Vec<&CoverageEndpoint> = c
        .endpoints
        .iter()
        .filter(|e| !e.tested && e.level == "stable")
        .collect();
    untested.sort_by(|a, b| a.endpoint.cmp(&b.endpoint));
    writeln!(w, "untested stable endpoints ({}):", untested.len())?;
    // Operation ids and paths can come from a user's `--openapi` file: shown escaped.
    for e in untested {
        writeln!(
            w,
            "  {:<60} {}",
            crate::text::escape_control(&e.endpoint),
            crate::text::escape_control(&e.path)
        )?;
    }
    Ok(())
}
