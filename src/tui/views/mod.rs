//! The explorer's views: each is one folder, one [`crate::tui::component::Component`].
//!
//! - [`tests`]: Tests | Requests | Backtrace, starting from a test (`1`);
//! - [`endpoints`]: every operation of the release, tested or not (`2`).

pub mod endpoints;
pub mod tests;

/// Which view is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ViewKind {
    /// The Tests view.
    #[default]
    Tests,
    /// The Endpoints view.
    Endpoints,
}

use crate::run::FrameId;

/// A jump from one place to another (recorded in the history).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Jump {
    /// Every test that called an endpoint group.
    EndpointTests(u32),
    /// Every stack frame that called an endpoint group, across all tests.
    EndpointFrames(u32),
    /// Every request whose trace passes through a frame.
    FrameUses(FrameId),
    /// The frame found by the global function search, in the Backtrace pane.
    Frame(FrameId),
    /// Out of a jump's scope, keeping the selected test.
    Unscope,
}
