//! The Requests pane's text filter over many requests: which requests' endpoint label or URI
//! match, remembered while the filter text stays the same.
//!
//! A filter is applied to the selected test's requests each time the selection, the window
//! switch or the sort changes; on the whole-run entry (`a`) that is every request of the run
//! (millions, with hundreds of thousands of distinct URIs and tens of thousands of endpoint
//! labels). Each label and each distinct URI is matched at most once per filter text, and the
//! whole run's answer is kept, so `a`, back and `a` again match nothing anew.

use crate::analysis::{NONE, RunIndex};
use crate::run::Run;
use crate::tui::context::Ctx;
use crate::tui::filter::{Query, TextMatch};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, TryRecvError, channel};

/// Which of a set of ids were matched, and which of those match: one bit each.
#[derive(Debug, Clone, Default)]
struct Seen {
    known: Vec<u64>,
    ok: Vec<u64>,
}

impl Seen {
    fn new(ids: usize) -> Seen {
        let words = ids.div_ceil(64);
        Seen {
            known: vec![0; words],
            ok: vec![0; words],
        }
    }

    /// Whether `id` matches, matching `text()` the first time it is asked; `None` when `id`
    /// is outside the set.
    fn check(&mut self, id: u32, text: impl FnOnce() -> bool) -> Option<bool> {
        let (w, bit) = (id as usize / 64, 1u64 << (id % 64));
        let (k, o) = (self.known.get_mut(w)?, self.ok.get_mut(w)?);
        if *k & bit == 0 {
            *k |= bit;
            if text() {
                *o |= bit;
            }
        }
        Some(*o & bit != 0)
    }

    /// Takes in what another copy learned.
    fn merge(&mut self, other: &Seen) {
        for (a, b) in self.known.iter_mut().zip(&other.known) {
            *a |= b;
        }
        for (a, b) in self.ok.iter_mut().zip(&other.ok) {
            *a |= b;
        }
    }
}

/// What one filter text matched so far in one run (see the module documentation).
#[derive(Debug, Clone, Default)]
pub struct TextMatches {
    /// The filter text it is for.
    text: String,
    /// Endpoint groups, by group id.
    groups: Seen,
    /// URIs, by string id.
    uris: Seen,
    /// The label of no group (`?`) matches.
    none_ok: bool,
    /// The requests of the whole run that pass, once asked for.
    whole: Option<Vec<u32>>,
    /// The whole run being matched on a thread for this text, if it is.
    job: Job,
}

/// From how many requests the matching is cut in one part per core.
const PARALLEL_FROM: usize = 1 << 18;

/// From how many requests a run has its whole matched on a thread as soon as the filter
/// text is set (smaller runs match it in a few milliseconds when asked).
const AHEAD_FROM: usize = 1 << 17;

/// How many requests the thread matches between looks at whether it is still wanted.
const CANCEL_EVERY: usize = 1 << 16;

/// How long the thread waits before it starts matching (see [`TextMatches::ahead`]).
const START_AFTER: std::time::Duration = std::time::Duration::from_millis(30);

/// The whole run matched on a thread. A copy of the pane does not share it (the copy
/// matches what it needs itself); dropping it tells the thread to stop.
#[derive(Debug, Default)]
struct Job(Option<Running>);

#[derive(Debug)]
struct Running {
    stop: Arc<AtomicBool>,
    /// The thread's answer, sent as soon as it has it (waiting for the thread to end would
    /// also wait for it to free its memory).
    answer: Receiver<TextMatches>,
}

impl Clone for Job {
    fn clone(&self) -> Job {
        Job(None)
    }
}

impl Drop for Job {
    fn drop(&mut self) {
        if let Some(running) = &self.0 {
            running.stop.store(true, Ordering::Relaxed);
        }
    }
}

/// What matching reads: the endpoint groups and each request's group and URI.
struct Source<'a> {
    index: &'a RunIndex,
    run: &'a Run,
}

impl Source<'_> {
    fn label(&self, g: u32) -> &str {
        // As [`Ctx::group_label`]: a request of no group shows as `?`.
        self.index
            .groups
            .get(g as usize)
            .map_or("?", |x| x.label.as_str())
    }
}

impl TextMatches {
    /// Empty, for `text` in a run of `source`'s size.
    fn new(source: &Source<'_>, text: &str, query: &Query) -> TextMatches {
        TextMatches {
            text: text.to_string(),
            groups: Seen::new(source.index.groups.len()),
            uris: Seen::new(source.run.strings.len()),
            none_ok: query.match_text(source.label(NONE), false) == TextMatch::Exact,
            whole: None,
            job: Job::default(),
        }
    }

    /// True when it holds what `text` matched in this run.
    fn is_for(&self, source: &Source<'_>, text: &str) -> bool {
        self.text == text
            && self.groups.known.len() == source.index.groups.len().div_ceil(64)
            && self.uris.known.len() == source.run.strings.len().div_ceil(64)
    }

    /// After the filter text changed to `text`: on a large run, matches every request on a
    /// thread, so that the whole-run entry (`a`) later finds them matched. Whatever was
    /// being matched for an older text is stopped.
    pub fn ahead(&mut self, ctx: &Ctx, text: &str, query: &Query) {
        let source = Source {
            index: &ctx.index,
            run: &ctx.run,
        };
        if !self.is_for(&source, text) {
            *self = TextMatches::new(&source, text, query);
        }
        let n = ctx.run.requests.len();
        if self.whole.is_some() || self.job.0.is_some() || n < AHEAD_FROM || !query.has_text() {
            return;
        }
        let (run, index) = (Arc::clone(&ctx.run), Arc::clone(&ctx.index));
        let (text, query) = (text.to_string(), query.clone());
        let stop = Arc::new(AtomicBool::new(false));
        let stopped = Arc::clone(&stop);
        let (send, answer) = channel();
        std::thread::spawn(move || {
            // While the text is being typed each key stops the last thread: this one starts
            // matching only once typing pauses, so keys are not slowed by work thrown away.
            let waited = std::time::Instant::now();
            while waited.elapsed() < START_AFTER {
                if stopped.load(Ordering::Relaxed) {
                    return;
                }
                std::thread::sleep(START_AFTER / 8);
            }
            let source = Source {
                index: &index,
                run: &run,
            };
            // Threads of its own, not rayon's pool: the event loop's own parallel work must
            // not queue behind this. Two halves on two threads: on a busy machine the
            // scheduler shares the cores per thread, and `a` may come soon. Not at a lower
            // priority: it would then not be done when `a` comes.
            let mut matches = TextMatches::new(&source, &text, &query);
            let n = run.requests.len() as u32;
            let none_ok = matches.none_ok;
            let half = |range: std::ops::Range<u32>| -> Option<(Vec<u32>, Seen, Seen)> {
                let (mut groups, mut uris) = (matches.groups.clone(), matches.uris.clone());
                let mut kept = Vec::new();
                let mut piece = Vec::with_capacity(CANCEL_EVERY);
                for start in range.clone().step_by(CANCEL_EVERY) {
                    if stopped.load(Ordering::Relaxed) {
                        return None;
                    }
                    piece.clear();
                    piece.extend(start..range.end.min(start.saturating_add(CANCEL_EVERY as u32)));
                    kept.extend(TextMatches::part(
                        none_ok,
                        &source,
                        &query,
                        &mut groups,
                        &mut uris,
                        &piece,
                    ));
                }
                Some((kept, groups, uris))
            };
            let (first, second) = std::thread::scope(|scope| {
                let second = scope.spawn(|| half(n / 2..n));
                (half(0..n / 2), second.join().ok().flatten())
            });
            let (Some(first), Some(second)) = (first, second) else {
                return;
            };
            let ((mut kept, groups_a, uris_a), (rest, groups_b, uris_b)) = (first, second);
            kept.extend_from_slice(&rest);
            for (groups, uris) in [(&groups_a, &uris_a), (&groups_b, &uris_b)] {
                matches.groups.merge(groups);
                matches.uris.merge(uris);
            }
            matches.whole = Some(kept);
            // The pane may be gone (the run replaced, the explorer closed): nobody to tell.
            let _ = send.send(matches);
        });
        self.job = Job(Some(Running { stop, answer }));
    }

    /// Takes in what the thread matched: at once when it is done, or waiting for it when
    /// `wait` (the whole run is wanted now: the thread is further along than a new start).
    fn take_job(&mut self, wait: bool) {
        let Some(running) = &self.job.0 else {
            return;
        };
        let matched = if wait {
            running.answer.recv().ok()
        } else {
            match running.answer.try_recv() {
                Ok(matched) => Some(matched),
                Err(TryRecvError::Empty) => return,
                Err(TryRecvError::Disconnected) => None,
            }
        };
        self.job = Job(None);
        if let Some(matched) = matched
            && matched.text == self.text
        {
            self.groups.merge(&matched.groups);
            self.uris.merge(&matched.uris);
            self.whole = matched.whole;
        }
    }

    /// The requests of `reqs` (ascending request ids, each once) whose endpoint label or URI
    /// matches `query`'s text, in order; `text` is the filter text `query` was parsed from.
    pub fn passing(&mut self, ctx: &Ctx, text: &str, query: &Query, reqs: &[u32]) -> Vec<u32> {
        let source = Source {
            index: &ctx.index,
            run: &ctx.run,
        };
        if !self.is_for(&source, text) {
            *self = TextMatches::new(&source, text, query);
        }
        // Ascending distinct ids as many as the run's requests: every request of the run.
        let whole = !reqs.is_empty() && reqs.len() == ctx.run.requests.len();
        self.take_job(whole);
        if whole && let Some(kept) = &self.whole {
            return kept.clone();
        }
        let out = if reqs.len() < PARALLEL_FROM || rayon::current_num_threads() < 2 {
            let (mut groups, mut uris) = (
                std::mem::take(&mut self.groups),
                std::mem::take(&mut self.uris),
            );
            let out = TextMatches::part(self.none_ok, &source, query, &mut groups, &mut uris, reqs);
            (self.groups, self.uris) = (groups, uris);
            out
        } else {
            self.parallel(&source, query, reqs)
        };
        if whole {
            self.whole = Some(out.clone());
        }
        out
    }

    /// [`TextMatches::passing`] on one part per core, each with its own copy of what is
    /// known; what they learned is merged afterwards.
    fn parallel(&mut self, source: &Source<'_>, query: &Query, reqs: &[u32]) -> Vec<u32> {
        use rayon::prelude::*;
        let parts = rayon::current_num_threads().max(1);
        let (known_groups, known_uris, none_ok) = (&self.groups, &self.uris, self.none_ok);
        let results: Vec<(Vec<u32>, Seen, Seen)> = reqs
            .par_chunks(reqs.len().div_ceil(parts).max(1))
            .map(|chunk| {
                let (mut groups, mut uris) = (known_groups.clone(), known_uris.clone());
                let out = TextMatches::part(none_ok, source, query, &mut groups, &mut uris, chunk);
                (out, groups, uris)
            })
            .collect();
        let mut out = Vec::with_capacity(results.iter().map(|(o, _, _)| o.len()).sum());
        for (part, groups, uris) in &results {
            out.extend_from_slice(part);
            self.groups.merge(groups);
            self.uris.merge(uris);
        }
        out
    }

    /// The passing requests of `reqs`, learning into `groups` and `uris`.
    fn part(
        none_ok: bool,
        source: &Source<'_>,
        query: &Query,
        groups: &mut Seen,
        uris: &mut Seen,
        reqs: &[u32],
    ) -> Vec<u32> {
        let matches = |s: &str| query.match_text(s, false) == TextMatch::Exact;
        let (index, run) = (source.index, source.run);
        reqs.iter()
            .copied()
            .filter(|&r| {
                let g = index.req_group.get(r as usize).copied().unwrap_or(NONE);
                let group_ok = groups
                    .check(g, || matches(source.label(g)))
                    .unwrap_or(none_ok);
                if group_ok {
                    return true;
                }
                let Some(&uri) = index.req_uri.get(r as usize) else {
                    return false;
                };
                uris.check(uri, || matches(run.str(uri)))
                    .unwrap_or_else(|| matches(run.str(uri)))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tui::App;
    use crate::tui::testing::{big_run, sample_run};

    /// The text filter keeps what matching each request's label or URI keeps, on the
    /// explorer's sample run and on a run large enough to be cut in parts; what one list
    /// learned serves the next (a test's requests, then the whole run twice, then the test's
    /// again) without changing the answer.
    #[test]
    fn passing_is_each_request_matched() {
        for run in [sample_run(), big_run(300_000, 20)] {
            let app = App::for_test(run, true);
            let ctx = &app.ctx;
            let all: Vec<u32> = (0..ctx.run.requests.len() as u32).collect();
            let some: Vec<u32> = all.iter().copied().step_by(7).collect();
            let mut matches = TextMatches::default();
            for text in [
                "pods",
                "/api/v1",
                "-pods",
                "nomatch",
                "LIST",
                "re:^/apis/",
                "obj12",
                "things7",
                "-obj1",
                "op3corev1",
            ] {
                let query = Query::parse(text).expect("query parses");
                let each = |reqs: &[u32]| -> Vec<u32> {
                    reqs.iter()
                        .copied()
                        .filter(|&r| {
                            let g = ctx.index.req_group[r as usize];
                            let uri = ctx.run.requests[r as usize].uri;
                            query.match_text(ctx.group_label(g), false) == TextMatch::Exact
                                || query.match_text(ctx.run.str(uri), false) == TextMatch::Exact
                        })
                        .collect()
                };
                let (want_some, want_all) = (each(&some), each(&all));
                assert_eq!(
                    matches.passing(ctx, text, &query, &some),
                    want_some,
                    "{text:?}"
                );
                assert!(
                    matches.whole.is_none(),
                    "{text:?}: a part is not the whole run"
                );
                assert_eq!(
                    matches.passing(ctx, text, &query, &all),
                    want_all,
                    "{text:?}"
                );
                assert_eq!(matches.whole.as_ref(), Some(&want_all), "{text:?} kept");
                assert_eq!(
                    matches.passing(ctx, text, &query, &all),
                    want_all,
                    "{text:?}"
                );
                assert_eq!(
                    matches.passing(ctx, text, &query, &some),
                    want_some,
                    "{text:?}"
                );
            }
        }
    }
}
