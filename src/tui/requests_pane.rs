//! The Requests pane: the selected test's requests grouped by endpoint.

use super::app::{App, GROUP_ROWS_LIMIT, Pane, ReqRow};
use super::detail::latency_ms;
use super::search::highlighted;
use super::widgets::{pane_frame, window};
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

/// `HH:MM:SS.mmm` of a time in microseconds (UTC).
fn clock(t: i64) -> String {
    chrono::DateTime::from_timestamp_micros(t)
        .map(|d| d.format("%H:%M:%S%.3f").to_string())
        .unwrap_or_else(|| "--:--:--.---".into())
}

/// Draws the Requests pane.
pub fn draw(f: &mut Frame, area: Rect, app: &mut App) {
    let focused = app.focus == Pane::Requests;
    let theme = app.theme;
    let test = app
        .selected_test()
        .map(|t| app.entry_name(t).to_string())
        .unwrap_or_default();
    let total = app.group_reqs.len();
    let title = format!("Requests ({total} in {} endpoints)", app.groups.len());
    let inner = pane_frame(f, area, app, 1, &title, focused);
    let height = inner.height as usize;
    let (start, end) = window(&mut app.req_state, app.req_view.len(), height);
    let q = app.filters[1].clone();
    let mut lines = Vec::with_capacity(end - start);
    for pos in start..end {
        let Some(row) = app
            .req_view
            .get(pos)
            .and_then(|&i| app.req_rows.get(i as usize))
            .copied()
        else {
            continue;
        };
        let mut line = match row {
            ReqRow::Group { group, count } => {
                let open = app.expanded_groups.contains(&group);
                let op = app
                    .index
                    .groups
                    .get(group as usize)
                    .and_then(|g| g.op)
                    .is_some();
                let mut spans = vec![Span::raw(format!(
                    "{} {count:>6}  ",
                    if open { "▾" } else { "▸" }
                ))];
                spans.extend(highlighted(
                    app.group_label(group),
                    &q,
                    if op { Style::new() } else { theme.dim },
                    &theme,
                ));
                if open && count as usize > GROUP_ROWS_LIMIT {
                    spans.push(Span::styled(
                        format!("  (first {GROUP_ROWS_LIMIT} shown)"),
                        theme.dim,
                    ));
                }
                Line::from(spans)
            }
            ReqRow::Request { req, .. } => {
                let r = &app.run.requests[req as usize];
                let user = app
                    .run
                    .users
                    .get(r.user as usize)
                    .map(|u| app.run.str(u.name))
                    .unwrap_or("");
                let code_style = if r.code >= 400 {
                    theme.failed
                } else {
                    theme.dim
                };
                let mut spans = vec![
                    Span::styled(format!("    {} ", clock(r.received)), theme.dim),
                    Span::raw(format!("{} ", app.run.str(r.verb))),
                ];
                spans.extend(highlighted(app.run.str(r.uri), &q, Style::new(), &theme));
                spans.push(Span::styled(format!(" {}", r.code), code_style));
                spans.push(Span::styled(
                    format!(
                        " {user} {} {}",
                        latency_ms(r)
                            .map(|l| format!("{l:.1}ms"))
                            .unwrap_or_default(),
                        r.attribution.as_str()
                    ),
                    theme.dim,
                ));
                Line::from(spans)
            }
        };
        if pos == app.req_state.sel {
            line = line.patch_style(theme.selection(focused));
        }
        lines.push(line);
    }
    if app.req_view.is_empty() {
        let msg = if !app.filters[1].is_empty() {
            "(no match)".to_string()
        } else if test.is_empty() {
            "(no test selected)".to_string()
        } else {
            "(no requests)".to_string()
        };
        lines.push(Line::styled(msg, theme.dim));
    }
    f.render_widget(Paragraph::new(lines), inner);
}
