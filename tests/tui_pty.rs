//! A real pseudo-terminal test: the explorer runs inside a tmux pane (a private tmux server),
//! keys are sent with `send-keys`, the screen is read with `capture-pane -p`, and the bytes
//! the program wrote to the terminal are captured with `pipe-pane`, OSC 52 included.
//!
//! It runs `auditscope explore RUN.json` when the binary has that command; until the CLI
//! wires it up, it runs [`explore_harness`] (this test binary calling `tui::explore`) in
//! the pane instead. Skipped (with a note) only when tmux is not installed.

use auditscope::tui::testing::sample_run;
use auditscope::tui::{ClipboardMode, ExploreOptions};
use base64::Engine;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

/// Not a test by itself: the program the pty test starts in its tmux pane when the CLI has
/// no `explore` yet. Reads the run and options from the environment.
#[test]
#[ignore]
fn explore_harness() {
    let Ok(path) = std::env::var("AUDITSCOPE_EXPLORE_RUN") else {
        return;
    };
    let run = auditscope::run::format::read_run(Path::new(&path)).expect("read run");
    let clipboard = match std::env::var("AUDITSCOPE_EXPLORE_CLIPBOARD").as_deref() {
        Ok("tmux") => ClipboardMode::Tmux,
        Ok("off") => ClipboardMode::Off,
        Ok("osc52") => ClipboardMode::Osc52,
        _ => ClipboardMode::Auto,
    };
    auditscope::tui::explore(
        run,
        ExploreOptions {
            clipboard,
            mouse: false,
            show_all: false,
            keymap_path: None,
            ..ExploreOptions::default()
        },
    )
    .expect("explore");
}

struct Tmux {
    socket: String,
}

impl Tmux {
    fn cmd(&self, args: &[&str]) -> std::process::Output {
        Command::new("tmux")
            .arg("-L")
            .arg(&self.socket)
            .arg("-f")
            .arg("/dev/null")
            .args(args)
            .env_remove("TMUX")
            .output()
            .expect("run tmux")
    }
    fn capture(&self) -> String {
        String::from_utf8_lossy(&self.cmd(&["capture-pane", "-p", "-t", "t"]).stdout).into_owned()
    }
    fn keys(&self, keys: &[&str]) {
        let mut args = vec!["send-keys", "-t", "t"];
        args.extend_from_slice(keys);
        assert!(self.cmd(&args).status.success());
    }
    fn format(&self, f: &str) -> String {
        String::from_utf8_lossy(&self.cmd(&["display-message", "-p", "-t", "t", f]).stdout)
            .trim()
            .to_string()
    }
    /// Waits until the program in the pane has ended. (Its exit status is not checked:
    /// tmux 3.3 marks the pane dead on end-of-file and often reports no status.)
    fn wait_exit(&self) {
        let start = Instant::now();
        while self.format("#{pane_dead}") != "1" {
            assert!(
                start.elapsed() < Duration::from_secs(20),
                "the explorer did not exit"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
    /// Waits until the screen contains `needle`; returns the screen.
    fn wait_for(&self, needle: &str) -> String {
        let start = Instant::now();
        loop {
            let screen = self.capture();
            if screen.contains(needle) {
                return screen;
            }
            if start.elapsed() > Duration::from_secs(20) {
                panic!("timed out waiting for {needle:?}; screen:\n{screen}");
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = self.cmd(&["kill-server"]);
    }
}

fn have_tmux() -> bool {
    Command::new("tmux")
        .arg("-V")
        .output()
        .is_ok_and(|o| o.status.success())
}

/// The shell command that runs the explorer on `run` with `clipboard`.
fn explorer_command(run: &Path, clipboard: &str) -> String {
    let bin = env!("CARGO_BIN_EXE_auditscope");
    let has_explore = Command::new(bin)
        .args(["explore", "--help"])
        .output()
        .is_ok_and(|o| o.status.success());
    if has_explore {
        format!(
            "exec {bin} explore {} --clipboard {clipboard}",
            run.display()
        )
    } else {
        let me: PathBuf = std::env::current_exe().expect("test exe");
        format!(
            "AUDITSCOPE_EXPLORE_RUN={} AUDITSCOPE_EXPLORE_CLIPBOARD={clipboard} exec {} --ignored --exact explore_harness --nocapture --test-threads=1",
            run.display(),
            me.display()
        )
    }
}

fn start_explorer(dir: &Path, name: &str, clipboard: &str) -> (Tmux, PathBuf) {
    let run_path = dir.join("RUN.json");
    if !run_path.exists() {
        auditscope::run::format::write_run(&sample_run(), &run_path).expect("write run");
    }
    let tmux = Tmux {
        socket: format!("auditscope-test-{}-{name}", std::process::id()),
    };
    let out = dir.join(format!("{name}.bytes"));
    let cmd = explorer_command(&run_path, clipboard);
    let o = tmux.cmd(&[
        "new-session",
        "-d",
        "-x",
        "120",
        "-y",
        "40",
        "-s",
        "t",
        &cmd,
        // Keep the pane after the program ends, to check how it left the terminal.
        ";",
        "set-option",
        "-wg",
        "remain-on-exit",
        "on",
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let o = tmux.cmd(&[
        "pipe-pane",
        "-o",
        "-t",
        "t",
        &format!("cat >> {}", out.display()),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    tmux.wait_for("Tests (3, −1 skipped)");
    (tmux, out)
}

/// The payload of the last OSC 52 sequence in `bytes`, decoded.
fn last_osc52(bytes: &[u8]) -> Option<String> {
    let text = String::from_utf8_lossy(bytes);
    let start = text.rfind("\x1b]52;c;")? + "\x1b]52;c;".len();
    let end = start + text[start..].find("\x1b\\")?;
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(&text[start..end])
        .ok()?;
    String::from_utf8(decoded).ok()
}

const EXPECTED_HEAD: &str = "create /api/v1/namespaces
    k8s.io/kubernetes/vendor/k8s.io/client-go/rest.(*Request).Do()
        _output/local/go/src/k8s.io/kubernetes/vendor/k8s.io/client-go/rest/request.go:805
    k8s.io/kubernetes/vendor/k8s.io/client-go/kubernetes/typed/core/v1.(*namespaces).Create()
";

#[test]
fn search_function_and_copy_in_a_real_terminal() {
    if !have_tmux() {
        eprintln!("note: tmux is not installed; skipping the pseudo-terminal test");
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");

    // OSC 52 straight to the terminal.
    let (tmux, bytes_file) = start_explorer(dir.path(), "osc", "osc52");
    tmux.keys(&["F"]);
    tmux.wait_for("Find a function in every backtrace");
    tmux.keys(&["-l", "CreateTestingNS"]);
    let screen = tmux.wait_for("> CreateTestingNS");
    assert!(
        screen.contains("      2      2  framework.CreateTestingNS()  util.go:351"),
        "{screen}"
    );
    tmux.keys(&["Enter"]);
    let screen = tmux.wait_for("2 requests, 1 endpoint, 2 tests");
    assert!(
        screen.contains("k8s.io/kubernetes/test/e2e/framework.CreateTestingNS(): 2 requests"),
        "{screen}"
    );
    tmux.keys(&["y"]);
    let screen = tmux.wait_for("copied backtrace:");
    let status = screen
        .lines()
        .find(|l| l.contains("copied backtrace:"))
        .unwrap_or_default()
        .trim()
        .to_string();
    // What reached the terminal.
    let start = Instant::now();
    let copied = loop {
        let bytes = std::fs::read(&bytes_file).unwrap_or_default();
        if let Some(text) = last_osc52(&bytes) {
            break text;
        }
        assert!(start.elapsed() < Duration::from_secs(10), "no OSC 52 seen");
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(copied.starts_with(EXPECTED_HEAD), "{copied}");
    assert_eq!(copied.lines().count(), 15, "{copied}");
    assert!(
        status.starts_with(&format!(
            "copied backtrace: {} bytes via OSC 52",
            copied.len()
        )),
        "{status}"
    );
    assert_eq!(tmux.format("#{alternate_on}"), "1");
    tmux.keys(&["q"]);
    tmux.wait_exit();
    // The terminal is back on the main screen.
    assert_eq!(tmux.format("#{alternate_on}"), "0");
    drop(tmux);

    // The tmux route: the text lands in tmux's buffer.
    let (tmux, _) = start_explorer(dir.path(), "buf", "tmux");
    tmux.keys(&["F"]);
    tmux.wait_for("Find a function");
    tmux.keys(&["-l", "CreateTestingNS"]);
    tmux.wait_for("> CreateTestingNS");
    tmux.keys(&["Enter"]);
    tmux.wait_for("2 requests, 1 endpoint, 2 tests");
    tmux.keys(&["y"]);
    let screen = tmux.wait_for("copied backtrace:");
    assert!(screen.contains("bytes via tmux buffer"), "{screen}");
    let buffer = String::from_utf8_lossy(&tmux.cmd(&["show-buffer"]).stdout).into_owned();
    assert_eq!(buffer, copied);
    tmux.keys(&["q"]);
    tmux.wait_exit();
}

#[test]
fn sigterm_and_sighup_restore_the_terminal() {
    if !have_tmux() {
        eprintln!("note: tmux is not installed; skipping the pseudo-terminal test");
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    for (name, signal) in [("term", "-TERM"), ("hup", "-HUP")] {
        let (tmux, _) = start_explorer(dir.path(), name, "off");
        assert_eq!(tmux.format("#{alternate_on}"), "1");
        let pid = tmux.format("#{pane_pid}");
        let killed = Command::new("kill")
            .args([signal, &pid])
            .status()
            .expect("kill");
        assert!(killed.success());
        tmux.wait_exit();
        // The process has ended (not spinning on a dead terminal). It may stay a zombie
        // until tmux reaps it, which counts as ended.
        let state = || {
            std::fs::read_to_string(format!("/proc/{pid}/status"))
                .unwrap_or_default()
                .lines()
                .find(|l| l.starts_with("State:"))
                .map(|l| l.to_string())
        };
        let start = Instant::now();
        while let Some(st) = state().filter(|s| !s.contains("zombie")) {
            assert!(
                start.elapsed() < Duration::from_secs(10),
                "{name}: process {pid} still running: {st}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        // ... and left the alternate screen.
        assert_eq!(tmux.format("#{alternate_on}"), "0", "{name}");
    }
}
