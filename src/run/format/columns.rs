//! The request fields, defined once: how RUN.json stores each as a column, how it is read
//! back into a [`Request`], and which columns of the exported `requests` table show it.
//!
//! [`REQUEST_FIELDS`] is the one list. The RUN.json writer (`write.rs`), the RUN.json reader
//! (`read.rs` and [`RequestColumns`](super::RequestColumns)), and the `requests` table that
//! the Parquet and NDJSON writers write (`crate::export::table`) all walk it, so adding a
//! field to [`Request`] is one entry here: its RUN.json key, its stored form with a getter
//! and a setter, and its export columns.
//!
//! The export side is given as [`Cell`]s: text by reference into the run's tables
//! ([`Text::Str`], [`Text::Agent`], …) rather than as a `&str`, so a writer can convert each
//! distinct string once (the Parquet writer keeps one byte buffer per string and shares it
//! among the rows) instead of once per row.

use crate::run::{
    AgentId, Attribution, Decision, FrameId, Level, Micros, NO_TIME, OpId, Request, Run, SpecId,
    Stage, StrId,
};

/// The type of an exported column, as every export writer maps it (see `docs/export.md`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// UTF-8 text.
    Text,
    /// A 64-bit signed integer.
    Int,
    /// A 64-bit float.
    Float,
    /// True or false.
    Bool,
    /// Microseconds since the Unix epoch, UTC.
    Time,
    /// A list of stack frames: `{function: text, file: text, line: int}`, innermost first.
    Frames,
}

/// Text in a cell: a string of the run, looked up when written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Text<'r> {
    /// Text that appears in one row only (an audit ID).
    Plain(&'r str),
    /// A fixed word (a stage, a decision, an attribution).
    Word(&'static str),
    /// A string of the run's string table.
    Str(StrId),
    /// A user agent's text as logged.
    Agent(AgentId),
    /// An operation's `operationId`.
    Op(OpId),
}

/// One value of an exported column; `Null` in a column that is not nullable never happens.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Cell<'r> {
    /// No value.
    Null,
    /// Text, looked up when written.
    Text(Text<'r>),
    /// An integer.
    Int(i64),
    /// A float.
    Float(f64),
    /// True or false.
    Bool(bool),
    /// Microseconds since the epoch, UTC.
    Time(Micros),
    /// Frames of the run's frame table, innermost first.
    Frames(&'r [FrameId]),
}

/// The largest value a RUN.json integer column may hold: the width of the field it is read
/// into (a larger number makes the file damaged, as serde_json reading into that type says).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Width {
    /// Up to `u8::MAX`.
    U8,
    /// Up to `u16::MAX`.
    U16,
    /// Up to `u32::MAX`.
    U32,
    /// Up to `u64::MAX`.
    U64,
}

impl Width {
    /// The largest value.
    pub fn max(self) -> u64 {
        match self {
            Width::U8 => u8::MAX.into(),
            Width::U16 => u16::MAX.into(),
            Width::U32 => u32::MAX.into(),
            Width::U64 => u64::MAX,
        }
    }
}

/// How a field is stored in its RUN.json column, with the functions that take it out of a
/// [`Request`] and put it back.
#[derive(Clone, Copy)]
pub enum Stored {
    /// A string per row (the audit ID).
    Text {
        /// The row's text.
        get: fn(&Request) -> &str,
        /// Puts the text read back.
        set: fn(&mut Request, Box<str>),
    },
    /// A non-negative integer of at most `width`.
    Uint {
        /// Its largest value.
        width: Width,
        /// The row's value (optional ids as id + 1, 0 for none; enums as their number).
        get: fn(&Request) -> u64,
        /// Puts the value read back (never above `width`).
        set: fn(&mut Request, u64),
    },
    /// A signed integer or `null`.
    OptInt {
        /// Stored as the difference from the previous row's non-null value (the first: from
        /// 0); `get` and `set` see the value itself.
        delta: bool,
        /// The row's value.
        get: fn(&Request) -> Option<i64>,
        /// Puts the value read back. Fields are set in list order, so a setter may use the
        /// fields listed before it (`latency` uses `received`).
        set: fn(&mut Request, Option<i64>),
    },
}

/// Gives the exported value of a request.
pub type ExportGet = for<'r> fn(&'r Run, &'r Request) -> Cell<'r>;

/// One column of the exported `requests` table.
#[derive(Clone, Copy)]
pub struct ExportColumn {
    /// The column's name in every export format.
    pub name: &'static str,
    /// Its place among the table's columns: columns are written in increasing `at` order
    /// (numbers leave gaps, so a new column can go anywhere).
    pub at: u16,
    /// The column's type.
    pub kind: Kind,
    /// Whether it can hold `Null`.
    pub nullable: bool,
    /// Its value for a request of a run.
    pub get: ExportGet,
}

/// One field of a request: its RUN.json column and its export columns.
#[derive(Clone, Copy)]
pub struct RequestField {
    /// The key of its column under RUN.json's `requests`.
    pub key: &'static str,
    /// How that column holds it.
    pub stored: Stored,
    /// The columns of the exported `requests` table that show it (none, one or several).
    pub exports: &'static [ExportColumn],
}

/// Shorthand for one export column.
const fn export(
    name: &'static str,
    at: u16,
    kind: Kind,
    nullable: bool,
    get: ExportGet,
) -> ExportColumn {
    ExportColumn {
        name,
        at,
        kind,
        nullable,
        get,
    }
}

/// Shorthand for a field stored as a non-negative integer.
const fn uint(
    key: &'static str,
    width: Width,
    get: fn(&Request) -> u64,
    set: fn(&mut Request, u64),
    exports: &'static [ExportColumn],
) -> RequestField {
    RequestField {
        key,
        stored: Stored::Uint { width, get, set },
        exports,
    }
}

/// An optional id as stored: `id + 1`, 0 for none.
fn opt_id(v: Option<u32>) -> u64 {
    v.map_or(0, |x| u64::from(x) + 1)
}

/// A stored optional id back: `None` for 0.
fn id_opt(v: u64) -> Option<u32> {
    (v as u32).checked_sub(1)
}

/// A string id as a cell: `Null` for the empty string (id 0, "absent").
pub fn opt_str<'r>(id: StrId) -> Cell<'r> {
    if id == 0 {
        Cell::Null
    } else {
        Cell::Text(Text::Str(id))
    }
}

/// A time as a cell: `Null` for [`NO_TIME`].
pub fn time<'r>(t: Micros) -> Cell<'r> {
    if t == NO_TIME {
        Cell::Null
    } else {
        Cell::Time(t)
    }
}

/// The name of user `u`, as a string id (0 when the index is out of range).
fn user_name(run: &Run, u: u32) -> StrId {
    run.users.get(u as usize).map_or(0, |u| u.name)
}

/// `completed - received`, as RUN.json stores it; `None` when either is unknown.
pub fn latency(r: &Request) -> Option<i64> {
    if r.received == NO_TIME || r.completed == NO_TIME {
        None
    } else {
        Some(r.completed.wrapping_sub(r.received))
    }
}

/// Every field of a [`Request`], in the order of RUN.json's request columns (the order the
/// file is written in; see `docs/run-format.md`).
pub const REQUEST_FIELDS: &[RequestField] = &[
    RequestField {
        key: "audit_id",
        stored: Stored::Text {
            get: |r| &r.audit_id,
            set: |r, v| r.audit_id = v,
        },
        exports: &[export("audit_id", 10, Kind::Text, false, |_, r| {
            Cell::Text(Text::Plain(&r.audit_id))
        })],
    },
    uint(
        "verb",
        Width::U32,
        |r| r.verb.into(),
        |r, v| r.verb = v as u32,
        &[export("verb", 70, Kind::Text, false, |_, r| {
            Cell::Text(Text::Str(r.verb))
        })],
    ),
    uint(
        "uri",
        Width::U32,
        |r| r.uri.into(),
        |r, v| r.uri = v as u32,
        &[export("request_uri", 80, Kind::Text, false, |_, r| {
            Cell::Text(Text::Str(r.uri))
        })],
    ),
    uint(
        "user",
        Width::U32,
        |r| r.user.into(),
        |r, v| r.user = v as u32,
        &[export("user", 110, Kind::Text, false, |run, r| {
            Cell::Text(Text::Str(user_name(run, r.user)))
        })],
    ),
    uint(
        "impersonated",
        Width::U32,
        |r| opt_id(r.impersonated),
        |r, v| r.impersonated = id_opt(v),
        &[export(
            "impersonated_user",
            120,
            Kind::Text,
            true,
            |run, r| {
                r.impersonated
                    .map_or(Cell::Null, |u| opt_str(user_name(run, u)))
            },
        )],
    ),
    uint(
        "source_ips",
        Width::U32,
        |r| r.source_ips.into(),
        |r, v| r.source_ips = v as u32,
        &[export("source_ips", 130, Kind::Text, true, |_, r| {
            opt_str(r.source_ips)
        })],
    ),
    uint(
        "agent",
        Width::U32,
        |r| r.agent.into(),
        |r, v| r.agent = v as u32,
        &[
            export("user_agent", 140, Kind::Text, false, |_, r| {
                Cell::Text(Text::Agent(r.agent))
            }),
            // The backtrace the agent carried.
            export("frames", 260, Kind::Frames, false, |run, r| {
                Cell::Frames(run.trace_of(r).map_or(&[][..], |t| &t.frames[..]))
            }),
        ],
    ),
    uint(
        "resource",
        Width::U32,
        |r| r.object.resource.into(),
        |r, v| r.object.resource = v as u32,
        &[export("resource", 150, Kind::Text, true, |_, r| {
            opt_str(r.object.resource)
        })],
    ),
    uint(
        "subresource",
        Width::U32,
        |r| r.object.subresource.into(),
        |r, v| r.object.subresource = v as u32,
        &[export("subresource", 160, Kind::Text, true, |_, r| {
            opt_str(r.object.subresource)
        })],
    ),
    uint(
        "namespace",
        Width::U32,
        |r| r.object.namespace.into(),
        |r, v| r.object.namespace = v as u32,
        &[export("namespace", 170, Kind::Text, true, |_, r| {
            opt_str(r.object.namespace)
        })],
    ),
    uint(
        "name",
        Width::U32,
        |r| r.object.name.into(),
        |r, v| r.object.name = v as u32,
        &[export("name", 180, Kind::Text, true, |_, r| {
            opt_str(r.object.name)
        })],
    ),
    uint(
        "api_group",
        Width::U32,
        |r| r.object.api_group.into(),
        |r, v| r.object.api_group = v as u32,
        &[export("api_group", 190, Kind::Text, true, |_, r| {
            opt_str(r.object.api_group)
        })],
    ),
    uint(
        "api_version",
        Width::U32,
        |r| r.object.api_version.into(),
        |r, v| r.object.api_version = v as u32,
        &[export("api_version", 200, Kind::Text, true, |_, r| {
            opt_str(r.object.api_version)
        })],
    ),
    uint(
        "code",
        Width::U16,
        |r| r.code.into(),
        |r, v| r.code = v as u16,
        &[export("code", 100, Kind::Int, true, |_, r| match r.code {
            0 => Cell::Null,
            c => Cell::Int(i64::from(c)),
        })],
    ),
    uint(
        "level",
        Width::U8,
        |r| r.level as u64,
        |r, v| r.level = Level::from_u8(v as u8),
        &[export("level", 60, Kind::Text, false, |_, r| {
            Cell::Text(Text::Word(r.level.as_str()))
        })],
    ),
    uint(
        "stage",
        Width::U8,
        |r| r.stage as u64,
        |r, v| r.stage = Stage::from_u8(v as u8),
        &[export("stage", 40, Kind::Text, false, |_, r| {
            Cell::Text(Text::Word(r.stage.as_str()))
        })],
    ),
    uint(
        "stage_events",
        Width::U8,
        |r| r.stage_events.into(),
        |r, v| r.stage_events = v as u8,
        &[export("stage_events", 50, Kind::Int, false, |_, r| {
            Cell::Int(i64::from(r.stage_events))
        })],
    ),
    RequestField {
        key: "received",
        stored: Stored::OptInt {
            delta: true,
            get: |r| (r.received != NO_TIME).then_some(r.received),
            set: |r, v| r.received = v.unwrap_or(NO_TIME),
        },
        exports: &[export("received", 20, Kind::Time, true, |_, r| {
            time(r.received)
        })],
    },
    RequestField {
        key: "latency",
        stored: Stored::OptInt {
            delta: false,
            get: latency,
            set: |r, v| {
                r.completed = match (r.received, v) {
                    (NO_TIME, _) | (_, None) => NO_TIME,
                    (t, Some(l)) => t.wrapping_add(l),
                }
            },
        },
        exports: &[export("completed", 30, Kind::Time, true, |_, r| {
            time(r.completed)
        })],
    },
    uint(
        "decision",
        Width::U8,
        |r| r.decision as u64,
        |r, v| r.decision = Decision::from_u8(v as u8),
        &[export("decision", 210, Kind::Text, true, |_, r| {
            match r.decision.as_str() {
                "" => Cell::Null,
                d => Cell::Text(Text::Word(d)),
            }
        })],
    ),
    uint(
        "reason",
        Width::U32,
        |r| r.reason.into(),
        |r, v| r.reason = v as u32,
        &[export("reason", 220, Kind::Text, true, |_, r| {
            opt_str(r.reason)
        })],
    ),
    uint(
        "spec",
        Width::U32,
        |r| opt_id(r.spec.map(|s| s.0)),
        |r, v| r.spec = id_opt(v).map(SpecId),
        &[
            export("spec", 230, Kind::Text, true, |run, r| {
                match run.spec_of(r) {
                    Some(s) => Cell::Text(Text::Str(s.name)),
                    None => Cell::Null,
                }
            }),
            // The spec's step (`STEP:` line of the e2e log) the request was received in.
            export("step", 250, Kind::Text, true, |run, r| {
                match run.step_of(r).and_then(|at| run.step(at)) {
                    Some(step) => Cell::Text(Text::Str(step.text)),
                    None => Cell::Null,
                }
            }),
        ],
    ),
    uint(
        "attribution",
        Width::U8,
        |r| r.attribution as u64,
        |r, v| r.attribution = Attribution::from_u8(v as u8),
        &[export("attribution", 240, Kind::Text, false, |_, r| {
            Cell::Text(Text::Word(r.attribution.as_str()))
        })],
    ),
    uint(
        "endpoint",
        Width::U32,
        |r| opt_id(r.endpoint.map(|o| o.0)),
        |r, v| r.endpoint = id_opt(v).map(OpId),
        &[export(
            "operation_id",
            90,
            Kind::Text,
            true,
            |run, r| match r.endpoint {
                Some(op) if op.index() < run.operations.len() => Cell::Text(Text::Op(op)),
                _ => Cell::Null,
            },
        )],
    ),
    uint(
        "input",
        Width::U16,
        |r| r.input.into(),
        |r, v| r.input = v as u16,
        &[export("input", 270, Kind::Text, true, |run, r| {
            match run.inputs.get(usize::from(r.input)) {
                Some(input) => Cell::Text(Text::Plain(&input.path)),
                None => Cell::Null,
            }
        })],
    ),
    uint(
        "line",
        Width::U64,
        |r| r.line,
        |r, v| r.line = v,
        &[export("line", 280, Kind::Int, false, |_, r| {
            Cell::Int(r.line as i64)
        })],
    ),
];

/// The index in [`REQUEST_FIELDS`] of the field stored under `key`.
pub fn field_index(key: &str) -> Option<usize> {
    REQUEST_FIELDS.iter().position(|f| f.key == key)
}

/// The export columns of every field, in their `at` order.
pub fn export_columns() -> Vec<ExportColumn> {
    let mut columns: Vec<ExportColumn> = REQUEST_FIELDS
        .iter()
        .flat_map(|f| f.exports.iter().copied())
        .collect();
    columns.sort_by_key(|c| c.at);
    columns
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_names_and_places_are_distinct() {
        let mut keys: Vec<&str> = REQUEST_FIELDS.iter().map(|f| f.key).collect();
        keys.sort();
        keys.dedup();
        assert_eq!(keys.len(), REQUEST_FIELDS.len());
        let columns = export_columns();
        let mut names: Vec<&str> = columns.iter().map(|c| c.name).collect();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), columns.len());
        assert!(columns.windows(2).all(|w| w[0].at < w[1].at));
    }

    #[test]
    fn every_field_survives_its_stored_form() {
        // A request with every field away from its default.
        let r = Request {
            audit_id: "id-1".into(),
            verb: 1,
            uri: 2,
            user: 3,
            impersonated: Some(4),
            source_ips: 5,
            agent: 6,
            object: crate::run::ObjectRef {
                resource: 7,
                subresource: 8,
                namespace: 9,
                name: 10,
                api_group: 11,
                api_version: 12,
            },
            code: 403,
            level: Level::RequestResponse,
            stage: Stage::Panic,
            stage_events: 3,
            received: 1_000,
            completed: 1_250,
            decision: Decision::Forbid,
            reason: 13,
            spec: Some(SpecId(14)),
            attribution: Attribution::Ambiguous,
            endpoint: Some(OpId(15)),
            input: 16,
            line: 1 << 40,
        };
        let mut back = Request::default();
        for f in REQUEST_FIELDS {
            match f.stored {
                Stored::Text { get, set } => set(&mut back, get(&r).into()),
                Stored::Uint { get, set, .. } => set(&mut back, get(&r)),
                Stored::OptInt { get, set, .. } => set(&mut back, get(&r)),
            }
        }
        assert_eq!(back, r);
    }
}
