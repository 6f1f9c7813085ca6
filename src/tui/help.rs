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

/// Draws the help overlay.
pub fn draw(f: &mut Frame, area: Rect, keymap: &Keymap, scroll: u16, theme: &Theme) {
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(theme.border_focused)
        .title(Span::styled(" Keys ", theme.title))
        .title_bottom(Line::from(" q/Esc/? close · j/k scroll "));
    f.render_widget(Clear, area);
    f.render_widget(
        Paragraph::new(lines(keymap, theme))
            .block(block)
            .scroll((scroll, 0)),
        area,
    );
}
