//! The timeline strip under the Tests view's panes: requests per second across the whole
//! run (a ratatui [`Sparkline`]), with the selected test's time window and its own (`ua`)
//! requests marked on the line below, so overlapping tests and background bursts are seen at
//! a glance.

use crate::run::{Attribution, Micros, NO_TIME};
use crate::tui::context::Ctx;
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Sparkline, SparklineBar};

/// At most this many time buckets are kept, however long the run: a bucket is one second,
/// or longer for runs of more than about 2.3 days.
const MAX_BUCKETS: i64 = 200_000;

/// Width of the legend at the right of the strip.
const LEGEND: u16 = 17;

/// Requests per time bucket across the run, counted once.
#[derive(Debug, Clone, Default)]
pub struct Timeline {
    /// Start of the first bucket.
    pub start: Micros,
    /// Length of a bucket in microseconds (one second unless the run is very long).
    pub unit: Micros,
    /// Requests received in each bucket.
    pub counts: Vec<u32>,
    /// Requests far outside the run's span, not drawn.
    pub outside: usize,
}

/// What the strip marks for the selected test.
#[derive(Debug, Clone, Copy, Default)]
pub struct Marks<'a> {
    /// The selected test's time window.
    pub window: Option<(Micros, Micros)>,
    /// The selected test's requests (only those attributed by user agent are marked).
    pub requests: &'a [u32],
}

impl Timeline {
    /// Counts every request with a received time: O(requests), once. The strip spans the
    /// run: the specs' time windows, and the requests up to a quarter of that span before
    /// and after (cluster set-up, suite teardown); requests far outside (another day's events
    /// in the same log) are counted in [`Timeline::outside`] instead of squashing the strip.
    pub fn new(ctx: &Ctx) -> Timeline {
        let windows = ctx
            .run
            .specs
            .iter()
            .filter(|s| s.window_start != NO_TIME && s.window_end != NO_TIME);
        let hull = windows.fold(None, |acc: Option<(Micros, Micros)>, s| {
            Some(match acc {
                None => (s.window_start, s.window_end),
                Some((a, b)) => (a.min(s.window_start), b.max(s.window_end)),
            })
        });
        let (lo, hi) = match hull {
            Some((a, b)) => {
                let margin = (b - a) / 4;
                (a.saturating_sub(margin), b.saturating_add(margin))
            }
            None => (Micros::MIN + 1, Micros::MAX),
        };
        let times = || {
            ctx.run
                .requests
                .iter()
                .map(|r| r.received)
                .filter(move |&t| t != NO_TIME && t >= lo && t <= hi)
        };
        let outside = ctx
            .run
            .requests
            .iter()
            .filter(|r| r.received != NO_TIME && (r.received < lo || r.received > hi))
            .count();
        let (Some(min), Some(max)) = (times().min(), times().max()) else {
            return Timeline::default();
        };
        let span = max - min;
        let unit = (span / MAX_BUCKETS + 1).max(1_000_000);
        let start = min - min.rem_euclid(unit);
        let n = ((max - start) / unit + 1) as usize;
        let mut counts = vec![0u32; n];
        for t in times() {
            if let Some(c) = counts.get_mut(((t - start) / unit) as usize) {
                *c = c.saturating_add(1);
            }
        }
        Timeline {
            start,
            unit,
            counts,
            outside,
        }
    }

    /// The column of time `t` when `columns` columns cover the run, each `per` buckets.
    fn column(&self, t: Micros, per: usize) -> Option<usize> {
        if t == NO_TIME || t < self.start || per == 0 {
            return None;
        }
        Some(((t - self.start) / self.unit) as usize / per)
    }

    /// Draws the strip: the sparkline on every row but the last, the marks on the last.
    pub fn draw(&self, f: &mut Frame, area: Rect, ctx: &Ctx, marks: Marks<'_>) {
        if area.height < 2 || area.width < LEGEND + 10 || self.counts.is_empty() {
            return;
        }
        let theme = ctx.theme;
        let [strip, legend] =
            Layout::horizontal([Constraint::Min(10), Constraint::Length(LEGEND)]).areas(area);
        let [spark_area, mark_area] =
            Layout::vertical([Constraint::Min(1), Constraint::Length(1)]).areas(strip);
        let columns = strip.width as usize;
        let per = self.counts.len().div_ceil(columns).max(1);
        let sums: Vec<u64> = self
            .counts
            .chunks(per)
            .map(|c| c.iter().map(|&x| u64::from(x)).sum())
            .collect();
        let secs_per_column = (per as f64 * self.unit as f64 / 1e6).max(1e-6);
        let peak = sums.iter().copied().max().unwrap_or(0);
        let in_window = |col: usize| -> bool {
            let Some((ws, we)) = marks.window else {
                return false;
            };
            let cs = self.start + (col * per) as Micros * self.unit;
            let ce = cs + per as Micros * self.unit;
            ws < ce && we > cs
        };
        let bars: Vec<SparklineBar> = sums
            .iter()
            .enumerate()
            .map(|(col, &v)| {
                let style = if in_window(col) {
                    theme.highlight
                } else {
                    theme.dim
                };
                SparklineBar::from(v).style(Some(style))
            })
            .collect();
        f.render_widget(Sparkline::default().data(bars).max(peak.max(1)), spark_area);

        // The marks: ━ the window, ▲ a column with requests the test made itself.
        let mut own = vec![false; sums.len()];
        for &r in marks.requests {
            let Some(req) = ctx.run.requests.get(r as usize) else {
                continue;
            };
            if req.attribution == Attribution::Ua
                && let Some(c) = self.column(req.received, per)
                && let Some(o) = own.get_mut(c)
            {
                *o = true;
            }
        }
        let spans: Vec<Span> = (0..sums.len())
            .map(|col| {
                if own[col] {
                    Span::styled("▲", theme.highlight)
                } else if in_window(col) {
                    Span::styled("━", theme.marker)
                } else {
                    Span::styled("·", theme.dim)
                }
            })
            .collect();
        f.render_widget(Paragraph::new(Line::from(spans)), mark_area);

        let rate = peak as f64 / secs_per_column;
        let rate = if rate >= 10.0 {
            format!("{rate:.0}")
        } else {
            format!("{rate:.1}")
        };
        let mut text = vec![Line::styled(format!(" ≤{rate} req/s"), theme.dim)];
        for _ in 2..legend.height {
            text.push(Line::styled(
                format!(" {}/col", span_text(secs_per_column)),
                theme.dim,
            ));
        }
        text.push(Line::from(vec![
            Span::styled(" ━", theme.marker),
            Span::styled(" test ", theme.dim),
            Span::styled("▲", theme.highlight),
            Span::styled(" own", theme.dim),
        ]));
        f.render_widget(Paragraph::new(text), legend);
    }
}

/// `1s`, `12s`, `3m`, `2h` for a column's span.
fn span_text(secs: f64) -> String {
    if secs < 90.0 {
        format!("{secs:.0}s")
    } else if secs < 5400.0 {
        format!("{:.0}m", secs / 60.0)
    } else {
        format!("{:.0}h", secs / 3600.0)
    }
}
