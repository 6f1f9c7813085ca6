//! A deterministic generator of realistic e2e runs, for benchmarks, tests and the demo.
//!
//! [`generate`] writes four files into a directory: the API server's audit log
//! (`audit.log` or `audit.log.gz`), the 2018 spy's `entries.log`, a ginkgo v2 verbose
//! `e2e.log` and a ginkgo v2 `junit_01.xml`. The shapes follow the real samples: spec
//! names of a 2018 run (with `--` and doubled spaces), namespaces `e2e-tests-<base>-xxxxx`,
//! per-spec request mixes (namespace setup, resource CRUD, discovery, namespace teardown),
//! background traffic from controllers, kubelets and the scheduler, user agents with spec
//! names and `stacktrace=[…]` suffixes, some cut at 1024 bytes with `...TRUNCATED`, stage
//! events interleaved with a few ms of jitter, v1 and some v1beta1 events.
//!
//! Same options, same bytes: all randomness comes from one splitmix64 stream seeded by
//! [`SynthOptions::seed`], and nothing depends on hash-map order.

pub mod apisnoop;
mod tables;
mod write;

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::fmt::Write as _;
use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use crate::run::Micros;
use tables::{Actor, RESOURCES, ri};
use write::{Counting, esc, push_ts, push_u64};

/// What to generate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SynthOptions {
    /// Audit events (stage events) to write, exactly.
    pub events: u64,
    /// Specs that run (each gets a namespace, a window and requests); about a quarter as
    /// many again appear skipped in the JUnit file and `e2e.log`.
    pub specs: u32,
    /// Seed of the pseudo-random stream.
    pub seed: u64,
    /// Write `audit.log.gz` instead of `audit.log`.
    pub gzip: bool,
    /// Start of the run, UTC microseconds.
    pub start: Micros,
}

/// 2018-06-05T03:31:00Z, the start of the 2018 APISnoop run, in microseconds.
pub const DEFAULT_START: Micros = 1_528_169_460_000_000;

impl Default for SynthOptions {
    fn default() -> Self {
        SynthOptions {
            events: 20_000,
            specs: 20,
            seed: 1,
            gzip: false,
            start: DEFAULT_START,
        }
    }
}

/// What [`generate`] wrote, with counts tests can check against the files.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SynthSummary {
    /// The audit log (`audit.log` or `audit.log.gz`).
    pub audit_path: PathBuf,
    /// The spy's `entries.log`.
    pub entries_path: PathBuf,
    /// The ginkgo v2 verbose log `e2e.log`.
    pub e2e_log_path: PathBuf,
    /// The ginkgo v2 JUnit report `junit_01.xml`.
    pub junit_path: PathBuf,
    /// Stage events written (lines of the audit log).
    pub events: u64,
    /// Distinct requests (distinct auditIDs).
    pub requests: u64,
    /// Specs that ran (entries in `entries.log` minus the AfterSuite entry).
    pub specs: u32,
    /// Specs reported as skipped (JUnit `status="skipped"`, `S` in `e2e.log`).
    pub skipped_specs: u32,
    /// Specs reported as failed.
    pub failed_specs: u32,
    /// Uncompressed bytes of the audit log.
    pub bytes: u64,
    /// Bytes of the audit file on disk (compressed when gzip).
    pub file_bytes: u64,
    /// Events written with `apiVersion` `audit.k8s.io/v1beta1`.
    pub v1beta1_events: u64,
    /// Requests whose user agent carries ` -- <spec text>` (before any truncation).
    pub requests_with_spec_ua: u64,
    /// Requests whose user agent carries `stacktrace=[`.
    pub requests_with_stacktrace: u64,
    /// Requests whose user agent was cut at 1024 bytes and got `...TRUNCATED`.
    pub truncated_user_agents: u64,
    /// Watch requests (three stage events each when not cut by the event budget).
    pub watch_requests: u64,
    /// Requests before the first spec or after the last one.
    pub unattributed_requests: u64,
    /// Full spec texts of the specs that ran, in run order.
    pub spec_names: Vec<String>,
    /// Namespaces of the specs that ran, in run order.
    pub spec_namespaces: Vec<String>,
    /// Requests received inside each spec's window, in run order.
    pub spec_requests: Vec<u64>,
}

/// Why [`generate`] failed.
#[derive(Debug, thiserror::Error)]
pub enum SynthError {
    /// A file could not be created or written.
    #[error("cannot write {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: io::Error,
    },
    /// The options make no run.
    #[error("invalid synth options: {0}")]
    Options(String),
}

/// The real spec table: container text, spec text, source location (2018 run, plus a few
/// newer ones), tab separated.
const SPECS_TSV: &str = include_str!("specs.tsv");

/// The API server cuts user agents at this many bytes, then appends [`TRUNCATED`].
const UA_LIMIT: usize = 1024;
/// Appended to a cut user agent.
const TRUNCATED: &str = "...TRUNCATED";

/// Writes a generated run into `dir` (created if missing): `audit.log` (or `audit.log.gz`),
/// `entries.log`, `e2e.log` and `junit_01.xml`. Same options give byte-identical files.
pub fn generate(opts: &SynthOptions, dir: &Path) -> Result<SynthSummary, SynthError> {
    if opts.specs == 0 {
        return Err(SynthError::Options("at least one spec is needed".into()));
    }
    std::fs::create_dir_all(dir).map_err(|source| SynthError::Io {
        path: dir.to_path_buf(),
        source,
    })?;
    let audit_path = dir.join(if opts.gzip {
        "audit.log.gz"
    } else {
        "audit.log"
    });
    let io_err = |path: &Path| {
        let path = path.to_path_buf();
        move |source| SynthError::Io { path, source }
    };
    let file = File::create(&audit_path).map_err(io_err(&audit_path))?;
    let mut g = Gen::new(opts);
    let mut summary = SynthSummary {
        audit_path: audit_path.clone(),
        ..SynthSummary::default()
    };
    if opts.gzip {
        let enc = flate2::write::GzEncoder::new(
            Counting::new(BufWriter::with_capacity(1 << 20, file)),
            flate2::Compression::new(1),
        );
        let mut out = Counting::new(BufWriter::with_capacity(1 << 20, enc));
        g.run(&mut out).map_err(io_err(&audit_path))?;
        summary.bytes = out.count;
        let enc = out
            .into_inner()
            .into_inner()
            .map_err(|e| e.into_error())
            .map_err(io_err(&audit_path))?;
        let mut inner = enc.finish().map_err(io_err(&audit_path))?;
        inner.flush().map_err(io_err(&audit_path))?;
        summary.file_bytes = inner.count;
    } else {
        let mut out = Counting::new(BufWriter::with_capacity(1 << 20, file));
        g.run(&mut out).map_err(io_err(&audit_path))?;
        out.flush().map_err(io_err(&audit_path))?;
        summary.bytes = out.count;
        summary.file_bytes = out.count;
    }
    summary.entries_path = dir.join("entries.log");
    summary.e2e_log_path = dir.join("e2e.log");
    summary.junit_path = dir.join("junit_01.xml");
    let text = write::entries(&g.specs, g.end);
    std::fs::write(&summary.entries_path, text).map_err(io_err(&summary.entries_path))?;
    let text = write::e2e_log(&g.specs, &g.skipped, opts.start, g.end, &mut g.rng);
    std::fs::write(&summary.e2e_log_path, text).map_err(io_err(&summary.e2e_log_path))?;
    let text = write::junit(&g.specs, &g.skipped, opts.start, g.end);
    std::fs::write(&summary.junit_path, text).map_err(io_err(&summary.junit_path))?;

    let c = &g.counts;
    summary.events = c.events;
    summary.requests = c.requests;
    summary.specs = opts.specs;
    summary.skipped_specs = g.skipped.len() as u32;
    summary.failed_specs = g.specs.iter().filter(|s| s.failed).count() as u32;
    summary.v1beta1_events = c.v1beta1_events;
    summary.requests_with_spec_ua = c.spec_ua;
    summary.requests_with_stacktrace = c.stacktrace;
    summary.truncated_user_agents = c.truncated;
    summary.watch_requests = c.watches;
    summary.unattributed_requests = c.unattributed;
    summary.spec_names = g.specs.iter().map(|s| s.full.clone()).collect();
    summary.spec_namespaces = g.specs.iter().map(|s| s.ns.clone()).collect();
    summary.spec_requests = g.specs.iter().map(|s| s.requests).collect();
    Ok(summary)
}

/// splitmix64: small, fast, good enough, and stable across platforms and versions.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// Uniform in `0..n` (0 when `n` is 0).
    fn below(&mut self, n: u64) -> u64 {
        ((u128::from(self.next()) * u128::from(n)) >> 64) as u64
    }
    /// Uniform in `lo..=hi`.
    fn range(&mut self, lo: i64, hi: i64) -> i64 {
        lo + self.below((hi - lo + 1).max(1) as u64) as i64
    }
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }
    fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }
    /// An element of a non-empty static table.
    fn pick<T: Copy>(&mut self, s: &[T]) -> T {
        let i = self.below(s.len() as u64) as usize;
        s[i.min(s.len() - 1)]
    }
    /// `n` random lowercase letters and digits (namespace and object suffixes).
    fn suffix(&mut self, out: &mut String, n: usize) {
        const A: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
        for _ in 0..n {
            out.push(char::from(self.pick(A)));
        }
    }
}

/// One spec of the run.
struct Spec {
    /// Container text (`[sig-network] Services`).
    container: String,
    /// Spec text (`should check NodePort out-of-range`).
    text: String,
    /// Full text as the e2e framework puts it in user agents: container, space, spec.
    full: String,
    /// Source location `test/e2e/…go:line`.
    location: String,
    /// Go file of the test body for stack frames, and its package directory.
    test_file: String,
    pkg: &'static str,
    /// `glob..funcN` number of the container.
    glob: u32,
    base_line: u32,
    ns: String,
    base: String,
    families: &'static [usize],
    start: Micros,
    end: Micros,
    failed: bool,
    /// Requests received in the window.
    requests: u64,
    steps: Vec<(Micros, String)>,
}

/// What a planned request in a spec window does; details are drawn when it is emitted.
#[derive(Clone, Copy)]
enum Op {
    NsCreate,
    SaCreate,
    SecretCreate,
    SaWatch,
    SaGet,
    Body,
    Discovery,
    Controller,
    Background,
    NsDelete,
    NsList(u8),
    NsDeleteCollection(u8),
    NsFinalize,
    NsGone,
}

/// A request being written: shared parts of its stage events, pre-rendered.
struct Req {
    id: [u8; 36],
    received: Micros,
    started: Micros,
    completed: Micros,
    remaining: u8,
    level: &'static str,
    v1beta1: bool,
    /// `"requestURI":…` up to and including `objectRef` (no leading comma).
    head: Vec<u8>,
    /// `,"responseStatus":{…}`.
    status: Vec<u8>,
    /// `,"requestObject":…,"responseObject":…` (ResponseComplete only).
    objects: Vec<u8>,
    /// `,"annotations":{…}`.
    annotations: Vec<u8>,
}

#[derive(Default)]
struct Counts {
    events: u64,
    requests: u64,
    v1beta1_events: u64,
    spec_ua: u64,
    stacktrace: u64,
    truncated: u64,
    watches: u64,
    unattributed: u64,
}

/// Stage numbers, in order.
const RR: u8 = 0;
const RS: u8 = 1;
const RC: u8 = 2;

struct Gen {
    rng: Rng,
    events_left: u64,
    target: u64,
    specs: Vec<Spec>,
    skipped: Vec<(String, String)>,
    end: Micros,
    counts: Counts,
    heap: BinaryHeap<Reverse<(Micros, u64, u32, u8)>>,
    slab: Vec<Option<Req>>,
    free: Vec<u32>,
    seq: u64,
    line: Vec<u8>,
    ua: String,
    scratch: String,
    rv: u64,
}

impl Gen {
    fn new(opts: &SynthOptions) -> Gen {
        let mut rng = Rng(opts.seed ^ 0x5EED_A0D1_75C0_9E00);
        let table: Vec<(&str, &str, &str)> = SPECS_TSV
            .lines()
            .filter_map(|l| {
                let mut it = l.split('\t');
                Some((it.next()?, it.next()?, it.next()?))
            })
            .collect();
        // A deterministic shuffle of the table: the run order of a randomized ginkgo run.
        let mut order: Vec<usize> = (0..table.len()).collect();
        for i in (1..order.len()).rev() {
            let j = rng.below(i as u64 + 1) as usize;
            order.swap(i, j);
        }
        let n = opts.specs as usize;
        let mut specs = Vec::with_capacity(n);
        let mut skipped = Vec::new();
        let skip_n = n / 4;
        for k in 0..n + skip_n {
            let Some(&(c, s, loc)) = order
                .get(k % order.len().max(1))
                .and_then(|&i| table.get(i))
            else {
                break;
            };
            let round = k / order.len().max(1);
            let text = if round == 0 {
                s.to_string()
            } else {
                format!("{s} [repeat {round}]")
            };
            if k >= n {
                skipped.push((c.to_string(), text));
                continue;
            }
            specs.push(make_spec(&mut rng, c, text, loc));
        }
        Gen {
            rng,
            events_left: opts.events,
            target: opts.events,
            specs,
            skipped,
            end: opts.start,
            counts: Counts::default(),
            heap: BinaryHeap::new(),
            slab: Vec::new(),
            free: Vec::new(),
            seq: 0,
            line: Vec::with_capacity(8192),
            ua: String::with_capacity(4096),
            scratch: String::with_capacity(256),
            rv: 1_000_000,
        }
    }

    /// Generates the whole audit log into `out`, and the spec windows.
    fn run(&mut self, out: &mut impl Write) -> io::Result<()> {
        let start = self.specs.first().map(|_| 0).unwrap_or(0) + self.end;
        // Expected stage events per request; re-planned before each spec from what is left.
        const PER_REQ: f64 = 2.2;
        let setup_events = self.target / 34; // ~3% before the first spec
        let teardown_events = self.target / 50; // ~2% after the last spec
        let setup_dur = 45_000_000 + self.rng.range(0, 30_000_000);
        let setup_reqs = (setup_events as f64 / PER_REQ) as u64;
        let mut t = start;
        self.background_phase(out, t, t + setup_dur, setup_reqs, teardown_events)?;
        t += setup_dur;
        let weights: Vec<f64> = (0..self.specs.len())
            .map(|_| 0.2 + 2.8 * self.rng.unit().powi(2))
            .collect();
        let mut weight_left: f64 = weights.iter().sum();
        for i in 0..self.specs.len() {
            let w = weights.get(i).copied().unwrap_or(1.0);
            let budget = self.events_left.saturating_sub(teardown_events) as f64
                * (w / weight_left.max(1e-9));
            weight_left -= w;
            let n = (budget / PER_REQ).round() as u64;
            let dur = 2_000_000 + (w * 40_000_000.0) as i64 + self.rng.range(0, 5_000_000);
            self.spec_phase(out, i, t, t + dur, n, teardown_events)?;
            t += dur + self.rng.range(2_000, 60_000);
        }
        let teardown_dur = 15_000_000 + self.rng.range(0, 10_000_000);
        // The suite teardown takes whatever is left, so the event count comes out exact.
        let left = (self.events_left as f64 / 2.0).ceil() as u64 + 8;
        self.background_phase(out, t, t + teardown_dur, left, 0)?;
        self.end = t + teardown_dur;
        self.flush_until(out, Micros::MAX)
    }

    /// Suite setup or teardown: background traffic and e2e discovery attributed to no spec.
    fn background_phase(
        &mut self,
        out: &mut impl Write,
        t0: Micros,
        t1: Micros,
        n: u64,
        reserve: u64,
    ) -> io::Result<()> {
        let times = self.burst_times(t0, t1, n);
        for t in times {
            if self.events_left <= reserve {
                break;
            }
            self.counts.unattributed += 1;
            let op = if self.rng.chance(0.15) {
                Op::Discovery
            } else {
                Op::Background
            };
            self.emit(out, None, op, t)?;
        }
        // Make sure the budget is exhausted at the very end even if `n` was short.
        let mut t = t1;
        while reserve == 0 && self.events_left > 0 {
            self.counts.unattributed += 1;
            self.emit(out, None, Op::Background, t)?;
            t += self.rng.range(100, 20_000);
        }
        Ok(())
    }

    /// `n` increasing times in `[t0, t1)`, in bursts (so stage events interleave).
    fn burst_times(&mut self, t0: Micros, t1: Micros, n: u64) -> Vec<Micros> {
        let span = (t1 - t0).max(1);
        let mut v = Vec::with_capacity(n as usize);
        while (v.len() as u64) < n {
            let b = t0 + self.rng.range(0, span - 1);
            let size = self.rng.range(1, 12).min((n - v.len() as u64) as i64);
            for _ in 0..size {
                v.push((b + self.rng.range(0, 15_000)).min(t1 - 1));
            }
        }
        v.sort_unstable();
        v
    }

    fn spec_phase(
        &mut self,
        out: &mut impl Write,
        i: usize,
        t0: Micros,
        t1: Micros,
        n: u64,
        reserve: u64,
    ) -> io::Result<()> {
        let span = t1 - t0;
        let mut plan: Vec<(Micros, Op)> = Vec::with_capacity(n as usize + 64);
        let setup = [
            Op::NsCreate,
            Op::SaCreate,
            Op::SecretCreate,
            Op::SaWatch,
            Op::SaGet,
            Op::SaGet,
        ];
        let mut tt = t0 + 1_000;
        for op in setup {
            plan.push((tt, op));
            tt += self.rng.range(300, 8_000);
        }
        let body_end = t0 + span * 85 / 100;
        let teardown = if n > 80 { ri::NAMESPACED as u64 + 4 } else { 4 };
        let body_n = n.saturating_sub(setup.len() as u64 + teardown);
        for t in self.burst_times(tt, body_end, body_n) {
            let x = self.rng.unit();
            let op = if x < 0.50 {
                Op::Body
            } else if x < 0.58 {
                Op::Discovery
            } else if x < 0.88 {
                Op::Controller
            } else {
                Op::Background
            };
            plan.push((t, op));
        }
        let mut tt = body_end;
        plan.push((tt, Op::NsDelete));
        if teardown > 4 {
            for k in 0..ri::NAMESPACED as u8 {
                tt += self.rng.range(200, 3_000);
                plan.push((tt, Op::NsList(k)));
                if k % 5 == 0 {
                    plan.push((tt + self.rng.range(100, 900), Op::NsDeleteCollection(k)));
                }
            }
        }
        tt += self.rng.range(1_000, 50_000);
        plan.push((tt, Op::NsFinalize));
        plan.push((
            (tt + self.rng.range(1_000, 900_000)).min(t1 - 1),
            Op::NsGone,
        ));
        plan.sort_by_key(|p| p.0);
        if let Some(s) = self.specs.get_mut(i) {
            s.start = t0;
            s.end = t1;
            let steps = self.rng.range(2, 7);
            for k in 0..steps {
                let at = t0 + span * (k + 1) / (steps + 2);
                s.steps.push((at, step_text(&mut self.rng, s.families)));
            }
        }
        for (t, op) in plan {
            if self.events_left <= reserve {
                break;
            }
            if let Some(s) = self.specs.get_mut(i) {
                s.requests += 1;
            }
            self.emit(out, Some(i), op, t)?;
        }
        Ok(())
    }

    /// Writes buffered stage events due before `now` (their write key includes jitter).
    fn flush_until(&mut self, out: &mut impl Write, now: Micros) -> io::Result<()> {
        while let Some(&Reverse((key, _, slot, stage))) = self.heap.peek() {
            if key > now {
                break;
            }
            self.heap.pop();
            let Some(req) = self.slab.get_mut(slot as usize).and_then(Option::take) else {
                continue;
            };
            self.line.clear();
            write::event(&mut self.line, &req, stage);
            out.write_all(&self.line)?;
            if req.v1beta1 {
                self.counts.v1beta1_events += 1;
            }
            if req.remaining > 1 {
                let mut req = req;
                req.remaining -= 1;
                if let Some(s) = self.slab.get_mut(slot as usize) {
                    *s = Some(req);
                }
            } else {
                self.free.push(slot);
            }
        }
        Ok(())
    }

    /// Draws one request for `op` received at `t`, queues its stage events.
    fn emit(
        &mut self,
        out: &mut impl Write,
        spec: Option<usize>,
        op: Op,
        t: Micros,
    ) -> io::Result<()> {
        self.flush_until(out, t)?;
        let req = self.build(spec, op, t);
        let stages: &[(u8, Micros)] = &[(RR, req.received), (RS, req.started), (RC, req.completed)];
        let watch = req.started != Micros::MIN;
        let omit_rr = !watch && self.rng.chance(0.03);
        let mut want: Vec<(u8, Micros)> = stages
            .iter()
            .copied()
            .filter(|&(s, _)| (s != RS || watch) && (s != RR || !omit_rr))
            .collect();
        want.truncate(self.events_left.min(3) as usize);
        if want.is_empty() {
            return Ok(());
        }
        self.counts.requests += 1;
        self.counts.events += want.len() as u64;
        self.events_left -= want.len() as u64;
        let mut req = req;
        req.remaining = want.len() as u8;
        let slot = match self.free.pop() {
            Some(s) => {
                if let Some(x) = self.slab.get_mut(s as usize) {
                    *x = Some(req);
                }
                s
            }
            None => {
                self.slab.push(Some(req));
                (self.slab.len() - 1) as u32
            }
        };
        for (stage, at) in want {
            // Jitter of a few ms on the write order: timestamps come out slightly unsorted.
            let key = at + self.rng.range(0, 4_000);
            self.seq += 1;
            self.heap.push(Reverse((key, self.seq, slot, stage)));
        }
        Ok(())
    }

    fn build(&mut self, spec: Option<usize>, op: Op, t: Micros) -> Req {
        let rng = &mut self.rng;
        let sp = spec.and_then(|i| self.specs.get(i));
        let ns = sp.map(|s| s.ns.as_str()).unwrap_or("default");
        let mut uri = String::with_capacity(128);
        let mut verb = "get";
        let mut res: Option<usize> = None;
        let mut name: Option<String> = None;
        let mut sub: &str = "";
        let mut actor = Actor::E2e;
        let mut controller = "namespace-controller";
        let mut watch = false;
        let mut code: u16 = 200;
        match op {
            Op::NsCreate => {
                verb = "create";
                res = Some(ri::NAMESPACES);
                code = 201;
            }
            Op::SaCreate | Op::SecretCreate => {
                verb = "create";
                actor = Actor::Controller;
                res = Some(if matches!(op, Op::SaCreate) {
                    ri::SERVICEACCOUNTS
                } else {
                    ri::SECRETS
                });
                controller = if matches!(op, Op::SaCreate) {
                    "service-account-controller"
                } else {
                    "tokens-controller"
                };
                code = 201;
            }
            Op::SaWatch => {
                verb = "watch";
                watch = true;
                res = Some(ri::SERVICEACCOUNTS);
            }
            Op::SaGet => {
                res = Some(ri::SERVICEACCOUNTS);
                name = Some("default".into());
            }
            Op::NsDelete | Op::NsFinalize | Op::NsGone => {
                res = Some(ri::NAMESPACES);
                name = Some(ns.to_string());
                match op {
                    Op::NsDelete => verb = "delete",
                    Op::NsFinalize => {
                        verb = "update";
                        sub = "finalize";
                        actor = Actor::Controller;
                    }
                    _ => code = 404,
                }
            }
            Op::NsList(k) | Op::NsDeleteCollection(k) => {
                res = Some(k as usize);
                actor = Actor::Controller;
                verb = if matches!(op, Op::NsList(_)) {
                    "list"
                } else {
                    "deletecollection"
                };
            }
            Op::Discovery => {
                actor = if sp.is_some_and(|s| s.pkg == "kubectl") || rng.chance(0.2) {
                    Actor::Kubectl
                } else {
                    Actor::E2e
                };
                uri.push_str(rng.pick(tables::DISCOVERY));
                if actor == Actor::Kubectl || rng.chance(0.5) {
                    uri.push_str("?timeout=32s");
                }
            }
            Op::Background => {
                let (v, u, a) = rng.pick(tables::BACKGROUND);
                verb = v;
                actor = a;
                watch = v == "watch";
                let node = rng.range(1, 3);
                let rv = self.rv + rng.below(10_000);
                uri.push_str(
                    &u.replace("NODE", &format!("node-{node}"))
                        .replace("RV", &rv.to_string()),
                );
                if a == Actor::Controller {
                    controller = rng.pick(&[
                        "namespace-controller",
                        "resourcequota-controller",
                        "generic-garbage-collector",
                    ]);
                }
                if uri.contains("initializerconfigurations") && rng.chance(0.5) {
                    code = 404;
                }
            }
            Op::Controller => {
                let x = rng.unit();
                let fam = sp.map(|s| s.families).unwrap_or(&[ri::PODS]);
                if x < 0.25 {
                    // The scheduler binds and the kubelet reports on the test's pods.
                    actor = Actor::Scheduler;
                    res = Some(ri::PODS);
                    let k = rng.below(3);
                    (verb, sub, code) = match k {
                        0 => ("create", "binding", 201),
                        1 => ("watch", "", 200),
                        _ => ("create", "", 201),
                    };
                    if k == 2 {
                        res = Some(ri::EVENTS);
                    }
                    watch = k == 1;
                } else if x < 0.55 {
                    actor = Actor::Kubelet;
                    res = Some(rng.pick(&[
                        ri::PODS,
                        ri::PODS,
                        ri::PODS,
                        ri::EVENTS,
                        ri::CONFIGMAPS,
                        ri::SECRETS,
                    ]));
                    (verb, sub) = match rng.below(4) {
                        0 => ("patch", "status"),
                        1 => ("get", ""),
                        2 => ("create", ""),
                        _ => ("watch", ""),
                    };
                    if res != Some(ri::PODS) {
                        sub = "";
                        if verb == "patch" {
                            verb = "get";
                        }
                    }
                    if verb == "create" {
                        res = Some(ri::EVENTS);
                        code = 201;
                    }
                    watch = verb == "watch";
                } else {
                    actor = Actor::Controller;
                    let f = rng.pick(fam);
                    let cands: Vec<(&'static str, &'static [usize])> = tables::CONTROLLERS
                        .iter()
                        .copied()
                        .filter(|c| c.1.contains(&f))
                        .collect();
                    let (cname, rs) = if cands.is_empty() {
                        rng.pick(tables::CONTROLLERS)
                    } else {
                        let i = rng.below(cands.len() as u64) as usize;
                        cands.get(i).copied().unwrap_or(tables::CONTROLLERS[0])
                    };
                    controller = cname;
                    res = Some(rng.pick(rs));
                    (verb, sub) = rng.pick(&[
                        ("update", "status"),
                        ("get", ""),
                        ("create", ""),
                        ("update", ""),
                        ("patch", ""),
                        ("delete", ""),
                        ("list", ""),
                        ("watch", ""),
                    ]);
                    watch = verb == "watch";
                    code = if verb == "create" { 201 } else { 200 };
                }
            }
            Op::Body => {
                let fam = sp.map(|s| s.families).unwrap_or(&[ri::PODS]);
                let r = rng.pick(fam);
                res = Some(r);
                actor = if sp.is_some_and(|s| s.pkg == "kubectl") && rng.chance(0.5) {
                    Actor::Kubectl
                } else if sp.is_some_and(|s| s.pkg == "auth") && rng.chance(0.3) {
                    Actor::TestSa
                } else {
                    Actor::E2e
                };
                let subs = RESOURCES.get(r).map(|x| x.subs).unwrap_or(&[]);
                (verb, sub) = rng.pick(&[
                    ("create", ""),
                    ("create", ""),
                    ("get", ""),
                    ("get", ""),
                    ("get", ""),
                    ("list", ""),
                    ("list", ""),
                    ("watch", ""),
                    ("update", ""),
                    ("patch", ""),
                    ("delete", ""),
                    ("deletecollection", ""),
                    ("get", "SUB"),
                    ("update", "SUB"),
                    ("patch", "SUB"),
                ]);
                if sub == "SUB" {
                    sub = if subs.is_empty() { "" } else { rng.pick(subs) };
                    (verb, code) = match sub {
                        "exec" | "attach" | "portforward" => ("create", 101),
                        "log" | "proxy" => ("get", 200),
                        "binding" | "eviction" | "token" => ("create", 201),
                        _ => (verb, 200),
                    };
                }
                watch = verb == "watch";
                if verb == "create" && sub.is_empty() {
                    code = 201;
                }
            }
        }
        // Object names: a few per spec and resource, so gets and updates find creations.
        let r = res.and_then(|r| RESOURCES.get(r));
        if let Some(rd) = r
            && name.is_none()
            && !matches!(verb, "list" | "watch" | "deletecollection")
            && !(verb == "create" && sub.is_empty())
        {
            let mut n = String::with_capacity(32);
            n.push_str(rd.name);
            n.push('-');
            if rd.plural == "nodes" {
                n.push_str(&rng.range(1, 3).to_string());
            } else {
                // Deterministic per spec and resource: the same few names come back.
                let mut h = Rng(spec.unwrap_or(0) as u64 * 7919 + rng.below(3));
                h.suffix(&mut n, 5);
            }
            name = Some(n);
        }
        if let Some(rd) = r {
            let legacy_watch = watch && rd.prefix == "/api/v1" && rd.namespaced && rng.chance(0.08);
            uri.push_str(rd.prefix);
            if legacy_watch {
                uri.push_str("/watch");
            }
            if rd.namespaced {
                uri.push_str("/namespaces/");
                uri.push_str(ns);
            }
            uri.push('/');
            uri.push_str(rd.plural);
            if let Some(n) = &name {
                uri.push('/');
                uri.push_str(n);
            }
            if !sub.is_empty() {
                if sub == "proxy" && rd.plural == "services" {
                    // services/{name}/proxy is unusual; real clients use name:port
                    uri.push_str(":80");
                }
                uri.push('/');
                uri.push_str(sub);
                match sub {
                    "exec" => uri.push_str("?command=%2Fbin%2Fsh&command=-c&command=cat+%2Fetc%2Fhosts&container=c&stderr=true&stdout=true"),
                    "log" => uri.push_str("?container=c&previous=false"),
                    "proxy" => uri.push_str("/healthz"),
                    _ => {}
                }
            }
            if watch {
                if rng.chance(0.5) {
                    uri.push_str("?fieldSelector=metadata.name%3D");
                    uri.push_str(name.as_deref().unwrap_or("default"));
                    uri.push_str("&watch=true");
                } else {
                    uri.push_str("?resourceVersion=");
                    push_u64_str(&mut uri, self.rv + rng.below(5_000));
                    uri.push_str("&timeoutSeconds=");
                    push_u64_str(&mut uri, 300 + rng.below(300));
                    uri.push_str("&watch=true");
                }
            } else if verb == "list" && rng.chance(0.5) {
                uri.push_str(if rng.chance(0.5) {
                    "?limit=500&resourceVersion=0"
                } else {
                    "?labelSelector=name%3Dtest"
                });
            } else if verb == "deletecollection" {
                uri.push_str("?labelSelector=e2e-test%3Dtrue");
            }
        }
        self.rv += 1 + rng.below(4);
        if verb == "watch" {
            watch = true;
        }
        // Error responses: conflicts, not found, forbidden.
        let roll = rng.unit();
        if actor == Actor::TestSa && roll < 0.5 {
            code = 403;
        } else if code < 300
            && roll < 0.03
            && matches!(verb, "get" | "delete" | "update" | "patch")
            && name.is_some()
        {
            code = 404;
        } else if code < 300 && roll < 0.05 && matches!(verb, "create" | "update") {
            code = 409;
        }

        // Timing.
        let latency = match verb {
            "list" | "deletecollection" => rng.range(800, 40_000),
            "create" | "update" | "patch" | "delete" => rng.range(1_500, 25_000),
            _ => rng.range(200, 8_000),
        };
        let (started, completed) = if watch {
            let s = t + rng.range(200, 3_000);
            (s, s + rng.range(5_000_000, 240_000_000))
        } else {
            (Micros::MIN, t + latency)
        };
        let v1beta1 = rng.chance(0.12);

        // User agent.
        self.ua.clear();
        let (user, groups, ip, reason) = actor_identity(actor, controller, ns, rng);
        let mut spec_ua = false;
        let mut trace = false;
        match actor {
            Actor::E2e | Actor::TestSa => {
                self.ua.push_str("e2e.test");
                self.ua.push_str(tables::VERSION);
                let x = rng.unit();
                let with_spec = sp.is_some() && x < 0.82;
                let with_trace = rng.chance(0.6);
                let trace_first = with_trace && rng.chance(0.4);
                if let Some(s) = sp {
                    if trace_first {
                        self.ua.push(' ');
                        push_trace(&mut self.ua, rng, Some(s), verb, r, sub);
                    }
                    if with_spec {
                        self.ua.push_str(" -- ");
                        self.ua.push_str(&s.full);
                    }
                    if with_trace && !trace_first {
                        self.ua.push(' ');
                        push_trace(&mut self.ua, rng, Some(s), verb, r, sub);
                    }
                }
                spec_ua = with_spec;
                trace = with_trace && sp.is_some();
            }
            Actor::Kubectl => {
                self.ua.push_str("kubectl");
                self.ua.push_str(tables::VERSION);
                if rng.chance(0.5) {
                    self.ua.push(' ');
                    push_trace(&mut self.ua, rng, None, verb, r, sub);
                    trace = true;
                }
            }
            Actor::Controller => {
                self.ua.push_str("kube-controller-manager");
                self.ua.push_str(tables::VERSION);
                self.ua.push_str("/system:serviceaccount:kube-system:");
                self.ua.push_str(controller);
            }
            Actor::LeaderElection => {
                self.ua.push_str("kube-controller-manager");
                self.ua.push_str(tables::VERSION);
                self.ua.push_str("/leader-election");
            }
            Actor::Scheduler => {
                self.ua.push_str("kube-scheduler");
                self.ua.push_str(tables::VERSION);
                self.ua.push_str("/scheduler");
            }
            Actor::Kubelet => {
                self.ua.push_str("kubelet");
                self.ua.push_str(tables::VERSION);
            }
            Actor::Proxy => {
                self.ua.push_str("kube-proxy");
                self.ua.push_str(tables::VERSION);
            }
            Actor::Apiserver => {
                self.ua.push_str("kube-apiserver");
                self.ua.push_str(tables::VERSION);
            }
            Actor::Addon => self
                .ua
                .push_str("scaler/v0.0.0 (linux/amd64) kubernetes/$Format"),
        }
        // v1 events come from a 1.12+ server that cuts long user agents.
        if !v1beta1 && self.ua.len() > UA_LIMIT {
            let mut cut = UA_LIMIT;
            while !self.ua.is_char_boundary(cut) {
                cut -= 1;
            }
            self.ua.truncate(cut);
            self.ua.push_str(TRUNCATED);
            self.counts.truncated += 1;
        }
        self.counts.spec_ua += u64::from(spec_ua);
        self.counts.stacktrace += u64::from(trace);
        self.counts.watches += u64::from(watch);

        // Level and bodies.
        let mutating = matches!(verb, "create" | "update" | "patch");
        let level = if mutating && code < 300 {
            match rng.below(20) {
                0..=11 => "Request",
                12..=16 => "RequestResponse",
                _ => "Metadata",
            }
        } else if matches!(verb, "get" | "list") && code < 300 && rng.chance(0.8) {
            // Reads logged with their response body (a RequestResponse policy rule).
            "RequestResponse"
        } else {
            "Metadata"
        };

        let mut head = Vec::with_capacity(512 + self.ua.len());
        head.extend_from_slice(b"\"requestURI\":\"");
        esc(&mut head, &uri);
        head.extend_from_slice(b"\",\"verb\":\"");
        head.extend_from_slice(verb.as_bytes());
        head.extend_from_slice(b"\",\"user\":{\"username\":\"");
        esc(&mut head, &user);
        head.extend_from_slice(b"\",\"groups\":");
        head.extend_from_slice(groups.as_bytes());
        head.extend_from_slice(b"},\"sourceIPs\":[\"");
        head.extend_from_slice(ip.as_bytes());
        head.extend_from_slice(b"\"],\"userAgent\":\"");
        esc(&mut head, &self.ua);
        head.push(b'"');
        if let Some(rd) = r {
            head.extend_from_slice(b",\"objectRef\":{\"resource\":\"");
            head.extend_from_slice(rd.plural.as_bytes());
            head.push(b'"');
            if rd.namespaced {
                head.extend_from_slice(b",\"namespace\":\"");
                esc(&mut head, ns);
                head.push(b'"');
            }
            if let Some(n) = &name {
                head.extend_from_slice(b",\"name\":\"");
                esc(&mut head, n);
                head.push(b'"');
            }
            if !rd.group.is_empty() {
                head.extend_from_slice(b",\"apiGroup\":\"");
                head.extend_from_slice(rd.group.as_bytes());
                head.push(b'"');
            }
            head.extend_from_slice(b",\"apiVersion\":\"");
            head.extend_from_slice(rd.version.as_bytes());
            head.push(b'"');
            if !sub.is_empty() {
                head.extend_from_slice(b",\"subresource\":\"");
                head.extend_from_slice(sub.as_bytes());
                head.push(b'"');
            }
            head.push(b'}');
        }

        let mut status = Vec::with_capacity(96);
        status.extend_from_slice(b",\"responseStatus\":{\"metadata\":{},");
        if code >= 400 {
            let (reason_s, msg) = match code {
                403 => ("Forbidden", "is forbidden"),
                404 => ("NotFound", "not found"),
                _ => (
                    if verb == "create" {
                        "AlreadyExists"
                    } else {
                        "Conflict"
                    },
                    if verb == "create" {
                        "already exists"
                    } else {
                        "the object has been modified; please apply your changes to the latest version and try again"
                    },
                ),
            };
            let plural = r.map(|x| x.plural).unwrap_or("");
            let n = name.as_deref().unwrap_or("");
            self.scratch.clear();
            if code == 403 {
                self.scratch.push_str(&format!(
                    "{plural} {msg}: User \"{user}\" cannot {verb} resource \"{plural}\" in API group \"{}\" in the namespace \"{ns}\"",
                    r.map(|x| x.group).unwrap_or("")
                ));
            } else {
                self.scratch.push_str(&format!("{plural} \"{n}\" {msg}"));
            }
            status.extend_from_slice(b"\"status\":\"Failure\",\"message\":\"");
            esc(&mut status, &self.scratch);
            status.extend_from_slice(b"\",\"reason\":\"");
            status.extend_from_slice(reason_s.as_bytes());
            status.extend_from_slice(b"\",\"details\":{");
            if !n.is_empty() {
                status.extend_from_slice(b"\"name\":\"");
                esc(&mut status, n);
                status.extend_from_slice(b"\",");
            }
            status.extend_from_slice(b"\"kind\":\"");
            status.extend_from_slice(plural.as_bytes());
            status.extend_from_slice(b"\"},");
        }
        status.extend_from_slice(b"\"code\":");
        push_u64(&mut status, u64::from(code));
        status.push(b'}');

        let mut objects = Vec::new();
        if level != "Metadata"
            && let Some(rd) = r
        {
            if mutating {
                objects.extend_from_slice(b",\"requestObject\":");
                write::body(
                    &mut objects,
                    rng,
                    rd,
                    ns,
                    name.as_deref(),
                    verb == "patch",
                    None,
                );
            }
            if level == "RequestResponse" && code < 300 {
                objects.extend_from_slice(b",\"responseObject\":");
                let uid = self.rv;
                if verb == "list" {
                    // A list response carries its items (up to 16: e2e namespaces are small).
                    write::type_meta(&mut objects, rd, "List");
                    objects.extend_from_slice(b",\"metadata\":{\"resourceVersion\":\"");
                    push_u64(&mut objects, uid);
                    objects.extend_from_slice(b"\"},\"items\":[");
                    let items = 1 + rng.below(16);
                    for i in 0..items {
                        if i > 0 {
                            objects.push(b',');
                        }
                        let item = format!("{}-{i}", rd.name);
                        write::body(
                            &mut objects,
                            rng,
                            rd,
                            ns,
                            Some(&item),
                            false,
                            Some((uid.wrapping_add(i), t)),
                        );
                    }
                    objects.extend_from_slice(b"]}");
                } else {
                    write::body(
                        &mut objects,
                        rng,
                        rd,
                        ns,
                        name.as_deref(),
                        false,
                        Some((uid, t)),
                    );
                }
            }
        }

        let mut annotations = Vec::with_capacity(200);
        annotations.extend_from_slice(b",\"annotations\":{\"authorization.k8s.io/decision\":\"");
        annotations.extend_from_slice(if code == 403 { b"forbid" } else { b"allow" });
        annotations.extend_from_slice(b"\",\"authorization.k8s.io/reason\":\"");
        if code != 403 {
            esc(&mut annotations, &reason);
        }
        annotations.extend_from_slice(b"\"}");

        let mut id = [0u8; 36];
        let a = rng.next();
        let b = rng.next();
        write::uuid(&mut id, a, b);
        Req {
            id,
            received: t,
            started,
            completed,
            remaining: 0,
            level,
            v1beta1,
            head,
            status,
            objects,
            annotations,
        }
    }
}

fn push_u64_str(s: &mut String, v: u64) {
    use std::fmt::Write as _;
    let _ = write!(s, "{v}");
}

/// User name, groups (raw JSON), source IP and RBAC reason of an actor.
fn actor_identity(
    actor: Actor,
    controller: &str,
    ns: &str,
    rng: &mut Rng,
) -> (String, &'static str, &'static str, String) {
    match actor {
        Actor::E2e | Actor::Kubectl => (
            "kubecfg".into(),
            tables::G_MASTERS,
            "35.202.114.73",
            r#"RBAC: allowed by ClusterRoleBinding "cluster-admin" of ClusterRole "cluster-admin" to Group "system:masters""#.into(),
        ),
        Actor::TestSa => (format!("system:serviceaccount:{ns}:default"), tables::G_AUTH, "10.64.1.17", String::new()),
        Actor::Controller => (
            format!("system:serviceaccount:kube-system:{controller}"),
            tables::G_KUBE_SYSTEM_SA,
            "127.0.0.1",
            format!(
                "RBAC: allowed by ClusterRoleBinding \"system:controller:{controller}\" of ClusterRole \"system:controller:{controller}\" to ServiceAccount \"{controller}/kube-system\""
            ),
        ),
        Actor::LeaderElection => ("system:kube-controller-manager".into(), tables::G_AUTH, "127.0.0.1", r#"RBAC: allowed by ClusterRoleBinding "system:kube-controller-manager" of ClusterRole "system:kube-controller-manager" to User "system:kube-controller-manager""#.into()),
        Actor::Scheduler => ("system:kube-scheduler".into(), tables::G_AUTH, "127.0.0.1", r#"RBAC: allowed by ClusterRoleBinding "system:kube-scheduler" of ClusterRole "system:kube-scheduler" to User "system:kube-scheduler""#.into()),
        Actor::Kubelet => {
            let n = rng.range(1, 3);
            (format!("system:node:node-{n}"), tables::G_NODES, rng.pick(&["10.128.0.3", "10.128.0.4", "10.128.0.5"]), String::new())
        }
        Actor::Proxy => ("system:kube-proxy".into(), tables::G_AUTH, "10.128.0.4", r#"RBAC: allowed by ClusterRoleBinding "system:node-proxier" of ClusterRole "system:node-proxier" to User "system:kube-proxy""#.into()),
        Actor::Apiserver => ("system:apiserver".into(), tables::G_MASTERS, "::1", String::new()),
        Actor::Addon => (
            "system:serviceaccount:kube-system:fluentd-gcp-scaler".into(),
            tables::G_KUBE_SYSTEM_SA,
            "10.64.0.9",
            r#"RBAC: allowed by RoleBinding "scaler-binding/kube-system" of Role "system:fluentd-gcp-scaler" to ServiceAccount "fluentd-gcp-scaler/kube-system""#.into(),
        ),
    }
}

/// Appends `stacktrace=[…]`: 13-14 frames, innermost first.
fn push_trace(
    ua: &mut String,
    rng: &mut Rng,
    spec: Option<&Spec>,
    verb: &str,
    res: Option<&tables::Res>,
    sub: &str,
) {
    const V: &str = "k8s.io/kubernetes/vendor/";
    const O: &str = "_output/local/go/src/k8s.io/kubernetes/";
    ua.push_str("stacktrace=[");
    let (do_fn, do_line) = match (verb, sub) {
        ("watch", _) => ("Watch", 553),
        (_, "log") => ("Stream", 700),
        (_, "exec") => ("DoRaw", 858),
        _ => ("Do", 805),
    };
    let _ = write!(
        ua,
        "{V}k8s.io/client-go/rest.(*Request).{do_fn}():{O}vendor/k8s.io/client-go/rest/request.go:{do_line};"
    );
    let method = match (verb, sub) {
        ("get", "") => ("Get", 65),
        ("list", _) => ("List", 77),
        ("watch", _) => ("Watch", 94),
        ("create", "") => ("Create", 110),
        ("update", "status") => ("UpdateStatus", 139),
        ("update", _) => ("Update", 123),
        ("delete", _) => ("Delete", 152),
        ("deletecollection", _) => ("DeleteCollection", 163),
        ("patch", _) => ("Patch", 173),
        (_, "log") => ("GetLogs", 62),
        _ => ("Get", 65),
    };
    match (res, spec) {
        (Some(r), _) => {
            let (pkg, file) = r.typed;
            ua.push_str(&format!(
                "{V}k8s.io/client-go/kubernetes/typed/{pkg}.(*{}).{}():{O}vendor/k8s.io/client-go/kubernetes/typed/{pkg}/{file}.go:{};",
                r.plural, method.0, method.1
            ));
        }
        _ => ua.push_str(&format!(
            "{V}k8s.io/client-go/discovery.(*DiscoveryClient).ServerGroups():{O}vendor/k8s.io/client-go/discovery/discovery_client.go:138;"
        )),
    }
    let Some(s) = spec else {
        // kubectl: cobra and main, as in the sample.
        let _ = write!(
            ua,
            "k8s.io/kubernetes/pkg/kubectl/cmd/get.(*GetOptions).Run():{O}pkg/kubectl/cmd/get/get.go:311;"
        );
        let _ = write!(
            ua,
            "k8s.io/kubernetes/pkg/kubectl/cmd/get.NewCmdGet.func1():{O}pkg/kubectl/cmd/get/get.go:159;"
        );
        let _ = write!(
            ua,
            "{V}github.com/spf13/cobra.(*Command).execute():{O}vendor/github.com/spf13/cobra/command.go:760;"
        );
        let _ = write!(
            ua,
            "{V}github.com/spf13/cobra.(*Command).ExecuteC():{O}vendor/github.com/spf13/cobra/command.go:846;"
        );
        let _ = write!(
            ua,
            "{V}github.com/spf13/cobra.(*Command).Execute():{O}vendor/github.com/spf13/cobra/command.go:794;"
        );
        let _ = write!(ua, "main.main():{O}cmd/kubectl/kubectl.go:50]");
        return;
    };
    let helpers = rng.range(1, 2);
    for _ in 0..helpers {
        let (f, file, line) = rng.pick(tables::HELPERS);
        let _ = write!(ua, "k8s.io/kubernetes/test/e2e/{f}:{O}{file}:{line};");
    }
    let m = rng.range(1, 6);
    let line = s.base_line + rng.below(60) as u32;
    ua.push_str(&format!(
        "k8s.io/kubernetes/test/e2e/{}.glob..func{}.{m}():{O}{}:{line};",
        s.pkg, s.glob, s.test_file
    ));
    // 13 or 14 frames in all: 2 + helpers + 1 + ginkgo + tRunner.
    let g = 13 - 3 - helpers as usize + rng.below(2) as usize - 1;
    for (f, file, line) in tables::GINKGO.iter().take(g) {
        let _ = write!(ua, "{V}{f}:{O}{file}:{line};");
    }
    ua.push_str(tables::T_RUNNER);
    ua.push(']');
}

/// A realistic STEP text for a spec's resources.
fn step_text(rng: &mut Rng, fam: &[usize]) -> String {
    let r = RESOURCES
        .get(rng.pick(fam))
        .map(|r| r.kind)
        .unwrap_or("Pod");
    let t = rng.pick(&[
        "creating a {} with a static label",
        "watching for {} to be ready",
        "patching the {} with a new label and updated data",
        "getting the {} and ensuring that it's patched",
        "listing all {}s in all namespaces",
        "deleting the {} via a Collection with a LabelSelector",
        "Creating {} with name test-{}",
        "waiting for the {} to be deleted",
    ]);
    t.replace("{}", r)
}

fn make_spec(rng: &mut Rng, container: &str, text: String, loc: &str) -> Spec {
    let sig = container.split(' ').next().unwrap_or("");
    let base: String = {
        let word = container
            .trim_start_matches(|c| c != ']')
            .trim_start_matches(']')
            .trim_start()
            .split(['[', ' '])
            .next()
            .unwrap_or("")
            .to_ascii_lowercase();
        let w: String = word
            .chars()
            .filter(|c| c.is_ascii_alphanumeric() || *c == '-')
            .take(20)
            .collect();
        if w.is_empty() { "e2e".into() } else { w }
    };
    let mut ns = format!("e2e-tests-{base}-");
    rng.suffix(&mut ns, 5);
    let pkg = tables::sig_dir(sig);
    let (file, line) = loc.rsplit_once(':').unwrap_or((loc, "1"));
    let base_line: u32 = line.parse().unwrap_or(1);
    let test_file = if file.starts_with("test/e2e/framework/") {
        format!("test/e2e/{pkg}/{base}.go")
    } else {
        file.to_string()
    };
    let glob = 1
        + (container
            .bytes()
            .fold(7u32, |h, b| h.wrapping_mul(31).wrapping_add(u32::from(b)))
            % 40);
    Spec {
        full: format!("{container} {text}"),
        container: container.to_string(),
        text,
        location: loc.to_string(),
        test_file,
        pkg,
        glob,
        base_line: base_line.saturating_sub(30),
        ns,
        base,
        families: tables::families(sig),
        start: 0,
        end: 0,
        failed: rng.chance(0.03),
        requests: 0,
        steps: Vec::new(),
    }
}

/// Formats a UTC timestamp for tests and the writers: `2018-06-05T03:31:00.000000Z`.
pub fn format_timestamp(micros: Micros) -> String {
    let mut v = Vec::with_capacity(27);
    push_ts(&mut v, micros, true, true);
    String::from_utf8_lossy(&v).into_owned()
}
