//! The help overlay (`?`): every key, in one box over the screen. Any key closes it.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::widgets::{Clear, Widget};

use super::state::ViewState;
use super::theme::{Theme, put};

/// Every key and what it does; the README's table says the same.
pub const KEYS: &[(&str, &str)] = &[
    ("Tab / Shift-Tab", "next / previous pane"),
    ("1 2 3 4 5", "Layers, Files, Findings, Packages, Details"),
    ("↑ ↓  k j", "move (in Layers: select the layer)"),
    ("PgUp PgDn  Ctrl-B Ctrl-F", "a page up / down"),
    ("Home End  g G", "first / last row"),
    ("[ ]", "previous / next layer, from any pane"),
    (
        "← →  h l",
        "fold / unfold a directory; ← goes to the parent",
    ),
    (
        "Enter",
        "Layers: open its files; Files: fold; Findings: go to the file",
    ),
    ("Space", "fold / unfold a directory"),
    ("- +", "fold / unfold every directory"),
    (
        "m",
        "this layer's changes / the whole image as of this layer",
    ),
    ("s", "sort by name / by size"),
    ("u", "hide / show unchanged files"),
    (
        "f",
        "minimum file size: off, 1 kB, 100 kB, 1 MB, 10 MB, 100 MB",
    ),
    ("/", "filter paths by a regular expression, as you type"),
    ("Enter / Esc (typing)", "keep the filter / drop it"),
    ("Esc", "clear the path filter"),
    ("mouse", "wheel scrolls, click selects, click again folds"),
    ("?", "this help"),
    ("q  Ctrl-C", "quit"),
];

pub fn render(state: &ViewState, area: Rect, buf: &mut Buffer) {
    let theme = Theme { color: state.color };
    let w = area.width.min(78);
    let h = (KEYS.len() as u16 + 2).min(area.height);
    let r = Rect::new(
        area.x + (area.width - w) / 2,
        area.y + (area.height - h) / 2,
        w,
        h,
    );
    Clear.render(r, buf);
    let inner = theme.frame("Keys · any key closes", true, r, buf);
    let key_w = 25u16.min(inner.width / 2);
    for (i, (key, what)) in KEYS.iter().take(inner.height as usize).enumerate() {
        let y = inner.y + i as u16;
        put(buf, inner.x + 1, y, key_w, key, theme.title());
        put(
            buf,
            inner.x + 2 + key_w,
            y,
            inner.width.saturating_sub(key_w + 3),
            what,
            ratatui::style::Style::new(),
        );
    }
}
