//! The explorer's top level: the shared [`Ctx`], the views, overlays, the typing modes and
//! the jump history. Keys become [`Action`]s through the keymap (per [`Mode`]); each view
//! handles its own and answers with an [`Outcome`] that this module follows up.

use super::clipboard::{Clipboard, Sink};
use super::component::ListPane;
use super::component::{Component, Outcome};
use super::history::Backstack;
use super::keymap::{Action, Keymap, Mode};
use super::theme::Theme;
use super::views::endpoints::EndpointsView;
use super::views::tests::{Nav, TestsView};
use super::views::{Jump, ViewKind};
use crate::analysis::{FrameHit, RunIndex, search_frames};
use crate::run::Run;
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use std::sync::Arc;

pub use super::component::ListState;
pub use super::context::{Ctx, TestEntry};
pub use super::views::tests::Pane;
pub use super::views::tests::backtrace_pane::BtSource;
pub use super::views::tests::requests_pane::{GROUP_ROWS_LIMIT, GroupSlice, ReqRow};
pub use super::views::tests::scope::Scope;
pub use super::views::tests::tests_pane::{SortKey, TestRow};

/// An overlay over the views.
#[derive(Debug, Clone, PartialEq)]
pub enum Overlay {
    /// Nothing.
    None,
    /// The key list.
    Help {
        /// Lines scrolled.
        scroll: u16,
    },
    /// One request in full.
    Detail {
        /// The request.
        req: u32,
        /// Lines scrolled.
        scroll: u16,
    },
    /// The global function search.
    FrameSearch {
        /// What was typed.
        query: String,
        /// The frames found, best first.
        hits: Vec<FrameHit>,
        /// The selected hit.
        sel: usize,
    },
}

/// True for a run with requests and no tests (an audit log read without its e2e log): its
/// Tests pane would list nothing, so the explorer opens on all requests instead.
fn only_requests(run: &Run) -> bool {
    run.specs.is_empty() && !run.requests.is_empty()
}

/// Said on the first screen of a run [`only_requests`] holds for.
const NO_TESTS_MESSAGE: &str = "no tests in this run: all requests shown";

/// Said on the first screen of a run whose tests tie none of its requests (an audit log and an
/// e2e log of different runs): every test lists nothing, and at 80 columns only the Tests pane
/// is on screen to say so.
const NO_REQUEST_TIED_MESSAGE: &str = "no test has requests: a shows all of them";

/// What the first screen of the run says: a labelled run (the bundled demo) says so; a run
/// without tests says it shows all requests; a run whose tests have no requests says how to
/// see them ([`Ctx::no_request_tied`]: not while it is being read, as its first requests
/// often come before any test).
fn first_message(ctx: &Ctx) -> Option<String> {
    let run = &ctx.run;
    run.notes
        .iter()
        .find(|n| n.starts_with("DEMO RUN"))
        .map(|n| crate::text::escape_control(n).into_owned())
        .or_else(|| only_requests(run).then(|| NO_TESTS_MESSAGE.to_string()))
        .or_else(|| {
            ctx.no_request_tied()
                .then(|| NO_REQUEST_TIED_MESSAGE.to_string())
        })
}

/// Options the explorer starts with.
#[derive(Debug, Clone, Default)]
pub struct AppOptions {
    /// Start with requests of all tests and of none (`--all`).
    pub show_all: bool,
    /// The comparison with a baseline run (`--baseline OLD`).
    pub baseline: Option<crate::diff::Diff>,
}

/// A place in the explorer, for the jump history.
#[derive(Debug, Clone, PartialEq)]
pub struct Place {
    view: ViewKind,
    tests: Nav,
}

/// The explorer's state.
pub struct App {
    /// The run and what every view shares.
    pub ctx: Ctx,
    /// The Tests view.
    pub panes: TestsView,
    /// The Endpoints view, built the first time it is shown.
    pub endpoints: Option<EndpointsView>,
    /// The view shown.
    pub view: ViewKind,
    /// The overlay shown over the views, if any.
    pub overlay: Overlay,
    /// Back/forward places.
    pub history: Backstack<Place>,
    /// The last message for the status line.
    pub message: Option<String>,
    /// Set when the user quits.
    pub quit: bool,
    /// While the run is still being read (loading, `--follow`): where reading is, shown on
    /// the status line (see [`super::live`]).
    pub live: Option<String>,
    /// The Endpoints view of the run shown, built off the event loop's thread with the
    /// run (see [`Derived`]), until it is first shown.
    endpoints_ready: Option<EndpointsView>,
}

/// What the explorer derives from a run in O(requests): built off the event loop's thread for
/// a run still loading ([`super::live`]), so that putting it in place ([`App::reload_derived`])
/// costs a key no more than a few milliseconds, however large the run.
pub struct Derived {
    /// The run's index.
    pub index: Arc<RunIndex>,
    /// Every request's latency ([`super::context::latencies`]).
    pub latency: Vec<crate::run::Micros>,
    /// The Tests view's timeline strip.
    pub timeline: super::views::tests::timeline::Timeline,
    /// The Endpoints view (the coverage count), when asked for.
    pub endpoints: Option<EndpointsView>,
}

impl Derived {
    /// Builds it all for `run` (and the Endpoints view when `endpoints`); the run is handed
    /// back.
    pub fn build(run: Run, endpoints: bool) -> (Run, Derived) {
        let index = RunIndex::build(&run);
        Derived::build_with(run, index, endpoints)
    }

    fn build_with(run: Run, index: RunIndex, endpoints: bool) -> (Run, Derived) {
        let latency = super::context::latencies(&run);
        // The views are built from a context; this one lives only while they are.
        let ctx = Ctx {
            run: Arc::new(run),
            index: Arc::new(index),
            keymap: Keymap::default_keymap(),
            theme: Theme::color(),
            clipboard: Clipboard {
                route: super::clipboard::Route::Osc52,
                sink: Sink::Buffer(Vec::new()),
            },
            mode: Mode::Normal,
            latency,
            baseline: None,
            reading: false,
        };
        let timeline = super::views::tests::timeline::Timeline::new(&ctx);
        let endpoints = endpoints.then(|| {
            let mut view = EndpointsView::new(&ctx);
            // Every row's p99 now, so sorting by it later costs a key nothing (at millions
            // of requests measuring them all takes about 100 ms).
            for i in 0..view.rows.len() {
                view.measure(&ctx, i);
            }
            view
        });
        let derived = Derived {
            index: ctx.index,
            latency: ctx.latency,
            timeline,
            endpoints,
        };
        // Only this context holds the run: it is handed back without a copy.
        (Arc::unwrap_or_clone(ctx.run), derived)
    }
}

impl App {
    /// Builds the state for a run: O(requests) once.
    pub fn new(run: Run, keymap: Keymap, clipboard: Clipboard, options: AppOptions) -> App {
        let index = RunIndex::build(&run);
        let latency = super::context::latencies(&run);
        let ctx = Ctx {
            run: Arc::new(run),
            index: Arc::new(index),
            keymap,
            theme: Theme::from_env(),
            clipboard,
            mode: Mode::Normal,
            latency,
            baseline: options.baseline,
            reading: false,
        };
        let all_by_default = only_requests(&ctx.run);
        let panes = TestsView::new(&ctx, options.show_all || all_by_default);
        let message = first_message(&ctx);
        App {
            ctx,
            panes,
            endpoints: None,
            view: ViewKind::Tests,
            overlay: Overlay::None,
            history: Backstack::default(),
            message,
            quit: false,
            live: None,
            endpoints_ready: None,
        }
    }

    /// An app for tests with a baseline comparison (as `explore --baseline`).
    pub fn for_test_with_baseline(run: Run, baseline: crate::diff::Diff) -> App {
        App::for_test_with(
            run,
            AppOptions {
                show_all: false,
                baseline: Some(baseline),
            },
        )
    }

    /// Puts a newer run of the same inputs in place (progressive loading, `--follow`),
    /// keeping the view, the selection, the focus and the pane filters where they were.
    /// `index` is the run's [`RunIndex`], built by the caller (off the event loop).
    pub fn reload(&mut self, run: Run, index: RunIndex) {
        let (run, derived) = Derived::build_with(run, index, false);
        self.reload_derived(run, derived);
    }

    /// [`App::reload`] with everything derived from the run built by the caller (off the
    /// event loop: at millions of requests that takes a second); returns the run, index and
    /// latencies it replaced, for the caller to free (freeing a large run takes a while too).
    pub fn reload_derived(
        &mut self,
        run: Run,
        derived: Derived,
    ) -> (Arc<Run>, Arc<RunIndex>, Vec<crate::run::Micros>) {
        let Derived {
            index,
            latency,
            timeline,
            endpoints,
        } = derived;
        let place = self.place();
        // The first requests of a run without tests (an audit log read alone): all of them
        // shown at once, as `App::new` does; afterwards `a` is the user's to set.
        let first_run = self.ctx.run.requests.is_empty() && !run.requests.is_empty();
        let first_requests = first_run && only_requests(&run) && !self.panes.tests.show_all;
        let focus = self.panes.focus;
        let filters: Vec<(Pane, String)> = [Pane::Tests, Pane::Requests, Pane::Backtrace]
            .into_iter()
            .filter_map(|p| {
                self.panes.focus = p;
                let f = self.panes.focused_ref().filter();
                (!f.is_empty()).then(|| (p, f.to_string()))
            })
            .collect();
        self.panes.focus = focus;
        let old = (
            std::mem::replace(&mut self.ctx.run, Arc::new(run)),
            std::mem::replace(&mut self.ctx.index, index),
            std::mem::replace(&mut self.ctx.latency, latency),
        );
        let show_all = self.panes.tests.show_all;
        self.panes = TestsView::with_timeline(&self.ctx, show_all, timeline);
        self.endpoints_ready = None;
        let endpoints = endpoints.map(|mut view| {
            view.mark_against_baseline(&self.ctx);
            view
        });
        if self.endpoints.is_some() {
            let filter = self.endpoints.as_ref().map(|e| e.filter.clone());
            let mut view = endpoints.unwrap_or_else(|| EndpointsView::new(&self.ctx));
            if let Some(f) = filter.filter(|f| !f.is_empty()) {
                view.set_filter(&self.ctx, f);
            }
            self.endpoints = Some(view);
        } else {
            self.endpoints_ready = endpoints;
        }
        for (pane, text) in filters {
            self.panes.focus = pane;
            self.panes.focused().set_filter(&self.ctx, text);
        }
        self.restore(place);
        if first_requests {
            self.panes.show_all_requests(&self.ctx);
        }
        if first_run && self.message.is_none() {
            self.message = first_message(&self.ctx);
        }
        old
    }

    /// An app for tests: default keymap, colour theme, clipboard into a buffer.
    pub fn for_test(run: Run, show_all: bool) -> App {
        App::for_test_with(
            run,
            AppOptions {
                show_all,
                baseline: None,
            },
        )
    }

    /// An app for tests with `options`: default keymap, colour theme, clipboard into a buffer.
    fn for_test_with(run: Run, options: AppOptions) -> App {
        let mut app = App::new(
            run,
            Keymap::default_keymap(),
            Clipboard {
                route: super::clipboard::Route::Osc52,
                sink: Sink::Buffer(Vec::new()),
            },
            options,
        );
        app.ctx.theme = Theme::color();
        app
    }

    /// What keys do now.
    pub fn mode(&self) -> Mode {
        self.ctx.mode
    }

    /// True while a pane's filter is being typed.
    pub fn typing(&self) -> bool {
        self.ctx.mode == Mode::Filter
    }

    /// How many places `back` and `forward` would go.
    pub fn history_depth(&self) -> (usize, usize) {
        self.history.depth()
    }

    fn place(&self) -> Place {
        Place {
            view: self.view,
            tests: self.panes.nav(),
        }
    }

    fn restore(&mut self, place: Place) {
        self.view = place.view;
        self.panes.restore(&self.ctx, place.tests);
    }

    fn jump(&mut self, jump: Jump) {
        let here = self.place();
        self.history.push(here);
        self.ctx.mode = Mode::Normal;
        self.view = ViewKind::Tests;
        self.message = self.panes.jump(&self.ctx, jump);
    }

    /// Shows a view (the Endpoints view is built the first time).
    pub fn show_view(&mut self, view: ViewKind) {
        if view == ViewKind::Endpoints && self.endpoints.is_none() {
            let view = self.endpoints_ready.take();
            self.endpoints = Some(view.unwrap_or_else(|| EndpointsView::new(&self.ctx)));
        }
        self.view = view;
    }

    /// The list the filter prompt types into.
    fn filtered_pane_text(&self) -> String {
        match (self.view, &self.endpoints) {
            (ViewKind::Endpoints, Some(e)) => e.filter.clone(),
            _ => self.panes.focused_ref().filter().to_string(),
        }
    }

    fn set_filter(&mut self, text: String) {
        match (self.view, &mut self.endpoints) {
            (ViewKind::Endpoints, Some(e)) => e.set_filter(&self.ctx, text),
            _ => self.panes.set_filter(&self.ctx, text),
        }
    }

    /// Hands an action to the view shown.
    fn view_handle(&mut self, action: Action) -> Outcome {
        match (self.view, &mut self.endpoints) {
            (ViewKind::Endpoints, Some(e)) => e.handle(&self.ctx, action),
            _ => self.panes.handle(&self.ctx, action),
        }
    }

    // ----- input --------------------------------------------------------------------

    /// Handles one key press.
    pub fn handle_key(&mut self, key: KeyEvent) {
        if self.ctx.keymap.action(&key) == Some(Action::ForceQuit) {
            self.quit = true;
            return;
        }
        let mode = self.ctx.mode;
        let action = self.ctx.keymap.action_in(mode, &key);
        match mode {
            Mode::Normal => {
                if let Some(a) = action {
                    self.apply(a);
                }
            }
            Mode::Filter | Mode::FrameSearch => match (action, typed_char(&key)) {
                (Some(a), _) => self.apply_typing(mode, a),
                (None, Some(c)) => self.type_char(mode, c),
                (None, None) => {}
            },
        }
    }

    /// A typing mode's action.
    fn apply_typing(&mut self, mode: Mode, action: Action) {
        match (mode, action) {
            (Mode::Filter, Action::Accept) => self.ctx.mode = Mode::Normal,
            (Mode::Filter, Action::Cancel) => {
                self.ctx.mode = Mode::Normal;
                self.set_filter(String::new());
            }
            (Mode::Filter, Action::DeleteChar) => {
                let mut text = self.filtered_pane_text();
                text.pop();
                self.set_filter(text);
            }
            (Mode::Filter, Action::Up | Action::Down) => {
                let _ = self.view_handle(action);
            }
            (Mode::FrameSearch, Action::Accept) => {
                let frame = match &self.overlay {
                    Overlay::FrameSearch { hits, sel, .. } => hits.get(*sel).map(|h| h.frame),
                    _ => None,
                };
                if let Some(f) = frame {
                    self.close_frame_search();
                    self.jump(Jump::Frame(f));
                }
            }
            (Mode::FrameSearch, Action::Cancel) => self.close_frame_search(),
            (Mode::FrameSearch, Action::Up | Action::Down) => {
                if let Overlay::FrameSearch { hits, sel, .. } = &mut self.overlay {
                    *sel = if action == Action::Up {
                        sel.saturating_sub(1)
                    } else {
                        (*sel + 1).min(hits.len().saturating_sub(1))
                    };
                }
            }
            (Mode::FrameSearch, Action::DeleteChar) => {
                if let Overlay::FrameSearch { query, .. } = &mut self.overlay {
                    query.pop();
                }
                self.requery_frames();
            }
            _ => {}
        }
    }

    fn type_char(&mut self, mode: Mode, c: char) {
        match mode {
            Mode::Filter => {
                let mut text = self.filtered_pane_text();
                text.push(c);
                self.set_filter(text);
            }
            Mode::FrameSearch => {
                if let Overlay::FrameSearch { query, .. } = &mut self.overlay {
                    query.push(c);
                }
                self.requery_frames();
            }
            Mode::Normal => {}
        }
    }

    fn close_frame_search(&mut self) {
        self.overlay = Overlay::None;
        self.ctx.mode = Mode::Normal;
    }

    fn requery_frames(&mut self) {
        let Overlay::FrameSearch { query, .. } = &self.overlay else {
            return;
        };
        let new_hits = search_frames(&self.ctx.index, query, 200);
        if let Overlay::FrameSearch { hits, sel, .. } = &mut self.overlay {
            *hits = new_hits;
            *sel = 0;
        }
    }

    /// Narrows to requests through `frame` and puts the Backtrace cursor on it.
    pub fn jump_to_frame(&mut self, frame: crate::run::FrameId) {
        self.jump(Jump::Frame(frame));
    }

    /// Applies one action (browsing mode).
    pub fn apply(&mut self, action: Action) {
        // Overlays take the keys first.
        let help = matches!(self.overlay, Overlay::Help { .. });
        if let Overlay::Help { scroll } | Overlay::Detail { scroll, .. } = &mut self.overlay {
            match action {
                Action::Quit | Action::Escape | Action::Help | Action::Open => {
                    self.overlay = Overlay::None
                }
                Action::Down => *scroll = scroll.saturating_add(1),
                Action::Up => *scroll = scroll.saturating_sub(1),
                Action::HalfPageDown => *scroll = scroll.saturating_add(10),
                Action::HalfPageUp => *scroll = scroll.saturating_sub(10),
                Action::Top => *scroll = 0,
                // Help is clamped to the end of its text when drawn.
                Action::Bottom if help => *scroll = u16::MAX,
                Action::CopyRequest | Action::CopyBacktrace => {
                    if let Overlay::Detail { req, .. } = self.overlay {
                        let out = if action == Action::CopyRequest {
                            super::views::tests::copy_request(&self.ctx, req)
                        } else {
                            self.panes.handle(&self.ctx, Action::CopyBacktrace)
                        };
                        self.follow(out);
                    }
                }
                _ => {}
            }
            return;
        }
        self.message = None;
        match action {
            Action::ForceQuit | Action::Quit => self.quit = true,
            Action::Help => self.overlay = Overlay::Help { scroll: 0 },
            Action::Search => {
                self.ctx.mode = Mode::Filter;
                self.set_filter(String::new());
            }
            Action::ViewTests => self.show_view(ViewKind::Tests),
            Action::ViewEndpoints => self.show_view(ViewKind::Endpoints),
            Action::FrameSearch => {
                self.ctx.mode = Mode::FrameSearch;
                self.overlay = Overlay::FrameSearch {
                    query: String::new(),
                    hits: search_frames(&self.ctx.index, "", 200),
                    sel: 0,
                };
            }
            Action::Back => {
                let here = self.place();
                match self.history.back(here) {
                    Some(place) => self.restore(place),
                    None => self.message = Some("no earlier place".into()),
                }
            }
            Action::Forward => {
                let here = self.place();
                match self.history.forward(here) {
                    Some(place) => self.restore(place),
                    None => self.message = Some("no later place".into()),
                }
            }
            _ => {
                let out = self.view_handle(action);
                self.follow(out);
            }
        }
    }

    /// Follows up on what a view answered.
    fn follow(&mut self, out: Outcome) {
        match out {
            Outcome::Ignored | Outcome::Done | Outcome::Selected => {}
            Outcome::Message(m) => self.message = Some(m),
            Outcome::Jump(j) => self.jump(j),
            Outcome::Detail(req) => self.overlay = Overlay::Detail { req, scroll: 0 },
            Outcome::Copy { what, detail, text } => {
                let mut m = self.ctx.clipboard.copy(&what, &text);
                if let Some(d) = detail {
                    m.push_str(" · ");
                    m.push_str(&d);
                }
                self.message = Some(m);
            }
        }
    }
}

/// The character a key types into a prompt, if any.
fn typed_char(key: &KeyEvent) -> Option<char> {
    match key.code {
        KeyCode::Char(c)
            if !key
                .modifiers
                .intersects(KeyModifiers::CONTROL | KeyModifiers::ALT) =>
        {
            Some(c)
        }
        _ => None,
    }
}
