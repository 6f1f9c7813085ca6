//! e2e run descriptions (ginkgo logs, the 2018 `entries.log`, JUnit) turned into specs.
//!
//! Each reader ([`crate::ingest::ginkgo`], [`crate::ingest::entries`],
//! [`crate::ingest::junit`]) yields [`SpecRecord`]s; [`combine`] merges several inputs that
//! describe the same run (a log gives time windows, JUnit gives status and duration).

use std::collections::HashMap;

use crate::ingest::source::{IngestError, read_to_vec};
use crate::run::{InputInfo, Micros, NO_TIME, SpecStatus};

/// What an e2e input is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum E2eKind {
    GinkgoV1,
    GinkgoV2,
    Entries,
    Junit,
}

impl E2eKind {
    /// The name used in [`InputInfo::kind`] and reports.
    pub fn as_str(self) -> &'static str {
        match self {
            E2eKind::GinkgoV1 => "ginkgo-v1",
            E2eKind::GinkgoV2 => "ginkgo-v2",
            E2eKind::Entries => "entries",
            E2eKind::Junit => "junit",
        }
    }
}

/// One spec as an input describes it.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SpecRecord {
    /// The full spec text as e2e clients put it after ` -- ` in their user agent.
    pub name: String,
    /// Lines introducing the spec (for `entries.log`: the entry's last 3 lines, verbatim).
    pub header: Vec<String>,
    /// `test/e2e/network/service.go:1077`.
    pub location: Option<String>,
    pub status: SpecStatus,
    /// Seconds.
    pub duration: Option<f64>,
    /// UTC microseconds; [`NO_TIME`] when unknown.
    pub start: Micros,
    pub end: Micros,
    /// A suite node (BeforeSuite, AfterSuite, ReportAfterSuite…), not a test.
    pub suite_node: bool,
    /// 1-based line where the spec starts in its file.
    pub line: u64,
    /// The spec's `STEP:` lines, in log order (ginkgo logs only).
    pub steps: Vec<StepRecord>,
}

/// One `STEP:` line of a spec, as a ginkgo log prints it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct StepRecord {
    /// The step's text (`By(…)`'s message), without its time and location.
    pub text: String,
    /// When the step began: the line's own time (ginkgo v2), or the next time logged in the
    /// spec's output (ginkgo v1 prints none); [`NO_TIME`] when neither is known.
    pub start: Micros,
    /// `file.go:123` where the log gives it (ginkgo v2 with `-vv`).
    pub location: Option<String>,
    /// 1-based line of the `STEP:` in its file.
    pub line: u64,
}

impl SpecRecord {
    /// A record with the given name and no times.
    pub fn named(name: String, line: u64) -> SpecRecord {
        SpecRecord {
            name,
            start: NO_TIME,
            end: NO_TIME,
            line,
            ..SpecRecord::default()
        }
    }
}

/// What was read from one e2e input.
#[derive(Debug, Clone, PartialEq)]
pub struct E2eInput {
    pub kind: E2eKind,
    pub specs: Vec<SpecRecord>,
    /// Facts worth telling the user (year used, suite counts, things that look off).
    pub notes: Vec<String>,
    pub info: InputInfo,
    /// The API server's version the e2e framework printed (`kube-apiserver version:
    /// v1.26.0+k3s1`), from a ginkgo log; `None` when it printed none.
    pub server_version: Option<String>,
}

/// Guesses an e2e input's kind from its first bytes; see [`crate::ingest::kind`], where every
/// input kind is decided.
pub use crate::ingest::kind::sniff_e2e as sniff;

/// Reads one e2e input. `year_hint` is the year to use when the file's timestamps carry none
/// (ginkgo v1 `Jun  5 03:31:07.599` lines): a year found in the file itself wins; `notes`
/// says which was used.
pub fn read_e2e(
    path: &str,
    kind: Option<E2eKind>,
    year_hint: Option<i32>,
) -> Result<E2eInput, IngestError> {
    let bytes = read_to_vec(path)?;
    let kind = match kind {
        Some(k) => k,
        None => sniff(&bytes[..bytes.len().min(64 * 1024)]).ok_or_else(|| IngestError::Format {
            path: path.to_string(),
            message: "not a ginkgo log, entries.log or JUnit file".to_string(),
        })?,
    };
    let lines = bytes.iter().filter(|&&b| b == b'\n').count() as u64
        + u64::from(!bytes.is_empty() && !bytes.ends_with(b"\n"));
    let server_version = match kind {
        E2eKind::GinkgoV1 | E2eKind::GinkgoV2 => server_version(&bytes),
        E2eKind::Entries | E2eKind::Junit => None,
    };
    let (specs, notes) = match kind {
        E2eKind::Entries => crate::ingest::entries::parse_entries(path, &bytes)?,
        E2eKind::GinkgoV1 | E2eKind::GinkgoV2 => {
            let text = String::from_utf8_lossy(&bytes);
            crate::ingest::ginkgo::parse_ginkgo(&text, kind, year_hint)
        }
        E2eKind::Junit => crate::ingest::junit::parse_junit(path, &bytes)?,
    };
    Ok(E2eInput {
        kind,
        specs,
        notes,
        info: InputInfo {
            path: path.to_string(),
            kind: kind.as_str().to_string(),
            bytes: bytes.len() as u64,
            lines,
        },
        server_version,
    })
}

/// The version after the first `kube-apiserver version: ` in a log, up to the end of its word.
fn server_version(bytes: &[u8]) -> Option<String> {
    const MARK: &[u8] = b"kube-apiserver version: ";
    let at = memchr::memmem::find(bytes, MARK)? + MARK.len();
    let rest = &bytes[at..bytes.len().min(at + 80)];
    let end = rest
        .iter()
        .position(|b| b.is_ascii_whitespace() || *b == 0x1b)
        .unwrap_or(rest.len());
    let version = String::from_utf8_lossy(&rest[..end]).into_owned();
    (!version.is_empty()).then_some(version)
}

/// The form of a spec name used to match it between inputs: a leading `[It] ` dropped and
/// runs of whitespace collapsed (sources differ in spacing at container joins).
pub fn normalize_name(name: &str) -> String {
    let name = name.trim();
    let name = name.strip_prefix("[It] ").unwrap_or(name);
    name.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Combines several inputs describing the same run into one spec list, each spec once.
///
/// Logs come first, in the order given: they give time windows (a spec already read from
/// another log is merged, not repeated; a spec twice in one log, as with flake retries, is
/// kept twice). JUnit then sets status and duration of the spec it names (matched by
/// [`normalize_name`]); specs only in JUnit (the skipped ones, or all of them when the log
/// holds no names) are kept with status as JUnit says and no window.
pub fn combine(inputs: Vec<E2eInput>) -> (Vec<SpecRecord>, Vec<String>) {
    let mut notes = Vec::new();
    let mut out: Vec<SpecRecord> = Vec::new();
    // Normalized name → indexes in `out`, and which input each came from.
    let mut by_name: HashMap<String, Vec<usize>> = HashMap::new();
    let mut from_input: Vec<usize> = Vec::new();
    let (logs, junits): (Vec<_>, Vec<_>) = inputs
        .into_iter()
        .enumerate()
        .partition(|(_, i)| i.kind != E2eKind::Junit);
    for (n, input) in logs {
        notes.extend(
            input
                .notes
                .iter()
                .map(|m| format!("{}: {m}", input.info.path)),
        );
        let mut merged = 0usize;
        for spec in input.specs {
            let key = normalize_name(&spec.name);
            let slot = by_name
                .get(&key)
                .and_then(|v| v.iter().copied().find(|&i| from_input[i] != n));
            match slot {
                Some(i) => {
                    merge_into(&mut out[i], spec);
                    merged += 1;
                }
                None => {
                    by_name.entry(key).or_default().push(out.len());
                    from_input.push(n);
                    out.push(spec);
                }
            }
        }
        if merged > 0 {
            notes.push(format!(
                "{}: {merged} specs merged with the same specs from an earlier log",
                input.info.path
            ));
        }
    }
    let log_specs = out.len();
    for (_, input) in junits {
        notes.extend(
            input
                .notes
                .iter()
                .map(|m| format!("{}: {m}", input.info.path)),
        );
        let mut matched = vec![false; out.len()];
        let (mut hits, mut only) = (0usize, 0usize);
        for spec in input.specs {
            let key = normalize_name(&spec.name);
            let slot = by_name.get(&key).and_then(|v| {
                v.iter()
                    .copied()
                    .find(|&i| !matched.get(i).copied().unwrap_or(true))
            });
            match slot {
                Some(i) => {
                    matched[i] = true;
                    hits += 1;
                    let target = &mut out[i];
                    if spec.status != SpecStatus::Unknown {
                        target.status = spec.status;
                    }
                    if spec.duration.is_some() {
                        target.duration = spec.duration;
                    }
                    if target.location.is_none() {
                        target.location = spec.location;
                    }
                    target.suite_node |= spec.suite_node;
                }
                None => {
                    only += 1;
                    by_name.entry(key).or_default().push(out.len());
                    out.push(spec);
                    matched.push(true);
                }
            }
        }
        let unmatched = matched.iter().take(log_specs).filter(|m| !**m).count();
        notes.push(format!(
            "{}: {hits} testcases matched a logged spec, {only} only in JUnit (kept without a window); {unmatched} logged specs not in this JUnit",
            input.info.path
        ));
    }
    (out, notes)
}

/// Fills what `target` lacks from another log's record of the same spec.
fn merge_into(target: &mut SpecRecord, other: SpecRecord) {
    if target.start == NO_TIME {
        target.start = other.start;
    }
    if target.end == NO_TIME || (other.end != NO_TIME && other.end > target.end) {
        target.end = other.end;
    }
    if target.status == SpecStatus::Unknown {
        target.status = other.status;
    }
    if target.duration.is_none() {
        target.duration = other.duration;
    }
    if target.location.is_none() {
        target.location = other.location;
    }
    if target.header.is_empty() {
        target.header = other.header;
    }
    if target.steps.is_empty() {
        target.steps = other.steps;
    }
}

/// Removes ANSI escape sequences (CSI `ESC [ … final`, OSC `ESC ] … BEL/ST`, and two-byte
/// escapes) from a line. Borrowed-free but cheap: lines without ESC are copied once.
pub fn strip_ansi(line: &str) -> std::borrow::Cow<'_, str> {
    if !line.contains('\u{1b}') {
        return std::borrow::Cow::Borrowed(line);
    }
    let mut out = String::with_capacity(line.len());
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '\u{1b}' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('[') => {
                // Parameters and intermediates, then one final byte in @..~.
                for c in chars.by_ref() {
                    if ('@'..='~').contains(&c) {
                        break;
                    }
                }
            }
            Some(']') => {
                while let Some(c) = chars.next() {
                    if c == '\u{7}' {
                        break;
                    }
                    if c == '\u{1b}' && chars.peek() == Some(&'\\') {
                        chars.next();
                        break;
                    }
                }
            }
            _ => {}
        }
    }
    std::borrow::Cow::Owned(out)
}

/// UTC microseconds from calendar parts; `None` when they name no real time.
pub fn micros_from_parts(
    year: i32,
    month: u32,
    day: u32,
    hour: u32,
    min: u32,
    sec: u32,
    micro: u32,
) -> Option<Micros> {
    let date = chrono::NaiveDate::from_ymd_opt(year, month, day)?;
    let dt = date.and_hms_micro_opt(hour, min, sec, micro)?;
    Some(dt.and_utc().timestamp_micros())
}
