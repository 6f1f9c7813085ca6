//! ginkgo console output (v1 and v2) turned into specs with time windows.
//!
//! Both versions print a dash separator between specs, then a header (container text, spec
//! text, location: three lines in ginkgo v1 and early v2, one text line and a location in
//! newer v2), then the spec's output, then an outcome marker (`•`, `• Failure`,
//! `S [SKIPPING]`, `[SynchronizedBeforeSuite] PASSED`) followed by a summary that repeats the
//! names (and, for slow specs in v2, the captured output). A spec is taken from its header
//! only, so a summary never counts it twice. Its window runs from the first to the last
//! timestamp in its output.

use crate::ingest::e2e::{
    E2eKind, SpecRecord, StepRecord, micros_from_parts, normalize_name, strip_ansi,
};
use crate::ingest::entries::{fraction_micros, short_location};
use crate::ingest::junit::is_suite_node;
use crate::run::{Micros, NO_TIME, SpecStatus};

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// Parses a ginkgo log. Never fails: what it cannot read it leaves out, and a spec cut off
/// by the end of the file keeps what it has with status unknown.
pub fn parse_ginkgo(
    text: &str,
    kind: E2eKind,
    year_hint: Option<i32>,
) -> (Vec<SpecRecord>, Vec<String>) {
    let lines: Vec<String> = text
        .split('\n')
        .map(|l| strip_ansi(l.strip_suffix('\r').unwrap_or(l)).into_owned())
        .collect();
    let mut notes = Vec::new();
    let file_year = find_year(&lines);
    let year = match (file_year, year_hint) {
        (Some(y), _) => {
            notes.push(format!("year {y} taken from the file"));
            Some(y)
        }
        (None, Some(y)) => {
            notes.push(format!("no year in the file: using the given year {y}"));
            Some(y)
        }
        (None, None) => {
            notes.push(
                "no year in the file and none given: times of month/day log lines are unknown"
                    .to_string(),
            );
            None
        }
    };
    let mut clock = Clock {
        year,
        last_month: 0,
    };
    let mut specs: Vec<SpecRecord> = Vec::new();
    // Output before the suite banner is not the suite's; an excerpt without a banner is
    // read from its first line.
    let has_banner = lines.iter().any(|l| {
        let t = l.trim();
        t.starts_with("Will run ") || t.starts_with("Running Suite:")
    });
    let mut started = !has_banner;
    let mut at_block_start = !has_banner;
    let mut in_summary = false;
    let mut in_captured = false;
    let mut in_fail_summary = false;
    let mut open: Option<usize> = None;
    let mut fail_names: Vec<String> = Vec::new();
    let mut i = 0usize;
    while i < lines.len() {
        let line = lines[i].as_str();
        let trimmed = line.trim();
        i += 1;
        if !started {
            if trimmed.starts_with("Will run ") || trimmed.starts_with("Running Suite:") {
                started = true;
                at_block_start = true;
                if trimmed.starts_with("Will run ") {
                    notes.push(trimmed.to_string());
                }
            }
            continue;
        }
        if trimmed.starts_with("Will run ") {
            notes.push(trimmed.to_string());
            continue;
        }
        if is_separator(trimmed) {
            at_block_start = true;
            in_summary = false;
            in_captured = false;
            continue;
        }
        if trimmed.starts_with("Ran ") && trimmed.contains(" Specs") {
            notes.push(trimmed.to_string());
            in_fail_summary = false;
            continue;
        }
        if trimmed.starts_with("Summarizing ") && trimmed.contains("Failure") {
            in_fail_summary = true;
            open = None;
            continue;
        }
        if in_fail_summary {
            if let Some(rest) = trimmed
                .strip_prefix("[Fail] ")
                .or_else(|| trimmed.strip_prefix("[FAIL] "))
            {
                fail_names.push(rest.to_string());
            }
            continue;
        }
        if trimmed.contains("Begin Captured GinkgoWriter Output") {
            in_captured = true;
            continue;
        }
        if trimmed.contains("End Captured GinkgoWriter Output") {
            in_captured = false;
            continue;
        }
        if in_captured {
            continue;
        }
        if let Some((status, duration)) = marker(trimmed) {
            if let Some(spec) = open.and_then(|o| specs.get_mut(o)) {
                spec.status = status;
                spec.duration = duration;
            }
            open = None;
            in_summary = true;
            at_block_start = false;
            continue;
        }
        if in_summary {
            continue;
        }
        if trimmed.is_empty() || is_progress(trimmed) {
            continue;
        }
        // A header opens a block; before the first spec (ginkgo v1 prints the suite's
        // setup output in the same block) it may come anywhere.
        if at_block_start || specs.iter().all(|s| s.suite_node) {
            if let Some(h) = header_at(&lines, i - 1, kind) {
                let mut spec = SpecRecord::named(h.name, i as u64);
                spec.suite_node = is_suite_node(&spec.name);
                spec.location = Some(short_location(&h.location));
                spec.header = lines[i - 1..i - 1 + h.lines].to_vec();
                i += h.lines - 1;
                open = Some(specs.len());
                specs.push(spec);
                at_block_start = false;
                continue;
            }
        }
        at_block_start = false;
        if open.is_none() && trimmed.contains("Running AfterSuite actions") {
            let mut spec = SpecRecord::named("[AfterSuite]".to_string(), i as u64);
            spec.suite_node = true;
            spec.header = vec![line.to_string()];
            open = Some(specs.len());
            specs.push(spec);
        }
        let mut step_start = None;
        if let Some(mut step) = parse_step(trimmed, i as u64) {
            if step.start == NO_TIME
                && kind == E2eKind::GinkgoV2
                && let Some((rest, next)) = step_continuation(&lines, i)
            {
                // The message went on over more lines; its time ends the last of them.
                if !rest.text.is_empty() {
                    step.text.push('\n');
                    step.text.push_str(&rest.text);
                }
                step.start = rest.start;
                step.location = rest.location;
                i = next;
            }
            step_start = (step.start != NO_TIME).then_some(step.start);
            if let Some(spec) = open.and_then(|o| specs.get_mut(o)) {
                spec.steps.push(step);
            }
        }
        let Some(t) = step_start.or_else(|| clock.time_of(trimmed)) else {
            continue;
        };
        let target = match open {
            Some(o) => o,
            // ginkgo v1 names no BeforeSuite node: its output is what comes before the first spec.
            None if kind == E2eKind::GinkgoV1 && specs.is_empty() => {
                let mut spec = SpecRecord::named("[BeforeSuite]".to_string(), i as u64);
                spec.suite_node = true;
                spec.status = SpecStatus::Unknown;
                open = Some(0);
                specs.push(spec);
                0
            }
            None => continue,
        };
        if let Some(spec) = specs.get_mut(target) {
            if spec.start == NO_TIME {
                spec.start = t;
            }
            if spec.end == NO_TIME || t > spec.end {
                spec.end = t;
            }
            // ginkgo v1 prints no time on a STEP: the step had begun by the next time logged.
            for step in spec.steps.iter_mut().rev() {
                if step.start != NO_TIME {
                    break;
                }
                step.start = t;
            }
        }
    }
    apply_fail_summary(&mut specs, &fail_names, &mut notes);
    if let Some(o) = open {
        if let Some(spec) = specs.get(o) {
            if !spec.suite_node {
                notes.push(format!(
                    "log ends inside spec {:?} (line {}): status unknown",
                    spec.name, spec.line
                ));
            }
        }
    }
    let tests = specs.iter().filter(|s| !s.suite_node).count();
    let count = |st: SpecStatus| {
        specs
            .iter()
            .filter(|s| !s.suite_node && s.status == st)
            .count()
    };
    notes.push(format!(
        "{tests} specs ({} passed, {} failed, {} skipped, {} unknown), {} suite nodes",
        count(SpecStatus::Passed),
        count(SpecStatus::Failed),
        count(SpecStatus::Skipped),
        count(SpecStatus::Unknown),
        specs.len() - tests
    ));
    if tests == 0 && has_banner {
        notes.push(
            "the log names no specs (non-verbose ginkgo): spec names must come from JUnit"
                .to_string(),
        );
    }
    (specs, notes)
}

/// Marks the specs named in the closing failure summary as failed where the log left them
/// without an outcome, and says how many summary lines matched.
fn apply_fail_summary(specs: &mut [SpecRecord], fail_names: &[String], notes: &mut Vec<String>) {
    if fail_names.is_empty() {
        return;
    }
    let mut matched = 0usize;
    for raw in fail_names {
        // `[sig-x] Container [It] spec text` or `... [BeforeEach] spec text`.
        let cleaned: Vec<&str> = raw
            .split(' ')
            .filter(|w| {
                !matches!(
                    *w,
                    "[It]"
                        | "[BeforeEach]"
                        | "[AfterEach]"
                        | "[JustBeforeEach]"
                        | "[JustAfterEach]"
                )
            })
            .collect();
        let key = normalize_name(&cleaned.join(" "));
        if let Some(spec) = specs.iter_mut().find(|s| normalize_name(&s.name) == key) {
            matched += 1;
            if matches!(spec.status, SpecStatus::Unknown | SpecStatus::Passed) {
                spec.status = SpecStatus::Failed;
            }
        }
    }
    notes.push(format!(
        "failure summary names {} specs, {matched} found in the log",
        fail_names.len()
    ));
}

/// Turns log line timestamps into UTC microseconds, supplying the year.
struct Clock {
    year: Option<i32>,
    last_month: u32,
}

impl Clock {
    /// The time a log line carries: `STEP: … 02/01/23 17:08:03.431` (full date),
    /// `Jun  5 03:31:07.599: INFO:` or klog `I0605 03:31:07.788636` (no year).
    fn time_of(&mut self, line: &str) -> Option<Micros> {
        if line.starts_with("STEP:") {
            return step_time(line);
        }
        let (month, day, rest) = stamp_prefix(line).or_else(|| klog_prefix(line))?;
        let year = self.year?;
        // A run across New Year: the month goes back.
        if self.last_month == 12 && month == 1 {
            self.year = Some(year + 1);
        }
        self.last_month = month;
        let (h, m, s, us) = clock_time(rest)?;
        micros_from_parts(self.year?, month, day, h, m, s, us)
    }
}

/// `Jun  5 03:31:07.599` → (6, 5, "03:31:07.599…").
fn stamp_prefix(line: &str) -> Option<(u32, u32, &str)> {
    let month = MONTHS.iter().position(|m| line.starts_with(m))? as u32 + 1;
    let day: u32 = line.get(3..6)?.trim().parse().ok()?;
    Some((month, day, line.get(7..)?))
}

/// klog `I0605 03:31:07.788636` → (6, 5, "03:31:07.788636…").
fn klog_prefix(line: &str) -> Option<(u32, u32, &str)> {
    let b = line.as_bytes();
    if !matches!(b.first()?, b'I' | b'W' | b'E' | b'F') || *b.get(5)? != b' ' {
        return None;
    }
    let month: u32 = line.get(1..3)?.parse().ok()?;
    let day: u32 = line.get(3..5)?.parse().ok()?;
    Some((month, day, line.get(6..)?))
}

/// `HH:MM:SS[.frac]` at the start of `s`.
fn clock_time(s: &str) -> Option<(u32, u32, u32, u32)> {
    let h = s.get(0..2)?.parse().ok()?;
    let m = s.get(3..5)?.parse().ok()?;
    let sec = s.get(6..8)?.parse().ok()?;
    if s.get(2..3)? != ":" || s.get(5..6)? != ":" {
        return None;
    }
    let rest = s.get(8..).unwrap_or("");
    let us = match rest.strip_prefix('.') {
        Some(f) => {
            let digits: &str = &f[..f.bytes().take_while(u8::is_ascii_digit).count()];
            fraction_micros(digits)?
        }
        None => 0,
    };
    Some((h, m, sec, us))
}

/// A `STEP:` line (ANSI colours already stripped, leading space trimmed): its text, its time
/// (ginkgo v2: `STEP: text 02/01/23 17:08:03.431` or `STEP: text @ 10/14/25 02:19:56.986`) and
/// its location (ginkgo v2 `-vv`: `STEP: text - test/e2e/x.go:12 @ …`). A ginkgo v1 line
/// (`STEP: text`) has neither: its start is [`NO_TIME`] until the caller fills it in.
pub fn parse_step(line: &str, line_no: u64) -> Option<StepRecord> {
    let rest = line.strip_prefix("STEP:")?.trim();
    let (body, start) = match step_time(rest) {
        Some(t) => {
            let mut parts = rest.rsplitn(3, ' ');
            let _time = parts.next();
            let _date = parts.next();
            (parts.next().unwrap_or(""), t)
        }
        None => (rest, NO_TIME),
    };
    let body = body.trim_end();
    let body = if body == "@" {
        ""
    } else {
        body.strip_suffix(" @").unwrap_or(body)
    };
    let (text, location) = match body.rsplit_once(" - ") {
        Some((text, loc)) if is_location(loc.trim()) => {
            (text.trim_end(), Some(short_location(loc.trim())))
        }
        _ => (body, None),
    };
    Some(StepRecord {
        text: text.to_string(),
        start,
        location,
        line: line_no,
    })
}

/// How many lines a step message may span before its time.
const MAX_STEP_LINES: usize = 8;

/// A ginkgo v2 step whose message spans lines (it ended in a newline, or holds one): the rest
/// of the message, up to the line that ends with the step's time, as one step record (its text
/// the following lines joined by `\n`), and the index of the line after it. `None` when no such
/// line comes before the next step, separator or hook.
fn step_continuation(lines: &[String], from: usize) -> Option<(StepRecord, usize)> {
    let mut text: Vec<String> = Vec::new();
    for (k, line) in lines.iter().enumerate().skip(from).take(MAX_STEP_LINES) {
        let t = line.trim();
        if t.starts_with("STEP:") || is_separator(t) || HOOKS.iter().any(|h| t.starts_with(h)) {
            return None;
        }
        if step_time(t).is_some() {
            let mut last = parse_step(&format!("STEP: {t}"), k as u64 + 1)?;
            if !last.text.is_empty() {
                text.push(std::mem::take(&mut last.text));
            }
            last.text = text.join("\n");
            return Some((last, k + 1));
        }
        text.push(line.trim_end().to_string());
    }
    None
}

/// The time at the end of a ginkgo v2 `STEP:` line: `… 02/01/23 17:08:03.431` or
/// `… @ 10/14/25 02:19:56.986` (MM/DD/YY, UTC as the runner's clock).
pub fn step_time(line: &str) -> Option<Micros> {
    let line = line.trim_end();
    let mut parts = line.rsplitn(3, ' ');
    let time = parts.next()?;
    let date = parts.next()?;
    let mut d = date.splitn(3, '/');
    let month: u32 = d.next()?.parse().ok()?;
    let day: u32 = d.next()?.parse().ok()?;
    let yy = d.next()?;
    if date.len() != 8 || yy.len() != 2 {
        return None;
    }
    let year: i32 = 2000 + yy.parse::<i32>().ok()?;
    let (h, m, s, us) = clock_time(time)?;
    micros_from_parts(year, month, day, h, m, s, us)
}

/// A year the file states: from a ginkgo v2 STEP date, or a kubetest line
/// `2018/06/05 03:31:04 e2e.go:79: …`.
fn find_year(lines: &[String]) -> Option<i32> {
    for line in lines {
        let t = line.trim();
        if t.starts_with("STEP:") {
            if let Some(us) = step_time(t) {
                return chrono::DateTime::from_timestamp_micros(us)
                    .map(|d| chrono::Datelike::year(&d));
            }
        }
        let b = t.as_bytes();
        if b.len() > 20
            && b[..4].iter().all(u8::is_ascii_digit)
            && b[4] == b'/'
            && b[7] == b'/'
            && b[10] == b' '
        {
            if let Ok(y) = t[..4].parse::<i32>() {
                if (1970..=9999).contains(&y) {
                    return Some(y);
                }
            }
        }
    }
    None
}

/// A dash separator line (ginkgo prints 30).
fn is_separator(t: &str) -> bool {
    t.len() >= 20 && t.bytes().all(|b| b == b'-')
}

/// A line of progress marks only (`SSSS`, `•`, `SS•S`).
fn is_progress(t: &str) -> bool {
    t.chars().all(|c| matches!(c, 'S' | '•' | 'P' | 'F'))
}

/// The outcome line after a spec, with its duration when printed.
fn marker(t: &str) -> Option<(SpecStatus, Option<f64>)> {
    let duration = duration_of(t);
    if t.starts_with('[') {
        let (tag, rest) = t.split_once("] ")?;
        if !is_suite_node(&format!("{tag}]")) {
            return None;
        }
        let status = if rest.starts_with("PASSED") {
            SpecStatus::Passed
        } else if rest.starts_with("FAILED")
            || rest.starts_with("PANICKED")
            || rest.starts_with("INTERRUPTED")
            || rest.starts_with("TIMEDOUT")
        {
            SpecStatus::Failed
        } else if rest.starts_with("SKIPPED") {
            SpecStatus::Skipped
        } else {
            return None;
        };
        return Some((status, duration));
    }
    if let Some(rest) = t.strip_prefix('•') {
        if rest.is_empty() {
            return Some((SpecStatus::Passed, None));
        }
        let failed = [
            "Failure",
            "! Panic",
            "[FAILED]",
            "[PANICKED]",
            "[INTERRUPTED]",
            "[TIMEDOUT]",
            "[ABORTED]",
        ];
        if rest.starts_with('!') || failed.iter().any(|f| rest.contains(f)) {
            return Some((SpecStatus::Failed, duration));
        }
        if rest.starts_with(" [") {
            return Some((SpecStatus::Passed, duration));
        }
        return None;
    }
    if t.starts_with("S [SKIP") {
        return Some((SpecStatus::Skipped, duration));
    }
    if t.starts_with("P [PENDING") {
        return Some((SpecStatus::Pending, duration));
    }
    None
}

/// `… [170.606 seconds]` or `[SLOW TEST:170.606 seconds]` → 170.606.
fn duration_of(t: &str) -> Option<f64> {
    let end = t.rfind(" seconds]")?;
    let before = &t[..end];
    let start = before.rfind(['[', ':'])? + 1;
    before[start..].trim().parse().ok()
}

/// A spec header found in the log.
struct Header {
    name: String,
    location: String,
    lines: usize,
}

/// Hook lines inside a spec's output that look like a header's first line.
const HOOKS: [&str; 8] = [
    "[BeforeEach]",
    "[AfterEach]",
    "[JustBeforeEach]",
    "[JustAfterEach]",
    "[It]",
    "[DeferCleanup",
    "[BeforeAll]",
    "[AfterAll]",
];

/// Reads a header starting at `lines[i]`: `text` + `location`, or `containers` +
/// `  spec text` + `  location`.
fn header_at(lines: &[String], i: usize, kind: E2eKind) -> Option<Header> {
    let l1 = lines.get(i)?;
    if l1.trim().is_empty()
        || l1.starts_with([' ', '\t'])
        || HOOKS.iter().any(|h| l1.starts_with(h))
    {
        return None;
    }
    let l2 = lines.get(i + 1)?;
    if !l2.starts_with([' ', '\t']) && is_location(l2.trim()) {
        let mut name = l1.trim().to_string();
        if kind == E2eKind::GinkgoV2 {
            name = strip_labels(&name).to_string();
        }
        return Some(Header {
            name,
            location: l2.trim().to_string(),
            lines: 2,
        });
    }
    let l3 = lines.get(i + 2)?;
    if l2.starts_with("  ")
        && !l2.trim().is_empty()
        && !is_location(l2.trim())
        && l3.starts_with([' ', '\t'])
        && is_location(l3.trim())
    {
        return Some(Header {
            name: format!("{} {}", l1.trim_end(), l2.trim()),
            location: l3.trim().to_string(),
            lines: 3,
        });
    }
    None
}

/// `path/file.go:123`: no spaces, digits after the last colon, a dot before it.
fn is_location(t: &str) -> bool {
    match t.rsplit_once(':') {
        Some((file, line)) => {
            !line.is_empty()
                && line.bytes().all(|b| b.is_ascii_digit())
                && file.contains('.')
                && !file.contains(' ')
        }
        None => false,
    }
}

/// Removes the ginkgo v2 label list ginkgo prints after the text (` [sig-network, Conformance]`)
/// when every label in it also appears as a `[label]` tag in the text (Kubernetes puts each
/// label in the text too), so a bracket that is part of the text is kept.
pub fn strip_labels(name: &str) -> &str {
    let Some(body) = name.strip_suffix(']') else {
        return name;
    };
    let Some(open) = body.rfind(" [") else {
        return name;
    };
    let text = &name[..open];
    let labels = &body[open + 2..];
    if labels.is_empty() || labels.contains('[') {
        return name;
    }
    let all_tagged = labels
        .split(", ")
        .all(|l| !l.is_empty() && text.contains(&format!("[{l}]")));
    if all_tagged { text } else { name }
}
