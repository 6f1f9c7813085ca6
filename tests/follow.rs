//! Following logs that are still being written (issue 15): `correlate --follow` rewrites
//! RUN.json as events with new spec names are appended, waits for a line cut mid-write,
//! picks up a rotated log and writes the run on SIGINT; the explorer's panes show what a
//! followed log gains; and the explorer loading raw inputs ends with exactly the run
//! `correlate` makes of them.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

use auditscope::correlate::live::{DEFAULT_EVERY, spawn_follow, spawn_load};
use auditscope::correlate::{self, Inputs, Options};
use auditscope::run::Run;
use auditscope::run::format::read_run;
use auditscope::tui::App;
use auditscope::tui::live::Feed;
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

/// One audit event of the e2e client of spec `spec`, as the API server logs it.
fn event(id: &str, spec: &str, second: u32) -> String {
    format!(
        concat!(
            r#"{{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","auditID":"{id}","#,
            r#""stage":"ResponseComplete","requestURI":"/api/v1/namespaces/e2e/pods?limit=500","verb":"list","#,
            r#""user":{{"username":"e2e","groups":["system:masters"]}},"sourceIPs":["10.0.0.1"],"#,
            r#""userAgent":"e2e.test/v1.34.0 (linux/amd64) kubernetes/abc -- [sig-node] {spec}","#,
            r#""responseStatus":{{"code":200}},"requestReceivedTimestamp":"2026-01-01T00:00:{s:02}.000000Z","#,
            r#""stageTimestamp":"2026-01-01T00:00:{s:02}.100000Z"}}"#,
            "\n"
        ),
        id = id,
        spec = spec,
        s = second
    )
}

fn append(path: &Path, text: &str) {
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .unwrap();
    f.write_all(text.as_bytes()).unwrap();
    f.flush().unwrap();
}

fn spec_names(run: &Run) -> Vec<String> {
    let mut names: Vec<String> = run
        .specs
        .iter()
        .map(|s| run.str(s.name).to_string())
        .collect();
    names.sort();
    names
}

/// Waits until RUN.json holds `want` specs (it is written atomically, so it is always whole).
fn wait_for_specs(path: &Path, want: usize, child: &mut Child) -> Run {
    let start = Instant::now();
    loop {
        if let Ok(run) = read_run(path)
            && run.specs.len() >= want
        {
            return run;
        }
        if let Ok(Some(status)) = child.try_wait() {
            panic!("correlate --follow ended early: {status}");
        }
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "RUN.json never had {want} specs"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Sends SIGINT to a `correlate --follow`, which must then end cleanly; its stderr.
fn interrupt(child: Child) -> String {
    let status = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let output = child.wait_with_output().unwrap();
    assert!(output.status.success(), "{output:?}");
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[test]
fn correlate_follow_sees_appended_specs_cut_lines_and_rotation() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("audit.log");
    let out = dir.path().join("RUN.json");
    append(&log, &event("a1", "Pods should A", 1));
    append(&log, &event("a2", "Pods should A", 2));
    let mut child = Command::new(env!("CARGO_BIN_EXE_auditscope"))
        .args(["correlate", "--follow", "--interval", "0.1", "--audit"])
        .arg(&log)
        .arg("-o")
        .arg(&out)
        .stdin(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let run = wait_for_specs(&out, 1, &mut child);
    assert_eq!(spec_names(&run), vec!["[sig-node] Pods should A"]);
    assert_eq!(run.requests.len(), 2);

    // A line cut in the middle of a write is waited for, not counted as bad.
    let b1 = event("b1", "Pods should B", 3);
    let (head, tail) = b1.split_at(b1.len() / 2);
    append(&log, head);
    std::thread::sleep(Duration::from_millis(600));
    append(&log, tail);
    append(&log, &event("b2", "Pods should B", 4));
    let run = wait_for_specs(&out, 2, &mut child);
    assert_eq!(
        spec_names(&run),
        vec!["[sig-node] Pods should A", "[sig-node] Pods should B"]
    );
    assert_eq!(run.accounting.skipped_total(), 0);

    // Rotated: renamed away and created again.
    std::fs::rename(&log, dir.path().join("audit.log.1")).unwrap();
    append(&log, &event("c1", "Pods should C", 5));
    let run = wait_for_specs(&out, 3, &mut child);
    assert_eq!(spec_names(&run).len(), 3);

    // SIGINT writes the run a last time and ends cleanly.
    append(&log, &event("c2", "Pods should C", 6));
    std::thread::sleep(Duration::from_millis(300));
    let stderr = interrupt(child);
    assert!(
        stderr.contains("audit.log: a new file, reading it from the start"),
        "{stderr}"
    );
    assert!(stderr.contains("6 requests"), "{stderr}");
    let run = read_run(&out).unwrap();
    assert_eq!(run.requests.len(), 6);
    assert_eq!(run.accounting.lines, 6);
    assert_eq!(run.accounting.skipped_total(), 0);
    assert_eq!(
        spec_names(&run),
        vec![
            "[sig-node] Pods should A",
            "[sig-node] Pods should B",
            "[sig-node] Pods should C"
        ]
    );
    // The old file and the new one are two inputs.
    assert_eq!(run.inputs.len(), 2);
}

fn screen_text(app: &mut App) -> String {
    let mut terminal = ratatui::Terminal::new(ratatui::backend::TestBackend::new(160, 40)).unwrap();
    auditscope::tui::render(app, &mut terminal);
    let buffer = terminal.backend().buffer();
    let mut text = String::new();
    for y in 0..buffer.area.height {
        for x in 0..buffer.area.width {
            text.push_str(buffer[(x, y)].symbol());
        }
        text.push('\n');
    }
    text
}

/// Applies the feed's updates until `check` holds for the screen.
fn wait_for_screen(feed: &mut Feed, app: &mut App, check: impl Fn(&str) -> bool) -> String {
    let start = Instant::now();
    loop {
        feed.apply(app);
        let text = screen_text(app);
        if check(&text) {
            return text;
        }
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "the screen never showed it:\n{text}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn explore_follow_shows_new_specs_in_the_panes() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("audit.log");
    append(&log, &event("a1", "Pods should A", 1));
    let stop = Arc::new(AtomicBool::new(false));
    let rx = spawn_follow(
        Inputs {
            audit: vec![log.display().to_string()],
            ..Inputs::default()
        },
        Options::default(),
        Duration::from_millis(100),
        Arc::clone(&stop),
    )
    .unwrap();
    let mut feed = Feed::new(rx, Some(stop));
    let mut app = App::for_test(Run::default(), false);
    let text = wait_for_screen(&mut feed, &mut app, |t| t.contains("Pods should A"));
    assert!(text.contains("live"), "{text}");

    append(&log, &event("b1", "Pods should B", 2));
    let started = Instant::now();
    wait_for_screen(&mut feed, &mut app, |t| t.contains("Pods should B"));
    // New specs appear within a second (generously: the machine may be loaded).
    assert!(started.elapsed() < Duration::from_secs(5));

    std::fs::rename(&log, dir.path().join("audit.log.1")).unwrap();
    append(&log, &event("c1", "Pods should Zeta", 3));
    let text = wait_for_screen(&mut feed, &mut app, |t| t.contains("Pods should Zeta"));
    assert!(
        text.contains("Pods should A") && text.contains("Pods should B"),
        "{text}"
    );
    let run = feed.finish().expect("a final run");
    assert_eq!(run.requests.len(), 3);
}

fn fixture(name: &str) -> String {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
        .display()
        .to_string()
}

#[test]
fn loading_ends_with_the_run_correlate_makes() {
    let inputs = Inputs {
        audit: vec![fixture("apisnoop-example-user-agent.log")],
        e2e_logs: vec![fixture("vcluster-v1.34-e2e.log")],
        ..Inputs::default()
    };
    let opts = Options::default();
    let whole = correlate::correlate(&inputs, &opts).unwrap();
    let resolved = correlate::resolve(&inputs, &opts).unwrap();
    let rx = spawn_load(resolved, opts, DEFAULT_EVERY);
    let mut feed = Feed::new(rx, None);
    let mut app = App::for_test(Run::default(), false);
    let start = Instant::now();
    while !feed.ended {
        feed.apply(&mut app);
        assert!(start.elapsed() < Duration::from_secs(60));
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(feed.status.complete, "{:?}", feed.status);
    assert!(
        feed.status.line().starts_with("complete:"),
        "{}",
        feed.status.line()
    );
    // The same run, and the same screen as `explore RUN.json`.
    let mut loaded = App::for_test((*app.ctx.run).clone(), false);
    let mut reference = App::for_test(whole.clone(), false);
    assert_eq!(app.ctx.run.requests, whole.requests);
    assert_eq!(app.ctx.run.specs, whole.specs);
    assert_eq!(app.ctx.run.accounting, whole.accounting);
    assert_eq!(screen_text(&mut loaded), screen_text(&mut reference));
    app.live = None;
    assert_eq!(screen_text(&mut app), screen_text(&mut reference));
}

/// Applies `feed` to `app` until the reading thread ends.
fn apply_until_ended(feed: &mut Feed, app: &mut App) {
    let start = Instant::now();
    while !feed.ended {
        feed.apply(app);
        assert!(start.elapsed() < Duration::from_secs(60));
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// `explore RUN.json` reads the file on a thread: the explorer shows the run when it is read,
/// the same screens as a run read before (the Endpoints view, built off the event loop's
/// thread, too), and a damaged file ends the explorer with the reader's error.
#[test]
fn reading_a_run_file_shows_it_whole() {
    let inputs = Inputs {
        audit: vec![fixture("apisnoop-example-user-agent.log")],
        e2e_logs: vec![fixture("vcluster-v1.34-e2e.log")],
        ..Inputs::default()
    };
    let whole = correlate::correlate(&inputs, &Options::default()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("RUN.json");
    auditscope::run::format::write_run(&whole, &path).unwrap();
    let bytes = std::fs::metadata(&path).unwrap().len();
    let read_path = path.clone();
    let mut feed = Feed::reading("RUN.json".into(), bytes, move || {
        read_run(&read_path).map_err(|e| e.to_string())
    });
    let mut app = App::for_test(Run::default(), false);
    // Until it is read, the status line says so (this file is read too fast to see it).
    let reading = auditscope::correlate::live::LiveStatus {
        reading: Some("RUN.json".into()),
        total: Some(803_000_000),
        ..Default::default()
    };
    assert_eq!(reading.line(), "reading RUN.json (803 MB)…");
    apply_until_ended(&mut feed, &mut app);
    assert!(feed.failed.is_none());
    assert_eq!(app.live, None);
    assert_eq!(app.ctx.run.requests, whole.requests);
    let mut reference = App::for_test(whole, false);
    assert_eq!(screen_text(&mut app), screen_text(&mut reference));
    for app in [&mut app, &mut reference] {
        app.handle_key(KeyEvent::new(KeyCode::Char('2'), KeyModifiers::NONE));
    }
    assert_eq!(screen_text(&mut app), screen_text(&mut reference));

    // Cut in the middle: the reader's error, and the explorer closes.
    let text = std::fs::read(&path).unwrap();
    std::fs::write(&path, &text[..text.len() / 2]).unwrap();
    let read_path = path.clone();
    let mut feed = Feed::reading("RUN.json".into(), bytes, move || {
        read_run(&read_path).map_err(|e| e.to_string())
    });
    let mut app = App::for_test(Run::default(), false);
    apply_until_ended(&mut feed, &mut app);
    let error = feed.failed.clone().unwrap_or_default();
    assert!(error.starts_with(&path.display().to_string()), "{error}");
    assert!(app.quit);
}

/// A run already read, with a baseline (`explore NEW --baseline OLD` of a large run): handed to
/// the explorer through a feed, so its index and Endpoints view are built off the event loop;
/// the screens are those of the run shown at once, baseline marks included.
#[test]
fn a_read_run_with_a_baseline_shows_the_same_screens_through_a_feed() {
    let run = auditscope::cli::demo_run().unwrap();
    let diff = auditscope::tui::baseline_diff(
        &run,
        "demo".into(),
        &[fixture("demo-2018-RUN.json.gz")],
        None,
    )
    .unwrap();
    let whole = run.clone();
    let mut feed = Feed::reading("the run".into(), 0, move || Ok(whole));
    let mut app = App::for_test_with_baseline(Run::default(), diff.clone());
    apply_until_ended(&mut feed, &mut app);
    assert!(feed.failed.is_none());
    assert_eq!(app.live, None);
    let mut reference = App::for_test_with_baseline(run, diff);
    for keys in ["", "2", "f"] {
        for app in [&mut app, &mut reference] {
            if let Some(c) = keys.chars().next() {
                app.handle_key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE));
            }
        }
        assert_eq!(
            screen_text(&mut app),
            screen_text(&mut reference),
            "after {keys:?}"
        );
    }
}

/// A ginkgo v2 spec block with one step, at `hh:mm:ss` on 2018-06-05.
fn spec_block(name: &str, it: &str, at: &str, step: &str) -> String {
    format!(
        "------------------------------\n{name}\n  {it}\n  test/e2e/x.go:1\n\
         [It] {it}\n  test/e2e/x.go:1\nSTEP: {step} 06/05/18 {at}.000\n\
         Jun  5 {at}.500: INFO: done\n"
    )
}

/// An audit event without a spec in its user agent (attributed by time), at `hh:mm:ss`.
fn plain_event(id: &str, at: &str) -> String {
    format!(
        concat!(
            r#"{{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","auditID":"{id}","#,
            r#""stage":"ResponseComplete","requestURI":"/api/v1/namespaces/x/pods","verb":"list","#,
            r#""user":{{"username":"kubectl"}},"userAgent":"kubectl/v1.34.0","#,
            r#""responseStatus":{{"code":200}},"requestReceivedTimestamp":"2018-06-05T{at}.200000Z","#,
            r#""stageTimestamp":"2018-06-05T{at}.300000Z"}}"#,
            "\n"
        ),
        id = id,
        at = at
    )
}

#[test]
fn followed_e2e_log_brings_new_specs_steps_and_windows() {
    let dir = tempfile::tempdir().unwrap();
    let audit = dir.path().join("audit.log");
    let e2e = dir.path().join("e2e.log");
    append(
        &e2e,
        "Running Suite: Kubernetes e2e suite - /usr/local/bin\nWill run 2 of 2 specs\n",
    );
    append(
        &e2e,
        &spec_block("[sig-node] Pods", "should A", "03:31:45", "making A"),
    );
    append(&audit, &plain_event("p1", "03:31:45"));
    let inputs = Inputs {
        audit: vec![audit.display().to_string()],
        e2e_logs: vec![e2e.display().to_string()],
        ..Inputs::default()
    };
    let mut follower =
        auditscope::correlate::live::Follower::new(&inputs, &Options::default()).expect("follower");
    while follower.poll() {}
    let run = follower.snapshot().expect("snapshot");
    assert_eq!(spec_names(&run), vec!["[sig-node] Pods should A"]);
    assert_eq!(run.specs[0].steps.len(), 1);
    assert_eq!(run.requests.len(), 1);
    assert_eq!(
        run.requests[0].spec,
        Some(auditscope::run::SpecId::from_index(0))
    );

    // The suite goes on: a new spec with its step, and a request in its window.
    std::thread::sleep(Duration::from_millis(20));
    append(
        &e2e,
        &spec_block("[sig-node] Pods", "should B", "03:32:10", "making B"),
    );
    append(&audit, &plain_event("p2", "03:32:10"));
    while follower.poll() {}
    let run = follower.snapshot().expect("snapshot");
    assert_eq!(
        spec_names(&run),
        vec!["[sig-node] Pods should A", "[sig-node] Pods should B"]
    );
    let b = run
        .specs
        .iter()
        .position(|s| run.str(s.name).ends_with("should B"))
        .unwrap();
    assert_eq!(run.str(run.specs[b].steps[0].text), "making B");
    let p2 = run.requests.iter().find(|r| &*r.audit_id == "p2").unwrap();
    assert_eq!(p2.spec, Some(auditscope::run::SpecId::from_index(b)));
}

/// What cannot be followed is refused at the start with a one-line error and exit status 2,
/// before any screen: stdin, and a log that is one JSON document (an array, or a
/// pretty-printed Event), which is whole only at its end. Without `--follow` the same
/// document is read.
#[test]
fn stdin_and_json_documents_are_refused_when_followed() {
    let dir = tempfile::tempdir().unwrap();
    let one = event("d1", "Pods should A", 1);
    let two = event("d2", "Pods should A", 2);
    let array = dir.path().join("array.json");
    // As `gcloud logging read --format=json` prints: pretty-printed.
    let value = |e: &str| serde_json::from_str::<serde_json::Value>(e).unwrap();
    let both = serde_json::Value::Array(vec![value(&one), value(&two)]);
    std::fs::write(&array, serde_json::to_string_pretty(&both).unwrap()).unwrap();
    let pretty = dir.path().join("pretty.json");
    std::fs::write(&pretty, serde_json::to_string_pretty(&value(&one)).unwrap()).unwrap();
    let out = dir.path().join("RUN.json");
    let run = |args: &[&str]| {
        let o = Command::new(env!("CARGO_BIN_EXE_auditscope"))
            .args(args)
            .arg("-o")
            .arg(&out)
            .stdin(Stdio::null())
            .output()
            .unwrap();
        (
            o.status.code(),
            String::from_utf8_lossy(&o.stderr).into_owned(),
        )
    };
    let (a, p) = (array.to_str().unwrap(), pretty.to_str().unwrap());
    for command in ["correlate", "explore"] {
        let (code, err) = run(&[command, "--follow", "--audit", "-"]);
        assert_eq!(code, Some(2), "{err}");
        assert_eq!(
            err,
            "auditscope: --follow reads files: stdin (-) cannot be followed\n"
        );
        let (code, err) = run(&[command, "--follow", "--audit", a]);
        assert_eq!(code, Some(2), "{err}");
        assert_eq!(
            err,
            format!(
                "auditscope: {a}: is a JSON array, whole only at its end: it cannot be followed \
                 (--follow reads JSON lines); read it without --follow\n"
            )
        );
        let (code, err) = run(&[command, "--follow", "--audit", p]);
        assert_eq!(code, Some(2), "{err}");
        assert!(
            err.contains(&format!("{p}: is a pretty-printed JSON document")),
            "{err}"
        );
        assert_eq!(err.lines().count(), 1, "{err}");
    }
    // Read whole, the array is two requests.
    let (code, err) = run(&["correlate", "--audit", a]);
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(read_run(&out).unwrap().requests.len(), 2);
}

/// A followed folder is walked again: a log rotated into `audit-….log` is not read twice, the
/// new `audit.log` is read from its start, and a log that appears later is followed too.
#[test]
fn a_followed_folder_takes_new_logs_once() {
    let dir = tempfile::tempdir().unwrap();
    let logs = dir.path().join("logs");
    std::fs::create_dir(&logs).unwrap();
    let log = logs.join("audit.log");
    let out = dir.path().join("RUN.json");
    append(&log, &event("a1", "Pods should A", 1));
    let mut child = Command::new(env!("CARGO_BIN_EXE_auditscope"))
        .args(["correlate", "--follow", "--interval", "0.1"])
        .arg(&logs)
        .arg("-o")
        .arg(&out)
        .stdin(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_for_specs(&out, 1, &mut child);

    // Rotated the way the API server does it: renamed with a time, a new audit.log.
    append(&log, &event("a2", "Pods should A", 2));
    std::fs::rename(&log, logs.join("audit-2026-01-01T00-00-02.000.log")).unwrap();
    append(&log, &event("b1", "Pods should B", 3));
    wait_for_specs(&out, 2, &mut child);
    // Another log appears in the folder.
    append(&logs.join("audit-2.log"), &event("c1", "Pods should C", 4));
    let run = wait_for_specs(&out, 3, &mut child);
    assert_eq!(spec_names(&run).len(), 3);
    // Walked again a few times more: nothing is read twice.
    std::thread::sleep(Duration::from_millis(2500));
    let stderr = interrupt(child);
    assert!(
        stderr.contains("audit-2.log: a new audit log, following it"),
        "{stderr}"
    );
    let run = read_run(&out).unwrap();
    assert_eq!(run.requests.len(), 4, "{stderr}");
    assert_eq!(run.accounting.lines, 4);
    assert_eq!(run.accounting.skipped_total(), 0);
    assert_eq!(
        spec_names(&run),
        vec![
            "[sig-node] Pods should A",
            "[sig-node] Pods should B",
            "[sig-node] Pods should C"
        ]
    );
}
