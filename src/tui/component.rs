//! The one interface of every pane and view (gitui's components): each owns its state,
//! handles its own actions and draws itself; its owner follows up on the [`Outcome`].

use super::context::Ctx;
use super::keymap::Action;
use ratatui::Frame;
use ratatui::layout::Rect;

/// Selection and scroll position of a list.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ListState {
    /// Index into the pane's view.
    pub sel: usize,
    /// First visible row (maintained when drawing).
    pub offset: usize,
}

impl ListState {
    /// Keeps the selection inside a list of `len` rows.
    pub fn clamp(&mut self, len: usize) {
        if self.sel >= len {
            self.sel = len.saturating_sub(1);
        }
    }

    /// Applies a move action over `len` rows with pages of `page` rows; returns whether
    /// the selection changed, or `None` when `action` is not a move.
    pub fn apply_move(&mut self, action: Action, len: usize, page: usize) -> Option<bool> {
        let half = page.max(2) / 2;
        let s = self.sel;
        let to = match action {
            Action::Down => s + 1,
            Action::Up => s.saturating_sub(1),
            Action::Top => 0,
            Action::Bottom => len.saturating_sub(1),
            Action::HalfPageDown => s + half,
            Action::HalfPageUp => s.saturating_sub(half),
            _ => return None,
        };
        self.sel = to.min(len.saturating_sub(1));
        Some(self.sel != s)
    }
}

/// What handling an action did.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// Not this component's action.
    Ignored,
    /// Handled; nothing outside the component changes.
    Done,
    /// The selection changed: whatever follows it must refresh.
    Selected,
    /// Handled, with a message for the status line.
    Message(String),
    /// A jump to another place: the owner records the current place in the history first.
    Jump(super::views::Jump),
    /// Show one request in full.
    Detail(u32),
    /// Copy `text` to the clipboard; `what` names it in the status line.
    Copy {
        /// What was copied, for the message.
        what: String,
        /// Which one, said after the size (the request and test behind a backtrace).
        detail: Option<String>,
        /// The text.
        text: String,
    },
}

/// A pane or view: its own state, keys and drawing.
pub trait Component {
    /// Handles one action.
    fn handle(&mut self, ctx: &Ctx, action: Action) -> Outcome;
    /// Draws into `area`.
    fn draw(&mut self, f: &mut Frame, area: Rect, ctx: &Ctx, focused: bool);
}

/// The [`ListPane`] accessors every list pane has alike, over its fields `state` (the
/// selection), `page` (rows of the last draw) and `filter` (the filter text); with `view`,
/// also `len` as the number of rows in its `view` list.
macro_rules! list_pane_state {
    (view) => {
        fn len(&self) -> usize {
            self.view.len()
        }
        $crate::tui::component::list_pane_state!();
    };
    () => {
        fn list(&mut self) -> &mut $crate::tui::component::ListState {
            &mut self.state
        }
        fn page(&self) -> usize {
            self.page
        }
        fn filter(&self) -> &str {
            &self.filter
        }
    };
}
pub(crate) use list_pane_state;

/// A component that lists rows and can be filtered.
pub trait ListPane: Component {
    /// Rows listed (after the filter).
    fn len(&self) -> usize;
    /// True when nothing is listed.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// The selection.
    fn list(&mut self) -> &mut ListState;
    /// Rows of the last draw, for half-page moves.
    fn page(&self) -> usize;
    /// The filter text.
    fn filter(&self) -> &str;
    /// Sets the filter text and recomputes the rows listed.
    fn set_filter(&mut self, ctx: &Ctx, text: String);
    /// True when the row at `pos` matches the filter itself (not only through a child).
    fn row_matches(&self, ctx: &Ctx, pos: usize) -> bool;

    /// Moves the selection; `Some(true)` when it changed, `None` when not a move.
    fn apply_move(&mut self, action: Action) -> Option<bool> {
        let (len, page) = (self.len(), self.page());
        self.list().apply_move(action, len, page)
    }

    /// Selects the next (or previous) row matching the filter; true when it moved.
    fn step_match(&mut self, ctx: &Ctx, forward: bool) -> bool {
        let len = self.len();
        let cur = self.list().sel;
        for step in 1..=len {
            let i = if forward {
                (cur + step) % len
            } else {
                (cur + len - step % len) % len
            };
            if self.row_matches(ctx, i) {
                self.list().sel = i;
                return i != cur;
            }
        }
        false
    }
}
