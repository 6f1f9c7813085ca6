//! Fuzzy matching for the pane filters and the global function search.

use super::theme::Theme;
use fuzzy_matcher::FuzzyMatcher;
use fuzzy_matcher::skim::SkimMatcherV2;
use ratatui::style::Style;
use ratatui::text::Span;

/// The state of one pane's filter.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filter {
    /// The pattern; empty when no filter is set.
    pub query: String,
}

/// A matcher (smart case).
pub fn matcher() -> SkimMatcherV2 {
    SkimMatcherV2::default()
}

/// True when `text` matches `pattern` (an empty pattern matches everything).
pub fn matches(m: &SkimMatcherV2, text: &str, pattern: &str) -> bool {
    pattern.is_empty() || m.fuzzy_match(text, pattern).is_some()
}

/// Splits `text` into spans with the characters matching `pattern` highlighted.
pub fn highlighted(text: &str, pattern: &str, base: Style, theme: &Theme) -> Vec<Span<'static>> {
    if pattern.is_empty() {
        return vec![Span::styled(text.to_string(), base)];
    }
    let Some((_, indices)) = matcher().fuzzy_indices(text, pattern) else {
        return vec![Span::styled(text.to_string(), base)];
    };
    highlighted_at(text, &indices, base, theme)
}

/// Splits `text` into spans with the characters at `indices` (char positions, ascending)
/// highlighted.
pub fn highlighted_at(
    text: &str,
    indices: &[usize],
    base: Style,
    theme: &Theme,
) -> Vec<Span<'static>> {
    let hl = base.patch(theme.highlight);
    let mut spans = Vec::new();
    let mut cur = String::new();
    let mut cur_hl = false;
    let mut next = indices.iter().peekable();
    for (i, c) in text.chars().enumerate() {
        let is_hl = next.peek().is_some_and(|&&j| j == i);
        if is_hl {
            next.next();
        }
        if is_hl != cur_hl && !cur.is_empty() {
            spans.push(Span::styled(
                std::mem::take(&mut cur),
                if cur_hl { hl } else { base },
            ));
        }
        cur_hl = is_hl;
        cur.push(c);
    }
    if !cur.is_empty() {
        spans.push(Span::styled(cur, if cur_hl { hl } else { base }));
    }
    spans
}

/// Splits `text` into spans with what `query` matched in it highlighted.
pub fn highlighted_query(
    text: &str,
    query: &super::filter::Query,
    base: Style,
    theme: &Theme,
) -> Vec<Span<'static>> {
    let at = super::filter::highlight_positions(text, query);
    if at.is_empty() {
        return vec![Span::styled(text.to_string(), base)];
    }
    highlighted_at(text, &at, base, theme)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn highlight_splits_on_char_positions() {
        let t = Theme::mono();
        let spans = highlighted("ünicode Pods", "pods", Style::new(), &t);
        let texts: Vec<&str> = spans.iter().map(|s| s.content.as_ref()).collect();
        assert_eq!(texts, vec!["ünicode ", "Pods"]);
        assert_eq!(spans[1].style, t.highlight);
    }
}
