//! The correlated run: every request, every spec, and the tables they point into.
//!
//! Everything repeated across requests (verbs, paths, user agents, users, frames) is
//! interned once in [`Run::strings`] or a small table, and requests hold `u32` indexes.
//! This keeps a 900,000-request run small in memory and in `RUN.json` (see [`format`]).

pub mod agent;
pub mod format;
pub mod steps;
pub mod time;

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

pub use crate::model::release::{ReleaseSource, RunRelease};
pub use crate::model::strings;
pub use crate::model::{Interner, OpId, Operation, Release, SpecId, StrId};
pub use agent::{AgentText, PartOrder};
pub use steps::{Step, StepRef};

/// Microseconds since the Unix epoch, UTC. [`NO_TIME`] when unknown.
pub type Micros = i64;
/// The value of a [`Micros`] field that holds no time.
pub const NO_TIME: Micros = i64::MIN;

/// Index into [`Run::users`].
pub type UserId = u32;
/// Index into [`Run::agents`].
pub type AgentId = u32;
/// Index into [`Run::traces`].
pub type TraceId = u32;
/// Index into [`Run::frames`].
pub type FrameId = u32;

/// The audit stage of an event; a request keeps the latest stage it reached.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, Default,
)]
#[repr(u8)]
pub enum Stage {
    #[default]
    RequestReceived = 0,
    ResponseStarted = 1,
    ResponseComplete = 2,
    Panic = 3,
}

impl Stage {
    /// The stage's name as the audit log spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            Stage::RequestReceived => "RequestReceived",
            Stage::ResponseStarted => "ResponseStarted",
            Stage::ResponseComplete => "ResponseComplete",
            Stage::Panic => "Panic",
        }
    }
    /// Parses the audit log's spelling.
    pub fn parse(s: &str) -> Option<Stage> {
        Some(match s {
            "RequestReceived" => Stage::RequestReceived,
            "ResponseStarted" => Stage::ResponseStarted,
            "ResponseComplete" => Stage::ResponseComplete,
            "Panic" => Stage::Panic,
            _ => return None,
        })
    }
    /// Converts the compact form stored in `RUN.json`.
    pub fn from_u8(v: u8) -> Stage {
        match v {
            1 => Stage::ResponseStarted,
            2 => Stage::ResponseComplete,
            3 => Stage::Panic,
            _ => Stage::RequestReceived,
        }
    }
}

/// The audit level the event was logged at.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, Default,
)]
#[repr(u8)]
pub enum Level {
    #[default]
    None = 0,
    Metadata = 1,
    Request = 2,
    RequestResponse = 3,
}

impl Level {
    /// The level's name as the audit log spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            Level::None => "None",
            Level::Metadata => "Metadata",
            Level::Request => "Request",
            Level::RequestResponse => "RequestResponse",
        }
    }
    /// Parses the audit log's spelling; unknown levels read as `None`.
    pub fn parse(s: &str) -> Level {
        match s {
            "Metadata" => Level::Metadata,
            "Request" => Level::Request,
            "RequestResponse" => Level::RequestResponse,
            _ => Level::None,
        }
    }
    /// Converts the compact form stored in `RUN.json`.
    pub fn from_u8(v: u8) -> Level {
        match v {
            1 => Level::Metadata,
            2 => Level::Request,
            3 => Level::RequestResponse,
            _ => Level::None,
        }
    }
}

/// The authorizer's decision, from the `authorization.k8s.io/decision` annotation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[repr(u8)]
pub enum Decision {
    #[default]
    Unknown = 0,
    Allow = 1,
    Forbid = 2,
}

impl Decision {
    /// The annotation's spelling, or `""` when the event had none.
    pub fn as_str(self) -> &'static str {
        match self {
            Decision::Unknown => "",
            Decision::Allow => "allow",
            Decision::Forbid => "forbid",
        }
    }
    /// Converts the compact form stored in `RUN.json`.
    pub fn from_u8(v: u8) -> Decision {
        match v {
            1 => Decision::Allow,
            2 => Decision::Forbid,
            _ => Decision::Unknown,
        }
    }
}

/// How a request came to belong to a spec.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, Default,
)]
#[serde(rename_all = "lowercase")]
#[repr(u8)]
pub enum Attribution {
    /// Outside every spec's window and without a spec name.
    #[default]
    None = 0,
    /// The user agent names the spec (` -- <spec>` suffix).
    Ua = 1,
    /// Inside exactly one spec's time window (or mark window).
    Window = 2,
    /// Inside the windows of several specs at once (parallel ginkgo nodes): not guessed.
    Ambiguous = 3,
}

impl Attribution {
    /// All kinds, in report order.
    pub const ALL: [Attribution; 4] = [
        Attribution::Ua,
        Attribution::Window,
        Attribution::Ambiguous,
        Attribution::None,
    ];
    /// The lower-case name used in reports and JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Attribution::None => "none",
            Attribution::Ua => "ua",
            Attribution::Window => "window",
            Attribution::Ambiguous => "ambiguous",
        }
    }
    /// Converts the compact form stored in `RUN.json`.
    pub fn from_u8(v: u8) -> Attribution {
        match v {
            1 => Attribution::Ua,
            2 => Attribution::Window,
            3 => Attribution::Ambiguous,
            _ => Attribution::None,
        }
    }
}

/// A user as the audit event names it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
pub struct User {
    pub name: StrId,
    pub groups: Vec<StrId>,
}

/// The object a request was about (`objectRef`); fields are [`StrId`] 0 when absent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
pub struct ObjectRef {
    pub resource: StrId,
    pub subresource: StrId,
    pub namespace: StrId,
    pub name: StrId,
    pub api_group: StrId,
    pub api_version: StrId,
}

/// One distinct user agent string, split into its parts.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Agent {
    /// How the text as logged is had: whole, or from the parts below
    /// ([`Run::agent_text`] gives it).
    pub text: AgentText,
    /// `name/version (os/arch) kubernetes/commit[/suffix]`: each part, 0 when absent.
    pub product: StrId,
    pub version: StrId,
    pub os: StrId,
    pub arch: StrId,
    pub commit: StrId,
    pub suffix: StrId,
    /// The spec text after the first ` -- `, 0 when there is none.
    pub spec_text: StrId,
    /// The client-go backtrace carried in `stacktrace=[…]`, if any.
    pub trace: Option<TraceId>,
}

/// One stack frame of a client-go backtrace.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Frame {
    /// The function, e.g. `k8s.io/client-go/rest.(*Request).Do()`.
    pub function: StrId,
    /// The source file as the backtrace names it.
    pub file: StrId,
    /// The line in `file`; 0 when the frame had none.
    pub line: u32,
}

/// One distinct backtrace: frames innermost first.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Trace {
    pub frames: Vec<FrameId>,
    /// The API server cut the user agent (`...TRUNCATED`): outer frames are missing.
    pub truncated: bool,
}

/// The outcome of a spec, from JUnit or the log.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum SpecStatus {
    #[default]
    Unknown,
    Passed,
    Failed,
    Skipped,
    Pending,
}

impl SpecStatus {
    /// The lower-case name used in reports.
    pub fn as_str(self) -> &'static str {
        match self {
            SpecStatus::Unknown => "unknown",
            SpecStatus::Passed => "passed",
            SpecStatus::Failed => "failed",
            SpecStatus::Skipped => "skipped",
            SpecStatus::Pending => "pending",
        }
    }
}

/// One e2e spec (or, with [`Spec::suite_node`], a suite node such as AfterSuite that
/// opens a window but is not a test).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct Spec {
    /// The full spec text (containers and `It` text joined by spaces), as e2e clients put it
    /// into their user agent.
    pub name: StrId,
    /// The lines that introduce the spec in the `report hits` block (for `entries.log`
    /// input, the entry's last three lines).
    pub header: Vec<StrId>,
    /// `file:line` of the spec, 0 when unknown.
    pub location: StrId,
    pub status: SpecStatus,
    /// Seconds, from JUnit or the log's `• [N seconds]`.
    pub duration: Option<f64>,
    /// When the spec started and ended, as far as the inputs tell.
    pub start: Micros,
    pub end: Micros,
    /// The time window `[start, end)` used for `window` attribution; [`NO_TIME`] when none.
    pub window_start: Micros,
    pub window_end: Micros,
    /// True for the `[Conformance]` specs.
    pub conformance: bool,
    /// True for entries that are not specs (the AfterSuite entry of `entries.log`).
    pub suite_node: bool,
    /// The spec's `STEP:` lines in log order (see [`steps`]); empty when the log gave none.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub steps: Vec<Step>,
}

/// One API request: every stage event with the same `auditID`, merged.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Request {
    pub audit_id: Box<str>,
    pub verb: StrId,
    /// The full `requestURI`, query string included.
    pub uri: StrId,
    pub user: UserId,
    pub impersonated: Option<UserId>,
    /// `sourceIPs` joined by `,`.
    pub source_ips: StrId,
    pub agent: AgentId,
    pub object: ObjectRef,
    /// HTTP status of the response; 0 when the request never got one logged.
    pub code: u16,
    pub level: Level,
    /// The latest stage seen.
    pub stage: Stage,
    /// How many stage events were merged into this request (1 when it was logged once).
    pub stage_events: u8,
    pub received: Micros,
    /// `stageTimestamp` of the latest stage (so `completed - received` is the latency).
    pub completed: Micros,
    pub decision: Decision,
    /// `authorization.k8s.io/reason`, 0 when absent.
    pub reason: StrId,
    pub spec: Option<SpecId>,
    pub attribution: Attribution,
    pub endpoint: Option<OpId>,
    /// Which input file (index into [`Run::inputs`]) and line the request was first seen on.
    pub input: u16,
    pub line: u64,
}

impl Request {
    /// Every string this request refers to (for validating and pruning the string table).
    pub fn string_ids(&self) -> [StrId; 10] {
        [
            self.verb,
            self.uri,
            self.source_ips,
            self.reason,
            self.object.resource,
            self.object.subresource,
            self.object.namespace,
            self.object.name,
            self.object.api_group,
            self.object.api_version,
        ]
    }
}

/// What was read from one input file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct InputInfo {
    pub path: String,
    /// What the file was detected as (`audit`, `ginkgo-v1`, `ginkgo-v2`, `entries`, `junit`).
    pub kind: String,
    pub bytes: u64,
    pub lines: u64,
}

/// Lines skipped for one reason.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct SkipInfo {
    pub count: u64,
    /// The first few places, as `path:line`.
    pub first: Vec<String>,
}

/// An account of every audit line read: `lines = requests + stage_events_merged + skipped`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Accounting {
    /// Non-empty audit lines (or array items) read.
    pub lines: u64,
    /// Audit events parsed (every stage event).
    pub events: u64,
    /// Events that were a further stage of a request already seen.
    pub stage_events_merged: u64,
    /// Lines skipped, by reason.
    pub skipped: BTreeMap<String, SkipInfo>,
}

impl Accounting {
    /// How many places are kept per reason.
    pub const FIRST_PLACES: usize = 5;

    /// Records one skipped line.
    pub fn skip(&mut self, reason: &str, place: impl FnOnce() -> String) {
        let info = self.skipped.entry(reason.to_string()).or_default();
        info.count += 1;
        if info.first.len() < Self::FIRST_PLACES {
            info.first.push(place());
        }
    }

    /// Total lines skipped.
    pub fn skipped_total(&self) -> u64 {
        self.skipped.values().map(|s| s.count).sum()
    }

    /// Adds another account (from a parallel chunk or another file) to this one.
    pub fn merge(&mut self, other: Accounting) {
        self.lines += other.lines;
        self.events += other.events;
        self.stage_events_merged += other.stage_events_merged;
        for (reason, info) in other.skipped {
            let mine = self.skipped.entry(reason).or_default();
            mine.count += info.count;
            for p in info.first {
                if mine.first.len() < Self::FIRST_PLACES {
                    mine.first.push(p);
                }
            }
        }
    }
}

/// A correlated run: what `correlate` writes and every other command reads.
#[derive(Debug, Clone, Default)]
pub struct Run {
    pub strings: Interner,
    pub users: Vec<User>,
    pub agents: Vec<Agent>,
    pub frames: Vec<Frame>,
    pub traces: Vec<Trace>,
    /// The endpoint table the requests were matched against.
    pub operations: Vec<Operation>,
    /// The release of that table and how it was chosen; `None` for runs written before
    /// auditscope knew releases (RUN.json version 3 and older, matched against v1.35).
    pub release: Option<RunRelease>,
    pub specs: Vec<Spec>,
    /// Requests in order of `received` time.
    pub requests: Vec<Request>,
    pub accounting: Accounting,
    pub inputs: Vec<InputInfo>,
    /// Things the user should know about how the run was read (e.g. an inferred year).
    pub notes: Vec<String>,
}

impl Run {
    /// The text of an interned string.
    #[inline]
    pub fn str(&self, id: StrId) -> &str {
        self.strings.get(id)
    }
}

impl Run {
    /// The request path: `requestURI` without its query string.
    pub fn path_of(&self, req: &Request) -> &str {
        let uri = self.str(req.uri);
        uri.split_once('?').map_or(uri, |(p, _)| p)
    }

    /// The spec a request belongs to, if any.
    pub fn spec_of(&self, req: &Request) -> Option<&Spec> {
        req.spec.and_then(|s| self.specs.get(s.index()))
    }

    /// The operation a request matched, if any.
    pub fn operation_of(&self, req: &Request) -> Option<&Operation> {
        req.endpoint.and_then(|e| self.operations.get(e.index()))
    }

    /// The user agent a request carried.
    pub fn agent_of(&self, req: &Request) -> Option<&Agent> {
        self.agents.get(req.agent as usize)
    }

    /// The backtrace a request's user agent carried, if any.
    pub fn trace_of(&self, req: &Request) -> Option<&Trace> {
        self.agent_of(req)
            .and_then(|a| a.trace)
            .and_then(|t| self.traces.get(t as usize))
    }

    /// The spec's display name.
    pub fn spec_name(&self, spec: &Spec) -> &str {
        self.str(spec.name)
    }

    /// Requests by attribution kind, in [`Attribution::ALL`] order.
    pub fn attribution_counts(&self) -> [(Attribution, u64); 4] {
        let mut counts = [0u64; 4];
        for r in &self.requests {
            counts[r.attribution as usize] += 1;
        }
        Attribution::ALL.map(|a| (a, counts[a as usize]))
    }
}
