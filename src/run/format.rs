//! `RUN.json`: the correlated run on disk. The schema is documented in `docs/run-format.md`.
//!
//! Repeated text is stored once in `strings`; every other table holds indexes into it.
//! Requests are stored as columns (one array per field), which keeps the file small and
//! fast to load: `received` is delta-encoded, and `completed` is stored as a latency.

use std::fs::File;
use std::io::{BufReader, BufWriter, Read, Write};
use std::path::Path;

use serde::{Deserialize, Serialize};
use thiserror::Error;

use super::*;

/// The value of the `format` key, so a RUN.json is recognised as one.
pub const FORMAT_NAME: &str = "auditscope-run";
/// The schema version this build writes, and the newest it reads.
pub const FORMAT_VERSION: u32 = 1;

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

#[derive(Serialize, Deserialize)]
struct RunFile {
    format: String,
    version: u32,
    #[serde(default)]
    generator: String,
    #[serde(default)]
    inputs: Vec<InputInfo>,
    #[serde(default)]
    notes: Vec<String>,
    #[serde(default)]
    accounting: Accounting,
    strings: Vec<String>,
    /// `[name, group, group, …]` per user.
    users: Vec<Vec<StrId>>,
    /// `[raw, product, version, os, arch, commit, suffix, spec_text, trace + 1 (0 = none)]` per agent.
    agents: Vec<[u32; 9]>,
    /// `[function, file, line]` per frame.
    frames: Vec<[u32; 3]>,
    /// `[truncated (0/1), frame, frame, …]` per trace, frames innermost first.
    traces: Vec<Vec<u32>>,
    operations: Vec<Operation>,
    specs: Vec<Spec>,
    requests: RequestColumns,
}

/// Requests stored column by column. Optional ids are stored as `id + 1`, with 0 for none.
#[derive(Serialize, Deserialize, Default)]
struct RequestColumns {
    audit_id: Vec<String>,
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
    fn from_requests(requests: &[Request]) -> RequestColumns {
        let mut c = RequestColumns::default();
        let mut previous: i64 = 0;
        for r in requests {
            c.audit_id.push(r.audit_id.to_string());
            c.verb.push(r.verb);
            c.uri.push(r.uri);
            c.user.push(r.user);
            c.impersonated.push(opt_to_u32(r.impersonated));
            c.source_ips.push(r.source_ips);
            c.agent.push(r.agent);
            c.resource.push(r.object.resource);
            c.subresource.push(r.object.subresource);
            c.namespace.push(r.object.namespace);
            c.name.push(r.object.name);
            c.api_group.push(r.object.api_group);
            c.api_version.push(r.object.api_version);
            c.code.push(r.code);
            c.level.push(r.level as u8);
            c.stage.push(r.stage as u8);
            c.stage_events.push(r.stage_events);
            if r.received == NO_TIME {
                c.received.push(None);
            } else {
                c.received.push(Some(r.received.wrapping_sub(previous)));
                previous = r.received;
            }
            c.latency
                .push(if r.received == NO_TIME || r.completed == NO_TIME {
                    None
                } else {
                    Some(r.completed.wrapping_sub(r.received))
                });
            c.decision.push(r.decision as u8);
            c.reason.push(r.reason);
            c.spec.push(opt_to_u32(r.spec));
            c.attribution.push(r.attribution as u8);
            c.endpoint.push(opt_to_u32(r.endpoint));
            c.input.push(r.input);
            c.line.push(r.line);
        }
        c
    }

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

    fn into_requests(self) -> Result<Vec<Request>, String> {
        let n = self.len_checked()?;
        let mut out = Vec::with_capacity(n);
        let mut previous: i64 = 0;
        for (i, audit_id) in self.audit_id.into_iter().enumerate() {
            let received = match self.received[i] {
                Some(delta) => {
                    previous = previous.wrapping_add(delta);
                    previous
                }
                None => NO_TIME,
            };
            let completed = match (received, self.latency[i]) {
                (NO_TIME, _) | (_, None) => NO_TIME,
                (r, Some(l)) => r.wrapping_add(l),
            };
            out.push(Request {
                audit_id: audit_id.into_boxed_str(),
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
            });
        }
        Ok(out)
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
pub fn write_run_to(run: &Run, w: &mut dyn Write) -> Result<(), serde_json::Error> {
    let file = RunFile {
        format: FORMAT_NAME.to_string(),
        version: FORMAT_VERSION,
        generator: format!("auditscope {}", env!("CARGO_PKG_VERSION")),
        inputs: run.inputs.clone(),
        notes: run.notes.clone(),
        accounting: run.accounting.clone(),
        strings: run.strings.iter().map(str::to_string).collect(),
        users: run
            .users
            .iter()
            .map(|u| {
                let mut v = Vec::with_capacity(1 + u.groups.len());
                v.push(u.name);
                v.extend_from_slice(&u.groups);
                v
            })
            .collect(),
        agents: run
            .agents
            .iter()
            .map(|a| {
                [
                    a.raw,
                    a.product,
                    a.version,
                    a.os,
                    a.arch,
                    a.commit,
                    a.suffix,
                    a.spec_text,
                    opt_to_u32(a.trace),
                ]
            })
            .collect(),
        frames: run
            .frames
            .iter()
            .map(|f| [f.function, f.file, f.line])
            .collect(),
        traces: run
            .traces
            .iter()
            .map(|t| {
                let mut v = Vec::with_capacity(1 + t.frames.len());
                v.push(u32::from(t.truncated));
                v.extend_from_slice(&t.frames);
                v
            })
            .collect(),
        operations: run.operations.clone(),
        specs: run.specs.clone(),
        requests: RequestColumns::from_requests(&run.requests),
    };
    serde_json::to_writer(w, &file)
}

/// Reads a RUN.json written by [`write_run`], checking its version and every index in it.
pub fn read_run(path: &Path) -> Result<Run, FormatError> {
    let shown = path.display().to_string();
    let file = File::open(path).map_err(|source| FormatError::Io {
        path: shown.clone(),
        source,
    })?;
    let mut bytes = Vec::new();
    BufReader::new(file)
        .read_to_end(&mut bytes)
        .map_err(|source| FormatError::Io {
            path: shown.clone(),
            source,
        })?;
    read_run_from_slice(&bytes, &shown)
}

/// Parses RUN.json bytes; `path` is only used in error messages.
pub fn read_run_from_slice(bytes: &[u8], path: &str) -> Result<Run, FormatError> {
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
    let file: RunFile = serde_json::from_slice(bytes).map_err(json_err)?;
    let invalid = |message: String| FormatError::Invalid {
        path: path.to_string(),
        message,
    };
    let requests = file.requests.into_requests().map_err(invalid)?;
    let run = Run {
        strings: Interner::from_strings(file.strings),
        users: file
            .users
            .into_iter()
            .map(|v| User {
                name: v.first().copied().unwrap_or(0),
                groups: v.get(1..).map(<[u32]>::to_vec).unwrap_or_default(),
            })
            .collect(),
        agents: file
            .agents
            .into_iter()
            .map(|a| Agent {
                raw: a[0],
                product: a[1],
                version: a[2],
                os: a[3],
                arch: a[4],
                commit: a[5],
                suffix: a[6],
                spec_text: a[7],
                trace: u32_to_opt(a[8]),
            })
            .collect(),
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
        for id in [
            a.raw,
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
    for r in &run.requests {
        for id in [
            r.verb,
            r.uri,
            r.source_ips,
            r.reason,
            r.object.resource,
            r.object.subresource,
            r.object.namespace,
            r.object.name,
            r.object.api_group,
            r.object.api_version,
        ] {
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
    }
    Ok(())
}
