//! JUnit XML written by ginkgo: v1 (`<testsuite><testcase name classname time>` with
//! `<skipped/>` or `<failure>` children) and v2 (`<testsuites>`, a suite `timestamp`,
//! testcase `status`, names prefixed `[It] `).

use quick_xml::Reader;
use quick_xml::events::{BytesStart, Event};

use crate::ingest::e2e::SpecRecord;
use crate::ingest::source::IngestError;
use crate::run::SpecStatus;

/// Names of ginkgo suite nodes as JUnit (and the log) spell them.
pub const SUITE_NODES: [&str; 6] = [
    "[BeforeSuite]",
    "[AfterSuite]",
    "[SynchronizedBeforeSuite]",
    "[SynchronizedAfterSuite]",
    "[ReportBeforeSuite]",
    "[ReportAfterSuite]",
];

/// True when a name is a suite node (`[ReportAfterSuite] Kubernetes e2e suite report`).
pub fn is_suite_node(name: &str) -> bool {
    let first = name.split(' ').next().unwrap_or("");
    SUITE_NODES.contains(&first)
}

/// Parses a JUnit file into one record per `<testcase>` (streaming; entities decoded).
pub fn parse_junit(
    path: &str,
    bytes: &[u8],
) -> Result<(Vec<SpecRecord>, Vec<String>), IngestError> {
    let mut reader = Reader::from_reader(bytes);
    reader.config_mut().trim_text(true);
    let mut buf = Vec::new();
    let mut specs = Vec::new();
    let mut notes = Vec::new();
    // The testcase being read, and how deep inside it we are.
    let mut current: Option<SpecRecord> = None;
    let mut depth = 0usize;
    let mut lines = LineCounter::default();
    let err = |reader: &Reader<&[u8]>, e: &dyn std::fmt::Display| IngestError::Format {
        path: path.to_string(),
        message: format!("bad XML near byte {}: {e}", reader.buffer_position()),
    };
    loop {
        let event = reader
            .read_event_into(&mut buf)
            .map_err(|e| err(&reader, &e))?;
        match event {
            Event::Start(ref e) | Event::Empty(ref e) => {
                let empty = matches!(event, Event::Empty(_));
                let name = e.local_name();
                match (name.as_ref(), current.as_mut()) {
                    (b"testsuite", None) => {
                        if let Some(ts) =
                            attr(&reader, e, b"timestamp").map_err(|m| err(&reader, &m))?
                        {
                            let tests = attr(&reader, e, b"tests").map_err(|m| err(&reader, &m))?;
                            notes.push(format!(
                                "suite started {ts} (JUnit timestamp, no zone){}",
                                tests.map(|t| format!(", {t} tests")).unwrap_or_default()
                            ));
                        }
                    }
                    (b"testcase", None) => {
                        let line = lines.line_at(bytes, reader.buffer_position());
                        let mut spec = testcase(&reader, e, line).map_err(|m| err(&reader, &m))?;
                        if empty {
                            if spec.status == SpecStatus::Unknown {
                                spec.status = SpecStatus::Passed;
                            }
                            specs.push(spec);
                        } else {
                            current = Some(spec);
                            depth = 0;
                        }
                    }
                    (child, Some(spec)) => {
                        if depth == 0 {
                            match child {
                                b"skipped" => spec.status = SpecStatus::Skipped,
                                b"failure" | b"error" => spec.status = SpecStatus::Failed,
                                _ => {}
                            }
                        }
                        if !empty {
                            depth += 1;
                        }
                    }
                    _ => {}
                }
            }
            Event::End(ref e) if current.is_some() => {
                if depth == 0 && e.local_name().as_ref() == b"testcase" {
                    if let Some(mut spec) = current.take() {
                        if spec.status == SpecStatus::Unknown {
                            spec.status = SpecStatus::Passed;
                        }
                        specs.push(spec);
                    }
                } else {
                    depth = depth.saturating_sub(1);
                }
            }
            Event::Eof => break,
            _ => {}
        }
        buf.clear();
    }
    if let Some(spec) = current.take() {
        notes.push(format!("file ends inside testcase {:?}", spec.name));
        specs.push(spec);
    }
    let count = |s: SpecStatus| {
        specs
            .iter()
            .filter(|r| r.status == s && !r.suite_node)
            .count()
    };
    notes.push(format!(
        "{} testcases: {} passed, {} failed, {} skipped, {} suite nodes",
        specs.len(),
        count(SpecStatus::Passed),
        count(SpecStatus::Failed),
        count(SpecStatus::Skipped),
        specs.iter().filter(|r| r.suite_node).count()
    ));
    Ok((specs, notes))
}

/// Builds a record from a `<testcase>` element's attributes.
fn testcase(reader: &Reader<&[u8]>, e: &BytesStart<'_>, line: u64) -> Result<SpecRecord, String> {
    let raw_name = attr(reader, e, b"name")?.unwrap_or_default();
    let name = raw_name
        .strip_prefix("[It] ")
        .unwrap_or(&raw_name)
        .to_string();
    let mut spec = SpecRecord::named(name, line);
    spec.suite_node = is_suite_node(&spec.name);
    spec.duration = attr(reader, e, b"time")?.and_then(|t| t.trim().parse::<f64>().ok());
    spec.status = match attr(reader, e, b"status")?.as_deref() {
        Some("passed") => SpecStatus::Passed,
        Some("skipped") => SpecStatus::Skipped,
        Some("pending") => SpecStatus::Pending,
        Some("failed" | "panicked" | "interrupted" | "timedout" | "aborted") => SpecStatus::Failed,
        _ => SpecStatus::Unknown,
    };
    Ok(spec)
}

/// One attribute's value, entities decoded.
fn attr(reader: &Reader<&[u8]>, e: &BytesStart<'_>, key: &[u8]) -> Result<Option<String>, String> {
    for a in e.attributes() {
        let a = a.map_err(|x| x.to_string())?;
        if a.key.as_ref() == key {
            let v = a
                .decode_and_unescape_value(reader.decoder())
                .map_err(|x| x.to_string())?;
            return Ok(Some(v.into_owned()));
        }
    }
    Ok(None)
}

/// Counts lines up to increasing byte positions without rescanning the file.
#[derive(Default)]
struct LineCounter {
    pos: usize,
    newlines: u64,
}

impl LineCounter {
    /// The 1-based line of a byte position (the end of the tag just read).
    fn line_at(&mut self, bytes: &[u8], pos: u64) -> u64 {
        let end = usize::try_from(pos).unwrap_or(usize::MAX).min(bytes.len());
        if end > self.pos {
            self.newlines += memchr::memchr_iter(b'\n', &bytes[self.pos..end]).count() as u64;
            self.pos = end;
        }
        self.newlines + 1
    }
}
