//! Key bindings as data: one table drives dispatch, the help overlay and the status-line hints.
//!
//! The defaults live in `assets/keymap.toml` (embedded); a user file in the same format
//! replaces the keys of the actions it names.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use serde::Deserialize;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// The embedded default keymap.
pub const DEFAULT_KEYMAP: &str = include_str!("../../assets/keymap.toml");

/// Everything a key can do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    /// The `down` action (see `assets/keymap.toml`).
    Down,
    /// The `up` action (see `assets/keymap.toml`).
    Up,
    /// The `top` action (see `assets/keymap.toml`).
    Top,
    /// The `bottom` action (see `assets/keymap.toml`).
    Bottom,
    /// The `half_page_down` action (see `assets/keymap.toml`).
    HalfPageDown,
    /// The `half_page_up` action (see `assets/keymap.toml`).
    HalfPageUp,
    /// The `next_pane` action (see `assets/keymap.toml`).
    NextPane,
    /// The `prev_pane` action (see `assets/keymap.toml`).
    PrevPane,
    /// The `open` action (see `assets/keymap.toml`).
    Open,
    /// The `expand` action (see `assets/keymap.toml`).
    Expand,
    /// The `collapse` action (see `assets/keymap.toml`).
    Collapse,
    /// The `expand_subtree` action (see `assets/keymap.toml`).
    ExpandSubtree,
    /// The `expand_all` action (see `assets/keymap.toml`).
    ExpandAll,
    /// The `collapse_all` action (see `assets/keymap.toml`).
    CollapseAll,
    /// The `toggle_orientation` action (see `assets/keymap.toml`).
    ToggleOrientation,
    /// The `toggle_fold` action (see `assets/keymap.toml`).
    ToggleFold,
    /// The `cycle_sort` action (see `assets/keymap.toml`).
    CycleSort,
    /// The `toggle_all` action (see `assets/keymap.toml`).
    ToggleAll,
    /// The `endpoint_tests` action (see `assets/keymap.toml`).
    EndpointTests,
    /// The `endpoint_frames` action (see `assets/keymap.toml`).
    EndpointFrames,
    /// The `frame_uses` action (see `assets/keymap.toml`).
    FrameUses,
    /// The `back` action (see `assets/keymap.toml`).
    Back,
    /// The `forward` action (see `assets/keymap.toml`).
    Forward,
    /// The `search` action (see `assets/keymap.toml`).
    Search,
    /// The `next_match` action (see `assets/keymap.toml`).
    NextMatch,
    /// The `prev_match` action (see `assets/keymap.toml`).
    PrevMatch,
    /// The `frame_search` action (see `assets/keymap.toml`).
    FrameSearch,
    /// The `copy_backtrace` action (see `assets/keymap.toml`).
    CopyBacktrace,
    /// The `copy_spec` action (see `assets/keymap.toml`).
    CopySpec,
    /// The `copy_request` action (see `assets/keymap.toml`).
    CopyRequest,
    /// The `help` action (see `assets/keymap.toml`).
    Help,
    /// The `escape` action (see `assets/keymap.toml`).
    Escape,
    /// The `quit` action (see `assets/keymap.toml`).
    Quit,
    /// The `force_quit` action (see `assets/keymap.toml`).
    ForceQuit,
    /// The `toggle_window` action (see `assets/keymap.toml`).
    ToggleWindow,
    /// The `toggle_skipped` action (see `assets/keymap.toml`).
    ToggleSkipped,
    /// The `view_tests` action (see `assets/keymap.toml`).
    ViewTests,
    /// The `view_endpoints` action (see `assets/keymap.toml`).
    ViewEndpoints,
    /// The `cycle_show` action (see `assets/keymap.toml`).
    CycleShow,
    /// The `maximize` action (see `assets/keymap.toml`).
    Maximize,
    /// The `accept` action of the typing modes: keep what was typed.
    Accept,
    /// The `cancel` action of the typing modes: drop what was typed.
    Cancel,
    /// The `delete_char` action of the typing modes.
    DeleteChar,
}

impl Action {
    /// Every action with its name in the keymap file.
    pub const NAMES: [(&'static str, Action); 43] = [
        ("down", Action::Down),
        ("up", Action::Up),
        ("top", Action::Top),
        ("bottom", Action::Bottom),
        ("half_page_down", Action::HalfPageDown),
        ("half_page_up", Action::HalfPageUp),
        ("next_pane", Action::NextPane),
        ("prev_pane", Action::PrevPane),
        ("open", Action::Open),
        ("expand", Action::Expand),
        ("collapse", Action::Collapse),
        ("expand_subtree", Action::ExpandSubtree),
        ("expand_all", Action::ExpandAll),
        ("collapse_all", Action::CollapseAll),
        ("toggle_orientation", Action::ToggleOrientation),
        ("toggle_fold", Action::ToggleFold),
        ("cycle_sort", Action::CycleSort),
        ("toggle_all", Action::ToggleAll),
        ("endpoint_tests", Action::EndpointTests),
        ("endpoint_frames", Action::EndpointFrames),
        ("frame_uses", Action::FrameUses),
        ("back", Action::Back),
        ("forward", Action::Forward),
        ("search", Action::Search),
        ("next_match", Action::NextMatch),
        ("prev_match", Action::PrevMatch),
        ("frame_search", Action::FrameSearch),
        ("copy_backtrace", Action::CopyBacktrace),
        ("copy_spec", Action::CopySpec),
        ("copy_request", Action::CopyRequest),
        ("help", Action::Help),
        ("escape", Action::Escape),
        ("quit", Action::Quit),
        ("force_quit", Action::ForceQuit),
        ("toggle_window", Action::ToggleWindow),
        ("toggle_skipped", Action::ToggleSkipped),
        ("view_tests", Action::ViewTests),
        ("view_endpoints", Action::ViewEndpoints),
        ("cycle_show", Action::CycleShow),
        ("maximize", Action::Maximize),
        ("accept", Action::Accept),
        ("cancel", Action::Cancel),
        ("delete_char", Action::DeleteChar),
    ];

    /// Looks an action up by its keymap name.
    pub fn from_name(name: &str) -> Option<Action> {
        Self::NAMES
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, a)| *a)
    }

    /// The action's name in the keymap file.
    pub fn name(self) -> &'static str {
        Self::NAMES
            .iter()
            .find(|(_, a)| *a == self)
            .map(|(n, _)| *n)
            .unwrap_or("?")
    }
}

/// What the keys are for at the moment: browsing, or typing into a prompt. A key bound in
/// a typing mode does its action there; any other printable key is typed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Mode {
    /// Browsing the panes.
    #[default]
    Normal,
    /// Typing a pane's filter (`/`).
    Filter,
    /// Typing into the global function search (`F`).
    FrameSearch,
}

impl Mode {
    /// The mode's name in the keymap file.
    pub fn name(self) -> &'static str {
        match self {
            Mode::Normal => "normal",
            Mode::Filter => "filter",
            Mode::FrameSearch => "frame_search",
        }
    }
}

/// Which pane a binding is listed under (dispatch itself is global).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PaneScope {
    /// Every pane.
    All,
    /// The Tests pane.
    Tests,
    /// The Requests pane.
    Requests,
    /// The Backtrace pane.
    Backtrace,
    /// The Endpoints view.
    Endpoints,
}

/// One binding: an action, its keys and what it does.
#[derive(Debug, Clone, PartialEq)]
pub struct Binding {
    /// What the keys do.
    pub action: Action,
    /// The mode the keys work in.
    pub mode: Mode,
    /// The keys as written in the file (for display).
    pub key_names: Vec<String>,
    /// The keys, parsed.
    pub keys: Vec<KeyEvent>,
    /// Where the binding is listed in help and hints.
    pub pane: PaneScope,
    /// A short label for the status line; `None` keeps the binding out of it.
    pub hint: Option<String>,
    /// Help text.
    pub description: String,
}

/// A problem with a keymap file.
#[derive(Debug, thiserror::Error)]
pub enum KeymapError {
    #[error("cannot read keymap {path}: {source}")]
    /// The file could not be read.
    Read {
        /// The keymap file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    #[error("keymap {path}: {message}")]
    /// The file is not a valid keymap.
    Parse {
        /// The keymap file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileBinding {
    action: String,
    keys: Vec<String>,
    #[serde(default)]
    pane: Option<String>,
    #[serde(default)]
    mode: Option<String>,
    #[serde(default)]
    hint: Option<String>,
    #[serde(default)]
    description: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct KeymapFile {
    #[serde(default)]
    binding: Vec<FileBinding>,
}

/// The bindings in effect.
#[derive(Debug, Clone)]
pub struct Keymap {
    /// Every binding, in file order.
    pub bindings: Vec<Binding>,
    lookup: HashMap<(Mode, KeyCode, KeyModifiers), Action>,
}

/// Parses a key name such as `j`, `Ctrl-d`, `Shift-Tab`, `Enter`.
pub fn parse_key(name: &str) -> Option<KeyEvent> {
    let mut mods = KeyModifiers::NONE;
    let mut rest = name;
    loop {
        // A lone "-" or "+" is a key, not a modifier separator.
        if rest.len() > 1 {
            if let Some(r) = rest.strip_prefix("Ctrl-") {
                mods |= KeyModifiers::CONTROL;
                rest = r;
                continue;
            }
            if let Some(r) = rest.strip_prefix("Alt-") {
                mods |= KeyModifiers::ALT;
                rest = r;
                continue;
            }
            if let Some(r) = rest.strip_prefix("Shift-") {
                mods |= KeyModifiers::SHIFT;
                rest = r;
                continue;
            }
        }
        break;
    }
    let code = match rest {
        "Up" => KeyCode::Up,
        "Down" => KeyCode::Down,
        "Left" => KeyCode::Left,
        "Right" => KeyCode::Right,
        "PageUp" => KeyCode::PageUp,
        "PageDown" => KeyCode::PageDown,
        "Home" => KeyCode::Home,
        "End" => KeyCode::End,
        "Enter" => KeyCode::Enter,
        "Esc" => KeyCode::Esc,
        "Tab" if mods.contains(KeyModifiers::SHIFT) => {
            mods.remove(KeyModifiers::SHIFT);
            KeyCode::BackTab
        }
        "Tab" => KeyCode::Tab,
        "BackTab" => KeyCode::BackTab,
        "Backspace" => KeyCode::Backspace,
        "Delete" => KeyCode::Delete,
        "Space" => KeyCode::Char(' '),
        f if f.len() > 1 && f.starts_with('F') => KeyCode::F(f[1..].parse().ok()?),
        other => {
            let mut chars = other.chars();
            let c = chars.next()?;
            if chars.next().is_some() {
                return None;
            }
            KeyCode::Char(c)
        }
    };
    Some(KeyEvent::new(code, mods))
}

/// Normalizes a key event for lookup: terminals report `G` as Shift+`G`, and `?` with or
/// without Shift, so Shift is dropped for characters.
fn normalize(code: KeyCode, mods: KeyModifiers) -> (KeyCode, KeyModifiers) {
    let mut mods = mods & (KeyModifiers::CONTROL | KeyModifiers::ALT | KeyModifiers::SHIFT);
    match code {
        KeyCode::Char(c) => {
            mods.remove(KeyModifiers::SHIFT);
            // Ctrl-letters arrive lower case on most terminals.
            let c = if mods.contains(KeyModifiers::CONTROL) {
                c.to_ascii_lowercase()
            } else {
                c
            };
            (KeyCode::Char(c), mods)
        }
        KeyCode::BackTab => (KeyCode::BackTab, KeyModifiers::NONE),
        other => (other, mods),
    }
}

impl Keymap {
    /// The embedded defaults.
    pub fn default_keymap() -> Keymap {
        // The embedded file is part of the program and tested; fall back to an empty map
        // rather than panic if it were ever broken.
        Self::parse(DEFAULT_KEYMAP, Path::new("<built-in keymap>"), None).unwrap_or(Keymap {
            bindings: Vec::new(),
            lookup: HashMap::new(),
        })
    }

    /// Loads the defaults, then the user's file: `explicit` if given (it must exist), else
    /// `<config dir>/auditscope/keymap.toml` if it exists.
    pub fn load(explicit: Option<&Path>) -> Result<Keymap, KeymapError> {
        let path = match explicit {
            Some(p) => Some(p.to_path_buf()),
            None => dirs::config_dir()
                .map(|d| d.join("auditscope").join("keymap.toml"))
                .filter(|p| p.exists()),
        };
        match path {
            None => Ok(Self::default_keymap()),
            Some(path) => {
                let text = std::fs::read_to_string(&path).map_err(|source| KeymapError::Read {
                    path: path.clone(),
                    source,
                })?;
                let base = Self::parse(DEFAULT_KEYMAP, Path::new("<built-in keymap>"), None)?;
                Self::parse(&text, &path, Some(base))
            }
        }
    }

    /// Parses `text`; with a `base`, the file overrides the base's bindings action by action.
    pub fn parse(text: &str, path: &Path, base: Option<Keymap>) -> Result<Keymap, KeymapError> {
        let err = |message: String| KeymapError::Parse {
            path: path.to_path_buf(),
            message,
        };
        let file: KeymapFile = toml::from_str(text).map_err(|e| err(e.to_string()))?;
        let mut bindings = base.map(|b| b.bindings).unwrap_or_default();
        for fb in file.binding {
            let action = Action::from_name(&fb.action)
                .ok_or_else(|| err(format!("unknown action {:?}", fb.action)))?;
            let mut keys = Vec::new();
            for k in &fb.keys {
                keys.push(
                    parse_key(k)
                        .ok_or_else(|| err(format!("action {}: unknown key {k:?}", fb.action)))?,
                );
            }
            let pane = match fb.pane.as_deref() {
                None => None,
                Some("all") => Some(PaneScope::All),
                Some("tests") => Some(PaneScope::Tests),
                Some("requests") => Some(PaneScope::Requests),
                Some("backtrace") => Some(PaneScope::Backtrace),
                Some("endpoints") => Some(PaneScope::Endpoints),
                Some(other) => {
                    return Err(err(format!("action {}: unknown pane {other:?}", fb.action)));
                }
            };
            let mode = match fb.mode.as_deref() {
                None | Some("normal") => Mode::Normal,
                Some("filter") => Mode::Filter,
                Some("frame_search") => Mode::FrameSearch,
                Some(other) => {
                    return Err(err(format!("action {}: unknown mode {other:?}", fb.action)));
                }
            };
            if let Some(existing) = bindings
                .iter_mut()
                .find(|b| b.action == action && b.mode == mode)
            {
                existing.keys = keys;
                existing.key_names = fb.keys;
                if let Some(p) = pane {
                    existing.pane = p;
                }
                if let Some(h) = fb.hint {
                    existing.hint = Some(h).filter(|h| !h.is_empty());
                }
                if let Some(d) = fb.description {
                    existing.description = d;
                }
            } else {
                bindings.push(Binding {
                    action,
                    mode,
                    key_names: fb.keys,
                    keys,
                    pane: pane.unwrap_or(PaneScope::All),
                    hint: fb.hint.filter(|h| !h.is_empty()),
                    description: fb.description.unwrap_or_default(),
                });
            }
        }
        let mut lookup = HashMap::new();
        for b in &bindings {
            for k in &b.keys {
                let (code, mods) = normalize(k.code, k.modifiers);
                if let Some(other) = lookup.insert((b.mode, code, mods), b.action)
                    && other != b.action
                {
                    return Err(err(format!(
                        "key {k:?} is bound to both {} and {}",
                        other.name(),
                        b.action.name()
                    )));
                }
            }
        }
        Ok(Keymap { bindings, lookup })
    }

    /// The action bound to a key while browsing, if any.
    pub fn action(&self, key: &KeyEvent) -> Option<Action> {
        self.action_in(Mode::Normal, key)
    }

    /// The action bound to a key in `mode`, if any.
    pub fn action_in(&self, mode: Mode, key: &KeyEvent) -> Option<Action> {
        let (code, mods) = normalize(key.code, key.modifiers);
        self.lookup.get(&(mode, code, mods)).copied()
    }

    /// The binding of an action while browsing.
    pub fn binding(&self, action: Action) -> Option<&Binding> {
        self.bindings
            .iter()
            .find(|b| b.action == action && b.mode == Mode::Normal)
    }

    /// The bindings of a typing mode, in file order.
    pub fn mode_bindings(&self, mode: Mode) -> impl Iterator<Item = &Binding> {
        self.bindings.iter().filter(move |b| b.mode == mode)
    }

    /// The first key name of an action, for hints (`?` when unbound).
    pub fn first_key(&self, action: Action) -> &str {
        self.binding(action)
            .and_then(|b| b.key_names.first())
            .map(String::as_str)
            .unwrap_or("?")
    }

    /// The hint bindings for a pane, in file order.
    pub fn hints(&self, pane: PaneScope) -> impl Iterator<Item = &Binding> {
        self.bindings.iter().filter(move |b| {
            b.mode == Mode::Normal
                && b.hint.is_some()
                && (b.pane == PaneScope::All || b.pane == pane)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_parse_and_dispatch() {
        let km = Keymap::parse(DEFAULT_KEYMAP, Path::new("x"), None).unwrap();
        // Every action is bound in some mode.
        for (name, a) in Action::NAMES {
            assert!(km.bindings.iter().any(|b| b.action == a), "{name} unbound");
        }
        let esc = KeyEvent::new(KeyCode::Esc, KeyModifiers::NONE);
        assert_eq!(km.action_in(Mode::Filter, &esc), Some(Action::Cancel));
        assert_eq!(km.action_in(Mode::FrameSearch, &esc), Some(Action::Cancel));
        let k = |c| KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE);
        assert_eq!(km.action(&k('j')), Some(Action::Down));
        assert_eq!(
            km.action(&KeyEvent::new(KeyCode::Char('G'), KeyModifiers::SHIFT)),
            Some(Action::Bottom)
        );
        assert_eq!(
            km.action(&KeyEvent::new(KeyCode::Char('d'), KeyModifiers::CONTROL)),
            Some(Action::HalfPageDown)
        );
        assert_eq!(
            km.action(&KeyEvent::new(KeyCode::BackTab, KeyModifiers::SHIFT)),
            Some(Action::PrevPane)
        );
        assert_eq!(km.action(&k('x')), None);
    }

    #[test]
    fn user_file_overrides_and_errors() {
        let base = Keymap::default_keymap();
        let km = Keymap::parse(
            "[[binding]]\naction = \"down\"\nkeys = [\"x\"]\n",
            Path::new("u"),
            Some(base.clone()),
        )
        .unwrap();
        let k = |c| KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE);
        assert_eq!(km.action(&k('x')), Some(Action::Down));
        assert_eq!(km.action(&k('j')), None);
        let e = Keymap::parse(
            "[[binding]]\naction = \"fly\"\nkeys = [\"x\"]\n",
            Path::new("u.toml"),
            Some(base.clone()),
        )
        .unwrap_err();
        assert_eq!(e.to_string(), "keymap u.toml: unknown action \"fly\"");
        let e = Keymap::parse(
            "[[binding]]\naction = \"down\"\nkeys = [\"k\"]\n",
            Path::new("u.toml"),
            Some(base),
        )
        .unwrap_err();
        assert!(e.to_string().contains("bound to both"), "{e}");
    }
}

#[cfg(test)]
mod load_tests {
    use super::*;

    #[test]
    fn explicit_user_file_errors_name_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("nope.toml");
        let e = Keymap::load(Some(&missing)).unwrap_err();
        assert!(
            e.to_string()
                .starts_with(&format!("cannot read keymap {}:", missing.display())),
            "{e}"
        );
        let bad = dir.path().join("bad.toml");
        std::fs::write(
            &bad,
            "[[binding]]\naction = \"quit\"\nkeys = [\"Ctrl-Nope\"]\n",
        )
        .unwrap();
        let e = Keymap::load(Some(&bad)).unwrap_err();
        assert_eq!(
            e.to_string(),
            format!(
                "keymap {}: action quit: unknown key \"Ctrl-Nope\"",
                bad.display()
            )
        );
        let good = dir.path().join("good.toml");
        std::fs::write(&good, "[[binding]]\naction = \"quit\"\nkeys = [\"x\"]\n").unwrap();
        let km = Keymap::load(Some(&good)).unwrap();
        assert_eq!(km.first_key(Action::Quit), "x");
        assert_eq!(km.first_key(Action::Down), "j");
    }
}
