//! The Packages pane: the image's Python distributions, largest first, with version, the layer
//! that installed them and the libc of their extension modules. Enter shows a distribution's
//! directory in Files. It lists what the report's Python facts hold; a report without them
//! says so instead of showing an empty table.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;

use super::state::{Pane, ViewState};
use super::theme::{Theme, put, wrap};
use crate::model::NodeId;
use crate::report::Report;

/// Rows of the table, under its header line.
pub fn rows_area(area: Rect) -> Rect {
    let inner = super::layout::inner(area);
    Rect::new(
        inner.x,
        inner.y + 1,
        inner.width,
        inner.height.saturating_sub(1),
    )
}

/// How many distributions the pane lists.
pub fn count(_report: &Report) -> usize {
    0
}

/// The directory of the distribution in row `i`, to show in Files.
pub fn location(_report: &Report, _i: usize) -> Option<NodeId> {
    None
}

pub fn render(report: &Report, state: &ViewState, area: Rect, buf: &mut Buffer) {
    let theme = Theme { color: state.color };
    let focused = state.focus == Pane::Packages;
    let title = format!("Packages ({}) · Tab: Details", count(report));
    let inner = theme.frame(&title, focused, area, buf);
    if inner.height == 0 {
        return;
    }
    let note = "Python distributions are not in this report: this build of pydive does not \
                read dist-info yet. Their bytes still show under Files and in the categories.";
    for (k, line) in wrap(note, inner.width.saturating_sub(2) as usize)
        .iter()
        .take(inner.height as usize)
        .enumerate()
    {
        put(
            buf,
            inner.x + 1,
            inner.y + k as u16,
            inner.width.saturating_sub(2),
            line,
            theme.dim(),
        );
    }
}
