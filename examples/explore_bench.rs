//! Headless explorer benchmark (used by `bench/run.sh`): loads a RUN.json, draws the first
//! frame on a ratatui `TestBackend`, then times keystrokes (each one applied and drawn):
//! moves, search characters and jumps. Prints one line per measure and the peak RSS.
//!
//! `cargo run --release --example explore_bench -- RUN.json [WIDTH HEIGHT]`

use std::time::{Duration, Instant};

// The allocator the auditscope binary uses (src/main.rs), so the numbers are the explorer's.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use auditscope::run::format::read_run;
use auditscope::tui::{first_frame, press};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

fn key(c: char) -> KeyEvent {
    KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE)
}

fn summary(name: &str, mut times: Vec<Duration>) {
    if times.is_empty() {
        return;
    }
    times.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    let median = times[times.len() / 2];
    let max = times[times.len() - 1];
    println!(
        "{name:<28} n={:<4} median {:>8.2} ms  max {:>8.2} ms",
        times.len(),
        ms(median),
        ms(max)
    );
}

fn peak_rss_kb() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(path) = args.first() else {
        anyhow::bail!("usage: explore_bench RUN.json [WIDTH HEIGHT]");
    };
    let width = args.get(1).and_then(|w| w.parse().ok()).unwrap_or(160);
    let height = args.get(2).and_then(|h| h.parse().ok()).unwrap_or(48);

    auditscope::allocator::keep_freed_memory();
    auditscope::allocator::small_pages();
    let start = Instant::now();
    let run = read_run(std::path::Path::new(path))?;
    let loaded = start.elapsed();
    let requests = run.requests.len();
    let (mut app, mut term) = first_frame(run, false, width, height);
    let first = start.elapsed();
    println!(
        "RUN.json loaded in {:.3} s; first frame at {:.3} s ({requests} requests, {width}x{height})",
        loaded.as_secs_f64(),
        first.as_secs_f64()
    );

    let mut timed = |keys: &[KeyEvent]| -> Vec<Duration> {
        keys.iter()
            .map(|&k| {
                let t = Instant::now();
                press(&mut app, &mut term, k);
                t.elapsed()
            })
            .collect()
    };
    // Moves in the tests pane, then in the requests pane.
    summary("move (j) in tests", timed(&[key('j'); 50]));
    summary("bottom (G) in tests", timed(&[key('G')]));
    let tab = KeyEvent::new(KeyCode::Tab, KeyModifiers::NONE);
    summary("next pane (Tab)", timed(&[tab]));
    summary("move (j) in requests", timed(&[key('j'); 50]));
    // Search: '/' then characters, each redrawn with the matches; Enter; next match.
    summary("search open (/)", timed(&[key('/')]));
    summary(
        "search char",
        timed(&"rest.(*Request)".chars().map(key).collect::<Vec<_>>()),
    );
    let enter = KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE);
    summary("search accept (Enter)", timed(&[enter]));
    summary("next match (n)", timed(&[key('n'); 20]));
    // Jumps: to the backtrace pane, frame uses, endpoint tests.
    summary("next pane (Tab)", timed(&[tab]));
    summary("jump: frame uses (u)", timed(&[key('u')]));
    summary("jump: endpoint tests (t)", timed(&[key('t')]));
    // Back to the start, then the filter prompt with fields, and the view switch.
    let esc = KeyEvent::new(KeyCode::Esc, KeyModifiers::NONE);
    summary("back ([)", timed(&[key('['), key('[')]));
    summary("filter prompt (/)", timed(&[key('/')]));
    summary(
        "filter char: status:failed",
        timed(&"status:failed".chars().map(key).collect::<Vec<_>>()),
    );
    summary("filter clear (Esc)", timed(&[esc]));
    summary(
        "filter char: code:403 (tests)",
        timed(&"/code:403".chars().map(key).collect::<Vec<_>>()),
    );
    summary("filter accept (Enter)", timed(&[enter, esc]));
    summary("hide window traffic (w)", timed(&[key('w'), key('w')]));
    summary("sort (s)", timed(&[key('s'); 5]));
    summary("view: endpoints, first (2)", timed(&[key('2')]));
    summary("view: tests (1)", timed(&[key('1')]));
    summary("view: endpoints again (2)", timed(&[key('2')]));
    summary("move (j) in endpoints", timed(&[key('j'); 20]));
    summary(
        "filter char in endpoints",
        timed(&"/core".chars().map(key).collect::<Vec<_>>()),
    );
    summary("endpoints show (f)", timed(&[esc, key('f'), key('f')]));
    summary(
        "endpoints sort: p99 (s x3)",
        timed(&[key('f'), key('f'), key('s'), key('s'), key('s')]),
    );
    // Back to the Tests view: the latency sort of the Requests pane, then the third pane
    // (the steps tree on a run without backtraces) and moves in it.
    summary("view: tests (1)", timed(&[key('1')]));
    summary("next pane (Tab) to requests", timed(&[tab]));
    summary("requests sort: p99 (s)", timed(&[key('s')]));
    summary("move (j) in requests by p99", timed(&[key('j'); 20]));
    summary("requests sort: count (s)", timed(&[key('s')]));
    summary("next pane (Tab) to third", timed(&[tab]));
    summary("move (j) in third pane", timed(&[key('j'); 20]));
    summary("all requests (a)", timed(&[key('a')]));
    summary("all requests back (a)", timed(&[key('a')]));
    if let Some(kb) = peak_rss_kb() {
        println!("peak RSS {} MB", kb / 1024);
    }
    Ok(())
}
