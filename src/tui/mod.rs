//! The interactive explorer behind `pydive IMAGE` and `pydive demo` on a terminal. It sits at
//! the end of the flow, beside the report writers: it reads the finished `Report` and computes
//! nothing of its own. Inside, it is one-way too:
//!
//! ```text
//! action (Pane, Action) <- keys (the one key table: events, the ? overlay, the README)
//!   <- layout (pure geometry) <- state (ViewState) <- lists, describe (queries)
//!   <- update (the one way state changes) ... and the panes, which only read state
//! ```
//!
//! Each frame is drawn from `(&Report, &ViewState)` alone, one file per pane, every list
//! through `list::draw`. `terminal` owns the real terminal: raw mode, the alternate screen,
//! the mouse, and putting all of it back on every way out.

pub mod action;
pub mod describe;
pub mod details;
pub mod files;
pub mod findings;
pub mod header;
pub mod help;
pub mod keys;
pub mod layers;
pub mod layout;
pub mod list;
pub mod lists;
pub mod packages;
pub mod state;
pub mod status;
pub mod terminal;
pub mod theme;
pub mod tree_view;
pub mod treemap;
pub mod update;

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;

use crate::report::Report;
pub use action::{Action, Pane};
pub use state::ViewState;
pub use terminal::run;
use theme::{Theme, put, put_right, size};
pub use update::update;

/// Draws the whole screen. A pure function of the report and the state.
pub fn draw(report: &Report, state: &ViewState, area: Rect, buf: &mut Buffer) {
    let a = state.areas_in(area, report);
    if a.too_small {
        let note = format!(
            "pydive needs a terminal of at least {}x{} (this one is {}x{})",
            layout::MIN_WIDTH,
            layout::MIN_HEIGHT,
            area.width,
            area.height
        );
        for (k, line) in theme::wrap(&note, area.width.max(1) as usize)
            .iter()
            .take(area.height as usize)
            .enumerate()
        {
            put(
                buf,
                area.x,
                area.y + k as u16,
                area.width,
                line,
                Default::default(),
            );
        }
        return;
    }
    header::render(report, state, a.header, buf);
    if let Some(r) = a.layers {
        layers::render(report, state, r, buf, a.wide);
    }
    if let Some(r) = a.tree {
        files::render(report, state, r, buf);
    }
    if let Some(r) = a.side {
        match a.side_pane {
            Some(Pane::Packages) => packages::render(report, state, r, buf),
            _ => findings::render(report, state, r, buf),
        }
    }
    if let Some(r) = a.details {
        details::render(report, state, r, buf);
    }
    status::render(state, a.status, buf);
    if !a.wide {
        // The panes that do not fit are hidden; say so on the frame of the one shown.
        if let Some(main) = a.tree.or(a.side).or(a.details) {
            let note = " more panes: Tab ";
            let start = main.right().saturating_sub(2 + theme::width(note) as u16);
            // Only where the frame is bare: a long title keeps its words.
            let bare = (start.saturating_sub(1)..main.right() - 1)
                .all(|x| buf[(x, main.y)].symbol().chars().all(|c| "─━═".contains(c)));
            if main.width > 60 && bare {
                let dim = Theme { color: state.color }.dim();
                put_right(buf, main.right() - 2, main.y, note, dim);
            }
        }
    }
    if state.help {
        help::render(state, area, buf);
    }
}

/// Draws the screen shown while the image is read: what is being read and how far it got.
pub fn draw_loading(reference: &str, progress: (usize, usize, u64), area: Rect, buf: &mut Buffer) {
    let (done, total, bytes) = progress;
    let layers = if total > 0 {
        format!("{done}/{total} layers")
    } else {
        format!("{done} layers")
    };
    let lines = [
        format!("pydive: reading {reference}"),
        format!("{layers} walked, {} read", size(bytes)),
        "q quits".to_string(),
    ];
    let y0 = area.y + area.height.saturating_sub(lines.len() as u16) / 2;
    for (k, line) in lines.iter().enumerate() {
        let w = theme::width(line) as u16;
        let x = area.x + area.width.saturating_sub(w) / 2;
        if y0 + (k as u16) < area.bottom() {
            put(buf, x, y0 + k as u16, area.width, line, Default::default());
        }
    }
}

/// Whether colour is wanted: not when `NO_COLOR` is set to anything (no-color.org).
pub fn color_wanted() -> bool {
    std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}
