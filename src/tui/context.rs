//! What every part of the explorer reads: the run, its indexes, the keymap, the styles and
//! the clipboard. Views and panes own their state and borrow this.

use super::clipboard::Clipboard;
use super::keymap::{Keymap, Mode};
use super::theme::Theme;
use crate::analysis::RunIndex;
use crate::analysis::tree::{KEY_FOLDED, KEY_TRUNCATED};
use crate::run::{Run, SpecId};

/// An entry of the Tests pane.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TestEntry {
    /// Every request (in scope).
    All,
    /// Requests attributed to no spec.
    NoTest,
    /// One spec.
    Spec(SpecId),
}

/// The run and what is shared by every view.
pub struct Ctx {
    /// The run being explored.
    pub run: Run,
    /// Indexes derived from the run once.
    pub index: RunIndex,
    /// The bindings in effect.
    pub keymap: Keymap,
    /// Styles (monochrome with `NO_COLOR`).
    pub theme: Theme,
    /// Where copies go.
    pub clipboard: Clipboard,
    /// What keys do now (browsing or typing into a prompt).
    pub mode: Mode,
}

impl Ctx {
    /// The text of an endpoint group.
    pub fn group_label(&self, g: u32) -> &str {
        self.index
            .groups
            .get(g as usize)
            .map(|x| x.label.as_str())
            .unwrap_or("?")
    }

    /// The name of a test entry; `scoped` when a jump narrowed the explorer.
    pub fn entry_name(&self, e: TestEntry, scoped: bool) -> &str {
        match e {
            TestEntry::All if scoped => "(all matching requests)",
            TestEntry::All => "(all requests)",
            TestEntry::NoTest => "(no test)",
            TestEntry::Spec(s) => self
                .run
                .specs
                .get(s.index())
                .map(|sp| self.run.str(sp.name))
                .unwrap_or("?"),
        }
    }

    /// The function of a frame, or the marker text of a special node.
    pub fn node_text(&self, key: u32) -> &str {
        match key {
            KEY_FOLDED => "⋯ vendored/runtime frames",
            KEY_TRUNCATED => "[truncated: outer frames missing]",
            f => self
                .run
                .frames
                .get(f as usize)
                .map(|fr| self.run.str(fr.function))
                .unwrap_or("?"),
        }
    }
}
