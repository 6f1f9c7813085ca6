//! Headless explorer benchmark (used by `bench/run.sh`): loads a RUN.json, puts it in place as
//! `explore RUN.json` does (what the views derive from it built off the event loop), draws the
//! first frame on a ratatui `TestBackend`, then times keystrokes (each one applied and drawn):
//! moves, search characters and jumps. Prints one line per measure and the peak RSS.
//!
//! `cargo run --release --example explore_bench -- RUN.json [WIDTH HEIGHT]`
//!
//! `explore_bench --live DIR|RUN.json [WIDTH HEIGHT]` opens the explorer on the raw inputs of a
//! generated run (`DIR/audit.log`, `DIR/e2e.log`, `DIR/junit_01.xml`, as `auditscope synth`
//! writes them) as `explore --audit` does, and while it loads presses a key every 20 ms: each
//! key is timed as the event loop handles it (the key, the snapshots waiting, one frame), so
//! a snapshot taken in between shows in the key's time. Given a RUN.json, it is read on a
//! thread as `explore RUN.json` reads it, and the keys are timed the same way. Prints the keys' times, the time to
//! the first requests shown and to the complete run, and the peak RSS.

use std::time::{Duration, Instant};

// The allocator the auditscope binary uses (src/main.rs), so the numbers are the explorer's.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use auditscope::run::format::read_run;
use auditscope::tui::{first_frame, live::Feed, press, render};
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
    rss_kb("VmHWM:")
}

/// A line of /proc/self/status in KB: `VmHWM:` (peak) or `VmRSS:` (now).
fn rss_kb(field: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("--live") {
        return live(&args[1..]);
    }
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
    sizes(&run);
    // What `explore RUN.json` does once the run is read: the index, the latencies, the
    // timeline and the Endpoints view are built off the event loop (the feed's thread), and
    // put in place at once ([`App::reload_derived`]).
    let mut feed = Feed::reading("RUN.json".into(), 0, move || Ok(run));
    let (mut app, mut term) = first_frame(auditscope::run::Run::default(), false, width, height);
    while !feed.ended {
        feed.apply(&mut app);
        std::thread::sleep(Duration::from_millis(5));
    }
    render(&mut app, &mut term);
    let first = start.elapsed();
    println!(
        "RUN.json loaded in {:.3} s; first frame of the run at {:.3} s ({requests} requests, {} endpoint groups, {width}x{height})",
        loaded.as_secs_f64(),
        first.as_secs_f64(),
        app.ctx.index.groups.len()
    );

    keys(&mut app, &mut term);
    if let Some(kb) = peak_rss_kb() {
        println!("peak RSS {} MB", kb / 1024);
    }
    Ok(())
}

/// `--live DIR`: keys while the run loads.
fn live(args: &[String]) -> anyhow::Result<()> {
    use auditscope::correlate::{self, Inputs, Options, live};
    use auditscope::tui::App;
    use ratatui::{Terminal, backend::TestBackend};
    let Some(dir) = args.first().map(std::path::Path::new) else {
        anyhow::bail!("usage: explore_bench --live DIR [WIDTH HEIGHT]");
    };
    let width = args.get(1).and_then(|w| w.parse().ok()).unwrap_or(160);
    let height = args.get(2).and_then(|h| h.parse().ok()).unwrap_or(48);
    let named = |f: &str| {
        let p = dir.join(f);
        p.exists()
            .then(|| p.display().to_string())
            .into_iter()
            .collect()
    };
    let inputs = Inputs {
        audit: named("audit.log"),
        e2e_logs: named("e2e.log"),
        junit: named("junit_01.xml"),
        ..Inputs::default()
    };
    let options = Options {
        strict: false,
        progress: false,
        openapi: Vec::new(),
        release: None,
        show_walk: false,
    };
    // As the auditscope binary (src/main.rs).
    auditscope::allocator::keep_freed_memory();
    auditscope::allocator::small_pages();
    let start = Instant::now();
    let mut feed = if dir.is_file() {
        // A RUN.json, read on a thread as `explore RUN.json` does.
        let path = dir.to_path_buf();
        let bytes = std::fs::metadata(&path)?.len();
        Feed::reading("RUN.json".into(), bytes, move || {
            read_run(&path).map_err(|e| e.to_string())
        })
    } else {
        let resolved = correlate::resolve(&inputs, &options)?;
        Feed::new(
            live::spawn_load(resolved, options, live::DEFAULT_EVERY),
            None,
        )
    };
    let mut app = App::for_test(auditscope::run::Run::default(), false);
    let mut term = match Terminal::new(TestBackend::new(width, height)) {
        Ok(t) => t,
        Err(e) => match e {},
    };
    render(&mut app, &mut term);
    println!("first frame at {:.3} s", start.elapsed().as_secs_f64());
    let tab = KeyEvent::new(KeyCode::Tab, KeyModifiers::NONE);
    // Moves that leave the selection and focus where they were after each round, so the
    // keys on the whole run start from the same place whenever loading ends.
    let cycle = [
        key('j'),
        key('k'),
        tab,
        key('j'),
        key('k'),
        tab,
        key('j'),
        key('k'),
        tab,
    ];
    let mut times = Vec::new();
    let mut with_snapshot = Vec::new();
    let mut first_requests = None;
    let mut snapshots = 0;
    let mut rss_max_while_loading = 0;
    for i in 0.. {
        let t = Instant::now();
        app.handle_key(cycle[i % cycle.len()]);
        let before = app.ctx.run.requests.len();
        let changed = feed.apply(&mut app);
        render(&mut app, &mut term);
        let took = t.elapsed();
        if app.ctx.run.requests.len() != before {
            snapshots += 1;
            with_snapshot.push(took);
            println!(
                "  at {:.2} s: {} requests shown, RSS {} MB",
                start.elapsed().as_secs_f64(),
                app.ctx.run.requests.len(),
                rss_kb("VmRSS:").unwrap_or(0) / 1024
            );
        } else {
            times.push(took);
        }
        if first_requests.is_none() && !app.ctx.run.requests.is_empty() {
            first_requests = Some(start.elapsed());
        }
        if let Some(kb) = peak_rss_kb() {
            rss_max_while_loading = rss_max_while_loading.max(kb);
        }
        if feed.ended && !changed && (i + 1) % cycle.len() == 0 {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    println!(
        "first requests shown at {:.3} s; complete at {:.3} s: {} requests, {snapshots} snapshots shown",
        first_requests.map_or(f64::NAN, |d| d.as_secs_f64()),
        start.elapsed().as_secs_f64(),
        app.ctx.run.requests.len()
    );
    println!("status: {}", app.live.as_deref().unwrap_or(""));
    let all: Vec<Duration> = times.iter().chain(&with_snapshot).copied().collect();
    let over = all.iter().filter(|d| d.as_millis() >= 50).count();
    summary("key, no snapshot", times);
    summary("key with a snapshot swap", with_snapshot);
    println!("keys at or over 50 ms: {over} of {}", all.len());
    println!("keys on the whole run:");
    keys(&mut app, &mut term);
    println!("peak RSS {} MB", rss_max_while_loading / 1024);
    Ok(())
}

/// What a copy of the run holds, roughly: the request table, the audit IDs' boxes and the
/// strings' text (what a snapshot of a loading run copies).
fn sizes(run: &auditscope::run::Run) {
    let mb = |b: usize| b as f64 / 1e6;
    let table = run.requests.len() * std::mem::size_of::<auditscope::run::Request>();
    // A box's heap block: mimalloc rounds small sizes up to 8-byte bins and up.
    let ids: usize = run
        .requests
        .iter()
        .map(|r| r.audit_id.len().next_multiple_of(16))
        .sum();
    let text: usize = run.strings.iter().map(str::len).sum();
    println!(
        "run: {} requests x {} B = {:.0} MB, audit IDs {:.0} MB, {} strings with {:.0} MB of text",
        run.requests.len(),
        std::mem::size_of::<auditscope::run::Request>(),
        mb(table),
        mb(ids),
        run.strings.len(),
        mb(text)
    );
}

/// Times the keys of the benchmark, each applied and drawn.
fn keys(
    app: &mut auditscope::tui::App,
    term: &mut ratatui::Terminal<ratatui::backend::TestBackend>,
) {
    let mut timed = |keys: &[KeyEvent]| -> Vec<Duration> {
        keys.iter()
            .map(|&k| {
                let t = Instant::now();
                press(app, term, k);
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
    // Again: the memory of the first time is reused (fresh pages cost a fault each).
    summary("all requests again (a)", timed(&[key('a')]));
}
