//! The Details pane: the lines `describe` gives for the selected file or layer, wrapped to the
//! pane's width; Up/Down scroll.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};

use super::action::Pane;
use super::describe;
use super::state::{Subject, ViewState};
use super::theme::{Theme, put, wrap};
use crate::report::Report;

pub fn render(report: &Report, state: &ViewState, area: Rect, buf: &mut Buffer) {
    let theme = Theme { color: state.color };
    let focused = state.focus == Pane::Details;
    let title = match state.subject {
        Subject::File => "Details · file",
        Subject::Layer => "Details · layer",
    };
    let inner = theme.frame(title, focused, area, buf);
    if inner.height == 0 || inner.width < 4 {
        return;
    }
    let width = inner.width.saturating_sub(1) as usize;
    let mut y = inner.y;
    let lines = describe::lines(report, state);
    let scroll = state.details_scroll.min(lines.len().saturating_sub(1));
    for line in lines.into_iter().skip(scroll) {
        // Wrap the line's text; keep its first span's style on the first part.
        let text: String = line.spans.iter().map(|s| s.content.as_ref()).collect();
        let wrapped = wrap(&text, width);
        for (k, part) in wrapped.iter().enumerate() {
            if y >= inner.bottom() {
                return;
            }
            if k == 0 {
                let mut first = line.clone();
                if wrapped.len() > 1 {
                    first = cut_line(&line, part.chars().count());
                }
                buf.set_line(inner.x + 1, y, &first, inner.width - 1);
            } else {
                put(
                    buf,
                    inner.x + 1,
                    y,
                    inner.width - 1,
                    part,
                    line.style.patch(Style::new()),
                );
            }
            y += 1;
        }
    }
}

/// The first `chars` characters of a styled line, styles kept.
fn cut_line(line: &Line<'static>, chars: usize) -> Line<'static> {
    let mut left = chars;
    let mut spans = Vec::new();
    for s in &line.spans {
        if left == 0 {
            break;
        }
        let part: String = s.content.chars().take(left).collect();
        left -= part.chars().count();
        spans.push(Span::styled(part, s.style));
    }
    Line::from(spans).style(line.style)
}
