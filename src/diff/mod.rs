//! `auditscope diff OLD NEW`: what changed between two runs, two releases, or a run and a
//! published APISnoop coverage file, and a coverage gate for CI.
//!
//! Each side ([`Side`]) is reduced to its coverage in APISnoop's shape — through the same
//! coverage function `report coverage` uses, or as read from an APISnoop file — and the two
//! are compared by operationId ([`compare`]):
//! - endpoints `added` / `removed`: in NEW's endpoint table and not OLD's, and the reverse;
//! - among endpoints in both: `newly_tested` (with the tests that now hit them) and
//!   `no_longer_tested` (with the tests that used to);
//! - tests `added` / `removed` (a test is on a side when it tested at least one endpoint,
//!   as in APISnoop's `tests` list) and `changed` (endpoints gained and lost);
//! - the six coverage totals of each side;
//! - endpoints whose p50 or p99 latency grew beyond a threshold (default 1.5× and at least
//!   10 ms), from [`endpoint_latencies`](crate::report::latency::endpoint_latencies), when both
//!   sides are runs.
//!
//! The explorer's `--baseline` marks use [`Diff::endpoint_mark`] and [`Diff::test_mark`].

mod side;
mod write;

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde::Serialize;
use thiserror::Error;

pub use side::{Side, SideError, SideKind, SideOptions, load_side, load_sides};
pub use write::write_text;

use crate::report::coverage::Coverage;
use crate::report::latency::Percentiles;
use crate::run::Micros;

/// The six totals of a coverage file, under APISnoop's names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct Totals {
    #[serde(rename = "total endpoints")]
    pub total_endpoints: u64,
    #[serde(rename = "tested endpoints")]
    pub tested_endpoints: u64,
    #[serde(rename = "total conformance eligible endpoints")]
    pub total_conformance_eligible_endpoints: u64,
    #[serde(rename = "tested conformance eligible endpoints")]
    pub tested_conformance_eligible_endpoints: u64,
    #[serde(rename = "new conformance eligible endpoints")]
    pub new_conformance_eligible_endpoints: u64,
    #[serde(rename = "new tested conformance eligible endpoints")]
    pub new_tested_conformance_eligible_endpoints: u64,
}

impl Totals {
    /// The totals of a coverage document.
    pub fn of(c: &Coverage) -> Totals {
        Totals {
            total_endpoints: c.total_endpoints,
            tested_endpoints: c.tested_endpoints,
            total_conformance_eligible_endpoints: c.total_conformance_eligible_endpoints,
            tested_conformance_eligible_endpoints: c.tested_conformance_eligible_endpoints,
            new_conformance_eligible_endpoints: c.new_conformance_eligible_endpoints,
            new_tested_conformance_eligible_endpoints: c.new_tested_conformance_eligible_endpoints,
        }
    }

    /// Conformance-eligible coverage in percent (0 when nothing is eligible).
    pub fn eligible_percent(&self) -> f64 {
        percent(
            self.tested_conformance_eligible_endpoints,
            self.total_conformance_eligible_endpoints,
        )
    }

    /// The totals with their APISnoop names, in report order.
    pub fn named(&self) -> [(&'static str, u64); 6] {
        [
            ("total endpoints", self.total_endpoints),
            ("tested endpoints", self.tested_endpoints),
            (
                "total conformance eligible endpoints",
                self.total_conformance_eligible_endpoints,
            ),
            (
                "tested conformance eligible endpoints",
                self.tested_conformance_eligible_endpoints,
            ),
            (
                "new conformance eligible endpoints",
                self.new_conformance_eligible_endpoints,
            ),
            (
                "new tested conformance eligible endpoints",
                self.new_tested_conformance_eligible_endpoints,
            ),
        ]
    }
}

/// `n` of `d` in percent; 0 when `d` is 0.
pub fn percent(n: u64, d: u64) -> f64 {
    if d == 0 {
        0.0
    } else {
        100.0 * n as f64 / d as f64
    }
}

/// What a side was, for the reader.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SideInfo {
    /// The file(s), as named.
    pub source: String,
    /// What was read.
    pub kind: SideKind,
    /// The Kubernetes release, when the side says.
    pub release: Option<String>,
}

/// How the endpoints changed (lists of operationIds, sorted).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct EndpointChanges {
    /// In NEW's endpoint table and not in OLD's.
    pub added: Vec<String>,
    /// In OLD's endpoint table and not in NEW's.
    pub removed: Vec<String>,
    /// In both; untested in OLD, tested in NEW.
    pub newly_tested: Vec<String>,
    /// In both; tested in OLD, untested in NEW.
    pub no_longer_tested: Vec<String>,
    /// For each newly tested endpoint the tests that now hit it; for each endpoint no longer
    /// tested the tests that used to.
    pub tests: BTreeMap<String, Vec<String>>,
    /// Those of the four lists above that are conformance-eligible (in NEW where it says,
    /// else in OLD; an endpoint whose eligibility neither side knows is left out).
    pub eligible: Vec<String>,
}

/// How one test present on both sides changed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TestChange {
    /// The test's full name.
    pub test: String,
    /// Endpoints it tests in NEW and did not in OLD.
    pub gained: Vec<String>,
    /// Endpoints it tested in OLD and does not in NEW.
    pub lost: Vec<String>,
    /// Its requests in OLD (`null` for an APISnoop file, which counts none).
    pub requests_old: Option<u64>,
    /// Its requests in NEW.
    pub requests_new: Option<u64>,
}

/// How the tests changed.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct TestChanges {
    /// Tests that tested an endpoint in NEW but none in OLD.
    pub added: Vec<String>,
    /// Tests that tested an endpoint in OLD but none in NEW.
    pub removed: Vec<String>,
    /// Tests on both sides whose endpoints changed, by name.
    pub changed: Vec<TestChange>,
}

/// The six totals of each side.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TotalsPair {
    /// OLD's totals.
    pub old: Totals,
    /// NEW's totals.
    pub new: Totals,
}

/// The comparison of two sides; `--format json` writes it as is.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Diff {
    /// What OLD was.
    pub old: SideInfo,
    /// What NEW was.
    pub new: SideInfo,
    /// The two sides name different releases (endpoints are compared by operationId).
    pub releases_differ: bool,
    /// Endpoint changes.
    pub endpoints: EndpointChanges,
    /// Test changes.
    pub tests: TestChanges,
    /// The six coverage totals of each side.
    pub totals: TotalsPair,
    /// Endpoints whose latency grew beyond the threshold; `null` when a side has no
    /// latencies (an APISnoop file).
    pub latency: Option<LatencyChanges>,
    /// Things the reader should know (filters that could not apply to a side, …).
    pub notes: Vec<String>,
}

/// When an endpoint's latency counts as a regression: its p50 or p99 in NEW is more than
/// `ratio` times OLD's and at least `min_ms` more.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct LatencyThreshold {
    /// How many times slower (default 1.5).
    pub ratio: f64,
    /// And by at least this many milliseconds (default 10).
    pub min_ms: f64,
}

impl Default for LatencyThreshold {
    fn default() -> Self {
        LatencyThreshold {
            ratio: 1.5,
            min_ms: 10.0,
        }
    }
}

impl std::str::FromStr for LatencyThreshold {
    type Err = String;
    /// `RATIO[x][,MIN[ms]]`: `2`, `2x`, `1.5x,25ms`, `3,50`. A missing minimum is 10 ms.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let bad = || {
            format!(
                "{text:?} is not RATIO[x][,MIN[ms]] (e.g. \"1.5x,10ms\"), with RATIO ≥ 1 and MIN ≥ 0"
            )
        };
        let (ratio, min) = match text.split_once(',') {
            Some((r, m)) => (r, Some(m)),
            None => (text, None),
        };
        let ratio: f64 = ratio
            .trim()
            .trim_end_matches(['x', 'X', '×'])
            .parse()
            .map_err(|_| bad())?;
        let min_ms: f64 = match min {
            Some(m) => m.trim().trim_end_matches("ms").parse().map_err(|_| bad())?,
            None => LatencyThreshold::default().min_ms,
        };
        if !(ratio.is_finite() && ratio >= 1.0 && min_ms.is_finite() && min_ms >= 0.0) {
            return Err(bad());
        }
        Ok(LatencyThreshold { ratio, min_ms })
    }
}

impl LatencyThreshold {
    /// True when `new` (µs) grew beyond the threshold from `old` (µs).
    pub fn exceeded(&self, old: Micros, new: Micros) -> bool {
        new as f64 > old as f64 * self.ratio && (new - old) as f64 >= self.min_ms * 1000.0
    }
}

/// One endpoint whose latency regressed, with the counts behind each side's percentiles.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LatencyRegression {
    /// operationId, or `verb path` for requests no operation matched.
    pub endpoint: String,
    /// Requests measured in OLD and in NEW (watches and streams are never measured).
    pub count_old: u64,
    pub count_new: u64,
    /// Nearest-rank p50 and p99 in milliseconds, OLD and NEW.
    pub p50_old_ms: f64,
    pub p50_new_ms: f64,
    pub p99_old_ms: f64,
    pub p99_new_ms: f64,
}

/// The latency comparison.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LatencyChanges {
    /// The threshold used.
    pub threshold: LatencyThreshold,
    /// Endpoints on both sides whose p50 or p99 grew beyond it, the largest p99 growth first.
    pub regressions: Vec<LatencyRegression>,
}

/// Compares the per-endpoint latencies of two sides (both must have them).
fn latency_changes(
    old: &HashMap<String, Percentiles>,
    new: &HashMap<String, Percentiles>,
    threshold: LatencyThreshold,
) -> LatencyChanges {
    let ms = |us: Micros| us as f64 / 1000.0;
    let mut regressions: Vec<LatencyRegression> = new
        .iter()
        .filter_map(|(endpoint, n)| {
            let o = old.get(endpoint)?;
            (threshold.exceeded(o.p50, n.p50) || threshold.exceeded(o.p99, n.p99)).then(|| {
                LatencyRegression {
                    endpoint: endpoint.clone(),
                    count_old: o.count,
                    count_new: n.count,
                    p50_old_ms: ms(o.p50),
                    p50_new_ms: ms(n.p50),
                    p99_old_ms: ms(o.p99),
                    p99_new_ms: ms(n.p99),
                }
            })
        })
        .collect();
    regressions.sort_by(|a, b| {
        (b.p99_new_ms - b.p99_old_ms)
            .total_cmp(&(a.p99_new_ms - a.p99_old_ms))
            .then_with(|| a.endpoint.cmp(&b.endpoint))
    });
    LatencyChanges {
        threshold,
        regressions,
    }
}

/// How the explorer marks an endpoint against a baseline.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EndpointMark {
    /// In the new release's table only.
    Added,
    /// In the baseline's table only.
    Removed,
    /// Tested now, untested in the baseline.
    NewlyTested,
    /// Untested now, tested in the baseline.
    NoLongerTested,
}

/// How the explorer marks a test against a baseline.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TestMark {
    /// Tests endpoints now and tested none in the baseline.
    Added,
    /// Tested endpoints in the baseline and tests none now.
    Removed,
    /// On both sides, with endpoints gained or lost.
    Changed,
}

/// `--gate` failed: endpoints tested in OLD are untested in NEW.
#[derive(Debug, Error)]
#[error("gate: {} no longer tested{eligible_part}: {}", plural(.endpoints.len(), "endpoint"), .endpoints.join(", "))]
pub struct GateFailed {
    /// The endpoints, conformance-eligible ones first, each group sorted.
    pub endpoints: Vec<String>,
    /// How many of them are conformance-eligible.
    pub eligible: usize,
    eligible_part: String,
}

fn plural(n: usize, word: &str) -> String {
    if n == 1 {
        format!("1 {word}")
    } else {
        format!("{n} {word}s")
    }
}

impl Diff {
    /// The explorer's mark for an operationId, if it changed.
    pub fn endpoint_mark(&self, id: &str) -> Option<EndpointMark> {
        let has = |list: &[String]| list.binary_search_by(|x| x.as_str().cmp(id)).is_ok();
        let e = &self.endpoints;
        if has(&e.added) {
            Some(EndpointMark::Added)
        } else if has(&e.removed) {
            Some(EndpointMark::Removed)
        } else if has(&e.newly_tested) {
            Some(EndpointMark::NewlyTested)
        } else if has(&e.no_longer_tested) {
            Some(EndpointMark::NoLongerTested)
        } else {
            None
        }
    }

    /// The explorer's mark for a test (by full name), if it changed.
    pub fn test_mark(&self, test: &str) -> Option<TestMark> {
        let has = |list: &[String]| list.binary_search_by(|x| x.as_str().cmp(test)).is_ok();
        let t = &self.tests;
        if has(&t.added) {
            Some(TestMark::Added)
        } else if has(&t.removed) {
            Some(TestMark::Removed)
        } else if t
            .changed
            .binary_search_by(|c| c.test.as_str().cmp(test))
            .is_ok()
        {
            Some(TestMark::Changed)
        } else {
            None
        }
    }

    /// The `--gate` verdict: `Err` when any endpoint is no longer tested, naming them with
    /// the conformance-eligible ones first.
    pub fn gate(&self) -> Result<(), GateFailed> {
        let lost = &self.endpoints.no_longer_tested;
        if lost.is_empty() {
            return Ok(());
        }
        let eligible: BTreeSet<&String> = self.endpoints.eligible.iter().collect();
        let (mut first, rest): (Vec<String>, Vec<String>) =
            lost.iter().cloned().partition(|id| eligible.contains(id));
        let n_eligible = first.len();
        first.extend(rest);
        let eligible_part = if n_eligible > 0 {
            format!(" ({n_eligible} conformance-eligible, listed first)")
        } else {
            String::new()
        };
        Err(GateFailed {
            endpoints: first,
            eligible: n_eligible,
            eligible_part,
        })
    }
}

/// Compares two sides by operationId, with the default latency threshold.
pub fn compare(old: &Side, new: &Side) -> Diff {
    compare_with(old, new, LatencyThreshold::default())
}

/// Compares two sides by operationId; latency regressions are judged by `threshold`.
pub fn compare_with(old: &Side, new: &Side, threshold: LatencyThreshold) -> Diff {
    let old_eps: HashMap<&str, &crate::report::coverage::CoverageEndpoint> = old
        .coverage
        .endpoints
        .iter()
        .map(|e| (e.endpoint.as_str(), e))
        .collect();
    let new_eps: HashMap<&str, &crate::report::coverage::CoverageEndpoint> = new
        .coverage
        .endpoints
        .iter()
        .map(|e| (e.endpoint.as_str(), e))
        .collect();
    let mut endpoints = EndpointChanges::default();
    for (&id, n) in &new_eps {
        match old_eps.get(id) {
            None => endpoints.added.push(id.to_string()),
            Some(o) => {
                if n.tested && !o.tested {
                    endpoints.newly_tested.push(id.to_string());
                    endpoints.tests.insert(id.to_string(), sorted(&n.tests));
                } else if o.tested && !n.tested {
                    endpoints.no_longer_tested.push(id.to_string());
                    endpoints.tests.insert(id.to_string(), sorted(&o.tests));
                }
            }
        }
    }
    for &id in old_eps.keys() {
        if !new_eps.contains_key(id) {
            endpoints.removed.push(id.to_string());
        }
    }
    endpoints.added.sort();
    endpoints.removed.sort();
    endpoints.newly_tested.sort();
    endpoints.no_longer_tested.sort();
    let eligible = |id: &str| new.is_eligible(id).or_else(|| old.is_eligible(id));
    let mut listed: Vec<String> = endpoints
        .added
        .iter()
        .chain(&endpoints.removed)
        .chain(&endpoints.newly_tested)
        .chain(&endpoints.no_longer_tested)
        .filter(|id| {
            match (
                new_eps.contains_key(id.as_str()),
                old_eps.contains_key(id.as_str()),
            ) {
                // An endpoint on one side only is judged by that side.
                (true, false) => new.is_eligible(id) == Some(true),
                (false, true) => old.is_eligible(id) == Some(true),
                _ => eligible(id) == Some(true),
            }
        })
        .cloned()
        .collect();
    listed.sort();
    endpoints.eligible = listed;

    let old_tests = old.endpoints_per_test();
    let new_tests = new.endpoints_per_test();
    let mut tests = TestChanges::default();
    for (&name, now) in &new_tests {
        match old_tests.get(name) {
            None => tests.added.push(name.to_string()),
            Some(before) => {
                let gained: Vec<String> = now.difference(before).map(|s| s.to_string()).collect();
                let lost: Vec<String> = before.difference(now).map(|s| s.to_string()).collect();
                if !gained.is_empty() || !lost.is_empty() {
                    let count = |side: &Side| {
                        side.requests
                            .as_ref()
                            .map(|r| r.get(name).copied().unwrap_or(0))
                    };
                    tests.changed.push(TestChange {
                        test: name.to_string(),
                        gained,
                        lost,
                        requests_old: count(old),
                        requests_new: count(new),
                    });
                }
            }
        }
    }
    for &name in old_tests.keys() {
        if !new_tests.contains_key(name) {
            tests.removed.push(name.to_string());
        }
    }
    let mut notes: Vec<String> = old.notes.iter().chain(&new.notes).cloned().collect();
    if old.eligible.is_none() && new.eligible.is_none() {
        notes.push(
            "neither side says which endpoints are conformance-eligible: none is marked eligible"
                .to_string(),
        );
    }
    let latency = match (&old.latency, &new.latency) {
        (Some(o), Some(n)) => Some(latency_changes(o, n, threshold)),
        _ => None,
    };
    Diff {
        old: info(old),
        new: info(new),
        releases_differ: releases_differ(old.release.as_deref(), new.release.as_deref()),
        endpoints,
        tests,
        totals: TotalsPair {
            old: Totals::of(&old.coverage),
            new: Totals::of(&new.coverage),
        },
        latency,
        notes,
    }
}

fn info(side: &Side) -> SideInfo {
    SideInfo {
        source: side.source.clone(),
        kind: side.kind,
        release: side.release.clone(),
    }
}

fn sorted(tests: &[String]) -> Vec<String> {
    let mut v = tests.to_vec();
    v.sort();
    v.dedup();
    v
}

/// True when both sides name a release and they are different minor releases (`1.33.0` and
/// `1.33` are the same release).
fn releases_differ(old: Option<&str>, new: Option<&str>) -> bool {
    let minor = |r: &str| {
        let r = r.trim_start_matches('v');
        let mut parts = r.split('.');
        match (parts.next(), parts.next()) {
            (Some(major), Some(minor)) => format!("{major}.{minor}"),
            _ => r.to_string(),
        }
    };
    match (old, new) {
        (Some(o), Some(n)) => minor(o) != minor(n),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn latency_threshold_parses_and_judges() {
        let t: LatencyThreshold = "1.5x,10ms".parse().unwrap();
        assert_eq!(t, LatencyThreshold::default());
        let t: LatencyThreshold = "2".parse().unwrap();
        assert_eq!((t.ratio, t.min_ms), (2.0, 10.0));
        let t: LatencyThreshold = "3, 50".parse().unwrap();
        assert_eq!((t.ratio, t.min_ms), (3.0, 50.0));
        for bad in ["", "x", "0.5", "2,-1", "NaN", "2,ten"] {
            assert!(bad.parse::<LatencyThreshold>().is_err(), "{bad}");
        }
        let t = LatencyThreshold::default();
        // 1.5× and at least 10 ms: both must hold.
        assert!(t.exceeded(20_000, 30_001));
        assert!(!t.exceeded(20_000, 30_000));
        assert!(!t.exceeded(1_000, 9_000));
        assert!(t.exceeded(0, 10_000));
        assert!(!t.exceeded(30_000, 20_000));
    }

    #[test]
    fn releases_compare_by_minor() {
        assert!(!releases_differ(Some("1.33.0"), Some("1.33")));
        assert!(!releases_differ(Some("v1.33.2"), Some("1.33.0")));
        assert!(releases_differ(Some("1.33.0"), Some("1.34.0")));
        assert!(!releases_differ(None, Some("1.34.0")));
    }
}
