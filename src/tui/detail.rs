//! The request detail overlay: every kept field, the one-line audit form, the authorization.

use super::theme::Theme;
use crate::run::{NO_TIME, Request, Run};
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Wrap};

/// The one-line form of a request (the API server's `EventString`), shared with
/// `report events`.
pub use crate::report::events::event_string;
use crate::run::time::rfc3339_nano;

/// Latency of a request in milliseconds, when both times are known.
pub fn latency_ms(req: &Request) -> Option<f64> {
    if req.received == NO_TIME || req.completed == NO_TIME {
        None
    } else {
        Some((req.completed - req.received) as f64 / 1000.0)
    }
}

/// The lines of the detail view.
pub fn detail_lines(run: &Run, req: &Request, endpoint: &str, theme: &Theme) -> Vec<Line<'static>> {
    let mut lines = Vec::new();
    let mut field = |k: &str, v: String| {
        lines.push(Line::from(vec![
            Span::styled(format!("{k:>14}: "), theme.dim),
            Span::raw(v),
        ]));
    };
    let s = |id| run.str(id).to_string();
    field("audit id", req.audit_id.to_string());
    field("verb", s(req.verb));
    field("request URI", s(req.uri));
    field("endpoint", endpoint.to_string());
    field(
        "response code",
        if req.code == 0 {
            "(none logged)".into()
        } else {
            req.code.to_string()
        },
    );
    if let Some(u) = run.users.get(req.user as usize) {
        field("user", s(u.name));
        let groups: Vec<&str> = u.groups.iter().map(|&g| run.str(g)).collect();
        field("groups", groups.join(", "));
    }
    if let Some(u) = req.impersonated.and_then(|i| run.users.get(i as usize)) {
        field("impersonated", s(u.name));
    }
    field("source IPs", s(req.source_ips));
    if let Some(a) = run.agents.get(req.agent as usize) {
        field("user agent", run.agent_text(a).into_owned());
    }
    let o = &req.object;
    let mut obj = Vec::new();
    for (k, v) in [
        ("group", o.api_group),
        ("version", o.api_version),
        ("resource", o.resource),
        ("subresource", o.subresource),
        ("namespace", o.namespace),
        ("name", o.name),
    ] {
        if v != 0 {
            obj.push(format!("{k}={}", run.str(v)));
        }
    }
    field("object", obj.join(" "));
    field("level", req.level.as_str().into());
    field(
        "stage",
        format!(
            "{} ({} stage event{})",
            req.stage.as_str(),
            req.stage_events,
            if req.stage_events == 1 { "" } else { "s" }
        ),
    );
    field("received", rfc3339_nano(req.received));
    field("completed", rfc3339_nano(req.completed));
    // As `report latency` counts it: a watch's or stream's duration is not a response time.
    field(
        "latency",
        match crate::report::latency::latency_of(run, req) {
            crate::report::latency::Latency::Measured(us) => format!("{:.3} ms", us as f64 / 1e3),
            crate::report::latency::Latency::LongRunning => format!(
                "long-running (watch or stream{}): not a response time, left out of percentiles",
                latency_ms(req)
                    .map(|l| format!(", open {l:.3} ms"))
                    .unwrap_or_default()
            ),
            crate::report::latency::Latency::Missing => {
                "none (no final stage, a time missing, or stage before received)".into()
            }
        },
    );
    field(
        "spec",
        req.spec
            .and_then(|sp| run.specs.get(sp.index()))
            .map(|sp| s(sp.name))
            .unwrap_or_else(|| "(no test)".into()),
    );
    field("attribution", req.attribution.as_str().into());
    if let Some(at) = run.step_of(req)
        && let Some(step) = run.step(at)
    {
        field("step", format!("{} (#{})", s(step.text), at.step + 1));
    }
    let input = run
        .inputs
        .get(req.input as usize)
        .map(|i| i.path.clone())
        .unwrap_or_else(|| format!("input {}", req.input));
    field("from", format!("{input}:{}", req.line));
    field(
        "decision",
        match req.decision.as_str() {
            "" => "(not logged)".to_string(),
            d => d.to_string(),
        },
    );
    field("reason", s(req.reason));
    lines.push(Line::raw(""));
    lines.push(Line::styled("one-line form (EventString):", theme.title));
    lines.push(Line::raw(event_string(run, req)));
    lines
}

/// Draws the detail overlay over `area`.
pub fn draw(
    f: &mut Frame,
    area: Rect,
    lines: Vec<Line<'static>>,
    scroll: u16,
    theme: &Theme,
    close: &str,
) {
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(theme.border_focused)
        .title(Span::styled(" Request ", theme.title))
        .title_bottom(Line::from(format!(
            " {close} close · c copy one-line · j/k scroll "
        )));
    f.render_widget(Clear, area);
    f.render_widget(
        Paragraph::new(lines)
            .block(block)
            .wrap(Wrap { trim: false })
            .scroll((scroll, 0)),
        area,
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tui::testing::sample_run;

    #[test]
    fn event_string_matches_apiserver_format() {
        let run = sample_run();
        let got = event_string(&run, &run.requests[0]);
        assert_eq!(
            got,
            "2024-05-01T10:00:00.35Z AUDIT: id=\"00000000-0000-4000-8000-000000000000\" stage=\"ResponseComplete\" ip=\"10.0.0.7\" method=\"create\" user=\"kubernetes-admin\" groups=\"\\\"system:masters\\\",\\\"system:authenticated\\\"\" as=\"<self>\" asgroups=\"<lookup>\" user-agent=\"e2e.test/v1.12.0 (linux/amd64) kubernetes/b143093 stacktrace=[before] -- spec\" namespace=\"<none>\" uri=\"/api/v1/namespaces\" response=\"201\""
        );
        let kcm = &run.requests[run.requests.len() - 2];
        let s = event_string(&run, kcm);
        assert!(s.contains(" groups=\"<none>\" "), "{s}");
        assert!(s.contains(" namespace=\"e2e-tests-ns-9fzqp\" "), "{s}");
    }
}
