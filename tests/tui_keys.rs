//! Key-sequence tests against the explorer's update function, on the hand-built sample run.

use auditscope::tui::app::{App, BtSource, Overlay, Pane, ReqRow, Scope, SortKey, TestEntry};
use auditscope::tui::clipboard::Sink;
use auditscope::tui::testing::sample_run;
use base64::Engine;
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

fn key(app: &mut App, k: &str) {
    for part in k.split(' ') {
        let ev = match part {
            "Enter" => KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE),
            "Esc" => KeyEvent::new(KeyCode::Esc, KeyModifiers::NONE),
            "Tab" => KeyEvent::new(KeyCode::Tab, KeyModifiers::NONE),
            "BackTab" => KeyEvent::new(KeyCode::BackTab, KeyModifiers::SHIFT),
            "Backspace" => KeyEvent::new(KeyCode::Backspace, KeyModifiers::NONE),
            "C-o" => KeyEvent::new(KeyCode::Char('o'), KeyModifiers::CONTROL),
            "C-c" => KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL),
            "Space" => KeyEvent::new(KeyCode::Char(' '), KeyModifiers::NONE),
            s => {
                // Plain text: one key per character.
                for c in s.chars() {
                    app.handle_key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE));
                }
                continue;
            }
        };
        app.handle_key(ev);
    }
}

fn spec_name(app: &App) -> String {
    app.panes
        .selected_test()
        .map(|t| app.panes.entry_name(&app.ctx, t).to_string())
        .unwrap_or_default()
}

fn groups(app: &App) -> Vec<(String, usize)> {
    app.panes
        .requests
        .groups
        .iter()
        .map(|gs| (app.ctx.group_label(gs.group).to_string(), gs.len as usize))
        .collect()
}

fn test_rows(app: &App) -> Vec<(String, u64)> {
    app.panes
        .tests
        .view
        .iter()
        .map(|&i| {
            let r = app.panes.tests.rows[i as usize];
            (
                app.panes
                    .entry_name(&app.ctx, r.entry)
                    .chars()
                    .take(20)
                    .collect(),
                r.hits,
            )
        })
        .collect()
}

const PODS: &str = "[sig-node] Pods should get a host IP [NodeConformance] [Conformance]";

#[test]
fn test_then_requests_then_backtrace() {
    let mut app = App::for_test(sample_run(), false);
    assert_eq!(spec_name(&app), PODS);
    assert_eq!(
        app.panes.backtrace.source,
        BtSource::Test(TestEntry::Spec(auditscope::run::SpecId(0)))
    );
    assert_eq!(app.panes.backtrace.requests, 7);
    assert_eq!(
        groups(&app),
        vec![
            ("readCoreV1NamespacedPod".into(), 4),
            ("createCoreV1Namespace".into(), 1),
            ("createCoreV1NamespacedPod".into(), 1),
            ("listCoreV1Namespace".into(), 1)
        ]
    );
    key(&mut app, "j");
    assert!(spec_name(&app).starts_with("[sig-api-machinery] Namespaces"));
    assert_eq!(
        groups(&app),
        vec![
            ("createCoreV1NamespacedPod".into(), 2),
            ("get /apis/metrics.k8s.io/v1beta1".into(), 2),
            ("createCoreV1Namespace".into(), 1),
            ("deleteCoreV1Namespace".into(), 1)
        ]
    );
    key(&mut app, "Tab");
    assert_eq!(app.panes.focus, Pane::Requests);
    let g = match app.panes.requests.selected() {
        Some(ReqRow::Group { group, count: 2 }) => group,
        other => panic!("{other:?}"),
    };
    assert_eq!(
        app.panes.backtrace.source,
        BtSource::Group(TestEntry::Spec(auditscope::run::SpecId(1)), g)
    );
    assert_eq!(app.panes.backtrace.requests, 2);
    key(&mut app, "Enter j");
    assert_eq!(
        app.panes.requests.selected(),
        Some(ReqRow::Request { req: 8, group: g })
    );
    assert_eq!(app.panes.backtrace.source, BtSource::Request(8));
    // One trace of seven frames, all open.
    assert_eq!(app.panes.backtrace.tree.rows.len(), 7);
    key(&mut app, "Enter");
    assert_eq!(app.overlay, Overlay::Detail { req: 8, scroll: 0 });
    key(&mut app, "q");
    assert_eq!(app.overlay, Overlay::None);
    assert!(!app.quit);
    key(&mut app, "Tab");
    assert_eq!(app.panes.focus, Pane::Backtrace);
    assert_eq!(app.panes.backtrace.source, BtSource::Request(8));
    // Collapse the root, then reopen everything.
    key(&mut app, "h");
    assert_eq!(app.panes.backtrace.tree.rows.len(), 1);
    key(&mut app, "E");
    assert_eq!(app.panes.backtrace.tree.rows.len(), 7);
    key(&mut app, "o");
    assert!(app.panes.backtrace.options.caller_first);
    assert_eq!(
        app.ctx.node_text(
            app.panes.backtrace.tree.nodes[app.panes.backtrace.tree.roots[0] as usize].key
        ),
        "runtime.goexit()"
    );
    key(&mut app, "q");
    assert!(app.quit);
}

#[test]
fn endpoint_to_tests_and_back_through_history() {
    let mut app = App::for_test(sample_run(), false);
    key(&mut app, "Tab j j");
    let row = app.panes.requests.selected();
    let g = match row {
        Some(ReqRow::Group { group, .. }) => group,
        other => panic!("{other:?}"),
    };
    assert_eq!(app.ctx.group_label(g), "createCoreV1NamespacedPod");
    key(&mut app, "t");
    assert_eq!(app.panes.scope.scope, Some(Scope::Endpoint(g)));
    assert_eq!(app.panes.focus, Pane::Tests);
    assert_eq!(
        test_rows(&app),
        vec![
            ("(all matching reques".into(), 3),
            ("[sig-node] Pods shou".into(), 1),
            ("[sig-api-machinery] ".into(), 2)
        ]
    );
    assert_eq!(spec_name(&app), PODS);
    assert_eq!(
        app.message.as_deref(),
        Some("createCoreV1NamespacedPod: called by 2 tests")
    );
    assert_eq!(app.history_depth(), (1, 0));

    key(&mut app, "Backspace");
    assert_eq!(app.panes.scope.scope, None);
    assert_eq!(app.panes.focus, Pane::Requests);
    assert_eq!(app.panes.requests.selected(), row);
    assert_eq!(app.history_depth(), (0, 1));

    key(&mut app, "]");
    assert_eq!(app.panes.scope.scope, Some(Scope::Endpoint(g)));
    assert_eq!(app.panes.focus, Pane::Tests);
    key(&mut app, "C-o");
    assert_eq!(app.panes.scope.scope, None);
    assert_eq!(app.panes.requests.selected(), row);

    // The other jump: every caller of the endpoint, across all tests.
    key(&mut app, "b");
    assert_eq!(app.panes.focus, Pane::Backtrace);
    assert_eq!(app.panes.backtrace.source, BtSource::Test(TestEntry::All));
    assert_eq!(app.panes.backtrace.requests, 3);
    let root = &app.panes.backtrace.tree.nodes[app.panes.backtrace.tree.roots[0] as usize];
    assert_eq!(root.count, 3);
    // rest.Do -> (*pods).Create -> CreateSync, then the two tests' functions.
    assert_eq!(app.panes.backtrace.tree.children(2).len(), 2);
    key(&mut app, "Esc");
    assert_eq!(app.panes.scope.scope, None);
}

#[test]
fn frame_to_requests_and_tests() {
    let mut app = App::for_test(sample_run(), false);
    key(&mut app, "Tab Tab / func17 Enter");
    assert!(!app.typing());
    assert_eq!(app.panes.backtrace.filter, "func17");
    // Tab to Requests put the first endpoint (readCoreV1NamespacedPod: 4 requests, two
    // traces sharing their first three frames) in the Backtrace; the filter keeps the
    // matching frame and its ancestors.
    let texts: Vec<&str> = app
        .panes
        .backtrace
        .tree
        .rows
        .iter()
        .map(|r| {
            app.ctx
                .node_text(app.panes.backtrace.tree.nodes[r.node as usize].key)
        })
        .collect();
    assert_eq!(texts.len(), 3, "{texts:?}");
    key(&mut app, "n");
    let n = app.panes.backtrace.selected_node().unwrap();
    assert_eq!(
        app.ctx
            .node_text(app.panes.backtrace.tree.nodes[n as usize].key),
        "k8s.io/kubernetes/test/e2e/common.glob..func17.1()"
    );
    key(&mut app, "u");
    assert_eq!(app.panes.focus, Pane::Requests);
    assert!(matches!(app.panes.scope.scope, Some(Scope::Frame(_))));
    assert_eq!(
        groups(&app),
        vec![
            ("readCoreV1NamespacedPod".into(), 4),
            ("createCoreV1NamespacedPod".into(), 1),
            ("listCoreV1Namespace".into(), 1)
        ]
    );
    assert_eq!(
        test_rows(&app),
        vec![
            ("(all matching reques".into(), 6),
            ("[sig-node] Pods shou".into(), 6)
        ]
    );
    assert_eq!(
        app.message.as_deref(),
        Some("k8s.io/kubernetes/test/e2e/common.glob..func17.1(): 6 requests, 3 endpoints, 1 test")
    );
    // The filter is gone after the jump, and back restores it... to the unfiltered place.
    key(&mut app, "[");
    assert_eq!(app.panes.scope.scope, None);
    assert_eq!(app.panes.focus, Pane::Backtrace);
}

#[test]
fn sort_cycles_start_name_requests_status_duration() {
    let mut app = App::for_test(sample_run(), false);
    let names = |app: &App| -> Vec<String> { test_rows(app).into_iter().map(|r| r.0).collect() };
    assert_eq!(app.panes.tests.sort, SortKey::Start);
    // The skipped spec is hidden at first, and counted.
    assert_eq!(
        names(&app),
        vec![
            "[sig-node] Pods shou",
            "[sig-api-machinery] ",
            "[SynchronizedAfterSu"
        ]
    );
    assert_eq!(app.panes.tests.hidden_skipped, 1);
    key(&mut app, "S");
    assert_eq!(app.panes.tests.hidden_skipped, 0);
    assert_eq!(
        names(&app),
        vec![
            "[sig-node] Pods shou",
            "[sig-api-machinery] ",
            "[sig-storage] CSI mo",
            "[SynchronizedAfterSu"
        ]
    );
    key(&mut app, "s");
    assert_eq!(app.panes.tests.sort, SortKey::Name);
    assert_eq!(
        names(&app),
        vec![
            "[SynchronizedAfterSu",
            "[sig-api-machinery] ",
            "[sig-node] Pods shou",
            "[sig-storage] CSI mo"
        ]
    );
    // The selection follows the test, not the row.
    assert_eq!(spec_name(&app), PODS);
    key(&mut app, "s");
    assert_eq!(app.panes.tests.sort, SortKey::Requests);
    assert_eq!(
        test_rows(&app).into_iter().map(|r| r.1).collect::<Vec<_>>(),
        vec![7, 6, 0, 0]
    );
    key(&mut app, "s");
    assert_eq!(app.panes.tests.sort, SortKey::Status);
    // Failures first, then passed, then skipped.
    assert_eq!(
        names(&app),
        vec![
            "[sig-api-machinery] ",
            "[sig-node] Pods shou",
            "[SynchronizedAfterSu",
            "[sig-storage] CSI mo"
        ]
    );
    key(&mut app, "s");
    assert_eq!(app.panes.tests.sort, SortKey::Duration);
    assert_eq!(
        names(&app),
        vec![
            "[sig-api-machinery] ",
            "[sig-node] Pods shou",
            "[SynchronizedAfterSu",
            "[sig-storage] CSI mo"
        ]
    );
    key(&mut app, "s");
    assert_eq!(app.panes.tests.sort, SortKey::Start);
    assert_eq!(app.message.as_deref(), Some("tests sorted by start"));
}

#[test]
fn search_filters_steps_and_clears() {
    let mut app = App::for_test(sample_run(), false);
    key(&mut app, "S / sig");
    assert!(app.typing());
    assert_eq!(app.panes.tests.view.len(), 3);
    // While typing, letters go to the filter, not to the keymap (no quit on q).
    key(&mut app, "q");
    assert_eq!(app.panes.tests.view.len(), 0);
    assert!(!app.quit);
    key(&mut app, "Backspace Enter");
    assert!(!app.typing());
    assert_eq!(app.panes.tests.view.len(), 3);
    assert_eq!(app.panes.tests.state.sel, 0);
    key(&mut app, "n");
    assert_eq!(app.panes.tests.state.sel, 1);
    key(&mut app, "N N");
    assert_eq!(app.panes.tests.state.sel, 2);
    assert!(spec_name(&app).starts_with("[sig-storage]"));
    key(&mut app, "Esc");
    assert_eq!(app.panes.tests.filter, "");
    assert_eq!(app.panes.tests.view.len(), 4);
    assert!(spec_name(&app).starts_with("[sig-storage]"));

    // Requests pane: match group labels and URIs.
    key(&mut app, "g Tab / list");
    assert_eq!(app.panes.requests.view.len(), 1);
    key(&mut app, "Esc");
    assert!(!app.typing());
    assert_eq!(app.panes.requests.view.len(), 4);
}

#[test]
fn all_requests_and_no_test() {
    let mut app = App::for_test(sample_run(), false);
    key(&mut app, "a");
    assert!(app.panes.tests.show_all);
    assert_eq!(app.panes.selected_test(), Some(TestEntry::All));
    assert_eq!(app.panes.backtrace.requests, 15);
    key(&mut app, "j");
    assert_eq!(app.panes.selected_test(), Some(TestEntry::NoTest));
    assert_eq!(
        groups(&app),
        vec![
            (
                "deletecollection /api/v1/namespaces/e2e-tests-ns-9fzqp/pods".into(),
                1
            ),
            ("listCoreV1Namespace".into(), 1)
        ]
    );
    assert_eq!(app.panes.backtrace.tree.untraced, 2);
    assert!(app.panes.backtrace.tree.rows.is_empty());
    let started = App::for_test(sample_run(), true);
    assert_eq!(started.panes.tests.rows.len(), 6);
}

#[test]
fn copy_backtrace_and_request() {
    let mut app = App::for_test(sample_run(), false);
    key(&mut app, "y");
    let text = app.panes.backtrace_text(&app.ctx).unwrap();
    assert_eq!(
        text.lines().take(3).collect::<Vec<_>>(),
        vec![
            "create /api/v1/namespaces",
            "    k8s.io/kubernetes/vendor/k8s.io/client-go/rest.(*Request).Do()",
            "        _output/local/go/src/k8s.io/kubernetes/vendor/k8s.io/client-go/rest/request.go:805"
        ]
    );
    assert_eq!(text.lines().count(), 15);
    assert_eq!(
        app.message.as_deref(),
        Some(
            format!(
                "copied backtrace: {} bytes via OSC 52 · create /api/v1/namespaces ({PODS}), \
                 one of 7 requests through this node",
                text.len()
            )
            .as_str()
        )
    );
    let Sink::Buffer(bytes) = &app.ctx.clipboard.sink else {
        panic!()
    };
    let b64 = base64::engine::general_purpose::STANDARD.encode(&text);
    assert_eq!(bytes, format!("\x1b]52;c;{b64}\x1b\\").as_bytes());

    key(&mut app, "Tab Enter j c");
    assert_eq!(
        app.message
            .as_deref()
            .map(|m| m.starts_with("copied request: ")),
        Some(true)
    );
    key(&mut app, "Y");
    assert_eq!(
        app.message.as_deref(),
        Some(format!("copied test name: {} bytes via OSC 52", PODS.len()).as_str())
    );
}

#[test]
fn frame_search_overlay_jumps() {
    let mut app = App::for_test(sample_run(), false);
    key(&mut app, "F");
    let Overlay::FrameSearch { hits, .. } = &app.overlay else {
        panic!()
    };
    // Empty query: every frame, most requests first (rest.Do is in every trace: 13 requests).
    assert_eq!(hits[0].requests, 13);
    key(&mut app, "CreateTestingNS");
    let Overlay::FrameSearch { hits, .. } = &app.overlay else {
        panic!()
    };
    assert_eq!(hits.len(), 1);
    assert_eq!((hits[0].requests, hits[0].tests), (2, 2));
    key(&mut app, "Enter");
    assert_eq!(app.overlay, Overlay::None);
    assert_eq!(app.panes.focus, Pane::Backtrace);
    let n = app.panes.backtrace.selected_node().unwrap();
    assert_eq!(
        app.ctx
            .node_text(app.panes.backtrace.tree.nodes[n as usize].key),
        "k8s.io/kubernetes/test/e2e/framework.CreateTestingNS()"
    );
    key(&mut app, "Backspace");
    assert_eq!(app.panes.scope.scope, None);
}

#[test]
fn ctrl_c_quits_even_while_typing() {
    let mut app = App::for_test(sample_run(), false);
    key(&mut app, "/ abc C-c");
    assert!(app.quit);
}
