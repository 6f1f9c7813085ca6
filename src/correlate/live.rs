//! Correlating while the inputs are read: snapshots of the run so far, for the explorer that
//! fills in while it loads ([`spawn_load`]) and for following logs that are still being written
//! ([`Follower`], `correlate --follow`, `explore --follow`).
//!
//! Both keep one [`Builder`] that grows event by event, and make a snapshot by copying what it
//! holds and running the rest of [`super::correlate`] on the copy ([`super::complete`]: e2e
//! windows, attribution, release, operations), so a snapshot of a whole input is exactly the
//! run `correlate` makes of it. A snapshot costs time in proportion to the run: they are taken
//! at most every `every`, and never more often than three times the last one took, so that
//! making them takes at most a quarter of the time.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, Sender, channel};
use std::time::{Duration, Instant, SystemTime};

use super::{Builder, CorrelateError, Inputs, Options, Resolved, StageClock, complete, resolve};
use crate::ingest::audit::{AuditEvent, LineFeeder};
use crate::ingest::e2e::{self, E2eInput, E2eKind};
use crate::ingest::source::IngestError;
use crate::ingest::tail::{Tail, TailEvent};
use crate::run::{Micros, Run};

/// Where reading is, for a status line.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LiveStatus {
    /// Following (`--follow`) rather than loading once.
    pub follow: bool,
    /// Everything was read (loading), or the last poll found nothing new (following).
    pub complete: bool,
    /// Audit log bytes read.
    pub bytes: u64,
    /// The size of the audit logs when reading began (loading), when known.
    pub total: Option<u64>,
    /// Requests so far.
    pub requests: usize,
    /// Seconds since reading began.
    pub elapsed: f64,
    /// The latest time any event was logged at (`stageTimestamp`), µs since the epoch.
    pub newest: Option<Micros>,
    /// Followed files that are not there now.
    pub missing: Vec<String>,
    /// The last error (an e2e log that could not be read, a file that could not be read).
    pub error: Option<String>,
    /// A RUN.json being read whole (`explore RUN.json`): its name, said until it is read.
    pub reading: Option<String>,
}

impl LiveStatus {
    /// One line for a status bar, e.g. `live · 12 MB · 4,512 requests · 3 s behind` or
    /// `loading 120 of 450 MB · 40,000 requests · 90 MB/s`.
    pub fn line(&self) -> String {
        let mb = |b: u64| b as f64 / 1e6;
        let mut parts: Vec<String> = Vec::new();
        let requests = format!("{} requests", group_digits(self.requests as u64));
        if self.follow {
            parts.push("live".to_string());
            parts.push(human_bytes(self.bytes));
            parts.push(requests);
            if let Some(newest) = self.newest {
                let now = now_micros();
                let behind = (now - newest).max(0) as f64 / 1e6;
                parts.push(format!("{} behind", human_secs(behind)));
            }
        } else if let Some(what) = self.reading.as_ref().filter(|_| !self.complete) {
            let size = self
                .total
                .map_or(String::new(), |t| format!(" ({:.0} MB)", mb(t)));
            parts.push(format!("reading {what}{size}…"));
        } else if self.complete {
            parts.push(format!(
                "complete: {:.0} MB, {requests} in {:.1} s",
                mb(self.bytes),
                self.elapsed
            ));
        } else {
            let of = self
                .total
                .map_or(String::new(), |t| format!(" of {:.0}", mb(t)));
            parts.push(format!("loading {:.0}{of} MB", mb(self.bytes)));
            parts.push(requests);
            if self.elapsed > 0.0 {
                parts.push(format!("{:.0} MB/s", mb(self.bytes) / self.elapsed));
            }
        }
        for m in &self.missing {
            parts.push(format!("{m}: missing, waiting"));
        }
        if let Some(e) = &self.error {
            parts.push(e.clone());
        }
        parts.join(" · ")
    }
}

/// `812 KB`, `12 MB`.
fn human_bytes(b: u64) -> String {
    if b < 1_000_000 {
        format!("{} KB", b.div_ceil(1000))
    } else {
        format!("{:.0} MB", b as f64 / 1e6)
    }
}

fn now_micros() -> Micros {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_micros() as Micros)
}

fn human_secs(s: f64) -> String {
    if s < 120.0 {
        format!("{s:.0} s")
    } else if s < 7200.0 {
        format!("{:.0} min", s / 60.0)
    } else if s < 172_800.0 {
        format!("{:.0} h", s / 3600.0)
    } else {
        format!("{:.0} days", s / 86_400.0)
    }
}

fn group_digits(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::with_capacity(s.len() + s.len() / 3);
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// What the reading thread sends: a new snapshot of the run (or none, when only the status
/// changed), and the status.
#[derive(Debug)]
pub struct Update {
    /// The run so far; `None` when nothing but the status changed.
    pub run: Option<Run>,
    /// Where reading is.
    pub status: LiveStatus,
    /// Kept alive until this update's run is shown and the run it replaced is freed: while
    /// it lives the reading thread takes no new snapshot, so at most one copy of the run is
    /// on its way besides the builder's and the one shown (each is a whole copy).
    pub held: Option<Arc<()>>,
}

/// True when no snapshot sent with `token` is still on its way (see [`Update::held`]).
fn free(token: &Arc<()>) -> bool {
    Arc::strong_count(token) == 1
}

/// Snapshots no more often than this by default.
pub const DEFAULT_EVERY: Duration = Duration::from_millis(250);

/// Paces snapshots: at most one per `every`, and at least three times as long apart as the
/// last one took.
struct Pace {
    every: Duration,
    last: Option<Instant>,
    cost: Duration,
}

impl Pace {
    fn new(every: Duration) -> Pace {
        Pace {
            every,
            last: None,
            cost: Duration::ZERO,
        }
    }

    fn due(&self) -> bool {
        self.last
            .is_none_or(|l| l.elapsed() >= self.every.max(self.cost * 3))
    }

    fn took(&mut self, started: Instant) {
        self.cost = started.elapsed();
        self.last = Some(Instant::now());
    }
}

/// Reads e2e inputs again only when they changed (size or modification time): while a run is
/// loading they do not change, and a followed e2e log is read again only when it grew.
#[derive(Default)]
struct E2eCache {
    /// Path -> (size and modification time when read, the year hint given, what was read).
    read: HashMap<String, Cached>,
}

type Cached = (Option<(u64, SystemTime)>, Option<i32>, E2eInput);

impl E2eCache {
    fn get(
        &mut self,
        path: &str,
        kind: Option<E2eKind>,
        year_hint: Option<i32>,
    ) -> Result<E2eInput, IngestError> {
        let stamp = std::fs::metadata(path)
            .ok()
            .and_then(|m| Some((m.len(), m.modified().ok()?)));
        if let Some((s, y, input)) = self.read.get(path)
            && *s == stamp
            && stamp.is_some()
            && *y == year_hint
        {
            return Ok(input.clone());
        }
        let input = e2e::read_e2e(path, kind, year_hint)?;
        self.read
            .insert(path.to_string(), (stamp, year_hint, input.clone()));
        Ok(input)
    }
}

/// Makes the run of `builder` so far, as `correlate` would from what it read.
fn snapshot(
    builder: &Builder,
    extra_inputs: &[&LineFeeder],
    resolved: &Resolved,
    opts: &Options,
    cache: &mut E2eCache,
) -> Result<Run, CorrelateError> {
    let mut run = builder.snapshot();
    for f in extra_inputs {
        run.inputs.push(f.info());
        run.accounting.merge(f.accounting().clone());
    }
    let mut clock = StageClock {
        enabled: false,
        last: Instant::now(),
    };
    complete(run, resolved, opts, &mut clock, &mut |p, k, y| {
        cache.get(p, k, y)
    })
}

/// Reads the inputs once on a thread, sending a snapshot of the run about every `every`
/// while it reads, then the whole run with `complete` set; an error ends it with an update
/// whose status has `error` set and no run. Dropping the receiver stops the thread at the
/// next snapshot.
pub fn spawn_load(resolved: Resolved, opts: Options, every: Duration) -> Receiver<Update> {
    let (tx, rx) = channel();
    std::thread::spawn(move || load(&resolved, &opts, every, &tx));
    rx
}

fn load(resolved: &Resolved, opts: &Options, every: Duration, tx: &Sender<Update>) {
    let started = Instant::now();
    let fail = |e: CorrelateError, bytes: u64| {
        let _ = tx.send(Update {
            run: None,
            status: LiveStatus {
                error: Some(e.to_string()),
                bytes,
                elapsed: started.elapsed().as_secs_f64(),
                ..LiveStatus::default()
            },
            held: None,
        });
    };
    let total: u64 = resolved
        .audit
        .iter()
        .filter_map(|p| std::fs::metadata(p).ok().map(|m| m.len()))
        .sum();
    let bytes = Arc::new(AtomicU64::new(0));
    let mut cache = E2eCache::default();
    let mut pace = Pace::new(every);
    let gone = AtomicBool::new(false);
    let token = Arc::new(());
    let status = |requests: usize, complete: bool| LiveStatus {
        follow: false,
        complete,
        bytes: bytes.load(Ordering::Relaxed),
        total: Some(total),
        requests,
        elapsed: started.elapsed().as_secs_f64(),
        ..LiveStatus::default()
    };
    let mut watch = |builder: &Builder, _input: usize| {
        if !pace.due() || gone.load(Ordering::Relaxed) || !free(&token) {
            return;
        }
        let t = Instant::now();
        if let Ok(run) = snapshot(builder, &[], resolved, opts, &mut cache) {
            let update = Update {
                run: Some(run),
                status: status(builder.requests(), false),
                held: Some(Arc::clone(&token)),
            };
            if tx.send(update).is_err() {
                gone.store(true, Ordering::Relaxed);
            }
        }
        pace.took(t);
    };
    let result = super::correlate_resolved_with(
        resolved,
        opts,
        Some(Arc::clone(&bytes)),
        &mut e2e::read_e2e,
        &mut watch,
    );
    match result {
        Ok(run) => {
            let requests = run.requests.len();
            let _ = tx.send(Update {
                run: Some(run),
                status: status(requests, true),
                held: None,
            });
        }
        Err(e) => fail(e, bytes.load(Ordering::Relaxed)),
    }
}

/// What a log is when it is one JSON document rather than JSON lines (an array, as `gcloud
/// logging read --format=json` prints it, or a pretty-printed Event or EventList): such a file
/// is whole only at its end, so what is appended to it cannot be read line by line. `None`
/// for lines (or a file not there yet, or one whose first line is not written whole).
fn document_shaped(path: &str) -> Option<&'static str> {
    use std::io::Read;
    let mut head = Vec::with_capacity(64 * 1024);
    std::fs::File::open(path)
        .ok()?
        .take(64 * 1024)
        .read_to_end(&mut head)
        .ok()?;
    let start = head.iter().position(|b| !b.is_ascii_whitespace())?;
    let rest = &head[start..];
    let end = memchr::memchr(b'\n', rest)?;
    let first = rest[..end].trim_ascii_end();
    match rest[0] {
        b'[' => Some("a JSON array"),
        b'{' if !first.ends_with(b"}") => Some("a pretty-printed JSON document"),
        _ => None,
    }
}

/// One followed audit log.
struct Followed {
    path: String,
    tail: Tail,
    /// Its current file's feeder, in [`Follower::feeders`].
    feeder: usize,
}

/// Follows audit logs and e2e logs that are still being written: [`Follower::poll`] reads what
/// was appended, [`Follower::snapshot`] makes the run so far. Gzipped audit logs (rotated ones)
/// are read once, at the start.
pub struct Follower {
    resolved: Resolved,
    opts: Options,
    builder: Builder,
    followed: Vec<Followed>,
    /// One per file read (a rotated log's new file is a new input), in input order.
    feeders: Vec<LineFeeder>,
    cache: E2eCache,
    newest: Option<Micros>,
    started: Instant,
    /// Read something since the last snapshot.
    changed: bool,
    /// Something happened worth saying once (rotation, a file gone), for the caller.
    said: Vec<String>,
    error: Option<String>,
    buf: Vec<u8>,
    /// Folders named as inputs: walked again about every [`REWALK`] for audit logs and e2e
    /// inputs that appeared since.
    folders: Vec<String>,
    last_walk: Instant,
    /// Device and inode of every audit log read so far, so that a log renamed away by
    /// rotation (`audit.log` to `audit-2026-….log`) is not taken again as a new file.
    seen: std::collections::HashSet<(u64, u64)>,
}

/// How often followed folders are walked again.
const REWALK: Duration = Duration::from_secs(1);

fn file_id_of(path: &str) -> Option<(u64, u64)> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        let meta = std::fs::metadata(path).ok()?;
        Some((meta.dev(), meta.ino()))
    }
    #[cfg(not(unix))]
    {
        let _ = path;
        None
    }
}

/// How much one poll reads of one file at most: a long backlog is read in pieces, so
/// snapshots keep coming while it is caught up.
const POLL_BYTES: usize = 8 << 20;

impl Follower {
    /// Resolves the inputs (a folder is walked once: files that appear later in it are not
    /// picked up) and reads the gzipped audit logs among them.
    pub fn new(inputs: &Inputs, opts: &Options) -> Result<Follower, CorrelateError> {
        let mut resolved = match resolve(inputs, opts) {
            Ok(r) => r,
            // A followed log may not exist yet: take it as an audit log, kind unknown.
            Err(CorrelateError::Ingest(IngestError::Io { .. })) if !inputs.audit.is_empty() => {
                resolve(
                    &Inputs {
                        auto: Vec::new(),
                        ..inputs.clone()
                    },
                    opts,
                )?
            }
            Err(e) => return Err(e),
        };
        let mut follower = Follower {
            resolved: Resolved::default(),
            opts: opts.clone(),
            builder: Builder::default(),
            followed: Vec::new(),
            feeders: Vec::new(),
            cache: E2eCache::default(),
            newest: None,
            started: Instant::now(),
            changed: true,
            said: Vec::new(),
            error: None,
            buf: Vec::new(),
            folders: inputs
                .auto
                .iter()
                .chain(&inputs.audit)
                .filter(|p| std::path::Path::new(p).is_dir())
                .cloned()
                .collect(),
            last_walk: Instant::now(),
            seen: std::collections::HashSet::new(),
        };
        for path in std::mem::take(&mut resolved.audit) {
            follower.seen.extend(file_id_of(&path));
            if is_gzip(&path) {
                let index = follower.feeders.len();
                let mut feeder = LineFeeder::new(&path);
                let data = crate::ingest::source::read_to_vec(&path)?;
                let (builder, newest) = (&mut follower.builder, &mut follower.newest);
                feeder.feed(&data, &mut |ev, line| {
                    add(builder, newest, ev, index, line);
                });
                feeder.finish(&mut |_, _| {});
                follower.feeders.push(feeder);
            } else {
                if let Some(what) = document_shaped(&path) {
                    return Err(CorrelateError::Unfollowable { path, what });
                }
                follower.followed.push(Followed {
                    tail: Tail::new(&path),
                    feeder: follower.feeders.len(),
                    path: path.clone(),
                });
                follower.feeders.push(LineFeeder::new(&path));
            }
        }
        follower.resolved = resolved;
        Ok(follower)
    }

    /// Reads what was appended to every followed log (a piece of it, when much was); true
    /// when anything was read.
    pub fn poll(&mut self) -> bool {
        let mut read = self.walk_again();
        for i in 0..self.followed.len() {
            self.buf.clear();
            let f = &mut self.followed[i];
            let event = match f.tail.poll(POLL_BYTES, &mut self.buf) {
                Ok(e) => e,
                Err(e) => {
                    self.error = Some(format!("{}: {e}", f.path));
                    continue;
                }
            };
            self.seen.extend(f.tail.file_id());
            if !self.buf.is_empty() {
                let index = f.feeder;
                let (builder, newest) = (&mut self.builder, &mut self.newest);
                if let Some(feeder) = self.feeders.get_mut(index) {
                    feeder.feed(&self.buf, &mut |ev, line| {
                        add(builder, newest, ev, index, line);
                    });
                }
                read = true;
            }
            match event {
                TailEvent::Rotated | TailEvent::Truncated => {
                    let path = f.path.clone();
                    if let Some(old) = self.feeders.get_mut(f.feeder) {
                        old.finish(&mut |_, _| {});
                    }
                    // Nothing read from the old file yet (it appeared late): reuse its input.
                    let unused = self
                        .feeders
                        .get(f.feeder)
                        .is_some_and(|old| old.info().bytes == 0);
                    if !unused {
                        f.feeder = self.feeders.len();
                        self.feeders.push(LineFeeder::new(&path));
                        let what = if event == TailEvent::Rotated {
                            "a new file"
                        } else {
                            "truncated"
                        };
                        self.said
                            .push(format!("{path}: {what}, reading it from the start"));
                    }
                    read = true;
                }
                TailEvent::Missing => {
                    self.said
                        .push(format!("{}: missing, waiting for it", f.path));
                    read = true;
                }
                TailEvent::Lines | TailEvent::Idle => {}
            }
        }
        self.changed |= read;
        read
    }

    /// Walks the followed folders again (at most every [`REWALK`]): a plain audit log not
    /// seen before is followed from its start, and a new e2e input is read with the others.
    /// A file renamed by rotation keeps its inode and is not taken again; gzipped logs that
    /// appear are rotated copies of what was read, and are left. True when a file was taken.
    fn walk_again(&mut self) -> bool {
        if self.folders.is_empty() || self.last_walk.elapsed() < REWALK {
            return false;
        }
        self.last_walk = Instant::now();
        let mut taken = false;
        for folder in self.folders.clone() {
            let Ok(walk) = crate::ingest::kind::walk(&folder) else {
                continue;
            };
            for t in walk.taken {
                match t.kind {
                    crate::ingest::kind::InputKind::Audit => {
                        let followed = self.followed.iter().any(|f| f.path == t.path);
                        let Some(id) = file_id_of(&t.path) else {
                            continue;
                        };
                        if followed || is_gzip(&t.path) || !self.seen.insert(id) {
                            continue;
                        }
                        if document_shaped(&t.path).is_some() {
                            self.said
                                .push(format!("{}: a JSON document, not followed", t.path));
                            continue;
                        }
                        self.followed.push(Followed {
                            tail: Tail::new(&t.path),
                            feeder: self.feeders.len(),
                            path: t.path.clone(),
                        });
                        self.feeders.push(LineFeeder::new(&t.path));
                        self.said
                            .push(format!("{}: a new audit log, following it", t.path));
                        taken = true;
                    }
                    crate::ingest::kind::InputKind::E2e(kind) => {
                        if !self.resolved.e2e.iter().any(|(p, _)| *p == t.path) {
                            self.resolved.e2e.push((t.path.clone(), Some(kind)));
                            taken = true;
                        }
                    }
                    crate::ingest::kind::InputKind::Run => {}
                }
            }
        }
        taken
    }

    /// True when something was read since the last snapshot.
    pub fn changed(&self) -> bool {
        self.changed
    }

    /// What happened since the last call worth telling the user (rotations, missing files).
    pub fn take_said(&mut self) -> Vec<String> {
        std::mem::take(&mut self.said)
    }

    /// The run so far. e2e inputs that are not there (yet) are left out; one that cannot be
    /// read is an error, kept in the status.
    pub fn snapshot(&mut self) -> Result<Run, CorrelateError> {
        self.changed = false;
        let mut resolved = self.resolved.clone();
        resolved
            .e2e
            .retain(|(p, _)| std::fs::metadata(p).is_ok_and(|m| m.len() > 0));
        let feeders: Vec<&LineFeeder> = self.feeders.iter().collect();
        let run = snapshot(
            &self.builder,
            &feeders,
            &resolved,
            &self.opts,
            &mut self.cache,
        );
        self.error = run.as_ref().err().map(|e| e.to_string());
        run
    }

    /// Where following is.
    pub fn status(&self) -> LiveStatus {
        let bytes = self.feeders.iter().map(|f| f.info().bytes).sum();
        LiveStatus {
            follow: true,
            complete: false,
            bytes,
            total: None,
            requests: self.builder.requests(),
            elapsed: self.started.elapsed().as_secs_f64(),
            newest: self.newest,
            missing: self
                .followed
                .iter()
                .filter(|f| f.tail.is_missing())
                .map(|f| f.path.clone())
                .collect(),
            error: self.error.clone(),
            reading: None,
        }
    }
}

fn add(
    builder: &mut Builder,
    newest: &mut Option<Micros>,
    ev: &AuditEvent<'_>,
    input: usize,
    line: u64,
) {
    if let Some(t) = ev.stage_time() {
        *newest = Some(newest.map_or(t, |n| n.max(t)));
    }
    builder.add_event(ev, input as u16, line);
}

fn is_gzip(path: &str) -> bool {
    use std::io::Read;
    let mut magic = [0u8; 2];
    std::fs::File::open(path)
        .and_then(|mut f| f.read_exact(&mut magic))
        .is_ok()
        && magic == [0x1f, 0x8b]
}

/// Follows on a thread, sending an update whenever something was read (at most every
/// `every`) until `stop` is set or the receiver is dropped; the last update (after `stop`)
/// holds the final run.
pub fn spawn_follow(
    inputs: Inputs,
    opts: Options,
    every: Duration,
    stop: Arc<AtomicBool>,
) -> Result<Receiver<Update>, CorrelateError> {
    let mut follower = Follower::new(&inputs, &opts)?;
    let (tx, rx) = channel();
    std::thread::spawn(move || {
        let mut pace = Pace::new(every);
        let token = Arc::new(());
        loop {
            let stopping = stop.load(Ordering::Relaxed);
            let read = follower.poll();
            if (follower.changed() && pace.due() && free(&token)) || stopping {
                let t = Instant::now();
                let run = follower.snapshot().ok();
                pace.took(t);
                let update = Update {
                    run,
                    status: LiveStatus {
                        complete: !read,
                        ..follower.status()
                    },
                    held: Some(Arc::clone(&token)),
                };
                if tx.send(update).is_err() || stopping {
                    return;
                }
            }
            if !read {
                std::thread::sleep(Duration::from_millis(100));
            }
        }
    });
    Ok(rx)
}
