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
/// call, which showed in profiles (an agent is parsed per distinct agent).
struct Finders {
    spec: memchr::memmem::Finder<'static>,
    trace: memchr::memmem::Finder<'static>,
    trace_end: memchr::memmem::Finder<'static>,
}

static FINDERS: std::sync::LazyLock<Finders> = std::sync::LazyLock::new(|| Finders {
    spec: memchr::memmem::Finder::new(SPEC_SEPARATOR),
    trace: memchr::memmem::Finder::new(TRACE_MARKER),
    trace_end: memchr::memmem::Finder::new("] -- "),
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

impl<'a> ParsedAgent<'a> {
    /// The base parts, in the order a run's agent keeps them: product, version, OS,
    /// architecture, commit and suffix.
    pub fn base_parts(&self) -> [&'a str; 6] {
        [
            self.product,
            self.version,
            self.os,
            self.arch,
            self.commit,
            self.suffix,
        ]
    }
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
    // Only a separator before the trace decides anything (a later one is inside the trace or
    // its end): with a trace, the text before it is searched, not the whole backtrace.
    let spec_scope = match trace_at {
        Some(t) => s
            .as_bytes()
            .get(..t + SPEC_SEPARATOR.len() - 1)
            .unwrap_or(s.as_bytes()),
        None => s.as_bytes(),
    };
    let spec_at = finders.spec.find(spec_scope);
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
///
/// One pass over the body: the vectorized search stops at every `:` and `;` (about four
/// stops a frame), and each frame is cut from what its stops say ([`FrameStops`]). Splitting
/// at `;` first and then searching each piece for its last `:` and its `():` read every frame
/// three times over; a new backtrace agent (tens of thousands of them in a run, each one
/// different) is parsed on the sequential sink.
fn parse_trace(body: &str, complete: bool, truncated: bool) -> ParsedTrace<'_> {
    let bytes = body.as_bytes();
    // About a frame per 150 bytes in the backtraces seen: one allocation for most traces.
    let mut frames = Vec::with_capacity(bytes.len() / 128 + 1);
    let mut stops = FrameStops::at(0);
    for at in memchr::memchr2_iter(b':', b';', bytes) {
        if bytes.get(at) == Some(&b';') {
            if at > stops.start {
                frames.push(stops.frame(body, at));
            }
            stops = FrameStops::at(at + 1);
        } else {
            stops.colon(bytes, at);
        }
    }
    // The piece after the last `;`; dropped when the trace was cut (it is partial).
    if complete && stops.start < bytes.len() {
        frames.push(stops.frame(body, bytes.len()));
    }
    ParsedTrace {
        frames,
        truncated: truncated || !complete,
    }
}

/// What the search has seen of one frame `FUNC():FILE:LINE` so far: where it starts and
/// where its colons are.
struct FrameStops {
    /// Where the frame starts in the body.
    start: usize,
    /// The frame's first `:`.
    first_colon: Option<usize>,
    /// The `:` of the frame's first `():`.
    function_end: Option<usize>,
    /// The frame's last `:`.
    last_colon: Option<usize>,
}

impl FrameStops {
    /// A frame starting at `start`, no colon seen yet.
    fn at(start: usize) -> FrameStops {
        FrameStops {
            start,
            first_colon: None,
            function_end: None,
            last_colon: None,
        }
    }

    /// Notes the `:` at `at` (inside the frame).
    fn colon(&mut self, bytes: &[u8], at: usize) {
        self.first_colon.get_or_insert(at);
        if self.function_end.is_none()
            && at >= self.start + 2
            && bytes.get(at - 2..at) == Some(b"()".as_slice())
        {
            self.function_end = Some(at);
        }
        self.last_colon = Some(at);
    }

    /// The frame `body[start..end]`. The line is after the LAST colon (file paths may hold
    /// colons), when that is all digits and fits; the function ends at the first `():`,
    /// else at the first colon; what is not read as a line stays in the file (or the function).
    fn frame<'a>(&self, body: &'a str, end: usize) -> ParsedFrame<'a> {
        let text = |from: usize, to: usize| body.get(from..to).unwrap_or("");
        let line = self.last_colon.and_then(|colon| {
            let digits = body.as_bytes().get(colon + 1..end)?;
            Some((colon, parse_line_number(digits)?))
        });
        let (rest_end, line) = line.unwrap_or((end, 0));
        let split = self
            .function_end
            .filter(|&c| c < rest_end)
            .or(self.first_colon.filter(|&c| c < rest_end));
        let (function, file) = match split {
            Some(c) => (text(self.start, c), text(c + 1, rest_end)),
            None => (text(self.start, rest_end), ""),
        };
        ParsedFrame {
            function,
            file,
            line,
        }
    }
}

/// A line number: one or more ASCII digits that fit in a `u32` (what `str::parse` takes of
/// digits alone).
fn parse_line_number(digits: &[u8]) -> Option<u32> {
    if digits.is_empty() {
        return None;
    }
    digits.iter().try_fold(0u32, |n, &b| {
        if !b.is_ascii_digit() {
            return None;
        }
        n.checked_mul(10)?.checked_add(u32::from(b - b'0'))
    })
}

/// Parses `name/version (os/arch) kubernetes/commit[/suffix]`; anything else is all product.
fn parse_base(base: &str) -> ParsedAgent<'_> {
    let whole = ParsedAgent {
        product: base,
        ..ParsedAgent::default()
    };
    let Some((name_version, rest)) = split_at_pair(base, *b" (") else {
        return whole;
    };
    let Some((platform, tail)) = split_at_pair(rest, *b") ") else {
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

/// `s.split_once` at the first occurrence of the two ASCII bytes `pair`: the base is short, and
/// `str::split_once` with a string pattern sets up a two-way searcher on every call.
fn split_at_pair(s: &str, pair: [u8; 2]) -> Option<(&str, &str)> {
    let at = s.as_bytes().windows(2).position(|w| w == pair)?;
    Some((s.get(..at)?, s.get(at + 2..)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The trace parser as it was before the one-pass one: split at `;`, then each piece
    /// read on its own. [`parse_trace`] must give exactly its frames.
    fn parse_trace_by_pieces(body: &str, complete: bool, truncated: bool) -> ParsedTrace<'_> {
        let mut pieces: Vec<&str> = body.split(';').collect();
        if !complete {
            pieces.pop();
        }
        let frames = pieces
            .into_iter()
            .filter(|p| !p.is_empty())
            .map(|piece| {
                let (rest, line) = match piece.rsplit_once(':') {
                    Some((rest, line))
                        if !line.is_empty() && line.bytes().all(|b| b.is_ascii_digit()) =>
                    {
                        match line.parse::<u32>() {
                            Ok(n) => (rest, n),
                            Err(_) => (piece, 0),
                        }
                    }
                    _ => (piece, 0),
                };
                let (function, file) = match rest.find("():") {
                    Some(i) => (&rest[..i + 2], &rest[i + 3..]),
                    None => rest.split_once(':').unwrap_or((rest, "")),
                };
                ParsedFrame {
                    function,
                    file,
                    line,
                }
            })
            .collect();
        ParsedTrace {
            frames,
            truncated: truncated || !complete,
        }
    }

    /// [`parse`] as it was before the one-pass trace parser: the spec separator searched in
    /// the whole agent, the trace read piece by piece.
    fn parse_reference(ua: &str) -> ParsedAgent<'_> {
        let (s, truncated) = match ua.strip_suffix(TRUNCATED_SUFFIX) {
            Some(rest) => (rest, true),
            None => (ua, false),
        };
        let to_end = |body, truncated| match body {
            _ if truncated => parse_trace_by_pieces(body, false, true),
            _ => match str::strip_suffix(body, ']') {
                Some(inner) => parse_trace_by_pieces(inner, true, false),
                None => parse_trace_by_pieces(body, false, true),
            },
        };
        let trace_at = find_trace(s);
        let spec_at = s.find(SPEC_SEPARATOR);
        let (base, spec, trace) = match (trace_at, spec_at) {
            (Some(t), sp) if sp.is_none_or(|sp| t < sp) => {
                let body_start =
                    t + TRACE_MARKER.len() - usize::from(t == 0 && !s.starts_with(' '));
                let body = &s[body_start..];
                match body.find("] -- ") {
                    Some(end) => (
                        &s[..t],
                        body.get(end + 5..),
                        Some(parse_trace_by_pieces(&body[..end], true, false)),
                    ),
                    None => (&s[..t], None, Some(to_end(body, truncated))),
                }
            }
            (_, Some(sp)) => {
                let rest = &s[sp + SPEC_SEPARATOR.len()..];
                match rest.rfind(TRACE_MARKER) {
                    Some(t) => (
                        &s[..sp],
                        Some(&rest[..t]),
                        Some(to_end(&rest[t + TRACE_MARKER.len()..], truncated)),
                    ),
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

    fn assert_same_trace(body: &str) {
        for (complete, truncated) in [(true, false), (false, false), (false, true)] {
            assert_eq!(
                parse_trace(body, complete, truncated),
                parse_trace_by_pieces(body, complete, truncated),
                "{body:?} complete={complete}"
            );
        }
    }

    #[test]
    fn one_pass_frames_are_the_frames_of_each_piece() {
        for body in [
            "",
            ";",
            ";;",
            ":",
            "():",
            "()::",
            "():1",
            "a():b:1",
            "a():b:1;c():d:2",
            "a():b:1;",
            ";a():b:1",
            "a():C:/x.go:12",
            "a:b:c",
            "a:b:",
            "a:b:012",
            "a():b:4294967295",
            "a():b:4294967296",
            "a():b:99999999999",
            "a()b():c:1",
            "(a():b:1",
            "a)():b:1;()x():y",
            "x:():y",
            "ü():é:3;ß",
            "a():b:1;c():d:",
            "pkg.(*T).F():/go/src/f.go:807;pkg.G():/go/src/g.go:1;main.main():m.go",
        ] {
            assert_same_trace(body);
        }
    }

    #[test]
    fn pairs_split_where_split_once_does() {
        for s in ["", "(", " (", "a (b (c", "é (ü", "a) b) c", ") "] {
            for pair in [" (", ") "] {
                let bytes: [u8; 2] = pair.as_bytes().try_into().expect("two bytes");
                assert_eq!(
                    split_at_pair(s, bytes),
                    s.split_once(pair),
                    "{s:?} {pair:?}"
                );
            }
        }
    }

    proptest::proptest! {
        #[test]
        fn one_pass_frames_match_on_any_text(body in "[a():;0-9é]{0,40}") {
            assert_same_trace(&body);
        }

        #[test]
        fn agents_parse_as_before(pieces in proptest::collection::vec(proptest::sample::select(vec![
            "e2e.test/v1.12.0 (linux/amd64) kubernetes/b143093", " -- ", " stacktrace=[",
            "stacktrace=[", "]", "] -- ", ";", ":", "():", "f()", "/go/f.go", "7", "x",
            " (", ") ", "/", "...TRUNCATED", "é",
        ]), 0..12)) {
            let ua = pieces.concat();
            proptest::prop_assert_eq!(parse(&ua), parse_reference(&ua), "{:?}", ua);
        }
    }

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
