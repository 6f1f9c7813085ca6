//! A spec's steps: the `STEP:` lines (ginkgo's `By`) of its log, and which step a request
//! was received in.
//!
//! A step lasts from its start until the next step of the same spec starts; the last step
//! lasts until the spec's requests end. So a request of the spec (attributed by `ua` or
//! `window`) received at `t` is in the last step that started at or before `t`, and a request
//! received before the first step (or without a time) is outside every step.

use serde::{Deserialize, Serialize};

use super::{Attribution, Micros, NO_TIME, Request, Run, Spec, SpecId, StrId};

/// One `STEP:` line of a spec's log.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Step {
    /// The step's text, without its time and location.
    pub text: StrId,
    /// When it began; [`NO_TIME`] when the log tells no time for it.
    pub start: Micros,
    /// `file.go:123` where the log gives it, else 0.
    #[serde(default)]
    pub location: StrId,
}

impl Spec {
    /// The index in [`Spec::steps`] of the step running at `t`: the last step (in log order)
    /// that started at or before `t`. `None` before the first step, or when `t` is
    /// [`NO_TIME`].
    pub fn step_at(&self, t: Micros) -> Option<usize> {
        if t == NO_TIME {
            return None;
        }
        self.steps
            .iter()
            .rposition(|s| s.start != NO_TIME && s.start <= t)
    }
}

/// Where a request falls among its spec's steps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StepRef {
    /// The spec the request is attributed to.
    pub spec: SpecId,
    /// Index into that spec's [`Spec::steps`].
    pub step: usize,
}

impl Run {
    /// The step `req` was received in, for a request attributed to a spec (by `ua` or
    /// `window`); `None` for other requests and for requests outside every step of their spec.
    pub fn step_of(&self, req: &Request) -> Option<StepRef> {
        if !matches!(req.attribution, Attribution::Ua | Attribution::Window) {
            return None;
        }
        let spec = req.spec?;
        let step = self.spec_of(req)?.step_at(req.received)?;
        Some(StepRef { spec, step })
    }

    /// The step a [`StepRef`] points to.
    pub fn step(&self, at: StepRef) -> Option<&Step> {
        self.specs.get(at.spec.index())?.steps.get(at.step)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(starts: &[Micros]) -> Spec {
        Spec {
            steps: starts
                .iter()
                .map(|&start| Step {
                    text: 0,
                    start,
                    location: 0,
                })
                .collect(),
            ..Spec::default()
        }
    }

    #[test]
    fn a_step_lasts_until_the_next_one_starts() {
        let s = spec(&[10, 20, 20, 30]);
        assert_eq!(s.step_at(9), None);
        assert_eq!(s.step_at(10), Some(0));
        assert_eq!(s.step_at(19), Some(0));
        // Two steps at the same time: the later one holds what follows.
        assert_eq!(s.step_at(20), Some(2));
        assert_eq!(s.step_at(1_000), Some(3));
        assert_eq!(s.step_at(NO_TIME), None);
        // A step without a time holds nothing.
        let s = spec(&[10, NO_TIME, 30]);
        assert_eq!(s.step_at(25), Some(0));
        assert_eq!(spec(&[]).step_at(5), None);
    }
}
