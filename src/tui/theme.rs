//! Styles, with a monochrome variant for `NO_COLOR`.

use ratatui::style::{Color, Modifier, Style};

/// Every style the explorer draws with.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Theme {
    pub selected: Style,
    pub selected_unfocused: Style,
    pub dim: Style,
    pub highlight: Style,
    pub title: Style,
    pub border: Style,
    pub border_focused: Style,
    pub passed: Style,
    pub failed: Style,
    pub skipped: Style,
    pub marker: Style,
    pub status: Style,
    pub message: Style,
}

impl Theme {
    /// Colours.
    pub fn color() -> Theme {
        Theme {
            selected: Style::new()
                .bg(Color::Blue)
                .fg(Color::White)
                .add_modifier(Modifier::BOLD),
            selected_unfocused: Style::new().add_modifier(Modifier::REVERSED),
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
            selected_unfocused: plain.add_modifier(Modifier::REVERSED),
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
