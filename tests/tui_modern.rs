//! The explorer on a modern run (no backtraces, ginkgo `STEP:` lines): the bundled demo run
//! (`assets/demo/RUN.json.gz`, synthetic, see `assets/demo/make-demo.sh`). The third pane
//! shows spec → step → endpoint, the Requests pane and the Endpoints view sort by p99
//! latency, the timeline marks the selected test, and `--baseline` marks what changed.
//! Screens kept as insta snapshots at 80x24 and 120x40.

use auditscope::cli::demo_run;
use auditscope::diff::{Side, SideKind, SideOptions, compare};
use auditscope::report::coverage::coverage_report;
use auditscope::report::filter::RequestFilter;
use auditscope::run::{Attribution, Run};
use auditscope::tui::app::{App, Pane};
use auditscope::tui::context::TestEntry;
use auditscope::tui::press_keys as keys;
use auditscope::tui::views::tests::steps::{StepNode, StepTree};
use auditscope::tui::{first_frame, render};
use ratatui::Terminal;
use ratatui::backend::TestBackend;

fn screen(seq: &str, w: u16, h: u16) -> Terminal<TestBackend> {
    let (mut app, mut term) = first_frame(demo_run().unwrap(), false, w, h);
    keys(&mut app, &mut term, seq);
    term
}

fn text(term: &Terminal<TestBackend>) -> String {
    let buf = term.backend().buffer();
    let mut out = String::new();
    for y in 0..buf.area.height {
        for x in 0..buf.area.width {
            out.push_str(buf[(x, y)].symbol());
        }
        out.push('\n');
    }
    out
}

macro_rules! both_sizes {
    ($name:ident, $seq:expr) => {
        #[test]
        fn $name() {
            insta::assert_snapshot!(
                concat!(stringify!($name), "_80x24"),
                screen($seq, 80, 24).backend()
            );
            insta::assert_snapshot!(
                concat!(stringify!($name), "_120x40"),
                screen($seq, 120, 40).backend()
            );
        }
    };
}

// The first screen: the first test's steps in the third pane, the timeline under the panes.
both_sizes!(demo_first_screen, "");
// The steps pane focused, a step selected: its text, time and location under the panes.
both_sizes!(demo_steps_focused, "Tab Tab j");
// The Requests pane sorted by p99 latency, a group open.
both_sizes!(demo_requests_by_latency, "Tab s Enter");
// The request detail: its latency and its step.
both_sizes!(demo_request_detail, "Tab Enter j Enter");
// The Endpoints view sorted by p99 latency (name → hits → tests → p99).
both_sizes!(demo_endpoints_by_latency, "2 s s s g");
// Help lists the new keys and symbols.
both_sizes!(demo_help_symbols, "? G");

/// The steps tree counts each spec's requests once: its step rows and "(outside steps)" add
/// up to the spec's requests, and it lists every `STEP:` line of the spec.
#[test]
fn steps_tree_counts_add_up_for_every_spec() {
    let (app, _term) = first_frame(demo_run().unwrap(), false, 120, 40);
    let ctx = &app.ctx;
    let mut specs_with_steps = 0;
    for (i, spec) in ctx.run.specs.iter().enumerate() {
        let reqs = &ctx.index.spec_requests[i];
        if reqs.is_empty() {
            continue;
        }
        let tree = StepTree::build(ctx, reqs);
        let own: Vec<u32> = reqs
            .iter()
            .copied()
            .filter(|&r| {
                matches!(
                    ctx.run.requests[r as usize].attribution,
                    Attribution::Ua | Attribution::Window
                )
            })
            .collect();
        let spec_row = tree.rows.iter().find(|r| r.depth == 0).unwrap();
        assert_eq!(spec_row.count as usize, own.len(), "{i}");
        let steps: Vec<_> = tree
            .rows
            .iter()
            .filter(|r| matches!(r.node, StepNode::Step(..)))
            .collect();
        assert_eq!(steps.len(), spec.steps.len());
        let outside: u64 = tree
            .rows
            .iter()
            .filter(|r| matches!(r.node, StepNode::Outside(_)))
            .map(|r| r.count)
            .sum();
        let in_steps: u64 = steps.iter().map(|r| r.count).sum();
        assert_eq!(in_steps + outside, own.len() as u64);
        // Each step's count is the number of requests Run::step_of puts in it.
        for row in &steps {
            let StepNode::Step(s, k) = row.node else {
                unreachable!()
            };
            let n = own
                .iter()
                .filter(|&&r| {
                    ctx.run
                        .step_of(&ctx.run.requests[r as usize])
                        .is_some_and(|at| at.spec == s && at.step == k)
                })
                .count();
            assert_eq!(row.count as usize, n);
        }
        if !spec.steps.is_empty() {
            specs_with_steps += 1;
        }
    }
    assert_eq!(specs_with_steps, 8, "the demo's 8 logged specs have steps");
}

/// On the demo the third pane is the steps tree (no request of a spec carries a backtrace),
/// and the Endpoints view's `T/N tested` is `report coverage`'s.
#[test]
fn demo_shows_steps_timeline_and_coverage() {
    let run = demo_run().unwrap();
    let cov = coverage_report(&run, &RequestFilter::default(), false);
    let (mut app, mut term) = first_frame(run, false, 120, 40);
    assert!(app.panes.backtrace.steps.is_some());
    let first = text(&term);
    assert!(first.contains("Steps: "), "{first}");
    assert!(first.contains("STEP Building a namespace"), "{first}");
    assert!(first.contains("━ test ▲ own"), "{first}");
    assert!(first.contains('▲'), "own requests marked: {first}");
    keys(&mut app, &mut term, "2");
    let e = app.endpoints.as_ref().unwrap();
    assert_eq!(
        (e.tested, e.total),
        (cov.tested_endpoints, cov.total_endpoints)
    );
    let shown = text(&term);
    let t_n = format!("Endpoints {}/{} tested", e.tested, e.total);
    assert!(shown.contains(&t_n), "{shown}");
    assert!(shown.contains("p99"), "{shown}");
    // Enter on a tested endpoint lists its tests; 1 returns to the Tests view.
    keys(&mut app, &mut term, "s");
    let pos = {
        let e = app.endpoints.as_ref().unwrap();
        e.view
            .iter()
            .position(|&i| e.rows[i as usize].tested)
            .unwrap()
    };
    for _ in 0..pos {
        keys(&mut app, &mut term, "j");
    }
    keys(&mut app, &mut term, "Enter");
    assert!(matches!(
        app.panes.selected_test(),
        Some(TestEntry::Spec(_))
    ));
    keys(&mut app, &mut term, "2 1");
    assert_eq!(app.panes.focus, Pane::Tests);
}

/// `s` in the Requests pane orders the groups by p99, slowest first, and the requests of a
/// group slowest first; a second `s` goes back to counts.
#[test]
fn requests_sort_by_p99_latency() {
    let (mut app, mut term) = first_frame(demo_run().unwrap(), false, 120, 40);
    keys(&mut app, &mut term, "a Tab s");
    let ctx = &app.ctx;
    let p99s: Vec<Option<i64>> = app
        .panes
        .requests
        .groups
        .iter()
        .map(|g| {
            auditscope::tui::context::p99_max(
                &ctx.latency,
                &app.panes.requests.group_reqs[g.range()],
            )
            .map(|x| x.0)
        })
        .collect();
    assert!(p99s.len() > 10);
    assert!(p99s.windows(2).all(|w| w[0] >= w[1]), "{p99s:?}");
    for g in &app.panes.requests.groups {
        let lat: Vec<i64> = app.panes.requests.group_reqs[g.range()]
            .iter()
            .map(|&r| ctx.latency[r as usize])
            .collect();
        assert!(lat.windows(2).all(|w| w[0] >= w[1]), "{lat:?}");
    }
    // Long-running requests never enter a percentile.
    let long = ctx
        .latency
        .iter()
        .filter(|&&l| l == auditscope::tui::context::LAT_LONG_RUNNING)
        .count();
    assert!(long > 0, "the demo has watches");
    keys(&mut app, &mut term, "s");
    let counts: Vec<u32> = app.panes.requests.groups.iter().map(|g| g.len).collect();
    assert!(counts.windows(2).all(|w| w[0] >= w[1]), "{counts:?}");
}

/// OLD: the demo with one test's own requests made anonymous (as if that test had not
/// run). Against it, the demo gains that test and the endpoints only it tested.
fn baseline() -> (Run, auditscope::diff::Diff, String) {
    let new = demo_run().unwrap();
    let mut old = new.clone();
    // The test with the most own requests.
    let mut counts = std::collections::HashMap::new();
    for r in &new.requests {
        if r.attribution == Attribution::Ua {
            *counts.entry(r.spec.unwrap()).or_insert(0) += 1;
        }
    }
    let (&gone, _) = counts.iter().max_by_key(|(s, n)| (**n, s.index())).unwrap();
    let name = new.str(new.specs[gone.index()].name).to_string();
    for r in &mut old.requests {
        if r.spec == Some(gone) {
            r.spec = None;
            r.attribution = Attribution::None;
        }
    }
    let opts = SideOptions::default();
    let old_side = Side::from_run(&old, "old".into(), SideKind::Run, &opts).unwrap();
    let new_side = Side::from_run(&new, "new".into(), SideKind::Run, &opts).unwrap();
    (new, compare(&old_side, &new_side), name)
}

fn baseline_screen(seq: &str, w: u16, h: u16) -> Terminal<TestBackend> {
    let (run, diff, _) = baseline();
    let mut app = App::for_test_with_baseline(run, diff);
    let mut term = Terminal::new(TestBackend::new(w, h)).unwrap();
    render(&mut app, &mut term);
    keys(&mut app, &mut term, seq);
    term
}

#[test]
fn baseline_marks_tests_and_endpoints() {
    let (run, diff, name) = baseline();
    assert!(diff.tests.added.contains(&name), "{:?}", diff.tests);
    assert!(!diff.endpoints.newly_tested.is_empty());
    let newly = diff.endpoints.newly_tested.clone();
    let mut app = App::for_test_with_baseline(run, diff);
    let mut term = Terminal::new(TestBackend::new(160, 40)).unwrap();
    render(&mut app, &mut term);
    let tests = text(&term);
    assert!(tests.contains("+1 −0 ~0"), "{tests}");
    assert!(tests.contains(&format!("+ {}", &name[..20])), "{tests}");
    // The Endpoints view lists exactly the changed endpoints with `f` four times.
    keys(&mut app, &mut term, "2 f f f f");
    let e = app.endpoints.as_ref().unwrap();
    let listed: Vec<&str> = e
        .view
        .iter()
        .map(|&i| e.rows[i as usize].id.as_str())
        .collect();
    assert_eq!(listed, newly.iter().map(String::as_str).collect::<Vec<_>>());
    let shown = text(&term);
    assert!(shown.contains("changed vs baseline"), "{shown}");
    assert!(shown.contains("+test"), "{shown}");
}

#[test]
fn baseline_screens() {
    insta::assert_snapshot!(
        "baseline_tests_80x24",
        baseline_screen("", 80, 24).backend()
    );
    insta::assert_snapshot!(
        "baseline_tests_120x40",
        baseline_screen("", 120, 40).backend()
    );
    insta::assert_snapshot!(
        "baseline_endpoints_80x24",
        baseline_screen("2 f f f f", 80, 24).backend()
    );
    insta::assert_snapshot!(
        "baseline_endpoints_120x40",
        baseline_screen("2 f f f f", 120, 40).backend()
    );
}

/// The demo of before steps were read (a RUN.json without release or steps) still opens.
#[test]
fn old_demo_run_still_reads_and_opens() {
    use std::io::Read;
    let gz = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/demo-2018-RUN.json.gz"
    ))
    .unwrap();
    let mut bytes = Vec::new();
    flate2::read::GzDecoder::new(&gz[..])
        .read_to_end(&mut bytes)
        .unwrap();
    let run =
        auditscope::run::format::read_run_from_slice(&bytes, "demo-2018-RUN.json.gz").unwrap();
    assert_eq!(run.requests.len(), 441);
    assert!(run.specs.iter().all(|s| s.steps.is_empty()));
    let (mut app, mut term) = first_frame(run, false, 120, 40);
    let first = text(&term);
    assert!(first.contains("DEMO RUN"), "{first}");
    assert!(first.contains("Backtrace: 9 req, 5 traces"), "{first}");
    // `a`: every request; the 29 of no test carry no backtrace but the kubectl ones.
    keys(&mut app, &mut term, "a j");
    assert_eq!(app.panes.selected_test(), Some(TestEntry::NoTest));
    keys(&mut app, &mut term, "2");
    assert!(text(&term).contains("tested"));
}

/// Typing a filter puts the cursor on the best match when the row it was on is only a fuzzy
/// one (before, the cursor kept its position and landed on a fuzzy row).
#[test]
fn filter_selects_an_exact_match_over_a_fuzzy_one() {
    let (mut app, mut term) = first_frame(demo_run().unwrap(), false, 120, 40);
    keys(&mut app, &mut term, "j j j j j / Subpath");
    let Some(TestEntry::Spec(s)) = app.panes.selected_test() else {
        panic!("no test selected");
    };
    let name = app.ctx.run.str(app.ctx.run.specs[s.index()].name);
    assert!(name.contains("Subpath"), "{name}");
}

/// `--baseline` reads OLD as `diff` does: a RUN.json file and an APISnoop coverage file.
#[test]
fn baseline_from_a_run_file_and_an_apisnoop_file() {
    let fixture = |name: &str| format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    let run = demo_run().unwrap();
    // The demo before steps were read: a RUN.json of another table (no release recorded).
    let d = auditscope::tui::baseline_diff(
        &run,
        "demo".into(),
        &[fixture("demo-2018-RUN.json.gz")],
        None,
    )
    .unwrap();
    assert_eq!(d.old.kind, SideKind::Run);
    // APISnoop's published 1.17 coverage (the demo's release): CI tested far more.
    let d = auditscope::tui::baseline_diff(
        &run,
        "demo".into(),
        &[fixture("apisnoop-coverage-1.17.0.json.gz")],
        None,
    )
    .unwrap();
    assert_eq!(d.old.kind, SideKind::Apisnoop);
    assert!(!d.endpoints.no_longer_tested.is_empty());
    let lost = &d.endpoints.no_longer_tested[0];
    let mut app = App::for_test_with_baseline(run, d.clone());
    let mut term = Terminal::new(TestBackend::new(160, 40)).unwrap();
    render(&mut app, &mut term);
    keys(&mut app, &mut term, "2 f f f f");
    let e = app.endpoints.as_ref().unwrap();
    let row = e.rows.iter().find(|r| &r.id == lost).unwrap();
    assert_eq!(
        row.mark,
        Some(auditscope::diff::EndpointMark::NoLongerTested)
    );
    assert!(text(&term).contains("LOST"));
}

/// An audit log read without its e2e log has requests and no tests: the explorer opens on all
/// of them (the "All requests" row selected, the Requests pane full) and says why, where it
/// used to open on an empty Tests pane. `a` still goes back to tests only.
#[test]
fn a_run_without_tests_opens_on_all_requests() {
    use auditscope::correlate::{Inputs, Options, correlate};
    let inputs = Inputs {
        audit: vec![format!(
            "{}/tests/fixtures/audit2rbac-demo-v1beta1.log.gz",
            env!("CARGO_MANIFEST_DIR")
        )],
        ..Inputs::default()
    };
    let run = correlate(&inputs, &Options::default()).unwrap();
    assert_eq!((run.specs.len(), run.requests.len()), (0, 437));
    let (mut app, mut term) = first_frame(run, false, 120, 40);
    assert_eq!(app.panes.selected_test(), Some(TestEntry::All));
    let shown = text(&term);
    assert!(
        shown.contains("no tests in this run: all requests shown"),
        "{shown}"
    );
    assert!(shown.contains("437"), "{shown}");
    assert!(!shown.contains("(no tests in this run)"), "{shown}");
    keys(&mut app, &mut term, "a");
    assert_eq!(app.panes.selected_test(), None);
    assert!(text(&term).contains("(no tests in this run)"));
}

/// A run whose tests exist but tie no request (an audit log and an e2e log of different runs):
/// the first test is empty, and the Requests pane says why and which key shows the requests,
/// instead of a bare "(no requests)". `a` then lists them all.
#[test]
fn a_run_with_no_request_tied_says_how_to_see_them() {
    let mut run = demo_run().unwrap();
    for r in &mut run.requests {
        r.spec = None;
        r.attribution = Attribution::None;
    }
    // The demo's own label would take the status line.
    run.notes.retain(|n| !n.starts_with("DEMO RUN"));
    let total = run.requests.len();
    assert!(total > 0 && !run.specs.is_empty());
    let (mut app, mut term) = first_frame(run, false, 120, 40);
    let shown = text(&term);
    assert!(
        shown.contains("(no test has requests:") && shown.contains(" a shows all of them)"),
        "{shown}"
    );
    assert!(!shown.contains("(no requests)"), "{shown}");
    // At 80 columns only the Tests pane is on screen: the status line says it.
    let (_, small) = first_frame(app.ctx.run.as_ref().clone(), false, 80, 24);
    let small = text(&small);
    assert!(
        small.contains("no test has requests: a shows all of them"),
        "{small}"
    );
    keys(&mut app, &mut term, "a");
    assert_eq!(app.panes.selected_test(), Some(TestEntry::All));
    let shown = text(&term);
    assert!(shown.contains(&format!("Requests ({total} ")), "{shown}");
}
