//! `auditscope explore`: the terminal explorer.
//!
//! Each view is a folder under [`views`] and a [`component::Component`]: it owns its state,
//! handles its keys and draws itself. [`app`] holds what they share ([`context::Ctx`]: the
//! run, its indexes from [`crate::analysis`], the keymap), the overlays, the typing modes
//! and the jump [`history`]. Everything derived from the run is built once, so a key
//! touches only distinct strings or the rows in view.

pub mod app;
pub mod clipboard;
pub mod component;
pub mod context;
pub mod detail;
pub mod filter;
pub mod help;
pub mod history;
pub mod keymap;
pub mod live;
pub mod search;
#[doc(hidden)]
pub mod testing;
pub mod theme;
pub mod views;
pub mod widgets;

pub use crate::analysis::{FrameHit, RunIndex, index, tree};
pub use app::App;
pub use clipboard::ClipboardMode;

use app::{AppOptions, Overlay};
use component::Component;
use crossterm::event::{self, Event, KeyEvent, KeyEventKind, MouseEventKind};
use keymap::{Action, Keymap, Mode};
use ratatui::Frame;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph};
use std::path::PathBuf;
use std::time::Duration;

/// How `explore` runs (from the command line).
#[derive(Debug, Clone, Default)]
pub struct ExploreOptions {
    /// How copies reach the clipboard.
    pub clipboard: ClipboardMode,
    /// Capture the mouse (scroll wheel); off by default so text stays selectable.
    pub mouse: bool,
    /// Start with requests of all tests and of none.
    pub show_all: bool,
    /// A keymap file to use instead of `<config dir>/auditscope/keymap.toml`.
    pub keymap_path: Option<PathBuf>,
    /// The comparison with `--baseline OLD`: marks endpoints and tests new, lost or changed.
    pub baseline: Option<crate::diff::Diff>,
}

pub use crate::analysis::search_frames;

/// The comparison `explore NEW --baseline OLD` marks: OLD read as `diff` reads a side (a
/// RUN.json, raw inputs or an APISnoop coverage file), NEW the run being explored.
pub fn baseline_diff(
    run: &crate::run::Run,
    run_name: String,
    old: &[String],
    release: Option<crate::model::Release>,
) -> Result<crate::diff::Diff, crate::diff::SideError> {
    use crate::diff::{Side, SideKind, SideOptions, compare, load_side};
    let opts = SideOptions {
        release,
        ..SideOptions::default()
    };
    let old = load_side(old, "old", &opts)?;
    let new = Side::from_run(run, run_name, SideKind::Run, &opts)?;
    Ok(compare(&old, &new))
}
pub use views::tests::STACK_BELOW;

/// Draws the whole screen.
pub fn draw(f: &mut Frame, app: &mut App) {
    let area = f.area();
    let [main, status] = Layout::vertical([Constraint::Min(3), Constraint::Length(1)]).areas(area);
    let stacked = area.width < STACK_BELOW;
    match (app.view, &mut app.endpoints) {
        (views::ViewKind::Endpoints, Some(e)) => e.draw(f, main, &app.ctx, true),
        _ => app.panes.draw(f, main, &app.ctx, true),
    }
    draw_status(f, status, app);

    let overlay_area = if stacked {
        main
    } else {
        centered(main, 90, 90)
    };
    match &mut app.overlay {
        Overlay::None => {}
        Overlay::Help { scroll } => {
            // Scrolling stops at the end of the text.
            *scroll = help::draw(f, overlay_area, &app.ctx.keymap, *scroll, &app.ctx.theme);
        }
        Overlay::Detail { req, scroll } => {
            let ctx = &app.ctx;
            if let Some(r) = ctx.run.requests.get(*req as usize) {
                let g = ctx
                    .index
                    .req_group
                    .get(*req as usize)
                    .copied()
                    .unwrap_or(crate::analysis::NONE);
                let lines = detail::detail_lines(&ctx.run, r, ctx.group_label(g), &ctx.theme);
                detail::draw(
                    f,
                    overlay_area,
                    lines,
                    *scroll,
                    &ctx.theme,
                    ctx.keymap.first_key(Action::Quit),
                );
            }
        }
        Overlay::FrameSearch { query, hits, sel } => {
            draw_frame_search(f, overlay_area, &app.ctx, query, hits, *sel);
        }
    }
}

fn centered(area: Rect, pct_w: u16, pct_h: u16) -> Rect {
    // In u32: a wide terminal times a percentage overflows u16.
    let w = (u32::from(area.width) * u32::from(pct_w) / 100) as u16;
    let h = (u32::from(area.height) * u32::from(pct_h) / 100) as u16;
    Rect {
        x: area.x + (area.width - w) / 2,
        y: area.y + (area.height - h) / 2,
        width: w,
        height: h,
    }
}

fn draw_frame_search(
    f: &mut Frame,
    area: Rect,
    ctx: &context::Ctx,
    query: &str,
    hits: &[FrameHit],
    sel: usize,
) {
    let theme = &ctx.theme;
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(theme.border_focused)
        .title(Span::styled(
            " Find a function in every backtrace ",
            theme.title,
        ))
        .title_bottom(Line::from(mode_hints(&ctx.keymap, Mode::FrameSearch)));
    f.render_widget(Clear, area);
    let inner = block.inner(area);
    f.render_widget(block, area);
    let mut lines = vec![
        Line::from(vec![
            Span::styled("> ", theme.highlight),
            Span::raw(format!("{query}▏")),
        ]),
        Line::styled(
            format!("{:>8} {:>6}  function", "requests", "tests"),
            theme.dim,
        ),
    ];
    let height = (inner.height as usize).saturating_sub(2);
    let offset = sel.saturating_sub(height.saturating_sub(1));
    for (i, h) in hits.iter().enumerate().skip(offset).take(height) {
        let mut spans = vec![Span::styled(
            format!("{:>8} {:>6}  ", h.requests, h.tests),
            theme.dim,
        )];
        // The short name first (what fits), the package after it; the match positions are
        // char positions in the full name.
        let short = widgets::short_function(&h.function);
        let skip = h.function.chars().count() - short.chars().count();
        let in_short: Vec<usize> = h
            .indices
            .iter()
            .filter(|&&i| i >= skip)
            .map(|&i| i - skip)
            .collect();
        spans.extend(search::highlighted_at(
            short,
            &in_short,
            ratatui::style::Style::new(),
            theme,
        ));
        spans.push(Span::styled(
            format!("  {}:{}", widgets::short_file(&h.file), h.line),
            theme.dim,
        ));
        if skip > 0 {
            let package: String = h.function.chars().take(skip.saturating_sub(1)).collect();
            spans.push(Span::styled(format!("  {package}"), theme.dim));
        }
        let mut line = Line::from(spans);
        if i == sel {
            line = line.patch_style(theme.selected);
        }
        lines.push(line);
    }
    if hits.is_empty() {
        lines.push(Line::styled("(no function matches)", theme.dim));
    }
    f.render_widget(Paragraph::new(lines), inner);
}

/// ` Enter jump · Down move · Esc close `: a typing mode's hints from the keymap.
fn mode_hints(keymap: &Keymap, mode: Mode) -> String {
    let parts: Vec<String> = keymap
        .mode_bindings(mode)
        .filter_map(|b| Some(format!("{} {}", b.key_names.first()?, b.hint.as_ref()?)))
        .collect();
    format!(" {} ", parts.join(" · "))
}

fn draw_status(f: &mut Frame, area: Rect, app: &App) {
    let theme = &app.ctx.theme;
    let mut right = String::new();
    if let Some(live) = &app.live {
        right.push_str(&format!(" {live} "));
    }
    let skipped = app.ctx.run.accounting.skipped_total();
    if skipped > 0 {
        let s = if skipped == 1 { "" } else { "s" };
        right.push_str(&format!(" {skipped} input line{s} skipped "));
    }
    let (back, fwd) = app.history_depth();
    if back + fwd > 0 {
        right.push_str(&format!(" ◀{back} ▶{fwd} "));
    }
    let left: Vec<Span> = if let Some(m) = &app.message {
        vec![Span::styled(format!(" {m}"), theme.message)]
    } else if app.mode() == Mode::Filter {
        let mut spans = vec![Span::raw(" type to filter")];
        for b in app.ctx.keymap.mode_bindings(Mode::Filter) {
            if let (Some(hint), Some(key)) = (&b.hint, b.key_names.first()) {
                spans.push(Span::raw(" · "));
                spans.push(Span::styled(key.clone(), theme.highlight));
                spans.push(Span::raw(format!(" {hint}")));
            }
        }
        spans
    } else {
        let scope = match app.view {
            views::ViewKind::Endpoints => keymap::PaneScope::Endpoints,
            views::ViewKind::Tests => app.panes.focus.scope(),
        };
        let keymap = &app.ctx.keymap;
        let mut spans = vec![Span::raw(" ")];
        let room = (area.width as usize).saturating_sub(right.chars().count() + 1);
        let mut used = 1;
        // Help first: at 80 columns not every hint fits, and `?` lists them all.
        // `?`, `/`, `y` and `q` first: they must fit even at 80 columns.
        const FIRST: [Action; 4] = [
            Action::Help,
            Action::Search,
            Action::CopyBacktrace,
            Action::Quit,
        ];
        let hints = FIRST
            .iter()
            .filter_map(|a| keymap.hints(scope).find(|b| b.action == *a))
            .chain(keymap.hints(scope).filter(|b| !FIRST.contains(&b.action)));
        for b in hints {
            let key = b.key_names.first().map(String::as_str).unwrap_or("?");
            let label = format!(" {}  ", b.hint.as_deref().unwrap_or(""));
            // Only whole hints: a cut one reads as a different key.
            let w = key.chars().count() + label.chars().count();
            if used + w > room {
                break;
            }
            used += w;
            spans.push(Span::styled(key.to_string(), theme.highlight));
            spans.push(Span::raw(label));
        }
        spans
    };
    let right_w = right.chars().count() as u16;
    let [l, r] = Layout::horizontal([Constraint::Min(1), Constraint::Length(right_w)]).areas(area);
    f.render_widget(Paragraph::new(Line::from(left)).style(theme.status), l);
    f.render_widget(Paragraph::new(right).style(theme.status), r);
}

/// Builds the explorer's state for `run` and draws one frame on a `TestBackend` (for
/// benchmarks and tests).
pub fn first_frame(
    run: crate::run::Run,
    show_all: bool,
    width: u16,
    height: u16,
) -> (App, Terminal<TestBackend>) {
    let mut app = App::for_test(run, show_all);
    let mut terminal = match Terminal::new(TestBackend::new(width, height)) {
        Ok(t) => t,
        Err(e) => match e {},
    };
    render(&mut app, &mut terminal);
    (app, terminal)
}

/// Draws one frame of `app` on `terminal`.
pub fn render(app: &mut App, terminal: &mut Terminal<TestBackend>) {
    // TestBackend cannot fail.
    let _ = terminal.draw(|f| draw(f, app));
}

/// Applies one key to `app` and redraws (for benchmarks and tests).
pub fn press(app: &mut App, terminal: &mut Terminal<TestBackend>, key: KeyEvent) {
    app.handle_key(key);
    render(app, terminal);
}

/// Types `seq` into `app`, redrawing after each key (for tests): space-separated parts, where
/// `Enter`, `Esc`, `Tab` and `Space` are those keys and any other part is typed character by
/// character.
pub fn press_keys(app: &mut App, terminal: &mut Terminal<TestBackend>, seq: &str) {
    use crossterm::event::{KeyCode, KeyModifiers};
    for part in seq.split(' ').filter(|p| !p.is_empty()) {
        let code = match part {
            "Enter" => KeyCode::Enter,
            "Esc" => KeyCode::Esc,
            "Tab" => KeyCode::Tab,
            "Space" => KeyCode::Char(' '),
            typed => {
                for c in typed.chars() {
                    press(
                        app,
                        terminal,
                        KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE),
                    );
                }
                continue;
            }
        };
        press(app, terminal, KeyEvent::new(code, KeyModifiers::NONE));
    }
}

/// Opens the explorer on a loaded run; returns when the user quits. Restores the terminal
/// on panic, Ctrl-c, SIGTERM, SIGHUP.
pub fn explore(run: crate::run::Run, opts: ExploreOptions) -> anyhow::Result<()> {
    if run.requests.len() >= DERIVE_OFF_LOOP_FROM {
        // Its index, latencies and Endpoints view take a while to build (160 ms at 430k
        // requests, most of a second at 5M): the explorer opens at once and builds them off
        // the event loop, as for `explore RUN.json`, so no key waits for them.
        let feed = live::Feed::reading("the run".into(), 0, move || Ok(run));
        return explore_live(crate::run::Run::default(), opts, Some(feed));
    }
    explore_live(run, opts, None)
}

/// From how many requests [`explore`] builds what the views derive from a run off the event
/// loop; a smaller run is shown at once, without an empty first frame.
const DERIVE_OFF_LOOP_FROM: usize = 50_000;

/// [`explore`] of a run still being read: `feed` brings newer snapshots of it (see [`live`]).
/// With `--follow -o RUN.json`, the run is written when the explorer quits.
pub fn explore_live(
    run: crate::run::Run,
    opts: ExploreOptions,
    mut feed: Option<live::Feed>,
) -> anyhow::Result<()> {
    // Everything that can fail on bad input happens before the terminal is taken over.
    let keymap = Keymap::load(opts.keymap_path.as_deref())?;
    let clipboard = clipboard::Clipboard::from_env(opts.clipboard);
    let mut app = App::new(
        run,
        keymap,
        clipboard,
        AppOptions {
            show_all: opts.show_all,
            baseline: opts.baseline,
        },
    );

    // SIGTERM, SIGHUP (the terminal went away) and SIGINT: restore the terminal and exit
    // from a watcher thread. Setting a flag for the event loop is not enough: after a
    // hangup crossterm can spin on end-of-file inside `poll` and never return to look.
    let mut signals = signal_hook::iterator::Signals::new([
        signal_hook::consts::SIGTERM,
        signal_hook::consts::SIGHUP,
        signal_hook::consts::SIGINT,
    ])?;
    let signal_handle = signals.handle();
    let mouse = opts.mouse;
    let watcher = std::thread::spawn(move || {
        if let Some(sig) = signals.forever().next() {
            if mouse {
                let _ =
                    crossterm::execute!(std::io::stdout(), crossterm::event::DisableMouseCapture);
            }
            ratatui::restore();
            std::process::exit(128 + sig);
        }
    });
    // ratatui::init installs a panic hook that restores the terminal first.
    let mut terminal = ratatui::init();
    if opts.mouse {
        let _ = crossterm::execute!(std::io::stdout(), crossterm::event::EnableMouseCapture);
    }
    let result = event_loop(&mut terminal, &mut app, feed.as_mut());
    if opts.mouse {
        let _ = crossterm::execute!(std::io::stdout(), crossterm::event::DisableMouseCapture);
    }
    ratatui::restore();
    signal_handle.close();
    let _ = watcher.join();
    result?;
    if let Some(e) = feed.as_ref().and_then(|f| f.failed.clone()) {
        anyhow::bail!("{e}");
    }
    if let Some(feed) = &mut feed
        && let Some(path) = feed.output.clone()
    {
        let run = match feed.finish() {
            Some(run) => run,
            None => std::sync::Arc::unwrap_or_clone(app.ctx.run),
        };
        crate::run::format::write_run(&run, &path)?;
        eprintln!(
            "auditscope: wrote {}: {} requests",
            path.display(),
            run.requests.len()
        );
    }
    Ok(())
}

fn event_loop(
    terminal: &mut ratatui::DefaultTerminal,
    app: &mut App,
    mut feed: Option<&mut live::Feed>,
) -> anyhow::Result<()> {
    if let Some(feed) = feed.as_deref_mut() {
        // Nothing read yet: the empty panes say so until the first snapshot.
        app.ctx.reading = true;
        feed.apply(app);
        if app.quit {
            return Ok(());
        }
    }
    terminal.draw(|f| draw(f, app))?;
    loop {
        // Block until an event, then drain whatever is queued before drawing once:
        // cheap over SSH and with key repeat. While the run is read, look for a newer
        // snapshot every tick.
        let tick = feed
            .as_deref()
            .map_or(Duration::from_secs(60), live::Feed::tick);
        if !event::poll(tick)? {
            if let Some(feed) = feed.as_deref_mut()
                && feed.apply(app)
            {
                if app.quit {
                    return Ok(());
                }
                terminal.draw(|f| draw(f, app))?;
            }
            continue;
        }
        let mut redraw = false;
        loop {
            match event::read()? {
                Event::Key(k) if k.kind != KeyEventKind::Release => {
                    app.handle_key(k);
                    redraw = true;
                }
                Event::Mouse(m) => match m.kind {
                    MouseEventKind::ScrollDown => {
                        app.apply(Action::Down);
                        redraw = true;
                    }
                    MouseEventKind::ScrollUp => {
                        app.apply(Action::Up);
                        redraw = true;
                    }
                    _ => {}
                },
                Event::Resize(..) => redraw = true,
                _ => {}
            }
            if app.quit || !event::poll(Duration::ZERO)? {
                break;
            }
        }
        if app.quit {
            return Ok(());
        }
        if let Some(feed) = feed.as_deref_mut() {
            redraw |= feed.apply(app);
            if app.quit {
                return Ok(());
            }
        }
        if redraw {
            terminal.draw(|f| draw(f, app))?;
        }
    }
}
