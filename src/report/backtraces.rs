//! `report backtraces`: every request that carried a client-go backtrace, in the form the
//! 2018 `user-agent-stacktrace.py` printed: `verb requestURI`, then per frame the function
//! indented 4 spaces and `file:line` indented 8. A trace the API server cut short ends with
//! a `    ...TRUNCATED` line.

use serde::Serialize;

use crate::run::{Request, Run, Trace};
use crate::text::escape_control;

/// One frame as printed.
#[derive(Debug, Serialize, PartialEq, Eq)]
pub struct FrameOut {
    pub function: String,
    pub file: String,
    pub line: u32,
}

/// One request with its backtrace.
#[derive(Debug, Serialize, PartialEq, Eq)]
pub struct BacktraceOut {
    pub audit_id: String,
    pub verb: String,
    pub request_uri: String,
    pub spec: Option<String>,
    pub truncated: bool,
    pub frames: Vec<FrameOut>,
}

/// The frames of `trace`, innermost first.
pub fn frames_of(run: &Run, trace: &Trace) -> Vec<FrameOut> {
    trace
        .frames
        .iter()
        .filter_map(|f| run.frames.get(*f as usize))
        .map(|f| FrameOut {
            function: run.str(f.function).to_string(),
            file: run.str(f.file).to_string(),
            line: f.line,
        })
        .collect()
}

/// Every kept request that has a trace, in time order.
pub fn backtraces(run: &Run, keep: &dyn Fn(&Request) -> bool) -> Vec<BacktraceOut> {
    run.requests
        .iter()
        .filter(|r| keep(r))
        .filter_map(|r| {
            let trace = run.trace_of(r)?;
            Some(BacktraceOut {
                audit_id: r.audit_id.to_string(),
                verb: run.str(r.verb).to_string(),
                request_uri: run.str(r.uri).to_string(),
                spec: run.spec_of(r).map(|s| run.str(s.name).to_string()),
                truncated: trace.truncated,
                frames: frames_of(run, trace),
            })
        })
        .collect()
}

/// Writes one backtrace as text (also what the explorer copies to the clipboard).
pub fn write_one(bt: &BacktraceOut, w: &mut dyn std::io::Write) -> std::io::Result<()> {
    writeln!(
        w,
        "{} {}",
        escape_control(&bt.verb),
        escape_control(&bt.request_uri)
    )?;
    for f in &bt.frames {
        writeln!(w, "    {}", escape_control(&f.function))?;
        writeln!(w, "        {}:{}", escape_control(&f.file), f.line)?;
    }
    if bt.truncated {
        writeln!(w, "    ...TRUNCATED")?;
    }
    Ok(())
}

/// Writes all backtraces as text.
pub fn write_text(all: &[BacktraceOut], w: &mut dyn std::io::Write) -> std::io::Result<()> {
    for bt in all {
        write_one(bt, w)?;
    }
    Ok(())
}
