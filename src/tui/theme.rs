//! Styles, with a monochrome variant for `NO_COLOR`.

use ratatui::style::{Color, Modifier, Style};

/// Every style the explorer draws with.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Theme {
    /// The selected row of the focused pane.
    pub selected: Style,
    /// The selected row of other panes.
    pub selected_unfocused: Style,
    /// Secondary text.
    pub dim: Style,
    /// Matched characters and key names.
    pub highlight: Style,
    /// Titles of the focused pane and overlays.
    pub title: Style,
    /// Borders of unfocused panes.
    pub border: Style,
    /// Border of the focused pane.
    pub border_focused: Style,
    /// A passed spec.
    pub passed: Style,
    /// A failed spec, and error response codes.
    pub failed: Style,
    /// A skipped or pending spec.
    pub skipped: Style,
    /// Pseudo entries and tree markers.
    pub marker: Style,
    /// The status line.
    pub status: Style,
    /// A message in the status line.
    pub message: Style,
}

impl Theme {
    /// The style of a pane's selected row: stronger while the pane has the focus.
    pub fn selection(&self, focused: bool) -> Style {
        if focused {
            self.selected
        } else {
            self.selected_unfocused
        }
    }

    /// Colours.
    pub fn color() -> Theme {
        Theme {
            selected: Style::new()
                .bg(Color::Blue)
                .fg(Color::White)
                .add_modifier(Modifier::BOLD),
            // Subdued: the focused pane's selection is the strongest highlight on screen.
            selected_unfocused: Style::new().add_modifier(Modifier::UNDERLINED),
            dim: Style::new().fg(Color::DarkGray),
            highlight: Style::new().fg(Color::Yellow).add_modifier(Modifier::BOLD),
            title: Style::new().fg(Color::Cyan).add_modifier(Modifier::BOLD),
            border: Style::new().fg(Color::DarkGray),
            border_focused: Style::new().fg(Color::Cyan),
            passed: Style::new().fg(Color::Green),
            failed: Style::new().fg(Color::Red).add_modifier(Modifier::BOLD),
            skipped: Style::new().fg(Color::Yellow),
            marker: Style::new().fg(Color::Magenta),
            status: Style::new().bg(Color::DarkGray).fg(Color::White),
            message: Style::new().fg(Color::Yellow).add_modifier(Modifier::BOLD),
        }
    }

    /// No colours: reverse, bold, underline and dim only.
    pub fn mono() -> Theme {
        let plain = Style::new();
        Theme {
            selected: plain.add_modifier(Modifier::REVERSED | Modifier::BOLD),
            selected_unfocused: plain.add_modifier(Modifier::UNDERLINED),
            dim: plain.add_modifier(Modifier::DIM),
            highlight: plain.add_modifier(Modifier::BOLD | Modifier::UNDERLINED),
            title: plain.add_modifier(Modifier::BOLD),
            border: plain,
            border_focused: plain.add_modifier(Modifier::BOLD),
            passed: plain,
            failed: plain.add_modifier(Modifier::BOLD),
            skipped: plain.add_modifier(Modifier::DIM),
            marker: plain.add_modifier(Modifier::ITALIC),
            status: plain.add_modifier(Modifier::REVERSED),
            message: plain.add_modifier(Modifier::BOLD),
        }
    }

    /// [`Theme::mono`] when `NO_COLOR` is set to anything non-empty, else colours.
    pub fn from_env() -> Theme {
        if std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty()) {
            Theme::mono()
        } else {
            Theme::color()
        }
    }
}
