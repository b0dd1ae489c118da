//! The help overlay (`?`): every key from the key table, in one box over the screen. Any key
//! closes it.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::widgets::{Clear, Widget};

use super::keys;
use super::state::ViewState;
use super::theme::{Theme, put, width};

pub fn render(state: &ViewState, area: Rect, buf: &mut Buffer) {
    let theme = Theme { color: state.color };
    let rows = keys::help_rows();
    let w = area.width.min(80);
    let h = (rows.len() as u16 + 2).min(area.height);
    let r = Rect::new(
        area.x + (area.width - w) / 2,
        area.y + (area.height - h) / 2,
        w,
        h,
    );
    Clear.render(r, buf);
    let inner = theme.frame("Keys · any key closes", true, r, buf);
    let widest = rows.iter().map(|(k, _)| width(k)).max().unwrap_or(0);
    let key_w = (widest as u16).min(inner.width / 2);
    for ((key, does), y) in rows.iter().zip(inner.y..inner.bottom()) {
        put(buf, inner.x + 1, y, key_w, key, theme.title());
        let does_w = inner.width.saturating_sub(key_w + 3);
        put(buf, inner.x + 2 + key_w, y, does_w, does, Style::new());
    }
}
