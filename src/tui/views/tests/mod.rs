//! The Tests view: three linked panes, **Tests | Requests | Backtrace**. A test fills the
//! requests, a request or endpoint fills the backtrace; jumps narrow all three to a scope.

pub mod backtrace_pane;
pub mod requests_pane;
pub mod scope;
pub mod steps;
pub mod tests_pane;
pub mod text_matches;
pub mod timeline;

use super::Jump;
use crate::analysis::tree::{KEY_FOLDED, KEY_TRUNCATED};
use crate::run::FrameId;
use crate::tui::component::{Component, ListPane, Outcome};
use crate::tui::context::{Ctx, TestEntry};
use crate::tui::keymap::{Action, PaneScope};
use backtrace_pane::{BacktracePane, BtSource};
use ratatui::Frame;
use ratatui::layout::{Constraint, Direction, Layout, Rect};
use requests_pane::{ReqRow, RequestsPane};
use scope::{Scope, ScopeState};
use tests_pane::TestsPane;

/// Below this width the panes stack vertically.
pub const STACK_BELOW: u16 = 100;

/// The three panes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Pane {
    /// The Tests pane.
    Tests,
    /// The Requests pane.
    Requests,
    /// The Backtrace pane.
    Backtrace,
}

impl Pane {
    /// Where the pane's bindings are listed in help and hints.
    pub fn scope(self) -> PaneScope {
        match self {
            Pane::Tests => PaneScope::Tests,
            Pane::Requests => PaneScope::Requests,
            Pane::Backtrace => PaneScope::Backtrace,
        }
    }
}

/// A place in the Tests view, for the jump history.
#[derive(Debug, Clone, PartialEq)]
pub struct Nav {
    scope: Option<Scope>,
    show_all: bool,
    test: Option<TestEntry>,
    req: Option<ReqRow>,
    focus: Pane,
    bt: BtSource,
    bt_node_key: Option<u32>,
}

/// The Tests view's state.
#[derive(Debug, Clone)]
pub struct TestsView {
    /// The focused pane.
    pub focus: Pane,
    /// What a jump narrowed the view to.
    pub scope: ScopeState,
    /// The Tests pane.
    pub tests: TestsPane,
    /// The Requests pane.
    pub requests: RequestsPane,
    /// The Backtrace pane.
    pub backtrace: BacktracePane,
    /// Set while restoring a place: the tree is built once at the end.
    hold_backtrace: bool,
    /// The focused pane fills the view (`M`).
    pub maximized: bool,
    /// Requests per second across the run, under the panes.
    pub timeline: timeline::Timeline,
}

impl TestsView {
    /// The view on its first screen.
    pub fn new(ctx: &Ctx, show_all: bool) -> TestsView {
        TestsView::with_timeline(ctx, show_all, timeline::Timeline::new(ctx))
    }

    /// [`TestsView::new`] with the timeline counted already (it is O(requests): a run
    /// still loading has it counted off the event loop's thread).
    pub fn with_timeline(ctx: &Ctx, show_all: bool, timeline: timeline::Timeline) -> TestsView {
        let mut v = TestsView {
            focus: Pane::Tests,
            scope: ScopeState::default(),
            tests: TestsPane::new(show_all),
            requests: RequestsPane::default(),
            backtrace: BacktracePane::default(),
            hold_backtrace: false,
            maximized: false,
            timeline,
        };
        v.tests.rebuild(ctx, &v.scope, None);
        v.tests.select_first_with_requests();
        v.on_test_changed(ctx);
        v
    }

    fn toggle_window(&mut self, ctx: &Ctx) -> Outcome {
        let hide = !self.tests.hide_window;
        self.tests.hide_window = hide;
        self.tests.rebuild(ctx, &self.scope, None);
        self.requests.hide_window = hide;
        self.on_test_changed(ctx);
        self.backtrace.source = BtSource::None;
        self.sync_backtrace(ctx);
        Outcome::Message(if hide {
            "own requests only: those by time window (others during the test) hidden".into()
        } else {
            "showing requests by time window too (dimmed)".into()
        })
    }

    /// The selected test entry.
    pub fn selected_test(&self) -> Option<TestEntry> {
        self.tests.selected()
    }

    /// The focused pane.
    pub fn focused(&mut self) -> &mut dyn ListPane {
        match self.focus {
            Pane::Tests => &mut self.tests,
            Pane::Requests => &mut self.requests,
            Pane::Backtrace => &mut self.backtrace,
        }
    }

    /// The focused pane, read-only.
    pub fn focused_ref(&self) -> &dyn ListPane {
        match self.focus {
            Pane::Tests => &self.tests,
            Pane::Requests => &self.requests,
            Pane::Backtrace => &self.backtrace,
        }
    }

    /// The name of a test entry as listed.
    pub fn entry_name<'a>(&self, ctx: &'a Ctx, e: TestEntry) -> &'a str {
        ctx.entry_name(e, self.scope.scope.is_some())
    }

    fn on_test_changed(&mut self, ctx: &Ctx) {
        let Some(entry) = self.selected_test() else {
            self.requests.clear();
            self.set_backtrace(ctx, BtSource::None);
            return;
        };
        let reqs = self.scope.entry_requests(ctx, entry);
        self.requests.load(ctx, reqs);
        self.sync_backtrace(ctx);
    }

    /// Picks the backtrace source from the focus and selection.
    fn sync_backtrace(&mut self, ctx: &Ctx) {
        let src = match self.focus {
            Pane::Backtrace => return,
            Pane::Tests => self
                .selected_test()
                .map(BtSource::Test)
                .unwrap_or(BtSource::None),
            Pane::Requests => match (self.requests.selected(), self.selected_test()) {
                (Some(ReqRow::Request { req, .. }), _) => BtSource::Request(req),
                (Some(ReqRow::Group { group, .. }), Some(t)) => BtSource::Group(t, group),
                (_, Some(t)) => BtSource::Test(t),
                _ => BtSource::None,
            },
        };
        self.set_backtrace(ctx, src);
    }

    /// Rebuilds the tree for `src` if it changed.
    fn set_backtrace(&mut self, ctx: &Ctx, src: BtSource) {
        if src == self.backtrace.source || self.hold_backtrace {
            return;
        }
        let reqs: Vec<u32> = match &src {
            BtSource::None => Vec::new(),
            // The selected test's requests as listed (filter and window switch applied).
            BtSource::Test(t) if Some(*t) == self.selected_test() => {
                self.requests.group_reqs.clone()
            }
            BtSource::Test(t) => self.scope.entry_requests(ctx, *t),
            BtSource::Group(_, g) => self.requests.requests_of_group(*g).to_vec(),
            BtSource::Request(r) => vec![*r],
        };
        self.backtrace.set_source(ctx, src, &reqs);
    }

    fn rebuild_tree_same_source(&mut self, ctx: &Ctx) {
        let keep_key = self.backtrace.selected_key();
        let src = std::mem::replace(&mut self.backtrace.source, BtSource::None);
        self.set_backtrace(ctx, src);
        if let Some(k) = keep_key {
            self.backtrace.reveal_key(k);
        }
    }

    /// After the focused pane's selection changed.
    fn selection_changed(&mut self, ctx: &Ctx) {
        match self.focus {
            Pane::Tests => self.on_test_changed(ctx),
            Pane::Requests => self.sync_backtrace(ctx),
            Pane::Backtrace => {}
        }
    }

    /// Sets the focused pane's filter, following the selection if it moved.
    pub fn set_filter(&mut self, ctx: &Ctx, text: String) {
        let before = (self.selected_test(), self.requests.selected());
        self.focused().set_filter(ctx, text);
        if (self.selected_test(), self.requests.selected()) != before {
            self.selection_changed(ctx);
        }
    }

    // ----- history ------------------------------------------------------------------

    /// The current place.
    pub fn nav(&self) -> Nav {
        Nav {
            scope: self.scope.scope,
            show_all: self.tests.show_all,
            test: self.selected_test(),
            req: self.requests.selected(),
            focus: self.focus,
            bt: self.backtrace.source.clone(),
            bt_node_key: self.backtrace.selected_key(),
        }
    }

    /// Goes back to a place.
    pub fn restore(&mut self, ctx: &Ctx, nav: Nav) {
        self.hold_backtrace = true;
        self.set_scope(ctx, nav.scope);
        self.tests.show_all = nav.show_all;
        self.focus = nav.focus;
        self.tests.rebuild(ctx, &self.scope, nav.test);
        self.on_test_changed(ctx);
        if let Some(row) = nav.req {
            if let ReqRow::Request { group, .. } = row {
                self.requests.expanded.insert(group);
            }
            self.requests.rebuild_rows(ctx, Some(row));
        }
        self.hold_backtrace = false;
        self.set_backtrace(ctx, nav.bt);
        if let Some(k) = nav.bt_node_key {
            self.backtrace.reveal_key(k);
        }
    }

    fn set_scope(&mut self, ctx: &Ctx, scope: Option<Scope>) {
        self.scope.set(ctx, scope);
        // The tree must be rebuilt even when the selection keeps its name.
        self.backtrace.source = BtSource::None;
    }

    /// Narrows everything to `scope` and selects `entry` (the caller records the history).
    fn go(&mut self, ctx: &Ctx, scope: Option<Scope>, entry: Option<TestEntry>, focus: Pane) {
        self.set_scope(ctx, scope);
        self.tests.filter.clear();
        self.requests.filter.clear();
        self.backtrace.filter.clear();
        self.tests.rebuild(ctx, &self.scope, entry);
        if entry.is_none() || self.selected_test() != entry {
            self.tests.state.sel = 0;
        }
        self.focus = focus;
        // Build the tree once, for the place we land on.
        self.hold_backtrace = true;
        self.on_test_changed(ctx);
        self.hold_backtrace = false;
        if focus == Pane::Backtrace {
            if let Some(t) = self.selected_test() {
                self.set_backtrace(ctx, BtSource::Test(t));
            }
        } else {
            self.sync_backtrace(ctx);
        }
    }

    /// Performs a jump; returns the message for the status line.
    pub fn jump(&mut self, ctx: &Ctx, jump: Jump) -> Option<String> {
        match jump {
            Jump::EndpointTests(group) => {
                self.go(ctx, Some(Scope::Endpoint(group)), None, Pane::Tests);
                // The first real test, past the pseudo entries.
                if let Some(pos) =
                    self.tests.view.iter().position(|&i| {
                        matches!(self.tests.rows[i as usize].entry, TestEntry::Spec(_))
                    })
                {
                    self.tests.state.sel = pos;
                    self.on_test_changed(ctx);
                }
                let n = self
                    .tests
                    .rows
                    .iter()
                    .filter(|r| matches!(r.entry, TestEntry::Spec(_)))
                    .count();
                Some(format!(
                    "{}: called by {}",
                    ctx.group_label(group),
                    requests_pane::plural(n, "test")
                ))
            }
            Jump::EndpointFrames(group) => {
                self.go(
                    ctx,
                    Some(Scope::Endpoint(group)),
                    Some(TestEntry::All),
                    Pane::Backtrace,
                );
                Some(format!(
                    "{}: every caller across all tests ({} requests)",
                    ctx.group_label(group),
                    self.backtrace.requests
                ))
            }
            Jump::FrameUses(key) => {
                self.go(
                    ctx,
                    Some(Scope::Frame(key)),
                    Some(TestEntry::All),
                    Pane::Requests,
                );
                Some(self.frame_summary(ctx, key))
            }
            Jump::Frame(frame) => {
                self.go(
                    ctx,
                    Some(Scope::Frame(frame)),
                    Some(TestEntry::All),
                    Pane::Backtrace,
                );
                self.backtrace.reveal_key(frame);
                Some(self.frame_summary(ctx, frame))
            }
            Jump::Unscope => {
                let focus = self.focus;
                let entry = self.selected_test().filter(|e| *e != TestEntry::All);
                self.go(ctx, None, entry, focus);
                Some("filter cleared".into())
            }
        }
    }

    /// `function: N requests, M endpoints, K tests` for the status line.
    fn frame_summary(&self, ctx: &Ctx, frame: FrameId) -> String {
        let plural = |n: u64, what: &str| format!("{n} {what}{}", if n == 1 { "" } else { "s" });
        let reqs = ctx
            .index
            .frame_requests
            .get(frame as usize)
            .copied()
            .unwrap_or(0);
        format!(
            "{}: {}, {}, {}",
            ctx.node_text(frame),
            plural(reqs, "request"),
            plural(self.requests.groups.len() as u64, "endpoint"),
            plural(ctx.index.frame_test_count(frame) as u64, "test")
        )
    }

    /// The backtrace in view as text (see [`BacktracePane::text`]).
    pub fn backtrace_text(&self, ctx: &Ctx) -> Option<String> {
        self.backtrace
            .text(ctx, |r| self.scope.contains(ctx, r))
            .map(|(_, t)| t)
    }

    /// What `y` copies: the trace, and a name for it (the request, its test, and how many
    /// requests share the node when the tree merges several).
    fn copy_backtrace(&self, ctx: &Ctx) -> Outcome {
        let Some((req, text)) = self.backtrace.text(ctx, |r| self.scope.contains(ctx, r)) else {
            return Outcome::Message("no backtrace in view".into());
        };
        let run = &ctx.run;
        let Some(r) = run.requests.get(req as usize) else {
            return Outcome::Done;
        };
        let test = r
            .spec
            .and_then(|s| run.specs.get(s.index()))
            .map(|s| run.str(s.name))
            .unwrap_or("no test");
        let mut what = format!("{} {} ({test})", run.str(r.verb), run.str(r.uri));
        if !matches!(self.backtrace.source, BtSource::Request(_))
            && let Some(node) = self
                .backtrace
                .selected_node()
                .and_then(|n| self.backtrace.tree.nodes.get(n as usize))
            && node.count > 1
        {
            what.push_str(&format!(
                ", one of {} requests through this node",
                node.count
            ));
        }
        Outcome::Copy {
            what: "backtrace".into(),
            detail: Some(what),
            text,
        }
    }

    /// Lists all requests and those of no test, and selects all requests (`a`, and the first
    /// screen of a run without tests).
    pub fn show_all_requests(&mut self, ctx: &Ctx) {
        self.set_show_all(ctx, true);
    }

    fn set_show_all(&mut self, ctx: &Ctx, show_all: bool) {
        self.tests.show_all = show_all;
        let keep = if show_all {
            Some(TestEntry::All)
        } else {
            self.selected_test()
        };
        self.tests.rebuild(ctx, &self.scope, keep);
        self.backtrace.source = BtSource::None;
        self.on_test_changed(ctx);
    }

    fn toggle_all(&mut self, ctx: &Ctx) -> Outcome {
        self.set_show_all(ctx, !self.tests.show_all);
        Outcome::Message(if self.tests.show_all {
            "showing all requests, and those of no test".into()
        } else {
            "showing tests only".into()
        })
    }
}

impl Component for TestsView {
    fn handle(&mut self, ctx: &Ctx, action: Action) -> Outcome {
        if let Some(changed) = self.focused().apply_move(action) {
            if changed {
                self.selection_changed(ctx);
            }
            return Outcome::Done;
        }
        // The focused pane first: its own keys.
        let pane_outcome = match self.focus {
            Pane::Tests => self.tests.handle(ctx, action),
            Pane::Requests => self.requests.handle(ctx, action),
            Pane::Backtrace => self.backtrace.handle(ctx, action),
        };
        match pane_outcome {
            Outcome::Ignored => {}
            Outcome::Selected => {
                self.selection_changed(ctx);
                return Outcome::Done;
            }
            other => return other,
        }
        match action {
            Action::NextPane | Action::PrevPane => {
                self.focus = match (self.focus, action == Action::NextPane) {
                    (Pane::Tests, true) | (Pane::Backtrace, false) => Pane::Requests,
                    (Pane::Requests, true) | (Pane::Tests, false) => Pane::Backtrace,
                    (Pane::Backtrace, true) | (Pane::Requests, false) => Pane::Tests,
                };
                self.sync_backtrace(ctx);
                Outcome::Done
            }
            Action::Open => match (self.focus, self.requests.selected()) {
                (Pane::Tests, _) => {
                    self.focus = Pane::Requests;
                    self.sync_backtrace(ctx);
                    Outcome::Done
                }
                (Pane::Requests, Some(ReqRow::Request { req, .. })) => Outcome::Detail(req),
                _ => Outcome::Done,
            },
            Action::ToggleOrientation => {
                self.backtrace.options.caller_first = !self.backtrace.options.caller_first;
                self.rebuild_tree_same_source(ctx);
                Outcome::Message(if self.backtrace.options.caller_first {
                    "caller-first: from the test function inwards".into()
                } else {
                    "callee-first: from the client call outwards".into()
                })
            }
            Action::ToggleFold => {
                self.backtrace.options.fold = !self.backtrace.options.fold;
                self.rebuild_tree_same_source(ctx);
                Outcome::Message(if self.backtrace.options.fold {
                    "vendored and runtime frames folded".into()
                } else {
                    "all frames shown".into()
                })
            }
            Action::CycleSort => {
                let before = self.selected_test();
                let out = self.tests.handle(ctx, action);
                if self.selected_test() != before {
                    self.on_test_changed(ctx);
                }
                out
            }
            Action::ToggleAll => self.toggle_all(ctx),
            Action::Maximize => {
                self.maximized = !self.maximized;
                Outcome::Done
            }
            Action::ToggleWindow => self.toggle_window(ctx),
            Action::ToggleSkipped => {
                let before = self.selected_test();
                let m = self.tests.toggle_skipped(ctx);
                if self.selected_test() != before {
                    self.on_test_changed(ctx);
                }
                Outcome::Message(m)
            }
            Action::EndpointTests | Action::EndpointFrames => {
                let group = match (self.focus, self.requests.selected()) {
                    (
                        Pane::Requests,
                        Some(ReqRow::Group { group, .. } | ReqRow::Request { group, .. }),
                    ) => group,
                    _ => {
                        return Outcome::Message(
                            "select an endpoint in the Requests pane first".into(),
                        );
                    }
                };
                Outcome::Jump(if action == Action::EndpointTests {
                    Jump::EndpointTests(group)
                } else {
                    Jump::EndpointFrames(group)
                })
            }
            Action::FrameUses => {
                let Some(key) = self.backtrace.selected_key() else {
                    return Outcome::Done;
                };
                if key == KEY_FOLDED || key == KEY_TRUNCATED {
                    return Outcome::Message("not a frame: unfold (z) first".into());
                }
                Outcome::Jump(Jump::FrameUses(key))
            }
            Action::NextMatch | Action::PrevMatch => {
                if self.focused_ref().is_empty() || self.focused_ref().filter().is_empty() {
                    return Outcome::Message("no filter: press / to search".into());
                }
                let before = (self.selected_test(), self.requests.selected());
                self.focused().step_match(ctx, action == Action::NextMatch);
                if (self.selected_test(), self.requests.selected()) != before {
                    self.selection_changed(ctx);
                }
                Outcome::Done
            }
            Action::CopyBacktrace => self.copy_backtrace(ctx),
            Action::CopySpec => match self.selected_test() {
                Some(TestEntry::Spec(s)) => Outcome::Copy {
                    what: "test name".into(),
                    detail: None,
                    text: self.entry_name(ctx, TestEntry::Spec(s)).to_string(),
                },
                _ => Outcome::Message("select a test first".into()),
            },
            Action::CopyRequest => match self.requests.selected() {
                Some(ReqRow::Request { req, .. }) => copy_request(ctx, req),
                _ => Outcome::Message("select a request first (Enter opens a group)".into()),
            },
            Action::Escape => {
                if !self.focused_ref().filter().is_empty() {
                    self.set_filter(ctx, String::new());
                    Outcome::Done
                } else if self.scope.scope.is_some() {
                    Outcome::Jump(Jump::Unscope)
                } else {
                    Outcome::Done
                }
            }
            _ => Outcome::Ignored,
        }
    }

    fn draw(&mut self, f: &mut Frame, area: Rect, ctx: &Ctx, _focused: bool) {
        // The selected row's whole text, under the panes, wrapped.
        let full = crate::text::escape_control(&self.full_text(ctx)).into_owned();
        let width = area.width.max(1) as usize;
        let rows = full.chars().count().div_ceil(width).clamp(1, 3) as u16;
        // The timeline strip: 3 rows when there is room, 2 on a small screen, none when tiny
        // or while a pane is maximized.
        let strip = match area.height {
            _ if self.maximized => 0,
            h if h >= 30 => 3,
            h if h >= 16 => 2,
            _ => 0,
        };
        let [area, strip_area, text_area] = Layout::vertical([
            Constraint::Min(3),
            Constraint::Length(strip),
            Constraint::Length(rows),
        ])
        .areas(area);
        if strip > 0 {
            let window = match self.selected_test() {
                Some(TestEntry::Spec(s)) => ctx.run.specs.get(s.index()).and_then(|sp| {
                    use crate::run::NO_TIME;
                    if sp.window_start != NO_TIME && sp.window_end != NO_TIME {
                        Some((sp.window_start, sp.window_end))
                    } else if sp.start != NO_TIME && sp.end != NO_TIME {
                        Some((sp.start, sp.end))
                    } else {
                        None
                    }
                }),
                _ => None,
            };
            let requests: &[u32] = match self.selected_test() {
                Some(TestEntry::Spec(_)) => &self.requests.all,
                _ => &[],
            };
            self.timeline
                .draw(f, strip_area, ctx, timeline::Marks { window, requests });
        }
        f.render_widget(
            ratatui::widgets::Paragraph::new(full)
                .style(ctx.theme.dim)
                .wrap(ratatui::widgets::Wrap { trim: false }),
            text_area,
        );
        if self.maximized {
            let focus = self.focus;
            match focus {
                Pane::Tests => self.tests.draw(f, area, ctx, true),
                Pane::Requests => self.requests.draw(f, area, ctx, true),
                Pane::Backtrace => self.backtrace.draw(f, area, ctx, true),
            }
            return;
        }
        let stacked = area.width < STACK_BELOW;
        let weights = |p: Pane| if stacked && self.focus == p { 2 } else { 1 };
        let constraints = if stacked {
            vec![
                Constraint::Fill(weights(Pane::Tests)),
                Constraint::Fill(weights(Pane::Requests)),
                Constraint::Fill(weights(Pane::Backtrace)),
            ]
        } else {
            vec![
                Constraint::Percentage(30),
                Constraint::Percentage(32),
                Constraint::Percentage(38),
            ]
        };
        let panes = Layout::default()
            .direction(if stacked {
                Direction::Vertical
            } else {
                Direction::Horizontal
            })
            .constraints(constraints)
            .split(area);
        let focus = self.focus;
        self.tests.draw(f, panes[0], ctx, focus == Pane::Tests);
        self.requests
            .draw(f, panes[1], ctx, focus == Pane::Requests);
        self.backtrace
            .draw(f, panes[2], ctx, focus == Pane::Backtrace);
    }
}

impl TestsView {
    /// The focused pane's selected row in full: the test's name, the request (verb, URI,
    /// code, user, test), or the frame (function, file:line).
    pub fn full_text(&self, ctx: &Ctx) -> String {
        let run = &ctx.run;
        match self.focus {
            Pane::Tests => self
                .selected_test()
                .map(|t| self.entry_name(ctx, t).to_string())
                .unwrap_or_default(),
            Pane::Requests => match self.requests.selected() {
                Some(ReqRow::Group { group, count }) => {
                    format!("{} · {count}", ctx.group_label(group))
                }
                Some(ReqRow::Request { req, .. }) => run
                    .requests
                    .get(req as usize)
                    .map(|r| {
                        let user = run
                            .users
                            .get(r.user as usize)
                            .map_or("", |u| run.str(u.name));
                        let test = run.spec_of(r).map_or("no test", |s| run.str(s.name));
                        format!(
                            "{} {} → {} · {user} · {} · {test}",
                            run.str(r.verb),
                            run.str(r.uri),
                            r.code,
                            r.attribution.as_str()
                        )
                    })
                    .unwrap_or_default(),
                None => String::new(),
            },
            Pane::Backtrace if self.backtrace.steps.is_some() => {
                self.backtrace.steps_full_text(ctx).unwrap_or_default()
            }
            Pane::Backtrace => match self.backtrace.selected_key() {
                Some(k) => match run.frames.get(k as usize) {
                    Some(fr) => {
                        format!("{}  {}:{}", run.str(fr.function), run.str(fr.file), fr.line)
                    }
                    None => ctx.node_text(k).to_string(),
                },
                None => String::new(),
            },
        }
    }
}

/// The copy of a request's one-line form.
pub fn copy_request(ctx: &Ctx, req: u32) -> Outcome {
    match ctx.run.requests.get(req as usize) {
        Some(r) => Outcome::Copy {
            what: "request".into(),
            detail: None,
            text: crate::tui::detail::event_string(&ctx.run, r),
        },
        None => Outcome::Done,
    }
}
