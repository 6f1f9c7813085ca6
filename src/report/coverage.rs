//! `report coverage`: endpoint coverage counted as APISnoop counts it, in the shape of its
//! coverage files.
//!
//! The output has exactly the shape and field names of APISnoop's
//! `resources/coverage/<release>.json` (top-level totals such as `"total endpoints"`, an
//! `endpoints` array and a `tests` array), so tools written for APISnoop's files read ours.
//! Keys are in the order APISnoop's files have them (shortest first, as PostgreSQL's jsonb
//! writes them).
//!
//! The entry points for other code are [`release_operations`] (every operation of a run's
//! release, classified) and [`coverage`] (the one function that counts, over one or several
//! runs of a release). What counts:
//! - The endpoints are the release's operations except the deprecated `/watch/` path ones
//!   (actions `watch` and `watchlist`), sorted as APISnoop sorts (`level` descending: stable,
//!   beta, alpha; then operationId, case-insensitively as PostgreSQL's collation does).
//! - An operation is *tested* when a request matched to it is attributed to a spec by its user
//!   agent (`ua`), or also by time window with [`CoverageOptions::count_window`], or when the
//!   e2e binary (`e2e.test/…`) made it without naming a spec (APISnoop counts those for the
//!   test named `""`); with [`CoverageOptions::success_only`], only 2xx and 101 responses
//!   count. Requests must pass the [`RequestFilter`]. It is *conf_tested* when one of those
//!   specs is a `[Conformance]` spec. Tested operations none of whose testing requests got a
//!   2xx or 101 are flagged ([`CoverageEndpoint::errors_only`]) and listed apart in the text.
//! - *Conformance eligible*: stable, a description that does not mention "deprecated", and
//!   not in the ineligible list ([`Eligibility`]: Kubernetes'
//!   `test/conformance/testdata/ineligible_endpoints.yaml`, embedded, or another list).
//!   Pending endpoints (`pending_eligible_endpoints.yaml`) stay eligible and are shown apart.
//!   *New* means eligible and absent from the previous release's table.
//! - The six totals: `total endpoints` and `tested endpoints` over the listed endpoints;
//!   `total`, `tested`, `new` and `new tested conformance eligible endpoints`, where tested
//!   means conf_tested.
//! - `tests` lists the specs that tested at least one operation; `conformance_test`,
//!   `testname`, `file` and `promotion_release` come from `conformance.yaml`
//!   ([`ConformanceTests`]) alone, as APISnoop's do.
//! - Test lists are in APISnoop's order ([`apisnoop_order`]). An operation's `tests` ends with
//!   `null` when other clients hit it too or nothing tested it (APISnoop's `[null]`).

use std::collections::{BTreeSet, HashMap, HashSet};

use serde::{Deserialize, Serialize};
use thiserror::Error;

use super::filter::RequestFilter;
use crate::endpoints::Catalog;
use crate::endpoints::conformance::{ConformanceTests, Eligibility};
use crate::run::{Attribution, OpId, Operation, Run};

/// One operation in the coverage file.
///
/// Read and written through [`EndpointJson`], which has APISnoop's fields in its order and its
/// `tests` list: the names sorted as PostgreSQL sorts them, then `null` when the operation was
/// also hit by other clients than the e2e binary, or by nothing at all (`[null]`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(from = "EndpointJson", into = "EndpointJson")]
pub struct CoverageEndpoint {
    /// Kind; `null` when the spec names none.
    pub kind: Option<String>,
    pub path: String,
    /// API group (`""` core); `null` when the spec names none.
    pub group: Option<String>,
    pub level: String,
    /// Names of the specs that tested it, in APISnoop's order ([`apisnoop_order`]); `""` stands
    /// for requests of the e2e binary that name no spec (APISnoop's empty test name).
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
    /// Also hit by requests of other clients (controllers, kubelets, kubectl): APISnoop's
    /// `null` in a tested operation's `tests`.
    pub other_clients: bool,
    /// Tested, but every request that tested it got an error response (not 2xx or 101): the
    /// text report lists these apart. Not in the JSON.
    pub errors_only: bool,
}

/// [`CoverageEndpoint`] as APISnoop's files have it (field order and `tests` with `null`).
#[derive(Serialize, Deserialize)]
struct EndpointJson {
    kind: Option<String>,
    path: String,
    group: Option<String>,
    level: String,
    tests: Vec<Option<String>>,
    action: Option<String>,
    tested: bool,
    release: Option<String>,
    version: Option<String>,
    category: String,
    endpoint: String,
    conf_tested: bool,
    description: Option<String>,
}

impl From<EndpointJson> for CoverageEndpoint {
    fn from(e: EndpointJson) -> CoverageEndpoint {
        let with_null = e.tests.iter().any(Option::is_none);
        let tests: Vec<String> = e.tests.into_iter().flatten().collect();
        CoverageEndpoint {
            kind: e.kind,
            path: e.path,
            group: e.group,
            level: e.level,
            other_clients: with_null && !tests.is_empty(),
            tests,
            action: e.action,
            tested: e.tested,
            release: e.release,
            version: e.version,
            category: e.category,
            endpoint: e.endpoint,
            conf_tested: e.conf_tested,
            description: e.description,
            errors_only: false,
        }
    }
}

impl From<CoverageEndpoint> for EndpointJson {
    fn from(e: CoverageEndpoint) -> EndpointJson {
        let null = e.other_clients || e.tests.is_empty();
        let mut tests: Vec<Option<String>> = e.tests.into_iter().map(Some).collect();
        if null {
            tests.push(None);
        }
        EndpointJson {
            kind: e.kind,
            path: e.path,
            group: e.group,
            level: e.level,
            tests,
            action: e.action,
            tested: e.tested,
            release: e.release,
            version: e.version,
            category: e.category,
            endpoint: e.endpoint,
            conf_tested: e.conf_tested,
            description: e.description,
        }
    }
}

/// Sorts test names as APISnoop's files list them (PostgreSQL's `array_agg(distinct …)` under
/// an English locale): letters and digits only, case-insensitive first; then lower case before
/// upper case; then the bytes. This reproduces the order of every list in its 1.33, 1.34 and
/// 1.37 files.
pub fn apisnoop_order(names: &mut [String]) {
    names.sort_by_cached_key(|name| collation_key(name));
}

/// The sort key of [`apisnoop_order`] (operationIds are sorted by it too).
fn collation_key(name: &str) -> (String, String, String) {
    let alnum: String = name.chars().filter(|c| c.is_alphanumeric()).collect();
    let folded = alnum.to_lowercase();
    let swapped: String = alnum
        .chars()
        .map(|c| {
            if c.is_lowercase() {
                c.to_uppercase().next().unwrap_or(c)
            } else {
                c.to_lowercase().next().unwrap_or(c)
            }
        })
        .collect();
    (folded, swapped, name.to_string())
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

/// APISnoop's coverage document. (Its files for 1.17 to 1.19 have no totals: they read as 0.)
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
    #[serde(rename = "total endpoints", default)]
    pub total_endpoints: u64,
    #[serde(rename = "tested endpoints", default)]
    pub tested_endpoints: u64,
    #[serde(rename = "new conformance eligible endpoints", default)]
    pub new_conformance_eligible_endpoints: u64,
    #[serde(rename = "total conformance eligible endpoints", default)]
    pub total_conformance_eligible_endpoints: u64,
    #[serde(rename = "tested conformance eligible endpoints", default)]
    pub tested_conformance_eligible_endpoints: u64,
    #[serde(rename = "new tested conformance eligible endpoints", default)]
    pub new_tested_conformance_eligible_endpoints: u64,
}

/// The lists that decide eligibility and name conformance tests.
#[derive(Debug, Clone, Default)]
pub struct CoverageRules {
    pub eligibility: Eligibility,
    pub conformance: ConformanceTests,
}

impl CoverageRules {
    /// The embedded snapshots of Kubernetes' lists.
    pub fn embedded() -> CoverageRules {
        CoverageRules {
            eligibility: Eligibility::embedded(),
            conformance: ConformanceTests::embedded(),
        }
    }
}

/// One operation of a run's release, classified as APISnoop classifies it.
#[derive(Debug, Clone, PartialEq)]
pub struct OperationInfo<'a> {
    /// Its id in the run (`Run::operations[id]`).
    pub id: OpId,
    pub op: &'a Operation,
    /// Listed in the coverage (every operation but the deprecated `/watch/` ones).
    pub listed: bool,
    /// The description mentions "deprecated" (APISnoop's test), or the spec flags it.
    pub deprecated: bool,
    /// Conformance eligible: listed, stable, not deprecated, not in the ineligible list.
    pub eligible: bool,
    /// In the pending list (eligible, tests being written).
    pub pending: bool,
    /// Eligible, and not in the previous release's table.
    pub new_in_release: bool,
}

/// True for the operations APISnoop lists: all but the deprecated `/watch/` path ones.
pub fn listed(op: &Operation) -> bool {
    op.action != "watch" && op.action != "watchlist"
}

/// Every operation of `run`'s table (its release's, plus any added from `--openapi`), in
/// table order, with APISnoop's classification under `rules`.
pub fn release_operations<'a>(run: &'a Run, rules: &CoverageRules) -> Vec<OperationInfo<'a>> {
    let previous: Option<HashSet<&str>> = run
        .release
        .as_ref()
        .and_then(|r| r.release.previous())
        .filter(|p| Catalog::embedded().has(*p))
        .map(|p| {
            Catalog::embedded()
                .operations(p)
                .map(|o| o.id.as_str())
                .collect()
        });
    run.operations
        .iter()
        .enumerate()
        .map(|(i, op)| {
            let is_listed = listed(op);
            let deprecated =
                op.deprecated || op.description.to_ascii_lowercase().contains("deprecated");
            let eligible = is_listed
                && op.level == "stable"
                && !deprecated
                && !rules.eligibility.is_ineligible(&op.id);
            // (conformance_eligible is this rule under the embedded lists.)
            OperationInfo {
                id: OpId::from_index(i),
                op,
                listed: is_listed,
                deprecated,
                eligible,
                pending: rules.eligibility.is_pending(&op.id),
                new_in_release: eligible
                    && previous
                        .as_ref()
                        .is_some_and(|p| !p.contains(op.id.as_str())),
            }
        })
        .collect()
}

/// How [`coverage`] counts.
#[derive(Debug, Clone, Copy)]
pub struct CoverageOptions<'a> {
    /// Only requests that pass it count.
    pub filter: &'a RequestFilter,
    /// Also count requests attributed by time window (default: only by user agent).
    pub count_window: bool,
    /// Only 2xx and 101 responses count as hits.
    pub success_only: bool,
    /// Eligibility and conformance lists.
    pub rules: &'a CoverageRules,
}

/// Why runs could not be counted together.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum CoverageError {
    /// No run given.
    #[error("no run to count")]
    NoRuns,
    /// Runs of different releases.
    #[error(
        "run {first} is of release {first_release} but run {other} is of release {other_release}: coverage merges runs of one release"
    )]
    MixedReleases {
        first: usize,
        first_release: String,
        other: usize,
        other_release: String,
    },
}

/// True for responses that count with `--success-only`: 2xx and 101 (a connection upgrade,
/// as exec and attach answer).
pub fn is_success(code: u16) -> bool {
    (200..300).contains(&code) || code == 101
}

/// Who made a request, as far as APISnoop's rules care.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Client {
    /// The e2e binary (`e2e.test/…`), with ` -- <spec>` in its user agent.
    E2eWithSpec,
    /// The e2e binary without a spec name (suite setup, framework clients).
    E2eWithoutSpec,
    /// Anyone else: controllers, kubelets, the scheduler, kubectl.
    Other,
}

/// [`Client`] of each of the run's user agents (by agent index).
fn client_kinds(run: &Run) -> Vec<Client> {
    run.agents
        .iter()
        .map(|a| {
            let e2e = run.str(a.product) == "e2e.test" || {
                let text = run.agent_text(a);
                text.starts_with("e2e.test")
            };
            match (e2e || a.spec_text != 0, a.spec_text != 0) {
                (false, _) => Client::Other,
                (true, true) => Client::E2eWithSpec,
                (true, false) => Client::E2eWithoutSpec,
            }
        })
        .collect()
}

fn release_name(run: &Run) -> String {
    run.release
        .as_ref()
        .map_or_else(|| "unknown".to_string(), |r| r.release.to_string())
}

/// Counts coverage over `runs` (one run, or several runs of one release, as APISnoop merges
/// the CI jobs of a release): per listed operation whether it was tested, by a conformance
/// test, and by which specs; the specs that tested anything; and the six totals. See the
/// module doc for the rules. Runs of different releases are an error.
pub fn coverage(runs: &[&Run], opts: &CoverageOptions) -> Result<Coverage, CoverageError> {
    let Some(first) = runs.first() else {
        return Err(CoverageError::NoRuns);
    };
    let first_release = first.release.as_ref().map(|r| r.release);
    for (i, run) in runs.iter().enumerate().skip(1) {
        if run.release.as_ref().map(|r| r.release) != first_release {
            return Err(CoverageError::MixedReleases {
                first: 0,
                first_release: release_name(first),
                other: i,
                other_release: release_name(run),
            });
        }
    }
    // Per operationId: the specs (by name) that tested it, whether any is conformance, whether
    // any of its testing requests succeeded, and whether other clients hit it.
    let mut tests_of: HashMap<String, BTreeSet<String>> = HashMap::new();
    let mut conf_of: HashSet<String> = HashSet::new();
    let mut ok_of: HashSet<String> = HashSet::new();
    let mut others_of: HashSet<String> = HashSet::new();
    let mut spec_names: BTreeSet<String> = BTreeSet::new();
    for run in runs {
        let clients = client_kinds(run);
        for req in &run.requests {
            let Some(op) = req.endpoint.and_then(|op| run.operations.get(op.index())) else {
                continue;
            };
            if (opts.success_only && !is_success(req.code)) || !opts.filter.matches(run, req) {
                continue;
            }
            let counted = match req.attribution {
                Attribution::Ua => true,
                Attribution::Window => opts.count_window,
                Attribution::Ambiguous | Attribution::None => false,
            };
            let spec = req
                .spec
                .and_then(|s| run.specs.get(s.index()))
                .filter(|s| counted && !s.suite_node);
            let client = clients
                .get(req.agent as usize)
                .copied()
                .unwrap_or(Client::Other);
            let (name, conformance) = match (spec, client) {
                (Some(spec), _) => (run.str(spec.name), spec.conformance),
                // APISnoop's rule: a request of the e2e binary tests what it hits; one whose
                // user agent names no spec counts for the test named "".
                (None, Client::E2eWithoutSpec) => ("", false),
                (None, Client::E2eWithSpec) => continue,
                (None, Client::Other) => {
                    if !others_of.contains(&op.id) {
                        others_of.insert(op.id.clone());
                    }
                    continue;
                }
            };
            if !tests_of.get(&op.id).is_some_and(|t| t.contains(name)) {
                tests_of
                    .entry(op.id.clone())
                    .or_default()
                    .insert(name.to_string());
            }
            if conformance {
                conf_of.insert(op.id.clone());
            }
            if is_success(req.code) && !ok_of.contains(&op.id) {
                ok_of.insert(op.id.clone());
            }
            if !spec_names.contains(name) {
                spec_names.insert(name.to_string());
            }
        }
    }
    let release = first.release.as_ref().map(|r| r.release);
    let release_text = release.map(|r| r.patch_zero());
    // As APISnoop writes them: a released release's date at midnight, and its tagged spec; the
    // release in development (no date in releases.yaml) has the master branch's spec.
    let release_date = release.and_then(crate::endpoints::conformance::release_date);
    let mut coverage = Coverage {
        spec: release.map(|r| {
            let tag = if release_date.is_some() {
                format!("v{}", r.patch_zero())
            } else {
                "master".to_string()
            };
            format!("https://raw.githubusercontent.com/kubernetes/kubernetes/{tag}/api/openapi-spec/swagger.json")
        }),
        tests: Vec::new(),
        release: release_text.clone(),
        sources: runs
            .iter()
            .flat_map(|run| run.inputs.iter())
            .filter(|i| i.kind == "audit")
            .map(|i| i.path.clone())
            .collect(),
        endpoints: Vec::with_capacity(first.operations.len()),
        release_date: release_date.map(|d| format!("{d}T00:00:00")),
        total_endpoints: 0,
        tested_endpoints: 0,
        new_conformance_eligible_endpoints: 0,
        total_conformance_eligible_endpoints: 0,
        tested_conformance_eligible_endpoints: 0,
        new_tested_conformance_eligible_endpoints: 0,
    };
    // APISnoop writes null where the spec has no x-kubernetes-group-version-kind.
    let opt = |s: &str, known: bool| known.then(|| s.to_string());
    let mut seen: HashSet<&str> = HashSet::new();
    let infos: Vec<OperationInfo> = runs
        .iter()
        .flat_map(|run| release_operations(run, opts.rules))
        .collect();
    for info in &infos {
        let op = info.op;
        if !info.listed || !seen.insert(op.id.as_str()) {
            continue;
        }
        let mut tests: Vec<String> = tests_of
            .get(&op.id)
            .map(|t| t.iter().cloned().collect())
            .unwrap_or_default();
        apisnoop_order(&mut tests);
        let tested = !tests.is_empty();
        let conf_tested = conf_of.contains(&op.id);
        coverage.total_endpoints += 1;
        coverage.tested_endpoints += u64::from(tested);
        if info.eligible {
            coverage.total_conformance_eligible_endpoints += 1;
            coverage.tested_conformance_eligible_endpoints += u64::from(conf_tested);
            if info.new_in_release {
                coverage.new_conformance_eligible_endpoints += 1;
                coverage.new_tested_conformance_eligible_endpoints += u64::from(conf_tested);
            }
        }
        coverage.endpoints.push(CoverageEndpoint {
            kind: opt(&op.kind, op.has_gvk),
            path: op.path.clone(),
            group: opt(&op.group, op.has_gvk),
            level: op.level.clone(),
            tests,
            action: (!op.action.is_empty()).then(|| op.action.clone()),
            tested,
            release: release_text.clone(),
            version: opt(&op.version, op.has_gvk),
            category: op.category.clone(),
            endpoint: op.id.clone(),
            conf_tested,
            description: (!op.description.is_empty()).then(|| op.description.clone()),
            other_clients: others_of.contains(&op.id),
            errors_only: tested && !ok_of.contains(&op.id),
        });
    }
    // APISnoop's order: level descending, then operationId under its collation.
    coverage
        .endpoints
        .sort_by_cached_key(|e| (level_rank(&e.level), collation_key(&e.endpoint)));
    let mut names: Vec<String> = spec_names.into_iter().collect();
    apisnoop_order(&mut names);
    // Whether a test is a conformance test, its name, file and promotion release come from
    // conformance.yaml alone, as in APISnoop's files (a spec whose name says [Conformance]
    // but that the list lacks is not one there).
    coverage.tests = names
        .into_iter()
        .map(|name| {
            let known = opts.rules.conformance.get(&name);
            CoverageTest {
                file: known.map(|t| t.file.clone()),
                release: release_text.clone(),
                testname: known.map(|t| t.testname.clone()),
                conformance_test: known.is_some(),
                promotion_release: known
                    .and_then(|t| t.apisnoop_promotion_release())
                    .map(|r| r.patch_zero()),
                test: name,
            }
        })
        .collect();
    Ok(coverage)
}

/// [`coverage`] of one run with the embedded lists, without `--success-only`: the shorthand
/// most callers want.
pub fn coverage_report(run: &Run, filter: &RequestFilter, count_window: bool) -> Coverage {
    let rules = CoverageRules::embedded();
    let opts = CoverageOptions {
        filter,
        count_window,
        success_only: false,
        rules: &rules,
    };
    // One run cannot mix releases, so this is never an error; an empty document if it were.
    coverage(&[run], &opts).unwrap_or_else(|_| Coverage::empty())
}

/// True when `op` is conformance eligible under the embedded lists (see
/// [`release_operations`] for every flag at once, under other lists).
pub fn conformance_eligible(op: &Operation) -> bool {
    static RULES: std::sync::OnceLock<Eligibility> = std::sync::OnceLock::new();
    let eligibility = RULES.get_or_init(Eligibility::embedded);
    listed(op)
        && op.level == "stable"
        && !op.deprecated
        && !op.description.to_ascii_lowercase().contains("deprecated")
        && !eligibility.is_ineligible(&op.id)
}

impl Coverage {
    /// A document with nothing in it.
    pub fn empty() -> Coverage {
        Coverage {
            spec: None,
            tests: Vec::new(),
            release: None,
            sources: Vec::new(),
            endpoints: Vec::new(),
            release_date: None,
            total_endpoints: 0,
            tested_endpoints: 0,
            new_conformance_eligible_endpoints: 0,
            total_conformance_eligible_endpoints: 0,
            tested_conformance_eligible_endpoints: 0,
            new_tested_conformance_eligible_endpoints: 0,
        }
    }
}

fn level_rank(level: &str) -> u8 {
    match level {
        "stable" => 0,
        "beta" => 1,
        "alpha" => 2,
        _ => 3,
    }
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
        "release                {}{}",
        c.release.as_deref().unwrap_or("unknown"),
        c.release_date.as_deref().map_or(String::new(), |d| format!(
            " (released {})",
            d.split('T').next().unwrap_or(d)
        ))
    )?;
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
    // Counted as tested (APISnoop counts any response), but no test got a 2xx or 101 from
    // them: reviewers ask about these. Empty with --success-only.
    let mut errors: Vec<&CoverageEndpoint> = c.endpoints.iter().filter(|e| e.errors_only).collect();
    errors.sort_by(|a, b| a.endpoint.cmp(&b.endpoint));
    writeln!(w, "hit only with errors ({}):", errors.len())?;
    for e in errors {
        writeln!(
            w,
            "  {:<60} {:<6} {}",
            crate::text::escape_control(&e.endpoint),
            e.level,
            crate::text::escape_control(&e.path)
        )?;
    }
    Ok(())
}
