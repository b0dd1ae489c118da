//! The status line: the path filter while it is typed (and why a pattern does not compile),
//! else a note from the last action, else the keys that matter in the focused pane.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Style;

use super::state::{Pane, ViewState};
use super::theme::{Theme, put};

pub fn render(state: &ViewState, area: Rect, buf: &mut Buffer) {
    let theme = Theme { color: state.color };
    if let Some(input) = &state.filter_input {
        let mut text = format!(" /{input}▏");
        let used = put(buf, area.x, area.y, area.width, &text, Style::new());
        text = match &state.tree.pattern_error {
            Some(e) => format!("  {e}"),
            None => "  Enter keep · Esc drop".to_string(),
        };
        let style = if state.tree.pattern_error.is_some() {
            theme.error()
        } else {
            theme.dim()
        };
        put(
            buf,
            area.x + used,
            area.y,
            area.width.saturating_sub(used),
            &text,
            style,
        );
        return;
    }
    if let Some(note) = &state.note {
        put(
            buf,
            area.x,
            area.y,
            area.width,
            &format!(" {note}"),
            theme.error(),
        );
        return;
    }
    let keys = match state.focus {
        Pane::Layers => {
            " ↑↓ layer  Enter files  [ ] layer  m mode  Tab panes  / filter  ? keys  q quit"
        }
        Pane::Files => {
            " ↑↓ move  ←→ fold  m mode  s sort  u unchanged  f min size  / filter  ? keys  q quit"
        }
        Pane::Findings => " ↑↓ finding  Enter go to file  Tab panes  ? keys  q quit",
        Pane::Packages => " ↑↓ package  Enter go to files  Tab panes  ? keys  q quit",
        Pane::Details => " ↑↓ scroll  Tab panes  ? keys  q quit",
    };
    put(buf, area.x, area.y, area.width, keys, theme.dim());
}
