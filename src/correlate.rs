//! Correlation: merge stage events into requests, and tie every request to the spec that made it.
//!
//! A request belongs to a spec
//! - by its user agent (`ua`), when the e2e framework appended ` -- <spec text>`;
//! - else by time (`window`), when it was received inside exactly one spec's window: from
//!   `entries.log` the window is `[start_i, start_{i+1})`, from a ginkgo log the spec's first to
//!   last timestamp, and from an `/apisnoop-mark?test=<name>` request to the next mark;
//! - `ambiguous` when several windows overlap (parallel ginkgo nodes): not guessed;
//! - `none` otherwise.

use std::collections::HashMap as StdHashMap;

use foldhash::HashMap;
use thiserror::Error;

pub mod live;

use crate::endpoints::{CachedMatcher, Catalog, EndpointTable, Release, ReleaseEvidence};
use crate::ingest::audit::{AuditEvent, ReadOptions, read_audit};
use crate::ingest::e2e::{self, E2eInput, E2eKind, SpecRecord};
use crate::ingest::kind::{self, InputKind};
use crate::ingest::source::IngestError;
use crate::ingest::useragent;
use crate::run::{
    Agent, Attribution, Decision, Frame, FrameId, Micros, NO_TIME, ObjectRef, Request, Run, Spec,
    SpecId, StrId, Trace, TraceId, User, UserId,
};

/// The inputs of one correlation, as the user named them.
#[derive(Debug, Clone, Default)]
pub struct Inputs {
    /// Audit logs (`--audit`); rotated logs are merged in time order.
    pub audit: Vec<String>,
    /// ginkgo v1/v2 e2e logs (`--e2e-log`).
    pub e2e_logs: Vec<String>,
    /// 2018 spy `entries.log` files (`--entries`).
    pub entries: Vec<String>,
    /// JUnit XML files (`--junit`).
    pub junit: Vec<String>,
    /// Inputs whose kind is detected from their content.
    pub auto: Vec<String>,
}

impl Inputs {
    /// True when no input at all was named.
    pub fn is_empty(&self) -> bool {
        self.audit.is_empty()
            && self.e2e_logs.is_empty()
            && self.entries.is_empty()
            && self.junit.is_empty()
            && self.auto.is_empty()
    }
}

/// How to correlate.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// The first bad audit line is an error instead of being skipped and counted.
    pub strict: bool,
    /// Show progress on stderr (only when it is a terminal).
    pub progress: bool,
    /// Further OpenAPI specs whose operations are added to the release's embedded table.
    pub openapi: Vec<String>,
    /// The Kubernetes release whose table to match against (`--release`); detected from
    /// the inputs when `None` (see [`crate::endpoints::choose_release`]).
    pub release: Option<Release>,
    /// Print on stderr what a folder walk took and left (see [`kind::walk`]).
    pub show_walk: bool,
}

/// Why a correlation failed.
#[derive(Debug, Error)]
pub enum CorrelateError {
    #[error(transparent)]
    Ingest(#[from] IngestError),
    #[error("{path}: {message}")]
    OpenApi { path: String, message: String },
    #[error("no audit log given: name one with --audit FILE (or as an input)")]
    NoAudit,
    #[error("{path}: is a RUN.json, not an input to correlate; open it with `explore` or `report`")]
    RunGiven { path: String },
    #[error(
        "{path}: is {what}, whole only at its end: it cannot be followed (--follow reads JSON lines); read it without --follow"
    )]
    Unfollowable { path: String, what: &'static str },
    #[error(transparent)]
    Write(#[from] crate::run::format::FormatError),
}

/// The path of the marks a test harness can send to open a window for a spec.
pub const MARK_PATH: &str = "/apisnoop-mark";

/// Prints how long each stage took on stderr when `AUDITSCOPE_TIMINGS` is set (for
/// profiling; see BENCHMARKS.md).
pub struct StageClock {
    enabled: bool,
    last: std::time::Instant,
}

impl StageClock {
    /// A clock that prints only when `AUDITSCOPE_TIMINGS` is set.
    pub fn from_env() -> StageClock {
        StageClock {
            enabled: std::env::var_os("AUDITSCOPE_TIMINGS").is_some(),
            last: std::time::Instant::now(),
        }
    }

    /// Prints the time since the previous stage ended, naming the stage that just ended.
    pub fn lap(&mut self, stage: &str) {
        let now = std::time::Instant::now();
        if self.enabled {
            eprintln!(
                "auditscope: {stage}: {:.3} s{}{}",
                (now - self.last).as_secs_f64(),
                peak_rss().map_or(String::new(), |kb| format!(", peak RSS {} MB", kb / 1024)),
                thread_cpu().map_or(String::new(), |s| format!(
                    ", calling thread's CPU so far {s:.3} s"
                ))
            );
        }
        self.last = now;
    }
}

/// The inputs of a correlation sorted by kind (folders walked, kinds detected), and the
/// `--openapi` tables read: everything known before the audit log is read.
#[derive(Debug, Clone, Default)]
pub struct Resolved {
    /// Audit logs, in the order they are read.
    pub audit: Vec<String>,
    /// e2e logs, `entries.log` files and JUnit files, with their kind when known.
    pub e2e: Vec<(String, Option<E2eKind>)>,
    /// What each folder walk took and left, for the run's notes.
    pub walked: Vec<String>,
    /// Tables of `--openapi` specs, merged into the release's table.
    pub extra_tables: Vec<EndpointTable>,
}

/// Sorts the inputs by kind (walking folders, detecting kinds) and reads the `--openapi`
/// specs, so a bad input fails before the audit log is read.
pub fn resolve(inputs: &Inputs, opts: &Options) -> Result<Resolved, CorrelateError> {
    let mut audit = inputs.audit.clone();
    let mut e2e_inputs: Vec<(String, Option<E2eKind>)> = Vec::new();
    e2e_inputs.extend(inputs.e2e_logs.iter().map(|p| (p.clone(), None)));
    e2e_inputs.extend(
        inputs
            .entries
            .iter()
            .map(|p| (p.clone(), Some(E2eKind::Entries))),
    );
    e2e_inputs.extend(
        inputs
            .junit
            .iter()
            .map(|p| (p.clone(), Some(E2eKind::Junit))),
    );
    let mut walked = Vec::new();
    for path in &inputs.auto {
        if path != "-" && std::path::Path::new(path).is_dir() {
            let walk = kind::walk(path)?;
            if opts.show_walk {
                for line in walk.describe() {
                    eprintln!("auditscope: {}", crate::text::escape_control(&line));
                }
            }
            for t in &walk.taken {
                match t.kind {
                    InputKind::Audit => audit.push(t.path.clone()),
                    InputKind::E2e(kind) => e2e_inputs.push((t.path.clone(), Some(kind))),
                    InputKind::Run => {}
                }
            }
            walked.push(walk.summary());
            continue;
        }
        match kind::detect(path)? {
            InputKind::Audit => audit.push(path.clone()),
            InputKind::E2e(kind) => e2e_inputs.push((path.clone(), Some(kind))),
            InputKind::Run => return Err(CorrelateError::RunGiven { path: path.clone() }),
        }
    }
    if audit.is_empty() {
        return Err(CorrelateError::NoAudit);
    }

    // Read before the audit log, so a bad spec fails fast.
    let mut extra_tables = Vec::with_capacity(opts.openapi.len());
    for path in &opts.openapi {
        let bytes = crate::ingest::source::read_to_vec(path)?;
        let extra = EndpointTable::from_openapi(&bytes).map_err(|e| CorrelateError::OpenApi {
            path: path.clone(),
            message: e.to_string(),
        })?;
        extra_tables.push(extra);
    }
    Ok(Resolved {
        audit,
        e2e: e2e_inputs,
        walked,
        extra_tables,
    })
}

/// The process's peak resident memory so far in KB (`VmHWM`; Linux only).
fn peak_rss() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// The CPU time the calling thread has had so far, in seconds (Linux only): for reading,
/// the sink's own CPU, the one serial stage.
fn thread_cpu() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    let nanos: u64 = stat.split_whitespace().next()?.parse().ok()?;
    Some(nanos as f64 / 1e9)
}

/// Reads every input and correlates them into a [`Run`].
pub fn correlate(inputs: &Inputs, opts: &Options) -> Result<Run, CorrelateError> {
    let resolved = resolve(inputs, opts)?;
    correlate_resolved_with(&resolved, opts, None, &mut e2e::read_e2e, &mut |_, _| {})
}

/// [`correlate`] and [`crate::run::format::write_run`] at once, for `correlate -o`: the
/// requests are matched to operations while the file is written up to their endpoint column
/// (matching and writing are most of the time after reading, and each leaves a core idle part
/// of the time). `notes` go first among the run's notes. Gives the run as written.
pub fn correlate_and_write(
    inputs: &Inputs,
    opts: &Options,
    notes: Vec<String>,
    path: &std::path::Path,
) -> Result<Run, CorrelateError> {
    let resolved = resolve(inputs, opts)?;
    let mut clock = StageClock::from_env();
    // The e2e inputs are read on a thread of their own while the audit logs are read: after
    // reading, they were a tenth of the time with one core idle. They need the year of the
    // run's first request (ginkgo v1 timestamps carry none), known for sure only once every
    // request is read and sorted: the thread takes the year of the first event read, and the
    // inputs are read again after reading in the rare run where the two years differ.
    // Only files can be read again: stdin or a pipe (`<(zcat e2e.log.gz)`) is read once, after
    // the audit logs, as always.
    let rereadable = resolved
        .e2e
        .iter()
        .all(|(path, _)| path != "-" && std::fs::metadata(path).is_ok_and(|m| m.is_file()));
    let (year_tx, year_rx) = std::sync::mpsc::sync_channel::<Option<i32>>(1);
    let (run, prefetched) = std::thread::scope(|scope| {
        let e2e_inputs = &resolved.e2e;
        let flag = opts.release;
        let prefetch = (rereadable && !e2e_inputs.is_empty())
            .then(|| scope.spawn(move || prefetch_e2e(e2e_inputs, flag, &year_rx)));
        let first_year = prefetch.is_some().then_some(year_tx);
        let run = read_audit_logs(
            &resolved,
            opts,
            None,
            first_year,
            &mut |_, _| {},
            &mut clock,
            true,
        );
        // A thread that panicked read nothing ahead: the inputs are read after reading.
        (run, prefetch.and_then(|p| p.join().ok().flatten()))
    });
    let run = run?;
    // The stages up to writing keep one core busy: the other drops the cached pages of the
    // RUN.json being replaced meanwhile, which replacing it would otherwise free on the way
    // out (see `uncache_replaced`). Nothing waits for it.
    let replaced = path.to_path_buf();
    let _ = std::thread::Builder::new()
        .name("uncache-replaced".to_string())
        .spawn(move || crate::run::format::uncache_replaced(&replaced));
    let mut prefetched = prefetched.map(|(year, inputs)| (year, inputs.into_iter()));
    let mut read_e2e = |path: &str, kind: Option<E2eKind>, year_hint: Option<i32>| {
        // `complete_to_release` reads the inputs in the order the thread read them, all with
        // the same year: the thread's answers stand when its year was that one.
        if let Some((year, inputs)) = prefetched.as_mut()
            && *year == year_hint
            && let Some(input) = inputs.next()
        {
            return input;
        }
        e2e::read_e2e(path, kind, year_hint)
    };
    let (mut run, table) = complete_to_release(run, &resolved, opts, &mut clock, &mut read_e2e)?;
    run.notes.splice(0..0, notes);
    run.operations = table.operations().to_vec();
    let endpoints = {
        let (table, written) = (&table, &run);
        crate::run::format::write_run_matching(written, path, move || {
            match_requests(table, written)
        })?
    };
    for (req, endpoint) in run.requests.iter_mut().zip(endpoints) {
        req.endpoint = endpoint;
    }
    clock.lap("match endpoints + write RUN.json");
    Ok(run)
}

/// [`correlate`] of resolved inputs. Bytes read are added to `bytes_read`; e2e inputs are
/// read with `read_e2e`; `watch` is called every few thousand events with the builder so
/// far and the input being read (progressive loading takes snapshots there).
pub(crate) fn correlate_resolved_with(
    resolved: &Resolved,
    opts: &Options,
    bytes_read: Option<std::sync::Arc<std::sync::atomic::AtomicU64>>,
    read_e2e: &mut ReadE2e<'_>,
    watch: &mut dyn FnMut(&Builder, usize),
) -> Result<Run, CorrelateError> {
    let mut clock = StageClock::from_env();
    let run = read_audit_logs(resolved, opts, bytes_read, None, watch, &mut clock, false)?;
    complete(run, resolved, opts, &mut clock, read_e2e)
}

/// The e2e inputs of a correlation and the year they were read with, read ahead by
/// [`correlate_and_write`] while the audit logs are read.
type PrefetchedE2e = (Option<i32>, Vec<Result<E2eInput, IngestError>>);

/// Reads `inputs` in order with the year that comes through `year` (the year of the first
/// audit event read), stopping at the first that fails. Nothing when no year comes (the audit
/// logs had no time, or reading them failed).
///
/// The endpoint catalog is made ready meanwhile too (it is parsed once per process), and the
/// table of the release when the `--release` flag or an e2e log names it (then the audit
/// events' user agents, known only after reading, do not change it).
fn prefetch_e2e(
    inputs: &[(String, Option<E2eKind>)],
    flag: Option<Release>,
    year: &std::sync::mpsc::Receiver<Option<i32>>,
) -> Option<PrefetchedE2e> {
    let catalog = Catalog::embedded();
    let year = year.recv().ok()?;
    let mut read = Vec::with_capacity(inputs.len());
    for (path, kind) in inputs {
        let input = e2e::read_e2e(path, *kind, year);
        let failed = input.is_err();
        read.push(input);
        if failed {
            break;
        }
    }
    let evidence = ReleaseEvidence {
        flag,
        e2e_log: read
            .iter()
            .filter_map(|input| input.as_ref().ok()?.server_version.clone())
            .collect(),
        agents: Vec::new(),
    };
    if evidence.flag.is_some() || evidence.e2e_log.iter().any(|v| Release::parse(v).is_some()) {
        let _ =
            Catalog::embedded_table(crate::endpoints::choose_release(&evidence, catalog).release);
    }
    Some((year, read))
}

/// The calendar year of a time.
fn year_of(time: Micros) -> Option<i32> {
    crate::run::time::to_datetime(time).map(|t| chrono::Datelike::year(&t))
}

/// Reads the audit logs into requests sorted by receive time (see
/// [`correlate_resolved_with`]). The year of the first event with a receive time goes to
/// `first_year` as soon as it is read (see [`correlate_and_write`]). `mapped`: read plain
/// files through a memory map ([`ReadOptions::mapped`]; the `correlate` command only).
fn read_audit_logs(
    resolved: &Resolved,
    opts: &Options,
    bytes_read: Option<std::sync::Arc<std::sync::atomic::AtomicU64>>,
    mut first_year: Option<std::sync::mpsc::SyncSender<Option<i32>>>,
    watch: &mut dyn FnMut(&Builder, usize),
    clock: &mut StageClock,
    mapped: bool,
) -> Result<Run, CorrelateError> {
    let mut builder = Builder::default();
    builder.reserve(expected_requests(&resolved.audit));
    for (index, path) in resolved.audit.iter().enumerate() {
        let read_opts = ReadOptions {
            strict: opts.strict,
            input_index: index as u16,
            progress: opts.progress,
            bytes_read: bytes_read.clone(),
            mapped,
        };
        let mut n = 0u32;
        let stats = read_audit(path, &read_opts, &mut |ev, line| {
            if first_year.is_some()
                && let Some(time) = ev.received()
                && let Some(sender) = first_year.take()
            {
                // The receiver may be gone (a thread that panicked): nothing is read ahead.
                let _ = sender.send(year_of(time));
            }
            builder.add_event(ev, index as u16, line);
            n = n.wrapping_add(1);
            if n.is_multiple_of(WATCH_EVERY) {
                watch(&builder, index);
            }
        })?;
        builder.run.inputs.push(stats.info);
        builder.run.accounting.merge(stats.accounting);
    }
    clock.lap("read audit");
    let run = builder.finish();
    clock.lap("sort requests");
    Ok(run)
}

/// Reads one e2e input ([`e2e::read_e2e`], or a cache of it while following).
pub(crate) type ReadE2e<'a> =
    dyn FnMut(&str, Option<E2eKind>, Option<i32>) -> Result<E2eInput, IngestError> + 'a;

/// How many events go by between two calls of [`correlate_resolved`]'s `watch`.
const WATCH_EVERY: u32 = 4096;

/// Everything after the audit log is read: the e2e inputs, their windows, attribution, the
/// release and matching to operations. `run` holds the requests, sorted by receive time.
pub(crate) fn complete(
    run: Run,
    resolved: &Resolved,
    opts: &Options,
    clock: &mut StageClock,
    read_e2e: &mut ReadE2e<'_>,
) -> Result<Run, CorrelateError> {
    let (mut run, table) = complete_to_release(run, resolved, opts, clock, read_e2e)?;
    let endpoints = match_requests(&table, &run);
    for (req, endpoint) in run.requests.iter_mut().zip(endpoints) {
        req.endpoint = endpoint;
    }
    // The operations alone are copied from the embedded table, not its trie too.
    run.operations = match table {
        std::borrow::Cow::Borrowed(embedded) => embedded.operations().to_vec(),
        std::borrow::Cow::Owned(table) => table.into_operations(),
    };
    clock.lap("match endpoints");
    Ok(run)
}

/// The operation each request of `run` matches in `table`, in request order.
fn match_requests(table: &EndpointTable, run: &Run) -> Vec<Option<crate::run::OpId>> {
    CachedMatcher::match_ids(
        table,
        &run.strings,
        run.requests.iter().map(|r| (r.verb, r.uri)),
    )
}

/// [`complete`] up to matching: the run with its release chosen, and the endpoint table of
/// that release its requests are to be matched against.
fn complete_to_release(
    mut run: Run,
    resolved: &Resolved,
    opts: &Options,
    clock: &mut StageClock,
    read_e2e: &mut ReadE2e<'_>,
) -> Result<(Run, std::borrow::Cow<'static, EndpointTable>), CorrelateError> {
    run.notes.extend(resolved.walked.iter().cloned());
    let year_hint = run
        .requests
        .iter()
        .find(|r| r.received != NO_TIME)
        .and_then(|r| year_of(r.received));
    let mut described: Vec<E2eInput> = Vec::new();
    for (path, kind) in &resolved.e2e {
        let mut input = read_e2e(path, *kind, year_hint)?;
        if input.kind == E2eKind::Entries {
            close_entry_windows(&mut input.specs);
        } else {
            // Log timestamps have millisecond precision: a spec's last millisecond belongs
            // to it, so its window ends one millisecond after its last timestamp.
            for spec in &mut input.specs {
                if spec.end != NO_TIME && spec.start != NO_TIME {
                    spec.end = spec.end.saturating_add(1_000);
                }
            }
        }
        run.inputs.push(input.info.clone());
        described.push(input);
    }
    let mut evidence = ReleaseEvidence {
        flag: opts.release,
        e2e_log: described
            .iter()
            .filter_map(|d| d.server_version.clone())
            .collect(),
        agents: Vec::new(),
    };
    let (records, notes) = e2e::combine(described);
    run.notes.extend(notes);
    add_specs(&mut run, records);
    add_mark_windows(&mut run);
    clock.lap("read e2e");
    attribute(&mut run);
    clock.lap("attribute");

    evidence.agents = agent_versions(&run);
    let catalog = Catalog::embedded();
    let release = crate::endpoints::choose_release(&evidence, catalog);
    if let Some(detected) = release.detected {
        run.notes.push(format!(
            "the inputs say release {detected} ({}); the endpoint tables cover {} to {}: using {}",
            release.evidence,
            catalog
                .releases()
                .first()
                .map_or(String::new(), |r| r.to_string()),
            catalog.latest().map_or(String::new(), |r| r.to_string()),
            release.release
        ));
    }
    // The embedded table as it is, not a copy, unless `--openapi` tables are added to it.
    let mut table = match Catalog::embedded_table(release.release) {
        Some(embedded) => std::borrow::Cow::Borrowed(embedded),
        None => std::borrow::Cow::Owned(EndpointTable::default()),
    };
    for extra in &resolved.extra_tables {
        table.to_mut().merge(extra.clone());
    }
    run.release = Some(release);
    clock.lap("choose release");
    Ok((run, table))
}

/// The products and versions of `run`'s user agents for [`ReleaseEvidence::agents`]: each
/// distinct pair once, in the order first seen, with how many agents carry it. Counted by
/// string id, so a run with a hundred thousand agents makes a few strings, not two each.
fn agent_versions(run: &Run) -> Vec<(String, String, usize)> {
    let mut index: crate::fasthash::FxMap<(StrId, StrId), usize> = Default::default();
    let mut pairs: Vec<(StrId, StrId, usize)> = Vec::new();
    for a in run.agents.iter().filter(|a| a.version != 0) {
        let at = *index.entry((a.product, a.version)).or_insert_with(|| {
            pairs.push((a.product, a.version, 0));
            pairs.len() - 1
        });
        if let Some(pair) = pairs.get_mut(at) {
            pair.2 += 1;
        }
    }
    pairs
        .into_iter()
        .map(|(product, version, n)| {
            (
                run.str(product).to_string(),
                run.str(version).to_string(),
                n,
            )
        })
        .collect()
}

/// Matches a run's requests again, against the embedded table of `release` (a RUN.json
/// correlated with another release, or before releases were known). Operations added from
/// `--openapi` files are dropped; nothing happens when the run already uses `release`.
pub fn rematch(run: &mut Run, release: Release) {
    if run
        .release
        .as_ref()
        .is_some_and(|r| r.release == release && r.detected.is_none())
    {
        return;
    }
    let catalog = Catalog::embedded();
    let chosen = crate::endpoints::choose_release(
        &ReleaseEvidence {
            flag: Some(release),
            ..Default::default()
        },
        catalog,
    );
    let table = EndpointTable::for_release(chosen.release).unwrap_or_default();
    let endpoints = CachedMatcher::match_ids(
        &table,
        &run.strings,
        run.requests.iter().map(|r| (r.verb, r.uri)),
    );
    for (req, endpoint) in run.requests.iter_mut().zip(endpoints) {
        req.endpoint = endpoint;
    }
    run.operations = table.into_operations();
    run.release = Some(chosen);
}

/// About how many requests audit logs of these sizes hold, to reserve room for them once:
/// growing the request table step by step copies it and touches fresh memory each time. A log
/// takes 1,500-3,000 bytes per request (stage events of about 1,500 bytes, one to three per
/// request); a gzipped one about a seventh of that. Reserved memory that stays unused is never
/// touched, so it costs no resident memory.
fn expected_requests(audit: &[String]) -> usize {
    let bytes: u64 = audit
        .iter()
        .filter_map(|p| {
            let len = std::fs::metadata(p).ok()?.len();
            Some(if p.ends_with(".gz") { len * 7 } else { len })
        })
        .sum();
    (bytes / 1_500).min(50_000_000) as usize
}

/// `entries.log` gives only start times: each spec's window ends where the next entry starts.
/// The last entry (the AfterSuite message) closes the last spec and opens no window itself.
fn close_entry_windows(specs: &mut [SpecRecord]) {
    let mut order: Vec<usize> = (0..specs.len())
        .filter(|&i| specs[i].start != NO_TIME)
        .collect();
    order.sort_by_key(|&i| specs[i].start);
    for pair in order.windows(2) {
        let next_start = specs[pair[1]].start;
        specs[pair[0]].end = next_start;
    }
    if let Some(&last) = order.last()
        && specs[last].end == NO_TIME
        && !specs[last].suite_node
    {
        // The run was cut off before AfterSuite: the last spec runs to the end of the log.
        specs[last].end = i64::MAX;
    }
}

/// Whitespace-insensitive form of a spec name, for matching names between sources.
fn name_key(name: &str) -> String {
    name.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn add_specs(run: &mut Run, records: Vec<SpecRecord>) {
    for rec in records {
        let name = run.strings.intern(&rec.name);
        let header = rec.header.iter().map(|h| run.strings.intern(h)).collect();
        let location = rec
            .location
            .as_deref()
            .map(|l| run.strings.intern(l))
            .unwrap_or(0);
        let (window_start, window_end) = if rec.suite_node || rec.start == NO_TIME {
            (NO_TIME, NO_TIME)
        } else if rec.end == NO_TIME {
            (rec.start, rec.start.saturating_add(1_000))
        } else {
            (rec.start, rec.end.max(rec.start))
        };
        run.specs.push(Spec {
            name,
            header,
            location,
            status: rec.status,
            duration: rec.duration,
            start: rec.start,
            end: if rec.end == i64::MAX {
                NO_TIME
            } else {
                rec.end
            },
            window_start,
            window_end,
            conformance: rec.name.contains("[Conformance]"),
            suite_node: rec.suite_node,
            steps: rec
                .steps
                .iter()
                .map(|st| crate::run::Step {
                    text: run.strings.intern(&st.text),
                    start: st.start,
                    location: st.location.as_deref().map_or(0, |l| run.strings.intern(l)),
                })
                .collect(),
        });
    }
}

/// Decodes `%XX` and `+` in a query value.
fn url_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3])
                    .ok()
                    .and_then(|h| u8::from_str_radix(h, 16).ok());
                match hex {
                    Some(b) => {
                        out.push(b);
                        i += 2;
                    }
                    None => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The spec name a mark request carries, if `uri` is a mark.
fn mark_name(uri: &str) -> Option<String> {
    // Most URIs are not marks: settled without looking for the query.
    if !uri.starts_with(MARK_PATH) {
        return None;
    }
    let (path, query) = uri.split_once('?')?;
    if path.trim_end_matches('/') != MARK_PATH {
        return None;
    }
    query
        .split('&')
        .find_map(|kv| kv.strip_prefix("test="))
        .map(url_decode)
        .filter(|n| !n.is_empty())
}

/// Requests to `/apisnoop-mark?test=<name>` open a window for that spec, closed by the next mark.
fn add_mark_windows(run: &mut Run) {
    let marks: Vec<(i64, String)> = run
        .requests
        .iter()
        .filter(|r| r.received != NO_TIME)
        .filter_map(|r| mark_name(run.str(r.uri)).map(|n| (r.received, n)))
        .collect();
    if marks.is_empty() {
        return;
    }
    let mut by_name: StdHashMap<String, SpecId> = run
        .specs
        .iter()
        .enumerate()
        .map(|(i, s)| (name_key(run.str(s.name)), SpecId::from_index(i)))
        .collect();
    for (i, (start, name)) in marks.iter().enumerate() {
        let end = marks.get(i + 1).map_or(i64::MAX, |m| m.0);
        let key = name_key(name);
        let id = *by_name.entry(key).or_insert_with(|| {
            let name_id = run.strings.intern(name);
            run.specs.push(Spec {
                name: name_id,
                start: *start,
                end: NO_TIME,
                window_start: NO_TIME,
                window_end: NO_TIME,
                conformance: name.contains("[Conformance]"),
                ..Spec::default()
            });
            SpecId::from_index(run.specs.len() - 1)
        });
        if let Some(spec) = run.specs.get_mut(id.index()) {
            spec.window_start = *start;
            spec.window_end = end;
            if spec.start == NO_TIME {
                spec.start = *start;
            }
        }
    }
    run.notes.push(format!(
        "{} {MARK_PATH} marks opened spec windows",
        marks.len()
    ));
}

/// Attributes every request: by user agent first, then by the windows it falls in.
fn attribute(run: &mut Run) {
    let mut by_name: StdHashMap<String, SpecId> = StdHashMap::new();
    for (i, s) in run.specs.iter().enumerate() {
        by_name
            .entry(name_key(run.str(s.name)))
            .or_insert(SpecId::from_index(i));
    }
    // Specs named only by user agents (no e2e description given) are created here.
    let mut agent_spec: Vec<Option<SpecId>> = Vec::with_capacity(run.agents.len());
    // Many agents carry the same spec text (one per backtrace): its spec is looked up once.
    let mut by_text: HashMap<StrId, SpecId> = HashMap::default();
    for a in 0..run.agents.len() {
        let text = run.agents[a].spec_text;
        if text == 0 {
            agent_spec.push(None);
            continue;
        }
        if let Some(&id) = by_text.get(&text) {
            agent_spec.push(Some(id));
            continue;
        }
        let key = name_key(run.str(text));
        let id = match by_name.get(&key) {
            Some(&id) => id,
            None => {
                run.specs.push(Spec {
                    name: text,
                    conformance: key.contains("[Conformance]"),
                    start: NO_TIME,
                    end: NO_TIME,
                    window_start: NO_TIME,
                    window_end: NO_TIME,
                    ..Spec::default()
                });
                let id = SpecId::from_index(run.specs.len() - 1);
                by_name.insert(key, id);
                id
            }
        };
        by_text.insert(text, id);
        agent_spec.push(Some(id));
    }

    // Windows sorted by start; requests are sorted by received time, so one sweep with a
    // small set of open windows attributes them all.
    let mut windows: Vec<(i64, i64, SpecId)> = run
        .specs
        .iter()
        .enumerate()
        .filter(|(_, s)| s.window_start != NO_TIME && s.window_end > s.window_start)
        .map(|(i, s)| (s.window_start, s.window_end, SpecId::from_index(i)))
        .collect();
    windows.sort();
    let mut next = 0usize;
    let mut open: Vec<(i64, SpecId)> = Vec::new();
    for req in &mut run.requests {
        if let Some(Some(spec)) = agent_spec.get(req.agent as usize) {
            req.spec = Some(*spec);
            req.attribution = Attribution::Ua;
            continue;
        }
        if req.received == NO_TIME {
            req.spec = None;
            req.attribution = Attribution::None;
            continue;
        }
        let t = req.received;
        while next < windows.len() && windows[next].0 <= t {
            open.push((windows[next].1, windows[next].2));
            next += 1;
        }
        open.retain(|(end, _)| *end > t);
        match open.as_slice() {
            [] => {
                req.spec = None;
                req.attribution = Attribution::None;
            }
            [(_, spec)] => {
                req.spec = Some(*spec);
                req.attribution = Attribution::Window;
            }
            _ => {
                req.spec = None;
                req.attribution = Attribution::Ambiguous;
            }
        }
    }
}

/// The hash [`Builder`] files a frame under: its function, file and line.
fn frame_hash(function: &str, file: &str, line: u32) -> u64 {
    use std::hash::{BuildHasher, Hash, Hasher};
    let mut h = foldhash::fast::FixedState::with_seed(0xf4a3e).build_hasher();
    function.hash(&mut h);
    file.hash(&mut h);
    line.hash(&mut h);
    h.finish()
}

/// The hash [`Builder`] files a trace under: its frames and whether it was cut short.
fn trace_hash(frames: &[FrameId], truncated: bool) -> u64 {
    use std::hash::{BuildHasher, Hash, Hasher};
    let mut h = foldhash::fast::FixedState::with_seed(0x7ace).build_hasher();
    frames.hash(&mut h);
    truncated.hash(&mut h);
    h.finish()
}

/// A hasher for keys that already are 64-bit hashes ([`crate::ingest::audit::hash_str`]).
#[derive(Default, Clone, Copy)]
struct PreHashed(u64);

impl std::hash::Hasher for PreHashed {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        // Only `u64` keys are hashed with this; fold anything else in so it still works.
        for &b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(b);
        }
    }
    fn write_u64(&mut self, v: u64) {
        self.0 = v;
    }
}

/// A map keyed by a 64-bit hash of the real key. Every hit is checked against the real key
/// (kept in the table the value points into); the rare different key with the same hash is
/// found by a scan, so results stay exact.
type HashIndex<V> = std::collections::HashMap<u64, V, std::hash::BuildHasherDefault<PreHashed>>;

/// Accumulates stage events into requests, interning everything repeated.
#[derive(Default)]
pub(crate) struct Builder {
    run: Run,
    /// Requests by `auditID`: each entry is an index into `run.requests`, filed under the
    /// hash of its ID (four bytes an entry where a map of hash to index took sixteen: at a
    /// few hundred thousand requests, megabytes of memory touched at random).
    by_audit_id: hashbrown::HashTable<u32>,
    /// User agent hash -> agent: the raw agent is neither hashed nor interned again per event.
    agents: HashIndex<crate::run::AgentId>,
    /// Hash of name and groups -> user.
    users: HashIndex<UserId>,
    /// Frames by the hash of their text ([`frame_hash`]): each entry is an index into
    /// `run.frames`. A frame seen before is found without interning its function and file
    /// again (a backtrace has tens of frames, and most recur).
    frames: hashbrown::HashTable<FrameId>,
    /// [`frame_hash`] of each frame of `run.frames`, by id: growing `frames` rehashes from
    /// these instead of hashing every frame's text again.
    frame_hashes: Vec<u64>,
    /// Traces by the hash of their frames ([`trace_hash`]): each entry is an index into
    /// `run.traces`, so a trace's frames are stored once, in the run.
    traces: hashbrown::HashTable<TraceId>,
    /// [`trace_hash`] of each trace of `run.traces`, by id: growing `traces` (a new trace for
    /// nearly every backtrace agent) rehashes from these instead of reading and hashing every
    /// trace's frames again.
    trace_hashes: Vec<u64>,
    conflicts: u64,
    /// The id each field of a new request was interned to last time ([`Field`]): consecutive
    /// requests mostly repeat their verb, resource, namespace, API group and source IPs, and
    /// a string equal to the last one needs neither a hash nor a probe of the string index.
    last_interned: [StrId; Field::COUNT],
    /// The users of the last few new requests (`RECENT_USERS`), each with the length of its
    /// name and its number of groups: most requests come from a few users, in turns (the
    /// kubelets, the controllers, the e2e client), and finding the user among them by
    /// comparing spares hashing the name and groups; the lengths reject the others without
    /// reading their text.
    recent_users: Vec<(UserId, usize, usize)>,
    /// Where in `recent_users` the next user goes (the oldest one).
    next_recent_user: usize,
    /// The raw user agents of the last few new requests that found a known agent, with their
    /// hash and agent: an agent seen a moment ago is recognised by one comparison of its text
    /// instead of comparing the text with the agent's parts piece by piece
    /// ([`Run::agent_text_is`]). A client sends many requests in a row, and a spec's agent
    /// (with its spec text and backtrace, a few kilobytes) recurs over its requests. A new
    /// agent is not remembered until it recurs: most new agents carry a backtrace that never
    /// does, and copying their text here was pure cost.
    recent_agents: Vec<(u64, crate::run::AgentId, String)>,
    /// Where in `recent_agents` the next agent goes (the oldest one).
    next_recent_agent: usize,
    /// The base parts (product, version, OS, architecture, commit, suffix) of the last new
    /// agent, and their ids ([`Builder::agent_with_parts`]).
    last_agent_base: Option<([String; 6], [StrId; 6])>,
    /// The spec text of the last new agent that had one, and its id.
    last_agent_spec: Option<(String, StrId)>,
}

/// True when `a` and `b` are the same text; a short one compared in line (the base parts of a
/// user agent are a few bytes each, where a `memcmp` call costs more than the comparison).
fn same_text(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    if a.len() > 16 {
        return a == b;
    }
    let mut same = true;
    for (x, y) in a.iter().zip(b) {
        same &= x == y;
    }
    same
}

/// How many users [`Builder::user_cached`] remembers.
const RECENT_USERS: usize = 8;

/// How many raw user agents [`Builder::agent_for`] remembers.
const RECENT_AGENTS: usize = 8;

/// The fields of a request whose last interned string [`Builder::intern_field`] remembers.
#[derive(Clone, Copy)]
enum Field {
    Verb,
    Resource,
    Subresource,
    Namespace,
    Name,
    ApiGroup,
    ApiVersion,
    SourceIps,
}

impl Field {
    /// How many fields there are.
    const COUNT: usize = 8;
}

impl Builder {
    /// Makes room for `requests` requests.
    fn reserve(&mut self, requests: usize) {
        self.run.requests.reserve(requests);
        let requests_so_far = &self.run.requests;
        self.by_audit_id.reserve(requests, |&i| {
            requests_so_far
                .get(i as usize)
                .map_or(0, |r| crate::run::strings::hash_str(&r.audit_id))
        });
    }

    /// Interns `s`, the value of `field` in a new request: when it is the string that field
    /// held last time, its id is known without looking it up. Ids are given in the same order
    /// as [`crate::model::strings::Interner::intern`] alone gives them (a remembered string
    /// is already in the table).
    fn intern_field(&mut self, field: Field, s: &str) -> StrId {
        let slot = field as usize;
        let last = self.last_interned.get(slot).copied().unwrap_or(0);
        if last != 0 && self.run.strings.get(last) == s {
            return last;
        }
        let id = self.run.strings.intern(s);
        if let Some(kept) = self.last_interned.get_mut(slot) {
            *kept = id;
        }
        id
    }

    /// The user named `name` in `groups`, added when new; the users of the last few requests
    /// are tried first. A user is one (name, groups), found by [`Builder::user`] under one id,
    /// so remembering its answers changes none.
    fn user_cached(&mut self, name: &str, groups: &[std::borrow::Cow<'_, str>]) -> UserId {
        let run = &self.run;
        let is_user = |&(id, name_len, group_count): &(UserId, usize, usize)| {
            name_len == name.len()
                && group_count == groups.len()
                && run.users.get(id as usize).is_some_and(|u| {
                    run.str(u.name) == name
                        && u.groups.iter().zip(groups).all(|(&a, b)| run.str(a) == b)
                })
        };
        if let Some(&(id, _, _)) = self.recent_users.iter().find(|r| is_user(r)) {
            return id;
        }
        let id = self.user(name, groups);
        let remembered = (id, name.len(), groups.len());
        if self.recent_users.len() < RECENT_USERS {
            self.recent_users.push(remembered);
        } else if let Some(slot) = self.recent_users.get_mut(self.next_recent_user) {
            *slot = remembered;
        }
        self.next_recent_user = (self.next_recent_user + 1) % RECENT_USERS;
        id
    }

    fn user(&mut self, name: &str, groups: &[std::borrow::Cow<'_, str>]) -> UserId {
        use std::hash::{BuildHasher, Hasher};
        let mut h = foldhash::fast::FixedState::with_seed(0x75e5).build_hasher();
        h.write(name.as_bytes());
        for g in groups {
            h.write_u8(0xff);
            h.write(g.as_bytes());
        }
        let key = h.finish();
        let same = |run: &Run, u: &User| {
            run.str(u.name) == name
                && u.groups.len() == groups.len()
                && u.groups.iter().zip(groups).all(|(&a, b)| run.str(a) == b)
        };
        if let Some(&id) = self.users.get(&key)
            && self
                .run
                .users
                .get(id as usize)
                .is_some_and(|u| same(&self.run, u))
        {
            return id;
        }
        if self.users.contains_key(&key)
            && let Some(i) = self.run.users.iter().position(|u| same(&self.run, u))
        {
            return i as UserId;
        }
        let name = self.run.strings.intern(name);
        let groups: Vec<StrId> = groups.iter().map(|g| self.run.strings.intern(g)).collect();
        let id = self.run.users.len() as UserId;
        self.run.users.push(User { name, groups });
        self.users.entry(key).or_insert(id);
        id
    }

    /// The agent for a raw user agent whose [`crate::ingest::audit::hash_str`] is `hash`.
    fn agent_for(&mut self, raw: &str, hash: u64) -> crate::run::AgentId {
        if let Some(&(_, id, _)) = self
            .recent_agents
            .iter()
            .find(|(h, _, text)| *h == hash && text == raw)
        {
            return id;
        }
        let (id, new) = self.agent_by_hash(raw, hash);
        if new {
            return id;
        }
        // The same text always gives the same agent (the first one with it), so remembering
        // the answer changes none.
        if self.recent_agents.len() < RECENT_AGENTS {
            self.recent_agents.push((hash, id, raw.to_string()));
        } else if let Some(slot) = self.recent_agents.get_mut(self.next_recent_agent) {
            slot.0 = hash;
            slot.1 = id;
            slot.2.clear();
            slot.2.push_str(raw);
        }
        self.next_recent_agent = (self.next_recent_agent + 1) % RECENT_AGENTS;
        id
    }

    /// [`Builder::agent_for`] without the recent agents: by the hash index, else new (then
    /// with `true`).
    fn agent_by_hash(&mut self, raw: &str, hash: u64) -> (crate::run::AgentId, bool) {
        let run = &self.run;
        let same = |a: &Agent| run.agent_text_is(a, raw);
        if let Some(&id) = self.agents.get(&hash) {
            if run.agents.get(id as usize).is_some_and(same) {
                return (id, false);
            }
            if let Some(i) = run.agents.iter().position(same) {
                return (i as crate::run::AgentId, false);
            }
        }
        let id = self.agent(raw);
        self.agents.entry(hash).or_insert(id);
        (id, true)
    }

    /// The request an `auditID` already has, if any.
    fn request_of(&self, audit_id: &str, hash: u64) -> Option<u32> {
        let requests = &self.run.requests;
        self.by_audit_id
            .find(hash, |&i| {
                requests
                    .get(i as usize)
                    .is_some_and(|r| &*r.audit_id == audit_id)
            })
            .copied()
    }

    /// Files request `idx`, whose `auditID` hashes to `hash`, under its ID.
    fn file_request(&mut self, idx: u32, hash: u64) {
        let requests = &self.run.requests;
        self.by_audit_id.insert_unique(hash, idx, |&i| {
            requests
                .get(i as usize)
                .map_or(0, |r| crate::run::strings::hash_str(&r.audit_id))
        });
    }

    /// [`Agent::with_parts`], with the base parts and the spec text of the last new agent
    /// remembered: the new agents of a run are mostly one client's backtraces, so they repeat
    /// the last one's base (and within a spec its spec text), and a repeat is known by
    /// comparing the texts instead of hashing and looking up each one. Ids come out as
    /// `with_parts` gives them: a remembered text is already in the table, and the others are
    /// interned in the same order (the base, then the spec text).
    fn agent_with_parts(&mut self, parsed: &useragent::ParsedAgent<'_>) -> Agent {
        let base = parsed.base_parts();
        let remembered = &mut self.last_agent_base;
        let same_base = remembered.as_ref().is_some_and(|(texts, _)| {
            texts
                .iter()
                .zip(base)
                .all(|(kept, part)| same_text(kept, part))
        });
        let ids = match remembered {
            Some((_, ids)) if same_base => *ids,
            _ => {
                let ids = base.map(|part| self.run.strings.intern(part));
                let (texts, kept_ids) = remembered.get_or_insert_with(Default::default);
                for (kept, part) in texts.iter_mut().zip(base) {
                    kept.clear();
                    kept.push_str(part);
                }
                *kept_ids = ids;
                ids
            }
        };
        let spec_text = match parsed.spec {
            None => 0,
            Some(text) => match &self.last_agent_spec {
                Some((kept, id)) if kept == text => *id,
                _ => {
                    let id = self.run.strings.intern(text);
                    let (kept, kept_id) = self.last_agent_spec.get_or_insert_with(Default::default);
                    kept.clear();
                    kept.push_str(text);
                    *kept_id = id;
                    id
                }
            },
        };
        Agent::with_ids(ids, spec_text)
    }

    /// Adds the agent whose text is `raw`.
    fn agent(&mut self, raw: &str) -> crate::run::AgentId {
        let parsed = useragent::parse(raw);
        let mut agent = self.agent_with_parts(&parsed);
        if let Some(trace) = &parsed.trace {
            let mut frames = Vec::with_capacity(trace.frames.len());
            for f in &trace.frames {
                let hash = frame_hash(f.function, f.file, f.line);
                let run = &self.run;
                let same = |&id: &FrameId| {
                    run.frames.get(id as usize).is_some_and(|k| {
                        k.line == f.line
                            && run.str(k.function) == f.function
                            && run.str(k.file) == f.file
                    })
                };
                let id = match self.frames.find(hash, same) {
                    Some(&id) => id,
                    None => {
                        // Interned in the order they always were, so string ids do not move.
                        let function = self.run.strings.intern(f.function);
                        let file = self.run.strings.intern(f.file);
                        let id = self.run.frames.len() as FrameId;
                        self.run.frames.push(Frame {
                            function,
                            file,
                            line: f.line,
                        });
                        self.frame_hashes.push(hash);
                        let hashes = &self.frame_hashes;
                        self.frames.insert_unique(hash, id, |&i| {
                            hashes.get(i as usize).copied().unwrap_or(0)
                        });
                        id
                    }
                };
                frames.push(id);
            }
            let truncated = trace.truncated;
            let hash = trace_hash(&frames, truncated);
            let traces = &self.run.traces;
            let same = |&id: &TraceId| {
                traces
                    .get(id as usize)
                    .is_some_and(|t| t.truncated == truncated && t.frames == frames)
            };
            let id = match self.traces.find(hash, same) {
                Some(&id) => id,
                None => {
                    let id = self.run.traces.len() as TraceId;
                    self.run.traces.push(Trace { frames, truncated });
                    self.trace_hashes.push(hash);
                    let hashes = &self.trace_hashes;
                    self.traces
                        .insert_unique(hash, id, |&i| hashes.get(i as usize).copied().unwrap_or(0));
                    id
                }
            };
            agent.trace = Some(id);
        }
        // From the parse: `keep_agent_text`'s answer, without reading the parts back.
        agent.text = self.run.keep_parsed_agent_text(&parsed, raw);
        let id = self.run.agents.len() as crate::run::AgentId;
        self.run.agents.push(agent);
        id
    }

    fn add_event(&mut self, ev: &AuditEvent<'_>, input: u16, line: u64) {
        let stage = ev.stage().unwrap_or_default();
        let code = ev.code();
        let stage_time = ev.stage_time().unwrap_or(NO_TIME);
        let received = ev.received().unwrap_or(NO_TIME);
        let decision = ev.decision();
        let level = ev.level();
        let id_hash = ev.audit_id_hash();
        if let Some(idx) = self.request_of(&ev.audit_id, id_hash) {
            self.run.accounting.stage_events_merged += 1;
            let Some(req) = self.run.requests.get_mut(idx as usize) else {
                return;
            };
            // Compared as text: no hashing on this path, which every further stage event takes.
            let strings = &self.run.strings;
            if strings.get(req.verb) != ev.verb || strings.get(req.uri) != ev.request_uri {
                self.conflicts += 1;
            }
            req.stage_events = req.stage_events.saturating_add(1);
            let later = stage >= req.stage;
            if later {
                req.stage = stage;
                if stage_time != NO_TIME {
                    req.completed = stage_time;
                }
            }
            if code != 0 && (req.code == 0 || later) {
                req.code = code;
            }
            if received != NO_TIME && (req.received == NO_TIME || received < req.received) {
                req.received = received;
            }
            if req.decision == Decision::Unknown {
                req.decision = decision;
            }
            if req.reason == 0 && !ev.reason().is_empty() {
                req.reason = self.run.strings.intern(ev.reason());
            }
            req.level = req.level.max(level);
            return;
        }
        let user = match &ev.user {
            Some(u) => self.user_cached(&u.username, &u.groups),
            None => self.user_cached("", &[]),
        };
        let impersonated = ev
            .impersonated_user
            .as_ref()
            .map(|u| self.user(&u.username, &u.groups));
        let agent = self.agent_for(&ev.user_agent, ev.user_agent_hash());
        // Interned in the order they always were, so string ids do not move.
        let object = match &ev.object_ref {
            Some(o) => ObjectRef {
                resource: self.intern_field(Field::Resource, &o.resource),
                subresource: self.intern_field(Field::Subresource, &o.subresource),
                namespace: self.intern_field(Field::Namespace, &o.namespace),
                name: self.intern_field(Field::Name, &o.name),
                api_group: self.intern_field(Field::ApiGroup, &o.api_group),
                api_version: self.intern_field(Field::ApiVersion, &o.api_version),
            },
            None => ObjectRef::default(),
        };
        let source_ips = match ev.source_ips.as_slice() {
            [] => 0,
            [one] => self.intern_field(Field::SourceIps, one),
            many => self.run.strings.intern(&many.join(",")),
        };
        let verb = self.intern_field(Field::Verb, &ev.verb);
        let s = &mut self.run.strings;
        let request = Request {
            audit_id: (*ev.audit_id).into(),
            verb,
            uri: s.intern(&ev.request_uri),
            user,
            impersonated,
            source_ips,
            agent,
            object,
            code,
            level,
            stage,
            stage_events: 1,
            received,
            completed: stage_time,
            decision,
            reason: match ev.reason() {
                "" => 0,
                r => s.intern(r),
            },
            spec: None,
            attribution: Attribution::None,
            endpoint: None,
            input,
            line,
        };
        let idx = self.run.requests.len() as u32;
        self.run.requests.push(request);
        self.file_request(idx, id_hash);
    }

    /// The run so far, as [`Builder::finish`] would give it, leaving the builder as it is (for
    /// progressive loading and `--follow`).
    pub(crate) fn snapshot(&self) -> Run {
        let mut run = self.run.clone();
        self.note_conflicts(&mut run);
        sort_by_received(&mut run.requests);
        run
    }

    /// Requests so far.
    pub(crate) fn requests(&self) -> usize {
        self.run.requests.len()
    }

    fn note_conflicts(&self, run: &mut Run) {
        if self.conflicts > 0 {
            run.notes.push(format!(
                "{} stage events disagreed with their request's verb or URI; the first event's were kept",
                self.conflicts
            ));
        }
    }

    fn finish(mut self) -> Run {
        if self.conflicts > 0 {
            self.run.notes.push(format!(
                "{} stage events disagreed with their request's verb or URI; the first event's were kept",
                self.conflicts
            ));
        }
        drop(self.by_audit_id);
        let mut run = self.run;
        // No shrink_to_fit: the reserved room never touched costs no memory, and shrinking
        // would copy the whole table.
        sort_by_received(&mut run.requests);
        run
    }
}

/// Rotated logs and out-of-order events: requests are correlated in time order. Requests
/// without a time sort first; input order breaks ties (a stable sort).
///
/// The sort orders 4-byte indexes and then moves each request once, along the permutation's
/// cycles: a stable sort of the requests themselves would need half their size again.
fn sort_by_received(requests: &mut [Request]) {
    if requests.is_sorted_by_key(|r| r.received) {
        return;
    }
    // Sorted as (time, index) pairs: the key sits beside the index instead of behind it (a
    // comparison that reads the request touches a random ~130-byte row), and the index breaks
    // ties, so the faster unstable sort gives the stable order.
    // On one thread: on rayon it saved ~4 ms of 40 at 430k requests, and under load a run
    // waited 0.1-0.5 s for workers that had no core (bench/results/2026-12-01-pipeline.md).
    let mut keyed: Vec<(Micros, u32)> = requests
        .iter()
        .enumerate()
        .map(|(i, r)| (r.received, i as u32))
        .collect();
    keyed.sort_unstable();
    let mut order: Vec<u32> = keyed.into_iter().map(|(_, i)| i).collect();
    // `order[k]` is the request that goes to place `k`; a place is done when it holds u32::MAX.
    for start in 0..order.len() {
        if order[start] == u32::MAX {
            continue;
        }
        let held = std::mem::take(&mut requests[start]);
        let mut place = start;
        loop {
            let from = order[place] as usize;
            order[place] = u32::MAX;
            if from == start {
                requests[place] = held;
                break;
            }
            requests[place] = std::mem::take(&mut requests[from]);
            place = from;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each product and version once, in the order first seen, counted per distinct agent;
    /// agents without a version are left out.
    #[test]
    fn agent_versions_are_counted_once_each_in_first_seen_order() {
        let mut run = Run::default();
        for raw in [
            "kubelet/v1.25.6 (linux/amd64) kubernetes/abc",
            "kubectl/v1.30.0 (linux/amd64) kubernetes/def",
            "kubelet/v1.25.6 (linux/arm64) kubernetes/abc",
            "curl",
            "kubelet/v1.25.6 (linux/amd64) kubernetes/abc -- [sig-node] a spec",
        ] {
            let agent = Agent::with_parts(&useragent::parse(raw), &mut run.strings);
            run.agents.push(agent);
        }
        let pair = |p: &str, v: &str, n| (p.to_string(), v.to_string(), n);
        assert_eq!(
            agent_versions(&run),
            vec![pair("kubelet", "v1.25.6", 3), pair("kubectl", "v1.30.0", 1)]
        );
    }

    #[test]
    fn sorting_is_stable_and_moves_every_request() {
        let mut rs: Vec<Request> = [5i64, 3, NO_TIME, 3, 9, 1, 5]
            .iter()
            .enumerate()
            .map(|(i, &t)| Request {
                received: t,
                line: i as u64,
                ..Request::default()
            })
            .collect();
        sort_by_received(&mut rs);
        let got: Vec<(i64, u64)> = rs.iter().map(|r| (r.received, r.line)).collect();
        assert_eq!(
            got,
            vec![(NO_TIME, 2), (1, 5), (3, 1), (3, 3), (5, 0), (5, 6), (9, 4)]
        );
    }

    #[test]
    fn marks_are_decoded() {
        assert_eq!(
            mark_name("/apisnoop-mark?test=%5Bsig-apps%5D+Deployment+works"),
            Some("[sig-apps] Deployment works".to_string())
        );
        assert_eq!(mark_name("/apisnoop-mark"), None);
        assert_eq!(mark_name("/api/v1?test=x"), None);
        assert_eq!(url_decode("100%"), "100%");
        assert_eq!(url_decode("%zz"), "%zz");
    }

    proptest::proptest! {
        #[test]
        fn same_text_is_equality(a in "[ab/é.0-9]{0,20}", b in "[ab/é.0-9]{0,20}") {
            proptest::prop_assert_eq!(same_text(&a, &b), a == b);
            proptest::prop_assert!(same_text(&a, &a.clone()));
        }
    }

    #[test]
    fn whitespace_insensitive_names() {
        assert_eq!(name_key("  a   b c "), "a b c");
    }
}
