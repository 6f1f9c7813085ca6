//! Splitting a Kubernetes user agent into its parts: the client-go base, the e2e spec name
//! and the client-go backtrace.
//!
//! Forms handled (any of them may be missing; spec and trace may come in either order):
//! - `name/version (os/arch) kubernetes/commit[/suffix]` (client-go default, `AddUserAgent`);
//! - ` -- <full spec text>` appended by the e2e framework (split at the FIRST ` -- `:
//!   spec texts contain `--` themselves);
//! - ` stacktrace=[FUNC():FILE:LINE;…]` appended by the 2018 backtrace patch, innermost first;
//! - `...TRUNCATED` appended by the API server when it cut the agent at 1024 bytes.
//!
//! Parsing never fails and never panics: what does not fit the base form is kept whole as
//! the product.

/// The suffix the API server puts after a user agent it cut.
pub const TRUNCATED_SUFFIX: &str = "...TRUNCATED";
/// What separates the base user agent from the spec text (e2e framework: `"%s -- %s"`).
pub const SPEC_SEPARATOR: &str = " -- ";
/// What introduces a backtrace.
pub const TRACE_MARKER: &str = " stacktrace=[";

/// Searchers for the separators, built once: `str::find` sets up a two-way searcher on every
/// call, which showed in profiles (an agent is parsed per distinct agent, a frame per piece).
struct Finders {
    spec: memchr::memmem::Finder<'static>,
    trace: memchr::memmem::Finder<'static>,
    trace_end: memchr::memmem::Finder<'static>,
    function_end: memchr::memmem::Finder<'static>,
}

static FINDERS: std::sync::LazyLock<Finders> = std::sync::LazyLock::new(|| Finders {
    spec: memchr::memmem::Finder::new(SPEC_SEPARATOR),
    trace: memchr::memmem::Finder::new(TRACE_MARKER),
    trace_end: memchr::memmem::Finder::new("] -- "),
    function_end: memchr::memmem::Finder::new("():"),
});

/// A user agent split into its parts; every part borrows from the input.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ParsedAgent<'a> {
    /// The program name (`e2e.test`, `kubectl`); the whole base when it is not of the
    /// client-go form.
    pub product: &'a str,
    pub version: &'a str,
    pub os: &'a str,
    pub arch: &'a str,
    pub commit: &'a str,
    /// What `AddUserAgent` appended after the commit (without the `/`), e.g. a service account.
    pub suffix: &'a str,
    /// The spec text after the first ` -- `.
    pub spec: Option<&'a str>,
    /// The backtrace after ` stacktrace=[`.
    pub trace: Option<ParsedTrace<'a>>,
}

/// A backtrace carried in a user agent.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ParsedTrace<'a> {
    /// Innermost first.
    pub frames: Vec<ParsedFrame<'a>>,
    /// The agent was cut by the API server: outer frames are missing (the partial last
    /// frame is dropped).
    pub truncated: bool,
}

/// One frame of a backtrace: `FUNC():FILE:LINE`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ParsedFrame<'a> {
    /// The function, `()` included, e.g. `k8s.io/client-go/rest.(*Request).Do()`.
    pub function: &'a str,
    pub file: &'a str,
    /// 0 when the frame had no readable line number.
    pub line: u32,
}

/// Splits a user agent into base parts, spec text and backtrace.
pub fn parse(ua: &str) -> ParsedAgent<'_> {
    let (s, truncated) = match ua.strip_suffix(TRUNCATED_SUFFIX) {
        Some(rest) => (rest, true),
        None => (ua, false),
    };
    let trace_at = find_trace(s);
    let finders = &*FINDERS;
    let spec_at = finders.spec.find(s.as_bytes());
    let (base, spec, trace) = match (trace_at, spec_at) {
        // The trace comes first (or alone). A trace holds no spaces, so `] -- ` after it
        // can only be its end followed by the spec.
        (Some(t), sp) if sp.is_none_or(|sp| t < sp) => {
            let body_start = t + TRACE_MARKER.len() - usize::from(t == 0 && !s.starts_with(' '));
            let body = s.get(body_start..).unwrap_or("");
            match finders.trace_end.find(body.as_bytes()) {
                Some(end) => (
                    &s[..t],
                    body.get(end + 5..),
                    Some(parse_trace(&body[..end], true, false)),
                ),
                None => (&s[..t], None, Some(trace_to_end(body, truncated))),
            }
        }
        (_, Some(sp)) => {
            let rest = &s[sp + SPEC_SEPARATOR.len()..];
            match last_trace_marker(rest) {
                Some(t) => {
                    let body = &rest[t + TRACE_MARKER.len()..];
                    (
                        &s[..sp],
                        Some(&rest[..t]),
                        Some(trace_to_end(body, truncated)),
                    )
                }
                None => (&s[..sp], Some(rest), None),
            }
        }
        _ => (s, None, None),
    };
    let mut agent = parse_base(base);
    agent.spec = spec;
    agent.trace = trace;
    agent
}

/// Where the backtrace marker starts: ` stacktrace=[` anywhere, or `stacktrace=[` opening
/// the agent (returned as 0).
fn find_trace(s: &str) -> Option<usize> {
    if s.starts_with(&TRACE_MARKER[1..]) {
        return Some(0);
    }
    FINDERS.trace.find(s.as_bytes())
}

/// Where the last ` stacktrace=[` in `s` starts (what `str::rfind` gives). Found by searching
/// forwards, with the vectorized finder, from one marker to the next: there is seldom more
/// than one, and a reverse search has no vectorized form.
fn last_trace_marker(s: &str) -> Option<usize> {
    let bytes = s.as_bytes();
    let mut last = None;
    let mut from = 0;
    while let Some(i) = bytes.get(from..).and_then(|b| FINDERS.trace.find(b)) {
        last = Some(from + i);
        from += i + 1;
    }
    last
}

/// Parses a trace body running to the end of the agent: closed by `]` when whole.
fn trace_to_end(body: &str, truncated: bool) -> ParsedTrace<'_> {
    match body.strip_suffix(']') {
        Some(inner) if !truncated => parse_trace(inner, true, false),
        // Cut by the API server (or otherwise unterminated): the last frame is partial.
        _ => parse_trace(body, false, true),
    }
}

/// Parses `FUNC():FILE:LINE;…`. When `complete` is false the last piece is dropped.
fn parse_trace(body: &str, complete: bool, truncated: bool) -> ParsedTrace<'_> {
    let mut pieces: Vec<&str> = body.split(';').collect();
    if !complete {
        pieces.pop();
    }
    let frames = pieces
        .into_iter()
        .filter(|p| !p.is_empty())
        .map(parse_frame)
        .collect();
    ParsedTrace {
        frames,
        truncated: truncated || !complete,
    }
}

/// Parses one `FUNC():FILE:LINE` frame. The line is after the LAST colon (file paths may
/// hold colons); the function ends at the first `():`.
fn parse_frame(piece: &str) -> ParsedFrame<'_> {
    let (rest, line) = match piece.rsplit_once(':') {
        Some((rest, line)) if !line.is_empty() && line.bytes().all(|b| b.is_ascii_digit()) => {
            match line.parse::<u32>() {
                Ok(n) => (rest, n),
                Err(_) => (piece, 0),
            }
        }
        _ => (piece, 0),
    };
    let (function, file) = match FINDERS.function_end.find(rest.as_bytes()) {
        Some(i) => (&rest[..i + 2], &rest[i + 3..]),
        None => match rest.split_once(':') {
            Some((f, file)) => (f, file),
            None => (rest, ""),
        },
    };
    ParsedFrame {
        function,
        file,
        line,
    }
}

/// Parses `name/version (os/arch) kubernetes/commit[/suffix]`; anything else is all product.
fn parse_base(base: &str) -> ParsedAgent<'_> {
    let whole = ParsedAgent {
        product: base,
        ..ParsedAgent::default()
    };
    let Some((name_version, rest)) = base.split_once(" (") else {
        return whole;
    };
    let Some((platform, tail)) = rest.split_once(") ") else {
        return whole;
    };
    let (Some((product, version)), Some((os, arch))) =
        (name_version.split_once('/'), platform.split_once('/'))
    else {
        return whole;
    };
    let Some(commit_suffix) = tail.strip_prefix("kubernetes/") else {
        return whole;
    };
    let (commit, suffix) = commit_suffix.split_once('/').unwrap_or((commit_suffix, ""));
    if product.is_empty() || commit.is_empty() || commit.contains(' ') {
        return whole;
    }
    ParsedAgent {
        product,
        version,
        os,
        arch,
        commit,
        suffix,
        spec: None,
        trace: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_last_trace_marker_is_the_one_rfind_gives() {
        let m = TRACE_MARKER;
        for s in [
            String::new(),
            "no marker".to_string(),
            m.to_string(),
            format!("a{m}b"),
            format!("a{m}b{m}c"),
            format!("{m}{m}{m}"),
            format!("é{m}ü{m}"),
            format!("x {m}"),
        ] {
            assert_eq!(last_trace_marker(&s), s.rfind(m), "{s:?}");
        }
        assert_eq!(last_trace_marker(&format!("ab{m}cd{m}")), Some(4 + m.len()));
    }
}
