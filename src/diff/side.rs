//! One side of a comparison: a RUN.json, raw inputs correlated now, or an APISnoop coverage
//! file, each reduced to the same [`Side`].
//!
//! A run is reduced through the coverage report ([`coverage`]), so a side says
//! "tested" exactly where `report coverage` does; an APISnoop file already is that shape.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::io::Read;

use thiserror::Error;

use crate::correlate::{self, CorrelateError, Inputs};
use crate::ingest::source::{IngestError, classify_read_error, open_input};
use crate::report::coverage::{
    Coverage, CoverageOptions, CoverageRules, coverage, is_success, release_operations,
};
use crate::report::filter::{FilterArgs, FilterError};
use crate::report::latency::{Percentiles, endpoint_latencies};
use crate::run::format::{self, FormatError};
use crate::run::{Attribution, Run};

/// What a side was read from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum SideKind {
    /// A RUN.json (plain or gzip).
    Run,
    /// Raw inputs (audit log, e2e log, entries.log, JUnit) correlated for the comparison.
    Raw,
    /// An APISnoop coverage file (`resources/coverage/X.Y.Z.json`), or `report coverage
    /// --format json` output, which has the same shape.
    Apisnoop,
}

impl SideKind {
    /// How the text report names the kind.
    pub fn describe(self) -> &'static str {
        match self {
            SideKind::Run => "RUN.json",
            SideKind::Raw => "raw inputs",
            SideKind::Apisnoop => "APISnoop coverage file",
        }
    }
}

/// Why a side could not be read.
#[derive(Debug, Error)]
pub enum SideError {
    /// No file was named for a side.
    #[error(
        "no input for the {which} side: name a RUN.json, raw inputs or an APISnoop coverage file"
    )]
    Empty {
        /// `old` or `new`.
        which: &'static str,
    },
    /// A RUN.json or APISnoop file was named together with other files for one side.
    #[error("{path}: is {kind} and makes a side on its own; name other inputs for the other side")]
    NotAlone {
        /// The file.
        path: String,
        /// What it was detected as (`a RUN.json`, `an APISnoop coverage file`).
        kind: &'static str,
    },
    /// A single file that is none of the three kinds.
    #[error("{path}: neither a RUN.json, an APISnoop coverage file nor raw inputs ({why})")]
    Unknown {
        /// The file.
        path: String,
        /// What the audit reader found instead.
        why: String,
    },
    /// Starts like an APISnoop coverage file but does not parse as one.
    #[error("{path}: not a valid APISnoop coverage file: {source}")]
    Apisnoop {
        /// The file.
        path: String,
        /// The JSON error, with its line and column.
        source: serde_json::Error,
    },
    /// The file could not be read.
    #[error(transparent)]
    Ingest(#[from] IngestError),
    /// A RUN.json that could not be read.
    #[error(transparent)]
    Format(#[from] FormatError),
    /// Raw inputs that could not be correlated.
    #[error(transparent)]
    Correlate(#[from] CorrelateError),
    /// A filter option that does not compile.
    #[error(transparent)]
    Filter(#[from] FilterError),
}

/// How sides are read and reduced.
#[derive(Debug, Clone, Default)]
pub struct SideOptions {
    /// The report filters; compiled once per side (a compiled filter belongs to one run).
    pub filter: FilterArgs,
    /// Count requests attributed by time window as testing, as `report coverage --window`.
    pub count_window: bool,
    /// Only 2xx and 101 responses count (as `report coverage --success-only`).
    pub success_only: bool,
    /// The release whose endpoint table raw inputs are matched against (detected when `None`).
    pub release: Option<crate::model::Release>,
    /// Further OpenAPI specs for raw inputs (as `correlate --openapi`).
    pub openapi: Vec<String>,
    /// The first bad audit line of raw inputs is an error.
    pub strict: bool,
    /// Show correlation progress on stderr (only when it is a terminal).
    pub progress: bool,
}

/// One side, reduced to what a comparison looks at.
#[derive(Debug, Clone)]
pub struct Side {
    /// The file(s) the side was read from, as named.
    pub source: String,
    /// What the side was read from.
    pub kind: SideKind,
    /// The Kubernetes release, when the side says.
    pub release: Option<String>,
    /// The side's coverage in APISnoop's shape, with the filters applied.
    pub coverage: Coverage,
    /// The conformance-eligible operationIds, when the side knows them.
    pub eligible: Option<BTreeSet<String>>,
    /// Requests per test, counted as coverage counts them (by user agent, or also by window);
    /// `None` for an APISnoop file, which has no requests.
    pub requests: Option<HashMap<String, u64>>,
    /// Per endpoint (operationId, or `verb path` when unmatched), the latency percentiles of
    /// the requests the filters keep; `None` for an APISnoop file.
    pub latency: Option<HashMap<String, Percentiles>>,
    /// Things to tell the reader about this side (filters that could not apply, …).
    pub notes: Vec<String>,
}

/// What a file starts like.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Sniffed {
    Run,
    Apisnoop,
    Other,
}

/// The top-level keys of an APISnoop coverage file: a JSON object whose first key is one of
/// these is read as one (audit events start with `kind`, `apiVersion` or `level`).
const APISNOOP_KEYS: [&str; 12] = [
    "spec",
    "tests",
    "release",
    "sources",
    "endpoints",
    "release_date",
    "total endpoints",
    "tested endpoints",
    "new conformance eligible endpoints",
    "total conformance eligible endpoints",
    "tested conformance eligible endpoints",
    "new tested conformance eligible endpoints",
];

/// Looks at the start of a file (gzip or not) to tell a RUN.json and an APISnoop file from
/// raw inputs. Unreadable files are `Other`: reading them as raw inputs reports the error.
fn sniff(path: &str) -> Sniffed {
    if path == "-" {
        return Sniffed::Other;
    }
    let Ok(opened) = open_input(path) else {
        return Sniffed::Other;
    };
    let mut head = Vec::with_capacity(4096);
    if opened.reader.take(4096).read_to_end(&mut head).is_err() {
        return Sniffed::Other;
    }
    if format::looks_like_run(&head) {
        return Sniffed::Run;
    }
    match first_key(&head) {
        Some(key) if APISNOOP_KEYS.contains(&key.as_str()) => Sniffed::Apisnoop,
        _ => Sniffed::Other,
    }
}

/// Reads the whole (decompressed) file into `buffer`, replacing what it held.
fn read_into(path: &str, buffer: &mut Vec<u8>) -> Result<(), IngestError> {
    buffer.clear();
    let mut opened = open_input(path)?;
    if let Some(size) = opened.size_on_disk {
        let size = usize::try_from(size).unwrap_or(0);
        if buffer.capacity() < size {
            // A new buffer rather than a grown one: growing copies the old (cleared) one. A
            // sixteenth more, so the other side of a diff, about as large, fits in it too.
            *buffer = Vec::with_capacity(size.saturating_add(size / 16));
        }
    }
    opened
        .reader
        .read_to_end(buffer)
        .map_err(|source| classify_read_error(path, opened.gzip, source))?;
    Ok(())
}

/// The first key of the JSON object `head` starts with, if it starts with one.
fn first_key(head: &[u8]) -> Option<String> {
    let text = String::from_utf8_lossy(head);
    let rest = text.trim_start().strip_prefix('{')?.trim_start();
    let rest = rest.strip_prefix('"')?;
    let end = rest.find('"')?;
    Some(rest[..end].to_string())
}

/// Reads one side from the files named for it: one RUN.json, one APISnoop coverage file, or
/// raw inputs (kinds detected from content). `which` (`old`/`new`) names the side in errors.
pub fn load_side(
    files: &[String],
    which: &'static str,
    opts: &SideOptions,
) -> Result<Side, SideError> {
    load_side_into(files, which, opts, &mut Vec::new(), &mut Vec::new())
}

/// Reads both sides of a comparison, one after the other through one buffer: the second
/// RUN.json is read into memory the first already touched (on this VM, faulting in fresh
/// pages took half the time of a diff of two 900k-request runs).
pub fn load_sides(
    old: &[String],
    new: &[String],
    opts: &SideOptions,
) -> Result<(Side, Side), SideError> {
    // The file buffer and the request table of the first side are reused by the second.
    let (mut buffer, mut spare) = (Vec::new(), Vec::new());
    let old = load_side_into(old, "old", opts, &mut buffer, &mut spare)?;
    let new = load_side_into(new, "new", opts, &mut buffer, &mut spare)?;
    Ok((old, new))
}

/// The request columns [`Side::from_run`] never looks at: a RUN.json side is read without
/// them, which makes the read faster (most of all without the audit IDs).
const UNUSED_COLUMNS: &[&str] = &[
    "audit_id",
    "user",
    "impersonated",
    "source_ips",
    "namespace",
    "name",
    "api_group",
    "api_version",
    "level",
    "stage_events",
    "decision",
    "reason",
    "input",
    "line",
];

/// [`load_side`], reading a RUN.json or APISnoop file into `buffer` (cleared first), and a
/// RUN.json's requests into `spare`, where they are left for the next read.
fn load_side_into(
    files: &[String],
    which: &'static str,
    opts: &SideOptions,
    buffer: &mut Vec<u8>,
    spare: &mut Vec<crate::run::Request>,
) -> Result<Side, SideError> {
    let Some(first) = files.first() else {
        return Err(SideError::Empty { which });
    };
    let sniffed: Vec<Sniffed> = files.iter().map(|f| sniff(f)).collect();
    for (path, s) in files.iter().zip(&sniffed) {
        let kind = match s {
            Sniffed::Run => "a RUN.json",
            Sniffed::Apisnoop => "an APISnoop coverage file",
            Sniffed::Other => continue,
        };
        if files.len() > 1 {
            return Err(SideError::NotAlone {
                path: path.clone(),
                kind,
            });
        }
    }
    match sniffed[0] {
        Sniffed::Run => {
            read_into(first, buffer)?;
            let skip = format::Skip::columns(UNUSED_COLUMNS);
            let mut run = format::read_run_reusing(buffer, first, skip, std::mem::take(spare))?;
            let side = Side::from_run(&run, first.clone(), SideKind::Run, opts);
            *spare = std::mem::take(&mut run.requests);
            side
        }
        Sniffed::Apisnoop => {
            read_into(first, buffer)?;
            let coverage: Coverage =
                serde_json::from_slice(buffer).map_err(|source| SideError::Apisnoop {
                    path: first.clone(),
                    source,
                })?;
            Side::from_coverage(coverage, first.clone(), opts)
        }
        Sniffed::Other => {
            let inputs = Inputs {
                auto: files.to_vec(),
                ..Inputs::default()
            };
            let options = correlate::Options {
                strict: opts.strict,
                progress: opts.progress,
                openapi: opts.openapi.clone(),
                release: opts.release,
                show_walk: opts.progress,
            };
            let run = match correlate::correlate(&inputs, &options) {
                Ok(run) => run,
                // One file that holds no audit events is none of the three kinds.
                Err(CorrelateError::Ingest(IngestError::NoEvents { path, why }))
                    if files.len() == 1 =>
                {
                    let why = why
                        .trim_start_matches(&[' ', '('][..])
                        .trim_end_matches(')');
                    let why = if why.is_empty() {
                        "it is empty".to_string()
                    } else {
                        format!("no audit events: {why}")
                    };
                    return Err(SideError::Unknown { path, why });
                }
                Err(e) => return Err(e.into()),
            };
            Side::from_run(&run, files.join(", "), SideKind::Raw, opts)
        }
    }
}

impl Side {
    /// Reduces a run: its coverage as `report coverage` computes it under the filters, the
    /// eligible operations of its table, and each test's request count.
    pub fn from_run(
        run: &Run,
        source: String,
        kind: SideKind,
        opts: &SideOptions,
    ) -> Result<Side, SideError> {
        let filter = opts.filter.to_filter()?;
        let rules = CoverageRules::embedded();
        let cov_opts = CoverageOptions {
            filter: &filter,
            count_window: opts.count_window,
            success_only: opts.success_only,
            rules: &rules,
        };
        let mut coverage = coverage(&[run], &cov_opts).unwrap_or_else(|_| Coverage::empty());
        let eligible: BTreeSet<String> = release_operations(run, &rules)
            .into_iter()
            .filter(|info| info.eligible)
            .map(|info| info.op.id.clone())
            .collect();
        // Requests per test, counted as the coverage report counts them.
        let mut per_spec = vec![0u64; run.specs.len()];
        for req in &run.requests {
            let counted = match req.attribution {
                Attribution::Ua => true,
                Attribution::Window => opts.count_window,
                Attribution::Ambiguous | Attribution::None => false,
            };
            if let Some(spec) = req.spec
                && counted
                && let Some(slot) = per_spec.get_mut(spec.index())
                && (!opts.success_only || is_success(req.code))
                && filter.matches(run, req)
            {
                *slot += 1;
            }
        }
        let mut requests: HashMap<String, u64> = HashMap::new();
        for (spec, n) in run.specs.iter().zip(per_spec) {
            if n > 0 && !spec.suite_node {
                *requests.entry(run.str(spec.name).to_string()).or_default() += n;
            }
        }
        let keep = |r: &crate::run::Request| {
            (!opts.success_only || is_success(r.code)) && filter.matches(run, r)
        };
        let (by_endpoint, _) = endpoint_latencies(run, &keep);
        let latency = by_endpoint
            .into_iter()
            .map(|(k, p)| (k.name(run).to_string(), p))
            .collect();
        restrict(&mut coverage, &opts.filter)?;
        Ok(Side {
            source,
            kind,
            release: coverage.release.clone(),
            coverage,
            eligible: Some(eligible),
            requests: Some(requests),
            latency: Some(latency),
            notes: Vec::new(),
        })
    }

    /// Takes an APISnoop coverage document as a side. The request filters (`--code`,
    /// `--user-agent`) cannot apply to it, and its totals stay as published.
    pub fn from_coverage(
        mut coverage: Coverage,
        source: String,
        opts: &SideOptions,
    ) -> Result<Side, SideError> {
        let f = &opts.filter;
        let mut notes = Vec::new();
        let mut unusable: Vec<&str> = Vec::new();
        if f.code.is_some() {
            unusable.push("--code");
        }
        if f.user_agent.is_some() {
            unusable.push("--user-agent");
        }
        if opts.success_only {
            unusable.push("--success-only");
        }
        if !unusable.is_empty() {
            notes.push(format!(
                "{source}: {} cannot apply to an APISnoop coverage file (it holds no requests)",
                unusable.join(" and ")
            ));
        }
        if f.spec.is_some() || f.endpoint.is_some() {
            notes.push(format!(
                "{source}: the filters narrow the lists; its totals are as published"
            ));
        }
        restrict(&mut coverage, f)?;
        let release = coverage.release.clone();
        let eligible = apisnoop_eligible(release.as_deref());
        Ok(Side {
            source,
            kind: SideKind::Apisnoop,
            release,
            coverage,
            eligible,
            requests: None,
            latency: None,
            notes,
        })
    }

    /// Whether the operation is conformance-eligible on this side (`None`: unknown here).
    pub fn is_eligible(&self, id: &str) -> Option<bool> {
        self.eligible.as_ref().map(|e| e.contains(id))
    }

    /// Each test's endpoints on this side: the inverse of the endpoints' `tests` lists.
    pub fn endpoints_per_test(&self) -> BTreeMap<&str, BTreeSet<&str>> {
        let mut per_test: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
        for t in &self.coverage.tests {
            per_test.entry(t.test.as_str()).or_default();
        }
        for e in &self.coverage.endpoints {
            for t in &e.tests {
                per_test
                    .entry(t.as_str())
                    .or_default()
                    .insert(e.endpoint.as_str());
            }
        }
        per_test
    }
}

/// The conformance-eligible operations of an APISnoop file's release, from the embedded
/// release table and the one set of rules ([`release_operations`]); `None` when the release
/// is unknown or not in the tables.
fn apisnoop_eligible(release: Option<&str>) -> Option<BTreeSet<String>> {
    let release = crate::model::Release::parse(release?)?;
    let catalog = crate::endpoints::Catalog::embedded();
    if !catalog.has(release) {
        return None;
    }
    let run = Run {
        operations: catalog.operations(release).cloned().collect(),
        release: Some(crate::run::RunRelease {
            release,
            source: crate::run::ReleaseSource::Flag,
            evidence: release.to_string(),
            detected: None,
        }),
        ..Run::default()
    };
    Some(
        release_operations(&run, &CoverageRules::embedded())
            .into_iter()
            .filter(|info| info.eligible)
            .map(|info| info.op.id.clone())
            .collect(),
    )
}

/// Applies `--endpoint` (to operationIds) and `--spec` (to test names) to a coverage
/// document, so that every kind of side is narrowed the same way. `tested` and
/// `conf_tested` follow the tests left.
fn restrict(coverage: &mut Coverage, f: &FilterArgs) -> Result<(), FilterError> {
    let compiled = f.to_filter()?;
    if let Some(re) = &compiled.endpoint {
        coverage.endpoints.retain(|e| re.is_match(&e.endpoint));
    }
    if let Some(re) = &compiled.spec {
        coverage.tests.retain(|t| re.is_match(&t.test));
        let conformance: HashMap<&str, bool> = coverage
            .tests
            .iter()
            .map(|t| (t.test.as_str(), t.conformance_test))
            .collect();
        for e in &mut coverage.endpoints {
            e.tests.retain(|t| re.is_match(t));
            e.tested = !e.tests.is_empty();
            e.conf_tested = e
                .tests
                .iter()
                .any(|t| conformance.get(t.as_str()).copied().unwrap_or(false));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_key_reads_the_first_object_key() {
        assert_eq!(first_key(b"  {\n  \"spec\": 1}").as_deref(), Some("spec"));
        assert_eq!(first_key(b"{\"kind\":\"Event\"}").as_deref(), Some("kind"));
        assert_eq!(first_key(b"[1,2]"), None);
        assert_eq!(first_key(b"{ 1: 2}"), None);
        assert_eq!(first_key(b""), None);
    }
}
