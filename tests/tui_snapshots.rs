//! Snapshots of the explorer's screen (ratatui `TestBackend`) at 80x24 (stacked panes) and
//! 120x40 (side by side), on the hand-built sample run.

use auditscope::tui::first_frame;
use auditscope::tui::press_keys as keys;
use auditscope::tui::testing::sample_run;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::style::{Color, Modifier};

fn screen(seq: &str, w: u16, h: u16) -> Terminal<TestBackend> {
    let (mut app, mut term) = first_frame(sample_run(), false, w, h);
    keys(&mut app, &mut term, seq);
    term
}

/// The screen's text with highlighted (match) characters wrapped in «».
fn marked(term: &Terminal<TestBackend>) -> String {
    let buf = term.backend().buffer();
    let mut out = String::new();
    for y in 0..buf.area.height {
        let mut on = false;
        for x in 0..buf.area.width {
            let cell = &buf[(x, y)];
            let hl = cell.fg == Color::Yellow && cell.modifier.contains(Modifier::BOLD);
            if hl != on {
                out.push(if hl { '«' } else { '»' });
                on = hl;
            }
            out.push_str(cell.symbol());
        }
        if on {
            out.push('»');
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

both_sizes!(tests_focused, "");
both_sizes!(requests_focused, "j Tab Enter j");
both_sizes!(backtrace_focused, "Tab Tab j");
both_sizes!(help_overlay, "?");
both_sizes!(detail_view, "Tab Enter j Enter");
both_sizes!(endpoint_callers, "Tab j j t");
both_sizes!(frame_search_overlay, "F create");
both_sizes!(endpoints_view, "2");
both_sizes!(endpoints_untested, "2 f j");
both_sizes!(maximized_requests, "Tab M");

#[test]
fn search_in_progress_highlights_matches() {
    insta::assert_snapshot!(
        "search_in_progress_80x24",
        marked(&screen("Tab Tab / pods", 80, 24))
    );
    insta::assert_snapshot!(
        "search_in_progress_120x40",
        marked(&screen("/ sig node", 120, 40))
    );
}

#[test]
fn redraws_after_resize() {
    let (mut app, mut term) = first_frame(sample_run(), false, 120, 40);
    term.backend_mut().resize(80, 24);
    auditscope::tui::render(&mut app, &mut term);
    let small = screen("", 80, 24);
    assert_eq!(term.backend().buffer(), small.backend().buffer());
}
