//! A user agent's text as logged, given back from its parts.
//!
//! Most distinct user agents of an e2e run are a client-go base, a spec text and a backtrace
//! (1-2 KB each, over a hundred thousand of them in a 12-hour run), and all three parts are
//! stored anyway: the base parts and the spec name as strings, the backtrace as frames. So a
//! run does not keep the text of such an agent; it keeps "render the parts in this order, then
//! append `tail`" ([`AgentText::Parts`]), where the tail is what the parts do not give back
//! (the partial last frame and `...TRUNCATED` of a cut agent). An agent is only kept this way
//! when that gives its text back exactly, byte for byte; otherwise its text is kept whole.

use std::borrow::Cow;

use super::{Agent, Interner, Run, StrId};
use crate::ingest::useragent::{ParsedAgent, SPEC_SEPARATOR, TRACE_MARKER};

/// How an agent's text as logged is had.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AgentText {
    /// The text is this string.
    Whole(StrId),
    /// The text is the parts rendered in `order`, followed by `tail`.
    Parts { order: PartOrder, tail: StrId },
}

impl Default for AgentText {
    fn default() -> Self {
        AgentText::Whole(0)
    }
}

/// The order the spec text and the backtrace follow the base in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u32)]
pub enum PartOrder {
    /// `base[ -- spec][ stacktrace=[frames]]` (`]` only when the trace is whole).
    SpecFirst = 1,
    /// `base stacktrace=[frames][ -- spec]`.
    TraceFirst = 2,
}

impl PartOrder {
    /// The order stored as `n` in RUN.json.
    pub fn from_u32(n: u32) -> Option<PartOrder> {
        match n {
            1 => Some(PartOrder::SpecFirst),
            2 => Some(PartOrder::TraceFirst),
            _ => None,
        }
    }
}

impl Agent {
    /// Every string this agent refers to (its text or tail, then its parts), for validation.
    pub fn string_ids(&self) -> [StrId; 8] {
        let text = match self.text {
            AgentText::Whole(id) => id,
            AgentText::Parts { tail, .. } => tail,
        };
        [
            text,
            self.product,
            self.version,
            self.os,
            self.arch,
            self.commit,
            self.suffix,
            self.spec_text,
        ]
    }

    /// The agent with the base parts and the spec text of `parsed`, interned into `strings`;
    /// no trace yet, and its text not yet decided ([`Run::keep_agent_text`]).
    pub fn with_parts(parsed: &ParsedAgent<'_>, strings: &mut Interner) -> Agent {
        // The base first, then the spec text: the order string ids are given in.
        let base = parsed.base_parts().map(|part| strings.intern(part));
        Agent::with_ids(base, parsed.spec.map_or(0, |t| strings.intern(t)))
    }

    /// The agent whose base parts ([`ParsedAgent::base_parts`]' order) and spec text are the
    /// strings `base` and `spec_text`; no trace yet, and its text not yet decided.
    pub fn with_ids(base: [StrId; 6], spec_text: StrId) -> Agent {
        let [product, version, os, arch, commit, suffix] = base;
        Agent {
            text: AgentText::default(),
            product,
            version,
            os,
            arch,
            commit,
            suffix,
            spec_text,
            trace: None,
        }
    }
}

/// Agents shorter than this are kept whole: rendering them saves too little.
const PARTS_MIN_LEN: usize = 128;

impl Run {
    /// The user agent's text as logged.
    pub fn agent_text(&self, a: &Agent) -> Cow<'_, str> {
        match a.text {
            AgentText::Whole(id) => Cow::Borrowed(self.str(id)),
            AgentText::Parts { order, tail } => {
                let mut out = String::with_capacity(1024);
                self.agent_pieces(a, order, &mut |piece| {
                    out.push_str(piece);
                    true
                });
                out.push_str(self.str(tail));
                Cow::Owned(out)
            }
        }
    }

    /// True when `text` is the agent's text as logged (without building it).
    pub fn agent_text_is(&self, a: &Agent, text: &str) -> bool {
        match a.text {
            AgentText::Whole(id) => self.str(id) == text,
            AgentText::Parts { order, tail } => self
                .rest_after_pieces(a, order, text)
                .is_some_and(|rest| rest == self.str(tail)),
        }
    }

    /// The agent's base `name/version (os/arch) kubernetes/commit[/suffix]`, without the spec
    /// text and backtrace it may carry: what groups requests by client.
    pub fn agent_base(&self, a: &Agent) -> String {
        let (pieces, n) = base_pieces(&self.strings, a);
        pieces[..n].concat()
    }

    /// How the agent `a` (parts filled in, `text` not yet) keeps its text `raw`: as parts when
    /// they give most of it back exactly, else whole. New strings go into the run's table.
    pub fn keep_agent_text(&mut self, a: &Agent, raw: &str) -> AgentText {
        if raw.len() >= PARTS_MIN_LEN && (a.spec_text != 0 || a.trace.is_some()) {
            for order in [PartOrder::SpecFirst, PartOrder::TraceFirst] {
                // The pieces are compared with the text as they come, not rendered first: a
                // new agent is a few kilobytes, and tens of thousands of them are kept.
                let Some(rest) = self.rest_after_pieces(a, order, raw) else {
                    continue;
                };
                // Only when the parts give back most of the text: else there is little to save.
                if raw.len() - rest.len() < raw.len() / 2 {
                    continue;
                }
                let tail = self.strings.intern(rest);
                return AgentText::Parts { order, tail };
            }
        }
        AgentText::Whole(self.strings.intern(raw))
    }

    /// [`Run::keep_agent_text`] for an agent made from `parsed` (the parse of `raw`) by
    /// [`Agent::with_parts`] and the frames of its trace, in order: the same answer, found
    /// faster. The pieces are rendered from `parsed`, whose texts are the agent's (interning
    /// keeps text as it is) and lie in `raw` itself, so a piece is mostly found in place by
    /// its address, without reading the string table or comparing bytes.
    pub fn keep_parsed_agent_text(&mut self, parsed: &ParsedAgent<'_>, raw: &str) -> AgentText {
        // What `with_parts` keeps as the spec text: an empty one is none (id 0).
        let spec = parsed.spec.filter(|t| !t.is_empty());
        if raw.len() >= PARTS_MIN_LEN && (spec.is_some() || parsed.trace.is_some()) {
            for order in [PartOrder::SpecFirst, PartOrder::TraceFirst] {
                let texts = PartTexts {
                    base: parsed.base_parts(),
                    spec,
                    trace: parsed.trace.as_ref().map(|t| {
                        let frames = t.frames.iter().map(|f| Some((f.function, f.file, f.line)));
                        (frames, t.truncated)
                    }),
                };
                let mut rest = raw;
                let all = render_pieces(texts, order, &mut |piece| {
                    let in_place = rest.as_ptr() == piece.as_ptr() && rest.len() >= piece.len();
                    match in_place.then(|| rest.get(piece.len()..)).flatten() {
                        Some(r) => rest = r,
                        None => match rest.strip_prefix(piece) {
                            Some(r) => rest = r,
                            None => return false,
                        },
                    }
                    true
                });
                if !all || raw.len() - rest.len() < raw.len() / 2 {
                    continue;
                }
                let tail = self.strings.intern(rest);
                return AgentText::Parts { order, tail };
            }
        }
        AgentText::Whole(self.strings.intern(raw))
    }

    /// Hands the pieces of the agent's parts, rendered in `order`, to `emit` until it returns
    /// false; returns whether every piece was taken.
    /// What is left of `text` once the agent's pieces in `order` have each started it in
    /// turn; `None` when one does not.
    fn rest_after_pieces<'t>(&self, a: &Agent, order: PartOrder, text: &'t str) -> Option<&'t str> {
        let mut rest = text;
        let all = self.agent_pieces(a, order, &mut |piece| match rest.strip_prefix(piece) {
            Some(r) => {
                rest = r;
                true
            }
            None => false,
        });
        all.then_some(rest)
    }

    fn agent_pieces(
        &self,
        a: &Agent,
        order: PartOrder,
        emit: &mut dyn FnMut(&str) -> bool,
    ) -> bool {
        let s = |id: StrId| self.strings.get(id);
        let texts = PartTexts {
            base: base_texts(&self.strings, a),
            spec: (a.spec_text != 0).then(|| s(a.spec_text)),
            trace: a.trace.and_then(|t| self.traces.get(t as usize)).map(|t| {
                let frames = t.frames.iter().map(|&f| {
                    self.frames
                        .get(f as usize)
                        .map(|f| (s(f.function), s(f.file), f.line))
                });
                (frames, t.truncated)
            }),
        };
        render_pieces(texts, order, emit)
    }
}

/// The texts an agent's text is rendered from.
struct PartTexts<'s, I> {
    /// Product, version, OS, architecture, commit and suffix.
    base: [&'s str; 6],
    /// The spec text, if any.
    spec: Option<&'s str>,
    /// The trace's frames (`None` for a frame that is not in the run: skipped) and whether
    /// it was cut short; `None` for no trace.
    trace: Option<(I, bool)>,
}

/// Hands the pieces of an agent's text rendered from `texts` in `order` to `emit` until it
/// returns false; returns whether every piece was taken. The one definition of the rendering,
/// for agents of a run and for agents being parsed alike.
fn render_pieces<'s, I, E>(texts: PartTexts<'s, I>, order: PartOrder, emit: &mut E) -> bool
where
    I: Iterator<Item = Option<(&'s str, &'s str, u32)>>,
    // Generic rather than `dyn`: the agent being parsed, rendered once per new agent on the
    // sequential sink, gets its comparison inlined into the loop (a call through a vtable for
    // each of some fifty pieces was a fifth of the rendering's instructions).
    E: FnMut(&str) -> bool + ?Sized,
{
    let [product, version, os, arch, commit, suffix] = texts.base;
    let (base, n) = base_from(product, version, os, arch, commit, suffix);
    if !base[..n].iter().all(|p| emit(p)) {
        return false;
    }
    match order {
        PartOrder::SpecFirst => render_spec(texts.spec, emit) && render_trace(texts.trace, emit),
        PartOrder::TraceFirst => render_trace(texts.trace, emit) && render_spec(texts.spec, emit),
    }
}

/// The spec part of [`render_pieces`]: ` -- ` and the spec text, if any.
fn render_spec<E>(spec: Option<&str>, emit: &mut E) -> bool
where
    E: FnMut(&str) -> bool + ?Sized,
{
    match spec {
        None => true,
        Some(text) => emit(SPEC_SEPARATOR) && emit(text),
    }
}

/// The trace part of [`render_pieces`]: the marker, the frames `FUNC():FILE:LINE` joined by
/// `;`, and `]` unless the trace was cut short.
fn render_trace<'s, I, E>(trace: Option<(I, bool)>, emit: &mut E) -> bool
where
    I: Iterator<Item = Option<(&'s str, &'s str, u32)>>,
    E: FnMut(&str) -> bool + ?Sized,
{
    let Some((frames, truncated)) = trace else {
        return true;
    };
    if !emit(TRACE_MARKER) {
        return false;
    }
    let mut line = itoa::Buffer::new();
    for (i, f) in frames.enumerate() {
        let Some((function, file, number)) = f else {
            continue;
        };
        let sep_ok = i == 0 || emit(";");
        if !(sep_ok
            && emit(function)
            && emit(":")
            && emit(file)
            && emit(":")
            && emit(line.format(number)))
        {
            return false;
        }
    }
    truncated || emit("]")
}

/// The base `name/version (os/arch) kubernetes/commit[/suffix]` as pieces (the first `n` of
/// the array); just the product when the agent is not of that form.
fn base_pieces<'s>(strings: &'s Interner, a: &Agent) -> ([&'s str; 11], usize) {
    let [product, version, os, arch, commit, suffix] = base_texts(strings, a);
    base_from(product, version, os, arch, commit, suffix)
}

/// The agent's product, version, OS, architecture, commit and suffix, from the string table.
fn base_texts<'s>(strings: &'s Interner, a: &Agent) -> [&'s str; 6] {
    let s = |id: StrId| strings.get(id);
    [
        s(a.product),
        s(a.version),
        s(a.os),
        s(a.arch),
        s(a.commit),
        s(a.suffix),
    ]
}

/// [`base_pieces`] of the given texts.
fn base_from<'s>(
    product: &'s str,
    version: &'s str,
    os: &'s str,
    arch: &'s str,
    commit: &'s str,
    suffix: &'s str,
) -> ([&'s str; 11], usize) {
    let pieces = [
        product,
        "/",
        version,
        " (",
        os,
        "/",
        arch,
        ") kubernetes/",
        commit,
        "/",
        suffix,
    ];
    if version.is_empty() && os.is_empty() && arch.is_empty() && commit.is_empty() {
        (pieces, 1)
    } else if suffix.is_empty() {
        (pieces, 9)
    } else {
        (pieces, 11)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::run::{Frame, Trace};

    /// A run with one agent parsed from `raw` the way correlation does it.
    fn agent_from(raw: &str) -> (Run, Agent) {
        let mut run = Run::default();
        let parsed = crate::ingest::useragent::parse(raw);
        let mut agent = Agent::with_parts(&parsed, &mut run.strings);
        if let Some(trace) = parsed.trace {
            let mut frames = Vec::new();
            for f in &trace.frames {
                let function = run.strings.intern(f.function);
                let file = run.strings.intern(f.file);
                run.frames.push(Frame {
                    function,
                    file,
                    line: f.line,
                });
                frames.push((run.frames.len() - 1) as u32);
            }
            run.traces.push(Trace {
                frames,
                truncated: trace.truncated,
            });
            agent.trace = Some(0);
        }
        let strings_before = run.strings.len();
        agent.text = run.keep_agent_text(&agent, raw);
        // Kept from the parse, the answer is the same, and so is the string table.
        let mut again = run.clone();
        again.strings = Interner::from_strings(run.strings.iter().take(strings_before));
        let parsed = crate::ingest::useragent::parse(raw);
        assert_eq!(
            again.keep_parsed_agent_text(&parsed, raw),
            agent.text,
            "{raw}"
        );
        assert_eq!(again.strings, run.strings, "{raw}");
        (run, agent)
    }

    const BASE: &str = "e2e.test/v1.12.0 (linux/amd64) kubernetes/b143093";
    const TRACE: &str = " stacktrace=[k8s.io/client-go/rest.(*Request).Do():/go/src/k8s.io/client-go/rest/request.go:807;k8s.io/kubernetes/test/e2e/framework.(*Framework).BeforeEach():/go/src/k8s.io/kubernetes/test/e2e/framework/framework.go:160]";
    const SPEC: &str = " -- [sig-apps] Deployment deployment should support rollover [Conformance]";

    #[test]
    fn agents_with_a_spec_or_trace_are_kept_as_parts_and_give_their_text_back() {
        for raw in [
            format!("{BASE}{TRACE}{SPEC}"),
            format!("{BASE}{SPEC}{TRACE}"),
            format!("{BASE}{TRACE}"),
            // Cut by the API server: the partial frame and the marker are the tail.
            format!("{BASE}{}...TRUNCATED", &TRACE[..150]),
        ] {
            let (run, agent) = agent_from(&raw);
            assert!(
                matches!(agent.text, AgentText::Parts { .. }),
                "{raw}: {:?}",
                agent.text
            );
            assert_eq!(run.agent_text(&agent), raw);
            assert!(run.agent_text_is(&agent, &raw));
            assert!(!run.agent_text_is(&agent, &raw[..raw.len() - 1]));
            assert!(!run.agent_text_is(&agent, &format!("{raw}x")));
        }
    }

    #[test]
    fn short_or_unusual_agents_are_kept_whole() {
        for raw in [
            "kubectl/v1.35.0 (linux/amd64) kubernetes/abc".to_string(),
            // A line number with a leading zero: the parts would not give it back.
            format!("{BASE}{}", TRACE.replace(":807;", ":0807;")),
        ] {
            let (run, agent) = agent_from(&raw);
            assert!(matches!(agent.text, AgentText::Whole(_)), "{raw}");
            assert_eq!(run.agent_text(&agent), raw);
            assert!(run.agent_text_is(&agent, &raw));
        }
    }
}
