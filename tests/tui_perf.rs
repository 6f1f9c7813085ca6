//! Timings on a 900,000-request synthetic run (ignored: run in release with
//! `cargo test --release --test tui_perf -- --ignored --nocapture`).

use auditscope::tui::testing::big_run;
use auditscope::tui::{first_frame, press};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use std::time::Instant;

#[test]
#[ignore]
fn keys_on_900k_requests() {
    let t = Instant::now();
    let run = big_run(900_000, 7_000);
    eprintln!("built run: {:?}", t.elapsed());
    let t = Instant::now();
    let (mut app, mut term) = first_frame(run, false, 200, 60);
    eprintln!("index + first frame: {:?}", t.elapsed());
    let ch = |c| KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE);
    let mut worst = std::time::Duration::ZERO;
    let mut time = |name: &str, app: &mut _, term: &mut _, k: KeyEvent| {
        let t = Instant::now();
        press(app, term, k);
        let d = t.elapsed();
        worst = worst.max(d);
        eprintln!("{name:<28} {d:?}");
    };
    for _ in 0..3 {
        time("j (next test)", &mut app, &mut term, ch('j'));
    }
    time("a (all requests)", &mut app, &mut term, ch('a'));
    time("j (no test)", &mut app, &mut term, ch('j'));
    time("k (all)", &mut app, &mut term, ch('k'));
    time(
        "Tab (requests)",
        &mut app,
        &mut term,
        KeyEvent::new(KeyCode::Tab, KeyModifiers::NONE),
    );
    time("j (next endpoint)", &mut app, &mut term, ch('j'));
    time(
        "Enter (expand group)",
        &mut app,
        &mut term,
        KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE),
    );
    time("t (endpoint tests)", &mut app, &mut term, ch('t'));
    time("[ (back)", &mut app, &mut term, ch('['));
    time("b (endpoint callers)", &mut app, &mut term, ch('b'));
    time("u (frame uses)", &mut app, &mut term, ch('u'));
    time(
        "Esc (clear scope)",
        &mut app,
        &mut term,
        KeyEvent::new(KeyCode::Esc, KeyModifiers::NONE),
    );
    time(
        "Tab",
        &mut app,
        &mut term,
        KeyEvent::new(KeyCode::Tab, KeyModifiers::NONE),
    );
    time("/ (search tests)", &mut app, &mut term, ch('/'));
    for c in "area7".chars() {
        time("type", &mut app, &mut term, ch(c));
    }
    time(
        "Enter",
        &mut app,
        &mut term,
        KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE),
    );
    time("F (frame search)", &mut app, &mut term, ch('F'));
    for c in "Method12".chars() {
        time("type", &mut app, &mut term, ch(c));
    }
    time(
        "Enter (jump to frame)",
        &mut app,
        &mut term,
        KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE),
    );
    time("E (expand all)", &mut app, &mut term, ch('E'));
    time("z (fold)", &mut app, &mut term, ch('z'));
    time("o (orientation)", &mut app, &mut term, ch('o'));
    eprintln!("worst key: {worst:?}");
}

#[test]
#[ignore]
fn pieces_on_900k_requests() {
    use auditscope::analysis::tree::{CallTree, TreeOptions};
    let run = big_run(900_000, 7_000);
    let t = Instant::now();
    let index = auditscope::analysis::RunIndex::build(&run);
    eprintln!("index: {:?}", t.elapsed());
    let traces: Vec<(u32, u64)> = (0..run.traces.len() as u32)
        .map(|t| (t, index.trace_requests[t as usize].len() as u64))
        .collect();
    let t = Instant::now();
    let tree = CallTree::build(&run, &traces, 0, TreeOptions::default());
    eprintln!(
        "tree of every trace: {:?}, {} nodes, {} rows",
        t.elapsed(),
        tree.nodes.len(),
        tree.rows.len()
    );
    let t = Instant::now();
    drop(tree);
    eprintln!("drop tree: {:?}", t.elapsed());
}

#[test]
#[ignore]
fn scan_baseline() {
    let run = big_run(900_000, 7_000);
    for _ in 0..3 {
        let t = Instant::now();
        let mut x = 0u64;
        for r in &run.requests {
            x = x.wrapping_add(
                r.spec.map_or(0, |s| s.index() as u64)
                    + r.agent as u64
                    + r.endpoint.map_or(0, |o| o.index() as u64),
            );
        }
        eprintln!("scan: {:?} {x}", t.elapsed());
        let t = Instant::now();
        let index = auditscope::analysis::RunIndex::build(&run);
        eprintln!("index: {:?} {}", t.elapsed(), index.groups.len());
    }
}
