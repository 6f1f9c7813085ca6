//! The Tests pane: specs with status, duration and request count.

use super::app::{App, Pane, TestEntry};
use super::search::highlighted;
use super::widgets::{pane_frame, window};
use crate::run::SpecStatus;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

/// Draws the Tests pane.
pub fn draw(f: &mut Frame, area: Rect, app: &mut App) {
    let focused = app.focus == Pane::Tests;
    let theme = app.theme;
    let mut title = format!("Tests ({}) by {}", app.tests_view.len(), app.sort.name());
    if let Some(scope) = app.scope {
        title = format!("{title} · {}", scope_text(app, scope));
    }
    let inner = pane_frame(f, area, app, 0, &title, focused);
    let height = inner.height as usize;
    let (start, end) = window(&mut app.tests_state, app.tests_view.len(), height);
    let q = app.filters[0].clone();
    let mut lines = Vec::with_capacity(end - start);
    for pos in start..end {
        let Some(row) = app
            .tests_view
            .get(pos)
            .and_then(|&i| app.tests.get(i as usize))
            .copied()
        else {
            continue;
        };
        let name = app.entry_name(row.entry).to_string();
        let (status, style, dur, dim) = match row.entry {
            TestEntry::Spec(s) => {
                let spec = &app.run.specs[s.index()];
                let st = match spec.status {
                    SpecStatus::Passed => theme.passed,
                    SpecStatus::Failed => theme.failed,
                    SpecStatus::Skipped | SpecStatus::Pending => theme.skipped,
                    SpecStatus::Unknown => theme.dim,
                };
                let dur = spec
                    .duration
                    .map(|d| format!("{d:.1}s"))
                    .unwrap_or_default();
                let label = if spec.suite_node {
                    "suite"
                } else {
                    match spec.status {
                        SpecStatus::Passed => "pass",
                        SpecStatus::Failed => "FAIL",
                        SpecStatus::Skipped => "skip",
                        SpecStatus::Pending => "pend",
                        SpecStatus::Unknown => "?",
                    }
                };
                (label, st, dur, spec.suite_node)
            }
            _ => ("", theme.marker, String::new(), false),
        };
        let mut base = if dim {
            theme.dim
        } else {
            ratatui::style::Style::new()
        };
        if row.entry == TestEntry::All || row.entry == TestEntry::NoTest {
            base = theme.marker;
        }
        let mut spans = vec![
            Span::styled(format!("{status:<5}"), if dim { theme.dim } else { style }),
            Span::styled(format!("{:>6}{dur:>7} ", row.hits), theme.dim),
        ];
        spans.extend(highlighted(&name, &q, base, &theme));
        let mut line = Line::from(spans);
        if pos == app.tests_state.sel {
            line = line.patch_style(theme.selection(focused));
        }
        lines.push(line);
    }
    if app.tests_view.is_empty() {
        lines.push(Line::styled(
            if app.filters[0].is_empty() {
                "(no tests in this run)"
            } else {
                "(no match)"
            },
            theme.dim,
        ));
    }
    f.render_widget(Paragraph::new(lines), inner);
}

/// How the title names the current scope.
pub fn scope_text(app: &App, scope: super::app::Scope) -> String {
    match scope {
        super::app::Scope::Endpoint(g) => format!("calling {}", app.group_label(g)),
        super::app::Scope::Frame(fr) => {
            let func = app.node_text(fr);
            // The short name: after the last '/'.
            format!("through {}", func.rsplit('/').next().unwrap_or(func))
        }
    }
}
