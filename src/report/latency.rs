//! `report latency`: how long requests took, per endpoint, spec or user agent, and the
//! slowest requests.
//!
//! A request's latency is `stageTimestamp − requestReceivedTimestamp` of its last stage
//! (`ResponseComplete` or `Panic`), as [`Request::completed`] and [`Request::received`] keep
//! it. Long-running requests (watches, streams such as exec, attach, port-forward and proxy,
//! followed logs, and anything whose last stage is `ResponseStarted`) measure how long a
//! stream stayed open, not how fast the API server answered: they are counted apart and never
//! enter the percentiles. Requests without a latency (no response logged, a time missing, or a
//! stage time before the received time) are counted apart too.
//!
//! Percentiles are nearest-rank: the value at rank ⌈p·n⌉ (1-based) of the sorted latencies,
//! so every percentile is a latency that was observed. [`Percentiles::of`] and
//! [`group_latencies`] are the building blocks other views use (`diff`, the explorer).

use std::collections::HashMap;
use std::hash::Hash;

use serde::Serialize;

use crate::fasthash::FxMap;
use crate::run::{Micros, NO_TIME, OpId, Request, Run, Stage, StrId, time};
use crate::text::escape_control;

/// What the log tells about one request's latency.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Latency {
    /// The request completed; microseconds from received to its last stage.
    Measured(Micros),
    /// A watch or a stream: its duration is not a response time.
    LongRunning,
    /// No latency: the request never completed in the log, a time is missing, or its stage
    /// time is before its received time.
    Missing,
}

/// Subresources the API server serves as streams (its long-running request check).
const STREAM_SUBRESOURCES: [&str; 4] = ["exec", "attach", "portforward", "proxy"];

/// True for a request whose duration is a stream's or a watch's, not a response time:
/// verb `watch` (or the legacy `proxy` verb), an exec/attach/port-forward/proxy subresource, a
/// followed log, or a request whose last stage is `ResponseStarted`.
pub fn is_long_running(run: &Run, req: &Request) -> bool {
    if req.stage == Stage::ResponseStarted {
        return true;
    }
    let verb = run.str(req.verb);
    if verb == "watch" || verb == "proxy" {
        return true;
    }
    let sub = run.str(req.object.subresource);
    if STREAM_SUBRESOURCES.contains(&sub) {
        return true;
    }
    let path = run.path_of(req);
    // Without an objectRef the subresource is in the path only: `…/{name}/exec`, or
    // `…/{name}/proxy[/rest]`.
    if req.object.resource == 0 {
        let last = path.rsplit('/').next().unwrap_or("");
        let stream = STREAM_SUBRESOURCES.contains(&last)
            || path.split('/').skip(4).any(|seg| seg == "proxy");
        if stream {
            return true;
        }
    }
    if sub == "log" || (req.object.resource == 0 && path.ends_with("/log")) {
        let query = run.str(req.uri).split_once('?').map_or("", |(_, q)| q);
        return query
            .split('&')
            .any(|kv| kv == "follow=true" || kv == "follow=1");
    }
    false
}

/// The latency of `req`, or why it has none.
pub fn latency_of(run: &Run, req: &Request) -> Latency {
    if is_long_running(run, req) {
        return Latency::LongRunning;
    }
    if !matches!(req.stage, Stage::ResponseComplete | Stage::Panic)
        || req.received == NO_TIME
        || req.completed == NO_TIME
        || req.completed < req.received
    {
        return Latency::Missing;
    }
    Latency::Measured(req.completed - req.received)
}

/// Count, nearest-rank percentiles and maximum of a set of latencies, in microseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Percentiles {
    pub count: u64,
    pub p50: Micros,
    pub p90: Micros,
    pub p99: Micros,
    pub max: Micros,
}

impl Percentiles {
    /// Sorts `values` and takes their percentiles; `None` when there are none.
    pub fn of(values: &mut [Micros]) -> Option<Percentiles> {
        values.sort_unstable();
        Percentiles::of_sorted(values)
    }

    /// The percentiles of values already sorted ascending; `None` when there are none.
    pub fn of_sorted(sorted: &[Micros]) -> Option<Percentiles> {
        Some(Percentiles {
            count: sorted.len() as u64,
            p50: nearest_rank(sorted, 500)?,
            p90: nearest_rank(sorted, 900)?,
            p99: nearest_rank(sorted, 990)?,
            max: *sorted.last()?,
        })
    }
}

/// The value at rank ⌈p·n⌉ (1-based, at least 1) of `sorted`, with p given in thousandths
/// (500 for p50) so the rank is computed in integers, without rounding error.
pub fn nearest_rank(sorted: &[Micros], per_mille: u64) -> Option<Micros> {
    let n = sorted.len() as u64;
    let rank = (per_mille * n).div_ceil(1000).max(1);
    sorted.get(rank as usize - 1).copied()
}

/// Requests that had no percentile to go into.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct Apart {
    /// Watches and streams.
    pub long_running: u64,
    /// Without a latency (see [`Latency::Missing`]).
    pub no_latency: u64,
}

/// The latencies of the requests `keep` accepts, grouped by `key` (which may return `None` to
/// leave a request out), with each group's percentiles; and the requests kept apart.
pub fn group_latencies<K: Eq + Hash>(
    run: &Run,
    keep: &dyn Fn(&Request) -> bool,
    key: impl FnMut(&Request) -> Option<K>,
) -> (HashMap<K, Percentiles>, Apart) {
    let (groups, apart) = collect(run, keep, key);
    (percentiles_of(groups), apart)
}

/// The latencies themselves, grouped.
fn collect<K: Eq + Hash>(
    run: &Run,
    keep: &dyn Fn(&Request) -> bool,
    mut key: impl FnMut(&Request) -> Option<K>,
) -> (FxMap<K, Vec<Micros>>, Apart) {
    let mut groups: FxMap<K, Vec<Micros>> = FxMap::default();
    let mut apart = Apart::default();
    for req in run.requests.iter().filter(|r| keep(r)) {
        match latency_of(run, req) {
            Latency::Measured(us) => {
                if let Some(k) = key(req) {
                    groups.entry(k).or_default().push(us);
                }
            }
            Latency::LongRunning => apart.long_running += 1,
            Latency::Missing => apart.no_latency += 1,
        }
    }
    (groups, apart)
}

/// Each group's percentiles.
fn percentiles_of<K: Eq + Hash>(groups: FxMap<K, Vec<Micros>>) -> HashMap<K, Percentiles> {
    groups
        .into_iter()
        .filter_map(|(k, mut v)| Percentiles::of(&mut v).map(|p| (k, p)))
        .collect()
}

/// An endpoint as latency groups name it: an operation, or the `verb path` of requests no
/// operation matched.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum EndpointKey {
    /// Index into [`Run::operations`].
    Operation(OpId),
    /// `verb path` (query string dropped).
    Unmatched(String),
}

impl EndpointKey {
    /// The key of `req`.
    pub fn of(run: &Run, req: &Request) -> EndpointKey {
        match req.endpoint {
            Some(op) => EndpointKey::Operation(op),
            None => EndpointKey::Unmatched(super::filter::unmatched_key(run, req)),
        }
    }

    /// The operationId, or `verb path`.
    pub fn name<'r>(&'r self, run: &'r Run) -> &'r str {
        match self {
            EndpointKey::Operation(op) => {
                run.operations.get(op.index()).map_or("", |o| o.id.as_str())
            }
            EndpointKey::Unmatched(k) => k,
        }
    }
}

/// Per endpoint, the percentiles of the requests `keep` accepts: what `diff` compares and the
/// explorer shows in a latency column.
pub fn endpoint_latencies(
    run: &Run,
    keep: &dyn Fn(&Request) -> bool,
) -> (HashMap<EndpointKey, Percentiles>, Apart) {
    // Grouped first by operation, or by verb and URI (ids, no text), then the unmatched
    // groups merged by `verb path`: the text is built once per distinct URI, not per request.
    #[derive(PartialEq, Eq, Hash)]
    enum Compact {
        Op(OpId),
        Uri(StrId, StrId),
    }
    let (groups, apart) = collect(run, keep, |r| {
        Some(match r.endpoint {
            Some(op) => Compact::Op(op),
            None => Compact::Uri(r.verb, r.uri),
        })
    });
    let mut merged: FxMap<EndpointKey, Vec<Micros>> = FxMap::default();
    for (k, v) in groups {
        let key = match k {
            Compact::Op(op) => EndpointKey::Operation(op),
            Compact::Uri(verb, uri) => {
                let uri = run.str(uri);
                let path = uri.split_once('?').map_or(uri, |(p, _)| p);
                EndpointKey::Unmatched(format!("{} {path}", run.str(verb)))
            }
        };
        merged.entry(key).or_default().extend(v);
    }
    (percentiles_of(merged), apart)
}

/// What the report groups by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum LatencyBy {
    /// The OpenAPI operation (or `verb path` when none matched).
    #[default]
    Endpoint,
    /// The spec the request is attributed to (`(no spec)` for the rest).
    Spec,
    /// The client: the user agent without its spec text and backtrace.
    UserAgent,
}

/// The key of requests attributed to no spec in `--by spec`.
pub const NO_SPEC: &str = "(no spec)";

/// One group's line, in milliseconds.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LatencyGroup {
    pub key: String,
    pub count: u64,
    pub p50_ms: f64,
    pub p90_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
}

/// One of the slowest requests.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SlowRequest {
    pub latency_ms: f64,
    /// When it was received (RFC 3339).
    pub received: String,
    pub verb: String,
    pub uri: String,
    pub code: u16,
    /// The operationId, or `verb path`.
    pub endpoint: String,
    /// The spec it is attributed to, if any.
    pub spec: Option<String>,
    pub audit_id: String,
}

/// The whole report.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LatencyReport {
    pub by: LatencyBy,
    /// Requests with a latency (the sum of the groups' counts).
    pub measured: u64,
    /// Watches and streams, kept out of the percentiles.
    pub long_running: u64,
    /// Requests without a usable latency.
    pub no_latency: u64,
    /// Slowest p99 first.
    pub groups: Vec<LatencyGroup>,
    /// The slowest requests, slowest first.
    pub slowest: Vec<SlowRequest>,
}

/// Microseconds as milliseconds.
fn ms(us: Micros) -> f64 {
    us as f64 / 1000.0
}

/// Builds the report over the requests `keep` accepts, with the `top` slowest requests.
pub fn latency_report(
    run: &Run,
    keep: &dyn Fn(&Request) -> bool,
    by: LatencyBy,
    top: usize,
) -> LatencyReport {
    let (named, apart): (Vec<(String, Percentiles)>, Apart) = match by {
        LatencyBy::Endpoint => {
            let (g, a) = endpoint_latencies(run, keep);
            (
                g.into_iter()
                    .map(|(k, p)| (k.name(run).to_string(), p))
                    .collect(),
                a,
            )
        }
        LatencyBy::Spec => {
            let (g, a) = group_latencies(run, keep, |r| Some(r.spec));
            (
                g.into_iter()
                    .map(|(s, p)| {
                        let name = s
                            .and_then(|s| run.specs.get(s.index()))
                            .map_or(NO_SPEC, |s| run.str(s.name));
                        (name.to_string(), p)
                    })
                    .collect(),
                a,
            )
        }
        LatencyBy::UserAgent => {
            // Agents differ by spec text and backtrace; their bases are few.
            let mut base_of: HashMap<String, u32> = HashMap::new();
            let mut names: Vec<String> = Vec::new();
            let agent_group: Vec<u32> = run
                .agents
                .iter()
                .map(|a| {
                    let mut base = run.agent_base(a);
                    if base.is_empty() {
                        base = run.agent_text(a).into_owned();
                    }
                    let next = names.len() as u32;
                    *base_of.entry(base.clone()).or_insert_with(|| {
                        names.push(base);
                        next
                    })
                })
                .collect();
            let (g, a) = group_latencies(run, keep, |r| agent_group.get(r.agent as usize).copied());
            (
                g.into_iter()
                    .map(|(i, p)| (names[i as usize].clone(), p))
                    .collect(),
                a,
            )
        }
    };
    let mut groups: Vec<(Percentiles, String)> = named.into_iter().map(|(k, p)| (p, k)).collect();
    groups.sort_by(|(a, ka), (b, kb)| {
        b.p99
            .cmp(&a.p99)
            .then(b.max.cmp(&a.max))
            .then_with(|| ka.cmp(kb))
    });
    let measured = groups.iter().map(|(p, _)| p.count).sum();
    LatencyReport {
        by,
        measured,
        long_running: apart.long_running,
        no_latency: apart.no_latency,
        groups: groups
            .into_iter()
            .map(|(p, key)| LatencyGroup {
                key,
                count: p.count,
                p50_ms: ms(p.p50),
                p90_ms: ms(p.p90),
                p99_ms: ms(p.p99),
                max_ms: ms(p.max),
            })
            .collect(),
        slowest: slowest(run, keep, top),
    }
}

/// The `top` slowest requests `keep` accepts, slowest first (earlier received first on ties).
pub fn slowest(run: &Run, keep: &dyn Fn(&Request) -> bool, top: usize) -> Vec<SlowRequest> {
    if top == 0 {
        return Vec::new();
    }
    // A min-heap of the `top` slowest so far: (latency, reversed index) so that on equal
    // latency the later request is dropped first.
    let mut heap: std::collections::BinaryHeap<
        std::cmp::Reverse<(Micros, std::cmp::Reverse<usize>)>,
    > = std::collections::BinaryHeap::with_capacity(top + 1);
    for (i, req) in run.requests.iter().enumerate() {
        if !keep(req) {
            continue;
        }
        let Latency::Measured(us) = latency_of(run, req) else {
            continue;
        };
        heap.push(std::cmp::Reverse((us, std::cmp::Reverse(i))));
        if heap.len() > top {
            heap.pop();
        }
    }
    let mut picked: Vec<(Micros, usize)> = heap
        .into_iter()
        .map(|std::cmp::Reverse((us, std::cmp::Reverse(i)))| (us, i))
        .collect();
    picked.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    picked
        .into_iter()
        .filter_map(|(us, i)| {
            let req = run.requests.get(i)?;
            Some(SlowRequest {
                latency_ms: ms(us),
                received: time::rfc3339(req.received),
                verb: run.str(req.verb).to_string(),
                uri: run.str(req.uri).to_string(),
                code: req.code,
                endpoint: EndpointKey::of(run, req).name(run).to_string(),
                spec: run.spec_of(req).map(|s| run.str(s.name).to_string()),
                audit_id: req.audit_id.to_string(),
            })
        })
        .collect()
}

impl LatencyReport {
    /// Writes the report as aligned tables.
    pub fn write_text(&self, w: &mut dyn std::io::Write) -> std::io::Result<()> {
        let what = match self.by {
            LatencyBy::Endpoint => "ENDPOINT",
            LatencyBy::Spec => "SPEC",
            LatencyBy::UserAgent => "USER AGENT",
        };
        writeln!(
            w,
            "{} requests measured; long-running (watch, exec, attach, port-forward, proxy) kept apart: {}; no latency: {}",
            self.measured, self.long_running, self.no_latency
        )?;
        writeln!(
            w,
            "{:>8} {:>10} {:>10} {:>10} {:>10}  {what}",
            "COUNT", "P50 ms", "P90 ms", "P99 ms", "MAX ms"
        )?;
        for g in &self.groups {
            writeln!(
                w,
                "{:>8} {:>10.3} {:>10.3} {:>10.3} {:>10.3}  {}",
                g.count,
                g.p50_ms,
                g.p90_ms,
                g.p99_ms,
                g.max_ms,
                escape_control(&g.key)
            )?;
        }
        if !self.slowest.is_empty() {
            writeln!(w)?;
            writeln!(w, "SLOWEST {}", self.slowest.len())?;
            writeln!(
                w,
                "{:>10}  {:<27} {:>4} {:<7} URI  SPEC",
                "MS", "RECEIVED", "CODE", "VERB"
            )?;
            for s in &self.slowest {
                writeln!(
                    w,
                    "{:>10.3}  {:<27} {:>4} {:<7} {}  {}",
                    s.latency_ms,
                    s.received,
                    s.code,
                    escape_control(&s.verb),
                    escape_control(&s.uri),
                    escape_control(s.spec.as_deref().unwrap_or("-"))
                )?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_takes_the_value_at_ceil_p_n() {
        let v: Vec<Micros> = (1..=10).collect();
        // ⌈0.5·10⌉ = 5, ⌈0.9·10⌉ = 9, ⌈0.99·10⌉ = 10.
        let p = Percentiles::of_sorted(&v).unwrap();
        assert_eq!((p.count, p.p50, p.p90, p.p99, p.max), (10, 5, 9, 10, 10));
        let v: Vec<Micros> = (1..=100).collect();
        let p = Percentiles::of_sorted(&v).unwrap();
        assert_eq!((p.p50, p.p90, p.p99), (50, 90, 99));
        let p = Percentiles::of(&mut [7]).unwrap();
        assert_eq!((p.p50, p.p90, p.p99, p.max), (7, 7, 7, 7));
        let p = Percentiles::of(&mut [3, 1]).unwrap();
        assert_eq!((p.p50, p.p90, p.p99, p.max), (1, 3, 3, 3));
        assert_eq!(Percentiles::of(&mut []), None);
        // 1000 values: ⌈0.99·1000⌉ = 990 exactly, not 991.
        let v: Vec<Micros> = (1..=1000).collect();
        assert_eq!(nearest_rank(&v, 990), Some(990));
        assert_eq!(nearest_rank(&v, 500), Some(500));
    }
}
