//! Styles and small text helpers shared by the panes. Colour is only ever an addition: every
//! state also has a letter and every selection a marker, so `NO_COLOR` loses nothing.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style};
use ratatui::widgets::{Block, BorderType, Borders, Widget};

use crate::analysis::Category;
use crate::model::State;

/// Styles, plain when colour is off.
#[derive(Clone, Copy, Debug)]
pub struct Theme {
    pub color: bool,
}

impl Theme {
    fn pick(self, style: Style) -> Style {
        if self.color { style } else { Style::new() }
    }

    pub fn state(self, state: Option<State>) -> Style {
        self.pick(match state {
            Some(State::Added) => Style::new().fg(Color::Green),
            Some(State::Modified) => Style::new().fg(Color::Yellow),
            Some(State::Removed) => Style::new().fg(Color::Red),
            None => Style::new(),
        })
    }

    pub fn category(self, c: Category) -> Style {
        self.pick(Style::new().fg(category_color(c)))
    }

    /// A treemap tile filled with its category's colour (None: no category), dark text on it.
    pub fn tile(self, c: Option<Category>) -> Style {
        self.pick(match c {
            Some(c) => Style::new().bg(category_color(c)).fg(Color::Black),
            None => Style::new().bg(Color::DarkGray).fg(Color::White),
        })
    }

    pub fn dim(self) -> Style {
        self.pick(Style::new().fg(Color::DarkGray))
    }

    pub fn title(self) -> Style {
        Style::new().add_modifier(Modifier::BOLD)
    }

    /// The selected row: reversed, which reads without colour too.
    pub fn selected(self, focused: bool) -> Style {
        if focused {
            Style::new().add_modifier(Modifier::REVERSED)
        } else {
            Style::new().add_modifier(Modifier::BOLD)
        }
    }

    pub fn severity(self, s: crate::findings::Severity) -> Style {
        use crate::findings::Severity;
        self.pick(match s {
            Severity::Error => Style::new().fg(Color::Red).add_modifier(Modifier::BOLD),
            Severity::Warning => Style::new().fg(Color::Yellow),
            Severity::Info => Style::new().fg(Color::Cyan),
        })
    }

    pub fn error(self) -> Style {
        self.pick(Style::new().fg(Color::Red))
    }

    /// A pane's frame: thick when it has the focus, so the focus shows without colour.
    pub fn block(self, title: &str, focused: bool) -> Block<'static> {
        let block = Block::new()
            .borders(Borders::ALL)
            .title(format!(" {title} "))
            .title_style(self.title());
        if focused {
            block
                .border_type(BorderType::Thick)
                .border_style(self.pick(Style::new().fg(Color::Cyan)))
        } else {
            block.border_style(self.dim())
        }
    }

    /// Draws a pane's frame and returns the area inside it.
    pub fn frame(self, title: &str, focused: bool, area: Rect, buf: &mut Buffer) -> Rect {
        let block = self.block(title, focused);
        let inner = block.inner(area);
        block.render(area, buf);
        inner
    }
}

fn category_color(c: Category) -> Color {
    match c {
        Category::PipCache | Category::UvCache | Category::PoetryCache => Color::Magenta,
        Category::Compilers => Color::Red,
        Category::Headers => Color::Yellow,
        Category::AptCache => Color::Blue,
        Category::Pycache => Color::Cyan,
        Category::Wheels => Color::LightMagenta,
        Category::StaticLibs => Color::LightRed,
        Category::Tests => Color::LightYellow,
        Category::Docs => Color::LightBlue,
        Category::DebugInfo => Color::Green,
    }
}

/// A letter per category, so the bar reads without colour.
pub fn glyph(c: Category) -> char {
    match c {
        Category::PipCache | Category::UvCache | Category::PoetryCache => 'p',
        Category::Compilers => 'c',
        Category::Headers => 'h',
        Category::AptCache => 'a',
        Category::Pycache => 'y',
        Category::Wheels => 'w',
        Category::StaticLibs => 's',
        Category::Tests => 't',
        Category::Docs => 'd',
        Category::DebugInfo => 'g',
    }
}

/// The letter of a state, for colour-blind users and `NO_COLOR`.
pub fn state_letter(state: Option<State>) -> char {
    match state {
        Some(State::Added) => 'A',
        Some(State::Modified) => 'M',
        Some(State::Removed) => 'D',
        None => ' ',
    }
}

/// A libc family as users say it.
pub fn libc_name(family: crate::analysis::linkage::LibcFamily) -> &'static str {
    use crate::analysis::linkage::LibcFamily;
    match family {
        LibcFamily::Glibc => "glibc",
        LibcFamily::Musl => "musl",
        LibcFamily::Mixed => "mixed",
        LibcFamily::Static => "static",
        LibcFamily::None => "none",
    }
}

/// Sizes on screen: decimal units, as `docker images` and the reports show them.
pub fn size(bytes: u64) -> String {
    crate::findings::size(bytes)
}

/// Writes `text` at (x, y), cut to `width` columns (with `…` when cut). Returns the columns used.
pub fn put(buf: &mut Buffer, x: u16, y: u16, width: u16, text: &str, style: Style) -> u16 {
    if width == 0 {
        return 0;
    }
    let cut = fit(text, width as usize);
    let (end, _) = buf.set_stringn(x, y, &cut, width as usize, style);
    end.saturating_sub(x)
}

/// Writes `text` right-aligned so that it ends at column `right` (exclusive).
pub fn put_right(buf: &mut Buffer, right: u16, y: u16, text: &str, style: Style) {
    let w = width(text) as u16;
    buf.set_string(right.saturating_sub(w), y, text, style);
}

/// Display width of a string.
pub fn width(s: &str) -> usize {
    use ratatui::text::Line;
    Line::raw(s).width()
}

/// Cuts a string to `width` columns, ending in `…` when it was longer.
pub fn fit(s: &str, width: usize) -> String {
    if self::width(s) <= width {
        return s.to_string();
    }
    if width == 0 {
        return String::new();
    }
    let mut out = String::new();
    let mut used = 0;
    for ch in s.chars() {
        let w = self::width(ch.encode_utf8(&mut [0; 4]));
        if used + w + 1 > width {
            break;
        }
        out.push(ch);
        used += w;
    }
    out.push('…');
    out
}

/// Wraps text into lines of at most `width` columns, breaking at spaces where it can and
/// inside words that are longer than a line.
pub fn wrap(s: &str, width: usize) -> Vec<String> {
    let width = width.max(1);
    let mut lines = Vec::new();
    let mut line = String::new();
    for word in s.split(' ') {
        let candidate_width =
            self::width(&line) + usize::from(!line.is_empty()) + self::width(word);
        if !line.is_empty() && candidate_width > width {
            lines.push(std::mem::take(&mut line));
        }
        if !line.is_empty() {
            line.push(' ');
        }
        for ch in word.chars() {
            if self::width(&line) + 1 > width {
                lines.push(std::mem::take(&mut line));
            }
            line.push(ch);
        }
    }
    if !line.is_empty() || lines.is_empty() {
        lines.push(line);
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::{fit, wrap};

    #[test]
    fn fit_cuts_with_an_ellipsis() {
        assert_eq!(fit("abcdef", 6), "abcdef");
        assert_eq!(fit("abcdef", 4), "abc…");
        assert_eq!(fit("abcdef", 0), "");
    }

    #[test]
    fn wrap_breaks_at_spaces_and_inside_long_words() {
        assert_eq!(
            wrap("RUN pip install numpy", 10),
            ["RUN pip", "install", "numpy"]
        );
        assert_eq!(wrap("abcdefghij", 4), ["abcd", "efgh", "ij"]);
        assert_eq!(wrap("", 4), [""]);
    }
}
