//! Small drawing helpers shared by the panes.

use super::component::ListState;
use super::context::Ctx;
use super::keymap::Mode;
use super::theme::Theme;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, BorderType, Borders};

/// A pane's border with its title and, when set, its filter.
pub fn pane_block(
    title: &str,
    filter: &str,
    typing: bool,
    focused: bool,
    theme: &Theme,
) -> Block<'static> {
    // Focus shows without colour too: a thick border and a marker before the title.
    let mut block = Block::default()
        .borders(Borders::ALL)
        .border_type(if focused {
            BorderType::Thick
        } else {
            BorderType::Plain
        })
        .border_style(if focused {
            theme.border_focused
        } else {
            theme.border
        })
        .title(Span::styled(
            if focused {
                format!("▶ {title} ")
            } else {
                format!(" {title} ")
            },
            if focused { theme.title } else { theme.dim },
        ));
    if typing || !filter.is_empty() {
        let cursor = if typing { "▏" } else { "" };
        block = block.title_bottom(Line::from(vec![
            Span::styled(" /", theme.highlight),
            Span::raw(format!("{filter}{cursor} ")),
        ]));
    }
    block
}

/// Draws a pane's border (title, filter) and returns the area inside it.
pub fn pane_frame(
    f: &mut Frame,
    area: Rect,
    ctx: &Ctx,
    title: &str,
    filter: &str,
    focused: bool,
) -> Rect {
    let typing = focused && ctx.mode == Mode::Filter;
    let block = pane_block(title, filter, typing, focused, &ctx.theme);
    let inner = block.inner(area);
    f.render_widget(block, area);
    inner
}

/// Adjusts the scroll offset so the selection is visible; returns the visible range.
pub fn window(state: &mut ListState, len: usize, height: usize) -> (usize, usize) {
    if height == 0 || len == 0 {
        return (0, 0);
    }
    if state.sel < state.offset {
        state.offset = state.sel;
    }
    if state.sel >= state.offset + height {
        state.offset = state.sel + 1 - height;
    }
    if state.offset + height > len {
        state.offset = len.saturating_sub(height);
    }
    (state.offset, (state.offset + height).min(len))
}

/// The last `n` path segments of a file, for display.
pub fn short_file(file: &str) -> &str {
    file.rsplit('/').next().unwrap_or(file)
}

/// A Go function without its package path: `k8s.io/client-go/rest.(*Request).Do()` becomes
/// `rest.(*Request).Do()`.
pub fn short_function(function: &str) -> &str {
    match function.rfind('/') {
        Some(i) => &function[i + 1..],
        None => function,
    }
}
