//! `RUN.json`: the correlated run on disk. The schema is documented in `docs/run-format.md`.
//!
//! Repeated text is stored once in `strings`; every other table holds indexes into it.
//! Requests are stored as columns (one array per field), which keeps the file small and
//! fast to load: `received` is delta-encoded, and `completed` is stored as a latency.
//!
//! Here: the file's shape ([`RunFile`]), building a [`Run`] from it and checking every index
//! ([`validate`]). `write` serializes a run, `read` parses a file (a fast parallel path, and
//! the one-pass parse that names every problem), `scan` finds an object's fields for it.

mod columns;
mod read;
mod scan;
mod write;

use serde::Deserialize;
use thiserror::Error;

use super::*;

pub use columns::{
    Cell, ExportColumn, ExportGet, Kind, REQUEST_FIELDS, RequestField, Stored, Text, Width,
    export_columns, field_index, opt_str, time,
};

pub use read::{
    read_run, read_run_from_slice, read_run_from_slice_skipping, read_run_from_vec,
    read_run_one_pass, read_run_reusing,
};
pub use write::{uncache_replaced, write_run, write_run_matching, write_run_to};

/// The value of the `format` key, so a RUN.json is recognised as one.
pub const FORMAT_NAME: &str = "auditscope-run";
/// The schema version this build writes, and the newest it reads.
pub const FORMAT_VERSION: u32 = 4;

/// Why a RUN.json could not be read or written.
#[derive(Debug, Error)]
pub enum FormatError {
    #[error("{path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("{path}: not a RUN.json (or damaged): {source}")]
    Json {
        path: String,
        source: serde_json::Error,
    },
    #[error(
        "{path}: written by a newer auditscope (schema version {found}; this build reads up to {FORMAT_VERSION}): upgrade auditscope"
    )]
    TooNew { path: String, found: u32 },
    #[error("{path}: not a RUN.json: the \"format\" key is {found:?}, expected \"{FORMAT_NAME}\"")]
    NotARun { path: String, found: String },
    #[error("{path}: inconsistent RUN.json: {message}")]
    Invalid { path: String, message: String },
}

/// The shape RUN.json is read into ([`RunRef`] writes the same shape without copying).
/// `format`, `version` and `generator` are read by the header check alone.
#[derive(Deserialize)]
struct RunFile {
    #[serde(default)]
    inputs: Vec<InputInfo>,
    #[serde(default)]
    notes: Vec<String>,
    /// Absent before version 4.
    #[serde(default)]
    release: Option<RunRelease>,
    #[serde(default)]
    accounting: Accounting,
    strings: Interner,
    /// `[name, group, group, …]` per user.
    users: Vec<Vec<StrId>>,
    /// `[text, product, version, os, arch, commit, suffix, spec_text, trace + 1 (0 = none)]` per
    /// agent kept whole; `[0, …, order, tail]` (11 numbers) for one kept as parts (see
    /// [`AgentText`]).
    agents: Vec<Vec<u32>>,
    /// `[function, file, line]` per frame.
    frames: Vec<[u32; 3]>,
    /// `[truncated (0/1), frame, frame, …]` per trace, frames innermost first.
    traces: Vec<Vec<u32>>,
    operations: Vec<Operation>,
    specs: Vec<Spec>,
    requests: RequestColumns,
}

/// Requests stored column by column, one [`Column`] per entry of [`REQUEST_FIELDS`], in
/// its order. Optional ids are stored as `id + 1`, with 0 for none.
#[derive(Default)]
pub(super) struct RequestColumns {
    pub(super) columns: Vec<Column>,
    /// The requests themselves, when the fast read built them straight from the text (the
    /// columns are then empty).
    pub(super) built: Option<Vec<Request>>,
}

/// One request column as read from RUN.json.
pub(super) enum Column {
    /// Text per row; each in an allocation of its own length, as [`Request::audit_id`]
    /// keeps it.
    Text(Vec<Box<str>>),
    U8(Vec<u8>),
    U16(Vec<u16>),
    U32(Vec<u32>),
    U64(Vec<u64>),
    /// Signed integers or null; a delta-encoded column holds the deltas until
    /// [`RequestColumns::into_requests`] adds them up.
    OptInt(Vec<Option<i64>>),
    /// Not read (the command said it does not need it): its requests keep the default.
    Skipped,
}

impl Column {
    /// Its number of rows; `None` for a skipped column.
    fn len(&self) -> Option<usize> {
        Some(match self {
            Column::Text(v) => v.len(),
            Column::U8(v) => v.len(),
            Column::U16(v) => v.len(),
            Column::U32(v) => v.len(),
            Column::U64(v) => v.len(),
            Column::OptInt(v) => v.len(),
            Column::Skipped => return None,
        })
    }
}

/// Which request columns a read leaves out: a command that needs few of them reads faster.
/// A column left out is still checked to be JSON, and reads as if every value in it were 0
/// (numbers and ids: an absent optional id), `null` (times: unknown) or `""` (text).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Skip(u64);

impl Skip {
    /// Every column read.
    pub const NONE: Skip = Skip(0);

    /// Leaves out the columns stored under `keys` (see [`REQUEST_FIELDS`]); an unknown key is
    /// a programming error and panics in tests.
    pub fn columns(keys: &[&str]) -> Skip {
        let mut bits = 0u64;
        for key in keys {
            match field_index(key) {
                Some(i) => bits |= 1 << i,
                None => debug_assert!(false, "no request column {key}"),
            }
        }
        Skip(bits)
    }

    /// Whether field `i` of [`REQUEST_FIELDS`] is left out.
    pub(super) fn skips(self, i: usize) -> bool {
        self.0 & (1 << i) != 0
    }
}

impl<'de> Deserialize<'de> for RequestColumns {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde::de::{Error, IgnoredAny, MapAccess, Visitor};
        struct ColumnsVisitor;
        impl<'de> Visitor<'de> for ColumnsVisitor {
            type Value = RequestColumns;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("struct RequestColumns")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<RequestColumns, A::Error> {
                let mut columns: Vec<Option<Column>> =
                    REQUEST_FIELDS.iter().map(|_| None).collect();
                while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
                    let Some(i) = field_index(&key) else {
                        map.next_value::<IgnoredAny>()?;
                        continue;
                    };
                    let field = &REQUEST_FIELDS[i];
                    if columns[i].is_some() {
                        return Err(A::Error::duplicate_field(field.key));
                    }
                    columns[i] = Some(match field.stored {
                        Stored::Text { .. } => Column::Text(map.next_value()?),
                        Stored::Uint { width, .. } => match width {
                            Width::U8 => Column::U8(map.next_value()?),
                            Width::U16 => Column::U16(map.next_value()?),
                            Width::U32 => Column::U32(map.next_value()?),
                            Width::U64 => Column::U64(map.next_value()?),
                        },
                        Stored::OptInt { .. } => Column::OptInt(map.next_value()?),
                    });
                }
                let columns = columns
                    .into_iter()
                    .zip(REQUEST_FIELDS)
                    .map(|(c, f)| c.ok_or_else(|| A::Error::missing_field(f.key)))
                    .collect::<Result<_, _>>()?;
                Ok(RequestColumns {
                    columns,
                    built: None,
                })
            }
        }
        d.deserialize_map(ColumnsVisitor)
    }
}

fn opt_to_u32(v: Option<u32>) -> u32 {
    v.map_or(0, |x| x + 1)
}

fn u32_to_opt(v: u32) -> Option<u32> {
    v.checked_sub(1)
}

/// Requests built at once per chunk of this many, column by column: a chunk of requests stays
/// in the cache while every column is put into it.
pub(super) const BUILD_CHUNK: usize = 2048;

impl RequestColumns {
    fn len_checked(&self) -> Result<usize, String> {
        let mut first: Option<(&str, usize)> = None;
        for (field, column) in REQUEST_FIELDS.iter().zip(&self.columns) {
            let Some(len) = column.len() else { continue };
            match first {
                None => first = Some((field.key, len)),
                Some((name, n)) if len != n => {
                    return Err(format!(
                        "requests.{} has {len} entries, requests.{name} has {n}",
                        field.key
                    ));
                }
                Some(_) => {}
            }
        }
        Ok(first.map_or(0, |(_, n)| n))
    }

    /// The requests, built into `out` (cleared first: its memory is reused).
    fn into_requests(mut self, mut out: Vec<Request>) -> Result<Vec<Request>, String> {
        use rayon::prelude::*;
        if let Some(built) = self.built {
            return Ok(built);
        }
        if self.columns.len() != REQUEST_FIELDS.len() {
            return Err("the request columns are incomplete".to_string());
        }
        let n = self.len_checked()?;
        // Delta-encoded columns are added up first, in order (each delta is from the value
        // before).
        for (field, column) in REQUEST_FIELDS.iter().zip(&mut self.columns) {
            if let (Stored::OptInt { delta: true, .. }, Column::OptInt(values)) =
                (field.stored, column)
            {
                let mut previous: i64 = 0;
                for v in values.iter_mut().flatten() {
                    previous = previous.wrapping_add(*v);
                    *v = previous;
                }
            }
        }
        // The texts are moved into their requests, not copied: taken out of the columns.
        let mut texts: Vec<(usize, Vec<Box<str>>)> = Vec::new();
        for (i, column) in self.columns.iter_mut().enumerate() {
            if let Column::Text(v) = column {
                texts.push((i, std::mem::take(v)));
            }
        }
        let columns = &self.columns;
        out.clear();
        (0..n)
            .into_par_iter()
            .with_min_len(BUILD_CHUNK)
            .map(|_| Request::default())
            .collect_into_vec(&mut out);
        out.par_chunks_mut(BUILD_CHUNK)
            .enumerate()
            .for_each(|(k, chunk)| {
                let rows = k * BUILD_CHUNK..k * BUILD_CHUNK + chunk.len();
                for (field, column) in REQUEST_FIELDS.iter().zip(columns) {
                    put_column(field.stored, column, rows.clone(), chunk);
                }
            });
        for (i, mut values) in texts {
            if let Stored::Text { set, .. } = REQUEST_FIELDS[i].stored {
                out.par_chunks_mut(BUILD_CHUNK)
                    .zip(values.par_chunks_mut(BUILD_CHUNK))
                    .for_each(|(rs, vs)| {
                        for (r, v) in rs.iter_mut().zip(vs) {
                            set(r, std::mem::take(v));
                        }
                    });
            }
        }
        Ok(out)
    }
}

/// Puts rows `rows` of one column into `chunk` (those requests).
fn put_column(
    stored: Stored,
    column: &Column,
    rows: std::ops::Range<usize>,
    chunk: &mut [Request],
) {
    fn each<T: Copy>(values: &[T], chunk: &mut [Request], mut put: impl FnMut(&mut Request, T)) {
        for (r, &v) in chunk.iter_mut().zip(values) {
            put(r, v);
        }
    }
    match (stored, column) {
        (Stored::Uint { set, .. }, Column::U8(v)) => {
            each(&v[rows], chunk, |r, x| set(r, u64::from(x)))
        }
        (Stored::Uint { set, .. }, Column::U16(v)) => {
            each(&v[rows], chunk, |r, x| set(r, u64::from(x)))
        }
        (Stored::Uint { set, .. }, Column::U32(v)) => {
            each(&v[rows], chunk, |r, x| set(r, u64::from(x)))
        }
        (Stored::Uint { set, .. }, Column::U64(v)) => each(&v[rows], chunk, set),
        (Stored::OptInt { set, .. }, Column::OptInt(v)) => each(&v[rows], chunk, set),
        // A skipped column reads as if every value were 0 or null (an empty text is the
        // default already).
        (Stored::Uint { set, .. }, Column::Skipped) => chunk.iter_mut().for_each(|r| set(r, 0)),
        (Stored::OptInt { set, .. }, Column::Skipped) => {
            chunk.iter_mut().for_each(|r| set(r, None))
        }
        // Text is moved in afterwards.
        _ => {}
    }
}

/// True when the bytes look like the start of a RUN.json (used to auto-detect inputs).
pub fn looks_like_run(head: &[u8]) -> bool {
    let text = String::from_utf8_lossy(&head[..head.len().min(256)]);
    let compact: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    compact.starts_with(&format!("{{\"format\":\"{FORMAT_NAME}\""))
}

/// Builds the run from a parsed RUN.json, checking every index in it.
fn build_run(file: RunFile, path: &str) -> Result<Run, FormatError> {
    build_run_into(file, path, Vec::new())
}

/// [`build_run`], building the requests into `spare` (see [`read_run_reusing`]).
fn build_run_into(file: RunFile, path: &str, spare: Vec<Request>) -> Result<Run, FormatError> {
    let invalid = |message: String| FormatError::Invalid {
        path: path.to_string(),
        message,
    };
    let requests = file.requests.into_requests(spare).map_err(invalid)?;
    let agents = file
        .agents
        .into_iter()
        .enumerate()
        .map(|(i, a)| agent_of_row(i, &a))
        .collect::<Result<Vec<Agent>, String>>()
        .map_err(invalid)?;
    let run = Run {
        strings: file.strings,
        users: file
            .users
            .into_iter()
            .map(|v| User {
                name: v.first().copied().unwrap_or(0),
                groups: v.get(1..).map(<[u32]>::to_vec).unwrap_or_default(),
            })
            .collect(),
        agents,
        frames: file
            .frames
            .into_iter()
            .map(|f| Frame {
                function: f[0],
                file: f[1],
                line: f[2],
            })
            .collect(),
        traces: file
            .traces
            .into_iter()
            .map(|t| Trace {
                truncated: t.first().copied().unwrap_or(0) != 0,
                frames: t.get(1..).map(<[u32]>::to_vec).unwrap_or_default(),
            })
            .collect(),
        operations: file.operations,
        release: file.release,
        specs: file.specs,
        requests,
        accounting: file.accounting,
        inputs: file.inputs,
        notes: file.notes,
    };
    validate(&run).map_err(invalid)?;
    Ok(run)
}

/// An agent from its RUN.json row (see [`RunFile::agents`]).
fn agent_of_row(i: usize, row: &[u32]) -> Result<Agent, String> {
    let at = |k: usize| row.get(k).copied().unwrap_or(0);
    let text = match row.len() {
        9 => AgentText::Whole(at(0)),
        // Version 2 kept a blanked string for the text in place 0: it is not needed.
        11 => AgentText::Parts {
            order: PartOrder::from_u32(at(9))
                .ok_or_else(|| format!("agent {i} has unknown text form {}", at(9)))?,
            tail: at(10),
        },
        n => return Err(format!("agent {i} has {n} numbers, expected 9 or 11")),
    };
    Ok(Agent {
        text,
        product: at(1),
        version: at(2),
        os: at(3),
        arch: at(4),
        commit: at(5),
        suffix: at(6),
        spec_text: at(7),
        trace: u32_to_opt(at(8)),
    })
}

/// Checks that every index in `run` points inside its table, so no later lookup can panic.
pub fn validate(run: &Run) -> Result<(), String> {
    let strings = run.strings.len() as u64;
    let check = |what: &str, id: u32, len: usize| -> Result<(), String> {
        if (id as u64) < len as u64 {
            Ok(())
        } else {
            Err(format!("{what} {id} is out of range (table has {len})"))
        }
    };
    let s = |what: &str, id: u32| check(what, id, strings as usize);
    for u in &run.users {
        s("user string", u.name)?;
        for g in &u.groups {
            s("group string", *g)?;
        }
    }
    for a in &run.agents {
        for id in a.string_ids() {
            s("agent string", id)?;
        }
        if let Some(t) = a.trace {
            check("trace", t, run.traces.len())?;
        }
    }
    for f in &run.frames {
        s("frame string", f.function)?;
        s("frame string", f.file)?;
    }
    for t in &run.traces {
        for f in &t.frames {
            check("frame", *f, run.frames.len())?;
        }
    }
    for sp in &run.specs {
        s("spec string", sp.name)?;
        s("spec string", sp.location)?;
        for h in &sp.header {
            s("spec header string", *h)?;
        }
        for st in &sp.steps {
            s("step string", st.text)?;
            s("step string", st.location)?;
        }
    }
    // The requests are checked on rayon's threads; the first bad one in order is reported.
    let request = |r: &Request| -> Result<(), String> {
        for id in r.string_ids() {
            s("request string", id)?;
        }
        check("user", r.user, run.users.len())?;
        if let Some(u) = r.impersonated {
            check("user", u, run.users.len())?;
        }
        check("agent", r.agent, run.agents.len())?;
        if let Some(sp) = r.spec {
            check("spec", sp.0, run.specs.len())?;
        }
        if let Some(op) = r.endpoint {
            check("operation", op.0, run.operations.len())?;
        }
        if !run.inputs.is_empty() {
            check("input", u32::from(r.input), run.inputs.len())?;
        }
        Ok(())
    };
    use rayon::prelude::*;
    run.requests
        .par_iter()
        .with_min_len(4096)
        .map(request)
        .find_first(Result::is_err)
        .unwrap_or(Ok(()))
}

#[cfg(test)]
mod tests {
    use super::read::{parse_run_file, parse_tables};
    use super::write::{CHUNK_ITEMS, Pending, RunRef, write_run_chunked};
    use super::*;

    /// A small generated run, correlated.
    fn generated_run() -> Run {
        let dir = tempfile::tempdir().unwrap();
        let opts = crate::synth::SynthOptions {
            events: 6_000,
            specs: 12,
            ..crate::synth::SynthOptions::default()
        };
        let s = crate::synth::generate(&opts, dir.path()).unwrap();
        let inputs = crate::correlate::Inputs {
            audit: vec![s.audit_path.display().to_string()],
            e2e_logs: vec![s.e2e_log_path.display().to_string()],
            ..Default::default()
        };
        crate::correlate::correlate(&inputs, &Default::default()).unwrap()
    }

    #[test]
    fn round_trip_gives_back_every_user_agent() {
        let run = generated_run();
        let mut bytes = Vec::new();
        write_run_to(&run, &mut bytes).unwrap();
        let back = read_run_from_slice(&bytes, "RUN.json").unwrap();

        let file: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
        let rows = file["agents"].as_array().unwrap();
        let as_parts = rows
            .iter()
            .filter(|r| r.as_array().unwrap().len() == 11)
            .count();
        assert!(
            as_parts * 2 > run.agents.len(),
            "{as_parts} of {} kept as parts",
            run.agents.len()
        );
        assert!(
            run.agents
                .iter()
                .any(|a| run.agent_text(a).ends_with("...TRUNCATED")
                    && matches!(a.text, AgentText::Parts { .. }))
        );

        assert_eq!(back.agents, run.agents);
        for a in &run.agents {
            assert_eq!(back.agent_text(a), run.agent_text(a));
        }
        assert_eq!(back.requests, run.requests);
        assert_eq!(back.users, run.users);
        assert_eq!(back.frames, run.frames);
        assert_eq!(back.traces, run.traces);
        assert_eq!(back.specs, run.specs);
        // Every string of the run keeps its id.
        for (id, text) in run.strings.iter().enumerate() {
            assert_eq!(back.str(id as u32), text, "string {id}");
        }
        // Writing the loaded run again gives the same bytes.
        let mut again = Vec::new();
        write_run_to(&back, &mut again).unwrap();
        assert!(again == bytes);
    }

    /// Writing over an earlier output (held open and closed aside, its cached pages dropped
    /// first) leaves the new bytes in place and nothing else in the folder; an earlier output
    /// whose pages were dropped but that is never replaced keeps its bytes.
    #[test]
    fn an_earlier_output_is_replaced_whole() {
        let run = generated_run();
        let mut expected = Vec::new();
        write_run_to(&run, &mut expected).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("RUN.json");
        std::fs::write(&path, b"an earlier run").unwrap();
        uncache_replaced(&path);
        assert_eq!(std::fs::read(&path).unwrap(), b"an earlier run");
        write_run(&run, &path).unwrap();
        assert!(std::fs::read(&path).unwrap() == expected);
        write_run(&run, &path).unwrap();
        assert!(std::fs::read(&path).unwrap() == expected);
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["RUN.json"]);
        // Not a regular file: nothing is opened, nothing changes.
        uncache_replaced(dir.path());
        uncache_replaced(&dir.path().join("missing.json"));
    }

    #[test]
    fn parallel_writer_gives_the_bytes_of_one_serializer() {
        let mut run = generated_run();
        // Requests without a time, first and in the middle, so the received deltas cross chunk
        // borders from a request before the last one.
        for i in [0, 1, 5, 6, 7, 100] {
            run.requests[i].received = NO_TIME;
        }
        // Text serde_json escapes, and text it leaves alone.
        let odd = "a\"b\\c\nd\u{7f}é\u{1}\t/";
        run.strings.intern(odd);
        run.strings.intern("plain ünïcode ✓");
        run.requests[2].audit_id = odd.into();
        let mut sequential = Vec::new();
        serde_json::to_writer(&mut sequential, &RunRef(&run)).unwrap();
        for chunk in [1, 2, 7, 1000, CHUNK_ITEMS] {
            let mut parallel = Vec::new();
            write_run_chunked(&run, &mut parallel, chunk, None).unwrap();
            assert!(parallel == sequential, "chunk {chunk}");
        }
        // Endpoints that come late, waited for before the column is made: the bytes of the
        // run with them set.
        let mut matched = run.clone();
        for (i, r) in matched.requests.iter_mut().enumerate() {
            r.endpoint = (i % 3 != 0).then_some(crate::run::OpId((i % 7) as u32));
        }
        let mut expected = Vec::new();
        serde_json::to_writer(&mut expected, &RunRef(&matched)).unwrap();
        for chunk in [1, 7, CHUNK_ITEMS] {
            let pending = Pending {
                values: std::sync::OnceLock::new(),
            };
            let endpoints: Vec<_> = matched.requests.iter().map(|r| r.endpoint).collect();
            let mut waited = 0;
            let mut wait = || {
                waited += 1;
                let _ = pending.values.set(endpoints.clone());
            };
            let mut late = Vec::new();
            write_run_chunked(&run, &mut late, chunk, Some((&pending, &mut wait))).unwrap();
            assert!(late == expected, "chunk {chunk}");
            assert_eq!(waited, 1);
        }
        // An empty run too (empty lists).
        let empty = Run::default();
        let mut sequential = Vec::new();
        serde_json::to_writer(&mut sequential, &RunRef(&empty)).unwrap();
        let mut parallel = Vec::new();
        write_run_to(&empty, &mut parallel).unwrap();
        assert_eq!(
            String::from_utf8(parallel).unwrap(),
            String::from_utf8(sequential).unwrap()
        );
    }

    #[test]
    fn the_parallel_parse_reads_what_one_parse_reads_and_fails_alike() {
        let mut run = generated_run();
        run.requests[4].audit_id = "with, a comma \"and\" escapes\n".into();
        // Requests without a time on both sides of the first chunk border of the build.
        for i in [0, BUILD_CHUNK - 1, BUILD_CHUNK, BUILD_CHUNK + 1] {
            run.requests[i].received = NO_TIME;
            run.requests[i].completed = NO_TIME;
        }
        run.requests[BUILD_CHUNK - 2].audit_id = "\u{1}".into();
        // Brackets and escaped quotes in strings must not end a list early.
        run.strings.intern("]]}\\\"[{ \\");
        run.notes.push("a note ] with } brackets".to_string());
        let mut bytes = Vec::new();
        write_run_to(&run, &mut bytes).unwrap();
        let fast = parse_tables(&bytes, Skip::NONE, &mut Vec::new())
            .expect("the fast parse takes a good file");
        // Built straight from the text, in chunks.
        assert!(fast.requests.built.is_some());
        assert!(
            run.requests.len() > 2 * BUILD_CHUNK / 2 + 100,
            "{}",
            run.requests.len()
        );
        let slow = parse_run_file(&bytes, "RUN.json").unwrap();
        let (fast, slow) = (
            build_run(fast, "RUN.json").unwrap(),
            build_run(slow, "RUN.json").unwrap(),
        );
        assert_eq!(fast.requests, slow.requests);
        assert_eq!(fast.requests[4].audit_id, run.requests[4].audit_id);
        assert_eq!(
            (&fast.agents, &fast.frames, &fast.traces, &fast.specs),
            (&slow.agents, &slow.frames, &slow.traces, &slow.specs)
        );
        assert_eq!(
            (&fast.users, &fast.operations, &fast.inputs, &fast.notes),
            (&slow.users, &slow.operations, &slow.inputs, &slow.notes)
        );
        assert!(fast.strings == slow.strings);

        let text = String::from_utf8(bytes).unwrap();
        let damaged = [
            text.replacen("\"code\":[", "\"code\":[\"x\",", 1),
            text.replacen("\"line\":[", "\"lines\":[", 1),
            text.replacen("\"frames\":[[", "\"frames\":[[-1,", 1),
            text.replacen("\"strings\":[", "\"strings\":[7,", 1),
            text.replacen("\"version\":4,", "\"version\":99,", 1),
            text.replacen("auditscope-run", "auditscope-walk", 1),
            text.replacen("\"audit_id\":[", "\"audit_id\":[1,", 1),
            text[..text.len() / 2].to_string(),
            format!("{text} x"),
            text.replacen("\"generator\":", "\"g\":[1 2],\"generator\":", 1),
            text.replacen("\"notes\":", "\"notes\":[],\"notes\":", 1),
            text.replacen("\"verb\":", "\"x\":tru,\"verb\":", 1),
            text.replacen("\"verb\":", "\"verb\":[],\"verb\":", 1),
            text.replacen("\"inputs\":", "\"inputs\":null,\"i\":", 1),
            text.replacen("\"specs\":", "\"spec\":", 1),
            text.replacen("]}}", "]}]", 1),
            text.replacen("\"strings\":[\"\"", "\"strings\":[\"\\x\"", 1),
            // A key serde_json refuses: a raw control character in it.
            text.replacen("\"accounting\":", "\"acc\tounting\":", 1),
        ];
        // Unusual but good files: read by the one-pass parse when the scan declines them.
        let unusual = [
            serde_json::to_string_pretty(
                &serde_json::from_str::<serde_json::Value>(&text).unwrap(),
            )
            .unwrap(),
            format!(" \n{text}\t\r\n"),
            text.replacen("\"notes\":", "\"n\\u006ftes\":", 1),
            text.replacen(
                "\"verb\":",
                "\"extra\":{\"a\":[1,{\"b\":\"]\"}]},\"verb\":",
                1,
            ),
            text.replacen("\"inputs\":", "\"unknown\": -1.5e3 ,\"inputs\":", 1),
        ];
        for (i, u) in unusual.iter().enumerate() {
            let back = read_run_from_slice(u.as_bytes(), "RUN.json").unwrap();
            assert_eq!(back.requests, run.requests, "unusual {i}");
            assert!(back.strings == run.strings, "unusual {i}");
        }
        assert!(parse_tables(unusual[0].as_bytes(), Skip::NONE, &mut Vec::new()).is_some());
        assert!(parse_tables(unusual[2].as_bytes(), Skip::NONE, &mut Vec::new()).is_none());
        assert!(parse_tables(unusual[3].as_bytes(), Skip::NONE, &mut Vec::new()).is_some());

        for (i, d) in damaged.iter().enumerate() {
            assert!(
                parse_tables(d.as_bytes(), Skip::NONE, &mut Vec::new()).is_none(),
                "case {i}"
            );
            let fast = read_run_from_slice(d.as_bytes(), "RUN.json").unwrap_err();
            let Err(slow) = parse_run_file(d.as_bytes(), "RUN.json") else {
                panic!("case {i} parses")
            };
            assert_eq!(fast.to_string(), slow.to_string(), "case {i}");
        }
    }

    #[test]
    fn skipped_columns_read_as_defaults_and_the_rest_as_before() {
        let run = generated_run();
        let mut bytes = Vec::new();
        write_run_to(&run, &mut bytes).unwrap();
        let skip = Skip::columns(&["audit_id", "user", "namespace", "line", "latency"]);
        let back = read_run_from_slice_skipping(&bytes, "RUN.json", skip).unwrap();
        assert_eq!(back.requests.len(), run.requests.len());
        for (b, r) in back.requests.iter().zip(&run.requests) {
            let want = Request {
                audit_id: "".into(),
                user: 0,
                object: ObjectRef {
                    namespace: 0,
                    ..r.object
                },
                line: 0,
                completed: NO_TIME,
                ..r.clone()
            };
            assert_eq!(*b, want);
        }
        assert_eq!(back.agents, run.agents);
        assert!(back.strings == run.strings);
        // A skipped column is still checked to be JSON, so a damaged file stays an error.
        let text = String::from_utf8(bytes).unwrap();
        let damaged = text.replacen("\"line\":[", "\"line\":[tru,", 1);
        let err = read_run_from_slice_skipping(damaged.as_bytes(), "RUN.json", skip).unwrap_err();
        assert!(
            err.to_string().contains("RUN.json: not a RUN.json"),
            "{err}"
        );
        // A column of the wrong length is only noticed when it is read.
        let short = text.replacen("\"namespace\":[", "\"namespace\":[1,", 1);
        assert!(read_run_from_slice(short.as_bytes(), "RUN.json").is_err());
        assert!(read_run_from_slice_skipping(short.as_bytes(), "RUN.json", skip).is_ok());
    }

    #[test]
    fn the_first_bad_request_in_order_is_reported() {
        let mut run = generated_run();
        let n = run.requests.len();
        assert!(n > 2_000, "{n} requests");
        run.requests[n - 1].agent = 99_999;
        run.requests[1_000].user = 9_999;
        run.requests[1_001].verb = 9_999_999;
        let users = run.users.len();
        assert_eq!(
            validate(&run).unwrap_err(),
            format!("user 9999 is out of range (table has {users})")
        );
        run.requests[1_000].user = 0;
        let strings = run.strings.len();
        assert_eq!(
            validate(&run).unwrap_err(),
            format!("request string 9999999 is out of range (table has {strings})")
        );
    }

    #[test]
    fn agents_kept_whole_are_written_whole() {
        let mut run = Run::default();
        let raw = format!("odd agent {}", "x".repeat(200));
        let raw_id = run.strings.intern(&raw);
        let product = run.strings.intern("odd");
        run.agents.push(Agent {
            text: AgentText::Whole(raw_id),
            product,
            ..Agent::default()
        });
        let mut bytes = Vec::new();
        write_run_to(&run, &mut bytes).unwrap();
        let file: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(file["agents"][0].as_array().unwrap().len(), 9);
        let back = read_run_from_slice(&bytes, "RUN.json").unwrap();
        assert_eq!(back.agent_text(&back.agents[0]), raw);
    }

    #[test]
    fn version_2_agents_with_a_blanked_text_read_as_parts() {
        // As version 2 wrote them: place 0 points at a string blanked to "".
        let mut run = Run::default();
        let product = run.strings.intern("e2e.test");
        let spec = run.strings.intern("[sig-node] Pods should run");
        let blank = run.strings.len() as u32;
        let mut bytes = Vec::new();
        write_run_to(&run, &mut bytes).unwrap();
        let mut file: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
        file["version"] = 2.into();
        file["strings"].as_array_mut().unwrap().push("".into());
        file["agents"] = serde_json::json!([[blank, product, 0, 0, 0, 0, 0, spec, 0, 1, 0]]);
        let back = read_run_from_slice(&serde_json::to_vec(&file).unwrap(), "RUN.json").unwrap();
        assert_eq!(
            back.agent_text(&back.agents[0]),
            "e2e.test -- [sig-node] Pods should run"
        );
    }

    #[test]
    fn version_3_files_read_without_a_release() {
        let mut run = generated_run();
        run.release = Some(crate::run::RunRelease {
            release: crate::run::Release::new(1, 25),
            source: crate::run::ReleaseSource::ComponentUserAgent,
            evidence: "kubelite/v1.25.6".into(),
            detected: None,
        });
        let mut bytes = Vec::new();
        write_run_to(&run, &mut bytes).unwrap();
        let file: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(
            file["release"],
            serde_json::json!({"release": "1.25", "source": "component-user-agent", "evidence": "kubelite/v1.25.6"})
        );
        assert_eq!(
            read_run_from_slice(&bytes, "RUN.json").unwrap().release,
            run.release
        );
        let mut old = file.clone();
        old["version"] = 3.into();
        old.as_object_mut().unwrap().remove("release");
        let back = read_run_from_slice(&serde_json::to_vec(&old).unwrap(), "RUN.json").unwrap();
        assert_eq!((back.release, back.requests), (None, run.requests));
    }

    #[test]
    fn bad_agent_rows_are_errors_not_panics() {
        let run = generated_run();
        let mut bytes = Vec::new();
        write_run_to(&run, &mut bytes).unwrap();
        let mut file: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
        let rows = file["agents"].as_array_mut().unwrap();
        let row = rows
            .iter_mut()
            .find(|r| r.as_array().unwrap().len() == 11)
            .unwrap();
        row[9] = 7.into();
        let damaged = serde_json::to_vec(&file).unwrap();
        let err = read_run_from_slice(&damaged, "RUN.json").unwrap_err();
        assert!(err.to_string().contains("unknown text form 7"), "{err}");

        let mut file: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
        file["agents"][0] = serde_json::json!([0, 0, 0]);
        let damaged = serde_json::to_vec(&file).unwrap();
        let err = read_run_from_slice(&damaged, "RUN.json").unwrap_err();
        assert!(err.to_string().contains("agent 0 has 3 numbers"), "{err}");
    }
}
