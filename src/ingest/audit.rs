//! Reading Kubernetes API server audit logs: every event, fast, with an account of every line.
//!
//! # Shapes
//! The shape is detected by content, never by file name:
//! - JSON lines: one `audit.k8s.io/v1` or `v1beta1` `Event` per line (the log backend). A line may
//!   also hold an `EventList` (the webhook batch), an OpenSearch/Elasticsearch hit
//!   (`{"_index":…,"_source":{"Body.value":"<event as a string>"}}`) or a bare `_source` object.
//!   Events are numbered by their physical line (1-based, blank lines included in the numbering).
//! - A whole document: one pretty-printed `Event`, an `EventList`, an Azure Event Hubs batch
//!   (`{"records":[{"properties":{"log":"<event as a string>"}}]}`), an OpenSearch search response
//!   (`{"hits":{"hits":[…]}}`), a JSON array of any of these, or several such values one after the
//!   other. A file is read as a document when its first non-blank line is not a JSON value by
//!   itself (and none of the next few lines that open an object is), or when it holds a single
//!   non-blank line and fits in the first block. Items are numbered 1, 2, … in document order and
//!   that number stands in for the line number.
//!
//! - Lines in the wrappers platforms put around events (GKE Cloud Logging entries, CloudWatch,
//!   log shippers' `{"log":…}`/`{"message":…}`, CRI container log lines whose `P` parts are
//!   joined here, in order): each shape is one module of [`crate::ingest::decode`], and a file
//!   may mix them.
//!
//! gzip is recognised by its magic bytes (several members allowed); `-` is stdin.
//!
//! # Speed
//! JSON lines are never held in memory whole, and neither is a document read from a file: it
//! is scanned once and read again piece by piece ([`crate::ingest::document`]); a document from
//! stdin is held whole. Three stages run at once, each a block ahead of the
//! next: a reader thread reads (and decompresses) blocks of 1 MB cut at line boundaries (a longer
//! line makes a longer block); a parser thread has each block's lines parsed in parallel (rayon)
//! into [`AuditEvent`]s that borrow from the block and name only the kept fields: a plain event
//! is read by a one-pass scanner (`decode::event`) that skips request and response bodies
//! without building them, straight into its place in the block's outcomes (the event is large:
//! moving it cost more than reading it), serde_json reads the rest; and the calling thread hands the events
//! to the sink, in input order. A block and its events travel together ([`ParsedBlock`]), and
//! its buffer goes back to the reader once the sink is done with it.
//!
//! # Accounting
//! `lines` counts non-blank lines (and, inside containers, items); `events` the events handed to
//! the sink; every other line is skipped under one of these reasons (see [`reasons`]), so
//! `lines = events + skipped`:
//! - `invalid JSON`: the line (or document) is not JSON, even after replacing invalid UTF-8;
//! - `not an audit event`: valid JSON without `auditID` and `stage` (or with a field of the
//!   wrong type), and not one of the containers above; an empty `verb` is kept (OPTIONS);
//! - `unknown apiVersion`: `apiVersion` is present and is neither `audit.k8s.io/v1` nor
//!   `audit.k8s.io/v1beta1`;
//! - `unknown stage`: `stage` is not `RequestReceived`, `ResponseStarted`, `ResponseComplete` or
//!   `Panic`;
//! - `bad timestamp`: no `requestReceivedTimestamp` (nor v1beta1 `timestamp`), or a timestamp that
//!   is not RFC 3339;
//! - `not a Kubernetes API entry`: a Cloud Logging audit entry of another service;
//! - `CRI partial line without its end`: CRI `P` parts not followed by their `F` line (counted
//!   once, at the first part; a joined record also counts as one line).
//!
//! There is no line length limit. Invalid UTF-8 inside a line is replaced by U+FFFD and the event
//! kept.

use std::borrow::Cow;
use std::fmt;
use std::io::{self, IsTerminal, Write};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::time::{Duration, Instant};

use rayon::prelude::*;
use serde::Deserialize;
use serde::de::{Deserializer, Visitor};
use serde_json::value::RawValue;

use crate::ingest::decode::{self, Arena, Item, LineOutcome, first_byte, parse_line_into};
use crate::ingest::document;
use crate::ingest::mapped::{Mapping, Window};
use crate::ingest::source::{GZIP_MAGIC, IngestError, classify_read_error, open_input_counted};
use crate::run::{Accounting, Decision, InputInfo, Level, Micros, Stage};

/// The fixed set of reasons a line is skipped for (see the module documentation).
pub mod reasons {
    /// Not JSON, even after replacing invalid UTF-8.
    pub const INVALID_JSON: &str = "invalid JSON";
    /// Valid JSON that is neither an audit event nor a known container of events.
    pub const NOT_AN_EVENT: &str = "not an audit event";
    /// An `apiVersion` other than `audit.k8s.io/v1` or `audit.k8s.io/v1beta1`.
    pub const UNKNOWN_API_VERSION: &str = "unknown apiVersion";
    /// A `stage` that is not one of the four audit stages.
    pub const UNKNOWN_STAGE: &str = "unknown stage";
    /// A missing receive time or a timestamp that is not RFC 3339.
    pub const BAD_TIMESTAMP: &str = "bad timestamp";
    /// A Cloud Logging audit entry of a service other than the Kubernetes API (`k8s.io`),
    /// e.g. GKE's own `container.googleapis.com`.
    pub const OTHER_SERVICE: &str = "not a Kubernetes API entry";
    /// CRI `P` (partial) lines not followed by their `F` line.
    pub const UNFINISHED_PARTS: &str = "CRI partial line without its end";
}

/// The block size the reader cuts the input into (at line boundaries). Five or six blocks are
/// in flight at once: 1 MB keeps them a small part of the run's memory (on a 382 MB log, 2 MB
/// took 3-5 MiB more peak RSS, up to 26% of the log in some runs, for 2-5% less CPU time)
/// with enough lines a block (~700) to keep every core busy.
pub const DEFAULT_BLOCK_SIZE: usize = 1 << 20;

/// Into how many parts (one task each) a block is cut: a few per core, enough to balance
/// uneven lines, few enough that the threads are not woken and put to sleep for every handful.
const PARSE_TASKS: usize = 8;

/// How many lines' events are collected together (see [`ParsedLines::pieces`]); about 64 KB.
const PIECE_LINES: usize = 96;

/// A list of strings of an event (a user's groups, the source IPs), used as a slice (it
/// derefs to one, as a `Vec` does). The fast path keeps the list in the block's arena, so
/// reading an event allocates nothing; serde (the general path) gives a `Vec`.
#[derive(Clone)]
pub enum Strings<'a> {
    /// A list in the block's arena.
    Borrowed(&'a [Cow<'a, str>]),
    /// A list of its own.
    Owned(Vec<Cow<'a, str>>),
}

impl Default for Strings<'_> {
    fn default() -> Self {
        Strings::Borrowed(&[])
    }
}

impl<'a> From<Vec<Cow<'a, str>>> for Strings<'a> {
    fn from(v: Vec<Cow<'a, str>>) -> Self {
        Strings::Owned(v)
    }
}

impl<'a> std::ops::Deref for Strings<'a> {
    type Target = [Cow<'a, str>];
    fn deref(&self) -> &[Cow<'a, str>] {
        self.as_slice()
    }
}

impl<'a> Strings<'a> {
    /// The strings.
    pub fn as_slice(&self) -> &[Cow<'a, str>] {
        match self {
            Strings::Borrowed(s) => s,
            Strings::Owned(v) => v,
        }
    }

    /// Copies every borrowed string.
    pub fn into_owned(self) -> Strings<'static> {
        Strings::Owned(self.iter().cloned().map(own).collect())
    }
}

/// Compares as the list of strings, as a `Vec` does.
impl<'a, U, const N: usize> PartialEq<[U; N]> for Strings<'a>
where
    Cow<'a, str>: PartialEq<U>,
{
    fn eq(&self, other: &[U; N]) -> bool {
        self.as_slice() == other
    }
}

impl PartialEq for Strings<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.as_slice() == other.as_slice()
    }
}

/// As the list of strings: which storage holds it does not show.
impl fmt::Debug for Strings<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_slice(), f)
    }
}

/// A user as an audit event names it.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct AuditUser<'a> {
    /// `username`, empty when absent.
    #[serde(borrow, default, deserialize_with = "cow_str")]
    pub username: Cow<'a, str>,
    /// `groups`.
    #[serde(borrow, default, deserialize_with = "cow_vec")]
    pub groups: Strings<'a>,
}

/// The object a request was about; each field empty when absent.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AuditObjectRef<'a> {
    /// `resource`, e.g. `pods`.
    #[serde(borrow, default, deserialize_with = "cow_str")]
    pub resource: Cow<'a, str>,
    /// `subresource`, e.g. `status`.
    #[serde(borrow, default, deserialize_with = "cow_str")]
    pub subresource: Cow<'a, str>,
    /// `namespace`.
    #[serde(borrow, default, deserialize_with = "cow_str")]
    pub namespace: Cow<'a, str>,
    /// `name`.
    #[serde(borrow, default, deserialize_with = "cow_str")]
    pub name: Cow<'a, str>,
    /// `apiGroup` (empty for the core group).
    #[serde(borrow, default, deserialize_with = "cow_str")]
    pub api_group: Cow<'a, str>,
    /// `apiVersion` of the object, e.g. `v1`.
    #[serde(borrow, default, deserialize_with = "cow_str")]
    pub api_version: Cow<'a, str>,
}

/// The part of `responseStatus` kept: the HTTP code.
#[derive(Debug, Clone, Copy, Default, Deserialize)]
pub struct AuditResponseStatus {
    /// The HTTP status code, when logged.
    #[serde(default)]
    pub code: Option<i64>,
}

/// The two authorization annotations kept; each empty when absent.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct AuditAnnotations<'a> {
    /// `authorization.k8s.io/decision`: `allow` or `forbid`.
    #[serde(
        rename = "authorization.k8s.io/decision",
        borrow,
        default,
        deserialize_with = "cow_str"
    )]
    pub decision: Cow<'a, str>,
    /// `authorization.k8s.io/reason`: the RBAC binding that allowed the request, if any.
    #[serde(
        rename = "authorization.k8s.io/reason",
        borrow,
        default,
        deserialize_with = "cow_str"
    )]
    pub reason: Cow<'a, str>,
}

/// One audit event, deserialized borrowing from the input buffer, naming only the fields kept.
/// Strings are empty when the event does not have them.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AuditEvent<'a> {
    /// `apiVersion`: `audit.k8s.io/v1` or `audit.k8s.io/v1beta1` (may be absent).
    #[serde(borrow, default, deserialize_with = "cow_str")]
    pub api_version: Cow<'a, str>,
    /// `kind`: `Event` (empty inside some batches).
    #[serde(borrow, default, deserialize_with = "cow_str")]
    pub kind: Cow<'a, str>,
    /// `level`: `Metadata`, `Request`, `RequestResponse`.
    #[serde(borrow, default, deserialize_with = "cow_str")]
    pub level: Cow<'a, str>,
    /// `auditID`: shared by every stage event of one request.
    #[serde(rename = "auditID", borrow, default, deserialize_with = "cow_str")]
    pub audit_id: Cow<'a, str>,
    /// `stage`: see [`AuditEvent::stage`].
    #[serde(borrow, default, deserialize_with = "cow_str")]
    pub stage: Cow<'a, str>,
    /// `requestURI`, query string included.
    #[serde(rename = "requestURI", borrow, default, deserialize_with = "cow_str")]
    pub request_uri: Cow<'a, str>,
    /// `verb`: the Kubernetes verb (`get`, `list`, `watch`, `create`, …).
    #[serde(borrow, default, deserialize_with = "cow_str")]
    pub verb: Cow<'a, str>,
    /// `user`.
    #[serde(borrow, default)]
    pub user: Option<AuditUser<'a>>,
    /// `impersonatedUser`, when the request was impersonated.
    #[serde(borrow, default)]
    pub impersonated_user: Option<AuditUser<'a>>,
    /// `sourceIPs`.
    #[serde(rename = "sourceIPs", borrow, default, deserialize_with = "cow_vec")]
    pub source_ips: Strings<'a>,
    /// `userAgent`.
    #[serde(borrow, default, deserialize_with = "cow_str")]
    pub user_agent: Cow<'a, str>,
    /// `objectRef`.
    #[serde(borrow, default)]
    pub object_ref: Option<AuditObjectRef<'a>>,
    /// `responseStatus` (only its code).
    #[serde(default)]
    pub response_status: Option<AuditResponseStatus>,
    /// `requestReceivedTimestamp`, as logged.
    #[serde(borrow, default, deserialize_with = "cow_str")]
    pub request_received_timestamp: Cow<'a, str>,
    /// `stageTimestamp`, as logged.
    #[serde(borrow, default, deserialize_with = "cow_str")]
    pub stage_timestamp: Cow<'a, str>,
    /// v1beta1 only: when the event was logged.
    #[serde(borrow, default, deserialize_with = "cow_str")]
    pub timestamp: Cow<'a, str>,
    /// The authorization annotations.
    #[serde(borrow, default)]
    pub annotations: Option<AuditAnnotations<'a>>,
    /// Times parsed while validating, so the sink does not parse them again.
    #[serde(skip)]
    parsed: Option<(Micros, Micros)>,
    /// Hashes of `auditID` and `userAgent` ([`hash_str`]), computed while validating, on the
    /// parallel parse stage, so the sequential sink does not hash long user agents again.
    #[serde(skip)]
    hashes: Option<(u64, u64)>,
}

/// The 64-bit hash [`AuditEvent::audit_id_hash`] and [`AuditEvent::user_agent_hash`] use (the
/// string table's: fixed-seed foldhash, the same in every thread and every run).
pub use crate::run::strings::hash_str;

impl AuditEvent<'_> {
    /// When the API server received the request (`requestReceivedTimestamp`, else v1beta1
    /// `timestamp`), in microseconds since the epoch.
    pub fn received(&self) -> Option<Micros> {
        if let Some((r, _)) = self.parsed {
            return Some(r);
        }
        parse_timestamp(first_non_empty(
            &self.request_received_timestamp,
            &self.timestamp,
        )?)
    }

    /// When this stage was logged (`stageTimestamp`, else v1beta1 `timestamp`, else the receive
    /// time).
    pub fn stage_time(&self) -> Option<Micros> {
        if let Some((_, s)) = self.parsed {
            return Some(s);
        }
        match first_non_empty(&self.stage_timestamp, &self.timestamp) {
            Some(s) => parse_timestamp(s),
            None => self.received(),
        }
    }

    /// [`hash_str`] of `auditID` (cached by the reader).
    pub fn audit_id_hash(&self) -> u64 {
        self.hashes
            .map_or_else(|| hash_str(&self.audit_id), |(a, _)| a)
    }

    /// [`hash_str`] of `userAgent` (cached by the reader).
    pub fn user_agent_hash(&self) -> u64 {
        self.hashes
            .map_or_else(|| hash_str(&self.user_agent), |(_, u)| u)
    }

    /// The stage, when it is one of the four known ones.
    pub fn stage(&self) -> Option<Stage> {
        Stage::parse(&self.stage)
    }

    /// The audit level (unknown levels read as `None`).
    pub fn level(&self) -> Level {
        Level::parse(&self.level)
    }

    /// The HTTP status code, 0 when none was logged (or it is not a valid code).
    pub fn code(&self) -> u16 {
        self.response_status
            .and_then(|s| s.code)
            .and_then(|c| u16::try_from(c).ok())
            .unwrap_or(0)
    }

    /// The `authorization.k8s.io/decision` annotation, empty when absent.
    pub fn decision_str(&self) -> &str {
        self.annotations.as_ref().map_or("", |a| &a.decision)
    }

    /// The `authorization.k8s.io/reason` annotation, empty when absent.
    pub fn reason(&self) -> &str {
        self.annotations.as_ref().map_or("", |a| &a.reason)
    }

    /// The authorizer's decision.
    pub fn decision(&self) -> Decision {
        match self.decision_str() {
            "allow" => Decision::Allow,
            "forbid" => Decision::Forbid,
            _ => Decision::Unknown,
        }
    }

    /// The user's name, empty when absent.
    pub fn username(&self) -> &str {
        self.user.as_ref().map_or("", |u| &u.username)
    }

    /// Copies every borrowed string, so the event outlives its input buffer.
    pub fn into_owned(self) -> AuditEvent<'static> {
        AuditEvent {
            api_version: own(self.api_version),
            kind: own(self.kind),
            level: own(self.level),
            audit_id: own(self.audit_id),
            stage: own(self.stage),
            request_uri: own(self.request_uri),
            verb: own(self.verb),
            user: self.user.map(AuditUser::into_owned),
            impersonated_user: self.impersonated_user.map(AuditUser::into_owned),
            source_ips: self.source_ips.into_owned(),
            user_agent: own(self.user_agent),
            object_ref: self.object_ref.map(|o| AuditObjectRef {
                resource: own(o.resource),
                subresource: own(o.subresource),
                namespace: own(o.namespace),
                name: own(o.name),
                api_group: own(o.api_group),
                api_version: own(o.api_version),
            }),
            response_status: self.response_status,
            request_received_timestamp: own(self.request_received_timestamp),
            stage_timestamp: own(self.stage_timestamp),
            timestamp: own(self.timestamp),
            annotations: self.annotations.map(|a| AuditAnnotations {
                decision: own(a.decision),
                reason: own(a.reason),
            }),
            parsed: self.parsed,
            hashes: self.hashes,
        }
    }

    /// True when the object carries any of the fields only an audit event has.
    pub(crate) fn looks_like_event(&self) -> bool {
        !self.audit_id.is_empty() || !self.stage.is_empty() || !self.verb.is_empty()
    }

    /// Checks the event and caches its times; `Err` holds the skip reason.
    pub(crate) fn validate(&mut self) -> Result<(), &'static str> {
        // An empty verb is a real value: the API server logs one for methods that map to no
        // verb, such as an OPTIONS call through a proxy (matched as OPTIONS).
        if self.audit_id.is_empty() || self.stage.is_empty() {
            return Err(reasons::NOT_AN_EVENT);
        }
        if !self.api_version.is_empty()
            && self.api_version != "audit.k8s.io/v1"
            && self.api_version != "audit.k8s.io/v1beta1"
        {
            return Err(reasons::UNKNOWN_API_VERSION);
        }
        if Stage::parse(&self.stage).is_none() {
            return Err(reasons::UNKNOWN_STAGE);
        }
        let received = first_non_empty(&self.request_received_timestamp, &self.timestamp)
            .and_then(parse_timestamp)
            .ok_or(reasons::BAD_TIMESTAMP)?;
        let stage_time = match first_non_empty(&self.stage_timestamp, &self.timestamp) {
            // A RequestReceived event logs the same time twice: parsed once.
            Some(s) if s == self.request_received_timestamp => received,
            Some(s) => parse_timestamp(s).ok_or(reasons::BAD_TIMESTAMP)?,
            None => received,
        };
        self.parsed = Some((received, stage_time));
        self.hashes = Some((hash_str(&self.audit_id), hash_str(&self.user_agent)));
        Ok(())
    }
}

impl AuditUser<'_> {
    /// Copies every borrowed string.
    pub fn into_owned(self) -> AuditUser<'static> {
        AuditUser {
            username: own(self.username),
            groups: self.groups.into_owned(),
        }
    }
}

fn own(c: Cow<'_, str>) -> Cow<'static, str> {
    Cow::Owned(c.into_owned())
}

fn first_non_empty<'s>(a: &'s str, b: &'s str) -> Option<&'s str> {
    if !a.is_empty() {
        Some(a)
    } else if !b.is_empty() {
        Some(b)
    } else {
        None
    }
}

/// A string that borrows from the input when it holds no escapes (serde's `Cow` impl always
/// copies, and `Option<Cow>`/`Vec<Cow>` cannot use `#[serde(borrow)]` directly).
pub(crate) struct CowStr<'a>(pub(crate) Cow<'a, str>);

impl<'de: 'a, 'a> Deserialize<'de> for CowStr<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = CowStr<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(CowStr(Cow::Borrowed(v)))
            }
            fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
                Ok(CowStr(Cow::Owned(v.to_owned())))
            }
            fn visit_string<E>(self, v: String) -> Result<Self::Value, E> {
                Ok(CowStr(Cow::Owned(v)))
            }
        }
        d.deserialize_str(V)
    }
}

/// A string field; `null` or absent reads as empty.
pub(crate) fn cow_str<'de: 'a, 'a, D: Deserializer<'de>>(d: D) -> Result<Cow<'a, str>, D::Error> {
    Ok(Option::<CowStr<'a>>::deserialize(d)?.map_or(Cow::Borrowed(""), |c| c.0))
}

/// A list of strings; `null` or absent reads as empty.
fn cow_vec<'de: 'a, 'a, D: Deserializer<'de>>(d: D) -> Result<Strings<'a>, D::Error> {
    Ok(Strings::Owned(
        Option::<Vec<CowStr<'a>>>::deserialize(d)?
            .map(|v| v.into_iter().map(|c| c.0).collect())
            .unwrap_or_default(),
    ))
}

/// How to read an input.
#[derive(Debug, Clone, Default)]
pub struct ReadOptions {
    /// Stop at the first skipped line with [`IngestError::Strict`].
    pub strict: bool,
    /// This input's index among the run's inputs (kept for the caller's bookkeeping).
    pub input_index: u16,
    /// Show a progress line on stderr when it is a terminal.
    pub progress: bool,
    /// Bytes read from the input so far (before decompression) are added here as reading
    /// goes on, for a caller that shows progress itself (the explorer while it loads).
    pub bytes_read: Option<Arc<AtomicU64>>,
    /// Read a regular, uncompressed file of JSON lines through a memory map instead of copying
    /// it with `read` ([`crate::ingest::mapped`]): less CPU time, but a file that shrinks while
    /// it is read ends the process (status 2, one line naming it), and what is appended to it
    /// meanwhile is not read (the map covers its size when opened). For the `correlate`
    /// command, not for a file being followed. Anything that cannot be mapped is read as before.
    pub mapped: bool,
}

/// What reading one input gave.
#[derive(Debug, Clone, Default)]
pub struct AuditStats {
    /// The input: path, kind (`audit`), decompressed bytes, lines read.
    pub info: InputInfo,
    /// Lines read, events delivered, and lines skipped by reason.
    pub accounting: Accounting,
}

/// Reads every audit event of one input, calling `sink` in input order with each event and its
/// 1-based line (or item) number. Skipped lines are counted in the returned accounting
/// (reason -> count + first places as `path:line`).
pub fn read_audit(
    path: &str,
    opts: &ReadOptions,
    sink: &mut dyn FnMut(&AuditEvent<'_>, u64),
) -> Result<AuditStats, IngestError> {
    read_audit_with_block_size(path, opts, DEFAULT_BLOCK_SIZE, sink)
}

/// [`read_audit`] with a chosen block size (tests use tiny blocks to cross block boundaries).
#[doc(hidden)]
pub fn read_audit_with_block_size(
    path: &str,
    opts: &ReadOptions,
    block_size: usize,
    sink: &mut dyn FnMut(&AuditEvent<'_>, u64),
) -> Result<AuditStats, IngestError> {
    read_audit_inner(path, opts, block_size, true, sink)
}

/// [`read_audit_with_block_size`] holding a document whole in memory, as stdin is
/// read, instead of reading a file twice ([`document`]): tests and the fuzz target check that
/// both read every input alike.
#[doc(hidden)]
pub fn read_audit_held_whole(
    path: &str,
    opts: &ReadOptions,
    block_size: usize,
    sink: &mut dyn FnMut(&AuditEvent<'_>, u64),
) -> Result<AuditStats, IngestError> {
    read_audit_inner(path, opts, block_size, false, sink)
}

fn read_audit_inner(
    path: &str,
    opts: &ReadOptions,
    block_size: usize,
    reread: bool,
    sink: &mut dyn FnMut(&AuditEvent<'_>, u64),
) -> Result<AuditStats, IngestError> {
    let counter = opts
        .bytes_read
        .clone()
        .unwrap_or_else(|| Arc::new(AtomicU64::new(0)));
    // A file that can be mapped is (when asked): the rest of this function does not care
    // where the blocks come from, only `spawn_mapped_reader` does.
    let mapping = if opts.mapped && path != "-" {
        map_plain_file(path)
    } else {
        None
    };
    let (input, gzip, size_on_disk) = match mapping {
        Some(map) => {
            let size = map.len() as u64;
            (Input::Mapped(map), false, Some(size))
        }
        None => {
            let opened = open_input_counted(path, Some(Arc::clone(&counter)))?;
            (Input::Read(opened.reader), opened.gzip, opened.size_on_disk)
        }
    };
    let mut progress = Progress::new(opts.progress, size_on_disk, Arc::clone(&counter));
    // A regular file can be read twice: a document is then scanned first and read after
    // (`ingest::document`), instead of being held whole. A gzip file too: decompressing it
    // twice costs less than holding the document (and faulting in its pages).
    let rereadable = reread && path != "-" && std::fs::metadata(path).is_ok_and(|m| m.is_file());
    let raw = Arc::new(AtomicBool::new(false));
    let block_size = block_size.max(1);
    let mut mapped_reader = None;
    let (rx, recycle) = match input {
        Input::Read(input) => spawn_reader(input, block_size, Arc::clone(&raw)),
        Input::Mapped(map) => {
            let (rx, recycle, thread) = spawn_mapped_reader(map, block_size, Arc::clone(&counter));
            mapped_reader = Some(thread);
            (rx, recycle)
        }
    };
    let mut reader = Reading {
        path,
        strict: opts.strict,
        accounting: Accounting::default(),
        bytes: 0,
        pending: None,
    };
    let recv = |rx: &Receiver<io::Result<Block>>| -> Result<Option<Block>, IngestError> {
        match rx.recv() {
            Ok(Ok(b)) => Ok(Some(b)),
            Ok(Err(e)) => Err(classify_read_error(path, gzip, e)),
            Err(_) => Ok(None),
        }
    };

    let result = (|| {
        let Some(first) = recv(&rx)? else {
            return Ok(());
        };
        let mut eof = first.eof;
        let mut aligned = first.aligned;
        let mut head = first.into_vec();
        let bom = head.starts_with(b"\xEF\xBB\xBF");
        if bom {
            head.drain(..3);
        }
        // Decide the shape (JSON lines or one document) on the same bytes whatever the block
        // size: grow the first block until it holds what `is_document` looks at. A first line
        // longer than that (a document on one line) is not held whole: the scan decides.
        let mut long_first_line = false;
        loop {
            if eof || (aligned && shape_decidable(&head)) {
                break;
            }
            if !aligned && rereadable && head.len() >= SNIFF_BYTES && first_line_open(&head) {
                long_first_line = true;
                break;
            }
            // A later line crossing what `is_document` looks at and longer than
            // `LONG_SNIFF_LINE` is not judged (`judged_view`): it is not held whole either (a
            // document whose list is all on its second line was read into memory whole).
            if !aligned && head.len() >= SNIFF_BYTES + LONG_SNIFF_LINE && !first_line_open(&head) {
                break;
            }
            let Some(b) = recv(&rx)? else { break };
            head.extend_from_slice(b.bytes());
            eof = b.eof;
            aligned = b.aligned;
        }
        let mut first = Block::new(head, eof);
        first.aligned = aligned;
        let shape = if long_first_line {
            // What `is_document` says of a first line longer than what it looks at: JSON lines
            // when it is a CRI or S3 export line, or when it is JSON by itself and more follows
            // (the scan watches for that), else a document.
            let line = first_line(first.bytes());
            if decode::cri::split(line).is_some()
                || decode::cloudwatch::split_export_line(line).is_some()
            {
                Shape::Lines
            } else {
                Shape::DocumentIfAlone
            }
        } else {
            is_document(&first)
        };
        let document = shape != Shape::Lines;
        if document && rereadable {
            raw.store(true, Ordering::Relaxed);
            // A regular file is scanned from here by its own reads (below): the reader thread
            // stops now, not after reading blocks ahead for nothing (a document on one line
            // comes in blocks of four times the block size).
            let rx = gzip.then_some(rx);
            // A mapped file's reader stops at its next block (the channel is gone): waited
            // for, so that it counts no bytes in `counter` once the scan below counts its own.
            if let Some(thread) = mapped_reader.take() {
                let _ = thread.join();
            }
            let mut scanner = document::Scanner::new();
            if shape == Shape::DocumentIfAlone {
                scanner = scanner.watching_first_line();
            }
            let mut going = scanner.feed(first.bytes());
            let mut eof = first.eof;
            let taken = first.bytes().len() as u64 + if bom { 3 } else { 0 };
            drop(first);
            if !gzip && going && !eof {
                // A regular file: the rest is read here, in reads small enough to be scanned
                // while still in the cache (`document::SCAN_READ`).
                let read_error = |e| classify_read_error(path, gzip, e);
                let file = std::fs::File::open(path).map_err(read_error)?;
                counter.store(taken, Ordering::Relaxed);
                let chunk = block_size.min(document::SCAN_READ);
                going = document::scan_file(&mut scanner, &file, taken, chunk, &counter, || {
                    progress.tick(0)
                })
                .map_err(read_error)?;
            } else if let Some(rx) = rx {
                while going && !eof {
                    let Some(b) = recv(&rx)? else { break };
                    going = scanner.feed(b.bytes());
                    eof = b.eof;
                    progress.tick(0);
                    let _ = recycle.try_send(b.into_buffer());
                }
            }
            let scanned = if going {
                scanner.finish()
            } else {
                document::Scanned::Lines
            };
            // The second pass is the one shown.
            counter.store(0, Ordering::Relaxed);
            return match scanned {
                document::Scanned::Document { pieces, len } if !gzip => {
                    reader.bytes = len;
                    let file = std::fs::File::open(path)
                        .map_err(|e| classify_read_error(path, gzip, e))?;
                    read_pieces_at(
                        &mut reader,
                        file,
                        pieces,
                        bom,
                        block_size,
                        &mut progress,
                        &counter,
                        sink,
                    )
                }
                document::Scanned::Document { pieces, len } => {
                    reader.bytes = len;
                    let again = open_input_counted(path, Some(Arc::clone(&counter)))?;
                    read_pieces(
                        &mut reader,
                        again.reader,
                        pieces,
                        bom,
                        len,
                        block_size,
                        &mut progress,
                        gzip,
                        sink,
                    )
                }
                // Not one JSON document after all: line by line from the start, as the
                // whole-document reading falls back to.
                document::Scanned::Lines => {
                    let again = open_input_counted(path, Some(Arc::clone(&counter)))?;
                    let raw = Arc::new(AtomicBool::new(false));
                    let (rx, recycle) = spawn_reader(again.reader, block_size, raw);
                    let Some(first) = recv(&rx)? else {
                        return Ok(());
                    };
                    let (eof, aligned) = (first.eof, first.aligned);
                    let mut head = first.into_vec();
                    if bom {
                        head.drain(..3.min(head.len()));
                    }
                    let mut first = Block::new(head, eof);
                    first.aligned = aligned;
                    read_lines(&mut reader, first, rx, &recycle, &mut progress, gzip, sink)
                }
            };
        }
        if document {
            let mut all = first.into_vec();
            // Room for the whole file at once: growing by doubling copies it over and over
            // and holds two copies at the peak.
            if !gzip && let Some(size) = size_on_disk {
                all.reserve(usize::try_from(size).unwrap_or(0).saturating_sub(all.len()));
            }
            while let Some(b) = recv(&rx)? {
                all.extend_from_slice(b.bytes());
                progress.tick(reader.accounting.events);
            }
            reader.bytes = all.len() as u64;
            if shape == Shape::DocumentIfAlone && more_after_first_line(&all) {
                return reader.lines_of(&all, sink);
            }
            return reader.document(&all, sink);
        }
        read_lines(&mut reader, first, rx, &recycle, &mut progress, gzip, sink)
    })();
    progress.finish();
    result?;
    let accounting = reader.accounting;
    if accounting.events == 0 {
        return Err(IngestError::NoEvents {
            path: path.to_string(),
            why: why_no_events(&accounting),
        });
    }
    Ok(AuditStats {
        info: InputInfo {
            path: path.to_string(),
            kind: "audit".to_string(),
            bytes: reader.bytes,
            lines: accounting.lines,
        },
        accounting,
    })
}

/// Where an input's blocks come from.
enum Input {
    /// Read (and decompressed) into buffers.
    Read(Box<dyn io::BufRead + Send>),
    /// Windows of a map of the file.
    Mapped(Arc<Mapping>),
}

/// A map of `path` when it is a regular file that is not gzip (and can be mapped); `None`
/// otherwise, and then it is read (which also reports any error opening it).
fn map_plain_file(path: &str) -> Option<Arc<Mapping>> {
    let file = std::fs::File::open(path).ok()?;
    let map = Mapping::open(&file, path)?;
    // Only the first two bytes are looked at (one page faulted in) to tell gzip.
    (!map.bytes().starts_with(&GZIP_MAGIC)).then_some(map)
}

/// Reads JSON lines (from the first block on) and hands their events to the sink.
fn read_lines(
    reader: &mut Reading<'_>,
    first: Block,
    rx: Receiver<io::Result<Block>>,
    recycle: &SyncSender<Vec<u8>>,
    progress: &mut Progress,
    gzip: bool,
    sink: &mut dyn FnMut(&AuditEvent<'_>, u64),
) -> Result<(), IngestError> {
    let parsed = spawn_parser(first, rx);
    for block in parsed {
        let mut block = block.map_err(|e| classify_read_error(reader.path, gzip, e))?;
        reader.bytes += block.borrow_owner().bytes().len() as u64;
        block.with_dependent_mut(|_, parsed| reader.deliver_lines(parsed, sink))?;
        progress.tick(reader.accounting.events);
        // The reader may have enough buffers already; then this one is simply freed.
        let _ = recycle.try_send(block.into_owner().into_buffer());
    }
    reader.flush_parts(sink)
}

/// The second pass over a document ([`document`]): reads `pieces` from the input read again
/// and hands their items to the sink, numbered 1, 2, … in document order.
#[allow(clippy::too_many_arguments)]
fn read_pieces(
    reader: &mut Reading<'_>,
    input: Box<dyn io::BufRead + Send>,
    pieces: Vec<document::Piece>,
    bom: bool,
    len: u64,
    block_size: usize,
    progress: &mut Progress,
    gzip: bool,
    sink: &mut dyn FnMut(&AuditEvent<'_>, u64),
) -> Result<(), IngestError> {
    let plan = Arc::new(pieces);
    let skip = if bom { 3 } else { 0 };
    let (blocks, recycle) =
        document::spawn_piece_reader(input, Arc::clone(&plan), skip, len, block_size);
    let parsed = document::spawn_piece_parser(plan, blocks);
    let mut number = 0u64;
    for block in parsed {
        let block = block.map_err(|e| classify_read_error(reader.path, gzip, e))?;
        reader.deliver_pieces(&block.borrow_dependent().chunks, &mut number, sink)?;
        progress.tick(reader.accounting.events);
        let _ = recycle.try_send(block.into_owner().into_buffer());
    }
    Ok(())
}

/// [`read_pieces`] of a regular file, by positioned reads ([`document::spawn_piece_reads`]).
#[allow(clippy::too_many_arguments)]
fn read_pieces_at(
    reader: &mut Reading<'_>,
    file: std::fs::File,
    pieces: Vec<document::Piece>,
    bom: bool,
    block_size: usize,
    progress: &mut Progress,
    counter: &Arc<AtomicU64>,
    sink: &mut dyn FnMut(&AuditEvent<'_>, u64),
) -> Result<(), IngestError> {
    let skip = if bom { 3 } else { 0 };
    let batches = document::spawn_piece_reads(
        file,
        Arc::new(pieces),
        skip,
        block_size,
        Arc::clone(counter),
    );
    let mut number = 0u64;
    for batch in batches {
        let batch = batch.map_err(|e| classify_read_error(reader.path, false, e))?;
        reader.deliver_pieces(&batch.borrow_dependent().chunks, &mut number, sink)?;
        progress.tick(reader.accounting.events);
        batch.into_owner().recycle();
    }
    Ok(())
}

/// The first non-blank line of `data` (to its end, or to the end of `data`). Its end is
/// found by `memchr`: a document on one line is megabytes long here, and looking for its end a
/// byte at a time cost 4% of reading it.
fn first_line(data: &[u8]) -> &[u8] {
    let mut rest = data;
    loop {
        let (line, next) = match memchr::memchr(b'\n', rest) {
            Some(p) => (rest.get(..p).unwrap_or(&[]), rest.get(p + 1..)),
            None => (rest, None),
        };
        if !is_blank(line) {
            return line;
        }
        match next {
            Some(next) => rest = next,
            None => return &[],
        }
    }
}

/// True when the first non-blank line of `data` does not end in it.
fn first_line_open(data: &[u8]) -> bool {
    let Some(start) = data
        .iter()
        .position(|&b| !matches!(b, b' ' | b'\t' | b'\r' | b'\n'))
    else {
        return false;
    };
    memchr::memchr(b'\n', data.get(start..).unwrap_or(&[])).is_none()
}

/// Reads a JSON-lines audit log piece by piece as it grows (`--follow`): each piece is handed
/// over as whole lines, and the lines are numbered and accounted for as [`read_audit`] does
/// (CRI `P` parts wait for their `F` line across pieces). Whole-document shapes (one
/// pretty-printed event, a batch) cannot be followed: their lines are read as JSON lines.
#[derive(Debug)]
pub struct LineFeeder {
    path: String,
    accounting: Accounting,
    pending: Option<(u64, Vec<u8>)>,
    next_line: u64,
    bytes: u64,
}

impl LineFeeder {
    /// A feeder for the log at `path` (named in skip places), from its first line.
    pub fn new(path: &str) -> LineFeeder {
        LineFeeder {
            path: path.to_string(),
            accounting: Accounting::default(),
            pending: None,
            next_line: 1,
            bytes: 0,
        }
    }

    /// Reads `data`: whole lines (the last one may lack its newline only when it is the last
    /// line of the input). Each event goes to `sink` with its line number.
    pub fn feed(&mut self, data: &[u8], sink: &mut dyn FnMut(&AuditEvent<'_>, u64)) {
        let mut body = data;
        if self.bytes == 0 && self.next_line == 1 && body.starts_with(b"\xEF\xBB\xBF") {
            body = &body[3..];
        }
        self.bytes += body.len() as u64;
        let arena = Arena::new();
        let mut parsed = parse_lines(body, &arena, self.next_line);
        self.next_line = parsed.next_line;
        let mut reading = Reading {
            path: &self.path,
            strict: false,
            accounting: std::mem::take(&mut self.accounting),
            bytes: 0,
            pending: self.pending.take(),
        };
        // Not strict: delivering cannot fail.
        let _ = reading.deliver_lines(&mut parsed, sink);
        self.accounting = reading.accounting;
        self.pending = reading.pending;
    }

    /// Ends the input: CRI parts still waiting for their `F` line are counted as skipped.
    pub fn finish(&mut self, sink: &mut dyn FnMut(&AuditEvent<'_>, u64)) {
        let mut reading = Reading {
            path: &self.path,
            strict: false,
            accounting: std::mem::take(&mut self.accounting),
            bytes: 0,
            pending: self.pending.take(),
        };
        let _ = reading.flush_parts(sink);
        self.accounting = reading.accounting;
    }

    /// Lines read, events delivered and lines skipped so far.
    pub fn accounting(&self) -> &Accounting {
        &self.accounting
    }

    /// The input as a run records it: path, kind, bytes and lines so far.
    pub fn info(&self) -> InputInfo {
        InputInfo {
            path: self.path.clone(),
            kind: "audit".to_string(),
            bytes: self.bytes,
            lines: self.accounting.lines,
        }
    }
}

/// What the lines of an input without events were, e.g. ` (2 lines: 2 invalid JSON, first
/// at f:1)`, so the user sees at once why nothing was read.
fn why_no_events(accounting: &Accounting) -> String {
    if accounting.lines == 0 {
        return String::new();
    }
    let reasons: Vec<String> = accounting
        .skipped
        .iter()
        .map(|(reason, info)| match info.first.first() {
            Some(place) => format!("{} {reason}, first at {place}", info.count),
            None => format!("{} {reason}", info.count),
        })
        .collect();
    let lines = accounting.lines;
    let noun = if lines == 1 { "line" } else { "lines" };
    format!(" ({lines} {noun}: {})", reasons.join("; "))
}

/// A piece of the input ending at a line boundary (or at the end of the input).
struct Block {
    /// The buffer: the piece is its first `len` bytes. The rest is initialized too, so a
    /// recycled buffer is read into without being zeroed again.
    buffer: Vec<u8>,
    len: usize,
    /// True when this is the last block.
    eof: bool,
    /// True when the block ends at a line boundary (or at the end of the input); false when a
    /// line longer than the reader's limit was cut, or the reader cuts without looking at lines
    /// (a document being scanned).
    aligned: bool,
    /// Where the events its lines carry as strings are unescaped to (see [`Arena`]).
    arena: Arena,
    /// When set, the piece is this part of a mapped file, not in `buffer` (which is empty).
    window: Option<Window>,
}

impl Block {
    /// A block holding all of `data`.
    fn new(data: Vec<u8>, eof: bool) -> Block {
        Block {
            len: data.len(),
            buffer: data,
            eof,
            aligned: true,
            arena: Arena::new(),
            window: None,
        }
    }

    /// A block holding the first `len` bytes of `buffer`.
    fn new_part(buffer: Vec<u8>, len: usize, eof: bool, aligned: bool) -> Block {
        Block {
            buffer,
            len,
            eof,
            aligned,
            arena: Arena::new(),
            window: None,
        }
    }

    /// A block that is `window` of a mapped file.
    fn mapped(window: Window, eof: bool, aligned: bool) -> Block {
        Block {
            buffer: Vec::new(),
            len: 0,
            eof,
            aligned,
            arena: Arena::new(),
            window: Some(window),
        }
    }

    /// The bytes of the piece.
    fn bytes(&self) -> &[u8] {
        match &self.window {
            Some(window) => window.bytes(),
            None => self.buffer.get(..self.len).unwrap_or(&self.buffer),
        }
    }

    /// The bytes of the piece, as a vector of exactly them (copied from a mapped file).
    fn into_vec(mut self) -> Vec<u8> {
        if let Some(window) = self.window.take() {
            return window.bytes().to_vec();
        }
        self.buffer.truncate(self.len);
        self.buffer
    }

    /// The whole buffer, to be filled again (none for a mapped block: its pages are given
    /// back as it goes).
    fn into_buffer(self) -> Vec<u8> {
        self.buffer
    }

    /// This block followed by `next`: one window of a mapped file when both are windows of
    /// it, one after the other (a long line then costs no copy).
    fn joined(mut self, next: &Block) -> Block {
        if let Some(after) = next.window.as_ref()
            && let Some(window) = self.window.take()
        {
            match window.joined(after) {
                Ok(window) => return Block::mapped(window, next.eof, next.aligned),
                Err(window) => self.window = Some(window),
            }
        }
        let mut data = self.into_vec();
        data.extend_from_slice(next.bytes());
        let mut block = Block::new(data, next.eof);
        block.aligned = next.aligned;
        block
    }
}

/// How many blocks long a line may grow before the reader sends it in parts.
const LONG_LINE_BLOCKS: usize = 4;

/// Reads into `buf` until it is full or the input ends; returns how many bytes were read.
pub(crate) fn read_full(reader: &mut dyn io::Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match reader.read(buf.get_mut(filled..).unwrap_or(&mut [])) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

/// Starts the thread that reads (and decompresses) blocks ahead of the parser.
/// Blocks the parser is done with come back through the second channel to be filled again.
/// Blocks end at line boundaries, but for a line longer than [`LONG_LINE_BLOCKS`] blocks
/// (sent in parts, `aligned` false) and once `raw` is set (a document is being scanned: lines
/// do not matter, and a document on one line must not be held whole).
fn spawn_reader(
    mut reader: Box<dyn io::BufRead + Send>,
    block: usize,
    raw: Arc<AtomicBool>,
) -> (Receiver<io::Result<Block>>, SyncSender<Vec<u8>>) {
    let cap = block.saturating_mul(LONG_LINE_BLOCKS);
    // One block queued while one is filled: the parser never waits for the disk, and the
    // buffers in flight stay small next to the run being built.
    let (tx, rx) = sync_channel::<io::Result<Block>>(1);
    // Room for every buffer in flight (one being filled, one queued, one being parsed, one
    // parsed and queued, one at the sink): a buffer that finds no room is freed, and its
    // replacement is fresh memory the kernel must zero and the reader must fill again.
    let (free_tx, free_rx) = sync_channel::<Vec<u8>>(5);
    std::thread::spawn(move || {
        let mut carry: Vec<u8> = Vec::new();
        loop {
            let mut buffer = free_rx.try_recv().unwrap_or_default();
            let carried = carry.len();
            // Room for the usual carry and a little more: growing a buffer reallocates it.
            if buffer.len() < block + carried {
                buffer.resize(block + carried + block / 4, 0);
            }
            buffer[..carried].copy_from_slice(&carry);
            let mut len = carried;
            let mut searched = carried;
            let mut eof;
            // Read until a line ends in the new part, growing past `block` for long lines.
            let cut = loop {
                let want = block.saturating_sub(len).max(block / 2).max(1);
                if buffer.len() < len + want {
                    buffer.resize(len + want + block / 4, 0);
                }
                match read_full(&mut reader, &mut buffer[len..len + want]) {
                    Ok(n) => {
                        len += n;
                        eof = n < want;
                    }
                    Err(e) => {
                        let _ = tx.send(Err(e));
                        return;
                    }
                }
                if raw.load(Ordering::Relaxed) {
                    break None;
                }
                if let Some(pos) = memchr::memrchr(b'\n', buffer.get(searched..len).unwrap_or(&[]))
                {
                    break Some(searched + pos + 1);
                }
                searched = len;
                if eof || len >= cap {
                    break None;
                }
            };
            let aligned = eof || cut.is_some();
            carry.clear();
            if let Some(cut) = cut
                && !eof
            {
                carry.extend_from_slice(buffer.get(cut..len).unwrap_or(&[]));
                len = cut;
            }
            let empty = len == 0;
            if (!empty || eof)
                && tx
                    .send(Ok(Block::new_part(buffer, len, eof, aligned)))
                    .is_err()
            {
                return;
            }
            if eof {
                return;
            }
        }
    });
    (rx, free_tx)
}

/// [`spawn_reader`] for a mapped file: the blocks are windows of `map`, cut as that cuts them
/// (about `block` bytes ending at a line end; a line longer than [`LONG_LINE_BLOCKS`] blocks
/// sent in parts, `aligned` false). Each window's pages are mapped here before it is sent,
/// and given back when its block is dropped. The bytes sent are added to `counter` (what a
/// read would have read). The second channel takes buffers back as [`spawn_reader`]'s does:
/// here nobody wants them, and they are freed. The thread ends after the last block or when
/// the receiver is gone; [`spawn_reader`]'s `raw` mode is not needed (a mapped file is never
/// gzip: a document in it is scanned by its own reads, and its reader is dropped).
fn spawn_mapped_reader(
    map: Arc<Mapping>,
    block: usize,
    counter: Arc<AtomicU64>,
) -> (
    Receiver<io::Result<Block>>,
    SyncSender<Vec<u8>>,
    std::thread::JoinHandle<()>,
) {
    let cap = block.saturating_mul(LONG_LINE_BLOCKS);
    let (tx, rx) = sync_channel::<io::Result<Block>>(1);
    let (free_tx, _) = sync_channel::<Vec<u8>>(0);
    let thread = std::thread::spawn(move || {
        let size = map.len();
        let mut start = 0usize;
        while start < size {
            let first = start.saturating_add(block).min(size);
            map.populate(start, first);
            let data = map.bytes();
            let (end, aligned) = if first == size {
                (size, true)
            } else if let Some(pos) = memchr::memrchr(b'\n', data.get(start..first).unwrap_or(&[]))
            {
                (start + pos + 1, true)
            } else {
                // A line longer than the block: its end, up to `cap` bytes from the start.
                let limit = start.saturating_add(cap).min(size);
                map.populate(first, limit);
                match memchr::memchr(b'\n', data.get(first..limit).unwrap_or(&[])) {
                    Some(pos) => (first + pos + 1, true),
                    None => (limit, limit == size),
                }
            };
            let eof = end == size;
            counter.fetch_add((end - start) as u64, Ordering::Relaxed);
            let window = Window::new(Arc::clone(&map), start, end);
            if tx.send(Ok(Block::mapped(window, eof, aligned))).is_err() {
                return;
            }
            start = end;
        }
    });
    (rx, free_tx, thread)
}

/// The parsed lines of a block: each outcome with its line number.
struct ParsedLines<'a> {
    /// In pieces of [`PIECE_LINES`] lines: allocations of this size are recycled by the
    /// allocator, where one allocation per block would go back to the OS and be faulted in
    /// again (that zeroing of fresh pages cost 5% of the CPU time). A line's number is its
    /// number in the piece's part of the block, plus the piece's entry in `firsts`.
    pieces: Vec<Vec<(LineOutcome<'a>, u64)>>,
    /// What each piece's line numbers count from. Numbering the lines afresh once the
    /// parts were parsed read every event again (a cache miss each) on the one thread.
    firsts: Vec<u64>,
    /// The number of the line after the block.
    next_line: u64,
}

self_cell::self_cell!(
    /// A block and the events parsed from it, which borrow from it: they travel together from
    /// the parser thread to the sink.
    struct ParsedBlock {
        owner: Block,
        #[covariant]
        dependent: ParsedLines,
    }
);

/// Starts the thread that has each block's lines parsed (in parallel, on the rayon pool) while
/// the calling thread hands the previous block's events to the sink.
fn spawn_parser(
    first: Block,
    blocks: Receiver<io::Result<Block>>,
) -> Receiver<io::Result<ParsedBlock>> {
    // One parsed block queued while the sink works on another: the parser runs ahead without
    // piling up blocks in memory when the sink is the slower stage.
    let (tx, rx) = sync_channel::<io::Result<ParsedBlock>>(1);
    std::thread::spawn(move || {
        let mut next_line = 1u64;
        let mut block = first;
        loop {
            // A line longer than the reader's limit comes in parts: joined here.
            while !block.aligned && !block.eof {
                match blocks.recv() {
                    Ok(Ok(next)) => block = block.joined(&next),
                    Ok(Err(e)) => {
                        let _ = tx.send(Err(e));
                        return;
                    }
                    Err(_) => break,
                }
            }
            let eof = block.eof;
            let parsed = ParsedBlock::new(block, |b| parse_lines(b.bytes(), &b.arena, next_line));
            next_line = parsed.borrow_dependent().next_line;
            if tx.send(Ok(parsed)).is_err() || eof {
                return;
            }
            block = match blocks.recv() {
                Ok(Ok(b)) => b,
                Ok(Err(e)) => {
                    let _ = tx.send(Err(e));
                    return;
                }
                Err(_) => return,
            };
        }
    });
    rx
}

/// Parsed lines with their numbers, in pieces of at most [`PIECE_LINES`].
type Pieces<'a> = Vec<Vec<(LineOutcome<'a>, u64)>>;

/// Parses the lines of `data` (whose first line is number `line_no`) in parallel, in order;
/// events carried as strings are unescaped into `arena`.
///
/// `data` is cut into [`PARSE_TASKS`] parts at line ends, and each task finds its own part's
/// lines: finding them all first, on the one thread that waits for the tasks, held the other
/// threads back for a scan of the whole block.
fn parse_lines<'a>(data: &'a [u8], arena: &'a Arena, line_no: u64) -> ParsedLines<'a> {
    let parts = line_parts(data, PARSE_TASKS);
    let mut parsed: Vec<(Pieces<'a>, u64)> = parts
        .par_iter()
        .with_max_len(1)
        .map(|part| parse_part(part, arena))
        .collect();
    // Each part numbered its lines from 0: its pieces count from the line it starts at.
    let count = parsed.iter().map(|(p, _)| p.len()).sum();
    let mut pieces = Vec::with_capacity(count);
    let mut firsts = Vec::with_capacity(count);
    let mut next_line = line_no;
    for (part_pieces, lines) in &mut parsed {
        firsts.extend(std::iter::repeat_n(next_line, part_pieces.len()));
        next_line += *lines;
        pieces.append(part_pieces);
    }
    ParsedLines {
        pieces,
        firsts,
        next_line,
    }
}

/// `data` cut into about `parts` pieces of about equal length, each ending at a line end (or at
/// the end of `data`); no piece is empty.
fn line_parts(data: &[u8], parts: usize) -> Vec<&[u8]> {
    let step = data.len().div_ceil(parts.max(1)).max(1);
    let mut out = Vec::with_capacity(parts);
    let mut rest = data;
    while !rest.is_empty() {
        let cut = match rest
            .get(step..)
            .and_then(|tail| memchr::memchr(b'\n', tail))
        {
            Some(at) => step + at + 1,
            None => rest.len(),
        };
        let (part, after) = rest.split_at(cut);
        out.push(part);
        rest = after;
    }
    out
}

/// Parses the lines of `part` (which ends at a line end, or at the end of the input), numbered
/// from 0, in pieces of [`PIECE_LINES`] lines; gives them and how many lines `part` has.
fn parse_part<'a>(part: &'a [u8], arena: &'a Arena) -> (Pieces<'a>, u64) {
    let mut sc = arena.scratch();
    let mut pieces = Vec::with_capacity(part.len() / (PIECE_LINES * 1024) + 1);
    let mut out = Vec::with_capacity(PIECE_LINES);
    let mut line_no = 0u64;
    let mut start = 0;
    for end in memchr::memchr_iter(b'\n', part).chain(
        // The last line of the input may have no newline.
        (part.last() != Some(&b'\n') && !part.is_empty()).then_some(part.len()),
    ) {
        let line = part.get(start..end).unwrap_or(&[]);
        if !is_blank(line) {
            if out.len() == PIECE_LINES {
                pieces.push(std::mem::replace(&mut out, Vec::with_capacity(PIECE_LINES)));
            }
            parse_line_into(line, line_no, &mut sc, &mut out);
        }
        line_no += 1;
        start = end + 1;
    }
    if !out.is_empty() {
        pieces.push(out);
    }
    (pieces, line_no)
}

/// Decides whether the input is one JSON document (or a few) rather than JSON lines.
fn is_document(first: &Block) -> Shape {
    let mut lines = judged_view(sniff_view(first.bytes()))
        .split(|&b| b == b'\n')
        .filter(|l| !is_blank(l));
    let Some(head) = lines.next() else {
        return Shape::Lines;
    };
    if is_json(head) {
        // A single line that is the whole input: number its items, not its line. Whether
        // nothing follows it is known for sure only at the end of the input (it used to be
        // decided on what the first block held, which depended on the block size).
        return match lines.next() {
            Some(_) => Shape::Lines,
            None if first.eof && !more_after_first_line(first.bytes()) => Shape::Document,
            None if first.eof => Shape::Lines,
            None => Shape::DocumentIfAlone,
        };
    }
    if decode::cri::split(head).is_some() || decode::cloudwatch::split_export_line(head).is_some() {
        // CRI log lines and CloudWatch S3 export lines: a timestamp before each event.
        return Shape::Lines;
    }
    // A broken first line in a JSON-lines log: the following lines stand alone.
    if lines
        .filter(|l| first_byte(l) == Some(b'{'))
        .take(SNIFF_LINES)
        .any(is_json)
    {
        Shape::Lines
    } else {
        Shape::Document
    }
}

/// What an input is, as far as its start tells.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shape {
    /// JSON lines (or CRI, S3 export lines).
    Lines,
    /// One JSON document, or several values (JSON lines when it is not JSON after all).
    Document,
    /// A first line that is one JSON value by itself: a document when nothing but blanks
    /// follows it, JSON lines otherwise.
    DocumentIfAlone,
}

/// True when `data` holds anything but blanks after its first non-blank line.
fn more_after_first_line(data: &[u8]) -> bool {
    let Some(start) = data.iter().position(|b| !decode::is_json_ws(*b)) else {
        return false;
    };
    let Some(end) = memchr::memchr(b'\n', data.get(start..).unwrap_or(&[])) else {
        return false;
    };
    data.get(start + end..)
        .is_some_and(|rest| rest.iter().any(|b| !decode::is_json_ws(*b)))
}

/// How many `{` lines after the first [`is_document`] tries.
const SNIFF_LINES: usize = 20;
/// [`is_document`] looks no further than the line that crosses this many bytes.
const SNIFF_BYTES: usize = 1 << 20;

/// The start of `data` that [`is_document`] looks at: up to the end of the line that crosses
/// [`SNIFF_BYTES`], so it is the same bytes whatever the block size.
fn sniff_view(data: &[u8]) -> &[u8] {
    let from = SNIFF_BYTES.saturating_sub(1).min(data.len());
    match memchr::memchr(b'\n', &data[from..]) {
        Some(i) => &data[..from + i + 1],
        None => data,
    }
}

/// A line after the first that crosses [`SNIFF_BYTES`] and is longer than this is left out of
/// what [`is_document`] judges ([`judged_view`]), so the first block need not hold it whole:
/// no audit event comes near it (the API server takes request bodies of up to 3 MB), while a
/// document's list written on one line after `{"events":[` runs to the end of the file.
const LONG_SNIFF_LINE: usize = 8 << 20;

/// `view` (a [`sniff_view`]) without its last line when that line crosses [`SNIFF_BYTES`], is
/// longer than [`LONG_SNIFF_LINE`] (or runs on past it, unfinished) and is not the first
/// non-blank line: such a line counts as not one JSON value. Whether it is that long is known
/// from the first `SNIFF_BYTES + LONG_SNIFF_LINE` bytes, so the answer is the same whatever
/// the block size.
fn judged_view(view: &[u8]) -> &[u8] {
    if view.len() < SNIFF_BYTES {
        return view;
    }
    let before = view.get(..SNIFF_BYTES - 1).unwrap_or(view);
    let start = memchr::memrchr(b'\n', before).map_or(0, |p| p + 1);
    let head = view.get(..start).unwrap_or(&[]);
    let has_head = head.iter().any(|&b| !decode::is_json_ws(b));
    if has_head && view.len() - start > LONG_SNIFF_LINE {
        head
    } else {
        view
    }
}

/// True when a (line-aligned, not final) first block holds everything [`is_document`] needs:
/// two non-blank lines (so the first is not the whole input), and either [`SNIFF_BYTES`] or
/// [`SNIFF_LINES`] `{` lines after the first.
fn shape_decidable(data: &[u8]) -> bool {
    if non_blank_lines(data) < 2 {
        return false;
    }
    if data.len() >= SNIFF_BYTES {
        return true;
    }
    data.split(|&b| b == b'\n')
        .filter(|l| !is_blank(l))
        .skip(1)
        .filter(|l| first_byte(l) == Some(b'{'))
        .take(SNIFF_LINES)
        .count()
        >= SNIFF_LINES
}

/// How many non-blank lines `data` holds, counting at most two.
fn non_blank_lines(data: &[u8]) -> usize {
    data.split(|&b| b == b'\n')
        .filter(|l| !is_blank(l))
        .take(2)
        .count()
}

fn is_json(line: &[u8]) -> bool {
    serde_json::from_slice::<serde::de::IgnoredAny>(line).is_ok()
        || (std::str::from_utf8(line).is_err()
            && serde_json::from_str::<serde::de::IgnoredAny>(&String::from_utf8_lossy(line))
                .is_ok())
}

fn is_blank(line: &[u8]) -> bool {
    line.iter().all(|b| matches!(b, b' ' | b'\t' | b'\r'))
}

/// The state of one read: accounting and where to report.
struct Reading<'p> {
    path: &'p str,
    strict: bool,
    accounting: Accounting,
    bytes: u64,
    /// CRI `P` parts waiting for their `F` line: the first part's line number, the content.
    pending: Option<(u64, Vec<u8>)>,
}

impl Reading<'_> {
    /// Accounts for one item and hands it to the sink.
    /// [`Reading::deliver`] of a document's pieces' items in order, numbered on from `number`
    /// (the item's place in the document stands for its line).
    fn deliver_pieces(
        &mut self,
        chunks: &[Vec<Item<'_>>],
        number: &mut u64,
        sink: &mut dyn FnMut(&AuditEvent<'_>, u64),
    ) -> Result<(), IngestError> {
        for item in chunks.iter().flatten() {
            *number += 1;
            self.deliver(item, *number, sink)?;
        }
        Ok(())
    }

    fn deliver(
        &mut self,
        item: &Item<'_>,
        line: u64,
        sink: &mut dyn FnMut(&AuditEvent<'_>, u64),
    ) -> Result<(), IngestError> {
        self.accounting.lines += 1;
        match item {
            Ok(ev) => {
                self.accounting.events += 1;
                sink(ev, line);
            }
            Err(reason) => {
                if self.strict {
                    return Err(IngestError::Strict {
                        path: self.path.to_string(),
                        line,
                        reason: (*reason).to_string(),
                    });
                }
                let path = self.path;
                self.accounting.skip(reason, || format!("{path}:{line}"));
            }
        }
        Ok(())
    }

    /// Hands parsed lines to the sink, in order, joining CRI `P` parts with their `F` line.
    /// Each line's outcome is dropped as soon as it is handed over, while it is still in this
    /// core's cache: dropping a block's events all at the end read half a megabyte again, as
    /// much as the L2 holds, from farther away.
    fn deliver_lines(
        &mut self,
        parsed: &mut ParsedLines<'_>,
        sink: &mut dyn FnMut(&AuditEvent<'_>, u64),
    ) -> Result<(), IngestError> {
        for (piece, &first) in parsed.pieces.iter_mut().zip(&parsed.firsts) {
            for (outcome, n) in piece.iter_mut() {
                self.deliver_outcome(outcome, first + *n, sink)?;
                // Nothing to drop in its place.
                *outcome = LineOutcome::Part(&[]);
            }
        }
        Ok(())
    }

    /// [`Reading::deliver_lines`] of one line's outcome.
    fn deliver_outcome(
        &mut self,
        outcome: &LineOutcome<'_>,
        n: u64,
        sink: &mut dyn FnMut(&AuditEvent<'_>, u64),
    ) -> Result<(), IngestError> {
        match outcome {
            LineOutcome::Part(content) => {
                let pending = self.pending.get_or_insert_with(|| (n, Vec::new()));
                pending.1.extend_from_slice(content);
                return Ok(());
            }
            LineOutcome::Last(content, items) => {
                if let Some((first, mut joined)) = self.pending.take() {
                    joined.extend_from_slice(content);
                    let arena = Arena::new();
                    for item in decode::parse_content(&joined, &mut arena.scratch()) {
                        self.deliver(&item, first, sink)?;
                    }
                } else {
                    for item in items {
                        self.deliver(item, n, sink)?;
                    }
                }
                return Ok(());
            }
            _ => {}
        }
        self.flush_parts(sink)?;
        match outcome {
            LineOutcome::One(item) => self.deliver(item, n, sink)?,
            LineOutcome::Many(items) => {
                for item in items {
                    self.deliver(item, n, sink)?;
                }
            }
            LineOutcome::Part(_) | LineOutcome::Last(..) => {}
        }
        Ok(())
    }

    /// Accounts for CRI parts that no `F` line finished (at a line of another shape, or at
    /// the end of the input) as one skipped line.
    fn flush_parts(
        &mut self,
        sink: &mut dyn FnMut(&AuditEvent<'_>, u64),
    ) -> Result<(), IngestError> {
        if let Some((first, _)) = self.pending.take() {
            self.deliver(&Err(reasons::UNFINISHED_PARTS), first, sink)?;
        }
        Ok(())
    }

    /// Reads `data`, the whole input, line by line.
    fn lines_of(
        &mut self,
        data: &[u8],
        sink: &mut dyn FnMut(&AuditEvent<'_>, u64),
    ) -> Result<(), IngestError> {
        let arena = Arena::new();
        let mut parsed = parse_lines(data, &arena, 1);
        self.deliver_lines(&mut parsed, sink)?;
        self.flush_parts(sink)
    }

    /// Reads a whole document (or several, one after the other); items are numbered in order.
    fn document(
        &mut self,
        data: &[u8],
        sink: &mut dyn FnMut(&AuditEvent<'_>, u64),
    ) -> Result<(), IngestError> {
        let original = data;
        let fixed;
        let data: &[u8] = match std::str::from_utf8(data) {
            Ok(_) => data,
            Err(_) => {
                fixed = String::from_utf8_lossy(data).into_owned();
                fixed.as_bytes()
            }
        };
        let values: Result<Vec<&RawValue>, _> = serde_json::Deserializer::from_slice(data)
            .into_iter::<&RawValue>()
            .collect();
        let Ok(values) = values else {
            // Not one JSON document after all: read it line by line, from the bytes as they
            // were (as the JSON-lines path would have), not the UTF-8-repaired copy.
            return self.lines_of(original, sink);
        };
        let arena = Arena::new();
        let items: Vec<Item<'_>> = match values.as_slice() {
            // One document (the usual case): its items as read, not collected again.
            [one] => {
                let mut out = Vec::new();
                decode::expand_read(one, &mut out, &mut arena.scratch());
                out
            }
            _ => values
                .par_iter()
                .flat_map_iter(|v| {
                    let mut out = Vec::new();
                    decode::expand_read(v, &mut out, &mut arena.scratch());
                    out
                })
                .collect(),
        };
        for (i, item) in items.iter().enumerate() {
            self.deliver(item, i as u64 + 1, sink)?;
        }
        Ok(())
    }
}

/// The progress line on stderr.
struct Progress {
    enabled: bool,
    total: Option<u64>,
    read: Arc<AtomicU64>,
    start: Instant,
    last: Instant,
    shown: bool,
}

impl Progress {
    fn new(wanted: bool, total: Option<u64>, read: Arc<AtomicU64>) -> Progress {
        let now = Instant::now();
        Progress {
            enabled: wanted && io::stderr().is_terminal(),
            total,
            read,
            start: now,
            last: now,
            shown: false,
        }
    }

    /// Redraws the line, at most five times a second.
    fn tick(&mut self, events: u64) {
        if !self.enabled || self.last.elapsed() < Duration::from_millis(200) {
            return;
        }
        self.last = Instant::now();
        let secs = self.start.elapsed().as_secs_f64().max(1e-3);
        let read = self.read.load(Ordering::Relaxed);
        let mb = |b: u64| b as f64 / 1_048_576.0;
        let mut text = format!("reading audit: {:.0} MB", mb(read));
        if let Some(total) = self.total.filter(|&t| t > 0) {
            text.push_str(&format!(" of {:.0} MB", mb(total)));
            let rate = read as f64 / secs;
            if rate > 0.0 && total > read {
                text.push_str(&format!(", {:.0} s left", (total - read) as f64 / rate));
            }
        }
        text.push_str(&format!(", {:.0} events/s", events as f64 / secs));
        let mut err = io::stderr().lock();
        let _ = write!(err, "\r\x1b[2K{text}");
        let _ = err.flush();
        self.shown = true;
    }

    /// Clears the line.
    fn finish(&mut self) {
        if self.shown {
            let mut err = io::stderr().lock();
            let _ = write!(err, "\r\x1b[2K");
            let _ = err.flush();
            self.shown = false;
        }
    }
}

/// Parses an RFC 3339 timestamp with any offset and any (or no) fraction to microseconds since
/// the epoch, UTC. Digits of the fraction beyond microseconds are dropped.
pub fn parse_timestamp(s: &str) -> Option<Micros> {
    let b = s.trim().as_bytes();
    let num = |from: usize, len: usize| -> Option<i64> {
        let digits = b.get(from..from + len)?;
        let mut v = 0i64;
        for &d in digits {
            if !d.is_ascii_digit() {
                return None;
            }
            v = v * 10 + i64::from(d - b'0');
        }
        Some(v)
    };
    let year = num(0, 4)?;
    let month = num(5, 2)?;
    let day = num(8, 2)?;
    let hour = num(11, 2)?;
    let minute = num(14, 2)?;
    let second = num(17, 2)?;
    if b.get(4) != Some(&b'-')
        || b.get(7) != Some(&b'-')
        || !matches!(b.get(10), Some(b'T' | b't' | b' '))
        || b.get(13) != Some(&b':')
        || b.get(16) != Some(&b':')
    {
        return None;
    }
    if !(1..=12).contains(&month)
        || day < 1
        || day > days_in_month(year, month)
        || hour > 23
        || minute > 59
        || second > 60
    {
        return None;
    }
    let mut i = 19;
    let mut micros = 0i64;
    if b.get(i) == Some(&b'.') {
        i += 1;
        let start = i;
        let mut scale = 100_000;
        while let Some(&d) = b.get(i).filter(|d| d.is_ascii_digit()) {
            micros += i64::from(d - b'0') * scale;
            scale /= 10;
            i += 1;
        }
        if i == start {
            return None;
        }
    }
    let offset_secs = match b.get(i)? {
        b'Z' | b'z' if i + 1 == b.len() => 0,
        &sign @ (b'+' | b'-') if i + 6 == b.len() => {
            let oh = num(i + 1, 2)?;
            let om = num(i + 4, 2)?;
            if b.get(i + 3) != Some(&b':') || oh > 23 || om > 59 {
                return None;
            }
            let o = oh * 3600 + om * 60;
            if sign == b'-' { -o } else { o }
        }
        _ => return None,
    };
    let days = days_from_civil(year, month, day);
    let secs = days * 86_400 + hour * 3600 + minute * 60 + second - offset_secs;
    Some(secs * 1_000_000 + micros)
}

fn is_leap(y: i64) -> bool {
    (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
}

fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        2 if is_leap(y) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps() {
        assert_eq!(parse_timestamp("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(
            parse_timestamp("2022-02-03T19:34:21.841091Z"),
            Some(1_643_916_861_841_091)
        );
        assert_eq!(
            parse_timestamp("2022-02-03T21:34:21.841091+02:00"),
            Some(1_643_916_861_841_091)
        );
        assert_eq!(
            parse_timestamp("2018-06-19T03:15:27Z"),
            Some(1_529_378_127_000_000)
        );
        assert_eq!(
            parse_timestamp("2018-06-19T03:15:27.5-01:30"),
            Some(1_529_378_127_500_000 + 5_400_000_000)
        );
        assert_eq!(
            parse_timestamp("2020-05-05T16:16:37.0000000Z"),
            Some(1_588_695_397_000_000)
        );
        assert_eq!(
            parse_timestamp("2020-05-05T16:16:37.123456789Z"),
            Some(1_588_695_397_123_456)
        );
        assert_eq!(parse_timestamp("1969-12-31T23:59:59.5Z"), Some(-500_000));
        for bad in [
            "",
            "2020-05-05",
            "2020-05-05T16:16:37",
            "2020-13-05T16:16:37Z",
            "2021-02-29T00:00:00Z",
            "2020-05-05T16:16:37.Z",
            "2020-05-05T16:16:37Zjunk",
            "2020-05-05T16:16:37+0200",
            "2020-05-05T24:00:00Z",
            "２020-05-05T16:16:37Z",
        ] {
            assert_eq!(parse_timestamp(bad), None, "{bad}");
        }
    }

    /// Parts end at line ends, cover the data in order, and are never empty, whatever the
    /// number asked for and however long the lines.
    #[test]
    fn line_parts_cut_at_line_ends() {
        let data = b"a\nbb\n\nccc\ndddd\ne";
        for parts in [1, 2, 3, 8, 100] {
            let cut = line_parts(data, parts);
            assert_eq!(cut.concat(), data, "{parts} parts");
            assert!(cut.iter().all(|p| !p.is_empty()), "{parts} parts");
            let (last, whole) = cut.split_last().unwrap();
            assert!(whole.iter().all(|p| p.ends_with(b"\n")), "{parts} parts");
            assert_eq!(last.last(), Some(&b'e'), "{parts} parts");
        }
        assert_eq!(line_parts(b"one long line", 8), vec![&b"one long line"[..]]);
        assert!(line_parts(b"", 8).is_empty());
    }

    /// Lines keep their numbers in the file (blank lines counted, not parsed) however the
    /// block is cut into parts, and the next block starts after the last line, which may
    /// lack its newline.
    #[test]
    fn parsed_lines_keep_their_numbers() {
        let event = |id: usize| {
            format!(
                "{{\"kind\":\"Event\",\"apiVersion\":\"audit.k8s.io/v1\",\"auditID\":\"id-{id}\",\"stage\":\"ResponseComplete\",\"verb\":\"get\",\"requestURI\":\"/api\",\"requestReceivedTimestamp\":\"2024-01-02T03:04:05.000006Z\",\"stageTimestamp\":\"2024-01-02T03:04:05.000007Z\"}}"
            )
        };
        let mut data = String::new();
        let mut expected = Vec::new();
        let mut line = 10u64;
        for id in 0..500 {
            if id % 7 == 3 {
                data.push_str(" \n");
                line += 1;
            }
            data.push_str(&event(id));
            expected.push((format!("id-{id}"), line));
            line += 1;
            if id < 499 {
                data.push('\n');
            }
        }
        let arena = Arena::new();
        let parsed = parse_lines(data.as_bytes(), &arena, 10);
        let got: Vec<(String, u64)> = parsed
            .pieces
            .iter()
            .zip(&parsed.firsts)
            .flat_map(|(piece, &first)| piece.iter().map(move |(o, n)| (o, first + n)))
            .map(|(outcome, n)| match outcome {
                LineOutcome::One(Ok(ev)) => (ev.audit_id.to_string(), n),
                LineOutcome::One(Err(reason)) => (reason.to_string(), n),
                _ => (String::from("not one item"), n),
            })
            .collect();
        assert_eq!(got, expected);
        assert_eq!(parsed.next_line, line);
        assert!(parsed.pieces.iter().all(|p| p.len() <= PIECE_LINES));
    }

    #[test]
    fn a_long_line_after_the_first_is_not_judged_and_not_held() {
        // `{"events":[` alone, then the list on one line longer than LONG_SNIFF_LINE: a
        // document, decided on the first SNIFF_BYTES + LONG_SNIFF_LINE bytes alone.
        let item = b"{\"message\":\"x\"},";
        let mut doc = b"{\"events\":[\n".to_vec();
        while doc.len() < SNIFF_BYTES + LONG_SNIFF_LINE + 4096 {
            doc.extend_from_slice(item);
        }
        doc.extend_from_slice(b"{\"message\":\"x\"}\n]}\n");
        let cut = SNIFF_BYTES + LONG_SNIFF_LINE;
        let shape = |data: &[u8], eof| is_document(&Block::new(data.to_vec(), eof));
        assert_eq!(shape(&doc, true), Shape::Document);
        assert_eq!(shape(&doc[..cut], false), Shape::Document);
        // A line that long is not judged even when it is one JSON value by itself: the same
        // answer whether the block holds all of it or only its start.
        let mut long_value = b"not json\n{\"pad\":\"".to_vec();
        long_value.resize(cut + 10, b'a');
        long_value.extend_from_slice(b"\"}\n");
        assert!(is_json(&long_value[9..long_value.len() - 1]));
        assert_eq!(shape(&long_value, false), Shape::Document);
        assert_eq!(shape(&long_value[..cut], false), Shape::Document);
        // Shorter than LONG_SNIFF_LINE, it is judged as before: JSON lines.
        let mut short_value = b"not json\n{\"pad\":\"".to_vec();
        short_value.resize(SNIFF_BYTES + 10, b'a');
        short_value.extend_from_slice(b"\"}\n");
        assert_eq!(shape(&short_value, false), Shape::Lines);
        // The first line is judged whatever its length (one JSON value: a document if
        // nothing follows it, which the scan watches for).
        let mut first = b"{\"pad\":\"".to_vec();
        first.resize(cut + 10, b'a');
        first.extend_from_slice(b"\"}\n{\"a\":1}\n");
        assert_eq!(shape(&first, false), Shape::DocumentIfAlone);
    }

    #[test]
    fn detects_documents() {
        let doc = |s: &str, eof| is_document(&Block::new(s.as_bytes().to_vec(), eof));
        assert_eq!(doc(" {\n \"kind\": \"Event\"\n }\n", true), Shape::Document);
        assert_eq!(doc("{\"records\":[]}", true), Shape::Document);
        assert_eq!(doc("{\"a\":1}\n{\"b\":2}\n", true), Shape::Lines);
        assert_eq!(doc("{\"a\":1}\n", false), Shape::DocumentIfAlone);
        assert_eq!(doc("garbage\n{\"b\":2}\n", false), Shape::Lines);
        assert_eq!(doc("garbage\nmore\n", true), Shape::Document);
        assert!(more_after_first_line(b" \n{\"a\":1}\n \r\n{"));
        assert!(!more_after_first_line(b" \n{\"a\":1}\n \r\n\t"));
        assert!(!more_after_first_line(b"{\"a\":1}"));
    }
}
