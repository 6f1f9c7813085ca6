//! The explorer on the real 2018 run: its ginkgo log (703 specs run, 6,370 skipped, 4
//! failures) with an audit log replayed from the 2018 pipeline's output for the first specs
//! (see `tests/common/fixtures.rs`). Driven with the explorer's test helpers; screens kept
//! as insta snapshots.

mod common;

use auditscope::correlate::{Inputs, Options, correlate};
use auditscope::run::{Run, SpecStatus};
use auditscope::tui::app::{App, Pane};
use auditscope::tui::first_frame;
use auditscope::tui::press_keys as keys;
use common::{fixture, replay_2018};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use std::sync::OnceLock;

/// Specs of the 2018 run whose requests are replayed (the first ones in entries.log).
const REPLAYED: usize = 12;

/// The 2018 run, built once per test binary. The 2018 output has no response codes: the
/// replay says 200 for every request, and here every 50th request is made a 403 so the
/// code filter has something to find.
fn run_2018() -> Run {
    static RUN: OnceLock<Run> = OnceLock::new();
    RUN.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let (audit, entries, _) = replay_2018(dir.path(), REPLAYED);
        let text = std::fs::read_to_string(&audit).unwrap();
        let mut out = String::with_capacity(text.len());
        for (i, line) in text.lines().enumerate() {
            if i % 50 == 49 {
                out.push_str(&line.replace(r#""code":200"#, r#""code":403"#));
            } else {
                out.push_str(line);
            }
            out.push('\n');
        }
        std::fs::write(&audit, out).unwrap();
        correlate(
            &Inputs {
                audit: vec![audit.display().to_string()],
                entries: vec![entries.display().to_string()],
                e2e_logs: vec![fixture("apisnoop-20180605-capture-e2e.log.gz")],
                ..Inputs::default()
            },
            &Options::default(),
        )
        .unwrap()
    })
    .clone()
}

fn screen(seq: &str, w: u16, h: u16) -> (App, Terminal<TestBackend>) {
    let (mut app, mut term) = first_frame(run_2018(), false, w, h);
    keys(&mut app, &mut term, seq);
    (app, term)
}

fn title_line(term: &Terminal<TestBackend>) -> String {
    let buf = term.backend().buffer();
    (0..buf.area.width).map(|x| buf[(x, 0)].symbol()).collect()
}

#[test]
fn the_run_is_what_the_log_says() {
    let run = run_2018();
    let ran = run
        .specs
        .iter()
        .filter(|s| !s.suite_node && !matches!(s.status, SpecStatus::Skipped))
        .count();
    let failed = run
        .specs
        .iter()
        .filter(|s| s.status == SpecStatus::Failed)
        .count();
    assert_eq!(failed, 4);
    assert_eq!(ran, 635);
    // Every replayed request carries no user agent: tied by entries.log's time windows.
    assert!(run.requests.len() > 10_000);
}

#[test]
fn sig_apps_counts_the_names_that_contain_it() {
    let run = run_2018();
    let (app, term) = screen("/ sig-apps Enter", 120, 40);
    let listed = |skipped: bool| {
        run.specs
            .iter()
            .filter(|s| run.str(s.name).to_lowercase().contains("sig-apps"))
            .filter(|s| matches!(s.status, SpecStatus::Skipped | SpecStatus::Pending) == skipped)
            .count()
    };
    let (shown, hidden) = (listed(false), listed(true));
    assert_eq!(app.panes.tests.fuzzy_from, shown);
    assert_eq!(app.panes.tests.hidden_skipped, hidden);
    let title = title_line(&term);
    assert!(title.contains(&format!("Tests ({shown} + ")), "{title}");
    insta::assert_snapshot!("2018_sig_apps_120x40", term.backend());
}

#[test]
fn status_failed_shows_the_four_failures() {
    let (app, term) = screen("/ status:failed Enter", 120, 40);
    assert_eq!(app.panes.tests.view.len(), 4);
    assert!(
        title_line(&term).contains("Tests (4) by start"),
        "{}",
        title_line(&term)
    );
    insta::assert_snapshot!("2018_status_failed_120x40", term.backend());
    let (_, small) = screen("/ status:failed Enter", 80, 24);
    insta::assert_snapshot!("2018_status_failed_80x24", small.backend());
}

#[test]
fn code_403_in_requests_lists_only_403s() {
    let (mut app, mut term) = screen("Tab / code:403 Enter", 120, 40);
    assert_eq!(app.panes.focus, Pane::Requests);
    let reqs = &app.panes.requests.group_reqs;
    assert!(!reqs.is_empty());
    assert!(
        reqs.iter()
            .all(|&r| app.ctx.run.requests[r as usize].code == 403)
    );
    insta::assert_snapshot!("2018_code_403_120x40", term.backend());
    // Open the first group: its rows are 403s too.
    keys(&mut app, &mut term, "Enter j");
    insta::assert_snapshot!("2018_code_403_open_120x40", term.backend());
}

#[test]
fn first_screen_and_help_at_80x24() {
    let (app, term) = screen("", 80, 24);
    // The first test with requests is selected, and the hints keep ? / y q.
    let sel = app.panes.tests.selected();
    assert!(
        app.panes
            .tests
            .rows
            .iter()
            .any(|r| Some(r.entry) == sel && r.hits > 0)
    );
    let buf = term.backend().buffer();
    let status: String = (0..80).map(|x| buf[(x, 23)].symbol()).collect();
    for hint in ["? help", "/ filter", "y copy", "q quit"] {
        assert!(status.contains(hint), "{status}");
    }
    insta::assert_snapshot!("2018_first_screen_80x24", term.backend());
    insta::assert_snapshot!("2018_first_screen_120x40", screen("", 120, 40).1.backend());
    // Help stops at its end: many j's leave the last line on the last row.
    let (_, a) = screen(
        "? jjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjj",
        80,
        24,
    );
    let (_, b) = screen(
        "? jjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjj",
        80,
        24,
    );
    assert_eq!(a.backend().buffer(), b.backend().buffer());
    let (_, c) = screen("? G", 80, 24);
    assert_eq!(a.backend().buffer(), c.backend().buffer());
    insta::assert_snapshot!("2018_help_end_80x24", a.backend());
}

#[test]
fn sort_by_status_puts_failures_first_and_window_hides() {
    let (app, term) = screen("s s s", 120, 40);
    let first: Vec<SpecStatus> = app
        .panes
        .tests
        .view
        .iter()
        .take(4)
        .map(|&i| match app.panes.tests.rows[i as usize].entry {
            auditscope::tui::app::TestEntry::Spec(s) => app.ctx.run.specs[s.index()].status,
            _ => SpecStatus::Unknown,
        })
        .collect();
    assert_eq!(first, vec![SpecStatus::Failed; 4]);
    insta::assert_snapshot!("2018_sort_status_120x40", term.backend());
}

#[test]
fn endpoints_view_counts_as_report_coverage() {
    let run = run_2018();
    let cov = auditscope::report::coverage::coverage_report(
        &run,
        &auditscope::report::filter::RequestFilter::default(),
        false,
    );
    let (mut app, mut term) = screen("2", 120, 40);
    let title: String = {
        let buf = term.backend().buffer();
        (0..120).map(|x| buf[(x, 1)].symbol()).collect()
    };
    assert!(
        title.contains(&format!(
            "Endpoints {}/{} tested",
            cov.tested_endpoints, cov.total_endpoints
        )),
        "{title}"
    );
    insta::assert_snapshot!("2018_endpoints_120x40", term.backend());
    // Enter lists the tests that hit the endpoint; 1 returns to the Tests view.
    keys(&mut app, &mut term, "s g Enter");
    assert_eq!(
        app.view,
        auditscope::tui::views::ViewKind::Tests,
        "{:?}",
        app.message
    );
    assert!(app.panes.scope.scope.is_some());
    insta::assert_snapshot!("2018_endpoint_tests_120x40", term.backend());
    keys(&mut app, &mut term, "[");
    assert_eq!(app.view, auditscope::tui::views::ViewKind::Endpoints);
    keys(&mut app, &mut term, "1");
    assert_eq!(app.view, auditscope::tui::views::ViewKind::Tests);
    let (_, small) = screen("2 f f", 80, 24);
    insta::assert_snapshot!("2018_endpoints_untested_eligible_80x24", small.backend());
}
