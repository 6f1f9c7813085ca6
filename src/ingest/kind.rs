//! What an input is, decided in one place from its content (never its name): a RUN.json, an
//! e2e description (ginkgo v1/v2 log, the 2018 `entries.log`, JUnit), or an audit log; and
//! [`walk`], which picks the inputs of a run out of a folder (a downloaded prow artifacts
//! tree: rotated and gzipped `audit.log*` files, `build-log.txt` or `e2e.log`, `junit_*.xml`).

use std::io::Read;
use std::path::Path;

use crate::ingest::decode::{self, LineOutcome};
use crate::ingest::e2e::{E2eKind, strip_ansi};
use crate::ingest::source::{IngestError, classify_read_error, open_input};
use crate::run::Micros;

/// How many (decompressed) bytes of an input its kind is decided from.
pub const HEAD_BYTES: usize = 64 * 1024;

/// What an input is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InputKind {
    /// A RUN.json written by `correlate`.
    Run,
    /// An audit log, in any shape [`crate::ingest::audit`] reads.
    Audit,
    /// An e2e run description.
    E2e(E2eKind),
}

impl InputKind {
    /// The name used in messages.
    pub fn as_str(self) -> &'static str {
        match self {
            InputKind::Run => "RUN.json",
            InputKind::Audit => "audit log",
            InputKind::E2e(k) => k.as_str(),
        }
    }
}

/// The first [`HEAD_BYTES`] of an input, decompressed.
pub fn read_head(path: &str) -> Result<Vec<u8>, IngestError> {
    let opened = open_input(path)?;
    let mut head = Vec::with_capacity(HEAD_BYTES);
    opened
        .reader
        .take(HEAD_BYTES as u64)
        .read_to_end(&mut head)
        .map_err(|e| classify_read_error(path, opened.gzip, e))?;
    Ok(head)
}

/// What the first bytes of an input say it is; `None` when they say nothing known.
pub fn classify(head: &[u8]) -> Option<InputKind> {
    if crate::run::format::looks_like_run(head) {
        return Some(InputKind::Run);
    }
    if let Some(kind) = sniff_e2e(head) {
        return Some(InputKind::E2e(kind));
    }
    looks_like_audit(head).then_some(InputKind::Audit)
}

/// The kind of an input named on the command line: what [`classify`] says, else an audit log
/// (whose reader then says precisely why it holds no events).
pub fn detect(path: &str) -> Result<InputKind, IngestError> {
    Ok(classify(&read_head(path)?).unwrap_or(InputKind::Audit))
}

/// True when the head of an input holds an audit event in any shape: the `auditID` key (also
/// inside an event carried as a string), or a Cloud Logging entry of the Kubernetes API.
fn looks_like_audit(head: &[u8]) -> bool {
    let has = |needle: &[u8]| memchr::memmem::find(head, needle).is_some();
    has(b"auditID") || (has(b"protoPayload") && has(b"io.k8s."))
}

/// When the first event of an audit log's head was received, for ordering rotated logs;
/// `None` when no complete line of the head is an event (a document, for instance).
pub fn first_event_time(head: &[u8]) -> Option<Micros> {
    let complete = &head[..memchr::memrchr(b'\n', head)?];
    let arena = decode::Arena::new();
    let mut sc = arena.scratch();
    complete.split(|&b| b == b'\n').find_map(|line| {
        let items = match decode::parse_line(line, &mut sc) {
            LineOutcome::One(item) => vec![item],
            LineOutcome::Many(items) | LineOutcome::Last(_, items) => items,
            LineOutcome::Part(_) => Vec::new(),
        };
        items.into_iter().find_map(|i| i.ok()?.received())
    })
}

/// An input a [`walk`] took.
#[derive(Debug, Clone, PartialEq)]
pub struct Taken {
    /// Its path.
    pub path: String,
    /// What it is.
    pub kind: InputKind,
    /// For an audit log, when its first event was received (when the head shows it).
    pub first_event: Option<Micros>,
}

/// What [`walk`] found in a folder.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Walk {
    /// The folder.
    pub root: String,
    /// The inputs taken: audit logs first, in the time order of their first event (rotated
    /// logs, whatever their names), then e2e inputs by path.
    pub taken: Vec<Taken>,
    /// Files left out, each with why.
    pub left: Vec<(String, String)>,
}

/// Why a file in a folder is left out when it is none of the known kinds.
pub const NOT_AN_INPUT: &str = "not an audit log, e2e log or JUnit file";

/// Walks `root` (recursively, in path order; symbolic links to folders are not followed, and
/// hidden files and folders are skipped) and sorts every file by its content.
pub fn walk(root: &str) -> Result<Walk, IngestError> {
    let mut files = Vec::new();
    let mut left = Vec::new();
    collect(Path::new(root), &mut files, &mut left).map_err(|source| IngestError::Io {
        path: root.to_string(),
        source,
    })?;
    files.sort();
    let mut taken = Vec::new();
    for path in files {
        let head = match read_head(&path) {
            Ok(h) => h,
            Err(e) => {
                left.push((path, format!("unreadable: {e}")));
                continue;
            }
        };
        match classify(&head) {
            Some(InputKind::Run) => {
                left.push((path, "a RUN.json (an output, not an input)".to_string()));
            }
            Some(kind) => {
                let first_event = (kind == InputKind::Audit)
                    .then(|| first_event_time(&head))
                    .flatten();
                taken.push(Taken {
                    path,
                    kind,
                    first_event,
                });
            }
            None if head.is_empty() => left.push((path, "empty".to_string())),
            None => left.push((path, NOT_AN_INPUT.to_string())),
        }
    }
    // Audit logs first, oldest first (a log whose first event is unknown after those whose
    // is), then the e2e inputs; paths break ties.
    taken.sort_by(|a, b| {
        let rank = |t: &Taken| (t.kind != InputKind::Audit, t.first_event.is_none());
        rank(a)
            .cmp(&rank(b))
            .then(a.first_event.cmp(&b.first_event))
            .then(a.path.cmp(&b.path))
    });
    left.sort();
    Ok(Walk {
        root: root.to_string(),
        taken,
        left,
    })
}

fn collect(
    dir: &Path,
    files: &mut Vec<String>,
    left: &mut Vec<(String, String)>,
) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let path = entry.path();
        if entry.file_name().to_string_lossy().starts_with('.') {
            continue;
        }
        let shown = path.display().to_string();
        let file_type = entry.file_type()?;
        if file_type.is_dir() {
            if let Err(e) = collect(&path, files, left) {
                left.push((shown, format!("unreadable folder: {e}")));
            }
        } else if file_type.is_symlink() && path.is_dir() {
            left.push((shown, "a link to a folder (not followed)".to_string()));
        } else if path.is_file() {
            files.push(shown);
        }
    }
    Ok(())
}

impl Walk {
    /// One line per file: what was taken as what, what was left and why.
    pub fn describe(&self) -> Vec<String> {
        let mut lines = Vec::new();
        for t in &self.taken {
            lines.push(format!("took {} ({})", t.path, t.kind.as_str()));
        }
        for (path, why) in &self.left {
            lines.push(format!("left {path}: {why}"));
        }
        lines
    }

    /// A one-line account for the run's notes.
    pub fn summary(&self) -> String {
        let audit = self
            .taken
            .iter()
            .filter(|t| t.kind == InputKind::Audit)
            .count();
        format!(
            "{}: took {} audit log(s) and {} e2e input(s), left {} file(s)",
            self.root,
            audit,
            self.taken.len() - audit,
            self.left.len()
        )
    }
}

/// Guesses the kind from the first bytes (decompressed; 64 KiB is plenty). `None` if it is
/// none of them (an audit log, for instance).
pub fn sniff_e2e(head: &[u8]) -> Option<E2eKind> {
    let text = String::from_utf8_lossy(head);
    let trimmed = text.trim_start_matches('\u{feff}').trim_start();
    if trimmed.starts_with("<?xml") || trimmed.starts_with("<testsuite") {
        return Some(E2eKind::Junit);
    }
    if trimmed.starts_with('{') {
        let first = trimmed.lines().next().unwrap_or("");
        return is_entries_line(first).then_some(E2eKind::Entries);
    }
    let mut v2_hint = false;
    let mut ginkgo = false;
    for raw in trimmed.lines() {
        let line = strip_ansi(raw);
        let line = line.trim();
        if line.starts_with("Random Seed:") {
            ginkgo = true;
            if line.contains("Will randomize") {
                return Some(E2eKind::GinkgoV1);
            }
            if line.contains("will randomize") {
                v2_hint = true;
            }
        }
        if line.starts_with("Running Suite:") || line.starts_with("Will run ") {
            ginkgo = true;
            // ginkgo v2 names the suite's path: `Running Suite: Kubernetes e2e suite - /usr/local/bin`.
            if line.starts_with("Running Suite:") && line.contains(" - ") {
                v2_hint = true;
            }
        }
        if line.contains("[SLOW TEST:") {
            return Some(E2eKind::GinkgoV1);
        }
        if line.starts_with("STEP: ") && (line.contains(" @ ") || ends_with_step_date(line)) {
            v2_hint = true;
        }
    }
    // An excerpt without the suite banner is still a v2 log when its STEP lines carry dates.
    match (ginkgo, v2_hint) {
        (_, true) => Some(E2eKind::GinkgoV2),
        (true, false) => Some(E2eKind::GinkgoV1),
        _ => None,
    }
}

/// True when a JSON line is an `entries.log` entry: an object whose keys are `timestamp` and
/// `lines` (an audit event also has a `timestamp` in v1beta1, but never `lines`).
fn is_entries_line(line: &str) -> bool {
    match serde_json::from_str::<serde_json::Value>(line) {
        Ok(serde_json::Value::Object(map)) => {
            map.get("timestamp").is_some_and(|v| v.is_string())
                && map.get("lines").is_some_and(|v| v.is_array())
                && !map.contains_key("auditID")
        }
        // A line cut by the sniff window: judge by its keys.
        _ => {
            line.starts_with("{\"timestamp\"")
                && line.contains("\"lines\":")
                && !line.contains("\"auditID\"")
        }
    }
}

fn ends_with_step_date(line: &str) -> bool {
    crate::ingest::ginkgo::step_time(line).is_some()
}
