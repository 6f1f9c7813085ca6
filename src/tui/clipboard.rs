//! Copying text to the user's clipboard from a terminal program, possibly over SSH.
//!
//! Routes: OSC 52 written to the terminal; inside tmux, `tmux load-buffer -w -` (tmux drops
//! an application's raw OSC 52 under its default `set-clipboard external`); inside GNU
//! screen, OSC 52 wrapped in DCS chunks. No native clipboard: over SSH it would copy to
//! the wrong machine, and OSC 52 reaches the local one anyway.

use base64::Engine;
use std::io::Write;
use std::process::{Command, Stdio};

/// How the explorer copies (the `--clipboard` option).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum ClipboardMode {
    /// tmux when `$TMUX` is set, DCS-wrapped OSC 52 inside GNU screen, else OSC 52.
    #[default]
    Auto,
    /// Always a plain OSC 52 escape sequence.
    Osc52,
    /// Always `tmux load-buffer -w -`.
    Tmux,
    /// Never copy.
    Off,
}

/// The route a copy takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    Osc52,
    /// OSC 52 inside DCS chunks for GNU screen.
    Screen,
    Tmux,
    Off,
}

impl Route {
    /// How the status line names the route.
    pub fn name(self) -> &'static str {
        match self {
            Route::Osc52 => "OSC 52",
            Route::Screen => "OSC 52 via screen",
            Route::Tmux => "tmux buffer",
            Route::Off => "nothing (clipboard off)",
        }
    }
}

/// Chooses the route from the mode and the environment (`env(name)` returns a variable).
pub fn choose_route(mode: ClipboardMode, env: &dyn Fn(&str) -> Option<String>) -> Route {
    let set = |k: &str| env(k).is_some_and(|v| !v.is_empty());
    match mode {
        ClipboardMode::Off => Route::Off,
        ClipboardMode::Osc52 => Route::Osc52,
        ClipboardMode::Tmux => Route::Tmux,
        ClipboardMode::Auto => {
            if set("TMUX") {
                Route::Tmux
            } else if set("STY") || env("TERM").is_some_and(|t| t.starts_with("screen")) {
                Route::Screen
            } else {
                Route::Osc52
            }
        }
    }
}

/// Writes `ESC ] 52 ; c ; <base64> ESC \`.
pub fn write_osc52(w: &mut impl Write, text: &str) -> std::io::Result<()> {
    let b64 = base64::engine::general_purpose::STANDARD.encode(text);
    write!(w, "\x1b]52;c;{b64}\x1b\\")?;
    w.flush()
}

/// Longest DCS string GNU screen accepts.
pub const SCREEN_CHUNK: usize = 768;

/// Writes OSC 52 for GNU screen: the sequence (terminated by BEL, since `ESC \` would end
/// the DCS) cut into chunks of at most [`SCREEN_CHUNK`] bytes, each as `ESC P <chunk> ESC \`.
pub fn write_osc52_screen(w: &mut impl Write, text: &str) -> std::io::Result<()> {
    let b64 = base64::engine::general_purpose::STANDARD.encode(text);
    let seq = format!("\x1b]52;c;{b64}\x07");
    // The sequence is ASCII, so byte chunks are valid UTF-8.
    for chunk in seq.as_bytes().chunks(SCREEN_CHUNK) {
        w.write_all(b"\x1bP")?;
        w.write_all(chunk)?;
        w.write_all(b"\x1b\\")?;
    }
    w.flush()
}

/// Hands `text` to `tmux load-buffer -w -`.
pub fn tmux_load_buffer(text: &str) -> Result<(), String> {
    let mut child = Command::new("tmux")
        .args(["load-buffer", "-w", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot run tmux: {e}"))?;
    if let Some(mut stdin) = child.stdin.take() {
        stdin
            .write_all(text.as_bytes())
            .map_err(|e| format!("cannot write to tmux: {e}"))?;
    }
    let out = child
        .wait_with_output()
        .map_err(|e| format!("tmux failed: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "tmux load-buffer failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

/// Where OSC 52 bytes go.
#[derive(Debug)]
pub enum Sink {
    /// The real terminal.
    Stdout,
    /// A buffer (tests).
    Buffer(Vec<u8>),
}

/// The clipboard in use: a route and where terminal bytes go.
#[derive(Debug)]
pub struct Clipboard {
    pub route: Route,
    pub sink: Sink,
}

impl Clipboard {
    /// The clipboard for `mode` in this process's environment, writing to stdout.
    pub fn from_env(mode: ClipboardMode) -> Clipboard {
        Clipboard {
            route: choose_route(mode, &|k| std::env::var(k).ok()),
            sink: Sink::Stdout,
        }
    }

    /// Copies `text`; returns the status-line report.
    pub fn copy(&mut self, what: &str, text: &str) -> String {
        let result = match (self.route, &mut self.sink) {
            (Route::Off, _) => return format!("{what}: not copied (clipboard off)"),
            (Route::Tmux, _) => tmux_load_buffer(text),
            (Route::Osc52, Sink::Stdout) => {
                write_osc52(&mut std::io::stdout().lock(), text).map_err(|e| e.to_string())
            }
            (Route::Osc52, Sink::Buffer(b)) => write_osc52(b, text).map_err(|e| e.to_string()),
            (Route::Screen, Sink::Stdout) => {
                write_osc52_screen(&mut std::io::stdout().lock(), text).map_err(|e| e.to_string())
            }
            (Route::Screen, Sink::Buffer(b)) => {
                write_osc52_screen(b, text).map_err(|e| e.to_string())
            }
        };
        match result {
            Ok(()) => format!(
                "copied {what}: {} bytes via {}",
                text.len(),
                self.route.name()
            ),
            Err(e) => format!("copy failed ({}): {e}", self.route.name()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(vars: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
        move |k| {
            vars.iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| v.to_string())
        }
    }

    #[test]
    fn route_is_a_function_of_env() {
        assert_eq!(choose_route(ClipboardMode::Auto, &env(&[])), Route::Osc52);
        assert_eq!(
            choose_route(
                ClipboardMode::Auto,
                &env(&[("TMUX", "/tmp/tmux-0/default,1,0")])
            ),
            Route::Tmux
        );
        assert_eq!(
            choose_route(ClipboardMode::Auto, &env(&[("STY", "123.pts-0.host")])),
            Route::Screen
        );
        assert_eq!(
            choose_route(ClipboardMode::Auto, &env(&[("TERM", "screen-256color")])),
            Route::Screen
        );
        assert_eq!(
            choose_route(
                ClipboardMode::Auto,
                &env(&[("TMUX", ""), ("TERM", "xterm")])
            ),
            Route::Osc52
        );
        assert_eq!(
            choose_route(ClipboardMode::Osc52, &env(&[("TMUX", "x")])),
            Route::Osc52
        );
        assert_eq!(choose_route(ClipboardMode::Off, &env(&[])), Route::Off);
        assert_eq!(choose_route(ClipboardMode::Tmux, &env(&[])), Route::Tmux);
    }

    #[test]
    fn osc52_exact_bytes() {
        let mut out = Vec::new();
        write_osc52(&mut out, "hello").unwrap();
        assert_eq!(out, b"\x1b]52;c;aGVsbG8=\x1b\\");
    }

    #[test]
    fn screen_chunks_at_768_bytes() {
        let mut out = Vec::new();
        write_osc52_screen(&mut out, "hi").unwrap();
        assert_eq!(out, b"\x1bP\x1b]52;c;aGk=\x07\x1b\\");

        // 1200 bytes of text -> 1600 base64 chars; with the 7-byte prefix and BEL the
        // sequence is 1608 bytes: chunks of 768, 768, 72.
        let text = "x".repeat(1200);
        let mut out = Vec::new();
        write_osc52_screen(&mut out, &text).unwrap();
        let s = String::from_utf8(out).unwrap();
        let chunks: Vec<&str> = s
            .split("\x1b\\")
            .filter(|c| !c.is_empty())
            .map(|c| c.strip_prefix("\x1bP").unwrap())
            .collect();
        assert_eq!(
            chunks.iter().map(|c| c.len()).collect::<Vec<_>>(),
            vec![768, 768, 72]
        );
        let joined: String = chunks.concat();
        let b64 = base64::engine::general_purpose::STANDARD.encode(&text);
        assert_eq!(joined, format!("\x1b]52;c;{b64}\x07"));
    }

    #[test]
    fn buffer_sink_reports_bytes_and_route() {
        let mut c = Clipboard {
            route: Route::Osc52,
            sink: Sink::Buffer(Vec::new()),
        };
        assert_eq!(
            c.copy("spec name", "abc"),
            "copied spec name: 3 bytes via OSC 52"
        );
        match &c.sink {
            Sink::Buffer(b) => assert_eq!(b, b"\x1b]52;c;YWJj\x1b\\"),
            Sink::Stdout => unreachable!(),
        }
        c.route = Route::Off;
        assert_eq!(c.copy("x", "abc"), "x: not copied (clipboard off)");
    }
}
