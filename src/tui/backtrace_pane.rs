//! The Backtrace pane: the merged call tree of the selection.

use super::app::{App, BtSource, Pane};
use super::search::highlighted;
use super::tree::{KEY_FOLDED, KEY_TRUNCATED};
use super::widgets::{pane_frame, short_file, short_function, window};
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

/// Draws the Backtrace pane.
pub fn draw(f: &mut Frame, area: Rect, app: &mut App) {
    let focused = app.focus == Pane::Backtrace;
    let theme = app.theme;
    let what = match &app.bt_source {
        BtSource::None => "nothing selected".to_string(),
        BtSource::Request(r) => {
            let req = &app.run.requests[*r as usize];
            format!("{} {}", app.run.str(req.verb), app.run.str(req.uri))
        }
        BtSource::Group(_, g) => format!("{} ({} req)", app.group_label(*g), app.bt_requests),
        BtSource::Test(_) => format!("{} req, {} traces", app.bt_requests, app.tree.traces),
    };
    let orient = if app.tree_options.caller_first {
        "caller-first"
    } else {
        "callee-first"
    };
    let fold = if app.tree_options.fold {
        ", folded"
    } else {
        ""
    };
    let title = format!("Backtrace: {what} · {orient}{fold}");
    let inner = pane_frame(f, area, app, 2, &title, focused);
    let height = inner.height as usize;
    let (start, end) = window(&mut app.tree_state, app.tree.rows.len(), height);
    let q = app.filters[2].clone();
    let mut lines = Vec::with_capacity(end - start + 1);
    for pos in start..end {
        let Some(row) = app.tree.rows.get(pos).copied() else {
            continue;
        };
        let node = &app.tree.nodes[row.node as usize];
        let glyph = if node.child_len == 0 {
            " "
        } else if app.tree.is_open(row.node) {
            "▾"
        } else {
            "▸"
        };
        let indent = " ".repeat(row.depth as usize);
        let mut spans = vec![
            Span::styled(format!("{:>6} ", node.count), theme.dim),
            Span::raw(format!("{indent}{glyph} ")),
        ];
        match node.key {
            KEY_FOLDED | KEY_TRUNCATED => {
                spans.push(Span::styled(
                    app.node_text(node.key).to_string(),
                    theme.marker,
                ));
            }
            key => {
                spans.extend(highlighted(
                    short_function(app.node_text(key)),
                    &q,
                    Style::new(),
                    &theme,
                ));
                if let Some(fr) = app.run.frames.get(key as usize) {
                    spans.push(Span::styled(
                        format!("  {}:{}", short_file(app.run.str(fr.file)), fr.line),
                        theme.dim,
                    ));
                }
            }
        }
        let mut line = Line::from(spans);
        if pos == app.tree_state.sel {
            line = line.patch_style(theme.selection(focused));
        }
        lines.push(line);
    }
    if app.tree.rows.is_empty() {
        let msg = match app.bt_source {
            BtSource::None => "(select a test or request)",
            _ if !app.filters[2].is_empty() => "(no match)",
            _ => "(no backtrace: these requests carry no stacktrace in their user agent)",
        };
        lines.push(Line::styled(msg, theme.dim));
    } else if app.tree.untraced > 0 && lines.len() < height {
        lines.push(Line::styled(
            format!("  + {} requests without a backtrace", app.tree.untraced),
            theme.dim,
        ));
    }
    f.render_widget(Paragraph::new(lines), inner);
}
