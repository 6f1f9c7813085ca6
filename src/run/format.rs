//! `RUN.json`: the correlated run on disk. The schema is documented in `docs/run-format.md`.
//!
//! Repeated text is stored once in `strings`; every other table holds indexes into it.
//! Requests are stored as columns (one array per field), which keeps the file small and
//! fast to load: `received` is delta-encoded, and `completed` is stored as a latency.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;

use serde::{Deserialize, Serialize};
use thiserror::Error;

use super::*;

/// The value of the `format` key, so a RUN.json is recognised as one.
pub const FORMAT_NAME: &str = "auditscope-run";
/// The schema version this build writes, and the newest it reads.
pub const FORMAT_VERSION: u32 = 3;

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

/// Requests stored column by column. Optional ids are stored as `id + 1`, with 0 for none.
#[derive(Deserialize, Default)]
struct RequestColumns {
    /// Each in an allocation of its own length, as [`Request::audit_id`] keeps it.
    audit_id: Vec<Box<str>>,
    verb: Vec<StrId>,
    uri: Vec<StrId>,
    user: Vec<UserId>,
    impersonated: Vec<u32>,
    source_ips: Vec<StrId>,
    agent: Vec<AgentId>,
    resource: Vec<StrId>,
    subresource: Vec<StrId>,
    namespace: Vec<StrId>,
    name: Vec<StrId>,
    api_group: Vec<StrId>,
    api_version: Vec<StrId>,
    code: Vec<u16>,
    level: Vec<u8>,
    stage: Vec<u8>,
    stage_events: Vec<u8>,
    /// Microseconds since the previous request with a time (the first: since the epoch); null when unknown.
    received: Vec<Option<i64>>,
    /// `completed - received` in microseconds; null when either is unknown.
    latency: Vec<Option<i64>>,
    decision: Vec<u8>,
    reason: Vec<StrId>,
    spec: Vec<u32>,
    attribution: Vec<u8>,
    endpoint: Vec<u32>,
    input: Vec<u16>,
    line: Vec<u64>,
}

fn opt_to_u32(v: Option<u32>) -> u32 {
    v.map_or(0, |x| x + 1)
}

fn u32_to_opt(v: u32) -> Option<u32> {
    v.checked_sub(1)
}

impl RequestColumns {
    fn len_checked(&self) -> Result<usize, String> {
        let n = self.audit_id.len();
        let lens = [
            ("verb", self.verb.len()),
            ("uri", self.uri.len()),
            ("user", self.user.len()),
            ("impersonated", self.impersonated.len()),
            ("source_ips", self.source_ips.len()),
            ("agent", self.agent.len()),
            ("resource", self.resource.len()),
            ("subresource", self.subresource.len()),
            ("namespace", self.namespace.len()),
            ("name", self.name.len()),
            ("api_group", self.api_group.len()),
            ("api_version", self.api_version.len()),
            ("code", self.code.len()),
            ("level", self.level.len()),
            ("stage", self.stage.len()),
            ("stage_events", self.stage_events.len()),
            ("received", self.received.len()),
            ("latency", self.latency.len()),
            ("decision", self.decision.len()),
            ("reason", self.reason.len()),
            ("spec", self.spec.len()),
            ("attribution", self.attribution.len()),
            ("endpoint", self.endpoint.len()),
            ("input", self.input.len()),
            ("line", self.line.len()),
        ];
        for (name, len) in lens {
            if len != n {
                return Err(format!(
                    "requests.{name} has {len} entries, requests.audit_id has {n}"
                ));
            }
        }
        Ok(n)
    }

    fn into_requests(mut self) -> Result<Vec<Request>, String> {
        use rayon::prelude::*;
        let n = self.len_checked()?;
        // The times first, in order (each delta is from the one before); the requests are
        // then built on rayon's threads.
        let mut previous: i64 = 0;
        for delta in self.received.iter_mut().flatten() {
            previous = previous.wrapping_add(*delta);
            *delta = previous;
        }
        let audit_ids = std::mem::take(&mut self.audit_id);
        let columns = &self;
        let out: Vec<Request> = audit_ids
            .into_par_iter()
            .with_min_len(4096)
            .enumerate()
            .map(|(i, audit_id)| columns.request(i, audit_id))
            .collect();
        debug_assert_eq!(out.len(), n);
        Ok(out)
    }

    /// Request `i`, whose `received` has been made absolute; `i` is below the checked length.
    fn request(&self, i: usize, audit_id: Box<str>) -> Request {
        let received = self.received[i].unwrap_or(NO_TIME);
        let completed = match (received, self.latency[i]) {
            (NO_TIME, _) | (_, None) => NO_TIME,
            (r, Some(l)) => r.wrapping_add(l),
        };
        Request {
            audit_id,
            verb: self.verb[i],
            uri: self.uri[i],
            user: self.user[i],
            impersonated: u32_to_opt(self.impersonated[i]),
            source_ips: self.source_ips[i],
            agent: self.agent[i],
            object: ObjectRef {
                resource: self.resource[i],
                subresource: self.subresource[i],
                namespace: self.namespace[i],
                name: self.name[i],
                api_group: self.api_group[i],
                api_version: self.api_version[i],
            },
            code: self.code[i],
            level: Level::from_u8(self.level[i]),
            stage: Stage::from_u8(self.stage[i]),
            stage_events: self.stage_events[i],
            received,
            completed,
            decision: Decision::from_u8(self.decision[i]),
            reason: self.reason[i],
            spec: u32_to_opt(self.spec[i]),
            attribution: Attribution::from_u8(self.attribution[i]),
            endpoint: u32_to_opt(self.endpoint[i]),
            input: self.input[i],
            line: self.line[i],
        }
    }
}

/// True when the bytes look like the start of a RUN.json (used to auto-detect inputs).
pub fn looks_like_run(head: &[u8]) -> bool {
    let text = String::from_utf8_lossy(&head[..head.len().min(256)]);
    let compact: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    compact.starts_with(&format!("{{\"format\":\"{FORMAT_NAME}\""))
}

/// Writes `run` to `path` atomically: a temporary file beside it, renamed into place, so a
/// failure never leaves a partial RUN.json behind.
pub fn write_run(run: &Run, path: &Path) -> Result<(), FormatError> {
    let shown = path.display().to_string();
    let io_err = |source| FormatError::Io {
        path: shown.clone(),
        source,
    };
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let file_name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "RUN.json".to_string());
    let tmp = dir.join(format!(".{file_name}.{}.tmp", std::process::id()));
    let result = (|| {
        let file = File::create(&tmp).map_err(io_err)?;
        let mut w = BufWriter::with_capacity(1 << 20, file);
        write_run_to(run, &mut w).map_err(|source| FormatError::Json {
            path: shown.clone(),
            source,
        })?;
        w.flush().map_err(io_err)?;
        w.into_inner()
            .map_err(|e| io_err(e.into_error()))?
            .sync_all()
            .map_err(io_err)?;
        std::fs::rename(&tmp, path).map_err(io_err)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// Serializes `run` as RUN.json into any writer.
///
/// The big tables (strings, users, agents, frames, traces and each request column) are cut
/// into chunks that rayon's threads serialize into buffers at once; the buffers are written
/// in order, a group at a time so only a few megabytes are held. The bytes are the same as one
/// serde_json serializer writing the whole run in one go (a test holds the two side by side).
pub fn write_run_to(run: &Run, w: &mut dyn Write) -> Result<(), serde_json::Error> {
    write_run_chunked(run, w, CHUNK_ITEMS)
}

/// Items per chunk of a number column serialized on one thread (some tens of kilobytes); the
/// tables of text and of rows take a quarter as many (a few hundred kilobytes).
const CHUNK_ITEMS: usize = 1 << 14;
/// Chunks serialized at once before their buffers are written out: the memory held is a few
/// megabytes.
const GROUP_PIECES: usize = 8;

/// [`write_run_to`] with `chunk` items per chunk (small in tests, to cross chunk borders).
fn write_run_chunked(run: &Run, w: &mut dyn Write, chunk: usize) -> Result<(), serde_json::Error> {
    use rayon::prelude::*;
    let pieces = run_pieces(run, chunk.max(1))?;
    // One buffer per piece of a group, kept from group to group: fresh memory for every
    // chunk would cost more in page faults than the serializing itself.
    let mut bufs: Vec<Vec<u8>> = vec![Vec::new(); GROUP_PIECES];
    for group in pieces.chunks(GROUP_PIECES) {
        group
            .par_iter()
            .zip(bufs.par_iter_mut())
            .try_for_each(|(piece, buf)| {
                buf.clear();
                match piece {
                    Piece::Text(_) => Ok(()),
                    Piece::Job(job) => job(buf),
                }
            })?;
        for (piece, buf) in group.iter().zip(&bufs) {
            let bytes = match piece {
                Piece::Text(text) => text.as_slice(),
                Piece::Job(_) => buf.as_slice(),
            };
            w.write_all(bytes).map_err(serde_json::Error::io)?;
        }
    }
    Ok(())
}

/// Serializes part of a RUN.json into a buffer.
type Job<'a> = Box<dyn Fn(&mut Vec<u8>) -> Result<(), serde_json::Error> + Send + Sync + 'a>;

/// One part of a RUN.json, in file order.
enum Piece<'a> {
    /// Bytes known up front (keys, brackets, small values).
    Text(Vec<u8>),
    /// Bytes made on a worker thread.
    Job(Job<'a>),
}

/// A RUN.json as a list of pieces, in the compact form serde_json writes: `{"key":value,…}`.
struct Pieces<'a> {
    list: Vec<Piece<'a>>,
    chunk: usize,
    /// Fields written so far in the innermost open object, for the commas.
    fields: Vec<usize>,
}

impl<'a> Pieces<'a> {
    fn text(&mut self, bytes: &[u8]) {
        if let Some(Piece::Text(last)) = self.list.last_mut() {
            last.extend_from_slice(bytes);
        } else {
            self.list.push(Piece::Text(bytes.to_vec()));
        }
    }

    fn open(&mut self) {
        self.text(b"{");
        self.fields.push(0);
    }

    fn close(&mut self) {
        self.text(b"}");
        self.fields.pop();
    }

    /// `"key":` with the comma before it when needed. Keys are plain ASCII names, so they need
    /// no escaping.
    fn key(&mut self, key: &str) {
        let first = self.fields.last().is_none_or(|&n| n == 0);
        if let Some(n) = self.fields.last_mut() {
            *n += 1;
        }
        let mut bytes = Vec::with_capacity(key.len() + 4);
        if !first {
            bytes.push(b',');
        }
        bytes.push(b'"');
        bytes.extend_from_slice(key.as_bytes());
        bytes.extend_from_slice(b"\":");
        self.text(&bytes);
    }

    /// A small field, serialized here.
    fn field<T: Serialize + ?Sized>(
        &mut self,
        key: &str,
        value: &T,
    ) -> Result<(), serde_json::Error> {
        self.key(key);
        let bytes = serde_json::to_vec(value)?;
        self.text(&bytes);
        Ok(())
    }

    /// A list of `n` items, chunks of which `write` serializes (items `range`, each but the
    /// very first preceded by a comma).
    fn list<F>(&mut self, key: &str, n: usize, write: F)
    where
        F: Fn(std::ops::Range<usize>, &mut Vec<u8>) -> Result<(), serde_json::Error>
            + Send
            + Sync
            + 'a,
    {
        self.key(key);
        self.text(b"[");
        let write = std::sync::Arc::new(write);
        let mut start = 0;
        while start < n {
            let end = n.min(start + self.chunk);
            let write = std::sync::Arc::clone(&write);
            self.list
                .push(Piece::Job(Box::new(move |buf| write(start..end, buf))));
            start = end;
        }
        self.text(b"]");
    }

    /// A list whose item `i` is written by `write_item(i, buf)`, separated by commas.
    fn each<F>(&mut self, key: &str, n: usize, write_item: F)
    where
        F: Fn(usize, &mut Vec<u8>) -> Result<(), serde_json::Error> + Send + Sync + 'a,
    {
        self.list(key, n, move |range, buf| {
            for i in range {
                if i > 0 {
                    buf.push(b',');
                }
                write_item(i, buf)?;
            }
            Ok(())
        });
    }

    /// A list whose item `i` is `item(i)`.
    fn items<T, F>(&mut self, key: &str, n: usize, item: F)
    where
        T: Serialize,
        F: Fn(usize) -> T + Send + Sync + 'a,
    {
        self.each(key, n, move |i, buf| serde_json::to_writer(buf, &item(i)));
    }

    /// [`Pieces::items`] for the scalars of the big tables, written without a serializer.
    fn scalars<T, F>(&mut self, key: &str, n: usize, item: F)
    where
        T: JsonScalar,
        F: Fn(usize) -> T + Send + Sync + 'a,
    {
        self.each(key, n, move |i, buf| item(i).write_json(buf));
    }
}

/// A value written straight into a buffer, as serde_json writes it (the big request columns
/// and the string table are most of a RUN.json, and a serializer per number costs).
trait JsonScalar {
    fn write_json(&self, buf: &mut Vec<u8>) -> Result<(), serde_json::Error>;
}

macro_rules! json_integer {
    ($($t:ty),*) => {$(
        impl JsonScalar for $t {
            #[inline]
            fn write_json(&self, buf: &mut Vec<u8>) -> Result<(), serde_json::Error> {
                buf.extend_from_slice(itoa::Buffer::new().format(*self).as_bytes());
                Ok(())
            }
        }
    )*};
}
json_integer!(u8, u16, u32, u64, i64);

impl<T: JsonScalar> JsonScalar for Option<T> {
    #[inline]
    fn write_json(&self, buf: &mut Vec<u8>) -> Result<(), serde_json::Error> {
        match self {
            Some(v) => v.write_json(buf),
            None => {
                buf.extend_from_slice(b"null");
                Ok(())
            }
        }
    }
}

impl JsonScalar for &str {
    #[inline]
    fn write_json(&self, buf: &mut Vec<u8>) -> Result<(), serde_json::Error> {
        // serde_json escapes only control characters, '"' and '\\': text without them is
        // written as it is.
        if self.bytes().all(|b| b >= 0x20 && b != b'"' && b != b'\\') {
            buf.reserve(self.len() + 2);
            buf.push(b'"');
            buf.extend_from_slice(self.as_bytes());
            buf.push(b'"');
            Ok(())
        } else {
            serde_json::to_writer(buf, self)
        }
    }
}

/// The pieces of `run`'s RUN.json, in the shape of [`RunFile`].
fn run_pieces(run: &Run, chunk: usize) -> Result<Vec<Piece<'_>>, serde_json::Error> {
    let mut p = Pieces {
        list: Vec::new(),
        chunk,
        fields: Vec::new(),
    };
    p.open();
    p.field("format", FORMAT_NAME)?;
    p.field("version", &FORMAT_VERSION)?;
    p.field(
        "generator",
        &format!("auditscope {}", env!("CARGO_PKG_VERSION")),
    )?;
    p.field("inputs", &run.inputs)?;
    p.field("notes", &run.notes)?;
    p.field("accounting", &run.accounting)?;
    // Text and rows are longer than numbers: smaller chunks keep the buffers alike.
    p.chunk = (chunk / 4).max(1);
    p.scalars("strings", run.strings.len(), |i| {
        run.strings.get(i as StrId)
    });
    p.items("users", run.users.len(), |i| {
        let u = &run.users[i];
        Seq(move || std::iter::once(&u.name).chain(&u.groups))
    });
    p.items("agents", run.agents.len(), |i| agent_row(&run.agents[i]));
    p.items("frames", run.frames.len(), |i| {
        let f = &run.frames[i];
        [f.function, f.file, f.line]
    });
    p.items("traces", run.traces.len(), |i| trace_row(&run.traces[i]));
    p.field("operations", &run.operations)?;
    p.field("specs", &run.specs)?;
    p.key("requests");
    p.open();
    let rs = &run.requests[..];
    p.scalars("audit_id", rs.len(), move |i| &*rs[i].audit_id);
    p.chunk = chunk;
    macro_rules! column {
        ($name:literal, $f:expr) => {
            p.scalars($name, rs.len(), move |i| ($f)(&rs[i]))
        };
    }
    column!("verb", |r: &Request| r.verb);
    column!("uri", |r: &Request| r.uri);
    column!("user", |r: &Request| r.user);
    column!("impersonated", |r: &Request| opt_to_u32(r.impersonated));
    column!("source_ips", |r: &Request| r.source_ips);
    column!("agent", |r: &Request| r.agent);
    column!("resource", |r: &Request| r.object.resource);
    column!("subresource", |r: &Request| r.object.subresource);
    column!("namespace", |r: &Request| r.object.namespace);
    column!("name", |r: &Request| r.object.name);
    column!("api_group", |r: &Request| r.object.api_group);
    column!("api_version", |r: &Request| r.object.api_version);
    column!("code", |r: &Request| r.code);
    column!("level", |r: &Request| r.level as u8);
    column!("stage", |r: &Request| r.stage as u8);
    column!("stage_events", |r: &Request| r.stage_events);
    p.list("received", rs.len(), move |range, buf| {
        // The delta is from the last request with a time before the chunk.
        let mut previous = rs[..range.start]
            .iter()
            .rev()
            .find(|r| r.received != NO_TIME)
            .map_or(0, |r| r.received);
        for i in range {
            if i > 0 {
                buf.push(b',');
            }
            let r = &rs[i];
            let delta = if r.received == NO_TIME {
                None
            } else {
                let delta = r.received.wrapping_sub(previous);
                previous = r.received;
                Some(delta)
            };
            delta.write_json(buf)?;
        }
        Ok(())
    });
    column!("latency", |r: &Request| latency(r));
    column!("decision", |r: &Request| r.decision as u8);
    column!("reason", |r: &Request| r.reason);
    column!("spec", |r: &Request| opt_to_u32(r.spec));
    column!("attribution", |r: &Request| r.attribution as u8);
    column!("endpoint", |r: &Request| opt_to_u32(r.endpoint));
    column!("input", |r: &Request| r.input);
    column!("line", |r: &Request| r.line);
    p.close();
    p.close();
    Ok(p.list)
}

/// `completed - received`, as stored; `None` when either is unknown.
fn latency(r: &Request) -> Option<i64> {
    if r.received == NO_TIME || r.completed == NO_TIME {
        None
    } else {
        Some(r.completed.wrapping_sub(r.received))
    }
}

/// An agent's RUN.json row (see [`RunFile::agents`]).
fn agent_row(a: &Agent) -> impl Serialize + use<> {
    let (text, order_tail) = match a.text {
        AgentText::Whole(id) => (id, None),
        AgentText::Parts { order, tail } => (0, Some([order as u32, tail])),
    };
    let row = [
        text,
        a.product,
        a.version,
        a.os,
        a.arch,
        a.commit,
        a.suffix,
        a.spec_text,
        opt_to_u32(a.trace),
    ];
    Seq(move || row.into_iter().chain(order_tail.into_iter().flatten()))
}

/// A trace's RUN.json row: `[truncated, frame, …]`.
fn trace_row(t: &Trace) -> impl Serialize + '_ {
    Seq(move || std::iter::once(u32::from(t.truncated)).chain(t.frames.iter().copied()))
}

/// A sequence serialized from an iterator made on demand.
struct Seq<F>(F);

impl<F, I> Serialize for Seq<F>
where
    F: Fn() -> I,
    I: IntoIterator,
    I::Item: Serialize,
{
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq((self.0)())
    }
}

/// `run` in the shape of [`RunFile`], serialized by reference through one serializer: the
/// reference the parallel writer is tested against.
#[cfg(test)]
struct RunRef<'a>(&'a Run);

#[cfg(test)]
impl Serialize for RunRef<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let run = self.0;
        let mut st = s.serialize_struct("RunFile", 14)?;
        st.serialize_field("format", FORMAT_NAME)?;
        st.serialize_field("version", &FORMAT_VERSION)?;
        st.serialize_field(
            "generator",
            &format!("auditscope {}", env!("CARGO_PKG_VERSION")),
        )?;
        st.serialize_field("inputs", &run.inputs)?;
        st.serialize_field("notes", &run.notes)?;
        st.serialize_field("accounting", &run.accounting)?;
        st.serialize_field("strings", &Seq(|| run.strings.iter()))?;
        st.serialize_field(
            "users",
            &Seq(|| {
                run.users
                    .iter()
                    .map(|u| Seq(move || std::iter::once(&u.name).chain(&u.groups)))
            }),
        )?;
        st.serialize_field("agents", &Seq(|| run.agents.iter().map(agent_row)))?;
        st.serialize_field(
            "frames",
            &Seq(|| run.frames.iter().map(|f| [f.function, f.file, f.line])),
        )?;
        st.serialize_field("traces", &Seq(|| run.traces.iter().map(trace_row)))?;
        st.serialize_field("operations", &run.operations)?;
        st.serialize_field("specs", &run.specs)?;
        st.serialize_field("requests", &ColumnsRef(&run.requests))?;
        st.end()
    }
}

/// Requests in the shape of [`RequestColumns`], one column at a time.
#[cfg(test)]
struct ColumnsRef<'a>(&'a [Request]);

#[cfg(test)]
impl Serialize for ColumnsRef<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let rs = self.0;
        let mut st = s.serialize_struct("RequestColumns", 26)?;
        macro_rules! column {
            ($name:literal, $f:expr) => {
                st.serialize_field($name, &Seq(|| rs.iter().map($f)))?
            };
        }
        column!("audit_id", |r| &*r.audit_id);
        column!("verb", |r| r.verb);
        column!("uri", |r| r.uri);
        column!("user", |r| r.user);
        column!("impersonated", |r| opt_to_u32(r.impersonated));
        column!("source_ips", |r| r.source_ips);
        column!("agent", |r| r.agent);
        column!("resource", |r| r.object.resource);
        column!("subresource", |r| r.object.subresource);
        column!("namespace", |r| r.object.namespace);
        column!("name", |r| r.object.name);
        column!("api_group", |r| r.object.api_group);
        column!("api_version", |r| r.object.api_version);
        column!("code", |r| r.code);
        column!("level", |r| r.level as u8);
        column!("stage", |r| r.stage as u8);
        column!("stage_events", |r| r.stage_events);
        st.serialize_field(
            "received",
            &Seq(|| {
                rs.iter().scan(0i64, |previous, r| {
                    Some(if r.received == NO_TIME {
                        None
                    } else {
                        let delta = r.received.wrapping_sub(*previous);
                        *previous = r.received;
                        Some(delta)
                    })
                })
            }),
        )?;
        column!(
            "latency",
            |r| if r.received == NO_TIME || r.completed == NO_TIME {
                None
            } else {
                Some(r.completed.wrapping_sub(r.received))
            }
        );
        column!("decision", |r| r.decision as u8);
        column!("reason", |r| r.reason);
        column!("spec", |r| opt_to_u32(r.spec));
        column!("attribution", |r| r.attribution as u8);
        column!("endpoint", |r| opt_to_u32(r.endpoint));
        column!("input", |r| r.input);
        column!("line", |r| r.line);
        st.end()
    }
}

/// Reads a RUN.json written by [`write_run`], checking its version and every index in it.
pub fn read_run(path: &Path) -> Result<Run, FormatError> {
    let shown = path.display().to_string();
    // One allocation of the file's size (no doubling while reading).
    let bytes = std::fs::read(path).map_err(|source| FormatError::Io {
        path: shown.clone(),
        source,
    })?;
    let file = parse_run_file_fast(&bytes, &shown)?;
    // The text is not needed any more: free it before the tables are built from the parse.
    drop(bytes);
    build_run(file, &shown)
}

/// Parses RUN.json bytes; `path` is only used in error messages.
pub fn read_run_from_slice(bytes: &[u8], path: &str) -> Result<Run, FormatError> {
    build_run(parse_run_file_fast(bytes, path)?, path)
}

/// [`read_run_from_slice`] through the one-pass parse alone, which the fast parse falls back
/// to: for differential fuzzing (`fuzz/targets.rs`), which checks both give the same.
#[doc(hidden)]
pub fn read_run_one_pass(bytes: &[u8], path: &str) -> Result<Run, FormatError> {
    build_run(parse_run_file(bytes, path)?, path)
}

/// [`parse_run_file`], with the big tables parsed at once on rayon's threads.
///
/// The top level is parsed first with every big table kept as text (which also checks the
/// whole file is JSON), then the tables are parsed each on its own. Anything that fails on
/// the way is handed to [`parse_run_file`], so the error reported, and the order the checks
/// are made in, are exactly those of one serde_json parse of the whole file.
fn parse_run_file_fast(bytes: &[u8], path: &str) -> Result<RunFile, FormatError> {
    match parse_tables(bytes) {
        Some(file) => Ok(file),
        None => parse_run_file(bytes, path),
    }
}

/// A JSON list parsed into a vector allocated once: its length is at most the number of
/// commas plus one (exactly, for a list of numbers), counted ahead. Growing the vector by
/// doubling instead, two dozen columns at once on two threads, costs time in copies and page
/// faults and raises the peak memory. `None` when the text is not such a list.
fn parse_column<'a, T: Deserialize<'a>>(text: &'a [u8]) -> Option<Vec<T>> {
    use serde::de::{Deserializer as _, SeqAccess, Visitor};
    struct ListVisitor<T>(usize, std::marker::PhantomData<T>);
    impl<'de, T: Deserialize<'de>> Visitor<'de> for ListVisitor<T> {
        type Value = Vec<T>;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("a list")
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<T>, A::Error> {
            let mut out = Vec::with_capacity(self.0);
            while let Some(item) = seq.next_element()? {
                out.push(item);
            }
            Ok(out)
        }
    }
    let capacity = memchr::memchr_iter(b',', text).count() + 1;
    let mut de = serde_json::Deserializer::from_slice(text);
    let list = (&mut de)
        .deserialize_seq(ListVisitor(capacity, std::marker::PhantomData))
        .ok()?;
    de.end().ok()?;
    Some(list)
}

/// The fast parse of [`parse_run_file_fast`]; `None` when anything is amiss (the header too:
/// the slow parse names the problem).
fn parse_tables(bytes: &[u8]) -> Option<RunFile> {
    // Every value is parsed (or, for keys not read, checked) by serde_json from its own text
    // below; the scan checks the grammar around them. So the fast parse takes exactly the
    // files the one-pass parse takes.
    let top = Fields::of_object(bytes)?;
    let format: Option<String> = top.parse("format")?.unwrap_or(None);
    let version: Option<u32> = top.parse("version")?.unwrap_or(None);
    if format.as_deref() != Some(FORMAT_NAME) || version.unwrap_or(0) > FORMAT_VERSION {
        return None;
    }
    let requests = Fields::of_object(top.get("requests")?)?;
    const TOP: [&str; 13] = [
        "format",
        "version",
        "inputs",
        "notes",
        "accounting",
        "strings",
        "users",
        "agents",
        "frames",
        "traces",
        "operations",
        "specs",
        "requests",
    ];
    if !top.others_are_json(&TOP) {
        return None;
    }
    fn part<'a, T: Deserialize<'a>>(text: Option<&'a [u8]>, out: &mut Option<T>) {
        *out = text.and_then(|t| serde_json::from_slice(t).ok());
    }
    fn column<'a, T: Deserialize<'a>>(text: Option<&'a [u8]>, out: &mut Option<Vec<T>>) {
        *out = text.and_then(parse_column);
    }
    let (mut strings, mut users, mut agents, mut frames, mut traces, mut operations, mut specs) =
        (None, None, None, None, None, None, None);
    let (mut inputs, mut notes, mut accounting) = (None, None, None);
    macro_rules! columns {
        ($($name:ident),*) => {{
            if !requests.others_are_json(&[$(stringify!($name)),*]) {
                return None;
            }
            $(let mut $name = None;)*
            rayon::scope(|s| {
                s.spawn(|_| part(top.get("strings"), &mut strings));
                s.spawn(|_| part(top.get("users"), &mut users));
                s.spawn(|_| part(top.get("agents"), &mut agents));
                s.spawn(|_| part(top.get("frames"), &mut frames));
                s.spawn(|_| part(top.get("traces"), &mut traces));
                s.spawn(|_| part(top.get("operations"), &mut operations));
                s.spawn(|_| part(top.get("specs"), &mut specs));
                s.spawn(|_| {
                    inputs = top.parse("inputs");
                    notes = top.parse("notes");
                    accounting = top.parse("accounting");
                });
                $(s.spawn(|_| column(requests.get(stringify!($name)), &mut $name));)*
            });
            RequestColumns { $($name: $name?,)* }
        }};
    }
    let requests = columns!(
        audit_id,
        verb,
        uri,
        user,
        impersonated,
        source_ips,
        agent,
        resource,
        subresource,
        namespace,
        name,
        api_group,
        api_version,
        code,
        level,
        stage,
        stage_events,
        received,
        latency,
        decision,
        reason,
        spec,
        attribution,
        endpoint,
        input,
        line
    );
    Some(RunFile {
        // Absent lists and counts are empty, as `#[serde(default)]` makes them.
        inputs: inputs?.unwrap_or_default(),
        notes: notes?.unwrap_or_default(),
        accounting: accounting?.unwrap_or_default(),
        strings: strings?,
        users: users?,
        agents: agents?,
        frames: frames?,
        traces: traces?,
        operations: operations?,
        specs: specs?,
        requests,
    })
}

/// The fields of one JSON object, each value as its text, found by a scan that skips over
/// values by their brackets and quotes without parsing them.
struct Fields<'a> {
    list: Vec<(&'a [u8], &'a [u8])>,
}

impl<'a> Fields<'a> {
    /// The fields of the object `text` is (nothing but white space around it); `None` when
    /// the scan does not take it (an escaped or repeated key, say: the slow parse decides).
    fn of_object(text: &'a [u8]) -> Option<Fields<'a>> {
        let mut scan = Scan { b: text, i: 0 };
        let mut list: Vec<(&'a [u8], &'a [u8])> = Vec::new();
        scan.expect(b'{')?;
        if scan.peek()? == b'}' {
            scan.i += 1;
        } else {
            loop {
                let key = scan.key()?;
                scan.expect(b':')?;
                let value = scan.value()?;
                if list.iter().any(|(k, _)| *k == key) {
                    return None;
                }
                list.push((key, value));
                match scan.peek()? {
                    b',' => scan.i += 1,
                    b'}' => {
                        scan.i += 1;
                        break;
                    }
                    _ => return None,
                }
            }
        }
        scan.skip_space();
        (scan.i == text.len()).then_some(Fields { list })
    }

    /// The text of field `key`.
    fn get(&self, key: &str) -> Option<&'a [u8]> {
        self.list
            .iter()
            .find(|(k, _)| *k == key.as_bytes())
            .map(|&(_, v)| v)
    }

    /// Field `key` parsed: `Some(None)` when it is absent, `None` when it does not parse.
    fn parse<T: Deserialize<'a>>(&self, key: &str) -> Option<Option<T>> {
        match self.get(key) {
            None => Some(None),
            Some(text) => serde_json::from_slice(text).ok().map(Some),
        }
    }

    /// True when every field not named in `known` is JSON (the one-pass parse checks the
    /// values it skips).
    fn others_are_json(&self, known: &[&str]) -> bool {
        self.list
            .iter()
            .filter(|(k, _)| !known.iter().any(|n| n.as_bytes() == *k))
            .all(|(_, v)| serde_json::from_slice::<serde::de::IgnoredAny>(v).is_ok())
    }
}

/// A position in JSON text, for [`Fields`].
struct Scan<'a> {
    b: &'a [u8],
    i: usize,
}

impl<'a> Scan<'a> {
    fn skip_space(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.b.get(self.i) {
            self.i += 1;
        }
    }

    /// The next byte after white space, not taken.
    fn peek(&mut self) -> Option<u8> {
        self.skip_space();
        self.b.get(self.i).copied()
    }

    fn expect(&mut self, byte: u8) -> Option<()> {
        (self.peek()? == byte).then(|| self.i += 1)
    }

    /// A key without escapes, quotes taken off. Keys are the one part of the text that no
    /// serde_json parse of a value looks at, so a key serde_json would refuse (invalid UTF-8,
    /// a control character) is declined here.
    fn key(&mut self) -> Option<&'a [u8]> {
        self.expect(b'"')?;
        let rest = self.b.get(self.i..)?;
        let end = memchr::memchr2(b'"', b'\\', rest)?;
        if rest.get(end) != Some(&b'"') {
            return None;
        }
        let key = rest.get(..end)?;
        if std::str::from_utf8(key).is_err() || key.iter().any(|&b| b < 0x20) {
            return None;
        }
        self.i += end + 1;
        Some(key)
    }

    /// The text of the value here, skipped.
    fn value(&mut self) -> Option<&'a [u8]> {
        let start = {
            self.peek()?;
            self.i
        };
        match self.b.get(self.i)? {
            b'[' => self.skip_nested(b'[', b']')?,
            b'{' => self.skip_nested(b'{', b'}')?,
            b'"' => self.skip_string()?,
            _ => {
                while let Some(c) = self.b.get(self.i) {
                    if matches!(c, b',' | b'}' | b']' | b' ' | b'\t' | b'\n' | b'\r') {
                        break;
                    }
                    self.i += 1;
                }
            }
        }
        self.b.get(start..self.i)
    }

    /// Skips the string opening here.
    fn skip_string(&mut self) -> Option<()> {
        self.i += 1;
        loop {
            let at = memchr::memchr2(b'"', b'\\', self.b.get(self.i..)?)?;
            let c = *self.b.get(self.i + at)?;
            self.i += at + if c == b'"' { 1 } else { 2 };
            if c == b'"' {
                return Some(());
            }
        }
    }

    /// Skips the list or object opening here: only its own kind of bracket is counted (the
    /// other kind nests inside it) and brackets in strings are skipped.
    fn skip_nested(&mut self, open: u8, close: u8) -> Option<()> {
        let mut depth = 0usize;
        loop {
            let at = memchr::memchr3(b'"', open, close, self.b.get(self.i..)?)?;
            self.i += at;
            match *self.b.get(self.i)? {
                b'"' => {
                    self.skip_string()?;
                    continue;
                }
                c if c == open => depth += 1,
                _ => depth = depth.checked_sub(1)?,
            }
            self.i += 1;
            if depth == 0 {
                return Some(());
            }
        }
    }
}

/// Checks the header of RUN.json bytes and parses them.
fn parse_run_file(bytes: &[u8], path: &str) -> Result<RunFile, FormatError> {
    // Look at the header first, so a newer schema is reported as such rather than as
    // whatever field it fails to parse.
    #[derive(Deserialize)]
    struct Header {
        format: Option<String>,
        version: Option<u32>,
    }
    let json_err = |source| FormatError::Json {
        path: path.to_string(),
        source,
    };
    let header: Header = serde_json::from_slice(bytes).map_err(json_err)?;
    let format = header.format.unwrap_or_default();
    if format != FORMAT_NAME {
        return Err(FormatError::NotARun {
            path: path.to_string(),
            found: format,
        });
    }
    let version = header.version.unwrap_or(0);
    if version > FORMAT_VERSION {
        return Err(FormatError::TooNew {
            path: path.to_string(),
            found: version,
        });
    }
    serde_json::from_slice(bytes).map_err(json_err)
}

/// Builds the run from a parsed RUN.json, checking every index in it.
fn build_run(file: RunFile, path: &str) -> Result<Run, FormatError> {
    let invalid = |message: String| FormatError::Invalid {
        path: path.to_string(),
        message,
    };
    let requests = file.requests.into_requests().map_err(invalid)?;
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
        let text = match a.text {
            AgentText::Whole(id) => id,
            AgentText::Parts { tail, .. } => tail,
        };
        for id in [
            text,
            a.product,
            a.version,
            a.os,
            a.arch,
            a.commit,
            a.suffix,
            a.spec_text,
        ] {
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
            check("spec", sp, run.specs.len())?;
        }
        if let Some(op) = r.endpoint {
            check("operation", op, run.operations.len())?;
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
            write_run_chunked(&run, &mut parallel, chunk).unwrap();
            assert!(parallel == sequential, "chunk {chunk}");
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
        // Brackets and escaped quotes in strings must not end a list early.
        run.strings.intern("]]}\\\"[{ \\");
        run.notes.push("a note ] with } brackets".to_string());
        let mut bytes = Vec::new();
        write_run_to(&run, &mut bytes).unwrap();
        let fast = parse_tables(&bytes).expect("the fast parse takes a good file");
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
            text.replacen("\"version\":3,", "\"version\":99,", 1),
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
        assert!(parse_tables(unusual[0].as_bytes()).is_some());
        assert!(parse_tables(unusual[2].as_bytes()).is_none());
        assert!(parse_tables(unusual[3].as_bytes()).is_some());

        for (i, d) in damaged.iter().enumerate() {
            assert!(parse_tables(d.as_bytes()).is_none(), "case {i}");
            let fast = read_run_from_slice(d.as_bytes(), "RUN.json").unwrap_err();
            let Err(slow) = parse_run_file(d.as_bytes(), "RUN.json") else {
                panic!("case {i} parses")
            };
            assert_eq!(fast.to_string(), slow.to_string(), "case {i}");
        }
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
