//! The one way the explorer draws a list: only the rows on screen, scrolled so the cursor is
//! visible (the same `window` that `update` uses), the selected row reversed when the pane has
//! the focus and bold when not, and each row's cells left to the pane that owns the list.
//! A 100k-row list costs what a 40-row one does.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Style;

use super::state::{ListPos, window};
use super::theme::{Theme, put, wrap};

/// Draws the visible rows of a list of `len` rows into `rows`. `row` is called for each with
/// the buffer, the row's index, its one-line area and its style (already applied to the
/// whole line), to write its cells.
pub fn draw(
    buf: &mut Buffer,
    rows: Rect,
    len: usize,
    pos: ListPos,
    focused: bool,
    theme: Theme,
    mut row: impl FnMut(&mut Buffer, usize, Rect, Style),
) {
    let height = usize::from(rows.height);
    let offset = window(pos.cursor, pos.offset, height, len);
    for i in offset..len.min(offset + height) {
        let area = Rect::new(rows.x, rows.y + (i - offset) as u16, rows.width, 1);
        let style = if i == pos.cursor {
            theme.selected(focused)
        } else {
            Style::new()
        };
        buf.set_style(area, style);
        row(buf, i, area, style);
    }
}

/// What an empty list says instead, wrapped and dim.
pub fn empty(buf: &mut Buffer, area: Rect, text: &str, theme: Theme) {
    let width = area.width.saturating_sub(2);
    for (y, line) in (area.y..area.bottom()).zip(wrap(text, usize::from(width))) {
        put(buf, area.x + 1, y, width, &line, theme.dim());
    }
}

/// The selected item in full under a list: a rule, then the lines, wrapped and dim when asked.
pub fn detail(buf: &mut Buffer, area: Rect, lines: &[(String, bool)], theme: Theme) {
    if area.height < 2 {
        return;
    }
    put(
        buf,
        area.x,
        area.y,
        area.width,
        &"─".repeat(usize::from(area.width)),
        theme.dim(),
    );
    let width = area.width.saturating_sub(2);
    let wrapped = lines.iter().flat_map(|(text, dim)| {
        wrap(text, usize::from(width))
            .into_iter()
            .map(move |l| (l, *dim))
    });
    for (y, (line, dim)) in (area.y + 1..area.bottom()).zip(wrapped) {
        let style = if dim { theme.dim() } else { Style::new() };
        put(buf, area.x + 1, y, width, &line, style);
    }
}
