//! Decoding one line (or one JSON value) of an audit input into events: the plain event, and
//! every wrapper platforms put around it, one module per wrapper.
//!
//! | module | shape | where it comes from |
//! |---|---|---|
//! | (here) | an `audit.k8s.io` `Event`; a JSON array of anything below | the API server's log backend |
//! | [`eventlist`] | `{"kind":"EventList","items":[…]}` | the webhook backend's batch |
//! | [`eventhubs`] | `{"records":[{"properties":{"log":"<event>"}}]}` | AKS diagnostic settings to Azure Event Hubs |
//! | [`opensearch`] | `{"hits":{"hits":[{"_source":{"Body.value":"<event>"}}]}}`, a hit, a `_source` | OpenSearch/Elasticsearch exports |
//! | [`wrapper`] | `{"log":"<event>",…}`, `{"message":"<event>",…}` (string or object) | fluent-bit, fluentd, docker json-file, CloudWatch items |
//! | [`cloudwatch`] | `{"events":[…]}`, `{"logEvents":[…]}`, `<timestamp> <event>` lines | `aws logs filter-log-events`/`get-log-events`, subscription payloads, S3 exports (EKS) |
//! | [`gke`] | a Cloud Logging `LogEntry` with a `protoPayload` `AuditLog` | GKE's Cloud Audit Logs |
//! | [`cri`] | `<time> <stream> <P\|F> <content>` lines, `P` parts joined up to the `F` line | a node's CRI container log of an API server logging to stdout |
//!
//! A value is first read as an event (the fast path); when it is not one, its known keys are
//! captured in one pass ([`Envelope`]) and each wrapper module says which of them hold events.
//! Wrappers nest (a CloudWatch item inside a CloudWatch response inside an array …) up to
//! [`MAX_DEPTH`]. Lines that are not JSON but start with a timestamp go to [`cri`] and
//! [`cloudwatch`] (S3 export lines).

pub mod cloudwatch;
pub mod cri;
pub mod eventhubs;
pub mod eventlist;
pub mod gke;
pub mod opensearch;
pub mod wrapper;

use std::borrow::Cow;

use serde::Deserialize;
use serde_json::value::RawValue;

use crate::ingest::audit::{AuditEvent, CowStr, reasons};

/// How deep wrappers may nest (hits inside a response inside an array …).
pub const MAX_DEPTH: u32 = 6;

/// What one line (or item) gave: an event or a skip reason.
pub type Item<'a> = Result<AuditEvent<'a>, &'static str>;

/// What one line gave: usually one item, several for a container line; a CRI line also
/// carries its content, so that `P` parts can be joined to it.
// The common case stays inline: boxing it would cost an allocation per event.
#[allow(clippy::large_enum_variant)]
pub enum LineOutcome<'a> {
    /// One event or skip.
    One(Item<'a>),
    /// Several (a container), possibly none.
    Many(Vec<Item<'a>>),
    /// A CRI `P` (partial) line: its content, to be joined with the following parts.
    Part(&'a [u8]),
    /// A CRI `F` (final) line: its content, and what the content alone gave.
    Last(&'a [u8], Vec<Item<'a>>),
}

/// The keys of a JSON object that may hold events, captured in one pass. Each wrapper module
/// looks only at its own keys.
#[derive(Deserialize, Default)]
pub struct Envelope<'a> {
    /// [`eventlist`]: `EventList.items`.
    #[serde(borrow, default)]
    pub items: Option<&'a RawValue>,
    /// [`eventhubs`]: the batch's `records`.
    #[serde(borrow, default)]
    pub records: Option<&'a RawValue>,
    /// [`eventhubs`]: a record's `properties`.
    #[serde(borrow, default)]
    pub properties: Option<&'a RawValue>,
    /// [`opensearch`]: a search response's `hits` (and its `hits.hits`).
    #[serde(borrow, default)]
    pub hits: Option<&'a RawValue>,
    /// [`opensearch`]: a hit's `_source`.
    #[serde(rename = "_source", borrow, default)]
    pub source: Option<&'a RawValue>,
    /// [`opensearch`]: `_source["Body.value"]`, the event as a string.
    #[serde(rename = "Body.value", borrow, default)]
    pub body_value: Option<&'a RawValue>,
    /// [`wrapper`]: `log` (fluent-bit, fluentd, docker; Azure's `properties.log`).
    #[serde(borrow, default)]
    pub log: Option<&'a RawValue>,
    /// [`wrapper`]: `message` (log shippers, CloudWatch items).
    #[serde(borrow, default)]
    pub message: Option<&'a RawValue>,
    /// [`cloudwatch`]: `filter-log-events`/`get-log-events` output.
    #[serde(borrow, default)]
    pub events: Option<&'a RawValue>,
    /// [`cloudwatch`]: a subscription payload.
    #[serde(rename = "logEvents", borrow, default)]
    pub log_events: Option<&'a RawValue>,
    /// [`gke`]: the Cloud Logging entry's `AuditLog`.
    #[serde(rename = "protoPayload", borrow, default)]
    pub proto_payload: Option<&'a RawValue>,
}

/// Parses one line of a JSON-lines input: the fast path is a single event borrowing from the
/// line; lines that start with a timestamp are CRI or S3-export lines.
pub fn parse_line(line: &[u8]) -> LineOutcome<'_> {
    if let Some(b) = first_byte(line)
        && b.is_ascii_digit()
    {
        if let Some((partial, content)) = cri::split(line) {
            if partial {
                return LineOutcome::Part(content);
            }
            return LineOutcome::Last(content, parse_content(content));
        }
        if let Some(content) = cloudwatch::split_export_line(line) {
            return parse_json_line(content);
        }
    }
    parse_json_line(line)
}

/// Parses a line that should be JSON: an event, or any wrapper.
fn parse_json_line(line: &[u8]) -> LineOutcome<'_> {
    // Validating the whole line once is much cheaper than serde_json validating each string
    // it borrows; lines with invalid UTF-8 take the byte path below, as before.
    let parsed = match std::str::from_utf8(line) {
        Ok(text) => serde_json::from_str::<AuditEvent<'_>>(text),
        Err(_) => serde_json::from_slice::<AuditEvent<'_>>(line),
    };
    let mut items = Vec::new();
    match parsed {
        Ok(mut ev) if ev.looks_like_event() || ev.kind == "Event" => {
            return LineOutcome::One(ev.validate().map(|()| ev));
        }
        // Valid JSON that is not an event: look into its wrappers, not again for an event.
        Ok(_) => expand_wrappers(line, &mut items, 0),
        Err(_) => expand(line, &mut items, 0),
    }
    if items.len() == 1
        && let Some(one) = items.pop()
    {
        return LineOutcome::One(one);
    }
    LineOutcome::Many(items)
}

/// Every item of a CRI line's content, alone or joined from its parts: a JSON value, or "not
/// an audit event" when it is some other line the API server printed.
pub fn parse_content(bytes: &[u8]) -> Vec<Item<'_>> {
    if !matches!(first_byte(bytes), Some(b'{' | b'[')) {
        return vec![Err(reasons::NOT_AN_EVENT)];
    }
    let mut items = Vec::new();
    expand(bytes, &mut items, 0);
    items
}

/// Reads every event in `bytes` (one JSON value, possibly a wrapper) into `out`.
pub fn expand<'a>(bytes: &'a [u8], out: &mut Vec<Item<'a>>, depth: u32) {
    if matches!(first_byte(bytes), Some(b'"' | b'[')) {
        // Only an object can be an event. Trying a string as one costs serde_json an error
        // message quoting the whole string (an event carried as a string, escaped): that
        // formatting took more time than reading the event itself.
        if serde_json::from_slice::<serde::de::IgnoredAny>(bytes).is_ok() {
            return expand_wrappers(bytes, out, depth);
        }
    }
    match serde_json::from_slice::<AuditEvent<'a>>(bytes) {
        Ok(mut ev) => {
            if ev.looks_like_event() || ev.kind == "Event" {
                out.push(ev.validate().map(|()| ev));
                return;
            }
        }
        Err(e) if e.classify() == serde_json::error::Category::Data => {}
        Err(_) => {
            // Not JSON as it stands: maybe invalid UTF-8 that a replacement fixes.
            if std::str::from_utf8(bytes).is_err() {
                let fixed = String::from_utf8_lossy(bytes).into_owned();
                let mut tmp = Vec::new();
                expand(fixed.as_bytes(), &mut tmp, depth);
                out.extend(tmp.into_iter().map(|r| r.map(AuditEvent::into_owned)));
            } else {
                out.push(Err(reasons::INVALID_JSON));
            }
            return;
        }
    }
    expand_wrappers(bytes, out, depth);
}

/// [`expand`] for a JSON value known not to be an event.
fn expand_wrappers<'a>(bytes: &'a [u8], out: &mut Vec<Item<'a>>, depth: u32) {
    if depth >= MAX_DEPTH {
        out.push(Err(reasons::NOT_AN_EVENT));
        return;
    }
    let before = out.len();
    match first_byte(bytes) {
        Some(b'[') => {
            if let Ok(list) = serde_json::from_slice::<Vec<&'a RawValue>>(bytes) {
                for raw in list {
                    expand(raw.get().as_bytes(), out, depth + 1);
                }
                return;
            }
        }
        Some(b'"') => {
            // An event carried as a JSON string (`Body.value`, `log`, `message`).
            if depth > 0
                && let Ok(CowStr(s)) = serde_json::from_slice::<CowStr<'a>>(bytes)
            {
                expand_string(s, out, depth);
                return;
            }
        }
        Some(b'{') => {
            if let Ok(env) = serde_json::from_slice::<Envelope<'a>>(bytes) {
                if env.proto_payload.is_some() {
                    out.push(gke::decode(bytes));
                    return;
                }
                let mut found = false;
                let mut open = |raw: &'a RawValue| {
                    found = true;
                    expand(raw.get().as_bytes(), out, depth + 1);
                };
                eventlist::open(&env, &mut open);
                eventhubs::open(&env, &mut open);
                opensearch::open(&env, &mut open);
                cloudwatch::open(&env, &mut open);
                wrapper::open(&env, &mut open);
                if found {
                    return;
                }
            }
        }
        _ => {}
    }
    out.truncate(before);
    out.push(Err(reasons::NOT_AN_EVENT));
}

/// An event carried as a string: JSON (possibly with a CRI or export prefix) or not an event.
fn expand_string<'a>(s: Cow<'a, str>, out: &mut Vec<Item<'a>>, depth: u32) {
    if !matches!(first_byte(s.as_bytes()), Some(b'{' | b'[')) {
        // A log line that is not JSON (a shipper's other lines): not an event, and not
        // "invalid JSON" either, since it never claimed to be JSON.
        out.push(Err(reasons::NOT_AN_EVENT));
        return;
    }
    match s {
        Cow::Borrowed(b) => expand(b.as_bytes(), out, depth + 1),
        Cow::Owned(o) => {
            let mut tmp = Vec::new();
            expand(o.as_bytes(), &mut tmp, depth + 1);
            out.extend(tmp.into_iter().map(|r| r.map(AuditEvent::into_owned)));
        }
    }
}

/// The first byte that is not JSON whitespace.
pub fn first_byte(bytes: &[u8]) -> Option<u8> {
    bytes.iter().copied().find(|b| !b.is_ascii_whitespace())
}
