//! The `?` overlay: every binding of the keymap, by pane.

use super::keymap::{Keymap, Mode, PaneScope};
use super::theme::Theme;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph};

/// The help text, generated from the keymap.
pub fn lines(keymap: &Keymap, theme: &Theme) -> Vec<Line<'static>> {
    let mut out = Vec::new();
    for (scope, heading) in [
        (PaneScope::All, "Everywhere"),
        (PaneScope::Tests, "Tests"),
        (PaneScope::Requests, "Requests"),
        (PaneScope::Backtrace, "Backtrace"),
        (PaneScope::Endpoints, "Endpoints view"),
    ] {
        let list: Vec<_> = keymap
            .bindings
            .iter()
            .filter(|b| b.pane == scope && b.mode == Mode::Normal)
            .collect();
        if list.is_empty() {
            continue;
        }
        if !out.is_empty() {
            out.push(Line::raw(""));
        }
        out.push(Line::styled(heading, theme.title));
        for b in list {
            out.push(Line::from(vec![
                Span::styled(format!("  {:<22}", b.key_names.join(" ")), theme.highlight),
                Span::raw(b.description.clone()),
            ]));
        }
    }
    out.push(Line::raw(""));
    out.push(Line::styled("Symbols", theme.title));
    for (sym, what) in SYMBOLS {
        out.push(Line::from(vec![
            Span::styled(format!("  {sym:<22}"), theme.highlight),
            Span::raw(what),
        ]));
    }
    for (mode, heading) in [
        (Mode::Filter, "While typing a filter (other keys are typed)"),
        (
            Mode::FrameSearch,
            "In the function search (other keys are typed)",
        ),
    ] {
        out.push(Line::raw(""));
        out.push(Line::styled(heading, theme.title));
        for b in keymap.mode_bindings(mode) {
            out.push(Line::from(vec![
                Span::styled(format!("  {:<22}", b.key_names.join(" ")), theme.highlight),
                Span::raw(b.description.clone()),
            ]));
        }
    }
    out
}

/// What the symbols on screen mean.
pub const SYMBOLS: [(&str, &str); 18] = [
    (
        "▸ 12  45ms  label",
        "Requests pane group: request count, p99 latency (nearest rank, watches and streams left out), endpoint",
    ),
    (
        "stream",
        "a watch or stream (exec, attach, port-forward, proxy, followed log): its duration is no response time",
    ),
    (
        "STEP …",
        "third pane without backtraces: spec → ginkgo STEP (requests received during it) → endpoint",
    ),
    (
        "▁▃█ ━ ▲",
        "timeline: requests per second across the run; ━ the selected test's window, ▲ its own (ua) requests",
    ),
    (
        "+ − ~ / new +test LOST",
        "with --baseline: test added, removed, changed; endpoint new, newly tested, no longer tested",
    ),
    (
        "pass FAIL skip",
        "a test's status (pend: pending; ?: unknown)",
    ),
    (
        "suite",
        "a suite node ([SynchronizedBeforeSuite] and the like), not a test",
    ),
    (
        "≈",
        "a fuzzy match of the filter, listed after the exact ones",
    ),
    ("▸ ▾", "a closed or open group (endpoint, tree node)"),
    (
        "dimmed request",
        "tied to the test by time window only: others' traffic during it",
    ),
    (
        "N by window",
        "requests of the group tied by time window (w hides them)",
    ),
    (
        "N skipped hidden",
        "skipped and pending tests not listed (S shows them)",
    ),
    ("−N skipped", "the same, in a narrow Tests pane"),
    (
        "◀N ▶M",
        "places back and forward in the jump history ([ and ])",
    ),
    ("▶ Title, thick border", "the focused pane"),
    (
        "N input lines skipped",
        "lines of the inputs that could not be read (report summary)",
    ),
    ("⋯ vendored/runtime", "folded frames (z unfolds)"),
    (
        "[truncated: …]",
        "the user agent's backtrace was cut; outer frames are missing",
    ),
];

/// Draws the help overlay; returns the scroll clamped to the end of the text.
pub fn draw(f: &mut Frame, area: Rect, keymap: &Keymap, scroll: u16, theme: &Theme) -> u16 {
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(theme.border_focused)
        .title(Span::styled(" Keys ", theme.title))
        .title_bottom(Line::from(" q/Esc/? close · j/k scroll "));
    f.render_widget(Clear, area);
    let text = lines(keymap, theme);
    let inner = block.inner(area);
    let max = (text.len() as u16).saturating_sub(inner.height);
    let scroll = scroll.min(max);
    f.render_widget(Paragraph::new(text).block(block).scroll((scroll, 0)), area);
    scroll
}
